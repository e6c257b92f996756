/* Line request/response over UNIX stream sockets (rolectl.h). */
#include <errno.h>
#include <poll.h>
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
#include "net/rolectl.h"

struct rolectl_conn;

struct rolectl_req {
	struct rolectl_conn *conn;	/* NULL: the asker is gone */
};

struct rolectl_conn {
	struct rolectl_conn *next;
	struct rolectl_server *srv;
	struct bufferevent *bev;
	struct rolectl_req *req;	/* outstanding, or NULL */
	bool closing;			/* close once the reply is written */
};

struct rolectl_server {
	struct event_base *base;
	struct evconnlistener *l;	/* NULL: adopted socket only */
	rolectl_request_cb *cb;
	void *arg;
	struct rolectl_conn *conns;
};

static void rolectl_conn_read_cb(struct bufferevent *bev, void *arg);

static void
rolectl_conn_free(struct rolectl_conn *c)
{
	struct rolectl_conn **pp;

	for (pp = &c->srv->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->req != NULL)
		c->req->conn = NULL;	/* its reply is dropped */
	bufferevent_free(c->bev);
	free(c);
}

static void
rolectl_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	rolectl_conn_free(arg);
}

static void
rolectl_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct rolectl_conn *c = arg;

	if (c->closing)
		rolectl_conn_free(c);
}

static void
rolectl_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct rolectl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	if (c->req != NULL)
		return;		/* one at a time: read again after the reply */
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) >= ROLECTL_LINE_MAX)
			rolectl_conn_free(c);
		return;
	}
	if (len >= ROLECTL_LINE_MAX) {
		free(line);
		rolectl_conn_free(c);
		return;
	}
	c->req = xcalloc(1, sizeof(*c->req));
	c->req->conn = c;
	bufferevent_disable(bev, EV_READ);
	c->srv->cb(c->req, line, c->srv->arg);
	free(line);
}

static void
rolectl_conn_new(struct rolectl_server *srv, int fd)
{
	struct rolectl_conn *c = xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, rolectl_conn_read_cb, rolectl_conn_write_cb,
	    rolectl_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ROLECTL_LINE_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = srv->conns;
	srv->conns = c;
}

void
rolectl_reply(struct rolectl_req *req, const char *line)
{
	struct rolectl_conn *c = req->conn;

	free(req);
	if (c == NULL)
		return;
	c->req = NULL;
	bufferevent_write(c->bev, line, strnlen(line, ROLECTL_LINE_MAX - 1));
	bufferevent_write(c->bev, "\n", 1);
	bufferevent_enable(c->bev, EV_READ);
	/* A request pipelined behind this one is served now. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void
rolectl_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	rolectl_conn_new(arg, fd);
}

int
rolectl_listen(struct rolectl_server **sp, struct event_base *base,
    const char *path, rolectl_request_cb *cb, void *arg,
    const char **error_r)
{
	struct rolectl_server *srv;
	struct sockaddr_un sun;
	int fd;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		return -1;
	}
	str_lcpy(sun.sun_path, path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	unlink(path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		*error_r = strerror(errno);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->cb = cb;
	srv->arg = arg;
	srv->l = evconnlistener_new(base, rolectl_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->l == NULL) {
		close(fd);
		free(srv);
		*error_r = "cannot watch the socket";
		return -1;
	}
	*sp = srv;
	return 0;
}

struct rolectl_server *
rolectl_adopt(struct event_base *base, int fd, rolectl_request_cb *cb,
    void *arg)
{
	struct rolectl_server *srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->cb = cb;
	srv->arg = arg;
	evutil_make_socket_nonblocking(fd);
	rolectl_conn_new(srv, fd);
	return srv;
}

void
rolectl_server_free(struct rolectl_server **sp)
{
	struct rolectl_server *srv = *sp;

	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		/* rolectl_conn_free() unlinks it from c->srv, which is srv for
		 * every conn on the list; the analyser cannot know that */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		rolectl_conn_free(srv->conns);
	if (srv->l != NULL)
		evconnlistener_free(srv->l);
	free(srv);
	*sp = NULL;
}

/* ---- blocking asker ---- */

int
rolectl_call(const char *path, const char *line, char *reply, size_t size,
    unsigned timeout_secs, const char **error_r)
{
	struct sockaddr_un sun;
	char buf[ROLECTL_LINE_MAX];
	size_t have = 0, len = strlen(line);
	time_t end = time(NULL) + (time_t)timeout_secs;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) || len + 1 > sizeof(buf)) {
		*error_r = "socket path or request too long";
		return -1;
	}
	str_lcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*error_r = strerror(errno);
		if (fd != -1)
			close(fd);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	if (send(fd, buf, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1)) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char *lf;
		ssize_t n;
		time_t now = time(NULL);

		if ((lf = memchr(buf, '\n', have)) != NULL) {
			*lf = '\0';
			str_lcpy(reply, buf, size);
			close(fd);
			return 0;
		}
		if (now >= end || have == sizeof(buf)) {
			*error_r = have == sizeof(buf) ? "answer too long" :
			    "no answer in time";
			break;
		}
		if (poll(&p, 1, (int)(end - now) * 1000) < 0 && errno != EINTR) {
			*error_r = strerror(errno);
			break;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0) {
			*error_r = n == 0 ? "connection closed without an "
			    "answer" : strerror(errno);
			break;
		}
		have += (size_t)n;
	}
	close(fd);
	return -1;
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
