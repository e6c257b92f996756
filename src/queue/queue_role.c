/* The queue role: schedules every message in the spool, one job per
 * message at a time.  A job reads the envelope and delivers the due local
 * recipients on the worker pool; the due remote ones then go to the relay
 * (src/relay) on the loop, whose per-recipient results are written back
 * to the envelope on the pool after each destination's attempt
 * (re-reading it, so `queue bounce/hold/delete` meanwhile are honoured).
 * Recipients that failed for good get one DSN (bounce_queue) and become
 * BOUNCED; mail still pending after delay_warning gets one warning.
 * The loop thread owns the schedule (a hash of ids with a due time);
 * workers own the disk work and the store lookups (serialised by a mutex,
 * since the store is one SQLite connection).  Wake-ups come from smtpd's
 * datagrams, a 60 s rescan (the spool is the truth) and a 1 s timer.
 * Below min_free_space (lib/diskwatch.h) local deliveries and DSNs, which
 * need space, wait without counting an attempt, remote ones go on, and
 * the waiting messages run again as soon as the space is back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/queue.h>

#include <event2/event.h>

#include "ferry.h"
#include "lib/diskwatch.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox.h"
#include "mailbox/quota_warn.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/srs.h"
#include "net/dns.h"
#include "queue/bounce.h"
#include "queue/queue.h"
#include "queue/queue_control.h"
#include "queue/queue_dmarc_in.h"
#include "queue/queue_home.h"
#include "queue/queue_history.h"
#include "queue/queue_notify.h"
#include "queue/queue_role.h"
#include "queue/queue_send.h"
#include "queue/queue_srs.h"
#include "queue/queue_vacation.h"
#include "queue/pickup.h"
#include "queue/spool.h"
#include "relay/relay.h"
#include "store/resolve.h"
#include "store/store.h"

#define QUEUE_BUCKETS 4096
#define QUEUE_METRICS_SECS 5		/* the queue's size published every */
#define QUEUE_RESCAN_SECS 60
#define QUEUE_RECOVER_EVERY 60		/* rescans between recovery passes */
#define QUEUE_HELD_RECHECK 3600
#define QUEUE_RELAY_MAX 20000		/* messages in the relay at once */
#define QUEUE_BUSY_SECS 2		/* destination backlog full: retry in */
#define QUEUE_MAX_DSN 2
#define QUEUE_MAX_REPLIES 16		/* vacation replies poked per job */
#define QUEUE_NOTIFY_FULL 8
#define QUEUE_POOL_MIN 32		/* worker threads made at start */		/* datagrams in one drain: rescan */

struct queue_msg {
	struct queue_msg *next;		/* hash chain */
	char id[IDS_LEN + 1];
	time_t due;
	bool running;
	bool poke;			/* woken while running: run again */
	bool disk_wait;			/* held back for want of space */
	bool held;			/* its envelope said held at its last run */
	bool hist_seen;			/* its arrival went to the history */
};

struct queue_job;
TAILQ_HEAD(queue_job_list, queue_job);

struct queue_role {
	struct ferry_env *env;		/* env->conf: the current snapshot */
	struct event_base *base;
	struct workpool *pool;
	char spool_dir[PATH_MAX];
	char db_path[PATH_MAX];
	struct queue_msg *table[QUEUE_BUCKETS];
	unsigned running, max_running, cursor, nscans;
	bool scanning;
	pthread_mutex_t store_lock;
	struct store *store;		/* under store_lock */
	struct event *tick, *rescan, *notify_ev;
	struct queue_dmarc_prune *dmarc_prune;	/* daily, queue_dmarc_in.h */
	int notify_fd;
	struct queue_control *ctl;	/* queue.ctl, or NULL */
	struct pickup *pickup;		/* maildrop_dir, or NULL */
	struct dns *dns;
	struct relay *relay;
	unsigned relaying;		/* jobs in their relay phase */
	struct diskwatch *disk;		/* the spool's free space */
	unsigned disk_waiting;		/* messages with disk_wait */
	bool disk_low;			/* read by workers (__atomic) */
	struct queue_job_list rjobs;	/* those jobs */
	struct srs_keys *srs;		/* start and reload; NULL: srs off */
	time_t metrics_at;		/* next count of the queue (metrics) */
	struct dkim_keyring *dkim;	/* start and reload: vacation replies,
					 * the pickup */
	struct queue_history *hist;	/* the delivery history writer */
};

/* One result of the relay, copied on the loop for a worker to apply. */
struct queue_result {
	size_t index;			/* into the envelope's recipients */
	enum relay_status status;
	char *error;
	/* For the history: relay_rcpt's attempt details. */
	char peer[320], route[16], tls[96], reach[RELAY_REACH_MAX];
};

/* A message's run: the envelope job on the pool, then (when remote
 * recipients are due) the relay phase with its save jobs. */
struct queue_job {
	TAILQ_ENTRY(queue_job) link;	/* q->rjobs in the relay phase */
	struct queue_role *q;
	/* The configuration the job started with (a reference): its worker
	 * steps read it, never env->conf, which a reload replaces. */
	const struct conf *conf;
	struct queue_msg *m;
	bool hist_arrival;		/* record the arrival (first run here) */
	time_t next_due;		/* out: when to run again */
	bool gone;			/* out: message no longer queued */
	bool busy;			/* out: relay backlog, not attempted */
	bool disk_wait;			/* out: work held back, no space */
	bool held;			/* out: the envelope is held */
	bool disk_failed;		/* out: a write failed, ENOSPC */
	char dsn[QUEUE_MAX_DSN][IDS_LEN + 1];	/* out: DSNs queued */
	unsigned ndsn;
	/* Vacation replies queued (poked when the job ends; more wait for
	 * the rescan), with the key ring they are signed with. */
	char replies[QUEUE_MAX_REPLIES][IDS_LEN + 1];
	unsigned nreplies;
	struct dkim_keyring *dkim;
	bool dmarc_read;		/* its DMARC reports were read */
	/* relay phase */
	bool has_env, relay_done, saving, final;
	struct spool_env env;		/* as read by the first job */
	struct relay_msg rm;
	/* SRS (queue_srs.h): the domain chosen by the worker ("" none)
	 * and the MAIL FROM made from it on the loop. */
	char srs_domain[256];
	char srs_sender[SRS_ADDR_MAX];
	size_t *rmap;			/* rm.rcpts[i] is env.rcpts[rmap[i]] */
	/* Per envelope recipient: the home node a local recipient is
	 * relayed to (queue_home.h), or NULL; NULL when none is. */
	struct relay_via **homes;
	bool *reported;
	struct queue_result *res;	/* handed to the running save job */
	size_t nres;
};

struct queue_scan_job {
	struct queue_role *q;
	bool recover;
	char (*ids)[IDS_LEN + 1];
	size_t n, cap;
};

/* The scheduler's settings from a snapshot, with their floors. */
static unsigned
queue_workers(const struct conf *c)
{
	return c->queue_workers > 0 ? c->queue_workers : 4;
}

static uint64_t
queue_retry_min(const struct conf *c)
{
	return c->retry_min > 0 ? c->retry_min : 60;
}

static uint64_t
queue_retry_max(const struct conf *c)
{
	return c->retry_max >= queue_retry_min(c) ? c->retry_max :
	    queue_retry_min(c);
}

static uint64_t
queue_lifetime(const struct conf *c)
{
	return c->queue_lifetime > 0 ? c->queue_lifetime : 5 * 86400;
}

/* ---- the schedule (loop thread only) ---- */

static unsigned
queue_hash(const char *id)
{
	return (unsigned)strtoul(id + IDS_LEN - 6, NULL, 16) % QUEUE_BUCKETS;
}

static struct queue_msg *
queue_find(struct queue_role *q, const char *id, bool create)
{
	unsigned h = queue_hash(id);
	struct queue_msg *m;

	for (m = q->table[h]; m != NULL; m = m->next)
		if (strcmp(m->id, id) == 0)
			return m;
	if (!create)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	memcpy(m->id, id, sizeof(m->id));
	m->next = q->table[h];
	q->table[h] = m;
	return m;
}

static void
queue_forget(struct queue_role *q, struct queue_msg *m)
{
	struct queue_msg **pp = &q->table[queue_hash(m->id)];

	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	free(m);
}

/* Wants the message run now (new id, or a wake-up for a known one). */
static void
queue_poke(struct queue_role *q, const char *id)
{
	struct queue_msg *m = queue_find(q, id, true);

	/* A hold or a release wakes the message: whether it is held is
	 * known again when it has run. */
	m->held = false;
	queue_history_changed(q->hist);
	if (m->running)
		m->poke = true;
	else
		m->due = 0;
}

static void
queue_scan_cb(const char *id, void *ctx)
{
	struct queue_role *q = ctx;

	/* Known ids keep their schedule; new ones run at once. */
	if (queue_find(q, id, false) == NULL)
		queue_find(q, id, true)->due = 0;
}

/* ---- store access (worker threads) ---- */

/* 1 found, 0 no such user, -1 store trouble (temporary). */
static int
queue_user_get(struct queue_role *q, const char *addr, struct store_user *u)
{
	const char *error;
	int r = -1;

	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		r = store_user_get(q->store, addr, u);
	pthread_mutex_unlock(&q->store_lock);
	return r;
}

/* bounce_queue's resolver: true when addr is a local mailbox, with the
 * user's canonical address in mailbox (worker threads). */
static bool
queue_is_local(const char *addr, char *mailbox, size_t size, void *ctx)
{
	struct queue_job *j = ctx;
	struct queue_role *q = j->q;
	struct resolve_opts o = { j->conf->local_part_case_sensitive,
		j->conf->recipient_delimiter };
	struct resolve_result res = { NULL, 0 };
	enum resolve_status st = RESOLVE_ERROR;
	const char *error;
	bool local = false;

	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		st = resolve_rcpt(q->store, &o, addr, &res);
	pthread_mutex_unlock(&q->store_lock);
	for (size_t i = 0; st == RESOLVE_LOCAL && i < res.n && !local; i++)
		if (res.v[i].local) {
			str_lcpy(mailbox, res.v[i].user, size);
			local = true;
		}
	resolve_result_free(&res);
	return local;
}

/* queue_srs_domain's store lookup: errors count as local. */
static bool
queue_is_local_domain(const char *domain, void *ctx)
{
	struct queue_role *q = ctx;
	const char *error;
	char d[256];
	int r = -1;

	str_lcpy(d, domain, sizeof(d));
	str_lower(d);
	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		r = store_domain_exists(q->store, d);
	pthread_mutex_unlock(&q->store_lock);
	return r != 0;
}

/* The pickup's resolver (worker threads): as smtpd resolves RCPT. */
static enum resolve_status
queue_pickup_resolve(void *ctx, const struct conf *c, const char *addr,
    struct resolve_result *res)
{
	struct queue_role *q = ctx;
	struct resolve_opts o = { c->local_part_case_sensitive,
		c->recipient_delimiter };
	enum resolve_status st = RESOLVE_ERROR;
	const char *error;

	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		st = resolve_rcpt(q->store, &o, addr, res);
	pthread_mutex_unlock(&q->store_lock);
	return st;
}

/* ---- one recipient (worker thread) ---- */

static void
queue_log_rcpt(const struct spool_env *env, const struct spool_rcpt *r,
    const char *mailbox, const char *result, const char *reason)
{
	struct fbuf b;

	/* The event says what happened: delivered, deferred or failed
	 * (result= repeats it for those who grep for it). */
	metrics_inc(&metrics_shm->deliveries[METRICS_DEST_LOCAL]
	    [strcmp(result, "sent") == 0 ? METRICS_DELIVERED :
	    strcmp(result, "deferred") == 0 ? METRICS_DEFERRED :
	    METRICS_FAILED]);
	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s queue %s rcpt=", env->id,
	    strcmp(result, "sent") == 0 ? "delivered" : result);
	log_quote(&b, r->addr, strlen(r->addr), 0);
	if (mailbox != NULL) {
		fbuf_adds(&b, " mailbox=");
		log_quote(&b, mailbox, strlen(mailbox), 0);
	}
	fbuf_addf(&b, " result=%s", result);
	if (reason != NULL) {
		fbuf_adds(&b, " reason=");
		log_quote(&b, reason, strlen(reason), 0);
	}
	if (r->state == SPOOL_RCPT_PENDING && strcmp(result, "deferred") == 0)
		fbuf_addf(&b, " attempts=%u next_in=%llds", r->attempts,
		    (long long)(r->next_attempt - time(NULL)));
	log_info("%s", fbuf_str(&b));
	fbuf_release(&b);
}

/* One attempt of r into the delivery history: a local one (res NULL,
 * mailbox where) or the relay's (res). */
static void
queue_hist_rcpt(struct queue_job *j, const struct spool_env *env,
    const struct spool_rcpt *r, const char *result, const char *reply,
    const char *mailbox, const struct queue_result *res)
{
	struct store_hist_attempt a;

	queue_history_fill(&a, j->conf, env, r, result, reply,
	    res != NULL ? res->route : "local", res != NULL ? res->peer :
	    mailbox);
	if (res != NULL) {
		str_lcpy(a.tls, res->tls, sizeof(a.tls));
		str_lcpy(a.reach, res->reach, sizeof(a.reach));
	}
	queue_history_attempt(j->q->hist, j->conf, &a);
}

static void
queue_set_error(struct spool_rcpt *r, const char *text)
{
	free(r->last_error);
	r->last_error = text != NULL ? xstrdup(text) : NULL;
}

/* A permanent failure ("bounced" in the history, or "expired" when the
 * queue lifetime ran out). */
static void
queue_rcpt_fail(struct queue_job *j, const struct spool_env *env,
    struct spool_rcpt *r, const char *mailbox, const char *reason,
    const struct queue_result *res, const char *outcome)
{
	r->state = SPOOL_RCPT_FAILED;
	queue_set_error(r, reason);
	queue_log_rcpt(env, r, mailbox, "failed", reason);
	queue_hist_rcpt(j, env, r, outcome, reason, mailbox, res);
}

/* A temporary failure: back off, or give up once the message is older
 * than queue_lifetime. */
static void
queue_rcpt_tempfail(struct queue_job *j, const struct spool_env *env,
    struct spool_rcpt *r, const char *mailbox, const char *reason, time_t now,
    const struct queue_result *res)
{
	const struct conf *c = j->conf;
	char why[512];

	r->attempts++;
	if (queue_expired(env->arrival, queue_lifetime(c), now)) {
		snprintf(why, sizeof(why), "%s (queue lifetime expired)",
		    reason);
		queue_rcpt_fail(j, env, r, mailbox, why, res, "expired");
		return;
	}
	r->next_attempt = now + (time_t)queue_backoff(r->attempts,
	    queue_retry_min(c), queue_retry_max(c));
	/* Backup MX: the primary should get its mail soon after it comes
	 * back, so these are tried every retry_min without backing off. */
	if (!r->local && strrchr(r->addr, '@') != NULL &&
	    conf_strlist_has(&c->backup_domains,
	    strrchr(r->addr, '@') + 1))
		r->next_attempt = now + (time_t)queue_retry_min(c);
	queue_set_error(r, reason);
	queue_log_rcpt(env, r, mailbox, "deferred", reason);
	queue_hist_rcpt(j, env, r, "deferred", reason, mailbox, res);
}

static bool queue_disk_low(struct queue_role *q);

/* After a delivery to a user with a vacation reply on: the reply, if
 * one is due (queue_vacation.h), goes into the spool. */
static void
queue_rcpt_vacation(struct queue_job *j, const struct spool_env *env,
    const struct spool_rcpt *r, int msg_fd, time_t now)
{
	struct queue_role *q = j->q;
	struct queue_vacation v = { .lock = &q->store_lock, .conf = j->conf,
		.spool_dir = q->spool_dir, .dkim = j->dkim,
		.is_local = queue_is_local, .ctx = j };
	char id[IDS_LEN + 1];

	/* queue_user_get opened the store just before. */
	pthread_mutex_lock(&q->store_lock);
	v.store = q->store;
	pthread_mutex_unlock(&q->store_lock);
	if (v.store == NULL || queue_disk_low(q))
		return;
	if (queue_vacation_run(&v, env, r, r->addr, msg_fd, now, id) == 1 &&
	    j->nreplies < QUEUE_MAX_REPLIES)
		memcpy(j->replies[j->nreplies++], id, IDS_LEN + 1);
}

/* After a delivery: the DMARC reports it carries, once a message. */
static void
queue_rcpt_dmarc(struct queue_job *j, const struct spool_env *env,
    const struct spool_rcpt *r, int msg_fd)
{
	struct queue_role *q = j->q;
	struct store *s;

	if (!j->conf->dmarc_report_ingest)
		return;
	pthread_mutex_lock(&q->store_lock);
	s = q->store;
	pthread_mutex_unlock(&q->store_lock);
	j->dmarc_read = queue_dmarc_in_deliver(j->conf, &q->store_lock, s, env,
	    r->addr, msg_fd);
}

static void
queue_rcpt_local(struct queue_job *j, const struct spool_env *env,
    struct spool_rcpt *r, int msg_fd, time_t now)
{
	struct queue_role *q = j->q;
	const char *state_dir = j->conf->state_dir, *rel;
	char path[PATH_MAX], dir[PATH_MAX], why[256], key[IDS_LEN + 24];
	struct store_user u;
	int found;

	found = queue_user_get(q, r->addr, &u);
	if (found == 0) {
		queue_rcpt_fail(j, env, r, NULL, "5.1.1 user unknown", NULL,
		    "bounced");
		return;
	}
	if (maildir_path(state_dir, r->addr, path, sizeof(path)) < 0) {
		queue_rcpt_fail(j, env, r, NULL, "5.1.3 bad mailbox address",
		    NULL, "bounced");
		return;
	}
	rel = path + strlen(state_dir) + 1;
	if (found < 0 || msg_fd < 0) {
		queue_rcpt_tempfail(j, env, r, rel, found < 0 ?
		    "4.3.0 account store unavailable" :
		    "4.3.0 spool content unreadable", now, NULL);
		return;
	}
	/* A name fixed per message and recipient: a crash between this
	 * delivery and the envelope update does not deliver it twice. */
	snprintf(key, sizeof(key), "%sR%zu", env->id, (size_t)(r -
	    env->rcpts));
	if (maildir_deliver_mail_once(path, mbox_delivery_dir(path,
	    j->conf->spam_folder, env->spam, dir, sizeof(dir)), env->sender,
	    r->addr, msg_fd, u.quota, key, env->arrival) == 0) {
		r->state = SPOOL_RCPT_DONE;
		queue_set_error(r, NULL);
		queue_log_rcpt(env, r, rel, "sent", NULL);
		queue_hist_rcpt(j, env, r, "delivered", "", rel, NULL);
		quota_warn_check(env->id, path, r->addr, u.quota,
		    j->conf->hostname);
		if (u.vacation)
			queue_rcpt_vacation(j, env, r, msg_fd, now);
		if (!j->dmarc_read)
			queue_rcpt_dmarc(j, env, r, msg_fd);
	} else if (errno == ENOSPC) {
		/* The disk, not the mailbox: no attempt counted, no line per
		 * message (diskwatch logs the state once); it waits. */
		j->disk_wait = true;
		j->disk_failed = true;
	} else if (errno == EDQUOT) {
		/* The mailbox is too full for this message (RCPT refuses a
		 * full one): retrying for days helps nobody, the sender
		 * learns of it now. */
		snprintf(why, sizeof(why), "5.2.2 mailbox full: the message "
		    "(%llu bytes) does not fit in the quota of %llu bytes",
		    (unsigned long long)env->size,
		    (unsigned long long)u.quota);
		queue_rcpt_fail(j, env, r, rel, why, NULL, "bounced");
	} else {
		snprintf(why, sizeof(why), "4.3.0 mailbox write failed: %s",
		    strerror(errno));
		queue_rcpt_tempfail(j, env, r, rel, why, now, NULL);
	}
}

/* ---- one message (worker thread) ---- */

static bool
queue_disk_low(struct queue_role *q)
{
	return __atomic_load_n(&q->disk_low, __ATOMIC_RELAXED);
}

/* A local recipient whose domain's home is another node: 1 when it goes
 * to the relay (j->homes[i] set), -1 when it was deferred (the store
 * failed), 0 when it is delivered here. */
static int
queue_rcpt_home(struct queue_job *j, const struct spool_env *env,
    struct spool_rcpt *r, size_t i, time_t now)
{
	struct queue_role *q = j->q;
	struct relay_via v;
	const char *error;
	int ret = -1;

	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		ret = queue_home_route(q->store, j->conf, env, r->addr, &v);
	pthread_mutex_unlock(&q->store_lock);
	if (ret < 0) {
		queue_rcpt_tempfail(j, env, r, NULL,
		    "4.3.0 account store unavailable", now, NULL);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (j->homes == NULL)
		j->homes = xcalloc(env->nrcpts, sizeof(*j->homes));
	free(j->homes[i]);
	j->homes[i] = xmalloc(sizeof(v));
	*j->homes[i] = v;
	return 1;
}

/* Delivers every due local recipient; returns whether the envelope
 * changed, and in *remote_r how many remote recipients are due (those
 * relayed to their home node included). */
static bool
queue_deliver_env(struct queue_job *j, struct spool_env *env, time_t now,
    size_t *remote_r)
{
	struct queue_role *q = j->q;
	char msg[PATH_MAX];
	bool changed = false;
	int fd = -1, home;
	size_t i;

	*remote_r = 0;
	for (i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING || r->next_attempt > now)
			continue;
		if (!r->local) {
			(*remote_r)++;
			continue;
		}
		if ((home = queue_rcpt_home(j, env, r, i, now)) != 0) {
			if (home > 0)
				(*remote_r)++;
			else
				changed = true;
			continue;
		}
		if (queue_disk_low(q) || j->disk_failed) {
			j->disk_wait = true;
			continue;
		}
		if (fd == -1 && spool_msg_path(q->spool_dir, env->id, msg,
		    sizeof(msg)) == 0 && (fd = open(msg, O_RDONLY |
		    O_CLOEXEC)) == -1)
			log_err("%s queue content unreadable path=%s", env->id,
			    log_q(msg));
		queue_rcpt_local(j, env, r, fd, now);
		/* Held back for want of space: nothing to write (and no
		 * room to write it). */
		if (!j->disk_failed || r->state != SPOOL_RCPT_PENDING)
			changed = true;
	}
	if (fd != -1)
		close(fd);
	return changed;
}

/* Earliest next attempt of a recipient still to be handled (pending, or
 * failed with its bounce not queued yet); 0 when none is left. */
static time_t
queue_next_due(const struct conf *c, const struct spool_env *env,
    time_t now, bool *pending_r)
{
	time_t due = 0, t;
	size_t i;

	*pending_r = false;
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (r->state == SPOOL_RCPT_PENDING)
			t = r->next_attempt;
		else if (r->state == SPOOL_RCPT_FAILED)
			t = now + (time_t)queue_retry_min(c);
		else
			continue;
		if (!*pending_r || t < due)
			due = t;
		*pending_r = true;
	}
	return due;
}

static void
queue_bounce_params(struct queue_job *j, struct bounce_params *p,
    enum bounce_kind kind, char *pm, size_t pmsize)
{
	memset(p, 0, sizeof(*p));
	snprintf(pm, pmsize, "postmaster@%s", j->conf->hostname);
	p->spool_dir = j->q->spool_dir;
	p->hostname = j->conf->hostname;
	p->postmaster = pm;
	p->kind = kind;
}

static void
queue_dsn_queued(struct queue_job *j, const struct spool_env *env,
    const char *kind, int r, const char *id, size_t n)
{
	if (r == 1) {
		log_info("%s queue dsn kind=%s id=%s rcpts=%zu", env->id, kind,
		    id, n);
		if (j->ndsn < QUEUE_MAX_DSN)
			memcpy(j->dsn[j->ndsn++], id, IDS_LEN + 1);
	} else if (r == 0)
		log_info("%s queue dsn kind=%s result=none reason=\"null "
		    "sender or DSN about a DSN\" rcpts=%zu", env->id, kind, n);
	else
		log_err("%s queue dsn kind=%s result=error", env->id, kind);
}

/* The bounces an authenticated sender's mail drew (queue_send.h). */
static void
queue_count_bounces(struct queue_job *j, const struct spool_env *env,
    size_t n)
{
	struct queue_role *q = j->q;
	const char *error;

	if (env->auth_user == NULL || env->sender == NULL ||
	    env->sender[0] == '\0')
		return;
	pthread_mutex_lock(&q->store_lock);
	if (q->store == NULL && store_open(&q->store, q->db_path, &error) < 0)
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
	if (q->store != NULL)
		queue_send_bounces(q->store, j->conf, env->id, env->auth_user,
		    n);
	pthread_mutex_unlock(&q->store_lock);
}

/* One DSN for the recipients that failed for good; they become BOUNCED
 * (also when none is due, for the null sender).  True when changed;
 * *bounced_r counts the recipients bounced (for queue_count_bounces,
 * called once the envelope on disk says so). */
static bool
queue_bounce_failed(struct queue_job *j, struct spool_env *env,
    size_t *bounced_r)
{
	struct bounce_params p;
	char pm[CONF_HOST_MAX + 16], id[IDS_LEN + 1];
	size_t *idx = xcalloc(env->nrcpts + 1, sizeof(*idx)), n = 0, i;
	int r;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == SPOOL_RCPT_FAILED)
			idx[n++] = i;
	if (n > 0) {
		queue_bounce_params(j, &p, BOUNCE_FAILURE, pm, sizeof(pm));
		p.rcpts = idx;
		p.nrcpts = n;
		r = bounce_queue(&p, env, queue_is_local, j, id);
		queue_dsn_queued(j, env, "failure", r, id, n);
		for (i = 0; r >= 0 && i < n; i++)
			env->rcpts[idx[i]].state = SPOOL_RCPT_BOUNCED;
		if (r >= 0)
			*bounced_r = n;
	}
	free(idx);
	return n > 0;
}

/* One delay warning for mail still pending after delay_warning. */
static bool
queue_delay_warn(struct queue_job *j, struct spool_env *env, time_t now)
{
	struct bounce_params p;
	char pm[CONF_HOST_MAX + 16], id[IDS_LEN + 1];
	size_t *idx, n = 0, i;
	int r;

	if (j->conf->delay_warning == 0 || env->warned ||
	    now < env->arrival ||
	    (uint64_t)(now - env->arrival) < j->conf->delay_warning)
		return false;
	idx = xcalloc(env->nrcpts + 1, sizeof(*idx));
	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == SPOOL_RCPT_PENDING)
			idx[n++] = i;
	if (n > 0) {
		queue_bounce_params(j, &p, BOUNCE_DELAY, pm, sizeof(pm));
		p.rcpts = idx;
		p.nrcpts = n;
		p.queued_for = (unsigned long)(now - env->arrival);
		p.will_try_for = queue_lifetime(j->conf) > p.queued_for ?
		    (unsigned long)(queue_lifetime(j->conf) - p.queued_for) :
		    0;
		r = bounce_queue(&p, env, queue_is_local, j, id);
		queue_dsn_queued(j, env, "delay", r, id, n);
		env->warned = r >= 0;
	}
	free(idx);
	return n > 0 && env->warned;
}

/* Writes the job's envelope back.  A hold or release made meanwhile
 * (`ferry queue hold`, run by queue_control on another worker while the
 * job delivered) is on disk: it has the last word on the held flag. */
static int
queue_env_write(struct queue_role *q, struct spool_env *env)
{
	struct spool_env disk;
	int r;

	spool_env_lock();
	if (spool_env_read(q->spool_dir, env->id, &disk) == 0) {
		env->held = disk.held;
		spool_env_free(&disk);
	}
	r = spool_env_update(q->spool_dir, env);
	spool_env_unlock();
	return r;
}

/* Bounces, warnings, then the envelope rewritten or the message removed.
 * When nothing is pending the envelope is not rewritten first (the
 * removal makes the new states moot, and a rewrite would cost a file
 * sync, a rename and a directory fsync per message). */
static void
queue_job_finish(struct queue_job *j, struct spool_env *env, bool changed,
    time_t now)
{
	struct queue_role *q = j->q;
	size_t bounced = 0;
	bool pending;

	/* A DSN is a new message in the spool: it waits for space too. */
	if (queue_disk_low(j->q) || j->disk_failed)
		j->disk_wait = true;
	else {
		if (queue_bounce_failed(j, env, &bounced))
			changed = true;
		if (queue_delay_warn(j, env, now))
			changed = true;
	}
	j->next_due = queue_next_due(j->conf, env, now, &pending);
	if (!pending) {
		if (spool_remove_finished(q->spool_dir, env->id) < 0 &&
		    errno != ENOENT)
			log_err("%s queue remove failed", env->id);
		else
			log_info("%s queue removed reason=finished", env->id);
		j->gone = true;
	} else if (changed && queue_env_write(q, env) < 0) {
		if (errno == ENOENT)
			j->gone = true;	/* deleted under us */
		else {
			/* The deliveries happened; a retry repeats them at
			 * worst (at-least-once), so retry soon but not in a
			 * loop. */
			log_err("%s queue envelope update failed", env->id);
			j->next_due = now + (time_t)queue_retry_min(j->conf);
		}
	}
	/* Counted after the spool shows the bounce: a send-stop that this
	 * triggers holds the sender's mail still pending, not this message
	 * when it is finished. */
	if (bounced > 0)
		queue_count_bounces(j, env, bounced);
}

/* 8-bit content decides BODY=8BITMIME (RFC 6152); read in chunks. */
static bool
queue_content_8bit(const char *path)
{
	unsigned char buf[65536];
	bool found = false;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return false;
	while (!found && (n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] >= 0x80) {
				found = true;
				break;
			}
	close(fd);
	return found;
}

/* Keeps the envelope for the relay phase: remote recipients are due. */
static void
queue_job_keep(struct queue_job *j, struct spool_env *env, bool changed)
{
	struct queue_role *q = j->q;
	bool utf8 = relay_has_8bit(env->sender);
	size_t i;

	for (i = 0; i < env->nrcpts; i++)
		utf8 = utf8 || relay_has_8bit(env->rcpts[i].addr);
	if (changed && queue_env_write(q, env) < 0)
		log_err("%s queue envelope update failed", env->id);
	j->env = *env;
	j->has_env = true;
	if (spool_msg_path(q->spool_dir, env->id, j->rm.path,
	    sizeof(j->rm.path)) < 0)
		j->rm.path[0] = '\0';
	j->rm.eightbit = queue_content_8bit(j->rm.path);
	j->rm.smtputf8 = utf8;
}

static void
queue_job_work(void *arg)
{
	struct queue_job *j = arg;
	struct queue_role *q = j->q;
	struct spool_env env;
	time_t now = time(NULL);
	size_t remote;
	bool changed;

	if (spool_env_read(q->spool_dir, j->m->id, &env) < 0) {
		if (errno == ENOENT)
			j->gone = true;
		else {
			log_err("%s queue envelope unreadable", j->m->id);
			j->next_due = now + (time_t)queue_retry_max(j->conf);
		}
		return;
	}
	if (j->hist_arrival)
		queue_history_arrival(q->hist, j->conf, &env);
	if (env.held) {
		j->held = true;
		j->next_due = now + QUEUE_HELD_RECHECK;
		spool_env_free(&env);
		return;
	}
	changed = queue_deliver_env(j, &env, now, &remote);
	if (remote > 0) {
		queue_srs_domain(j->conf, &env, now, queue_is_local_domain,
		    q, j->srs_domain, sizeof(j->srs_domain));
		queue_job_keep(j, &env, changed);
		return;			/* env now belongs to the job */
	}
	queue_job_finish(j, &env, changed, now);
	spool_env_free(&env);
}

/* ---- the relay phase (loop thread; save jobs on the pool) ---- */

static void queue_run_due(struct queue_role *q);
static void queue_relay_cb(struct relay_msg *rm, void *ctx);

static void
queue_job_free(struct queue_job *j)
{
	size_t i;

	if (j->has_env)
		spool_env_free(&j->env);
	for (i = 0; i < j->nres; i++)
		free(j->res[i].error);
	free(j->res);
	free(j->rm.rcpts);
	free(j->rmap);
	free(j->reported);
	for (i = 0; j->homes != NULL && i < j->env.nrcpts; i++)
		free(j->homes[i]);
	free(j->homes);
	dkim_keyring_free(&j->dkim);
	conf_unref(&j->conf);
	free(j);
}

/* One line when messages start waiting for space, one when none is left
 * waiting: not one per message or per attempt. */
static void
queue_disk_waiting(struct queue_role *q, bool on)
{
	if (on && q->disk_waiting++ == 0)
		log_warnx("- queue disk-hold note=\"local deliveries and DSNs "
		    "wait for space; no attempt is counted\"");
	else if (!on && q->disk_waiting > 0 && --q->disk_waiting == 0)
		log_info("- queue disk-release");
}

/* The job is over: the message gets its next due time. */
static void
queue_job_complete(struct queue_job *j)
{
	struct queue_role *q = j->q;
	struct queue_msg *m = j->m;
	time_t now = time(NULL);
	unsigned i;

	m->running = false;
	queue_history_changed(q->hist);
	if (j->disk_wait != m->disk_wait && !j->gone)
		queue_disk_waiting(q, j->disk_wait);
	else if (j->gone && m->disk_wait)
		queue_disk_waiting(q, false);
	if (j->gone)
		queue_forget(q, m);
	else {
		m->due = m->poke ? 0 : j->next_due;
		if (j->busy && m->due < now + QUEUE_BUSY_SECS)
			m->due = now + QUEUE_BUSY_SECS;
		m->held = j->held && !m->poke;
		m->poke = false;
		/* Run again when the space is back (queue_disk_cb), or after
		 * retry_min should that never be noticed. */
		m->disk_wait = j->disk_wait;
		if (j->disk_wait && m->due < now + (time_t)queue_retry_min(
		    q->env->conf))
			m->due = now + (time_t)queue_retry_min(q->env->conf);
	}
	if (j->disk_failed)
		diskwatch_failed(q->disk);
	for (i = 0; i < j->ndsn; i++)
		queue_poke(q, j->dsn[i]);
	queue_job_free(j);
	if (!q->env->stopping)
		queue_run_due(q);
}

/* Hands the due remote recipients of the job's envelope to the relay. */
static void
queue_relay_start(struct queue_job *j)
{
	struct queue_role *q = j->q;
	struct spool_env *env = &j->env;
	time_t now = time(NULL);
	size_t i, n = 0;

	j->rm.rcpts = xcalloc(env->nrcpts, sizeof(*j->rm.rcpts));
	j->rmap = xcalloc(env->nrcpts, sizeof(*j->rmap));
	j->reported = xcalloc(env->nrcpts, sizeof(*j->reported));
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if ((r->local && (j->homes == NULL || j->homes[i] == NULL)) ||
		    r->state != SPOOL_RCPT_PENDING || r->next_attempt > now)
			continue;
		j->rm.rcpts[n].addr = r->addr;
		j->rm.rcpts[n].via = r->local ? j->homes[i] : NULL;
		j->rmap[n++] = i;
	}
	memcpy(j->rm.id, env->id, sizeof(j->rm.id));
	j->rm.sender = queue_srs_sender(q->srs, env->id, env->sender,
	    j->srs_domain, j->srs_sender, sizeof(j->srs_sender));
	j->rm.size = env->size;
	j->rm.nrcpts = n;
	j->rm.cb = queue_relay_cb;
	j->rm.ctx = j;
	q->relaying++;
	TAILQ_INSERT_TAIL(&q->rjobs, j, link);
	relay_submit(q->relay, &j->rm);
}

/* Applies one relay result to the envelope as it is on disk now. */
static void
queue_apply_result(struct queue_job *j, struct spool_env *env,
    const struct queue_result *res, time_t now)
{
	struct spool_rcpt *r;

	if (res->index >= env->nrcpts)
		return;
	r = &env->rcpts[res->index];
	if (res->status == RELAY_SENT) {
		r->state = SPOOL_RCPT_DONE;	/* even if bounced meanwhile */
		queue_set_error(r, NULL);
		queue_hist_rcpt(j, env, r, "delivered", res->error, NULL, res);
		return;
	}
	if (r->state != SPOOL_RCPT_PENDING)
		return;			/* `queue bounce` or the like */
	if (res->status == RELAY_PERM)
		queue_rcpt_fail(j, env, r, NULL, res->error, res, "bounced");
	else if (res->status == RELAY_TEMP) {
		queue_rcpt_tempfail(j, env, r, NULL, res->error, now, res);
		/* A local recipient came back from the relay: its home node
		 * is down.  Like a backup MX's mail, retried every retry_min
		 * so that it arrives soon after the node is back. */
		if (r->local && r->state == SPOOL_RCPT_PENDING)
			r->next_attempt = now +
			    (time_t)queue_retry_min(j->conf);
	}
	else if (res->status == RELAY_BUSY)
		j->busy = true;
}

static void
queue_save_work(void *arg)
{
	struct queue_job *j = arg;
	struct queue_role *q = j->q;
	struct spool_env env;
	time_t now = time(NULL);
	size_t i;

	spool_env_lock();
	if (spool_env_read(q->spool_dir, j->m->id, &env) < 0) {
		spool_env_unlock();
		if (errno == ENOENT)
			j->gone = true;
		else {
			log_err("%s queue envelope unreadable", j->m->id);
			j->next_due = now + (time_t)queue_retry_min(j->conf);
		}
		return;
	}
	for (i = 0; i < j->nres; i++)
		queue_apply_result(j, &env, &j->res[i], now);
	if (j->final)
		queue_job_finish(j, &env, j->nres > 0, now);
	else if (j->nres > 0 && spool_env_update(q->spool_dir, &env) < 0 &&
	    errno != ENOENT)
		log_err("%s queue envelope update failed", env.id);
	spool_env_unlock();
	spool_env_free(&env);
}

static void queue_relay_save(struct queue_job *j);

static void
queue_save_done(void *arg)
{
	struct queue_job *j = arg;
	size_t i;

	j->saving = false;
	for (i = 0; i < j->nres; i++)
		free(j->res[i].error);
	j->nres = 0;
	if (j->final) {
		j->q->relaying--;
		TAILQ_REMOVE(&j->q->rjobs, j, link);
		queue_job_complete(j);
		return;
	}
	if (!j->q->env->stopping)
		queue_relay_save(j);
}

/* Copies the results not yet saved and starts a save job for them (the
 * final one, with bounces, once the relay is done with the message). */
static void
queue_relay_save(struct queue_job *j)
{
	struct relay_msg *rm = &j->rm;
	size_t i;

	if (j->saving)
		return;
	free(j->res);
	j->res = xcalloc(rm->nrcpts + 1, sizeof(*j->res));
	j->nres = 0;
	for (i = 0; i < rm->nrcpts; i++) {
		struct queue_result *res = &j->res[j->nres];

		if (rm->rcpts[i].status == RELAY_WAIT || j->reported[i])
			continue;
		j->reported[i] = true;
		res->index = j->rmap[i];
		res->status = rm->rcpts[i].status;
		res->error = xstrdup(rm->rcpts[i].error);
		str_lcpy(res->peer, rm->rcpts[i].peer, sizeof(res->peer));
		str_lcpy(res->route, rm->rcpts[i].route, sizeof(res->route));
		str_lcpy(res->tls, rm->rcpts[i].tls, sizeof(res->tls));
		str_lcpy(res->reach, rm->rcpts[i].reach, sizeof(res->reach));
		j->nres++;
	}
	if (j->nres == 0 && !j->relay_done)
		return;
	j->final = j->relay_done;
	j->saving = true;
	workpool_submit(j->q->pool, queue_save_work, queue_save_done, j);
}

static void
queue_relay_cb(struct relay_msg *rm, void *ctx)
{
	struct queue_job *j = ctx;

	if (rm->done)
		j->relay_done = true;
	queue_relay_save(j);
}

static void
queue_job_done(void *arg)
{
	struct queue_job *j = arg;
	struct queue_role *q = j->q;

	q->running--;
	for (unsigned i = 0; i < j->nreplies; i++)
		queue_poke(q, j->replies[i]);
	j->nreplies = 0;
	if (j->has_env && !q->env->stopping) {
		queue_relay_start(j);
		return;
	}
	queue_job_complete(j);
}

/* ---- timers, rescans, wake-ups (loop thread) ---- */

static void
queue_submit(struct queue_role *q, struct queue_msg *m)
{
	struct queue_job *j = xcalloc(1, sizeof(*j));

	j->q = q;
	j->conf = conf_ref(q->env->conf);
	j->dkim = q->dkim != NULL ? dkim_keyring_ref(q->dkim) : NULL;
	j->m = m;
	j->hist_arrival = !m->hist_seen;
	m->hist_seen = true;
	m->running = true;
	q->running++;
	workpool_submit(q->pool, queue_job_work, queue_job_done, j);
}

/* Starts due messages while worker slots are free; the cursor rotates
 * so a long queue does not starve its later buckets. */
static void
queue_run_due(struct queue_role *q)
{
	time_t now = time(NULL);
	struct queue_msg *m;
	unsigned i, h;

	for (i = 0; i < QUEUE_BUCKETS && q->running < q->max_running &&
	    q->relaying < QUEUE_RELAY_MAX; i++) {
		h = (q->cursor + i) % QUEUE_BUCKETS;
		for (m = q->table[h]; m != NULL; m = m->next) {
			if (q->running >= q->max_running ||
			    q->relaying >= QUEUE_RELAY_MAX)
				break;
			if (!m->running && m->due <= now)
				queue_submit(q, m);
		}
	}
	q->cursor = (q->cursor + i) % QUEUE_BUCKETS;
}

/* Seconds since the id was made: its first 11 hex digits are the low 44
 * bits of the arrival time in microseconds (lib/ids.c). */
static int64_t
queue_msg_age(const char *id, uint64_t now_us)
{
	char head[12];
	uint64_t made;

	memcpy(head, id, 11);
	head[11] = '\0';
	made = strtoull(head, NULL, 16);
	return (int64_t)(((now_us & 0xfffffffffffULL) - made) &
	    0xfffffffffffULL) / 1000000;
}

/* Publishes the queue's size by state and age into the shared counters
 * (metrics.h) every QUEUE_METRICS_SECS: one walk of the table, on the
 * loop, instead of a count kept on every change. */
static void
queue_count_metrics(struct queue_role *q, time_t now)
{
	int64_t n[METRICS_QSTATE_N][METRICS_QAGE_N];
	struct timespec ts;
	uint64_t now_us;

	if (now < q->metrics_at)
		return;
	q->metrics_at = now + QUEUE_METRICS_SECS;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
	memset(n, 0, sizeof(n));
	for (unsigned h = 0; h < QUEUE_BUCKETS; h++)
		for (struct queue_msg *m = q->table[h]; m != NULL;
		    m = m->next) {
			enum metrics_qstate st = m->running ? METRICS_Q_ACTIVE :
			    m->held ? METRICS_Q_HELD :
			    m->disk_wait ? METRICS_Q_DISK_WAIT :
			    m->due <= now ? METRICS_Q_DUE : METRICS_Q_DEFERRED;

			n[st][metrics_qage_of(queue_msg_age(m->id, now_us))]++;
		}
	for (int s = 0; s < METRICS_QSTATE_N; s++)
		for (int a = 0; a < METRICS_QAGE_N; a++)
			atomic_store_explicit(&metrics_shm->queue[s][a], n[s][a],
			    memory_order_relaxed);
	atomic_store_explicit(&metrics_shm->queue_published, (int64_t)now,
	    memory_order_relaxed);
}

static void
queue_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_role *q = arg;

	(void)fd;
	(void)what;
	queue_run_due(q);
	queue_count_metrics(q, time(NULL));
	queue_history_tick(q->hist, q->env->conf, time(NULL));
}

static void
queue_scan_collect(const char *id, void *ctx)
{
	struct queue_scan_job *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->ids = xreallocarray(s->ids, s->cap, sizeof(*s->ids));
	}
	memcpy(s->ids[s->n++], id, IDS_LEN + 1);
}

static void
queue_scan_work(void *arg)
{
	struct queue_scan_job *s = arg;

	if (spool_scan(s->q->spool_dir, s->recover, queue_scan_collect, s) < 0)
		log_err("queue spool scan failed");
}

static void
queue_scan_done(void *arg)
{
	struct queue_scan_job *s = arg;
	size_t i;

	for (i = 0; i < s->n; i++)
		queue_scan_cb(s->ids[i], s->q);
	s->q->scanning = false;
	free(s->ids);
	free(s);
}

static void
queue_rescan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_role *q = arg;
	struct queue_scan_job *s;

	(void)fd;
	(void)what;
	if (q->scanning || q->env->stopping)
		return;
	s = xcalloc(1, sizeof(*s));
	s->q = q;
	s->recover = ++q->nscans % QUEUE_RECOVER_EVERY == 0;
	q->scanning = true;
	workpool_submit(q->pool, queue_scan_work, queue_scan_done, s);
	if (q->pickup != NULL)
		pickup_scan(q->pickup);
}

static void
queue_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_role *q = arg;
	char buf[64], id[IDS_LEN + 1];
	unsigned count = 0;
	ssize_t n;

	(void)what;
	while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		count++;
		if (queue_notify_parse(buf, (size_t)n, id))
			queue_poke(q, id);
	}
	/* The kernel keeps only net.unix.max_dgram_qlen (10 by default)
	 * unread datagrams: a drain that finds the socket (nearly) full
	 * means wake-ups were probably dropped, so look at the spool now
	 * instead of at the next periodic rescan. */
	if (count >= QUEUE_NOTIFY_FULL)
		queue_rescan_cb(-1, 0, q);
	if (!q->env->stopping)
		queue_run_due(q);
}

/* ---- set-up and tear-down ---- */

static void
queue_conf(struct queue_role *q, const struct conf *c)
{
	q->max_running = queue_workers(c);
	if (conf_state_path(c, q->spool_dir, sizeof(q->spool_dir),
	    FERRY_SPOOL_DIR) < 0 || conf_store_path(c, q->db_path,
	    sizeof(q->db_path)) < 0)
		log_fatalx("queue: state_dir too long");
}

static void
queue_open_store(struct queue_role *q)
{
	const char *error;

	pthread_mutex_init(&q->store_lock, NULL);
	if (store_open_ex(&q->store, q->db_path, STORE_OPEN_LAZY, NULL,
	    &error) < 0) {
		log_errx("queue store open failed path=%s reason=%s",
		    store_path_label(q->db_path), error);
		q->store = NULL;	/* retried at the first delivery */
	}
}

/* The spool's disk went low or came back (diskwatch logged it). */
static void
queue_disk_cb(bool low, void *ctx)
{
	struct queue_role *q = ctx;
	struct queue_msg *m;
	unsigned h, n = 0;

	__atomic_store_n(&q->disk_low, low, __ATOMIC_RELAXED);
	if (low)
		return;
	for (h = 0; h < QUEUE_BUCKETS; h++)
		for (m = q->table[h]; m != NULL; m = m->next)
			if (m->disk_wait) {
				m->due = 0;
				n++;
			}
	if (n > 0)
		log_info("- queue disk-resume messages=%u", n);
	if (!q->env->stopping)
		queue_run_due(q);
}

static struct event *
queue_timer(struct queue_role *q, int secs, event_callback_fn cb)
{
	struct timeval tv = { secs, 0 };
	struct event *ev = event_new(q->base, -1, EV_PERSIST, cb, q);

	event_add(ev, &tv);
	return ev;
}

static void
queue_control_wake(const char *id, void *ctx)
{
	struct queue_role *q = ctx;

	if (id != NULL)
		queue_poke(q, id);
	else if (!q->env->stopping)
		queue_run_due(q);
}

static void
queue_pickup_wake(void *ctx, const char *id)
{
	struct queue_role *q = ctx;

	queue_poke(q, id);
	if (!q->env->stopping)
		queue_run_due(q);
}

static void
queue_events(struct queue_role *q)
{
	const char *error;

	q->tick = queue_timer(q, 1, queue_tick_cb);
	q->disk = diskwatch_new(q->base, q->pool, q->spool_dir, "queue",
	    queue_disk_cb, q);
	diskwatch_set_min(q->disk, q->env->conf->min_free_bytes,
	    q->env->conf->min_free_pct);
	q->rescan = queue_timer(q, QUEUE_RESCAN_SECS, queue_rescan_cb);
	q->dmarc_prune = queue_dmarc_prune_start(q->base, q->pool,
	    &q->store_lock, &q->store, q->db_path, &q->env->conf);
	if (queue_control_start(&q->ctl, q->base, q->pool,
	    q->env->conf->state_dir, q->spool_dir, queue_control_wake, q,
	    &error) < 0)
		log_warnx("- queue control-unavailable path=%s reason=%s",
		    QUEUE_CONTROL_SOCK, log_q(error));
	else {
		queue_control_set_history(q->ctl, q->hist, &q->env->conf);
		queue_control_set_dns(q->ctl, q->dns);
	}
	if (pickup_start(&q->pickup, q->base, q->pool, &q->env->conf,
	    &q->dkim, q->spool_dir, queue_pickup_resolve, queue_pickup_wake,
	    q, &error) < 0)
		log_warnx("- queue pickup-unavailable reason=%s", log_q(error));
	q->notify_fd = queue_notify_listen(q->env->conf->state_dir);
	if (q->notify_fd == -1) {
		log_warn("queue cannot bind %s; relying on rescans",
		    FERRY_QUEUE_SOCK);
		return;
	}
	q->notify_ev = event_new(q->base, q->notify_fd, EV_READ | EV_PERSIST,
	    queue_notify_cb, q);
	event_add(q->notify_ev, NULL);
}

static void
queue_teardown(struct queue_role *q)
{
	struct queue_msg *m;
	struct queue_job *j;
	unsigned h;

	relay_free(&q->relay);		/* no more relay callbacks */
	workpool_free(&q->pool);	/* running jobs finish first */
	queue_dmarc_prune_stop(&q->dmarc_prune);
	queue_history_free(&q->hist);	/* its last batch */
	diskwatch_free(&q->disk);
	queue_control_stop(&q->ctl);	/* after its jobs have answered */
	pickup_stop(&q->pickup);	/* its scans are done too */
	while ((j = TAILQ_FIRST(&q->rjobs)) != NULL) {
		TAILQ_REMOVE(&q->rjobs, j, link);
		queue_job_free(j);	/* retried at the next start */
	}
	dns_free(&q->dns);
	event_free(q->tick);
	event_free(q->rescan);
	if (q->notify_ev != NULL)
		event_free(q->notify_ev);
	if (q->notify_fd != -1)
		close(q->notify_fd);
	for (h = 0; h < QUEUE_BUCKETS; h++)
		while ((m = q->table[h]) != NULL) {
			q->table[h] = m->next;
			free(m);
		}
	if (q->store != NULL)
		store_close(&q->store);
	pthread_mutex_destroy(&q->store_lock);
}

static void
queue_relay_create(struct queue_role *q)
{
	const char *error;

	TAILQ_INIT(&q->rjobs);
	if (dns_create(&q->dns, q->base, q->env->conf, &error) < 0)
		log_fatalx("queue: dns: %s", error);
	if (relay_create(&q->relay, q->base, q->env->conf, q->dns,
	    q->pool, &error) < 0)
		log_fatalx("queue: relay: %s", error);
}

/* The signing keys for vacation replies (NULL when signing is off);
 * reading them blocks, but only at start and on reload, as in smtpd. */
static struct dkim_keyring *
queue_dkim_load(const struct conf *c)
{
	char dir[PATH_MAX];

	if (!c->dkim_sign || dkim_key_dir(c, dir, sizeof(dir)) < 0)
		return NULL;
	return dkim_keyring_load(dir);
}

struct queue_role *
queue_role_create(struct ferry_env *env)
{
	struct queue_role *q = xcalloc(1, sizeof(*q));
	const char *error;

	q->env = env;
	q->base = env->base;
	q->notify_fd = -1;
	queue_conf(q, env->conf);
	if (spool_init(q->spool_dir, &error) < 0)
		log_fatal("queue: %s path=%s", error, q->spool_dir);
	queue_open_store(q);
	/* Room for queue_workers to grow on reload up to QUEUE_POOL_MIN
	 * without a new pool (idle threads cost only their stacks). */
	q->pool = workpool_create(q->base, q->max_running > QUEUE_POOL_MIN ?
	    q->max_running : QUEUE_POOL_MIN);
	q->hist = queue_history_create(q->pool, q->db_path, q->spool_dir,
	    conf_store_shared(env->conf));
	queue_relay_create(q);
	q->srs = srs_keys_for_conf(env->conf);
	q->dkim = queue_dkim_load(env->conf);
	env->pool = q->pool;
	return q;
}

unsigned
queue_role_workers(const struct queue_role *q)
{
	return q->max_running;
}

void
queue_role_start(struct queue_role *q)
{
	/* Wake-ups first, then the scan: a message committed in between is
	 * found by one or the other. */
	queue_events(q);
	if (spool_scan(q->spool_dir, true, queue_scan_cb, q) < 0)
		log_err("queue spool scan failed path=%s", q->spool_dir);
	if (q->pickup != NULL)
		pickup_scan(q->pickup);
	queue_run_due(q);
}

void
queue_role_free(struct queue_role **qp)
{
	struct queue_role *q = *qp;

	if (q == NULL)
		return;
	queue_teardown(q);
	srs_keys_free(&q->srs);
	dkim_keyring_free(&q->dkim);
	q->env->pool = NULL;
	free(q);
	*qp = NULL;
}

/* A reload, after env->conf became the new snapshot: retry times, queue
 * lifetime, delay warnings and backup domains apply to every job started
 * from now on (jobs running keep their snapshot); queue_workers changes
 * how many messages run at once, up to the pool's threads; the relay takes its concurrency limits, timeouts and routes.
 * The resolvers the DNS module was created with stay until a restart. */
void
queue_role_reload(struct queue_role *q)
{
	const struct conf *c = q->env->conf;
	unsigned want = queue_workers(c);

	if (want > workpool_threads(q->pool)) {
		/* The pool's threads are fixed (the control socket and the
		 * store keep it): beyond them needs a restart. */
		log_warnx("- queue workers-limited workers=%u wanted=%u "
		    "note=\"restart to go beyond\"",
		    workpool_threads(q->pool), want);
		want = workpool_threads(q->pool);
	}
	q->max_running = want;
	relay_set_conf(q->relay, c);
	/* Batches already handed to the relay keep the sender they got. */
	srs_keys_free(&q->srs);
	q->srs = srs_keys_for_conf(c);
	/* Jobs running keep the ring they started with. */
	dkim_keyring_free(&q->dkim);
	q->dkim = queue_dkim_load(c);
	diskwatch_set_min(q->disk, c->min_free_bytes, c->min_free_pct);
	dns_cache_expire(q->dns);
	log_info("- queue settings workers=%u retry_min=%llu retry_max=%llu "
	    "lifetime=%llu concurrency_remote=%u concurrency_per_domain=%u",
	    q->max_running, (unsigned long long)queue_retry_min(c),
	    (unsigned long long)queue_retry_max(c),
	    (unsigned long long)queue_lifetime(c), c->concurrency_remote,
	    c->concurrency_per_domain);
	if (!q->env->stopping)
		queue_run_due(q);
}

void
queue_role_stop(struct queue_role *q)
{
	log_info("- queue stopping running=%u", q->running);
	event_base_loopbreak(q->base);
}
