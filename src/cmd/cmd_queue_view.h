/* `ferry queue list`'s options (--domain, --from, --to, --older,
 * --newer, --summary) and the printing of its per-destination summary.
 * The filters and the summary themselves are ops_queue_view.h, shared
 * with the queue pages. */
#ifndef FERRY_CMD_QUEUE_VIEW_H
#define FERRY_CMD_QUEUE_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ops/ops_queue_view.h"

struct spool_env;

struct cmd_queue_filter {
	struct ops_queue_filter v;
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

struct cli;
/* `queue list --all-nodes` on a shared store (cmd_queue_nodes.c): every
 * node's published summary rows, with its node and stale marks.  The
 * exit status. */
int cmd_queue_all_nodes(struct cli *cli, bool json);

#endif
