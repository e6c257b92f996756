/* The control socket (control.h): an I/O-free parser and formatter for the
 * line-framed request, a libevent server that hands each parsed request to
 * the role's handler and writes its answer, and a blocking client for the
 * command line.  Text rather than binary so that an operator can talk to
 * a role with socat when the CLI is not enough; percent-encoding keeps one
 * request on one line whatever the values hold.  It does not authenticate
 * beyond the peer's uid: the socket file's mode and directory do that.
 * The same engine serves the supervisor's line channel (rolectl.c, by
 * control_private.h): raw lines in, one line out, nothing more. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "net/control_private.h"

#define CONTROL_HEAD_MAX 40	/* "error 18446744073709551615" and LF */

struct control_conn {
	struct control_server *srv;
	struct bufferevent *bev;
	struct control_request *req;	/* being handled, or NULL */
	struct control_conn *next;
	bool closing;			/* close once the output is written */
	bool eof;			/* the client sent all it will send */
	bool discard;			/* after an overflow: drop all input */
	bool shut;			/* our side shut down for writing */
};

struct control_server {
	struct event_base *base;
	struct evconnlistener *l;	/* NULL: an adopted socket only */
	struct control_conn *conns;
	size_t nconns;
	control_handler_fn *handler;
	control_line_fn *line_fn;	/* the line framing, or NULL */
	size_t line_max;		/* octets before the LF */
	void *ctx;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* unlinked
					 * on free, when set */
};

struct control_request {
	struct control_conn *conn;	/* NULL once the connection is gone */
	uid_t uid;
	struct control_msg msg;
};

/* --- parser and formatter */

static bool
control_name_ok(const char *s, size_t n, char extra)
{
	if (n == 0 || n > CONTROL_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == extra))
			return false;
	}
	return true;
}

/* Decodes the NUL-terminated value s in place.  0 or -1. */
static int
control_decode(char *s, const char **error_r)
{
	char *w = s;
	int hi, lo;

	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			*error_r = "bad byte in value";
			return -1;
		}
		if (*p != '%') {
			*w++ = *p;
			continue;
		}
		if ((hi = str_hexval(p[1])) < 0 ||
		    (lo = str_hexval(p[2])) < 0) {
			*error_r = "bad percent-escape in value";
			return -1;
		}
		if (hi == 0 && lo == 0) {
			*error_r = "NUL in value";
			return -1;
		}
		*w++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*w = '\0';
	return 0;
}

static int
control_parse_arg(struct control_msg *msg, char *tok, const char **error_r)
{
	char *eq = strchr(tok, '=');

	if (eq == NULL || !control_name_ok(tok, (size_t)(eq - tok), '_')) {
		*error_r = "bad argument (want key=value)";
		return -1;
	}
	*eq = '\0';
	if (control_msg_arg(msg, tok) != NULL) {
		*error_r = "duplicate argument";
		return -1;
	}
	if (msg->nargs == CONTROL_ARGS_MAX) {
		*error_r = "too many arguments";
		return -1;
	}
	if (control_decode(eq + 1, error_r) < 0)
		return -1;
	msg->args[msg->nargs].key = tok;
	msg->args[msg->nargs].value = eq + 1;
	msg->nargs++;
	return 0;
}

int
control_msg_parse(const char *line, size_t len, struct control_msg *msg,
    const char **error_r)
{
	char *p, *sp;

	msg->verb = NULL;
	msg->nargs = 0;
	if (len > 0 && line[len - 1] == '\r')
		len--;	/* tolerated for people typing into socat */
	if (len > CONTROL_LINE_MAX) {
		*error_r = "request too long";
		return -1;
	}
	if (len == 0) {
		*error_r = "empty request";
		return -1;
	}
	memcpy(msg->buf, line, len);
	msg->buf[len] = '\0';
	if (strlen(msg->buf) != len) {
		*error_r = "NUL in request";
		return -1;
	}
	for (p = msg->buf;; p = sp + 1) {
		if ((sp = strchr(p, ' ')) != NULL)
			*sp = '\0';
		if (msg->verb == NULL) {
			if (!control_name_ok(p, strlen(p), '-')) {
				*error_r = "bad verb";
				return -1;
			}
			msg->verb = p;
		} else if (control_parse_arg(msg, p, error_r) < 0)
			return -1;
		if (sp == NULL)
			return 0;
	}
}

const char *
control_msg_arg(const struct control_msg *msg, const char *key)
{
	for (size_t i = 0; i < msg->nargs; i++) {
		if (strcmp(msg->args[i].key, key) == 0)
			return msg->args[i].value;
	}
	return NULL;
}

static void
control_encode(struct fbuf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0';
	    p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '%')
			fbuf_addf(b, "%%%02X", *p);
		else
			fbuf_addc(b, (char)*p);
	}
}

int
control_msg_format(struct fbuf *b, const char *verb,
    const struct control_arg *args, size_t nargs, const char **error_r)
{
	struct fbuf line;

	if (!control_name_ok(verb, strlen(verb), '-')) {
		*error_r = "bad verb";
		return -1;
	}
	if (nargs > CONTROL_ARGS_MAX) {
		*error_r = "too many arguments";
		return -1;
	}
	fbuf_init(&line, 0);
	fbuf_adds(&line, verb);
	for (size_t i = 0; i < nargs; i++) {
		if (!control_name_ok(args[i].key, strlen(args[i].key), '_')) {
			fbuf_release(&line);
			*error_r = "bad argument name";
			return -1;
		}
		fbuf_addf(&line, " %s=", args[i].key);
		control_encode(&line, args[i].value);
	}
	if (line.len > CONTROL_LINE_MAX) {
		fbuf_release(&line);
		*error_r = "request too long";
		return -1;
	}
	fbuf_addc(&line, '\n');
	if (fbuf_add(b, line.data, line.len) < 0) {
		fbuf_release(&line);
		*error_r = "request too long";
		return -1;
	}
	fbuf_release(&line);
	return 0;
}

int
control_head_parse(const char *line, size_t len,
    enum control_status *status_r, size_t *length_r)
{
	char buf[CONTROL_HEAD_MAX];
	const char *num;
	uint64_t n;

	if (len >= sizeof(buf) || memchr(line, '\0', len) != NULL)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strncmp(buf, "ok ", 3) == 0) {
		*status_r = CONTROL_OK;
		num = buf + 3;
	} else if (strncmp(buf, "error ", 6) == 0) {
		*status_r = CONTROL_ERROR;
		num = buf + 6;
	} else
		return -1;
	if (str_parse_uint(num, 0, SIZE_MAX, &n) < 0)
		return -1;
	*length_r = (size_t)n;
	return 0;
}

/* --- server */

static void control_conn_read_cb(struct bufferevent *bev, void *arg);

static void
control_conn_free(struct control_conn *c)
{
	struct control_server *srv = c->srv;
	struct control_conn **pp;

	for (pp = &srv->conns; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	srv->nconns--;
	if (c->req != NULL)
		c->req->conn = NULL;	/* the handler still owns it */
	bufferevent_free(c->bev);
	free(c);
}

/* Frees c when it is closing and everything it owes is written. */
static void
control_conn_maybe_close(struct control_conn *c)
{
	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		control_conn_free(c);
}

static void
control_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;

	if (c->discard && !c->shut &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		c->shut = true;
	}
	control_conn_maybe_close(c);
}

/* At EOF the requests already buffered are still answered (a client may
 * half-close after writing them), then the connection closes.  The line
 * framing closes at once, whatever the event. */
static void
control_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    !c->discard && c->srv->line_fn == NULL) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		control_conn_read_cb(bev, c);
		return;
	}
	control_conn_free(c);
}

static void
control_conn_send(struct control_conn *c, enum control_status status,
    const void *body, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "%s %zu\n",
	    status == CONTROL_OK ? "ok" : "error", len);
	evbuffer_add(out, body, len);
}

/* Answers a request line that was too long.  Where the next request
 * would start is unknown, so the rest of the input is read and dropped,
 * and after the answer our side shuts down: the client sees the answer
 * and then EOF.  (Closing with unread input would reset the connection
 * and could destroy the answer before the client reads it.) */
static void
control_conn_overflow(struct control_conn *c)
{
	static const char msg[] = "request too long";

	control_conn_send(c, CONTROL_ERROR, msg, sizeof(msg) - 1);
	c->discard = true;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
}

/* Takes one complete line out of the input into line (len_r bytes, LF
 * dropped).  1, 0 when none is complete yet, -1 when it is too long. */
static int
control_conn_line(struct control_conn *c, char *line, size_t *len_r)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr pos = evbuffer_search(in, "\n", 1, NULL);

	if (pos.pos < 0)
		return evbuffer_get_length(in) > c->srv->line_max ? -1 : 0;
	if ((size_t)pos.pos > c->srv->line_max)
		return -1;
	*len_r = (size_t)pos.pos;
	evbuffer_remove(in, line, *len_r);
	evbuffer_drain(in, 1);
	return 1;
}

/* The peer's uid, (uid_t)-1 when unknown. */
static uid_t
control_peer_uid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return (uid_t)-1;
	return cr.uid;
}

static void
control_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;
	struct control_request *req;
	char line[CONTROL_LINE_MAX + 2];
	const char *error;
	size_t len;
	int r;

	if (c->discard) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	if (c->req != NULL || c->closing)
		return;
	if ((r = control_conn_line(c, line, &len)) <= 0) {
		if (r < 0 && c->srv->line_fn != NULL) {
			control_conn_free(c);	/* no answer: framing lost */
			return;
		}
		if (r < 0)
			control_conn_overflow(c);
		else if (c->eof)
			c->closing = true;
		control_conn_maybe_close(c);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->conn = c;
	req->uid = control_peer_uid(bufferevent_getfd(bev));
	c->req = req;
	bufferevent_disable(bev, EV_READ);
	if (c->srv->line_fn != NULL) {
		line[len] = '\0';
		c->srv->line_fn(req, line, c->srv->ctx);
		return;
	}
	if (control_msg_parse(line, len, &req->msg, &error) < 0) {
		control_reply(req, CONTROL_ERROR, error, strlen(error));
		return;
	}
	c->srv->handler(req, c->srv->ctx);
}

static bool
control_peer_allowed(int fd)
{
	uid_t uid = control_peer_uid(fd);

	return uid == 0 || uid == geteuid();
}

/* Serves the connected socket fd (owned from now on). */
static void
control_conn_new(struct control_server *srv, int fd)
{
	struct control_conn *c = xcalloc(1, sizeof(*c));
	struct timeval idle = { CONTROL_IDLE_SECS, 0 };

	c->srv = srv;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		log_fatalx("control: bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, control_conn_read_cb, control_conn_write_cb,
	    control_conn_event_cb, c);
	/* a whole line and its LF, which is one more than a line can hold
	 * (the overlong line is seen) */
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv->line_max +
	    (srv->line_fn != NULL ? 1 : 2));
	if (srv->line_fn == NULL)
		bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = srv->conns;
	srv->conns = c;
	srv->nconns++;
}

static void
control_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control_server *srv = arg;

	if (srv->line_fn == NULL && (srv->nconns >= CONTROL_CONN_MAX ||
	    !control_peer_allowed(fd))) {
		log_warnx("- control refused path=%s reason=%s",
		    log_q(srv->path), srv->nconns >= CONTROL_CONN_MAX ?
		    "too-many-connections" : "peer-uid");
		close(fd);
		return;
	}
	control_conn_new(srv, fd);
}

static int
control_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (str_lcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A socket file nobody accepts on is left by a process that died. */
static bool
control_stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool stale;

	if (fd == -1)
		return false;
	stale = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0 &&
	    errno == ECONNREFUSED;
	close(fd);
	return stale;
}

/* A listening socket at path.  replace: whatever is at path goes first
 * and the file is made under umask 0077, owner only (the line framing);
 * otherwise only a stale socket is replaced and the file is chmod()ed to
 * mode. */
static int
control_bind(const char *path, mode_t mode, bool replace,
    const char **error_r)
{
	struct sockaddr_un sun;
	mode_t old = 0;
	int fd, r;

	if (control_sockaddr(path, &sun) < 0) {
		*error_r = "socket path too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	if (replace) {
		unlink(path);
		old = umask(0077);
	}
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (replace)
		umask(old);
	if (r < 0 && errno == EADDRINUSE && !replace && control_stale(&sun)) {
		unlink(path);
		r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	}
	if (r < 0) {
		*error_r = errno == EADDRINUSE ? "socket in use by a running "
		    "process" : strerror(errno);
		close(fd);
		return -1;
	}
	if ((!replace && chmod(path, mode) < 0) || listen(fd, 16) < 0) {
		*error_r = strerror(errno);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

static struct control_server *
control_server_new(struct event_base *base, control_handler_fn *handler,
    control_line_fn *line_fn, size_t line_max, void *ctx)
{
	struct control_server *srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->handler = handler;
	srv->line_fn = line_fn;
	srv->line_max = line_max;
	srv->ctx = ctx;
	return srv;
}

/* Listens on fd, bound at path, for srv.  0, or -1 (srv freed). */
static int
control_server_listen(struct control_server *srv, const char *path, int fd,
    struct control_server **srv_r, const char **error_r)
{
	srv->l = evconnlistener_new(srv->base, control_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (srv->l == NULL) {
		*error_r = "evconnlistener_new failed";
		unlink(path);
		close(fd);
		free(srv);
		return -1;
	}
	*srv_r = srv;
	return 0;
}

int
control_listen(struct event_base *base, const char *path, mode_t mode,
    control_handler_fn *handler, void *ctx, struct control_server **srv_r,
    const char **error_r)
{
	struct control_server *srv;
	int fd;

	if ((fd = control_bind(path, mode, false, error_r)) < 0)
		return -1;
	/* + an optional CR */
	srv = control_server_new(base, handler, NULL, CONTROL_LINE_MAX + 1,
	    ctx);
	str_lcpy(srv->path, path, sizeof(srv->path));
	return control_server_listen(srv, path, fd, srv_r, error_r);
}

int
control_listen_lines(struct event_base *base, const char *path,
    size_t max, control_line_fn *fn, void *ctx, struct control_server **srv_r,
    const char **error_r)
{
	int fd;

	assert(max <= CONTROL_LINE_MAX + 1);
	if ((fd = control_bind(path, 0600, true, error_r)) < 0)
		return -1;
	return control_server_listen(control_server_new(base, NULL, fn, max,
	    ctx), path, fd, srv_r, error_r);
}

struct control_server *
control_adopt_lines(struct event_base *base, int fd, size_t max,
    control_line_fn *fn, void *ctx)
{
	struct control_server *srv;

	assert(max <= CONTROL_LINE_MAX + 1);
	srv = control_server_new(base, NULL, fn, max, ctx);
	evutil_make_socket_nonblocking(fd);
	control_conn_new(srv, fd);
	return srv;
}

void
control_server_free(struct control_server **srvp)
{
	struct control_server *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	while (srv->conns != NULL)
		/* control_conn_free() unlinks it from c->srv, which is srv for
		 * every conn on the list; the analyser cannot know that */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		control_conn_free(srv->conns);
	if (srv->l != NULL)
		evconnlistener_free(srv->l);
	if (srv->path[0] != '\0')
		unlink(srv->path);
	free(srv);
}

const struct control_msg *
control_request_msg(const struct control_request *req)
{
	return &req->msg;
}

const char *
control_request_verb(const struct control_request *req)
{
	return req->msg.verb;
}

const char *
control_request_arg(const struct control_request *req, const char *key)
{
	return control_msg_arg(&req->msg, key);
}

uid_t
control_request_uid(const struct control_request *req)
{
	return req->uid;
}

/* c's request has been answered: read the next one. */
static void
control_conn_answered(struct control_conn *c)
{
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	/* A pipelined next request may already be buffered, or EOF seen;
	 * deferred so that the handler is never entered from inside itself. */
	if (c->eof || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

void
control_reply(struct control_request *req, enum control_status status,
    const void *body, size_t len)
{
	struct control_conn *c = req->conn;

	free(req);
	if (c == NULL)
		return;
	c->req = NULL;
	control_conn_send(c, status, body, len);
	control_conn_answered(c);
}

void
control_reply_line(struct control_request *req, const char *line)
{
	struct control_conn *c = req->conn;
	struct evbuffer *out;

	free(req);
	if (c == NULL)
		return;
	c->req = NULL;
	out = bufferevent_get_output(c->bev);
	evbuffer_add(out, line, strnlen(line, c->srv->line_max));
	evbuffer_add(out, "\n", 1);
	control_conn_answered(c);
}

void
control_replyf(struct control_request *req, enum control_status status,
    const char *fmt, ...)
{
	struct fbuf b;
	va_list ap;

	fbuf_init(&b, 0);
	va_start(ap, fmt);
	fbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	control_reply(req, status, b.data, b.len);
	fbuf_release(&b);
}

/* --- client */

long long
control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
control_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = deadline - control_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int
control_connect(const char *path, long long deadline)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(int);
	int fd, err = 0;

	if (control_sockaddr(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno != EAGAIN && errno != EINPROGRESS)
		goto fail;
	/* A full backlog: wait for the server to accept. */
	if (control_wait(fd, POLLOUT, deadline) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		goto fail;
	if (err == 0)
		return fd;
	errno = err;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
control_send_all(int fd, const char *p, size_t len, long long deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			if (control_wait(fd, POLLOUT, deadline) < 0)
				return -1;
		} else if (n < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* Reads "status length LF body" into ans.  0 or -1 (errno). */
static int
control_recv(int fd, struct control_answer *ans, long long deadline,
    const char **error_r)
{
	char head[CONTROL_HEAD_MAX], buf[65536];
	size_t hlen = 0, want = 0;
	bool have_head = false;
	ssize_t n;

	for (;;) {
		if (have_head && ans->body.len == want)
			return 0;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (control_wait(fd, POLLIN, deadline) < 0) {
				*error_r = strerror(errno);
				return -1;
			}
			continue;
		}
		if (n <= 0) {
			*error_r = n == 0 ? "connection closed before the "
			    "answer" : strerror(errno);
			errno = n == 0 ? EPROTO : errno;
			return -1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (have_head) {
				size_t take = (size_t)(n - i);

				if (take > want - ans->body.len)
					take = want - ans->body.len;
				fbuf_add(&ans->body, buf + i, take);
				break;
			}
			if (buf[i] != '\n') {
				if (hlen == sizeof(head))
					goto bad;
				head[hlen++] = buf[i];
				continue;
			}
			if (control_head_parse(head, hlen, &ans->status,
			    &want) < 0)
				goto bad;
			if (want > CONTROL_BODY_MAX) {
				*error_r = "answer too large";
				errno = EMSGSIZE;
				return -1;
			}
			have_head = true;
		}
	}
bad:
	*error_r = "malformed answer";
	errno = EPROTO;
	return -1;
}

int
control_call_raw(const char *path, const void *req, size_t len,
    int timeout_ms, struct control_answer *ans, const char **error_r)
{
	long long deadline = control_now_ms() + timeout_ms;
	int fd, r, saved;

	fbuf_init(&ans->body, CONTROL_BODY_MAX);
	ans->status = CONTROL_ERROR;
	if ((fd = control_connect(path, deadline)) < 0) {
		*error_r = errno == ENAMETOOLONG ? "socket path too long" :
		    strerror(errno);
		return -1;
	}
	if (control_send_all(fd, req, len, deadline) < 0) {
		saved = errno;
		*error_r = strerror(saved);
		close(fd);
		errno = saved;
		return -1;
	}
	r = control_recv(fd, ans, deadline, error_r);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
control_call(const char *path, const char *verb,
    const struct control_arg *args, size_t nargs, int timeout_ms,
    struct control_answer *ans, const char **error_r)
{
	struct fbuf req;
	int r;

	fbuf_init(&req, 0);
	if (control_msg_format(&req, verb, args, nargs, error_r) < 0) {
		fbuf_init(&ans->body, CONTROL_BODY_MAX);
		ans->status = CONTROL_ERROR;
		fbuf_release(&req);
		errno = EINVAL;
		return -1;
	}
	r = control_call_raw(path, req.data, req.len, timeout_ms, ans,
	    error_r);
	fbuf_release(&req);
	return r;
}

bool
control_errno_down(int err)
{
	return err == ENOENT || err == ECONNREFUSED;
}
