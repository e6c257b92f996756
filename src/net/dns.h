/* Asynchronous DNS for every part of Ferry: libunbound inside the role's
 * libevent loop, with its cache.  Forwarders come from dns_resolvers
 * (empty: /etc/resolv.conf); when they answer SERVFAIL or time out, the
 * same question goes to dns_fallback_resolvers.  Every answer says
 * whether the name does not exist (permanent) or could not be found out
 * (temporary).  DNSSEC validation only with `dnssec = yes`.
 * Callbacks never run inline from dns_lookup(), not even on error; the
 * owner of a query may abort it, after which its callback never runs. */
#ifndef FERRY_DNS_H
#define FERRY_DNS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct conf;
struct fbuf;
struct event_base;
struct dns;
struct dns_query;

enum dns_status {
	DNS_OK = 0,		/* records in the result (n > 0) */
	DNS_NXDOMAIN,		/* the name does not exist: permanent */
	DNS_NODATA,		/* the name exists, no records of the type */
	DNS_TEMPFAIL		/* SERVFAIL, timeout, bogus: temporary */
};

#define DNS_T_A 1
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_T_SRV 33

struct dns_rr {
	uint16_t pref;			/* MX preference, SRV priority */
	uint16_t weight, port;		/* SRV */
	char name[256];			/* MX exchange, PTR/SRV target, CNAME */
	struct sockaddr_storage addr;	/* A/AAAA (port 0) */
	char *txt;			/* TXT: the strings joined, NUL-ended */
	size_t txt_len;
};

struct dns_result {
	enum dns_status status;
	int type;
	const char *qname;
	bool secure;			/* DNSSEC-validated */
	bool fallback;			/* answered by dns_fallback_resolvers */
	/* A stale answer (RFC 8767): no resolver answered, and this is the
	 * last good answer, stale_age seconds old.  Only for lookups that
	 * asked for it (DNS_F_STALE_OK); why says why the resolvers
	 * failed. */
	bool stale;
	uint64_t stale_age;
	const char *why;		/* temp failure reason for logs */
	const char *canon;		/* name at the end of CNAMEs; NULL: none */
	uint32_t ttl;			/* of the records, seconds (0: unknown) */
	struct dns_rr *rr;
	size_t n;
};

/* The result is valid only during the callback.  The query handle is
 * freed when the callback returns: forget it there, never abort it.
 * With r->fallback set on an answer, r->why (when non-NULL) says why the
 * first resolvers failed. */
typedef void dns_cb(const struct dns_result *r, void *ctx);

/* One resolver per process, on that process's loop.  0 or -1 with a
 * static *error_r (a resolver that is not an IP address, no DNSSEC trust
 * anchor, libunbound refusing an option). */
int dns_create(struct dns **dp, struct event_base *base,
    const struct conf *conf, const char **error_r);
/* Not from inside a callback.  Queries still pending are dropped without
 * their callbacks; their handles become invalid. */
void dns_free(struct dns **dp);
/* Starts a lookup of name (no trailing dot needed) for type.  Never NULL.
 * A name that is not a valid DNS name gives DNS_NXDOMAIN (why "invalid
 * name"); a query unanswered after DNS_TIMEOUT_SEC gives DNS_TEMPFAIL
 * (after asking the fallback resolvers, if any, for as long again). */
struct dns_query *dns_lookup(struct dns *d, const char *name, int type,
    dns_cb *cb, void *ctx);
/* dns_lookup with flags.  DNS_F_STALE_OK: when no resolver answers
 * (timeout, SERVFAIL, resolver error: not NXDOMAIN, not a DNSSEC
 * failure), the last good A/AAAA/MX answer for the name, if it is at most
 * dns_stale_max old, is given instead of DNS_TEMPFAIL, with r->stale set
 * (logged "dns stale-answer", one line per lookup).  For delivery only:
 * a check that decides about a peer must never take a stale answer for
 * a pass, so those callers use dns_lookup. */
#define DNS_F_STALE_OK 0x01
struct dns_query *dns_lookup_flags(struct dns *d, const char *name, int type,
    unsigned flags, dns_cb *cb, void *ctx);
/* The health of each configured resolver address as this process sees
 * it.  Addresses are judged by their group (dns_resolvers, or
 * dns_fallback_resolvers): our own timeout sets the first group aside
 * while fallback resolvers exist (inside a group libunbound already
 * steers round servers that do not answer).  since: when the state
 * began (0: since the start); until: end of the set-aside. */
struct dns_resolver_health {
	char addr[80];			/* "192.0.2.53:53"; "resolv.conf" */
	bool fallback;			/* of dns_fallback_resolvers */
	bool aside;			/* set aside now */
	time_t since, until;
};
/* Fills up to max entries, returns how many there are. */
size_t dns_resolver_health(const struct dns *d,
    struct dns_resolver_health *v, size_t max);
/* The same as text, one resolver a line, for state_dir/resolvers:
 *   192.0.2.53:53 group=resolvers state=set-aside since=T until=T
 * (T: UTC "YYYY-MM-DD HH:MM:SSZ", or "start"). */
void dns_resolver_health_format(const struct dns *d, struct fbuf *b);
/* cb(ctx) runs on the loop each time a group is set aside or back.  The
 * process that sets a cb publishes the health: it also writes the
 * set-aside into /metrics (lib/metrics.h, struct metrics_dns_resolver),
 * at once and at each change, so that both say the same. */
void dns_set_health_cb(struct dns *d, void (*cb)(void *ctx), void *ctx);
#define DNS_HEALTH_FILE "resolvers"

/* The answer serve-stale holds for name and type (MX, A, AAAA), when
 * one is at most dns_stale_max old: no lookup, nothing logged (for
 * `ferry check mx` through the queue's control socket).  Returns true
 * with *r filled (r->rr malloc'd: free it; r->stale and r->stale_age
 * set, r->qname NULL), false when none. */
bool dns_stale_peek(struct dns *d, const char *name, int type,
    struct dns_result *r);

/* Answers of the first resolvers that have a TTL (records, no data,
 * NXDOMAIN; never failures) are cached in the struct dns for that TTL (the time left in libunbound's cache; at
 * most DNS_ANSWERS_ENTRIES questions, net/dns_answers.h) and served from
 * there without asking libunbound again; the callback still runs from
 * the loop.  This makes every cached answer ask the resolvers again
 * (reload). */
void dns_cache_expire(struct dns *d);

/* Cancels; the callback will not run.  Sets *qp to NULL. */
void dns_query_abort(struct dns_query **qp);
/* "7.2.0.192.in-addr.arpa" / nibble form for IPv6; zone appended when
 * non-NULL ("7.2.0.192.zen.example" for DNSBLs).  0 or -1. */
int dns_reverse_name(const struct sockaddr *sa, const char *zone,
    char *dst, size_t size);
const char *dns_status_str(enum dns_status st);

/* Pure helpers, exported for the CLI and the unit tests. */

/* "A", "MX", ...; "TYPE<n>" style is not produced: unknown gives "?". */
const char *dns_type_str(int type);
/* "A", "aaaa", "MX", "TXT", "PTR", "SRV" (case-blind): the type, or -1. */
int dns_type_parse(const char *s);
/* True when name (trailing dot allowed) can be asked: labels of 1-63
 * octets of letters, digits, '-' and '_', 253 octets at most. */
bool dns_name_valid(const char *name);
/* Decodes one record's rdata as libunbound hands it over (names in
 * uncompressed wire form) into *rr, which it clears first.  MX and PTR
 * names must be valid host names ("" is the root, as in a null MX or an
 * SRV record saying "not offered", RFC 2782).
 * rr->txt is allocated for TXT: release with dns_rr_clear().  0, or -1
 * when the data is malformed or too long. */
int dns_rr_parse(int type, const void *rdata, size_t len, struct dns_rr *rr);
void dns_rr_clear(struct dns_rr *rr);

#define DNS_TIMEOUT_SEC 8

#endif
