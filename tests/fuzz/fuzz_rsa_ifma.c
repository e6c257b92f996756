/* libFuzzer target for the RSA public operation with AVX-512 IFMA
 * (src/msgauth/rsa_ifma.c), a differential one: every result must be
 * OpenSSL's.  The input is read as: two octets choosing the modulus's
 * length (64 to 519 octets, shortened to what the input holds), three
 * octets of exponent, then the modulus (its top and bottom bits set)
 * and the base.  Checked: rsa_ifma_new_raw accepts every such modulus;
 * rsa_ifma_public refuses exactly the bases not below the modulus and
 * otherwise gives BN_mod_exp's result; rsa_ifma_verify_sha256 of the
 * base accepts exactly when that result is the PKCS#1 v1.5 encoding of
 * the hash it is given (the result's own last 32 octets, so the padding
 * decides).  On a CPU without IFMA nothing is made and nothing checked.
 * FUZZ_SOURCES: src/msgauth/rsa_ifma.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "msgauth/rsa_ifma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is em (k octets) 00 01 FF..FF 00 DigestInfo(SHA-256) and a hash? */
static int
pkcs1_sha256(const unsigned char *em, size_t k)
{
	static const unsigned char prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	size_t ps = k - 3 - sizeof(prefix) - 32;

	if (em[0] != 0 || em[1] != 1 || em[2 + ps] != 0 ||
	    memcmp(em + 3 + ps, prefix, sizeof(prefix)) != 0)
		return 0;
	for (size_t i = 0; i < ps; i++)
		if (em[2 + i] != 0xff)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char n[520], s[520], got[520], want[520];
	size_t len;
	uint64_t e;
	struct rsa_ifma *c;
	BIGNUM *bn, *bs, *be, *br;
	BN_CTX *ctx;
	int below, rc;

	if (size < 5 + 2 * 64 || !rsa_ifma_usable())
		return 0;
	len = 64 + ((size_t)data[0] << 8 | data[1]) % (519 - 64 + 1);
	if (len > (size - 5) / 2)
		len = (size - 5) / 2;
	e = (uint64_t)data[2] << 16 | (uint64_t)data[3] << 8 | data[4];
	if (e == 0)
		e = 65537;
	memcpy(n, data + 5, len);
	memcpy(s, data + 5 + len, len);
	n[0] |= 0x80;
	n[len - 1] |= 1;
	if ((c = rsa_ifma_new_raw(n, len, e)) == NULL)
		abort();
	if (rsa_ifma_size(c) != len)
		abort();
	bn = BN_bin2bn(n, (int)len, NULL);
	bs = BN_bin2bn(s, (int)len, NULL);
	be = BN_new();
	br = BN_new();
	ctx = BN_CTX_new();
	if (bn == NULL || bs == NULL || be == NULL || br == NULL ||
	    ctx == NULL || BN_set_word(be, e) != 1)
		abort();
	below = BN_cmp(bs, bn) < 0;
	rc = rsa_ifma_public(c, s, len, got);
	if (rc != (below ? 0 : -1))
		abort();
	if (below) {
		if (BN_mod_exp(br, bs, be, bn, ctx) != 1 ||
		    BN_bn2binpad(br, want, (int)len) != (int)len ||
		    memcmp(got, want, len) != 0)
			abort();
		if (rsa_ifma_verify_sha256(c, s, len, want + len - 32) !=
		    pkcs1_sha256(want, len))
			abort();
	} else if (rsa_ifma_verify_sha256(c, s, len, s + len - 32) != 0)
		abort();
	BN_free(bn);
	BN_free(bs);
	BN_free(be);
	BN_free(br);
	BN_CTX_free(ctx);
	rsa_ifma_free(c);
	return 0;
}
