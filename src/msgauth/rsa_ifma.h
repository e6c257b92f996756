/* The RSA public-key operation (signature verification) with AVX-512
 * IFMA, the 52-bit multiply-add instructions of recent x86-64 CPUs.
 *
 * Why: every DKIM signature and every ARC set Ferry checks costs RSA
 * verifications (an ARC set alone is two), and OpenSSL 3.0 computes the
 * public operation with its general 64-bit Montgomery code: about 16 us
 * for a 2048-bit key on the machine the benchmarks run on, the largest
 * single cost of the inbound checks.  Here the Montgomery multiplication
 * works on 52-bit limbs, eight at a time, about 2.4 times as fast.
 *
 * Only the public operation, on public data (a signature, a key from
 * DNS): nothing here handles a secret, so nothing needs constant time.
 * Signing stays with OpenSSL.  A wrong result could only make a good
 * signature fail (it would have to produce the exact PKCS#1 encoding of
 * the message's hash to pass a bad one); tests/unit/test_rsa_ifma.c and
 * tests/fuzz/fuzz_rsa_ifma.c compare every result with OpenSSL's.
 *
 * Used when the CPU has AVX-512F and AVX-512 IFMA and the environment
 * does not say FERRY_RSA_IFMA=0 (for measuring and for a suspected CPU
 * fault); otherwise rsa_ifma_new returns NULL and the caller keeps to
 * OpenSSL. */
#ifndef FERRY_RSA_IFMA_H
#define FERRY_RSA_IFMA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evp_pkey_st;
struct rsa_ifma;

/* Moduli up to this many bits (80 limbs of 52 bits, 2 bits to spare);
 * larger keys stay with OpenSSL. */
#define RSA_IFMA_MAX_BITS 4158

/* The CPU has the instructions and FERRY_RSA_IFMA does not say 0. */
bool rsa_ifma_usable(void);

/* A public key ready for use (free with rsa_ifma_free), or NULL: not
 * usable here (above), not an RSA key, an even modulus, a modulus under
 * 512 or above RSA_IFMA_MAX_BITS bits, a public exponent of more than
 * 64 bits, or out of memory. */
struct rsa_ifma *rsa_ifma_new(struct evp_pkey_st *key);
/* The same from the modulus (big-endian octets) and exponent. */
struct rsa_ifma *rsa_ifma_new_raw(const unsigned char *n, size_t n_len,
    uint64_t e);
void rsa_ifma_free(struct rsa_ifma *c);

/* The modulus's length in octets (k in RFC 8017). */
size_t rsa_ifma_size(const struct rsa_ifma *c);

/* RSAVP1 (RFC 8017 5.2.2): out (rsa_ifma_size octets) = in^e mod n, in
 * being in_len big-endian octets.  0, or -1 when in_len is not the
 * modulus's length or in is not below the modulus. */
int rsa_ifma_public(const struct rsa_ifma *c, const unsigned char *in,
    size_t in_len, unsigned char *out);

/* RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 8.2.2, the
 * encoding compared whole as 8.2.2 step 4 says): 1 when sig is a
 * signature of the digest hash, 0 when not. */
int rsa_ifma_verify_sha256(const struct rsa_ifma *c,
    const unsigned char *sig, size_t sig_len, const unsigned char hash[32]);

#endif
