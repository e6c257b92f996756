/* A small asynchronous client connection for the content scanners (clamd,
 * spamd), on libevent bufferevents: connect to "HOST:PORT", "[V6]:PORT"
 * or "/path/to/unix/socket" (a host name is looked up through the role's
 * DNS, "localhost" means 127.0.0.1), send a request head, stream a file's
 * content in chunks (optionally in clamd's INSTREAM framing: each chunk
 * behind its 4-byte big-endian length), send a tail, then read the reply
 * until the peer closes, up to a size cap.  The whole exchange has one
 * deadline.  The callback runs exactly once, never inline from
 * scan_conn_start(), unless the connection is aborted first.
 *
 * Also here: the parsers of the scanners' replies, kept free of the
 * pipeline so that the unit tests can reach them. */
#ifndef FERRY_SCAN_CONN_H
#define FERRY_SCAN_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dns;
struct event_base;
struct scan_conn;

struct scan_conn_req {
	const char *target;		/* "host:port", "[v6]:port" or
					 * "/unix/socket" */
	const void *head;		/* sent first (may be NULL) */
	size_t head_len;
	int fd;				/* content source or -1; always taken
					 * over (closed) by scan_conn_start */
	uint64_t size;			/* bytes of fd to send, from offset 0 */
	bool chunked;			/* clamd INSTREAM chunk framing */
	const void *tail;		/* sent after the content, or NULL */
	size_t tail_len;
	unsigned timeout_secs;		/* deadline of the whole exchange */
	size_t reply_max;		/* a longer reply is an error */
};

/* error == NULL: the peer answered and closed; reply/len is what it sent
 * (NUL-terminated for convenience, may contain NULs).  Otherwise error
 * says what went wrong (for logs) and reply holds whatever had arrived.
 * The handle is already freed: forget it, never abort it. */
typedef void scan_conn_cb(const char *reply, size_t len, const char *error,
    void *arg);

/* Never NULL.  dns may be NULL (then only addresses can be used). */
struct scan_conn *scan_conn_start(struct event_base *base, struct dns *dns,
    const struct scan_conn_req *req, scan_conn_cb *cb, void *arg);
/* The callback will not run.  Sets *cp to NULL; NULL is fine. */
void scan_conn_abort(struct scan_conn **cp);

/* Splits a target: 0 with *is_unix set and host = the socket path, or
 * host = the host part ("[...]" removed) and *port_r; -1 when malformed. */
int scan_conn_target_parse(const char *target, bool *is_unix, char *host,
    size_t hostsize, uint16_t *port_r);

/* clamd's answer to INSTREAM: "stream: OK", "stream: NAME FOUND",
 * "... ERROR", with or without the ending NUL or newline. */
enum scan_clamd_status {
	SCAN_CLAMD_CLEAN,
	SCAN_CLAMD_INFECTED,		/* name holds the signature name */
	SCAN_CLAMD_ERROR		/* name holds a short reason */
};
enum scan_clamd_status scan_conn_parse_clamd(const char *reply, size_t len,
    char *name, size_t namesize);

/* spamd's answer (SPAMD/1.x) to CHECK or SYMBOLS: 0 with *score_r and
 * *spam_r (spamd's own verdict, informational), and the rule names of a
 * SYMBOLS body in symbols (comma-separated, only [A-Za-z0-9_], "" when
 * none); -1 with a short reason in why when it is not a good answer. */
int scan_conn_parse_spamd(const char *reply, size_t len, double *score_r,
    bool *spam_r, char *symbols, size_t symsize, char *why, size_t whysize);

#endif
