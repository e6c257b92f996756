/* Incoming DMARC aggregate reports (msgauth/dmarc_agg.h,
 * ops/ops_dmarc_in.h, the store's migration 7): the XML reader on a
 * real-looking report (namespaces, comments, CDATA, entities), on what
 * Ferry's own report writer makes, on every truncation of a report and
 * on a table of bad input; gzip and zip unpacking (made here with zlib)
 * with their bombs and lies; the report parts of a mail; the Subject
 * test; the store's rows, duplicates, hosted-domain check, summary and
 * pruning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "lib/fbuf.h"
#include "msgauth/dmarc_agg.h"
#include "ops/ops_account.h"
#include "ops/ops_dmarc.h"
#include "ops/ops_dmarc_in.h"
#include "store/store.h"
#include "test.h"

static const char report[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!-- a comment -->\n"
    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
    " <version>1.0</version>\n"
    " <report_metadata>\n"
    "  <org_name>Example &amp; Co &#x263A;</org_name>\n"
    "  <email>r@example.net</email>\n"
    "  <report_id><![CDATA[id<1>]]></report_id>\n"
    "  <date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range>\n"
    " </report_metadata>\n"
    " <policy_published><domain>Example.ORG</domain><adkim>r</adkim>"
    "<aspf>s</aspf><p>reject</p><sp>none</sp><pct>50</pct><fo>1</fo>"
    "</policy_published>\n"
    " <record>\n"
    "  <row><source_ip>192.0.2.1</source_ip><count>7</count>\n"
    "   <policy_evaluated><disposition>reject</disposition>"
    "<dkim>fail</dkim><spf>FAIL</spf>"
    "<reason><type>forwarded</type><comment>x</comment></reason>"
    "</policy_evaluated></row>\n"
    "  <identifiers><envelope_from>b.example</envelope_from>"
    "<header_from>example.org</header_from></identifiers>\n"
    "  <auth_results><dkim><domain>b.example</domain><selector>s"
    "</selector><result>pass</result></dkim><dkim><domain>c.example"
    "</domain><result>fail</result></dkim>"
    "<spf><domain>b.example</domain><result>softfail</result></spf>"
    "</auth_results>\n"
    " </record>\n"
    " <dmarc:record xmlns:dmarc=\"x\">\n"
    "  <row><source_ip>2001:db8::1</source_ip><count>3</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>pass</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.org</header_from></identifiers>"
    "<auth_results/>\n"
    " </dmarc:record>\n"
    "</feedback>\n";

static void
test_parse_good(void)
{
	struct dmarc_agg a;
	const char *error = NULL;

	test_begin("dmarc agg: a report");
	test_assert(dmarc_agg_parse(report, sizeof(report) - 1, &a,
	    &error) == 0);
	test_assert_streq(a.org_name, "Example & Co \xe2\x98\xba");
	test_assert_streq(a.report_id, "id<1>");
	test_assert_streq(a.email, "r@example.net");
	test_assert(a.begin == 1700000000 && a.end == 1700086399);
	test_assert_streq(a.domain, "example.org");
	test_assert_streq(a.p, "reject");
	test_assert_streq(a.aspf, "s");
	test_assert(a.pct == 50);
	test_assert(a.nrecs == 2);
	if (a.nrecs == 2) {
		const struct dmarc_agg_rec *r = &a.recs[0];

		test_assert_streq(r->source_ip, "192.0.2.1");
		test_assert(r->count == 7);
		test_assert_streq(r->disposition, "reject");
		test_assert_streq(r->spf, "fail");
		test_assert_streq(r->reason, "forwarded");
		test_assert_streq(r->envelope_from, "b.example");
		test_assert(r->ndkim == 2 && r->nspf == 1);
		test_assert_streq(r->dkim_auth[0].selector, "s");
		test_assert_streq(r->dkim_auth[1].domain, "c.example");
		test_assert_streq(r->spf_auth[0].result, "softfail");
		test_assert_streq(a.recs[1].source_ip, "2001:db8::1");
		test_assert(a.recs[1].count == 3 && a.recs[1].ndkim == 0);
	}
	dmarc_agg_free(&a);
	test_end();
}

/* Every proper prefix of a report is refused, never read half. */
static void
test_parse_truncated(void)
{
	struct dmarc_agg a;
	const char *error;
	size_t end = strstr(report, "</feedback>") - report + 11;
	unsigned bad = 0;

	test_begin("dmarc agg: every truncation refused");
	for (size_t n = 0; n < end; n++) {
		error = NULL;
		if (dmarc_agg_parse(report, n, &a, &error) == 0 ||
		    error == NULL)
			bad++;
		dmarc_agg_free(&a);
	}
	test_assert(bad == 0);
	test_end();
}

/* Ferry's own report writer (ops_dmarc_fmt.c) read back. */
static void
test_parse_own(void)
{
	struct ops_dmarc_rec rec = { .source_ip = "192.0.2.9", .count = 4,
		.disposition = "quarantine", .header_from = "a<b>.example",
		.spf_domain = "x.example", .spf_result = "pass",
		.dkim = "d.example:s1:pass" };
	struct ops_dmarc_report r = { .domain = "example.org", .p = "reject",
		.sp = "none", .adkim = "r", .aspf = "s", .pct = 100,
		.begin = 86400, .end = 2 * 86400, .report_id = "id&1",
		.messages = 4, .v = &rec, .n = 1 };
	struct dmarc_agg a;
	struct fbuf xml;
	const char *error = NULL;

	test_begin("dmarc agg: Ferry's own reports");
	fbuf_init(&xml, 0);
	ops_dmarc_xml(&r, "Ferry", "r@example.net", &xml);
	test_assert(dmarc_agg_parse(xml.data, xml.len, &a, &error) == 0);
	test_assert_streq(a.report_id, "id&1");
	test_assert(a.nrecs == 1 && a.recs[0].count == 4);
	test_assert(a.nrecs == 1 &&
	    strcmp(a.recs[0].header_from, "a<b>.example") == 0);
	test_assert(a.nrecs == 1 && a.recs[0].ndkim == 1 &&
	    strcmp(a.recs[0].dkim_auth[0].selector, "s1") == 0);
	dmarc_agg_free(&a);
	fbuf_release(&xml);
	test_end();
}

#define HEAD "<feedback><report_metadata><org_name>o</org_name>" \
	"<report_id>i</report_id><date_range><begin>1</begin><end>2</end>" \
	"</date_range></report_metadata><policy_published><domain>d.example" \
	"</domain></policy_published>"
#define ROW(ip, n, disp) "<record><row><source_ip>" ip "</source_ip>" \
	"<count>" n "</count><policy_evaluated><disposition>" disp \
	"</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>" \
	"</row><identifiers><header_from>d.example</header_from>" \
	"</identifiers></record>"

static void
test_parse_bad(void)
{
	static const struct {
		const char *xml, *why;
	} bad[] = {
		{ "", "no root element" },
		{ "   ", "no root element" },
		{ "<html/>", "root element is not <feedback>" },
		{ "<!DOCTYPE feedback><feedback/>", "DOCTYPE" },
		{ HEAD "&lol;</feedback>", "unknown entity" },
		{ HEAD "&#0;</feedback>", "bad character reference" },
		{ HEAD "&#xD800;</feedback>", "bad character reference" },
		{ HEAD "&#x;</feedback>", "bad character reference" },
		{ HEAD "&#12a;</feedback>", "bad character reference" },
		{ HEAD "&amp</feedback>", "bad entity" },
		{ HEAD "</feedbac>", "mismatched end tag" },
		{ HEAD "</feedback><feedback/>", "a second root element" },
		{ HEAD "</feedback>junk", "text outside the root" },
		{ "junk" HEAD "</feedback>", "text outside the root" },
		{ HEAD "<a b=\"1></a></feedback>", "bad attribute" },
		{ HEAD "<a b></a></feedback>", "bad attribute" },
		{ HEAD "<1a></1a></feedback>", "bad element name" },
		{ HEAD ROW("192.0.2.300", "1", "none") "</feedback>",
		  "source_ip" },
		{ HEAD ROW("192.0.2.3", "0", "none") "</feedback>", "count" },
		{ HEAD ROW("192.0.2.3", "-1", "none") "</feedback>",
		  "bad number" },
		{ HEAD ROW("192.0.2.3", "99999999999999", "none") "</feedback>",
		  "bad number" },
		{ HEAD ROW("192.0.2.3", "1", "bounce") "</feedback>",
		  "policy_evaluated" },
		{ "<feedback><report_metadata><org_name>o</org_name>"
		  "<org_name>p</org_name></report_metadata></feedback>",
		  "repeated element" },
		{ "<feedback><report_metadata><org_name>o</org_name>"
		  "</report_metadata></feedback>", "no org_name or report_id" },
		{ "<feedback><report_metadata><org_name>o</org_name>"
		  "<report_id>i</report_id><date_range><begin>5</begin>"
		  "<end>2</end></date_range></report_metadata></feedback>",
		  "date_range" },
		{ "<feedback><report_metadata><org_name>o</org_name>"
		  "<report_id>i</report_id><date_range><begin>1</begin>"
		  "<end>2</end></date_range></report_metadata></feedback>",
		  "no policy_published domain" },
		{ HEAD "<x><![CDATA[ab</x></feedback>", "truncated" },
		{ HEAD "<!-- no end </feedback>", "truncated" },
		{ HEAD "<policy_published><pct>101</pct></policy_published>"
		  "</feedback>", "bad number" },
	};
	char deep[1024], big[4096];
	struct dmarc_agg a;
	const char *error;
	size_t n = 0;

	test_begin("dmarc agg: bad input refused");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		test_assert_idx(dmarc_agg_parse(bad[i].xml, strlen(bad[i].xml),
		    &a, &error) < 0, i);
		test_assert_idx(error != NULL && strstr(error, bad[i].why) !=
		    NULL, i);
		if (error != NULL && strstr(error, bad[i].why) == NULL)
			fprintf(stderr, "  [%zu] got \"%s\"\n", i, error);
		dmarc_agg_free(&a);
	}
	/* Nesting past the limit. */
	n = (size_t)snprintf(deep, sizeof(deep), "%s", HEAD);
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<x>");
	test_assert(dmarc_agg_parse(deep, n, &a, &error) < 0 &&
	    strstr(error, "nested too deep") != NULL);
	dmarc_agg_free(&a);
	/* A value past its field, and past the text limit. */
	n = (size_t)snprintf(big, sizeof(big), "<feedback><report_metadata>"
	    "<org_name>");
	memset(big + n, 'a', 2000);
	n += 2000;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "</org_name>"
	    "</report_metadata></feedback>");
	test_assert(dmarc_agg_parse(big, n, &a, &error) < 0 &&
	    strstr(error, "too long") != NULL);
	dmarc_agg_free(&a);
	/* NUL inside. */
	test_assert(dmarc_agg_parse(HEAD "a\0b</feedback>",
	    sizeof(HEAD "a\0b</feedback>") - 1, &a, &error) < 0 &&
	    strstr(error, "NUL") != NULL);
	dmarc_agg_free(&a);
	/* A good minimal one, for contrast. */
	test_assert(dmarc_agg_parse(HEAD ROW("192.0.2.3", "1", "none")
	    "</feedback>", strlen(HEAD ROW("192.0.2.3", "1", "none")
	    "</feedback>"), &a, &error) == 0 && a.nrecs == 1 && a.pct == 100);
	dmarc_agg_free(&a);
	test_end();
}

static void
test_parse_many(void)
{
	struct fbuf x;
	struct dmarc_agg a;
	const char *error = NULL;

	test_begin("dmarc agg: record limit");
	fbuf_init(&x, 0);
	fbuf_adds(&x, HEAD);
	for (int i = 0; i < DMARC_AGG_RECS_MAX; i++)
		fbuf_adds(&x, ROW("192.0.2.3", "1", "none"));
	fbuf_adds(&x, "</feedback>");
	test_assert(dmarc_agg_parse(x.data, x.len, &a, &error) == 0 &&
	    a.nrecs == DMARC_AGG_RECS_MAX);
	dmarc_agg_free(&a);
	x.len -= strlen("</feedback>");
	fbuf_adds(&x, ROW("192.0.2.3", "1", "none") "</feedback>");
	test_assert(dmarc_agg_parse(x.data, x.len, &a, &error) < 0 &&
	    strstr(error, "too many records") != NULL);
	dmarc_agg_free(&a);
	fbuf_release(&x);
	test_end();
}

/* ------------------------------------------------------------- unpack */

static void
t_deflate(const void *in, size_t n, int bits, struct fbuf *out)
{
	unsigned char buf[65536];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		fbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc == Z_OK);
	deflateEnd(&z);
}

static void
t_le(struct fbuf *b, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		fbuf_addc(b, (char)(v >> (8 * i)));
}

/* A zip archive of nfiles copies of data; usize/crc lie when not 0. */
static void
t_zip(struct fbuf *z, const void *data, size_t n, int method, int nfiles,
    uint32_t usize, uint32_t crc)
{
	struct fbuf c;
	size_t cd, loc[4];

	fbuf_init(&c, 0);
	if (method == 8)
		t_deflate(data, n, -15, &c);
	else
		fbuf_add(&c, data, n);
	if (usize == 0)
		usize = (uint32_t)n;
	if (crc == 0)
		crc = (uint32_t)crc32(0, data, (uInt)n);
	for (int f = 0; f < nfiles; f++) {
		loc[f] = z->len;
		fbuf_add(z, "PK\003\004", 4);
		t_le(z, 20, 2); t_le(z, 0, 2); t_le(z, (uint32_t)method, 2);
		t_le(z, 0, 4); t_le(z, crc, 4); t_le(z, (uint32_t)c.len, 4);
		t_le(z, usize, 4); t_le(z, 5, 2); t_le(z, 0, 2);
		fbuf_add(z, "r.xml", 5);
		fbuf_add(z, c.data, c.len);
	}
	cd = z->len;
	for (int f = 0; f < nfiles; f++) {
		fbuf_add(z, "PK\001\002", 4);
		t_le(z, 20, 2); t_le(z, 20, 2); t_le(z, 0, 2);
		t_le(z, (uint32_t)method, 2); t_le(z, 0, 4); t_le(z, crc, 4);
		t_le(z, (uint32_t)c.len, 4); t_le(z, usize, 4); t_le(z, 5, 2);
		t_le(z, 0, 2); t_le(z, 0, 2); t_le(z, 0, 2); t_le(z, 0, 2);
		t_le(z, 0, 4); t_le(z, (uint32_t)loc[f], 4);
		fbuf_add(z, "r.xml", 5);
	}
	fbuf_add(z, "PK\005\006", 4);
	t_le(z, 0, 4);
	t_le(z, (uint32_t)nfiles, 2); t_le(z, (uint32_t)nfiles, 2);
	t_le(z, (uint32_t)(z->len - 12 - cd), 4);
	t_le(z, (uint32_t)cd, 4);
	t_le(z, 0, 2);
	fbuf_release(&c);
}

static void
test_unpack(void)
{
	struct fbuf gz, out, zip;
	const char *error;
	char *zeros = calloc(1, 1 << 20);

	test_begin("dmarc agg: gzip and zip");
	fbuf_init(&gz, 0);
	fbuf_init(&out, 0);
	test_assert(ops_dmarc_gzip(report, sizeof(report) - 1, &gz) == 0);
	test_assert(dmarc_agg_sniff(gz.data, gz.len) == DMARC_AGG_GZIP);
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, gz.data, gz.len, 1 << 20,
	    &out, &error) == 0);
	test_assert(out.len == sizeof(report) - 1 &&
	    memcmp(out.data, report, out.len) == 0);
	/* Over the limit, truncated, a broken trailer. */
	fbuf_reset(&out);
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, gz.data, gz.len, 100,
	    &out, &error) < 0 && strstr(error, "over the limit") != NULL);
	test_assert(out.len == 0);
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, gz.data, gz.len - 4,
	    1 << 20, &out, &error) < 0 && strstr(error, "truncated") != NULL);
	gz.data[gz.len - 6] ^= 0x55;
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, gz.data, gz.len, 1 << 20,
	    &out, &error) < 0 && strstr(error, "corrupt") != NULL);
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, "\x1f\x8b", 2, 1 << 20,
	    &out, &error) < 0);
	/* A bomb: 1 MiB of zeros in about 1 KiB, with a 64 KiB limit. */
	fbuf_reset(&gz);
	test_assert(ops_dmarc_gzip(zeros, 1 << 20, &gz) == 0 &&
	    gz.len < 4096);
	test_assert(dmarc_agg_unpack(DMARC_AGG_GZIP, gz.data, gz.len,
	    64 << 10, &out, &error) < 0 &&
	    strstr(error, "over the limit") != NULL && out.len == 0);
	/* zip: deflated, stored. */
	for (int m = 0; m <= 8; m += 8) {
		fbuf_init(&zip, 0);
		t_zip(&zip, report, sizeof(report) - 1, m, 1, 0, 0);
		test_assert(dmarc_agg_sniff(zip.data, zip.len) ==
		    DMARC_AGG_ZIP);
		fbuf_reset(&out);
		test_assert(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, zip.len,
		    1 << 20, &out, &error) == 0 &&
		    out.len == sizeof(report) - 1);
		fbuf_release(&zip);
	}
	/* Two files; a bad CRC; a size that lies low (a bomb) or high. */
	fbuf_init(&zip, 0);
	t_zip(&zip, report, sizeof(report) - 1, 8, 2, 0, 0);
	test_assert(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, zip.len, 1 << 20,
	    &out, &error) < 0 && strstr(error, "exactly one") != NULL);
	fbuf_reset(&zip);
	t_zip(&zip, report, sizeof(report) - 1, 8, 1, 0, 12345);
	test_assert(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, zip.len, 1 << 20,
	    &out, &error) < 0 && strstr(error, "CRC") != NULL);
	fbuf_reset(&zip);
	t_zip(&zip, zeros, 1 << 20, 8, 1, 100, 0);
	fbuf_reset(&out);
	test_assert(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, zip.len, 1 << 30,
	    &out, &error) < 0 && out.len == 0);
	fbuf_reset(&zip);
	t_zip(&zip, zeros, 1 << 20, 8, 1, 0, 0);
	test_assert(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, zip.len,
	    64 << 10, &out, &error) < 0 &&
	    strstr(error, "over the limit") != NULL);
	/* Truncated archives: never read. */
	fbuf_reset(&zip);
	t_zip(&zip, report, sizeof(report) - 1, 8, 1, 0, 0);
	for (size_t n = 0; n < zip.len; n += 7)
		test_assert_idx(dmarc_agg_unpack(DMARC_AGG_ZIP, zip.data, n,
		    1 << 20, &out, &error) < 0, n);
	fbuf_release(&zip);
	fbuf_release(&gz);
	fbuf_release(&out);
	free(zeros);
	test_end();
}

/* -------------------------------------------------------------- mail */

struct t_parts {
	unsigned n;
	enum dmarc_agg_kind kind[4];
	size_t len[4];
};

static void
t_part(void *ctx, enum dmarc_agg_kind kind, const void *data, size_t len)
{
	struct t_parts *p = ctx;

	if (p->n < 4) {
		p->kind[p->n] = kind;
		p->len[p->n] = len;
	}
	p->n++;
}

static void
test_mail_parts(void)
{
	static const char mail[] =
	    "From: a@b.example\r\nSubject: Report Domain: x\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b\r\nContent-Type: application/gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAAw==\r\n"
	    "--b\r\nContent-Type: application/octet-stream; name=\"r.zip\"\r\n"
	    "\r\nPK\003\004rest\r\n"
	    "--b\r\nContent-Type: application/octet-stream; name=\"r.bin\"\r\n"
	    "\r\nxx\r\n"
	    "--b\r\nContent-Type: text/xml\r\n\r\n<feedback/>\r\n--b--\r\n";
	struct t_parts p;

	test_begin("dmarc agg: report parts of a mail");
	memset(&p, 0, sizeof(p));
	test_assert(dmarc_agg_mail_parts(mail, sizeof(mail) - 1, t_part,
	    &p) == 3);
	test_assert(p.n == 3);
	test_assert(p.kind[0] == DMARC_AGG_GZIP && p.len[0] == 10);
	test_assert(p.kind[1] == DMARC_AGG_ZIP);
	test_assert(p.kind[2] == DMARC_AGG_XML && p.len[2] == 11);
	memset(&p, 0, sizeof(p));
	test_assert(dmarc_agg_mail_parts("Subject: x\r\n\r\nhello\r\n", 21,
	    t_part, &p) == 0);
	test_assert(dmarc_agg_subject("Report Domain: example.org", 26));
	test_assert(dmarc_agg_subject(" report domain:x", 16));
	test_assert(!dmarc_agg_subject("Re: Report Domain: x", 20));
	test_assert(!dmarc_agg_subject("Report Domain", 13));
	test_end();
}

/* -------------------------------------------------------------- store */

static void
test_store(void)
{
	char db[] = "/tmp/ferry-test-dmarc-in-XXXXXX";
	struct ops_dmarc_in_result res;
	struct ops_dmarc_summary sum;
	struct ops_status st;
	struct ops_actor actor;
	struct ops_ctx c;
	struct store_dmarc_row row = { .at = 1000, .policy_domain = "x.org",
		.disposition = "none" };
	const char *error;
	struct store *s;
	int fd = mkstemp(db);
	unsigned in, results, sent;
	int64_t now = 1700086399 + 3600;

	test_begin("dmarc agg: store, duplicates, summary, pruning");
	test_assert(fd >= 0);
	close(fd);
	unlink(db);
	test_assert(store_open(&s, db, &error) == 0);
	/* Not hosted, then hosted (a parent of the policy domain). */
	ops_dmarc_in_take(s, NULL, report, sizeof(report) - 1, true, now,
	    &res);
	test_assert(res.n == 1 && res.v[0].fate == OPS_DIN_NOT_HOSTED);
	ops_dmarc_in_result_free(&res);
	test_assert(store_domain_add(s, "example.org", &error) == 0);
	ops_dmarc_in_take(s, NULL, report, sizeof(report) - 1, true, now,
	    &res);
	test_assert(res.n == 1 && res.v[0].fate == OPS_DIN_STORED &&
	    res.v[0].records == 2 && res.v[0].messages == 10);
	ops_dmarc_in_result_free(&res);
	ops_dmarc_in_take(s, NULL, report, sizeof(report) - 1, true, now,
	    &res);
	test_assert(res.n == 1 && res.v[0].fate == OPS_DIN_DUPLICATE);
	ops_dmarc_in_result_free(&res);
	ops_dmarc_in_take(s, NULL, "<feedback>", 10, true, now, &res);
	test_assert(res.n == 1 && res.v[0].fate == OPS_DIN_BAD &&
	    strstr(res.v[0].error, "truncated") != NULL);
	ops_dmarc_in_result_free(&res);
	/* The summary. */
	ops_actor_cli(&actor);
	memset(&c, 0, sizeof(c));
	c.actor = &actor;
	c.store = s;
	test_assert(ops_dmarc_summary(&c, "EXAMPLE.org", 7, now, &sum,
	    &st) == 0);
	test_assert(sum.reports == 1 && sum.messages == 10 && sum.pass == 3 &&
	    sum.fail == 7 && sum.nsrc == 2 && sum.norgs == 1);
	test_assert(sum.nsrc == 2 && strcmp(sum.src[0].ip, "192.0.2.1") == 0 &&
	    sum.src[0].reject == 7 && sum.src[1].dkim_pass == 3);
	ops_dmarc_summary_free(&sum);
	test_assert(ops_dmarc_summary(&c, "example.org", 1, now + 2 * 86400,
	    &sum, &st) == 0 && sum.reports == 0);
	ops_dmarc_summary_free(&sum);
	/* Pruning: the received report and the old results go; newer
	 * ones stay. */
	test_assert(store_dmarc_add(s, &row, &error) == 0);
	row.at = now;
	test_assert(store_dmarc_add(s, &row, &error) == 0);
	test_assert(store_dmarc_sent_add(s, "x.org", 0, 86400, "id",
	    &error) == 1);
	test_assert(ops_dmarc_prune(s, now + 10, 10, &in, &results, &sent,
	    &error) == 0);
	test_assert(in == 0 && results == 1 && sent == 1);
	test_assert(ops_dmarc_prune(s, now + 11, 10, &in, &results, &sent,
	    &error) == 0);
	test_assert(in == 1 && results == 1 && sent == 0);
	test_assert(ops_dmarc_summary(&c, "example.org", 3650, now, &sum,
	    &st) == 0 && sum.reports == 0 && sum.nsrc == 0);
	ops_dmarc_summary_free(&sum);
	/* Its records went with it: stored again, counted once. */
	ops_dmarc_in_take(s, NULL, report, sizeof(report) - 1, true, now,
	    &res);
	test_assert(res.n == 1 && res.v[0].fate == OPS_DIN_STORED);
	ops_dmarc_in_result_free(&res);
	test_assert(ops_dmarc_summary(&c, "example.org", 3650, now, &sum,
	    &st) == 0 && sum.messages == 10);
	ops_dmarc_summary_free(&sum);
	store_close(&s);
	unlink(db);
	test_end();
}

int
main(void)
{
	test_parse_good();
	test_parse_truncated();
	test_parse_own();
	test_parse_bad();
	test_parse_many();
	test_unpack();
	test_mail_parts();
	test_store();
	return test_exit();
}
