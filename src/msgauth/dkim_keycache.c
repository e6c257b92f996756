/* The cache of decoded DKIM keys (dkim_keycache.h): a hash table by
 * (name, record text) with a least-recently-used list through it, under
 * one mutex.  Lookups compare the whole name and text, never the hash
 * alone; an expired entry is dropped when met.  Nothing here asks DNS:
 * the caller hands in what its lookup answered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dkim_keycache.h"

#define DKIM_KEYCACHE_BUCKETS 256

struct dkim_kc_entry {
	struct dkim_kc_entry *next;		/* in its bucket */
	struct dkim_kc_entry *older, *newer;	/* the LRU list */
	uint64_t hash;
	char *name;
	char *txt;
	size_t len;
	time_t expires;
	enum dkim_algo algo;
	bool testing, strict;
	EVP_PKEY *pk;				/* the cache's reference */
};

struct dkim_keycache {
	pthread_mutex_t lock;
	struct dkim_kc_entry *bucket[DKIM_KEYCACHE_BUCKETS];
	struct dkim_kc_entry *newest, *oldest;
	size_t n, max;
	uint64_t hits, misses;
};

static uint64_t
dkim_keycache_hash(const char *name, const char *txt, size_t len)
{
	uint64_t h = str_hash64(STR_HASH64_INIT, name, strlen(name));

	return str_hash64(str_hash64(h, "\xff", 1), txt, len);
}

struct dkim_keycache *
dkim_keycache_new(size_t max)
{
	struct dkim_keycache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max = max > 0 ? max : 1;
	return c;
}

static void
dkim_keycache_unlink(struct dkim_keycache *c, struct dkim_kc_entry *e)
{
	struct dkim_kc_entry **pp = &c->bucket[e->hash % DKIM_KEYCACHE_BUCKETS];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->n--;
}

static void
dkim_keycache_drop(struct dkim_keycache *c, struct dkim_kc_entry *e)
{
	dkim_keycache_unlink(c, e);
	EVP_PKEY_free(e->pk);
	free(e->name);
	free(e->txt);
	free(e);
}

/* Drops the least recently used entry (there is one). */
static void
dkim_keycache_evict(struct dkim_keycache *c)
{
	struct dkim_kc_entry *e = c->oldest;

	e->older = NULL;	/* it is the oldest: says so to the analyser */
	dkim_keycache_drop(c, e);
}

static void
dkim_keycache_push(struct dkim_keycache *c, struct dkim_kc_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

void
dkim_keycache_clear(struct dkim_keycache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->oldest != NULL)
		dkim_keycache_evict(c);
	pthread_mutex_unlock(&c->lock);
}

void
dkim_keycache_free(struct dkim_keycache **cp)
{
	struct dkim_keycache *c = *cp;

	if (c == NULL)
		return;
	dkim_keycache_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* The live entry for (name, txt), made the newest; NULL when none. */
static struct dkim_kc_entry *
dkim_keycache_find(struct dkim_keycache *c, uint64_t h, const char *name,
    const char *txt, size_t len, time_t now)
{
	struct dkim_kc_entry *e = c->bucket[h % DKIM_KEYCACHE_BUCKETS];

	for (; e != NULL; e = e->next)
		if (e->hash == h && e->len == len &&
		    strcmp(e->name, name) == 0 && memcmp(e->txt, txt, len) == 0)
			break;
	if (e == NULL)
		return NULL;
	if (now >= e->expires) {
		dkim_keycache_drop(c, e);
		return NULL;
	}
	dkim_keycache_unlink(c, e);
	c->n++;
	e->next = c->bucket[h % DKIM_KEYCACHE_BUCKETS];
	c->bucket[h % DKIM_KEYCACHE_BUCKETS] = e;
	dkim_keycache_push(c, e);
	return e;
}

static void
dkim_keycache_put(struct dkim_keycache *c, uint64_t h, const char *name,
    const char *txt, size_t len, uint32_t ttl, time_t now,
    const struct dkim_keyrec *r)
{
	struct dkim_kc_entry *e;

	/* Another thread may have put it meanwhile: keep that one. */
	if (dkim_keycache_find(c, h, name, txt, len, now) != NULL)
		return;
	while (c->n >= c->max && c->oldest != NULL)
		dkim_keycache_evict(c);
	e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->name = xstrdup(name);
	e->txt = xmalloc(len > 0 ? len : 1);
	memcpy(e->txt, txt, len);
	e->len = len;
	e->expires = now + (time_t)(ttl < DKIM_KEYCACHE_TTL_MAX ? ttl :
	    DKIM_KEYCACHE_TTL_MAX);
	e->algo = r->algo;
	e->testing = r->testing;
	e->strict = r->strict;
	EVP_PKEY_up_ref(r->pk);
	e->pk = r->pk;
	e->next = c->bucket[h % DKIM_KEYCACHE_BUCKETS];
	c->bucket[h % DKIM_KEYCACHE_BUCKETS] = e;
	dkim_keycache_push(c, e);
	c->n++;
}

/* Without the cache: parse and decode. */
static int
dkim_keycache_decode(const char *txt, size_t len, struct dkim_keyrec *r,
    const char **error_r)
{
	struct dkim_key *k = xmalloc(sizeof(*k));
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (dkim_key_parse(txt, len, k, error_r) < 0)
		ret = -1;
	else {
		r->algo = k->algo;
		r->revoked = k->revoked;
		r->testing = k->testing;
		r->strict = k->strict;
		if (!k->revoked)
			r->pk = dkim_key_pkey(k, &r->pk_error);
	}
	explicit_bzero(k, sizeof(*k));
	free(k);
	return ret;
}

int
dkim_keycache_get(struct dkim_keycache *c, const char *name,
    const char *txt, size_t len, uint32_t ttl, time_t now,
    struct dkim_keyrec *r, const char **error_r)
{
	struct dkim_kc_entry *e;
	uint64_t h;

	if (c == NULL)
		return dkim_keycache_decode(txt, len, r, error_r);
	h = dkim_keycache_hash(name, txt, len);
	pthread_mutex_lock(&c->lock);
	if ((e = dkim_keycache_find(c, h, name, txt, len, now)) != NULL) {
		memset(r, 0, sizeof(*r));
		r->algo = e->algo;
		r->testing = e->testing;
		r->strict = e->strict;
		EVP_PKEY_up_ref(e->pk);
		r->pk = e->pk;
		c->hits++;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	c->misses++;
	pthread_mutex_unlock(&c->lock);
	/* Decoded outside the lock: it is the slow part. */
	if (dkim_keycache_decode(txt, len, r, error_r) < 0)
		return -1;
	if (r->pk != NULL && ttl > 0) {
		pthread_mutex_lock(&c->lock);
		dkim_keycache_put(c, h, name, txt, len, ttl, now, r);
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
}

void
dkim_keycache_stats(struct dkim_keycache *c, struct dkim_keycache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	st->hits = c->hits;
	st->misses = c->misses;
	st->entries = c->n;
	pthread_mutex_unlock(&c->lock);
}
