/* Shared between the SMTP server's files (smtpd.c: listeners, bans, the
 * server's life; smtp_session.c: the protocol state machine; smtp_tx.c: the
 * mail transaction and its commit; smtp_tls.c: STARTTLS and implicit
 * TLS; smtp_auth.c: AUTH; smtp_sender.c: sender ownership).  Not for use
 * outside src/smtp/. */
#ifndef FERRY_SMTPD_PRIVATE_H
#define FERRY_SMTPD_PRIVATE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/sendlimit.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "net/listener.h"
#include "net/session_io.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_data.h"
#include "store/resolve.h"

struct bufferevent;
struct event;
struct mime_header_parser;
struct spool_writer;
struct smtp_session;
struct smtp_auth;
struct srs_keys;
struct tls_server;
struct workpool;
struct store_pool;
struct store_req;
struct smtpd;
struct smtp_policy;
struct smtp_policy_session;
struct dkim_keycache;
struct dkim_keyring;
struct dkim_signer;
struct dkim_verifier;
struct arc_verifier;
struct dkim_bodies;
struct arc_keyfetch;
struct arc_result;
struct smtp_arc_seal;
struct dkim_keyfetch;
struct dmarc_psl;
struct smtp_dmarc;
struct smtp_dmarc_rows;
struct store_dmarc_row;
struct event_base;

/* What a listener serves (DESIGN.md: MX, submission, implicit TLS). */
enum smtpd_kind {
	SMTPD_KIND_SMTP,	/* MX: STARTTLS, AUTH optional under TLS */
	SMTPD_KIND_SUBMISSION,	/* RFC 6409: STARTTLS, AUTH required */
	SMTPD_KIND_SUBMISSIONS	/* RFC 8314: implicit TLS, AUTH required */
};

struct smtpd {
	struct ferry_env *env;		/* env->conf: the current snapshot */
	char spool_dir[PATH_MAX];
	char mail_dir[PATH_MAX];
	struct listener_set *lset;	/* listeners, limits, sessions */
	struct tls_server *tls;		/* NULL: no tls_cert configured */
	struct smtp_policy *policy;	/* inbound checks (smtp_policy.c) */
	/* DKIM signing keys (msgauth/dkim_keys.h), read at start and on
	 * reload; a message holds its own reference while it is signed. */
	struct dkim_keyring *dkim;
	/* Decoded public keys of the DKIM and ARC verifiers, by DNS name
	 * and record text (msgauth/dkim_keycache.h); emptied on reload. */
	struct dkim_keycache *keycache;
	/* SRS secrets (msgauth/srs.h), start and reload; NULL: srs off. */
	struct srs_keys *srs;
	/* The public suffix list for DMARC (NULL: not loaded), replaced on
	 * reload (smtp_dmarc.c). */
	struct dmarc_psl *psl;
	/* Password checks: CPU-bound and 16 MB each (yescrypt), so
	 * fewer at once than the commits in env->pool, which mostly wait
	 * for the disk. */
	struct workpool *auth_pool;
	struct store_pool *auth_stores;	/* connections for auth_pool */
	/* The signature checks of mail from outside (DKIM, ARC): CPU only,
	 * some 20 us per RSA signature, one thread per CPU.  In env->pool they
	 * would queue behind commits that wait for the disk, and in
	 * auth_pool behind password hashes. */
	struct workpool *check_pool;
	struct smtp_cache *cache;	/* the answer cache (smtp_cache.c) */
	struct smtp_dmarc_rows *dmarc_rows;	/* smtp_dmarc_rows.c */
	struct nodepeers *peers;	/* the nodes' hosts (net/nodepeer.h) */
	struct diskwatch *disk;		/* free space of the spool's disk */
	bool stopping;
	void (*idle)(void *);		/* stopped and no session left */
	void *idle_arg;
};

enum smtp_state {
	SMTP_STATE_GREETING,	/* waiting to send the greeting */
	SMTP_STATE_HELO,	/* greeted, no HELO/EHLO yet */
	SMTP_STATE_READY,	/* HELO done, no transaction */
	SMTP_STATE_MAIL,	/* MAIL accepted */
	SMTP_STATE_RCPT,	/* at least one RCPT accepted */
	SMTP_STATE_DATA,	/* reading DATA content */
	SMTP_STATE_BDAT,	/* reading a BDAT chunk */
	SMTP_STATE_QUIT,	/* closing after the replies are sent */
	SMTP_STATE_TLS,		/* TLS handshake running */
	SMTP_STATE_AUTH		/* reading a SASL response line */
};

struct smtp_rcpt {
	char *orig;		/* as given, normalised */
	char *addr;		/* final delivery address */
	bool local;
	uint64_t quota;		/* local: the user's quota at RCPT */
	bool vacation;		/* local: the queue must decide on a reply */
};

/* One mail transaction: MAIL FROM to end of data (or RSET). */
struct smtp_tx {
	char sender[SMTP_ADDR_PATH_MAX + 1];
	bool smtputf8;
	int body;			/* enum smtp_body */
	uint64_t declared_size;
	struct smtp_rcpt *rcpts;
	size_t nrcpts;
	/* The store generation every accepted recipient was resolved
	 * under (store_generation()); false when unknown or mixed.  While
	 * the store still shows it, the commit need not read the users
	 * again. */
	uint64_t rcpt_gen;
	bool rcpt_gen_ok;
	unsigned rcpt_attempts;		/* RCPT commands seen */
	struct spool_writer *writer;	/* open from DATA/first BDAT */
	struct smtp_data dec;
	struct fbuf out;		/* decoded bytes not yet written */
	bool write_failed;		/* I/O error: answer 452 4.3.1 */
	int write_errno;
	bool too_big;			/* over message_size_limit */
	uint64_t bdat_left;		/* octets left in this BDAT chunk */
	bool bdat_last;
	bool bdat_failed;		/* a BDAT was refused: eat the chunk */
	bool check_from;		/* sender_check of From: at the end */
	struct mime_header_parser *hp;	/* the header section as it streams */
	unsigned received;		/* Received fields in it */
	struct fbuf from;		/* its From values, ","-joined */
	bool dmarc_from;		/* collect them for DMARC too */
	unsigned nfrom;			/* From fields seen */
	bool dmarc_report;		/* Subject: of a DMARC report */
	struct smtp_dmarc *dmarc;	/* DMARC of mail from outside */
	const char *bdat_fail_reply;	/* reply for the refused chunk */
	char id[IDS_LEN + 1];
	uint64_t head_len;		/* Received + check headers written */
	size_t pol_hdr_len;		/* check headers at that time */
	/* Mail of a client that may relay: its DKIM signer, fed the
	 * content as it streams; NULL when nothing could be signed. */
	struct dkim_signer *signer;
	/* Mail from outside: its DKIM verifier (NULL: not verified), the
	 * key lookups at the end, and the Authentication-Results field
	 * made of it and SPF (smtp_authres.c). */
	struct dkim_verifier *verifier;
	struct dkim_keyfetch *kfetch;
	/* ARC (smtp_arc.c): the chain's verifier (NULL: not verified), its
	 * key lookups (at the same time as DKIM's: keys_pending counts the
	 * two lookups still out). */
	struct arc_verifier *arc;
	struct arc_keyfetch *arc_kfetch;
	unsigned keys_pending;
	/* The body hashes both verifiers share: DKIM signatures and ARC
	 * message signatures of the same canonicalisation (most mail an
	 * ARC sealer forwards) hash the body once. */
	struct dkim_bodies *bodies;
	void (*arc_cb)(struct smtp_session *s);
	void (*authres_cb)(struct smtp_session *s);
	struct fbuf authres;
	const char *spf_ar;		/* the session's SPF method, or "" */
	bool authres_early;		/* written already (unsigned mail) */
	/* While the header section streams in, it is held here instead of
	 * written, so that Authentication-Results fields claiming to be
	 * ours (RFC 8601 5) can be left out: drop[] are their offsets
	 * and lengths in the content.  Bounded by SMTP_HEADER_MAX. */
	const char *authserv_id;	/* the conf's hostname */
	bool hold;
	struct fbuf held;
	struct smtp_drop {
		uint64_t off, len;
	} *drop;
	size_t ndrop;
};

struct smtp_session {
	struct listener_session link;	/* in srv->lset */
	struct smtpd *srv;
	/* The configuration the session started with (a reference): every
	 * setting it and the work it starts read comes from here. */
	const struct conf *conf;
	struct bufferevent *bev;
	char id[IDS_LEN + 1];
	struct sockaddr_storage peer;
	char addr[64];
	enum smtp_state state;
	bool esmtp;
	bool relay_ok;			/* client may relay */
	bool peer_node;			/* another node: no inbound checks */
	/* An async action is pending: input waits in the bufferevent
	 * until smtp_session_resume().  Reading stays on meanwhile (turning
	 * it off and on again costs two epoll_ctl calls per wait, several
	 * per message); smtp_session_read_cb turns it off only when the
	 * peer talks during the wait, smtp_session_event_cb leaves a
	 * timeout or an end of input met during it for after it. */
	bool busy;
	bool dead;			/* connection gone while busy */
	bool skip_line;			/* discarding an overlong line */
	unsigned errors;
	char helo[SMTP_ADDR_DOMAIN_MAX + 1];
	struct smtp_tx *tx;
	struct fbuf replies;		/* queued for the next flush */
	struct event *greet_timer;
	unsigned messages;
	/* Slow peers (smtp_session_slow): the command-line pace, and
	 * when DATA or BDAT content began. */
	struct session_io_pace pace;
	time_t data_since;
	enum smtpd_kind kind;
	bool tls;			/* TLS established */
	char tls_version[16];		/* "TLSv1.3" once established */
	char tls_cipher[64];
	char auth_user[320];		/* "" until AUTH succeeded */
	struct smtp_auth *auth;		/* SASL exchange in progress */
	struct smtp_policy_session *pol;	/* what the checks know */
	int fd;				/* until the bufferevent owns it */
	struct store_req *sreq;		/* a pending store request */
	struct session_io_hup hup;	/* peer close during AUTH's request */
	uint64_t ban_gen;		/* store generation of the ban check */
	bool ban_gen_ok;		/* its answer may be cached */
	/* A resolved recipient waiting for its RCPT checks. */
	char rcpt_pending[SMTP_ADDR_PATH_MAX + 1];
	enum resolve_status rcpt_st;
	struct resolve_result rcpt_res;
	uint64_t rcpt_gen;		/* rcpt_res's store generation */
	bool rcpt_gen_ok;
};

/* smtpd.c */
void smtpd_session_gone(struct smtpd *srv, struct smtp_session *s);
/* Whether the spool's filesystem has room for a message of `need`
 * octets and still min_free_space (0 when the size is not known).
 * False: answer 452 4.3.1 (RFC 3463, RFC 1870 6.1); logged here with
 * the session's id and the stage ("mail", "rcpt", "data"). */
bool smtpd_disk_ok(struct smtpd *srv, const char *sid, const char *stage,
    uint64_t need);
/* n octets were committed (spool and Maildir copies). */
void smtpd_disk_used(struct smtpd *srv, uint64_t n);
/* A write into the spool or a Maildir failed with errno err: when that
 * was for want of space the watcher checks at once. */
void smtpd_disk_failed(struct smtpd *srv, int err);

/* smtp_session.c */
struct smtp_session *smtp_session_new(struct smtpd *srv, int fd,
    const struct sockaddr *sa, socklen_t salen, enum smtpd_kind kind);
/* Ends the session: 421 with `text` if given, then closes. */
void smtp_session_shutdown(struct smtp_session *s, const char *text);
void smtp_session_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtp_session_resume(struct smtp_session *s);
/* While AUTH's store request (s->sreq) is pending: a peer that closes
 * ends the session at once, which aborts the request (a hash not started
 * is skipped, a result dropped).  smtp_session_unwatch_hup() when the
 * request reports. */
void smtp_session_watch_hup(struct smtp_session *s);
void smtp_session_unwatch_hup(struct smtp_session *s);
/* Writes the queued replies to the connection now. */
void smtp_session_flush(struct smtp_session *s);
/* Moves to a state (the only way to change it); logs the move. */
void smtp_session_enter_state(struct smtp_session *s, enum smtp_state st);
/* Runs the input loop: commands, content, replies flushed at the end. */
void smtp_session_process(struct smtp_session *s);
/* Installs the session's callbacks and read limits on a bufferevent. */
void smtp_session_setup_bev(struct smtp_session *s, struct bufferevent *bev);
void smtp_session_set_timeout(struct smtp_session *s, uint64_t seconds);
/* Counts a protocol error; past smtp_max_errors the session ends. */
void smtp_session_error(struct smtp_session *s);
/* Sends the queued replies, then closes the connection. */
void smtp_session_close(struct smtp_session *s);
void smtp_session_free(struct smtp_session **sp);

/* smtp_tls.c */
/* STARTTLS (RFC 3207): discards any input pipelined behind the command,
 * stops reading and replies 220; once that is written (write callback,
 * smtp_tls_switch_pending()), smtp_tls_switch() starts the handshake. */
void smtp_tls_starttls(struct smtp_session *s);
bool smtp_tls_switch_pending(const struct smtp_session *s);
/* 0, or -1 when TLS could not start (the caller ends the session). */
int smtp_tls_switch(struct smtp_session *s);
/* Implicit TLS (RFC 8314): a TLS bufferevent for an accepted socket, or
 * NULL (fd closed) when TLS is not available. */
struct bufferevent *smtp_tls_accept(struct smtp_session *s, int fd);
/* BEV_EVENT_CONNECTED: the handshake is done; records the parameters
 * and resets the session to its pre-EHLO state. */
void smtp_tls_established(struct smtp_session *s);
/* Sends the TLS close_notify (when TLS is up) before the socket closes. */
void smtp_tls_close(struct smtp_session *s);
/* True when STARTTLS may be offered now. */
bool smtp_tls_available(const struct smtp_session *s);
/* Why a TLS bufferevent failed, for the log. */
const char *smtp_tls_bev_error(struct bufferevent *bev);

/* smtp_auth.c */
/* True when AUTH may be used now (TLS active or the client is in
 * auth_plaintext_networks) and the session has not authenticated yet. */
bool smtp_auth_offered(const struct smtp_session *s);
void smtp_auth_cmd(struct smtp_session *s, const char *arg);
/* One SASL response line in SMTP_STATE_AUTH (line is wiped after use). */
void smtp_auth_input(struct smtp_session *s, char *line, size_t len);
void smtp_auth_free(struct smtp_auth **ap);

/* smtp_header.c: the message's header section, read as it streams. */
#define SMTP_HEADER_MAX (256 * 1024)	/* past it: header too large */
/* Starts reading at DATA/first BDAT; tx_free frees the parser. */
void smtp_header_start(struct smtp_tx *tx);
/* Decoded content, in order; nothing past the header is looked at.
 * Returns how many of the n octets belong to the header section. */
size_t smtp_header_feed(struct smtp_tx *tx, const void *data, size_t n);
/* The content ended. */
void smtp_header_end(struct smtp_tx *tx);
/* True once the parser has read the empty line ending the section. */
bool smtp_header_ended(const struct smtp_tx *tx);
/* The header section went over SMTP_HEADER_MAX. */
bool smtp_header_too_big(const struct smtp_tx *tx);
/* The 554 5.4.6 reply (in buf) when the Received fields, with the one
 * Ferry adds, are more than max_hops; else NULL. */
const char *smtp_header_check_hops(struct smtp_session *s, char *buf,
    size_t size);

/* smtp_lookup.c: store requests of a session (callbacks on the loop,
 * never inline; the session keeps the handle in s->sreq and is busy). */
struct store_rule;
struct smtp_rcpt_lookup {
	enum resolve_status st;
	struct resolve_result targets;	/* RESOLVE_LOCAL; may be taken */
	bool over_quota;		/* every local target is full */
	struct store_rule *rules;	/* the recipient domain's rules */
	size_t nrules;
	uint64_t gen;			/* read under this store generation */
	bool gen_ok;			/* ... known to be still current */
	bool suspended;			/* the recipient's domain is suspended */
	struct sendlimit_result send;	/* authenticated: the recipient count */
};
typedef void smtp_rcpt_lookup_cb(struct smtp_session *s, const char *rcpt,
    struct smtp_rcpt_lookup *res);
/* Resolves rcpt (normalised; literal: an address literal, remote) and
 * reads what the RCPT reply needs. */
struct store_req *smtp_rcpt_lookup(struct smtp_session *s, const char *rcpt,
    bool literal, smtp_rcpt_lookup_cb *cb);
/* Whether the authenticated user owns every address (NULL entries: an
 * unreadable one, never owned).  cb gets 1, 0 (bad: the first address
 * not owned, NULL when unreadable) or -1 (store failure). */
typedef void smtp_owner_cb(struct smtp_session *s, int owned,
    const char *bad);
struct store_req *smtp_owner_check(struct smtp_session *s,
    char *const *addrs, size_t n, smtp_owner_cb *cb);

/* smtp_send.c: outbound abuse control (auth/sendlimit.h).  MAIL FROM
 * of an authenticated session: true when a check was started (the
 * session is busy; it goes on with smtp_mail_next() or refuses), false
 * when there is nothing to check. */
bool smtp_send_mail(struct smtp_session *s);
/* After the checks of MAIL FROM: the sender ownership check or the
 * policy (smtp_session.c). */
void smtp_mail_next(struct smtp_session *s);
/* RCPT: replies and returns true when res says to refuse (a suspended
 * domain, or the sender over a limit or on hold). */
bool smtp_send_rcpt_refused(struct smtp_session *s, const char *rcpt,
    const struct smtp_rcpt_lookup *res);
/* outbound_checks: an authenticated user's message that spamd marked
 * spam is held in the queue (env changed here) and counted towards the
 * automatic stop.  NULL when not; else the note goes with the commit:
 * _work() on its worker, _done() on the loop (logs and frees). */
struct smtp_send_note;
struct spool_env;
struct smtp_send_note *smtp_send_outbound(struct smtp_session *s,
    struct spool_env *env);
void smtp_send_outbound_work(struct smtp_send_note *n);
void smtp_send_outbound_done(struct smtp_send_note **np, const char *sid,
    const char *id, bool committed);
/* The 451 4.7.1 of a limit, logged with check=send_limit. */
void smtp_send_limit_reply(struct smtp_session *s, const char *stage,
    const char *user, const struct sendlimit_result *r);

/* smtp_cache.c: the answer cache.  Loop thread only.  It holds answers
 * that store requests brought back and drops them all when the store's
 * change counter (store_generation()) or the configuration snapshot
 * moves; sessions on an older snapshot bypass it.  The _put() calls take
 * the generation returned by smtp_cache_generation() before the request
 * was sent: an answer read while the store changed is not kept. */
struct smtp_cache;
struct smtp_cache *smtp_cache_new(void);
void smtp_cache_free(struct smtp_cache **scp);
/* The current generation for a session on c: 0, or -1 when nothing may
 * be cached (no counter, an older snapshot). */
int smtp_cache_generation(struct smtpd *srv, const struct conf *c,
    uint64_t *gen_r);
/* True when ip is known not to be banned (the connect check may be
 * skipped). */
bool smtp_cache_not_banned(struct smtpd *srv, const struct conf *c,
    const char *ip);
/* True when an answer read under generation gen is still current for a
 * session on c. */
bool smtp_cache_current(struct smtpd *srv, const struct conf *c,
    uint64_t gen);
/* The ban check said "not banned" for ip. */
void smtp_cache_ban_put(struct smtpd *srv, const struct conf *c,
    const char *ip, uint64_t gen);
/* 0 with a copy of the cached answer for rcpt in *res (the caller frees
 * res->targets and res->rules), or -1 when there is none. */
int smtp_cache_rcpt_get(struct smtpd *srv, const struct conf *c,
    const char *rcpt, bool literal, struct smtp_rcpt_lookup *res);
/* Keeps a copy of a lookup's answer when it depends on the store and
 * the configuration alone (no error, no mailbox with a quota). */
void smtp_cache_rcpt_put(struct smtpd *srv, const struct conf *c,
    const char *rcpt, bool literal, const struct smtp_rcpt_lookup *res,
    uint64_t gen);

/* smtp_srs.c: a recipient in a local domain whose local part is SRS0/
 * SRS1 (a bounce to an address Ferry made when forwarding).  0 when it
 * is not one (res untouched) or it was reversed (res now has one remote
 * target, the original sender); -1 when refused (550 queued, logged). */
int smtp_srs_rcpt(struct smtp_session *s, const char *rcpt,
    struct smtp_rcpt_lookup *res);

/* smtp_arc.c: ARC of mail from outside (docs/arc.md). */
/* At DATA, after smtp_authres_start: the verifier when arc_verify is on
 * and the client may not relay. */
void smtp_arc_start(struct smtp_session *s);
/* Decoded content, in order. */
void smtp_arc_feed(struct smtp_tx *tx, const void *data, size_t n);
/* True when ARC adds nothing to wait for: no verifier, or a header
 * without ARC sets and no seal to make. */
bool smtp_arc_quiet(const struct smtp_tx *tx);
/* True when the message will be sealed if its chain allows. */
bool smtp_arc_sealing(const struct smtp_tx *tx);
/* Appends "; arc=..." to an Authentication-Results value (nothing
 * without a verifier). */
void smtp_arc_ar(const struct smtp_tx *tx, struct fbuf *out);
/* Logs the chain's result (when there was a chain). */
void smtp_arc_log(struct smtp_session *s);
/* End of data: 1 when the keys are in (or none is needed), 0 when they
 * are being looked up (the session busy; cb follows on the loop).  The
 * chain is decided afterwards by arc_verifier_decide() (smtp_authres.c
 * does it on the role's pool) unless smtp_arc_undecided() says there is
 * nothing left to decide. */
int smtp_arc_finish(struct smtp_session *s,
    void (*cb)(struct smtp_session *s));
/* True when the chain still waits for arc_verifier_decide(). */
bool smtp_arc_undecided(const struct smtp_tx *tx);
/* The chain's result for DMARC's local policy, once decided (NULL: not
 * verified or not decided yet).  Lives as long as the transaction. */
const struct arc_result *smtp_arc_result(const struct smtp_tx *tx);
/* True when the chain passed and its newest set was sealed by a domain
 * in arc_trusted_sealers: DMARC may then apply its local-policy
 * override (RFC 7489 10, RFC 8617 7.2; docs/arc.md). */
bool smtp_arc_trusted_pass(const struct smtp_session *s);
/* At commit, on the loop: takes the verifier for sealing when the
 * message is forwarded and the alias domain has an rsa key; NULL when
 * there is nothing to seal. */
struct smtp_arc_seal *smtp_arc_seal_prepare(struct smtp_session *s);
/* On the worker: appends the new ARC set to out; 0 or -1. */
int smtp_arc_seal_run(struct smtp_arc_seal *j, struct fbuf *out);
/* On the loop: logs and frees. */
void smtp_arc_seal_done(struct smtp_session *s, const char *id,
    struct smtp_arc_seal **jp);

/* smtp_sender.c */
/* MAIL FROM of an authenticated session not owned (owned 0) or not
 * known (-1, the store failed): queues the 553 or 451 reply. */
void smtp_sender_mail_refused(struct smtp_session *s, int owned,
    const char *sender);
/* End of data: the From: header addresses (tx->from).  1 when there is
 * nothing to check, 0 when the ownership check is running (the session
 * busy; cb follows). */
int smtp_sender_check_header(struct smtp_session *s, smtp_owner_cb *cb);
/* The reply for a From: check that did not pass (logged). */
const char *smtp_sender_header_refused(struct smtp_session *s, int owned,
    const char *bad);

/* smtp_dmarc.c: DMARC and the forged hosted domain check of mail from
 * outside (docs/dmarc.md).  psl_load: the public suffix list, at start
 * (blocking, before the loop) or on reload (on the worker pool). */
void smtp_dmarc_psl_load(struct smtpd *srv, const struct conf *c,
    bool at_start);
/* At DATA: whether the message will be checked (tx->dmarc set). */
void smtp_dmarc_start(struct smtp_session *s);
void smtp_dmarc_free(struct smtp_dmarc **dp);
/* At the end of the content, with the key lookups: the From domain and
 * its policy lookup, which need no DKIM result (the evaluation waits for
 * both).  Nothing when already done or not checked. */
void smtp_dmarc_prefetch(struct smtp_session *s);
/* After DKIM: 1 when decided now, 0 when the session is busy until cb
 * (never inline).  Then smtp_dmarc_refusal() is the 550 reply to give,
 * or NULL, and smtp_dmarc_quarantine() whether to file it as spam. */
int smtp_dmarc_check(struct smtp_session *s,
    void (*cb)(struct smtp_session *s));
const char *smtp_dmarc_refusal(const struct smtp_tx *tx);
bool smtp_dmarc_quarantine(const struct smtp_tx *tx);
/* Appends ";\r\n\tdmarc=..." for Authentication-Results, if evaluated. */
void smtp_dmarc_ar(const struct smtp_tx *tx, struct fbuf *out);

/* smtp_dmarc_rows.c: the DMARC results for the aggregate reports,
 * written in batches on the store pool (one transaction per
 * SMTP_DMARC_ROWS_MAX rows or SMTP_DMARC_ROWS_DELAY seconds). */
#define SMTP_DMARC_ROWS_MAX 256
#define SMTP_DMARC_ROWS_DELAY 1
struct smtp_dmarc_rows *smtp_dmarc_rows_new(struct event_base *base,
    struct store_pool *stores);
/* Keeps a copy of r for the next batch. */
void smtp_dmarc_rows_add(struct smtp_dmarc_rows *b,
    const struct store_dmarc_row *r);
/* Submits the rows kept so far. */
void smtp_dmarc_rows_flush(struct smtp_dmarc_rows *b);
/* The process stops: the rows kept go now, each later row at once. */
void smtp_dmarc_rows_stop(struct smtp_dmarc_rows *b);
/* Rows still kept are lost (logged): stop first. */
void smtp_dmarc_rows_free(struct smtp_dmarc_rows **bp);

/* smtp_authres.c: DKIM verification and Authentication-Results of mail
 * from outside (RFC 6376, RFC 8601). */
/* At DATA/first BDAT: starts the verifier and the header hold when the
 * session is a stranger's and dkim_verify is on. */
void smtp_authres_start(struct smtp_session *s);
/* Content as it streams (called by smtp_tx_flush; hn: how many of the
 * n octets were header): writes it to the spool, holding back the header
 * section until it ends. */
void smtp_authres_write(struct smtp_tx *tx, const char *data, size_t n,
    size_t hn);
/* End of content: writes what is still held. */
void smtp_authres_release(struct smtp_tx *tx);
/* Verifies (asking DNS for keys) and fills tx->authres; then calls cb.
 * 1 when done at once (nothing to verify: cb not called), 0 when the
 * session waits (busy) for cb. */
int smtp_authres_finish(struct smtp_session *s,
    void (*cb)(struct smtp_session *s));
/* True when an Authentication-Results value names authserv_id (its
 * first token, case-blind). */
/* Rebuilds tx->authres (after DMARC decided), when it is written at the
 * end. */
void smtp_authres_update(struct smtp_tx *tx);
bool smtp_authres_is_ours(const char *value, size_t len,
    const char *authserv_id);

/* smtp_tx.c */
struct smtp_tx *smtp_tx_new(void);
void smtp_tx_free(struct smtp_tx **txp);
/* Opens the spool file and writes the Received header: 0 or -1 (errno). */
int smtp_tx_open(struct smtp_session *s);
/* Appends to the spool file unless the transaction failed already. */
void smtp_tx_write(struct smtp_tx *tx, const char *data, size_t n);
/* Writes the decoded bytes in tx->out to the spool writer. */
void smtp_tx_flush(struct smtp_tx *tx, uint64_t limit);
/* End of content: checks, then commits on a worker thread and answers
 * when done (the session is busy meanwhile). */
void smtp_tx_finish(struct smtp_session *s);

#endif
