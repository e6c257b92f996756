/* DKIM signing keys as operations (`ferry dkim keygen|list`, later the
 * web pages): creating a key for a local domain, listing the keys with
 * the TXT record each needs, and asking DNS whether the published record
 * matches the key.  Keys live in dkim_key_dir (msgauth/dkim_keys.h). */
#ifndef FERRY_OPS_DKIM_H
#define FERRY_OPS_DKIM_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops.h"

struct dns;
struct event_base;
struct ops_ctx;

enum ops_dkim_dns {
	OPS_DKIM_DNS_UNCHECKED = 0,
	OPS_DKIM_DNS_MATCH,	/* published, same key */
	OPS_DKIM_DNS_MISMATCH,	/* published, another key (or broken) */
	OPS_DKIM_DNS_MISSING,	/* no record at the name */
	OPS_DKIM_DNS_TEMPFAIL	/* DNS could not say */
};

struct ops_dkim_key {
	char domain[254];
	char selector[64];
	char algorithm[16];	/* "rsa", "ed25519" */
	unsigned bits;
	bool active;		/* the key that signs for its algorithm */
	char name[340];		/* SELECTOR._domainkey.DOMAIN */
	char *record;		/* the TXT record to publish */
	enum ops_dkim_dns dns;
	char *published;	/* what DNS has ("" when nothing) */
};

struct ops_dkim_list {
	struct ops_dkim_key *v;
	size_t n;
};

/* Creates a key for domain_input (a local domain in the actor's scope):
 * selector NULL picks "ALGORITHM-YYYYMMDD"; algorithm "rsa" (bits, 0:
 * 2048) or "ed25519".  *out describes it (free with
 * ops_dkim_key_clear).  -1 with st: OPS_EINVAL, OPS_ENOENT (no such
 * domain), OPS_EEXIST (selector taken), OPS_EFAIL. */
int ops_dkim_keygen(const struct ops_ctx *c, const char *domain_input,
    const char *selector, const char *algorithm, unsigned bits,
    struct ops_dkim_key *out, struct ops_status *st);
/* The keys of domain_input (NULL: every domain in scope), unchecked. */
int ops_dkim_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_dkim_list *out, struct ops_status *st);
void ops_dkim_list_free(struct ops_dkim_list *l);
void ops_dkim_key_clear(struct ops_dkim_key *k);

/* Looks up every key's record through dns and sets dns and published;
 * cb runs once all answered (never inline).  The list must outlive it. */
typedef void ops_dkim_checked_cb(struct ops_dkim_list *l, void *ctx);
void ops_dkim_check_dns(struct event_base *base, struct dns *dns,
    struct ops_dkim_list *l, ops_dkim_checked_cb *cb, void *ctx);
const char *ops_dkim_dns_str(enum ops_dkim_dns d);
/* True when the published TXT record theirs (len octets) holds the same
 * key type and public key as our record ours, and is not revoked. */
bool ops_dkim_record_same(const char *ours, const char *theirs, size_t len);

#endif
