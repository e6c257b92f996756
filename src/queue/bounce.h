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

/* The recipient's last_error as the queue role writes it and the DSN
 * reads it (bounce_parse_diag):
 *   [HOST[ [ADDR]]: ][NNN[ -]][X.Y.Z ]text
 * HOST (a name with a dot, or a [literal]) is the remote MTA that gave
 * the reply or the error; NNN marks the text as a remote SMTP reply
 * (Diagnostic-Code: smtp); X.Y.Z is the RFC 3463 status.  Examples:
 *   "mx1.example.net [192.0.2.1]: 550 5.1.1 <b@example.net>: no user"
 *   "mx1.example.net [192.0.2.1]: 4.4.1 connection timed out"
 *   "4.4.1 TLS handshake timed out", "5.1.1 user unknown" */
struct bounce_diag {
	char status[16];	/* "5.1.1"; 5.0.0 / 4.0.0 by kind if absent */
	char host[256];		/* "mx1.example.net" or "[192.0.2.1]" or "" */
	char addr[64];		/* "192.0.2.1" or "" */
	const char *reply;	/* into the text: "550 ..." or NULL */
	const char *text;	/* into the text: after "HOST: " */
};

/* Parses last_error (NULL: nothing known) for a DSN of this kind.  The
 * pointers in d borrow from last_error. */
void bounce_parse_diag(const char *last_error, enum bounce_kind kind,
    struct bounce_diag *d);

/* A DSN's envelope protocol (spool_env.protocol) marks it as ours, a
 * thing no SMTP client can forge (header markers could be): a DSN to a
 * sender says BOUNCE_PROTO, its one copy to postmaster BOUNCE_PROTO_PM.
 * Its content also carries "X-Ferry-DSN: yes|postmaster" for people. */
#define BOUNCE_PROTO "DSN"
#define BOUNCE_PROTO_PM "DSN-postmaster"

/* Queues the DSN for env (the original content is read from the spool)
 * as a new message committed with spool_writer_commit(): returns 1 with
 * its id in id_r, 0 when no DSN is due (null sender, or a DSN about a
 * DSN that already went to postmaster, a delay warning about a DSN:
 * logged by the caller), -1 on error (errno; EINVAL for an index out of
 * range).  A failed DSN (sender "" and protocol BOUNCE_PROTO) is
 * reported to p->postmaster instead (none when NULL or "").  The DSN has
 * one recipient: is_local (may be NULL: remote) returns true when the
 * address is a local mailbox and writes its canonical address into
 * mailbox (as resolve_rcpt() would decide); false means remote. */
int bounce_queue(const struct bounce_params *p, const struct spool_env *env,
    bool (*is_local)(const char *addr, char *mailbox, size_t size, void *ctx),
    void *ctx, char id_r[IDS_LEN + 1]);

#endif
