/* The queue's delivery history writer (queue_history.h).  Records go
 * into two arrays under a mutex; the loop's tick hands them to one pool
 * job, which writes them in one transaction (store_hist_write) and, at
 * most every PRUNE_EVERY seconds (sooner for a tiny history_keep),
 * prunes what is older than history_keep.  The job's connection is its
 * own, opened at first use and again after a failure, so the history
 * never waits for the delivery threads' connection or holds it.  A
 * failed write keeps its batch for the next tick while the buffer has
 * room: a store that is down for a while loses history only past
 * QUEUE_HISTORY_MAX records, and never mail. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
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
	/* Loop thread only. */
	bool running;
	time_t next_prune;
	/* The job's (one at a time). */
	struct store *store;
	struct queue_history_buf job;
	int64_t prune_before;		/* 0: no prune in this job */
	bool failed;
};

struct queue_history *
queue_history_create(struct workpool *pool, const char *db_path)
{
	struct queue_history *h = xcalloc(1, sizeof(*h));

	h->pool = pool;
	h->db_path = xstrdup(db_path);
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

/* ---- writing (one pool job at a time) ---- */

static void
queue_history_work(void *arg)
{
	struct queue_history *h = arg;
	const char *error;
	int64_t n;

	h->failed = false;
	if (h->store == NULL && store_open(&h->store, h->db_path,
	    &error) < 0) {
		log_warnx("- queue history-unavailable reason=%s",
		    log_q(error));
		h->store = NULL;
		h->failed = true;
		return;
	}
	if (queue_history_count(&h->job) > 0 && store_hist_write(h->store,
	    h->job.msgs, h->job.nmsgs, h->job.att, h->job.natt, &error) < 0) {
		log_warnx("- queue history-write-failed records=%zu reason=%s",
		    queue_history_count(&h->job), log_q(error));
		h->failed = true;
		/* The connection may be what broke: a new one next time. */
		store_close(&h->store);
		return;
	}
	if (h->prune_before > 0 && (n = store_hist_prune(h->store,
	    h->prune_before, &error)) < 0)
		log_warnx("- queue history-prune-failed reason=%s",
		    log_q(error));
	else if (h->prune_before > 0 && n > 0)
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
	if (h->failed)
		queue_history_requeue(h);
	else
		queue_history_buf_free(&h->job);
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
	if (queue_history_count(&h->job) == 0 && h->prune_before == 0)
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
		if (queue_history_count(&h->job) > 0)
			queue_history_work(h);
	}
	queue_history_buf_free(&h->job);
	queue_history_buf_free(&h->buf);
	if (h->store != NULL)
		store_close(&h->store);
	pthread_mutex_destroy(&h->lock);
	free(h->db_path);
	free(h);
}
