/* New messages in a folder (mbox.h): APPEND and COPY/MOVE.  Appended
 * messages are written to the Maildir's tmp/, fdatasynced, given their
 * INTERNALDATE as mtime, then renamed into cur/ with their flags in the
 * name and cur/ fsynced before the UIDs are handed out: a client told
 * "OK [APPENDUID ...]" has its message on disk.  A group (MULTIAPPEND,
 * a COPY of many) is all or nothing: if one fails, those already
 * published are removed again.  Copies are hard links (same inode, same
 * mtime) where the file system allows, else real copies.  UIDs come
 * from the folder's UID list, in the order given: lines appended to it
 * for exactly these files (uidlist_append) when the folder state knows
 * every UID it has given, entering the messages into the folder state
 * directly; else a scan (uidlist_sync_ordered) and a sync.  APPEND writes and
 * syncs its files without the user's lock, so that sessions' appends
 * overlap.  Names carry ",S=<size>,W=<vsize>" as Dovecot writes them, so
 * nobody has to read the file to size it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/diskwatch.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"

#define MBOX_COPY_BUF 65536

/* One message being written: its tmp/ path and its final cur/ name. */
struct mbox_new {
	char tmp[PATH_MAX];
	char file[PATH_MAX];	/* "cur/<base>:2,<flags>" */
	bool published;
	uint64_t bytes;
	uint64_t vsize;		/* octets with CRLF line ends */
	time_t internaldate;
};

#define MBOX_NOSPACE_TEXT "Not enough disk space on the server; try again " \
	"later"

/* Whether need more octets in user's Maildir leave min_free_space free
 * (mbox_service_set_min_free): 0, or -1 with err (MBOX_ERR_NOSPACE).
 * A failing statvfs lets the write try and report what it meets. */
static int
mbox_space(struct mbox_user *user, uint64_t need, struct mbox_error *err)
{
	uint64_t avail, total;

	if (diskwatch_statfs(user->path, &avail, &total) < 0 ||
	    !diskwatch_below(avail, total, need, user->svc->min_free_bytes,
	    user->svc->min_free_pct))
		return 0;
	log_warn("- mailbox save-refused dir=%s size=%llu "
	    "reason=below-min_free_space", log_q(user->path),
	    (unsigned long long)need);
	return mbox_fail(err, MBOX_ERR_NOSPACE, MBOX_NOSPACE_TEXT);
}

/* A failed write's errno as the client's answer. */
static int
mbox_write_failed(int saved, struct mbox_error *err, const char *text)
{
	if (saved == ENOSPC)
		return mbox_fail(err, MBOX_ERR_NOSPACE, MBOX_NOSPACE_TEXT);
	if (saved == EDQUOT)
		return mbox_fail(err, MBOX_ERR_OVERQUOTA, "Quota exceeded");
	return mbox_fail(err, MBOX_ERR_TEMP, text);
}

/* Copies src (fd from offset 0, or data) into fd, counting the CRLF
 * size.  0 or -1. */
static int
mbox_write_content(int fd, const struct mbox_append *a, uint64_t *vsize_r)
{
	char buf[MBOX_COPY_BUF];
	uint64_t v = 0;
	char prev = '\0';
	off_t off = 0;
	ssize_t n;

	for (;;) {
		const char *p = buf;

		if (a->fd >= 0) {
			n = pread(a->fd, buf, sizeof(buf), off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
		} else {
			n = (ssize_t)((size_t)off < a->len ? a->len -
			    (size_t)off : 0);
			if (n > MBOX_COPY_BUF)
				n = MBOX_COPY_BUF;
			p = (const char *)a->data + off;
		}
		if (n == 0)
			break;
		if (fsio_write_all(fd, p, (size_t)n) < 0)
			return -1;
		v += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++)
			if (p[i] == '\n' && (i == 0 ? prev : p[i - 1]) != '\r')
				v++;
		prev = p[n - 1];
		off += n;
	}
	*vsize_r = v;
	return 0;
}

/* tmp/ file with the content, synced, mtime = internaldate. */
static int
mbox_write_tmp(const char *path, struct mbox_new *nw, const struct mbox_append *a,
    uint64_t size, uint32_t kwmask)
{
	char base[512], fake[PATH_MAX];
	struct timespec ts[2];
	uint64_t vsize;
	int fd, saved;

	maildir_name_new(base, sizeof(base), size);
	if (fsio_pathf(nw->tmp, sizeof(nw->tmp), "%s/tmp/%s", path, base) < 0)
		return -1;
	fd = open(nw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ts[0].tv_sec = ts[1].tv_sec = a->internaldate != 0 ?
	    a->internaldate : time(NULL);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (mbox_write_content(fd, a, &vsize) < 0 || fdatasync(fd) < 0 ||
	    futimens(fd, ts) < 0) {
		saved = errno;
		close(fd);
		unlink(nw->tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {		/* closed even so: never twice */
		saved = errno;
		unlink(nw->tmp);
		errno = saved;
		return -1;
	}
	nw->bytes = size;
	nw->vsize = vsize;
	nw->internaldate = ts[1].tv_sec;
	if (fsio_pathf(fake, sizeof(fake), "cur/%s,W=%llu", base,
	    (unsigned long long)vsize) < 0 ||
	    mbox_flags_file(fake, a->flags & MBOX_F_STORED, kwmask, NULL,
	    nw->file, sizeof(nw->file)) < 0) {
		unlink(nw->tmp);
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* rename without ever overwriting (as maildir.c's delivery does). */
static int
mbox_publish(const char *from, const char *to)
{
	int r = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS ||
	    errno == ENOTSUP)) {
		r = link(from, to);
		if (r == 0)
			unlink(from);
	}
	return r;
}

/* Removes what a failed group left: published files and tmp files. */
static void
mbox_undo(const char *dir, struct mbox_new *v, size_t n)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		if (v[i].published && fsio_pathf(path, sizeof(path), "%s/%s",
		    dir, v[i].file) == 0)
			unlink(path);
		else if (v[i].tmp[0] != '\0')
			unlink(v[i].tmp);
	}
}

/* Numbers the files without a scan (uidlist_append) when the folder
 * state knows every UID the UID list has given, and enters them into
 * the state directly.  1 done, 0 when a scan must number them, -1 on a
 * write error (nothing numbered). */
static int
mbox_number_append(struct mbox_user *user, struct mbox_fstate *fs,
    const struct mbox_new *v, size_t n, uint32_t *uids_r)
{
	const char **names = xreallocarray(NULL, n + 1, sizeof(*names));
	uint64_t *vsizes = xreallocarray(NULL, n + 1, sizeof(*vsizes));
	struct mbox_added *add = xcalloc(n + 1, sizeof(*add));
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		names[i] = v[i].file;
		vsizes[i] = v[i].vsize;
	}
	if (fs->loaded && fs->uidvalidity != 0 && !fs->detached)
		r = uidlist_append(fs->dir, fs->uidvalidity, fs->uidnext, names,
		    vsizes, n, uids_r);
	if (r == 1) {
		for (size_t i = 0; i < n; i++)
			add[i] = (struct mbox_added){ uids_r[i], v[i].file,
				v[i].vsize, v[i].internaldate };
		/* A failure here costs only a reload: the UIDs are on disk
		 * and the next sync finds the messages. */
		(void)mbox_index_add(user, fs, add, n, uids_r[n - 1] + 1);
	}
	free(names);
	free(vsizes);
	free(add);
	return r;
}

/* After the files are in cur/: their UIDs, in order, and the index.
 * scans: user->scans before the files were published; a scan since
 * may have numbered them already (then only a scan can tell which UIDs
 * they got). */
static int
mbox_number(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_new *v, size_t n, uint64_t scans, uint32_t *uidvalidity_r,
    uint32_t *uids_r, struct mbox_error *err)
{
	const char **names;
	struct uidlist ul;
	int r;

	*uidvalidity_r = fs->uidvalidity;
	r = user->scans == scans ? mbox_number_append(user, fs, v, n, uids_r) :
	    0;
	if (r == 1) {
		mbox_fstate_add_fresh(fs, uids_r, n);
		return 0;
	}
	if (r < 0) {
		/* No UID was handed out: the messages were not saved. */
		log_warn("- mailbox uidlist-append-failed dir=%s",
		    log_q(fs->dir));
		mbox_undo(fs->dir, v, n);
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot number messages");
	}
	names = xreallocarray(NULL, n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = v[i].file;
	user->scans++;
	r = uidlist_sync_ordered(fs->dir, names, n, &ul);
	free(names);
	if (r < 0) {
		log_warn("- mailbox uidlist-failed dir=%s", log_q(fs->dir));
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot number messages");
	}
	*uidvalidity_r = ul.uidvalidity;
	/* Ours were numbered first and in order: usually a run at the end,
	 * each the one after the last found. */
	for (size_t i = 0, hint = ul.n; i < n; i++) {
		uids_r[i] = 0;
		if (hint + 1 < ul.n &&
		    strcmp(ul.v[hint + 1].name, v[i].file) == 0) {
			uids_r[i] = ul.v[++hint].uid;
			continue;
		}
		for (size_t k = ul.n; k-- > 0; )
			if (strcmp(ul.v[k].name, v[i].file) == 0) {
				uids_r[i] = ul.v[k].uid;
				hint = k;
				break;
			}
	}
	uidlist_free(&ul);
	mbox_fstate_add_fresh(fs, uids_r, n);
	if (mbox_index_sync(user, fs->name, false, false, NULL, NULL,
	    err) == NULL)
		return -1;
	return 0;
}

/* What an append decides under the user's lock before it writes: the
 * folder's directory, each message's size and keyword bits, the quota
 * taken. */
struct mbox_append_plan {
	char dir[PATH_MAX];
	uint64_t scans;		/* user->scans before the files exist */
	uint64_t *sizes;
	uint32_t *masks;
	uint64_t total;
};

static int
mbox_append_prepare(struct mbox_user *user, const char *name,
    const struct mbox_append *a, size_t n, struct mbox_append_plan *p,
    struct mbox_error *err)
{
	struct mbox_fstate *fs;
	struct stat st;

	/* Loaded, not scanned: the UIDs are checked against the UID list
	 * when the messages are numbered. */
	if ((fs = mbox_index_get(user, name, err)) == NULL)
		return -1;
	memcpy(p->dir, fs->dir, sizeof(p->dir));
	p->scans = user->scans;
	for (size_t i = 0; i < n; i++) {
		if (a[i].fd >= 0 && fstat(a[i].fd, &st) < 0)
			return mbox_fail(err, MBOX_ERR_TEMP,
			    "Cannot read message");
		p->sizes[i] = a[i].fd >= 0 ? (uint64_t)st.st_size : a[i].len;
		p->total += p->sizes[i];
		for (size_t k = 0; k < a[i].nkeywords; k++) {
			int idx = mbox_keyword_index(fs, a[i].keywords[k], true,
			    err);

			if (idx < 0)
				return -1;
			p->masks[i] |= 1u << idx;
		}
	}
	if (mbox_space(user, p->total, err) < 0)
		return -1;
	if (maildir_quota_reserve(user->path, user->quota, p->total, n) < 0) {
		if (errno == EDQUOT)
			return mbox_fail(err, MBOX_ERR_OVERQUOTA,
			    "Quota exceeded");
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot check quota");
	}
	return 0;
}

/* The files, durable in cur/: written and synced without the user's
 * lock, so that appends of several sessions overlap their syncs (and
 * share the one of cur/).  On failure nothing is left and the quota is
 * given back. */
static int
mbox_append_write(struct mbox_user *user, const struct mbox_append_plan *p,
    const struct mbox_append *a, struct mbox_new *v, size_t n,
    struct mbox_error *err)
{
	char path[PATH_MAX], cur[PATH_MAX];
	int saved = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (mbox_write_tmp(p->dir, &v[i], &a[i], p->sizes[i],
		    p->masks[i]) < 0) {
			saved = errno;
			break;
		}
	for (size_t k = 0; i == n && k < n; k++) {
		if (fsio_pathf(path, sizeof(path), "%s/%s", p->dir,
		    v[k].file) < 0 || mbox_publish(v[k].tmp, path) < 0) {
			i = k;
			break;
		}
		v[k].published = true;
	}
	if (i < n || fsio_pathf(cur, sizeof(cur), "%s/cur", p->dir) < 0 ||
	    fsio_fsync_dir_shared(cur) < 0) {
		if (saved == 0)
			saved = errno;
		log_warn("- mailbox append-failed dir=%s error=%s",
		    log_q(p->dir), log_q(strerror(saved)));
		mbox_undo(p->dir, v, n);
		maildir_quota_release(user->path, p->total, n);
		return mbox_write_failed(saved, err, "Cannot save message");
	}
	return 0;
}

/* Under the lock again: the folder state (the same directory, or the
 * messages went away with a folder deleted or renamed meanwhile) and
 * the UIDs. */
static int
mbox_append_finish(struct mbox_user *user, const char *name,
    const struct mbox_append_plan *p, struct mbox_new *v, size_t n,
    uint32_t *uidvalidity_r, uint32_t *uids_r, struct mbox_error *err)
{
	struct mbox_fstate *fs = mbox_index_get(user, name, err);

	if (fs == NULL || strcmp(fs->dir, p->dir) != 0) {
		mbox_undo(p->dir, v, n);
		maildir_quota_release(user->path, p->total, n);
		return fs == NULL ? -1 : mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox has been deleted or renamed");
	}
	return mbox_number(user, fs, v, n, p->scans, uidvalidity_r, uids_r,
	    err);
}

int
mbox_append(struct mbox_user *user, const char *name,
    const struct mbox_append *a, size_t n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	struct mbox_append_plan p;
	struct mbox_new *v;
	int r;

	if (mbox_name_check(name, err) < 0)
		return -1;
	mbox_name_canon(name, canon, sizeof(canon));
	memset(&p, 0, sizeof(p));
	p.sizes = xcalloc(n + 1, sizeof(*p.sizes));
	p.masks = xcalloc(n + 1, sizeof(*p.masks));
	v = xcalloc(n + 1, sizeof(*v));
	mbox_user_lock(user);
	r = mbox_append_prepare(user, canon, a, n, &p, err);
	pthread_mutex_unlock(&user->lock);
	if (r == 0)
		r = mbox_append_write(user, &p, a, v, n, err);
	if (r == 0) {
		mbox_user_lock(user);
		r = mbox_append_finish(user, canon, &p, v, n, uidvalidity_r,
		    uids_r, err);
		pthread_mutex_unlock(&user->lock);
	}
	free(p.sizes);
	free(p.masks);
	free(v);
	return r;
}

/* ---- copy and move ---- */

/* What a copy needs of a source message, taken before any sync moves
 * the folder state's records. */
struct mbox_src {
	uint32_t uid, flags, keywords;
	char *file;
	char *extra;
};

/* A real copy when a link is not possible: tmp/, sync, mtime, rename. */
static int
mbox_copy_file(const char *from, const char *tmpdir, const char *to)
{
	struct mbox_append a;
	struct mbox_new nw;
	struct timespec ts[2];
	struct stat st;
	uint64_t vsize;
	int fd, out, r = -1, saved = 0;

	if ((fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.fd = fd;
	memset(&nw, 0, sizeof(nw));
	if (fstat(fd, &st) == 0 && fsio_pathf(nw.tmp, sizeof(nw.tmp),
	    "%s/tmp/ferry-copy.%d.%ld", tmpdir, (int)getpid(),
	    (long)st.st_ino) == 0 &&
	    (out = open(nw.tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) >= 0) {
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		if (mbox_write_content(out, &a, &vsize) < 0 ||
		    fdatasync(out) < 0 || futimens(out, ts) < 0) {
			saved = errno;
			close(out);
		} else if (close(out) < 0)	/* closed even so */
			saved = errno;
		else
			r = mbox_publish(nw.tmp, to);
		if (r < 0) {
			if (saved == 0)
				saved = errno;
			unlink(nw.tmp);
		}
	} else
		saved = errno;
	close(fd);
	if (r < 0)
		errno = saved;
	return r;
}

/* Destination name and the file itself for one source message. */
static int
mbox_copy_one(struct mbox_user *user, struct mbox_fstate *src,
    struct mbox_fstate *dst, const struct mbox_src *m, struct mbox_new *nw,
    struct mbox_error *err)
{
	char from[PATH_MAX], to[PATH_MAX], base[512], fake[PATH_MAX];
	const struct mbox_rec *r;
	uint32_t kw = 0;
	struct stat st;

	if (fsio_pathf(from, sizeof(from), "%s/%s", src->dir, m->file) < 0 ||
	    stat(from, &st) < 0)
		return 0;	/* gone: skipped, as expunged */
	for (int b = 0; b < MBOX_KEYWORDS_MAX; b++) {
		int idx;

		if ((m->keywords & (1u << b)) == 0 || src->keywords[b] == NULL)
			continue;
		if ((idx = mbox_keyword_index(dst, src->keywords[b], true,
		    err)) < 0)
			return -1;
		kw |= 1u << idx;
	}
	maildir_name_new(base, sizeof(base), (uint64_t)st.st_size);
	r = mbox_fstate_find(src, m->uid);
	if (fsio_pathf(fake, sizeof(fake), "cur/%s,W=%llu", base,
	    (unsigned long long)(r != NULL ? r->size : (uint64_t)st.st_size))
	    < 0 || mbox_flags_file(fake, m->flags, kw, m->extra, nw->file,
	    sizeof(nw->file)) < 0 ||
	    fsio_pathf(to, sizeof(to), "%s/%s", dst->dir, nw->file) < 0)
		return mbox_fail(err, MBOX_ERR_TEMP, "Name too long");
	if (link(from, to) < 0) {
		if (errno == ENOENT)
			return 0;
		/* A real copy takes space; a link does not. */
		if (mbox_space(user, (uint64_t)st.st_size, err) < 0)
			return -1;
		if (mbox_copy_file(from, dst->dir, to) < 0) {
			int saved = errno;

			log_warn("- mailbox copy-failed from=%s to=%s error=%s",
			    log_q(from), log_q(to), log_q(strerror(saved)));
			return mbox_write_failed(saved, err,
			    "Cannot copy message");
		}
	}
	nw->published = true;
	nw->bytes = (uint64_t)st.st_size;
	nw->vsize = r != NULL ? r->size : (uint64_t)st.st_size;
	nw->internaldate = st.st_mtime;	/* a link or copy keeps it */
	return 1;
}

static void
mbox_srcs_free(struct mbox_src *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].file);
		free(s[i].extra);
	}
	free(s);
}

/* The view's messages at seqs, ascending, without duplicates or
 * messages gone from the folder state. */
static size_t
mbox_copy_sources(struct mbox_view *view, struct mbox_fstate *fs,
    const uint32_t *seqs, size_t n, struct mbox_src **out)
{
	struct mbox_src *s = xcalloc(n + 1, sizeof(*s));
	uint32_t count = mbox_view_count(view);
	bool *want = xcalloc(count + 1, sizeof(*want));
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (seqs[i] >= 1 && seqs[i] <= count)
			want[seqs[i]] = true;
	for (uint32_t seq = 1; seq <= count; seq++) {
		const struct mbox_msg *m = mbox_view_msg(view, seq);
		const struct mbox_rec *r;

		if (!want[seq] || (m->flags & MBOX_F_EXPUNGED) ||
		    (r = mbox_fstate_find(fs, m->uid)) == NULL)
			continue;
		s[k].uid = r->uid;
		s[k].flags = r->flags;
		s[k].keywords = r->keywords;
		s[k].file = xstrdup(r->file);
		s[k].extra = r->extra != NULL ? xstrdup(r->extra) : NULL;
		k++;
	}
	free(want);
	*out = s;
	return k;
}

/* The source half of a move: unlink, then the index. */
static void
mbox_move_remove(struct mbox_user *user, struct mbox_fstate *fs,
    const struct mbox_src *s, size_t n)
{
	uint32_t *uids = xcalloc(n + 1, sizeof(*uids));
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		uids[i] = s[i].uid;
		if (fsio_pathf(path, sizeof(path), "%s/%s", fs->dir,
		    s[i].file) == 0 && unlink(path) < 0 && errno != ENOENT)
			log_warn("- mailbox move-unlink-failed path=%s",
			    log_q(path));
	}
	fsio_fsync_dir(fs->dir);
	if (mbox_index_expunge(user, fs, uids, n,
	    mbox_index_next_modseq(fs)) < 0)
		log_warnx("- mailbox index-expunge-failed dir=%s",
		    log_q(fs->dir));
	free(uids);
}

struct mbox_copy_req {
	const uint32_t *seqs;
	size_t n;
	const char *dest;
	bool move;
	uint32_t *uidvalidity_r, *src_uids_r, *dst_uids_r;
	size_t *count_r;
};

static int
mbox_copy_publish(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_fstate *dfs, struct mbox_src *s, size_t ns,
    struct mbox_new *v, size_t *nv_r, struct mbox_error *err)
{
	char cur[PATH_MAX];
	size_t nv = 0;
	int r;

	for (size_t i = 0; i < ns; i++) {
		r = mbox_copy_one(user, fs, dfs, &s[i], &v[nv], err);
		if (r < 0) {
			mbox_undo(dfs->dir, v, nv);
			return -1;
		}
		if (r == 0) {
			/* Gone meanwhile: not copied, not reported. */
			free(s[i].file);
			free(s[i].extra);
			s[i].file = s[i].extra = NULL;
			s[i].uid = 0;
			continue;
		}
		s[nv] = s[i];
		if (nv != i)
			s[i].file = s[i].extra = NULL;
		nv++;
	}
	if (nv > 0 && (fsio_pathf(cur, sizeof(cur), "%s/cur", dfs->dir) < 0 ||
	    fsio_fsync_dir(cur) < 0)) {
		mbox_undo(dfs->dir, v, nv);
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot save message");
	}
	*nv_r = nv;
	return 0;
}

static int
mbox_copy_locked(struct mbox_view *view, const struct mbox_copy_req *q,
    struct mbox_changes *ch, struct mbox_error *err)
{
	struct mbox_fstate *fs = view->fs, *dfs;
	struct mbox_src *s = NULL;
	struct mbox_new *v = NULL;
	size_t ns, nv = 0;
	uint64_t bytes = 0;
	int r = -1;

	if (fs->detached)
		return mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox has been deleted or renamed");
	if (mbox_index_sync(view->user, mbox_view_name(view), true, false,
	    NULL, NULL, err) == NULL ||
	    (dfs = mbox_index_get(view->user, q->dest, err)) == NULL)
		return -1;
	ns = mbox_copy_sources(view, fs, q->seqs, q->n, &s);
	v = xcalloc(ns + 1, sizeof(*v));
	if (mbox_copy_publish(view->user, fs, dfs, s, ns, v, &nv, err) < 0)
		goto out;
	for (size_t i = 0; i < nv; i++)
		bytes += v[i].bytes;
	if (!q->move && maildir_quota_reserve(view->user->path,
	    view->user->quota, bytes, nv) < 0) {
		mbox_undo(dfs->dir, v, nv);
		mbox_fail(err, errno == EDQUOT ? MBOX_ERR_OVERQUOTA :
		    MBOX_ERR_TEMP, errno == EDQUOT ? "Quota exceeded" :
		    "Cannot check quota");
		goto out;
	}
	*q->count_r = nv;
	/* The copies were made under the lock: no scan of ours saw them. */
	if (nv > 0 && mbox_number(view->user, dfs, v, nv, view->user->scans,
	    q->uidvalidity_r, q->dst_uids_r, err) < 0)
		goto out;
	if (nv == 0)
		*q->uidvalidity_r = dfs->uidvalidity;
	for (size_t i = 0; i < nv; i++)
		q->src_uids_r[i] = s[i].uid;
	/* The copies have the same content: their cached ENVELOPE and
	 * BODYSTRUCTURE too (a failure only costs a recomputation). */
	if (nv > 0)
		(void)mbox_index_cache_copy(view->user, fs, dfs, q->src_uids_r,
		    q->dst_uids_r, nv);
	if (q->move && nv > 0)
		mbox_move_remove(view->user, fs, s, nv);
	r = 0;
out:
	mbox_srcs_free(s, ns);
	free(v);
	return r;
}

int
mbox_view_copy(struct mbox_view *view, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t *src_uids_r, uint32_t *dst_uids_r, size_t *count_r,
    struct mbox_changes *ch, struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	struct mbox_copy_req q;
	int r;

	*count_r = 0;
	*uidvalidity_r = 0;
	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	if (mbox_name_check(dest, err) < 0)
		return -1;
	if (move && view->readonly)
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "Mailbox is read-only");
	mbox_name_canon(dest, canon, sizeof(canon));
	q = (struct mbox_copy_req){ seqs, n, canon, move, uidvalidity_r,
		src_uids_r, dst_uids_r, count_r };
	mbox_user_lock(view->user);
	r = mbox_copy_locked(view, &q, ch, err);
	if (r == 0 && move)
		mbox_view_refresh_locked(view, ch);
	pthread_mutex_unlock(&view->user->lock);
	return r;
}
