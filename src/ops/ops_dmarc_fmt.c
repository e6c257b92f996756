/* The pure parts of the DMARC aggregate reports (ops_dmarc.h): rua=
 * mailto: URIs, the external destination test, the XML report (RFC 7489
 * Appendix C) and its gzip.  No I/O, so the fuzzer can reach them. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "msgauth/dmarc.h"
#include "ops/ops_dmarc.h"

/* ---------------------------------------------------------- addresses */

static int
ops_dmarc_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The !SIZE suffix (7.1: digits and an optional k, m, g or t). */
static int
ops_dmarc_size(const char *s, uint64_t *max_r)
{
	uint64_t v = 0, mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > UINT64_MAX / 10 - 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	switch (tolower((unsigned char)*s)) {
	case '\0': break;
	case 'k': mul = 1ULL << 10; s++; break;
	case 'm': mul = 1ULL << 20; s++; break;
	case 'g': mul = 1ULL << 30; s++; break;
	case 't': mul = 1ULL << 40; s++; break;
	default: return -1;
	}
	if (*s != '\0' || (v != 0 && mul > UINT64_MAX / v))
		return -1;
	*max_r = v * mul;
	return 0;
}

int
ops_dmarc_mailto(const char *uri, char *addr, size_t size, uint64_t *max_r)
{
	const char *p, *bang;
	size_t n = 0, at = SIZE_MAX;

	*max_r = 0;
	if (size == 0 || strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	p = uri + 7;
	bang = strchr(p, '!');
	if (bang != NULL && ops_dmarc_size(bang + 1, max_r) < 0)
		return -1;
	for (; *p != '\0' && p != bang; p++) {
		int ch = (unsigned char)*p, h, l;

		if (ch == '%') {
			if ((h = ops_dmarc_hex(p[1])) < 0 ||
			    (l = ops_dmarc_hex(p[2])) < 0)
				return -1;
			ch = h * 16 + l;
			p += 2;
		}
		/* A plain addr-spec only: no headers (?), lists, quotes,
		 * spaces or controls that could reach the envelope. */
		if (ch <= ' ' || ch >= 0x7f || strchr("?,;<>()[]\"\\:", ch))
			return -1;
		if (ch == '@') {
			if (at != SIZE_MAX)
				return -1;
			at = n;
		}
		if (n + 1 >= size)
			return -1;
		addr[n++] = (char)ch;
	}
	addr[n] = '\0';
	if (at == SIZE_MAX || at == 0 || at + 1 >= n)
		return -1;
	str_lower(addr + at + 1);
	return 0;
}

bool
ops_dmarc_external(const struct dmarc_psl *psl, const char *policy_domain,
    const char *addr)
{
	const char *at = strrchr(addr, '@');
	char a[256], b[256];

	if (at == NULL || dmarc_org_domain(psl, policy_domain, a,
	    sizeof(a)) < 0 || dmarc_org_domain(psl, at + 1, b, sizeof(b)) < 0)
		return true;
	return strcmp(a, b) != 0;
}

/* ---------------------------------------------------------------- XML */

static void
ops_dmarc_esc(struct fbuf *out, const char *tag, const char *v)
{
	fbuf_addf(out, "<%s>", tag);
	for (; *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '<')
			fbuf_adds(out, "&lt;");
		else if (ch == '>')
			fbuf_adds(out, "&gt;");
		else if (ch == '&')
			fbuf_adds(out, "&amp;");
		else if (ch == '"')
			fbuf_adds(out, "&quot;");
		else if (ch < 0x20 || ch >= 0x7f)
			fbuf_addc(out, '?');	/* stored values are ASCII */
		else
			fbuf_addc(out, (char)ch);
	}
	fbuf_addf(out, "</%s>", tag);
}

/* auth_results/dkim for each "d:s:result" item. */
static void
ops_dmarc_xml_dkim(struct fbuf *out, const char *items)
{
	char buf[1024], *save = NULL, *tok, *sel, *res;

	str_lcpy(buf, items, sizeof(buf));
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((sel = strchr(tok, ':')) == NULL ||
		    (res = strchr(sel + 1, ':')) == NULL)
			continue;
		*sel++ = '\0';
		*res++ = '\0';
		fbuf_adds(out, "<dkim>");
		ops_dmarc_esc(out, "domain", tok);
		ops_dmarc_esc(out, "selector", sel);
		ops_dmarc_esc(out, "result", res);
		fbuf_adds(out, "</dkim>");
	}
}

static void
ops_dmarc_xml_rec(struct fbuf *out, const struct ops_dmarc_rec *r)
{
	fbuf_adds(out, "<record><row>");
	ops_dmarc_esc(out, "source_ip", r->source_ip);
	fbuf_addf(out, "<count>%u</count><policy_evaluated>", r->count);
	ops_dmarc_esc(out, "disposition", r->disposition);
	fbuf_addf(out, "<dkim>%s</dkim><spf>%s</spf>",
	    r->dkim_aligned ? "pass" : "fail", r->spf_aligned ? "pass" : "fail");
	if (r->reason[0] != '\0') {
		fbuf_adds(out, "<reason>");
		ops_dmarc_esc(out, "type", r->reason);
		fbuf_adds(out, "</reason>");
	}
	fbuf_adds(out, "</policy_evaluated></row><identifiers>");
	if (r->envelope_from[0] != '\0')
		ops_dmarc_esc(out, "envelope_from", r->envelope_from);
	ops_dmarc_esc(out, "header_from", r->header_from);
	fbuf_adds(out, "</identifiers><auth_results>");
	ops_dmarc_xml_dkim(out, r->dkim);
	fbuf_adds(out, "<spf>");
	ops_dmarc_esc(out, "domain", r->spf_domain[0] != '\0' ? r->spf_domain :
	    r->envelope_from[0] != '\0' ? r->envelope_from : r->header_from);
	fbuf_adds(out, "<scope>mfrom</scope>");
	ops_dmarc_esc(out, "result", r->spf_result);
	fbuf_adds(out, "</spf></auth_results></record>\n");
}

void
ops_dmarc_xml(const struct ops_dmarc_report *r, const char *org,
    const char *email, struct fbuf *out)
{
	fbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback>\n<version>1.0</version>\n<report_metadata>");
	ops_dmarc_esc(out, "org_name", org);
	ops_dmarc_esc(out, "email", email);
	ops_dmarc_esc(out, "report_id", r->report_id);
	fbuf_addf(out, "<date_range><begin>%lld</begin><end>%lld</end>"
	    "</date_range></report_metadata>\n<policy_published>",
	    (long long)r->begin, (long long)r->end - 1);
	ops_dmarc_esc(out, "domain", r->domain);
	ops_dmarc_esc(out, "adkim", r->adkim);
	ops_dmarc_esc(out, "aspf", r->aspf);
	ops_dmarc_esc(out, "p", r->p);
	ops_dmarc_esc(out, "sp", r->sp);
	fbuf_addf(out, "<pct>%u</pct></policy_published>\n", r->pct);
	for (size_t i = 0; i < r->n; i++)
		ops_dmarc_xml_rec(out, &r->v[i]);
	fbuf_adds(out, "</feedback>\n");
}

int
ops_dmarc_gzip(const void *data, size_t len, struct fbuf *out)
{
	z_stream z;
	unsigned char buf[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper instead of zlib's. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			break;
		fbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}
