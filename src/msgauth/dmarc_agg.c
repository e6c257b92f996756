/* The XML of incoming DMARC aggregate reports (dmarc_agg.h; RFC 7489
 * Appendix C).  Not a general XML parser: elements, attributes (read
 * past, never used), character data with the five predefined entities
 * and character references, CDATA sections, comments and processing
 * instructions.  A DOCTYPE is refused, so there are no entity
 * definitions to expand (no "billion laughs").  Elements nest at most
 * DMARC_AGG_DEPTH deep, names and values are bounded, and the whole
 * input is at most DMARC_AGG_XML_MAX octets.  The reader keeps the path
 * of open elements ("feedback/record/row/count") and hands each leaf's
 * text to the field that path names; namespace prefixes are ignored. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc_agg.h"

#define DMARC_AGG_DEPTH 16	/* nesting of elements */
#define DMARC_AGG_NAME 48	/* octets of one element name */
#define DMARC_AGG_TEXT 1024	/* octets of one element's text */

struct dmarc_agg_xr {
	const char *p, *end;
	struct dmarc_agg *a;
	char stack[DMARC_AGG_DEPTH][DMARC_AGG_NAME + 1];
	int depth;
	bool root_done;
	char text[DMARC_AGG_TEXT + 1];
	size_t ntext;
	bool text_over;
	bool have_begin, have_end, have_pct;
	bool dkim_skip, spf_skip;	/* past DMARC_AGG_AUTH_MAX */
	const char *error;
};

/* --------------------------------------------------------- characters */

static bool
dmarc_agg_ws(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool
dmarc_agg_namech(int ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	    ch == ':')
		return true;
	return !first && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.');
}

static int
dmarc_agg_fail(struct dmarc_agg_xr *x, const char *why)
{
	if (x->error == NULL)
		x->error = why;
	return -1;
}

/* Skips past the first occurrence of s; -1 when the input ends first. */
static int
dmarc_agg_skip_past(struct dmarc_agg_xr *x, const char *s)
{
	size_t n = strlen(s);

	for (; (size_t)(x->end - x->p) >= n; x->p++)
		if (memcmp(x->p, s, n) == 0) {
			x->p += n;
			return 0;
		}
	return dmarc_agg_fail(x, "truncated XML");
}

/* One code point as UTF-8 onto the element's text. */
static int
dmarc_agg_put(struct dmarc_agg_xr *x, const char *s, size_t n)
{
	if (x->ntext + n > DMARC_AGG_TEXT) {
		x->text_over = true;
		return 0;
	}
	memcpy(x->text + x->ntext, s, n);
	x->ntext += n;
	x->text[x->ntext] = '\0';
	return 0;
}

static int
dmarc_agg_put_cp(struct dmarc_agg_xr *x, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return dmarc_agg_fail(x, "bad character reference");
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return dmarc_agg_put(x, u, n);
}

/* An entity or character reference at x->p ('&'). */
static int
dmarc_agg_entity(struct dmarc_agg_xr *x)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = {
		{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' },
		{ "apos", '\'' },
	};
	const char *semi = x->p + 1;
	unsigned long cp = 0;
	size_t n;

	while (semi < x->end && semi - x->p < 12 && *semi != ';')
		semi++;
	if (semi >= x->end || *semi != ';')
		return dmarc_agg_fail(x, "bad entity reference");
	n = (size_t)(semi - x->p - 1);
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == n &&
		    memcmp(named[i].name, x->p + 1, n) == 0) {
			x->p = semi + 1;
			return dmarc_agg_put(x, &named[i].ch, 1);
		}
	if (n < 2 || x->p[1] != '#')
		return dmarc_agg_fail(x, "unknown entity (no DTD is read)");
	for (const char *q = x->p + 2 + (x->p[2] == 'x'); q < semi; q++) {
		int v = x->p[2] == 'x' ? str_hexval(*q) :
		    (*q >= '0' && *q <= '9' ? *q - '0' : -1);

		if (v < 0 || (x->p[2] == 'x' && q == x->p + 2))
			return dmarc_agg_fail(x, "bad character reference");
		cp = cp * (x->p[2] == 'x' ? 16 : 10) + (unsigned long)v;
	}
	if (x->p[2] == 'x' && n < 3)
		return dmarc_agg_fail(x, "bad character reference");
	x->p = semi + 1;
	return dmarc_agg_put_cp(x, cp);
}

/* Character data up to the next '<'. */
static int
dmarc_agg_chardata(struct dmarc_agg_xr *x)
{
	while (x->p < x->end && *x->p != '<') {
		if (*x->p == '&') {
			if (dmarc_agg_entity(x) < 0)
				return -1;
			continue;
		}
		if (*x->p == '\0')
			return dmarc_agg_fail(x, "NUL in XML");
		if (x->depth == 0 && !dmarc_agg_ws((unsigned char)*x->p))
			return dmarc_agg_fail(x, "text outside the root element");
		if (x->depth > 0 && dmarc_agg_put(x, x->p, 1) < 0)
			return -1;
		x->p++;
	}
	return 0;
}

/* ------------------------------------------------------------- fields */

/* The text, white space trimmed, into dst; a value too long or given
 * twice is an error. */
static int
dmarc_agg_str(struct dmarc_agg_xr *x, const char *v, char *dst, size_t size)
{
	size_t n = strlen(v);

	if (dst[0] != '\0')
		return dmarc_agg_fail(x, "repeated element");
	if (n >= size)
		return dmarc_agg_fail(x, "value too long");
	memcpy(dst, v, n + 1);
	return 0;
}

static int
dmarc_agg_uint(struct dmarc_agg_xr *x, const char *v, uint64_t max,
    uint64_t *r)
{
	if (str_parse_uint(v, 0, max, r) < 0)
		return dmarc_agg_fail(x, "bad number");
	return 0;
}

static struct dmarc_agg_rec *
dmarc_agg_cur(struct dmarc_agg_xr *x)
{
	return x->a->nrecs > 0 ? &x->a->recs[x->a->nrecs - 1] : NULL;
}

static int
dmarc_agg_meta(struct dmarc_agg_xr *x, const char *path, const char *v)
{
	struct dmarc_agg *a = x->a;
	uint64_t n;

	if (strcmp(path, "report_metadata/org_name") == 0)
		return dmarc_agg_str(x, v, a->org_name, sizeof(a->org_name));
	if (strcmp(path, "report_metadata/email") == 0)
		return dmarc_agg_str(x, v, a->email, sizeof(a->email));
	if (strcmp(path, "report_metadata/report_id") == 0)
		return dmarc_agg_str(x, v, a->report_id, sizeof(a->report_id));
	if (strcmp(path, "report_metadata/date_range/begin") == 0 ||
	    strcmp(path, "report_metadata/date_range/end") == 0) {
		bool begin = path[27] == 'b';

		if (begin ? x->have_begin : x->have_end)
			return dmarc_agg_fail(x, "repeated element");
		if (dmarc_agg_uint(x, v, 1ULL << 40, &n) < 0)
			return -1;
		*(begin ? &a->begin : &a->end) = (int64_t)n;
		*(begin ? &x->have_begin : &x->have_end) = true;
		return 0;
	}
	if (strcmp(path, "policy_published/domain") == 0) {
		if (dmarc_agg_str(x, v, a->domain, sizeof(a->domain)) < 0)
			return -1;
		str_lower(a->domain);
		return 0;
	}
	if (strcmp(path, "policy_published/p") == 0)
		return dmarc_agg_str(x, v, a->p, sizeof(a->p));
	if (strcmp(path, "policy_published/sp") == 0)
		return dmarc_agg_str(x, v, a->sp, sizeof(a->sp));
	if (strcmp(path, "policy_published/adkim") == 0)
		return dmarc_agg_str(x, v, a->adkim, sizeof(a->adkim));
	if (strcmp(path, "policy_published/aspf") == 0)
		return dmarc_agg_str(x, v, a->aspf, sizeof(a->aspf));
	if (strcmp(path, "policy_published/pct") == 0) {
		if (x->have_pct || dmarc_agg_uint(x, v, 100, &n) < 0)
			return dmarc_agg_fail(x, "bad pct");
		a->pct = (unsigned)n;
		x->have_pct = true;
	}
	return 0;
}

static int
dmarc_agg_auth(struct dmarc_agg_xr *x, struct dmarc_agg_auth *au,
    const char *field, const char *v)
{
	if (strcmp(field, "domain") == 0) {
		if (dmarc_agg_str(x, v, au->domain, sizeof(au->domain)) < 0)
			return -1;
		str_lower(au->domain);
		return 0;
	}
	if (strcmp(field, "selector") == 0)
		return dmarc_agg_str(x, v, au->selector, sizeof(au->selector));
	if (strcmp(field, "result") == 0)
		return dmarc_agg_str(x, v, au->result, sizeof(au->result));
	return 0;
}

static int
dmarc_agg_record(struct dmarc_agg_xr *x, struct dmarc_agg_rec *r,
    const char *path, const char *v)
{
	if (strcmp(path, "row/source_ip") == 0)
		return dmarc_agg_str(x, v, r->source_ip, sizeof(r->source_ip));
	if (strcmp(path, "row/count") == 0) {
		if (r->count != 0)
			return dmarc_agg_fail(x, "repeated element");
		return dmarc_agg_uint(x, v, 1000000000000ULL, &r->count);
	}
	if (strcmp(path, "row/policy_evaluated/disposition") == 0)
		return dmarc_agg_str(x, v, r->disposition,
		    sizeof(r->disposition));
	if (strcmp(path, "row/policy_evaluated/dkim") == 0)
		return dmarc_agg_str(x, v, r->dkim, sizeof(r->dkim));
	if (strcmp(path, "row/policy_evaluated/spf") == 0)
		return dmarc_agg_str(x, v, r->spf, sizeof(r->spf));
	if (strcmp(path, "row/policy_evaluated/reason/type") == 0) {
		if (r->reason[0] == '\0')
			str_lcpy(r->reason, v, sizeof(r->reason));
		return 0;
	}
	if (strcmp(path, "identifiers/header_from") == 0) {
		if (dmarc_agg_str(x, v, r->header_from,
		    sizeof(r->header_from)) < 0)
			return -1;
		str_lower(r->header_from);
		return 0;
	}
	if (strcmp(path, "identifiers/envelope_from") == 0)
		return dmarc_agg_str(x, v, r->envelope_from,
		    sizeof(r->envelope_from));
	if (strncmp(path, "auth_results/dkim/", 18) == 0 && !x->dkim_skip &&
	    r->ndkim > 0)
		return dmarc_agg_auth(x, &r->dkim_auth[r->ndkim - 1],
		    path + 18, v);
	if (strncmp(path, "auth_results/spf/", 17) == 0 && !x->spf_skip &&
	    r->nspf > 0)
		return dmarc_agg_auth(x, &r->spf_auth[r->nspf - 1], path + 17,
		    v);
	return 0;
}

/* The open elements below <feedback> as "a/b/c" into buf. */
static void
dmarc_agg_path(const struct dmarc_agg_xr *x, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 1; i < x->depth; i++) {
		int w = snprintf(buf + n, size - n, "%s%s", i > 1 ? "/" : "",
		    x->stack[i]);

		if (w < 0 || (size_t)w >= size - n)
			return;
		n += (size_t)w;
	}
}

/* An element starts (it is on the stack already). */
static int
dmarc_agg_open(struct dmarc_agg_xr *x)
{
	char path[DMARC_AGG_DEPTH * (DMARC_AGG_NAME + 1)];
	struct dmarc_agg *a = x->a;
	struct dmarc_agg_rec *r;

	if (x->depth == 1)
		return strcmp(x->stack[0], "feedback") == 0 ? 0 :
		    dmarc_agg_fail(x, "not a DMARC aggregate report (the root "
		    "element is not <feedback>)");
	dmarc_agg_path(x, path, sizeof(path));
	if (strcmp(path, "record") == 0) {
		if (a->nrecs >= DMARC_AGG_RECS_MAX)
			return dmarc_agg_fail(x, "too many records");
		if (a->nrecs % 64 == 0)
			a->recs = xreallocarray(a->recs, a->nrecs + 64,
			    sizeof(*a->recs));
		memset(&a->recs[a->nrecs++], 0, sizeof(*a->recs));
		return 0;
	}
	r = dmarc_agg_cur(x);
	if (r != NULL && strcmp(path, "record/auth_results/dkim") == 0) {
		x->dkim_skip = r->ndkim >= DMARC_AGG_AUTH_MAX;
		if (!x->dkim_skip)
			r->ndkim++;
	} else if (r != NULL && strcmp(path, "record/auth_results/spf") == 0) {
		x->spf_skip = r->nspf >= DMARC_AGG_AUTH_MAX;
		if (!x->spf_skip)
			r->nspf++;
	}
	return 0;
}

/* An element ends: its text goes to the field its path names. */
static int
dmarc_agg_close(struct dmarc_agg_xr *x)
{
	char path[DMARC_AGG_DEPTH * (DMARC_AGG_NAME + 1)], *v;
	struct dmarc_agg_rec *r = dmarc_agg_cur(x);
	size_t n = x->ntext;

	if (x->depth < 2)
		return 0;
	dmarc_agg_path(x, path, sizeof(path));
	v = x->text;
	while (n > 0 && dmarc_agg_ws((unsigned char)v[n - 1]))
		v[--n] = '\0';
	while (dmarc_agg_ws((unsigned char)*v))
		v++;
	if (x->text_over && *v != '\0')
		return dmarc_agg_fail(x, "value too long");
	if (*v == '\0')
		return 0;
	if (strncmp(path, "record/", 7) == 0)
		return r != NULL ? dmarc_agg_record(x, r, path + 7, v) : 0;
	return dmarc_agg_meta(x, path, v);
}

/* ---------------------------------------------------------------- tags */

static int
dmarc_agg_name(struct dmarc_agg_xr *x, char *name)
{
	const char *start = x->p, *local;
	size_t n;

	if (x->p >= x->end || !dmarc_agg_namech((unsigned char)*x->p, true))
		return dmarc_agg_fail(x, "bad element name");
	while (x->p < x->end && dmarc_agg_namech((unsigned char)*x->p, false))
		x->p++;
	local = memrchr(start, ':', (size_t)(x->p - start));
	local = local != NULL ? local + 1 : start;
	n = (size_t)(x->p - local);
	if (n == 0 || n > DMARC_AGG_NAME)
		return dmarc_agg_fail(x, "bad element name");
	memcpy(name, local, n);
	name[n] = '\0';
	return 0;
}

/* Attributes up to '>' or "/>": read past.  1 for an empty element. */
static int
dmarc_agg_attrs(struct dmarc_agg_xr *x)
{
	char quote;

	for (;;) {
		while (x->p < x->end && dmarc_agg_ws((unsigned char)*x->p))
			x->p++;
		if (x->p >= x->end)
			return dmarc_agg_fail(x, "truncated XML");
		if (*x->p == '>') {
			x->p++;
			return 0;
		}
		if (*x->p == '/' && x->p + 1 < x->end && x->p[1] == '>') {
			x->p += 2;
			return 1;
		}
		while (x->p < x->end && dmarc_agg_namech((unsigned char)*x->p,
		    false))
			x->p++;
		while (x->p < x->end && dmarc_agg_ws((unsigned char)*x->p))
			x->p++;
		if (x->p + 1 >= x->end || *x->p != '=')
			return dmarc_agg_fail(x, "bad attribute");
		x->p++;
		while (x->p < x->end && dmarc_agg_ws((unsigned char)*x->p))
			x->p++;
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return dmarc_agg_fail(x, "bad attribute");
		quote = *x->p++;
		while (x->p < x->end && *x->p != quote && *x->p != '<')
			x->p++;
		if (x->p >= x->end || *x->p != quote)
			return dmarc_agg_fail(x, "bad attribute");
		x->p++;
	}
}

static int
dmarc_agg_start_tag(struct dmarc_agg_xr *x)
{
	int empty;

	if (x->root_done)
		return dmarc_agg_fail(x, "a second root element");
	if (x->depth >= DMARC_AGG_DEPTH)
		return dmarc_agg_fail(x, "elements nested too deep");
	if (dmarc_agg_name(x, x->stack[x->depth]) < 0 ||
	    (empty = dmarc_agg_attrs(x)) < 0)
		return -1;
	x->depth++;
	x->ntext = 0;
	x->text[0] = '\0';
	x->text_over = false;
	if (dmarc_agg_open(x) < 0)
		return -1;
	if (empty) {
		if (dmarc_agg_close(x) < 0)
			return -1;
		x->root_done = --x->depth == 0;
	}
	return 0;
}

static int
dmarc_agg_end_tag(struct dmarc_agg_xr *x)
{
	char name[DMARC_AGG_NAME + 1];

	if (dmarc_agg_name(x, name) < 0)
		return -1;
	while (x->p < x->end && dmarc_agg_ws((unsigned char)*x->p))
		x->p++;
	if (x->p >= x->end || *x->p != '>')
		return dmarc_agg_fail(x, "truncated XML");
	x->p++;
	if (x->depth == 0 || strcmp(name, x->stack[x->depth - 1]) != 0)
		return dmarc_agg_fail(x, "mismatched end tag");
	if (dmarc_agg_close(x) < 0)
		return -1;
	x->depth--;
	x->ntext = 0;
	x->text[0] = '\0';
	x->text_over = false;
	x->root_done = x->depth == 0;
	return 0;
}

/* One markup construct at x->p ('<'). */
static int
dmarc_agg_markup(struct dmarc_agg_xr *x)
{
	size_t left = (size_t)(x->end - x->p);

	if (left >= 4 && memcmp(x->p, "<!--", 4) == 0) {
		x->p += 4;
		return dmarc_agg_skip_past(x, "-->");
	}
	if (left >= 9 && memcmp(x->p, "<![CDATA[", 9) == 0) {
		const char *s = x->p + 9;

		if (x->depth == 0)
			return dmarc_agg_fail(x, "text outside the root element");
		x->p = s;
		if (dmarc_agg_skip_past(x, "]]>") < 0)
			return -1;
		return dmarc_agg_put(x, s, (size_t)(x->p - 3 - s));
	}
	if (left >= 2 && x->p[1] == '!')
		return dmarc_agg_fail(x, "DOCTYPE or declaration refused");
	if (left >= 2 && x->p[1] == '?') {
		x->p += 2;
		return dmarc_agg_skip_past(x, "?>");
	}
	if (left >= 2 && x->p[1] == '/') {
		x->p += 2;
		return dmarc_agg_end_tag(x);
	}
	x->p++;
	return dmarc_agg_start_tag(x);
}

/* ---------------------------------------------------------- the whole */

static bool
dmarc_agg_in(const char *v, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcasecmp(v, *set) == 0)
			return true;
	return false;
}

static int
dmarc_agg_check_rec(struct dmarc_agg_xr *x, struct dmarc_agg_rec *r)
{
	static const char *const disp[] = { "none", "quarantine", "reject",
		NULL };
	static const char *const pf[] = { "pass", "fail", NULL };
	unsigned char ip[16];

	if (inet_pton(AF_INET, r->source_ip, ip) != 1 &&
	    inet_pton(AF_INET6, r->source_ip, ip) != 1)
		return dmarc_agg_fail(x, "a record without a valid source_ip");
	if (r->count == 0)
		return dmarc_agg_fail(x, "a record without a count");
	if (!dmarc_agg_in(r->disposition, disp) || !dmarc_agg_in(r->dkim, pf) ||
	    !dmarc_agg_in(r->spf, pf))
		return dmarc_agg_fail(x, "a record without a valid "
		    "policy_evaluated");
	if (r->header_from[0] == '\0')
		return dmarc_agg_fail(x, "a record without header_from");
	str_lower(r->disposition);
	str_lower(r->dkim);
	str_lower(r->spf);
	return 0;
}

static int
dmarc_agg_check(struct dmarc_agg_xr *x)
{
	struct dmarc_agg *a = x->a;

	if (!x->root_done)
		return dmarc_agg_fail(x, x->depth == 0 ? "no root element" :
		    "truncated XML");
	if (a->org_name[0] == '\0' || a->report_id[0] == '\0')
		return dmarc_agg_fail(x, "no org_name or report_id");
	if (!x->have_begin || !x->have_end || a->begin > a->end)
		return dmarc_agg_fail(x, "no valid date_range");
	if (a->domain[0] == '\0')
		return dmarc_agg_fail(x, "no policy_published domain");
	if (!x->have_pct)
		a->pct = 100;
	for (size_t i = 0; i < a->nrecs; i++)
		if (dmarc_agg_check_rec(x, &a->recs[i]) < 0)
			return -1;
	return 0;
}

int
dmarc_agg_parse(const char *xml, size_t len, struct dmarc_agg *out,
    const char **error_r)
{
	struct dmarc_agg_xr *x;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > DMARC_AGG_XML_MAX) {
		*error_r = "XML over the size limit";
		return -1;
	}
	x = xcalloc(1, sizeof(*x));
	x->p = xml;
	x->end = xml + len;
	x->a = out;
	/* A UTF-8 byte order mark may lead. */
	if (len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0)
		x->p += 3;
	while (rc == 0 && x->p < x->end)
		rc = *x->p == '<' ? dmarc_agg_markup(x) :
		    dmarc_agg_chardata(x);
	if (rc == 0)
		rc = dmarc_agg_check(x);
	if (rc < 0)
		*error_r = x->error != NULL ? x->error : "bad XML";
	free(x);
	return rc;
}

void
dmarc_agg_free(struct dmarc_agg *a)
{
	free(a->recs);
	a->recs = NULL;
	a->nrecs = 0;
}
