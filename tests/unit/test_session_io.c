/* Unit tests for session_io's watch on a suspended session's peer
 * (session_io_hup): a close with nothing unread is reported once, on the
 * loop; unread input (in the socket, or already in the bufferevent) ends
 * the watch without a report and is left where it was; a reset is
 * reported; a stopped watch reports nothing.  Socket pairs stand in for
 * the client's connection. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "net/session_io.h"
#include "test.h"

struct t_sess {
	struct event_base *base;
	struct bufferevent *bev;	/* the server's side, reading off */
	int peer;			/* the client's side */
	struct session_io_hup hup;
	int gone;			/* reports */
};

static void
t_gone(void *arg)
{
	struct t_sess *t = arg;

	t->gone++;
}

static void
t_open(struct t_sess *t, struct event_base *base)
{
	int sv[2];

	memset(t, 0, sizeof(*t));
	t->base = base;
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	evutil_make_socket_nonblocking(sv[0]);
	t->bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	t->peer = sv[1];
	/* suspended: the session reads nothing */
	bufferevent_disable(t->bev, EV_READ);
}

static void
t_close(struct t_sess *t)
{
	session_io_hup_stop(&t->hup);
	bufferevent_free(t->bev);
	if (t->peer >= 0)
		close(t->peer);
}

/* Runs whatever is ready, a few turns. */
static void
t_spin(struct event_base *base)
{
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
test_hup_close(struct event_base *base)
{
	struct t_sess t;

	test_begin("session_io_hup: a close with nothing unread");
	t_open(&t, base);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	t_spin(base);
	test_assert(t.gone == 0);	/* the peer is still there */
	close(t.peer);
	t.peer = -1;
	test_assert(t.gone == 0);	/* never inline */
	t_spin(base);
	test_assert(t.gone == 1);
	test_assert(t.hup.ev == NULL);	/* once: the watch has ended */
	t_spin(base);
	test_assert(t.gone == 1);
	t_close(&t);
	test_end();
}

static void
test_hup_pipelined(struct event_base *base)
{
	struct t_sess t;
	char buf[16];

	test_begin("session_io_hup: input left in the socket");
	t_open(&t, base);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	test_assert(write(t.peer, "QUIT\r\n", 6) == 6);
	close(t.peer);
	t.peer = -1;
	t_spin(base);
	test_assert(t.gone == 0);
	test_assert(t.hup.ev == NULL);	/* ended without a report */
	/* nothing was taken: the session reads it all when it resumes */
	test_assert(recv(bufferevent_getfd(t.bev), buf, sizeof(buf), 0) == 6);
	test_assert(memcmp(buf, "QUIT\r\n", 6) == 0);
	t_close(&t);
	test_end();
}

static void
test_hup_buffered(struct event_base *base)
{
	struct t_sess t;

	test_begin("session_io_hup: input left in the bufferevent");
	t_open(&t, base);
	/* read before the session suspended, not yet taken as a command */
	test_assert(write(t.peer, "NOOP\r\n", 6) == 6);
	bufferevent_enable(t.bev, EV_READ);
	t_spin(base);
	bufferevent_disable(t.bev, EV_READ);
	test_assert(evbuffer_get_length(bufferevent_get_input(t.bev)) == 6);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	close(t.peer);
	t.peer = -1;
	t_spin(base);
	test_assert(t.gone == 0);
	test_assert(t.hup.ev == NULL);
	test_assert(evbuffer_get_length(bufferevent_get_input(t.bev)) == 6);
	t_close(&t);
	test_end();
}

static void
test_hup_reset(struct event_base *base)
{
	struct t_sess t;
	char c = 'x';

	test_begin("session_io_hup: a reset");
	t_open(&t, base);
	/* a peer that closes with our data unread resets the connection */
	test_assert(write(bufferevent_getfd(t.bev), &c, 1) == 1);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	close(t.peer);
	t.peer = -1;
	t_spin(base);
	test_assert(t.gone == 1);
	t_close(&t);
	test_end();
}

static void
test_hup_stopped(struct event_base *base)
{
	struct t_sess t;

	test_begin("session_io_hup: stopped, restarted, stopped twice");
	t_open(&t, base);
	session_io_hup_stop(&t.hup);	/* never started: harmless */
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);	/* restarted */
	session_io_hup_stop(&t.hup);
	session_io_hup_stop(&t.hup);
	close(t.peer);
	t.peer = -1;
	t_spin(base);
	test_assert(t.gone == 0);
	session_io_hup_start(&t.hup, t.bev, t_gone, &t);
	t_spin(base);
	test_assert(t.gone == 1);	/* a close already there is seen */
	t_close(&t);
	test_end();
}

int
main(void)
{
	struct event_base *base = event_base_new();

	test_hup_close(base);
	test_hup_pipelined(base);
	test_hup_buffered(base);
	test_hup_reset(base);
	test_hup_stopped(base);
	event_base_free(base);
	return test_exit();
}
