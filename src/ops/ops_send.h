/* Outbound abuse control operations (ops.h): sending limit overrides,
 * send-hold and send-release of a user (its queued mail held with it,
 * the domain's postmaster told), domain suspension, and what is known
 * about a sender.  The decisions live in auth/sendlimit.h; these
 * functions block (store, spool, the queue role's control socket): call
 * them from the CLI or a worker thread.
 *
 * Scope: a postmaster may hold, release and set limits for the users of
 * its domains; domain limits and suspension are for admins; a user may
 * only look at their own account (ops_send_info). */
#ifndef FERRY_OPS_SEND_H
#define FERRY_OPS_SEND_H
#include <stdbool.h>
#include <stdint.h>

#include "ops/ops_account.h"
#include "store/store.h"

#define OPS_SEND_KEEP (-2)	/* a limit left as it is */

struct ops_send_info {
	char subject[320];		/* the address or domain */
	bool is_user;
	struct store_send_limits override;	/* -1: default */
	int64_t msgs_limit, rcpts_limit;	/* effective, 0 = none */
	int64_t msgs_hour, rcpts_day;		/* counted so far */
	int64_t bounces_day, spam_day;
	double normal;			/* learnt messages per active hour */
	int64_t active_hours;
	int64_t stop_at;		/* messages an hour that stop it (0: off) */
	bool held;			/* users */
	struct store_send_hold hold;
	bool suspended;			/* domains */
	int64_t suspended_since;
};

struct ops_send_hold_result {
	size_t messages;		/* queued messages held or released */
	bool changed;			/* false: it was already so */
	char notice_id[64];		/* the postmaster notice's queue id, or "" */
	char notice_error[256];		/* why no notice went, or "" */
};

/* Sets the overrides of a user (an address) or a domain: each value
 * OPS_SEND_KEEP, -1 (back to the default), 0 (no limit) or a limit. */
int ops_send_limits_set(const struct ops_ctx *c, const char *input,
    int64_t msgs_hour, int64_t rcpts_day, struct ops_status *st);
/* Limits, counters and state of a user or domain. */
int ops_send_info(const struct ops_ctx *c, const char *input,
    struct ops_send_info *out, struct ops_status *st);
/* Stops a user's sending: new submissions are refused, its queued mail
 * is held, the domain's postmaster gets a notice.  reason may be NULL. */
int ops_user_send_hold(const struct ops_ctx *c, const char *input,
    const char *reason, struct ops_send_hold_result *r,
    struct ops_status *st);
/* Lifts a send-hold and releases the mail that it held. */
int ops_user_send_release(const struct ops_ctx *c, const char *input,
    struct ops_send_hold_result *r, struct ops_status *st);
/* After the automatic stop held address in the store (sendlimit.h):
 * holds its queued mail and sends the notice.  For the roles' workers;
 * in_queue_role: change the spool directly instead of asking the queue
 * role's control socket. */
int ops_send_stopped(const struct ops_ctx *c, const char *address,
    const char *reason, bool in_queue_role, struct ops_send_hold_result *r,
    struct ops_status *st);
/* Suspends or resumes a domain: while suspended its inbound mail is
 * refused with 4xx and its users' logins are refused; nothing is
 * deleted.  -1 OPS_EREFUSED when it already is in that state. */
int ops_domain_suspend(const struct ops_ctx *c, const char *input,
    const char *reason, struct ops_status *st);
int ops_domain_resume(const struct ops_ctx *c, const char *input,
    struct ops_status *st);

#endif
