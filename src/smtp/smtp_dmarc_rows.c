/* DMARC results for the aggregate reports (RFC 7489 7.2), written in
 * batches: smtp_dmarc.c hands each message's row over here and goes on
 * at once; the rows wait in memory and are written in one transaction
 * per SMTP_DMARC_ROWS_MAX rows or SMTP_DMARC_ROWS_DELAY seconds after
 * the first of them, on the store pool.  One write transaction a second
 * instead of one a message: every message's own INSERT contended for
 * the database's write lock with the commits and the greylist.
 *
 * Rows of the same second that differ in nothing else are one row
 * whose messages field counts them: the report sums them anyway (one
 * <record> per source and results), and a sender that sends thousands
 * of messages a second made as many rows, a day's worth of which the
 * report's reader had to hold.  A row's hash finds its twin in the
 * batch without comparing every field of every row.
 *
 * What is at stake is a count in tomorrow's report, never mail: a crash
 * of smtpd loses the rows of the last second at most.  On stop the rows
 * are written at once, and from then on each row as it comes; a write
 * that fails is logged with the number of rows lost. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

struct smtp_dmarc_rows {
	struct store_pool *stores;
	struct event *timer;
	struct store_dmarc_row *v;
	uint64_t *hash;			/* v[i]'s smtp_dmarc_row_hash */
	size_t n, size;
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
	b->n = b->size = 0;
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

/* Every field but messages. */
static uint64_t
smtp_dmarc_row_hash(const struct store_dmarc_row *r)
{
	const char *const s[] = { r->policy_domain, r->header_from,
		r->source_ip, r->envelope_from, r->spf_domain, r->spf_result,
		r->dkim, r->disposition, r->reason, r->p, r->sp, r->adkim,
		r->aspf, r->rua };
	const int64_t n[] = { r->at, r->pct,
		r->spf_aligned * 2 + r->dkim_aligned };
	uint64_t h = str_hash64(STR_HASH64_INIT, n, sizeof(n));

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		h = str_hash64(str_hash64(h, s[i], strlen(s[i])), "\xff", 1);
	return h;
}

static bool
smtp_dmarc_row_same(const struct store_dmarc_row *a,
    const struct store_dmarc_row *b)
{
	return a->at == b->at && a->pct == b->pct &&
	    a->spf_aligned == b->spf_aligned &&
	    a->dkim_aligned == b->dkim_aligned &&
	    strcmp(a->source_ip, b->source_ip) == 0 &&
	    strcmp(a->policy_domain, b->policy_domain) == 0 &&
	    strcmp(a->header_from, b->header_from) == 0 &&
	    strcmp(a->envelope_from, b->envelope_from) == 0 &&
	    strcmp(a->spf_domain, b->spf_domain) == 0 &&
	    strcmp(a->spf_result, b->spf_result) == 0 &&
	    strcmp(a->dkim, b->dkim) == 0 &&
	    strcmp(a->disposition, b->disposition) == 0 &&
	    strcmp(a->reason, b->reason) == 0 &&
	    strcmp(a->p, b->p) == 0 && strcmp(a->sp, b->sp) == 0 &&
	    strcmp(a->adkim, b->adkim) == 0 &&
	    strcmp(a->aspf, b->aspf) == 0 && strcmp(a->rua, b->rua) == 0;
}

void
smtp_dmarc_rows_add(struct smtp_dmarc_rows *b, const struct store_dmarc_row *r)
{
	const struct timeval delay = { SMTP_DMARC_ROWS_DELAY, 0 };
	uint64_t h = smtp_dmarc_row_hash(r);

	/* Its twin, if any, is among the rows of this second: the last
	 * ones (rows come in time order but for one that waited for the
	 * store; a twin missed is one row more, never a wrong count). */
	for (size_t i = b->n; i-- > 0 && b->v[i].at == r->at;)
		if (b->hash[i] == h && smtp_dmarc_row_same(&b->v[i], r)) {
			b->v[i].messages += r->messages > 0 ? r->messages : 1;
			return;
		}
	if (b->n == b->size) {
		b->size = b->size == 0 ? 16 : 2 * b->size;
		b->v = xreallocarray(b->v, b->size, sizeof(*b->v));
		b->hash = xreallocarray(b->hash, b->size, sizeof(*b->hash));
	}
	b->v[b->n] = *r;
	if (b->v[b->n].messages == 0)
		b->v[b->n].messages = 1;
	b->hash[b->n++] = h;
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
	free(b->hash);
	free(b);
}
