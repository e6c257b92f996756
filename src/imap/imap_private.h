/* Shared between the IMAP server files (imapd.c: listeners, limits,
 * session list; imap_session.c: I/O edge, reader, state machine and
 * command table; imap_reply.c: response formatting and worker jobs;
 * imap_cmd_any.c: commands valid in every state and the login;
 * imap_cmd_folder.c: folder commands; imap_cmd_msg.c: commands on the
 * selected folder).  Not for use outside src/imap/. */
#ifndef FERRY_IMAP_PRIVATE_H
#define FERRY_IMAP_PRIVATE_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ferry.h"
#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "net/listener.h"
#include "net/session_io.h"

struct bufferevent;
struct listener_set;
struct tls_server;
struct mbox_service;
struct mbox_user;
struct mbox_view;
struct mbox_watch;
struct mbox_changes;
struct mbox_msg;
struct mailproxy;
struct workpool;
struct event_base;
struct nodepeer_home;

#define IMAP_TIMEOUT_AUTH 60		/* before login */
#define IMAP_MAX_ERRORS 20		/* BAD replies before closing */
#define IMAP_MAX_AUTH_FAILURES 3	/* per session */
#define IMAP_AUTH_LINE_MAX 8192		/* AUTHENTICATE response, IDLE DONE */

/* What IMAP keeps in the mailbox index per message (mbox_cache_*). */
#define IMAP_CACHE_SORTKEY 1		/* imap_sort.h imap_msgkey blob */
#define IMAP_CACHE_MIME 2		/* imap_mime_blob.h: ENVELOPE, BODY,
					 * BODYSTRUCTURE */

struct imapd {
	struct ferry_env *env;		/* env->conf: the current snapshot */
	struct tls_server *tls;		/* NULL: no certificate configured */
	struct mbox_service *mbox;
	struct listener_set *lset;
	struct nodepeers *peers;	/* the nodes' hosts (net/nodepeer.h) */
	/* one thread at a lower CPU priority for index rows written after
	 * a reply (imap_flush_later), so they give way to commands */
	struct workpool *bgpool;
	bool stopping;
	void (*idle)(void *);
	void *idle_arg;
};

enum imap_state {
	IMAP_STATE_NOAUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT
};

/* What the next input line is. */
enum imap_input {
	IMAP_INPUT_COMMAND,	/* through the reader */
	IMAP_INPUT_SASL,	/* an AUTHENTICATE response line */
	IMAP_INPUT_IDLE		/* waiting for DONE */
};

struct store_req;

struct imap_session {
	struct listener_session link;	/* in srv->lset */
	struct session_io_drain drain;	/* closing after STARTTLS */
	struct imapd *srv;
	/* The configuration the session started with (a reference), also
	 * read by its login job on a worker thread. */
	const struct conf *conf;
	struct session_io_pace pace;	/* slow peers: per-command limit */
	bool mid_command;		/* the reader holds part of one */
	struct bufferevent *bev;
	char id[IDS_LEN + 1];
	struct sockaddr_storage peer;	/* the client (ID from a trusted
					 * proxy may change it) */
	struct sockaddr_storage conn_peer;	/* the connection's peer */
	bool proxied;			/* peer came from x-originating-ip */
	/* x-originating-ip from a connection not in imap_trusted_proxies:
	 * taken at login if the connection is another node's (a front
	 * node proxying its client's login, net/mailproxy.h) */
	struct sockaddr_storage claim;
	bool have_claim;
	/* the login proxied to the user's home node (imap_proxy.c) */
	struct mailproxy *proxy;
	char proxy_node[64];
	char addr[64];
	enum imap_state state;
	enum imap_input input;
	bool tls;
	bool busy;		/* a worker job is pending */
	bool dead;		/* gone while busy: freed when it reports */
	int gone;		/* dead, for workers (atomic): a login job
				 * not started yet is skipped */
	struct session_io_hup hup;	/* peer close during a login job */
	struct store_req *sreq;	/* a pending store request (ban check) */
	bool skip_line;		/* SASL/IDLE: discarding an overlong line */
	bool idle_pending;	/* IDLE: a sync job should run */
	bool utf8;		/* ENABLE UTF8=ACCEPT */
	bool condstore;		/* CONDSTORE enabled (ENABLE or use) */
	bool compress;		/* COMPRESS=DEFLATE active */
	bool qresync;		/* ENABLE QRESYNC: VANISHED, not EXPUNGE */
	bool rev2;		/* ENABLE IMAP4rev2 (RFC 9051 behaviour) */
	unsigned errors;
	unsigned auth_failures;
	struct imap_parser parser;
	char tag[IMAP_TAG_MAX + 1];	/* AUTHENTICATE / IDLE in progress */
	char address[320];		/* logged-in user */
	struct mbox_user *user;
	struct mbox_view *view;		/* SELECTED: the open folder */
	struct mbox_view *closing_view;	/* unselected: closed by the next
					 * job (closing blocks) */
	bool readonly;			/* EXAMINE */
	struct mbox_watch *watch;
	/* SEARCH RETURN (SAVE) result (RFC 5182 "$") as UIDs, ascending
	 * ranges; empty until a SEARCH saves, reset by SELECT/EXAMINE */
	struct imap_seqset saved;
	struct fbuf out;		/* responses not yet written */
	/* A long answer's next part, waiting for the client to read: made
	 * when the output drains (imap_job_unpark). */
	struct imap_job *parked;
};

/* A command handler.  args/count are the arguments after the name (and
 * after the subcommand for UID commands). */
typedef void imap_cmd_fn(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid);

/* imapd.c */
void imapd_session_gone(struct imapd *d, struct imap_session *s);

/* imap_session.c */
/* NULL (fd closed) when the connection cannot be set up. */
struct imap_session *imap_session_new(struct imapd *d, int fd,
    const struct sockaddr *sa, socklen_t salen, bool tls);
void imap_session_free(struct imap_session **sp);
/* Appends a line (CRLF added). */
void imap_reply(struct imap_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Counts a BAD reply; past IMAP_MAX_ERRORS the session closes. */
void imap_session_error(struct imap_session *s);
/* "tag BAD text" and the error count. */
void imap_bad(struct imap_session *s, const char *tag, const char *text);
void imap_session_close(struct imap_session *s);
void imap_session_shutdown(struct imap_session *s, const char *text);
/* Writes what is in s->out now. */
void imap_session_flush(struct imap_session *s);
/* Writes s->out, then b (emptied), without copying b into s->out: a
 * part of a long answer goes to the socket's buffer in one copy. */
void imap_session_write(struct imap_session *s, struct fbuf *b);
/* Ends the session once its last output is written (logs, leaves the
 * listener set, frees). */
void imap_session_end(struct imap_session *s);
void imap_session_suspend(struct imap_session *s);
void imap_session_resume(struct imap_session *s);
/* Output not yet written to the peer is above IMAP_OUTPUT_HIGH: stop
 * making more until it drains. */
bool imap_session_output_full(struct imap_session *s);
/* While a login job is pending: a peer that closes ends the session at
 * once (its job skipped if not started, its result dropped); resume
 * stops the watch. */
void imap_session_watch_hup(struct imap_session *s);
void imap_session_enter_state(struct imap_session *s, enum imap_state st);
void imap_session_starttls(struct imap_session *s);
/* Callbacks, watermarks and timeouts on s->bev (after it changed). */
void imap_session_setup_bev(struct imap_session *s);
/* Switches the reader to the limits of the session's state. */
void imap_session_limits(struct imap_session *s);
/* The largest APPEND message (APPENDLIMIT, RFC 7889): the configured
 * message_size_limit, or 64 MiB when it is 0. */
uint64_t imap_append_limit(const struct imap_session *s);

/* imap_reply.c: formatting */
/* An IMAP string: quoted when it can be, else a literal.  utf8: 8-bit
 * UTF-8 may go into a quoted string (UTF8=ACCEPT / IMAP4rev2). */
void imap_fmt_string(struct fbuf *b, const char *s, size_t len, bool utf8);
/* nstring: NIL for NULL. */
void imap_fmt_nstring(struct fbuf *b, const char *s, bool utf8);
/* A folder name (UTF-8) as the client spells it: modified UTF-7 unless
 * utf8; then quoted as needed. */
void imap_fmt_mailbox(struct fbuf *b, const char *name, bool utf8);
/* A mailbox argument as UTF-8 (from modified UTF-7 unless utf8) into
 * dst; 0, or -1 with *error_r. */
int imap_arg_mailbox(const struct imap_arg *a, bool utf8, char *dst,
    size_t size, const char **error_r);

/* "1:3,7" from an ascending list of numbers (UID sets of UIDPLUS). */
void imap_fmt_uidset(struct fbuf *b, const uint32_t *v, size_t n);
/* "tag NO [CODE] text" for a mailbox library error (RFC 5530 codes). */
struct mbox_error;
void imap_mbox_no(struct fbuf *b, const char *tag,
    const struct mbox_error *e);
/* "* ESEARCH (TAG "t") [UID] [MIN m] [MAX m] [COUNT c]" for the
 * IMAP_SEARCH_RET_* bits in ret; v holds the n results in the order MIN and
 * MAX are taken from (first and last). The caller adds ALL, MODSEQ, CRLF. */
void imap_fmt_esearch_head(struct fbuf *b, const char *tag, bool uid,
    unsigned ret, const uint32_t *v, size_t n);
/* IMAP_FLAG_* system flags as MBOX_F_* bits (\\Recent dropped). */
uint32_t imap_flags_to_mbox(unsigned system);

/* imap_reply.c: worker jobs.  A job runs work() on the role's pool
 * (blocking mailbox calls); its responses go to job->out, which done()
 * appends to the session's output before the session resumes.  A
 * work() that sets job->more has answered only part of its command:
 * what it wrote so far is sent, and work() runs again on the pool (the
 * session stays suspended, done() is not called) until it returns
 * without setting it, or is never called again when the peer left
 * (release() still runs). */
struct imap_job;
typedef void imap_job_fn(struct imap_job *job);

struct imap_job {
	struct imap_session *s;
	char tag[IMAP_TAG_MAX + 1];
	imap_job_fn *work;		/* worker thread */
	imap_job_fn *done;		/* loop thread, before output; may be NULL */
	imap_job_fn *release;		/* frees the job's own data; may be NULL */
	struct fbuf out;
	bool uid;
	bool more;		/* work() has more to write: run it again */
	bool login;		/* skipped when the peer left before it ran */
	bool skipped;		/* it was */
	void *data;
};

/* Closes views and then the user on the pool (mbox_view_close takes
 * the user's lock, mbox_user_close may close the index: neither may
 * run on the loop); inline once the pool is gone.  Pointers are taken
 * over and set to NULL; any may be NULL. */
void imap_close_later(struct imapd *d, struct mbox_view **v1,
    struct mbox_view **v2, struct mbox_user **user);
/* Writes on d->bgpool the index rows a sync left for later
 * (mbox_user_flush), holding its own reference to user; nothing once
 * the pool is gone (the next SELECT then syncs again). */
void imap_flush_later(struct imapd *d, struct mbox_user *user);
/* d->bgpool, its thread at IMAP_BG_NICE; NULL without an event base. */
struct workpool *imap_bgpool_create(struct event_base *base);
/* Starts job (xcalloc'd by the caller, fields set) on the pool; the
 * session is suspended until it is done. */
void imap_job_submit(struct imap_job *job);
/* Runs the session's parked job again (its output drained), or ends it
 * when the session is dead (the peer left: the session is freed). */
void imap_job_unpark(struct imap_session *s);
/* Frees a job that will not run again (release(), its output). */
void imap_job_free(struct imap_job *job);
struct imap_job *imap_job_new(struct imap_session *s, const char *tag,
    imap_job_fn *work);

/* imap_cmd_any.c */
bool imap_plaintext_ok(const struct imap_session *s);
void imap_cmd_capability(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_noop(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_logout(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_id(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_enable(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_starttls(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_login(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_authenticate(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
/* The line after "+ " of AUTHENTICATE (without CRLF). */
void imap_auth_response(struct imap_session *s, const char *line,
    size_t len);
/* The capability list for the session's state, without "* CAPABILITY". */
void imap_capabilities(struct imap_session *s, struct fbuf *b);

/* imap_cmd_folder.c */
void imap_cmd_namespace(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_status(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_select(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_examine(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_create(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_delete(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_rename(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_subscribe(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_unsubscribe(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_append(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
/* Closes the selected folder (view and watch) and goes back to AUTH. */
void imap_folder_close(struct imap_session *s);
/* STATUS items (also LIST RETURN (STATUS ...), RFC 5819). */
#define IMAP_STATUS_MESSAGES 0x01
#define IMAP_STATUS_RECENT 0x02
#define IMAP_STATUS_UIDNEXT 0x04
#define IMAP_STATUS_UIDVALIDITY 0x08
#define IMAP_STATUS_UNSEEN 0x10
#define IMAP_STATUS_DELETED 0x20
#define IMAP_STATUS_SIZE 0x40
#define IMAP_STATUS_HIGHESTMODSEQ 0x80
#define IMAP_STATUS_APPENDLIMIT 0x100	/* RFC 7889 */
struct mbox_status;
/* The item list "(MESSAGES UNSEEN)" as IMAP_STATUS_* bits; 0, or -1
 * with *error_r for a BAD reply. */
int imap_status_parse_items(const struct imap_arg *a, unsigned *items_r,
    const char **error_r);
/* "* STATUS name (...)" with CRLF for the items asked. */
void imap_status_format(struct imap_session *s, struct fbuf *b,
    const char *name, const struct mbox_status *st, unsigned items);

/* imap_quota.c: QUOTA (RFC 9208) */
void imap_cmd_getquota(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_getquotaroot(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_setquota(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);

/* imap_limits.c */
/* True when user has imap_max_user_sessions logged-in sessions other
 * than s in this process. */
bool imap_limits_user_full(const struct imap_session *s, const char *user);
/* An ID field: x-originating-ip from imap_trusted_proxies before login
 * becomes the session's peer and addr. */
void imap_limits_id_field(struct imap_session *s, const char *key,
    const char *value);

/* imap_proxy.c: a login proxied to the home node (net/mailproxy.h).
 * Starts it for the verified user (canonical address) and password;
 * the session stays busy until the home node answers, then answers tag
 * and relays, or answers NO [UNAVAILABLE] and goes on here. */
void imap_proxy_start(struct imap_session *s, const char *tag,
    const char *user, const char *password,
    const struct nodepeer_home *home);
/* The server stops: a relaying session ends now (true), else false. */
bool imap_proxy_shutdown(struct imap_session *s);

/* imap_compress.c: COMPRESS=DEFLATE (RFC 4978) */
void imap_cmd_compress(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);

/* imap_rename.c: RENAME INBOX to (RFC 3501 6.3.5): creates `to` and
 * moves INBOX's messages into it.  0, or -1 with err.  Blocking. */
struct mbox_error;
int imap_rename_inbox(struct mbox_user *user, const char *to,
    struct mbox_error *err);

/* imap_list.c: LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS), LSUB */
void imap_cmd_list(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_lsub(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);

/* imap_fetch_mime.c: msg is the whole message with CRLF line ends */
/* ENVELOPE, BODY or BODYSTRUCTURE (name and value) appended to b. */
int imap_fetch_mime_item(const struct imap_fetch_item *it,
    const struct fbuf *msg, struct fbuf *b);
/* ENVELOPE, BODY and BODYSTRUCTURE text of the message at seq of view
 * (m its record) into *r, from the index (IMAP_CACHE_MIME) when a valid
 * blob is there, else built from msg (NULL: the message is read here)
 * and stored for next time.  r points into blob (reset first).  0, or
 * -1 when the message cannot be read or parsed.  Worker thread. */
struct imap_mime_blob;
int imap_fetch_mime_cached(struct mbox_view *view, uint32_t seq,
    const struct mbox_msg *m, const struct fbuf *msg, struct fbuf *blob,
    struct imap_mime_blob *r);
/* The octets of BODY[part...] (it->nparts > 0) appended to out; for
 * HEADER.FIELDS the whole header (the caller filters).  A part that
 * does not exist gives nothing. */
int imap_fetch_mime_section(const struct imap_fetch_item *it,
    const struct fbuf *msg, struct fbuf *out);

/* imap_fetch_binary.c: BINARY[...]<partial> or BINARY.SIZE[...] of msg
 * (CRLF line ends), name and value, appended to b.  -1 (nothing
 * written) when the part's transfer encoding is unknown (UNKNOWN-CTE). */
int imap_fetch_binary(const struct imap_fetch_item *it,
    const struct fbuf *msg, struct fbuf *b);

/* imap_qresync.c (worker thread) */
struct imap_qresync;
/* "* VANISHED [(EARLIER) ]1:3,7" for ascending uids; nothing when n
 * is 0. */
void imap_fmt_vanished(struct fbuf *b, const uint32_t *uids, size_t n,
    bool earlier);
/* After SELECT/EXAMINE (QRESYNC ...): FETCH of the messages changed
 * since q's modseq and VANISHED (EARLIER) of those expunged, when q's
 * UIDVALIDITY is the view's.  recent: show \Recent (not IMAP4rev2). */
void imap_qresync_select(struct mbox_view *view, const struct imap_qresync *q,
    bool recent, struct fbuf *b);
/* UID FETCH (CHANGEDSINCE since VANISHED): VANISHED (EARLIER) for the
 * UIDs of set expunged since.  0, or -1 on index trouble. */
int imap_qresync_fetch_vanished(struct mbox_view *view,
    const struct imap_seqset *set, uint64_t since, struct fbuf *b);

/* imap_rev2.c (worker thread) */
/* IMAP4rev2 SELECT's "* LIST (attributes) "/" name" for folder name. */
void imap_rev2_select_list(struct imap_session *s, const char *name,
    struct fbuf *b);

/* imap_cmd_msg.c */
/* "(\Seen kw ...)" of a message of view; recent: include \Recent
 * (IMAP4rev2 has none). */
void imap_fmt_flags(struct fbuf *b, struct mbox_view *view,
    const struct mbox_msg *m, bool recent);
void imap_cmd_check(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_close(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_unselect(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_expunge(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_fetch(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_store(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_copy(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_move(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_idle(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
/* The DONE line of IDLE (anything else ends IDLE with BAD). */
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
/* Worker side: syncs the view and writes the untagged updates (EXPUNGE,
 * EXISTS, FETCH FLAGS) to b.  keep: expunges are held back (FETCH,
 * STORE, SEARCH).  0, or -1 when the folder is gone or broken (a BYE
 * is written then). */
int imap_sync_updates(struct imap_session *s, struct fbuf *b, bool keep);
/* The same with mbox_view_sync's flags (MBOX_SYNC_STATE after APPEND). */
int imap_sync_view(struct imap_session *s, struct fbuf *b, unsigned flags);
/* The watcher says the selected folder changed (IDLE wake-up). */
void imap_folder_changed(void *ctx);
/* Worker: appends the message at seq with CRLF line ends (what
 * RFC822.SIZE counts; reading stops past 256 MB) to msg.  0 or -1. */
int imap_read_message(struct mbox_view *view, uint32_t seq,
    struct fbuf *msg);
/* Length of the header section p[0..len) with the empty line ending it. */
size_t imap_header_len(const char *p, size_t len);
/* A job's done() after its sync failed: the session ends after the
 * output (a BYE is in it). */
void imap_msg_broken_done(struct imap_job *job);

/* imap_search.c */
struct imap_search;
void imap_cmd_search(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
/* Worker: the sequence numbers (ascending, caller frees) of the
 * messages of the selected folder that q matches, their number and the
 * highest MODSEQ among them.  Messages expunged by others meanwhile
 * never match. */
void imap_search_run(struct imap_session *s, const struct imap_search *q,
    uint32_t **seqs_r, size_t *n_r, uint64_t *modseq_r);
/* Parses the search program after SORT/THREAD's charset (args start at
 * the charset): 0; or -1 with the reply sent (BAD, or NO [BADCHARSET])
 * and q empty. */
int imap_search_program(struct imap_session *s, const char *tag,
    const char *cmd, const struct imap_arg *args, unsigned count,
    struct imap_search *q);

/* imap_cmd_sort.c: SORT, THREAD (RFC 5256), SORT=DISPLAY, ESORT */
void imap_cmd_sort(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
void imap_cmd_thread(struct imap_session *, const char *,
    const struct imap_arg *, unsigned, bool);
struct imap_msgkey;
struct mbox_msg;
/* Worker: the sort record (imap_sort.h) of message m at seq, from the
 * index, else built from its header and stored there; a message gone
 * meanwhile gets the record of an empty header.  Free with
 * imap_msgkey_free. */
void imap_msgkey_load(struct mbox_view *view, uint32_t seq,
    const struct mbox_msg *m, struct imap_msgkey *k);

#endif
