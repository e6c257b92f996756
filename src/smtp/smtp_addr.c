/* RFC 5321 section 4.1.2 Path and Mailbox parsing, with the RFC 6531
 * section 3.3 UTF-8 extensions when SMTPUTF8 is in effect.  Quoted local
 * parts are reduced to dot-atom form when they are one; source routes
 * (A-d-l) are checked and then dropped (RFC 5321 section 4.1.1.3, 4.4);
 * address literals are checked with inet_pton(); the section 4.5.3.1
 * size limits are enforced.  It does not resolve, lower-case or otherwise
 * interpret domains, and rejects General-address-literals (nobody needs
 * them to reach us). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_addr.h"

struct smtp_addr_cursor {
	const unsigned char *p, *end;
	unsigned flags;
	const char *error;
	bool utf8;		/* saw non-ASCII octets */
};

/* Length of the well-formed UTF-8 sequence (RFC 3629 section 4) of two
 * to four octets at p, or 0 when it is not one.  Rejects overlongs,
 * surrogates and code points above U+10FFFF. */
static size_t
smtp_addr_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t want, i;

	if (c >= 0xc2 && c <= 0xdf)
		want = 2;
	else if (c >= 0xe0 && c <= 0xef)
		want = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		want = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < want || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < want; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return want;
}

/* Consumes one UTF-8 sequence at the cursor when allowed; 0 or -1. */
static int
smtp_addr_take_utf8(struct smtp_addr_cursor *c)
{
	size_t n;

	if ((c->flags & SMTP_ADDR_F_UTF8) == 0) {
		c->error = "Non-ASCII address requires SMTPUTF8";
		return -1;
	}
	n = smtp_addr_utf8_len(c->p, (size_t)(c->end - c->p));
	if (n == 0) {
		c->error = "Invalid UTF-8 in address";
		return -1;
	}
	c->p += n;
	c->utf8 = true;
	return 0;
}

/* RFC 5322 atext. */
static bool
smtp_addr_is_atext(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static bool
smtp_addr_is_ldh(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-';
}

/* Whether s[0..len) is a Dot-string; non-ASCII octets must have been
 * validated by the caller. */
static bool
smtp_addr_is_dot_string(const unsigned char *s, size_t len)
{
	bool atom = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (!atom)
				return false;
			atom = false;
		} else if (s[i] >= 0x80 || smtp_addr_is_atext(s[i]))
			atom = true;
		else
			return false;
	}
	return atom;
}

/* Dot-string local part: copies it as given. */
static int
smtp_addr_parse_dot_local(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	const unsigned char *start = c->p;
	size_t len;

	while (c->p < c->end) {
		if (*c->p >= 0x80) {
			if (smtp_addr_take_utf8(c) < 0)
				return -1;
		} else if (smtp_addr_is_atext(*c->p) || *c->p == '.')
			c->p++;
		else
			break;
	}
	len = (size_t)(c->p - start);
	if (len > SMTP_ADDR_LOCAL_MAX) {
		c->error = "Local part too long";
		return -1;
	}
	if (!smtp_addr_is_dot_string(start, len)) {
		c->error = "Invalid local part";
		return -1;
	}
	memcpy(a->local, start, len);
	a->local[len] = '\0';
	return 0;
}

/* Stores the unescaped quoted content raw[0..n) in canonical form: bare
 * when it is a valid Dot-string, else quoted with only '"' and '\'
 * escaped.  The result is never longer than the quoted input. */
static void
smtp_addr_canon_quoted(struct smtp_addr *a, const unsigned char *raw,
    size_t n)
{
	size_t o = 0;

	if (smtp_addr_is_dot_string(raw, n)) {
		memcpy(a->local, raw, n);
		a->local[n] = '\0';
		return;
	}
	a->local[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '"' || raw[i] == '\\')
			a->local[o++] = '\\';
		a->local[o++] = (char)raw[i];
	}
	a->local[o++] = '"';
	a->local[o] = '\0';
}

/* Quoted-string local part (RFC 5321 QcontentSMTP). */
static int
smtp_addr_parse_quoted_local(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	const unsigned char *start = c->p, *seq;
	unsigned char raw[SMTP_ADDR_LOCAL_MAX + 8];
	size_t n = 0;

	for (c->p++;; ) {
		if (c->p >= c->end || c->p - start >= SMTP_ADDR_LOCAL_MAX) {
			c->error = c->p >= c->end ?
			    "Unbalanced quotes in address" :
			    "Local part too long";
			return -1;
		}
		seq = c->p;
		if (*c->p == '"')
			break;
		if (*c->p == '\\') {
			if (c->p + 1 >= c->end || c->p[1] < 32 ||
			    c->p[1] > 126) {
				c->error = "Invalid quoted pair in local part";
				return -1;
			}
			raw[n++] = c->p[1];
			c->p += 2;
			continue;
		}
		if (*c->p >= 0x80) {
			if (smtp_addr_take_utf8(c) < 0)
				return -1;
		} else if (*c->p < 32 || *c->p == 127) {
			c->error = "Control character in local part";
			return -1;
		} else
			c->p++;
		/* raw never outgrows the input, which is checked against
		 * SMTP_ADDR_LOCAL_MAX before each step of at most 4 octets. */
		while (seq < c->p)
			raw[n++] = *seq++;
	}
	c->p++;
	smtp_addr_canon_quoted(a, raw, n);
	return 0;
}

bool
smtp_addr_domain_valid(const char *s, size_t len, bool utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t label = 0, n;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > SMTP_ADDR_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i += n) {
		n = 1;
		if (p[i] == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (p[i] >= 0x80) {
			if (!utf8)
				return false;
			if ((n = smtp_addr_utf8_len(p + i, len - i)) == 0)
				return false;
		} else if (!smtp_addr_is_ldh(p[i]) ||
		    (p[i] == '-' && label == 0))
			return false;
		label += n;
		if (label > 63)
			return false;
	}
	return label > 0 && p[len - 1] != '-';
}

/* Address literal "[1.2.3.4]" or "[IPv6:...]" (RFC 5321 section 4.1.3). */
static int
smtp_addr_parse_literal(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	const unsigned char *start = ++c->p;
	char text[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	size_t len;
	int r;

	while (c->p < c->end && *c->p != ']')
		c->p++;
	len = (size_t)(c->p - start);
	if (c->p >= c->end) {
		c->error = "Unbalanced brackets in address literal";
		return -1;
	}
	c->p++;
	if (len >= sizeof(text) || memchr(start, '\0', len) != NULL)
		goto bad;
	memcpy(text, start, len);
	text[len] = '\0';
	if (strncasecmp(text, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1)
			goto bad;
		r = snprintf(a->domain, sizeof(a->domain), "[IPv6:%s]",
		    text + 5);
	} else {
		if (inet_pton(AF_INET, text, bin) != 1)
			goto bad;
		r = snprintf(a->domain, sizeof(a->domain), "[%s]", text);
	}
	if (r < 0 || (size_t)r >= sizeof(a->domain))
		goto bad;
	a->literal = true;
	return 0;
bad:
	c->error = "Invalid address literal";
	return -1;
}

/* Domain name; one trailing dot is accepted and dropped. */
static int
smtp_addr_parse_domain_name(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	const unsigned char *start = c->p;
	size_t len;

	while (c->p < c->end && (smtp_addr_is_ldh(*c->p) || *c->p == '.' ||
	    *c->p >= 0x80)) {
		if (*c->p < 0x80)
			c->p++;
		else if (smtp_addr_take_utf8(c) < 0)
			return -1;
	}
	len = (size_t)(c->p - start);
	if (len == 0) {
		c->error = "Missing domain";
		return -1;
	}
	/* smtp_addr_domain_valid() accepts one trailing dot; drop it. */
	if (!smtp_addr_domain_valid((const char *)start, len,
	    (c->flags & SMTP_ADDR_F_UTF8) != 0)) {
		c->error = "Invalid domain name";
		return -1;
	}
	if (start[len - 1] == '.')
		len--;
	memcpy(a->domain, start, len);
	a->domain[len] = '\0';
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int
smtp_addr_parse_mbox(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	int r;

	if (c->p < c->end && *c->p == '"')
		r = smtp_addr_parse_quoted_local(c, a);
	else
		r = smtp_addr_parse_dot_local(c, a);
	if (r < 0)
		return -1;
	if (c->p >= c->end || *c->p != '@') {
		c->error = c->p >= c->end || *c->p == '>' ? "Missing domain" :
		    "Invalid character in local part";
		return -1;
	}
	c->p++;
	if (c->p < c->end && *c->p == '[')
		r = smtp_addr_parse_literal(c, a);
	else
		r = smtp_addr_parse_domain_name(c, a);
	if (r < 0)
		return -1;
	a->utf8 = c->utf8;
	return 0;
}

/* A-d-l ":" (a source route): syntax-checked, then ignored as RFC 5321
 * section 4.1.1.3 allows. */
static int
smtp_addr_skip_route(struct smtp_addr_cursor *c)
{
	const unsigned char *start;

	for (;;) {
		if (c->p >= c->end || *c->p != '@')
			goto bad;
		start = ++c->p;
		while (c->p < c->end && *c->p != ',' && *c->p != ':')
			c->p++;
		if (c->p >= c->end ||
		    !smtp_addr_domain_valid((const char *)start,
		    (size_t)(c->p - start), (c->flags & SMTP_ADDR_F_UTF8) != 0))
			goto bad;
		if (*c->p++ == ':')
			return 0;
	}
bad:
	c->error = "Invalid source route";
	return -1;
}

/* The inside of "<...>": null path, bare Postmaster, or
 * [A-d-l ":"] Mailbox. */
static int
smtp_addr_parse_inner(struct smtp_addr_cursor *c, struct smtp_addr *a)
{
	size_t left = (size_t)(c->end - c->p);

	if (left == 0) {
		if ((c->flags & SMTP_ADDR_F_ALLOW_NULL) == 0) {
			c->error = "Null address not allowed here";
			return -1;
		}
		a->null = true;
		return 0;
	}
	if (left == 10 &&
	    strncasecmp((const char *)c->p, "postmaster", 10) == 0) {
		if ((c->flags & SMTP_ADDR_F_POSTMASTER) == 0) {
			c->error = "Missing domain";
			return -1;
		}
		memcpy(a->local, "postmaster", sizeof("postmaster"));
		a->postmaster = true;
		c->p = c->end;
		return 0;
	}
	if (*c->p == '@' && smtp_addr_skip_route(c) < 0)
		return -1;
	return smtp_addr_parse_mbox(c, a);
}

static int
smtp_addr_check_ctl(const char *s, size_t len, const char **error_r)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 32 || ch == 127) {
			*error_r = ch == 0 ? "NUL in address" :
			    "Control character in address";
			return -1;
		}
	}
	return 0;
}

static int
smtp_addr_finish(struct smtp_addr_cursor *c, int r, const char **error_r)
{
	if (r == 0 && c->p != c->end) {
		c->error = *c->p == '@' ? "Too many @ in address" :
		    "Junk after address";
		r = -1;
	}
	if (r < 0)
		*error_r = c->error != NULL ? c->error : "Invalid address";
	return r;
}

int
smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
    struct smtp_addr *a, const char **error_r)
{
	struct smtp_addr_cursor c;

	memset(a, 0, sizeof(*a));
	if (len > SMTP_ADDR_PATH_MAX) {
		*error_r = "Address too long";
		return -1;
	}
	if (smtp_addr_check_ctl(s, len, error_r) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.p = (const unsigned char *)s;
	c.end = c.p + len;
	c.flags = flags;
	if (len == 0 || s[0] != '<') {
		if ((flags & SMTP_ADDR_F_NO_BRACKETS) == 0 || len == 0) {
			*error_r = "Address must be in angle brackets";
			return -1;
		}
		return smtp_addr_finish(&c, smtp_addr_parse_mbox(&c, a),
		    error_r);
	}
	if (len < 2 || s[len - 1] != '>') {
		*error_r = "Unbalanced angle brackets in address";
		return -1;
	}
	c.p++;
	c.end--;
	return smtp_addr_finish(&c, smtp_addr_parse_inner(&c, a), error_r);
}

int
smtp_addr_parse_mailbox(const char *s, size_t len, unsigned flags,
    struct smtp_addr *a, const char **error_r)
{
	struct smtp_addr_cursor c;

	memset(a, 0, sizeof(*a));
	if (len > SMTP_ADDR_PATH_MAX - 2) {
		*error_r = "Address too long";
		return -1;
	}
	if (smtp_addr_check_ctl(s, len, error_r) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.p = (const unsigned char *)s;
	c.end = c.p + len;
	c.flags = flags;
	return smtp_addr_finish(&c, smtp_addr_parse_mbox(&c, a), error_r);
}

int
smtp_addr_format(const struct smtp_addr *a, char *dst, size_t size)
{
	int r;

	if (a->null)
		r = snprintf(dst, size, "%s", "");
	else if (a->postmaster)
		r = snprintf(dst, size, "%s", "postmaster");
	else
		r = snprintf(dst, size, "%s@%s", a->local, a->domain);
	if (r < 0 || (size_t)r >= size)
		return -1;
	return r;
}
