/* The queue's delivery history (store.h, "delivery history"): each
 * message's arrival and each attempt per recipient, buffered in memory
 * by whichever thread saw it and written by one pool job at a time, in
 * one transaction per batch, on a store connection of its own; pruned
 * after history_keep.  Writing never delays mail: recording only copies
 * into the buffer (a mutex, no I/O), a failed write is logged and its
 * batch kept for the next try while there is room, and past the buffer's
 * bound records are dropped (counted in one warning).  Messages that
 * smtpd delivered straight into local Maildirs never reach the queue and
 * have no history here; the log keeps their `smtp accepted` line. */
#ifndef FERRY_QUEUE_HISTORY_H
#define FERRY_QUEUE_HISTORY_H
#include <stdbool.h>
#include <time.h>

struct conf;
struct spool_env;
struct spool_rcpt;
struct store_hist_attempt;
struct workpool;

#define QUEUE_HISTORY_MAX 20000		/* records buffered at most */

struct queue_history;

/* The writer for the store at db_path, its jobs on pool (borrowed, must
 * outlive every job: free this after workpool_free()).  With publish
 * (a store shared by nodes), the same jobs also publish a summary of
 * the spool at spool_dir (store_queue_publish: id, sender, pending
 * recipients, next attempt, held) when the queue changed, at most every
 * QUEUE_SUMMARY_MIN seconds, and at least every QUEUE_SUMMARY_MAX. */
#define QUEUE_SUMMARY_MIN 2
#define QUEUE_SUMMARY_MAX 60
struct queue_history *queue_history_create(struct workpool *pool,
    const char *db_path, const char *spool_dir, bool publish);
/* Writes what is still buffered (blocks; at shutdown) and frees. */
void queue_history_free(struct queue_history **hp);

/* Any thread.  The arrival of env (id, sender, every recipient, client,
 * size) as node. */
void queue_history_arrival(struct queue_history *h, const struct conf *c,
    const struct spool_env *env);
/* Any thread.  One attempt or outcome; a->id, rcpt, result and reply at
 * least; a->node, at and seq are filled here. */
void queue_history_attempt(struct queue_history *h, const struct conf *c,
    struct store_hist_attempt *a);
/* The attempt record for recipient r of env as it stands after the
 * attempt (result, reply, next attempt and give-up time from r's state
 * and c's queue_lifetime), into *a (zeroed first); route and host as
 * given ("" when unknown). */
void queue_history_fill(struct store_hist_attempt *a, const struct conf *c,
    const struct spool_env *env, const struct spool_rcpt *r,
    const char *result, const char *reply, const char *route,
    const char *host);

/* The records of an operator's change (route "operator"): one for each
 * recipient that was pending in before and is not in after (after NULL:
 * the message was deleted, result "deleted"; else "bounced" with the
 * recipient's new last error).  actor names who did it.  The number of
 * records, in *v (malloc'd, free() it; NULL when none).  The running
 * queue (queue_control.c) and the command line's offline edits
 * (cmd_queue.c) record the same rows. */
size_t queue_history_operator(const struct conf *c, const char *actor,
    const struct spool_env *before, const struct spool_env *after,
    struct store_hist_attempt **v);

/* Loop thread: the queue changed (a message came, went, or was tried). */
void queue_history_changed(struct queue_history *h);
/* Loop thread, about once a second: starts a write of what is buffered
 * (and a prune every so often) when no write is under way. */
void queue_history_tick(struct queue_history *h, const struct conf *c,
    time_t now);

#endif
