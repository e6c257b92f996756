/* Outbound abuse control in the SMTP session (auth/sendlimit.h): at MAIL
 * FROM of an authenticated user one store request checks the send-hold,
 * the domain's suspension and the per-hour message limits, and counts
 * the message; each RCPT of such a session counts its recipient inside
 * the recipient lookup (smtp_lookup.c) and is refused here past the
 * per-day limit.  When the message count trips the automatic stop, the
 * same worker job holds the user's queued mail and sends the postmaster
 * the notice (ops_send.h) before the session hears 550.  Refusals are
 * logged as `smtp reject` with check= send_hold, send_stop,
 * send_limit or suspended, so `ferry why` finds them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sendlimit.h"
#include "conf/conf.h"
#include "ferry.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_send.h"
#include "queue/spool.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

struct smtp_send_job {
	char user[320];
	struct sendlimit_cfg cfg;
	const struct conf *conf;	/* a reference, for the stop */
	struct sendlimit_result r;
	struct ops_send_hold_result stop;
};

/* The automatic stop, on the worker: the queued mail and the notice. */
static void
smtp_send_stop(struct store *conn, struct smtp_send_job *j)
{
	struct ops_actor a;
	struct ops_ctx c;
	struct ops_status st;

	ops_actor_cli(&a);
	a.name = "smtpd";
	memset(&c, 0, sizeof(c));
	c.actor = &a;
	c.store = conn;
	c.conf = j->conf;
	c.ropts.case_sensitive_local = j->conf->local_part_case_sensitive;
	c.ropts.delimiter = j->conf->recipient_delimiter;
	(void)ops_send_stopped(&c, j->user, j->r.reason, false, &j->stop,
	    &st);
}

static void
smtp_send_work(struct store *conn, void *data)
{
	struct smtp_send_job *j = data;

	if (conn == NULL) {
		j->r.v = SENDLIMIT_ERROR;
		j->r.error = "no store connection";
		return;
	}
	sendlimit_reserve(conn, &j->cfg, j->user, STORE_SEND_MSG, time(NULL),
	    &j->r);
	if (j->r.v == SENDLIMIT_STOPPED && j->r.held_now)
		smtp_send_stop(conn, j);
}

/* The refusal of a MAIL FROM, replied and logged.  False when none. */
static bool
smtp_send_refuse_mail(struct smtp_session *s, const struct smtp_send_job *j)
{
	const struct sendlimit_result *r = &j->r;

	switch (r->v) {
	case SENDLIMIT_HELD:
	case SENDLIMIT_STOPPED:
		if (r->v == SENDLIMIT_STOPPED)
			log_warnx("%s smtp send-stop user=%s reason=%s "
			    "held_messages=%zu notice=%s%s%s", s->id,
			    log_q(j->user), log_q(r->reason), j->stop.messages,
			    j->stop.notice_id[0] != '\0' ? j->stop.notice_id :
			    "none", j->stop.notice_error[0] != '\0' ?
			    " notice_error=" : "", j->stop.notice_error[0] !=
			    '\0' ? log_q(j->stop.notice_error) : "");
		log_info("%s smtp reject stage=mail from=<%s> user=%s code=550 "
		    "dsn=5.7.1 check=%s reason=%s", s->id, s->tx->sender,
		    log_q(j->user), r->v == SENDLIMIT_HELD ? "send_hold" :
		    "send_stop", log_q(r->reason));
		smtp_session_reply(s, "550 5.7.1 Sending from %s is stopped "
		    "(%s); contact your postmaster", j->user, r->reason);
		return true;
	case SENDLIMIT_SUSPENDED:
		log_info("%s smtp reject stage=mail from=<%s> user=%s code=451 "
		    "dsn=4.7.1 check=suspended reason=\"domain suspended\"",
		    s->id, s->tx->sender, log_q(j->user));
		smtp_session_reply(s, "451 4.7.1 The domain of %s is "
		    "suspended, try again later", j->user);
		return true;
	case SENDLIMIT_LIMIT:
		smtp_send_limit_reply(s, "mail", j->user, r);
		return true;
	case SENDLIMIT_ERROR:
		log_warnx("%s smtp send-limit-error user=%s error=%s", s->id,
		    log_q(j->user), log_q(r->error));
		return false;
	default:
		return false;
	}
}

void
smtp_send_limit_reply(struct smtp_session *s, const char *stage,
    const char *user, const struct sendlimit_result *r)
{
	log_info("%s smtp reject stage=%s from=<%s> user=%s code=451 "
	    "dsn=4.7.1 check=send_limit limit=%s scope=%s count=%lld max=%lld "
	    "reason=\"sending limit reached\"", s->id, stage,
	    s->tx != NULL ? s->tx->sender : "", log_q(user),
	    strcmp(r->what, "messages per hour") == 0 ? "messages_per_hour" :
	    "recipients_per_day", r->scope, (long long)r->count,
	    (long long)r->limit);
	smtp_session_reply(s, "451 4.7.1 Sending limit reached: %s%s has sent "
	    "%lld of %lld %s allowed, try again later", strcmp(r->scope,
	    "domain") == 0 ? "the domain of " : "", user,
	    (long long)r->count, (long long)r->limit, r->what);
}

static void
smtp_send_done(void *data, void *ctx)
{
	struct smtp_send_job *j = data;
	struct smtp_session *s = ctx;

	s->sreq = NULL;
	s->busy = false;
	if (smtp_send_refuse_mail(s, j))
		smtp_tx_free(&s->tx);
	else
		smtp_mail_next(s);
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

static void
smtp_send_release(void *data)
{
	struct smtp_send_job *j = data;

	conf_unref(&j->conf);
	free(j);
}

static const struct store_job smtp_send_job = {
	.name = "send-limit",
	.work = smtp_send_work,
	.done = smtp_send_done,
	.release = smtp_send_release,
};

bool
smtp_send_mail(struct smtp_session *s)
{
	struct smtp_send_job *j;

	if (s->auth_user[0] == '\0')
		return false;
	j = xcalloc(1, sizeof(*j));
	str_lcpy(j->user, s->auth_user, sizeof(j->user));
	sendlimit_cfg_get(s->conf, &j->cfg);
	j->conf = conf_ref(s->conf);
	s->busy = true;
	s->sreq = store_req_submit(s->srv->env->stores, &smtp_send_job, j, s);
	return true;
}

bool
smtp_send_rcpt_refused(struct smtp_session *s, const char *rcpt,
    const struct smtp_rcpt_lookup *res)
{
	if (res->suspended) {
		log_info("%s smtp reject stage=rcpt rcpt=%s code=451 dsn=4.7.1 "
		    "check=suspended reason=\"domain suspended\"", s->id,
		    log_q(rcpt));
		smtp_session_reply(s, "451 4.7.1 <%s>: Mail for this domain is "
		    "suspended, try again later", rcpt);
		return true;
	}
	if (res->send.v == SENDLIMIT_SUSPENDED) {
		log_info("%s smtp reject stage=rcpt rcpt=%s user=%s code=451 "
		    "dsn=4.7.1 check=suspended reason=\"domain suspended\"",
		    s->id, log_q(rcpt), log_q(s->auth_user));
		smtp_session_reply(s, "451 4.7.1 The domain of %s is "
		    "suspended, try again later", s->auth_user);
		return true;
	}
	if (res->send.v == SENDLIMIT_LIMIT) {
		smtp_send_limit_reply(s, "rcpt", s->auth_user, &res->send);
		return true;
	}
	if (res->send.v == SENDLIMIT_HELD || res->send.v == SENDLIMIT_STOPPED) {
		log_info("%s smtp reject stage=rcpt rcpt=%s user=%s code=550 "
		    "dsn=5.7.1 check=send_hold reason=%s", s->id, log_q(rcpt),
		    log_q(s->auth_user), log_q(res->send.reason));
		smtp_session_reply(s, "550 5.7.1 Sending from %s is stopped "
		    "(%s); contact your postmaster", s->auth_user,
		    res->send.reason);
		return true;
	}
	return false;
}

/* ---- outbound_checks: spam held in the queue ---- */

struct smtp_send_note {
	char user[320];
	double score;
	struct sendlimit_cfg cfg;
	const struct conf *conf;	/* a reference */
	struct store_pool *stores;
	struct sendlimit_result r;
	struct ops_send_hold_result stop;
};

struct smtp_send_note *
smtp_send_outbound(struct smtp_session *s, struct spool_env *env)
{
	struct smtp_send_note *n;
	char reason[128];

	if (s->auth_user[0] == '\0' || !smtp_policy_spam(s->pol) ||
	    !conf_strlist_has(&s->conf->outbound_checks, "spamd"))
		return NULL;
	n = xcalloc(1, sizeof(*n));
	str_lcpy(n->user, s->auth_user, sizeof(n->user));
	n->score = smtp_policy_spam_score(s->pol);
	sendlimit_cfg_get(s->conf, &n->cfg);
	n->conf = conf_ref(s->conf);
	n->stores = s->srv->env->stores;
	/* Held for the postmaster, as written: not filed as spam. */
	snprintf(reason, sizeof(reason), "outbound spam: score %.1f (spamd)",
	    n->score);
	env->held = true;
	free(env->hold_reason);
	env->hold_reason = xstrdup(reason);
	env->spam = false;
	return n;
}

void
smtp_send_outbound_work(struct smtp_send_note *n)
{
	struct store *conn = store_pool_conn(n->stores);

	if (conn == NULL) {
		n->r.v = SENDLIMIT_ERROR;
		n->r.error = "no store connection";
		return;
	}
	sendlimit_reserve(conn, &n->cfg, n->user, STORE_SEND_SPAM, time(NULL),
	    &n->r);
	if (n->r.v == SENDLIMIT_STOPPED && n->r.held_now) {
		struct smtp_send_job j;

		memset(&j, 0, sizeof(j));
		str_lcpy(j.user, n->user, sizeof(j.user));
		j.conf = n->conf;
		j.r = n->r;
		smtp_send_stop(conn, &j);
		n->stop = j.stop;
	}
}

void
smtp_send_outbound_done(struct smtp_send_note **np, const char *sid,
    const char *id, bool committed)
{
	struct smtp_send_note *n = *np;

	if (n == NULL)
		return;
	*np = NULL;
	if (committed)
		log_info("%s smtp outbound-spam-held id=%s user=%s score=%.1f",
		    sid, id, log_q(n->user), n->score);
	if (n->r.v == SENDLIMIT_STOPPED && n->r.held_now)
		log_warnx("%s smtp send-stop user=%s reason=%s "
		    "held_messages=%zu notice=%s", sid, log_q(n->user),
		    log_q(n->r.reason), n->stop.messages,
		    n->stop.notice_id[0] != '\0' ? n->stop.notice_id : "none");
	conf_unref(&n->conf);
	free(n);
}
