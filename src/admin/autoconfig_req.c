/* Outlook's autodiscover request (autoconfig.h): the POX form
 *
 *   <Autodiscover xmlns="...requestschema/2006"><Request>
 *     <EMailAddress>a@example.org</EMailAddress>
 *     <AcceptableResponseSchema>...responseschema/2006a</...>
 *   </Request></Autodiscover>
 *
 * read by a small XML subset reader, not a general parser: elements,
 * attributes (skipped), text, comments and processing instructions.
 * What a general parser would add is exactly what a hostile body uses:
 * DOCTYPE and entity declarations (expansion bombs, external entities)
 * and CDATA are refused.  Nesting, names and captured text are bounded,
 * and the whole body is bounded by the caller (AUTOCONFIG_BODY_MAX). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/autoconfig.h"
#include "lib/xalloc.h"

#define AC_DEPTH_MAX 16
#define AC_NAME_MAX 128
#define AC_SCHEMA_MAX 256
#define AC_TEXT_MAX 512

#define AC_NS_OUTLOOK "http://schemas.microsoft.com/exchange/" \
	"autodiscover/outlook/responseschema/2006a"

struct ac_req {
	const char *p, *end;
	char stack[AC_DEPTH_MAX][AC_NAME_MAX + 1];	/* local names */
	int depth;
	bool root_seen;
	int capture;		/* 0 none, 1 address, 2 schema */
	char text[AC_TEXT_MAX + 1];
	size_t tlen;
	bool have_addr, have_schema;
	char addr[AUTOCONFIG_ADDR_MAX + 1];
	char schema[AC_SCHEMA_MAX + 1];
	const char *error;
};

static int
ac_fail(struct ac_req *r, const char *why)
{
	if (r->error == NULL)
		r->error = why;
	return -1;
}

static bool
ac_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
ac_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == ':';
}

/* Skips to just after the first occurrence of s, or fails. */
static int
ac_skip_past(struct ac_req *r, const char *s, const char *why)
{
	size_t n = strlen(s);
	const char *q = memmem(r->p, (size_t)(r->end - r->p), s, n);

	if (q == NULL)
		return ac_fail(r, why);
	r->p = q + n;
	return 0;
}

/* A name at r->p into the local part (after the last ':'). */
static int
ac_name(struct ac_req *r, char *local)
{
	const char *start = r->p, *colon = NULL;

	while (r->p < r->end && ac_name_char(*r->p)) {
		if (*r->p == ':')
			colon = r->p;
		r->p++;
	}
	if (r->p == start || (size_t)(r->p - start) > AC_NAME_MAX)
		return ac_fail(r, "bad element name");
	if (colon != NULL)
		start = colon + 1;
	if (start == r->p)
		return ac_fail(r, "bad element name");
	memcpy(local, start, (size_t)(r->p - start));
	local[r->p - start] = '\0';
	return 0;
}

static void
ac_skip_space(struct ac_req *r)
{
	while (r->p < r->end && ac_space(*r->p))
		r->p++;
}

/* The capture that an element opened at this depth starts, if any. */
static int
ac_capture_of(const struct ac_req *r)
{
	if (r->depth != 3 || strcmp(r->stack[0], "Autodiscover") != 0 ||
	    strcmp(r->stack[1], "Request") != 0)
		return 0;
	if (strcmp(r->stack[2], "EMailAddress") == 0)
		return 1;
	if (strcmp(r->stack[2], "AcceptableResponseSchema") == 0)
		return 2;
	return 0;
}

/* Attributes up to '>' or "/>": names and quoted values, skipped. */
static int
ac_attributes(struct ac_req *r, bool *empty)
{
	char name[AC_NAME_MAX + 1];

	for (;;) {
		char q;
		const char *close;

		ac_skip_space(r);
		if (r->p >= r->end)
			return ac_fail(r, "unterminated tag");
		if (*r->p == '>' || (*r->p == '/' && r->p + 1 < r->end &&
		    r->p[1] == '>')) {
			*empty = *r->p == '/';
			r->p += *empty ? 2 : 1;
			return 0;
		}
		if (ac_name(r, name) < 0)
			return -1;
		ac_skip_space(r);
		if (r->p >= r->end || *r->p++ != '=')
			return ac_fail(r, "bad attribute");
		ac_skip_space(r);
		if (r->p >= r->end || (*r->p != '"' && *r->p != '\''))
			return ac_fail(r, "bad attribute");
		q = *r->p++;
		close = memchr(r->p, q, (size_t)(r->end - r->p));
		if (close == NULL || memchr(r->p, '<', (size_t)(close - r->p)))
			return ac_fail(r, "bad attribute");
		r->p = close + 1;
	}
}

static int
ac_open(struct ac_req *r)
{
	char name[AC_NAME_MAX + 1];
	bool empty = false;

	if (ac_name(r, name) < 0 || ac_attributes(r, &empty) < 0)
		return -1;
	if (r->depth == 0 && r->root_seen)
		return ac_fail(r, "more than one root element");
	if (r->depth == AC_DEPTH_MAX)
		return ac_fail(r, "nested too deep");
	if (r->capture != 0)
		return ac_fail(r, "element inside a value");
	r->root_seen = true;
	memcpy(r->stack[r->depth++], name, sizeof(name));
	if (r->depth == 1 && strcmp(name, "Autodiscover") != 0)
		return ac_fail(r, "not an autodiscover request");
	r->capture = ac_capture_of(r);
	r->tlen = 0;
	r->text[0] = '\0';
	if (empty) {
		r->depth--;
		r->capture = 0;
	}
	return 0;
}

/* The captured text, without surrounding white space. */
static int
ac_keep(struct ac_req *r, char *dst, size_t size, bool *have)
{
	size_t a = 0, b = r->tlen;

	if (*have)
		return ac_fail(r, "value given twice");
	while (a < b && ac_space(r->text[a]))
		a++;
	while (b > a && ac_space(r->text[b - 1]))
		b--;
	if (b - a >= size)
		return ac_fail(r, "value too long");
	memcpy(dst, r->text + a, b - a);
	dst[b - a] = '\0';
	*have = true;
	return 0;
}

static int
ac_close(struct ac_req *r)
{
	char name[AC_NAME_MAX + 1];

	if (ac_name(r, name) < 0)
		return -1;
	ac_skip_space(r);
	if (r->p >= r->end || *r->p++ != '>')
		return ac_fail(r, "bad end tag");
	if (r->depth == 0 || strcmp(r->stack[r->depth - 1], name) != 0)
		return ac_fail(r, "end tag does not match");
	if (r->capture == 1 &&
	    ac_keep(r, r->addr, sizeof(r->addr), &r->have_addr) < 0)
		return -1;
	if (r->capture == 2 &&
	    ac_keep(r, r->schema, sizeof(r->schema), &r->have_schema) < 0)
		return -1;
	r->capture = 0;
	r->depth--;
	return 0;
}

static int
ac_text_add(struct ac_req *r, const char *s, size_t n)
{
	if (r->capture == 0)
		return 0;
	if (r->tlen + n > AC_TEXT_MAX)
		return ac_fail(r, "value too long");
	memcpy(r->text + r->tlen, s, n);
	r->tlen += n;
	r->text[r->tlen] = '\0';
	return 0;
}

/* Code point cp as UTF-8 into buf: the length, or 0 when XML 1.0 does
 * not allow the character. */
static size_t
ac_utf8(uint32_t cp, char *buf)
{
	if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
	    cp > 0x10ffff)
		return 0;
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One reference after '&' (the five predefined entities, &#N; and
 * &#xH;), added to the captured text. */
static int
ac_reference(struct ac_req *r)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' },
	    { "quot;", '"' }, { "apos;", '\'' } };
	size_t left = (size_t)(r->end - r->p), n;
	uint32_t cp = 0;
	char buf[4];
	bool hex;

	for (size_t i = 0; i < 5; i++) {
		n = strlen(named[i].name);
		if (left >= n && memcmp(r->p, named[i].name, n) == 0) {
			r->p += n;
			return ac_text_add(r, &named[i].c, 1);
		}
	}
	if (left < 3 || *r->p != '#')
		return ac_fail(r, "unknown entity");
	r->p++;
	hex = *r->p == 'x';
	r->p += hex;
	for (n = 0; r->p < r->end && *r->p != ';' && n < 8; n++, r->p++) {
		char c = *r->p;
		int v = c >= '0' && c <= '9' ? c - '0' : !hex ? -1 :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (v < 0)
			return ac_fail(r, "bad character reference");
		cp = cp * (hex ? 16 : 10) + (uint32_t)v;
	}
	if (n == 0 || r->p >= r->end || *r->p != ';' ||
	    (n = ac_utf8(cp, buf)) == 0)
		return ac_fail(r, "bad character reference");
	r->p++;
	return ac_text_add(r, buf, n);
}

static int
ac_text(struct ac_req *r)
{
	while (r->p < r->end && *r->p != '<') {
		const char *amp = memchr(r->p, '&', (size_t)(r->end - r->p));
		const char *lt = memchr(r->p, '<', (size_t)(r->end - r->p));
		const char *stop = lt == NULL ? r->end : lt;

		if (amp != NULL && amp < stop)
			stop = amp;
		if (r->depth == 0) {
			for (const char *q = r->p; q < stop; q++)
				if (!ac_space(*q))
					return ac_fail(r, "text outside the "
					    "root element");
		}
		if (memchr(r->p, '\0', (size_t)(stop - r->p)) != NULL)
			return ac_fail(r, "NUL in text");
		if (ac_text_add(r, r->p, (size_t)(stop - r->p)) < 0)
			return -1;
		r->p = stop;
		if (r->p < r->end && *r->p == '&') {
			r->p++;
			if (ac_reference(r) < 0)
				return -1;
		}
	}
	return 0;
}

static int
ac_markup(struct ac_req *r)
{
	size_t left = (size_t)(r->end - r->p);

	if (left >= 2 && r->p[1] == '?') {
		r->p += 2;
		return ac_skip_past(r, "?>", "unterminated instruction");
	}
	if (left >= 4 && memcmp(r->p, "<!--", 4) == 0) {
		r->p += 4;
		return ac_skip_past(r, "-->", "unterminated comment");
	}
	if (left >= 2 && r->p[1] == '!')
		return ac_fail(r, "DOCTYPE, CDATA and declarations are not "
		    "accepted");
	if (left >= 2 && r->p[1] == '/') {
		r->p += 2;
		return ac_close(r);
	}
	r->p++;
	return ac_open(r);
}

int
autoconfig_autodiscover_parse(const char *body, size_t len, char *addr,
    size_t size, bool *outlook_r, const char **error_r)
{
	struct ac_req *r;
	int ret = -1;

	*error_r = NULL;
	if (len > AUTOCONFIG_BODY_MAX) {
		*error_r = "request too large";
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	r->p = body;
	r->end = body + len;
	/* A byte order mark may open the document. */
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		r->p += 3;
	while (r->p < r->end)
		if ((*r->p == '<' ? ac_markup(r) : ac_text(r)) < 0)
			goto out;
	if (!r->root_seen || r->depth != 0)
		(void)ac_fail(r, "incomplete document");
	else if (!r->have_addr || r->addr[0] == '\0')
		(void)ac_fail(r, "no EMailAddress");
	else if (strlen(r->addr) >= size)
		(void)ac_fail(r, "address too long");
	else {
		memcpy(addr, r->addr, strlen(r->addr) + 1);
		*outlook_r = !r->have_schema ||
		    strcmp(r->schema, AC_NS_OUTLOOK) == 0;
		ret = 0;
	}
out:
	*error_r = r->error;
	free(r);
	return ret;
}
