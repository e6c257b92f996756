/* Decoded DKIM public keys, kept between messages.  OpenSSL 3 decodes a
 * SubjectPublicKeyInfo through its provider and decoder machinery, which
 * costs more than the RSA verification itself; mail from one sender (and
 * the ARC sets of one forwarder) names the same few keys again and again.
 *
 * An entry is found by the DNS name asked AND the exact record text the
 * answer carried: the key record is still looked up for every message
 * (the resolver's cache answers), and a record that changed in DNS is a
 * different entry, decoded afresh.  An entry lives for the answer's TTL
 * (at most DKIM_KEYCACHE_TTL_MAX), there are at most `max` of them (the
 * least recently used goes), and only records that parse and decode to a
 * usable key are kept: a bad or revoked record is parsed again each time
 * and its error is the same as without the cache.
 *
 * Thread-safe (one mutex): the smtpd loop uses it today, and a worker
 * thread may.  The keys handed out are references of their own. */
#ifndef FERRY_DKIM_KEYCACHE_H
#define FERRY_DKIM_KEYCACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msgauth/dkim.h"

struct dkim_keycache;

#define DKIM_KEYCACHE_MAX 1024		/* entries, smtpd's cache */
#define DKIM_KEYCACHE_TTL_MAX 86400	/* seconds, whatever DNS says */

/* A key record as the verifiers need it. */
struct dkim_keyrec {
	enum dkim_algo algo;		/* k= */
	bool revoked;			/* p= empty: pk is NULL */
	bool testing;			/* t=y */
	bool strict;			/* t=s */
	/* The decoded key, a reference for the caller (EVP_PKEY_free);
	 * NULL when revoked or undecodable (pk_error says why). */
	struct evp_pkey_st *pk;
	const char *pk_error;		/* static */
};

struct dkim_keycache_stats {
	uint64_t hits, misses, entries;
};

/* max: entries kept (at least 1). */
struct dkim_keycache *dkim_keycache_new(size_t max);
/* Frees every entry (keys still referenced by a verifier stay valid
 * until it frees them).  *cp = NULL; nothing when NULL already. */
void dkim_keycache_free(struct dkim_keycache **cp);
/* Forgets every entry (reload). */
void dkim_keycache_clear(struct dkim_keycache *c);
/* The key record txt (len octets) that the lookup of name answered with
 * ttl seconds: from the cache, or parsed (dkim_key_parse) and decoded
 * (dkim_key_pkey) and then kept when usable and ttl > 0.  c may be NULL
 * (no cache: always parsed and decoded).  0 with *r filled (r->pk may
 * be NULL, see above), or -1 with a static reason when the record does
 * not parse. */
int dkim_keycache_get(struct dkim_keycache *c, const char *name,
    const char *txt, size_t len, uint32_t ttl, time_t now,
    struct dkim_keyrec *r, const char **error_r);
void dkim_keycache_stats(struct dkim_keycache *c,
    struct dkim_keycache_stats *st);

#endif
