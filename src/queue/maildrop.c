/* The maildrop file format (maildrop.h): records written by `ferry
 * sendmail`, parsed and checked by the queue's pickup.  The parser trusts
 * nothing: every record has a bounded length, addresses are checked octet
 * by octet, and the content checker refuses what SMTP would refuse (bare
 * CR or LF, NUL, lines over RFC 5321's 1000 octets). */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "queue/maildrop.h"

bool
maildrop_addr_ok(const char *a)
{
	size_t n = strlen(a);
	const char *at = strrchr(a, '@');

	if (n == 0 || n > MAILDROP_ADDR_MAX || at == NULL || at == a ||
	    at[1] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	/* The domain: a name (UTF-8 allowed) or an address literal. */
	if (at[1] == '[')
		return a[n - 1] == ']';
	for (const unsigned char *p = (const unsigned char *)at + 1; *p; p++)
		if (*p < 0x80 && *p != '-' && *p != '.' && !(*p >= '0' &&
		    *p <= '9') && !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			return false;
	return true;
}

void
maildrop_env_format(const struct maildrop_env *e, struct fbuf *out)
{
	fbuf_addf(out, "%sS %s\n", MAILDROP_MAGIC, e->sender);
	for (size_t i = 0; i < e->nrcpts; i++)
		fbuf_addf(out, "R %s\n", e->rcpts[i]);
	fbuf_addf(out, "E\n");
}

void
maildrop_env_free(struct maildrop_env *e)
{
	free(e->sender);
	for (size_t i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	memset(e, 0, sizeof(*e));
}

/* One record "X value" of n octets (LF excluded) into e. */
static int
maildrop_record(struct maildrop_env *e, const char *p, size_t n,
    const char **error_r)
{
	char v[MAILDROP_ADDR_MAX + 1];

	if (n < 2 || p[1] != ' ' || n - 2 > MAILDROP_ADDR_MAX) {
		*error_r = "malformed record";
		return -1;
	}
	memcpy(v, p + 2, n - 2);
	v[n - 2] = '\0';
	if (memchr(v, '\0', n - 2) != NULL) {
		*error_r = "NUL in a record";
		return -1;
	}
	if (p[0] == 'S' && e->sender == NULL &&
	    (v[0] == '\0' || maildrop_addr_ok(v))) {
		e->sender = xstrdup(v);
		return 0;
	}
	if (p[0] == 'R' && e->sender != NULL && maildrop_addr_ok(v) &&
	    e->nrcpts < MAILDROP_RCPT_MAX) {
		e->rcpts = xreallocarray(e->rcpts, e->nrcpts + 1,
		    sizeof(*e->rcpts));
		e->rcpts[e->nrcpts++] = xstrdup(v);
		return 0;
	}
	*error_r = p[0] == 'R' && e->nrcpts == MAILDROP_RCPT_MAX ?
	    "too many recipients" : "bad sender or recipient record";
	return -1;
}

int
maildrop_env_parse(const char *buf, size_t len, struct maildrop_env *e,
    size_t *content_r, const char **error_r)
{
	size_t off = strlen(MAILDROP_MAGIC);
	const char *nl;

	memset(e, 0, sizeof(*e));
	if (len < off)
		return memcmp(buf, MAILDROP_MAGIC, len) == 0 ? 0 :
		    (*error_r = "not a maildrop file", -1);
	if (memcmp(buf, MAILDROP_MAGIC, off) != 0) {
		*error_r = "not a maildrop file";
		return -1;
	}
	while ((nl = memchr(buf + off, '\n', len - off)) != NULL) {
		size_t n = (size_t)(nl - (buf + off));

		if (n == 1 && buf[off] == 'E') {
			if (e->sender == NULL || e->nrcpts == 0) {
				*error_r = "no sender or no recipient";
				break;
			}
			*content_r = off + 2;
			return 1;
		}
		if (maildrop_record(e, buf + off, n, error_r) < 0)
			break;
		off += n + 1;
	}
	if (nl == NULL && len < MAILDROP_HEAD_MAX && len - off <=
	    MAILDROP_ADDR_MAX + 2) {
		maildrop_env_free(e);
		return 0;
	}
	if (nl == NULL)
		*error_r = "records too long";
	maildrop_env_free(e);
	return -1;
}

void
maildrop_check_init(struct maildrop_check *c, uint64_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
}

int
maildrop_check_feed(struct maildrop_check *c, const void *p, size_t n,
    const char **error_r)
{
	const unsigned char *s = p;

	c->size += n;
	if (c->max != 0 && c->size > c->max) {
		*error_r = "message too big";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0') {
			*error_r = "NUL octet in the message";
			return -1;
		}
		if (c->cr != (s[i] == '\n')) {
			*error_r = "bare CR or LF in the message";
			return -1;
		}
		c->cr = s[i] == '\r';
		if (++c->line > MAILDROP_LINE_MAX) {
			*error_r = "line longer than 998 octets";
			return -1;
		}
		if (s[i] == '\n')
			c->line = 0;
	}
	return 0;
}

int
maildrop_check_end(const struct maildrop_check *c, const char **error_r)
{
	if (c->line != 0) {
		*error_r = "the message does not end with a line end";
		return -1;
	}
	return 0;
}
