/* The delivery history for `ferry why --id | --to | --domain` and the
 * /why page: each message's story as the queue recorded it in the store
 * (store.h "delivery history"): arrival, every attempt per recipient
 * with the reply, the next attempt, when it will be given up, and the
 * outcome.  It works without a log file; what only the log knows
 * (refusals at SMTP time) stays ops_why.h's.
 *
 * Scope, as ops_why.h: an admin may ask anything.  A postmaster may ask
 * about an address of its domains, one of its domains, or a queue id;
 * a user about its own address or a queue id.  By id, a message is
 * shown whole when its sender is in the actor's scope, else with only
 * the recipients that are (none: not shown).  By address, only that
 * recipient's attempts; by domain, only that domain's.
 *
 * Nodes: without all_nodes, a shared (PostgreSQL) store shows only this
 * node's records (conf_node_name); on SQLite every record is this
 * node's, and all_nodes changes nothing.  Blocking (reads the store):
 * CLI or worker thread. */
#ifndef FERRY_OPS_HISTORY_H
#define FERRY_OPS_HISTORY_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops.h"
#include "store/store.h"

#define OPS_HISTORY_LIMIT 100		/* messages shown at most */

struct conf;

/* A recipient's outcome: its last attempt. */
struct ops_history_rcpt {
	char addr[STORE_HIST_ADDR_MAX];
	const struct store_hist_attempt *last;	/* NULL: no attempt yet */
};

struct ops_history_msg {
	struct store_hist_msg m;	/* m.rcpts owned */
	struct store_hist_attempt *a;
	size_t na;
	struct ops_history_rcpt *rcpts;	/* in scope, with their outcome */
	size_t nrcpts;
	bool whole;			/* the actor sees every recipient */
};

struct ops_history {
	struct ops_history_msg *v;
	size_t n;
	bool shared;			/* the store is shared by nodes */
};

/* Checks the question: 0, or -1 with OPS_EINVAL (not a queue id, an
 * address or a domain: too long, control bytes, ...) or OPS_EPERM. */
int ops_history_check(const struct ops_actor *a, enum store_hist_by by,
    const char *key, struct ops_status *st);
/* Reads the stories matching key into h (zeroed first), oldest first.
 * 0 (h->n may be 0), or -1 with st: as ops_history_check, or OPS_EFAIL
 * (the store failed).  ops_history_free() always. */
int ops_history_read(const struct ops_actor *a, struct store *s,
    const struct conf *c, enum store_hist_by by, const char *key,
    bool all_nodes, struct ops_history *h, struct ops_status *st);
void ops_history_free(struct ops_history *h);
/* "delivered", "bounced", "expired", "deleted", "pending" (the last
 * attempt deferred) or "queued" (none yet) for r. */
const char *ops_history_outcome(const struct ops_history_rcpt *r);
/* Whether the history names message id (for merging with the log). */
bool ops_history_has(const struct ops_history *h, const char *id);

#endif
