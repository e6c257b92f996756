/* The control socket: a UNIX stream socket under state_dir on which a
 * role answers requests from the command line (`ferry queue ...`,
 * `ferry reload`).  Generic: the role supplies one handler and decides
 * what the verbs mean.
 *
 * Wire format (all text, documented here because it is the contract):
 *
 *   request  = verb *(SP key "=" value) LF          at most CONTROL_LINE_MAX
 *   verb     = 1*32( a-z / 0-9 / "-" ), starting with a letter
 *   key      = 1*32( a-z / 0-9 / "_" ), starting with a letter
 *   value    = *( %x21-24 / %x26-7E / "%" 2HEXDIG )   percent-encoded bytes;
 *              %00 is refused, so decoded values are C strings
 *   response = status SP length LF body             body: exactly length bytes
 *   status   = "ok" / "error"
 *
 * At most CONTROL_ARGS_MAX arguments, keys unique.  A connection may carry
 * several requests; each gets one response, in order.  A request line
 * longer than CONTROL_LINE_MAX is answered "error" and the connection is
 * closed (its framing is lost).  The body is free text or JSON as the verb
 * documents; an "error" body is one human-readable line.  Only the peer
 * uids 0 and the server's own effective uid are served. */
#ifndef FERRY_CONTROL_H
#define FERRY_CONTROL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/fbuf.h"

#define CONTROL_LINE_MAX 4096		/* request line, LF excluded */
#define CONTROL_ARGS_MAX 16
#define CONTROL_NAME_MAX 32		/* verb and key length */
#define CONTROL_BODY_MAX (64u << 20)	/* a response body the client takes */
#define CONTROL_CONN_MAX 32		/* concurrent connections per server */
#define CONTROL_IDLE_SECS 60		/* server drops a silent connection */

enum control_status { CONTROL_OK, CONTROL_ERROR };

struct control_arg {
	const char *key;
	const char *value;
};

/* A parsed request.  verb and args point into buf. */
struct control_msg {
	char buf[CONTROL_LINE_MAX + 1];
	const char *verb;
	struct control_arg args[CONTROL_ARGS_MAX];
	size_t nargs;
};

/* --- parsing and formatting (no I/O; fuzzed by tests/fuzz/fuzz_control.c) */

/* Parses one request line of len bytes (without its LF) into msg.  0, or
 * -1 with a static reason in error_r. */
int control_msg_parse(const char *line, size_t len, struct control_msg *msg,
    const char **error_r);
/* The value of key in msg, or NULL when absent. */
const char *control_msg_arg(const struct control_msg *msg, const char *key);
/* Appends the request line (with LF) for verb and args to b.  0, or -1
 * with error_r when a name is invalid or the line would exceed
 * CONTROL_LINE_MAX. */
int control_msg_format(struct fbuf *b, const char *verb,
    const struct control_arg *args, size_t nargs, const char **error_r);
/* Parses a response head "status SP length" (without LF).  0 or -1. */
int control_head_parse(const char *line, size_t len,
    enum control_status *status_r, size_t *length_r);

/* --- server side (libevent, non-blocking) */

struct event_base;
struct control_server;
struct control_request;

/* Called on the loop for each request.  The handler owns req until it
 * calls control_reply() on it, exactly once, now or later (for example
 * after work on a pool); the next request on the same connection waits. */
typedef void control_handler_fn(struct control_request *req, void *ctx);

/* Binds path (a stale socket file is replaced; a live one is an error),
 * chmods it to mode and listens on base.  0, or -1 with error_r (static or
 * strerror text). */
int control_listen(struct event_base *base, const char *path, mode_t mode,
    control_handler_fn *handler, void *ctx, struct control_server **srv_r,
    const char **error_r);
/* Closes the listener and every connection and unlinks the path.
 * Requests still held by the handler stay valid; replying to them then
 * only frees them. */
void control_server_free(struct control_server **srvp);

const struct control_msg *control_request_msg(const struct control_request *req);
/* Shorthands for control_request_msg(req)->verb and control_msg_arg(). */
const char *control_request_verb(const struct control_request *req);
const char *control_request_arg(const struct control_request *req,
    const char *key);
/* The peer's uid (SO_PEERCRED). */
uid_t control_request_uid(const struct control_request *req);
/* Answers and frees req.  The body is copied. */
void control_reply(struct control_request *req, enum control_status status,
    const void *body, size_t len);
/* control_reply() with a formatted body (one line for errors). */
void control_replyf(struct control_request *req, enum control_status status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- client side (blocking, for the CLI) */

struct control_answer {
	enum control_status status;
	struct fbuf body;	/* NUL-terminated; caller fbuf_release()s */
};

/* Connects to path, sends one request, waits for its response for at most
 * timeout_ms in total.  0 with ans filled (ans->body initialised either
 * way), or -1 with errno and a reason in error_r (static or strerror).
 * errno ENOENT or ECONNREFUSED means nobody listens there: the server is
 * stopped, and callers may fall back to working without it. */
int control_call(const char *path, const char *verb,
    const struct control_arg *args, size_t nargs, int timeout_ms,
    struct control_answer *ans, const char **error_r);
/* Like control_call() with a preformatted request (its own LF at the end);
 * for tests that send what control_msg_format() would refuse. */
int control_call_raw(const char *path, const void *req, size_t len,
    int timeout_ms, struct control_answer *ans, const char **error_r);
/* True when errno from control_call() means "no server there". */
bool control_errno_down(int err);

#endif
