/* Inside the mailbox library (mbox.h): the shared user state, the
 * folder state every view of a folder syncs against, the index, the
 * name codec and the small per-user files.  Not for other folders. */
#ifndef FERRY_MBOX_PRIVATE_H
#define FERRY_MBOX_PRIVATE_H
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "mailbox/mbox.h"

struct fbuf;

#define MBOX_INDEX_FILE "ferry-index.sqlite"
#define MBOX_SUBS_FILE "subscriptions"
#define MBOX_SPECIAL_FILE "ferry-special-use"
#define MBOX_KEYWORDS_FILE "dovecot-keywords"
#define MBOX_UIDVALIDITY_FILE "ferry-uidvalidity"
#define MBOX_DIRNAME_MAX 255

/* ---- errors ---- */

/* Fills err and returns -1 (for `return mbox_fail(...)`). */
int mbox_fail(struct mbox_error *err, enum mbox_errcode code,
    const char *text);

/* Binary search in an ascending array (mbox_view.c). */
bool mbox_u32_bsearch(const uint32_t *v, size_t n, uint32_t x);
/* Sorts v ascending in place. */
void mbox_u32_sort(uint32_t *v, size_t n);

/* ---- names (mbox_name.c) ---- */

/* The directory of folder name under the Maildir: "" for INBOX, else
 * "." + the components in modified UTF-7 joined by '.'.  The name must
 * have passed mbox_name_check.  0 or -1 (does not fit). */
int mbox_name_to_dir(const char *name, char *dst, size_t size);
/* Back from a directory entry (".Sent", ".a.b"): the UTF-8 name into b
 * (reset first).  -1 when it is not a folder we can name. */
int mbox_name_from_dir(const char *dirent, struct fbuf *b);
/* Modified UTF-7 (RFC 3501 5.1.3) for one component, and back; exposed
 * for tests.  0 or -1. */
int mbox_mutf7_encode(const char *utf8, size_t len, struct fbuf *b);
int mbox_mutf7_decode(const char *s, size_t len, struct fbuf *b);
/* Canonical spelling: INBOX upper-cased when it is the first level. */
void mbox_name_canon(const char *name, char *dst, size_t size);

/* ---- small files (mbox_files.c): parsers of hostile text ---- */

/* A list of strings. */
struct mbox_strs {
	char **v;
	size_t n;
};
void mbox_strs_add(struct mbox_strs *s, const char *str);
void mbox_strs_free(struct mbox_strs *s);
ssize_t mbox_strs_find(const struct mbox_strs *s, const char *str);

/* `subscriptions` (Dovecot: optional "V\t2\n\n" header, then one name
 * per line; v2 separates levels with TAB, v1 writes the storage name
 * with '.').  Names come back as UTF-8 '/' names; those that do not
 * decode or check are dropped.  Always succeeds. */
void mbox_subs_parse(const char *text, size_t len, struct mbox_strs *names);
/* Writes v1 lines (storage names) for the names into b. */
void mbox_subs_format(const struct mbox_strs *names, struct fbuf *b);

/* `dovecot-keywords`: "<index> <keyword>\n", index 0..25.  keywords is
 * indexed by letter ('a' + i); gaps are NULL...  so it is returned as a
 * fixed table.  0, or -1 when malformed (the caller then keeps what
 * file names need and rewrites it). */
int mbox_keywords_parse(const char *text, size_t len,
    char *table[MBOX_KEYWORDS_MAX]);
void mbox_keywords_format(char *const table[MBOX_KEYWORDS_MAX],
    struct fbuf *b);
/* A keyword atom as IMAP allows (no specials, no '\\', printable). */
bool mbox_keyword_ok(const char *kw);

/* `ferry-special-use`: "<\\Attr>\t<UTF-8 name>\n".  Bad lines are
 * skipped.  Parallel arrays. */
struct mbox_specials {
	struct mbox_strs names;
	enum mbox_special *use;
};
void mbox_specials_parse(const char *text, size_t len,
    struct mbox_specials *sp);
void mbox_specials_format(const struct mbox_specials *sp, struct fbuf *b);
void mbox_specials_free(struct mbox_specials *sp);

/* ---- folder state shared by the views of one folder ---- */

/* One message as the index has it (sorted by uid in the state). */
struct mbox_rec {
	uint32_t uid;
	uint32_t flags;		/* MBOX_F_STORED bits */
	uint32_t keywords;
	bool in_new;		/* file starts with "new/" (kept with it, so
				   that a look for new/ files reads no names) */
	uint64_t modseq;
	time_t internaldate;
	uint64_t size;
	char *file;		/* "new/x" or "cur/x:2,..." */
	char *extra;		/* info letters we keep but do not know */
};

struct mbox_fstate {
	struct mbox_fstate *next;
	char *name;		/* canonical UTF-8 name */
	char dir[PATH_MAX];	/* absolute */
	int64_t id;		/* folder row in the index */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq, vanished_floor;
	struct mbox_rec *v;
	size_t n;
	char *keywords[MBOX_KEYWORDS_MAX];
	size_t nkeywords;
	uint32_t kwmask;	/* bits of the non-NULL keywords */
	struct timespec mt_new, mt_cur, mt_uidlist;	/* at last scan */
	int64_t scanned_at;	/* ns; 0: never (no trust) */
	uint32_t *fresh;	/* UIDs saved here by append, copy or move,
				   not yet seen by a read-write view: they
				   are \Recent as new/ files are (this
				   process only) */
	size_t nfresh;
	bool loaded;
	/* A large folder's first sync answers before writing its rows
	 * (mbox_index_flush): the records from the UID unwritten_uid on
	 * have no row yet, and the folder row says "never scanned", so a
	 * crash before they are written costs a cold sync, nothing else */
	bool unwritten;
	uint32_t unwritten_uid;
	bool detached;		/* renamed or deleted under open views:
				   off the user's list, freed by the last
				   view */
	unsigned views;
	/* Dates read late (mbox_fstate_bury): set once a record without
	 * its INTERNALDATE entered the state (a large folder's first sync
	 * leaves the stat to mbox_index_flush); from then on the dates of
	 * removed records are kept here, ascending UIDs, for the views
	 * that still show them without a date of their own */
	bool late_dates;
	/* a record may be in new/ (set whenever one with in_new enters;
	 * cleared by mbox_fstate_has_new when none is) */
	bool maybe_new;
	struct mbox_gone_date *gone_dates;
	size_t ngone_dates, capgone_dates;
	/* The message array of the last large view closed on this folder,
	 * for the next view opened (mbox_view_keep_spare,
	 * mbox_view_take_spare): a SELECT of a
	 * 100,000-message folder otherwise maps 4 MB afresh and takes a
	 * page fault for each of its thousand pages.  Freed with the state
	 * (a lingering user's keeps it for its linger). */
	struct mbox_msg *spare_v;
	size_t spare_cap;
	/* Moves whenever the records, what they hold or the keyword table
	 * may have changed (mbox_fstate_changed): a view that saw this
	 * generation and nothing else since has nothing to compare */
	uint64_t gen;
};

static inline void
mbox_fstate_changed(struct mbox_fstate *fs)
{
	fs->gen++;
}

struct mbox_gone_date {
	uint32_t uid;
	time_t date;
};

/* At most this many removed records' dates are kept per folder state;
 * past it the lower UIDs' half is dropped. */
#define MBOX_GONE_DATES_MAX 131072

/* ---- users and the service ---- */

/* What says whether a lingering user's state still holds: the Maildir
 * and index files are the same ones, and no other connection committed
 * to the index meanwhile. */
struct mbox_index_stamp {
	dev_t dev, idx_dev;
	ino_t ino, idx_ino;
	struct timespec idx_mtime;
	int64_t data_version;
};

/* A closed view's message array is kept for the next view (spare_v) from
 * this many entries on. */
#define MBOX_VIEW_SPARE_MIN 4096

/* A user whose last opener closed it stays on svc->users, state and all,
 * for MBOX_USER_LINGER seconds (at most MBOX_USER_LINGER_MAX of them), so
 * that the next session does not load a large folder from the index
 * again; it is dropped when the stamp taken at close no longer holds. */
#define MBOX_USER_LINGER 60
#define MBOX_USER_LINGER_MAX 16
#define MBOX_STMT_CACHE 16

struct mbox_user {
	struct mbox_service *svc;
	struct mbox_user *next;
	unsigned refs;			/* under svc->lock */
	time_t idle_since;		/* refs 0: when (under svc->lock) */
	pthread_mutex_t lock;		/* everything below */
	char path[PATH_MAX];
	uint64_t quota;
	bool ready;			/* first-open set-up done */
	bool stamped;			/* stamp taken at the last close */
	struct mbox_index_stamp stamp;
	sqlite3 *db;
	/* PRAGMA data_version when db was opened: the connection's own
	 * commits leave it, so a change means another program committed
	 * after the state was loaded (mbox_index_changed_by_others) */
	int64_t dv_seen;
	/* prepared statements of mbox_run, by their SQL text's address
	 * (string constants), finalized before db is closed */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[MBOX_STMT_CACHE];
	struct mbox_fstate *folders;
	/* UID list scans this process made for the user: an append that
	 * saw none between writing its files and numbering them knows no
	 * scan of ours numbered them first (mbox_append.c) */
	uint64_t scans;
	bool flush_claimed;		/* mbox_user_flush_claim */
	/* threads waiting for lock (mbox_user_lock): mbox_user_flush
	 * lets them go first */
	_Atomic unsigned waiting;
	/* when a command last took the lock (mbox_user_lock; CLOCK_MONOTONIC
	 * ms): the rows' writer starts once the user has been quiet */
	_Atomic uint64_t used_ms;
};

struct mbox_service {
	pthread_mutex_t lock;
	struct mbox_user *users;
	struct mbox_watcher *watcher;
	_Atomic uint64_t min_free_bytes;	/* min_free_space */
	_Atomic unsigned min_free_pct;
};

/* Takes user->lock, counted in user->waiting while it waits. */
void mbox_user_lock(struct mbox_user *user);

/* ---- the index (mbox_index.c), with user->lock held ---- */

/* Opens user->db, rebuilding it when missing or damaged.  0 or -1. */
int mbox_index_open(struct mbox_user *user);
void mbox_index_close(struct mbox_user *user);
/* The stamp of user's Maildir and open index.  0, or -1 (no index open,
 * or a file gone). */
int mbox_index_stamp(struct mbox_user *user, struct mbox_index_stamp *st);
/* Marks the index damaged after an SQLite error: it is removed and
 * rebuilt on the next open; the folder states are forgotten. */
void mbox_index_damaged(struct mbox_user *user, int rc);
/* The state of folder name (created and loaded on first use), synced
 * with disk: uidlist scan, new/changed/gone messages written to the
 * index with a new modseq.  quick: skip when nothing changed (stats).
 * move_new: rename new/ messages into cur/ (read-write views); the
 * uids moved and the fresh ones (taken from fs) are added to *recent
 * (may be NULL).  Without move_new (read-only views) the new/ and fresh
 * messages are added and nothing is taken.  *recent ends sorted.  NULL
 * with err. */
struct mbox_fstate *mbox_index_sync(struct mbox_user *user, const char *name,
    bool quick, bool move_new, uint32_t **recent, size_t *nrecent,
    struct mbox_error *err);
/* Writes rows a sync left for later (fs->unwritten), at most max of
 * them in one transaction, the folder row with the last.  SQLite rc;
 * on failure the state is unloaded (to be read and scanned again). */
int mbox_index_flush(struct mbox_user *user, struct mbox_fstate *fs,
    size_t max);
/* The state of folder name for saving into it: loaded (from the index,
 * or by a quick sync when not loaded yet) but not scanned when it is;
 * appends number their messages against the UID list themselves.  NULL
 * with err (NOTFOUND when the folder is gone). */
struct mbox_fstate *mbox_index_get(struct mbox_user *user, const char *name,
    struct mbox_error *err);
/* A message this process just wrote and numbered (mbox_index_add). */
struct mbox_added {
	uint32_t uid;
	const char *file;	/* "cur/<base>:2,<flags>" */
	uint64_t size;
	time_t internaldate;
};
/* Enters messages numbered by uidlist_append into fs (their UIDs above
 * every UID of fs, ascending) with one new MODSEQ, and sets uidnext;
 * writes their rows.  When the rows cannot be written the state is
 * unloaded, to be read and scanned again.  0 or -1. */
int mbox_index_add(struct mbox_user *user, struct mbox_fstate *fs,
    const struct mbox_added *v, size_t n, uint32_t uidnext);
/* Remembers UIDs just saved into fs (append, copy, move) as \Recent for
 * the next read-write view to sync; zeros are skipped. */
void mbox_fstate_add_fresh(struct mbox_fstate *fs, const uint32_t *uids,
    size_t n);
/* The \Recent messages a view learns of without a sync (the fresh
 * ones; a read-only view also the new/ files); claim (read-write)
 * takes the fresh ones.  *recent ends sorted. */
void mbox_fstate_recent_take(struct mbox_fstate *fs, bool claim,
    uint32_t **recent, size_t *nrecent);
/* How many messages of fs are \Recent for a reader that has not seen
 * them: in new/ or fresh (STATUS RECENT). */
uint32_t mbox_fstate_recent(struct mbox_fstate *fs);
/* Records that the messages at the given records changed on disk (their
 * file names were renamed by us): writes them with modseq.  0 or -1. */
int mbox_index_update(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_rec *const *recs, size_t n, uint64_t modseq);
/* Reads the INTERNALDATE (the file's mtime) of those recs that have
 * none yet (0) and writes it to their rows.  Files gone or renamed
 * meanwhile keep 0 (the next sync has their names). */
void mbox_index_dates(struct mbox_user *user, struct mbox_fstate *fs,
    struct mbox_rec *const *recs, size_t n);
/* Removes records (expunged by us) and writes vanished rows.  recs are
 * uids; the state's array is compacted.  0 or -1. */
int mbox_index_expunge(struct mbox_user *user, struct mbox_fstate *fs,
    const uint32_t *uids, size_t n, uint64_t modseq);
/* The next modseq for fs (written with the next update). */
uint64_t mbox_index_next_modseq(struct mbox_fstate *fs);
/* Forgets a folder (deleted) or renames its rows (rename). */
void mbox_index_forget(struct mbox_user *user, const char *name);
int mbox_index_rename(struct mbox_user *user, const char *from,
    const char *to);
int mbox_index_vanished(struct mbox_user *user, struct mbox_fstate *fs,
    uint64_t since, uint32_t **uids_r, size_t *n_r);
int mbox_index_cache_get(struct mbox_user *user, struct mbox_fstate *fs,
    uint32_t uid, unsigned field, void **data_r, size_t *len_r);
int mbox_index_cache_put(struct mbox_user *user, struct mbox_fstate *fs,
    uint32_t uid, unsigned field, const void *data, size_t len);
/* Frees a folder state (no views left). */
void mbox_fstate_free(struct mbox_fstate *fs);
/* Cached blobs of src[i] in from become dst[i]'s in to (a copy's
 * content is the same).  0 or -1. */
int mbox_index_cache_copy(struct mbox_user *user, struct mbox_fstate *from,
    struct mbox_fstate *to, const uint32_t *src, const uint32_t *dst,
    size_t n);
/* Binary search of uid in fs; NULL when absent. */
struct mbox_rec *mbox_fstate_find(struct mbox_fstate *fs, uint32_t uid);
void mbox_fstate_bury(struct mbox_fstate *fs, const uint32_t *uids,
    const time_t *dates, size_t n);
bool mbox_fstate_gone_date(const struct mbox_fstate *fs, uint32_t uid,
    time_t *date_r);

/* ---- file names and flags (mbox_flags.c) ---- */

/* Parses a file name's info ":2,<letters>" into flags, keywords and the
 * letters we do not know (kept in extra, sorted). */
void mbox_flags_from_file(const char *file, uint32_t *flags_r,
    uint32_t *keywords_r, char *extra, size_t extra_size);
/* "cur/<base>:2,<letters>" for the flags; 0 or -1 (does not fit). */
int mbox_flags_file(const char *file, uint32_t flags, uint32_t keywords,
    const char *extra, char *dst, size_t size);
/* Index of keyword kw in the folder's table, adding it (and writing
 * dovecot-keywords) when absent; -1 (LIMIT) past 26 or a bad keyword. */
int mbox_keyword_index(struct mbox_fstate *fs, const char *kw, bool add,
    struct mbox_error *err);
/* Reads the folder's dovecot-keywords into fs->keywords. */
void mbox_keywords_load(struct mbox_fstate *fs);

/* ---- folders (mbox_folder.c) ---- */

/* Absolute directory of folder name; 0 or -1 (BADNAME). */
int mbox_folder_dir(const struct mbox_user *user, const char *name,
    char *dst, size_t size, struct mbox_error *err);
/* A UIDVALIDITY never handed out before in this Maildir. */
uint32_t mbox_uidvalidity_next(const char *path);

/* ---- views (mbox_view.c) ---- */

struct mbox_view {
	struct mbox_user *user;
	struct mbox_fstate *fs;
	char *name;
	bool readonly;
	struct mbox_msg *v;	/* file strings owned by the view */
	size_t n, cap;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	size_t nkw_reported;	/* keywords the view's owner was told of */
	/* the folder state's generation the view last compared itself
	 * with (gen_known), and whether records it showed as expunged
	 * are still in it (kept for a command that may not drop them) */
	uint64_t gen_seen;
	bool gen_known, expunged_kept;
};

/* Brings the view in step with its folder state (no scan), reporting
 * into ch (may be NULL).  user->lock held. */
void mbox_view_refresh_locked(struct mbox_view *view,
    struct mbox_changes *ch);

/* ---- the watcher (mbox_watch.c) ---- */

struct mbox_watcher;
struct mbox_watcher *mbox_watcher_create(struct event_base *base);
void mbox_watcher_free(struct mbox_watcher **wp);

#endif
