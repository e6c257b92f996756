/* Command lines from a session's input buffer, the drain of a TLS
 * session's last reply, and the watch for a peer that leaves while its
 * session is suspended (session_io.h). */
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/xalloc.h"
#include "net/session_io.h"

int
session_io_line(struct evbuffer *in, size_t max, bool *skip,
    bool *overlong_r, char **line_r, size_t *len_r)
{
	size_t len, eol_len;
	struct evbuffer_ptr p;
	char *line;

	*overlong_r = false;
	*line_r = NULL;
	*len_r = 0;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (p.pos == -1) {
		len = evbuffer_get_length(in);
		if (len < max)
			return 0;
		/* Overlong: answered once, then discarded up to the LF. */
		evbuffer_drain(in, len);
		*overlong_r = !*skip;
		*skip = true;
		return 0;
	}
	len = (size_t)p.pos;
	if (*skip || len + eol_len > max) {
		evbuffer_drain(in, len + eol_len);
		*overlong_r = !*skip;
		*skip = false;
		return 1;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, eol_len);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	*line_r = line;
	*len_r = len;
	return 1;
}

static void
session_io_under_write_cb(struct bufferevent *u, void *arg)
{
	struct session_io_drain *d = arg;

	if (evbuffer_get_length(bufferevent_get_output(u)) == 0)
		d->finish(d->arg);
}

static void
session_io_under_event_cb(struct bufferevent *u, short what, void *arg)
{
	struct session_io_drain *d = arg;

	d->finish(d->arg);
}

bool
session_io_drain_under(struct bufferevent *bev, struct session_io_drain *d)
{
	struct bufferevent *u = bufferevent_get_underlying(bev);

	if (u == NULL || evbuffer_get_length(bufferevent_get_output(u)) == 0)
		return false;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_set_timeouts(bev, NULL, NULL);
	/* The filter needs the socket's callbacks no more. */
	bufferevent_setcb(u, NULL, session_io_under_write_cb,
	    session_io_under_event_cb, d);
	bufferevent_setwatermark(u, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(u, NULL, &(struct timeval){ 30, 0 });
	bufferevent_enable(u, EV_WRITE);
	return true;
}

bool
session_io_pace_late(struct session_io_pace *p, bool partial, uint64_t limit)
{
	time_t now = time(NULL);

	if (p->lines != p->seen || !partial || p->since == 0) {
		/* a line was taken (what is pending began since), or none */
		p->seen = p->lines;
		p->since = partial ? now : 0;
		return false;
	}
	return (uint64_t)(now - p->since) > limit;
}

/* Octets bev and the bufferevents below it hold unread. */
static size_t
session_io_unread(struct bufferevent *bev)
{
	size_t n = 0;

	for (; bev != NULL; bev = bufferevent_get_underlying(bev))
		n += evbuffer_get_length(bufferevent_get_input(bev));
	return n;
}

/* The socket is readable: data, EOF or an error.  MSG_PEEK tells which
 * without taking anything.  (EV_CLOSED alone would miss a reset: libevent
 * reports EPOLLHUP/EPOLLERR as read and write readiness only.) */
static void
session_io_hup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_io_hup *h = arg;
	void (*gone)(void *) = h->gone;
	void *gone_arg = h->arg;
	ssize_t n;
	char c;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;		/* woken for nothing: keep watching */
	n = n > 0 ? n : (ssize_t)session_io_unread(h->bev);
	session_io_hup_stop(h);
	if (n == 0)
		gone(gone_arg);
}

void
session_io_hup_start(struct session_io_hup *h, struct bufferevent *bev,
    void (*gone)(void *arg), void *arg)
{
	evutil_socket_t fd = bufferevent_getfd(bev);

	session_io_hup_stop(h);
	if (fd < 0)
		return;
	h->bev = bev;
	h->gone = gone;
	h->arg = arg;
	h->ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST,
	    session_io_hup_cb, h);
	if (h->ev == NULL || event_add(h->ev, NULL) < 0)
		session_io_hup_stop(h);
}

void
session_io_hup_stop(struct session_io_hup *h)
{
	if (h->ev != NULL)
		event_free(h->ev);
	h->ev = NULL;
	h->bev = NULL;
}
