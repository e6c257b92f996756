/* The server side of every TCP protocol (smtp, pop3, imap): the listening
 * sockets inherited from the supervisor, accepting, the connection limits
 * (max_connections, max_connections_per_ip, via conncount.h), the list of
 * live sessions, and draining on stop.  Written once here so each
 * protocol only supplies what is its own: the refusal line, an optional
 * admission check (bans), creating the session and ending it.
 *
 * How a protocol uses it (pop3d.c and smtpd.c do exactly this; imapd
 * does the same with kinds "imap" and "imaps"):
 *
 *   1. Embed a `struct listener_session` in its session struct and point
 *      its `owner` at the session (listener_session_init()).
 *   2. listener_set_create() with a `struct listener_ops` and a context
 *      (the protocol server), then listener_set_adopt() with a table of
 *      the supervisor's listener kinds it serves, each with the
 *      protocol's own kind value and whether it is implicit TLS.
 *      Implicit-TLS kinds are skipped (and logged) when the server has
 *      no certificate.  listener_set_limits() sets the limits (again on
 *      every reload).
 *   3. ops.accept gets each connection that passed the limits and
 *      ops.admit: a `struct listener_conn` with the socket (non-blocking,
 *      TCP_NODELAY set), the peer address (binary and as text), the kind
 *      and whether the listener is implicit TLS.  It owns fd from then
 *      on: it returns its session's listener_session (linked into the set
 *      and counted by the listener), or NULL after closing fd.  For TLS,
 *      listener_bufferevent() wraps the socket (TLS or plain) in a
 *      bufferevent ready for the session.
 *   4. When a session ends (for good: no callback of it will run again on
 *      the set) the protocol calls listener_session_gone() exactly once,
 *      before it frees the session; the session may live on after that
 *      while a worker job finishes, it just no longer counts.
 *   5. listener_set_stop(): no more accepts, ops.shutdown() for every live
 *      session (which ends it now, or after its pending work), and
 *      ops.idle() once the last session is gone (at once when none is
 *      open).  listener_set_free() drops sessions still open without
 *      callbacks: the protocol frees those itself first (listener_set_first
 *      walks them).
 *
 * Everything runs on the role's event loop thread. */
#ifndef FERRY_LISTENER_H
#define FERRY_LISTENER_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "net/conncount.h"

struct bufferevent;
struct event_base;
struct ferry_listener;
struct listener_set;
struct metrics_listener;
struct tls_server;

/* A live session, as the listener knows it (embedded in the protocol's). */
struct listener_session {
	struct listener_session *prev, *next;
	void *owner;			/* the protocol's session */
	char addr[CONNCOUNT_ADDR_LEN];	/* counted under this address */
	struct metrics_listener *metrics;	/* its listener's counters */
	bool linked;
};

/* An accepted connection, valid during the callback it is passed to. */
struct listener_conn {
	int fd;
	const struct sockaddr *sa;
	socklen_t salen;
	const char *addr;		/* sa as text (cidr_addr_str) */
	int kind;			/* the protocol's value (listener_kind) */
	bool tls;			/* implicit TLS: handshake first */
};

/* One supervisor listener kind a protocol serves. */
struct listener_kind {
	const char *name;		/* "smtp", "pop3s", "imap", ... */
	int kind;			/* handed back in listener_conn.kind */
	bool tls;			/* implicit TLS (needs a certificate) */
};

struct listener_ops {
	/* The line (CRLF included) sent to a connection refused for a
	 * limit; why is "max_connections" or "max_connections_per_ip".
	 * Not called on implicit-TLS listeners (nothing is sent there). */
	const char *(*busy_reply)(void *ctx, const struct listener_conn *c,
	    const char *why, char *buf, size_t size);
	/* Optional: false when the connection is refused (the callee has
	 * closed fd, normally with listener_refuse()). */
	bool (*admit)(void *ctx, const struct listener_conn *c);
	/* Creates the session (see above). */
	struct listener_session *(*accept)(void *ctx,
	    const struct listener_conn *c);
	/* listener_set_stop(): ends one session (now or when its pending
	 * work is done).  It may call listener_session_gone() at once. */
	void (*shutdown)(void *owner);
	/* Optional: the set is stopping and its last session is gone. */
	void (*idle)(void *ctx);
};

/* proto names the protocol in logs ("smtp", "pop3", "imap"). */
struct listener_set *listener_set_create(struct event_base *base,
    const char *proto, const struct listener_ops *ops, void *ctx);
/* Serves each inherited listener whose kind is in kinds; implicit-TLS
 * ones only when have_tls.  Returns how many it serves; a listener that
 * cannot be watched is fatal (as a role set-up failure). */
size_t listener_set_adopt(struct listener_set *set,
    const struct ferry_listener *v, size_t n,
    const struct listener_kind *kinds, size_t nkinds, bool have_tls);
void listener_set_limits(struct listener_set *set, unsigned max_total,
    unsigned max_per_ip);
/* Connections from the nodes' hosts (net/nodepeer.h) are held to
 * max_total only: one carries many clients (a front node's proxied
 * logins, a peer's relayed mail).  peers (NULL: none) must outlive set. */
struct nodepeers;
void listener_set_peers(struct listener_set *set,
    const struct nodepeers *peers);
unsigned listener_set_count(const struct listener_set *set);
size_t listener_set_nlisteners(const struct listener_set *set);
bool listener_set_stopping(const struct listener_set *set);
/* The live sessions: first, then ->next; NULL at the end. */
struct listener_session *listener_set_first(const struct listener_set *set);
void listener_set_stop(struct listener_set *set);
void listener_set_free(struct listener_set **setp);

void listener_session_init(struct listener_session *ls, void *owner);
/* The session no longer counts; ops.idle when it was the last one after
 * a stop.  Safe to call twice (the second call does nothing). */
void listener_session_gone(struct listener_set *set,
    struct listener_session *ls);

/* Refuses a connection: reply (NULL: none) sent without waiting, fd
 * closed, "- <proto> refused address=<addr> reason=<why>" logged. */
void listener_refuse(const struct listener_set *set,
    const struct listener_conn *c, const char *reply, const char *why);

/* A bufferevent over an accepted socket, closed with it: plain, or (tls
 * non-NULL) a TLS server handshake on it.  NULL with fd closed when TLS
 * cannot start. */
struct bufferevent *listener_bufferevent(struct event_base *base, int fd,
    struct tls_server *tls);

#endif
