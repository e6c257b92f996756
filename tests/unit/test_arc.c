/* Unit tests for ARC (src/msgauth/arc.c): the ARC-Seal and AAR parsers
 * and the AMS parse (table cases), and seal/verify round trips with a
 * fresh RSA key: a new chain, a chain extended to three sets (fed whole
 * and trickled one octet at a time), tampered bodies, headers and seals,
 * wrong keys, missing keys, the 50-set limit and ed25519 keys refused
 * for sealing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "lib/fbuf.h"
#include "msgauth/arc.h"
#include "msgauth/dkim.h"
#include "msgauth/dkim_keycache.h"
#include "msgauth/dkim_keys.h"
#include "mime/mime.h"
#include "test.h"

#define NOW 1700000000

static void
test_arc_seal_parse(void)
{
	static const struct {
		const char *v;
		int rc;
		unsigned i;
		enum arc_cv cv;
	} cases[] = {
		{ " i=1; a=rsa-sha256; t=1; cv=none; d=Example.ORG; s=s1; "
		  "b=AAAA", 0, 1, ARC_CV_NONE },
		{ "i=50;a=rsa-sha256;cv=PASS;d=x.example;s=s;b=AA AA", 0, 50,
		  ARC_CV_PASS },
		{ "i = 2 ; a = ed25519-sha256 ; cv = fail ; d = x ; s = y ; "
		  "b = AAAA ;", 0, 2, ARC_CV_FAIL },
		{ "a=rsa-sha256; cv=none; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=0; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1025; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1; a=rsa-sha256; cv=maybe; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1; a=rsa-sha256; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1; a=rsa-sha1; cv=none; d=x; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA; h=from", -1,
		  0, 0 },
		{ "i=1; a=rsa-sha256; cv=none; d=x; s=y; b=!!", -1, 0, 0 },
		{ "i=1; a=rsa-sha256; cv=none; d=; s=y; b=AAAA", -1, 0, 0 },
		{ "i=1; i=2; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA", -1, 0,
		  0 },
		{ "", -1, 0, 0 },
	};
	struct arc_seal as;
	const char *err;

	test_begin("arc seal parse");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc = arc_seal_parse(cases[k].v, strlen(cases[k].v), &as,
		    &err);

		test_assert_idx(rc == cases[k].rc, k);
		if (rc == 0) {
			test_assert_idx(as.instance == cases[k].i, k);
			test_assert_idx(as.cv == cases[k].cv, k);
			test_assert_idx(as.b_len == 3, k);
		}
	}
	test_assert(arc_seal_parse(cases[0].v, strlen(cases[0].v), &as,
	    &err) == 0 && strcmp(as.domain, "example.org") == 0);
	test_end();
}

static void
test_arc_aar_instance(void)
{
	static const struct {
		const char *v;
		int rc;
		unsigned i;
	} cases[] = {
		{ " i=1; mx.example; spf=pass", 0, 1 },
		{ "i = 12 ;x", 0, 12 },
		{ "(comment) i=3 (more (nested)); x", 0, 3 },
		{ "I=4;", 0, 4 },
		{ "i=1", -1, 0 }, { "i=;", -1, 0 }, { "i=0;", -1, 0 },
		{ "i=99999;", -1, 0 }, { "x=1;", -1, 0 }, { "mx; i=1;", -1, 0 },
		{ "(unclosed i=1;", -1, 0 }, { "", -1, 0 },
	};
	unsigned i;

	test_begin("arc aar instance");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc = arc_aar_instance(cases[k].v, strlen(cases[k].v), &i);

		test_assert_idx(rc == cases[k].rc, k);
		test_assert_idx(rc < 0 || i == cases[k].i, k);
	}
	test_end();
}

static void
test_arc_ams_parse(void)
{
	struct dkim_sig sig;
	const char *err;
	const char *ok = "i=2; a=rsa-sha256; c=relaxed/relaxed; d=x.example;"
	    " s=s; h=from:to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
	    " b=AAAA";

	test_begin("arc ams parse");
	test_assert(dkim_sig_parse_ams(ok, strlen(ok), &sig, &err) == 0);
	test_assert(sig.instance == 2);
	test_assert(strcmp(sig.auid, "@x.example") == 0);
	test_assert(sig.hcanon == DKIM_C_RELAXED && sig.nh == 2);
	/* As a DKIM-Signature it is not valid (no v=, i= not an AUID). */
	test_assert(dkim_sig_parse(ok, strlen(ok), &sig, &err) == -1);
	test_assert(dkim_sig_parse_ams(ok + 5, strlen(ok + 5), &sig, &err) ==
	    -1);
	test_end();
}

/* ---------------------------------------------------------- round trips */

/* main() runs the round trips without a key cache, then twice with one:
 * the results must not change. */
static struct dkim_keycache *test_arc_kc;

static EVP_PKEY *
test_arc_keygen(int type)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *k = NULL;

	EVP_PKEY_keygen_init(pc);
	if (type == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_keygen_bits(pc, 2048);
	EVP_PKEY_keygen(pc, &k);
	EVP_PKEY_CTX_free(pc);
	return k;
}

static const char test_arc_msg[] =
	"From: Sender <s@origin.example>\r\n"
	"To: list@example.org\r\n"
	"Subject: an ARC round trip\r\n"
	"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
	"Message-ID: <arc@origin.example>\r\n"
	"\r\n"
	"Body line one.\r\n"
	"Body  line two. \r\n";

/* The header section through a parser of the caller's (as smtpd's
 * transaction shares its own), then the body, one octet at a time. */
static void
test_arc_feed_shared(struct arc_verifier *v, const char *msg, size_t n)
{
	struct mime_header_parser *hp;
	size_t i = 0;

	hp = dkim_header_parser_new(arc_verifier_field, v);
	arc_verifier_share_header(v);
	for (; i < n && !mime_header_parser_done(hp); i++) {
		(void)mime_header_parser_feed(hp, msg + i, 1);
		arc_verifier_feed(v, msg + i, 1);	/* header: ignored */
	}
	test_assert(!arc_verifier_ended_header(v));
	arc_verifier_header_end(v, false);
	test_assert(arc_verifier_ended_header(v));
	for (; i < n; i++)
		arc_verifier_feed(v, msg + i, 1);
	mime_header_parser_free(&hp);
}

/* Feeds msg (mode 0: whole, 1: one octet at a time, 2: the header from
 * the caller's parser) and looks the keys up in recs (every name gets
 * rec; NULL: no key). */
static struct arc_verifier *
test_arc_verify(const char *msg, bool seal, int mode, const char *rec)
{
	struct arc_verifier *v = arc_verifier_new(NOW, seal);
	size_t n = strlen(msg);

	arc_verifier_set_keycache(v, test_arc_kc);

	if (mode == 2)
		test_arc_feed_shared(v, msg, n);
	else if (mode == 1)
		for (size_t i = 0; i < n; i++)
			arc_verifier_feed(v, msg + i, 1);
	else
		arc_verifier_feed(v, msg, n);
	arc_verifier_end(v);
	for (size_t i = 0; i < arc_verifier_nkeys(v); i++)
		arc_verifier_key(v, i, rec != NULL ? DNS_OK : DNS_NXDOMAIN,
		    rec, rec != NULL ? strlen(rec) : 0, 300);
	arc_verifier_decide(v);
	return v;
}

/* Seals msg (verified first) with key: the sealed message (free()), or
 * NULL when arc_seal_message refused. */
static char *
test_arc_seal(const char *msg, EVP_PKEY *key, const char *rec,
    const char **error_r)
{
	struct arc_verifier *v = test_arc_verify(msg, true, 0, rec);
	struct dkim_sign_key k = { key, "example.org", "sel" };
	static const char ar[] = " mx.example.org;\r\n\tspf=pass "
	    "smtp.mailfrom=origin.example;\r\n\tdkim=none\r\n";
	struct fbuf out;
	char *m = NULL;

	fbuf_init(&out, 0);
	if (arc_seal_message(v, &k, ar, strlen(ar), NOW, &out, error_r) ==
	    0) {
		fbuf_adds(&out, msg);
		m = strdup(out.data);
	}
	fbuf_release(&out);
	arc_verifier_free(&v);
	return m;
}

static void
test_arc_roundtrip(void)
{
	EVP_PKEY *key = test_arc_keygen(EVP_PKEY_RSA);
	EVP_PKEY *other = test_arc_keygen(EVP_PKEY_RSA);
	struct fbuf rec, rec2;
	struct arc_verifier *v;
	char *one, *two, *three, *bad;
	const char *err = NULL;
	const struct arc_result *r;

	test_begin("arc seal and verify");
	fbuf_init(&rec, 0);
	fbuf_init(&rec2, 0);
	test_assert(dkim_key_record(key, &rec) == 0);
	test_assert(dkim_key_record(other, &rec2) == 0);
	v = test_arc_verify(test_arc_msg, false, 0, rec.data);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_NONE);
	test_assert(arc_verifier_count(v) == 0);
	arc_verifier_free(&v);

	one = test_arc_seal(test_arc_msg, key, rec.data, &err);
	test_assert(one != NULL && strncmp(one, "ARC-Seal: i=1;", 14) == 0);
	test_assert(one != NULL && strstr(one, "cv=none") != NULL);
	two = one != NULL ? test_arc_seal(one, key, rec.data, &err) : NULL;
	three = two != NULL ? test_arc_seal(two, key, rec.data, &err) : NULL;
	test_assert(three != NULL && strstr(three, "ARC-Seal: i=3;") != NULL);
	for (int mode = 0; three != NULL && mode < 3; mode++) {
		v = test_arc_verify(three, false, mode, rec.data);
		r = arc_verifier_result(v);
		test_assert(r->cv == ARC_CV_PASS && r->n == 3);
		test_assert(r->oldest_pass == 1);
		test_assert(strcmp(r->sealer, "example.org") == 0);
		arc_verifier_free(&v);
	}
	/* The wrong key, no key. */
	v = test_arc_verify(three, false, 0, rec2.data);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_FAIL);
	arc_verifier_free(&v);
	v = test_arc_verify(three, false, 0, NULL);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_FAIL);
	arc_verifier_free(&v);
	/* A body changed after the last seal. */
	bad = strdup(three);
	memcpy(strstr(bad, "line two"), "line 2!!", 8);
	v = test_arc_verify(bad, false, 2, rec.data);
	r = arc_verifier_result(v);
	test_assert(r->cv == ARC_CV_FAIL);
	test_assert(strcmp(r->reason,
	    "ARC-Message-Signature body hash did not verify") == 0);
	/* ... and a failed chain is not sealed again. */
	arc_verifier_free(&v);
	test_assert(test_arc_seal(bad, key, rec.data, &err) == NULL);
	test_assert(strcmp(err, "the ARC chain failed") == 0);
	free(bad);
	/* A signed header changed. */
	bad = strdup(three);
	memcpy(strstr(bad, "an ARC round"), "an ARC ROUND", 12);
	v = test_arc_verify(bad, false, 0, rec.data);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_FAIL);
	arc_verifier_free(&v);
	free(bad);
	/* An older AAR changed: the seals over it break. */
	bad = strdup(three);
	memcpy(strstr(bad, "i=1; mx.example.org;\r\n\tspf=pass") + 27,
	    "fail", 4);
	v = test_arc_verify(bad, false, 0, rec.data);
	r = arc_verifier_result(v);
	test_assert(r->cv == ARC_CV_FAIL);
	test_assert(strcmp(r->reason, "ARC-Seal did not verify") == 0);
	arc_verifier_free(&v);
	free(bad);
	free(one);
	free(two);
	free(three);
	fbuf_release(&rec);
	fbuf_release(&rec2);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	test_end();
}

static void
test_arc_limits(void)
{
	EVP_PKEY *key = test_arc_keygen(EVP_PKEY_RSA);
	EVP_PKEY *ed = test_arc_keygen(EVP_PKEY_ED25519);
	struct fbuf rec, msg;
	char *m, *next;
	const char *err = NULL;
	struct arc_verifier *v;
	int i;

	test_begin("arc limits");
	fbuf_init(&rec, 0);
	test_assert(dkim_key_record(key, &rec) == 0);
	/* Ed25519 keys do not seal. */
	test_assert(test_arc_seal(test_arc_msg, ed, rec.data, &err) == NULL);
	test_assert(strcmp(err, "ARC seals with RSA keys only") == 0);
	/* 50 sets: verified, not extended. */
	m = strdup(test_arc_msg);
	for (i = 0; i < 50 && m != NULL; i++) {
		next = test_arc_seal(m, key, rec.data, &err);
		free(m);
		m = next;
	}
	test_assert(m != NULL);
	v = test_arc_verify(m, false, 0, rec.data);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_PASS);
	test_assert(arc_verifier_result(v)->n == 50);
	/* Only ARC_AMS_HASHED AMS are looked at for oldest-pass. */
	test_assert(arc_verifier_result(v)->oldest_pass ==
	    50 - ARC_AMS_HASHED + 1);
	arc_verifier_free(&v);
	test_assert(test_arc_seal(m, key, rec.data, &err) == NULL);
	test_assert(strcmp(err, "the chain has 50 ARC sets") == 0);
	/* A 51st set (copied from the first, renumbered) fails. */
	fbuf_init(&msg, 0);
	fbuf_adds(&msg, "ARC-Seal: i=51; a=rsa-sha256; cv=pass; d=x; s=y; "
	    "b=AAAA\r\n");
	fbuf_adds(&msg, m);
	v = test_arc_verify(msg.data, false, 0, rec.data);
	test_assert(arc_verifier_result(v)->cv == ARC_CV_FAIL);
	test_assert(strcmp(arc_verifier_result(v)->reason,
	    "more than 50 ARC sets") == 0);
	arc_verifier_free(&v);
	fbuf_release(&msg);
	free(m);
	fbuf_release(&rec);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ed);
	test_end();
}

int
main(void)
{
	test_arc_seal_parse();
	test_arc_aar_instance();
	test_arc_ams_parse();
	test_arc_roundtrip();
	test_arc_limits();
	test_arc_kc = dkim_keycache_new(4);
	for (int round = 0; round < 2; round++) {
		struct dkim_keycache_stats st;

		test_arc_roundtrip();
		test_arc_limits();
		test_begin("arc results with the key cache");
		dkim_keycache_stats(test_arc_kc, &st);
		test_assert(st.hits > 0 && st.entries <= 4);
		test_end();
	}
	dkim_keycache_free(&test_arc_kc);
	return test_exit();
}
