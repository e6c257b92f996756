/* The RSA public operation with AVX-512 IFMA (src/msgauth/rsa_ifma.c)
 * against OpenSSL: modular exponentiation with BN_mod_exp for moduli of
 * every size class and awkward values, and PKCS#1 v1.5 verification
 * against EVP_PKEY_verify with real keys.  On a CPU without IFMA only
 * the refusals are tested. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "msgauth/rsa_ifma.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15;

static unsigned char
rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned char)(rng >> 24);
}

/* A modulus of bits bits (odd, top bit set) into n, its octets back:
 * kind 0 random, 1 every bit set, 2 the top bit and 1 only. */
static size_t
make_modulus(unsigned char *n, int bits, int kind)
{
	size_t len = (size_t)(bits + 7) / 8;
	int top = (bits - 1) % 8;

	for (size_t i = 0; i < len; i++)
		n[i] = kind == 1 ? 0xff : kind == 2 ? 0 : rnd8();
	n[0] &= (unsigned char)((2 << top) - 1);
	n[0] |= (unsigned char)(1 << top);
	n[len - 1] |= 1;
	return len;
}

/* r = n - d (d small, n above it), len octets. */
static void
minus(unsigned char *r, const unsigned char *n, size_t len, int d)
{
	int borrow = d;

	memcpy(r, n, len);
	for (size_t i = len; i-- > 0 && borrow != 0;) {
		int v = r[i] - borrow;

		borrow = v < 0 ? 1 : 0;
		r[i] = (unsigned char)(v + (v < 0 ? 256 : 0));
	}
}

/* rsa_ifma_public against BN_mod_exp for base in (len octets). */
static int
same_as_openssl(const struct rsa_ifma *c, const unsigned char *n,
    size_t len, const unsigned char *in, uint64_t e)
{
	unsigned char got[600], want[600];
	BIGNUM *bn = BN_bin2bn(n, (int)len, NULL), *bs = BN_bin2bn(in,
	    (int)len, NULL), *be = BN_new(), *br = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	int ok;

	ok = BN_set_word(be, e) == 1 && BN_mod_exp(br, bs, be, bn, ctx) == 1 &&
	    BN_bn2binpad(br, want, (int)len) == (int)len &&
	    rsa_ifma_public(c, in, len, got) == 0 && memcmp(got, want, len) == 0;
	BN_free(bn);
	BN_free(bs);
	BN_free(be);
	BN_free(br);
	BN_CTX_free(ctx);
	return ok;
}

static void
test_powers(void)
{
	static const int sizes[] = { 512, 513, 1023, 1024, 1030, 1500,
		2046, 2047, 2048, 2049, 2078, 2079, 3072, 4094, 4096, 4158 };
	static const uint64_t exps[] = { 65537, 3, 1, 2, UINT64_MAX,
		0x8000000000000001 };
	unsigned char n[600], in[600];

	test_begin("rsa_ifma: x^e mod n as BN_mod_exp, every size class");
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (int kind = 0; kind < 3; kind++) {
			size_t len = make_modulus(n, sizes[si], kind);

			for (size_t ei = 0; ei < sizeof(exps) / sizeof(exps[0]);
			    ei++) {
				struct rsa_ifma *c = rsa_ifma_new_raw(n, len,
				    exps[ei]);

				test_assert_idx(c != NULL, sizes[si]);
				if (c == NULL)
					continue;
				test_assert_idx(rsa_ifma_size(c) == len,
				    sizes[si]);
				for (int j = 0; j < 8; j++) {
					/* 0, 1, n - 1, n - 2, then random
					 * values below n. */
					memset(in, 0, len);
					if (j == 1)
						in[len - 1] = 1;
					else if (j >= 2 && j <= 3)
						minus(in, n, len, j - 1);
					else if (j > 3) {
						for (size_t q = 0; q < len; q++)
							in[q] = rnd8();
						in[0] &= (unsigned char)
						    (n[0] >> 1);
					}
					test_assert_idx(same_as_openssl(c, n,
					    len, in, exps[ei]),
					    sizes[si] * 100 + kind * 10 + j);
				}
				rsa_ifma_free(c);
			}
		}
	}
	test_end();
}

static void
test_refusals(void)
{
	unsigned char n[600], in[600], out[600];
	struct rsa_ifma *c;
	size_t len;

	test_begin("rsa_ifma: what it refuses");
	len = make_modulus(n, 4159, 0);
	test_assert(rsa_ifma_new_raw(n, len, 65537) == NULL);
	len = make_modulus(n, 511, 0);
	test_assert(rsa_ifma_new_raw(n, len, 65537) == NULL);
	len = make_modulus(n, 2048, 0);
	test_assert(rsa_ifma_new_raw(n, len, 0) == NULL);
	n[len - 1] &= 0xfe;
	test_assert(rsa_ifma_new_raw(n, len, 65537) == NULL);
	n[len - 1] |= 1;
	test_assert(rsa_ifma_new_raw(n, 0, 65537) == NULL);
	/* Leading zero octets are not part of the modulus's length. */
	memmove(n + 2, n, len);
	n[0] = n[1] = 0;
	c = rsa_ifma_new_raw(n, len + 2, 65537);
	test_assert(c != NULL && rsa_ifma_size(c) == len);
	if (c != NULL) {
		/* The input must be k octets and below n. */
		memcpy(in, n + 2, len);
		test_assert(rsa_ifma_public(c, in, len, out) == -1);
		in[len - 1] ^= 2;	/* n + 2 or n - 2 */
		test_assert(rsa_ifma_public(c, in, len, out) ==
		    (memcmp(in, n + 2, len) > 0 ? -1 : 0));
		memset(in, 0xff, len);
		test_assert(rsa_ifma_public(c, in, len, out) == -1);
		memset(in, 0, len);
		test_assert(rsa_ifma_public(c, in, len - 1, out) == -1);
		test_assert(rsa_ifma_public(c, in, len + 1, out) == -1);
		test_assert(rsa_ifma_public(c, in, len, out) == 0);
		rsa_ifma_free(c);
	}
	/* Turned off by the environment. */
	setenv("FERRY_RSA_IFMA", "0", 1);
	test_assert(!rsa_ifma_usable());
	test_assert(rsa_ifma_new_raw(n + 2, len, 65537) == NULL);
	unsetenv("FERRY_RSA_IFMA");
	test_end();
}

static EVP_PKEY *
rsa_key(unsigned bits, unsigned e)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *be = BN_new();

	if (pc != NULL && be != NULL && BN_set_word(be, e) == 1 &&
	    EVP_PKEY_keygen_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(pc, (int)bits) == 1 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, be) == 1)
		(void)EVP_PKEY_keygen(pc, &key);
	EVP_PKEY_CTX_free(pc);
	BN_free(be);
	return key;
}

/* EVP_PKEY_verify's verdict: PKCS#1 v1.5, SHA-256. */
static int
openssl_verify(EVP_PKEY *key, const unsigned char *sig, size_t len,
    const unsigned char *hash)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
	int ok = pc != NULL && EVP_PKEY_verify_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(pc, sig, len, hash, 32) == 1;

	EVP_PKEY_CTX_free(pc);
	return ok;
}

static void
test_verify(void)
{
	static const struct {
		unsigned bits, e;
	} keys[] = { { 1024, 65537 }, { 2048, 65537 }, { 2048, 3 },
		{ 3072, 65537 } };
	unsigned char hash[32], sig[600], bad[600];

	test_begin("rsa_ifma: PKCS#1 v1.5 SHA-256 verdicts as OpenSSL's");
	for (size_t ki = 0; ki < sizeof(keys) / sizeof(keys[0]); ki++) {
		EVP_PKEY *key = rsa_key(keys[ki].bits, keys[ki].e);
		EVP_PKEY_CTX *pc = key != NULL ? EVP_PKEY_CTX_new(key, NULL) :
		    NULL;
		struct rsa_ifma *c = key != NULL ? rsa_ifma_new(key) : NULL;
		size_t len = sizeof(sig);

		test_assert_idx(c != NULL, keys[ki].bits);
		for (size_t i = 0; i < sizeof(hash); i++)
			hash[i] = rnd8();
		test_assert_idx(pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pc, sig, &len, hash, 32) == 1, keys[ki].bits);
		EVP_PKEY_CTX_free(pc);
		if (c == NULL) {
			EVP_PKEY_free(key);
			continue;
		}
		test_assert_idx(len == rsa_ifma_size(c), keys[ki].bits);
		test_assert_idx(openssl_verify(key, sig, len, hash) == 1 &&
		    rsa_ifma_verify_sha256(c, sig, len, hash) == 1,
		    keys[ki].bits);
		/* Every octet of the signature changed in turn, and the
		 * hash: both refuse. */
		for (size_t i = 0; i < len; i += 7) {
			memcpy(bad, sig, len);
			bad[i] ^= (unsigned char)(1 + rnd8() % 255);
			test_assert_idx(rsa_ifma_verify_sha256(c, bad, len,
			    hash) == openssl_verify(key, bad, len, hash),
			    (int)i);
			test_assert_idx(rsa_ifma_verify_sha256(c, bad, len,
			    hash) == 0, (int)i);
		}
		hash[5] ^= 1;
		test_assert_idx(rsa_ifma_verify_sha256(c, sig, len, hash) == 0,
		    keys[ki].bits);
		hash[5] ^= 1;
		/* A signature one octet short, with a leading zero added. */
		test_assert(rsa_ifma_verify_sha256(c, sig + 1, len - 1,
		    hash) == 0);
		bad[0] = 0;
		memcpy(bad + 1, sig, len);
		test_assert(rsa_ifma_verify_sha256(c, bad, len + 1, hash) == 0);
		rsa_ifma_free(c);
		EVP_PKEY_free(key);
	}
	/* Not an RSA key. */
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		test_assert(ed != NULL && rsa_ifma_new(ed) == NULL);
		EVP_PKEY_free(ed);
	}
	test_end();
}

int
main(void)
{
	if (!rsa_ifma_usable()) {
		unsigned char n[300];
		size_t len = make_modulus(n, 2048, 0);

		test_begin("rsa_ifma: no IFMA on this CPU, nothing made");
		test_assert(rsa_ifma_new_raw(n, len, 65537) == NULL);
		test_end();
		fprintf(stderr, "test_rsa_ifma: this CPU lacks AVX-512 "
		    "IFMA: only the refusal tested\n");
		return test_exit();
	}
	test_powers();
	test_refusals();
	test_verify();
	return test_exit();
}
