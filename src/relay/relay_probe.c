/* Background probes of the addresses the reachability memory holds
 * down: connect and wait for the greeting (RFC 5321 3.1), nothing more
 * (QUIT, then close).  A greeting brings the address back (a 5xx one
 * too: the network path works; what the host says is the delivery's
 * business); anything else refreshes the failure, so the memory keeps
 * believing it, and spaces the next probe out: reach_probe_interval,
 * doubling with each failed probe, at most half of host_down_memory (so
 * an address is probed before its failure is forgotten).  At most
 * RELAY_PROBE_MAX run at once, each within the connect and greeting
 * timeouts (the greeting capped at RELAY_PROBE_GREETING_MAX). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "relay/relay_private.h"

#define RELAY_PROBE_MAX 4		/* probes at once */
#define RELAY_PROBE_TICK 1		/* seconds between scans */
#define RELAY_PROBE_GREETING_MAX 60
#define RELAY_PROBE_LINE_MAX 1024

struct relay_probe {
	TAILQ_ENTRY(relay_probe) link;
	struct relay *r;
	char key[REACH_KEY_MAX];
	struct bufferevent *bev;
	struct event *timer;
	bool connected;
};

uint64_t
relay_probe_delay(const struct relay *r, unsigned n)
{
	uint64_t base = r->conf->reach_probe_interval;
	uint64_t cap = r->conf->host_down_memory / 2, d;

	if (base == 0)
		return r->conf->host_down_memory;
	if (cap < base)
		cap = base;
	d = base << (n < 10 ? n : 10);
	return d < cap ? d : cap;
}

static void
relay_probe_free(struct relay_probe *p)
{
	struct relay_mem *m = relay_mem_find(p->r, p->key, false);

	if (m != NULL)
		m->probing = false;
	TAILQ_REMOVE(&p->r->probes, p, link);
	p->r->nprobes--;
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	event_free(p->timer);
	free(p);
}

/* The probe's answer: up (a greeting), or one more failure. */
static void
relay_probe_end(struct relay_probe *p, enum reach_fail why)
{
	struct relay *r = p->r;
	struct relay_mem *m = relay_mem_find(r, p->key, false);
	time_t now = time(NULL);

	if (why == REACH_OK)
		relay_mem_set_up(r, p->key, "probe", now);
	else if (m != NULL && m->e.down != REACH_OK) {
		m->e.probes++;
		m->e.down = why;
		m->e.last_fail = now;
		m->e.next_probe = now + (time_t)relay_probe_delay(r,
		    m->e.probes);
		log_debug("- relay probe-failed address=%s reason=%s "
		    "probes=%u", p->key, reach_fail_str(why), m->e.probes);
		relay_mem_changed(r);
	}
	relay_probe_free(p);
}

static void
relay_probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_probe *p = arg;

	(void)fd;
	(void)what;
	relay_probe_end(p, p->connected ? REACH_GREETING_TIMEOUT :
	    REACH_CONNECT_TIMEOUT);
}

static void
relay_probe_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	int code;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		bool last = len < 4 || line[3] != '-';

		code = len >= 3 && line[0] >= '1' && line[0] <= '5' ?
		    line[0] - '0' : 0;
		free(line);
		if (code == 0) {
			relay_probe_end(p, REACH_CLOSED);
			return;
		}
		if (!last)
			continue;
		if (code != 4)
			bufferevent_write(bev, "QUIT\r\n", 6);
		relay_probe_end(p, code == 4 ? REACH_GREETING_4XX : REACH_OK);
		return;
	}
	if (evbuffer_get_length(in) > RELAY_PROBE_LINE_MAX)
		relay_probe_end(p, REACH_CLOSED);
}

static void
relay_probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_probe *p = arg;
	struct timeval tv = { 0, 0 };
	uint64_t g = p->r->conf->timeout_helo;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		p->connected = true;
		tv.tv_sec = (time_t)(g < RELAY_PROBE_GREETING_MAX ? g :
		    RELAY_PROBE_GREETING_MAX);
		evtimer_add(p->timer, &tv);
		return;
	}
	if (p->connected)
		relay_probe_end(p, REACH_CLOSED);
	else
		relay_probe_end(p, err == ECONNREFUSED ? REACH_REFUSED :
		    REACH_CONNECT_ERROR);
}

/* Starts one probe of m: 0, or -1 when it could not even start. */
static int
relay_probe_launch(struct relay *r, struct relay_mem *m)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct timeval tv = { (time_t)r->conf->timeout_connect, 0 };
	struct relay_probe *p;

	if (evutil_parse_sockaddr_port(m->e.key, (struct sockaddr *)&ss,
	    &sslen) < 0)
		return -1;
	p = xcalloc(1, sizeof(*p));
	p->r = r;
	str_lcpy(p->key, m->e.key, sizeof(p->key));
	p->timer = evtimer_new(r->base, relay_probe_timer_cb, p);
	TAILQ_INSERT_TAIL(&r->probes, p, link);
	r->nprobes++;
	m->probing = true;
	p->bev = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		relay_probe_end(p, REACH_CONNECT_ERROR);
		return 0;
	}
	bufferevent_setcb(p->bev, relay_probe_read_cb, NULL,
	    relay_probe_event_cb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, RELAY_PROBE_LINE_MAX * 4);
	evtimer_add(p->timer, &tv);
	log_debug("- relay probe address=%s probes=%u", p->key, m->e.probes);
	/* A failure to start is reported through the event callback on
	 * the loop (libevent defers it), never inline. */
	if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ss,
	    sslen) < 0) {
		relay_probe_end(p, REACH_CONNECT_ERROR);
		return 0;
	}
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	return 0;
}

static void
relay_probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	time_t now = time(NULL);
	struct relay_mem *m;

	(void)fd;
	(void)what;
	if (r->conf->reach_probe_interval == 0)
		return;
	for (unsigned h = 0; h < RELAY_MEM_BUCKETS &&
	    r->nprobes < RELAY_PROBE_MAX; h++)
		for (m = r->mem[h]; m != NULL && r->nprobes <
		    RELAY_PROBE_MAX; m = m->next) {
			if (m->probing || m->e.down == REACH_OK ||
			    m->e.next_probe > now ||
			    !relay_mem_down(r, m->e.key, now))
				continue;
			if (relay_probe_launch(r, m) < 0)
				m->e.next_probe = now + (time_t)
				    relay_probe_delay(r, 10);
		}
}

void
relay_probe_start(struct relay *r)
{
	struct timeval tv = { RELAY_PROBE_TICK, 0 };

	TAILQ_INIT(&r->probes);
	r->probe_ev = event_new(r->base, -1, EV_PERSIST, relay_probe_tick_cb,
	    r);
	event_add(r->probe_ev, &tv);
}

void
relay_probe_stop(struct relay *r)
{
	struct relay_probe *p, *next;

	if (r->probe_ev == NULL)
		return;
	for (p = TAILQ_FIRST(&r->probes); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		relay_probe_free(p);
	}
	event_free(r->probe_ev);
	r->probe_ev = NULL;
}
