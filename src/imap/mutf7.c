/* Modified UTF-7 (mutf7.h), RFC 3501 section 5.1.3 (and RFC 2152 for
 * UTF-7 itself).  The encoder writes the one canonical form; the decoder
 * refuses everything else (base64 for printable ASCII, adjacent encoded
 * runs, non-zero or excess padding bits, odd octet counts, unpaired
 * surrogates, raw 8-bit octets), so a name cannot reach the mailbox layer
 * in two spellings.  IMAP4rev2 and UTF8=ACCEPT clients send UTF-8 names;
 * this code is for the others. */
#include <stdbool.h>
#include <stdint.h>

#include "imap/mutf7.h"
#include "lib/fbuf.h"

static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
mutf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool
mutf7_printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int
mutf7_put_utf8(struct fbuf *out, uint32_t c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	return fbuf_add(out, b, n);
}

/* Decodes one "&...-" run; *pp is just after the '&'.  The run must
 * contain at least one character and only non-printable ones. */
static int
mutf7_decode_run(const char **pp, const char *end, struct fbuf *out)
{
	const char *p = *pp;
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	bool any = false;

	for (; p < end && *p != '-'; p++) {
		int v = mutf7_b64_value((unsigned char)*p);

		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;

		bits &= (1u << nbits) - 1;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
			continue;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || u == 0 ||
		    mutf7_printable(u))
			return -1;
		if (mutf7_put_utf8(out, u) < 0)
			return -1;
		any = true;
	}
	/* the run ends with '-', whole UTF-16 units and zero padding */
	if (p >= end || !any || high != 0 || nbits >= 6 || bits != 0)
		return -1;
	*pp = p + 1;
	return 0;
}

int
mutf7_decode(const char *in, size_t len, struct fbuf *out)
{
	const char *p = in, *end = in + len;
	bool after_run = false;

	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c != '&') {
			if (!mutf7_printable(c) || fbuf_addc(out, (char)c) < 0)
				return -1;
			p++;
			after_run = false;
			continue;
		}
		p++;
		if (p < end && *p == '-') {
			if (fbuf_addc(out, '&') < 0)
				return -1;
			p++;
			after_run = false;
			continue;
		}
		/* the encoder would have merged two adjacent runs */
		if (after_run || mutf7_decode_run(&p, end, out) < 0)
			return -1;
		after_run = true;
	}
	return 0;
}

/* The next code point of UTF-8 at *pp; -1 when invalid. */
static int
mutf7_next_utf8(const unsigned char **pp, const unsigned char *end,
    uint32_t *c_r)
{
	const unsigned char *p = *pp;
	uint32_t c, min;
	unsigned n;

	if (*p < 0x80) {
		c = *p;
		n = 0;
		min = 0;
	} else if ((*p & 0xe0) == 0xc0) {
		c = *p & 0x1f;
		n = 1;
		min = 0x80;
	} else if ((*p & 0xf0) == 0xe0) {
		c = *p & 0x0f;
		n = 2;
		min = 0x800;
	} else if ((*p & 0xf8) == 0xf0) {
		c = *p & 0x07;
		n = 3;
		min = 0x10000;
	} else
		return -1;
	if ((size_t)(end - p) <= n)
		return -1;
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0)
		return -1;
	*pp = p + n + 1;
	*c_r = c;
	return 0;
}

/* Encodes a run of non-printable characters starting at *pp. */
static int
mutf7_encode_run(const unsigned char **pp, const unsigned char *end,
    struct fbuf *out)
{
	uint32_t bits = 0, c;
	unsigned nbits = 0;

	if (fbuf_addc(out, '&') < 0)
		return -1;
	while (*pp < end) {
		const unsigned char *save = *pp;
		uint16_t units[2];
		unsigned nu = 1;

		if (mutf7_next_utf8(pp, end, &c) < 0)
			return -1;
		if (mutf7_printable(c)) {
			*pp = save;
			break;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			units[0] = (uint16_t)(0xd800 + (c >> 10));
			units[1] = (uint16_t)(0xdc00 + (c & 0x3ff));
			nu = 2;
		} else
			units[0] = (uint16_t)c;
		for (unsigned i = 0; i < nu; i++) {
			bits = (bits << 16) | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				if (fbuf_addc(out,
				    mutf7_b64[(bits >> nbits) & 0x3f]) < 0)
					return -1;
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (nbits > 0 &&
	    fbuf_addc(out, mutf7_b64[(bits << (6 - nbits)) & 0x3f]) < 0)
		return -1;
	return fbuf_addc(out, '-');
}

int
mutf7_encode(const char *in, size_t len, struct fbuf *out)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + len;

	while (p < end) {
		if (*p == '&') {
			if (fbuf_add(out, "&-", 2) < 0)
				return -1;
			p++;
		} else if (mutf7_printable(*p)) {
			if (fbuf_addc(out, (char)*p) < 0)
				return -1;
			p++;
		} else if (mutf7_encode_run(&p, end, out) < 0)
			return -1;
	}
	return 0;
}
