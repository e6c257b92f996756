/* Response formatting shared by the IMAP command files (strings, names
 * in modified UTF-7) and the worker jobs that run the blocking part of
 * a command: the session is suspended, work() runs on the role's pool
 * and writes its responses into the job's own buffer (it never touches
 * the session's output or socket), then done() on the loop thread takes
 * over whatever the job produced and the session reads again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "imap/imap_private.h"
#include "imap/mutf7.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

#define IMAP_QUOTED_MAX 1024	/* longer strings go out as literals */
/* Nice value of the thread that writes index rows after a reply: on
 * a busy CPU, commands (and their clients) run first. */
#define IMAP_BG_NICE 10

void
imap_fmt_string(struct fbuf *b, const char *s, size_t len, bool utf8)
{
	bool quoted = len <= IMAP_QUOTED_MAX;

	for (size_t i = 0; i < len && quoted; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n' || (c >= 0x80 && !utf8))
			quoted = false;
	}
	if (!quoted) {
		fbuf_addf(b, "{%zu}\r\n", len);
		fbuf_add(b, s, len);
		return;
	}
	fbuf_addc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fbuf_addc(b, '\\');
		fbuf_addc(b, s[i]);
	}
	fbuf_addc(b, '"');
}

void
imap_fmt_nstring(struct fbuf *b, const char *s, bool utf8)
{
	if (s == NULL)
		fbuf_adds(b, "NIL");
	else
		imap_fmt_string(b, s, strlen(s), utf8);
}

void
imap_fmt_mailbox(struct fbuf *b, const char *name, bool utf8)
{
	struct fbuf enc;

	if (utf8) {
		imap_fmt_string(b, name, strlen(name), true);
		return;
	}
	fbuf_init(&enc, 0);
	if (mutf7_encode(name, strlen(name), &enc) < 0) {
		/* the mailbox layer only keeps valid UTF-8 names */
		fbuf_reset(&enc);
		fbuf_adds(&enc, name);
	}
	imap_fmt_string(b, fbuf_str(&enc), enc.len, false);
	fbuf_release(&enc);
}

int
imap_arg_mailbox(const struct imap_arg *a, bool utf8, char *dst,
    size_t size, const char **error_r)
{
	struct fbuf dec;
	const char *s;

	if (!imap_arg_astring(a, &s)) {
		*error_r = "Mailbox name expected";
		return -1;
	}
	fbuf_init(&dec, size - 1);
	if (utf8)
		fbuf_adds(&dec, s);
	else if (mutf7_decode(s, strlen(s), &dec) < 0) {
		fbuf_release(&dec);
		*error_r = "Invalid modified UTF-7 mailbox name";
		return -1;
	}
	if (dec.len == 0 || dec.len >= size) {
		fbuf_release(&dec);
		*error_r = "Invalid mailbox name";
		return -1;
	}
	/* INBOX is case-blind (RFC 9051 section 5.1) */
	str_lcpy(dst, str_ieq(fbuf_str(&dec), "INBOX") ? "INBOX" :
	    fbuf_str(&dec), size);
	fbuf_release(&dec);
	return 0;
}

struct imap_job *
imap_job_new(struct imap_session *s, const char *tag, imap_job_fn *work)
{
	struct imap_job *job = xcalloc(1, sizeof(*job));

	job->s = s;
	str_lcpy(job->tag, tag, sizeof(job->tag));
	job->work = work;
	fbuf_init(&job->out, 0);
	return job;
}

static void
imap_job_work_cb(void *arg)
{
	struct imap_job *job = arg;

	/* a view the session let go of closes before its next job, so
	 * its views and user close in order */
	mbox_view_close(&job->s->closing_view);
	/* a login whose peer has left costs no hash */
	if (job->login && __atomic_load_n(&job->s->gone, __ATOMIC_ACQUIRE)) {
		job->skipped = true;
		return;
	}
	job->work(job);
}

static void
imap_job_done_cb(void *arg)
{
	struct imap_job *job = arg;
	struct imap_session *s = job->s;

	/* after the loop has stopped (shutdown past its grace time) the
	 * pool runs nothing more: the answer ends where it is */
	if (!s->dead && job->more &&
	    !event_base_got_exit(s->srv->env->base)) {
		/* a part of a long answer (a FETCH of a large folder): out
		 * to the socket now, so the client reads it while the next
		 * part is made; but no further ahead of the client than
		 * IMAP_OUTPUT_HIGH, so a client that reads slowly (or not
		 * at all) holds a megabyte or so of the answer in memory,
		 * not all of it */
		job->more = false;
		imap_session_write(s, &job->out);
		if (imap_session_output_full(s)) {
			s->parked = job;
			return;
		}
		workpool_submit(s->srv->env->pool, imap_job_work_cb,
		    imap_job_done_cb, job);
		return;
	}
	job->more = false;
	if (!s->dead) {
		if (job->done != NULL)
			job->done(job);
		if (job->out.len > 0)
			fbuf_add(&s->out, job->out.data, job->out.len);
	} else if (job->login)
		log_info("%s imap login-aborted address=%s started=%s", s->id,
		    s->addr, job->skipped ? "no" : "yes");
	imap_job_free(job);
	imap_session_resume(s);
}

void
imap_job_free(struct imap_job *job)
{
	if (job->release != NULL)
		job->release(job);
	fbuf_release(&job->out);
	free(job);
}

void
imap_job_unpark(struct imap_session *s)
{
	struct imap_job *job = s->parked;

	if (job == NULL)
		return;
	s->parked = NULL;
	if (s->dead)
		imap_job_done_cb(job);	/* releases it, frees the session */
	else
		workpool_submit(s->srv->env->pool, imap_job_work_cb,
		    imap_job_done_cb, job);
}

void
imap_job_submit(struct imap_job *job)
{
	imap_session_suspend(job->s);
	if (job->login)
		imap_session_watch_hup(job->s);
	workpool_submit(job->s->srv->env->pool, imap_job_work_cb,
	    imap_job_done_cb, job);
}

uint32_t
imap_flags_to_mbox(unsigned system)
{
	uint32_t r = 0;

	if (system & IMAP_FLAG_SEEN)
		r |= MBOX_F_SEEN;
	if (system & IMAP_FLAG_ANSWERED)
		r |= MBOX_F_ANSWERED;
	if (system & IMAP_FLAG_FLAGGED)
		r |= MBOX_F_FLAGGED;
	if (system & IMAP_FLAG_DELETED)
		r |= MBOX_F_DELETED;
	if (system & IMAP_FLAG_DRAFT)
		r |= MBOX_F_DRAFT;
	return r;
}

/* "1:3,7" from an ascending list of numbers. */
void
imap_fmt_uidset(struct fbuf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		fbuf_addf(b, "%s%u", i ? "," : "", v[i]);
		if (j > i)
			fbuf_addf(b, ":%u", v[j]);
		i = j + 1;
	}
}

void
imap_fmt_esearch_head(struct fbuf *b, const char *tag, bool uid,
    unsigned ret, const uint32_t *v, size_t n)
{
	fbuf_adds(b, "* ESEARCH (TAG ");
	imap_fmt_string(b, tag, strlen(tag), false);
	fbuf_addc(b, ')');
	if (uid)
		fbuf_adds(b, " UID");
	if ((ret & IMAP_SEARCH_RET_MIN) && n > 0)
		fbuf_addf(b, " MIN %u", v[0]);
	if ((ret & IMAP_SEARCH_RET_MAX) && n > 0)
		fbuf_addf(b, " MAX %u", v[n - 1]);
	if (ret & IMAP_SEARCH_RET_COUNT)
		fbuf_addf(b, " COUNT %zu", n);
}

struct imap_closer {
	struct mbox_view *views[2];
	struct mbox_user *user;
};

static void
imap_closer_work(void *arg)
{
	struct imap_closer *c = arg;
	const char *delay = getenv("FERRY_TEST_CLOSE_DELAY_MS");

	mbox_view_close(&c->views[0]);
	mbox_view_close(&c->views[1]);
	/* tests only: the user's last close comes this long after the
	 * session ended (tests/integration/test_imap_linger.py) */
	if (delay != NULL)
		(void)usleep((useconds_t)strtoul(delay, NULL, 10) * 1000);
	mbox_user_close(&c->user);
}

static void
imap_closer_done(void *arg)
{
	free(arg);
}

void
imap_close_later(struct imapd *d, struct mbox_view **v1,
    struct mbox_view **v2, struct mbox_user **user)
{
	struct imap_closer *c = xcalloc(1, sizeof(*c));

	if (v1 != NULL) {
		c->views[0] = *v1;
		*v1 = NULL;
	}
	if (v2 != NULL) {
		c->views[1] = *v2;
		*v2 = NULL;
	}
	if (user != NULL) {
		c->user = *user;
		*user = NULL;
	}
	if (c->views[0] == NULL && c->views[1] == NULL && c->user == NULL) {
		free(c);
		return;
	}
	/* after the pool is gone (role shutdown) nothing else runs */
	if (d->env->pool == NULL) {
		imap_closer_work(c);
		free(c);
		return;
	}
	workpool_submit(d->env->pool, imap_closer_work, imap_closer_done, c);
}

static void
imap_flusher_work(void *arg)
{
	struct mbox_user *user = arg;

	mbox_user_flush(user);
	mbox_user_close(&user);
}

static void
imap_flusher_done(void *arg)
{
	(void)arg;
}

void
imap_flush_later(struct imapd *d, struct mbox_user *user)
{
	if (d->bgpool == NULL || user == NULL)
		return;
	/* tests only: the rows stay unwritten, as if the role died right
	 * after the reply (tests/integration/test_imap_bigfolder.py) */
	if (getenv("FERRY_TEST_NO_ROW_FLUSH") != NULL)
		return;
	workpool_submit(d->bgpool, imap_flusher_work, imap_flusher_done,
	    mbox_user_ref(user));
}

/* The pool's one thread, before anything else: a nice value only ever
 * goes up without privileges, so the thread keeps it for its life.
 * Linux applies setpriority() to the one thread named by its id.  The
 * step is relative: a role started at nice 5 writes its rows at 15. */
static void
imap_bgpool_nice(void *arg)
{
	id_t tid = (id_t)gettid();
	int base;

	(void)arg;
	errno = 0;
	base = getpriority(PRIO_PROCESS, tid);
	if (base == -1 && errno != 0)
		base = 0;
	if (setpriority(PRIO_PROCESS, tid, base + IMAP_BG_NICE > 19 ? 19 :
	    base + IMAP_BG_NICE) < 0)
		log_warn("- imap bgpool-nice");
}

struct workpool *
imap_bgpool_create(struct event_base *base)
{
	struct workpool *pool;

	if (base == NULL)
		return NULL;
	pool = workpool_create(base, 1);
	workpool_submit(pool, imap_bgpool_nice, NULL, NULL);
	return pool;
}
