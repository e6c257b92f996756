/* Folder views (mbox.h): one session's numbered list of a folder's
 * messages, kept in step with the folder's shared state (mbox_index.c)
 * by comparing UIDs and MODSEQs, so each sync reports exactly what this
 * view has not seen yet: expunges (with the sequence numbers the view
 * had), new messages and flag changes.  Flag stores rename the files
 * (the flags live in the names) and give the changed messages one new
 * MODSEQ; expunges unlink and record vanished UIDs.  Every call holds
 * the user's mutex for its whole length. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"

/* ---- accessors ---- */

const char *
mbox_view_dir(const struct mbox_view *view)
{
	return view->fs->dir;
}

const char *
mbox_view_name(const struct mbox_view *view)
{
	return view->name;
}

uint32_t
mbox_view_uidvalidity(const struct mbox_view *view)
{
	return view->uidvalidity;
}

uint32_t
mbox_view_uidnext(const struct mbox_view *view)
{
	return view->uidnext;
}

uint64_t
mbox_view_highestmodseq(const struct mbox_view *view)
{
	return view->highestmodseq;
}

uint32_t
mbox_view_count(const struct mbox_view *view)
{
	return (uint32_t)view->n;
}

void
mbox_view_select_counts(const struct mbox_view *view, uint32_t *recent_r,
    uint32_t *first_unseen_r)
{
	uint32_t recent = 0, unseen = 0;

	for (size_t i = 0; i < view->n; i++) {
		uint32_t f = view->v[i].flags;

		recent += (f & MBOX_F_RECENT) != 0;
		if (unseen == 0 && !(f & MBOX_F_SEEN))
			unseen = (uint32_t)i + 1;
	}
	*recent_r = recent;
	*first_unseen_r = unseen;
}

const struct mbox_msg *
mbox_view_msg(const struct mbox_view *view, uint32_t seq)
{
	return seq >= 1 && seq <= view->n ? &view->v[seq - 1] : NULL;
}

uint32_t
mbox_view_seq(const struct mbox_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (view->v[mid].uid == uid)
			return (uint32_t)mid + 1;
		if (view->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const char *const *
mbox_view_keywords(const struct mbox_view *view, size_t *n_r)
{
	*n_r = view->fs->nkeywords;
	return (const char *const *)view->fs->keywords;
}

void
mbox_changes_free(struct mbox_changes *ch)
{
	if (ch == NULL)
		return;
	free(ch->expunged);
	free(ch->changed);
	memset(ch, 0, sizeof(*ch));
}

void
mbox_store_result_free(struct mbox_store_result *res)
{
	free(res->changed);
	free(res->modified);
	memset(res, 0, sizeof(*res));
}

/* ---- keeping the view in step ---- */

/* Letters a..z without a keyword in dovecot-keywords are not shown:
 * every bit of mbox_msg.keywords names a keyword. */
static void
mbox_view_set(struct mbox_msg *m, const struct mbox_rec *r, uint32_t kwmask)
{
	m->uid = r->uid;
	m->flags = (m->flags & MBOX_F_RECENT) | r->flags;
	m->keywords = r->keywords & kwmask;
	m->modseq = r->modseq;
	if (r->internaldate != 0)
		m->internaldate = r->internaldate;
	m->size = r->size;
}

static void
mbox_view_clear(struct mbox_view *view)
{
	view->n = 0;
	view->gen_known = false;
}

static void
mbox_u32_push(uint32_t **v, size_t *n, uint32_t x)
{
	if ((*n & (*n - 1)) == 0)
		*v = xreallocarray(*v, *n == 0 ? 1 : *n * 2, sizeof(**v));
	(*v)[(*n)++] = x;
}

bool
mbox_u32_bsearch(const uint32_t *v, size_t n, uint32_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == x)
			return true;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int
mbox_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
mbox_u32_sort(uint32_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), mbox_u32_cmp);
}

/* Removes the view's messages marked EXPUNGED, reporting them in ch
 * with their seqs before removal, descending. */
static void
mbox_view_drop_expunged(struct mbox_view *view, struct mbox_changes *ch)
{
	size_t o = 0, k;

	for (size_t i = view->n; i-- > 0; )
		if ((view->v[i].flags & MBOX_F_EXPUNGED) && ch != NULL) {
			k = ch->nexpunged;
			if ((k & (k - 1)) == 0)
				ch->expunged = xreallocarray(ch->expunged,
				    k == 0 ? 1 : k * 2, sizeof(*ch->expunged));
			ch->expunged[k].seq = (uint32_t)i + 1;
			ch->expunged[k].uid = view->v[i].uid;
			ch->nexpunged++;
		}
	for (size_t i = 0; i < view->n; i++)
		if ((view->v[i].flags & MBOX_F_EXPUNGED) == 0)
			view->v[o++] = view->v[i];
	view->n = o;
}

/* A closing view's array, from MBOX_VIEW_SPARE_MIN entries and larger
 * than the one kept, stays with its folder state (user->lock held). */
static void
mbox_view_keep_spare(struct mbox_view *view)
{
	struct mbox_fstate *fs = view->fs;

	if (fs->detached || view->cap < MBOX_VIEW_SPARE_MIN ||
	    view->cap <= fs->spare_cap)
		return;
	free(fs->spare_v);
	fs->spare_v = view->v;
	fs->spare_cap = view->cap;
	view->v = NULL;
	view->cap = 0;
}

/* An empty view takes the array a closed view left, when it holds need
 * entries: its pages are already mapped.  False when there is none. */
static bool
mbox_view_take_spare(struct mbox_view *view, size_t need)
{
	struct mbox_fstate *fs = view->fs;

	if (view->n != 0 || fs->spare_cap < need)
		return false;
	free(view->v);
	view->v = fs->spare_v;
	view->cap = fs->spare_cap;
	fs->spare_v = NULL;
	fs->spare_cap = 0;
	return true;
}

/* Whether the view is as its folder state's records left it: the same
 * generation, nothing new to mark \Recent, no expunged record still
 * shown, and the counters the diff would copy unchanged.  The diff then
 * has nothing to find, and a FETCH of a 100,000-message folder does not
 * walk both arrays (several MB) before its first line. */
static bool
mbox_view_current(const struct mbox_view *view, size_t nrecent)
{
	const struct mbox_fstate *fs = view->fs;

	return view->gen_known && view->gen_seen == fs->gen &&
	    nrecent == 0 && !view->expunged_kept &&
	    view->highestmodseq == fs->highestmodseq &&
	    view->uidnext == fs->uidnext &&
	    view->nkw_reported == fs->nkeywords;
}

/* Compares the view with its folder state (both ascending by UID). */
static void
mbox_view_diff(struct mbox_view *view, unsigned flags,
    const uint32_t *recent, size_t nrecent, struct mbox_changes *ch)
{
	struct mbox_fstate *fs = view->fs;
	size_t i = 0, j = 0;
	uint32_t *changed = NULL;
	size_t nchanged = 0;
	bool expunged = false;

	if (ch != NULL && mbox_view_current(view, nrecent)) {
		ch->old_count = ch->new_count = (uint32_t)view->n;
		return;
	}
	for (; i < view->n; i++) {
		struct mbox_msg *m = &view->v[i];

		while (j < fs->n && fs->v[j].uid < m->uid)
			j++;	/* cannot happen: new UIDs only grow */
		if (j == fs->n || fs->v[j].uid != m->uid) {
			m->flags |= MBOX_F_EXPUNGED;
			expunged = true;
			continue;
		}
		if (m->modseq != fs->v[j].modseq ||
		    (m->flags & MBOX_F_STORED) != fs->v[j].flags ||
		    m->keywords != (fs->v[j].keywords & fs->kwmask))
			mbox_u32_push(&changed, &nchanged, m->uid);
		mbox_view_set(m, &fs->v[j], fs->kwmask);
		if (mbox_u32_bsearch(recent, nrecent, m->uid))
			m->flags |= MBOX_F_RECENT;
	}
	if ((flags & MBOX_SYNC_KEEP_EXPUNGED) == 0)
		mbox_view_drop_expunged(view, ch);
	if (ch != NULL)
		ch->old_count = (uint32_t)view->n;
	/* room for the new ones at once (a large folder's first view
	 * would otherwise grow 100,000 entries by doubling) */
	if (j < fs->n && view->cap < view->n + (fs->n - j) &&
	    !mbox_view_take_spare(view, fs->n - j)) {
		view->cap = view->n + (fs->n - j);
		view->v = xreallocarray(view->v, view->cap, sizeof(*view->v));
	}
	/* the records above the view's last UID (all of them for a new
	 * view: a SELECT copies 100,000 here, in the room made above) */
	if (j < fs->n) {
		uint32_t last = view->n > 0 ? view->v[view->n - 1].uid : 0;

		for (; j < fs->n; j++) {
			const struct mbox_rec *r = &fs->v[j];
			struct mbox_msg *m;

			if (r->uid <= last)
				continue;
			m = &view->v[view->n++];
			*m = (struct mbox_msg){ 0 };
			mbox_view_set(m, r, fs->kwmask);
			if (nrecent > 0 &&
			    mbox_u32_bsearch(recent, nrecent, r->uid))
				m->flags |= MBOX_F_RECENT;
		}
	}
	/* The folder's keyword list only grows (new keywords are added at
	 * the end), whoever added to it: this view's store or copy, or
	 * another session's. */
	if (ch == NULL || fs->nkeywords != view->nkw_reported) {
		if (ch != NULL)
			ch->keywords_changed = true;
		view->nkw_reported = fs->nkeywords;
	}
	if (ch != NULL) {
		for (size_t k = 0; k < nchanged; k++) {
			uint32_t seq = mbox_view_seq(view, changed[k]);

			if (seq != 0 && seq <= ch->old_count)
				mbox_u32_push(&ch->changed, &ch->nchanged,
				    seq);
		}
		ch->new_count = (uint32_t)view->n;
	}
	free(changed);
	view->uidnext = fs->uidnext;
	view->highestmodseq = fs->highestmodseq;
	view->gen_seen = fs->gen;
	view->gen_known = true;
	view->expunged_kept = expunged &&
	    (flags & MBOX_SYNC_KEEP_EXPUNGED) != 0;
}

void
mbox_view_refresh_locked(struct mbox_view *view, struct mbox_changes *ch)
{
	mbox_view_diff(view, 0, NULL, 0, ch);
}

/* Sync with user->lock held. */
static int
mbox_view_sync_locked(struct mbox_view *view, unsigned flags,
    struct mbox_changes *ch, struct mbox_error *err)
{
	uint32_t *recent = NULL;
	size_t nrecent = 0;
	struct mbox_fstate *fs;

	if (view->fs->detached)
		return mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox has been deleted or renamed");
	if ((flags & MBOX_SYNC_STATE) && view->fs->loaded) {
		fs = view->fs;
		mbox_fstate_recent_take(fs, !view->readonly, &recent,
		    &nrecent);
	} else
		fs = mbox_index_sync(view->user, view->name,
		    (flags & MBOX_SYNC_QUICK) != 0, !view->readonly, &recent,
		    &nrecent, err);
	if (fs == NULL)
		return -1;
	if (fs->uidvalidity != view->uidvalidity) {
		if (view->uidvalidity != 0 && ch != NULL)
			ch->uidvalidity_changed = true;
		mbox_view_clear(view);
		view->uidvalidity = fs->uidvalidity;
	}
	mbox_view_diff(view, flags, recent, nrecent, ch);
	free(recent);
	return 0;
}

int
mbox_view_sync(struct mbox_view *view, unsigned flags,
    struct mbox_changes *ch, struct mbox_error *err)
{
	int r;

	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	mbox_user_lock(view->user);
	r = mbox_view_sync_locked(view, flags, ch, err);
	pthread_mutex_unlock(&view->user->lock);
	return r;
}

int
mbox_view_open(struct mbox_user *user, const char *name, bool readonly,
    struct mbox_view **view_r, struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	struct mbox_view *view;
	struct mbox_fstate *fs;
	uint32_t *recent = NULL;
	size_t nrecent = 0;

	*view_r = NULL;
	if (mbox_name_check(name, err) < 0)
		return -1;
	mbox_name_canon(name, canon, sizeof(canon));
	mbox_user_lock(user);
	fs = mbox_index_sync(user, canon, true, !readonly, &recent, &nrecent,
	    err);
	if (fs == NULL) {
		pthread_mutex_unlock(&user->lock);
		return -1;
	}
	view = xcalloc(1, sizeof(*view));
	view->user = user;
	view->fs = fs;
	view->name = xstrdup(canon);
	view->readonly = readonly;
	view->uidvalidity = fs->uidvalidity;
	fs->views++;
	mbox_view_diff(view, 0, recent, nrecent, NULL);
	pthread_mutex_unlock(&user->lock);
	free(recent);
	*view_r = view;
	return 0;
}

void
mbox_view_close(struct mbox_view **viewp)
{
	struct mbox_view *view = *viewp;
	struct mbox_fstate *fs;

	if (view == NULL)
		return;
	*viewp = NULL;
	mbox_user_lock(view->user);
	fs = view->fs;
	mbox_view_keep_spare(view);
	if (--fs->views == 0 && fs->detached)
		mbox_fstate_free(fs);
	pthread_mutex_unlock(&view->user->lock);
	mbox_view_clear(view);
	free(view->v);
	free(view->name);
	free(view);
}

/* ---- reading ---- */

static int
mbox_open_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (fsio_pathf(path, sizeof(path), "%s/%s", dir, file) < 0)
		return -1;
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int
mbox_view_open_msg(struct mbox_view *view, uint32_t seq,
    struct mbox_error *err)
{
	const struct mbox_msg *m = mbox_view_msg(view, seq);
	struct mbox_rec *r;
	int fd = -1;

	if (m == NULL || (m->flags & MBOX_F_EXPUNGED))
		return mbox_fail(err, MBOX_ERR_EXPUNGED,
		    "Message has been expunged");
	/* The folder state has the file's name (the view keeps none);
	 * renamed by someone since our last sync, a full scan knows. */
	mbox_user_lock(view->user);
	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		if (attempt == 1 && mbox_index_sync(view->user, view->name,
		    false, false, NULL, NULL, err) == NULL)
			break;
		if (!view->fs->detached &&
		    (r = mbox_fstate_find(view->fs, m->uid)) != NULL)
			fd = mbox_open_file(view->fs->dir, r->file);
	}
	pthread_mutex_unlock(&view->user->lock);
	if (fd < 0)
		return mbox_fail(err, MBOX_ERR_EXPUNGED,
		    "Message has been expunged");
	return fd;
}

/* ---- dates ---- */

/* The view's message at seq (1-based), when its date is unknown. */
static struct mbox_msg *
mbox_view_undated(struct mbox_view *view, uint32_t seq)
{
	struct mbox_msg *m;

	if (seq < 1 || seq > view->n)
		return NULL;
	m = &view->v[seq - 1];
	return m->internaldate == 0 ? m : NULL;
}

/* The records of the view's undated messages among seqs, with their
 * dates read when the files are there.  How many are still unknown. */
static size_t
mbox_view_read_dates(struct mbox_view *view, const uint32_t *seqs,
    size_t count, size_t from, struct mbox_rec **recs)
{
	size_t k = 0, unknown = 0;
	struct mbox_msg *m;
	struct mbox_rec *r;

	for (size_t i = from; i < count && !view->fs->detached; i++) {
		m = mbox_view_undated(view, seqs != NULL ? seqs[i] :
		    (uint32_t)i + 1);
		if (m != NULL && (r = mbox_fstate_find(view->fs, m->uid)) !=
		    NULL)
			recs[k++] = r;
	}
	mbox_index_dates(view->user, view->fs, recs, k);
	for (size_t i = 0; i < k; i++)
		if (recs[i]->internaldate == 0)
			unknown++;
	return unknown;
}

void
mbox_view_dates(struct mbox_view *view, const uint32_t *seqs, size_t n)
{
	size_t count = seqs != NULL ? n : view->n, i;
	struct mbox_rec **recs, *r;
	struct mbox_msg *m;
	time_t gone;

	for (i = 0; i < count; i++)
		if (mbox_view_undated(view, seqs != NULL ? seqs[i] :
		    (uint32_t)i + 1) != NULL)
			break;
	if (i == count)
		return;		/* all known: no lock */
	recs = xcalloc(count + 1, sizeof(*recs));
	mbox_user_lock(view->user);
	/* records dropped with a damaged index come back before the
	 * dates are looked up (else they would show as now) */
	if (!view->fs->detached && !view->fs->loaded)
		(void)mbox_index_sync(view->user, view->name, true, false,
		    NULL, NULL, NULL);
	/* A file not where its record says (renamed or removed by
	 * another program since the last sync): a sync finds its new name
	 * or buries the record, then once more. */
	if (mbox_view_read_dates(view, seqs, count, i, recs) > 0 &&
	    !view->fs->detached) {
		(void)mbox_index_sync(view->user, view->name, true, false,
		    NULL, NULL, NULL);
		(void)mbox_view_read_dates(view, seqs, count, i, recs);
	}
	for (; i < count; i++) {
		uint32_t seq = seqs != NULL ? seqs[i] : (uint32_t)i + 1;

		if ((m = mbox_view_undated(view, seq)) == NULL)
			continue;
		r = mbox_fstate_find(view->fs, m->uid);
		if (r != NULL && r->internaldate == 0)
			r->internaldate = time(NULL);	/* unreadable: one
							   date for all */
		if (r != NULL)
			m->internaldate = r->internaldate;
		else if (mbox_fstate_gone_date(view->fs, m->uid, &gone))
			m->internaldate = gone;	/* as others saw it */
		else
			m->internaldate = time(NULL);	/* gone unseen */
	}
	pthread_mutex_unlock(&view->user->lock);
	free(recs);
}

/* ---- store ---- */

static uint32_t
mbox_store_apply(uint32_t cur, uint32_t val, enum mbox_store_mode mode)
{
	if (mode == MBOX_STORE_SET)
		return val;
	if (mode == MBOX_STORE_ADD)
		return cur | val;
	return cur & ~val;
}

/* Renames r's file for new flags; 1 done, 0 gone, -1 error. */
static int
mbox_rec_rename(struct mbox_fstate *fs, struct mbox_rec *r, uint32_t flags,
    uint32_t keywords)
{
	char to[PATH_MAX], from[PATH_MAX], file[PATH_MAX];

	if (mbox_flags_file(r->file, flags, keywords, r->extra, file,
	    sizeof(file)) < 0 ||
	    fsio_pathf(from, sizeof(from), "%s/%s", fs->dir, r->file) < 0 ||
	    fsio_pathf(to, sizeof(to), "%s/%s", fs->dir, file) < 0)
		return -1;
	if (strcmp(from, to) != 0 && rename(from, to) < 0)
		return errno == ENOENT ? 0 : -1;
	free(r->file);
	r->file = xstrdup(file);
	r->in_new = file[0] == 'n';
	if (r->in_new)
		fs->maybe_new = true;
	r->flags = flags;
	r->keywords = keywords;
	mbox_fstate_changed(fs);
	return 1;
}

/* Keyword names to a bit mask of the folder's table. */
static int
mbox_keyword_mask(struct mbox_fstate *fs, const char *const *kw, size_t n,
    bool add, uint32_t *mask_r, struct mbox_error *err)
{
	int idx;

	*mask_r = 0;
	for (size_t i = 0; i < n; i++) {
		idx = mbox_keyword_index(fs, kw[i], add, err);
		if (idx == -1 && !add && mbox_keyword_ok(kw[i]))
			continue;	/* removing what nobody has */
		if (idx < 0)
			return -1;
		*mask_r |= 1u << idx;
	}
	return 0;
}

struct mbox_store_ctx {
	enum mbox_store_mode mode;
	uint32_t flags, kwmask;
	uint64_t unchangedsince, modseq;
	struct mbox_rec **recs;
	size_t nrecs;
};

/* One message of a store: 0, or -1 on a write error. */
static int
mbox_store_one(struct mbox_view *view, uint32_t seq, struct mbox_store_ctx *c,
    struct mbox_store_result *res)
{
	struct mbox_msg *m = &view->v[seq - 1];
	struct mbox_rec *r = mbox_fstate_find(view->fs, m->uid);
	uint32_t nf, nk;
	int rr;

	if (r == NULL || (m->flags & MBOX_F_EXPUNGED))
		return 0;
	if (c->unchangedsince != 0 && r->modseq > c->unchangedsince) {
		mbox_u32_push(&res->modified, &res->nmodified, seq);
		return 0;
	}
	nf = mbox_store_apply(r->flags, c->flags & MBOX_F_STORED, c->mode);
	nk = mbox_store_apply(r->keywords, c->kwmask, c->mode);
	if (nf == r->flags && nk == r->keywords)
		return 0;
	if ((rr = mbox_rec_rename(view->fs, r, nf, nk)) < 0) {
		log_warn("- mailbox store-failed dir=%s file=%s",
		    log_q(view->fs->dir), log_q(r->file));
		return -1;
	}
	if (rr == 0)
		return 0;	/* gone: the next sync reports it */
	r->modseq = c->modseq;
	c->recs[c->nrecs++] = r;
	mbox_view_set(m, r, view->fs->kwmask);
	mbox_u32_push(&res->changed, &res->nchanged, seq);
	return 0;
}

int
mbox_view_store(struct mbox_view *view, const uint32_t *seqs, size_t n,
    enum mbox_store_mode mode, uint32_t flags, const char *const *keywords,
    size_t nkeywords, uint64_t unchangedsince, struct mbox_store_result *res,
    struct mbox_error *err)
{
	struct mbox_store_ctx c;
	uint32_t *sorted;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (view->readonly)
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "Mailbox is read-only");
	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.flags = flags;
	c.unchangedsince = unchangedsince;
	sorted = xreallocarray(NULL, n + 1, sizeof(*sorted));
	memcpy(sorted, seqs, n * sizeof(*seqs));
	mbox_u32_sort(sorted, n);
	mbox_user_lock(view->user);
	if (view->fs->detached)
		r = mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox has been deleted or renamed");
	else if (!view->fs->loaded && mbox_index_sync(view->user, view->name,
	    false, false, NULL, NULL, err) == NULL)
		r = -1;
	if (r == 0)
		r = mbox_keyword_mask(view->fs, keywords, nkeywords,
		    mode != MBOX_STORE_REMOVE, &c.kwmask, err);
	if (r == 0) {
		c.modseq = mbox_index_next_modseq(view->fs);
		c.recs = xreallocarray(NULL, n + 1, sizeof(*c.recs));
		for (size_t i = 0; i < n && r == 0; i++) {
			if (sorted[i] == 0 || sorted[i] > view->n ||
			    (i > 0 && sorted[i] == sorted[i - 1]))
				continue;
			if (mbox_store_one(view, sorted[i], &c, res) < 0)
				r = mbox_fail(err, MBOX_ERR_TEMP,
				    "Cannot change flags");
		}
		if (c.nrecs > 0 && mbox_index_update(view->user, view->fs,
		    c.recs, c.nrecs, c.modseq) < 0)
			log_warnx("- mailbox index-update-failed dir=%s",
			    log_q(view->fs->dir));
		if (c.nrecs > 0)
			view->highestmodseq = view->fs->highestmodseq;
		free(c.recs);
	}
	if (view->fs->nkeywords != view->nkw_reported) {
		res->keywords_changed = true;
		view->nkw_reported = view->fs->nkeywords;
	}
	pthread_mutex_unlock(&view->user->lock);
	free(sorted);
	return r;
}

/* ---- expunge ---- */

/* uids sorted (a copy made by mbox_view_expunge). */
static bool
mbox_uid_listed(const uint32_t *uids, size_t n, uint32_t uid)
{
	return uids == NULL || mbox_u32_bsearch(uids, n, uid);
}

static int
mbox_view_expunge_locked(struct mbox_view *view, const uint32_t *uids,
    size_t nuids, struct mbox_changes *ch, struct mbox_error *err)
{
	struct mbox_fstate *fs;
	uint32_t *gone = NULL, *recent = NULL;
	size_t ngone = 0, nrecent = 0;
	uint64_t bytes = 0;
	char path[PATH_MAX];
	struct stat st;

	if (view->fs->detached)
		return mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox has been deleted or renamed");
	/* The folder state, not the view: what others changed meanwhile
	 * is reported by the diff at the end, with the expunges. */
	fs = mbox_index_sync(view->user, view->name, true, true, &recent,
	    &nrecent, err);
	if (fs == NULL)
		return -1;
	for (size_t i = 0; i < fs->n && fs->uidvalidity == view->uidvalidity;
	    i++) {
		struct mbox_rec *r = &fs->v[i];

		if ((r->flags & MBOX_F_DELETED) == 0 ||
		    mbox_view_seq(view, r->uid) == 0 ||
		    !mbox_uid_listed(uids, nuids, r->uid) ||
		    fsio_pathf(path, sizeof(path), "%s/%s", fs->dir,
		    r->file) < 0)
			continue;
		if (stat(path, &st) == 0)
			bytes += (uint64_t)st.st_size;
		if (unlink(path) < 0 && errno != ENOENT) {
			log_warn("- mailbox expunge-failed path=%s",
			    log_q(path));
			continue;
		}
		mbox_u32_push(&gone, &ngone, r->uid);
	}
	if (ngone > 0) {
		fsio_fsync_dir(fs->dir);
		maildir_quota_release(view->user->path, bytes, ngone);
		if (mbox_index_expunge(view->user, fs, gone, ngone,
		    mbox_index_next_modseq(fs)) < 0)
			log_warnx("- mailbox index-expunge-failed dir=%s",
			    log_q(fs->dir));
	}
	free(gone);
	if (fs->uidvalidity != view->uidvalidity) {
		if (ch != NULL)
			ch->uidvalidity_changed = true;
		mbox_view_clear(view);
		view->uidvalidity = fs->uidvalidity;
	}
	mbox_view_diff(view, 0, recent, nrecent, ch);
	free(recent);
	return 0;
}

int
mbox_view_expunge(struct mbox_view *view, const uint32_t *uids,
    size_t nuids, struct mbox_changes *ch, struct mbox_error *err)
{
	uint32_t *sorted = NULL;
	int r;

	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	if (view->readonly)
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "Mailbox is read-only");
	if (uids != NULL) {
		sorted = xreallocarray(NULL, nuids + 1, sizeof(*sorted));
		memcpy(sorted, uids, nuids * sizeof(*uids));
		mbox_u32_sort(sorted, nuids);
	}
	mbox_user_lock(view->user);
	r = mbox_view_expunge_locked(view, sorted, nuids, ch, err);
	pthread_mutex_unlock(&view->user->lock);
	free(sorted);
	return r;
}

/* ---- vanished and cache ---- */

/* The folder's rows must be loaded (ids are gone after a rebuild)
 * before the index is asked about it.  user->lock held. */
static int
mbox_view_loaded(struct mbox_view *view)
{
	if (view->fs->detached)
		return -1;
	if (view->fs->loaded)
		return 0;
	return mbox_index_sync(view->user, view->name, true, false, NULL,
	    NULL, NULL) != NULL ? 0 : -1;
}

int
mbox_view_vanished(struct mbox_view *view, uint64_t since, uint32_t **uids_r,
    size_t *n_r, bool *complete_r, struct mbox_error *err)
{
	int r;

	*uids_r = NULL;
	*n_r = 0;
	mbox_user_lock(view->user);
	r = mbox_view_loaded(view);
	*complete_r = since >= view->fs->vanished_floor;
	if (r == 0)
		r = mbox_index_vanished(view->user, view->fs, since, uids_r,
		    n_r);
	pthread_mutex_unlock(&view->user->lock);
	return r < 0 ? mbox_fail(err, MBOX_ERR_TEMP,
	    "Cannot read the mailbox index") : 0;
}

int
mbox_cache_get(struct mbox_view *view, uint32_t uid, unsigned field,
    void **data_r, size_t *len_r)
{
	int r;

	*data_r = NULL;
	*len_r = 0;
	mbox_user_lock(view->user);
	r = mbox_view_loaded(view);
	if (r == 0)
		r = mbox_index_cache_get(view->user, view->fs, uid, field,
		    data_r, len_r);
	pthread_mutex_unlock(&view->user->lock);
	return r;
}

int
mbox_cache_put(struct mbox_view *view, uint32_t uid, unsigned field,
    const void *data, size_t len)
{
	int r;

	mbox_user_lock(view->user);
	r = mbox_view_loaded(view);
	if (r == 0 && mbox_fstate_find(view->fs, uid) != NULL)
		r = mbox_index_cache_put(view->user, view->fs, uid, field,
		    data, len);
	pthread_mutex_unlock(&view->user->lock);
	return r;
}
