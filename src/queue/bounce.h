/* Delivery status notifications (RFC 3464 multipart/report, RFC 3462):
 * the bounce for recipients that failed for good, and the delay warning
 * for mail still queued after delay_warning.  A DSN is From
 * MAILER-DAEMON@hostname with the null sender, goes to the envelope
 * sender, names each failed recipient with the remote host and its reply
 * or the last error, says whether the server gives up, and includes the
 * original headers (not the body).  No DSN is ever sent to the null
 * sender; a DSN that itself fails is sent once to postmaster (flagged so
 * that its own failure is only logged).  Blocks on the disk: worker
 * threads only. */
#ifndef FERRY_BOUNCE_H
#define FERRY_BOUNCE_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/ids.h"

struct spool_env;

enum bounce_kind {
	BOUNCE_FAILURE,		/* permanent failure or queue_lifetime reached */
	BOUNCE_DELAY		/* delay warning: still trying */
};

struct bounce_params {
	const char *spool_dir;
	const char *hostname;		/* for From: and Reporting-MTA */
	const char *postmaster;		/* "postmaster@hostname" or similar */
	enum bounce_kind kind;
	/* Which recipients of env the DSN reports: indices into env->rcpts. */
	const size_t *rcpts;
	size_t nrcpts;
	/* For BOUNCE_DELAY, how long the message has been queued so far
	 * and how long it will still be tried (seconds). */
	unsigned long queued_for, will_try_for;
};

/* Queues the DSN for env (the original content is read from the spool)
 * as a new message committed with spool_writer_commit(): returns 1 with
 * its id in id_r, 0 when no DSN is due (null sender, or a DSN about a
 * DSN that already went to postmaster: logged by the caller), -1 on
 * error (errno).  The new message's recipients are remote or local as
 * resolve_rcpt() decides; callers pass a resolver via is_local. */
int bounce_queue(const struct bounce_params *p, const struct spool_env *env,
    bool (*is_local)(const char *addr, char *mailbox, size_t size, void *ctx),
    void *ctx, char id_r[IDS_LEN + 1]);

#endif
