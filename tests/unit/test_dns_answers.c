/* Unit tests for the answers a resolver keeps (src/net/dns_answers.c):
 * a cacheable answer is served for its TTL and not after, by name
 * case-blind and type; copies are the caller's own; expire() (reload)
 * stops every fresh answer while serve-stale keeps them; what is not
 * cacheable (no TTL, too much TXT, negative, only kept for serve-stale)
 * is never served fresh; the entry and memory bounds drop the oldest.
 * The real protocol is driven in tests/integration/test_dns_cache.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "net/dns.h"
#include "net/dns_answers.h"
#include "test.h"

#define T0 1000000

/* A TXT answer of one record, text t, ttl seconds. */
static void
test_txt(struct dns_result *r, struct dns_rr *rr, const char *t,
    uint32_t ttl)
{
	memset(r, 0, sizeof(*r));
	memset(rr, 0, sizeof(*rr));
	rr->txt = (char *)t;
	rr->txt_len = strlen(t);
	r->status = DNS_OK;
	r->type = DNS_T_TXT;
	r->rr = rr;
	r->n = 1;
	r->ttl = ttl;
}

static void
test_fresh_for_ttl(void)
{
	struct dns_answers *a = dns_answers_new();
	struct dns_result r, got;
	struct dns_rr rr;
	char canon[256];

	test_begin("dns answers: fresh for the TTL, then asked again");
	test_txt(&r, &rr, "v=spf1 -all", 60);
	r.secure = true;
	r.canon = "real.example";
	dns_answers_put(a, "Sender.Example", DNS_T_TXT, &r, true, false, T0);
	test_assert(dns_answers_fresh(a, "sender.example", DNS_T_TXT,
	    T0 + 59, &got, canon, sizeof(canon)));
	test_assert(got.n == 1 && got.status == DNS_OK && got.secure);
	test_assert(got.ttl == 1);
	test_assert_streq(got.canon, "real.example");
	/* The copy is the caller's: the text is not the one put. */
	test_assert(got.rr[0].txt != rr.txt);
	test_assert_streq(got.rr[0].txt, "v=spf1 -all");
	dns_answers_result_free(&got);
	test_assert(!dns_answers_fresh(a, "sender.example", DNS_T_A, T0 + 1,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "sender.example", DNS_T_TXT,
	    T0 + 60, &got, canon, sizeof(canon)));
	/* A clock that went back does not make an answer younger. */
	test_assert(!dns_answers_fresh(a, "sender.example", DNS_T_TXT,
	    T0 - 1, &got, canon, sizeof(canon)));
	{
		/* Several records, texts and not, copied in one block: each
		 * text intact and the caller's own, also once the entry
		 * itself is replaced. */
		struct dns_rr three[3];
		static const char *const t[3] = { "first", NULL, "" };

		memset(three, 0, sizeof(three));
		for (int i = 0; i < 3; i++)
			if (t[i] != NULL) {
				three[i].txt = (char *)t[i];
				three[i].txt_len = strlen(t[i]);
			}
		three[1].pref = 7;
		r.rr = three;
		r.n = 3;
		dns_answers_put(a, "three.example", DNS_T_TXT, &r, true, false,
		    T0);
		test_assert(dns_answers_fresh(a, "three.example", DNS_T_TXT,
		    T0 + 1, &got, canon, sizeof(canon)));
		test_txt(&r, &rr, "replaced", 60);
		dns_answers_put(a, "three.example", DNS_T_TXT, &r, true, false,
		    T0 + 2);
		test_assert(got.n == 3);
		test_assert_streq(got.rr[0].txt, "first");
		test_assert(got.rr[1].txt == NULL && got.rr[1].pref == 7);
		test_assert(got.rr[2].txt != NULL && got.rr[2].txt_len == 0 &&
		    got.rr[2].txt[0] == '\0');
		test_assert(got.rr[0].txt != t[0]);
		dns_answers_result_free(&got);
	}
	/* The changed record, when the resolver answers again. */
	test_txt(&r, &rr, "v=spf1 +all", 60);
	dns_answers_put(a, "sender.example", DNS_T_TXT, &r, true, false,
	    T0 + 61);
	test_assert(dns_answers_fresh(a, "SENDER.example", DNS_T_TXT,
	    T0 + 62, &got, canon, sizeof(canon)));
	test_assert(got.canon == NULL);
	test_assert_streq(got.rr[0].txt, "v=spf1 +all");
	dns_answers_result_free(&got);
	/* Negative answers, for the SOA's TTL; never served stale. */
	memset(&r, 0, sizeof(r));
	r.status = DNS_NXDOMAIN;
	r.ttl = 30;
	dns_answers_put(a, "gone.example", DNS_T_A, &r, true, true, T0);
	r.status = DNS_NODATA;
	dns_answers_put(a, "gone.example", DNS_T_AAAA, &r, true, false, T0);
	test_assert(dns_answers_fresh(a, "gone.example", DNS_T_A, T0 + 29,
	    &got, canon, sizeof(canon)));
	test_assert(got.status == DNS_NXDOMAIN && got.n == 0);
	dns_answers_result_free(&got);
	test_assert(dns_answers_fresh(a, "gone.example", DNS_T_AAAA, T0 + 29,
	    &got, canon, sizeof(canon)));
	test_assert(got.status == DNS_NODATA && got.n == 0);
	dns_answers_result_free(&got);
	test_assert(!dns_answers_fresh(a, "gone.example", DNS_T_A, T0 + 30,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_stale(a, "gone.example", DNS_T_A, 3600,
	    T0 + 31, &got));
	dns_answers_free(&a);
	test_assert(a == NULL);
	test_end();
}

static void
test_not_cacheable(void)
{
	struct dns_answers *a = dns_answers_new();
	struct dns_result r, got;
	struct dns_rr rr;
	char canon[256], *big = malloc(DNS_ANSWERS_TXT_MAX + 2);
	struct dns_answers_stats st;

	test_begin("dns answers: what is never served fresh");
	test_txt(&r, &rr, "ttl zero", 0);
	dns_answers_put(a, "zero.example", DNS_T_TXT, &r, true, false, T0);
	memset(big, 'x', DNS_ANSWERS_TXT_MAX + 1);
	big[DNS_ANSWERS_TXT_MAX + 1] = '\0';
	test_txt(&r, &rr, big, 60);
	dns_answers_put(a, "big.example", DNS_T_TXT, &r, true, false, T0);
	memset(&r, 0, sizeof(r));
	r.status = DNS_NXDOMAIN;	/* no SOA: no TTL */
	dns_answers_put(a, "gone.example", DNS_T_TXT, &r, true, true, T0);
	r.ttl = 60;
	r.status = DNS_TEMPFAIL;
	dns_answers_put(a, "broken.example", DNS_T_A, &r, true, true, T0);
	dns_answers_stats(a, &st);
	test_assert(st.entries == 0 && st.bytes == 0);
	/* Kept for serve-stale only (no TTL; or the caller says no). */
	r.status = DNS_NODATA;
	r.ttl = 0;
	dns_answers_put(a, "nodata.example", DNS_T_MX, &r, true, true, T0);
	test_txt(&r, &rr, "fallback", 60);
	dns_answers_put(a, "fb.example", DNS_T_TXT, &r, false, true, T0);
	test_assert(!dns_answers_fresh(a, "zero.example", DNS_T_TXT, T0,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "big.example", DNS_T_TXT, T0,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "gone.example", DNS_T_TXT, T0,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "nodata.example", DNS_T_MX, T0,
	    &got, canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "fb.example", DNS_T_TXT, T0,
	    &got, canon, sizeof(canon)));
	test_assert(dns_answers_stale(a, "nodata.example", DNS_T_MX, 60,
	    T0 + 10, &got));
	test_assert(got.status == DNS_NODATA && got.stale &&
	    got.stale_age == 10);
	dns_answers_result_free(&got);
	/* A name longer than any DNS name is simply not kept. */
	memset(big, 'a', 300);
	big[300] = '\0';
	test_txt(&r, &rr, "x", 60);
	dns_answers_put(a, big, DNS_T_TXT, &r, true, true, T0);
	test_assert(!dns_answers_fresh(a, big, DNS_T_TXT, T0, &got, canon,
	    sizeof(canon)));
	dns_answers_stats(a, &st);
	test_assert(st.entries == 2);
	free(big);
	dns_answers_free(&a);
	test_end();
}

static void
test_expire_keeps_stale(void)
{
	struct dns_answers *a = dns_answers_new();
	struct dns_result r, got;
	struct dns_rr rr;
	char canon[256];

	test_begin("dns answers: expire (reload) keeps serve-stale");
	memset(&r, 0, sizeof(r));
	memset(&rr, 0, sizeof(rr));
	rr.pref = 10;
	str_lcpy(rr.name, "mx.example", sizeof(rr.name));
	r.status = DNS_OK;
	r.rr = &rr;
	r.n = 1;
	r.ttl = 300;
	dns_answers_put(a, "example", DNS_T_MX, &r, true, true, T0);
	test_txt(&r, &rr, "v=DMARC1; p=none", 300);
	dns_answers_put(a, "_dmarc.example", DNS_T_TXT, &r, true, false, T0);
	dns_answers_expire(a);
	test_assert(!dns_answers_fresh(a, "example", DNS_T_MX, T0 + 1, &got,
	    canon, sizeof(canon)));
	test_assert(!dns_answers_fresh(a, "_dmarc.example", DNS_T_TXT,
	    T0 + 1, &got, canon, sizeof(canon)));
	test_assert(dns_answers_stale(a, "example", DNS_T_MX, 3600, T0 + 400,
	    &got));
	test_assert(got.n == 1 && got.rr[0].pref == 10);
	test_assert_streq(got.rr[0].name, "mx.example");
	dns_answers_result_free(&got);
	/* Too old for serve-stale: dropped. */
	test_assert(!dns_answers_stale(a, "example", DNS_T_MX, 60, T0 + 400,
	    &got));
	test_assert(!dns_answers_stale(a, "example", DNS_T_MX, 3600,
	    T0 + 400, &got));
	dns_answers_free(&a);
	test_end();
}

static void
test_bounded(void)
{
	struct dns_answers *a = dns_answers_new();
	struct dns_answers_stats st;
	struct dns_result r, got;
	struct dns_rr rr;
	char name[64], canon[256], *txt = malloc(DNS_ANSWERS_TXT_MAX + 1);

	test_begin("dns answers: bounded by entries and bytes, oldest first");
	test_txt(&r, &rr, "small", 60);
	for (int i = 0; i < DNS_ANSWERS_ENTRIES + 10; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		dns_answers_put(a, name, DNS_T_TXT, &r, true, false, T0);
	}
	dns_answers_stats(a, &st);
	test_assert(st.entries == DNS_ANSWERS_ENTRIES);
	test_assert(!dns_answers_fresh(a, "n0.example", DNS_T_TXT, T0, &got,
	    canon, sizeof(canon)));
	test_assert(dns_answers_fresh(a, "n10.example", DNS_T_TXT, T0, &got,
	    canon, sizeof(canon)));
	dns_answers_result_free(&got);
	dns_answers_free(&a);

	a = dns_answers_new();
	memset(txt, 't', DNS_ANSWERS_TXT_MAX);
	txt[DNS_ANSWERS_TXT_MAX] = '\0';
	test_txt(&r, &rr, txt, 60);
	for (int i = 0; i < DNS_ANSWERS_ENTRIES; i++) {
		snprintf(name, sizeof(name), "big%d.example", i);
		dns_answers_put(a, name, DNS_T_TXT, &r, true, false, T0);
	}
	dns_answers_stats(a, &st);
	test_assert(st.bytes <= DNS_ANSWERS_BYTES);
	test_assert(st.entries < DNS_ANSWERS_ENTRIES);
	snprintf(name, sizeof(name), "big%d.example", DNS_ANSWERS_ENTRIES - 1);
	test_assert(dns_answers_fresh(a, name, DNS_T_TXT, T0, &got, canon,
	    sizeof(canon)));
	test_assert(got.rr[0].txt_len == DNS_ANSWERS_TXT_MAX);
	dns_answers_result_free(&got);
	dns_answers_stats(a, &st);
	test_assert(st.hits == 1 && st.misses == 0);
	free(txt);
	dns_answers_free(&a);
	dns_answers_free(&a);		/* NULL: nothing */
	test_end();
}

int
main(void)
{
	test_fresh_for_ttl();
	test_not_cacheable();
	test_expire_keeps_stale();
	test_bounded();
	return test_exit();
}
