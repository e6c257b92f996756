/* libFuzzer target for ARC's parsers and chain verifier
 * (src/msgauth/arc.c, the AMS parse in dkim_tag.c).  The first input
 * octet picks: 0 an ARC-Seal value, 1 an ARC-Authentication-Results
 * value, 2 an ARC-Message-Signature value, else a whole message through
 * the verifier (keys answered with one fixed RSA record, or "no key"),
 * fed whole or in pieces (and, with bit 3 of that octet, again with the
 * header from a parser of the caller's: the results must agree).
 * Checked: parsed instances are 1..1024, cv is one of the three, b= is
 * not empty, domains are lowercase; the verdict has a reason unless it
 * is none or pass, a pass has 1..50 sets and an oldest-pass within them,
 * and none has no sets.
 * FUZZ_SOURCES: src/msgauth/arc.c src/msgauth/dkim_keycache.c src/msgauth/dkim_sign.c src/msgauth/dkim_keys.c src/conf src/mailbox src/policy/policy_names.c src/policy/scan_target.c src/msgauth/dkim_tag.c src/msgauth/dkim_canon.c src/msgauth/rsa_ifma.c src/msgauth/dkim_fields.c src/mime src/net/dns.c src/net/dns_answers.c src/lib */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "msgauth/arc.h"
#include "msgauth/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_arc_rec[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCyJL"
	"9n3pdR9ZHV/tI27aVIwteuJQAp2beosUaH7WtFHmhvM/4SMMa3b2JgdYP2Mz"
	"uwobc5xs2adHZnLHv++FfNSDLpX0oO2X0z8x2ScrxfgY+fTt2mUNn0FhQSvW"
	"jjj4weOS2pxAFJ5HRwxEk8hI7v/4PANfZS/631oeAOzum30QIDAQAB";

static void
fuzz_arc_domain(const char *d)
{
	for (; *d != '\0'; d++)
		if (isupper((unsigned char)*d))
			abort();
}

static void
fuzz_arc_fields(const char *s, size_t n, uint8_t which)
{
	struct arc_seal as;
	struct dkim_sig sig;
	const char *err = NULL;
	unsigned i;

	if (which == 0) {
		if (arc_seal_parse(s, n, &as, &err) == 0) {
			if (as.instance < 1 || as.instance > 1024 ||
			    as.cv > ARC_CV_FAIL || as.b_len == 0)
				abort();
			fuzz_arc_domain(as.domain);
		} else if (err == NULL)
			abort();
	} else if (which == 1) {
		if (arc_aar_instance(s, n, &i) == 0 && (i < 1 || i > 1024))
			abort();
	} else if (dkim_sig_parse_ams(s, n, &sig, &err) == 0) {
		if (sig.instance < 1 || sig.instance > 1024 || sig.nh == 0 ||
		    sig.b_len == 0)
			abort();
		fuzz_arc_domain(sig.domain);
	} else if (err == NULL)
		abort();
}

/* Mode bit 3: the header from a parser of the caller's, as smtpd shares
 * its own (arc_verifier_share_header); the result must be the one of
 * the verifier's own parse. */
static void
fuzz_arc_feed_shared(struct arc_verifier *v, const char *s, size_t n)
{
	struct mime_header_parser *hp;
	size_t used;

	hp = dkim_header_parser_new(arc_verifier_field, v);
	arc_verifier_share_header(v);
	used = mime_header_parser_feed(hp, s, n);
	if (mime_header_parser_done(hp)) {
		arc_verifier_header_end(v, (mime_header_parser_flags(hp) &
		    MIME_F_HEADER_TOO_BIG) != 0);
		arc_verifier_feed(v, s + used, n - used);
	} else
		mime_header_parser_finish(hp);
	mime_header_parser_free(&hp);
}

static struct arc_verifier *
fuzz_arc_run(const char *s, size_t n, uint8_t mode, bool shared)
{
	struct arc_verifier *v = arc_verifier_new(1700000000, mode & 1);
	size_t step = (mode >> 1) % 7 + 1;

	if (shared)
		fuzz_arc_feed_shared(v, s, n);
	else
		for (size_t i = 0; i < n; i += step)
			arc_verifier_feed(v, s + i, n - i < step ? n - i :
			    step);
	arc_verifier_end(v);
	for (size_t k = 0; k < arc_verifier_nkeys(v); k++) {
		if (arc_verifier_keyname(v, k) == NULL)
			abort();
		arc_verifier_key(v, k, mode & 2 ? DNS_OK : DNS_TEMPFAIL,
		    fuzz_arc_rec, sizeof(fuzz_arc_rec) - 1, 0);
	}
	arc_verifier_decide(v);
	return v;
}

static void
fuzz_arc_message(const char *s, size_t n, uint8_t mode)
{
	struct arc_verifier *v = fuzz_arc_run(s, n, mode, false);
	const struct arc_result *r;

	if (mode & 8) {
		struct arc_verifier *w = fuzz_arc_run(s, n, mode, true);
		const struct arc_result *a = arc_verifier_result(v);
		const struct arc_result *b = arc_verifier_result(w);

		if (a->cv != b->cv || a->n != b->n ||
		    a->oldest_pass != b->oldest_pass)
			abort();
		arc_verifier_free(&w);
	}
	r = arc_verifier_result(v);
	if (r->reason == NULL || (r->cv == ARC_CV_FAIL && r->reason[0] ==
	    '\0') || (r->cv == ARC_CV_NONE && r->n != 0) ||
	    (r->cv == ARC_CV_PASS && (r->n < 1 || r->n > ARC_MAX_INSTANCE ||
	    r->oldest_pass < 1 || r->oldest_pass > r->n)))
		abort();
	arc_verifier_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] < 3)
		fuzz_arc_fields(s, size - 1, data[0]);
	else
		fuzz_arc_message(s, size - 1, data[0]);
	free(s);
	return 0;
}
