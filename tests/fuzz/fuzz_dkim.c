/* libFuzzer target for the DKIM parsers and the streaming verifier
 * (src/msgauth/dkim_tag.c, dkim_canon.c, dkim_verify.c; RFC 6376 3.2,
 * 3.4, 3.5, 3.6.1).  The first input octet picks how the rest is read:
 * 0 a DKIM-Signature value (and the b= removal of it as a field), 1 a
 * key record (and the OpenSSL key made of it), 2 a whole message through
 * the verifier with a fixed key record (and again with the header from a
 * parser of the caller's: the verdicts must agree), 3 a body
 * canonicalised whole, in two pieces and through a shared set
 * (dkim_bodies) by two users, each against a plain reference
 * canonicalisation (the hashes must agree), 4 a header field through the
 * relaxed header canonicalisation against a plain reference.  Checked: a
 * parsed signature's fields are NUL-ended and within bounds; b= removal
 * never grows the field; the verifier decides every signature once its
 * key is given.
 * FUZZ_SOURCES: src/msgauth/dkim_tag.c src/msgauth/dkim_canon.c src/msgauth/rsa_ifma.c src/msgauth/dkim_verify.c src/msgauth/dkim_keycache.c src/msgauth/keyfetch.c src/msgauth/dkim_fields.c src/mime src/net/dns.c src/net/dns_answers.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/fbuf.h"
#include "msgauth/dkim.h"
#include "mime/mime.h"
#include "msgauth/dkim_verify.h"

#define FUZZ_KEY "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void
fuzz_dkim_sig(const char *s, size_t len)
{
	struct dkim_sig *sig = malloc(sizeof(*sig));
	struct fbuf f, out;
	const char *err;

	if (dkim_sig_parse(s, len, sig, &err) == 0) {
		if (strlen(sig->domain) >= sizeof(sig->domain) || sig->nh == 0 ||
		    sig->nh > DKIM_HNAMES_MAX || sig->bh_len != 32 ||
		    sig->b_len > DKIM_SIG_MAX)
			abort();
	}
	free(sig);
	fbuf_init(&f, 0);
	fbuf_init(&out, 0);
	fbuf_adds(&f, "DKIM-Signature:");
	fbuf_add(&f, s, len);
	if (dkim_sig_strip_b(f.data, f.len, &out) == 0 && out.len > f.len)
		abort();
	fbuf_release(&f);
	fbuf_release(&out);
}

static void
fuzz_dkim_key(const char *s, size_t len)
{
	struct dkim_key *k = malloc(sizeof(*k));
	const char *err;

	if (dkim_key_parse(s, len, k, &err) == 0 && !k->revoked) {
		EVP_PKEY *pk = dkim_key_pkey(k, &err);

		EVP_PKEY_free(pk);
	}
	free(k);
}

/* The same message with the header from a parser of the caller's (as
 * smtpd shares its own): the verdicts must be the ones of the verifier's
 * own parse. */
static struct dkim_verifier *
fuzz_dkim_shared(const char *s, size_t len)
{
	struct dkim_verifier *v = dkim_verifier_new(1600000000);
	struct mime_header_parser *hp;
	size_t used;

	hp = dkim_header_parser_new(dkim_verifier_field, v);
	dkim_verifier_share_header(v);
	used = mime_header_parser_feed(hp, s, len);
	if (mime_header_parser_done(hp)) {
		dkim_verifier_header_end(v);
		dkim_verifier_feed(v, s + used, len - used);
	} else
		mime_header_parser_finish(hp);
	mime_header_parser_free(&hp);
	dkim_verifier_end(v);
	for (size_t i = 0; i < dkim_verifier_count(v); i++)
		dkim_verifier_key(v, i, DNS_OK, FUZZ_KEY, strlen(FUZZ_KEY), 0);
	return v;
}

static void
fuzz_dkim_message(const char *s, size_t len)
{
	struct dkim_verifier *v = dkim_verifier_new(1600000000), *w;
	size_t half = len / 2;
	struct fbuf ar;

	dkim_verifier_feed(v, s, half);
	dkim_verifier_feed(v, s + half, len - half);
	dkim_verifier_end(v);
	for (size_t i = 0; i < dkim_verifier_count(v); i++) {
		dkim_verifier_key(v, i, DNS_OK, FUZZ_KEY, strlen(FUZZ_KEY), 0);
		if (!dkim_verifier_verdict(v, i)->decided)
			abort();
	}
	w = fuzz_dkim_shared(s, len);
	if (dkim_verifier_count(w) != dkim_verifier_count(v))
		abort();
	for (size_t i = 0; i < dkim_verifier_count(v); i++)
		if (dkim_verifier_verdict(w, i)->result !=
		    dkim_verifier_verdict(v, i)->result)
			abort();
	dkim_verifier_free(&w);
	fbuf_init(&ar, 0);
	dkim_verifier_ar(v, &ar);
	for (size_t i = 0; i < ar.len; i++)
		if ((ar.data[i] < 0x20 || ar.data[i] > 0x7e) &&
		    ar.data[i] != '\r' && ar.data[i] != '\n' &&
		    ar.data[i] != '\t')
			abort();
	fbuf_release(&ar);
	dkim_verifier_free(&v);
}

/* The canonical body the slow way (RFC 6376 3.4.3, 3.4.4), whole: lines
 * end at CRLF (a bare CR is content), a last line without one gets one,
 * relaxed turns each WSP run into one SP and drops it at a line's end,
 * empty lines at the end go, and an empty simple body is one CRLF. */
static size_t
fuzz_dkim_body_ref(const char *s, size_t len, int relaxed, char *out)
{
	size_t o = 0, keep = 0, i = 0;

	while (i < len) {
		size_t e = i, start = o;
		int wsp = 0;

		while (e < len && !(s[e] == '\r' && e + 1 < len &&
		    s[e + 1] == '\n'))
			e++;
		for (size_t k = i; k < e; k++) {
			if (relaxed && (s[k] == ' ' || s[k] == '\t')) {
				wsp = 1;
				continue;
			}
			if (wsp)
				out[o++] = ' ';
			wsp = 0;
			out[o++] = s[k];
		}
		out[o++] = '\r';
		out[o++] = '\n';
		if (o - start > 2)
			keep = o;	/* the end of the last line with content */
		i = e < len ? e + 2 : e;
	}
	o = keep;
	if (!relaxed && o == 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

static void
fuzz_dkim_body(const char *s, size_t len)
{
	char *ref = malloc(2 * len + 2);

	for (int c = 0; c < 2; c++) {
		struct dkim_body a, b;
		struct dkim_bodies *bs = dkim_bodies_new();
		unsigned char ha[32], hb[32], hr[32], hs[32];
		size_t cut = len > 0 ? (unsigned char)s[0] % len : 0;
		size_t rl = fuzz_dkim_body_ref(s, len, c == DKIM_C_RELAXED,
		    ref);
		unsigned hl;
		uint64_t sl;
		int slot = dkim_bodies_want(bs, (enum dkim_canon)c,
		    UINT64_MAX);

		dkim_body_init(&a, (enum dkim_canon)c, UINT64_MAX);
		dkim_body_init(&b, (enum dkim_canon)c, UINT64_MAX);
		dkim_body_feed(&a, s, len);
		dkim_body_feed(&b, s, cut);
		dkim_body_feed(&b, s + cut, len - cut);
		dkim_body_finish(&a, ha);
		dkim_body_finish(&b, hb);
		if (memcmp(ha, hb, 32) != 0 || a.length != b.length)
			abort();
		EVP_Digest(ref, rl, hr, &hl, EVP_sha256(), NULL);
		if (a.length != rl || memcmp(ha, hr, 32) != 0)
			abort();
		/* Two users of a shared set, one whole, one in pieces. */
		dkim_bodies_feed(bs, slot, s, cut, 0);
		dkim_bodies_feed(bs, slot, s, len, 0);
		dkim_bodies_feed(bs, slot, s + cut, len - cut, cut);
		dkim_bodies_result(bs, slot, hs, &sl);
		if (sl != rl || memcmp(hs, hr, 32) != 0)
			abort();
		dkim_bodies_free(&bs);
	}
	free(ref);
}

/* Relaxed header canonicalisation the slow way (RFC 6376 3.4.2), for
 * dkim_canon_header to agree with: name lowercased (ASCII) without WSP
 * before the colon, CR and LF dropped, WSP runs one SP, none before or
 * after the value.  A field without a colon goes as it is. */
static size_t
fuzz_dkim_hdr_ref(const char *s, size_t len, char *out)
{
	const char *colon;
	size_t o = 0, nend;
	int wsp = 0, any = 0;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if ((colon = memchr(s, ':', len)) == NULL) {
		memcpy(out, s, len);
		return len;
	}
	nend = (size_t)(colon - s);
	while (nend > 0 && (s[nend - 1] == ' ' || s[nend - 1] == '\t'))
		nend--;
	for (size_t i = 0; i < nend; i++)
		out[o++] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	out[o++] = ':';
	for (size_t i = (size_t)(colon - s) + 1; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == ' ' || s[i] == '\t') {
			wsp = 1;
			continue;
		}
		if (wsp && any)
			out[o++] = ' ';
		wsp = 0;
		any = 1;
		out[o++] = s[i];
	}
	return o;
}

static void
fuzz_dkim_header(const char *s, size_t len)
{
	char *ref = malloc(len + 3);
	size_t rl = fuzz_dkim_hdr_ref(s, len, ref);
	struct fbuf out;

	fbuf_init(&out, 0);
	fbuf_adds(&out, "x");		/* appended after what is there */
	dkim_canon_header(DKIM_C_RELAXED, s, len, false, &out);
	memcpy(ref + rl, "\r\n", 2);
	if (out.len != rl + 3 || out.data[0] != 'x' ||
	    memcmp(out.data + 1, ref, rl + 2) != 0 || out.data[out.len] != '\0')
		abort();
	fbuf_release(&out);
	free(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_dkim_sig(s, size - 1);
		break;
	case 1:
		fuzz_dkim_key(s, size - 1);
		break;
	case 2:
		fuzz_dkim_message(s, size - 1);
		break;
	case 3:
		fuzz_dkim_body(s, size - 1);
		break;
	default:
		fuzz_dkim_header(s, size - 1);
		break;
	}
	return 0;
}
