/* A small request/response channel between Ferry's own processes and
 * its command line: a UNIX stream socket (a named one, or one end of a
 * socketpair) carrying one request line and, for each, one response line
 * (LF-terminated, at most CONTROL_LINE_MAX octets with the LF; longer
 * lines close the connection).  The serving side runs on a libevent loop
 * and may answer later (after asynchronous work); a connection has at
 * most one request outstanding, and reading pauses until it is answered.
 * Callers define their own verbs; the first word of a response is
 * conventionally "ok" or "error".
 *
 * Used by the supervisor (`ferry reload` asks it on state_dir/serve.sock,
 * and it asks each role over a socketpair) and meant for any other
 * process that needs answers (the queue control socket). */
#ifndef FERRY_CONTROL_H
#define FERRY_CONTROL_H
#include <stddef.h>

#define CONTROL_LINE_MAX 4096

struct event_base;
struct control_server;
struct control_req;
struct control_client;

/* A request: line is NUL-terminated without its LF (valid during the
 * call).  The handler answers with control_reply(), now or later. */
typedef void control_request_cb(struct control_req *req, const char *line,
    void *arg);

/* Listens on path (an old socket file there is replaced; mode 0600).
 * 0, or -1 with *error_r (static). */
int control_server_listen(struct control_server **sp, struct event_base *base,
    const char *path, control_request_cb *cb, void *arg,
    const char **error_r);
/* Serves requests on one connected socket (a socketpair end), which it
 * owns from now on. */
struct control_server *control_server_adopt(struct event_base *base, int fd,
    control_request_cb *cb, void *arg);
/* Answers req exactly once (an LF is added); dropped silently when the
 * asker has gone meanwhile.  req is invalid afterwards. */
void control_reply(struct control_req *req, const char *line);
/* Closes the socket(s); unanswered requests are dropped (their
 * control_reply() must not be called any more). */
void control_server_free(struct control_server **sp);

/* Blocking (for the CLI): connects to path, sends line, waits up to
 * timeout_secs for the answer, copied to reply (without LF).  0, or -1
 * with *error_r (static text or strerror). */
int control_call(const char *path, const char *line, char *reply,
    size_t size, unsigned timeout_secs, const char **error_r);

/* Asynchronous asker on a loop, over a connected socket (owned from now
 * on).  cb gets the answer, or NULL when the connection failed or
 * timeout_secs passed; never inline.  One request at a time: 0, or -1
 * when one is outstanding or the connection is gone. */
typedef void control_reply_cb(const char *reply, void *arg);
struct control_client *control_client_new(struct event_base *base, int fd);
int control_client_ask(struct control_client *c, const char *line,
    unsigned timeout_secs, control_reply_cb *cb, void *arg);
/* Closes the socket; an outstanding request's cb is not called. */
void control_client_free(struct control_client **cp);

#endif
