/* The JSON writer (json.h).  It writes, never parses: the CLI and the
 * control-socket answers produce JSON, nothing in Ferry consumes it.
 * UTF-8 is checked as RFC 3629 has it (no overlongs, no surrogates,
 * nothing past U+10FFFF) so that peer-supplied bytes in an envelope or a
 * rule value cannot make the output invalid. */
#include <inttypes.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/log.h"

void
json_init(struct json *j, struct fbuf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* The separator before a value (or key) at the current level. */
static void
json_sep(struct json *j, bool is_key)
{
	int d = j->depth;

	if (j->after_key) {
		if (is_key)
			log_panic("json: key after key");
		j->after_key = false;
		return;
	}
	if (d > 0 && j->in_object[d - 1] != is_key)
		log_panic("json: %s where a %s is due", is_key ? "key" :
		    "value", is_key ? "value" : "key");
	if (d > 0 && j->lines[d - 1])
		fbuf_adds(j->out, j->items[d - 1] > 0 ? ",\n  " : "\n  ");
	else if (d > 0 && j->items[d - 1] > 0)
		fbuf_adds(j->out, ", ");
	if (d > 0)
		j->items[d - 1]++;
}

static void
json_open(struct json *j, char c, bool object, bool lines)
{
	json_sep(j, false);
	if (j->depth == JSON_DEPTH_MAX)
		log_panic("json: nested too deep");
	j->in_object[j->depth] = object;
	j->lines[j->depth] = lines;
	j->items[j->depth] = 0;
	j->depth++;
	fbuf_addc(j->out, c);
}

static void
json_close(struct json *j, char c, bool object)
{
	if (j->depth == 0 || j->in_object[j->depth - 1] != object ||
	    j->after_key)
		log_panic("json: unbalanced %c", c);
	j->depth--;
	if (j->lines[j->depth] && j->items[j->depth] > 0)
		fbuf_addc(j->out, '\n');
	fbuf_addc(j->out, c);
}

void
json_object_begin(struct json *j)
{
	json_open(j, '{', true, false);
}

void
json_object_end(struct json *j)
{
	json_close(j, '}', true);
}

void
json_array_begin(struct json *j)
{
	json_open(j, '[', false, false);
}

void
json_array_begin_lines(struct json *j)
{
	json_open(j, '[', false, true);
}

void
json_array_end(struct json *j)
{
	json_close(j, ']', false);
}

void
json_key(struct json *j, const char *key)
{
	json_sep(j, true);
	json_escape(j->out, key, strlen(key));
	fbuf_adds(j->out, ": ");
	j->after_key = true;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
json_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
json_escape(struct fbuf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	fbuf_addc(out, '"');
	while (i < len) {
		if (p[i] == '"' || p[i] == '\\') {
			fbuf_addc(out, '\\');
			fbuf_addc(out, (char)p[i++]);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			fbuf_addf(out, "\\u%04x", p[i++]);
		} else if ((n = json_utf8_len(p + i, len - i)) == 0) {
			fbuf_adds(out, "\\ufffd");
			i++;
		} else {
			fbuf_add(out, p + i, n);
			i += n;
		}
	}
	fbuf_addc(out, '"');
}

void
json_strn(struct json *j, const char *s, size_t len)
{
	json_sep(j, false);
	json_escape(j->out, s, len);
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

void
json_int(struct json *j, long long v)
{
	json_sep(j, false);
	fbuf_addf(j->out, "%lld", v);
}

void
json_uint(struct json *j, uint64_t v)
{
	json_sep(j, false);
	fbuf_addf(j->out, "%" PRIu64, v);
}

void
json_bool(struct json *j, bool v)
{
	json_sep(j, false);
	fbuf_adds(j->out, v ? "true" : "false");
}

void
json_null(struct json *j)
{
	json_sep(j, false);
	fbuf_adds(j->out, "null");
}

bool
json_done(const struct json *j)
{
	return j->depth == 0 && !j->after_key;
}
