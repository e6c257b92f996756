/* A bounded diagnostic probe of one SMTP server address, for `ferry
 * check mx`: connect, wait for the greeting, EHLO, STARTTLS and the TLS
 * handshake (certificate names, expiry, whether the name matches the MX
 * host), then QUIT.  Each phase has its own deadline; a greeting that
 * comes later than the tarpit bound is told apart from one that never
 * comes.  Non-blocking on the caller's libevent loop; it never sends
 * mail (no MAIL FROM).  The reply parser has no I/O (unit-tested,
 * fuzzed). */
#ifndef FERRY_OPS_PROBE_H
#define FERRY_OPS_PROBE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct event_base;
struct ops_probe;
typedef struct ssl_ctx_st SSL_CTX;

/* Best first: a host's verdict is the best of its addresses'. */
enum ops_probe_verdict {
	OPS_PROBE_ANSWERS = 0,		/* 2xx greeting; TLS fine or absent */
	OPS_PROBE_TARPITS,		/* 2xx greeting, later than the bound */
	OPS_PROBE_TLS_FAILS,		/* handshake failed */
	OPS_PROBE_TLS_HANGS,		/* handshake did not end in time */
	OPS_PROBE_BUSY,			/* 4xx greeting */
	OPS_PROBE_REJECTS,		/* 5xx greeting */
	OPS_PROBE_NO_GREETING,		/* accepted, never greeted */
	OPS_PROBE_CLOSED,		/* closed before the greeting */
	OPS_PROBE_TIMES_OUT,		/* connect timed out */
	OPS_PROBE_REFUSED,		/* connect refused */
	OPS_PROBE_UNREACHABLE,		/* no route, reset, other errors */
	OPS_PROBE_VERDICTS
};

#define OPS_PROBE_TEXT_MAX 256
#define OPS_PROBE_CAPS_MAX 24
#define OPS_PROBE_CAP_MAX 64
#define OPS_PROBE_NAMES_MAX 16

struct ops_probe_opts {
	unsigned port;
	const char *helo;		/* our EHLO name */
	const char *host;		/* the MX host: SNI and the name check */
	unsigned t_connect;		/* seconds for the connect, >= 1 */
	unsigned t_reply;		/* for the greeting and each reply */
	unsigned t_tls;			/* for the handshake */
	unsigned tarpit;		/* seconds: a later greeting tarpits */
	bool starttls;			/* try STARTTLS when offered */
};

struct ops_probe_cert {
	char subject[OPS_PROBE_TEXT_MAX];	/* one line, RFC 2253 form */
	char issuer[OPS_PROBE_TEXT_MAX];
	char names[OPS_PROBE_NAMES_MAX][OPS_PROBE_CAP_MAX]; /* DNS SANs */
	size_t nnames;
	time_t not_after;			/* 0: unknown */
	bool name_match;			/* the MX host name matches */
	bool chain_ok;				/* trusted by the system CAs */
	char chain_why[128];			/* why not */
};

struct ops_probe_result {
	enum ops_probe_verdict verdict;
	char error[OPS_PROBE_TEXT_MAX];	/* what ended it early, or "" */
	unsigned connect_ms;		/* each valid once its phase ended */
	bool connected, greeted;
	unsigned greeting_ms;
	int greeting_code;
	char greeting[OPS_PROBE_TEXT_MAX];	/* first line's text */
	int ehlo_code;			/* 0: not sent */
	char caps[OPS_PROBE_CAPS_MAX][OPS_PROBE_CAP_MAX];
	size_t ncaps;
	bool starttls_offered;
	bool tls_tried, tls_ok;
	unsigned tls_ms;
	char tls_version[16];
	char tls_cipher[64];
	struct ops_probe_cert cert;		/* valid when tls_ok */
};

typedef void ops_probe_cb(const struct ops_probe_result *r, void *ctx);

/* Starts probing sa (its port is replaced by o->port).  The strings of
 * o are copied.  The callback runs once, from the loop (never inline),
 * with a result valid only during the call; the handle is freed after
 * it returns.  ssl_ctx (borrowed, NULL: no TLS) must outlive the probe.
 * Never NULL. */
struct ops_probe *ops_probe_start(struct event_base *base,
    const struct sockaddr *sa, const struct ops_probe_opts *o,
    SSL_CTX *ssl_ctx, ops_probe_cb *cb, void *ctx);
/* Cancels a probe still running (its callback will not run); sets *pp
 * to NULL. */
void ops_probe_abort(struct ops_probe **pp);
/* A client context for probes: any certificate accepted, but the chain
 * still checked against the system CAs for the report.  NULL on error. */
SSL_CTX *ops_probe_ssl_ctx(void);

/* "answers", "tarpits", "TLS hangs", ... for people; the JSON word
 * ("answers", "tarpits", "tls-hangs", ...) with json. */
const char *ops_probe_verdict_str(enum ops_probe_verdict v, bool json);
/* Whether mail can get through an address with this verdict (it
 * greeted with 2xx; TLS trouble is the TLS policy's business). */
bool ops_probe_verdict_usable(enum ops_probe_verdict v);

/* An SMTP reply being read line by line (RFC 5321 4.2). */
struct ops_probe_reply {
	int code;			/* 0 until the first line */
	size_t lines;
	char text[OPS_PROBE_TEXT_MAX];	/* the first line's text */
	char caps[OPS_PROBE_CAPS_MAX][OPS_PROBE_CAP_MAX]; /* lines 2.. */
	size_t ncaps;
};

#define OPS_PROBE_LINE_MAX 1024		/* a longer line is malformed */
#define OPS_PROBE_REPLY_LINES 200	/* more lines are malformed */

/* Adds one line (without CRLF, len octets, not NUL-ended) to rp, which
 * starts zeroed: 1 when the reply is complete, 0 when more lines
 * follow, -1 when it is malformed (bad code, codes that differ, too
 * long, too many lines).  Text is kept printable: other octets become
 * '?'. */
int ops_probe_reply_line(struct ops_probe_reply *rp, const char *line,
    size_t len);
/* p[0..len) into dst (size > 0), cut to fit, NUL-ended, every octet that
 * is not printable ASCII replaced by '?'. */
void ops_probe_copy_text(char *dst, size_t size, const char *p, size_t len);

#endif
