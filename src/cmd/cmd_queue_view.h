/* `ferry queue list`'s filters (--domain, --from, --to, --older,
 * --newer) and its per-destination summary (--summary: pending
 * recipients per domain in age columns, after Postfix's qshape).  Pure
 * functions over envelopes, so the list can come from the queue role or
 * from the spool directly. */
#ifndef FERRY_CMD_QUEUE_VIEW_H
#define FERRY_CMD_QUEUE_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct spool_env;

struct cmd_queue_filter {
	char domain[256];		/* a recipient in this domain, or "" */
	char from[512];			/* sender: ADDR, @DOMAIN, <> or "" */
	char to[512];			/* a recipient: ADDR, @DOMAIN or "" */
	int64_t older, newer;		/* by age in seconds, -1: no limit */
	bool summary;			/* --summary instead of the list */
};

/* Takes the filter options out of argv (argc shrinks; what is left is
 * for the caller).  0, or -1 with *why_r for a bad option value. */
int cmd_queue_filter_take(int *argc, char **argv,
    struct cmd_queue_filter *f, const char **why_r);
bool cmd_queue_filter_active(const struct cmd_queue_filter *f);
bool cmd_queue_filter_match(const struct cmd_queue_filter *f,
    const struct spool_env *env, time_t now);
/* Prints the summary of the n envelopes (already filtered). */
void cmd_queue_summary(const struct spool_env *envs, size_t n, time_t now,
    bool json);

#endif
