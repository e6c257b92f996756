/* Remote delivery: the queue role hands a message's due remote
 * recipients to the relay, which groups them by destination domain,
 * chooses where to connect (routes, MX hosts, fallback_relay), speaks
 * SMTP over bufferevents on the role's loop and reports one result per
 * recipient.  No threads and no blocking: DNS is asynchronous, content
 * is streamed from the spool file in chunks.  The relay never touches
 * envelopes; the queue persists the results. */
#ifndef FERRY_RELAY_H
#define FERRY_RELAY_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

struct conf;
struct dns;
struct event_base;
struct relay;
struct workpool;

enum relay_status {
	RELAY_WAIT = 0,		/* not finished yet */
	RELAY_SENT,		/* accepted by the peer */
	RELAY_TEMP,		/* temporary failure: retry later */
	RELAY_PERM,		/* permanent failure: bounce */
	RELAY_BUSY		/* not attempted (destination backlog full) */
};

#define RELAY_ERROR_MAX 512
#define RELAY_REACH_MAX 160

/* Mailbox homing (queue/queue_home.h): a recipient whose domain lives
 * on another node goes to that node's SMTP address, connecting from this
 * node's own address, never by the domain's routes, MX or the fallback
 * relay. */
struct relay_via {
	char node[64];			/* the home node's name */
	char host[46];			/* its SMTP address: IP literal */
	unsigned port;
	char source[46];		/* connect from here ("" any) */
};

struct relay_rcpt {
	const char *addr;		/* borrowed: lives until the msg is done */
	const struct relay_via *via;	/* borrowed; NULL: by its domain */
	enum relay_status status;	/* out */
	/* out: the spool's last_error form (bounce.h bounce_parse_diag):
	 * "mx1.example.net [192.0.2.1]: 550 5.1.1 <b@x>: no user" */
	char error[RELAY_ERROR_MAX];
	/* out, for the delivery history: where it was tried ("host
	 * [ip]:port", "" when nowhere), the path ("direct", "route",
	 * "fallback_relay"), the TLS used ("" none) and what the
	 * reachability memory decided ("" nothing). */
	char peer[320];
	char route[16];
	char tls[96];
	char reach[RELAY_REACH_MAX];
};

struct relay_msg;
/* Called on the loop (never inline from relay_submit) each time some
 * recipients of m got their result; m->done is set on the last call,
 * after which the relay no longer touches m. */
typedef void relay_msg_cb(struct relay_msg *m, void *ctx);

struct relay_msg {
	char id[IDS_LEN + 1];
	char path[PATH_MAX];		/* the spool content file */
	const char *sender;		/* borrowed; "" = null sender */
	uint64_t size;
	bool eightbit;			/* content has octets >= 0x80 */
	bool smtputf8;			/* an address needs SMTPUTF8 */
	struct relay_rcpt *rcpts;
	size_t nrcpts;
	relay_msg_cb *cb;
	void *ctx;
	bool done;			/* out */
	unsigned pending;		/* relay-internal: deliveries left */
	struct relay_msg *report_next;	/* relay-internal */
	bool report_queued;		/* relay-internal */
};

/* One relay per queue role, on its loop; dns and pool (which writes the
 * reachability memory to state_dir; NULL: written on the loop) are
 * borrowed and must outlive the relay.  The relay holds a reference to
 * conf (conf.h), which its connections read.  The reachability memory
 * is loaded here.  0 or -1. */
int relay_create(struct relay **rp, struct event_base *base,
    const struct conf *conf, struct dns *dns, struct workpool *pool,
    const char **error_r);
/* Closes every connection; pending messages get no more callbacks. */
void relay_free(struct relay **rp);
/* A reload: the relay's reference moves to conf; its concurrency limits
 * apply at once, timeouts to the next step of each connection, routes
 * and TLS policy to destinations as they next start connecting. */
void relay_set_conf(struct relay *r, const struct conf *conf);
/* Starts delivering m's recipients (all with status RELAY_WAIT).  m and
 * what it points to must stay valid until the callback with m->done. */
void relay_submit(struct relay *r, struct relay_msg *m);
/* Messages submitted and not done (for the queue's admission limit). */
unsigned relay_pending(const struct relay *r);

/* Pure helpers, exported for unit tests. */

/* The domain of an address ("" when none), lower-cased, into dst. */
void relay_addr_domain(const char *addr, char *dst, size_t size);
/* True when s has an octet >= 0x80. */
bool relay_has_8bit(const char *s);

#endif
