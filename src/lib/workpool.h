/* A small pool of worker threads for blocking work (fsync, SQLite writes,
 * Maildir writes) owned by one event loop.  work() runs on a worker
 * thread; done() then runs on the loop's thread, never inline from
 * workpool_submit().  A job cannot be cancelled once submitted: its owner
 * must keep `arg` alive until done() has run (mark it dead and free it
 * there). */
#ifndef FERRY_WORKPOOL_H
#define FERRY_WORKPOOL_H

struct event_base;
struct workpool;

typedef void workpool_work_cb(void *arg);
typedef void workpool_done_cb(void *arg);

struct workpool *workpool_create(struct event_base *base, unsigned nthreads);
void workpool_submit(struct workpool *pool, workpool_work_cb *work,
    workpool_done_cb *done, void *arg);
/* Jobs submitted and not yet completed (for shutdown waits). */
unsigned workpool_pending(const struct workpool *pool);
/* The number of worker threads (fixed at creation). */
unsigned workpool_threads(const struct workpool *pool);
/* On one of pool's worker threads: that thread's slot, 0 to
 * workpool_threads() - 1, stable for the thread's life (so per-thread
 * resources, such as a database connection, can live in an array indexed
 * by it).  -1 on any other thread. */
int workpool_thread_index(const struct workpool *pool);
/* Waits for queued jobs to finish (their done() runs), then frees. */
void workpool_free(struct workpool **poolp);

#endif
