/* Reports read at local delivery (queue_dmarc_in.h).  The cheap test
 * first: the header section alone (its first 64 KiB) says whether the
 * Subject is a report's, so ordinary mail costs one pread.  Only then
 * is the whole message read (at most QUEUE_DMARC_IN_MAX) and parsed;
 * the store is written under the queue's store lock, one report at a
 * time.  Hostile text from a report reaches the log only quoted.  The
 * daily pruning of the DMARC tables runs here too, since the queue role
 * is the one process that always runs and owns a store connection. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/dmarc_agg.h"
#include "ops/ops_dmarc_in.h"
#include "queue/queue_dmarc_in.h"
#include "queue/spool.h"
#include "store/store.h"

#define QUEUE_DMARC_IN_HEAD (64 * 1024)

bool
queue_dmarc_in_wanted(const struct conf *c, const char *addr,
    bool report_subject)
{
	if (!c->dmarc_report_ingest)
		return false;
	if (c->dmarc_report_mailboxes.n > 0)
		return conf_strlist_has(&c->dmarc_report_mailboxes, addr);
	return report_subject;
}

/* Reads up to size octets of fd from offset 0 into b: 0 or -1. */
static int
queue_dmarc_in_read(int fd, size_t size, struct fbuf *b)
{
	char buf[65536];
	size_t got = 0;

	while (got < size) {
		size_t want = size - got < sizeof(buf) ? size - got :
		    sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		fbuf_add(b, buf, (size_t)n);
		got += (size_t)n;
	}
	return 0;
}

/* Whether the Subject of the message in fd is a report's. */
static bool
queue_dmarc_in_subject(int fd)
{
	struct fbuf head, subj;
	bool yes = false;

	fbuf_init(&head, 0);
	fbuf_init(&subj, 0);
	if (queue_dmarc_in_read(fd, QUEUE_DMARC_IN_HEAD, &head) == 0 &&
	    mime_header_values(fbuf_str(&head), head.len, "Subject",
	    &subj) > 0)
		yes = dmarc_agg_subject(fbuf_str(&subj), subj.len);
	fbuf_release(&head);
	fbuf_release(&subj);
	return yes;
}

static void
queue_dmarc_in_log(const struct spool_env *env, const char *addr,
    const struct ops_dmarc_in_item *it)
{
	if (it->fate == OPS_DIN_BAD || it->fate == OPS_DIN_FAILED) {
		log_info("%s queue dmarc-report rcpt=%s result=%s reason=%s",
		    env->id, log_q(addr), ops_dmarc_in_fate_name(it->fate),
		    log_q(it->error));
		return;
	}
	log_info("%s queue dmarc-report rcpt=%s result=%s domain=%s org=%s "
	    "report_id=%s records=%zu messages=%llu", env->id, log_q(addr),
	    ops_dmarc_in_fate_name(it->fate), log_q(it->domain),
	    log_q(it->org), log_q(it->report_id), it->records,
	    (unsigned long long)it->messages);
}

bool
queue_dmarc_in_deliver(const struct conf *c, pthread_mutex_t *lock,
    struct store *s, const struct spool_env *env, const char *addr, int fd)
{
	struct ops_dmarc_in_result res;
	struct fbuf msg;

	if (s == NULL || fd < 0 || !c->dmarc_report_ingest ||
	    env->size > QUEUE_DMARC_IN_MAX)
		return false;
	if (!queue_dmarc_in_wanted(c, addr, c->dmarc_report_mailboxes.n > 0 ||
	    queue_dmarc_in_subject(fd)))
		return false;
	fbuf_init(&msg, 0);
	if (queue_dmarc_in_read(fd, QUEUE_DMARC_IN_MAX, &msg) < 0) {
		log_warn("%s queue dmarc-report rcpt=%s result=unreadable",
		    env->id, log_q(addr));
		fbuf_release(&msg);
		return true;
	}
	ops_dmarc_in_take(s, lock, fbuf_str(&msg), msg.len, false,
	    (int64_t)time(NULL), &res);
	for (size_t i = 0; i < res.n; i++)
		queue_dmarc_in_log(env, addr, &res.v[i]);
	ops_dmarc_in_result_free(&res);
	fbuf_release(&msg);
	return true;
}

/* ------------------------------------------------------------- pruning */

struct queue_dmarc_prune {
	struct event *ev;
	struct workpool *pool;
	pthread_mutex_t *lock;
	struct store **storep;
	const char *db_path;
	const struct conf *const *confp;
	uint64_t keep;			/* of this run, read on the loop */
	bool running;
};

static void
queue_dmarc_prune_work(void *arg)
{
	struct queue_dmarc_prune *p = arg;
	unsigned in = 0, results = 0, sent = 0;
	const char *error = NULL;
	int rc = -1;

	pthread_mutex_lock(p->lock);
	if (*p->storep == NULL && store_open(p->storep, p->db_path,
	    &error) < 0)
		*p->storep = NULL;
	if (*p->storep != NULL)
		rc = ops_dmarc_prune(*p->storep, (int64_t)time(NULL), p->keep,
		    &in, &results, &sent, &error);
	pthread_mutex_unlock(p->lock);
	if (rc < 0)
		log_warnx("- queue dmarc-prune result=failed reason=%s",
		    log_q(error != NULL ? error : "no store"));
	else if (in + results + sent > 0)
		log_info("- queue dmarc-prune received=%u results=%u sent=%u "
		    "keep=%llus", in, results, sent,
		    (unsigned long long)p->keep);
}

static void
queue_dmarc_prune_done(void *arg)
{
	struct queue_dmarc_prune *p = arg;
	struct timeval tv = { 86400, 0 };

	p->running = false;
	event_add(p->ev, &tv);
}

static void
queue_dmarc_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_dmarc_prune *p = arg;

	(void)fd;
	(void)what;
	if (p->running)
		return;
	p->keep = (*p->confp)->dmarc_keep;
	p->running = true;
	workpool_submit(p->pool, queue_dmarc_prune_work,
	    queue_dmarc_prune_done, p);
}

struct queue_dmarc_prune *
queue_dmarc_prune_start(struct event_base *base, struct workpool *pool,
    pthread_mutex_t *lock, struct store **storep, const char *db_path,
    const struct conf *const *confp)
{
	struct queue_dmarc_prune *p = xcalloc(1, sizeof(*p));
	struct timeval tv = { QUEUE_DMARC_PRUNE_FIRST, 0 };

	p->pool = pool;
	p->lock = lock;
	p->storep = storep;
	p->db_path = db_path;
	p->confp = confp;
	p->ev = event_new(base, -1, 0, queue_dmarc_prune_cb, p);
	event_add(p->ev, &tv);
	return p;
}

void
queue_dmarc_prune_stop(struct queue_dmarc_prune **pp)
{
	struct queue_dmarc_prune *p = *pp;

	if (p == NULL)
		return;
	event_free(p->ev);
	free(p);
	*pp = NULL;
}
