/* DMARC aggregate reports arriving by mail, in the queue role: after a
 * message is delivered to a local mailbox, the reports attached to it
 * are read into the store (ops/ops_dmarc_in.h) when the mailbox is one
 * of dmarc_report_mailboxes, or, with that list empty, when the Subject
 * is a report's.  The mail stays delivered whatever the reading finds.
 * smtpd asks queue_dmarc_in_wanted() too, so that such mail goes
 * through the queue rather than straight to the mailbox. */
#ifndef FERRY_QUEUE_DMARC_IN_H
#define FERRY_QUEUE_DMARC_IN_H
#include <pthread.h>
#include <stdbool.h>

struct conf;
struct event_base;
struct spool_env;
struct store;
struct workpool;

#define QUEUE_DMARC_IN_MAX (32u << 20)	/* larger mail is not read */

/* Whether mail to the local address addr is to be read for reports:
 * reading is on, and addr is listed, or the list is empty and
 * report_subject (the Subject begins "Report Domain:"). */
bool queue_dmarc_in_wanted(const struct conf *c, const char *addr,
    bool report_subject);

/* After a delivery of env's message (content in fd) to addr, on a
 * worker thread: reads and stores its reports when wanted, and logs
 * each; true when it was wanted (read once a message is enough).  lock
 * guards s (shared by the workers). */
bool queue_dmarc_in_deliver(const struct conf *c, pthread_mutex_t *lock,
    struct store *s, const struct spool_env *env, const char *addr, int fd);

/* The daily pruning of the DMARC tables (store_dmarc_prune(), older
 * than dmarc_keep): the first run QUEUE_DMARC_PRUNE_FIRST seconds after
 * start, then every day, on a worker of pool.  The role's store
 * connection *storep (opened from db_path when still NULL) is used
 * under lock; *confp is read on the loop at each run. */
#define QUEUE_DMARC_PRUNE_FIRST 2
struct queue_dmarc_prune;
struct queue_dmarc_prune *queue_dmarc_prune_start(struct event_base *base,
    struct workpool *pool, pthread_mutex_t *lock, struct store **storep,
    const char *db_path, const struct conf *const *confp);
/* After the pool is freed (no job of it running). */
void queue_dmarc_prune_stop(struct queue_dmarc_prune **pp);

#endif
