/* Background probes of the addresses the reachability memory holds
 * down: connect and wait for the greeting (RFC 5321 3.1), nothing more
 * (QUIT, then close).  A greeting brings the address back (a 5xx one
 * too: the network path works; what the host says is the delivery's
 * business); anything else refreshes the failure, so the memory keeps
 * believing it, and spaces the next probe out: reach_probe_interval,
 * doubling with each failed probe, at most half of host_down_memory (so
 * an address is probed before its failure is forgotten).
 * Addresses remembered TLS-broken (and not down) get a TLS probe on the
 * same schedule: greeting, EHLO, STARTTLS (RFC 3207) and the handshake
 * (any certificate: the probe asks whether TLS works on the path, the
 * delivery judges the certificate), then QUIT.  A completed handshake
 * ends the TLS-broken memory; a failure refreshes it; a connection-level
 * failure on the way marks the address down.  At most RELAY_PROBE_MAX
 * run at once, each step within its timeout (connect: timeout_connect;
 * greeting and replies: timeout_helo capped at RELAY_PROBE_GREETING_MAX;
 * handshake: timeout_tls), so every probe ends.
 * The spacing runs from one probe's start to the next one's, and the
 * connect of a down address's probe waits at most until a second before
 * the next is due: when the path heals, a fresh SYN goes out within one
 * spacing, instead of the pending connect's next SYN retransmission
 * (1 s, 3 s, 7 s ... after it began) or a spacing counted from its end.
 * A TLS probe's connect waits the full timeout_connect: its failure
 * marks a live address down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/tls.h"
#include "relay/relay_private.h"

#define RELAY_PROBE_MAX 4		/* probes at once */
#define RELAY_PROBE_SLACK_US 2000	/* scan this long after the second */
#define RELAY_PROBE_GREETING_MAX 60
#define RELAY_PROBE_LINE_MAX 1024

enum relay_probe_step {
	RELAY_PROBE_CONNECT = 0,
	RELAY_PROBE_GREETING,
	RELAY_PROBE_EHLO,		/* TLS probes only, from here */
	RELAY_PROBE_STARTTLS,
	RELAY_PROBE_HANDSHAKE
};

struct relay_probe {
	TAILQ_ENTRY(relay_probe) link;
	struct relay *r;
	char key[REACH_KEY_MAX];
	struct bufferevent *bev;
	struct event *timer;
	enum relay_probe_step step;
	time_t started;			/* when it was launched */
	bool tls;			/* a TLS probe */
	bool offers_tls;		/* EHLO listed STARTTLS */
};

uint64_t
relay_probe_delay(const struct relay *r, unsigned n)
{
	uint64_t base = r->conf->reach_probe_interval;
	uint64_t cap = r->conf->host_down_memory / 2, d;

	if (base == 0)
		return r->conf->host_down_memory;
	/* Healing is noticed within reach_probe_max_interval however long
	 * the outage lasted; half the memory still bounds it from above, so
	 * a dead address is re-checked before its failure is forgotten. */
	if (r->conf->reach_probe_max_interval < cap)
		cap = r->conf->reach_probe_max_interval;
	if (cap < base)
		cap = base;
	d = base << (n < 10 ? n : 10);
	return d < cap ? d : cap;
}

/* When the probe after p is due, the n-th failure counted: one spacing
 * after p started, or, when p outlived that (a slow greeting), one
 * spacing from now. */
static time_t
relay_probe_next(const struct relay_probe *p, unsigned n, time_t now)
{
	time_t d = (time_t)relay_probe_delay(p->r, n);

	return p->started + d > now ? p->started + d : now + d;
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

/* A TLS probe's answer: TLS works again, or one more TLS failure; a
 * connection-level failure on the way marks the address down. */
static void
relay_probe_end_tls(struct relay_probe *p, struct relay_mem *m,
    enum reach_fail why, time_t now)
{
	struct relay *r = p->r;

	if (why == REACH_OK) {
		relay_mem_tls_ok(r, p->key, "probe");
		return;
	}
	if (why != REACH_TLS_HANG && why != REACH_TLS_FAILED) {
		relay_mem_set_down(r, p->key, why, now);
		if (m != NULL && m->e.down == REACH_OK) {
			/* host_down_memory = 0: still spaced out */
			m->e.probes++;
			m->e.next_probe = relay_probe_next(p, m->e.probes,
			    now);
		}
		return;
	}
	if (m == NULL || m->e.tls == REACH_OK)
		return;
	m->e.probes++;
	m->e.tls = why;
	m->e.tls_since = now;
	m->e.next_probe = relay_probe_next(p, m->e.probes, now);
	log_debug("- relay probe-tls-failed address=%s reason=%s probes=%u",
	    p->key, reach_fail_str(why), m->e.probes);
	relay_mem_changed(r);
}

/* The probe's answer: up (a greeting), or one more failure. */
static void
relay_probe_end(struct relay_probe *p, enum reach_fail why)
{
	struct relay *r = p->r;
	struct relay_mem *m = relay_mem_find(r, p->key, false);
	time_t now = time(NULL);

	if (p->tls)
		relay_probe_end_tls(p, m, why, now);
	else if (why == REACH_OK)
		relay_mem_set_up(r, p->key, "probe", now);
	else if (m != NULL && m->e.down != REACH_OK) {
		m->e.probes++;
		m->e.down = why;
		m->e.last_fail = now;
		m->e.next_probe = relay_probe_next(p, m->e.probes, now);
		log_debug("- relay probe-failed address=%s reason=%s "
		    "probes=%u", p->key, reach_fail_str(why), m->e.probes);
		relay_mem_changed(r);
	}
	relay_probe_free(p);
}

/* Arms the timer for the next step. */
static void
relay_probe_step(struct relay_probe *p, enum relay_probe_step step)
{
	uint64_t g = p->r->conf->timeout_helo;
	struct timeval tv = { 0, 0 };

	p->step = step;
	if (step == RELAY_PROBE_HANDSHAKE)
		tv.tv_sec = (time_t)p->r->conf->timeout_tls;
	else
		tv.tv_sec = (time_t)(g < RELAY_PROBE_GREETING_MAX ? g :
		    RELAY_PROBE_GREETING_MAX);
	evtimer_add(p->timer, &tv);
}

static void
relay_probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_probe *p = arg;

	(void)fd;
	(void)what;
	switch (p->step) {
	case RELAY_PROBE_CONNECT:
		relay_probe_end(p, REACH_CONNECT_TIMEOUT);
		break;
	case RELAY_PROBE_GREETING:
		relay_probe_end(p, REACH_GREETING_TIMEOUT);
		break;
	case RELAY_PROBE_HANDSHAKE:
		relay_probe_end(p, REACH_TLS_HANG);
		break;
	default:
		relay_probe_end(p, REACH_TLS_FAILED);
		break;
	}
}

static void relay_probe_read_cb(struct bufferevent *bev, void *arg);
static void relay_probe_event_cb(struct bufferevent *bev, short what,
    void *arg);

/* STARTTLS was accepted: the handshake, over the same connection. */
static void
relay_probe_handshake(struct relay_probe *p)
{
	SSL *ssl = tls_client_ssl(p->r->tls_any, NULL, false);
	struct bufferevent *tb;

	tb = ssl == NULL ? NULL : bufferevent_openssl_filter_new(p->r->base,
	    p->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		relay_probe_end(p, REACH_TLS_FAILED);
		return;
	}
	p->bev = tb;
	bufferevent_setcb(tb, relay_probe_read_cb, NULL, relay_probe_event_cb,
	    p);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	relay_probe_step(p, RELAY_PROBE_HANDSHAKE);
}

/* The last line of a reply came (class code, 2 for 2xx ...): the next
 * step, or the end.  Returns false when p is gone. */
static bool
relay_probe_reply(struct relay_probe *p, int code)
{
	char line[300];

	switch (p->step) {
	case RELAY_PROBE_GREETING:
		if (code == 4) {
			relay_probe_end(p, REACH_GREETING_4XX);
			return false;
		}
		if (!p->tls || code != 2) {
			/* Up; a 5xx greeting says nothing about TLS. */
			bufferevent_write(p->bev, "QUIT\r\n", 6);
			relay_probe_end(p, p->tls ? REACH_TLS_FAILED :
			    REACH_OK);
			return false;
		}
		relay_fmt(line, sizeof(line), "EHLO %s\r\n",
		    p->r->conf->hostname);
		bufferevent_write(p->bev, line, strlen(line));
		relay_probe_step(p, RELAY_PROBE_EHLO);
		return true;
	case RELAY_PROBE_EHLO:
		if (code != 2 || !p->offers_tls) {
			bufferevent_write(p->bev, "QUIT\r\n", 6);
			relay_probe_end(p, REACH_TLS_FAILED);
			return false;
		}
		bufferevent_write(p->bev, "STARTTLS\r\n", 10);
		relay_probe_step(p, RELAY_PROBE_STARTTLS);
		return true;
	case RELAY_PROBE_STARTTLS:
		if (code != 2) {
			relay_probe_end(p, REACH_TLS_FAILED);
			return false;
		}
		relay_probe_handshake(p);
		return false;	/* no more plaintext lines are read */
	default:
		relay_probe_end(p, REACH_TLS_FAILED);
		return false;
	}
}

static void
relay_probe_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;
	int code;

	if (p->step == RELAY_PROBE_HANDSHAKE)
		return;		/* nothing is expected before it ends */
	/* The greeting can be read before libevent reports the connect
	 * (both ready in one loop turn): connected, then. */
	if (p->step == RELAY_PROBE_CONNECT)
		relay_probe_step(p, RELAY_PROBE_GREETING);
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		bool last = len < 4 || line[3] != '-';

		code = len >= 3 && line[0] >= '1' && line[0] <= '5' ?
		    line[0] - '0' : 0;
		if (code != 0 && p->step == RELAY_PROBE_EHLO && len >= 12 &&
		    strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
		    (len == 12 || line[12] == ' '))
			p->offers_tls = true;
		free(line);
		if (code == 0) {
			relay_probe_end(p, p->step == RELAY_PROBE_GREETING ?
			    REACH_CLOSED : REACH_TLS_FAILED);
			return;
		}
		if (!last)
			continue;
		if (!relay_probe_reply(p, code))
			return;
	}
	if (evbuffer_get_length(in) > RELAY_PROBE_LINE_MAX)
		relay_probe_end(p, p->step == RELAY_PROBE_GREETING ?
		    REACH_CLOSED : REACH_TLS_FAILED);
}

static void
relay_probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_probe *p = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (p->step == RELAY_PROBE_HANDSHAKE) {
			bufferevent_write(p->bev, "QUIT\r\n", 6);
			relay_probe_end(p, REACH_OK);
		} else if (p->step == RELAY_PROBE_CONNECT)
			relay_probe_step(p, RELAY_PROBE_GREETING);
		return;
	}
	switch (p->step) {
	case RELAY_PROBE_CONNECT:
		relay_probe_end(p, err == ECONNREFUSED ? REACH_REFUSED :
		    REACH_CONNECT_ERROR);
		break;
	case RELAY_PROBE_GREETING:
		relay_probe_end(p, REACH_CLOSED);
		break;
	default:
		relay_probe_end(p, REACH_TLS_FAILED);
		break;
	}
}

/* Starts one probe of m: 0, or -1 when it could not even start. */
static int
relay_probe_launch(struct relay *r, struct relay_mem *m, bool tls,
    time_t now)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	uint64_t wait = r->conf->timeout_connect, lim;
	struct timeval tv = { 0, 0 };
	struct relay_probe *p;

	if (evutil_parse_sockaddr_port(m->e.key, (struct sockaddr *)&ss,
	    &sslen) < 0)
		return -1;
	p = xcalloc(1, sizeof(*p));
	p->r = r;
	p->tls = tls;
	p->started = now;
	if (!tls) {
		/* Over before the next probe is due (see the top). */
		lim = relay_probe_delay(r, m->e.probes + 1);
		lim = lim > 1 ? lim - 1 : 1;
		if (wait > lim)
			wait = lim;
	}
	tv.tv_sec = (time_t)wait;
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
	log_debug("- relay probe address=%s probes=%u tls=%s wait=%llus",
	    p->key, m->e.probes, tls ? "yes" : "no",
	    (unsigned long long)wait);
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

/* What m needs now: 1 a probe of the connection, 2 a TLS probe, 0
 * nothing (not due, or nothing to probe). */
static int
relay_probe_due(struct relay *r, struct relay_mem *m, time_t now)
{
	if (m->probing)
		return 0;
	if (m->e.down != REACH_OK)
		return m->e.next_probe <= now &&
		    relay_mem_down(r, m->e.key, now) ? 1 : 0;
	if (m->e.tls == REACH_OK || r->tls_any == NULL ||
	    !relay_mem_tls_broken(r, m->e.key, now))
		return 0;
	if (m->e.next_probe == 0) {
		/* Up again with TLS still broken, or read from an older
		 * file: the first TLS probe is planned now. */
		m->e.probes = 0;
		m->e.next_probe = now + (time_t)relay_probe_delay(r, 0);
		relay_mem_changed(r);
	}
	return m->e.next_probe <= now ? 2 : 0;
}

/* The scan runs just after each turn of the wall clock's second:
 * next_probe is in whole seconds, so a probe starts when it falls due,
 * not up to a second later (a free-running one-second timer would add
 * that to the time direct delivery takes to resume after a heal). */
static void
relay_probe_arm(struct relay *r)
{
	struct timeval now, tv = { 0, 0 };

	gettimeofday(&now, NULL);
	tv.tv_usec = 1000000 - now.tv_usec + RELAY_PROBE_SLACK_US;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = 1;
		tv.tv_usec -= 1000000;
	}
	evtimer_add(r->probe_ev, &tv);
}

static void
relay_probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct relay_mem *m;
	struct timeval tv;
	time_t now;
	int due;

	(void)fd;
	(void)what;
	/* The clock relay_probe_arm reads: time() can lag it by a kernel
	 * tick (a few ms), and would find a probe due this second not due
	 * until the next scan. */
	gettimeofday(&tv, NULL);
	now = tv.tv_sec;
	relay_probe_arm(r);
	if (r->conf->reach_probe_interval == 0)
		return;
	for (unsigned h = 0; h < RELAY_MEM_BUCKETS &&
	    r->nprobes < RELAY_PROBE_MAX; h++)
		for (m = r->mem[h]; m != NULL && r->nprobes <
		    RELAY_PROBE_MAX; m = m->next) {
			if ((due = relay_probe_due(r, m, now)) == 0)
				continue;
			if (relay_probe_launch(r, m, due == 2, now) < 0)
				m->e.next_probe = now + (time_t)
				    relay_probe_delay(r, 10);
		}
}

void
relay_probe_start(struct relay *r)
{
	TAILQ_INIT(&r->probes);
	r->probe_ev = evtimer_new(r->base, relay_probe_tick_cb, r);
	relay_probe_arm(r);
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
