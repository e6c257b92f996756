/* Worker threads with a job queue and a completion queue.  Completion is
 * signalled to the event loop through a non-blocking pipe, so the loop
 * needs no libevent thread support and done() callbacks run in the loop
 * thread in completion order. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

struct workpool_job {
	struct workpool_job *next;
	workpool_work_cb *work;
	workpool_done_cb *done;
	void *arg;
};

struct workpool_thread {
	struct workpool *pool;
	unsigned index;
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct workpool_job *todo, **todo_tail;
	struct workpool_job *finished, **finished_tail;
	pthread_t *threads;
	struct workpool_thread *tinfo;
	unsigned nthreads, pending;
	int stopping;
	int pipe_fd[2];
	struct event *ev;
};

/* Which pool and slot the calling thread serves; NULL on other threads.
 * Set once when the worker starts and never changed: per-thread state
 * rather than shared mutable state. */
static __thread const struct workpool_thread *workpool_self;

static void *
workpool_thread(void *p)
{
	const struct workpool_thread *self = p;
	struct workpool *pool = self->pool;
	struct workpool_job *job;
	char c = 1;

	workpool_self = self;

	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (pool->todo == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->todo == NULL) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		job = pool->todo;
		pool->todo = job->next;
		if (pool->todo == NULL)
			pool->todo_tail = &pool->todo;
		pthread_mutex_unlock(&pool->lock);

		job->work(job->arg);

		pthread_mutex_lock(&pool->lock);
		job->next = NULL;
		*pool->finished_tail = job;
		pool->finished_tail = &job->next;
		pthread_mutex_unlock(&pool->lock);
		/* A full pipe already has a wake-up pending: EAGAIN is fine. */
		if (write(pool->pipe_fd[1], &c, 1) < 0 && errno != EAGAIN)
			log_warn("workpool wakeup");
	}
}

static void
workpool_drain(struct workpool *pool)
{
	struct workpool_job *list, *job;

	pthread_mutex_lock(&pool->lock);
	list = pool->finished;
	pool->finished = NULL;
	pool->finished_tail = &pool->finished;
	pthread_mutex_unlock(&pool->lock);
	while ((job = list) != NULL) {
		list = job->next;
		pool->pending--;
		if (job->done != NULL)
			job->done(job->arg);
		free(job);
	}
}

static void
workpool_wakeup(evutil_socket_t fd, short what, void *p)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	workpool_drain(p);
}

struct workpool *
workpool_create(struct event_base *base, unsigned nthreads)
{
	struct workpool *pool = xcalloc(1, sizeof(*pool));

	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->todo_tail = &pool->todo;
	pool->finished_tail = &pool->finished;
	if (pipe2(pool->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0)
		log_fatal("workpool pipe");
	pool->ev = event_new(base, pool->pipe_fd[0], EV_READ | EV_PERSIST,
	    workpool_wakeup, pool);
	event_add(pool->ev, NULL);
	pool->nthreads = nthreads ? nthreads : 1;
	pool->threads = xcalloc(pool->nthreads, sizeof(*pool->threads));
	pool->tinfo = xcalloc(pool->nthreads, sizeof(*pool->tinfo));
	for (unsigned i = 0; i < pool->nthreads; i++) {
		pool->tinfo[i].pool = pool;
		pool->tinfo[i].index = i;
	}
	for (unsigned i = 0; i < pool->nthreads; i++)
		if (pthread_create(&pool->threads[i], NULL, workpool_thread,
		    &pool->tinfo[i]) != 0)
			log_fatalx("cannot start worker thread");
	return pool;
}

void
workpool_submit(struct workpool *pool, workpool_work_cb *work,
    workpool_done_cb *done, void *arg)
{
	struct workpool_job *job = xcalloc(1, sizeof(*job));

	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&pool->lock);
	*pool->todo_tail = job;
	pool->todo_tail = &job->next;
	pool->pending++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

unsigned
workpool_pending(const struct workpool *pool)
{
	return pool->pending;
}

unsigned
workpool_threads(const struct workpool *pool)
{
	return pool->nthreads;
}

int
workpool_thread_index(const struct workpool *pool)
{
	if (workpool_self == NULL || workpool_self->pool != pool)
		return -1;
	return (int)workpool_self->index;
}

void
workpool_free(struct workpool **poolp)
{
	struct workpool *pool = *poolp;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	workpool_drain(pool);
	event_free(pool->ev);
	close(pool->pipe_fd[0]);
	close(pool->pipe_fd[1]);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->threads);
	free(pool->tinfo);
	free(pool);
	*poolp = NULL;
}
