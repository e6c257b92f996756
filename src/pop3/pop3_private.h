/* Shared between the POP3 files (pop3d.c: listeners, limits, in-use set;
 * pop3_session.c: I/O edge, state machine and command table;
 * pop3_cmd_auth.c: CAPA, STLS, USER/PASS, AUTH and the login job;
 * pop3_cmd_mail.c: the TRANSACTION commands and the UPDATE job).  Not
 * for use outside src/pop3/. */
#ifndef FERRY_POP3_PRIVATE_H
#define FERRY_POP3_PRIVATE_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "mailbox/uidlist.h"
#include "net/listener.h"
#include "net/session_io.h"
#include "pop3/pop3_parser.h"

struct store_req;
struct bufferevent;
struct mailproxy;
struct nodepeer_home;
struct tls_server;

#define POP3_MAX_ERRORS 10		/* protocol errors before closing */
#define POP3_MAX_AUTH_FAILURES 3	/* per session */
#define POP3_LOCK_FILE "ferry-pop3.lock"

struct pop3d {
	struct ferry_env *env;		/* env->conf: the current snapshot */
	struct tls_server *tls;		/* NULL: no certificate configured */
	struct listener_set *lset;
	struct nodepeers *peers;	/* the nodes' hosts (net/nodepeer.h) */	/* listeners, limits, sessions */
	bool stopping;
	void (*idle)(void *);
	void *idle_arg;
};

enum pop3_state {
	POP3_STATE_AUTH,	/* AUTHORIZATION */
	POP3_STATE_TRANS,	/* TRANSACTION: the maildrop is ours */
	POP3_STATE_UPDATE,	/* QUIT given: committing the changes */
	POP3_STATE_QUIT		/* closing once the replies are out */
};

#define POP3_MF_DELETED 0x01
#define POP3_MF_SEEN 0x02	/* retrieved whole (RETR) */
#define POP3_MF_LEGACY 0x04	/* UIDL is the base name (legacy_uidl.h) */

struct pop3_session {
	struct listener_session link;	/* in srv->lset */
	struct session_io_drain drain;	/* closing after STLS */
	struct pop3d *srv;
	/* The configuration the session started with (a reference), also
	 * read by its login job on a worker thread. */
	const struct conf *conf;
	struct session_io_pace pace;	/* slow peers: per-command limit */
	struct bufferevent *bev;
	char id[IDS_LEN + 1];
	struct sockaddr_storage peer;	/* the client (XCLIENT from a node or
					 * a trusted proxy may change it) */
	struct sockaddr_storage conn_peer;	/* the connection's peer */
	bool proxied;			/* peer came from XCLIENT */
	char addr[64];
	enum pop3_state state;
	bool tls;			/* TLS is up (pop3s, or after STLS) */
	bool busy;			/* a worker job is pending */
	bool dead;			/* gone while busy: free when it reports */
	int gone;			/* dead, for workers (atomic): a login
					 * job not started yet is skipped */
	struct session_io_hup hup;	/* peer close during a login job */
	struct store_req *sreq;		/* a pending store request */
	bool skip_line;			/* discarding an overlong line */
	bool sasl_wait;			/* AUTH PLAIN: the response line is next */
	bool have_user;
	unsigned errors;
	unsigned auth_failures;
	char user[POP3_ARG_MAX + 1];	/* USER argument, as sent */
	char address[320];		/* logged-in address */
	char mailbox[PATH_MAX];		/* claimed Maildir ("" = none) */
	int lock_fd;			/* flock()ed POP3_LOCK_FILE, or -1 */
	struct uidlist mbox;		/* the session's snapshot */
	uint8_t *flags;			/* POP3_MF_* per message */
	size_t ndeleted;
	uint64_t deleted_octets;
	unsigned retrieved;
	int stream_fd;			/* RETR/TOP being sent, or -1 */
	struct pop3_stuff stuff;
	struct fbuf out;		/* replies and body not yet written */
	/* the login proxied to the user's home node (pop3_proxy.c) */
	struct mailproxy *proxy;
	char proxy_node[64];
};

/* pop3d.c */
void pop3d_session_gone(struct pop3d *d, struct pop3_session *s);
/* True when another live session holds the Maildir at path. */
bool pop3d_mailbox_in_use(struct pop3d *d, const char *path);

/* pop3_session.c */
struct pop3_session *pop3_session_new(struct pop3d *d, int fd,
    const struct sockaddr *sa, socklen_t salen, bool tls);
void pop3_session_reply(struct pop3_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Counts a protocol error; past POP3_MAX_ERRORS the session closes. */
void pop3_session_error(struct pop3_session *s);
void pop3_session_close(struct pop3_session *s);
void pop3_session_shutdown(struct pop3_session *s, const char *text);
/* A worker job is about to start / has reported. */
void pop3_session_suspend(struct pop3_session *s);
void pop3_session_resume(struct pop3_session *s);
/* While a login job is pending: a peer that closes ends the session at
 * once (its job skipped if not started, its result dropped); resume
 * stops the watch. */
void pop3_session_watch_hup(struct pop3_session *s);
void pop3_session_enter_state(struct pop3_session *s, enum pop3_state st);
/* Replaces the connection by a TLS filter over it (STLS). */
void pop3_session_starttls(struct pop3_session *s);
void pop3_session_free(struct pop3_session **sp);
/* Writes what is in s->out now. */
void pop3_session_flush(struct pop3_session *s);
/* Ends the session once its last output is written (logs, leaves the
 * listener set, frees). */
void pop3_session_end(struct pop3_session *s);

/* pop3_proxy.c: a login proxied to the home node (net/mailproxy.h).
 * The session stays busy until the home node answers, then says +OK
 * and relays, or -ERR [SYS/TEMP] and goes on here. */
void pop3_proxy_start(struct pop3_session *s, const char *user,
    const char *password, const struct nodepeer_home *home);
/* The server stops: a relaying session ends now (true), else false. */
bool pop3_proxy_shutdown(struct pop3_session *s);

/* pop3_cmd_auth.c */
bool pop3_plaintext_ok(const struct pop3_session *s);
void pop3_cmd_capa(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_user(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_apop(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_xclient(struct pop3_session *s, struct pop3_command *cmd);
/* The line after "+ " in AUTH PLAIN (without CRLF). */
void pop3_auth_response(struct pop3_session *s, const char *line, size_t len);

/* pop3_cmd_mail.c */
void pop3_cmd_stat(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_retr(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_noop(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, struct pop3_command *cmd);
void pop3_cmd_quit(struct pop3_session *s, struct pop3_command *cmd);
/* Sends up to one chunk of the message being retrieved. */
void pop3_stream_pump(struct pop3_session *s);
void pop3_stream_close(struct pop3_session *s);

#endif
