/* The store's request API for event loops (store.h, "the request API"):
 * a store pool holds one connection per worker thread of a role's
 * workpool, indexed by workpool_thread_index(), so no two threads ever
 * share a connection and each connection's prepared statements are
 * reused by every request its thread runs.  A request rides on one
 * workpool job; aborting only marks it (the loop thread owns the flag
 * for done(), the worker reads it atomically to skip work not started),
 * and the request is freed when the job's completion reaches the loop.
 * It knows nothing about SQL: any backend behind store.h works. */
#include <assert.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "store/store.h"

struct store_pool {
	struct workpool *wp;
	struct store **conns;		/* one per worker thread */
	unsigned nconns;
	unsigned pending;
};

struct store_req {
	struct store_pool *sp;
	struct store_job job;
	void *data, *ctx;
	int aborted;			/* written on the loop, read anywhere */
};

int
store_pool_create(struct store_pool **spp, struct workpool *wp,
    const char *path, const char **error_r)
{
	struct store_pool *sp = xcalloc(1, sizeof(*sp));

	sp->wp = wp;
	sp->nconns = workpool_threads(wp);
	sp->conns = xcalloc(sp->nconns, sizeof(*sp->conns));
	for (unsigned i = 0; i < sp->nconns; i++) {
		if (store_open_ex(&sp->conns[i], path, STORE_OPEN_LAZY, NULL,
		    error_r) < 0) {
			store_pool_free(&sp);
			*spp = NULL;
			return -1;
		}
	}
	*spp = sp;
	return 0;
}

void
store_pool_free(struct store_pool **spp)
{
	struct store_pool *sp = *spp;

	if (sp == NULL)
		return;
	if (sp->pending != 0)
		log_warnx("- store pool-free pending=%u", sp->pending);
	for (unsigned i = 0; i < sp->nconns; i++)
		store_close(&sp->conns[i]);
	free(sp->conns);
	free(sp);
	*spp = NULL;
}

struct store *
store_pool_conn(struct store_pool *sp)
{
	int i = workpool_thread_index(sp->wp);

	if (i < 0 || (unsigned)i >= sp->nconns)
		return NULL;
	return sp->conns[i];
}

unsigned
store_pool_pending(const struct store_pool *sp)
{
	return sp->pending;
}

/* Every connection maps the same counter; the first one's mapping is
 * fixed from its opening on, so reading it here races with nothing. */
int
store_pool_generation(const struct store_pool *sp, uint64_t *gen_r)
{
	if (sp->nconns == 0 || sp->conns[0] == NULL)
		return -1;
	return store_generation(sp->conns[0], gen_r);
}

static void
store_req_work(void *arg)
{
	struct store_req *r = arg;

	if (!r->job.must_run &&
	    __atomic_load_n(&r->aborted, __ATOMIC_ACQUIRE))
		return;
	r->job.work(store_pool_conn(r->sp), r->data);
}

static void
store_req_done(void *arg)
{
	struct store_req *r = arg;

	r->sp->pending--;
	if (!r->aborted && r->job.done != NULL)
		r->job.done(r->data, r->ctx);
	if (r->job.release != NULL)
		r->job.release(r->data);
	else
		free(r->data);
	free(r);
}

struct store_req *
store_req_submit(struct store_pool *sp, const struct store_job *job,
    void *data, void *ctx)
{
	struct store_req *r = xcalloc(1, sizeof(*r));

	assert(job->work != NULL);
	r->sp = sp;
	r->job = *job;
	r->data = data;
	r->ctx = ctx;
	sp->pending++;
	workpool_submit(sp->wp, store_req_work, store_req_done, r);
	return r;
}

void
store_req_abort(struct store_req **reqp)
{
	struct store_req *r = *reqp;

	if (r == NULL)
		return;
	__atomic_store_n(&r->aborted, 1, __ATOMIC_RELEASE);
	*reqp = NULL;
}
