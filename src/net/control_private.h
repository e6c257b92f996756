/* What control.c shares with rolectl.c, the supervisor's line channel
 * (rolectl.h): one server engine serves both framings, and the blocking
 * clients of both connect, send and wait with the same helpers.  Inside
 * src/net/ only. */
#ifndef FERRY_CONTROL_PRIVATE_H
#define FERRY_CONTROL_PRIVATE_H
#include <stddef.h>

struct control_request;
struct control_server;
struct event_base;

/* --- the line framing (rolectl.h's wire format) */

/* Called on the loop with each request line: LF cut, NUL-terminated,
 * valid during the call, not parsed.  Answer with control_reply_line(),
 * exactly once, now or later. */
typedef void control_line_fn(struct control_request *req, const char *line,
    void *ctx);

/* Serves lines of at most max octets before their LF (max <=
 * CONTROL_LINE_MAX + 1).  Unlike control_listen(): a socket already at
 * path, live or not, is replaced, and created under umask 0077; nothing
 * is unlinked on free; no peer uid check, connection limit or idle
 * timeout; a longer line, EOF or an error closes the connection at once
 * (an unanswered request's reply is then dropped).  0, or -1 with
 * error_r (static or strerror text). */
int control_listen_lines(struct event_base *base, const char *path,
    size_t max, control_line_fn *fn, void *ctx, struct control_server **srv_r,
    const char **error_r);
/* The same on one connected socket (a socketpair end), owned from now
 * on, without a listener. */
struct control_server *control_adopt_lines(struct event_base *base, int fd,
    size_t max, control_line_fn *fn, void *ctx);
/* Answers req with line (cut at the server's max octets) and an LF, and
 * frees req. */
void control_reply_line(struct control_request *req, const char *line);

/* --- blocking client helpers (deadlines in CLOCK_MONOTONIC ms) */

long long control_now_ms(void);
/* Waits for events on fd until the deadline.  0, or -1 with errno
 * ETIMEDOUT or poll's. */
int control_wait(int fd, short events, long long deadline);
/* A non-blocking socket connected to path (waiting for a full backlog
 * until the deadline), or -1 with errno (ENAMETOOLONG: path too long). */
int control_connect(const char *path, long long deadline);
/* Sends all len octets.  0, or -1 with errno. */
int control_send_all(int fd, const char *p, size_t len, long long deadline);

#endif
