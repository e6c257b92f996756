/* Unit tests for the decoded-key cache (src/msgauth/dkim_keycache.c):
 * a record is served from the cache only for the same name and the
 * same text, for its TTL; a key rotated in DNS is used once the answer
 * carries it; records that do not parse or decode (and revoked ones,
 * and TTL 0) are never kept; the size bound evicts the least recently
 * used; clearing leaves handed-out keys valid; threads share it.  The
 * verifiers' results with a cache are checked in test_dkim.c and
 * test_arc.c (every case run with and without one). */
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
#include "test.h"

#define KC_NAME "sel._domainkey.example.org"

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

/* The DNS record of key (heap string). */
static char *
test_record(EVP_PKEY *key)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	test_assert(dkim_key_record(key, &b) == 0);
	return fbuf_steal(&b);
}

/* pk verifies what signer signed. */
static bool
test_verifies(EVP_PKEY *pk, EVP_PKEY *signer)
{
	static const char data[] = "header data to be signed\r\n";
	unsigned char sig[DKIM_SIG_MAX];
	int n = dkim_sign_data(signer, data, sizeof(data) - 1, sig,
	    sizeof(sig));

	return n > 0 && pk != NULL && dkim_verify_data(pk, dkim_pkey_algo(pk),
	    data, sizeof(data) - 1, sig, (size_t)n) == 1;
}

static int
test_get(struct dkim_keycache *c, const char *name, const char *txt,
    uint32_t ttl, time_t now, struct dkim_keyrec *r)
{
	const char *err = NULL;

	return dkim_keycache_get(c, name, txt, strlen(txt), ttl, now, r, &err);
}

static uint64_t
test_entries(struct dkim_keycache *c, uint64_t *hits, uint64_t *misses)
{
	struct dkim_keycache_stats st;

	dkim_keycache_stats(c, &st);
	if (hits != NULL)
		*hits = st.hits;
	if (misses != NULL)
		*misses = st.misses;
	return st.entries;
}

static void
test_keycache_hit_and_text(EVP_PKEY *a, EVP_PKEY *b)
{
	struct dkim_keycache *c = dkim_keycache_new(8);
	char *ra = test_record(a), *rb = test_record(b);
	struct dkim_keyrec r1, r2, r3, r4;
	uint64_t hits, misses;

	test_begin("dkim keycache: same name and text only");
	test_assert(test_get(c, KC_NAME, ra, 300, 1000, &r1) == 0);
	test_assert(test_get(c, KC_NAME, ra, 300, 1010, &r2) == 0);
	/* The same decoded key, handed out twice. */
	test_assert(r1.pk != NULL && r1.pk == r2.pk);
	test_assert(test_entries(c, &hits, &misses) == 1 && hits == 1 &&
	    misses == 1);
	/* Another text under the same name: decoded, not the cached one. */
	test_assert(test_get(c, KC_NAME, rb, 300, 1020, &r3) == 0);
	test_assert(r3.pk != NULL && r3.pk != r1.pk);
	test_assert(test_verifies(r3.pk, b) && !test_verifies(r3.pk, a));
	test_assert(test_verifies(r1.pk, a) && !test_verifies(r1.pk, b));
	/* The same text under another name is another entry too. */
	test_assert(test_get(c, "other._domainkey.example.org", ra, 300, 1020,
	    &r4) == 0);
	test_assert(r4.pk != NULL && r4.pk != r1.pk);
	test_assert(test_entries(c, &hits, &misses) == 3 && hits == 1 &&
	    misses == 3);
	/* A record differing in one octet (a tag added): a miss. */
	{
		struct fbuf t;
		struct dkim_keyrec r5;

		fbuf_init(&t, 0);
		fbuf_addf(&t, "%s; t=y", ra);
		test_assert(test_get(c, KC_NAME, t.data, 300, 1030, &r5) == 0);
		test_assert(r5.pk != r1.pk && r5.testing && !r1.testing);
		EVP_PKEY_free(r5.pk);
		fbuf_release(&t);
	}
	EVP_PKEY_free(r1.pk);
	EVP_PKEY_free(r2.pk);
	EVP_PKEY_free(r3.pk);
	EVP_PKEY_free(r4.pk);
	dkim_keycache_free(&c);
	test_assert(c == NULL);
	free(ra);
	free(rb);
	test_end();
}

/* A key rotated in DNS: the resolver hands the old record until its TTL
 * runs out, then the new one, which is used at once; the old entry
 * expires with its TTL. */
static void
test_keycache_rotation(EVP_PKEY *old, EVP_PKEY *new)
{
	struct dkim_keycache *c = dkim_keycache_new(8);
	char *ro = test_record(old), *rn = test_record(new);
	struct dkim_keyrec r;
	uint64_t misses;

	test_begin("dkim keycache: rotated key used after the TTL");
	test_assert(test_get(c, KC_NAME, ro, 60, 1000, &r) == 0);
	EVP_PKEY_free(r.pk);
	/* Within the TTL the resolver still answers the old record. */
	test_assert(test_get(c, KC_NAME, ro, 30, 1030, &r) == 0);
	test_assert(test_verifies(r.pk, old) && !test_verifies(r.pk, new));
	EVP_PKEY_free(r.pk);
	/* After it, the new record: the new key, never the old one. */
	test_assert(test_get(c, KC_NAME, rn, 60, 1061, &r) == 0);
	test_assert(test_verifies(r.pk, new) && !test_verifies(r.pk, old));
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, NULL, &misses) == 2 && misses == 2);
	/* The old entry is past its TTL: asked again, it is decoded again
	 * (and dropped from the cache when met). */
	test_assert(test_get(c, KC_NAME, ro, 60, 1061, &r) == 0);
	test_assert(test_entries(c, NULL, &misses) == 2 && misses == 3);
	EVP_PKEY_free(r.pk);
	/* A TTL over DKIM_KEYCACHE_TTL_MAX is cut to it. */
	test_assert(test_get(c, KC_NAME, rn, 10 * DKIM_KEYCACHE_TTL_MAX,
	    2000, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_get(c, KC_NAME, rn, 60,
	    1061 + DKIM_KEYCACHE_TTL_MAX, &r) == 0);
	test_assert(test_entries(c, NULL, &misses) == 2 && misses == 4);
	EVP_PKEY_free(r.pk);
	dkim_keycache_free(&c);
	free(ro);
	free(rn);
	test_end();
}

/* Records that do not give a usable key are never kept: each get
 * parses again and says the same thing, and a good record afterwards
 * under the same name is used. */
static void
test_keycache_bad(EVP_PKEY *good, EVP_PKEY *tiny)
{
	struct dkim_keycache *c = dkim_keycache_new(8);
	char *rg = test_record(good), *rt = test_record(tiny);
	static const char *const unparsable[] = {
		"v=DKIM1; k=rsa; p=!!!",
		"v=DKIM2; p=AAAA",
		"k=dsa; p=AAAA",
		"v=DKIM1; k=rsa",
		"",
	};
	static const char *const undecodable[] = {
		"v=DKIM1; k=rsa; p=AAAAAAAA",
		"v=DKIM1; k=ed25519; p=AAAA",
	};
	struct dkim_keyrec r;
	const char *err, *err2;

	test_begin("dkim keycache: bad keys are not cached");
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(unparsable) /
		    sizeof(unparsable[0]); i++) {
			err = err2 = NULL;
			test_assert_idx(dkim_keycache_get(c, KC_NAME,
			    unparsable[i], strlen(unparsable[i]), 300, 1000,
			    &r, &err) == -1 && err != NULL, i);
			test_assert_idx(dkim_keycache_get(NULL, KC_NAME,
			    unparsable[i], strlen(unparsable[i]), 300, 1000,
			    &r, &err2) == -1 && err2 != NULL &&
			    strcmp(err, err2) == 0, i);
		}
		for (size_t i = 0; i < sizeof(undecodable) /
		    sizeof(undecodable[0]); i++) {
			test_assert_idx(test_get(c, KC_NAME, undecodable[i],
			    300, 1000, &r) == 0 && r.pk == NULL &&
			    r.pk_error != NULL, i);
		}
		/* RSA below 1024 bits decodes, but is refused. */
		test_assert(test_get(c, KC_NAME, rt, 300, 1000, &r) == 0 &&
		    r.pk == NULL && strcmp(r.pk_error,
		    "rsa key too small") == 0);
		test_assert(test_get(c, KC_NAME, "v=DKIM1; k=rsa; p=", 300,
		    1000, &r) == 0 && r.revoked && r.pk == NULL);
		test_assert(test_entries(c, NULL, NULL) == 0);
	}
	/* TTL 0: used, not kept. */
	test_assert(test_get(c, KC_NAME, rg, 0, 1000, &r) == 0 &&
	    test_verifies(r.pk, good));
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, NULL, NULL) == 0);
	test_assert(test_get(c, KC_NAME, rg, 300, 1000, &r) == 0 &&
	    test_verifies(r.pk, good));
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, NULL, NULL) == 1);
	dkim_keycache_free(&c);
	free(rg);
	free(rt);
	test_end();
}

static void
test_keycache_bound(EVP_PKEY *a, EVP_PKEY *b)
{
	struct dkim_keycache *c = dkim_keycache_new(2);
	char *ra = test_record(a), *rb = test_record(b);
	struct dkim_keyrec r, kept;
	uint64_t hits, misses;

	test_begin("dkim keycache: bounded, least recently used goes");
	test_assert(test_get(c, "a._domainkey.x", ra, 300, 1000, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_get(c, "b._domainkey.x", rb, 300, 1000, &kept) == 0);
	/* a used again: b is now the least recently used. */
	test_assert(test_get(c, "a._domainkey.x", ra, 300, 1001, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_get(c, "c._domainkey.x", rb, 300, 1002, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, &hits, &misses) == 2 && hits == 1 &&
	    misses == 3);
	test_assert(test_get(c, "a._domainkey.x", ra, 300, 1003, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, &hits, NULL) == 2 && hits == 2);
	test_assert(test_get(c, "b._domainkey.x", rb, 300, 1004, &r) == 0);
	EVP_PKEY_free(r.pk);
	test_assert(test_entries(c, NULL, &misses) == 2 && misses == 4);
	/* Cleared (a reload): empty, and a key handed out before is still
	 * the caller's to use and free. */
	dkim_keycache_clear(c);
	test_assert(test_entries(c, NULL, NULL) == 0);
	test_assert(test_verifies(kept.pk, b));
	EVP_PKEY_free(kept.pk);
	dkim_keycache_free(&c);
	dkim_keycache_free(&c);		/* NULL: nothing */
	free(ra);
	free(rb);
	test_end();
}

struct test_thread {
	struct dkim_keycache *c;
	const char *rec[2];
	EVP_PKEY *key[2];
	int bad;
};

static void *
test_keycache_thread(void *arg)
{
	struct test_thread *t = arg;

	for (int i = 0; i < 200; i++) {
		struct dkim_keyrec r;
		int k = i % 2;
		char name[64];

		snprintf(name, sizeof(name), "s%d._domainkey.example.org",
		    i % 5);
		if (test_get(t->c, name, t->rec[k], 300, 1000, &r) < 0 ||
		    r.pk == NULL || (i % 50 == 0 &&
		    !test_verifies(r.pk, t->key[k])))
			t->bad++;
		EVP_PKEY_free(r.pk);
	}
	return NULL;
}

static void
test_keycache_threads(EVP_PKEY *a, EVP_PKEY *b)
{
	struct dkim_keycache *c = dkim_keycache_new(3);
	char *ra = test_record(a), *rb = test_record(b);
	struct test_thread t[4];
	pthread_t th[4];

	test_begin("dkim keycache: shared by threads");
	for (int i = 0; i < 4; i++) {
		t[i] = (struct test_thread){ c, { ra, rb }, { a, b }, 0 };
		pthread_create(&th[i], NULL, test_keycache_thread, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		test_assert_idx(t[i].bad == 0, i);
	}
	test_assert(test_entries(c, NULL, NULL) <= 3);
	dkim_keycache_free(&c);
	free(ra);
	free(rb);
	test_end();
}

int
main(void)
{
	EVP_PKEY *a = test_keygen(EVP_PKEY_RSA, 2048);
	EVP_PKEY *b = test_keygen(EVP_PKEY_RSA, 2048);
	EVP_PKEY *ed = test_keygen(EVP_PKEY_ED25519, 0);
	EVP_PKEY *tiny = test_keygen(EVP_PKEY_RSA, 512);

	test_keycache_hit_and_text(a, ed);
	test_keycache_rotation(a, b);
	test_keycache_bad(b, tiny);
	test_keycache_bound(a, ed);
	test_keycache_threads(a, ed);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(tiny);
	return test_exit();
}
