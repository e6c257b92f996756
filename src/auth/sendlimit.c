/* Decisions of outbound abuse control (sendlimit.h) over the store's
 * counters.  A message is counted when its MAIL FROM is accepted and a
 * recipient when its RCPT TO is, inside the transaction that checked the
 * limit, so two sessions of one account can never both take the last
 * slot.  A transaction given up later still counts: the limits bound
 * what was attempted, which is what an abuser controls. */
#include <stdio.h>
#include <string.h>

#include "auth/sendlimit.h"
#include "conf/conf.h"
#include "lib/strutil.h"

void
sendlimit_cfg_get(const struct conf *c, struct sendlimit_cfg *cfg)
{
	cfg->user_msgs = c->send_limit_msgs_hour;
	cfg->user_rcpts = c->send_limit_rcpts_day;
	cfg->dom_msgs = c->domain_send_limit_msgs_hour;
	cfg->dom_rcpts = c->domain_send_limit_rcpts_day;
	cfg->stop_factor = c->send_stop_factor;
	cfg->stop_min = c->send_stop_min;
	cfg->learn_days = c->send_stop_learn_days;
	cfg->stop_bounces = c->send_stop_bounces;
	cfg->stop_spam = c->send_stop_spam;
}

int64_t
sendlimit_effective(int64_t override, unsigned dflt)
{
	return override >= 0 ? override : (int64_t)dflt;
}

int64_t
sendlimit_msgs_hour(const struct store_send_stats *st, int64_t now)
{
	int64_t into = now % 3600;

	/* The previous hour weighs by the part of it still inside the
	 * sliding hour (as policy_track.c estimates connection rates). */
	return st->msgs_cur + (st->msgs_prev * (3600 - into)) / 3600;
}

double
sendlimit_normal(const struct store_send_stats *st)
{
	if (st->active_hours <= 0)
		return 0;
	return (double)st->msgs_hist / (double)st->active_hours;
}

int64_t
sendlimit_stop_threshold(const struct sendlimit_cfg *cfg,
    const struct store_send_stats *st)
{
	int64_t t = 0;

	if (cfg->stop_factor == 0)
		return 0;
	/* factor times the mean, rounded up, in integers */
	if (st->active_hours > 0)
		t = (st->msgs_hist * (int64_t)cfg->stop_factor +
		    st->active_hours - 1) / st->active_hours;
	return t > (int64_t)cfg->stop_min ? t : (int64_t)cfg->stop_min;
}

struct sendlimit_call {
	const struct sendlimit_cfg *cfg;
	enum store_send_count what;
	int64_t now;
	struct sendlimit_result *r;
};

/* Over limit when count + 1 would pass it. */
static bool
sendlimit_over(struct sendlimit_result *r, const char *scope,
    const char *what, int64_t count, int64_t limit)
{
	if (limit <= 0 || count + 1 <= limit)
		return false;
	r->v = SENDLIMIT_LIMIT;
	r->scope = scope;
	r->what = what;
	r->count = count;
	r->limit = limit;
	return true;
}

/* Messages: the hold, the suspension, both limits, then the burst. */
static void
sendlimit_decide_msg(const struct store_send_view *v,
    struct store_send_action *a, struct sendlimit_call *c)
{
	const struct sendlimit_cfg *cfg = c->cfg;
	struct sendlimit_result *r = c->r;
	int64_t n = sendlimit_msgs_hour(&v->user, c->now);
	int64_t stop = sendlimit_stop_threshold(cfg, &v->user);

	if (sendlimit_over(r, "user", "messages per hour", n,
	    sendlimit_effective(v->user_lim.msgs_hour, cfg->user_msgs)) ||
	    sendlimit_over(r, "domain", "messages per hour",
	    sendlimit_msgs_hour(&v->dom, c->now),
	    sendlimit_effective(v->dom_lim.msgs_hour, cfg->dom_msgs)))
		return;
	/* A send-release forgives the hour that stopped the account. */
	if (stop > 0 && n + 1 > stop && c->now - v->released >=
	    SENDLIMIT_RELEASE_GRACE_VOLUME) {
		r->v = SENDLIMIT_STOPPED;
		snprintf(r->reason, sizeof(r->reason), "sudden volume: %lld "
		    "messages in the last hour, normal %.1f an hour, stop "
		    "at %lld", (long long)(n + 1), sendlimit_normal(&v->user),
		    (long long)stop);
		a->hold = true;
		str_lcpy(a->hold_reason, r->reason, sizeof(a->hold_reason));
		return;
	}
	a->count = true;
}

/* Bounces and spam verdicts always count; past the day's threshold the
 * account stops. */
static void
sendlimit_decide_note(const struct store_send_view *v,
    struct store_send_action *a, struct sendlimit_call *c)
{
	bool bounce = c->what == STORE_SEND_BOUNCE;
	unsigned max = bounce ? c->cfg->stop_bounces : c->cfg->stop_spam;
	int64_t n = (bounce ? v->user.bounces_day : v->user.spam_day) + 1;

	a->count = true;
	if (max == 0 || n < max || v->held ||
	    c->now - v->released < SENDLIMIT_RELEASE_GRACE_NOTES)
		return;
	c->r->v = SENDLIMIT_STOPPED;
	snprintf(c->r->reason, sizeof(c->r->reason), "%lld %s in 24 hours "
	    "(stop at %u)", (long long)n, bounce ? "bounces" :
	    "spam verdicts", max);
	a->hold = true;
	str_lcpy(a->hold_reason, c->r->reason, sizeof(a->hold_reason));
}

static void
sendlimit_decide(const struct store_send_view *v, struct store_send_action *a,
    void *ctx)
{
	struct sendlimit_call *c = ctx;
	const struct sendlimit_cfg *cfg = c->cfg;

	if (c->what == STORE_SEND_BOUNCE || c->what == STORE_SEND_SPAM) {
		sendlimit_decide_note(v, a, c);
		return;
	}
	if (v->held) {
		c->r->v = SENDLIMIT_HELD;
		str_lcpy(c->r->reason, v->hold.reason, sizeof(c->r->reason));
		return;
	}
	if (v->suspended) {
		c->r->v = SENDLIMIT_SUSPENDED;
		return;
	}
	if (c->what == STORE_SEND_MSG) {
		sendlimit_decide_msg(v, a, c);
		return;
	}
	if (sendlimit_over(c->r, "user", "recipients per day",
	    v->user.rcpts_day,
	    sendlimit_effective(v->user_lim.rcpts_day, cfg->user_rcpts)) ||
	    sendlimit_over(c->r, "domain", "recipients per day",
	    v->dom.rcpts_day,
	    sendlimit_effective(v->dom_lim.rcpts_day, cfg->dom_rcpts)))
		return;
	a->count = true;
}

void
sendlimit_reserve(struct store *s, const struct sendlimit_cfg *cfg,
    const char *address, enum store_send_count what, int64_t now,
    struct sendlimit_result *r)
{
	struct sendlimit_call c = { cfg, what, now, r };
	struct store_send_action a;
	const char *error = "store failed";

	memset(r, 0, sizeof(*r));
	if (store_send_reserve(s, address, what, now,
	    (int64_t)cfg->learn_days * 24, sendlimit_decide, &c, &a,
	    &error) < 0) {
		memset(r, 0, sizeof(*r));
		r->v = SENDLIMIT_ERROR;
		r->error = error;
		return;
	}
	r->held_now = a.held_now;
}
