/* RSA public-key operation with AVX-512 IFMA (see rsa_ifma.h).
 *
 * Numbers are little-endian arrays of 52-bit limbs in 64-bit words, a
 * multiple of eight words long (one 512-bit register per eight), the
 * words above the number zero.  A modulus n of L limbs has R = 2^(52 L)
 * with 4n < R, which lets the Montgomery multiplication skip its final
 * subtraction ("almost Montgomery"): for a, b < 2n it returns
 * a b / R mod n plus at most one n, still below 2n.
 *
 * rsa_amm_n is the word-by-word Montgomery multiplication (a word of a
 * at a time, the reduction interleaved), with one twist that keeps it
 * short: the accumulator X lives in registers, each 64-bit lane holding
 * one limb plus carries not yet propagated (a lane gains under 2^54 per
 * step and lives at most 80 steps, so it never passes 2^61), and the
 * high halves of a step's products are added after the one-limb shift
 * that ends the step, where they belong.  The one serial chain per step
 * is: the low limb of X, its reduction factor m (one IFMA), m broadcast,
 * m n added, the shift.  The products of the next word of a are
 * computed beside it.  Limbs are normalised (carries propagated) once,
 * at the end of a multiplication. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "msgauth/rsa_ifma.h"

#define RSA_LIMB_BITS 52
#define RSA_LIMB_MASK ((UINT64_C(1) << RSA_LIMB_BITS) - 1)
#define RSA_VECS_MAX 10			/* 512-bit registers per number */
#define RSA_WORDS (RSA_VECS_MAX * 8)

struct rsa_ifma {
	_Alignas(64) uint64_t n[RSA_WORDS];	/* the modulus */
	uint64_t rr[RSA_WORDS];		/* R^2 mod n */
	uint64_t e;			/* the public exponent */
	uint64_t k0;			/* -1/n mod 2^52 */
	size_t size;			/* octets of n */
	unsigned limbs;			/* L */
	unsigned vecs;			/* registers per number, 8 vecs >= L */
};

/* Big-endian octets into limbs (words: the array's length). */
static void
rsa_from_octets(uint64_t *r, size_t words, const unsigned char *p,
    size_t len)
{
	memset(r, 0, words * sizeof(*r));
	for (size_t i = 0; i < len; i++) {
		size_t bit = (len - 1 - i) * 8, w = bit / RSA_LIMB_BITS;
		unsigned sh = (unsigned)(bit % RSA_LIMB_BITS);
		uint64_t v = p[i];

		r[w] |= (v << sh) & RSA_LIMB_MASK;
		if (sh > RSA_LIMB_BITS - 8 && w + 1 < words)
			r[w + 1] |= v >> (RSA_LIMB_BITS - sh);
	}
}

/* Limbs (normalised, words of them) into len big-endian octets. */
static void
rsa_to_octets(unsigned char *p, size_t len, const uint64_t *r, size_t words)
{
	for (size_t i = 0; i < len; i++) {
		size_t bit = (len - 1 - i) * 8, w = bit / RSA_LIMB_BITS;
		unsigned sh = (unsigned)(bit % RSA_LIMB_BITS);
		uint64_t v = r[w] >> sh;

		if (sh > RSA_LIMB_BITS - 8 && w + 1 < words)
			v |= r[w + 1] << (RSA_LIMB_BITS - sh);
		p[i] = (unsigned char)v;
	}
}

/* -1 when a < b, 0 when equal, 1 when above (words limbs each). */
static int
rsa_cmp(const uint64_t *a, const uint64_t *b, size_t words)
{
	for (size_t i = words; i-- > 0;)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

static void
rsa_sub(uint64_t *a, const uint64_t *b, size_t words)
{
	uint64_t borrow = 0;

	for (size_t i = 0; i < words; i++) {
		uint64_t x = a[i] - b[i] - borrow;

		borrow = x >> 63;
		a[i] = x & RSA_LIMB_MASK;
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define RSA_TARGET __attribute__((target("avx512f,avx512ifma")))
#define RSA_UNROLL _Pragma("GCC unroll 10")

/* r = a b / R mod n (+ n at most) for vecs registers per number; a, b
 * normalised and below 2n, r normalised (r may be a or b).  Inlined
 * with vecs constant, so the arrays below stay in registers. */
RSA_TARGET static inline __attribute__((always_inline)) void
rsa_amm_n(uint64_t *r, const uint64_t *a, const uint64_t *b,
    const struct rsa_ifma *c, const unsigned vecs)
{
	__m512i x[RSA_VECS_MAX], vb[RSA_VECS_MAX], vn[RSA_VECS_MAX];
	__m512i hi[RSA_VECS_MAX], z = _mm512_setzero_si512();
	__m512i k0 = _mm512_set1_epi64((long long)c->k0), ai, an, m, carry;
	uint64_t out[RSA_WORDS] __attribute__((aligned(64))), cy = 0;
	unsigned k, i;

	RSA_UNROLL for (k = 0; k < vecs; k++) {
		vb[k] = _mm512_loadu_si512(b + 8 * k);
		vn[k] = _mm512_loadu_si512(c->n + 8 * k);
	}
	ai = _mm512_set1_epi64((long long)a[0]);
	RSA_UNROLL for (k = 0; k < vecs; k++)
		x[k] = _mm512_madd52lo_epu64(z, ai, vb[k]);
	for (i = 0; i < c->limbs; i++) {
		/* x holds a[0..i] b reduced i times: the factor that makes
		 * its low limb a multiple of 2^52, in every lane. */
		m = _mm512_madd52lo_epu64(z, x[0], k0);
		m = _mm512_broadcastq_epi64(_mm512_castsi512_si128(m));
		/* Off the chain: this step's high halves and the next word's
		 * low halves, both for after the shift. */
		an = _mm512_set1_epi64(i + 1 < c->limbs ?
		    (long long)a[i + 1] : 0);
		RSA_UNROLL for (k = 0; k < vecs; k++)
			hi[k] = _mm512_madd52hi_epu64(
			    _mm512_madd52lo_epu64(z, an, vb[k]), ai, vb[k]);
		RSA_UNROLL for (k = 0; k < vecs; k++) {
			x[k] = _mm512_madd52lo_epu64(x[k], m, vn[k]);
			hi[k] = _mm512_madd52hi_epu64(hi[k], m, vn[k]);
		}
		/* The low limb is now a multiple of 2^52: shift it out, its
		 * carry into the new low limb. */
		carry = _mm512_srli_epi64(x[0], RSA_LIMB_BITS);
		RSA_UNROLL for (k = 0; k + 1 < vecs; k++)
			x[k] = _mm512_alignr_epi64(x[k + 1], x[k], 1);
		x[vecs - 1] = _mm512_alignr_epi64(z, x[vecs - 1], 1);
		x[0] = _mm512_mask_add_epi64(x[0], 1, x[0], carry);
		RSA_UNROLL for (k = 0; k < vecs; k++)
			x[k] = _mm512_add_epi64(x[k], hi[k]);
		ai = an;
	}
	RSA_UNROLL for (k = 0; k < vecs; k++)
		_mm512_store_si512(out + 8 * k, x[k]);
	for (i = 0; i < vecs * 8; i++) {
		uint64_t v = out[i] + cy;

		r[i] = v & RSA_LIMB_MASK;
		cy = v >> RSA_LIMB_BITS;
	}
}

RSA_TARGET static void
rsa_amm(uint64_t *r, const uint64_t *a, const uint64_t *b,
    const struct rsa_ifma *c)
{
	switch (c->vecs) {
	case 1: rsa_amm_n(r, a, b, c, 1); break;
	case 2: rsa_amm_n(r, a, b, c, 2); break;
	case 3: rsa_amm_n(r, a, b, c, 3); break;
	case 4: rsa_amm_n(r, a, b, c, 4); break;
	case 5: rsa_amm_n(r, a, b, c, 5); break;
	case 6: rsa_amm_n(r, a, b, c, 6); break;
	case 7: rsa_amm_n(r, a, b, c, 7); break;
	case 8: rsa_amm_n(r, a, b, c, 8); break;
	case 9: rsa_amm_n(r, a, b, c, 9); break;
	default: rsa_amm_n(r, a, b, c, RSA_VECS_MAX); break;
	}
}

static bool rsa_cpu_has;
static pthread_once_t rsa_cpu_once = PTHREAD_ONCE_INIT;

static void
rsa_cpu_probe(void)
{
	__builtin_cpu_init();
	rsa_cpu_has = __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512ifma");
}

/* Asked once: the verifying threads may ask at the same time. */
static bool
rsa_cpu_ok(void)
{
	(void)pthread_once(&rsa_cpu_once, rsa_cpu_probe);
	return rsa_cpu_has;
}
#else
static void
rsa_amm(uint64_t *r, const uint64_t *a, const uint64_t *b,
    const struct rsa_ifma *c)
{
	abort();	/* never: rsa_ifma_new returns NULL here */
}

static bool
rsa_cpu_ok(void)
{
	return false;
}
#endif

bool
rsa_ifma_usable(void)
{
	const char *env = getenv("FERRY_RSA_IFMA");

	if (env != NULL && strcmp(env, "0") == 0)
		return false;
	return rsa_cpu_ok();
}

struct rsa_ifma *
rsa_ifma_new_raw(const unsigned char *n, size_t n_len, uint64_t e)
{
	struct rsa_ifma *c;
	unsigned char rr[RSA_WORDS * 8];
	BIGNUM *bn = NULL, *br = NULL;
	BN_CTX *ctx = NULL;
	uint64_t inv;
	int bits, ok = 0;

	while (n_len > 0 && n[0] == 0)
		n++, n_len--;
	if (e == 0 || n_len == 0 || (n[n_len - 1] & 1) == 0 ||
	    !rsa_ifma_usable())
		return NULL;
	bits = (int)(n_len * 8) - __builtin_clz(n[0]) + 24;
	if (bits < 512 || bits > RSA_IFMA_MAX_BITS ||
	    (c = aligned_alloc(64, sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->size = n_len;
	c->limbs = (unsigned)(bits + 2 + RSA_LIMB_BITS - 1) / RSA_LIMB_BITS;
	c->vecs = (c->limbs + 7) / 8;
	rsa_from_octets(c->n, RSA_WORDS, n, n_len);
	/* -1/n mod 2^64 by Newton's iteration (n odd is its own inverse
	 * mod 8; each step doubles the good bits), then mod 2^52. */
	inv = c->n[0];
	for (int i = 0; i < 5; i++)
		inv *= 2 - c->n[0] * inv;
	c->k0 = (0 - inv) & RSA_LIMB_MASK;
	/* R^2 mod n, once per key, with OpenSSL's division. */
	if ((bn = BN_bin2bn(n, (int)n_len, NULL)) != NULL &&
	    (br = BN_new()) != NULL && (ctx = BN_CTX_new()) != NULL &&
	    BN_set_bit(br, 2 * RSA_LIMB_BITS * (int)c->limbs) == 1 &&
	    BN_mod(br, br, bn, ctx) == 1 &&
	    BN_bn2binpad(br, rr, (int)c->size) == (int)c->size) {
		rsa_from_octets(c->rr, RSA_WORDS, rr, c->size);
		ok = 1;
	}
	BN_free(bn);
	BN_free(br);
	BN_CTX_free(ctx);
	if (!ok) {
		free(c);
		return NULL;
	}
	return c;
}

struct rsa_ifma *
rsa_ifma_new(EVP_PKEY *key)
{
	BIGNUM *n = NULL, *e = NULL;
	unsigned char buf[RSA_WORDS * 8];
	struct rsa_ifma *c = NULL;
	int len;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(key) > RSA_IFMA_MAX_BITS || !rsa_ifma_usable())
		return NULL;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	    BN_num_bits(e) <= 64 && (len = BN_num_bytes(n)) > 0 &&
	    (size_t)len <= sizeof(buf) && BN_bn2bin(n, buf) == len)
		c = rsa_ifma_new_raw(buf, (size_t)len, BN_get_word(e));
	BN_free(n);
	BN_free(e);
	return c;
}

void
rsa_ifma_free(struct rsa_ifma *c)
{
	free(c);
}

size_t
rsa_ifma_size(const struct rsa_ifma *c)
{
	return c->size;
}

int
rsa_ifma_public(const struct rsa_ifma *c, const unsigned char *in,
    size_t in_len, unsigned char *out)
{
	uint64_t s[RSA_WORDS] __attribute__((aligned(64)));
	uint64_t x[RSA_WORDS] __attribute__((aligned(64)));
	uint64_t one[RSA_WORDS] __attribute__((aligned(64)));
	size_t words = c->vecs * 8;

	if (in_len != c->size)
		return -1;
	rsa_from_octets(s, words, in, in_len);
	if (rsa_cmp(s, c->n, words) >= 0)
		return -1;
	memset(one, 0, words * sizeof(one[0]));
	one[0] = 1;
	/* s R mod n, then left to right over the exponent's bits. */
	rsa_amm(s, s, c->rr, c);
	memcpy(x, s, words * sizeof(x[0]));
	for (int bit = 62 - __builtin_clzll(c->e); bit >= 0; bit--) {
		rsa_amm(x, x, x, c);
		if (c->e >> bit & 1)
			rsa_amm(x, x, s, c);
	}
	/* Out of the Montgomery form: at most n, n only for 0. */
	rsa_amm(x, x, one, c);
	if (rsa_cmp(x, c->n, words) >= 0)
		rsa_sub(x, c->n, words);
	rsa_to_octets(out, c->size, x, words);
	return 0;
}

int
rsa_ifma_verify_sha256(const struct rsa_ifma *c, const unsigned char *sig,
    size_t sig_len, const unsigned char hash[32])
{
	/* The DER DigestInfo prefix for SHA-256 (RFC 8017 9.2, note 1). */
	static const unsigned char prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	unsigned char em[RSA_WORDS * 8], want[RSA_WORDS * 8];
	size_t k = c->size, ps = k - 3 - sizeof(prefix) - 32;

	if (k < 3 + 8 + sizeof(prefix) + 32 ||
	    rsa_ifma_public(c, sig, sig_len, em) < 0)
		return 0;
	/* EMSA-PKCS1-v1_5: 00 01 FF..FF 00 DigestInfo. */
	want[0] = 0x00;
	want[1] = 0x01;
	memset(want + 2, 0xff, ps);
	want[2 + ps] = 0x00;
	memcpy(want + 3 + ps, prefix, sizeof(prefix));
	memcpy(want + 3 + ps + sizeof(prefix), hash, 32);
	return memcmp(em, want, k) == 0;
}
