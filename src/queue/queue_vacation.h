/* The queue role's vacation replies: after a local delivery to a user
 * whose vacation reply is on (store_user.vacation), decide with
 * vacation.h whether to answer, claim the sender in the store (once per
 * period), and commit the reply to the spool as a new message with the
 * null sender, DKIM-signed when the From domain has a key.  Blocks on
 * the store and the disk: worker threads only. */
#ifndef FERRY_QUEUE_VACATION_H
#define FERRY_QUEUE_VACATION_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/ids.h"

struct conf;
struct dkim_keyring;
struct spool_env;
struct spool_rcpt;
struct store;

/* The envelope protocol of a vacation reply (spool_env.protocol). */
#define QUEUE_VACATION_PROTO "AUTOREPLY"

struct queue_vacation {
	struct store *store;		/* open; used under lock */
	pthread_mutex_t *lock;
	const struct conf *conf;	/* hostname, address rules */
	const char *spool_dir;
	const struct dkim_keyring *dkim;	/* NULL: no signing */
	/* As bounce_queue's: true when addr is a local mailbox. */
	bool (*is_local)(const char *addr, char *mailbox, size_t size,
	    void *ctx);
	void *ctx;
};

/* Recipient r of env was delivered to the mailbox of user (content in
 * fd).  1 when a reply was queued (its id in id_r), 0 when none is due
 * (the reason is logged), -1 on an error (logged; the delivery stands). */
int queue_vacation_run(const struct queue_vacation *v,
    const struct spool_env *env, const struct spool_rcpt *r,
    const char *user, int fd, time_t now, char id_r[IDS_LEN + 1]);

#endif
