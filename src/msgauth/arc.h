/* ARC, the Authenticated Received Chain (RFC 8617): verifying the chain
 * of a message as it streams, and sealing it with one more ARC set when
 * Ferry forwards it.
 *
 * The verifier keeps the header section (bounded, like DKIM's) and, once
 * it ends, finds the ARC sets: instances 1..N, each exactly one
 * ARC-Authentication-Results (AAR), ARC-Message-Signature (AMS) and
 * ARC-Seal (AS), N at most ARC_MAX_INSTANCE.  The bodies of the newest
 * ARC_AMS_HASHED AMS are hashed as the message streams (never kept).
 * At the end the keys (one DNS lookup per distinct selector and domain)
 * decide: the newest AMS must verify, every AS must verify, AS 1 says
 * cv=none and the others cv=pass; "oldest-pass" is the lowest instance
 * from which every newer AMS still verifies.  Any failure, a key lookup
 * that failed included, is cv=fail (RFC 8617 has no temperror).
 *
 * The sealer uses the same header copy and a relaxed body hash of its
 * own: AAR (Ferry's Authentication-Results), AMS (like a DKIM signature,
 * dkim_sign_fields_as) and AS over every set, rsa-sha256 only. */
#ifndef FERRY_ARC_H
#define FERRY_ARC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/fbuf.h"
#include "msgauth/dkim.h"
#include "net/dns.h"

struct arc_verifier;
struct arc_keyfetch;
struct mime_field;
struct dkim_keycache;
struct dkim_sign_key;
struct event_base;

#define ARC_MAX_INSTANCE 50	/* RFC 8617 4.2.1 */
#define ARC_AMS_HASHED 4	/* AMS whose body is hashed, newest first */

enum arc_cv {
	ARC_CV_NONE = 0,
	ARC_CV_PASS,
	ARC_CV_FAIL
};

/* ------------------------------------------------ parsing (fuzzed) */

struct arc_seal {
	unsigned instance;		/* i= */
	enum arc_cv cv;			/* cv= */
	enum dkim_algo algo;
	char domain[254];		/* d=, lowercased */
	char selector[254];		/* s= */
	unsigned char b[DKIM_SIG_MAX];
	size_t b_len;
	struct dkim_bspan bspan;	/* b='s value in the parsed text */
};

/* The value of an ARC-Seal field (after the ':').  i= 1 to 1024, cv=
 * none/pass/fail, a=, b=, d=, s= required; h= refused (4.1.3).  0, or -1
 * with a static reason. */
int arc_seal_parse(const char *value, size_t len, struct arc_seal *as,
    const char **error_r);
/* The instance of an ARC-Authentication-Results value ("i=N;" first,
 * CFWS around): 0, or -1 when it has none (or over 1024). */
int arc_aar_instance(const char *value, size_t len, unsigned *i_r);
const char *arc_cv_str(enum arc_cv cv);

/* ------------------------------------------------ verifying */

struct arc_result {
	enum arc_cv cv;
	unsigned n;			/* instances (0: no chain) */
	unsigned oldest_pass;		/* pass: see above; else 0 */
	const char *reason;		/* static; "" for pass and none */
	char sealer[254];		/* d= of the newest AS, "" unknown */
};

/* seal: also keep the body hash a seal needs.  Never NULL. */
struct arc_verifier *arc_verifier_new(time_t now, bool seal);
void arc_verifier_free(struct arc_verifier **vp);
/* Content in order, any split. */
void arc_verifier_feed(struct arc_verifier *v, const void *data, size_t n);
/* True once the header section has ended. */
bool arc_verifier_ended_header(const struct arc_verifier *v);
/* The header section from the caller's parser, as for the DKIM verifier
 * (dkim_verify.h): before any content, then every field through
 * arc_verifier_field and the end through arc_verifier_header_end
 * (too_big: the parser met its header limit), and arc_verifier_feed
 * gets the body alone. */
void arc_verifier_share_header(struct arc_verifier *v);
void arc_verifier_field(void *ctx, const struct mime_field *f);
void arc_verifier_header_end(struct arc_verifier *v, bool too_big);
/* Instances found in the header (0: none); valid after the header. */
unsigned arc_verifier_count(const struct arc_verifier *v);
/* The content ended: body hashes final, structural results decided. */
void arc_verifier_end(struct arc_verifier *v);
/* Keys to look up (distinct "s._domainkey.d" names), after _end. */
size_t arc_verifier_nkeys(const struct arc_verifier *v);
const char *arc_verifier_keyname(const struct arc_verifier *v, size_t i);
/* The lookup of key i answered: st, the TXT strings joined (txt NULL
 * unless DNS_OK), the answer's TTL (seconds; 0: not cached). */
void arc_verifier_key(struct arc_verifier *v, size_t i, enum dns_status st,
    const char *txt, size_t len, uint32_t ttl);
/* Decoded keys come from (and go into) kc (msgauth/dkim_keycache.h),
 * which must outlive the verifier; without it each is decoded. */
void arc_verifier_set_keycache(struct arc_verifier *v,
    struct dkim_keycache *kc);
/* The body hashes go into bs (msgauth/dkim.h), shared with the message's
 * DKIM verifier; before any content, and bs outlives arc_verifier_end
 * (nothing after it touches bs).  Without it the verifier keeps its own. */
void arc_verifier_share_bodies(struct arc_verifier *v,
    struct dkim_bodies *bs);
/* Every key answered (or none was needed): the result.  Touches v alone
 * (no cache, no DNS): safe on any one thread while nothing else uses v. */
void arc_verifier_decide(struct arc_verifier *v);
/* The result (cv fail "not verified" before arc_verifier_decide). */
const struct arc_result *arc_verifier_result(const struct arc_verifier *v);
/* Appends "; arc=RESULT (...)" for Authentication-Results. */
void arc_verifier_ar(const struct arc_verifier *v, struct fbuf *out);

/* ------------------------------------------------ sealing */

/* Appends a new ARC set (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results, folded, CRLF-ended) for a verifier made
 * with seal = true and decided: instance N+1 with cv= from the result.
 * authres: Ferry's Authentication-Results value (after the ':'), len
 * octets.  0, or -1 with a static reason: the chain failed (a dead chain
 * gets no set), is at ARC_MAX_INSTANCE, the header was too big, or the
 * key is not RSA.  Blocks for the RSA signing (a worker's job). */
int arc_seal_message(struct arc_verifier *v, const struct dkim_sign_key *k,
    const char *authres, size_t len, time_t now, struct fbuf *out,
    const char **error_r);

/* ------------------------------------------------ async keys */

typedef void arc_keys_cb(struct arc_verifier *v, void *ctx);
/* Looks the keys up through dns, then calls cb (never inline), which
 * decides (arc_verifier_decide).  Never NULL.  After arc_keyfetch_abort() cb does not run; the
 * verifier must outlive the fetch. */
struct arc_keyfetch *arc_verify_keys(struct event_base *base,
    struct dns *dns, struct arc_verifier *v, arc_keys_cb *cb, void *ctx);
void arc_keyfetch_abort(struct arc_keyfetch **fp);

#endif
