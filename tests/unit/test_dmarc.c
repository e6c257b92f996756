/* Unit tests for the DMARC record parser, the organizational domain from
 * the public suffix list and identifier alignment (src/msgauth/dmarc.c;
 * RFC 7489 sections 3.1, 3.2, 6.3, 6.4, 6.6.3).  Records are parsed from
 * exactly-sized heap copies without a NUL after them, so that ASan
 * catches reads past `len`.  The real list is Debian's publicsuffix
 * package (scripts/install-deps). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "msgauth/dmarc.h"
#include "test.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

static int
test_dmarc_parse(const char *txt, struct dmarc_record *rec, char *err,
    size_t errsize)
{
	size_t len = strlen(txt);
	char *p = malloc(len > 0 ? len : 1);
	int r;

	memcpy(p, txt, len);
	r = dmarc_record_parse(p, len, rec, err, errsize);
	free(p);
	return r;
}

struct rec_case {
	const char *txt;
	int ok;
	const char *err;	/* substring of the error, when !ok */
};

static const struct rec_case rec_cases[] = {
	{ "v=DMARC1; p=none", 0, NULL },
	{ "v=DMARC1;p=reject;", 0, NULL },
	{ "  v = DMARC1 ;\tp = quarantine ; ", 0, NULL },
	{ "v=DMARC1; p=REJECT; SP=None; PCT=0", 0, NULL },
	{ "v=DMARC1; p=none; future=thing; x_y=1; np=reject", 0, NULL },
	{ "v=DMARC1; p=none; x-y=1", -1, "bad tag list" },
	{ "v=DMARC1; rua=mailto:a@example.com; p=none", 0, NULL },
	{ "v=DMARC1; p=none; pct=101", 0, NULL },		/* ignored */
	{ "v=DMARC1; p=none; adkim=x; aspf=relaxed", 0, NULL },
	{ "", -1, "not a DMARC record" },
	{ "v=DMARC2; p=none", -1, "not a DMARC record" },
	{ "v=dmarc1; p=none", -1, "not a DMARC record" },
	{ "v=DMARC1x; p=none", -1, "not a DMARC record" },
	{ "p=none; v=DMARC1", -1, "not a DMARC record" },
	{ "v=spf1 -all", -1, "not a DMARC record" },
	{ "v=DMARC1", -1, "no p= tag" },
	{ "v=DMARC1; p=", -1, "bad p= value \"\"" },
	{ "v=DMARC1; p=bounce", -1, "bad p= value \"bounce\"" },
	{ "v=DMARC1; p=none; sp=drop", -1, "bad sp= value \"drop\"" },
	{ "v=DMARC1; p=none; p=reject", -1, "given twice" },
	{ "v=DMARC1; p=none; P=reject", -1, "given twice" },
	{ "v=DMARC1; p=none; =x", -1, "bad tag list" },
	{ "v=DMARC1; p=none; pct", -1, "bad tag list" },
	{ "v=DMARC1; p=no\x01ne", -1, "bad tag list" },
	{ "v=DMARC1; p=\xff", -1, "bad tag list" },
};

static void
test_dmarc_records(void)
{
	struct dmarc_record rec;
	char err[160];

	test_begin("dmarc record cases");
	for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		int r = test_dmarc_parse(c->txt, &rec, err, sizeof(err));

		test_assert_idx(r == c->ok, i);
		if (c->ok < 0 && r < 0) {
			test_assert_idx(strstr(err, c->err) != NULL, i);
			if (strstr(err, c->err) == NULL)
				fprintf(stderr, "  got error: %s\n", err);
		}
	}
	test_end();
}

static void
test_dmarc_values(void)
{
	struct dmarc_record rec;
	char err[160];

	test_begin("dmarc record defaults");
	test_assert(test_dmarc_parse("v=DMARC1; p=quarantine", &rec, err,
	    sizeof(err)) == 0);
	test_assert(rec.p == DMARC_P_QUARANTINE);
	test_assert(rec.sp == DMARC_P_QUARANTINE);
	test_assert(rec.pct == 100);
	test_assert(rec.adkim == DMARC_A_RELAXED);
	test_assert(rec.aspf == DMARC_A_RELAXED);
	test_assert(rec.fo == DMARC_FO_0);
	test_assert(rec.ri == 86400);
	test_assert(rec.n_rua == 0 && rec.n_ruf == 0);
	test_assert(!rec.p_from_rua);
	test_assert(rec.warning[0] == '\0');
	test_end();

	test_begin("dmarc record every tag");
	test_assert(test_dmarc_parse("v=DMARC1; p=reject; sp=none; pct=25; "
	    "adkim=s; aspf=S; fo=1:d : s; ri=3600; "
	    "rua=mailto:agg@example.com!10m, mailto:b@example.net; "
	    "ruf=mailto:forensic@example.com!512", &rec, err,
	    sizeof(err)) == 0);
	test_assert(rec.p == DMARC_P_REJECT);
	test_assert(rec.sp == DMARC_P_NONE);
	test_assert(rec.pct == 25);
	test_assert(rec.adkim == DMARC_A_STRICT);
	test_assert(rec.aspf == DMARC_A_STRICT);
	test_assert(rec.fo == (DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S));
	test_assert(rec.ri == 3600);
	test_assert(rec.n_rua == 2);
	test_assert_streq(rec.rua[0].uri, "mailto:agg@example.com");
	test_assert(rec.rua[0].max_size == 10ull * 1024 * 1024);
	test_assert_streq(rec.rua[1].uri, "mailto:b@example.net");
	test_assert(rec.rua[1].max_size == 0);
	test_assert(rec.n_ruf == 1);
	test_assert(rec.ruf[0].max_size == 512);
	test_assert(rec.warning[0] == '\0');
	test_end();

	test_begin("dmarc record bad optional values keep defaults");
	test_assert(test_dmarc_parse("v=DMARC1; p=none; pct=-1", &rec, err,
	    sizeof(err)) == 0);
	test_assert(rec.pct == 100);
	test_assert(strstr(rec.warning, "pct=") != NULL);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; pct=1000", &rec, err,
	    sizeof(err)) == 0 && rec.pct == 100);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; pct=0", &rec, err,
	    sizeof(err)) == 0 && rec.pct == 0);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; adkim=strict", &rec,
	    err, sizeof(err)) == 0 && rec.adkim == DMARC_A_RELAXED);
	test_assert(strstr(rec.warning, "adkim=") != NULL);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; fo=2", &rec, err,
	    sizeof(err)) == 0 && rec.fo == DMARC_FO_0);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; fo=1:", &rec, err,
	    sizeof(err)) == 0 && rec.fo == DMARC_FO_0);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; ri=99999999999", &rec,
	    err, sizeof(err)) == 0 && rec.ri == 86400);
	test_assert(test_dmarc_parse("v=DMARC1; p=none; ri=4294967295", &rec,
	    err, sizeof(err)) == 0 && rec.ri == 4294967295u);
	/* One bad URI among good ones: the good ones are kept. */
	test_assert(test_dmarc_parse("v=DMARC1; p=none; rua=nocolon, "
	    "mailto:x@example.com!5q, mailto:ok@example.com!1K, :x, "
	    "mailto:, mailto:y@example.com!0", &rec, err, sizeof(err)) == 0);
	test_assert(rec.n_rua == 1);
	test_assert_streq(rec.rua[0].uri, "mailto:ok@example.com");
	test_assert(rec.rua[0].max_size == 1024);
	test_assert(strstr(rec.warning, "rua=") != NULL);
	test_end();

	test_begin("dmarc record bad p with rua is p=none (6.6.3)");
	test_assert(test_dmarc_parse("v=DMARC1; p=bogus; "
	    "rua=mailto:r@example.com", &rec, err, sizeof(err)) == 0);
	test_assert(rec.p == DMARC_P_NONE && rec.sp == DMARC_P_NONE);
	test_assert(rec.p_from_rua);
	test_assert(test_dmarc_parse("v=DMARC1; rua=mailto:r@example.com",
	    &rec, err, sizeof(err)) == 0 && rec.p_from_rua);
	test_assert(test_dmarc_parse("v=DMARC1; p=reject; sp=x; "
	    "rua=mailto:r@example.com", &rec, err, sizeof(err)) == 0);
	test_assert(rec.p == DMARC_P_NONE && rec.p_from_rua);
	/* rua without one valid URI does not rescue it. */
	test_assert(test_dmarc_parse("v=DMARC1; p=bogus; rua=r@example.com",
	    &rec, err, sizeof(err)) < 0);
	test_end();

	test_begin("dmarc record error buffer bounds");
	test_assert(test_dmarc_parse("v=DMARC1; p=bounce", &rec, err, 8) < 0);
	test_assert(strlen(err) == 7);
	test_assert(test_dmarc_parse("v=DMARC1; p=bounce", &rec, err, 0) < 0);
	test_end();

	test_begin("dmarc is_dmarc");
	test_assert(dmarc_is_dmarc("v=DMARC1", 8));
	test_assert(dmarc_is_dmarc("v=DMARC1;", 9));
	test_assert(!dmarc_is_dmarc("v=DMARC1", 7));
	test_assert(!dmarc_is_dmarc("v=DMARC10", 9));
	test_assert(!dmarc_is_dmarc("", 0));
	test_assert(strcmp(dmarc_policy_name(DMARC_P_REJECT), "reject") == 0);
	test_end();
}

static const char psl_text[] =
	"// comment line\n"
	"com\n"
	"uk\n"
	"co.uk\n"
	"  jp   trailing words are ignored\n"
	"*.kawasaki.jp\n"
	"!city.kawasaki.jp\n"
	"*.ck\n"
	"!www.ck\n"
	"GitHub.IO\n"
	"\n"
	"// ===BEGIN PRIVATE DOMAINS===\n";

struct org_case {
	const char *name, *org;		/* org NULL: -1 */
};

static const struct org_case org_cases[] = {
	{ "example.com", "example.com" },
	{ "a.b.Example.COM", "example.com" },
	{ "example.com.", "example.com" },
	{ "com", "com" },
	{ "mail.example.co.uk", "example.co.uk" },
	{ "example.uk", "example.uk" },
	{ "co.uk", "co.uk" },
	{ "x.y.foo.kawasaki.jp", "y.foo.kawasaki.jp" },
	{ "foo.kawasaki.jp", "foo.kawasaki.jp" },
	{ "a.city.kawasaki.jp", "city.kawasaki.jp" },
	{ "city.kawasaki.jp", "city.kawasaki.jp" },
	{ "kawasaki.jp", "kawasaki.jp" },
	{ "www.ck", "www.ck" },
	{ "a.www.ck", "www.ck" },
	{ "a.b.ck", "a.b.ck" },
	{ "user.github.io", "user.github.io" },
	{ "a.b.unlisted", "b.unlisted" },
	{ "unlisted", "unlisted" },
	{ "", NULL },
	{ ".", NULL },
	{ "a..com", NULL },
	{ ".com", NULL },
	{ "com..", NULL },
};

static void
test_dmarc_org(void)
{
	struct dmarc_psl *psl = dmarc_psl_from_buf(psl_text,
	    sizeof(psl_text) - 1);
	char dst[254], longname[300];

	test_begin("dmarc psl small list");
	test_assert(psl != NULL);
	test_assert(dmarc_psl_count(psl) == 9);
	for (size_t i = 0; i < sizeof(org_cases) / sizeof(org_cases[0]); i++) {
		const struct org_case *c = &org_cases[i];
		int r = dmarc_org_domain(psl, c->name, dst, sizeof(dst));

		if (c->org == NULL)
			test_assert_idx(r < 0, i);
		else {
			test_assert_idx(r == 0 && strcmp(dst, c->org) == 0, i);
			if (r != 0 || strcmp(dst, c->org) != 0)
				fprintf(stderr, "  %s -> %s\n", c->name,
				    r == 0 ? dst : "(error)");
		}
	}
	test_assert(dmarc_org_domain(psl, "mail.example.com", dst, 11) < 0);
	test_assert(dmarc_org_domain(psl, "mail.example.com", dst, 12) == 0);
	memset(longname, 'a', sizeof(longname));
	longname[253] = '\0';
	for (size_t i = 50; i < 253; i += 50)
		longname[i] = '.';
	test_assert(dmarc_org_domain(psl, longname, dst, sizeof(dst)) == 0);
	longname[253] = 'a';
	longname[254] = '\0';
	test_assert(dmarc_org_domain(psl, longname, dst, sizeof(dst)) < 0);
	/* Without a list: the "*" rule only. */
	test_assert(dmarc_org_domain(NULL, "a.b.example.co.uk", dst,
	    sizeof(dst)) == 0 && strcmp(dst, "co.uk") == 0);
	dmarc_psl_free(psl);
	test_end();

	test_begin("dmarc psl empty and odd lists");
	psl = dmarc_psl_from_buf("", 0);
	test_assert(psl != NULL && dmarc_psl_count(psl) == 0);
	test_assert(dmarc_org_domain(psl, "a.example.org", dst,
	    sizeof(dst)) == 0 && strcmp(dst, "example.org") == 0);
	dmarc_psl_free(psl);
	psl = dmarc_psl_from_buf("org\r\nco\0m\n//x\n", 15);
	test_assert(psl != NULL && dmarc_psl_count(psl) == 1);
	dmarc_psl_free(psl);
	{
		/* Many rules, one of them twice: each is found (the hash
		 * set's probing), a name next to them is not. */
		struct fbuf b;
		char name[64];

		fbuf_init(&b, 0);
		for (int i = 0; i < 5000; i++)
			fbuf_addf(&b, "r%d.test\n", i);
		fbuf_adds(&b, "r77.test\n");
		psl = dmarc_psl_from_buf(b.data, b.len);
		test_assert(psl != NULL && dmarc_psl_count(psl) == 5001);
		for (int i = 0; i < 5000; i += 7) {
			snprintf(name, sizeof(name), "a.x.r%d.test", i);
			test_assert_idx(dmarc_org_domain(psl, name, dst,
			    sizeof(dst)) == 0 && strcmp(dst, name + 2) == 0,
			    (size_t)i);
		}
		test_assert(dmarc_org_domain(psl, "a.x.r5000.test", dst,
		    sizeof(dst)) == 0 && strcmp(dst, "r5000.test") == 0);
		dmarc_psl_free(psl);
		fbuf_release(&b);
	}
	test_end();
}

static void
test_dmarc_real_list(void)
{
	struct dmarc_psl *psl = NULL;
	const char *error;
	char dst[254];

	test_begin("dmarc psl Debian's list");
	test_assert(dmarc_psl_load("/nonexistent/psl.dat", &psl, &error) < 0);
	test_assert(psl == NULL);
	test_assert(dmarc_psl_load(PSL_PATH, &psl, &error) == 0);
	if (psl != NULL) {
		test_assert(dmarc_psl_count(psl) > 5000);
		test_assert(dmarc_org_domain(psl, "mail.example.co.uk", dst,
		    sizeof(dst)) == 0 && strcmp(dst, "example.co.uk") == 0);
		test_assert(dmarc_org_domain(psl, "a.b.example.com", dst,
		    sizeof(dst)) == 0 && strcmp(dst, "example.com") == 0);
		test_assert(dmarc_org_domain(psl, "x.someone.github.io", dst,
		    sizeof(dst)) == 0 &&
		    strcmp(dst, "someone.github.io") == 0);
		test_assert(dmarc_org_domain(psl, "a.b.c.kawasaki.jp", dst,
		    sizeof(dst)) == 0 && strcmp(dst, "b.c.kawasaki.jp") == 0);
		test_assert(dmarc_org_domain(psl, "www.city.kawasaki.jp", dst,
		    sizeof(dst)) == 0 && strcmp(dst, "city.kawasaki.jp") == 0);
		dmarc_psl_free(psl);
	}
	test_end();
}

static void
test_dmarc_align(void)
{
	struct dmarc_psl *psl = dmarc_psl_from_buf(psl_text,
	    sizeof(psl_text) - 1);

	test_begin("dmarc alignment");
	test_assert(dmarc_aligned(psl, "example.com", "EXAMPLE.com.",
	    DMARC_A_STRICT));
	test_assert(!dmarc_aligned(psl, "example.com", "mail.example.com",
	    DMARC_A_STRICT));
	test_assert(dmarc_aligned(psl, "example.com", "mail.example.com",
	    DMARC_A_RELAXED));
	test_assert(dmarc_aligned(psl, "news.example.co.uk",
	    "bounce.example.co.uk", DMARC_A_RELAXED));
	test_assert(!dmarc_aligned(psl, "a.co.uk", "b.co.uk",
	    DMARC_A_RELAXED));
	test_assert(!dmarc_aligned(psl, "example.com", "example.net",
	    DMARC_A_RELAXED));
	test_assert(!dmarc_aligned(psl, "a.github.io", "b.github.io",
	    DMARC_A_RELAXED));
	test_assert(!dmarc_aligned(psl, "", "", DMARC_A_STRICT));
	test_assert(!dmarc_aligned(psl, "", "", DMARC_A_RELAXED));
	test_assert(!dmarc_aligned(psl, "a..com", "a..com", DMARC_A_RELAXED));
	dmarc_psl_free(psl);
	test_end();
}

static void
test_dmarc_eval(void)
{
	struct dmarc_psl *psl = dmarc_psl_from_buf(psl_text,
	    sizeof(psl_text) - 1);
	struct dmarc_record rec;
	struct dmarc_outcome o;
	const char *doms[] = { "other.example", "mail.example.co.uk" };
	struct dmarc_auth a = { NULL, doms, 2 };
	char err[120];

	test_begin("dmarc evaluate");
	test_assert(test_dmarc_parse("v=DMARC1; p=reject; sp=quarantine",
	    &rec, err, sizeof(err)) == 0);
	/* DKIM aligned (relaxed), SPF not passed. */
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 0, &o);
	test_assert(o.pass && o.dkim_aligned && !o.spf_aligned);
	test_assert_streq(o.dkim_domain, "mail.example.co.uk");
	test_assert(o.disposition == DMARC_P_NONE);
	/* Strict DKIM alignment: the subdomain signature no longer aligns. */
	rec.adkim = DMARC_A_STRICT;
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 0, &o);
	test_assert(!o.pass && o.dkim_domain == NULL);
	test_assert(o.disposition == DMARC_P_REJECT && !o.sampled_out);
	/* SPF alone, relaxed then strict. */
	a.n_dkim = 0;
	a.spf_domain = "bounce.example.co.uk";
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 0, &o);
	test_assert(o.pass && o.spf_aligned && !o.dkim_aligned);
	rec.aspf = DMARC_A_STRICT;
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 0, &o);
	test_assert(!o.pass);
	/* A subdomain's mail under the organizational domain's record
	 * gets sp=. */
	a.spf_domain = NULL;
	dmarc_evaluate(psl, &rec, "news.example.co.uk", "example.co.uk", &a,
	    0, &o);
	test_assert(!o.pass && o.disposition == DMARC_P_QUARANTINE);
	/* pct: sampled in below pct, one step lower above. */
	rec.pct = 30;
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk.", &a, 29,
	    &o);
	test_assert(o.disposition == DMARC_P_REJECT && !o.sampled_out);
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 30,
	    &o);
	test_assert(o.disposition == DMARC_P_QUARANTINE && o.sampled_out);
	dmarc_evaluate(psl, &rec, "x.example.co.uk", "example.co.uk", &a, 99,
	    &o);
	test_assert(o.disposition == DMARC_P_NONE && o.sampled_out);
	rec.pct = 0;
	rec.p = DMARC_P_NONE;
	dmarc_evaluate(psl, &rec, "example.co.uk", "example.co.uk", &a, 0, &o);
	test_assert(o.disposition == DMARC_P_NONE && !o.sampled_out);
	dmarc_psl_free(psl);
	test_end();
}

int
main(void)
{
	test_dmarc_records();
	test_dmarc_values();
	test_dmarc_org();
	test_dmarc_real_list();
	test_dmarc_align();
	test_dmarc_eval();
	return test_exit();
}
