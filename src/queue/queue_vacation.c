/* Vacation replies in the queue role (queue_vacation.h).  The order is
 * the cheap checks first, the store's claim last: a message that gets
 * no answer writes nothing.  The claim comes before the commit and is
 * taken back when the commit fails, so a crash between the two loses
 * one answer rather than sending two. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dkim_keys.h"
#include "queue/queue_vacation.h"
#include "queue/spool.h"
#include "queue/vacation.h"
#include "store/store.h"

#define QV_ADDRS_MAX 32		/* the user's addresses looked for */

struct qv_addrs {
	char *v[QV_ADDRS_MAX];
	size_t n;
};

static void
qv_addrs_add(struct qv_addrs *a, const char *addr)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], addr) == 0)
			return;
	if (a->n < QV_ADDRS_MAX)
		a->v[a->n++] = xstrdup(addr);
}

static void
qv_alias_cb(const char *alias, void *ctx)
{
	qv_addrs_add(ctx, alias);
}

static void
qv_addrs_free(struct qv_addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static void
qv_log(const struct spool_env *env, const char *user, const char *event,
    const char *reason)
{
	log_info("%s queue vacation-%s rcpt=%s from=%s%s%s", env->id, event,
	    log_q(user), env->sender[0] != '\0' ? log_q(env->sender) : "<>",
	    reason != NULL ? " reason=" : "", reason != NULL ? reason : "");
}

/* The settings, when on and in their dates: 1, else 0 (or -1). */
static int
qv_settings(const struct queue_vacation *v, const char *user, time_t now,
    struct store_vacation *s)
{
	int r;

	pthread_mutex_lock(v->lock);
	r = store_vacation_get(v->store, user, s);
	pthread_mutex_unlock(v->lock);
	if (r <= 0)
		return r;
	if (!s->enabled || !vacation_in_dates(s->start, s->end, now)) {
		r = s->enabled ? 2 : 0;
		store_vacation_free(s);
		return r == 2 ? -2 : 0;
	}
	return 1;
}

/* The header section of the content (at most VACATION_HEADER_MAX). */
static ssize_t
qv_read_header(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* The reply's content, DKIM-signed when the ring has a key for its From
 * domain (the user's). */
static void
qv_message(const struct queue_vacation *v, const struct vacation_reply *rep,
    const struct vacation_orig *o, struct fbuf *msg)
{
	struct dkim_signer *signer;
	struct fbuf body, sigs;

	fbuf_init(&body, 0);
	vacation_compose(rep, o, &body);
	if (v->dkim != NULL && dkim_keyring_any(v->dkim) &&
	    (signer = dkim_signer_new(v->dkim)) != NULL) {
		fbuf_init(&sigs, 0);
		dkim_signer_feed(signer, body.data, body.len);
		if (dkim_signer_finish(signer, rep->now, &sigs) > 0)
			fbuf_add(msg, sigs.data, sigs.len);
		fbuf_release(&sigs);
		dkim_signer_free(&signer);
	}
	fbuf_add(msg, body.data, body.len);
	fbuf_release(&body);
}

/* Commits the reply to the spool: 0 (id_r set) or -1. */
static int
qv_commit(const struct queue_vacation *v, const char *user, const char *to,
    const struct store_vacation *s, const struct vacation_orig *o,
    time_t now, char id_r[IDS_LEN + 1])
{
	struct vacation_reply rep = { .from = user, .to = to,
		.subject = s->subject, .body = s->body, .now = now };
	char msgid[IDS_LEN + CONF_HOST_MAX + 48], mailbox[320];
	struct spool_writer *w;
	struct spool_env e;
	struct fbuf msg;
	int r;

	if (spool_writer_open(&w, v->spool_dir) < 0)
		return -1;
	snprintf(msgid, sizeof(msgid), "<%s.%016llx.vacation@%s>",
	    spool_writer_id(w), (unsigned long long)ids_random(),
	    v->conf->hostname);
	rep.msgid = msgid;
	fbuf_init(&msg, 0);
	qv_message(v, &rep, o, &msg);
	memset(&e, 0, sizeof(e));
	e.arrival = now;
	e.sender = xstrdup("");
	e.client_addr = xstrdup("local");
	e.client_helo = xstrdup(v->conf->hostname);
	e.protocol = xstrdup(QUEUE_VACATION_PROTO);
	e.nrcpts = 1;
	e.rcpts = xcalloc(1, sizeof(*e.rcpts));
	e.rcpts[0].orig = xstrdup(to);
	e.rcpts[0].local = v->is_local != NULL && v->is_local(to, mailbox,
	    sizeof(mailbox), v->ctx);
	e.rcpts[0].addr = xstrdup(e.rcpts[0].local ? mailbox : to);
	e.rcpts[0].state = SPOOL_RCPT_PENDING;
	if (spool_writer_write(w, msg.data, msg.len) < 0) {
		spool_writer_abort(&w);
		r = -1;
	} else
		r = spool_writer_commit(&w, &e);
	if (r == 0)
		str_lcpy(id_r, e.id, IDS_LEN + 1);
	fbuf_release(&msg);
	spool_env_free(&e);
	return r;
}

/* The decision on the message itself.  The sender is "" or an address
 * the spool holds; addrs are the user's. */
static enum vacation_verdict
qv_decide(const struct queue_vacation *v, const struct spool_env *env,
    const struct spool_rcpt *r, const char *user, int fd,
    struct vacation_orig *o)
{
	struct qv_addrs addrs = { .n = 0 };
	struct vacation_in in;
	enum vacation_verdict verdict;
	char *hdr = xmalloc(VACATION_HEADER_MAX);
	ssize_t n = qv_read_header(fd, hdr, VACATION_HEADER_MAX);
	const char *error;

	qv_addrs_add(&addrs, user);
	if (r->orig != NULL)
		qv_addrs_add(&addrs, r->orig);
	pthread_mutex_lock(v->lock);
	if (store_alias_refs(v->store, user, qv_alias_cb, &addrs,
	    &error) < 0)
		log_warnx("%s queue vacation-aliases-unread reason=%s",
		    env->id, log_q(error));
	pthread_mutex_unlock(v->lock);
	memset(&in, 0, sizeof(in));
	in.sender = env->sender;
	in.addrs = (const char *const *)addrs.v;
	in.naddrs = addrs.n;
	in.case_sensitive_local = v->conf->local_part_case_sensitive;
	in.delimiter = v->conf->recipient_delimiter;
	in.hdr = hdr;
	in.hdr_len = n > 0 ? (size_t)n : 0;
	verdict = vacation_check(&in, o);
	qv_addrs_free(&addrs);
	free(hdr);
	return verdict;
}

int
queue_vacation_run(const struct queue_vacation *v,
    const struct spool_env *env, const struct spool_rcpt *r,
    const char *user, int fd, time_t now, char id_r[IDS_LEN + 1])
{
	struct store_vacation s;
	struct vacation_orig o;
	enum vacation_verdict verdict;
	char sender[320];
	int ret = 0, c;

	if ((c = qv_settings(v, user, now, &s)) <= 0) {
		if (c == -2)
			qv_log(env, user, "skip", "out-of-dates");
		else if (c == -1)
			log_warnx("%s queue vacation-error rcpt=%s reason=\"store "
			    "error\"", env->id, log_q(user));
		return c == -1 ? -1 : 0;
	}
	verdict = qv_decide(v, env, r, user, fd, &o);
	if (verdict != VACATION_ANSWER) {
		qv_log(env, user, "skip", vacation_verdict_name(verdict));
		goto out;
	}
	str_lcpy(sender, env->sender, sizeof(sender));
	str_lower(sender);
	pthread_mutex_lock(v->lock);
	c = store_vacation_claim(v->store, user, sender, (int64_t)now,
	    (int64_t)s.days * 86400);
	pthread_mutex_unlock(v->lock);
	if (c <= 0) {
		qv_log(env, user, "skip", c == 0 ? "answered-recently" :
		    "store-error");
		ret = c;
		goto out;
	}
	if (qv_commit(v, user, env->sender, &s, &o, now, id_r) < 0) {
		log_err("%s queue vacation-error rcpt=%s reason=\"spool "
		    "commit\"", env->id, log_q(user));
		pthread_mutex_lock(v->lock);
		(void)store_vacation_unclaim(v->store, user, sender,
		    (int64_t)now);
		pthread_mutex_unlock(v->lock);
		ret = -1;
		goto out;
	}
	log_info("%s queue vacation-reply rcpt=%s to=%s id=%s", env->id,
	    log_q(user), log_q(env->sender), id_r);
	ret = 1;
out:
	vacation_orig_free(&o);
	store_vacation_free(&s);
	return ret;
}
