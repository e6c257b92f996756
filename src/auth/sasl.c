/* Base64 and SASL PLAIN decoding (RFC 4648, RFC 4616) on OpenSSL's
 * EVP_DecodeBlock, with the padding and length checks it leaves to us. */
#include <string.h>

#include <openssl/evp.h>

#include "auth/sasl.h"

int
sasl_base64_decode(const char *in, size_t len, char *dst, size_t size)
{
	unsigned char tmp[4 * SASL_FIELD_MAX];
	int n, pad = 0;

	if (len % 4 != 0 || len / 4 * 3 > sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/') || pad > 0)
			return -1;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	n -= pad;	/* EVP_DecodeBlock counts the padding as data */
	if ((size_t)n >= size)
		return -1;
	memcpy(dst, tmp, (size_t)n);
	dst[n] = '\0';
	return n;
}

int
sasl_base64_encode(const void *in, size_t n, char *dst, size_t size)
{
	if ((n + 2) / 3 * 4 + 1 > size)
		return -1;
	return EVP_EncodeBlock((unsigned char *)dst, in, (int)n);
}

/* Copies field [p, end) into dst: -1 when too long or empty-required. */
static int
sasl_field(const char *p, const char *end, char dst[SASL_FIELD_MAX])
{
	size_t n = (size_t)(end - p);

	if (n >= SASL_FIELD_MAX)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int
sasl_plain_decode(const char *b64, size_t len,
    char authzid[SASL_FIELD_MAX], char authcid[SASL_FIELD_MAX],
    char passwd[SASL_FIELD_MAX])
{
	char buf[3 * SASL_FIELD_MAX + 4];
	const char *nul1, *nul2, *end;
	int n = sasl_base64_decode(b64, len, buf, sizeof(buf));

	if (n < 0)
		return -1;
	end = buf + n;
	nul1 = memchr(buf, '\0', (size_t)n);
	if (nul1 == NULL)
		return -1;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)))
		return -1;
	if (sasl_field(buf, nul1, authzid) < 0 ||
	    sasl_field(nul1 + 1, nul2, authcid) < 0 ||
	    sasl_field(nul2 + 1, end, passwd) < 0 ||
	    authcid[0] == '\0' || passwd[0] == '\0')
		return -1;
	return 0;
}
