/* The queue role: schedules every message in the spool and delivers it
 * on the worker pool, one job per message at a time, to local Maildirs.
 * The loop thread owns the schedule (a hash of ids with a due time);
 * workers own the disk work and the store lookups (serialised by a mutex,
 * since the store is one SQLite connection).  Wake-ups come from smtpd's
 * datagrams, a 60 s rescan (the spool is the truth) and a 1 s timer.
 * Not here yet: remote delivery (remote recipients are parked) and
 * bounces (a failed recipient is logged, the message then removed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "queue/queue.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/store.h"

#define QUEUE_BUCKETS 4096
#define QUEUE_RESCAN_SECS 60
#define QUEUE_RECOVER_EVERY 60		/* rescans between recovery passes */
#define QUEUE_HELD_RECHECK 3600
#define QUEUE_REMOTE_MSG "remote delivery not available yet"

struct queue_msg {
	struct queue_msg *next;		/* hash chain */
	char id[IDS_LEN + 1];
	time_t due;
	bool running;
	bool poke;			/* woken while running: run again */
};

struct queue_role {
	struct ferry_env *env;
	const struct conf *conf;
	struct event_base *base;
	struct workpool *pool;
	char spool_dir[PATH_MAX];
	char db_path[PATH_MAX];
	struct queue_msg *table[QUEUE_BUCKETS];
	unsigned running, max_running, cursor, nscans;
	bool scanning;
	uint64_t retry_min, retry_max, lifetime;
	pthread_mutex_t store_lock;
	struct store *store;		/* under store_lock */
	struct event *tick, *rescan, *notify_ev, *sigs[3];
	int notify_fd;
};

struct queue_job {
	struct queue_role *q;
	struct queue_msg *m;
	time_t next_due;		/* out: when to run again */
	bool gone;			/* out: message no longer queued */
};

struct queue_scan_job {
	struct queue_role *q;
	bool recover;
	char (*ids)[IDS_LEN + 1];
	size_t n, cap;
};

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
		    q->db_path, error);
	if (q->store != NULL)
		r = store_user_get(q->store, addr, u);
	pthread_mutex_unlock(&q->store_lock);
	return r;
}

/* ---- one recipient (worker thread) ---- */

static void
queue_log_rcpt(const struct spool_env *env, const struct spool_rcpt *r,
    const char *mailbox, const char *result, const char *reason)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s queue delivered rcpt=", env->id);
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
	if (r->state == SPOOL_RCPT_FAILED)
		fbuf_adds(&b, " bounce=\"not sent: bounces not implemented yet\"");
	log_info("%s", fbuf_str(&b));
	fbuf_release(&b);
}

static void
queue_set_error(struct spool_rcpt *r, const char *text)
{
	free(r->last_error);
	r->last_error = text != NULL ? xstrdup(text) : NULL;
}

static void
queue_rcpt_fail(const struct spool_env *env, struct spool_rcpt *r,
    const char *mailbox, const char *reason)
{
	r->state = SPOOL_RCPT_FAILED;
	queue_set_error(r, reason);
	queue_log_rcpt(env, r, mailbox, "failed", reason);
}

/* A temporary failure: back off, or give up once the message is older
 * than queue_lifetime. */
static void
queue_rcpt_tempfail(struct queue_role *q, const struct spool_env *env,
    struct spool_rcpt *r, const char *mailbox, const char *reason, time_t now)
{
	char why[512];

	r->attempts++;
	if (queue_expired(env->arrival, q->lifetime, now)) {
		snprintf(why, sizeof(why), "%s (queue lifetime expired)",
		    reason);
		queue_rcpt_fail(env, r, mailbox, why);
		return;
	}
	r->next_attempt = now + (time_t)queue_backoff(r->attempts,
	    q->retry_min, q->retry_max);
	queue_set_error(r, reason);
	queue_log_rcpt(env, r, mailbox, "deferred", reason);
}

/* Remote recipients wait for the relay module: parked for retry_max,
 * logged once. */
static void
queue_rcpt_remote(struct queue_role *q, const struct spool_env *env,
    struct spool_rcpt *r, time_t now)
{
	r->next_attempt = now + (time_t)q->retry_max;
	if (r->last_error == NULL) {
		queue_set_error(r, QUEUE_REMOTE_MSG);
		queue_log_rcpt(env, r, NULL, "deferred", QUEUE_REMOTE_MSG);
	}
}

/* "Return-Path: <sender>\r\nDelivered-To: addr\r\n", dropping control
 * bytes so no envelope value can start a header of its own. */
static void
queue_prefix(struct fbuf *b, const char *sender, const char *addr)
{
	const char *parts[] = { "Return-Path: <", sender, ">\r\nDelivered-To: ",
		addr, "\r\n" };
	const char *p;
	size_t i;

	for (i = 0; i < 5; i++) {
		if ((i & 1) == 0) {
			fbuf_adds(b, parts[i]);
			continue;
		}
		for (p = parts[i]; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x20 && *p != 0x7f)
				fbuf_addc(b, *p);
	}
}

static void
queue_rcpt_local(struct queue_role *q, const struct spool_env *env,
    struct spool_rcpt *r, int msg_fd, time_t now)
{
	const char *state_dir = q->conf->state_dir, *rel;
	char path[PATH_MAX], name[512], why[256];
	struct store_user u;
	struct fbuf prefix;
	int found, r2;

	found = queue_user_get(q, r->addr, &u);
	if (found == 0) {
		queue_rcpt_fail(env, r, NULL, "5.1.1 user unknown");
		return;
	}
	if (maildir_path(state_dir, r->addr, path, sizeof(path)) < 0) {
		queue_rcpt_fail(env, r, NULL, "5.1.3 bad mailbox address");
		return;
	}
	rel = path + strlen(state_dir) + 1;
	if (found < 0 || msg_fd < 0) {
		queue_rcpt_tempfail(q, env, r, rel, found < 0 ?
		    "4.3.0 account store unavailable" :
		    "4.3.0 spool content unreadable", now);
		return;
	}
	fbuf_init(&prefix, 0);
	queue_prefix(&prefix, env->sender, r->addr);
	r2 = maildir_deliver(path, prefix.data, prefix.len, msg_fd, u.quota,
	    name, sizeof(name));
	fbuf_release(&prefix);
	if (r2 == 0) {
		r->state = SPOOL_RCPT_DONE;
		queue_set_error(r, NULL);
		queue_log_rcpt(env, r, rel, "sent", NULL);
	} else if (errno == EDQUOT)
		queue_rcpt_tempfail(q, env, r, rel, "4.2.2 mailbox full", now);
	else {
		snprintf(why, sizeof(why), "4.3.0 mailbox write failed: %s",
		    strerror(errno));
		queue_rcpt_tempfail(q, env, r, rel, why, now);
	}
}

/* ---- one message (worker thread) ---- */

/* Runs every due recipient; returns whether the envelope changed. */
static bool
queue_deliver_env(struct queue_role *q, struct spool_env *env, time_t now)
{
	char msg[PATH_MAX];
	bool changed = false;
	int fd = -1;
	size_t i;

	if (spool_msg_path(q->spool_dir, env->id, msg, sizeof(msg)) == 0)
		fd = open(msg, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		log_err("%s queue content unreadable path=%s", env->id,
		    log_q(msg));
	for (i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING || r->next_attempt > now)
			continue;
		if (r->local)
			queue_rcpt_local(q, env, r, fd, now);
		else
			queue_rcpt_remote(q, env, r, now);
		changed = true;
	}
	if (fd != -1)
		close(fd);
	return changed;
}

/* Earliest next attempt of a pending recipient; 0 when none is left. */
static time_t
queue_next_due(const struct spool_env *env, bool *pending_r)
{
	time_t due = 0;
	size_t i;

	*pending_r = false;
	for (i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING)
			continue;
		if (!*pending_r || r->next_attempt < due)
			due = r->next_attempt;
		*pending_r = true;
	}
	return due;
}

static void
queue_job_finish(struct queue_job *j, struct spool_env *env, bool changed,
    time_t now)
{
	struct queue_role *q = j->q;
	bool pending;

	j->next_due = queue_next_due(env, &pending);
	if (!pending) {
		if (spool_remove(q->spool_dir, env->id) < 0 && errno != ENOENT)
			log_err("%s queue remove failed", env->id);
		else
			log_info("%s queue removed reason=finished", env->id);
		j->gone = true;
		return;
	}
	if (changed && spool_env_update(q->spool_dir, env) < 0) {
		if (errno == ENOENT) {
			j->gone = true;	/* deleted under us */
			return;
		}
		/* The deliveries happened; a retry repeats them at worst
		 * (at-least-once), so retry soon but not in a loop. */
		log_err("%s queue envelope update failed", env->id);
		j->next_due = now + (time_t)q->retry_min;
	}
}

static void
queue_job_work(void *arg)
{
	struct queue_job *j = arg;
	struct queue_role *q = j->q;
	struct spool_env env;
	time_t now = time(NULL);

	if (spool_env_read(q->spool_dir, j->m->id, &env) < 0) {
		if (errno == ENOENT)
			j->gone = true;
		else {
			log_err("%s queue envelope unreadable", j->m->id);
			j->next_due = now + (time_t)q->retry_max;
		}
		return;
	}
	if (env.held)
		j->next_due = now + QUEUE_HELD_RECHECK;
	else
		queue_job_finish(j, &env, queue_deliver_env(q, &env, now), now);
	spool_env_free(&env);
}

static void queue_run_due(struct queue_role *q);

static void
queue_job_done(void *arg)
{
	struct queue_job *j = arg;
	struct queue_role *q = j->q;
	struct queue_msg *m = j->m;

	q->running--;
	m->running = false;
	if (j->gone)
		queue_forget(q, m);
	else {
		m->due = m->poke ? 0 : j->next_due;
		m->poke = false;
	}
	free(j);
	if (!q->env->stopping)
		queue_run_due(q);
}

/* ---- timers, rescans, wake-ups (loop thread) ---- */

static void
queue_submit(struct queue_role *q, struct queue_msg *m)
{
	struct queue_job *j = xcalloc(1, sizeof(*j));

	j->q = q;
	j->m = m;
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

	for (i = 0; i < QUEUE_BUCKETS && q->running < q->max_running; i++) {
		h = (q->cursor + i) % QUEUE_BUCKETS;
		for (m = q->table[h]; m != NULL; m = m->next) {
			if (q->running >= q->max_running)
				break;
			if (!m->running && m->due <= now)
				queue_submit(q, m);
		}
	}
	q->cursor = (q->cursor + i) % QUEUE_BUCKETS;
}

static void
queue_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	queue_run_due(arg);
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
}

static void
queue_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_role *q = arg;
	char buf[64], id[IDS_LEN + 1];
	ssize_t n;

	(void)what;
	while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0)
		if (queue_notify_parse(buf, (size_t)n, id))
			queue_poke(q, id);
	if (!q->env->stopping)
		queue_run_due(q);
}

static void
queue_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct queue_role *q = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("queue reload requested: nothing to reload yet");
		return;
	}
	log_info("queue stopping signal=%d running=%u", (int)sig, q->running);
	q->env->stopping = true;
	event_base_loopbreak(q->base);
}

/* ---- set-up and tear-down ---- */

static void
queue_conf(struct queue_role *q, const struct conf *c)
{
	q->conf = c;
	q->max_running = c->queue_workers > 0 ? c->queue_workers : 4;
	q->retry_min = c->retry_min > 0 ? c->retry_min : 60;
	q->retry_max = c->retry_max >= q->retry_min ? c->retry_max :
	    q->retry_min;
	q->lifetime = c->queue_lifetime > 0 ? c->queue_lifetime : 5 * 86400;
	if (conf_state_path(c, q->spool_dir, sizeof(q->spool_dir),
	    FERRY_SPOOL_DIR) < 0 || conf_state_path(c, q->db_path,
	    sizeof(q->db_path), FERRY_DB_FILE) < 0)
		log_fatalx("queue: state_dir too long");
}

static void
queue_open_store(struct queue_role *q)
{
	const char *error;

	pthread_mutex_init(&q->store_lock, NULL);
	if (store_open(&q->store, q->db_path, &error) < 0) {
		log_errx("queue store open failed path=%s reason=%s",
		    q->db_path, error);
		q->store = NULL;	/* retried at the first delivery */
	}
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
queue_events(struct queue_role *q)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	int i;

	q->tick = queue_timer(q, 1, queue_tick_cb);
	q->rescan = queue_timer(q, QUEUE_RESCAN_SECS, queue_rescan_cb);
	for (i = 0; i < 3; i++) {
		q->sigs[i] = evsignal_new(q->base, sigs[i], queue_signal_cb, q);
		event_add(q->sigs[i], NULL);
	}
	q->notify_fd = queue_notify_listen(q->conf->state_dir);
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
	unsigned h;
	int i;

	workpool_free(&q->pool);	/* running jobs finish first */
	event_free(q->tick);
	event_free(q->rescan);
	for (i = 0; i < 3; i++)
		event_free(q->sigs[i]);
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
	event_base_free(q->base);
}

int
queue_main(struct ferry_env *env)
{
	struct queue_role *q = xcalloc(1, sizeof(*q));
	const char *error;

	q->env = env;
	q->notify_fd = -1;
	queue_conf(q, env->conf);
	if (spool_init(q->spool_dir, &error) < 0)
		log_fatal("queue: %s path=%s", error, q->spool_dir);
	if ((q->base = event_base_new()) == NULL)
		log_fatalx("queue: cannot create event base");
	queue_open_store(q);
	if (spool_scan(q->spool_dir, true, queue_scan_cb, q) < 0)
		log_err("queue spool scan failed path=%s", q->spool_dir);
	q->pool = workpool_create(q->base, q->max_running);
	env->base = q->base;
	env->pool = q->pool;
	queue_events(q);
	log_info("queue started workers=%u", q->max_running);
	queue_run_due(q);
	event_base_dispatch(q->base);
	queue_teardown(q);
	env->base = NULL;
	env->pool = NULL;
	log_info("queue stopped");
	free(q);
	return 0;
}
