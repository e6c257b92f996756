/* The mailbox library IMAP stands on, knowing no protocol: folders of a
 * Maildir++ (list, create, delete, rename, subscriptions, special use),
 * a per-user index (SQLite, a rebuildable cache: MODSEQ, vanished UIDs,
 * cached blobs), folder views that learn what changed on disk, and one
 * change watcher per process.  docs/design-notes.md ("The mailbox
 * index") has the layout on disk and how the index rebuilds itself.
 *
 * Truth and cache: file names in new/ and cur/ say which messages exist
 * and carry their flags (":2,<letters>": D F R S T system flags, a..z
 * keywords by the folder's `dovecot-keywords`, as Dovecot does); UIDs and
 * UIDVALIDITY come from the folder's `ferry-uidlist` (uidlist.h, shared
 * with POP3's UIDL).  Everything else is in `ferry-index.sqlite` and is
 * rebuilt, without changing a UID, when it is missing or damaged.
 *
 * Names: a folder name is UTF-8 with '/' as the hierarchy separator
 * ("INBOX", "Archive/2024"); the caller does modified UTF-7.  "INBOX" in
 * any case is the Maildir itself.
 *
 * Threads: everything taking a struct mbox_user or mbox_view blocks on
 * disk (call it from worker threads, never the event loop) and is safe
 * to call from several threads at once for the same user: a per-user
 * mutex serialises them inside the process.  One view must be used by
 * one thread at a time (one command at a time per session).  The watch
 * functions are the exception: loop thread only.  Other processes
 * (delivery, POP3, Dovecot tools, a human with mv) only ever add,
 * rename or remove files; views see that on their next sync. */
#ifndef FERRY_MBOX_H
#define FERRY_MBOX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;

/* ---- errors ---- */

/* Why an operation failed, for the IMAP response code. */
enum mbox_errcode {
	MBOX_ERR_NONE = 0,
	MBOX_ERR_TEMP,		/* I/O or index trouble: try later */
	MBOX_ERR_BADNAME,	/* name not valid (mbox_name_check) */
	MBOX_ERR_NOTFOUND,	/* folder does not exist ([NONEXISTENT]) */
	MBOX_ERR_EXISTS,	/* folder exists already ([ALREADYEXISTS]) */
	MBOX_ERR_NOTALLOWED,	/* INBOX delete/rename, delete with children */
	MBOX_ERR_OVERQUOTA,	/* Maildir++ quota would be exceeded */
	MBOX_ERR_LIMIT,		/* too many keywords (26 per folder), sizes */
	MBOX_ERR_MODIFIED,	/* unused by calls; see mbox_store_result */
	MBOX_ERR_EXPUNGED,	/* the message is gone ([EXPUNGEISSUEDSNOW]) */
	MBOX_ERR_NOSPACE,	/* the filesystem is full or would go below
				 * min_free_space: try later */
};

/* code, and a short English text fit for a client (no paths, no
 * strerror: details go to the log).  text is static. */
struct mbox_error {
	enum mbox_errcode code;
	const char *text;
};

/* ---- the process-wide service ---- */

struct mbox_service;	/* users in use in this process, the watcher */
struct mbox_user;	/* one Maildir owner; shared by its sessions */
struct mbox_view;	/* one session's open folder */
struct mbox_watch;	/* one registration for change callbacks */

/* One per process (the mailbox role), created on the loop thread.  base:
 * the loop the watcher's callbacks run on (NULL: no watching, for tools
 * and tests).  Free it after every user is closed. */
struct mbox_service *mbox_service_create(struct event_base *base);
void mbox_service_free(struct mbox_service **svcp);
/* The space that saving messages (APPEND, COPY by copying) must leave
 * free on the filesystem of the user's Maildir: min_free_space
 * (conf.h), bytes or a percentage; both 0: only a full filesystem
 * refuses.  Refused saves fail with MBOX_ERR_NOSPACE and leave nothing.
 * Any thread; again on reload. */
void mbox_service_set_min_free(struct mbox_service *svc, uint64_t bytes,
    unsigned pct);

/* ---- users ---- */

/* Opens (or shares, when already open in this process) the user whose
 * Maildir is at path (maildir_path()).  Creates the Maildir when
 * missing, and on the first open ever of a Maildir (no
 * `ferry-special-use` file yet) creates Sent, Drafts, Junk, Trash and
 * Archive with their special use.  quota: bytes, 0 = none (the latest
 * caller's value wins for the shared user).  Opens or rebuilds the
 * index.  0, or -1 with err.  Blocking. */
int mbox_user_open(struct mbox_service *svc, const char *path,
    uint64_t quota, struct mbox_user **user_r, struct mbox_error *err);
/* Drops this reference; the last one closes the index.  Every view of
 * the user must be closed first.  Sets *userp to NULL. */
void mbox_user_close(struct mbox_user **userp);
/* Another reference to an open user (closed with mbox_user_close). */
struct mbox_user *mbox_user_ref(struct mbox_user *user);
/* Whether a sync left index rows to write (a large folder's first sync,
 * index missing, answers before writing them) and nobody has claimed
 * writing them yet: true claims it, and the caller must then call
 * mbox_user_flush.  Until they are written a crash costs only another
 * such sync. */
bool mbox_user_flush_claim(struct mbox_user *user);
/* Writes them, in steps that let go of the user's lock between them
 * and while a command waits for it (run it after the reply, on the
 * pool), and drops the claim.  Anything else that writes to such a
 * folder writes them first.  Blocking. */
void mbox_user_flush(struct mbox_user *user);
/* The Maildir path given to mbox_user_open (lives as long as user). */
const char *mbox_user_path(const struct mbox_user *user);
/* Quota usage from maildirsize (recalculated when absent) and the
 * limit (0 = none).  0 or -1.  Blocking. */
int mbox_user_quota(struct mbox_user *user, uint64_t *bytes_r,
    uint64_t *count_r, uint64_t *limit_r);

/* ---- names ---- */

#define MBOX_NAME_MAX 200	/* bytes of UTF-8 in a folder name */
#define MBOX_NAME_DEPTH 16	/* hierarchy levels */

/* Checks a folder name: valid UTF-8 (shortest form, no surrogates), no
 * control characters (C0, DEL, C1), components non-empty and without
 * '.' (the Maildir++ separator on disk), no '%' or '*', at most
 * MBOX_NAME_MAX bytes and MBOX_NAME_DEPTH levels, and its directory
 * name fits NAME_MAX.  No valid name can point outside the Maildir.
 * 0, or -1 with err (MBOX_ERR_BADNAME). */
int mbox_name_check(const char *name, struct mbox_error *err);
/* "INBOX" in any case (not its children). */
bool mbox_name_is_inbox(const char *name);
/* The directory of folder name inside the Maildir at maildir (for
 * delivery into a folder, e.g. spam into Junk): maildir itself for
 * INBOX.  Does not touch the disk.  0, or -1 with err (BADNAME). */
int mbox_name_path(const char *maildir, const char *name, char *dst,
    size_t size, struct mbox_error *err);
/* Where local delivery files a message: with spam and a spam_folder
 * (the `spam_folder` setting, "" = off) that folder's directory in dst,
 * else NULL (INBOX).  An invalid folder name also gives NULL.  A
 * spam_folder of a special use ("\\Junk") names the folder that has it
 * (reads the Maildir's special-use file; blocking), or before the first
 * IMAP login the default folder that will get it. */
const char *mbox_delivery_dir(const char *maildir, const char *spam_folder,
    bool spam, char *dst, size_t size);

/* ---- folders ---- */

/* Special use (RFC 6154), one per folder at most. */
enum mbox_special {
	MBOX_SPECIAL_NONE = 0,
	MBOX_SPECIAL_ALL,
	MBOX_SPECIAL_ARCHIVE,
	MBOX_SPECIAL_DRAFTS,
	MBOX_SPECIAL_FLAGGED,
	MBOX_SPECIAL_JUNK,
	MBOX_SPECIAL_SENT,
	MBOX_SPECIAL_TRASH,
};
/* "\\Sent" etc. for a value, NULL for NONE; and back (case-insensitive,
 * with the backslash): MBOX_SPECIAL_NONE when unknown. */
const char *mbox_special_name(enum mbox_special sp);
enum mbox_special mbox_special_parse(const char *s);

#define MBOX_FOLDER_F_HASCHILDREN	0x01
#define MBOX_FOLDER_F_SUBSCRIBED	0x02
#define MBOX_FOLDER_F_NONEXISTENT	0x04	/* only subscribed */
#define MBOX_FOLDER_F_NOSELECT		0x08	/* a parent without cur/ */

struct mbox_folder_info {
	char *name;			/* UTF-8, '/' separated */
	unsigned flags;			/* MBOX_FOLDER_F_* */
	enum mbox_special special;
};

/* INBOX first, then every folder sorted by name, then subscribed names
 * without a folder (NONEXISTENT).  Free with mbox_folder_list_free. */
struct mbox_folder_list {
	struct mbox_folder_info *v;
	size_t n;
};

/* Scans the Maildir for folders (directory names in modified UTF-7, as
 * Dovecot and Courier write them; names that do not decode are left
 * out) and reads `subscriptions`.  0 or -1.  Blocking. */
int mbox_folder_list(struct mbox_user *user, struct mbox_folder_list *list_r,
    struct mbox_error *err);
void mbox_folder_list_free(struct mbox_folder_list *list);

/* Creates the folder and any missing parents (each a real folder), with
 * a fresh UIDVALIDITY never used before in this Maildir; special may be
 * NONE.  MBOX_ERR_EXISTS when it is there, BADNAME for bad names (INBOX
 * included).  0 or -1.  Blocking. */
int mbox_folder_create(struct mbox_user *user, const char *name,
    enum mbox_special special, struct mbox_error *err);
/* Deletes a folder and its messages (quota taken back).  Refused
 * (NOTALLOWED) for INBOX and for folders with children.  Views open on
 * it elsewhere find it gone at their next sync.  0 or -1.  Blocking. */
int mbox_folder_delete(struct mbox_user *user, const char *name,
    struct mbox_error *err);
/* Renames a folder and all its children, keeping UIDs, UIDVALIDITY,
 * special use and subscriptions.  INBOX as source is NOTALLOWED (IMAP's
 * INBOX rename moves messages: the caller does it with mbox_view_copy).
 * EXISTS when the target exists, NOTFOUND when the source does not; a
 * target inside the source is BADNAME.  Missing parents of the target
 * are created.  0 or -1.  Blocking. */
int mbox_folder_rename(struct mbox_user *user, const char *from,
    const char *to, struct mbox_error *err);
/* Adds or removes name in `subscriptions` (the folder need not exist;
 * removing a name not there is fine).  0 or -1.  Blocking. */
int mbox_folder_subscribe(struct mbox_user *user, const char *name,
    bool subscribe, struct mbox_error *err);
/* Whether the folder exists (selectable).  Blocking. */
bool mbox_folder_exists(struct mbox_user *user, const char *name);

/* STATUS without opening a view: syncs the folder's index first. */
struct mbox_status {
	uint32_t messages;
	uint32_t recent;	/* in new/ or just saved by append or copy
				   (not yet seen by a read-write view) */
	uint32_t unseen;	/* without \Seen */
	uint32_t deleted;	/* with \Deleted */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint64_t size;		/* sum of message sizes (STATUS=SIZE) */
};
int mbox_folder_status(struct mbox_user *user, const char *name,
    struct mbox_status *status_r, struct mbox_error *err);

/* ---- messages and views ---- */

/* System flags.  RECENT is per view and never stored; EXPUNGED marks a
 * message that is gone but kept in the view (MBOX_SYNC_KEEP_EXPUNGED). */
#define MBOX_F_SEEN		0x01
#define MBOX_F_ANSWERED		0x02
#define MBOX_F_FLAGGED		0x04
#define MBOX_F_DELETED		0x08
#define MBOX_F_DRAFT		0x10
#define MBOX_F_RECENT		0x20
#define MBOX_F_EXPUNGED		0x40
#define MBOX_F_STORED	(MBOX_F_SEEN | MBOX_F_ANSWERED | MBOX_F_FLAGGED | \
	MBOX_F_DELETED | MBOX_F_DRAFT)

#define MBOX_KEYWORDS_MAX 26	/* Dovecot's a..z letters per folder */
#define MBOX_KEYWORD_MAX_LEN 100

/* One message of a view.  Valid until the next call that changes the
 * view (sync, store, expunge, copy with move, close). */
struct mbox_msg {
	uint32_t uid;
	uint32_t flags;		/* MBOX_F_* */
	uint32_t keywords;	/* bit i: keyword i of mbox_view_keywords() */
	uint64_t modseq;
	time_t internaldate;	/* the file's mtime (set by append); 0 until
				   mbox_view_dates() has read it */
	uint64_t size;		/* RFC822.SIZE: octets with CRLF line ends */
};

/* Opens a folder: syncs it and fills the view.  readonly (EXAMINE):
 * nothing is changed on disk by the view itself.  Read-write views move
 * messages from new/ to cur/ as they first see them, and those carry
 * MBOX_F_RECENT in that view only (the first session to see a message
 * gets \Recent, as RFC 3501 asks).  NOTFOUND when there is no such
 * folder.  0 or -1.  Blocking. */
int mbox_view_open(struct mbox_user *user, const char *name, bool readonly,
    struct mbox_view **view_r, struct mbox_error *err);
void mbox_view_close(struct mbox_view **viewp);

/* The folder's directory (absolute) and name; live as long as view. */
const char *mbox_view_dir(const struct mbox_view *view);
const char *mbox_view_name(const struct mbox_view *view);
uint32_t mbox_view_uidvalidity(const struct mbox_view *view);
uint32_t mbox_view_uidnext(const struct mbox_view *view);
uint64_t mbox_view_highestmodseq(const struct mbox_view *view);
/* Number of messages (sequence numbers 1..count). */
uint32_t mbox_view_count(const struct mbox_view *view);
/* What SELECT reports of the view: how many messages are \Recent, and
 * the sequence number of the first without \Seen (0: none). */
void mbox_view_select_counts(const struct mbox_view *view,
    uint32_t *recent_r, uint32_t *first_unseen_r);
/* Message by sequence number (1-based); NULL when out of range. */
const struct mbox_msg *mbox_view_msg(const struct mbox_view *view,
    uint32_t seq);
/* Sequence number of uid, 0 when not in the view.  Binary search. */
uint32_t mbox_view_seq(const struct mbox_view *view, uint32_t uid);
/* Keywords known in the folder (index = bit in mbox_msg.keywords; NULL
 * entries are unused slots, as a dovecot-keywords file written by others
 * may have gaps: skip them; no message has their bit).  Valid until the
 * next call on the view. */
const char *const *mbox_view_keywords(const struct mbox_view *view,
    size_t *n_r);

/* Makes the INTERNALDATE of the messages at seqs (seqs NULL: every
 * message of the view) known: a folder's first sync does not read it
 * (it is the file's mtime), so callers that show or compare dates (FETCH
 * INTERNALDATE, SEARCH BEFORE/ON/SINCE, SORT) call this first.  Cheap
 * when all are known.  Blocking. */
void mbox_view_dates(struct mbox_view *view, const uint32_t *seqs, size_t n);
/* Opens a message file read-only (O_CLOEXEC), following a rename made
 * by others since the last sync.  -1 with err EXPUNGED when it is gone.
 * Blocking. */
int mbox_view_open_msg(struct mbox_view *view, uint32_t seq,
    struct mbox_error *err);

/* ---- sync: learning what changed ---- */

/* An expunged message as the view had it: seq before any removal.  In a
 * struct mbox_changes they come in descending seq order, so each seq is
 * valid at the moment it is reported (IMAP EXPUNGE responses). */
struct mbox_expunged {
	uint32_t seq;
	uint32_t uid;
};

/* What a sync (or the view's own expunge) changed.  Free with
 * mbox_changes_free. */
struct mbox_changes {
	struct mbox_expunged *expunged;	/* descending seq */
	size_t nexpunged;
	uint32_t *changed;	/* seqs (after removals) whose flags,
				   keywords or modseq changed, ascending */
	size_t nchanged;
	uint32_t old_count;	/* messages before, after removals */
	uint32_t new_count;	/* messages now (EXISTS when it grew) */
	bool keywords_changed;	/* the keyword list grew since the view
				   last reported it (FLAGS) */
	bool uidvalidity_changed;	/* the UID list was lost: the view
					   restarted; the session must end */
};
void mbox_changes_free(struct mbox_changes *ch);

/* Keep messages expunged by others in the view (marked
 * MBOX_F_EXPUNGED) so that sequence numbers stay, for commands during
 * which IMAP forbids EXPUNGE responses (FETCH, STORE, SEARCH). */
#define MBOX_SYNC_KEEP_EXPUNGED 0x01
/* Only if the folder's directories or the index changed since the last
 * sync (cheap: two stats); else a full scan. */
#define MBOX_SYNC_QUICK 0x02
/* No look at the disk at all: only what this process already knows of
 * the folder (its own appends, copies, stores and expunges, and other
 * sessions' syncs).  For the EXISTS after an APPEND, which itself
 * entered the new messages into the folder state. */
#define MBOX_SYNC_STATE 0x04

/* Brings the view up to date with disk: new messages (appended at the
 * end), expunges, flag changes by others (other sessions, POP3, a file
 * renamed by hand).  ch may be NULL.  0 or -1.  Blocking. */
int mbox_view_sync(struct mbox_view *view, unsigned flags,
    struct mbox_changes *ch, struct mbox_error *err);

/* UIDs expunged since modseq `since` (QRESYNC VANISHED (EARLIER)),
 * ascending.  *complete_r false: the index was rebuilt after `since`
 * and the list may miss some; the caller then treats every UID in its
 * range that is not in the view as vanished (RFC 7162 allows it).
 * *uids_r is freed by the caller.  0 or -1.  Blocking. */
int mbox_view_vanished(struct mbox_view *view, uint64_t since,
    uint32_t **uids_r, size_t *n_r, bool *complete_r,
    struct mbox_error *err);

/* ---- changing messages ---- */

enum mbox_store_mode { MBOX_STORE_SET, MBOX_STORE_ADD, MBOX_STORE_REMOVE };

/* Seqs the store changed (their new flags are in the view) and seqs
 * refused because their modseq was above unchangedsince (CONDSTORE
 * MODIFIED), both ascending.  Free with mbox_store_result_free. */
struct mbox_store_result {
	uint32_t *changed;
	size_t nchanged;
	uint32_t *modified;
	size_t nmodified;
	bool keywords_changed;	/* the folder's keyword list grew since the
				   view last reported it (IMAP: FLAGS first) */
};
void mbox_store_result_free(struct mbox_store_result *res);

/* Sets, adds or removes system flags (MBOX_F_STORED bits; RECENT is
 * ignored) and keywords on the messages at seqs (any order; seqs of
 * expunged messages are skipped): renames the files and gives the
 * changed messages one new modseq.  unchangedsince: 0 = none.  Unknown
 * keywords are added to the folder (LIMIT past MBOX_KEYWORDS_MAX).
 * Readonly views refuse (NOTALLOWED).  0 or -1.  Blocking. */
int mbox_view_store(struct mbox_view *view, const uint32_t *seqs, size_t n,
    enum mbox_store_mode mode, uint32_t flags, const char *const *keywords,
    size_t nkeywords, uint64_t unchangedsince, struct mbox_store_result *res,
    struct mbox_error *err);

/* Expunges messages with \Deleted; uids non-NULL limits it to those
 * (UID EXPUNGE).  Removed messages leave the view and are reported in
 * ch (with other changes since the last sync).  0 or -1.  Blocking. */
int mbox_view_expunge(struct mbox_view *view, const uint32_t *uids,
    size_t nuids, struct mbox_changes *ch, struct mbox_error *err);

/* One message to append: content from fd (offset 0 to its end), or
 * data/len when fd < 0. */
struct mbox_append {
	int fd;
	const void *data;
	size_t len;
	uint32_t flags;			/* MBOX_F_STORED bits */
	const char *const *keywords;
	size_t nkeywords;
	time_t internaldate;		/* 0 = now */
};

/* Appends n messages to folder `name` durably (tmp/, fsync, rename into
 * cur/ with its flags, fsync cur/) and atomically as a group (MULTIAPPEND:
 * all or none).  OVERQUOTA when the quota would be exceeded.  Fills
 * *uidvalidity_r and uids_r[0..n) (APPENDUID).  0 or -1.  Blocking. */
int mbox_append(struct mbox_user *user, const char *name,
    const struct mbox_append *v, size_t n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, struct mbox_error *err);

/* Copies (hard links where possible, keeping flags and keywords) the
 * messages at seqs (ascending order of UIDs is kept) into folder `dest`;
 * with move, removes them from the view's folder afterwards and reports
 * them in ch (ch may be NULL without move).  src_uids_r and dst_uids_r
 * (n entries each) receive COPYUID's sets, *count_r how many were
 * copied (expunged ones are skipped).  The destination may be the
 * view's own folder.  0 or -1.  Blocking. */
int mbox_view_copy(struct mbox_view *view, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t *src_uids_r, uint32_t *dst_uids_r, size_t *count_r,
    struct mbox_changes *ch, struct mbox_error *err);

/* ---- cached blobs (ENVELOPE, BODYSTRUCTURE: opaque to us) ---- */

/* field: the caller's small number for what the blob is.  Stored in the
 * index with the message; gone with it.  get: *data_r (caller frees) or
 * 0 with *data_r NULL when absent.  0 or -1.  Blocking. */
int mbox_cache_get(struct mbox_view *view, uint32_t uid, unsigned field,
    void **data_r, size_t *len_r);
int mbox_cache_put(struct mbox_view *view, uint32_t uid, unsigned field,
    const void *data, size_t len);

/* ---- change watching (loop thread only) ---- */

typedef void mbox_watch_cb(void *ctx);

/* Calls cb on the service's loop (never inline) soon after something
 * changes in new/ or cur/ of the folder at dir (mbox_view_dir()), by
 * anyone, and every MBOX_WATCH_BACKSTOP seconds regardless.  One inotify
 * watch per directory in the process, shared by all registrations.
 * NULL when the service has no loop. */
#define MBOX_WATCH_BACKSTOP 30
struct mbox_watch *mbox_watch_add(struct mbox_service *svc, const char *dir,
    mbox_watch_cb *cb, void *ctx);
void mbox_watch_remove(struct mbox_watch **watchp);

#endif
