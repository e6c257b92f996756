/* Per-IP counters for the rate limit and the dictionary-attack block.
 * Each address keeps two fixed windows (the current one and the one
 * before) and the estimate weighs the previous count by the part of it
 * that still lies inside the sliding window: constant memory per
 * address whatever the limit.  A hash table with chaining, bounded to
 * `max` entries; entries idle for two windows and unblocked are dropped
 * when the table is full.  State lives in memory only: a restart of the
 * smtpd role forgets it (blocks are minutes long). */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/policy_private.h"

#define POLICY_TRACK_BUCKETS 4096

struct policy_track_entry {
	struct policy_track_entry *next;
	char key[64];
	int64_t win_start;		/* start of the current window */
	int64_t window;			/* its length when last used */
	unsigned cur, prev;
	int64_t blocked_until;
};

struct policy_track {
	struct policy_track_entry *b[POLICY_TRACK_BUCKETS];
	size_t n, max;
};

struct policy_track *
policy_track_create(size_t max)
{
	struct policy_track *t = xcalloc(1, sizeof(*t));

	t->max = max;
	return t;
}

void
policy_track_free(struct policy_track **tp)
{
	struct policy_track *t = *tp;
	struct policy_track_entry *e, *next;

	if (t == NULL)
		return;
	for (size_t i = 0; i < POLICY_TRACK_BUCKETS; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t);
	*tp = NULL;
}

static unsigned
policy_track_hash(const char *key)
{
	unsigned h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % POLICY_TRACK_BUCKETS;
}

static struct policy_track_entry *
policy_track_find(struct policy_track *t, const char *key)
{
	struct policy_track_entry *e;

	for (e = t->b[policy_track_hash(key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Drops entries with nothing left to remember at now. */
static void
policy_track_sweep(struct policy_track *t, int64_t now)
{
	struct policy_track_entry **pp, *e;

	for (size_t i = 0; i < POLICY_TRACK_BUCKETS; i++) {
		pp = &t->b[i];
		while ((e = *pp) != NULL) {
			if (e->blocked_until <= now &&
			    now - e->win_start >= 2 * e->window) {
				*pp = e->next;
				free(e);
				t->n--;
			} else
				pp = &e->next;
		}
	}
}

/* The entry for key, created when absent; NULL when the table is full. */
static struct policy_track_entry *
policy_track_get(struct policy_track *t, const char *key, int64_t now)
{
	struct policy_track_entry *e = policy_track_find(t, key);
	unsigned h;

	if (e != NULL)
		return e;
	if (t->n >= t->max)
		policy_track_sweep(t, now);
	if (t->n >= t->max)
		return NULL;
	e = xcalloc(1, sizeof(*e));
	str_lcpy(e->key, key, sizeof(e->key));
	e->win_start = now;
	h = policy_track_hash(key);
	e->next = t->b[h];
	t->b[h] = e;
	t->n++;
	return e;
}

/* Moves e's windows forward to the one that holds now. */
static void
policy_track_advance(struct policy_track_entry *e, int64_t now,
    int64_t window)
{
	int64_t passed;

	if (window <= 0)
		window = 1;
	if (e->window != window) {
		/* Reconfigured: start over rather than mix lengths. */
		e->window = window;
		e->win_start = now;
		e->cur = e->prev = 0;
		return;
	}
	passed = (now - e->win_start) / window;
	if (passed <= 0)
		return;
	e->prev = passed == 1 ? e->cur : 0;
	e->cur = 0;
	e->win_start += passed * window;
}

static unsigned
policy_track_estimate(const struct policy_track_entry *e, int64_t now)
{
	int64_t into = now - e->win_start;
	double weight = 1.0 - (double)into / (double)e->window;

	if (weight < 0)
		weight = 0;
	return e->cur + (unsigned)((double)e->prev * weight);
}

unsigned
policy_track_hit(struct policy_track *t, const char *key, int64_t now,
    int64_t window)
{
	struct policy_track_entry *e = policy_track_get(t, key, now);

	if (e == NULL)
		return 0;
	policy_track_advance(e, now, window);
	e->cur++;
	return policy_track_estimate(e, now);
}

unsigned
policy_track_count(struct policy_track *t, const char *key, int64_t now,
    int64_t window)
{
	struct policy_track_entry *e = policy_track_find(t, key);

	if (e == NULL)
		return 0;
	policy_track_advance(e, now, window);
	return policy_track_estimate(e, now);
}

void
policy_track_block(struct policy_track *t, const char *key, int64_t now,
    int64_t until)
{
	struct policy_track_entry *e = policy_track_get(t, key, now);

	if (e == NULL)
		return;
	e->blocked_until = until;
	e->cur = e->prev = 0;
}

int64_t
policy_track_blocked(struct policy_track *t, const char *key, int64_t now)
{
	struct policy_track_entry *e = policy_track_find(t, key);

	if (e == NULL || e->blocked_until <= now)
		return 0;
	return e->blocked_until;
}
