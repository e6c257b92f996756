/* The spool: the durable queue under state_dir/spool/.
 *   tmp/<id>.msg, tmp/<id>.env     being written; garbage after a crash
 *   queue/<h>/<id>.msg             message content, never changed after
 *                                  acceptance (h = last hex digit of id)
 *   queue/<h>/<id>.env             envelope; its presence makes the
 *                                  message exist (the rename is the commit)
 *   corrupt/                       envelopes that failed to parse
 * The envelope is text records, one per line, "X value", ending with an
 * "E" record.  Per-recipient state is rewritten atomically (write new,
 * fsync, rename).  A finished message is removed envelope first, so a
 * .msg without .env is always garbage.
 * Functions here block on the disk: call them from worker threads. */
#ifndef FERRY_SPOOL_H
#define FERRY_SPOOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/ids.h"

struct fbuf;

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING = 0,	/* to be delivered */
	SPOOL_RCPT_DONE,	/* delivered */
	SPOOL_RCPT_FAILED,	/* permanently failed (bounce due) */
	SPOOL_RCPT_BOUNCED	/* failed and the bounce was queued */
};

struct spool_rcpt {
	char *orig;		/* as given at RCPT TO (for logs, DSN) */
	char *addr;		/* final address to deliver to */
	bool local;		/* local mailbox (else remote) */
	enum spool_rcpt_state state;
	unsigned attempts;
	time_t next_attempt;	/* 0 = as soon as possible */
	char *last_error;	/* NULL or the last reply/error text */
};

struct spool_env {
	char id[IDS_LEN + 1];
	time_t arrival;
	char *sender;		/* "" for the null sender */
	char *client_addr;	/* "192.0.2.7" or "local" */
	char *client_helo;
	char *protocol;		/* "ESMTP", ... */
	char *auth_user;	/* NULL when not authenticated */
	bool held;		/* `queue hold` */
	char *hold_reason;	/* NULL, or why it is held ("send-hold: ...",
				 * "outbound spam: ...") */
	bool warned;		/* the delay warning DSN went out */
	bool spam;		/* tagged as spam: local delivery files it
				 * into spam_folder when that is set */
	uint64_t size;		/* octets of the .msg file */
	struct spool_rcpt *rcpts;
	size_t nrcpts;
};

struct spool_writer;

/* Creates the spool directories under spool_dir if missing: 0 or -1. */
int spool_init(const char *spool_dir, const char **error_r);

/* Starts a new message: creates tmp/<id>.msg (O_EXCL) and picks the id.
 * 0, or -1 with errno. */
int spool_writer_open(struct spool_writer **wp, const char *spool_dir);
const char *spool_writer_id(const struct spool_writer *w);
/* Buffered append of content; 0 or -1 (errno: ENOSPC, EIO, ...). */
int spool_writer_write(struct spool_writer *w, const void *p, size_t n);
uint64_t spool_writer_size(const struct spool_writer *w);
/* Writes the buffered content to the file (no fsync), so that another
 * reader (a content scanner) sees every byte so far.  0 or -1 (errno). */
int spool_writer_flush(struct spool_writer *w);
/* The path of the content file being written (tmp/<id>.msg): 0 or -1. */
int spool_writer_path(const struct spool_writer *w, char *dst, size_t size);
/* A descriptor to read the content written so far with pread (flushed
 * first), for delivering it straight from tmp/ (smtp_tx's direct local
 * delivery).  It is the writer's own: valid until the writer is
 * recycled, aborted or committed; the caller must not close it or move
 * its offset.  fd or -1 (errno). */
int spool_writer_content_fd(struct spool_writer *w);
/* Rewrites the content written so far into a new file: its first `head`
 * octets, then hdr (n octets of header lines), then the rest with
 * subject_prefix (when not "") put before the value of the first
 * Subject: header of the header section; the writer goes on with the
 * new file.  For headers that DATA-time checks add (X-Spam-*).  0 or -1
 * (errno).  Blocks: worker thread only. */
int spool_writer_rewrite(struct spool_writer *w, uint64_t head,
    const void *hdr, size_t n, const char *subject_prefix);
/* The durable commit: flush and fsync the content, write and fsync the
 * envelope (env->id and env->size are filled in), rename the content and
 * then the envelope into queue/<h>/, fsync that directory.  On success
 * the writer is freed and the message exists.  On failure the temporary
 * files are removed, the writer is freed, and -1 is returned with errno
 * (the session answers 452 4.3.1).  Blocks: worker thread only. */
int spool_writer_commit(struct spool_writer **wp, struct spool_env *env);
/* After a failed write: drops the buffer and cuts the file to nothing
 * (its space comes back at once); the writer stays failed, and the file
 * goes with spool_writer_abort. */
void spool_writer_discard(struct spool_writer *w);
/* Throws the message away (removes tmp files) and frees the writer. */
void spool_writer_abort(struct spool_writer **wp);
/* Throws the message away like spool_writer_abort, but keeps the empty
 * content file (in free/) for the next spool_writer_open of this process
 * (renamed, not created: see spool.c).  For content that was delivered from tmp/
 * and never needs to be durable.  Blocks: worker thread only. */
void spool_writer_recycle(struct spool_writer **wp);
/* Removes the files kept by spool_writer_recycle (at exit). */
void spool_recycle_drop(void);
/* Removes every file in free/ (at start: what an earlier process kept;
 * one still in use elsewhere is simply not reused). */
void spool_recycle_clean(const char *spool_dir);

/* Reads queue/<h>/<id>.env.  0, -1 with errno ENOENT when absent, or -1
 * with errno EINVAL for a corrupt envelope. */
int spool_env_read(const char *spool_dir, const char *id, struct spool_env *env);
/* Atomically rewrites the envelope (per-recipient state, held flag). */
int spool_env_update(const char *spool_dir, const struct spool_env *env);
/* Serialises read-modify-write of envelopes among the threads of one
 * process (the queue role's delivery jobs and its `ferry queue hold,
 * release, bounce, delete, retry` requests), so that a change made while
 * a delivery runs is not overwritten by the delivery's result.  The lock
 * is recursive. */
void spool_env_lock(void);
void spool_env_unlock(void);
void spool_env_free(struct spool_env *env);
/* Path of the content file into dst: 0 or -1. */
int spool_msg_path(const char *spool_dir, const char *id, char *dst,
    size_t size);
/* Removes a message: envelope first, then content, then fsync dir
 * (`queue delete`: an operator's delete must not come back).  -1 with
 * ENOENT when it is gone already. */
int spool_remove(const char *spool_dir, const char *id);
/* The same without the directory fsync, for a message whose every
 * delivery is durable already (see spool.c).  -1 with ENOENT when gone. */
int spool_remove_finished(const char *spool_dir, const char *id);
/* Start-of-day recovery and listing.  With recover: removes tmp/ files
 * idle for 12 hours and .msg files without an envelope idle for 15
 * minutes (younger ones may belong to a commit in progress in smtpd),
 * moves envelopes that do not parse (or lack the E record, or whose .msg
 * is missing) with their content to corrupt/.  Then calls cb for every
 * queued id, oldest first.  Without recover nothing is touched.  0 or -1. */
int spool_scan(const char *spool_dir, bool recover,
    void (*cb)(const char *id, void *ctx), void *ctx);
/* Serialise/parse an envelope (exposed for unit tests and fuzzing). */
void spool_env_format(const struct spool_env *env, struct fbuf *out);
int spool_env_parse(const char *text, size_t len, struct spool_env *env);

#endif
