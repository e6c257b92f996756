/* The file format of the mail problem reports (ops_report.h): writing
 * and parsing, with no I/O so that the parser can be fuzzed whole
 * (tests/fuzz/fuzz_ops_report.c). */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_report.h"

/* Appends s with '%', TAB, CR, LF, DEL and control bytes as %XX. */
static void
ops_report_put(struct fbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

		if (ch < 0x20 || ch == 0x7f || ch == '%')
			fbuf_add(out, esc, 3);
		else
			fbuf_add(out, s, 1);
	}
}

void
ops_report_format(const struct ops_report *r, struct fbuf *out)
{
	fbuf_addf(out, "r2\t%lld\t", (long long)r->time);
	ops_report_put(out, r->reporter);
	fbuf_adds(out, "\t");
	ops_report_put(out, r->when);
	fbuf_adds(out, "\t");
	ops_report_put(out, r->address);
	fbuf_adds(out, "\t");
	ops_report_put(out, r->what);
	fbuf_adds(out, "\t");
	ops_report_put(out, r->facts != NULL ? r->facts : "");
	fbuf_adds(out, "\n");
}

/* The field [p, end) decoded; NULL when an escape is malformed or
 * decodes to NUL. */
static char *
ops_report_get(const char *p, const char *end)
{
	char *out = xmalloc((size_t)(end - p) + 1), *o = out;
	int hi, lo;

	while (p < end) {
		if (*p != '%') {
			*o++ = *p++;
			continue;
		}
		if (end - p < 3 || (hi = str_hexval(p[1])) < 0 ||
		    (lo = str_hexval(p[2])) < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		p += 3;
	}
	*o = '\0';
	return out;
}

static void
ops_report_free_one(struct ops_report *r)
{
	free(r->reporter);
	free(r->when);
	free(r->address);
	free(r->what);
	free(r->facts);
}

/* One line without its LF: 0 with r filled, or -1.  "r1" lines (before
 * the log facts) have five fields, "r2" lines six. */
static int
ops_report_line(const char *p, const char *end, struct ops_report *r)
{
	const char *f[8], *tab;
	char num[24];
	uint64_t t;
	size_t n = 0, want;

	memset(r, 0, sizeof(*r));
	if (end - p < 3 || p[0] != 'r' || (p[1] != '1' && p[1] != '2') ||
	    p[2] != '\t')
		return -1;
	want = p[1] == '1' ? 6 : 7;
	f[n++] = p;
	while (n < want && (tab = memchr(p, '\t', (size_t)(end - p))) != NULL) {
		p = tab + 1;
		f[n++] = p;
	}
	if (n != want || memchr(p, '\t', (size_t)(end - p)) != NULL ||
	    (size_t)(f[2] - f[1] - 1) >= sizeof(num))
		return -1;
	f[want] = end + 1;	/* the end of the last field, as for the others */
	memcpy(num, f[1], (size_t)(f[2] - f[1] - 1));
	num[f[2] - f[1] - 1] = '\0';
	if (str_parse_uint(num, 0, INT64_MAX, &t) < 0)
		return -1;
	r->time = (int64_t)t;
	r->reporter = ops_report_get(f[2], f[3] - 1);
	r->when = ops_report_get(f[3], f[4] - 1);
	r->address = ops_report_get(f[4], f[5] - 1);
	r->what = ops_report_get(f[5], f[6] - 1);
	r->facts = want == 7 ? ops_report_get(f[6], f[7] - 1) : xstrdup("");
	if (r->reporter == NULL || r->when == NULL || r->address == NULL ||
	    r->what == NULL || r->facts == NULL) {
		ops_report_free_one(r);
		return -1;
	}
	return 0;
}

void
ops_report_parse(const char *buf, size_t len, struct ops_report_list *out)
{
	const char *p, *end, *nl;
	struct ops_report r;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return;		/* buf may be NULL: an empty fbuf */
	p = buf;
	end = buf + len;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;		/* a torn last line */
		if (ops_report_line(p, nl, &r) < 0)
			continue;
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = r;
	}
}

void
ops_report_list_free(struct ops_report_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		ops_report_free_one(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

