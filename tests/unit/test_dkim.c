/* Unit tests for DKIM (src/msgauth/dkim_*.c): the tag-list parser, the
 * DKIM-Signature and key records, canonicalisation (whole and trickled
 * one octet at a time), the RFC 8463 example signatures (ed25519-sha256
 * and rsa-sha256) verified from the published values, signing and
 * verifying round trips with fresh keys, and every verdict the verifier
 * can reach without DNS (keys are handed over as the resolver would).
 * Cross-checks with other implementations (dkimpy, Mail::DKIM) are in
 * tests/integration/test_dkim.py. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "lib/fbuf.h"
#include "msgauth/dkim.h"
#include "msgauth/dkim_keycache.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_verify.h"
#include "mime/mime.h"
#include "test.h"

/* The verifiers' key cache and the TTL handed with keys: main() runs the
 * verification cases without a cache, then twice with one (decoded, then
 * cached), and the verdicts must not change. */
static struct dkim_keycache *test_kc;
/* The verifiers keep their keys and check later (as smtpd does, on its
 * pool): every verdict must be the same as checked at once. */
static bool test_defer;

/* The keys were handed over: in deferred mode a usable key is kept and
 * its signature still undecided, then the checks decide (the tests'
 * own assertions on the verdicts follow). */
static void
test_deferred_checks(struct dkim_verifier *v)
{
	size_t open, left;

	if (!test_defer)
		return;
	open = dkim_verifier_pending(v);
	left = dkim_verifier_checks_left(v);
	test_assert(left <= open);
	dkim_verifier_check(v);
	test_assert(dkim_verifier_checks_left(v) == 0);
	test_assert(dkim_verifier_pending(v) == open - left);
}
static uint32_t test_ttl;

/* An exactly-sized heap copy (no NUL after it) so ASan sees over-reads. */
static char *
test_copy(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	memcpy(p, s, len);
	return p;
}

/* ---------------------------------------------------------- tag lists */

static void
test_dkim_taglist(void)
{
	static const struct {
		const char *in;
		int rc;
		size_t n;
	} cases[] = {
		{ "", 0, 0 },
		{ "a=b", 0, 1 },
		{ "a=b;", 0, 1 },
		{ " a = b ; c=d e ;", 0, 2 },
		{ "a=\r\n\tb c;d=", 0, 2 },
		{ "a_1=x", 0, 1 },
		{ "a=b;a=c", -1, 0 },
		{ "=b", -1, 0 },
		{ "1a=b", -1, 0 },
		{ "a", -1, 0 },
		{ "a b=c", -1, 0 },
		{ "a=b;;", -1, 0 },
		{ "a=\x01", -1, 0 },
		{ "a=\xc3\xa9", -1, 0 },
		/* a bad octet after a run of good ones, and after FWS */
		{ "a=bc\x01d", -1, 0 },
		{ "a=b c\r\n \x80;d=e", -1, 0 },
	};

	test_begin("dkim tag-list");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_taglist tl;
		const char *err = NULL;
		size_t len = strlen(cases[i].in);
		char *p = test_copy(cases[i].in, len);
		int rc = dkim_taglist_parse(p, len, &tl, &err);

		test_assert_idx(rc == cases[i].rc, i);
		if (rc == 0)
			test_assert_idx(tl.n == cases[i].n, i);
		else
			test_assert_idx(err != NULL, i);
		free(p);
	}
	{
		struct dkim_taglist tl;
		const char *err, *s = " c=d  e\r\n f ; g= ";
		const struct dkim_tag *t;

		test_assert(dkim_taglist_parse(s, strlen(s), &tl, &err) == 0);
		t = dkim_taglist_get(&tl, "c");
		test_assert(t != NULL && t->value_len == 8 &&
		    memcmp(t->value, "d  e\r\n f", 8) == 0);
		t = dkim_taglist_get(&tl, "g");
		test_assert(t != NULL && t->value_len == 0);
		test_assert(dkim_taglist_get(&tl, "C") == NULL);
	}
	test_end();
}

static void
test_dkim_base64(void)
{
	unsigned char out[16];

	test_begin("dkim base64");
	test_assert(dkim_base64_decode("aGk=", 4, out, sizeof(out)) == 2 &&
	    memcmp(out, "hi", 2) == 0);
	test_assert(dkim_base64_decode("aG k\r\n =", 8, out, sizeof(out)) ==
	    2);
	test_assert(dkim_base64_decode("aGk", 3, out, sizeof(out)) == 2);
	test_assert(dkim_base64_decode("aGl=", 4, out, sizeof(out)) == -1);
	test_assert(dkim_base64_decode("a", 1, out, sizeof(out)) == -1);
	test_assert(dkim_base64_decode("aG=k", 4, out, sizeof(out)) == -1);
	test_assert(dkim_base64_decode("a!==", 4, out, sizeof(out)) == -1);
	test_assert(dkim_base64_decode("aGVsbG8=", 8, out, 2) == -1);
	test_end();
}

/* ---------------------------------------------------------- records */

#define TEST_BH "bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=;"
#define TEST_SIG_OK "v=1; a=rsa-sha256; d=Example.COM; s=sel; h=from:to; " \
	TEST_BH " b=AAAA"

static void
test_dkim_sig_records(void)
{
	static const struct {
		const char *in;
		int rc;
	} cases[] = {
		{ TEST_SIG_OK, 0 },
		{ TEST_SIG_OK "; c=relaxed", 0 },
		{ TEST_SIG_OK "; c=simple/relaxed; q=dns/txt", 0 },
		{ TEST_SIG_OK "; i=joe@sub.example.com; l=10", 0 },
		{ TEST_SIG_OK "; t=10; x=20", 0 },
		{ TEST_SIG_OK "; t=20; x=10", -1 },
		{ TEST_SIG_OK "; i=joe@example.net", -1 },
		{ TEST_SIG_OK "; i=joe@badexample.com", -1 },
		{ TEST_SIG_OK "; c=fancy", -1 },
		{ TEST_SIG_OK "; c=relaxed/fancy", -1 },
		{ TEST_SIG_OK "; q=http", -1 },
		{ TEST_SIG_OK "; l=x", -1 },
		{ TEST_SIG_OK "; x=9999999999999", -1 },
		{ "v=2; a=rsa-sha256; d=e.com; s=s; h=from; " TEST_BH " b=AA",
		  -1 },
		{ "v=1; a=rsa-sha1; d=e.com; s=s; h=from; " TEST_BH " b=AA",
		  -1 },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=to; " TEST_BH " b=AA",
		  -1 },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=from::to; " TEST_BH
		  " b=AA", -1 },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=AAAA; b=AA",
		  -1 },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=from; " TEST_BH, -1 },
		{ "v=1; a=rsa-sha256; s=s; h=from; " TEST_BH " b=AA", -1 },
		{ "v=1; a=ed25519-sha256; d=e.com; s=s; h=From : To; " TEST_BH
		  " b=AA==", 0 },
	};

	test_begin("dkim DKIM-Signature");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_sig *sig = malloc(sizeof(*sig));
		const char *err = NULL;
		size_t len = strlen(cases[i].in);
		char *p = test_copy(cases[i].in, len);

		test_assert_idx(dkim_sig_parse(p, len, sig, &err) ==
		    cases[i].rc, i);
		free(p);
		free(sig);
	}
	{
		struct dkim_sig *sig = malloc(sizeof(*sig));
		const char *err, *s = TEST_SIG_OK "; c=relaxed; l=7";

		test_assert(dkim_sig_parse(s, strlen(s), sig, &err) == 0);
		test_assert_streq(sig->domain, "example.com");
		test_assert_streq(sig->auid, "@example.com");
		test_assert(sig->hcanon == DKIM_C_RELAXED &&
		    sig->bcanon == DKIM_C_SIMPLE);
		test_assert(sig->nh == 2 && strcmp(sig->hnames[1], "to") == 0);
		test_assert(sig->has_l && sig->l == 7 && !sig->has_x);
		test_assert(sig->b_len == 3 && sig->bh_len == 32);
		free(sig);
	}
	test_end();
}

static void
test_dkim_strip_b(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "DKIM-Signature: a=1; b=abc; c=2", "DKIM-Signature: a=1; b=; c=2" },
		{ "DKIM-Signature: a=1; b= ab\r\n\tc ", "DKIM-Signature: a=1; b=" },
		{ "DKIM-Signature: bh=x; b=ab", "DKIM-Signature: bh=x; b=" },
	};

	test_begin("dkim b= removal");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fbuf out;

		fbuf_init(&out, 0);
		test_assert_idx(dkim_sig_strip_b(cases[i].in,
		    strlen(cases[i].in), &out) == 0, i);
		test_assert_idx(strcmp(out.data, cases[i].out) == 0, i);
		fbuf_release(&out);
	}
	test_end();
}

#define TEST_ED_PUB "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void
test_dkim_key_records(void)
{
	static const struct {
		const char *in;
		int rc;
		bool revoked, testing, strict;
	} cases[] = {
		{ "v=DKIM1; k=ed25519; p=" TEST_ED_PUB, 0, false, false, false },
		{ "k=ed25519; p=" TEST_ED_PUB "; t=y:s", 0, false, true, true },
		{ "p=", 0, true, false, false },
		{ "v=DKIM1; p=; n=notes here", 0, true, false, false },
		{ "v=DKIM1; h=sha1:sha256; s=email; p=", 0, true, false, false },
		{ "v=DKIM1; s=*; p=", 0, true, false, false },
		{ "k=ed25519; v=DKIM1; p=", -1, false, false, false },
		{ "v=DKIM2; p=", -1, false, false, false },
		{ "v=DKIM1; h=sha1; p=", -1, false, false, false },
		{ "v=DKIM1; k=dsa; p=", -1, false, false, false },
		{ "v=DKIM1; s=tlsrpt; p=", -1, false, false, false },
		{ "v=DKIM1; k=rsa", -1, false, false, false },
		{ "v=DKIM1; p=!!", -1, false, false, false },
	};

	test_begin("dkim key record");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_key *k = malloc(sizeof(*k));
		const char *err = NULL;
		size_t len = strlen(cases[i].in);
		char *p = test_copy(cases[i].in, len);

		test_assert_idx(dkim_key_parse(p, len, k, &err) == cases[i].rc,
		    i);
		if (cases[i].rc == 0) {
			test_assert_idx(k->revoked == cases[i].revoked, i);
			test_assert_idx(k->testing == cases[i].testing, i);
			test_assert_idx(k->strict == cases[i].strict, i);
		}
		free(p);
		free(k);
	}
	test_end();
}

/* ---------------------------------------------------------- canon */

static void
test_dkim_canon_headers(void)
{
	static const struct {
		enum dkim_canon c;
		const char *in, *out;
	} cases[] = {
		{ DKIM_C_RELAXED, "SubJect \t:  Is  dinner\r\n\t ready? \r\n",
		  "subject:Is dinner ready?\r\n" },
		{ DKIM_C_RELAXED, "To:a\r\n", "to:a\r\n" },
		{ DKIM_C_RELAXED, "X:\r\n", "x:\r\n" },
		/* Folds before the value, runs of both kinds of WSP, a
		 * fold at the end, digits and '-' in the name, octets
		 * past ASCII left alone. */
		{ DKIM_C_RELAXED, "X-Tag-9Z:\r\n\t a\t\tb \r\n c \r\n \r\n",
		  "x-tag-9z:a b c\r\n" },
		{ DKIM_C_RELAXED, "\xc3\x89T\xc3\xa9: \xc3\x89t\xc3\xa9\r\n",
		  "\xc3\x89t\xc3\xa9:\xc3\x89t\xc3\xa9\r\n" },
		{ DKIM_C_RELAXED, "NoColonHere\r\n", "NoColonHere\r\n" },
		{ DKIM_C_SIMPLE, "SubJect \t:  x \r\n", "SubJect \t:  x \r\n" },
		{ DKIM_C_SIMPLE, "A: b", "A: b\r\n" },
	};

	test_begin("dkim header canonicalisation");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fbuf out;

		fbuf_init(&out, 0);
		dkim_canon_header(cases[i].c, cases[i].in, strlen(cases[i].in),
		    false, &out);
		test_assert_idx(strcmp(out.data, cases[i].out) == 0, i);
		fbuf_release(&out);
	}
	test_end();
}

static void
test_sha256(const char *s, size_t n, unsigned char out[32])
{
	unsigned len;

	EVP_Digest(s, n, out, &len, EVP_sha256(), NULL);
}

static void
test_dkim_body_one(enum dkim_canon c, const char *in, const char *want,
    uint64_t limit, int idx)
{
	unsigned char h1[32], h2[32], h3[32];
	struct dkim_body b;
	size_t len = strlen(in), wl = strlen(want);
	char *p = test_copy(in, len);

	dkim_body_init(&b, c, limit);
	dkim_body_feed(&b, p, len);
	dkim_body_finish(&b, h1);
	test_assert_idx(b.length == wl, idx);
	dkim_body_init(&b, c, limit);
	for (size_t i = 0; i < len; i++)
		dkim_body_feed(&b, p + i, 1);
	dkim_body_finish(&b, h2);
	test_sha256(want, limit < wl ? limit : wl, h3);
	test_assert_idx(memcmp(h1, h3, 32) == 0, idx);
	test_assert_idx(memcmp(h2, h3, 32) == 0, idx);
	free(p);
}

static void
test_dkim_canon_body(void)
{
	static const struct {
		enum dkim_canon c;
		const char *in, *out;
		uint64_t limit;
	} cases[] = {
		{ DKIM_C_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n",
		  UINT64_MAX },
		{ DKIM_C_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n",
		  UINT64_MAX },
		{ DKIM_C_SIMPLE, "", "\r\n", UINT64_MAX },
		{ DKIM_C_RELAXED, "", "", UINT64_MAX },
		{ DKIM_C_SIMPLE, "\r\n\r\n", "\r\n", UINT64_MAX },
		{ DKIM_C_RELAXED, " \r\n\t\r\n", "", UINT64_MAX },
		{ DKIM_C_RELAXED, "a\r\n  \r\nb", "a\r\n\r\nb\r\n", UINT64_MAX },
		{ DKIM_C_SIMPLE, "x", "x\r\n", UINT64_MAX },
		{ DKIM_C_SIMPLE, "a\rb\r", "a\rb\r\r\n", UINT64_MAX },
		{ DKIM_C_SIMPLE, "abc\r\ndef\r\n", "abc\r\ndef\r\n", 5 },
		{ DKIM_C_RELAXED, "a  b\r\n", "a b\r\n", 0 },
		/* Lone spaces inside a run, then ones that change. */
		{ DKIM_C_RELAXED, "one two three\r\nx y  z\tw \r\n",
		  "one two three\r\nx y z w\r\n", UINT64_MAX },
		{ DKIM_C_RELAXED, "a b \tc d\n e \r\n \r\n",
		  "a b c d\n e\r\n", UINT64_MAX },
		{ DKIM_C_RELAXED, "lone spaces cut by l=\r\n",
		  "lone spaces cut by l=\r\n", 9 },
		{ DKIM_C_SIMPLE, "a  b \t c \r\n", "a  b \t c \r\n",
		  UINT64_MAX },
	};

	test_begin("dkim body canonicalisation");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_dkim_body_one(cases[i].c, cases[i].in, cases[i].out,
		    cases[i].limit, (int)i);
	test_end();
}

/* Two users of one set (as smtpd's DKIM and ARC verifiers) feed the
 * same body in different pieces: a slot is shared by canonicalisation
 * and l=, each slot is hashed once, and every result is the hash of the
 * body on its own. */
static void
test_dkim_bodies(void)
{
	static const char body[] = "Hello  world \r\n\t tabbed\r\n\r\n"
	    "last line\r\n\r\n";
	static const struct {
		enum dkim_canon c;
		uint64_t limit;
	} want[] = {
		{ DKIM_C_RELAXED, UINT64_MAX }, { DKIM_C_SIMPLE, UINT64_MAX },
		{ DKIM_C_RELAXED, 7 }, { DKIM_C_RELAXED, UINT64_MAX },
	};
	size_t len = sizeof(body) - 1, cut[] = { 1, 5, 13, len };
	struct dkim_bodies *bs = dkim_bodies_new();
	int slot[4], late;
	uint64_t at = 0;

	test_begin("dkim body hashes shared by verifiers");
	for (size_t i = 0; i < 4; i++)
		slot[i] = dkim_bodies_want(bs, want[i].c, want[i].limit);
	test_assert(slot[0] == slot[3]);
	test_assert(slot[0] != slot[1] && slot[1] != slot[2] &&
	    slot[0] != slot[2]);
	/* The first user, the whole body at once, every slot. */
	for (size_t i = 0; i < 3; i++)
		dkim_bodies_feed(bs, slot[i], body, len, 0);
	/* A slot wanted now is new: the second user brings it the body
	 * from its first octet, in pieces, while the first user's slots
	 * skip what they have. */
	late = dkim_bodies_want(bs, DKIM_C_SIMPLE, 9);
	for (size_t k = 0; k < sizeof(cut) / sizeof(cut[0]); k++) {
		size_t end = cut[k];

		dkim_bodies_feed(bs, slot[0], body + at, end - at, at);
		dkim_bodies_feed(bs, late, body + at, end - at, at);
		at = end;
	}
	for (size_t i = 0; i < 5; i++) {
		enum dkim_canon c = i < 4 ? want[i].c : DKIM_C_SIMPLE;
		uint64_t limit = i < 4 ? want[i].limit : 9, l1, l2;
		int sl = i < 4 ? slot[i] : late;
		unsigned char h1[32], h2[32];
		struct dkim_body b;

		dkim_body_init(&b, c, limit);
		dkim_body_feed(&b, body, len);
		dkim_body_finish(&b, h1);
		dkim_bodies_result(bs, sl, h2, &l1);
		test_assert_idx(memcmp(h1, h2, 32) == 0 && l1 == b.length,
		    (int)i);
		/* Asked again (the other verifier): the same. */
		dkim_bodies_result(bs, sl, h2, &l2);
		test_assert_idx(memcmp(h1, h2, 32) == 0 && l2 == l1, (int)i);
	}
	dkim_bodies_free(&bs);
	test_assert(bs == NULL);
	/* Freed unfinished: nothing leaks (ASan). */
	bs = dkim_bodies_new();
	dkim_bodies_feed(bs, dkim_bodies_want(bs, DKIM_C_RELAXED, UINT64_MAX),
	    body, len, 0);
	dkim_bodies_free(&bs);
	test_end();
}

/* ---------------------------------------------------------- RFC 8463 */

/* The example of RFC 8463 appendix A: the message, its two signatures
 * (simple/simple) and the published keys, as data. */
#define RFC8463_BODY \
	"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"
#define RFC8463_HEADER \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define RFC8463_SIG_ED \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \r\n" \
	" d=football.example.com; i=@football.example.com; \r\n" \
	" q=dns/txt; s=brisbane; t=1518460054; h=from : to : \r\n" \
	" subject : date : message-id : from : subject : date; \r\n" \
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n" \
	" b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\r\n" \
	" o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\r\n"
#define RFC8463_SIG_RSA \
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \r\n" \
	" d=football.example.com; i=@football.example.com; \r\n" \
	" q=dns/txt; s=test; t=1527915362; h=from : to : subject : \r\n" \
	" date : message-id : from : subject : date; \r\n" \
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n" \
	" b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\r\n" \
	" l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\r\n" \
	" NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\r\n"
#define RFC8463_KEY_ED "v=DKIM1; k=ed25519; p=" TEST_ED_PUB
#define RFC8463_KEY_RSA "v=DKIM1; k=rsa; " \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id" \
	"Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/B" \
	"C/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip" \
	"3G+2kryOTIKT+l/K4w3QIDAQAB"

/* The header section through a parser of the caller's (as smtpd's
 * transaction shares its own): one octet at a time, the body too. */
static void
test_feed_shared(struct dkim_verifier *v, const char *p, size_t len)
{
	struct mime_header_parser *hp;
	size_t i = 0;

	hp = dkim_header_parser_new(dkim_verifier_field, v);
	dkim_verifier_share_header(v);
	for (; i < len && !mime_header_parser_done(hp); i++) {
		test_assert(mime_header_parser_feed(hp, p + i, 1) == 1);
		dkim_verifier_feed(v, p + i, 1);	/* header: ignored */
	}
	if (mime_header_parser_done(hp)) {
		test_assert(!dkim_verifier_ended_header(v));
		dkim_verifier_header_end(v);
		test_assert(dkim_verifier_ended_header(v));
	} else
		mime_header_parser_finish(hp);
	for (; i < len; i++)
		dkim_verifier_feed(v, p + i, 1);
	mime_header_parser_free(&hp);
}

/* Runs the verifier over msg (mode 0: whole, 1: one octet at a time,
 * 2: the header from the caller's parser) with the key records given
 * per signature, in order. */
static struct dkim_verifier *
test_verify(const char *msg, int mode, time_t now,
    const char *const *keys, size_t nkeys)
{
	struct dkim_verifier *v = dkim_verifier_new(now);
	size_t len = strlen(msg);
	char *p = test_copy(msg, len);

	dkim_verifier_set_keycache(v, test_kc);
	if (test_defer)
		dkim_verifier_defer_checks(v);

	if (mode == 2)
		test_feed_shared(v, p, len);
	else if (mode == 1)
		for (size_t i = 0; i < len; i++)
			dkim_verifier_feed(v, p + i, 1);
	else
		dkim_verifier_feed(v, p, len);
	dkim_verifier_end(v);
	for (size_t i = 0; i < dkim_verifier_count(v) && i < nkeys; i++) {
		if (keys[i] == NULL)
			dkim_verifier_key(v, i, DNS_NXDOMAIN, NULL, 0, 0);
		else
			dkim_verifier_key(v, i, DNS_OK, keys[i],
			    strlen(keys[i]), test_ttl);
	}
	if (nkeys > 0)
		test_deferred_checks(v);
	free(p);
	return v;
}

static enum dkim_result
test_result(const struct dkim_verifier *v, size_t i)
{
	const struct dkim_verdict *d = dkim_verifier_verdict(v, i);

	return d != NULL ? d->result : (enum dkim_result)-1;
}

static void
test_dkim_rfc8463(void)
{
	const char *msg = RFC8463_SIG_ED RFC8463_SIG_RSA RFC8463_HEADER "\r\n"
	    RFC8463_BODY;
	const char *keys[] = { RFC8463_KEY_ED, RFC8463_KEY_RSA };
	const char *swapped[] = { RFC8463_KEY_RSA, RFC8463_KEY_ED };
	time_t now = 1527915362 + 60;

	test_begin("dkim RFC 8463 example");
	for (int mode = 0; mode < 3; mode++) {
		struct dkim_verifier *v = test_verify(msg, mode, now, keys,
		    2);
		char name[300];

		test_assert(dkim_verifier_count(v) == 2);
		test_assert(test_result(v, 0) == DKIM_R_PASS);
		test_assert(test_result(v, 1) == DKIM_R_PASS);
		test_assert_streq(dkim_verifier_verdict(v, 0)->selector,
		    "brisbane");
		test_assert(dkim_verifier_keyname(v, 0, name, sizeof(name)) ==
		    -1);
		dkim_verifier_free(&v);
	}
	{
		struct dkim_verifier *v = test_verify(msg, 0, now, NULL, 0);
		char name[300];

		test_assert(dkim_verifier_keyname(v, 0, name, sizeof(name)) ==
		    0);
		test_assert_streq(name,
		    "brisbane._domainkey.football.example.com");
		dkim_verifier_free(&v);
	}
	{
		/* Keys of the other algorithm: permerror, not fail. */
		struct dkim_verifier *v = test_verify(msg, 0, now, swapped,
		    2);

		test_assert(test_result(v, 0) == DKIM_R_PERMERROR);
		test_assert(test_result(v, 1) == DKIM_R_PERMERROR);
		dkim_verifier_free(&v);
	}
	test_end();
}

static char *
test_replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_add(&b, s, (size_t)(at - s));
	fbuf_adds(&b, to);
	fbuf_adds(&b, at + strlen(from));
	return fbuf_steal(&b);
}

static void
test_dkim_rfc8463_tampered(void)
{
	const char *msg = RFC8463_SIG_ED RFC8463_HEADER "\r\n" RFC8463_BODY;
	const char *keys[] = { RFC8463_KEY_ED };
	const char *nokey[] = { NULL };
	const char *revoked[] = { "v=DKIM1; k=ed25519; p=" };
	time_t now = 1518460054;
	static const struct {
		const char *from, *to;
		enum dkim_result r;
	} cases[] = {
		{ "game.", "game!", DKIM_R_FAIL },
		{ "dinner", "lunch", DKIM_R_FAIL },
		/* A blank line more at the end, or a space more in a
		 * header line: simple canonicalisation sees the latter. */
		{ "Joe.\r\n", "Joe.\r\n\r\n", DKIM_R_PASS },
		{ "Subject: Is", "Subject:  Is", DKIM_R_FAIL },
		/* An added Subject: over-signed, so it breaks the
		 * signature. */
		{ "Date: Fri", "Subject: Free money\r\nDate: Fri", DKIM_R_FAIL },
		{ "t=1518460054", "t=1518460054; x=1518460000", DKIM_R_PERMERROR },
		{ "h=from : to : \r\n subject : date : message-id : from",
		  "h=to : \r\n subject : date : message-id", DKIM_R_PERMERROR },
	};

	test_begin("dkim tampered and broken");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = test_replace(msg, cases[i].from, cases[i].to);

		for (int mode = 0; mode < 3; mode += 2) {
			struct dkim_verifier *v = test_verify(m, mode, now,
			    keys, 1);

			test_assert_idx(test_result(v, 0) == cases[i].r, i);
			dkim_verifier_free(&v);
		}
		free(m);
	}
	{
		struct dkim_verifier *v = test_verify(msg, 0, now, nokey, 1);

		test_assert(test_result(v, 0) == DKIM_R_PERMERROR);
		dkim_verifier_free(&v);
		v = test_verify(msg, 0, now, revoked, 1);
		test_assert(test_result(v, 0) == DKIM_R_PERMERROR);
		dkim_verifier_free(&v);
		/* t= an hour ahead of the clock */
		v = test_verify(msg, 0, now - 3600, keys, 1);
		test_assert(test_result(v, 0) == DKIM_R_PERMERROR);
		dkim_verifier_free(&v);
		v = test_verify(msg, 0, now, NULL, 0);
		dkim_verifier_key(v, 0, DNS_TEMPFAIL, NULL, 0, 0);
		test_assert(test_result(v, 0) == DKIM_R_TEMPERROR);
		dkim_verifier_free(&v);
	}
	test_end();
}

/* ---------------------------------------------------------- round trips */

static EVP_PKEY *
test_keygen(int type, int bits)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *k = NULL;

	EVP_PKEY_keygen_init(pc);
	if (type == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_keygen_bits(pc, bits);
	EVP_PKEY_keygen(pc, &k);
	EVP_PKEY_CTX_free(pc);
	return k;
}

/* Signs msg with the signer-side field code and verifies it. */
static enum dkim_result
test_roundtrip(EVP_PKEY *key, const char *msg, const char *tamper_from,
    const char *tamper_to)
{
	struct dkim_verifier *v = dkim_verifier_new(1700000000);
	struct dkim_sign_key sk = { key, "example.org", "sel" };
	struct fbuf sig, rec, full;
	const char *hend = strstr(msg, "\r\n\r\n");
	struct dkim_hfield f[8];
	size_t nf = 0;
	unsigned char bh[32];
	struct dkim_body b;
	enum dkim_result r;
	const char *keys[1];
	char *m;

	/* The header fields of msg (unfolded ones only, enough here). */
	for (const char *p = msg; p < hend + 2 && nf < 8;) {
		const char *eol = strstr(p, "\r\n") + 2;

		f[nf].name = p;
		f[nf].name_len = (size_t)(strchr(p, ':') - p);
		f[nf].raw = p;
		f[nf].raw_len = (size_t)(eol - p);
		nf++;
		p = eol;
	}
	dkim_body_init(&b, DKIM_C_RELAXED, UINT64_MAX);
	dkim_body_feed(&b, hend + 4, strlen(hend + 4));
	dkim_body_finish(&b, bh);
	fbuf_init(&sig, 0);
	fbuf_init(&rec, 0);
	fbuf_init(&full, 0);
	test_assert(dkim_sign_fields(&sk, 1700000000, f, nf, bh, &sig) == 0);
	test_assert(dkim_key_record(key, &rec) == 0);
	fbuf_add(&full, sig.data, sig.len);
	fbuf_adds(&full, msg);
	m = tamper_from != NULL ? test_replace(full.data, tamper_from,
	    tamper_to) : strdup(full.data);
	dkim_verifier_feed(v, m, strlen(m));
	dkim_verifier_end(v);
	keys[0] = rec.data;
	test_assert(dkim_verifier_count(v) == 1);
	dkim_verifier_set_keycache(v, test_kc);
	if (test_defer)
		dkim_verifier_defer_checks(v);
	dkim_verifier_key(v, 0, DNS_OK, keys[0], rec.len, test_ttl);
	test_deferred_checks(v);
	r = test_result(v, 0);
	dkim_verifier_free(&v);
	fbuf_release(&sig);
	fbuf_release(&rec);
	fbuf_release(&full);
	free(m);
	return r;
}

static void
test_dkim_roundtrip(void)
{
	const char *msg = "From: A <a@example.org>\r\nTo: b@example.net\r\n"
	    "Subject: hello   there\r\n\r\nBody line\r\n\r\n";
	EVP_PKEY *rsa = test_keygen(EVP_PKEY_RSA, 2048);
	EVP_PKEY *ed = test_keygen(EVP_PKEY_ED25519, 0);
	EVP_PKEY *tiny = test_keygen(EVP_PKEY_RSA, 512);

	test_begin("dkim sign and verify");
	test_assert(test_roundtrip(rsa, msg, NULL, NULL) == DKIM_R_PASS);
	test_assert(test_roundtrip(ed, msg, NULL, NULL) == DKIM_R_PASS);
	/* relaxed/relaxed: white space changes do not matter... */
	test_assert(test_roundtrip(ed, msg, "hello   there", "hello there") ==
	    DKIM_R_PASS);
	test_assert(test_roundtrip(rsa, msg, "Body line", "Body   line") ==
	    DKIM_R_PASS);
	/* ...content does; and a second To (over-signed) too. */
	test_assert(test_roundtrip(rsa, msg, "Body line", "Body lime") ==
	    DKIM_R_FAIL);
	test_assert(test_roundtrip(ed, msg, "To: b", "To: c") == DKIM_R_FAIL);
	test_assert(test_roundtrip(ed, msg, "Subject:",
	    "To: evil@example.com\r\nSubject:") == DKIM_R_FAIL);
	/* RSA below 1024 bits: never a pass (RFC 8301 3.2). */
	test_assert(test_roundtrip(tiny, msg, NULL, NULL) == DKIM_R_PERMERROR);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(tiny);
	test_end();
}

/* The per-key RSA contexts: each key verifies its own signatures and
 * not the other's, also after the caller freed a key and a new one was
 * made (the table's reference keeps the old address from naming it). */
static void
test_dkim_rsa_ctxs(void)
{
	static const char data[] = "from:a@example.org\r\nsubject:x\r\n";
	unsigned char sig[2][512];
	int len[2];
	EVP_PKEY *k[3];

	test_begin("dkim rsa contexts kept per key");
	for (int i = 0; i < 2; i++) {
		k[i] = test_keygen(EVP_PKEY_RSA, 1024);
		len[i] = dkim_sign_data(k[i], data, sizeof(data) - 1, sig[i],
		    sizeof(sig[i]));
		test_assert_idx(len[i] > 0, i);
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 2; j++)
				test_assert_idx(dkim_verify_data(k[j],
				    DKIM_A_RSA_SHA256, data, sizeof(data) - 1,
				    sig[i], (size_t)len[i]) == (i == j),
				    round * 4 + i * 2 + j);
	EVP_PKEY_free(k[0]);
	k[2] = test_keygen(EVP_PKEY_RSA, 1024);
	test_assert(dkim_verify_data(k[2], DKIM_A_RSA_SHA256, data,
	    sizeof(data) - 1, sig[0], (size_t)len[0]) == 0);
	test_assert(dkim_verify_data(k[1], DKIM_A_RSA_SHA256, data,
	    sizeof(data) - 1, sig[1], (size_t)len[1]) == 1);
	EVP_PKEY_free(k[1]);
	EVP_PKEY_free(k[2]);
	test_end();
}

/* The first verifications with a new key, on several threads at once:
 * the key's IFMA form (where the CPU has it) is made by whichever
 * comes first and kept with the key; every verdict is right and the
 * forms made and not kept are freed (ASan counts). */
struct test_race {
	EVP_PKEY *key;
	const unsigned char *sig;
	size_t len;
	int good, bad;
};

static const char test_race_data[] = "from:a@example.org\r\nsubject:y\r\n";

static void *
test_race_run(void *arg)
{
	struct test_race *r = arg;
	unsigned char bad[512];

	memcpy(bad, r->sig, r->len);
	bad[r->len / 2] ^= 0x10;
	for (int i = 0; i < 20; i++) {
		r->good += dkim_verify_data(r->key, DKIM_A_RSA_SHA256,
		    test_race_data, sizeof(test_race_data) - 1, r->sig, r->len);
		r->bad += dkim_verify_data(r->key, DKIM_A_RSA_SHA256,
		    test_race_data, sizeof(test_race_data) - 1, bad, r->len);
	}
	return NULL;
}

static void
test_dkim_rsa_race(void)
{
	unsigned char sig[512];
	struct test_race r[4];
	pthread_t th[4];

	test_begin("dkim rsa keys first verified on several threads");
	for (int round = 0; round < 4; round++) {
		/* The last round without the IFMA form (OpenSSL's path). */
		EVP_PKEY *key;
		int len;

		if (round == 3)
			setenv("FERRY_RSA_IFMA", "0", 1);
		key = test_keygen(EVP_PKEY_RSA, 2048);
		len = dkim_sign_data(key, test_race_data,
		    sizeof(test_race_data) - 1, sig, sizeof(sig));
		test_assert_idx(len > 0, round);
		for (int i = 0; i < 4; i++) {
			r[i] = (struct test_race){ key, sig, (size_t)len, 0, 0 };
			test_assert_idx(pthread_create(&th[i], NULL,
			    test_race_run, &r[i]) == 0, round);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			test_assert_idx(r[i].good == 20 && r[i].bad == 0,
			    round * 4 + i);
		}
		EVP_PKEY_free(key);
	}
	unsetenv("FERRY_RSA_IFMA");
	test_end();
}

static void
test_dkim_ar(void)
{
	const char *msg = RFC8463_SIG_ED RFC8463_HEADER "\r\n" RFC8463_BODY;
	const char *keys[] = { RFC8463_KEY_ED };
	struct dkim_verifier *v = test_verify(msg, 0, 1518460054, keys, 1);
	struct fbuf out;

	test_begin("dkim Authentication-Results");
	fbuf_init(&out, 0);
	dkim_verifier_ar(v, &out);
	test_assert(strstr(out.data, "dkim=pass header.d=football.example.com"
	    " header.i=@football.example.com") != NULL);
	test_assert(strstr(out.data, "header.a=ed25519-sha256 "
	    "header.b=9/dsDChY") != NULL);
	dkim_verifier_free(&v);
	v = test_verify("From: a@b.c\r\n\r\nx\r\n", 0, 0, NULL, 0);
	fbuf_reset(&out);
	dkim_verifier_ar(v, &out);
	test_assert_streq(out.data, ";\r\n\tdkim=none");
	dkim_verifier_free(&v);
	fbuf_release(&out);
	test_end();
}

int
main(void)
{
	test_dkim_taglist();
	test_dkim_base64();
	test_dkim_sig_records();
	test_dkim_strip_b();
	test_dkim_key_records();
	test_dkim_canon_headers();
	test_dkim_canon_body();
	test_dkim_bodies();
	test_dkim_rfc8463();
	test_dkim_rfc8463_tampered();
	test_dkim_roundtrip();
	test_dkim_rsa_ctxs();
	test_dkim_rsa_race();
	test_dkim_ar();
	test_kc = dkim_keycache_new(4);
	test_ttl = 300;
	for (int round = 0; round < 2; round++) {
		struct dkim_keycache_stats st;

		test_dkim_rfc8463();
		test_dkim_rfc8463_tampered();
		test_dkim_roundtrip();
		test_dkim_ar();
		test_begin("dkim verdicts with the key cache");
		dkim_keycache_stats(test_kc, &st);
		/* The RFC 8463 keys are met again and again; the 512-bit
		 * key of the round trips is never kept. */
		test_assert(st.hits > 0 && st.entries <= 4);
		test_end();
	}
	/* Again, the signature checks deferred (with the cache). */
	test_defer = true;
	test_dkim_rfc8463();
	test_dkim_rfc8463_tampered();
	test_dkim_roundtrip();
	test_dkim_ar();
	dkim_keycache_free(&test_kc);
	return test_exit();
}
