/* The DNS records a hosted domain should publish, as operations (`ferry
 * domain records`, the postmaster's page): MX, SPF, the active DKIM
 * keys, DMARC, the autoconfig and autodiscover host names and the
 * RFC 6186 SRV records of the services in force (ops_services.h), each
 * with what DNS says about it now, asked through the server's own
 * resolvers (dns_resolvers).
 *
 * "match" is decided per kind, by what makes the record work for this
 * server rather than by equal text: an MX naming the hostname, one SPF
 * record naming `mx` or `a:HOST`, the same DKIM key, one valid DMARC
 * record (any policy), the autoconfig name reaching an address of the
 * hostname, an SRV record with our target and port. */
#ifndef FERRY_OPS_DNSREC_H
#define FERRY_OPS_DNSREC_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops.h"

struct conf;
struct dns;
struct dns_result;
struct event_base;
struct ops_ctx;
struct ops_dkim_list;

enum ops_dnsrec_kind {
	OPS_DNSREC_MX,
	OPS_DNSREC_SPF,
	OPS_DNSREC_DKIM,
	OPS_DNSREC_DMARC,
	OPS_DNSREC_HOST,	/* autoconfig./autodiscover. CNAME */
	OPS_DNSREC_SRV
};

enum ops_dnsrec_state {
	OPS_DNSREC_UNCHECKED = 0,
	OPS_DNSREC_MATCH,	/* published and right for this server */
	OPS_DNSREC_DIFFERS,	/* published, but something else */
	OPS_DNSREC_MISSING,	/* nothing (of the kind) at the name */
	OPS_DNSREC_FAILED	/* DNS could not say: SERVFAIL, timeout */
};

struct ops_dnsrec {
	enum ops_dnsrec_kind kind;
	char name[340];		/* owner name, no final dot */
	char type[8];		/* "MX", "TXT", "CNAME", "SRV" */
	char *value;		/* zone-file data; TXT without quotes */
	const char *purpose;	/* static, for people */
	unsigned priority, weight, port;	/* MX preference; SRV */
	char target[256];	/* MX, CNAME, SRV target ("": ".") */
	enum ops_dnsrec_state state;
	char **published;	/* what DNS has now, one record each */
	size_t npublished;
	char why[160];		/* OPS_DNSREC_FAILED: the reason */
};

struct ops_dnsrec_list {
	char domain[256];
	char host[256];		/* the server's host name */
	struct ops_dnsrec *v;
	size_t n;
};

/* The records of domain_input (a local domain in the actor's scope),
 * unchecked.  Reads the store and the DKIM key files: blocks.  -1 with
 * st: OPS_EINVAL, OPS_ENOENT (no such domain), OPS_EPERM, OPS_EFAIL. */
int ops_dnsrec_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_dnsrec_list *out, struct ops_status *st);
/* The same from its parts, without the store: domain (normalised), the
 * DKIM keys to list (only the active ones are; keys may be NULL). */
void ops_dnsrec_build(const struct conf *conf, const char *domain,
    const struct ops_dkim_list *keys, struct ops_dnsrec_list *out);
void ops_dnsrec_list_free(struct ops_dnsrec_list *l);

/* Asks DNS about every record and sets state, published and why; cb
 * runs on base once all answered, never inline.  l must outlive it. */
typedef void ops_dnsrec_checked_cb(struct ops_dnsrec_list *l, void *ctx);
void ops_dnsrec_check_dns(struct event_base *base, struct dns *dns,
    struct ops_dnsrec_list *l, ops_dnsrec_checked_cb *cb, void *ctx);
/* The same, blocking, on a loop and resolver of its own made from conf
 * (for the command line and worker threads).  -1 with OPS_EFAIL when
 * the resolver cannot be created. */
int ops_dnsrec_check(const struct conf *conf, struct ops_dnsrec_list *l,
    struct ops_status *st);

/* Judges one record from the answer r to its lookup (the type that
 * ops_dnsrec_qtype() gives), filling state, published and why.  For
 * OPS_DNSREC_HOST, host_addrs are the hostname's addresses as text
 * (n of them) that the name's addresses are compared with. */
void ops_dnsrec_judge(struct ops_dnsrec *rec, const struct dns_result *r,
    const char *const *host_addrs, size_t n);
int ops_dnsrec_qtype(enum ops_dnsrec_kind kind);
/* "unchecked", "match", "differs", "missing", "failed". */
const char *ops_dnsrec_state_str(enum ops_dnsrec_state s);

#endif
