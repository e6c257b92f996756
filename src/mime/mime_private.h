/* Helpers shared by the files of src/mime; not part of its contract. */
#ifndef FERRY_MIME_PRIVATE_H
#define FERRY_MIME_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>

struct fbuf;

static inline bool
mime_is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A lowercase NUL-terminated copy of s[0..n). */
char *mime_lower_dup(const char *s, size_t n);
/* Index after the comment starting at v[i] == '(' (nested, quoted
 * pairs), or len when it is not closed. */
size_t mime_skip_comment(const char *v, size_t len, size_t i);
/* Appends to out the octets of the quoted string at v[i] == '"' without
 * quotes and backslashes (out may be NULL to skip it); returns the
 * index after it. */
size_t mime_unquote(const char *v, size_t len, size_t i, struct fbuf *out);
/* 0-15 for a hex digit, else -1. */
/* Appends in[0..n) to out with invalid UTF-8 replaced by U+FFFD. */
void mime_utf8_clean(const char *in, size_t n, struct fbuf *out);

#endif
