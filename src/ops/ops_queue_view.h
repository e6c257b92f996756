/* Views of a queue listing shared by `ferry queue list` and the queue
 * pages: the filters (a recipient domain, sender, recipient, age) and the
 * per-destination summary (pending recipients per domain in age columns,
 * after Postfix's qshape).  Pure functions over envelopes (no I/O), so
 * the list may come from the queue role or from the spool. */
#ifndef FERRY_OPS_QUEUE_VIEW_H
#define FERRY_OPS_QUEUE_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct spool_env;

struct ops_queue_filter {
	char domain[256];		/* a recipient in this domain, or "" */
	char from[512];			/* sender: ADDR, @DOMAIN, <> or "" */
	char to[512];			/* a recipient: ADDR, @DOMAIN or "" */
	int64_t older, newer;		/* by age in seconds, -1: no limit */
};

/* Age columns in minutes; the last column counts everything older. */
#define OPS_QUEUE_NCOLS 10
extern const unsigned ops_queue_cols[OPS_QUEUE_NCOLS - 1];

struct ops_queue_dest {
	char *domain;			/* "local" for this server's mailboxes */
	size_t total, held, cols[OPS_QUEUE_NCOLS];
	int64_t oldest;
};

struct ops_queue_summary {
	struct ops_queue_dest all;	/* domain "TOTAL" (static) */
	struct ops_queue_dest *v;	/* busiest first */
	size_t n;
};

/* No filter: everything matches. */
void ops_queue_filter_init(struct ops_queue_filter *f);
/* Sets one filter from text: key "domain", "from", "to", "older" or
 * "newer"; an empty value clears it.  0, or -1 with a static *why_r. */
int ops_queue_filter_set(struct ops_queue_filter *f, const char *key,
    const char *value, const char **why_r);
bool ops_queue_filter_active(const struct ops_queue_filter *f);
bool ops_queue_filter_match(const struct ops_queue_filter *f,
    const struct spool_env *env, time_t now);
/* The summary of the n envelopes' pending recipients. */
void ops_queue_summarize(const struct spool_env *envs, size_t n, time_t now,
    struct ops_queue_summary *out);
void ops_queue_summary_free(struct ops_queue_summary *s);

#endif
