/* The answers one struct dns keeps (dns_answers.c), for dns.c only: the
 * answer cache (good answers served again while their TTL lasts,
 * without asking libunbound) and the last good answers for serve-stale.
 * One store holds both: an entry is the newest good answer to one
 * question (name, type).  Loop thread only. */
#ifndef FERRY_NET_DNS_ANSWERS_H
#define FERRY_NET_DNS_ANSWERS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "net/dns.h"

struct dns_answers;

#define DNS_ANSWERS_ENTRIES 4096	/* questions kept at most */
#define DNS_ANSWERS_BYTES (8u << 20)	/* their memory, roughly */
#define DNS_ANSWERS_TXT_MAX 8192	/* an answer's TXT octets, at most */
#define DNS_ANSWERS_TTL_MAX 86400	/* seconds, whatever DNS says */

struct dns_answers *dns_answers_new(void);
void dns_answers_free(struct dns_answers **ap);

/* Keeps r, the answer to (name, type) received at now: for the cache
 * when fresh is true and r is cacheable (DNS_OK with records, DNS_NODATA
 * or DNS_NXDOMAIN, with a TTL; TXT of at most DNS_ANSWERS_TXT_MAX
 * octets), for serve-stale when stale
 * is true and r is DNS_OK with records or DNS_NODATA.  Nothing otherwise
 * (an entry kept before stays as it was). */
void dns_answers_put(struct dns_answers *a, const char *name, int type,
    const struct dns_result *r, bool fresh, bool stale, time_t now);
/* The cached answer to (name, type) while its TTL lasts: true with *r
 * filled (status, records copied, ttl left, secure; canon into canon,
 * size bytes, when the answer had one).  Release with
 * dns_answers_result_free(). */
bool dns_answers_fresh(struct dns_answers *a, const char *name, int type,
    time_t now, struct dns_result *r, char *canon, size_t size);
/* The last good answer to (name, type) (never NXDOMAIN) if at most max
 * seconds old: true
 * with *r filled (records copied, r->stale, r->stale_age); an older one
 * is dropped.  Release with dns_answers_result_free(). */
bool dns_answers_stale(struct dns_answers *a, const char *name, int type,
    time_t max, time_t now, struct dns_result *r);
void dns_answers_result_free(struct dns_result *r);
/* Every answer stops being fresh (reload); those kept for serve-stale
 * stay for it. */
void dns_answers_expire(struct dns_answers *a);
/* Counters for the unit tests and logs. */
struct dns_answers_stats {
	uint64_t hits, misses;
	size_t entries, bytes;
};
void dns_answers_stats(const struct dns_answers *a,
    struct dns_answers_stats *st);

#endif
