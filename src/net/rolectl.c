/* Line request/response over UNIX stream sockets (rolectl.h).  The
 * serving side and the blocking asker's socket work are control.c's
 * (control_private.h): this file keeps rolectl's types and the
 * asynchronous asker, which only the supervisor needs. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "net/control_private.h"
#include "net/rolectl.h"

/* A request: the engine's, wrapped so that callers keep rolectl's
 * types. */
struct rolectl_req {
	struct control_request *req;
};

struct rolectl_server {
	struct control_server *srv;
	rolectl_request_cb *cb;
	void *arg;
};

static void
rolectl_line_cb(struct control_request *creq, const char *line, void *ctx)
{
	struct rolectl_server *rs = ctx;
	struct rolectl_req *req = xcalloc(1, sizeof(*req));

	req->req = creq;
	rs->cb(req, line, rs->arg);
}

static struct rolectl_server *
rolectl_server_new(rolectl_request_cb *cb, void *arg)
{
	struct rolectl_server *rs = xcalloc(1, sizeof(*rs));

	rs->cb = cb;
	rs->arg = arg;
	return rs;
}

void
rolectl_reply(struct rolectl_req *req, const char *line)
{
	control_reply_line(req->req, line);
	free(req);
}

int
rolectl_listen(struct rolectl_server **sp, struct event_base *base,
    const char *path, rolectl_request_cb *cb, void *arg,
    const char **error_r)
{
	struct rolectl_server *rs = rolectl_server_new(cb, arg);

	if (control_listen_lines(base, path, ROLECTL_LINE_MAX - 1,
	    rolectl_line_cb, rs, &rs->srv, error_r) < 0) {
		free(rs);
		return -1;
	}
	*sp = rs;
	return 0;
}

struct rolectl_server *
rolectl_adopt(struct event_base *base, int fd, rolectl_request_cb *cb,
    void *arg)
{
	struct rolectl_server *rs = rolectl_server_new(cb, arg);

	rs->srv = control_adopt_lines(base, fd, ROLECTL_LINE_MAX - 1,
	    rolectl_line_cb, rs);
	return rs;
}

void
rolectl_server_free(struct rolectl_server **sp)
{
	struct rolectl_server *rs = *sp;

	if (rs == NULL)
		return;
	control_server_free(&rs->srv);
	free(rs);
	*sp = NULL;
}

/* ---- blocking asker ---- */

/* Reads until the first LF into buf (size octets).  0 with the line
 * NUL-terminated in buf, or -1 with *error_r. */
static int
rolectl_recv_line(int fd, char *buf, size_t size, long long deadline,
    const char **error_r)
{
	size_t have = 0;
	char *lf;
	ssize_t n;

	for (;;) {
		if ((lf = memchr(buf, '\n', have)) != NULL) {
			*lf = '\0';
			return 0;
		}
		if (have == size) {
			*error_r = "answer too long";
			return -1;
		}
		n = recv(fd, buf + have, size - have, 0);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (control_wait(fd, POLLIN, deadline) == 0)
				continue;
			*error_r = errno == ETIMEDOUT ? "no answer in time" :
			    strerror(errno);
			return -1;
		}
		*error_r = n == 0 ? "connection closed without an answer" :
		    strerror(errno);
		return -1;
	}
}

int
rolectl_call(const char *path, const char *line, char *reply, size_t size,
    unsigned timeout_secs, const char **error_r)
{
	long long deadline = control_now_ms() + (long long)timeout_secs * 1000;
	char buf[ROLECTL_LINE_MAX];
	size_t len = strlen(line);
	int fd, r;

	if (len + 1 > sizeof(buf)) {
		*error_r = "socket path or request too long";
		return -1;
	}
	if ((fd = control_connect(path, deadline)) < 0) {
		*error_r = errno == ENAMETOOLONG ?
		    "socket path or request too long" : strerror(errno);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	if (control_send_all(fd, buf, len + 1, deadline) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	r = rolectl_recv_line(fd, buf, sizeof(buf), deadline, error_r);
	if (r == 0)
		str_lcpy(reply, buf, size);
	close(fd);
	return r;
}

/* ---- asynchronous asker ---- */

struct rolectl_client {
	struct bufferevent *bev;
	rolectl_reply_cb *cb;		/* outstanding request, or NULL */
	void *arg;
	bool dead;
	struct event *fail_ev;		/* reports a failure off-stack */
};

static void
rolectl_client_fail(struct rolectl_client *c)
{
	rolectl_reply_cb *cb = c->cb;

	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->cb = NULL;
	if (cb != NULL)
		cb(NULL, c->arg);
}

static void
rolectl_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct rolectl_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	rolectl_reply_cb *cb;
	char *line;
	size_t len;

	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) >= ROLECTL_LINE_MAX)
			rolectl_client_fail(c);
		return;
	}
	cb = c->cb;
	c->cb = NULL;
	bufferevent_set_timeouts(bev, NULL, NULL);
	if (cb != NULL)
		cb(line, c->arg);
	free(line);
}

static void
rolectl_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	rolectl_client_fail(arg);
}

static void
rolectl_client_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	rolectl_client_fail(arg);
}

struct rolectl_client *
rolectl_client_new(struct event_base *base, int fd)
{
	struct rolectl_client *c = xcalloc(1, sizeof(*c));

	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		log_fatalx("- rolectl cannot create a bufferevent");
	c->fail_ev = evtimer_new(base, rolectl_client_fail_cb, c);
	bufferevent_setcb(c->bev, rolectl_client_read_cb, NULL,
	    rolectl_client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ROLECTL_LINE_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

int
rolectl_client_ask(struct rolectl_client *c, const char *line,
    unsigned timeout_secs, rolectl_reply_cb *cb, void *arg)
{
	struct timeval tv = { (time_t)timeout_secs, 0 }, now = { 0, 0 };

	if (c->cb != NULL)
		return -1;
	c->cb = cb;
	c->arg = arg;
	if (c->dead) {
		/* Never inline: report from the loop. */
		evtimer_add(c->fail_ev, &now);
		return 0;
	}
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_write(c->bev, line, strlen(line));
	bufferevent_write(c->bev, "\n", 1);
	return 0;
}

void
rolectl_client_free(struct rolectl_client **cp)
{
	struct rolectl_client *c = *cp;

	if (c == NULL)
		return;
	bufferevent_free(c->bev);
	event_free(c->fail_ev);
	free(c);
	*cp = NULL;
}
