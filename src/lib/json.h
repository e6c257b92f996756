/* A small JSON writer into a struct fbuf: the only place that escapes
 * JSON strings.  The layout is the CLI's: ", " between items, ": " after
 * keys, and arrays begun with json_array_begin_lines() put each item on
 * its own line indented by two spaces ("[\n  a,\n  b\n]", "[]" when
 * empty).  Strings are escaped for JSON (quote, backslash, control bytes
 * and DEL as \u00XX) and bytes that are not valid UTF-8 become U+FFFD,
 * so the output is always valid JSON in UTF-8.  Misuse (a value where a
 * key is due, unbalanced ends, nesting past JSON_DEPTH_MAX) is a
 * programming error and panics. */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH_MAX 16

struct fbuf;

struct json {
	struct fbuf *out;
	int depth;
	bool in_object[JSON_DEPTH_MAX];
	bool lines[JSON_DEPTH_MAX];
	size_t items[JSON_DEPTH_MAX];
	bool after_key;
};

/* Writes to out (appended; out's max applies, so set none). */
void json_init(struct json *j, struct fbuf *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_begin_lines(struct json *j);
void json_array_end(struct json *j);
/* The next member's name; a value call must follow. */
void json_key(struct json *j, const char *key);
/* A string value; NULL writes null. */
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, long long v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Appends s as a JSON string literal (with quotes) to out. */
void json_escape(struct fbuf *out, const char *s, size_t len);
/* True when everything begun has ended. */
bool json_done(const struct json *j);

#endif
