/* The supervisor's request/response channel: a UNIX stream socket (the
 * named state_dir/serve.sock that `ferry reload` asks, or one end of the
 * socketpair to each role) carrying one request line and, for each, one
 * response line (LF-terminated, at most ROLECTL_LINE_MAX octets with the
 * LF; longer lines close the connection).  The serving side runs on a
 * libevent loop and may answer later; a connection has at most one
 * request outstanding, and reading pauses until it is answered.  The
 * first word of a response is "ok" or "error".
 *
 * The serving side and the blocking asker are net/control.c's engine
 * (the operations layer's control socket, with key=value requests and
 * length-framed answers) in its line framing (control_private.h); this
 * API keeps the supervisor's callers as they were and adds the
 * asynchronous asker. */
#ifndef FERRY_ROLECTL_H
#define FERRY_ROLECTL_H
#include <stddef.h>

#define ROLECTL_LINE_MAX 4096

struct event_base;
struct rolectl_server;
struct rolectl_req;
struct rolectl_client;

/* A request: line is NUL-terminated without its LF (valid during the
 * call).  The handler answers with rolectl_reply(), now or later. */
typedef void rolectl_request_cb(struct rolectl_req *req, const char *line,
    void *arg);

/* Listens on path (a socket file there, live or not, is replaced; made
 * under umask 0077: owner only).
 * 0, or -1 with *error_r (static). */
int rolectl_listen(struct rolectl_server **sp, struct event_base *base,
    const char *path, rolectl_request_cb *cb, void *arg,
    const char **error_r);
/* Serves requests on one connected socket (a socketpair end), which it
 * owns from now on. */
struct rolectl_server *rolectl_adopt(struct event_base *base, int fd,
    rolectl_request_cb *cb, void *arg);
/* Answers req exactly once (an LF is added); dropped silently when the
 * asker has gone meanwhile.  req is invalid afterwards. */
void rolectl_reply(struct rolectl_req *req, const char *line);
/* Closes the socket(s); unanswered requests are dropped (their
 * rolectl_reply() must not be called any more). */
void rolectl_server_free(struct rolectl_server **sp);

/* Blocking (for the CLI): connects to path, sends line, waits up to
 * timeout_secs for the answer, copied to reply (without LF).  0, or -1
 * with *error_r (static text or strerror). */
int rolectl_call(const char *path, const char *line, char *reply,
    size_t size, unsigned timeout_secs, const char **error_r);

/* Asynchronous asker on a loop, over a connected socket (owned from now
 * on).  cb gets the answer, or NULL when the connection failed or
 * timeout_secs passed; never inline.  One request at a time: 0, or -1
 * when one is outstanding or the connection is gone. */
typedef void rolectl_reply_cb(const char *reply, void *arg);
struct rolectl_client *rolectl_client_new(struct event_base *base, int fd);
int rolectl_client_ask(struct rolectl_client *c, const char *line,
    unsigned timeout_secs, rolectl_reply_cb *cb, void *arg);
/* Closes the socket; an outstanding request's cb is not called. */
void rolectl_client_free(struct rolectl_client **cp);

#endif
