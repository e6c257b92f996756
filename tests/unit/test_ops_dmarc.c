/* DMARC aggregate report pieces (ops_dmarc.h) and their store rows:
 * rua= mailto: URIs good and bad, the external destination test, the
 * period of a date, the XML escaping, gzip round trip, and the store's
 * results and sent marks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "msgauth/dmarc.h"
#include "ops/ops_dmarc.h"
#include "store/store.h"
#include "test.h"

static void
test_mailto(void)
{
	static const struct {
		const char *uri, *addr;
		uint64_t max;
	} good[] = {
		{ "mailto:agg@example.org", "agg@example.org", 0 },
		{ "MAILTO:Agg@Example.ORG", "Agg@example.org", 0 },
		{ "mailto:a@x.example!10m", "a@x.example", 10ULL << 20 },
		{ "mailto:a@x.example!123", "a@x.example", 123 },
		{ "mailto:a%2Bb@x.example!1k", "a+b@x.example", 1024 },
	};
	static const char *const bad[] = {
		"https://example.org/r", "mailto:", "mailto:nobody",
		"mailto:@x.example", "mailto:a@", "mailto:a@b@c",
		"mailto:a@x.example?subject=hi", "mailto:a b@x.example",
		"mailto:<a@x.example>", "mailto:a@x.example!", "mailto:a@x!10q",
		"mailto:a%zz@x.example", "mailto:a%0d%0a@x.example",
		"mailto:a,b@x.example", "mailto:a@x.example!99999999999999999999t",
	};
	char addr[64];
	uint64_t max;

	test_begin("dmarc report: rua mailto: URIs");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		test_assert_idx(ops_dmarc_mailto(good[i].uri, addr,
		    sizeof(addr), &max) == 0, i);
		test_assert_idx(strcmp(addr, good[i].addr) == 0, i);
		test_assert_idx(max == good[i].max, i);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_assert_idx(ops_dmarc_mailto(bad[i], addr, sizeof(addr),
		    &max) < 0, i);
	/* Too long for the buffer. */
	test_assert(ops_dmarc_mailto("mailto:aaaaaaaaaa@x.example", addr, 8,
	    &max) < 0);
	test_end();
}

static void
test_external(void)
{
	struct dmarc_psl *psl = dmarc_psl_from_buf("com\nuk\nco.uk\n", 13);

	test_begin("dmarc report: external destinations (RFC 7489 7.1)");
	test_assert(!ops_dmarc_external(psl, "example.co.uk",
	    "a@reports.example.co.uk"));
	test_assert(!ops_dmarc_external(psl, "mail.example.com",
	    "a@example.com"));
	test_assert(ops_dmarc_external(psl, "example.co.uk", "a@other.co.uk"));
	test_assert(ops_dmarc_external(psl, "example.com", "a@example.net"));
	test_assert(ops_dmarc_external(psl, "example.com", "no-at-sign"));
	dmarc_psl_free(psl);
	test_end();
}

static void
test_period(void)
{
	struct ops_status st;
	int64_t b, e;

	test_begin("dmarc report: period of a date");
	test_assert(ops_dmarc_period("2026-12-04", 0, &b, &e, &st) == 0);
	test_assert(b == 1796342400 && e == b + 86400);
	test_assert(ops_dmarc_period(NULL, 1796342400 + 5000, &b, &e,
	    &st) == 0);
	test_assert(b == 1796342400 - 86400 && e == 1796342400);
	test_assert(ops_dmarc_period("yesterday", 0, &b, &e, &st) < 0 &&
	    st.code == OPS_EINVAL);
	test_assert(ops_dmarc_period("2026-12-04x", 0, &b, &e, &st) < 0);
	test_assert(ops_dmarc_period("1960-01-01", 0, &b, &e, &st) < 0);
	test_end();
}

static void
test_xml_gzip(void)
{
	struct ops_dmarc_rec rec = { .source_ip = "192.0.2.1", .count = 3,
		.disposition = "reject", .header_from = "a<b>&\"c",
		.spf_domain = "x.example", .spf_result = "pass",
		.dkim = "d.example:s1:pass broken e.example:s:fail" };
	struct ops_dmarc_report r = { .domain = "example.org", .p = "reject",
		.sp = "none", .adkim = "r", .aspf = "s", .pct = 50,
		.begin = 86400, .end = 2 * 86400, .report_id = "id&1",
		.messages = 3, .v = &rec, .n = 1 };
	struct fbuf xml, gz;
	unsigned char back[8192];
	uLongf n = sizeof(back);
	z_stream z;

	test_begin("dmarc report: XML and gzip");
	fbuf_init(&xml, 0);
	ops_dmarc_xml(&r, "Org \x01", "r@example.net", &xml);
	test_assert(strstr(xml.data, "<header_from>a&lt;b&gt;&amp;&quot;c"
	    "</header_from>") != NULL);
	test_assert(strstr(xml.data, "<org_name>Org ?</org_name>") != NULL);
	test_assert(strstr(xml.data, "<report_id>id&amp;1</report_id>") !=
	    NULL);
	test_assert(strstr(xml.data, "<begin>86400</begin><end>172799</end>")
	    != NULL);
	test_assert(strstr(xml.data, "<dkim><domain>d.example</domain>"
	    "<selector>s1</selector><result>pass</result></dkim><dkim>"
	    "<domain>e.example</domain>") != NULL);
	test_assert(strstr(xml.data, "broken") == NULL);
	test_assert(strstr(xml.data, "<count>3</count>") != NULL);
	test_assert(strstr(xml.data, "<pct>50</pct>") != NULL);
	fbuf_init(&gz, 0);
	test_assert(ops_dmarc_gzip(xml.data, xml.len, &gz) == 0);
	test_assert(gz.len > 10 && (unsigned char)gz.data[0] == 0x1f &&
	    (unsigned char)gz.data[1] == 0x8b);
	memset(&z, 0, sizeof(z));
	test_assert(inflateInit2(&z, 15 + 16) == Z_OK);
	z.next_in = (unsigned char *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = back;
	z.avail_out = (uInt)n;
	test_assert(inflate(&z, Z_FINISH) == Z_STREAM_END);
	test_assert(z.total_out == xml.len &&
	    memcmp(back, xml.data, xml.len) == 0);
	inflateEnd(&z);
	fbuf_release(&xml);
	fbuf_release(&gz);
	test_end();
}

static void
t_count(const struct store_dmarc_row *r, void *ctx)
{
	int *n = ctx;

	if (strcmp(r->policy_domain, "example.org") == 0 &&
	    strcmp(r->dkim, "example.org:s:pass") == 0 && r->dkim_aligned &&
	    r->pct == 50)
		*n += (int)r->messages;
}

/* Each row as listed: "ip at messages;" appended. */
static void
t_rows(const struct store_dmarc_row *r, void *ctx)
{
	char *out = ctx;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s %lld %llu;", r->source_ip,
	    (long long)r->at, (unsigned long long)r->messages);
}

static void
test_store_rows(void)
{
	/* On the PostgreSQL database named by $FERRY_TEST_STORE when set
	 * (test_pg_store.py), else a new SQLite file. */
	const char *pg = getenv("FERRY_TEST_STORE");
	char db[512] = "/tmp/ferry-test-dmarc-XXXXXX";
	struct store_dmarc_row r = { .at = 1000, .policy_domain = "example.org",
		.header_from = "example.org", .source_ip = "192.0.2.1",
		.spf_result = "none", .dkim = "example.org:s:pass",
		.dkim_aligned = true, .disposition = "none", .p = "reject",
		.sp = "reject", .pct = 50, .adkim = "r", .aspf = "r" };
	const char *error;
	struct store *s;
	int n = 0;

	test_begin("dmarc report: store rows and sent marks");
	if (pg != NULL)
		str_lcpy(db, pg, sizeof(db));
	else {
		int fd = mkstemp(db);

		test_assert(fd >= 0);
		close(fd);
		unlink(db);
	}
	test_assert(store_open(&s, db, &error) == 0);
	test_assert(store_dmarc_add(s, &r, &error) == 0);
	r.at = 2000;
	test_assert(store_dmarc_add(s, &r, &error) == 0);
	test_assert(store_dmarc_list(s, 0, 1500, t_count, &n, &error) == 0);
	test_assert(n == 1);
	n = 0;
	test_assert(store_dmarc_list(s, 0, 3000, t_count, &n, &error) == 0);
	test_assert(n == 2);
	/* Rows that differ in at only are listed as one, at the earliest,
	 * their messages summed; a row for three messages counts three; a
	 * row of another source stays apart. */
	{
		char out[256] = "";

		r.at = 2500;
		r.messages = 3;
		test_assert(store_dmarc_add(s, &r, &error) == 0);
		str_lcpy(r.source_ip, "192.0.2.9", sizeof(r.source_ip));
		r.messages = 0;		/* taken as 1 */
		test_assert(store_dmarc_add(s, &r, &error) == 0);
		test_assert(store_dmarc_list(s, 0, 3000, t_rows, out,
		    &error) == 0);
		test_assert(strcmp(out, "192.0.2.1 1000 5;192.0.2.9 2500 1;") ==
		    0);
		n = 0;
		test_assert(store_dmarc_list(s, 1500, 3000, t_count, &n,
		    &error) == 0);
		test_assert(n == 5);
	}
	test_assert(store_dmarc_sent(s, "example.org", 0) == 0);
	test_assert(store_dmarc_sent_add(s, "example.org", 0, 86400, "id",
	    &error) == 1);
	test_assert(store_dmarc_sent_add(s, "EXAMPLE.org", 0, 86400, "id",
	    &error) == 0);
	test_assert(store_dmarc_sent(s, "example.org", 0) == 1);
	test_assert(store_dmarc_sent(s, "example.org", 86400) == 0);
	store_close(&s);
	if (pg == NULL)
		unlink(db);
	test_end();
}

int
main(void)
{
	test_mailto();
	test_external();
	test_period();
	test_xml_gzip();
	test_store_rows();
	return test_exit();
}
