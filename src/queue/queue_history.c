/* The queue's delivery history writer (queue_history.h).  Records go
 * into two arrays under a mutex; the loop's tick hands them to one pool
 * job, which writes them in one transaction (store_hist_write) and, at
 * most every PRUNE_EVERY seconds (sooner for a tiny history_keep),
 * prunes what is older than history_keep.  The job's connection is its
 * own, opened at first use and again after a failure, so the history
 * never waits for the delivery threads' connection or holds it.  A
 * failed write keeps its batch for the next tick while the buffer has
 * room: a store that is down for a while loses history only past
 * QUEUE_HISTORY_MAX records, and never mail.  On a shared store the
 * job also publishes the spool's summary for `queue list --all-nodes`
 * (envelopes read on the worker, replaced in one transaction). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "lib/ids.h"
#include "queue/queue.h"
#include "queue/queue_history.h"
#include "queue/spool.h"
#include "store/store.h"

#define QUEUE_HISTORY_PRUNE_EVERY 3600

struct queue_history_buf {
	struct store_hist_msg *msgs;
	size_t nmsgs;
	struct store_hist_attempt *att;
	size_t natt;
};

struct queue_history {
	struct workpool *pool;
	char *db_path;
	pthread_mutex_t lock;
	struct queue_history_buf buf;	/* under lock */
	uint64_t dropped;		/* under lock: since the last warning */
	int64_t seq;			/* under lock */
	char *spool_dir;
	bool publish;
	/* Loop thread only. */
	bool running;
	time_t next_prune;
	bool dirty;			/* the queue changed since publishing */
	time_t published;		/* when the last summary started */
	/* The job's (one at a time). */
	struct store *store;
	struct queue_history_buf job;
	int64_t prune_before;		/* 0: no prune in this job */
	bool summary;			/* publish the summary in this job */
	char node[STORE_HIST_NODE_MAX];
	int64_t now;
	bool failed, summary_failed;
};

struct queue_history *
queue_history_create(struct workpool *pool, const char *db_path,
    const char *spool_dir, bool publish)
{
	struct queue_history *h = xcalloc(1, sizeof(*h));

	h->pool = pool;
	h->db_path = xstrdup(db_path);
	h->spool_dir = xstrdup(spool_dir);
	h->publish = publish;
	h->dirty = true;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

static void
queue_history_buf_free(struct queue_history_buf *b)
{
	for (size_t i = 0; i < b->nmsgs; i++)
		free(b->msgs[i].rcpts);
	free(b->msgs);
	free(b->att);
	memset(b, 0, sizeof(*b));
}

static size_t
queue_history_count(const struct queue_history_buf *b)
{
	return b->nmsgs + b->natt;
}

/* ---- recording (any thread) ---- */

void
queue_history_arrival(struct queue_history *h, const struct conf *c,
    const struct spool_env *env)
{
	struct store_hist_msg *m;
	struct fbuf b;

	if (h == NULL || c->history_keep == 0)
		return;
	fbuf_init(&b, 0);
	for (size_t i = 0; i < env->nrcpts; i++)
		fbuf_addf(&b, "%s%s", i > 0 ? "\n" : "", env->rcpts[i].addr);
	pthread_mutex_lock(&h->lock);
	if (queue_history_count(&h->buf) >= QUEUE_HISTORY_MAX) {
		h->dropped++;
		pthread_mutex_unlock(&h->lock);
		fbuf_release(&b);
		return;
	}
	h->buf.msgs = xreallocarray(h->buf.msgs, h->buf.nmsgs + 1,
	    sizeof(*h->buf.msgs));
	m = &h->buf.msgs[h->buf.nmsgs++];
	memset(m, 0, sizeof(*m));
	str_lcpy(m->id, env->id, sizeof(m->id));
	str_lcpy(m->node, conf_node_name(c), sizeof(m->node));
	m->arrival = (int64_t)env->arrival;
	str_lcpy(m->sender, env->sender != NULL ? env->sender : "",
	    sizeof(m->sender));
	str_lcpy(m->client, env->client_addr != NULL ? env->client_addr :
	    "", sizeof(m->client));
	m->size = env->size;
	m->rcpts = xstrdup(fbuf_str(&b));
	pthread_mutex_unlock(&h->lock);
	fbuf_release(&b);
}

void
queue_history_attempt(struct queue_history *h, const struct conf *c,
    struct store_hist_attempt *a)
{
	if (h == NULL || c->history_keep == 0)
		return;
	str_lcpy(a->node, conf_node_name(c), sizeof(a->node));
	if (a->at == 0)
		a->at = (int64_t)time(NULL);
	pthread_mutex_lock(&h->lock);
	if (queue_history_count(&h->buf) >= QUEUE_HISTORY_MAX) {
		h->dropped++;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	a->seq = ++h->seq;
	h->buf.att = xreallocarray(h->buf.att, h->buf.natt + 1,
	    sizeof(*h->buf.att));
	h->buf.att[h->buf.natt++] = *a;
	pthread_mutex_unlock(&h->lock);
}

void
queue_history_fill(struct store_hist_attempt *a, const struct conf *c,
    const struct spool_env *env, const struct spool_rcpt *r,
    const char *result, const char *reply, const char *route,
    const char *host)
{
	memset(a, 0, sizeof(*a));
	str_lcpy(a->id, env->id, sizeof(a->id));
	str_lcpy(a->rcpt, r->addr, sizeof(a->rcpt));
	str_lcpy(a->result, result, sizeof(a->result));
	str_lcpy(a->reply, reply != NULL ? reply : "", sizeof(a->reply));
	str_lcpy(a->route, route != NULL ? route : "", sizeof(a->route));
	str_lcpy(a->host, host != NULL ? host : "", sizeof(a->host));
	a->at = (int64_t)time(NULL);
	if (strcmp(result, "deferred") == 0 &&
	    r->state == SPOOL_RCPT_PENDING) {
		a->next_attempt = (int64_t)r->next_attempt;
		a->give_up = (int64_t)env->arrival +
		    (int64_t)c->queue_lifetime;
	}
}

/* The recipient of env named addr, or NULL. */
static const struct spool_rcpt *
queue_history_rcpt_of(const struct spool_env *env, const char *addr)
{
	for (size_t k = 0; env != NULL && k < env->nrcpts; k++)
		if (strcmp(env->rcpts[k].addr, addr) == 0)
			return &env->rcpts[k];
	return NULL;
}

size_t
queue_history_operator(const struct conf *c, const char *actor,
    const struct spool_env *before, const struct spool_env *after,
    struct store_hist_attempt **v)
{
	char why[300];
	size_t n = 0;

	*v = NULL;
	snprintf(why, sizeof(why), "deleted from the queue by the operator "
	    "(%.200s)", actor != NULL ? actor : "-");
	for (size_t i = 0; i < before->nrcpts; i++) {
		const struct spool_rcpt *r = &before->rcpts[i];
		const struct spool_rcpt *now;

		if (r->state != SPOOL_RCPT_PENDING)
			continue;
		now = queue_history_rcpt_of(after, r->addr);
		if (after != NULL && (now == NULL ||
		    now->state == SPOOL_RCPT_PENDING))
			continue;
		*v = xreallocarray(*v, n + 1, sizeof(**v));
		queue_history_fill(&(*v)[n++], c, before, r, now == NULL ?
		    "deleted" : "bounced", now == NULL ? why :
		    now->last_error, "operator", "");
	}
	return n;
}

/* ---- the queue summary (worker) ---- */

struct queue_summary {
	struct store_queue_row *v;
	size_t n;
};

/* One envelope's row: its recipients still to be handled, their
 * earliest next attempt. */
static void
queue_summary_env(struct queue_summary *sm, const struct spool_env *env)
{
	struct store_queue_row *r;
	struct fbuf b;
	bool first = true;

	sm->v = xreallocarray(sm->v, sm->n + 1, sizeof(*sm->v));
	r = &sm->v[sm->n++];
	memset(r, 0, sizeof(*r));
	str_lcpy(r->id, env->id, sizeof(r->id));
	str_lcpy(r->sender, env->sender != NULL ? env->sender : "",
	    sizeof(r->sender));
	r->arrival = (int64_t)env->arrival;
	r->size = env->size;
	r->held = env->held;
	fbuf_init(&b, 0);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *rc = &env->rcpts[i];

		if (rc->state != SPOOL_RCPT_PENDING)
			continue;
		fbuf_addf(&b, "%s%s", b.len > 0 ? ", " : "", rc->addr);
		if (first || (int64_t)rc->next_attempt < r->next_attempt)
			r->next_attempt = (int64_t)rc->next_attempt;
		first = false;
	}
	r->rcpts = xstrdup(fbuf_str(&b));
	fbuf_release(&b);
}

static void
queue_summary_id(const char *id, void *ctx)
{
	struct queue_history *h = ((void **)ctx)[0];
	struct queue_summary *sm = ((void **)ctx)[1];
	struct spool_env env;

	if (spool_env_read(h->spool_dir, id, &env) < 0)
		return;			/* gone meanwhile, or corrupt */
	queue_summary_env(sm, &env);
	spool_env_free(&env);
}

/* Reads the spool and replaces this node's rows: 0 or -1 (logged). */
static int
queue_summary_publish(struct queue_history *h)
{
	struct queue_summary sm = { NULL, 0 };
	void *ctx[2] = { h, &sm };
	const char *error;
	int r = 0;

	if (spool_scan(h->spool_dir, false, queue_summary_id, ctx) < 0) {
		log_warnx("- queue summary-failed reason=\"spool scan\"");
		r = -1;
	} else if (store_queue_publish(h->store, h->node, sm.v, sm.n, h->now,
	    &error) < 0) {
		log_warnx("- queue summary-failed reason=%s", log_q(error));
		r = -1;
	}
	for (size_t i = 0; i < sm.n; i++)
		free(sm.v[i].rcpts);
	free(sm.v);
	return r;
}

/* ---- writing (one pool job at a time) ---- */

static void
queue_history_work(void *arg)
{
	struct queue_history *h = arg;
	const char *error;
	int64_t n;

	h->failed = h->summary_failed = false;
	if (h->store == NULL && store_open(&h->store, h->db_path,
	    &error) < 0) {
		log_warnx("- queue history-unavailable reason=%s",
		    log_q(error));
		h->store = NULL;
		h->failed = h->summary_failed = true;
		return;
	}
	if (h->summary && queue_summary_publish(h) < 0)
		h->summary_failed = true;
	if (queue_history_count(&h->job) > 0 && store_hist_write(h->store,
	    h->job.msgs, h->job.nmsgs, h->job.att, h->job.natt, &error) < 0) {
		log_warnx("- queue history-write-failed records=%zu reason=%s",
		    queue_history_count(&h->job), log_q(error));
		h->failed = true;
		/* The connection may be what broke: a new one next time. */
		store_close(&h->store);
		return;
	}
	if (h->prune_before <= 0)
		return;
	if ((n = store_hist_prune(h->store, h->prune_before, &error)) < 0)
		log_warnx("- queue history-prune-failed reason=%s",
		    log_q(error));
	else if (n > 0)
		log_debug("- queue history-pruned rows=%lld", (long long)n);
}

/* A failed batch goes back in front of what came meanwhile, as far as
 * the bound allows. */
static void
queue_history_requeue(struct queue_history *h)
{
	struct queue_history_buf *b = &h->buf, *j = &h->job;
	size_t room;

	pthread_mutex_lock(&h->lock);
	room = QUEUE_HISTORY_MAX > queue_history_count(b) ?
	    QUEUE_HISTORY_MAX - queue_history_count(b) : 0;
	if (queue_history_count(j) > room) {
		h->dropped += queue_history_count(j);
		pthread_mutex_unlock(&h->lock);
		queue_history_buf_free(j);
		return;
	}
	j->msgs = xreallocarray(j->msgs, j->nmsgs + b->nmsgs + 1,
	    sizeof(*j->msgs));
	memcpy(j->msgs + j->nmsgs, b->msgs, b->nmsgs * sizeof(*b->msgs));
	j->nmsgs += b->nmsgs;
	j->att = xreallocarray(j->att, j->natt + b->natt + 1,
	    sizeof(*j->att));
	memcpy(j->att + j->natt, b->att, b->natt * sizeof(*b->att));
	j->natt += b->natt;
	free(b->msgs);
	free(b->att);
	*b = *j;
	memset(j, 0, sizeof(*j));
	pthread_mutex_unlock(&h->lock);
}

static void
queue_history_done(void *arg)
{
	struct queue_history *h = arg;

	h->running = false;
	if (h->summary_failed)
		h->dirty = true;
	if (h->failed)
		queue_history_requeue(h);
	else
		queue_history_buf_free(&h->job);
}

void
queue_history_changed(struct queue_history *h)
{
	if (h != NULL)
		h->dirty = true;
}

/* Moves the buffer into the job's batch; the records dropped since the
 * last call (0 when none). */
static uint64_t
queue_history_take(struct queue_history *h)
{
	uint64_t dropped;

	pthread_mutex_lock(&h->lock);
	h->job = h->buf;
	memset(&h->buf, 0, sizeof(h->buf));
	dropped = h->dropped;
	h->dropped = 0;
	pthread_mutex_unlock(&h->lock);
	return dropped;
}

void
queue_history_tick(struct queue_history *h, const struct conf *c,
    time_t now)
{
	uint64_t dropped, every;

	if (h == NULL || h->running)
		return;
	dropped = queue_history_take(h);
	if (dropped > 0)
		log_warnx("- queue history-dropped records=%llu note=\"the "
		    "store took no history for a while\"",
		    (unsigned long long)dropped);
	h->prune_before = 0;
	if (c->history_keep > 0 && now >= h->next_prune) {
		every = c->history_keep / 2;
		if (every > QUEUE_HISTORY_PRUNE_EVERY)
			every = QUEUE_HISTORY_PRUNE_EVERY;
		h->next_prune = now + (time_t)(every > 0 ? every : 1);
		h->prune_before = (int64_t)now - (int64_t)c->history_keep;
	}
	h->summary = h->publish && ((h->dirty && now >= h->published +
	    QUEUE_SUMMARY_MIN) || now >= h->published + QUEUE_SUMMARY_MAX);
	if (h->summary) {
		h->dirty = false;
		h->published = now;
		str_lcpy(h->node, conf_node_name(c), sizeof(h->node));
		h->now = (int64_t)now;
	}
	if (queue_history_count(&h->job) == 0 && h->prune_before == 0 &&
	    !h->summary)
		return;
	h->running = true;
	log_debug("- queue history-write records=%zu prune=%lld",
	    queue_history_count(&h->job), (long long)h->prune_before);
	workpool_submit(h->pool, queue_history_work, queue_history_done, h);
}

void
queue_history_free(struct queue_history **hp)
{
	struct queue_history *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	/* The pool is gone: the last batch is written here. */
	if (!h->running) {
		(void)queue_history_take(h);
		h->prune_before = 0;
		h->summary = false;
		if (queue_history_count(&h->job) > 0)
			queue_history_work(h);
	}
	queue_history_buf_free(&h->job);
	queue_history_buf_free(&h->buf);
	if (h->store != NULL)
		store_close(&h->store);
	pthread_mutex_destroy(&h->lock);
	free(h->db_path);
	free(h->spool_dir);
	free(h);
}
