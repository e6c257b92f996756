/* Outbound abuse control operations (ops_send.h).  A send-hold is a row
 * in the store (which smtpd reads at every MAIL FROM of the user) plus
 * the user's queued mail held in the spool: asked of the running queue
 * role over its control socket (verb hold-user), or done on the files
 * when no server runs.  The postmaster's notice is an ordinary message
 * from the null sender committed to the spool, so it is delivered (or
 * relayed) like any other and cannot bounce back. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sendlimit.h"
#include "conf/conf.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "ops/ops_notice.h"
#include "ops/ops_queue.h"
#include "ops/ops_send.h"
#include "queue/queue_control.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/resolve.h"

#define OPS_SEND_CTL_TIMEOUT_MS 60000

static const char *
ops_send_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

/* A user looking at their own account (ops_check_mailbox), which
 * ops_user_check() does not allow: it is for managing users. */
static int
ops_send_own(const struct ops_ctx *c, const char *input, char *dst,
    size_t size, struct ops_status *st)
{
	struct store_user u;
	const char *error;
	int r;

	if (resolve_parse_mailbox(&c->ropts, input, dst, size, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_mailbox(c->actor, dst, st) < 0)
		return -1;
	r = store_user_get(c->store, dst, &u);
	explicit_bzero(&u, sizeof(u));
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", dst);
	if (r == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such user", dst);
	return ops_ok(st);
}

/* input as a user (has '@': must exist, in scope; a user may look at
 * their own) or a domain (must exist; admins only unless just
 * looking).  0 or -1. */
static int
ops_send_subject(const struct ops_ctx *c, const char *input, bool change,
    char *dst, size_t size, bool *is_user, struct ops_status *st)
{
	*is_user = strchr(input, '@') != NULL;
	if (*is_user && !change && c->actor->role == OPS_USER)
		return ops_send_own(c, input, dst, size, st);
	if (*is_user)
		return ops_user_check(c, input, dst, size, st);
	if (ops_domain_arg(c, input, dst, size, st) < 0)
		return -1;
	return change ? ops_check_admin(c->actor, dst, st) : 0;
}

static int
ops_send_limit_ok(int64_t v)
{
	return v == OPS_SEND_KEEP || v == -1 || (v >= 0 && v <= 100000000);
}

int
ops_send_limits_set(const struct ops_ctx *c, const char *input,
    int64_t msgs_hour, int64_t rcpts_day, struct ops_status *st)
{
	struct store_send_limits l;
	char subject[320];
	const char *error;
	bool is_user;

	if (!ops_send_limit_ok(msgs_hour) || !ops_send_limit_ok(rcpts_day))
		return ops_fail(st, OPS_EINVAL, "%s: a limit is a number from "
		    "0 (none) to 100000000, or \"default\"", input);
	if (ops_send_subject(c, input, true, subject, sizeof(subject),
	    &is_user, st) < 0)
		return -1;
	if (store_send_limits_get(c->store, subject, &l) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", subject);
	if (msgs_hour != OPS_SEND_KEEP)
		l.msgs_hour = msgs_hour;
	if (rcpts_day != OPS_SEND_KEEP)
		l.rcpts_day = rcpts_day;
	if (store_send_limits_set(c->store, subject, &l, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", subject, error);
	return ops_ok(st);
}

int
ops_send_info(const struct ops_ctx *c, const char *input,
    struct ops_send_info *out, struct ops_status *st)
{
	struct sendlimit_cfg cfg;
	struct store_send_view v;
	const struct store_send_stats *s;
	const char *error;
	int64_t now = time(NULL);
	char probe[330];

	memset(out, 0, sizeof(*out));
	if (ops_send_subject(c, input, false, out->subject,
	    sizeof(out->subject), &out->is_user, st) < 0)
		return -1;
	sendlimit_cfg_get(c->conf, &cfg);
	/* A domain's view is read through a name in it: the domain part
	 * of the view is the same for every user. */
	snprintf(probe, sizeof(probe), "%s%s", out->is_user ? "" :
	    "-@", out->subject);
	if (store_send_view(c->store, probe, now, (int64_t)cfg.learn_days * 24,
	    &v, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", out->subject, error);
	s = out->is_user ? &v.user : &v.dom;
	out->override = out->is_user ? v.user_lim : v.dom_lim;
	out->msgs_limit = sendlimit_effective(out->override.msgs_hour,
	    out->is_user ? cfg.user_msgs : cfg.dom_msgs);
	out->rcpts_limit = sendlimit_effective(out->override.rcpts_day,
	    out->is_user ? cfg.user_rcpts : cfg.dom_rcpts);
	out->msgs_hour = sendlimit_msgs_hour(s, now);
	out->rcpts_day = s->rcpts_day;
	out->bounces_day = s->bounces_day;
	out->spam_day = s->spam_day;
	out->normal = sendlimit_normal(s);
	out->active_hours = s->active_hours;
	out->stop_at = out->is_user ? sendlimit_stop_threshold(&cfg, s) : 0;
	out->held = out->is_user && v.held;
	out->hold = v.hold;
	out->suspended = v.suspended;
	if (v.suspended)
		(void)store_domain_suspended(c->store, v.domain,
		    &out->suspended_since);
	return ops_ok(st);
}

/* ---- the queued mail ---- */

/* Holds or releases user's queued mail through the queue role, or on
 * the files when no server runs.  0 (*n_r set) or -1. */
static int
ops_send_queue_files(const struct ops_ctx *c, const char *user, bool hold,
    const char *reason, size_t *n_r, struct ops_status *st)
{
	struct ops_queue_ids wake = { NULL, 0, 0 };
	char spool[PATH_MAX];
	int r;

	if (conf_state_path(c->conf, spool, sizeof(spool), FERRY_SPOOL_DIR) < 0)
		return ops_fail(st, OPS_EFAIL, "state_dir too long");
	r = ops_queue_hold_user(c->actor, spool, user, hold, reason, n_r,
	    &wake, st);
	for (size_t i = 0; i < wake.n; i++)
		queue_notify(c->conf->state_dir, wake.v[i]);
	ops_queue_ids_free(&wake);
	return r;
}

static int
ops_send_queue(const struct ops_ctx *c, const char *user, bool hold,
    const char *reason, size_t *n_r, struct ops_status *st)
{
	struct control_arg args[2] = { { "user", user }, { "reason", reason } };
	struct control_answer ans;
	char ctl[PATH_MAX];
	const char *error;
	long long n;
	int r;

	*n_r = 0;
	if (conf_state_path(c->conf, ctl, sizeof(ctl), QUEUE_CONTROL_SOCK) < 0)
		return ops_fail(st, OPS_EFAIL, "state_dir too long");
	if (control_call(ctl, hold ? "hold-user" : "release-user", args,
	    hold ? 2 : 1, OPS_SEND_CTL_TIMEOUT_MS, &ans, &error) == 0) {
		r = ans.status == CONTROL_OK ? 0 : -1;
		if (r < 0)
			ops_fail(st, OPS_EFAIL, "queue: %s", fbuf_str(&ans.body));
		n = ops_queue_unwire_count(fbuf_str(&ans.body), ans.body.len,
		    "changed");
		*n_r = n > 0 ? (size_t)n : 0;
		fbuf_release(&ans.body);
		return r < 0 ? -1 : ops_ok(st);
	}
	fbuf_release(&ans.body);
	if (!control_errno_down(errno))
		return ops_fail(st, OPS_EFAIL, "queue role at %s: %s", ctl,
		    error);
	return ops_send_queue_files(c, user, hold, reason, n_r, st);
}

/* ---- the postmaster's notice ---- */

/* Queues the notice to the postmaster of user's domain. */
static int
ops_send_notice(const struct ops_ctx *c, const char *user,
    const char *reason, size_t held, struct ops_send_hold_result *r)
{
	char subject[400];
	struct ops_notice n = { ops_send_domain_of(user), subject, NULL,
		"send-hold", NULL };
	struct fbuf body;
	int rc;

	snprintf(subject, sizeof(subject), "Sending stopped for %s", user);
	fbuf_init(&body, 0);
	fbuf_addf(&body, "Sending from %s has been stopped on %s.\n\n"
	    "Reason: %s\n\nNew mail from this account is refused, and %zu "
	    "queued message%s from it %s held.\n\nSee what it sent:\n"
	    "    ferry why --user %s\nLet it send again (and release the "
	    "held mail):\n    ferry user send-release %s\n", user,
	    c->conf->hostname, reason, held, held == 1 ? "" : "s",
	    held == 1 ? "is" : "are", user, user);
	n.body = fbuf_str(&body);
	_Static_assert(sizeof(r->notice_id) >= OPS_NOTICE_ID_MAX, "id");
	_Static_assert(sizeof(r->notice_error) >= OPS_NOTICE_ERROR_MAX, "e");
	rc = ops_notice_postmaster(c, &n, r->notice_id, r->notice_error);
	fbuf_release(&body);
	return rc;
}

/* ---- holds ---- */

int
ops_send_stopped(const struct ops_ctx *c, const char *address,
    const char *reason, bool in_queue_role, struct ops_send_hold_result *r,
    struct ops_status *st)
{
	char why[300];
	int rc;

	snprintf(why, sizeof(why), "%s: %s", OPS_QUEUE_SEND_HOLD, reason);
	/* The queue role itself changes the files (asking its own socket
	 * from one of its workers could wait for that very worker). */
	rc = in_queue_role ?
	    ops_send_queue_files(c, address, true, why, &r->messages, st) :
	    ops_send_queue(c, address, true, why, &r->messages, st);
	if (rc < 0)
		str_lcpy(r->notice_error, st->text, sizeof(r->notice_error));
	(void)ops_send_notice(c, address, reason, r->messages, r);
	return ops_ok(st);
}

int
ops_user_send_hold(const struct ops_ctx *c, const char *input,
    const char *reason, struct ops_send_hold_result *r,
    struct ops_status *st)
{
	char addr[320], why[256];
	const char *error;
	int rc;

	memset(r, 0, sizeof(*r));
	if (ops_user_check(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	snprintf(why, sizeof(why), "held by %s%s%s", c->actor->name != NULL ?
	    c->actor->name : "the postmaster", reason != NULL ? ": " : "",
	    reason != NULL ? reason : "");
	rc = store_send_hold_set(c->store, addr, time(NULL), false, why,
	    &error);
	if (rc < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	r->changed = rc == 1;
	/* Held already: the queue is held again (mail accepted before the
	 * first hold took effect), but nobody is told twice. */
	if (!r->changed) {
		snprintf(why, sizeof(why), "%s: held again", OPS_QUEUE_SEND_HOLD);
		return ops_send_queue(c, addr, true, why, &r->messages, st);
	}
	return ops_send_stopped(c, addr, why, false, r, st);
}

int
ops_user_send_release(const struct ops_ctx *c, const char *input,
    struct ops_send_hold_result *r, struct ops_status *st)
{
	char addr[320];
	const char *error;
	int rc;

	memset(r, 0, sizeof(*r));
	if (ops_user_check(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	rc = store_send_hold_del(c->store, addr, time(NULL), &error);
	if (rc < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	r->changed = rc == 1;
	if (ops_send_queue(c, addr, false, NULL, &r->messages, st) < 0)
		return -1;
	if (!r->changed && r->messages == 0)
		return ops_fail(st, OPS_EREFUSED, "%s: not on send-hold", addr);
	return ops_ok(st);
}

/* ---- domains ---- */

int
ops_domain_suspend(const struct ops_ctx *c, const char *input,
    const char *reason, struct ops_status *st)
{
	char domain[256];
	const char *error;
	int rc;

	if (ops_domain_arg(c, input, domain, sizeof(domain), st) < 0 ||
	    ops_check_admin(c->actor, domain, st) < 0)
		return -1;
	rc = store_domain_suspend(c->store, domain, time(NULL),
	    reason != NULL ? reason : "", &error);
	if (rc < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", domain, error);
	if (rc == 0)
		return ops_fail(st, OPS_EREFUSED, "%s: suspended already",
		    domain);
	return ops_ok(st);
}

int
ops_domain_resume(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	char domain[256];
	const char *error;
	int rc;

	if (ops_domain_arg(c, input, domain, sizeof(domain), st) < 0 ||
	    ops_check_admin(c->actor, domain, st) < 0)
		return -1;
	rc = store_domain_resume(c->store, domain, &error);
	if (rc < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", domain, error);
	if (rc == 0)
		return ops_fail(st, OPS_EREFUSED, "%s: not suspended", domain);
	return ops_ok(st);
}
