/* IMAP and POP3 logins proxied to the user's home node (mailbox homing,
 * issue 15).  The front node has verified the password itself; the
 * proxy then connects to the home node's IMAP or POP3 address from this
 * node's own address (the home node knows its peers by address), reads
 * the greeting, upgrades with STARTTLS/STLS when the home offers it,
 * names the client (IMAP ID x-originating-ip, POP3 XCLIENT ADDR=, which
 * the home accepts from node addresses only), logs in with AUTHENTICATE PLAIN / AUTH PLAIN
 * with the client's verified credentials, and reports.  After that,
 * mailproxy_relay() copies octets both ways until either side closes,
 * reading from a side only while the other side's output is below a
 * high-watermark.  Everything runs on the caller's event loop; every
 * step of the login has a timeout.  Callbacks never run inline. */
#ifndef FERRY_MAILPROXY_H
#define FERRY_MAILPROXY_H
#include <stdbool.h>
#include <stdint.h>

#include "net/nodeaddr.h"

struct bufferevent;
struct event_base;
struct mailproxy;

enum mailproxy_proto {
	MAILPROXY_IMAP,
	MAILPROXY_POP3
};

struct mailproxy_params {
	enum mailproxy_proto proto;
	const char *session_id;		/* for logs */
	const char *node;		/* the home node's name */
	const struct nodeaddr *addr;	/* its IMAP or POP3 address */
	const char *source;		/* bind to this host first; "" none */
	const char *user;		/* canonical address */
	const char *password;		/* copied; wiped once sent */
	const char *client_ip;		/* named to the home node (IMAP ID,
					 * POP3 XCLIENT); "" not named */
	unsigned timeout;		/* seconds: connect, and each reply */
};

/* Login result: ok true when the home node took the login; then caps is
 * the IMAP capability list it announced with it ("" when none; always
 * "" for POP3).  Otherwise why says what failed (for logs: "connect
 * refused", "timeout", "home refused: ..."). */
typedef void mailproxy_login_cb(bool ok, const char *caps, const char *why,
    void *ctx);
/* Why the relay ended ("client closed", "home closed", "shutdown"...) and
 * the octets copied each way. */
typedef void mailproxy_end_cb(const char *why, uint64_t to_home,
    uint64_t to_client, void *ctx);

/* Starts connecting and logging in; cb runs once unless freed first. */
struct mailproxy *mailproxy_start(struct event_base *base,
    const struct mailproxy_params *p, mailproxy_login_cb *cb, void *ctx);
/* After a successful login: relays between client (the session's
 * bufferevent, whose callbacks, watermarks and timeouts are taken over;
 * the caller still owns and frees it) and the home node.  Octets already
 * in client's input buffer go to the home node first.  idle_timeout
 * (seconds) bounds writes to a side that does not read.  cb runs once,
 * when either side closes or fails; the caller then frees both. */
void mailproxy_relay(struct mailproxy *m, struct bufferevent *client,
    unsigned idle_timeout, mailproxy_end_cb *cb, void *ctx);
/* True once mailproxy_relay() was called. */
bool mailproxy_relaying(const struct mailproxy *m);
/* Closes the connection to the home node; no callback runs after. */
void mailproxy_free(struct mailproxy **mp);

#endif
