/* The per-user index (mbox_private.h): `ferry-index.sqlite` in the
 * Maildir, SQLite in WAL mode, one connection per user per process used
 * under the user's mutex.  It is a cache.  The file names in new/ and
 * cur/ say which messages exist and their flags and keywords, and
 * `ferry-uidlist` (uidlist.c) gives UIDs and UIDVALIDITY; the index adds
 * what Maildir cannot hold: MODSEQs, vanished UIDs (QRESYNC), cached
 * blobs, and the file name last seen per UID (so a rename by someone
 * else is noticed as a flag change).
 *
 * Rebuild: a missing file, an unknown schema, any SQLite error that
 * says the file is damaged, or a row that does not validate (the file
 * is in the user's Maildir: hostile) deletes it; the next sync builds
 * it again from the Maildir.  UIDs never change through this, and
 * MODSEQs stay monotonic because a fresh folder row starts its
 * HIGHESTMODSEQ at the clock in microseconds, above anything counted
 * before.  Vanished UIDs older than the rebuild are lost; the folder's
 * vanished floor says so (mbox_view_vanished's complete flag). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir_change.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"

#define MBOX_INDEX_VERSION 2
#define MBOX_INDEX_BUSY_MS 5000
/* A directory time too close before a scan's start may hide a later
 * change made within the same tick of the file system's clock: such a
 * scan is not trusted, and the next sync scans again.  Where the file
 * system keeps times finer than a millisecond (ext4, XFS, btrfs, tmpfs:
 * the kernel's clock tick, 1-10 ms), a scan is trusted that began
 * MBOX_MTIME_SETTLE_NS after the last change; where its times have no
 * part below a millisecond (whole seconds: ext3's small inodes, some
 * network file systems), one that began in the second after the next. */
#define MBOX_MTIME_SETTLE_NS (50 * 1000000LL)
#define MBOX_MTIME_SETTLE 1
#define MBOX_NS 1000000000LL
/* A sync that finds at least this many messages new to an empty state
 * (a large folder's first sync: index missing, or never written)
 * answers before writing their rows; mbox_index_flush writes them, in
 * steps, after the reply (mbox_user_flush) or before anything else
 * writes to the folder. */
#define MBOX_DEFER_ROWS 1000
/* Rows per transaction of mbox_user_flush: the user's lock is let go
 * between them, and a step ends early when a command waits for it. */
#define MBOX_FLUSH_STEP 2048

static const char mbox_index_schema[] =
    "CREATE TABLE folder(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
    " uidvalidity INTEGER NOT NULL, highestmodseq INTEGER NOT NULL,"
    " vanished_floor INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 0,"
    " mt_new INTEGER NOT NULL DEFAULT 0, mt_cur INTEGER NOT NULL DEFAULT 0,"
    " mt_uidlist INTEGER NOT NULL DEFAULT 0,"
    " scanned_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE msg(folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
    " file TEXT NOT NULL, modseq INTEGER NOT NULL,"
    " internaldate INTEGER NOT NULL, size INTEGER NOT NULL,"
    " PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
    "CREATE TABLE vanished(folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
    " modseq INTEGER NOT NULL, PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
    "CREATE TABLE cache(folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
    " field INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(folder, uid, field)) WITHOUT ROWID;"
    "PRAGMA user_version = 2;";

static void mbox_fstate_unload(struct mbox_fstate *fs);
static int mbox_index_data_version(struct mbox_user *user, int64_t *dv_r);

static int64_t
mbox_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void
mbox_ns_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

/* The wall clock in nanoseconds, for scans' start times. */
static int64_t
mbox_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return mbox_ts_ns(&ts);
}

static uint64_t
mbox_now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static bool
mbox_index_rc_damaged(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ||
	    rc == SQLITE_SCHEMA || rc == SQLITE_MISMATCH ||
	    rc == SQLITE_FORMAT || rc == SQLITE_ERROR;
}

static void
mbox_rec_free(struct mbox_rec *r)
{
	free(r->file);
	free(r->extra);
	r->file = r->extra = NULL;
}

void
mbox_fstate_free(struct mbox_fstate *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		mbox_rec_free(&fs->v[i]);
	free(fs->v);
	free(fs->spare_v);
	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++)
		free(fs->keywords[i]);
	free(fs->fresh);
	free(fs->gone_dates);
	free(fs->name);
	free(fs);
}

static void
mbox_index_unlink(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char file[PATH_MAX];

	for (size_t i = 0; i < 4; i++)
		if (fsio_pathf(file, sizeof(file), "%s/" MBOX_INDEX_FILE "%s",
		    path, sfx[i]) == 0)
			unlink(file);
}

/* Closes user->db, with the statements mbox_run keeps. */
static void
mbox_index_db_close(struct mbox_user *user)
{
	for (size_t i = 0; i < MBOX_STMT_CACHE; i++) {
		if (user->stmts[i].st != NULL)
			sqlite3_finalize(user->stmts[i].st);
		user->stmts[i].st = NULL;
		user->stmts[i].sql = NULL;
	}
	if (user->db != NULL)
		sqlite3_close_v2(user->db);
	user->db = NULL;
}

void
mbox_index_close(struct mbox_user *user)
{
	struct mbox_fstate *fs, *next;

	mbox_index_db_close(user);
	for (fs = user->folders; fs != NULL; fs = next) {
		next = fs->next;
		mbox_fstate_free(fs);
	}
	user->folders = NULL;
}

int
mbox_index_stamp(struct mbox_user *user, struct mbox_index_stamp *stamp)
{
	char file[PATH_MAX];
	struct stat st;

	memset(stamp, 0, sizeof(*stamp));
	if (user->db == NULL || stat(user->path, &st) < 0)
		return -1;
	stamp->dev = st.st_dev;
	stamp->ino = st.st_ino;
	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_INDEX_FILE,
	    user->path) < 0 || stat(file, &st) < 0)
		return -1;
	stamp->idx_dev = st.st_dev;
	stamp->idx_ino = st.st_ino;
	stamp->idx_mtime = st.st_mtim;
	return mbox_index_data_version(user, &stamp->data_version);
}

void
mbox_index_damaged(struct mbox_user *user, int rc)
{
	log_warnx("- mailbox index-damaged path=%s error=%s rebuild=yes",
	    log_q(user->path), log_q(sqlite3_errstr(rc)));
	if (user->db != NULL)
		sqlite3_close_v2(user->db);
	user->db = NULL;
	mbox_index_unlink(user->path);
	for (struct mbox_fstate *fs = user->folders; fs != NULL;
	    fs = fs->next) {
		for (size_t i = 0; i < fs->n; i++)
			mbox_rec_free(&fs->v[i]);
		free(fs->v);
		fs->v = NULL;
		fs->n = 0;
		fs->loaded = false;
		fs->unwritten = false;
		fs->id = 0;
		mbox_fstate_changed(fs);
	}
}

static int
mbox_index_try_open(struct mbox_user *user)
{
	char file[PATH_MAX];
	sqlite3_stmt *st;
	int rc, version = -1;

	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_INDEX_FILE,
	    user->path) < 0)
		return SQLITE_CANTOPEN;
	rc = sqlite3_open_v2(file, &user->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_busy_timeout(user->db, MBOX_INDEX_BUSY_MS);
	/* A cache: NORMAL in WAL mode can lose the last transactions on
	 * power loss, never corrupt; lost rows are rebuilt. */
	rc = sqlite3_exec(user->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL;PRAGMA cache_size=-512;", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(user->db, "PRAGMA user_version", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc;
	if (version == 0)
		return sqlite3_exec(user->db, mbox_index_schema, NULL, NULL,
		    NULL);
	return version == MBOX_INDEX_VERSION ? SQLITE_OK : SQLITE_NOTADB;
}

int
mbox_index_open(struct mbox_user *user)
{
	int rc;

	if (user->db != NULL)
		return 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = mbox_index_try_open(user);
		/* what the state loaded from here on is in step with */
		if (rc == SQLITE_OK &&
		    mbox_index_data_version(user, &user->dv_seen) == 0)
			return 0;
		if (rc == SQLITE_OK &&
		    (rc = sqlite3_errcode(user->db)) == SQLITE_OK)
			rc = SQLITE_ERROR;
		if (attempt == 0 && mbox_index_rc_damaged(rc))
			mbox_index_damaged(user, rc);
		else {
			log_warnx("- mailbox index-open-failed path=%s "
			    "error=%s", log_q(user->path),
			    log_q(sqlite3_errstr(rc)));
			mbox_index_db_close(user);
		}
	}
	return -1;
}

/* ---- statements ---- */

static int
mbox_exec(struct mbox_user *user, const char *sql)
{
	return sqlite3_exec(user->db, sql, NULL, NULL, NULL);
}

/* Prepares sql and binds int64 arguments ("i") and text ("t").  rc. */
static int
mbox_stmt(struct mbox_user *user, sqlite3_stmt **st, const char *sql,
    const char *types, ...)
{
	va_list ap;
	int rc;

	rc = sqlite3_prepare_v2(user->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	va_start(ap, types);
	for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		if (types[i] == 'i')
			rc = sqlite3_bind_int64(*st, i + 1,
			    va_arg(ap, int64_t));
		else
			rc = sqlite3_bind_text(*st, i + 1,
			    va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return rc;
}

/* The prepared statement of sql for mbox_run: kept in user->stmts while
 * there is room (*kept_r), so that a folder rebuilt or synced does not
 * parse the same SQL once per message.  sql must be a string constant:
 * its address names it. */
static int
mbox_run_prepare(struct mbox_user *user, const char *sql, sqlite3_stmt **st,
    bool *kept_r)
{
	size_t slot = MBOX_STMT_CACHE;
	int rc;

	*kept_r = false;
	for (size_t i = 0; i < MBOX_STMT_CACHE; i++) {
		if (user->stmts[i].sql == sql) {
			*st = user->stmts[i].st;
			*kept_r = true;
			return SQLITE_OK;
		}
		if (user->stmts[i].sql == NULL && slot == MBOX_STMT_CACHE)
			slot = i;
	}
	rc = sqlite3_prepare_v3(user->db, sql, -1, slot < MBOX_STMT_CACHE ?
	    SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
	if (rc == SQLITE_OK && slot < MBOX_STMT_CACHE) {
		user->stmts[slot].sql = sql;
		user->stmts[slot].st = *st;
		*kept_r = true;
	}
	return rc;
}

/* The pragma's text, named by its address in user->stmts */
static const char mbox_sql_data_version[] = "PRAGMA data_version";

/* PRAGMA data_version of the user's connection: 0, or -1 when it cannot
 * be read. */
static int
mbox_index_data_version(struct mbox_user *user, int64_t *dv_r)
{
	sqlite3_stmt *q;
	bool kept;
	int rc;

	*dv_r = -1;
	if (user->db == NULL || mbox_run_prepare(user, mbox_sql_data_version,
	    &q, &kept) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*dv_r = sqlite3_column_int64(q, 0);
	if (kept)
		sqlite3_reset(q);
	else
		sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The version moved from user->dv_seen, or cannot be read. */
static bool
mbox_index_changed_by_others(struct mbox_user *user)
{
	int64_t dv;

	return mbox_index_data_version(user, &dv) < 0 || dv != user->dv_seen;
}

/* Runs a statement that returns no rows.  rc (SQLITE_DONE -> OK). */
static int
mbox_run(struct mbox_user *user, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	bool kept;
	int rc;

	rc = mbox_run_prepare(user, sql, &st, &kept);
	if (rc != SQLITE_OK)
		return rc;
	va_start(ap, types);
	for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		if (types[i] == 'i')
			rc = sqlite3_bind_int64(st, i + 1,
			    va_arg(ap, int64_t));
		else	/* the caller's text outlives the step: no copy */
			rc = sqlite3_bind_text(st, i + 1,
			    va_arg(ap, const char *), -1, SQLITE_STATIC);
	}
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (kept) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else
		sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* ---- loading a folder ---- */

struct mbox_rec *
mbox_fstate_find(struct mbox_fstate *fs, uint32_t uid)
{
	size_t lo = 0, hi = fs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->v[mid].uid == uid)
			return &fs->v[mid];
		if (fs->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- dates of removed records ---- */

static int
mbox_gone_date_cmp(const void *a, const void *b)
{
	const struct mbox_gone_date *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

bool
mbox_fstate_gone_date(const struct mbox_fstate *fs, uint32_t uid,
    time_t *date_r)
{
	size_t lo = 0, hi = fs->ngone_dates;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->gone_dates[mid].uid == uid) {
			*date_r = fs->gone_dates[mid].date;
			return true;
		}
		if (fs->gone_dates[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Records uids[0..n) left the state: while dates are read late, a view
 * that has not seen them go may still be asked for their dates, which
 * must be the ones shown before (or, never read, one date for all:
 * now).  A UID kept already keeps its date. */
void
mbox_fstate_bury(struct mbox_fstate *fs, const uint32_t *uids,
    const time_t *dates, size_t n)
{
	size_t old = fs->ngone_dates;
	time_t d, now = time(NULL);

	if (!fs->late_dates || n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (mbox_fstate_gone_date(fs, uids[i], &d))
			continue;
		if (fs->ngone_dates == fs->capgone_dates) {
			fs->capgone_dates = fs->capgone_dates == 0 ? 64 :
			    fs->capgone_dates * 2;
			fs->gone_dates = xreallocarray(fs->gone_dates,
			    fs->capgone_dates, sizeof(*fs->gone_dates));
		}
		fs->gone_dates[fs->ngone_dates].uid = uids[i];
		fs->gone_dates[fs->ngone_dates++].date = dates[i] != 0 ?
		    dates[i] : now;
	}
	if (fs->ngone_dates == old)
		return;
	qsort(fs->gone_dates, fs->ngone_dates, sizeof(*fs->gone_dates),
	    mbox_gone_date_cmp);
	if (fs->ngone_dates > MBOX_GONE_DATES_MAX) {
		size_t drop = fs->ngone_dates - MBOX_GONE_DATES_MAX / 2;

		memmove(fs->gone_dates, fs->gone_dates + drop,
		    (fs->ngone_dates - drop) * sizeof(*fs->gone_dates));
		fs->ngone_dates -= drop;
	}
}

/* A file name from the index must look like one the scan makes. */
static bool
mbox_index_file_ok(const char *file)
{
	if (strncmp(file, "new/", 4) != 0 && strncmp(file, "cur/", 4) != 0)
		return false;
	file += 4;
	if (*file == '\0' || *file == '.' || strlen(file) > NAME_MAX)
		return false;
	for (; *file != '\0'; file++)
		if ((unsigned char)*file <= ' ' || *file == '/' ||
		    *file == 0x7f)
			return false;
	return true;
}

/* r's file becomes file, which r now owns, and its flags those the
 * name carries. */
static void
mbox_rec_take_file(struct mbox_rec *r, char *file)
{
	char extra[32];

	free(r->file);
	free(r->extra);
	r->file = file;
	r->in_new = file[0] == 'n';
	mbox_flags_from_file(file, &r->flags, &r->keywords, extra,
	    sizeof(extra));
	r->extra = extra[0] != '\0' ? xstrdup(extra) : NULL;
}

static void
mbox_rec_set_file(struct mbox_rec *r, const char *file)
{
	mbox_rec_take_file(r, xstrdup(file));
}

static int
mbox_index_load_msgs(struct mbox_user *user, struct mbox_fstate *fs)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	rc = mbox_stmt(user, &st, "SELECT uid, file, modseq, internaldate,"
	    " size FROM msg WHERE folder = ? ORDER BY uid", "i", fs->id);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t uid = sqlite3_column_int64(st, 0);
		const char *file = (const char *)sqlite3_column_text(st, 1);
		struct mbox_rec *r;

		if (uid <= 0 || uid > UINT32_MAX || file == NULL ||
		    !mbox_index_file_ok(file) ||
		    (fs->n > 0 && fs->v[fs->n - 1].uid >= uid)) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if (fs->n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			fs->v = xreallocarray(fs->v, cap, sizeof(*fs->v));
		}
		r = &fs->v[fs->n++];
		memset(r, 0, sizeof(*r));
		r->uid = (uint32_t)uid;
		mbox_rec_set_file(r, file);
		if (r->in_new)
			fs->maybe_new = true;
		r->modseq = (uint64_t)sqlite3_column_int64(st, 2);
		r->internaldate = (time_t)sqlite3_column_int64(st, 3);
		r->size = (uint64_t)sqlite3_column_int64(st, 4);
		if (r->internaldate == 0)
			fs->late_dates = true;	/* rows of a crashed flush */
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The folder row (made when missing) and its messages. */
static int
mbox_index_load(struct mbox_user *user, struct mbox_fstate *fs)
{
	sqlite3_stmt *st;
	int rc;

	mbox_fstate_changed(fs);
	rc = mbox_stmt(user, &st, "SELECT id, uidvalidity, highestmodseq,"
	    " vanished_floor, uidnext, mt_new, mt_cur, mt_uidlist,"
	    " scanned_at FROM folder WHERE name = ?", "t", fs->name);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fs->id = sqlite3_column_int64(st, 0);
		fs->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		fs->highestmodseq = (uint64_t)sqlite3_column_int64(st, 2);
		fs->vanished_floor = (uint64_t)sqlite3_column_int64(st, 3);
		fs->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
		mbox_ns_ts(sqlite3_column_int64(st, 5), &fs->mt_new);
		mbox_ns_ts(sqlite3_column_int64(st, 6), &fs->mt_cur);
		mbox_ns_ts(sqlite3_column_int64(st, 7), &fs->mt_uidlist);
		/* kept in whole seconds (rounded down: never later
		 * than the scan began) */
		fs->scanned_at = sqlite3_column_int64(st, 8) * MBOX_NS;
		if (fs->uidnext == 0)
			fs->scanned_at = 0;	/* never scanned: no trust */
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		fs->uidvalidity = 0;
		fs->highestmodseq = fs->vanished_floor = mbox_now_us();
		rc = mbox_run(user, "INSERT INTO folder(name, uidvalidity,"
		    " highestmodseq, vanished_floor) VALUES (?, 0, ?, ?)",
		    "tii", fs->name, (int64_t)fs->highestmodseq,
		    (int64_t)fs->vanished_floor);
		fs->id = sqlite3_last_insert_rowid(user->db);
		return rc;
	}
	if (rc != SQLITE_ROW)
		return rc;
	return mbox_index_load_msgs(user, fs);
}

/* ---- sync ---- */

uint64_t
mbox_index_next_modseq(struct mbox_fstate *fs)
{
	return fs->highestmodseq + 1;
}

/* What one sync found, before it is written. */
struct mbox_sync {
	struct mbox_rec *v;	/* the new record array */
	size_t n;
	uint32_t *gone;
	size_t ngone;
	bool *dirty;		/* per new record: row to write */
	bool bump;		/* something a client must learn */
};

/* The folder's new/ and cur/ opened once per sync, so that the stat of
 * each new message looks up one name, not the whole path (a path walk
 * per message was half of the stats' cost in a large folder's first
 * sync).  -1 where the open failed: the full path is used then. */
struct mbox_dirfds {
	int fd[2];	/* new/, cur/ */
};

static void
mbox_dirfds_open(const char *dir, struct mbox_dirfds *d)
{
	static const char *const sub[2] = { "new", "cur" };
	char path[PATH_MAX];

	for (int i = 0; i < 2; i++)
		d->fd[i] = fsio_pathf(path, sizeof(path), "%s/%s", dir,
		    sub[i]) < 0 ? -1 : open(path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
}

static void
mbox_dirfds_close(struct mbox_dirfds *d)
{
	for (int i = 0; i < 2; i++)
		if (d->fd[i] >= 0)
			close(d->fd[i]);
}

/* A message file's mtime (its INTERNALDATE); 0 when it is gone.  file
 * is "new/x" or "cur/x" (mbox_index_file_ok). */
static time_t
mbox_file_date(const char *dir, const struct mbox_dirfds *d,
    const char *file)
{
	char path[PATH_MAX];
	struct stat st;
	int fd = d == NULL ? -1 : d->fd[file[0] == 'c'];

	if (fd >= 0)
		return fstatat(fd, file + 4, &st, 0) < 0 ? 0 : st.st_mtime;
	if (fsio_pathf(path, sizeof(path), "%s/%s", dir, file) < 0 ||
	    stat(path, &st) < 0)
		return 0;
	return st.st_mtime;
}

/* The same, now when it is gone. */
static time_t
mbox_file_mtime(const char *dir, const struct mbox_dirfds *d,
    const char *file)
{
	time_t t = mbox_file_date(dir, d, file);

	return t != 0 ? t : time(NULL);
}

/* new/x -> cur/x:2,<flags> for a read-write view's first sight. */
static void
mbox_sync_move_new(struct mbox_fstate *fs, struct mbox_rec *r,
    uint32_t **recent, size_t *nrecent)
{
	char to[PATH_MAX], from[PATH_MAX], cur[PATH_MAX];

	if (strncmp(r->file, "new/", 4) != 0 ||
	    maildir_change_cur_name(r->file, false, cur, sizeof(cur)) < 0 ||
	    fsio_pathf(from, sizeof(from), "%s/%s", fs->dir, r->file) < 0 ||
	    fsio_pathf(to, sizeof(to), "%s/%s", fs->dir, cur) < 0)
		return;
	if (rename(from, to) < 0)
		return;		/* another reader moved it: next sync */
	mbox_rec_set_file(r, cur);
	if (recent != NULL) {
		*recent = xreallocarray(*recent, *nrecent + 1,
		    sizeof(**recent));
		(*recent)[(*nrecent)++] = r->uid;
	}
}

/* Merges the scan (ul, ascending UIDs) with fs->v (ascending). */
static void
mbox_sync_merge(struct mbox_fstate *fs, struct uidlist *ul,
    struct mbox_sync *sy)
{
	struct mbox_dirfds dfd;
	size_t i = 0, j = 0;
	time_t *gone_dates;
	/* a large folder's first sync: its rows wait for mbox_index_flush
	 * (mbox_sync_defer), and so do its dates */
	bool late = fs->n == 0 && ul->n >= MBOX_DEFER_ROWS;

	if (late)
		fs->late_dates = true;
	else
		mbox_dirfds_open(fs->dir, &dfd);

	sy->v = xcalloc(ul->n + 1, sizeof(*sy->v));
	sy->dirty = xcalloc(ul->n + 1, sizeof(*sy->dirty));
	sy->gone = xcalloc(fs->n + 1, sizeof(*sy->gone));
	gone_dates = xcalloc(fs->n + 1, sizeof(*gone_dates));
	while (i < fs->n || j < ul->n) {
		struct mbox_rec *old, *r;
		struct uidlist_msg *m;

		/* scan done (then i < fs->n) or fs->v[i] is before it: gone */
		if (j >= ul->n || (i < fs->n && fs->v[i].uid < ul->v[j].uid)) {
			gone_dates[sy->ngone] = fs->v[i].internaldate;
			sy->gone[sy->ngone++] = fs->v[i].uid;
			sy->bump = true;
			i++;
			continue;
		}
		m = &ul->v[j];
		old = i < fs->n && fs->v[i].uid == m->uid ? &fs->v[i] : NULL;
		r = &sy->v[sy->n];
		if (old != NULL) {
			*r = *old;
			memset(old, 0, sizeof(*old));
			i++;
			if (strcmp(r->file, m->name) != 0) {
				uint32_t f = r->flags, k = r->keywords;

				mbox_rec_take_file(r, xstrdup(m->name));
				sy->dirty[sy->n] = true;
				if (f != r->flags || k != r->keywords) {
					r->modseq = 0;	/* set below */
					sy->bump = true;
				}
			}
		} else {
			memset(r, 0, sizeof(*r));
			r->uid = m->uid;
			mbox_rec_take_file(r, xstrdup(m->name));
			r->size = m->vsize;
			/* INTERNALDATE (the file's mtime) is read now, or,
			 * in a large folder's first sync, by the rows' writer
			 * (mbox_index_flush) or the first view that asks
			 * (mbox_index_dates), whichever comes first.  A
			 * message removed before that keeps the date it got
			 * (mbox_fstate_bury): imaptest's stress run saw an
			 * INTERNALDATE change when it did not. */
			if (!late)
				r->internaldate = mbox_file_mtime(fs->dir,
				    &dfd, r->file);
			sy->dirty[sy->n] = true;
			sy->bump = true;
		}
		if (r->in_new)
			fs->maybe_new = true;
		sy->n++;
		j++;
	}
	mbox_fstate_bury(fs, sy->gone, gone_dates, sy->ngone);
	free(gone_dates);
	if (!late)
		mbox_dirfds_close(&dfd);
}

/* The folder row: what the last scan found and when. */
static int
mbox_folder_row_write(struct mbox_user *user, struct mbox_fstate *fs)
{
	return mbox_run(user, "UPDATE folder SET uidvalidity = ?,"
	    " highestmodseq = ?, uidnext = ?, mt_new = ?, mt_cur = ?,"
	    " mt_uidlist = ?, scanned_at = ? WHERE id = ?", "iiiiiiii",
	    (int64_t)fs->uidvalidity, (int64_t)fs->highestmodseq,
	    (int64_t)fs->uidnext, mbox_ts_ns(&fs->mt_new),
	    mbox_ts_ns(&fs->mt_cur), mbox_ts_ns(&fs->mt_uidlist),
	    fs->scanned_at / MBOX_NS, fs->id);
}

static int
mbox_rec_row_write(struct mbox_user *user, struct mbox_fstate *fs,
    const struct mbox_rec *r)
{
	return mbox_run(user, "INSERT OR REPLACE INTO msg(folder, uid,"
	    " file, modseq, internaldate, size) VALUES (?, ?, ?, ?, ?, ?)",
	    "iitiii", fs->id, (int64_t)r->uid, r->file, (int64_t)r->modseq,
	    (int64_t)r->internaldate, (int64_t)r->size);
}

static int
mbox_sync_write(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_sync *sy, uint64_t modseq)
{
	int rc = SQLITE_OK;

	for (size_t k = 0; k < sy->ngone && rc == SQLITE_OK; k++) {
		rc = mbox_run(user, "DELETE FROM msg WHERE folder = ? AND"
		    " uid = ?", "ii", fs->id, (int64_t)sy->gone[k]);
		if (rc == SQLITE_OK)
			rc = mbox_run(user, "DELETE FROM cache WHERE"
			    " folder = ? AND uid = ?", "ii", fs->id,
			    (int64_t)sy->gone[k]);
		if (rc == SQLITE_OK)
			rc = mbox_run(user, "INSERT OR REPLACE INTO"
			    " vanished(folder, uid, modseq) VALUES (?, ?, ?)",
			    "iii", fs->id, (int64_t)sy->gone[k],
			    (int64_t)modseq);
	}
	for (size_t k = 0; k < sy->n && rc == SQLITE_OK; k++) {
		struct mbox_rec *r = &sy->v[k];

		if (!sy->dirty[k])
			continue;
		if (r->modseq == 0)
			r->modseq = modseq;
		rc = mbox_rec_row_write(user, fs, r);
	}
	/* The scan's times go with its result, in one transaction: a
	 * later process may then trust the rows without scanning. */
	if (rc == SQLITE_OK)
		rc = mbox_folder_row_write(user, fs);
	return rc;
}

/* A UID list that starts over (lost or damaged): the index forgets
 * the folder's rows, and the floor says vanished history is gone. */
static int
mbox_sync_reset(struct mbox_user *user, struct mbox_fstate *fs,
    uint32_t uidvalidity)
{
	int rc;

	for (size_t i = 0; i < fs->n; i++)
		mbox_rec_free(&fs->v[i]);
	fs->n = 0;
	fs->nfresh = 0;
	fs->highestmodseq = fs->vanished_floor =
	    mbox_now_us() > fs->highestmodseq ? mbox_now_us() :
	    fs->highestmodseq + 1;
	fs->uidvalidity = uidvalidity;
	rc = mbox_run(user, "DELETE FROM msg WHERE folder = ?", "i", fs->id);
	if (rc == SQLITE_OK)
		rc = mbox_run(user, "DELETE FROM vanished WHERE folder = ?",
		    "i", fs->id);
	if (rc == SQLITE_OK)
		rc = mbox_run(user, "DELETE FROM cache WHERE folder = ?", "i",
		    fs->id);
	if (rc == SQLITE_OK)
		rc = mbox_run(user, "UPDATE folder SET vanished_floor = ?"
		    " WHERE id = ?", "ii", (int64_t)fs->vanished_floor,
		    fs->id);
	return rc;
}

static void
mbox_sync_free(struct mbox_sync *sy)
{
	if (sy->v != NULL)
		for (size_t k = 0; k < sy->n; k++)
			mbox_rec_free(&sy->v[k]);
	free(sy->v);
	free(sy->dirty);
	free(sy->gone);
}

static void
mbox_stat_mtime(const char *dir, const char *sub, struct timespec *ts)
{
	char path[PATH_MAX];
	struct stat st;

	memset(ts, 0, sizeof(*ts));
	if (fsio_pathf(path, sizeof(path), "%s/%s", dir, sub) == 0 &&
	    stat(path, &st) == 0)
		*ts = st.st_mtim;
}

static bool
mbox_ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* A scan started at `at` (ns) came late enough after the last change
 * (times t) to have seen it. */
static bool
mbox_settled(int64_t at, const struct timespec t[3])
{
	int64_t newest = 0;
	bool fine = true;

	for (int i = 0; i < 3; i++) {
		if (mbox_ts_ns(&t[i]) > newest)
			newest = mbox_ts_ns(&t[i]);
		if (t[i].tv_nsec % 1000000 == 0)
			fine = false;	/* whole seconds, or missing */
	}
	if (fine)
		return at > newest + MBOX_MTIME_SETTLE_NS;
	return at / MBOX_NS > newest / MBOX_NS + MBOX_MTIME_SETTLE;
}

/* Nothing changed since the last scan, and that scan came late enough
 * after the last change to have seen it. */
static bool
mbox_sync_unchanged(struct mbox_fstate *fs, struct timespec t[3])
{
	if (!fs->loaded || fs->scanned_at == 0 ||
	    !mbox_ts_eq(&t[0], &fs->mt_new) ||
	    !mbox_ts_eq(&t[1], &fs->mt_cur) ||
	    !mbox_ts_eq(&t[2], &fs->mt_uidlist))
		return false;
	return mbox_settled(fs->scanned_at, t);
}

/* The state becomes the scan (the merge consumed fs->v); when it could
 * not be written, it is reloaded from the index next time instead, so
 * nothing the scan found is taken as recorded. */
static void
mbox_sync_adopt(struct mbox_fstate *fs, struct mbox_sync *sy, int rc)
{
	for (size_t k = 0; k < fs->n; k++)
		mbox_rec_free(&fs->v[k]);
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
	if (rc == SQLITE_OK) {
		fs->v = sy->v;
		fs->n = sy->n;
		sy->v = NULL;
	} else
		fs->loaded = false;
}

static bool
mbox_sync_dirty(const struct mbox_sync *sy)
{
	if (sy->bump)
		return true;
	for (size_t k = 0; k < sy->n; k++)
		if (sy->dirty[k])
			return true;
	return false;
}

static void
mbox_sync_times(struct mbox_fstate *fs, const struct uidlist *ul,
    const struct timespec t[3], int64_t started)
{
	fs->uidnext = ul->next_uid;
	fs->mt_new = t[0];
	fs->mt_cur = t[1];
	fs->mt_uidlist = t[2];
	fs->scanned_at = started;
}

/* Whether the sync's rows wait for mbox_index_flush: every record is
 * new to an empty state, and there are many. */
static bool
mbox_sync_defer(const struct mbox_fstate *fs, const struct mbox_sync *sy)
{
	return fs->n == 0 && sy->ngone == 0 && sy->n >= MBOX_DEFER_ROWS;
}

/* Before a sync's rows are deferred, the folder row is told that no
 * scan of it was written (uidnext 0: a later process does not trust
 * it and scans) and is given the HIGHESTMODSEQ clients will see, so
 * that a rebuild after a crash counts above it.  The records' MODSEQs
 * are set as mbox_sync_write would. */
static int
mbox_sync_mark_unwritten(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_sync *sy)
{
	for (size_t k = 0; k < sy->n; k++)
		if (sy->v[k].modseq == 0)
			sy->v[k].modseq = fs->highestmodseq;
	return mbox_run(user, "UPDATE folder SET uidvalidity = ?,"
	    " highestmodseq = ?, uidnext = 0, scanned_at = 0 WHERE id = ?",
	    "iii", (int64_t)fs->uidvalidity, (int64_t)fs->highestmodseq,
	    fs->id);
}

/* Index of the first record of fs at or above uid. */
static size_t
mbox_fstate_lower(const struct mbox_fstate *fs, uint32_t uid)
{
	size_t lo = 0, hi = fs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
mbox_index_flush(struct mbox_user *user, struct mbox_fstate *fs,
    size_t max)
{
	size_t i = 0;
	int rc;

	if (!fs->unwritten)
		return SQLITE_OK;
	if (fs->detached || !fs->loaded) {
		fs->unwritten = false;	/* the rows are nobody's now */
		return SQLITE_OK;
	}
	if (mbox_index_open(user) < 0)
		rc = SQLITE_CANTOPEN;
	else {
		struct mbox_dirfds dfd;

		mbox_dirfds_open(fs->dir, &dfd);
		i = mbox_fstate_lower(fs, fs->unwritten_uid);
		rc = mbox_exec(user, "BEGIN IMMEDIATE");
		/* Another program committed since the state was loaded
		 * (PRAGMA data_version moves only for other connections):
		 * rows written now would overwrite what it wrote with what
		 * this state held before.  None are: the next sync drops
		 * the state (mbox_index_catch_up), reads that program's
		 * rows and scans the Maildir. */
		if (rc == SQLITE_OK && mbox_index_changed_by_others(user)) {
			log_info("- mailbox index-changed-elsewhere path=%s "
			    "rows=left-to-next-scan", log_q(user->path));
			mbox_exec(user, "ROLLBACK");
			mbox_dirfds_close(&dfd);
			for (struct mbox_fstate *f = user->folders; f != NULL;
			    f = f->next)
				f->unwritten = false;
			return SQLITE_OK;
		}
		/* A step ends at the next row for a command waiting for
		 * the lock (after one row at least, so that the rows get
		 * written even while commands keep coming): the command
		 * then waits for one row and the COMMIT, not a step. */
		for (size_t k = 0; i < fs->n && k < max && rc == SQLITE_OK &&
		    (k == 0 || max == SIZE_MAX ||
		    atomic_load(&user->waiting) == 0); i++, k++) {
			/* the date the first sync left unread; a file gone
			 * meanwhile keeps 0 (the next sync buries it) */
			if (fs->v[i].internaldate == 0)
				fs->v[i].internaldate = mbox_file_date(fs->dir,
				    &dfd, fs->v[i].file);
			rc = mbox_rec_row_write(user, fs, &fs->v[i]);
		}
		mbox_dirfds_close(&dfd);
		/* the scan is recorded with its last rows */
		if (rc == SQLITE_OK && i == fs->n)
			rc = mbox_folder_row_write(user, fs);
		if (rc == SQLITE_OK)
			rc = mbox_exec(user, "COMMIT");
		if (rc != SQLITE_OK)
			mbox_exec(user, "ROLLBACK");
	}
	if (rc == SQLITE_OK) {
		if (i == fs->n)
			fs->unwritten = false;
		else
			fs->unwritten_uid = fs->v[i].uid;
		return rc;
	}
	log_warnx("- mailbox index-flush-failed dir=%s error=%s",
	    log_q(fs->dir), log_q(sqlite3_errstr(rc)));
	if (mbox_index_rc_damaged(rc))
		mbox_index_damaged(user, rc);
	else
		mbox_fstate_unload(fs);
	return rc;
}

/* Scan, merge, write.  SQLite rc, or -1 (errno) for scan failures. */
static int
mbox_sync_folder(struct mbox_user *user, struct mbox_fstate *fs,
    bool move_new, uint32_t **recent, size_t *nrecent)
{
	struct mbox_sync sy;
	struct uidlist ul;
	struct timespec t[3];
	int64_t started = mbox_now_ns();
	bool defer = false;
	int rc = SQLITE_OK;

	mbox_fstate_changed(fs);	/* whatever the scan finds */
	/* Times first: a change during the scan then shows next time. */
	mbox_stat_mtime(fs->dir, "new", &t[0]);
	mbox_stat_mtime(fs->dir, "cur", &t[1]);
	mbox_stat_mtime(fs->dir, UIDLIST_FILE, &t[2]);
	/* rows a first sync left for later go before anything new */
	if (fs->unwritten &&
	    (rc = mbox_index_flush(user, fs, SIZE_MAX)) != SQLITE_OK)
		return rc;
	user->scans++;
	if (uidlist_sync(fs->dir, &ul) < 0)
		return -1;
	memset(&sy, 0, sizeof(sy));
	if (fs->uidvalidity != ul.uidvalidity) {
		if (fs->uidvalidity != 0)
			log_warnx("- mailbox uidvalidity-changed dir=%s "
			    "old=%u new=%u", log_q(fs->dir), fs->uidvalidity,
			    ul.uidvalidity);
		rc = mbox_exec(user, "BEGIN IMMEDIATE");
		if (rc == SQLITE_OK)
			rc = mbox_sync_reset(user, fs, ul.uidvalidity);
		if (rc == SQLITE_OK)
			rc = mbox_exec(user, "COMMIT");
		else
			mbox_exec(user, "ROLLBACK");
	}
	if (rc == SQLITE_OK) {
		mbox_sync_merge(fs, &ul, &sy);
		for (size_t k = 0; move_new && k < sy.n; k++)
			if (sy.v[k].file[0] == 'n') {
				mbox_sync_move_new(fs, &sy.v[k], recent,
				    nrecent);
				sy.dirty[k] = true;
			}
		if (mbox_sync_dirty(&sy) || fs->uidnext != ul.next_uid ||
		    !mbox_ts_eq(&t[0], &fs->mt_new) ||
		    !mbox_ts_eq(&t[1], &fs->mt_cur) ||
		    !mbox_ts_eq(&t[2], &fs->mt_uidlist) ||
		    (!mbox_settled(fs->scanned_at, t) &&
		    mbox_settled(started, t))) {
			if (sy.bump)
				fs->highestmodseq++;
			mbox_sync_times(fs, &ul, t, started);
			if ((defer = mbox_sync_defer(fs, &sy)))
				rc = mbox_sync_mark_unwritten(user, fs, &sy);
			else {
				rc = mbox_exec(user, "BEGIN IMMEDIATE");
				if (rc == SQLITE_OK)
					rc = mbox_sync_write(user, fs, &sy,
					    fs->highestmodseq);
				if (rc == SQLITE_OK)
					rc = mbox_exec(user, "COMMIT");
				else
					mbox_exec(user, "ROLLBACK");
			}
		}
		mbox_sync_adopt(fs, &sy, rc);
		if (rc == SQLITE_OK && defer) {
			fs->unwritten = true;
			fs->unwritten_uid = 0;
		}
	}
	mbox_sync_times(fs, &ul, t, started);
	uidlist_free(&ul);
	mbox_sync_free(&sy);
	return rc;
}

static struct mbox_fstate *
mbox_fstate_get(struct mbox_user *user, const char *name,
    struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	struct mbox_fstate *fs;

	if (mbox_name_check(name, err) < 0)
		return NULL;
	mbox_name_canon(name, canon, sizeof(canon));
	for (fs = user->folders; fs != NULL; fs = fs->next)
		if (strcmp(fs->name, canon) == 0)
			return fs;
	fs = xcalloc(1, sizeof(*fs));
	fs->name = xstrdup(canon);
	if (mbox_folder_dir(user, canon, fs->dir, sizeof(fs->dir), err) < 0) {
		free(fs->name);
		free(fs);
		return NULL;
	}
	mbox_keywords_load(fs);
	fs->next = user->folders;
	user->folders = fs;
	return fs;
}

/* A message still in new/ (seen by STATUS or EXAMINE only): a
 * read-write view must scan to take it into cur/.  Looking at 100,000
 * names scattered in memory was most of a large folder's warm SELECT:
 * records say in_new, and the state says whether any record may. */
static bool
mbox_fstate_has_new(struct mbox_fstate *fs)
{
	if (!fs->maybe_new)
		return false;
	for (size_t i = fs->n; i-- > 0; )
		if (fs->v[i].in_new)
			return true;
	fs->maybe_new = false;
	return false;
}

static bool
mbox_folder_present(const struct mbox_fstate *fs)
{
	char cur[PATH_MAX];
	struct stat st;

	return fsio_pathf(cur, sizeof(cur), "%s/cur", fs->dir) == 0 &&
	    stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
}

void
mbox_fstate_add_fresh(struct mbox_fstate *fs, const uint32_t *uids,
    size_t n)
{
	fs->fresh = xreallocarray(fs->fresh, fs->nfresh + n + 1,
	    sizeof(*fs->fresh));
	for (size_t i = 0; i < n; i++)
		if (uids[i] != 0)
			fs->fresh[fs->nfresh++] = uids[i];
}

static void
mbox_recent_push(uint32_t **recent, size_t *nrecent, uint32_t uid)
{
	*recent = xreallocarray(*recent, *nrecent + 1, sizeof(**recent));
	(*recent)[(*nrecent)++] = uid;
}

/* The \Recent messages a view learns of at a sync, besides the new/
 * files a read-write sync moved (already in *recent): the fresh ones,
 * which a read-write view takes for itself; a read-only view sees the
 * fresh ones and the new/ files as recent and takes nothing.  *recent
 * ends sorted without duplicates. */
static void
mbox_recent_report(struct mbox_fstate *fs, bool claim, uint32_t **recent,
    size_t *nrecent)
{
	size_t o = 0;

	if (recent == NULL)
		return;
	for (size_t i = 0; !claim && i < fs->n; i++)
		if (fs->v[i].in_new)
			mbox_recent_push(recent, nrecent, fs->v[i].uid);
	for (size_t i = 0; i < fs->nfresh; i++)
		if (mbox_fstate_find(fs, fs->fresh[i]) != NULL)
			mbox_recent_push(recent, nrecent, fs->fresh[i]);
	if (claim)
		fs->nfresh = 0;
	mbox_u32_sort(*recent, *nrecent);
	for (size_t i = 0; i < *nrecent; i++)
		if (o == 0 || (*recent)[o - 1] != (*recent)[i])
			(*recent)[o++] = (*recent)[i];
	*nrecent = o;
}

void
mbox_fstate_recent_take(struct mbox_fstate *fs, bool claim,
    uint32_t **recent, size_t *nrecent)
{
	mbox_recent_report(fs, claim, recent, nrecent);
}

uint32_t
mbox_fstate_recent(struct mbox_fstate *fs)
{
	uint32_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		n += fs->v[i].in_new;
	for (size_t i = 0; i < fs->nfresh; i++) {
		const struct mbox_rec *r = mbox_fstate_find(fs, fs->fresh[i]);

		n += r != NULL && !r->in_new;
	}
	return n;
}

/* Another program committed to the index since the folder states were
 * loaded (a repair, a restore, an operator's fix): what it wrote wins
 * over what this process holds.  Every loaded state is forgotten, so
 * each is read again from the index and its folder scanned at its next
 * sync, and rows this process had not written yet are left to that
 * scan; a sync that went on with the old state would write it back
 * over the other program's rows. */
static void
mbox_index_catch_up(struct mbox_user *user)
{
	int64_t dv;

	if (mbox_index_data_version(user, &dv) < 0 || dv == user->dv_seen)
		return;
	log_info("- mailbox index-changed-elsewhere path=%s reload=yes",
	    log_q(user->path));
	for (struct mbox_fstate *fs = user->folders; fs != NULL;
	    fs = fs->next)
		mbox_fstate_unload(fs);
	user->dv_seen = dv;
}

struct mbox_fstate *
mbox_index_sync(struct mbox_user *user, const char *name, bool quick,
    bool move_new, uint32_t **recent, size_t *nrecent,
    struct mbox_error *err)
{
	struct mbox_fstate *fs;
	struct timespec t[3];
	int rc = SQLITE_OK;

	if ((fs = mbox_fstate_get(user, name, err)) == NULL)
		return NULL;
	if (!mbox_folder_present(fs)) {
		mbox_fail(err, MBOX_ERR_NOTFOUND, "Mailbox does not exist");
		return NULL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (mbox_index_open(user) < 0)
			break;
		mbox_index_catch_up(user);
		rc = fs->loaded ? SQLITE_OK : mbox_index_load(user, fs);
		if (rc == SQLITE_OK) {
			fs->loaded = true;
			if (quick) {
				mbox_stat_mtime(fs->dir, "new", &t[0]);
				mbox_stat_mtime(fs->dir, "cur", &t[1]);
				mbox_stat_mtime(fs->dir, UIDLIST_FILE, &t[2]);
				if (mbox_sync_unchanged(fs, t) &&
				    !(move_new && mbox_fstate_has_new(fs))) {
					mbox_recent_report(fs, move_new,
					    recent, nrecent);
					return fs;
				}
			}
			rc = mbox_sync_folder(user, fs, move_new, recent,
			    nrecent);
		}
		if (rc == SQLITE_OK) {
			mbox_recent_report(fs, move_new, recent, nrecent);
			return fs;
		}
		if (rc == -1) {
			log_warn("- mailbox scan-failed dir=%s",
			    log_q(fs->dir));
			break;
		}
		if (!mbox_index_rc_damaged(rc) || attempt == 1) {
			log_warnx("- mailbox index-failed dir=%s error=%s",
			    log_q(fs->dir), log_q(sqlite3_errstr(rc)));
			break;
		}
		mbox_index_damaged(user, rc);
	}
	mbox_fail(err, MBOX_ERR_TEMP, "Cannot read the mailbox index");
	return NULL;
}

struct mbox_fstate *
mbox_index_get(struct mbox_user *user, const char *name,
    struct mbox_error *err)
{
	struct mbox_fstate *fs;

	if ((fs = mbox_fstate_get(user, name, err)) == NULL)
		return NULL;
	if (fs->loaded && user->db != NULL)
		mbox_index_catch_up(user);
	if (fs->loaded && user->db != NULL && mbox_folder_present(fs))
		return fs;
	return mbox_index_sync(user, name, true, false, NULL, NULL, err);
}

/* Forgets fs's records: the next sync loads them from the index and
 * scans. */
static void
mbox_fstate_unload(struct mbox_fstate *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		mbox_rec_free(&fs->v[i]);
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
	fs->loaded = false;
	fs->unwritten = false;
	mbox_fstate_changed(fs);
}

static int
mbox_index_add_write(struct mbox_user *user, struct mbox_fstate *fs,
    size_t from)
{
	int rc = mbox_exec(user, "BEGIN IMMEDIATE");

	for (size_t k = from; k < fs->n && rc == SQLITE_OK; k++)
		rc = mbox_rec_row_write(user, fs, &fs->v[k]);
	if (rc == SQLITE_OK)
		rc = mbox_run(user, "UPDATE folder SET highestmodseq = ?,"
		    " uidnext = ? WHERE id = ?", "iii",
		    (int64_t)fs->highestmodseq, (int64_t)fs->uidnext, fs->id);
	if (rc == SQLITE_OK)
		rc = mbox_exec(user, "COMMIT");
	if (rc != SQLITE_OK)
		mbox_exec(user, "ROLLBACK");
	return rc;
}

int
mbox_index_add(struct mbox_user *user, struct mbox_fstate *fs,
    const struct mbox_added *v, size_t n, uint32_t uidnext)
{
	size_t from = fs->n;
	int rc;

	if (n == 0)
		return 0;
	if (fs->unwritten && mbox_index_flush(user, fs, SIZE_MAX) != SQLITE_OK)
		return -1;
	if (fs->n > 0 && v[0].uid <= fs->v[fs->n - 1].uid) {
		mbox_fstate_unload(fs);
		return -1;
	}
	fs->highestmodseq++;
	mbox_fstate_changed(fs);
	fs->v = xreallocarray(fs->v, fs->n + n + 1, sizeof(*fs->v));
	for (size_t i = 0; i < n; i++) {
		struct mbox_rec *r = &fs->v[fs->n++];

		memset(r, 0, sizeof(*r));
		r->uid = v[i].uid;
		mbox_rec_set_file(r, v[i].file);
		if (r->in_new)
			fs->maybe_new = true;
		r->size = v[i].size;
		r->internaldate = v[i].internaldate;
		r->modseq = fs->highestmodseq;
	}
	fs->uidnext = uidnext;
	if (mbox_index_open(user) < 0)
		rc = SQLITE_CANTOPEN;
	else
		rc = mbox_index_add_write(user, fs, from);
	if (rc == SQLITE_OK)
		return 0;
	log_warnx("- mailbox index-add-failed dir=%s error=%s",
	    log_q(fs->dir), log_q(sqlite3_errstr(rc)));
	if (mbox_index_rc_damaged(rc))
		mbox_index_damaged(user, rc);
	else
		mbox_fstate_unload(fs);
	return -1;
}

/* ---- writes by the views ---- */

void
mbox_index_dates(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_rec *const *recs, size_t n)
{
	char path[PATH_MAX];
	struct stat st;
	size_t k = 0;
	int rc;

	if (fs->unwritten && mbox_index_flush(user, fs, SIZE_MAX) != SQLITE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (recs[i]->internaldate != 0)
			continue;
		if (fsio_pathf(path, sizeof(path), "%s/%s", fs->dir,
		    recs[i]->file) < 0 || stat(path, &st) < 0 ||
		    st.st_mtime == 0)
			continue;	/* gone or renamed: the next sync */
		recs[i]->internaldate = st.st_mtime;
		k++;
	}
	if (k == 0 || mbox_index_open(user) < 0)
		return;
	/* A cache: a failed write costs only a stat next time. */
	rc = mbox_exec(user, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
		if (recs[i]->internaldate != 0)
			rc = mbox_run(user, "UPDATE msg SET internaldate = ?"
			    " WHERE folder = ? AND uid = ? AND internaldate = 0",
			    "iii", (int64_t)recs[i]->internaldate, fs->id,
			    (int64_t)recs[i]->uid);
	if (rc == SQLITE_OK)
		rc = mbox_exec(user, "COMMIT");
	if (rc != SQLITE_OK)
		mbox_exec(user, "ROLLBACK");
}

int
mbox_index_update(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_rec *const *recs, size_t n, uint64_t modseq)
{
	int rc;

	if (fs->unwritten && mbox_index_flush(user, fs, SIZE_MAX) != SQLITE_OK)
		return -1;
	if (modseq > fs->highestmodseq)
		fs->highestmodseq = modseq;
	if (mbox_index_open(user) < 0)
		return -1;
	rc = mbox_exec(user, "BEGIN IMMEDIATE");
	for (size_t k = 0; k < n && rc == SQLITE_OK; k++)
		rc = mbox_run(user, "UPDATE msg SET file = ?, modseq = ? WHERE"
		    " folder = ? AND uid = ?", "tiii", recs[k]->file,
		    (int64_t)recs[k]->modseq, fs->id, (int64_t)recs[k]->uid);
	if (rc == SQLITE_OK)
		rc = mbox_run(user, "UPDATE folder SET highestmodseq = ? WHERE"
		    " id = ?", "ii", (int64_t)fs->highestmodseq, fs->id);
	if (rc == SQLITE_OK)
		rc = mbox_exec(user, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	mbox_exec(user, "ROLLBACK");
	if (mbox_index_rc_damaged(rc))
		mbox_index_damaged(user, rc);
	return -1;
}

int
mbox_index_expunge(struct mbox_user *user, struct mbox_fstate *fs,
    const uint32_t *uids, size_t n, uint64_t modseq)
{
	struct mbox_sync sy;
	uint32_t *sorted, *buried;
	time_t *dates;
	size_t o = 0, k = 0;
	int rc;

	if (fs->unwritten && mbox_index_flush(user, fs, SIZE_MAX) != SQLITE_OK)
		return -1;
	if (modseq > fs->highestmodseq)
		fs->highestmodseq = modseq;
	sorted = xreallocarray(NULL, n + 1, sizeof(*sorted));
	memcpy(sorted, uids, n * sizeof(*uids));
	mbox_u32_sort(sorted, n);
	buried = xcalloc(n + 1, sizeof(*buried));
	dates = xcalloc(n + 1, sizeof(*dates));
	for (size_t i = 0; i < fs->n; i++) {
		if (mbox_u32_bsearch(sorted, n, fs->v[i].uid) && k < n) {
			buried[k] = fs->v[i].uid;
			dates[k++] = fs->v[i].internaldate;
			mbox_rec_free(&fs->v[i]);
		} else
			fs->v[o++] = fs->v[i];
	}
	fs->n = o;
	mbox_fstate_changed(fs);
	mbox_fstate_bury(fs, buried, dates, k);
	free(buried);
	free(dates);
	free(sorted);
	if (mbox_index_open(user) < 0)
		return -1;
	memset(&sy, 0, sizeof(sy));
	sy.gone = (uint32_t *)uids;
	sy.ngone = n;
	rc = mbox_exec(user, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK)
		rc = mbox_sync_write(user, fs, &sy, modseq);
	if (rc == SQLITE_OK)
		rc = mbox_exec(user, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	mbox_exec(user, "ROLLBACK");
	if (mbox_index_rc_damaged(rc))
		mbox_index_damaged(user, rc);
	return -1;
}

/* Takes the states of name and its children off the user's list: freed
 * now, or by their last view (which then finds the folder gone). */
static void
mbox_index_detach(struct mbox_user *user, const char *name)
{
	struct mbox_fstate **pp, *fs;
	size_t len = strlen(name);

	for (pp = &user->folders; (fs = *pp) != NULL; ) {
		if (strncmp(fs->name, name, len) == 0 &&
		    (fs->name[len] == '\0' || fs->name[len] == '/')) {
			*pp = fs->next;
			fs->next = NULL;
			fs->detached = true;
			if (fs->views == 0)
				mbox_fstate_free(fs);
		} else
			pp = &fs->next;
	}
}

void
mbox_index_forget(struct mbox_user *user, const char *name)
{

	static const char *const sql[] = {
		"DELETE FROM msg WHERE folder IN (SELECT id FROM folder WHERE"
		" name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/')",
		"DELETE FROM vanished WHERE folder IN (SELECT id FROM folder"
		" WHERE name = ?1 OR substr(name, 1, length(?1) + 1) ="
		" ?1 || '/')",
		"DELETE FROM cache WHERE folder IN (SELECT id FROM folder WHERE"
		" name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/')",
		"DELETE FROM folder WHERE name = ?1 OR"
		" substr(name, 1, length(?1) + 1) = ?1 || '/'",
	};

	/* Folder ids may be reused by SQLite: rows of a deleted folder
	 * must not survive to be found under a new one. */
	if (mbox_index_open(user) == 0)
		for (size_t i = 0; i < 4; i++)
			mbox_run(user, sql[i], "t", name);
	mbox_index_detach(user, name);
}

int
mbox_index_rename(struct mbox_user *user, const char *from, const char *to)
{
	size_t len = strlen(from);

	/* The in-memory states of the old names go; views open on them
	 * find their folder gone. */
	mbox_index_detach(user, from);
	(void)len;
	if (mbox_index_open(user) < 0)
		return -1;
	/* Target rows left from an earlier folder of that name go first. */
	mbox_index_forget(user, to);
	return mbox_run(user, "UPDATE folder SET name = ?2 || substr(name,"
	    " length(?1) + 1) WHERE name = ?1 OR substr(name, 1, length(?1)"
	    " + 1) = ?1 || '/'", "tt", from, to) == SQLITE_OK ? 0 : -1;
}

int
mbox_index_vanished(struct mbox_user *user, struct mbox_fstate *fs,
    uint64_t since, uint32_t **uids_r, size_t *n_r)
{
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;
	uint32_t *v = NULL;
	int rc;

	*uids_r = NULL;
	*n_r = 0;
	if (mbox_index_open(user) < 0)
		return -1;
	rc = mbox_stmt(user, &st, "SELECT uid FROM vanished WHERE folder = ?"
	    " AND modseq > ? ORDER BY uid", "ii", fs->id, (int64_t)since);
	if (rc != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return -1;
	}
	*uids_r = v;
	*n_r = n;
	return 0;
}

int
mbox_index_cache_get(struct mbox_user *user, struct mbox_fstate *fs,
    uint32_t uid, unsigned field, void **data_r, size_t *len_r)
{
	sqlite3_stmt *st;
	int rc;

	*data_r = NULL;
	*len_r = 0;
	if (mbox_index_open(user) < 0)
		return -1;
	rc = mbox_stmt(user, &st, "SELECT data FROM cache WHERE folder = ?"
	    " AND uid = ? AND field = ?", "iii", fs->id, (int64_t)uid,
	    (int64_t)field);
	if (rc != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);

		*data_r = xmalloc(len + 1);
		if (len > 0)
			memcpy(*data_r, p, len);
		((char *)*data_r)[len] = '\0';
		*len_r = len;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
mbox_index_cache_put(struct mbox_user *user, struct mbox_fstate *fs,
    uint32_t uid, unsigned field, const void *data, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if (mbox_index_open(user) < 0 || len > INT32_MAX)
		return -1;
	rc = mbox_stmt(user, &st, "INSERT OR REPLACE INTO cache(folder, uid,"
	    " field, data) VALUES (?, ?, ?, ?)", "iii", fs->id, (int64_t)uid,
	    (int64_t)field);
	if (rc != SQLITE_OK)
		return -1;
	rc = sqlite3_bind_blob(st, 4, len > 0 ? data : "", (int)len,
	    SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
mbox_index_cache_copy(struct mbox_user *user, struct mbox_fstate *from,
    struct mbox_fstate *to, const uint32_t *src, const uint32_t *dst,
    size_t n)
{
	int rc;

	if (mbox_index_open(user) < 0)
		return -1;
	rc = mbox_exec(user, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
		if (dst[i] != 0)
			rc = mbox_run(user, "INSERT OR REPLACE INTO cache(folder,"
			    " uid, field, data) SELECT ?, ?, field, data FROM"
			    " cache WHERE folder = ? AND uid = ?", "iiii",
			    to->id, (int64_t)dst[i], from->id,
			    (int64_t)src[i]);
	if (rc == SQLITE_OK)
		rc = mbox_exec(user, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	mbox_exec(user, "ROLLBACK");
	return -1;
}

/* ---- rows written after the reply ---- */

static uint64_t
mbox_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
mbox_user_lock(struct mbox_user *user)
{
	atomic_store_explicit(&user->used_ms, mbox_now_ms(),
	    memory_order_relaxed);
	if (pthread_mutex_trylock(&user->lock) == 0)
		return;
	atomic_fetch_add(&user->waiting, 1);
	pthread_mutex_lock(&user->lock);
	atomic_fetch_sub(&user->waiting, 1);
}

/* A client's first SELECT of a large folder is followed at once by its
 * next commands (a FETCH of every message's flags, of the newest
 * headers): writing the rows beside them took a core and the user's
 * lock from them (a cold FETCH of 100,000 flags took about 40% longer).
 * So the writer starts once no command has taken the user's lock for
 * MBOX_FLUSH_QUIET_MS, or after MBOX_FLUSH_DELAY_MS whatever happens
 * (a user who never pauses still gets the rows, which then give way
 * to each waiting command as before). */
#define MBOX_FLUSH_QUIET_MS 100
#define MBOX_FLUSH_DELAY_MS 2000

static void
mbox_user_flush_wait_quiet(struct mbox_user *user)
{
	uint64_t start = mbox_now_ms(), now;

	while ((now = mbox_now_ms()) - start < MBOX_FLUSH_DELAY_MS) {
		uint64_t used = atomic_load_explicit(&user->used_ms,
		    memory_order_relaxed);
		uint64_t quiet = now > used ? now - used : 0;

		if (quiet >= MBOX_FLUSH_QUIET_MS)
			break;
		(void)usleep((useconds_t)(MBOX_FLUSH_QUIET_MS - quiet) * 1000);
	}
}

bool
mbox_user_flush_claim(struct mbox_user *user)
{
	bool r = false;

	mbox_user_lock(user);
	for (struct mbox_fstate *fs = user->folders; fs != NULL && !r;
	    fs = fs->next)
		r = fs->unwritten;
	r = r && !user->flush_claimed;
	if (r)
		user->flush_claimed = true;
	pthread_mutex_unlock(&user->lock);
	return r;
}

/* The dates of the next step's rows, read without the user's lock.  A
 * large folder's first sync leaves its files' dates unread; reading
 * them (a stat each) inside the step held the user's lock for it, so a
 * command that came meanwhile waited for a stat and, when the writer's
 * low priority had it descheduled, for a scheduler turn.  Here the
 * names are copied under the lock, stat'ed without it, and a date is
 * kept only for a record that still has that file name (the same
 * file: Maildir names are unique), so a rename or an expunge
 * meanwhile costs nothing but a stat under the lock later, as
 * before. */
struct mbox_date_pre {
	uint32_t uid;
	time_t date;
	char *file;
};

static size_t
mbox_flush_dates_take(struct mbox_fstate *fs, struct mbox_date_pre *pre,
    size_t max, char *dir, size_t dirsz)
{
	size_t n = 0;

	if (!fs->loaded || fs->detached)
		return 0;
	(void)snprintf(dir, dirsz, "%s", fs->dir);
	/* the rows of the next step, those without a date */
	for (size_t i = mbox_fstate_lower(fs, fs->unwritten_uid), end =
	    i + max; i < fs->n && i < end; i++)
		if (fs->v[i].internaldate == 0) {
			pre[n].uid = fs->v[i].uid;
			pre[n].date = 0;
			pre[n].file = xstrdup(fs->v[i].file);
			n++;
		}
	return n;
}

static void
mbox_flush_dates_put(struct mbox_fstate *fs, struct mbox_date_pre *pre,
    size_t n, const char *dir)
{
	bool same = fs != NULL && fs->loaded && !fs->detached &&
	    strcmp(fs->dir, dir) == 0;

	for (size_t k = 0; k < n; k++) {
		size_t i;

		if (same && pre[k].date != 0 &&
		    (i = mbox_fstate_lower(fs, pre[k].uid)) < fs->n &&
		    fs->v[i].uid == pre[k].uid &&
		    fs->v[i].internaldate == 0 &&
		    strcmp(fs->v[i].file, pre[k].file) == 0)
			fs->v[i].internaldate = pre[k].date;
		free(pre[k].file);
	}
}

/* The first folder with rows left to write, or NULL (user->lock held). */
static struct mbox_fstate *
mbox_user_unwritten(struct mbox_user *user)
{
	struct mbox_fstate *fs;

	for (fs = user->folders; fs != NULL; fs = fs->next)
		if (fs->unwritten)
			break;
	return fs;
}

void
mbox_user_flush(struct mbox_user *user)
{
	struct mbox_date_pre *pre = xcalloc(MBOX_FLUSH_STEP, sizeof(*pre));
	char dir[PATH_MAX];
	struct mbox_fstate *fs;

	mbox_user_flush_wait_quiet(user);
	for (;;) {
		size_t npre = 0;

		pthread_mutex_lock(&user->lock);
		fs = mbox_user_unwritten(user);
		if (fs != NULL &&
		    (npre = mbox_flush_dates_take(fs, pre, MBOX_FLUSH_STEP,
		    dir, sizeof(dir))) > 0) {
			struct mbox_dirfds dfd;

			pthread_mutex_unlock(&user->lock);
			mbox_dirfds_open(dir, &dfd);
			for (size_t k = 0; k < npre; k++)
				pre[k].date = mbox_file_date(dir, &dfd,
				    pre[k].file);
			mbox_dirfds_close(&dfd);
			pthread_mutex_lock(&user->lock);
			/* the folder may have gone meanwhile: look again */
			fs = mbox_user_unwritten(user);
			mbox_flush_dates_put(fs, pre, npre, dir);
		}
		if (fs != NULL)
			(void)mbox_index_flush(user, fs, MBOX_FLUSH_STEP);
		else
			user->flush_claimed = false;
		pthread_mutex_unlock(&user->lock);
		/* commands waiting for the lock go first */
		while (fs != NULL && atomic_load(&user->waiting) > 0)
			(void)usleep(1000);
		if (fs == NULL)
			break;
	}
	free(pre);
}
