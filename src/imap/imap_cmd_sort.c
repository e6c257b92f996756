/* SORT and UID SORT (RFC 5256 section 3) with the DISPLAYFROM and
 * DISPLAYTO keys (RFC 5957) and RETURN options (ESORT, RFC 5267
 * section 3), THREAD and UID THREAD (RFC 5256 section 4) with
 * ORDEREDSUBJECT and REFERENCES.  The search program is SEARCH's
 * (imap_search.c); the order and the threads come from imap_sort.c and
 * imap_thread.c.  What they compare is a message's sort record, kept in
 * the per-user index (mbox_cache_*) and built on first need from the
 * message's header on the worker pool, so a second SORT reads no
 * message file.  The index is a cache: a record that is missing or
 * does not decode is built again. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/imap_private.h"
#include "imap/imap_sort.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"
#include "mime/mime.h"

#define IMAP_SORT_HEADER_MAX MIME_HEADER_MAX_DEFAULT

struct imap_sort_job {
	struct imap_search q;
	struct imap_sort_crit crit[IMAP_SORT_CRIT_MAX];
	unsigned ncrit;
	bool thread;
	enum imap_thread_alg alg;
	bool esort;
	unsigned ret;		/* IMAP_SEARCH_RET_* of ESORT */
};

static void
imap_sort_release(struct imap_job *job)
{
	struct imap_sort_job *j = job->data;

	imap_search_free(&j->q);
	free(j);
}

/* The header section of the message at seq (up to the limit). */
static int
imap_sort_read_header(struct mbox_view *view, uint32_t seq, struct fbuf *b)
{
	struct mbox_error err;
	char buf[8192];
	ssize_t r;
	int fd = mbox_view_open_msg(view, seq, &err);

	if (fd < 0)
		return -1;
	while (b->len < IMAP_SORT_HEADER_MAX &&
	    (r = read(fd, buf, sizeof(buf))) > 0) {
		size_t from = b->len > 3 ? b->len - 3 : 0;

		fbuf_add(b, buf, (size_t)r);
		if (memmem(b->data + from, b->len - from, "\n\n", 2) != NULL ||
		    memmem(b->data + from, b->len - from, "\n\r\n", 3) != NULL)
			break;
	}
	close(fd);
	return 0;
}

void
imap_msgkey_load(struct mbox_view *view, uint32_t seq,
    const struct mbox_msg *m, struct imap_msgkey *k)
{
	void *data;
	size_t len;
	struct fbuf h;

	if (mbox_cache_get(view, m->uid, IMAP_CACHE_SORTKEY, &data,
	    &len) == 0 && data != NULL) {
		int r = imap_msgkey_decode(data, len, k);

		free(data);
		if (r == 0)
			return;
	}
	fbuf_init(&h, 0);
	if (imap_sort_read_header(view, seq, &h) < 0) {
		/* gone meanwhile: sorts as a message without a header */
		imap_msgkey_build("", 0, k);
		fbuf_release(&h);
		return;
	}
	imap_msgkey_build(fbuf_str(&h), h.len, k);
	fbuf_reset(&h);
	imap_msgkey_encode(k, &h);
	(void)mbox_cache_put(view, m->uid, IMAP_CACHE_SORTKEY, h.data,
	    h.len);
	fbuf_release(&h);
}

static bool
imap_sort_needs_keys(const struct imap_sort_job *j)
{
	if (j->thread)
		return true;
	for (unsigned i = 0; i < j->ncrit; i++)
		if (j->crit[i].key != IMAP_SORT_ARRIVAL &&
		    j->crit[i].key != IMAP_SORT_SIZE)
			return true;
	return false;
}

/* "1:3,7,5" in the given order: a range only for an ascending run. */
static void
imap_sort_fmt_ordered_set(struct fbuf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = i;

		while (k + 1 < n && v[k + 1] == v[k] + 1)
			k++;
		fbuf_addf(b, "%s%u", i > 0 ? "," : "", v[i]);
		if (k > i)
			fbuf_addf(b, ":%u", v[k]);
		i = k + 1;
	}
}

static void
imap_sort_out(struct imap_job *job, const struct imap_sort_job *j,
    const uint32_t *v, size_t n)
{
	struct fbuf *b = &job->out;
	unsigned ret = j->ret != 0 ? j->ret : IMAP_SEARCH_RET_ALL;

	if (!j->esort) {
		fbuf_adds(b, "* SORT");
		for (size_t i = 0; i < n; i++)
			fbuf_addf(b, " %u", v[i]);
		fbuf_adds(b, "\r\n");
		return;
	}
	imap_fmt_esearch_head(b, job->tag, job->uid, ret, v, n);
	if ((ret & IMAP_SEARCH_RET_ALL) && n > 0) {
		fbuf_adds(b, " ALL ");
		imap_sort_fmt_ordered_set(b, v, n);
	}
	fbuf_adds(b, "\r\n");
}

static void
imap_sort_work(struct imap_job *job)
{
	struct imap_sort_job *j = job->data;
	struct imap_session *s = job->s;
	struct imap_sort_item *items;
	uint32_t *hits;
	size_t n;
	uint64_t modseq;
	bool keys = imap_sort_needs_keys(j);

	if (imap_sync_updates(s, &job->out, true) < 0) {
		job->done = imap_msg_broken_done;
		return;
	}
	imap_search_run(s, &j->q, &hits, &n, &modseq);
	mbox_view_dates(s->view, hits, n);	/* ARRIVAL, and DATE's fallback */
	items = xcalloc(n + 1, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		const struct mbox_msg *m = mbox_view_msg(s->view, hits[i]);

		items[i].seq = hits[i];
		items[i].uid = m->uid;
		items[i].size = m->size;
		items[i].internaldate = m->internaldate;
		if (keys)
			imap_msgkey_load(s->view, hits[i], m,
			    &items[i].key);
	}
	if (j->thread) {
		fbuf_adds(&job->out, n > 0 ? "* THREAD " : "* THREAD");
		imap_thread_build(j->alg, items, n, job->uid, &job->out);
		fbuf_adds(&job->out, "\r\n");
	} else {
		imap_sort_items(items, n, j->crit, j->ncrit);
		for (size_t i = 0; i < n; i++)
			hits[i] = job->uid ? items[i].uid : items[i].seq;
		imap_sort_out(job, j, hits, n);
	}
	for (size_t i = 0; i < n; i++)
		imap_msgkey_free(&items[i].key);
	free(items);
	free(hits);
	fbuf_addf(&job->out, "%s OK %s%s completed\r\n", job->tag,
	    job->uid ? "UID " : "", j->thread ? "THREAD" : "SORT");
}

/* RETURN (MIN MAX COUNT ALL) of ESORT; () means ALL. */
static int
imap_sort_return(const struct imap_arg *a, unsigned *ret_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RET_MIN }, { "MAX", IMAP_SEARCH_RET_MAX },
		{ "ALL", IMAP_SEARCH_RET_ALL },
		{ "COUNT", IMAP_SEARCH_RET_COUNT },
	};

	if (a->type != IMAP_ARG_LIST)
		return -1;
	*ret_r = 0;
	for (unsigned i = 0; i < a->count; i++) {
		size_t k;

		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (imap_arg_atom_is(&a->list[i], opts[k].name))
				break;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret_r |= opts[k].bit;
	}
	return 0;
}

static struct imap_job *
imap_sort_new_job(struct imap_session *s, const char *tag, bool uid)
{
	struct imap_job *job = imap_job_new(s, tag, imap_sort_work);

	job->data = xcalloc(1, sizeof(struct imap_sort_job));
	job->release = imap_sort_release;
	job->uid = uid;
	return job;
}

static void
imap_sort_drop(struct imap_job *job)
{
	imap_sort_release(job);
	fbuf_release(&job->out);
	free(job);
}

void
imap_cmd_sort(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job = imap_sort_new_job(s, tag, uid);
	struct imap_sort_job *j = job->data;
	const char *error;
	unsigned pos = 0;

	if (count > 0 && imap_arg_atom_is(&args[0], "RETURN")) {
		j->esort = true;
		if (count < 2 || imap_sort_return(&args[1], &j->ret) < 0) {
			imap_bad(s, tag, "Invalid SORT RETURN options");
			imap_sort_drop(job);
			return;
		}
		pos = 2;
	}
	if (imap_sort_criteria_parse(pos < count ? &args[pos] : NULL,
	    j->crit, &j->ncrit, &error) < 0) {
		imap_bad(s, tag, error);
		imap_sort_drop(job);
		return;
	}
	pos++;
	if (imap_search_program(s, tag, "SORT", args + pos, count - pos,
	    &j->q) < 0) {
		imap_sort_drop(job);
		return;
	}
	imap_job_submit(job);
}

void
imap_cmd_thread(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job;
	struct imap_sort_job *j;
	enum imap_thread_alg alg;

	if (count > 0 && imap_arg_atom_is(&args[0], "ORDEREDSUBJECT"))
		alg = IMAP_THREAD_ORDEREDSUBJECT;
	else if (count > 0 && imap_arg_atom_is(&args[0], "REFERENCES"))
		alg = IMAP_THREAD_REFERENCES;
	else {
		imap_bad(s, tag, "Unknown THREAD algorithm");
		return;
	}
	job = imap_sort_new_job(s, tag, uid);
	j = job->data;
	j->thread = true;
	j->alg = alg;
	if (imap_search_program(s, tag, "THREAD", args + 1, count - 1,
	    &j->q) < 0) {
		imap_sort_drop(job);
		return;
	}
	imap_job_submit(job);
}
