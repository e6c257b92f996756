/* DKIM verification (RFC 6376 6; RFC 8463; RFC 8301) of a message as it
 * streams, and its Authentication-Results (RFC 8601).
 *
 * The verifier keeps the header section (bounded) and, once it ends,
 * parses up to DKIM_VERIFY_MAX DKIM-Signature fields and hashes the body
 * once per signature (its c= and l=) without keeping it.  At the end of
 * the message each signature still undecided needs its key: the caller
 * asks DNS (dkim_verify_keys() does it through net/dns.h) and hands the
 * answer to dkim_verifier_key(), which decides the result (or, with
 * dkim_verifier_defer_checks(), keeps the key, and dkim_verifier_check()
 * decides later, on another thread if the caller likes: the signature
 * checks are the CPU-heavy part).  No I/O here apart from that. */
#ifndef FERRY_DKIM_VERIFY_H
#define FERRY_DKIM_VERIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/fbuf.h"
#include "msgauth/dkim.h"
#include "net/dns.h"

struct mime_field;

struct dkim_verifier;
struct dkim_keyfetch;
struct dkim_keycache;
struct event_base;

#define DKIM_VERIFY_MAX 8	/* signatures looked at; the rest ignored */
#define DKIM_CLOCK_SKEW 300	/* t= this far in the future is fine */

/* RFC 8601 2.7.1 */
enum dkim_result {
	DKIM_R_NONE = 0,
	DKIM_R_PASS,
	DKIM_R_FAIL,
	DKIM_R_NEUTRAL,
	DKIM_R_TEMPERROR,
	DKIM_R_PERMERROR
};

struct dkim_verdict {
	enum dkim_result result;
	bool decided;		/* false: waits for its key */
	const char *reason;	/* static; "" for pass */
	bool testing;		/* key says t=y */
	bool has_sig;		/* the signature parsed: what follows is set */
	enum dkim_algo algo;
	char domain[254];
	char selector[254];
	char auid[512];
	char b8[9];		/* the first 8 characters of b= (header.b) */
};

struct dkim_verifier *dkim_verifier_new(time_t now);
void dkim_verifier_free(struct dkim_verifier **vp);
/* Decoded keys come from (and go into) kc (msgauth/dkim_keycache.h),
 * which must outlive the verifier; without it each is decoded. */
void dkim_verifier_set_keycache(struct dkim_verifier *v,
    struct dkim_keycache *kc);
/* The body hashes go into bs (msgauth/dkim.h), which the caller may
 * share with the message's other verifiers (ARC) and frees after the
 * verifier has ended; before any content.  Without it the verifier
 * keeps its own. */
void dkim_verifier_share_bodies(struct dkim_verifier *v,
    struct dkim_bodies *bs);
/* From now on dkim_verifier_key() keeps a usable key instead of checking
 * the signature with it; dkim_verifier_check() does the checks. */
void dkim_verifier_defer_checks(struct dkim_verifier *v);
/* Content in order, any split. */
void dkim_verifier_feed(struct dkim_verifier *v, const void *data, size_t n);
/* The header section comes from the caller's own parser instead (one
 * parse for every reader of the message; its limits must be at least
 * the verifier's, 256 KiB and as many fields): before any content,
 * then each field through dkim_verifier_field, the section's end through
 * dkim_verifier_header_end, and dkim_verifier_feed gets the body alone. */
void dkim_verifier_share_header(struct dkim_verifier *v);
void dkim_verifier_field(void *ctx, const struct mime_field *f);
void dkim_verifier_header_end(struct dkim_verifier *v);
/* The content ended: body hashes are final, and results that need no
 * key (malformed signatures, expired, body hash mismatch) are decided. */
void dkim_verifier_end(struct dkim_verifier *v);
/* True once the header section has ended (the signatures are known). */
bool dkim_verifier_ended_header(const struct dkim_verifier *v);
/* Signatures still waiting for their key. */
size_t dkim_verifier_pending(const struct dkim_verifier *v);
/* Signatures looked at (0: the message is unsigned, result "none"). */
size_t dkim_verifier_count(const struct dkim_verifier *v);
const struct dkim_verdict *dkim_verifier_verdict(const struct dkim_verifier *v,
    size_t i);
/* The DNS name of signature i's key ("s._domainkey.d") into dst: 0, or
 * -1 when it is decided already or the name is too long. */
int dkim_verifier_keyname(const struct dkim_verifier *v, size_t i, char *dst,
    size_t size);
/* The key lookup of signature i answered: st, and the TXT strings joined
 * (txt NULL when st is not DNS_OK), with the answer's TTL (seconds; 0:
 * the key is not kept in the cache).  Decides the result, except for a
 * usable key when the checks are deferred. */
void dkim_verifier_key(struct dkim_verifier *v, size_t i,
    enum dns_status st, const char *txt, size_t len, uint32_t ttl);
/* Deferred signature checks waiting (0 for v NULL). */
size_t dkim_verifier_checks_left(const struct dkim_verifier *v);
/* Checks the signatures whose keys were kept, deciding their results.
 * Touches v alone (no cache, no DNS): safe on any one thread while
 * nothing else uses v.  Nothing to do for v NULL. */
void dkim_verifier_check(struct dkim_verifier *v);

const char *dkim_result_str(enum dkim_result r);

/* Appends the dkim part of an Authentication-Results value: one
 * "dkim=RESULT (reason) header.d=... header.i=... header.s=...
 * header.a=... header.b=..." per signature, each after "; " and a fold,
 * or "; dkim=none" for an unsigned message. */
void dkim_verifier_ar(const struct dkim_verifier *v, struct fbuf *out);

/* ---------------------------------------------------------- async keys */

/* Called once every key lookup answered (never inline). */
typedef void dkim_keys_cb(struct dkim_verifier *v, void *ctx);
/* Looks up the keys of the undecided signatures through dns.  Never NULL.
 * After dkim_keyfetch_abort() the callback does not run; the verifier
 * must outlive the fetch. */
struct dkim_keyfetch *dkim_verify_keys(struct event_base *base,
    struct dns *dns, struct dkim_verifier *v, dkim_keys_cb *cb, void *ctx);
void dkim_keyfetch_abort(struct dkim_keyfetch **fp);

#endif
