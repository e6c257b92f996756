/* Command lines from a session's input buffer, and the drain of a TLS
 * session's last reply (session_io.h). */
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
