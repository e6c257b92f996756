/* DMARC results for the aggregate reports (RFC 7489 7.2), written in
 * batches: smtp_dmarc.c hands each message's row over here and goes on
 * at once; the rows wait in memory and are written in one transaction
 * per SMTP_DMARC_ROWS_MAX rows or SMTP_DMARC_ROWS_DELAY seconds after
 * the first of them, on the store pool.  One write transaction a second
 * instead of one a message: every message's own INSERT contended for
 * the database's write lock with the commits and the greylist.
 *
 * What is at stake is a count in tomorrow's report, never mail: a crash
 * of smtpd loses the rows of the last second at most.  On stop the rows
 * are written at once, and from then on each row as it comes; a write
 * that fails is logged with the number of rows lost. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

struct smtp_dmarc_rows {
	struct store_pool *stores;
	struct event *timer;
	struct store_dmarc_row *v;
	size_t n;
	bool now;			/* stopping: no more waiting */
};

struct smtp_dmarc_rows_job {
	size_t n;
	struct store_dmarc_row *v;
};

static void
smtp_dmarc_rows_work(struct store *conn, void *data)
{
	struct smtp_dmarc_rows_job *j = data;
	const char *error = "no store connection";

	if (conn == NULL ||
	    store_dmarc_add_many(conn, j->v, j->n, &error) < 0)
		log_warnx("- smtpd dmarc-record-failed rows=%zu error=%s",
		    j->n, log_q(error));
}

static void
smtp_dmarc_rows_release(void *data)
{
	struct smtp_dmarc_rows_job *j = data;

	free(j->v);
	free(j);
}

/* The rows are results of mail already answered: written even while
 * the process stops. */
static const struct store_job smtp_dmarc_rows_job = {
	.name = "dmarc-record",
	.work = smtp_dmarc_rows_work,
	.release = smtp_dmarc_rows_release,
	.must_run = true,
};

void
smtp_dmarc_rows_flush(struct smtp_dmarc_rows *b)
{
	struct smtp_dmarc_rows_job *j;

	evtimer_del(b->timer);
	if (b->n == 0)
		return;
	j = xcalloc(1, sizeof(*j));
	j->n = b->n;
	j->v = b->v;
	b->v = NULL;
	b->n = 0;
	(void)store_req_submit(b->stores, &smtp_dmarc_rows_job, j, NULL);
}

static void
smtp_dmarc_rows_timer(evutil_socket_t fd, short what, void *arg)
{
	smtp_dmarc_rows_flush(arg);
}

struct smtp_dmarc_rows *
smtp_dmarc_rows_new(struct event_base *base, struct store_pool *stores)
{
	struct smtp_dmarc_rows *b = xcalloc(1, sizeof(*b));

	b->stores = stores;
	b->timer = evtimer_new(base, smtp_dmarc_rows_timer, b);
	if (b->timer == NULL)
		log_fatalx("- smtpd dmarc-rows: cannot create a timer");
	return b;
}

void
smtp_dmarc_rows_add(struct smtp_dmarc_rows *b, const struct store_dmarc_row *r)
{
	const struct timeval delay = { SMTP_DMARC_ROWS_DELAY, 0 };

	if (b->v == NULL)
		b->v = xcalloc(SMTP_DMARC_ROWS_MAX, sizeof(*b->v));
	b->v[b->n++] = *r;
	if (b->now || b->n == SMTP_DMARC_ROWS_MAX)
		smtp_dmarc_rows_flush(b);
	else if (b->n == 1)
		evtimer_add(b->timer, &delay);
}

void
smtp_dmarc_rows_stop(struct smtp_dmarc_rows *b)
{
	b->now = true;
	smtp_dmarc_rows_flush(b);
}

void
smtp_dmarc_rows_free(struct smtp_dmarc_rows **bp)
{
	struct smtp_dmarc_rows *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	if (b->n > 0)
		log_warnx("- smtpd dmarc-record-lost rows=%zu", b->n);
	event_free(b->timer);
	free(b->v);
	free(b);
}
