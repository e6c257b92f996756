/* Unit tests for the SPF record parser, the macro language and the
 * Received-SPF field (src/msgauth/spf.c; RFC 7208 sections 4.5, 4.6, 5,
 * 6, 7 and 9.1).  Inputs are parsed from exactly-sized heap copies
 * without a NUL after them, so that ASan catches reads past `len`.  The
 * evaluator itself, which needs DNS, is covered by
 * tests/integration/test_spf.py against python3-spf. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "msgauth/spf.h"
#include "test.h"

static char *
test_spf_copy(const char *s, size_t *len)
{
	char *p;

	*len = strlen(s);
	p = malloc(*len > 0 ? *len : 1);
	memcpy(p, s, *len);
	return p;
}

/* ---------------------------------------------------------- records */

struct rec_case {
	const char *txt;
	int ok;				/* 0 parses, -1 permerror */
	int nterms;			/* checked when ok */
};

static const struct rec_case rec_cases[] = {
	{ "v=spf1", 0, 0 },
	{ "v=spf1 -all", 0, 1 },
	{ "V=SpF1 ~all", 0, 1 },
	{ "v=spf1   a    -all   ", 0, 2 },
	{ "v=spf1 a mx ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 "
	  "exists:%{i}.x.example include:_spf.example.com ~all", 0, 8 },
	{ "v=spf1 a/24//64 a//64 mx:foo.example/30 mx/0 -all", 0, 5 },
	{ "v=spf1 ptr:example.com ?ptr", 0, 2 },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 0, 3 },
	{ "v=spf1 default=+ op=x.y", 0, 2 },
	{ "v=spf1 ip6:::FFFF:1.2.3.4 ip4:1.1.1.1/0 ip6:::/0", 0, 3 },
	{ "v=spf1 redirect=_spf.example.com exp=exp.%{d2}", 0, 2 },
	{ "v=spf1 a:macro%%percent%_%_space%-url-space.example.com", 0, 1 },
	{ "v=spf1 a:foo:bar/baz.example.com a:foo.example.xn--zckzah", 0, 2 },
	{ "v=spf1 exists:%{l2r+-}.user.%{d2} exists:%{ir}.%{v}.arpa", 0, 2 },
	{ "v=spf1 a:%{H}.bar -a:%{h} exp=msg.example.com.", 0, 3 },
	{ "v=spf1 -all.", -1, 0 },
	{ "v=spf1 -all:foobar", -1, 0 },
	{ "v=spf1 -all/8", -1, 0 },
	{ "v=spf1 ptr/0 -all", -1, 0 },
	{ "v=spf1 ptr:", -1, 0 },
	{ "v=spf1 a:", -1, 0 },
	{ "v=spf1 mx: -all", -1, 0 },
	{ "v=spf1 include", -1, 0 },
	{ "v=spf1 include: -all", -1, 0 },
	{ "v=spf1 include:ip5.example.com/24", -1, 0 },
	{ "v=spf1 exists", -1, 0 },
	{ "v=spf1 exists:", -1, 0 },
	{ "v=spf1 exists:mail.example.com/24", -1, 0 },
	{ "v=spf1 ip4", -1, 0 },
	{ "v=spf1 ip4:1.2.3", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4/33", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4/032", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4//32", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4:8080", -1, 0 },
	{ "v=spf1 ip4:1.2.03.4", -1, 0 },
	{ "v=spf1 -all ip6", -1, 0 },
	{ "v=spf1 ip6:::1.1.1.1/129", -1, 0 },
	{ "v=spf1 ip6:::1.1.1.1//33", -1, 0 },
	{ "v=spf1 ip6::CAFE::BABE", -1, 0 },
	{ "v=spf1 a/33 -all", -1, 0 },
	{ "v=spf1 a//129 -all", -1, 0 },
	{ "v=spf1 a/24/64 -all", -1, 0 },
	{ "v=spf1 a:museum", -1, 0 },
	{ "v=spf1 a:museum.", -1, 0 },
	{ "v=spf1 a:abc.123", -1, 0 },
	{ "v=spf1 a:111.222.33.44", -1, 0 },
	{ "v=spf1 a:example.-com", -1, 0 },
	{ "v=spf1 a:example.com:8080", -1, 0 },
	{ "v=spf1 a:%{d}.", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4 -all moo", -1, 0 },
	{ "v=spf1 =all", -1, 0 },
	{ "v=spf1 1up=foo", -1, 0 },
	{ "v=spf1 ip4:1.2.3.4 redirect:t2.example.com", -1, 0 },
	{ "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", -1, 0 },
	{ "v=spf1 exp= -all", -1, 0 },
	{ "v=spf1 ?all redirect=", -1, 0 },
	{ "v=spf1 exp=-all", -1, 0 },
	{ "v=spf1 redirect=-all ?all", -1, 0 },
	{ "v=spf1 redirect=a.example redirect=b.example", -1, 0 },
	{ "v=spf1 exp=a.example -all exp=b.example", -1, 0 },
	{ "v=spf1 -all foo=%abc", -1, 0 },
	{ "v=spf1 a:%{c}.example.com", -1, 0 },
	{ "v=spf1 -all exp=%{r}.example.com", -1, 0 },
	{ "v=spf1 -exists:%(ir).sbl.example.com ?all", -1, 0 },
	{ "v=spf1 exists:foo%.sbl.example.com ?all", -1, 0 },
	{ "v=spf1 a:%{a}.example.com -all", -1, 0 },
	{ "v=spf1 exists:%{d0}.example.com", -1, 0 },
	{ "v=spf1 \x80" "a:example.net -all", -1, 0 },
	{ "v=spf1 a:example.net \x96" "all", -1, 0 },
	{ "v=spf1 a:foo.example\t-all", -1, 0 },
	{ "v=spf1 +", -1, 0 },
};

static void
test_spf_records(void)
{
	test_begin("spf record parser");
	for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *rc = &rec_cases[i];
		struct spf_record rec;
		char err[200] = "";
		size_t len;
		char *p = test_spf_copy(rc->txt, &len);
		int r = spf_record_parse(p, len, &rec, err, sizeof(err));

		test_assert_idx(r == rc->ok, i);
		test_assert_idx(r == 0 || err[0] != '\0', i);
		if (r == 0 && rc->ok == 0)
			test_assert_idx(rec.n == (size_t)rc->nterms, i);
		spf_record_free(&rec);
		free(p);
	}
	test_end();
}

static void
test_spf_record_terms(void)
{
	static const char txt[] = "v=spf1 ~a:mail.%{d}/24//64 mx//48 "
	    "-ip4:192.0.2.0/25 ?ip6:2001:DB8::/32 include:x.example "
	    "redirect=r.example exp=e.example";
	struct spf_record rec;
	char err[200];

	test_begin("spf record terms");
	test_assert(spf_record_parse(txt, sizeof(txt) - 1, &rec, err,
	    sizeof(err)) == 0);
	test_assert(rec.n == 7);
	test_assert(rec.terms[0].kind == SPF_T_A);
	test_assert(rec.terms[0].qualifier == SPF_SOFTFAIL);
	test_assert(rec.terms[0].cidr4 == 24 && rec.terms[0].cidr6 == 64);
	test_assert(rec.terms[0].arglen == 9 &&
	    memcmp(rec.terms[0].arg, "mail.%{d}", 9) == 0);
	test_assert_streq(rec.terms[0].text, "~a:mail.%{d}/24//64");
	test_assert(rec.terms[1].kind == SPF_T_MX);
	test_assert(rec.terms[1].cidr4 == -1 && rec.terms[1].cidr6 == 48);
	test_assert(rec.terms[1].arglen == 0);
	test_assert(rec.terms[2].kind == SPF_T_IP4);
	test_assert(rec.terms[2].qualifier == SPF_FAIL);
	test_assert(rec.terms[2].cidr4 == 25);
	test_assert(memcmp(rec.terms[2].net, "\xc0\x00\x02\x00", 4) == 0);
	test_assert(rec.terms[3].kind == SPF_T_IP6);
	test_assert(rec.terms[3].qualifier == SPF_NEUTRAL);
	test_assert(rec.terms[3].cidr6 == 32);
	test_assert(rec.terms[4].kind == SPF_T_INCLUDE);
	test_assert(rec.terms[4].qualifier == SPF_PASS);
	test_assert(rec.redirect == 5 && rec.exp == 6);
	spf_record_free(&rec);
	test_end();
}

static void
test_spf_is_spf(void)
{
	test_begin("spf record selection");
	test_assert(spf_record_is_spf("v=spf1", 6));
	test_assert(spf_record_is_spf("V=SPF1 -all", 11));
	test_assert(!spf_record_is_spf("v=spf10", 7));
	test_assert(!spf_record_is_spf("v=spf1-all", 10));
	test_assert(!spf_record_is_spf("v=spf1\t-all", 11));
	test_assert(!spf_record_is_spf("spf1 -all", 9));
	test_assert(!spf_record_is_spf("v=spf", 5));
	test_assert(!spf_record_is_spf("v=spf1 -all", 5));
	test_end();
}

/* ---------------------------------------------------------- macros */

struct macro_case {
	const char *in;
	enum spf_macro_use use;
	bool v6;
	const char *want;		/* NULL: syntax error */
};

static const struct macro_case macro_cases[] = {
	/* RFC 7208 7.4 */
	{ "%{s}", SPF_MACRO_DOMAIN, false, "strong-bad@email.example.com" },
	{ "%{o}", SPF_MACRO_DOMAIN, false, "email.example.com" },
	{ "%{d}", SPF_MACRO_DOMAIN, false, "email.example.com" },
	{ "%{d4}", SPF_MACRO_DOMAIN, false, "email.example.com" },
	{ "%{d3}", SPF_MACRO_DOMAIN, false, "email.example.com" },
	{ "%{d2}", SPF_MACRO_DOMAIN, false, "example.com" },
	{ "%{d1}", SPF_MACRO_DOMAIN, false, "com" },
	{ "%{dr}", SPF_MACRO_DOMAIN, false, "com.example.email" },
	{ "%{d2r}", SPF_MACRO_DOMAIN, false, "example.email" },
	{ "%{l}", SPF_MACRO_DOMAIN, false, "strong-bad" },
	{ "%{l-}", SPF_MACRO_DOMAIN, false, "strong.bad" },
	{ "%{lr}", SPF_MACRO_DOMAIN, false, "strong-bad" },
	{ "%{lr-}", SPF_MACRO_DOMAIN, false, "bad.strong" },
	{ "%{l1r-}", SPF_MACRO_DOMAIN, false, "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN, false,
	  "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN, false,
	  "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN, false,
	  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN, false,
	  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net", SPF_MACRO_DOMAIN, false,
	  "example.com.trusted-domains.example.net" },
	{ "%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN, true,
	  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	  ".ip6._spf.example.com" },
	/* the rest of section 7 */
	{ "%{i}", SPF_MACRO_DOMAIN, false, "192.0.2.3" },
	{ "%{h}", SPF_MACRO_DOMAIN, false, "mx.example.org" },
	{ "%{p}", SPF_MACRO_DOMAIN, false, "unknown" },
	{ "%{v}", SPF_MACRO_DOMAIN, true, "ip6" },
	{ "%{S}", SPF_MACRO_DOMAIN, false, "strong-bad%40email.example.com" },
	{ "%{L}=%{l}", SPF_MACRO_DOMAIN, false, "strong-bad=strong-bad" },
	{ "%%%_%-", SPF_MACRO_DOMAIN, false, "% %20" },
	{ "%{d999}", SPF_MACRO_DOMAIN, false, "email.example.com" },
	{ "%{d2R}", SPF_MACRO_DOMAIN, false, "example.email" },
	{ "%{s.}", SPF_MACRO_DOMAIN, false, "strong-bad@email.example.com" },
	{ "%{s.@}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{o1.-+,/_=}", SPF_MACRO_DOMAIN, false, "com" },
	{ "%{c}", SPF_MACRO_EXP, false, "192.0.2.3" },
	{ "%{c}", SPF_MACRO_EXP, true, "2001:db8::cb01" },
	{ "%{r}", SPF_MACRO_EXP, false, "unknown" },
	{ "%{t}", SPF_MACRO_EXP, false, "1234567890" },
	{ "%{C} is %{i} now", SPF_MACRO_EXP, true,
	  "2001%3Adb8%3A%3Acb01 is 2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0"
	  ".0.0.0.0.0.0.0.0.c.b.0.1 now" },
	{ "", SPF_MACRO_DOMAIN, false, "" },
	/* syntax errors */
	{ "%", SPF_MACRO_DOMAIN, false, NULL },
	{ "a%", SPF_MACRO_DOMAIN, false, NULL },
	{ "%x", SPF_MACRO_DOMAIN, false, NULL },
	{ "%(ir)", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{d", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{d0}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{d00}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{x}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{d2q}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{dr2}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{c}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{r}", SPF_MACRO_DOMAIN, false, NULL },
	{ "%{t}", SPF_MACRO_DOMAIN, false, NULL },
	{ "a b", SPF_MACRO_DOMAIN, false, NULL },
	{ "a\x7f", SPF_MACRO_EXP, false, NULL },
	{ "caf\xc3\xa9", SPF_MACRO_EXP, false, NULL },
};

static void
test_spf_env(struct spf_macro_env *env, bool v6, char *i, char *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *v;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::cb01", &sin6->sin6_addr);
	} else {
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.3", &sin->sin_addr);
	}
	test_assert(spf_ip_strings((struct sockaddr *)&ss, i, 72, c, 64,
	    &v) == 0);
	memset(env, 0, sizeof(*env));
	env->s = "strong-bad@email.example.com";
	env->l = "strong-bad";
	env->o = env->d = "email.example.com";
	env->h = "mx.example.org";
	env->i = i;
	env->c = c;
	env->v = v;
	env->t = 1234567890;
}

static void
test_spf_macros(void)
{
	test_begin("spf macro expansion");
	for (size_t k = 0; k < sizeof(macro_cases) / sizeof(macro_cases[0]);
	    k++) {
		const struct macro_case *mc = &macro_cases[k];
		struct spf_macro_env env;
		struct fbuf out;
		char i[72], c[64];
		size_t len;
		char *p = test_spf_copy(mc->in, &len);
		int r, chk;

		test_spf_env(&env, mc->v6, i, c);
		fbuf_init(&out, 0);
		r = spf_macro_expand(p, len, mc->use, &env, &out);
		chk = spf_macro_check(p, len, mc->use);
		test_assert_idx(r == chk, k);
		if (mc->want == NULL)
			test_assert_idx(r < 0, k);
		else {
			test_assert_idx(r == 0, k);
			if (r == 0)
				test_assert_streq(fbuf_str(&out), mc->want);
		}
		fbuf_release(&out);
		free(p);
	}
	test_end();
}

static void
test_spf_uses_p(void)
{
	test_begin("spf macro uses p");
	test_assert(spf_macro_uses_p("%{p}.x.example", 14));
	test_assert(spf_macro_uses_p("a.%{P2r-}", 9));
	test_assert(!spf_macro_uses_p("%{d}.p.example", 14));
	test_assert(!spf_macro_uses_p("%%{p}", 5));
	test_assert(!spf_macro_uses_p("", 0));
	test_end();
}

/* ---------------------------------------------------------- domain-spec */

struct dspec_case {
	const char *in;
	int ok;
};

static const struct dspec_case dspec_cases[] = {
	{ "example.com", 0 },
	{ "example.com.", 0 },
	{ ".com", 0 },
	{ "%{d}", 0 },
	{ "%{ir}.%{v}._spf.%{d2}", 0 },
	{ "foo%%", 0 },
	{ "foo.%-", 0 },
	{ "foo.xn--zckzah", 0 },
	{ "foo.123-456", 0 },
	{ "foo:bar/baz.example.com", 0 },
	{ "%{d}.com.", 0 },
	{ "", -1 },
	{ "museum", -1 },
	{ "museum.", -1 },
	{ "%{d}.", -1 },
	{ "%{d}x", -1 },
	{ "foo.-com", -1 },
	{ "foo.com-", -1 },
	{ "abc.123", -1 },
	{ "example.com:8080", -1 },
	{ "example.com..", -1 },
	{ "foo.c_m", -1 },
	{ "x.%-1a", -1 },
	{ "foo.%{c}.com", -1 },
};

static void
test_spf_domain_spec(void)
{
	test_begin("spf domain-spec syntax");
	for (size_t k = 0; k < sizeof(dspec_cases) / sizeof(dspec_cases[0]);
	    k++) {
		size_t len;
		char *p = test_spf_copy(dspec_cases[k].in, &len);

		test_assert_idx(spf_domain_spec_check(p, len) ==
		    dspec_cases[k].ok, k);
		free(p);
	}
	test_end();
}

static void
test_spf_expand_domain(void)
{
	struct spf_macro_env env;
	char i[72], c[64], dst[300], local[200], spec[40];
	size_t n;

	test_begin("spf expanded names: trailing dot, 253 octets");
	test_spf_env(&env, false, i, c);
	test_assert(spf_expand_domain("%{d}.", 5, &env, dst,
	    sizeof(dst)) == 0);
	test_assert_streq(dst, "email.example.com");
	test_assert(spf_expand_domain("msg.example.com.", 16, &env, dst,
	    sizeof(dst)) == 0);
	test_assert_streq(dst, "msg.example.com");
	/* 5 x 50 octets of labels + the domain: cut by whole labels */
	memset(local, 'a', sizeof(local));
	for (n = 49; n < sizeof(local); n += 50)
		local[n] = '.';
	local[sizeof(local) - 1] = '\0';
	env.l = local;
	n = (size_t)snprintf(spec, sizeof(spec), "%%{l}.%%{l}.%%{d}");
	test_assert(spf_expand_domain(spec, n, &env, dst, sizeof(dst)) == 0);
	test_assert(strlen(dst) <= SPF_DOMAIN_MAX);
	test_assert(strlen(dst) > SPF_DOMAIN_MAX - 51);
	test_assert(dst[0] == 'a');
	n = strlen(dst);
	test_assert(n > 17 && strcmp(dst + n - 17, "email.example.com") == 0);
	/* a single label longer than a name can be: no name */
	memset(local, 'b', sizeof(local) - 1);
	env.l = local;
	test_assert(spf_expand_domain("%{l}%{l}", 8, &env, dst,
	    sizeof(dst)) < 0);
	test_end();
}

/*
 * Length is never a syntax error (7.3, and 6.2 drops an explanation only
 * for DNS or syntax errors): a macro-string the checker accepts expands,
 * however long.  Regression for the fuzz finding
 * tests/fuzz/corpus/fuzz_spf/spf-macro-check-vs-expand, where an
 * explanation of many 1 KB %{l} values failed to expand although it
 * passed the check.
 */
static void
test_spf_expand_long(void)
{
	struct spf_macro_env env;
	struct fbuf out;
	char i[72], c[64], dst[300], local[200];
	char *spec, *p;
	size_t n, len;

	test_begin("spf long expansions are cut, not refused");
	test_spf_env(&env, false, i, c);
	memset(local, 'a', sizeof(local));
	for (n = 49; n < sizeof(local); n += 50)
		local[n] = '.';
	local[sizeof(local) - 1] = '\0';
	env.l = local;
	/* 60 x "%{l}." expand to 60 x 200 octets, past SPF_EXPAND_MAX */
	spec = malloc(60 * 5 + 4);		/* no NUL: ASan sees overreads */
	test_assert(spec != NULL);
	for (n = 0; n < 60; n++)
		memcpy(spec + n * 5, "%{l}.", 5);
	memcpy(spec + 300, "%{d}", 4);
	len = 304;
	test_assert(spf_macro_check(spec, len, SPF_MACRO_EXP) == 0);
	fbuf_init(&out, 0);
	test_assert(spf_macro_expand(spec, len, SPF_MACRO_EXP, &env,
	    &out) == 0);
	test_assert(out.len == SPF_EXPAND_MAX);
	test_assert(strncmp(fbuf_str(&out), local, sizeof(local) - 1) == 0);
	/* appends after what out holds; the limit counts only the expansion */
	fbuf_reset(&out);
	test_assert(fbuf_adds(&out, "x=") == 0);
	test_assert(spf_macro_expand(spec, len, SPF_MACRO_DOMAIN, &env,
	    &out) == 0);
	test_assert(out.len == 2 + SPF_EXPAND_MAX);
	p = (char *)fbuf_str(&out);
	test_assert(strncmp(p, "x=", 2) == 0);
	test_assert(strcmp(p + out.len - 18, ".email.example.com") == 0);
	/* a name keeps its right-hand labels, cut to 253 octets */
	test_assert(spf_domain_spec_check(spec, len) == 0);
	test_assert(spf_expand_domain(spec, len, &env, dst, sizeof(dst)) == 0);
	n = strlen(dst);
	test_assert(n <= SPF_DOMAIN_MAX && n > SPF_DOMAIN_MAX - 51);
	test_assert(n > 18 && strcmp(dst + n - 18, ".email.example.com") == 0);
	test_assert(dst[0] == 'a');
	/* a syntax error after a long expansion: -1 and out unchanged */
	spec[len - 1] = '%';			/* "%{d%" */
	fbuf_reset(&out);
	test_assert(fbuf_adds(&out, "x=") == 0);
	test_assert(spf_macro_check(spec, len, SPF_MACRO_EXP) < 0);
	test_assert(spf_macro_expand(spec, len, SPF_MACRO_EXP, &env,
	    &out) < 0);
	test_assert_streq(fbuf_str(&out), "x=");
	fbuf_release(&out);
	free(spec);
	test_end();
}

/*
 * The fuzz finding itself, replayed as fuzz_spf reads it (first octet:
 * which parser; the rest is both the explanation and %{l} and %{h}), so
 * the exact input stays covered even if the fuzzer's seeds change.  The
 * file is read from the source tree (make unit runs from its top).
 */
static void
test_spf_finding_replay(void)
{
	static const char path[] =
	    "tests/fuzz/corpus/fuzz_spf/spf-macro-check-vs-expand";
	struct spf_macro_env env;
	struct fbuf out;
	char i[72], c[64], buf[4096], *s, *peer;
	size_t n;
	FILE *f;

	test_begin("spf fuzz finding spf-macro-check-vs-expand");
	f = fopen(path, "rb");
	test_assert(f != NULL);
	if (f == NULL) {
		test_end();
		return;
	}
	n = fread(buf, 1, sizeof(buf), f);
	(void)fclose(f);
	test_assert(n > 1 && n < sizeof(buf) && buf[0] % 4 == 2);
	s = malloc(n - 1);		/* no NUL: ASan sees overreads */
	peer = malloc(n);
	test_assert(s != NULL && peer != NULL);
	memcpy(s, buf + 1, n - 1);
	memcpy(peer, buf + 1, n - 1);
	peer[n - 1] = '\0';
	test_spf_env(&env, false, i, c);
	env.l = env.h = peer;
	test_assert(spf_macro_check(s, n - 1, SPF_MACRO_EXP) == 0);
	fbuf_init(&out, 0);
	test_assert(spf_macro_expand(s, n - 1, SPF_MACRO_EXP, &env,
	    &out) == 0);
	/* the %{l} values add up past the limit: cut, starting as it began */
	test_assert(out.len == SPF_EXPAND_MAX);
	test_assert(strncmp(fbuf_str(&out), "l=spfl.}:m-.email.example.com",
	    29) == 0);
	fbuf_release(&out);
	free(s);
	free(peer);
	test_end();
}

/* ---------------------------------------------------------- 9.1 */

static void
test_spf_received(void)
{
	struct spf_answer a;
	struct fbuf b;
	const char *p, *line, *end;

	test_begin("spf Received-SPF field");
	memset(&a, 0, sizeof(a));
	a.result = SPF_PASS;
	a.identity = "mailfrom";
	a.sender = "myname@example.com";
	a.domain = "example.com";
	a.mechanism = "ip4:192.0.2.0/24";
	a.problem = a.explanation = "";
	fbuf_init(&b, 0);
	test_assert(spf_received_spf(&b, &a, "192.0.2.1", "foo.example.com",
	    "mybox.example.org") == 0);
	p = fbuf_str(&b);
	line = "Received-SPF: pass (mybox.example.org: domain of "
	    "myname@example.com\r\n designates 192.0.2.1 as permitted sender)";
	test_assert(strncmp(p, line, strlen(line)) == 0);
	test_assert(strstr(p, "client-ip=192.0.2.1;") != NULL);
	test_assert(strstr(p, "envelope-from=\"myname@example.com\";") != NULL);
	test_assert(strstr(p, "helo=foo.example.com;") != NULL);
	test_assert(strstr(p, "identity=mailfrom;") != NULL);
	test_assert(strstr(p, "mechanism=\"ip4:192.0.2.0/24\";") != NULL);
	test_assert(strlen(p) > 2 && strcmp(p + strlen(p) - 2, "\r\n") == 0);
	for (line = p; (end = strstr(line, "\r\n")) != NULL; line = end + 2) {
		test_assert(end - line <= 78);
		test_assert(end[2] == '\0' || end[2] == ' ');
	}
	/* hostile text stays inside its comment / quoted-string */
	fbuf_reset(&b);
	a.result = SPF_PERMERROR;
	a.sender = "a(b)\\\"c\r\n\x01x@example.com";
	a.problem = "bad \"record\"";
	a.mechanism = "";
	test_assert(spf_received_spf(&b, &a, "2001:db8::1", "", "") == 0);
	p = fbuf_str(&b);
	test_assert(strstr(p, "(permanent error in processing the SPF policy "
	    "of") != NULL);
	test_assert(strstr(p, " a\\(b\\)\\\\\"c???x@example.com) ") != NULL);
	test_assert(strstr(p, "envelope-from=\"a(b)\\\\\\\"c???x@example.com\""
	    ";") != NULL);
	test_assert(strstr(p, "client-ip=\"2001:db8::1\";") != NULL);
	test_assert(strstr(p, "problem=\"bad \\\"record\\\"\";") != NULL);
	test_assert(strstr(p, "helo=") == NULL);
	test_assert(strstr(p, "mechanism=") == NULL);
	test_assert(strchr(p, '\x01') == NULL);
	fbuf_release(&b);
	test_end();
}

int
main(void)
{
	test_spf_records();
	test_spf_record_terms();
	test_spf_is_spf();
	test_spf_macros();
	test_spf_uses_p();
	test_spf_domain_spec();
	test_spf_expand_domain();
	test_spf_expand_long();
	test_spf_finding_replay();
	test_spf_received();
	return test_exit();
}
