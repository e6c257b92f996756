/* Inside the relay module: destinations, deliveries, candidate hosts,
 * the reachability memory and the client sessions.  Ownership: the relay
 * owns its destinations; a destination owns its queued deliveries and
 * its cached host list; a session owns the delivery it is working on
 * and its connection.  Everything runs on the queue role's loop. */
#ifndef FERRY_RELAY_PRIVATE_H
#define FERRY_RELAY_PRIVATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "net/reach.h"
#include "relay/relay.h"

struct bufferevent;
struct conf_route;
struct dns_query;
struct event;
typedef struct ssl_ctx_st SSL_CTX;

#define RELAY_DEST_BUCKETS 1024
#define RELAY_MEM_BUCKETS 1024
#define RELAY_MAX_RCPTS 100		/* per transaction (RFC 5321 4.5.3.1.8) */
#define RELAY_MAX_HOSTS 16		/* MX hosts looked at per destination */
#define RELAY_MAX_ADDRS 64		/* addresses tried per session */
#define RELAY_HOSTS_TTL 60		/* seconds a host list is reused */
#define RELAY_DEST_BACKLOG 20000	/* queued deliveries per destination */

/* One address to try: the MX host it belongs to and its preference. */
struct relay_addr {
	char host[256];
	uint16_t pref;
	struct sockaddr_storage sa;	/* port filled in */
	socklen_t salen;
};

/* Where a session goes: a route (or the fallback relay), or MX hosts of
 * the domain when host is the domain and mx is true. */
struct relay_target {
	char host[256];
	unsigned port;
	bool mx;			/* look up MX records of host */
	bool route;			/* a configured relay: DNS errors are
					 * never permanent (a typo must not
					 * bounce everyone's mail) */
	int tls;			/* enum conf_tls_mode, resolved */
	char auth_file[PATH_MAX];	/* "" = no AUTH */
	bool mx_routes;			/* route_mx may apply once the MX
					 * hosts are known (relay_mx.c) */
	char route_mx[256];		/* the route_mx rule that chose this
					 * route ("" when none), for logs */
	char fb_host[256];		/* the route's own fallback ("": none,
					 * fallback_relay applies) */
	unsigned fb_port;
	bool fb_no_mx;
	char source[46];		/* bind to this address ("" none) */
};

/* Where a destination's mail goes, as resolved: a list of addresses in
 * preference order (equal preferences not shuffled yet), or the reason
 * there is none (status RELAY_TEMP / RELAY_PERM with error). */
struct relay_hosts {
	enum relay_status status;
	char error[RELAY_ERROR_MAX];
	struct relay_addr *v;
	size_t n;
	bool routed;			/* a route chosen after the MX lookup
					 * (route_mx, or the "*" route) */
	struct relay_target target;	/* then: where v leads */
};

/* A resolution in progress (relay_mx.c). */
struct relay_mx;
typedef void relay_mx_cb(struct relay_hosts *h, void *ctx);

struct relay_deliv {
	TAILQ_ENTRY(relay_deliv) link;
	struct relay_msg *msg;
	size_t *rcpts;			/* indices into msg->rcpts */
	size_t n;
	char peer[320];			/* for logs: where it was tried */
	bool via_fallback;
	bool route;			/* to a configured relay (metrics) */
	bool route_fb;			/* via the route's own fallback */
	char route_mx[256];		/* the route_mx rule that applied */
	char tls[96];			/* "TLSv1.3 CIPHER" or "" */
	char reach[RELAY_REACH_MAX];	/* what the memory decided, or "" */
};
TAILQ_HEAD(relay_deliv_list, relay_deliv);

struct relay_session;
TAILQ_HEAD(relay_session_list, relay_session);

struct relay_dest {
	struct relay_dest *hnext;
	TAILQ_ENTRY(relay_dest) ready;	/* on r->ready when in_ready */
	bool in_ready;
	char domain[256];		/* or "node NAME IP:PORT" (homed) */
	bool homed;			/* to a home node: target is fixed */
	struct relay_target target;
	struct relay_deliv_list queue;
	unsigned nqueued, active;
	struct relay_hosts *hosts;	/* cache, NULL when none */
	time_t hosts_until;
	struct relay_mx *lookup;	/* resolution in progress */
	struct relay_session_list waiting;	/* sessions waiting for hosts */
	struct relay_session_list idle;	/* connected, no work: reusable */
	time_t idle_since;
};

struct relay_mem {
	struct relay_mem *next;
	struct reach_entry e;		/* e.key: "ip:port" */
	bool probing;			/* a probe is under way */
};

struct relay_mem_writer;
struct relay_mem_job;
struct relay_probe;
TAILQ_HEAD(relay_probe_list, relay_probe);
struct relay_dial;
TAILQ_HEAD(relay_dial_list, relay_dial);
struct workpool;

struct relay {
	struct event_base *base;
	const struct conf *conf;
	struct dns *dns;
	SSL_CTX *tls_any, *tls_verify;
	struct relay_dest *dests[RELAY_DEST_BUCKETS];
	TAILQ_HEAD(, relay_dest) ready;
	struct relay_session_list sessions;
	unsigned active, max_active, per_dest, msgs;
	struct relay_mem *mem[RELAY_MEM_BUCKETS];
	unsigned nmem;
	unsigned up_gen;		/* counts addresses coming back */
	struct workpool *pool;		/* borrowed; NULL: save inline */
	struct relay_mem_writer *mem_writer;
	struct relay_mem_job *mem_job;	/* save under way */
	struct event *mem_save_ev;
	uint64_t mem_gen;
	bool mem_dirty;
	struct relay_dial_list dials;	/* attempts left alone */
	struct relay_probe_list probes;
	unsigned nprobes;
	struct event *probe_ev;
	struct relay_msg *reports;	/* messages with news */
	struct event *report_ev, *prune_ev, *kick_ev;
};

/* relay.c */
/* snprintf that truncates silently: peer text is cut, never refused. */
void relay_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void relay_deliv_finish(struct relay *r, struct relay_deliv *d);
void relay_deliv_fail(struct relay *r, struct relay_deliv *d,
    enum relay_status st, const char *error);
/* Hands new work to a connected session parked on dst (relay_client.c):
 * true when one was woken. */
bool relay_session_wake_idle(struct relay_dest *dst);
struct relay_deliv *relay_dest_take(struct relay *r, struct relay_dest *dst);
void relay_dest_fail_queued(struct relay *r, struct relay_dest *dst,
    enum relay_status st, const char *error);
void relay_session_ended(struct relay *r, struct relay_dest *dst);
void relay_hosts_get(struct relay *r, struct relay_dest *dst,
    struct relay_session *s);
void relay_hosts_free(struct relay_hosts **hp);
int relay_target_for(const struct conf *c, const struct conf_route *rt,
    const char *domain, struct relay_target *t);
/* A destination domain's target: its route (a "*" route waits for the
 * route_mx rules when there are any), or its MX hosts. */
void relay_target_dest(const struct conf *c, const char *domain,
    struct relay_target *t);
/* The fallback of a session on target t: the route's own, else
 * fallback_relay; false when there is none. */
bool relay_target_fallback(const struct conf *c, const struct relay_target *t,
    const char *domain, struct relay_target *fb);

/* relay_mem.c: reachability memory, keyed by address and port. */
void relay_mem_key(const struct sockaddr *sa, char *dst, size_t size);
/* Loads state_dir/reachability and prepares saving: 0 or -1. */
int relay_mem_open(struct relay *r, const char **error_r);
struct relay_mem *relay_mem_find(struct relay *r, const char *key,
    bool create);
/* The entry for key, NULL when none; valid until the next change. */
const struct reach_entry *relay_mem_get(struct relay *r, const char *key);
bool relay_mem_down(struct relay *r, const char *key, time_t now);
bool relay_mem_tls_broken(struct relay *r, const char *key, time_t now);
/* A connection-level failure (why: REACH_CONNECT_TIMEOUT ...
 * REACH_GREETING_4XX): the address is down. */
void relay_mem_set_down(struct relay *r, const char *key,
    enum reach_fail why, time_t now);
/* A greeting came (by: "delivery" or "probe"): up again if down. */
void relay_mem_set_up(struct relay *r, const char *key, const char *by,
    time_t now);
void relay_mem_set_tls_broken(struct relay *r, const char *key,
    enum reach_fail why, time_t now);
/* A TLS handshake with the address succeeded (by: "delivery" or
 * "probe"): no longer TLS-broken. */
void relay_mem_tls_ok(struct relay *r, const char *key, const char *by);
/* Something changed: a save is scheduled (coalesced). */
void relay_mem_changed(struct relay *r);
void relay_mem_prune(struct relay *r, time_t now);
/* Writes what is unsaved (the loop is ending), then forgets all. */
void relay_mem_free(struct relay *r);

/* relay_probe.c: background probes of down addresses. */
void relay_probe_start(struct relay *r);
void relay_probe_stop(struct relay *r);
/* Seconds until the probe after n failed ones. */
uint64_t relay_probe_delay(const struct relay *r, unsigned n);

/* relay_mx.c */
struct relay_mx *relay_mx_start(struct relay *r, const struct relay_target *t,
    relay_mx_cb *cb, void *ctx);
void relay_mx_abort(struct relay_mx **mp);
/* Orders a copy of h for one session: equal preferences shuffled,
 * TLS-broken addresses after the others of their preference (tls=may
 * speaks plaintext there), remembered-down addresses (and, when tls_required, TLS-broken ones)
 * last, or left out when skip_dead (counted in *skipped_r).  The caller
 * frees v. */
void relay_mx_order(struct relay *r, const struct relay_hosts *h,
    bool tls_required, bool skip_dead, struct relay_addr **v_r,
    size_t *n_r, size_t *skipped_r);

/* relay_client.c */
void relay_session_start(struct relay *r, struct relay_dest *dst,
    struct relay_deliv *d);
/* Called by relay_hosts_get when the host list is known. */
void relay_session_hosts(struct relay_session *s, struct relay_hosts *h);
void relay_session_free(struct relay_session **sp);
/* Closes the connection attempts that sessions left alone. */
void relay_dials_free(struct relay *r);

/* relay_reply.c: reply and EHLO parsing, no I/O. */
struct relay_reply {
	int code;			/* of the first line (0 before it) */
	char text[RELAY_ERROR_MAX];	/* lines joined by " ", code kept once */
	unsigned nlines;
};

#define RELAY_EXT_PIPELINING 0x01
#define RELAY_EXT_SIZE 0x02
#define RELAY_EXT_8BITMIME 0x04
#define RELAY_EXT_SMTPUTF8 0x08
#define RELAY_EXT_CHUNKING 0x10
#define RELAY_EXT_STARTTLS 0x20
#define RELAY_EXT_AUTH_PLAIN 0x40
#define RELAY_EXT_AUTH_LOGIN 0x80

/* Feeds one reply line (without CRLF).  1 when the reply is complete,
 * 0 when more lines follow, -1 for a malformed line.  Reset rp (zero it)
 * before the first line of each reply. */
int relay_reply_line(struct relay_reply *rp, const char *line, size_t len,
    unsigned *ext, uint64_t *size_max);

/* relay_client.c: one connection attempt of a session.  A session dials
 * its candidates staggered (relay_client.c, "dialling"): several may be
 * in flight at once, the first to connect becomes the session's
 * connection; the others are left to finish alone (s NULL, on
 * r->dials), only so that their failures reach the memory. */
struct relay_dial {
	TAILQ_ENTRY(relay_dial) link;
	struct relay *r;
	struct relay_session *s;	/* NULL once left alone */
	struct bufferevent *bev;
	struct event *timer;		/* timeout_connect */
	size_t idx;			/* into s->cands */
	bool opens_round;		/* the round's first dial: its timeout
					 * is the round's deadline */
	char key[64];			/* "192.0.2.1:25" */
	char peer[320];			/* for logs */
};

/* What became of each candidate address in this session. */
enum relay_cand_state {
	RELAY_CAND_NEW,			/* not dialled (or dial abandoned) */
	RELAY_CAND_DIALLING,
	RELAY_CAND_DONE			/* failed, or the connection */
};

/* relay_client.c: one outbound SMTP connection, reused for every
 * delivery queued on its destination. */
struct relay_session {
	TAILQ_ENTRY(relay_session) link;	/* r->sessions */
	TAILQ_ENTRY(relay_session) wlink;	/* dst->waiting */
	bool waiting;
	TAILQ_ENTRY(relay_session) ilink;	/* dst->idle */
	bool idle;
	struct relay *r;
	struct relay_dest *dst;
	struct relay_deliv *d;		/* the delivery in hand */
	struct relay_target target;	/* dst->target or the fallback */
	struct relay_mx *fallback_mx;
	struct relay_addr *cands;
	unsigned char *cstate;		/* enum relay_cand_state per cand */
	size_t ncands, cur;		/* cur: the connected candidate */
	struct relay_dial_list dials;	/* attempts in flight (CONNECT) */
	unsigned ndials;
	uint64_t dial_t0_us;		/* CLOCK_MONOTONIC: the first dial of
					 * the current round (relay_dial_more) */
	bool via_fallback, all_conn_level, no_tls, tls_active;
	bool route_fb;			/* the fallback is the route's own */
	unsigned up_gen;		/* r->up_gen when the fallback began */
	bool need_rset, data_piped, bdat, bol;
	unsigned skip;			/* replies to ignore (RSET, ".") */
	int state;
	struct bufferevent *bev;
	struct event *timer;
	struct relay_reply reply;
	unsigned ext;
	uint64_t size_max;
	char peer[320];			/* "mx1.example.net [192.0.2.1]:25" */
	char key[64];			/* "192.0.2.1:25" */
	char lasterr[RELAY_ERROR_MAX];
	char tls_desc[96];
	char reach[RELAY_REACH_MAX];	/* what the memory decided, or "" */
	size_t nsent, nreplied, naccepted;
	struct relay_reply mail_reply, data_reply;
	int fd;				/* content being sent */
	uint64_t content_size;
	char tail[2];			/* last two octets sent of content */
	unsigned auth_step;
	bool *alive_r;			/* cleared when the session is freed */
};

#endif
