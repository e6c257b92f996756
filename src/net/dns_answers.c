/* The answers a resolver keeps (dns_answers.h): one entry per question
 * (lower-case name, type) holding the newest good answer, found through
 * a hash table and dropped oldest-refresh first past DNS_ANSWERS_ENTRIES
 * entries or DNS_ANSWERS_BYTES of memory.
 *
 * Fresh answers: libunbound caches too, but each lookup it answers from
 * its cache is still a round trip through its worker thread (a pipe
 * write, a wake-up, a pipe read); mail from one sender asks the same few
 * TXT, MX and A questions for every message.  An answer is served from
 * here for the TTL libunbound gave it (the time left in its cache), so
 * nothing is believed longer than the resolver would.  Negative answers
 * are cached for their TTL as libunbound has them (RFC 2308: from the
 * zone's SOA); answers with TTL 0, failures and answers of the fallback
 * resolvers are not (dns.c decides the last); DNSSEC status and the
 * CNAME target are kept.
 *
 * Stale answers (RFC 8767): see dns.h, DNS_F_STALE_OK. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns_answers.h"

#define DNS_ANSWERS_BUCKETS 1024
#define DNS_ANSWERS_NAME 256

struct dns_answer {
	struct dns_answer *hnext;
	TAILQ_ENTRY(dns_answer) lru;	/* oldest refresh first */
	char name[DNS_ANSWERS_NAME];	/* lower case */
	int type;
	enum dns_status status;		/* DNS_OK, DNS_NODATA, DNS_NXDOMAIN */
	bool secure;
	char *canon;			/* NULL: none */
	struct dns_rr *rr;
	size_t n;
	size_t bytes;			/* counted against the budget */
	time_t when;			/* received */
	time_t fresh_until;		/* served from here before this */
};

struct dns_answers {
	struct dns_answer *bucket[DNS_ANSWERS_BUCKETS];
	TAILQ_HEAD(, dns_answer) lru;
	size_t n, bytes;
	uint64_t hits, misses;
};

struct dns_answers *
dns_answers_new(void)
{
	struct dns_answers *a = xcalloc(1, sizeof(*a));

	TAILQ_INIT(&a->lru);
	return a;
}

static unsigned
dns_answers_hash(const char *name, int type)
{
	return (str_hash(name) + (unsigned)type) % DNS_ANSWERS_BUCKETS;
}

/* name: lower case already. */
static struct dns_answer *
dns_answers_find(struct dns_answers *a, const char *name, int type)
{
	struct dns_answer *e;

	for (e = a->bucket[dns_answers_hash(name, type)]; e != NULL;
	    e = e->hnext)
		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
dns_answers_records_free(struct dns_rr *rr, size_t n)
{
	(void)n;
	free(rr);		/* one block: dns_answers_records_copy */
}

/* A deep copy in one allocation: the records, then the TXT texts they
 * point to (a cached answer is copied for every lookup it serves, six
 * or so per checked message: one malloc each instead of one per record
 * and text, and no zeroing of the records' 400 octets). */
static struct dns_rr *
dns_answers_records_copy(const struct dns_rr *src, size_t n)
{
	size_t size = (n > 0 ? n : 1) * sizeof(struct dns_rr);
	struct dns_rr *rr;
	char *t;

	for (size_t i = 0; i < n; i++)
		if (src[i].txt != NULL)
			size += src[i].txt_len + 1;
	rr = xmalloc(size);
	t = (char *)(rr + (n > 0 ? n : 1));
	for (size_t i = 0; i < n; i++) {
		rr[i] = src[i];
		if (src[i].txt != NULL) {
			rr[i].txt = t;
			memcpy(t, src[i].txt, src[i].txt_len);
			t[src[i].txt_len] = '\0';
			t += src[i].txt_len + 1;
		}
	}
	return rr;
}

static void
dns_answers_drop(struct dns_answers *a, struct dns_answer *e)
{
	struct dns_answer **pp = &a->bucket[dns_answers_hash(e->name,
	    e->type)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	TAILQ_REMOVE(&a->lru, e, lru);
	a->n--;
	a->bytes -= e->bytes;
	dns_answers_records_free(e->rr, e->n);
	free(e->canon);
	free(e);
}

void
dns_answers_free(struct dns_answers **ap)
{
	struct dns_answers *a = *ap;
	struct dns_answer *e;

	if (a == NULL)
		return;
	*ap = NULL;
	while ((e = TAILQ_FIRST(&a->lru)) != NULL)
		dns_answers_drop(a, e);
	free(a);
}

/* The octets of r's TXT records (0 for other types). */
static size_t
dns_answers_txt_len(const struct dns_result *r)
{
	size_t len = 0;

	for (size_t i = 0; i < r->n; i++)
		len += r->rr[i].txt_len;
	return len;
}

/* Records, or a negative answer (RFC 2308: its TTL comes from the
 * zone's SOA; none without one), with a TTL. */
static bool
dns_answers_cacheable(const struct dns_result *r)
{
	return ((r->status == DNS_OK && r->n > 0) ||
	    r->status == DNS_NODATA || r->status == DNS_NXDOMAIN) &&
	    r->ttl > 0 && dns_answers_txt_len(r) <= DNS_ANSWERS_TXT_MAX;
}

static bool
dns_answers_stale_kind(const struct dns_result *r)
{
	return (r->status == DNS_OK && r->n > 0) || r->status == DNS_NODATA;
}

/* An entry for name (lower case), unlinked from nothing: new, or the
 * old one emptied and moved to the young end. */
static struct dns_answer *
dns_answers_slot(struct dns_answers *a, const char *name, int type)
{
	struct dns_answer *e;
	unsigned h;

	if ((e = dns_answers_find(a, name, type)) != NULL) {
		dns_answers_records_free(e->rr, e->n);
		free(e->canon);
		e->rr = NULL;
		e->canon = NULL;
		e->n = 0;
		a->bytes -= e->bytes;
		TAILQ_REMOVE(&a->lru, e, lru);
		TAILQ_INSERT_TAIL(&a->lru, e, lru);
		return e;
	}
	e = xcalloc(1, sizeof(*e));
	str_lcpy(e->name, name, sizeof(e->name));
	e->type = type;
	h = dns_answers_hash(name, type);
	e->hnext = a->bucket[h];
	a->bucket[h] = e;
	a->n++;
	TAILQ_INSERT_TAIL(&a->lru, e, lru);
	return e;
}

void
dns_answers_put(struct dns_answers *a, const char *name, int type,
    const struct dns_result *r, bool fresh, bool stale, time_t now)
{
	char lname[DNS_ANSWERS_NAME];
	struct dns_answer *e, *old;
	uint32_t ttl;

	fresh = fresh && dns_answers_cacheable(r);
	stale = stale && dns_answers_stale_kind(r);
	if ((!fresh && !stale) ||
	    str_lcpy(lname, name, sizeof(lname)) >= sizeof(lname))
		return;
	str_lower(lname);
	e = dns_answers_slot(a, lname, type);
	e->status = r->status;
	e->secure = r->secure;
	e->n = r->n;
	e->rr = dns_answers_records_copy(r->rr, r->n);
	e->canon = r->canon != NULL ? xstrdup(r->canon) : NULL;
	e->when = now;
	ttl = r->ttl < DNS_ANSWERS_TTL_MAX ? r->ttl : DNS_ANSWERS_TTL_MAX;
	e->fresh_until = fresh ? now + (time_t)ttl : 0;
	e->bytes = sizeof(*e) + r->n * sizeof(*e->rr) +
	    dns_answers_txt_len(r);
	a->bytes += e->bytes;
	while ((a->n > DNS_ANSWERS_ENTRIES || a->bytes > DNS_ANSWERS_BYTES) &&
	    (old = TAILQ_FIRST(&a->lru)) != e)
		dns_answers_drop(a, old);
}

/* *r from e: a copy the owner's callback may keep using while it starts
 * lookups of its own (which may drop e). */
static void
dns_answers_fill(const struct dns_answer *e, struct dns_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = e->status;
	r->secure = e->secure;
	r->n = e->n;
	r->rr = dns_answers_records_copy(e->rr, e->n);
}

bool
dns_answers_fresh(struct dns_answers *a, const char *name, int type,
    time_t now, struct dns_result *r, char *canon, size_t size)
{
	char lname[DNS_ANSWERS_NAME];
	struct dns_answer *e;

	if (str_lcpy(lname, name, sizeof(lname)) >= sizeof(lname))
		return false;
	str_lower(lname);
	e = dns_answers_find(a, lname, type);
	if (e == NULL || now >= e->fresh_until || now < e->when) {
		a->misses++;
		return false;
	}
	a->hits++;
	dns_answers_fill(e, r);
	r->ttl = (uint32_t)(e->fresh_until - now);
	if (e->canon != NULL && str_lcpy(canon, e->canon, size) < size)
		r->canon = canon;
	return true;
}

bool
dns_answers_stale(struct dns_answers *a, const char *name, int type,
    time_t max, time_t now, struct dns_result *r)
{
	char lname[DNS_ANSWERS_NAME];
	struct dns_answer *e;

	if (str_lcpy(lname, name, sizeof(lname)) >= sizeof(lname))
		return false;
	str_lower(lname);
	if ((e = dns_answers_find(a, lname, type)) == NULL ||
	    e->status == DNS_NXDOMAIN)
		return false;
	if (now < e->when || now - e->when > max) {
		dns_answers_drop(a, e);
		return false;
	}
	dns_answers_fill(e, r);
	r->stale = true;
	r->stale_age = (uint64_t)(now - e->when);
	return true;
}

void
dns_answers_result_free(struct dns_result *r)
{
	dns_answers_records_free(r->rr, r->n);
	r->rr = NULL;
	r->n = 0;
}

void
dns_answers_expire(struct dns_answers *a)
{
	struct dns_answer *e;

	TAILQ_FOREACH(e, &a->lru, lru)
		e->fresh_until = 0;
}

void
dns_answers_stats(const struct dns_answers *a, struct dns_answers_stats *st)
{
	st->hits = a->hits;
	st->misses = a->misses;
	st->entries = a->n;
	st->bytes = a->bytes;
}
