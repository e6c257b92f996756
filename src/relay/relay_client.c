/* The outbound SMTP client (RFC 5321 sections 3 and 4) on bufferevents:
 * connect to the candidate addresses, staggered ("dialling" below), and
 * on to the next while one fails to connect or greet; EHLO (HELO
 * when refused); STARTTLS (RFC 3207) as the TLS mode asks, and under
 * tls=may a failed or hung handshake is retried at once in plaintext and
 * the address remembered as TLS-broken; AUTH PLAIN/LOGIN (RFC 4954) to a
 * route, only over TLS; then transactions: MAIL with SIZE (RFC 1870),
 * BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), RCPTs pipelined when
 * offered (RFC 2920), content with BDAT when offered (RFC 3030) or DATA
 * with dot-stuffing (4.5.2), streamed from the spool file in chunks.
 * Each recipient gets its own result.  Every stage has its own timeout
 * (4.5.3.2).  The connection is reused for the destination's next
 * delivery, and closed with QUIT when none is left.  8-bit content for a
 * peer without 8BITMIME fails with 5.6.3 (no conversion, see docs/). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/nodeaddr.h"
#include "net/tls.h"
#include "relay/relay_private.h"

#define RELAY_LINE_MAX 4096		/* a reply line longer is an error */
#define RELAY_CHUNK 65536		/* content read per read(2) */
#define RELAY_OUT_HIGH (256 * 1024)	/* stop reading content above */
#define RELAY_OUT_LOW (64 * 1024)	/* resume below (write watermark) */
#define RELAY_QUIT_SECS 5
#define RELAY_IDLE_SECS 2	/* keep a finished connection for reuse */

enum relay_state {
	RELAY_S_RESOLVE,
	RELAY_S_CONNECT,
	RELAY_S_GREETING,
	RELAY_S_EHLO,
	RELAY_S_HELO,
	RELAY_S_STARTTLS,
	RELAY_S_TLS,
	RELAY_S_AUTH,
	RELAY_S_RSET,
	RELAY_S_TXN,
	RELAY_S_DATA,
	RELAY_S_BODY,
	RELAY_S_DOT,
	RELAY_S_QUIT,
	RELAY_S_IDLE		/* connected, waiting for more work */
};

static const char *relay_state_names[] = {
	"resolve", "connect", "greeting", "EHLO", "HELO", "STARTTLS",
	"TLS handshake", "AUTH", "RSET", "MAIL/RCPT", "DATA", "message content",
	"end of data", "QUIT", "idle"
};

static void relay_session_connect(struct relay_session *s);
static void relay_dials_cancel(struct relay_session *s);
static void relay_session_next(struct relay_session *s);
static void relay_session_idle_timer(struct relay_session *s);
static void relay_txn_start(struct relay_session *s);
static void relay_session_begin(struct relay_session *s);
static void relay_tls_established(struct relay_session *s);
static void relay_data_start(struct relay_session *s);
static void relay_body_pump(struct relay_session *s);
static void relay_txn_final(struct relay_session *s,
    const struct relay_reply *rp);
static int relay_txn_open(struct relay_session *s);
static void relay_session_reply(struct relay_session *s,
    const struct relay_reply *rp);
static void relay_session_read_cb(struct bufferevent *bev, void *arg);
static void relay_session_write_cb(struct bufferevent *bev, void *arg);
static void relay_session_timer_cb(evutil_socket_t fd, short what, void *arg);
static void relay_session_event_cb(struct bufferevent *bev, short what,
    void *arg);

/* ---- plumbing ---- */

static void
relay_session_timer(struct relay_session *s, uint64_t secs)
{
	struct timeval tv = { (time_t)(secs > 0 ? secs : 1), 0 };

	evtimer_add(s->timer, &tv);
}

static void
relay_session_enter(struct relay_session *s, enum relay_state st,
    uint64_t timeout)
{
	s->state = st;
	relay_session_timer(s, timeout);
}

static void
relay_session_send(struct relay_session *s, const char *text, size_t len)
{
	bufferevent_write(s->bev, text, len);
}

static void
relay_session_cmd(struct relay_session *s, enum relay_state st,
    uint64_t timeout, const char *line)
{
	relay_session_send(s, line, strlen(line));
	relay_session_send(s, "\r\n", 2);
	relay_session_enter(s, st, timeout);
}

static void
relay_session_close(struct relay_session *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	evtimer_del(s->timer);
	s->tls_active = false;
	s->ext = 0;
	s->size_max = 0;
	s->need_rset = s->data_piped = false;
	s->skip = 0;
	s->tls_desc[0] = '\0';
	memset(&s->reply, 0, sizeof(s->reply));
}

static void
relay_session_release(struct relay_session *s)
{
	if (s->alive_r != NULL)
		*s->alive_r = false;
	relay_session_close(s);
	if (s->waiting)
		TAILQ_REMOVE(&s->dst->waiting, s, wlink);
	if (s->idle)
		TAILQ_REMOVE(&s->dst->idle, s, ilink);
	s->idle = false;
	TAILQ_REMOVE(&s->r->sessions, s, link);
	relay_dials_cancel(s);
	relay_mx_abort(&s->fallback_mx);
	event_free(s->timer);
	free(s->cands);
	free(s->cstate);
}

/* Where the delivery was tried, for the log line. */
static void
relay_session_stamp(struct relay_session *s, struct relay_deliv *d)
{
	if (s->peer[0] != '\0')
		relay_fmt(d->peer, sizeof(d->peer), "%s:%u", s->peer,
		    s->target.port);
	d->via_fallback = s->via_fallback;
	d->route_fb = s->route_fb;
	d->route = d->route || s->target.route;
	str_lcpy(d->route_mx, s->target.route_mx, sizeof(d->route_mx));
	str_lcpy(d->tls, s->tls_desc, sizeof(d->tls));
	str_lcpy(d->reach, s->reach, sizeof(d->reach));
}

/* The session is over: its slot goes back to the scheduler. */
static void
relay_session_end(struct relay_session *s)
{
	struct relay *r = s->r;
	struct relay_dest *dst = s->dst;

	if (s->d != NULL) {
		relay_session_stamp(s, s->d);
		relay_deliv_fail(r, s->d, RELAY_TEMP, s->lasterr[0] != '\0' ?
		    s->lasterr : "4.4.2 delivery aborted");
	}
	s->d = NULL;
	relay_session_release(s);
	free(s);
	relay_session_ended(r, dst);
}

void
relay_session_free(struct relay_session **sp)
{
	struct relay_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->d != NULL) {
		free(s->d->rcpts);
		free(s->d);
	}
	relay_session_release(s);
	free(s);
}

void
relay_session_start(struct relay *r, struct relay_dest *dst,
    struct relay_deliv *d)
{
	struct relay_session *s = xcalloc(1, sizeof(*s));

	s->r = r;
	s->dst = dst;
	s->d = d;
	s->fd = -1;
	s->target = dst->target;
	s->all_conn_level = true;
	s->timer = evtimer_new(r->base, relay_session_timer_cb, s);
	TAILQ_INIT(&s->dials);
	TAILQ_INSERT_TAIL(&r->sessions, s, link);
	relay_hosts_get(r, dst, s);
}

/* ---- choosing and connecting ---- */

static void relay_session_exhausted(struct relay_session *s);

/* The candidates for this session.  With a fallback relay to turn to,
 * addresses the memory holds down are left out: when that leaves none,
 * the fallback is used at once, without paying a timeout per address. */
static void
relay_session_use_hosts(struct relay_session *s, const struct relay_hosts *h)
{
	bool tls_required = s->target.tls == CONF_TLS_ENCRYPT ||
	    s->target.tls == CONF_TLS_VERIFY;
	struct relay_target fb;
	bool skip = !s->via_fallback && relay_target_fallback(s->r->conf,
	    &s->target, s->dst->domain, &fb);
	size_t skipped;

	free(s->cands);
	relay_mx_order(s->r, h, tls_required, skip, &s->cands, &s->ncands,
	    &skipped);
	free(s->cstate);
	s->cstate = xcalloc(s->ncands > 0 ? s->ncands : 1, 1);
	s->cur = 0;
	s->all_conn_level = true;
	if (skipped > 0)
		relay_fmt(s->reach, sizeof(s->reach), "%zu of %zu address(es) "
		    "remembered unreachable, %s", skipped, skipped + s->ncands,
		    s->ncands > 0 ? "skipped" : "straight to fallback_relay");
	if (s->ncands == 0 && skipped > 0) {
		relay_fmt(s->lasterr, sizeof(s->lasterr), "4.4.1 all %zu "
		    "address(es) of %s are remembered unreachable "
		    "(reachability memory)", skipped, s->dst->domain);
		log_info("%s relay all-known-down domain=%s addresses=%zu",
		    s->d != NULL ? s->d->msg->id : "-", s->dst->domain,
		    skipped);
		relay_session_exhausted(s);
		return;
	}
	relay_session_connect(s);
}

void
relay_session_hosts(struct relay_session *s, struct relay_hosts *h)
{
	if (h->status != RELAY_SENT) {
		str_lcpy(s->lasterr, h->error, sizeof(s->lasterr));
		relay_deliv_fail(s->r, s->d, h->status, h->error);
		s->d = NULL;
		relay_dest_fail_queued(s->r, s->dst, h->status, h->error);
		relay_session_end(s);
		return;
	}
	if (h->routed)
		s->target = h->target;	/* route_mx, or the "*" route */
	relay_session_use_hosts(s, h);
}

static void
relay_session_fallback_cb(struct relay_hosts *h, void *ctx)
{
	struct relay_session *s = ctx;

	s->fallback_mx = NULL;
	if (h->status != RELAY_SENT) {
		log_warnx("%s relay %s unusable host=%s reason=%s",
		    s->d->msg->id, s->route_fb ? "route-fallback" :
		    "fallback_relay", log_q(s->target.host), log_q(h->error));
		relay_hosts_free(&h);
		relay_session_end(s);
		return;
	}
	relay_session_use_hosts(s, h);
	relay_hosts_free(&h);
}

/* Whether the session may still turn to a fallback (fallback_relay or
 * the route's own; *t its target): everything tried so far failed at
 * connection level, and it is not on the fallback already. */
static bool
relay_session_can_fallback(const struct relay_session *s,
    struct relay_target *t)
{
	return s->all_conn_level && !s->via_fallback && !s->dst->homed &&
	    relay_target_fallback(s->r->conf, &s->target, s->dst->domain, t);
}

/* Every candidate failed: the fallback relay when they all failed at
 * connection level, else the delivery is deferred. */
static void
relay_session_exhausted(struct relay_session *s)
{
	struct relay_target t;

	if (s->lasterr[0] == '\0')
		relay_fmt(s->lasterr, sizeof(s->lasterr),
		    "4.4.1 no mail host of %s could be reached", s->dst->domain);
	if (relay_session_can_fallback(s, &t)) {
		s->route_fb = s->target.fb_host[0] != '\0';
		log_info("%s relay using %s domain=%s relay=%s reason=%s",
		    s->d != NULL ? s->d->msg->id : "-", s->route_fb ?
		    "route-fallback" : "fallback_relay", s->dst->domain,
		    log_q(t.host), log_q(s->lasterr));
		s->via_fallback = true;
		if (s->reach[0] == '\0')
			relay_fmt(s->reach, sizeof(s->reach), "no address of "
			    "%s answered: fallback_relay", s->dst->domain);
		s->up_gen = s->r->up_gen;
		s->target = t;
		s->fallback_mx = relay_mx_start(s->r, &t,
		    relay_session_fallback_cb, s);
		return;
	}
	if (s->all_conn_level)
		relay_dest_fail_queued(s->r, s->dst, RELAY_TEMP, s->lasterr);
	relay_session_end(s);
}

/* This host will not do: remember why, try the next one.  kind says
 * what failed at connection level (the address goes down in the memory;
 * a TLS failure was remembered by the caller), REACH_OK for an answer
 * that was no connection failure (no fallback relay then). */
static void
relay_host_failed(struct relay_session *s, const char *why,
    enum reach_fail kind)
{
	relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: %s", s->peer, why);
	log_info("%s relay host-failed relay=%s stage=%s reason=%s",
	    s->d != NULL ? s->d->msg->id : "-", log_q(s->peer),
	    relay_state_names[s->state], log_q(why));
	if (kind == REACH_OK)
		s->all_conn_level = false;
	else if (kind != REACH_TLS_HANG && kind != REACH_TLS_FAILED)
		relay_mem_set_down(s->r, s->key, kind, time(NULL));
	relay_session_close(s);
	s->no_tls = false;
	relay_session_connect(s);
}

/* a's memory key ("192.0.2.1:25") and its name for logs. */
static void
relay_addr_describe(const struct relay_addr *a, char *key, size_t keysize,
    char *peer, size_t peersize)
{
	char ip[80];
	const char *colon;

	relay_mem_key((const struct sockaddr *)&a->sa, key, keysize);
	str_lcpy(ip, key, sizeof(ip));
	colon = strrchr(ip, ':');
	if (colon != NULL)
		ip[colon - ip] = '\0';
	if (ip[0] == '[')
		memmove(ip, ip + 1, strlen(ip));
	if (ip[0] != '\0' && ip[strlen(ip) - 1] == ']')
		ip[strlen(ip) - 1] = '\0';
	if (a->host[0] == '[')
		relay_fmt(peer, peersize, "%s", a->host);
	else
		relay_fmt(peer, peersize, "%s [%s]", a->host, ip);
}

/* ---- dialling ----
 *
 * A session connects to its candidates staggered: the first address is
 * dialled, and while that attempt is still pending the next one is
 * dialled timeout_connect/8 later, and so on, up to connect_parallel
 * attempts in flight (a failed attempt starts the next at once).  The
 * first attempt that connects becomes the session's connection.  Those
 * still pending are left to finish alone, without the session: their
 * failure is remembered like any (so the next session skips an address
 * that drops SYNs), a late success is closed.  So a destination whose
 * addresses all drop SYNs costs about one connect timeout before the
 * fallback, not one per address, and every address's fate still reaches
 * the reachability memory.  The destination's concurrency limit counts
 * sessions; a session holds one connection once connected. */

static void relay_dial_more(struct relay_session *s);
static bool relay_dial_has_deadline(const struct relay_session *s);
static void relay_dial_deadline(struct relay_session *s);
static void relay_dial_event_cb(struct bufferevent *bev, short what,
    void *arg);
static void relay_dial_read_cb(struct bufferevent *bev, void *arg);
static void relay_dial_timer_cb(evutil_socket_t fd, short what, void *arg);

static void
relay_dial_free(struct relay_dial *d)
{
	struct relay_session *s = d->s;

	if (s != NULL) {
		TAILQ_REMOVE(&s->dials, d, link);
		s->ndials--;
	} else
		TAILQ_REMOVE(&d->r->dials, d, link);
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	event_free(d->timer);
	free(d);
}

/* The session is going away: its attempts are closed, not remembered. */
static void
relay_dials_cancel(struct relay_session *s)
{
	struct relay_dial *d, *next;

	for (d = TAILQ_FIRST(&s->dials); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		log_debug("%s relay connect-abandoned relay=%s port=%s",
		    s->d != NULL ? s->d->msg->id : "-", log_q(d->peer), d->key);
		relay_dial_free(d);
	}
}

void
relay_dials_free(struct relay *r)
{
	struct relay_dial *d, *next;

	for (d = TAILQ_FIRST(&r->dials); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		relay_dial_free(d);
	}
}

/* The session has its connection: the other attempts go on alone. */
static void
relay_dials_leave(struct relay_session *s)
{
	struct relay_dial *d;

	while ((d = TAILQ_FIRST(&s->dials)) != NULL) {
		TAILQ_REMOVE(&s->dials, d, link);
		s->ndials--;
		s->cstate[d->idx] = RELAY_CAND_DONE;
		d->s = NULL;
		TAILQ_INSERT_TAIL(&s->r->dials, d, link);
		log_debug("%s relay connect-left relay=%s port=%s",
		    s->d != NULL ? s->d->msg->id : "-", log_q(d->peer), d->key);
	}
}

/* Microseconds between two dials of one session. */
static uint64_t
relay_dial_stagger_us(const struct relay *r)
{
	uint64_t us = r->conf->timeout_connect * 1000000 / 8;

	return us > 0 ? us : 1;
}

/* Starts connecting to candidate idx; 0, or -1 with errno. */
static int
relay_dial_start(struct relay_session *s, size_t idx)
{
	const struct relay_addr *a = &s->cands[idx];
	struct timeval tv = { (time_t)s->r->conf->timeout_connect, 0 };
	struct relay_dial *d;
	int fd;

	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (s->target.source[0] != '\0' &&
	    nodeaddr_bind_source(fd, a->sa.ss_family, s->target.source) < 0) {
		close(fd);
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->r = s->r;
	d->s = s;
	d->idx = idx;
	relay_addr_describe(a, d->key, sizeof(d->key), d->peer,
	    sizeof(d->peer));
	d->bev = bufferevent_socket_new(s->r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (d->bev == NULL) {
		close(fd);
		free(d);
		errno = ENOMEM;
		return -1;
	}
	bufferevent_setcb(d->bev, relay_dial_read_cb, NULL,
	    relay_dial_event_cb, d);
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&a->sa,
	    (int)a->salen) < 0) {
		bufferevent_free(d->bev);
		free(d);
		return -1;
	}
	bufferevent_enable(d->bev, EV_READ);
	d->timer = evtimer_new(s->r->base, relay_dial_timer_cb, d);
	evtimer_add(d->timer, &tv);
	TAILQ_INSERT_TAIL(&s->dials, d, link);
	s->ndials++;
	s->cstate[idx] = RELAY_CAND_DIALLING;
	return 0;
}

/* An attempt failed at connection level: remembered, and (for a
 * session's own attempt) the next address dialled at once, or, with none
 * left and none pending, the candidates are exhausted. */
static void
relay_dial_failed(struct relay_dial *d, const char *why,
    enum reach_fail kind)
{
	struct relay_session *s = d->s;
	bool deadline;

	log_info("%s relay host-failed relay=%s stage=connect reason=%s%s",
	    s != NULL && s->d != NULL ? s->d->msg->id : "-", log_q(d->peer),
	    log_q(why), s == NULL ? " alone=yes" : "");
	relay_mem_set_down(d->r, d->key, kind, time(NULL));
	if (s == NULL) {
		relay_dial_free(d);
		return;
	}
	relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: %s", d->peer, why);
	/* The last address tried names the attempt in the delivery's log. */
	str_lcpy(s->peer, d->peer, sizeof(s->peer));
	str_lcpy(s->key, d->key, sizeof(s->key));
	s->cstate[d->idx] = RELAY_CAND_DONE;
	deadline = d->opens_round && kind == REACH_CONNECT_TIMEOUT;
	relay_dial_free(d);
	/* The plaintext retry of one address (tls=may) is over. */
	s->no_tls = false;
	if (deadline && s->ndials > 0 && relay_dial_has_deadline(s))
		relay_dial_deadline(s);
	else
		relay_dial_more(s);
}

static void
relay_dial_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_dial_failed(arg, "4.4.1 connection timed out",
	    REACH_CONNECT_TIMEOUT);
}

/* The attempt connected: it becomes the session's connection, or, left
 * alone, it is closed (a TCP connect is no greeting: the memory keeps
 * what it had). */
static void
relay_dial_won(struct relay_dial *d)
{
	struct relay_session *s = d->s;

	if (s == NULL) {
		log_debug("- relay connect-late relay=%s port=%s",
		    log_q(d->peer), d->key);
		relay_dial_free(d);
		return;
	}
	s->bev = d->bev;
	d->bev = NULL;
	s->cur = d->idx;
	s->cstate[d->idx] = RELAY_CAND_DONE;
	str_lcpy(s->key, d->key, sizeof(s->key));
	str_lcpy(s->peer, d->peer, sizeof(s->peer));
	relay_dial_free(d);
	relay_dials_leave(s);
	bufferevent_setcb(s->bev, relay_session_read_cb,
	    relay_session_write_cb, relay_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, RELAY_OUT_LOW, 0);
	bufferevent_setwatermark(s->bev, EV_READ, 0, RELAY_LINE_MAX * 4);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	log_debug("%s relay connected relay=%s port=%s",
	    s->d != NULL ? s->d->msg->id : "-", log_q(s->peer), s->key);
	relay_session_enter(s, RELAY_S_GREETING, s->r->conf->timeout_helo);
}

static void
relay_dial_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_dial *d = arg;
	char why[256];
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		relay_dial_won(d);
		return;
	}
	relay_fmt(why, sizeof(why), "4.4.1 %s", err == ECONNREFUSED ?
	    "connection refused" : err != 0 ? strerror(err) :
	    "connection failed");
	relay_dial_failed(d, why, err == ECONNREFUSED ? REACH_REFUSED :
	    REACH_CONNECT_ERROR);
}

/* The greeting can be read before the connect event is seen: connected. */
static void
relay_dial_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_dial *d = arg;
	struct relay_session *s = d->s;

	(void)bev;
	relay_dial_won(d);
	if (s != NULL)
		relay_session_read_cb(s->bev, s);
}

static uint64_t
relay_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Microseconds left of the round's timeout_connect (0: over). */
static uint64_t
relay_dial_left_us(const struct relay_session *s)
{
	uint64_t end = s->dial_t0_us + s->r->conf->timeout_connect * 1000000;
	uint64_t now = relay_now_us();

	return now < end ? end - now : 0;
}

/* Whether the round ends at its deadline: attempts run in parallel
 * (connect_parallel 1 keeps one address after the other, each with its
 * full timeout) and a fallback can take the mail. */
static bool
relay_dial_has_deadline(const struct relay_session *s)
{
	struct relay_target fb;

	return s->r->conf->connect_parallel > 1 &&
	    relay_session_can_fallback(s, &fb);
}

/* The session's timer while connecting: the stagger (when another
 * address is to be dialled), and the round's deadline when it has one:
 * one timeout_connect after its first dial. */
static void
relay_dial_arm(struct relay_session *s, bool stagger)
{
	bool deadline = relay_dial_has_deadline(s);
	uint64_t us = stagger ? relay_dial_stagger_us(s->r) : UINT64_MAX;
	struct timeval tv;

	if (deadline && relay_dial_left_us(s) < us)
		us = relay_dial_left_us(s);
	if (us == UINT64_MAX)
		return;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(s->timer, &tv);
}

/* The round's deadline passed with nothing connected, and a fallback
 * can take the mail: the session stops waiting.  Its attempts in flight
 * go on alone (their outcome still reaches the memory; a slow address
 * that connects late is not held down, so the next message dials it
 * again with a full timeout); addresses not dialled yet are left for
 * the next session.  So a dead destination costs one timeout_connect
 * from its first dial, however many addresses were staggered after it. */
static void
relay_dial_deadline(struct relay_session *s)
{
	log_info("%s relay connect-deadline domain=%s waited=%llus pending=%u",
	    s->d != NULL ? s->d->msg->id : "-", s->dst->domain,
	    (unsigned long long)s->r->conf->timeout_connect, s->ndials);
	relay_fmt(s->lasterr, sizeof(s->lasterr), "4.4.1 no address of %s "
	    "connected within timeout_connect (%llus)", s->dst->domain,
	    (unsigned long long)s->r->conf->timeout_connect);
	evtimer_del(s->timer);	/* no stagger from the old candidates */
	relay_dials_leave(s);
	relay_session_exhausted(s);
}

/* The connect timer: the deadline, or the stagger's next dial. */
static void
relay_dial_tick(struct relay_session *s)
{
	if (s->ndials > 0 && relay_dial_left_us(s) == 0 &&
	    relay_dial_has_deadline(s)) {
		relay_dial_deadline(s);
		return;
	}
	relay_dial_more(s);
}

/* Dials one more candidate (the first not tried yet) when fewer than
 * connect_parallel attempts are in flight, and arms the stagger timer
 * for the one after; with nothing pending and nothing left to dial, the
 * candidates are exhausted. */
static void
relay_dial_more(struct relay_session *s)
{
	unsigned max = s->r->conf->connect_parallel > 0 ?
	    s->r->conf->connect_parallel : 1;
	char why[160], key[64], peer[320];
	bool left = false, round;
	size_t i;
	int err;

	evtimer_del(s->timer);
	s->state = RELAY_S_CONNECT;
	round = s->ndials == 0;
	if (round)
		s->dial_t0_us = relay_now_us();
	for (i = 0; i < s->ncands && s->ndials < max; i++) {
		if (s->cstate[i] != RELAY_CAND_NEW)
			continue;
		relay_addr_describe(&s->cands[i], key, sizeof(key), peer,
		    sizeof(peer));
		if (relay_dial_start(s, i) == 0) {
			TAILQ_LAST(&s->dials, relay_dial_list)->opens_round =
			    round;
			log_debug("%s relay connecting relay=%s port=%s "
			    "pending=%u", s->d != NULL ? s->d->msg->id : "-",
			    log_q(peer), key, s->ndials);
			break;
		}
		err = errno;
		relay_fmt(why, sizeof(why), "4.4.1 connect failed: %s",
		    strerror(err));
		relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: %s", peer, why);
		str_lcpy(s->peer, peer, sizeof(s->peer));
		str_lcpy(s->key, key, sizeof(s->key));
		relay_mem_set_down(s->r, key, err == ECONNREFUSED ?
		    REACH_REFUSED : REACH_CONNECT_ERROR, time(NULL));
		s->cstate[i] = RELAY_CAND_DONE;
	}
	for (i = 0; i < s->ncands && !left; i++)
		left = s->cstate[i] == RELAY_CAND_NEW;
	if (s->ndials == 0) {
		relay_session_exhausted(s);
		return;
	}
	relay_dial_arm(s, left && s->ndials < max);
}

/* Connects the session: staggered dials of the candidates not tried. */
static void
relay_session_connect(struct relay_session *s)
{
	relay_dial_more(s);
}

/* Dials the session's own address again (the plaintext retry under
 * tls=may), alone. */
static void
relay_session_redial(struct relay_session *s)
{
	int err;

	evtimer_del(s->timer);
	s->state = RELAY_S_CONNECT;
	s->cstate[s->cur] = RELAY_CAND_NEW;
	if (relay_dial_start(s, s->cur) == 0)
		return;
	err = errno;
	relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: 4.4.1 connect "
	    "failed: %s", s->peer, strerror(err));
	relay_mem_set_down(s->r, s->key, err == ECONNREFUSED ?
	    REACH_REFUSED : REACH_CONNECT_ERROR, time(NULL));
	s->cstate[s->cur] = RELAY_CAND_DONE;
	s->no_tls = false;
	relay_dial_more(s);
}

/* ---- failures during a session ---- */

/* The connection broke or timed out inside a transaction: the delivery
 * in hand is deferred (its accepted recipients may have been delivered:
 * at-least-once), the rest of the destination's queue stays queued. */
static void
relay_session_lost(struct relay_session *s, const char *why)
{
	relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: %s while sending %s",
	    s->peer, why, relay_state_names[s->state]);
	log_info("%s relay connection-lost relay=%s stage=%s reason=%s",
	    s->d != NULL ? s->d->msg->id : "-", log_q(s->peer),
	    relay_state_names[s->state], log_q(why));
	relay_session_end(s);
}

/* The TLS handshake failed or hung: remembered for this address; under
 * tls=may the same address again in plaintext, else the next address
 * (a connection-level failure: the fallback relay may take the mail). */
static void
relay_tls_failed(struct relay_session *s, const char *why, bool hang)
{
	enum reach_fail kind = hang ? REACH_TLS_HANG : REACH_TLS_FAILED;

	relay_mem_set_tls_broken(s->r, s->key, kind, time(NULL));
	if (s->target.tls == CONF_TLS_MAY) {
		log_info("%s relay tls-failed relay=%s reason=%s "
		    "action=plaintext remember=%llus", s->d->msg->id,
		    log_q(s->peer), log_q(why),
		    (unsigned long long)s->r->conf->tls_broken_memory);
		relay_session_close(s);
		s->no_tls = true;
		relay_session_redial(s);
		return;
	}
	relay_host_failed(s, why, kind);
}

/* An error or timeout while not inside a transaction; kind is what the
 * memory records when it happened while connecting or greeting. */
static void
relay_session_failure(struct relay_session *s, const char *why, bool timeout,
    enum reach_fail kind)
{
	switch (s->state) {
	case RELAY_S_CONNECT:
	case RELAY_S_GREETING:
		relay_host_failed(s, why, kind != REACH_OK ? kind :
		    REACH_CONNECT_ERROR);
		break;
	case RELAY_S_TLS:
		relay_tls_failed(s, timeout ? "4.4.2 TLS handshake timed out" :
		    why, timeout);
		break;
	case RELAY_S_EHLO:
	case RELAY_S_HELO:
	case RELAY_S_STARTTLS:
	case RELAY_S_AUTH:
		relay_host_failed(s, why, REACH_OK);
		break;
	case RELAY_S_QUIT:
	case RELAY_S_IDLE:	/* the peer closed an idle connection: fine */
		relay_session_end(s);
		break;
	default:
		relay_session_lost(s, why);
		break;
	}
}

static void
relay_session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_session *s = arg;
	char why[128];

	(void)fd;
	(void)what;
	if (s->state == RELAY_S_IDLE) {
		relay_session_idle_timer(s);
		return;
	}
	if (s->state == RELAY_S_CONNECT) {	/* stagger or deadline */
		relay_dial_tick(s);
		return;
	}
	if (s->state == RELAY_S_CONNECT)
		str_lcpy(why, "4.4.1 connection timed out", sizeof(why));
	else
		relay_fmt(why, sizeof(why), "4.4.2 timed out waiting for %s",
		    s->state == RELAY_S_GREETING ? "the greeting" :
		    "a reply");
	relay_session_failure(s, why, true, s->state == RELAY_S_CONNECT ?
	    REACH_CONNECT_TIMEOUT : REACH_GREETING_TIMEOUT);
}

static void
relay_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_session *s = arg;
	char why[256];
	int err = EVUTIL_SOCKET_ERROR();
	enum reach_fail kind = REACH_CONNECT_ERROR;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == RELAY_S_TLS)
			relay_tls_established(s);
		else if (s->state == RELAY_S_CONNECT)
			relay_session_enter(s, RELAY_S_GREETING,
			    s->r->conf->timeout_helo);
		return;
	}
	if (s->state == RELAY_S_CONNECT) {
		relay_fmt(why, sizeof(why), "4.4.1 %s", err == ECONNREFUSED ?
		    "connection refused" : strerror(err));
		if (err == ECONNREFUSED)
			kind = REACH_REFUSED;
	} else if (s->state == RELAY_S_TLS)
		relay_fmt(why, sizeof(why), "4.7.5 TLS handshake failed: %s",
		    tls_error());
	else if (what & BEV_EVENT_EOF) {
		str_lcpy(why, "4.4.2 connection closed by the host",
		    sizeof(why));
		kind = REACH_CLOSED;
	} else
		relay_fmt(why, sizeof(why), "4.4.2 connection error: %s",
		    strerror(err));
	relay_session_failure(s, why, false, kind);
}

/* ---- replies ---- */

static enum relay_status
relay_code_status(int code)
{
	return code < 400 ? RELAY_SENT : code < 500 ? RELAY_TEMP : RELAY_PERM;
}

/* Gives recipient i of the delivery the peer's reply as its result. */
static void
relay_rcpt_result(struct relay_session *s, size_t i,
    const struct relay_reply *rp)
{
	struct relay_rcpt *rc = &s->d->msg->rcpts[s->d->rcpts[i]];

	rc->status = relay_code_status(rp->code);
	relay_fmt(rc->error, sizeof(rc->error), "%s: %s", s->peer, rp->text);
}

/* The delivery in hand is over; go on with the next one. */
static void
relay_session_deliv_done(struct relay_session *s)
{
	struct relay_deliv *d = s->d;

	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	s->d = NULL;
	relay_session_stamp(s, d);
	relay_deliv_finish(s->r, d);
	relay_session_next(s);
}

/* The reply to a DATA sent in the MAIL/RCPT batch (RFC 2920 3.1). */
static void
relay_txn_piped_data(struct relay_session *s)
{
	if (s->data_reply.code == 354) {
		relay_session_enter(s, RELAY_S_BODY,
		    s->r->conf->timeout_data_block);
		relay_body_pump(s);
	} else
		relay_txn_final(s, &s->data_reply);
}

/* Every reply of the pipelined or stepwise MAIL/RCPT batch is in. */
static void
relay_txn_replies_done(struct relay_session *s)
{
	size_t i;

	if (s->mail_reply.code >= 400)
		for (i = 0; i < s->d->n; i++)
			relay_rcpt_result(s, i, &s->mail_reply);
	if (s->mail_reply.code >= 400 || s->naccepted == 0) {
		if (s->data_piped && s->data_reply.code == 354) {
			/* No recipient, yet the peer wants content: an empty
			 * message is ended at once and its reply ignored. */
			relay_session_send(s, ".\r\n", 3);
			s->skip++;
		}
		s->need_rset = true;
		relay_session_deliv_done(s);
		return;
	}
	if (s->data_piped)
		relay_txn_piped_data(s);
	else
		relay_data_start(s);
}

static void
relay_txn_send_rcpt(struct relay_session *s, size_t i)
{
	const char *addr = s->d->msg->rcpts[s->d->rcpts[i]].addr;
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_addf(&b, "RCPT TO:<%s>\r\n", addr);
	relay_session_send(s, b.data, b.len);
	fbuf_release(&b);
	s->nsent++;
}

static void
relay_txn_reply(struct relay_session *s, const struct relay_reply *rp)
{
	size_t idx;

	if (s->skip > 0) {
		s->skip--;
		return;
	}
	idx = s->nreplied++;
	if (idx == 0)
		s->mail_reply = *rp;
	else if (idx == 1 + s->d->n)
		s->data_reply = *rp;
	else if (s->mail_reply.code < 400) {
		if (rp->code < 400)
			s->naccepted++;
		else
			relay_rcpt_result(s, idx - 1, rp);
	}
	if (s->nreplied == 1 + s->d->n + (s->data_piped ? 1 : 0) ||
	    (s->mail_reply.code >= 400 && s->nsent == s->nreplied)) {
		relay_txn_replies_done(s);
		return;
	}
	if (s->nsent == s->nreplied) {
		relay_txn_send_rcpt(s, s->nsent - 1);
		relay_session_timer(s, s->r->conf->timeout_rcpt);
	}
}

static int
relay_content_open(struct relay_session *s, uint64_t *size_r)
{
	struct stat st;

	s->fd = open(s->d->msg->path, O_RDONLY | O_CLOEXEC);
	if (s->fd == -1 || fstat(s->fd, &st) < 0) {
		log_err("%s relay content unreadable path=%s", s->d->msg->id,
		    log_q(s->d->msg->path));
		if (s->fd != -1)
			close(s->fd);
		s->fd = -1;
		return -1;
	}
	*size_r = (uint64_t)st.st_size;
	s->tail[0] = '\r';
	s->tail[1] = '\n';
	s->bol = true;
	return 0;
}

/* Opens the content for this delivery; when it cannot be read, the
 * delivery is deferred (nothing was sent for it) and -1 returned. */
static int
relay_txn_open(struct relay_session *s)
{
	uint64_t size;
	size_t i;

	if (relay_content_open(s, &size) == 0) {
		s->content_size = size;
		return 0;
	}
	for (i = 0; i < s->d->n; i++) {
		struct relay_rcpt *rc = &s->d->msg->rcpts[s->d->rcpts[i]];

		rc->status = RELAY_TEMP;
		str_lcpy(rc->error, "4.3.0 spool content unreadable",
		    sizeof(rc->error));
	}
	relay_session_deliv_done(s);
	return -1;
}

static void
relay_data_start(struct relay_session *s)
{
	char line[64];
	uint64_t size;

	s->need_rset = true;		/* for the next, if this one fails */
	if (relay_txn_open(s) < 0)
		return;
	s->need_rset = false;
	size = s->content_size;
	s->bdat = (s->ext & RELAY_EXT_CHUNKING) != 0;
	if (!s->bdat) {
		relay_session_cmd(s, RELAY_S_DATA,
		    s->r->conf->timeout_data_init, "DATA");
		return;
	}
	relay_fmt(line, sizeof(line), "BDAT %llu LAST", (unsigned long long)size);
	relay_session_cmd(s, RELAY_S_BODY, s->r->conf->timeout_data_block,
	    line);
	relay_body_pump(s);
}

/* Dot-stuffing (RFC 5321 4.5.2): a line starting with "." gets another. */
static void
relay_body_stuff(struct relay_session *s, const char *p, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		if (s->bol && p[i] == '.') {
			evbuffer_add(out, p + start, i - start);
			evbuffer_add(out, ".", 1);
			start = i;
		}
		s->bol = p[i] == '\n';
	}
	evbuffer_add(out, p + start, n - start);
}

static void
relay_body_end(struct relay_session *s)
{
	close(s->fd);
	s->fd = -1;
	if (!s->bdat) {
		if (s->tail[0] != '\r' || s->tail[1] != '\n')
			relay_session_send(s, "\r\n", 2);
		relay_session_send(s, ".\r\n", 3);
	}
	relay_session_enter(s, RELAY_S_DOT, s->r->conf->timeout_data_done);
}

/* Moves content from the spool file to the socket while the output
 * buffer is below its high mark; the write callback calls again. */
static void
relay_body_pump(struct relay_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	char buf[RELAY_CHUNK];
	ssize_t n;

	while (evbuffer_get_length(out) < RELAY_OUT_HIGH) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("%s relay content read failed", s->d->msg->id);
			relay_session_lost(s, "4.3.0 spool read error");
			return;
		}
		if (n == 0) {
			relay_body_end(s);
			return;
		}
		if (n >= 2)
			memcpy(s->tail, buf + n - 2, 2);
		else {
			s->tail[0] = s->tail[1];
			s->tail[1] = buf[0];
		}
		if (s->bdat)
			evbuffer_add(out, buf, (size_t)n);
		else
			relay_body_stuff(s, buf, (size_t)n);
	}
	relay_session_timer(s, s->r->conf->timeout_data_block);
}

static void
relay_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay_session *s = arg;

	(void)bev;
	if (s->state == RELAY_S_BODY && s->fd != -1)
		relay_body_pump(s);
}

/* The reply to the end of data (or BDAT LAST) for every recipient that
 * the peer accepted at RCPT. */
static void
relay_txn_final(struct relay_session *s, const struct relay_reply *rp)
{
	size_t i;

	for (i = 0; i < s->d->n; i++)
		if (s->d->msg->rcpts[s->d->rcpts[i]].status == RELAY_WAIT)
			relay_rcpt_result(s, i, rp);
	s->need_rset = rp->code >= 300;
	relay_session_deliv_done(s);
}

/* What the peer's extensions rule out before MAIL: 1 when the delivery
 * may go ahead, 0 when it failed (results set). */
static int
relay_txn_check(struct relay_session *s)
{
	const struct relay_msg *m = s->d->msg;
	char why[256];

	why[0] = '\0';
	if ((s->ext & RELAY_EXT_SIZE) && s->size_max > 0 &&
	    m->size > s->size_max)
		relay_fmt(why, sizeof(why), "5.3.4 message size %llu exceeds "
		    "the size limit %llu of the host",
		    (unsigned long long)m->size,
		    (unsigned long long)s->size_max);
	else if (m->smtputf8 && !(s->ext & RELAY_EXT_SMTPUTF8))
		str_lcpy(why, "5.6.7 the message needs SMTPUTF8, which the "
		    "host does not support", sizeof(why));
	else if (m->eightbit && !(s->ext & RELAY_EXT_8BITMIME))
		str_lcpy(why, "5.6.3 the message has 8-bit content, which the "
		    "host does not accept (no 8BITMIME)", sizeof(why));
	if (why[0] == '\0')
		return 1;
	relay_fmt(s->lasterr, sizeof(s->lasterr), "%s: %s", s->peer, why);
	relay_session_stamp(s, s->d);
	relay_deliv_fail(s->r, s->d, RELAY_PERM, s->lasterr);
	s->d = NULL;
	return 0;
}

static void
relay_txn_start(struct relay_session *s)
{
	const struct relay_msg *m = s->d->msg;
	bool pipe = (s->ext & RELAY_EXT_PIPELINING) != 0;
	struct fbuf b;
	size_t i;

	if (s->need_rset && !pipe) {
		relay_session_cmd(s, RELAY_S_RSET, s->r->conf->timeout_mail,
		    "RSET");
		return;
	}
	s->data_piped = pipe && !(s->ext & RELAY_EXT_CHUNKING);
	s->bdat = false;
	if (s->data_piped && relay_txn_open(s) < 0)
		return;
	fbuf_init(&b, 0);
	if (s->need_rset) {
		fbuf_adds(&b, "RSET\r\n");
		s->skip++;
	}
	s->need_rset = false;
	fbuf_addf(&b, "MAIL FROM:<%s>", m->sender);
	if (s->ext & RELAY_EXT_SIZE)
		fbuf_addf(&b, " SIZE=%llu", (unsigned long long)m->size);
	if (m->eightbit && (s->ext & RELAY_EXT_8BITMIME))
		fbuf_adds(&b, " BODY=8BITMIME");
	if (m->smtputf8 && (s->ext & RELAY_EXT_SMTPUTF8))
		fbuf_adds(&b, " SMTPUTF8");
	fbuf_adds(&b, "\r\n");
	relay_session_send(s, b.data, b.len);
	fbuf_release(&b);
	s->nsent = 1;
	s->nreplied = s->naccepted = 0;
	memset(&s->mail_reply, 0, sizeof(s->mail_reply));
	memset(&s->data_reply, 0, sizeof(s->data_reply));
	for (i = 0; pipe && i < s->d->n; i++)
		relay_txn_send_rcpt(s, i);
	if (s->data_piped) {
		relay_session_send(s, "DATA\r\n", 6);
		s->nsent++;
	}
	relay_session_enter(s, RELAY_S_TXN, pipe ? s->r->conf->timeout_mail +
	    s->r->conf->timeout_rcpt : s->r->conf->timeout_mail);
}

/* Takes the destination's next delivery onto this connection, or parks
 * the connection for RELAY_IDLE_SECS (mail often comes in bursts: the
 * next message then needs no new connection, EHLO or TLS handshake). */
static void
relay_session_next(struct relay_session *s)
{
	/* A connection to the fallback relay takes no more work once some
	 * address came back: the next session tries direct delivery. */
	if (s->via_fallback && s->up_gen != s->r->up_gen) {
		relay_session_cmd(s, RELAY_S_QUIT, RELAY_QUIT_SECS, "QUIT");
		return;
	}
	while ((s->d = relay_dest_take(s->r, s->dst)) != NULL)
		if (relay_txn_check(s) == 1) {
			relay_txn_start(s);
			return;
		}
	s->state = RELAY_S_IDLE;
	s->idle = true;
	TAILQ_INSERT_TAIL(&s->dst->idle, s, ilink);
	relay_session_timer(s, RELAY_IDLE_SECS);
}

/* The idle timer: either the idle time is over (QUIT), or the session
 * was woken for new work (relay_session_wake_idle). */
static void
relay_session_idle_timer(struct relay_session *s)
{
	if (s->idle) {
		TAILQ_REMOVE(&s->dst->idle, s, ilink);
		s->idle = false;
		relay_session_cmd(s, RELAY_S_QUIT, RELAY_QUIT_SECS, "QUIT");
		return;
	}
	relay_session_next(s);
}

bool
relay_session_wake_idle(struct relay_dest *dst)
{
	struct relay_session *s = TAILQ_FIRST(&dst->idle);

	if (s == NULL)
		return false;
	TAILQ_REMOVE(&dst->idle, s, ilink);
	s->idle = false;
	/* Deferred to the loop: the caller may be in the middle of queueing. */
	evtimer_del(s->timer);
	event_active(s->timer, EV_TIMEOUT, 0);
	return true;
}

/* ---- greeting, EHLO, STARTTLS, AUTH ---- */

static void
relay_session_ehlo(struct relay_session *s, const char *verb)
{
	char line[300];

	relay_fmt(line, sizeof(line), "%s %s", verb, s->r->conf->hostname);
	s->ext = 0;
	s->size_max = 0;
	relay_session_cmd(s, strcmp(verb, "EHLO") == 0 ? RELAY_S_EHLO :
	    RELAY_S_HELO, s->r->conf->timeout_helo, line);
}

static void
relay_tls_start(struct relay_session *s)
{
	bool verify = s->target.tls == CONF_TLS_VERIFY;
	const char *name = s->cands[s->cur].host;
	struct bufferevent *tb;
	SSL *ssl;

	ssl = tls_client_ssl(verify ? s->r->tls_verify : s->r->tls_any, name,
	    verify);
	tb = ssl == NULL ? NULL : bufferevent_openssl_filter_new(s->r->base,
	    s->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		relay_session_enter(s, RELAY_S_TLS, 1);
		relay_tls_failed(s, "4.7.5 TLS set-up failed", false);
		return;
	}
	s->bev = tb;
	bufferevent_setcb(tb, relay_session_read_cb, relay_session_write_cb,
	    relay_session_event_cb, s);
	bufferevent_setwatermark(tb, EV_WRITE, RELAY_OUT_LOW, 0);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	relay_session_enter(s, RELAY_S_TLS, s->r->conf->timeout_tls);
}

static void
relay_tls_established(struct relay_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	s->tls_active = true;
	relay_mem_tls_ok(s->r, s->key, "delivery");
	relay_fmt(s->tls_desc, sizeof(s->tls_desc), "%s/%s", tls_version(ssl),
	    tls_cipher(ssl));
	log_debug("%s relay tls relay=%s tls=%s", s->d->msg->id,
	    log_q(s->peer), s->tls_desc);
	relay_session_ehlo(s, "EHLO");
}

static int
relay_auth_load(const char *path, char *user, size_t usize, char *pass,
    size_t psize)
{
	struct fbuf b;
	char *colon, *nl;
	int ret = -1;

	fbuf_init(&b, 4096);
	if (fsio_read_file(path, &b, 4096) == 0 && b.len > 0) {
		nl = strpbrk(b.data, "\r\n");
		if (nl != NULL)
			*nl = '\0';
		colon = strchr(b.data, ':');
		if (colon != NULL) {
			*colon = '\0';
			if (str_lcpy(user, b.data, usize) < usize &&
			    str_lcpy(pass, colon + 1, psize) < psize)
				ret = 0;
		}
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	fbuf_release(&b);
	return ret;
}

static void
relay_b64(const void *p, size_t n, char *dst, size_t size)
{
	if (size < 4 * ((n + 2) / 3) + 1) {
		dst[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)dst, p, (int)n);
}

/* Sends AUTH PLAIN, or the first or second step of AUTH LOGIN. */
static void
relay_auth_send(struct relay_session *s)
{
	char user[256], pass[256], raw[520], line[800], enc[720];
	size_t ul, pl;

	if (relay_auth_load(s->target.auth_file, user, sizeof(user), pass,
	    sizeof(pass)) < 0) {
		relay_host_failed(s, "4.7.0 cannot read the route's auth file",
		    REACH_OK);
		return;
	}
	ul = strlen(user);
	pl = strlen(pass);
	if (s->ext & RELAY_EXT_AUTH_PLAIN) {
		raw[0] = '\0';
		memcpy(raw + 1, user, ul + 1);
		memcpy(raw + 2 + ul, pass, pl);
		relay_b64(raw, ul + pl + 2, enc, sizeof(enc));
		relay_fmt(line, sizeof(line), "AUTH PLAIN %s", enc);
		s->auth_step = 3;
	} else if (s->auth_step == 0) {
		str_lcpy(line, "AUTH LOGIN", sizeof(line));
		s->auth_step = 1;
	} else {
		relay_b64(s->auth_step == 1 ? user : pass, s->auth_step == 1 ?
		    ul : pl, line, sizeof(line));
		s->auth_step++;
	}
	relay_session_cmd(s, RELAY_S_AUTH, s->r->conf->timeout_helo, line);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(line, sizeof(line));
	explicit_bzero(enc, sizeof(enc));
}

static void
relay_session_auth(struct relay_session *s)
{
	if (s->target.auth_file[0] == '\0') {
		relay_session_begin(s);
		return;
	}
	if (!s->tls_active) {
		relay_host_failed(s, "4.7.0 not sending credentials without TLS",
		    REACH_OK);
		return;
	}
	if (!(s->ext & (RELAY_EXT_AUTH_PLAIN | RELAY_EXT_AUTH_LOGIN))) {
		relay_host_failed(s, "4.7.0 the host offers no AUTH PLAIN or "
		    "LOGIN", REACH_OK);
		return;
	}
	s->auth_step = 0;
	relay_auth_send(s);
}

/* After EHLO/HELO: STARTTLS if the mode and the peer allow, else on. */
static void
relay_session_ready(struct relay_session *s)
{
	int mode = s->target.tls;
	bool want = mode != CONF_TLS_NONE && !s->tls_active &&
	    s->r->tls_any != NULL && !(mode == CONF_TLS_MAY && (s->no_tls ||
	    relay_mem_tls_broken(s->r, s->key, time(NULL))));

	if (want && (s->ext & RELAY_EXT_STARTTLS)) {
		relay_session_cmd(s, RELAY_S_STARTTLS, s->r->conf->timeout_helo,
		    "STARTTLS");
		return;
	}
	if (!s->tls_active && (mode == CONF_TLS_ENCRYPT ||
	    mode == CONF_TLS_VERIFY)) {
		relay_host_failed(s, "4.7.4 TLS is required, but the host "
		    "does not offer STARTTLS", REACH_OK);
		return;
	}
	relay_session_auth(s);
}

/* ---- reply dispatch ---- */

static void
relay_reply_auth(struct relay_session *s, const struct relay_reply *rp)
{
	char why[RELAY_ERROR_MAX];

	if (rp->code == 235) {
		log_debug("%s relay authenticated relay=%s", s->d->msg->id,
		    log_q(s->peer));
		relay_session_begin(s);
	} else if (rp->code == 334 && s->auth_step > 0 && s->auth_step < 3)
		relay_auth_send(s);
	else {
		relay_fmt(why, sizeof(why), "authentication failed: %s",
		    rp->text);
		relay_host_failed(s, why, REACH_OK);
	}
}

static void
relay_reply_setup(struct relay_session *s, const struct relay_reply *rp)
{
	switch (s->state) {
	case RELAY_S_GREETING:
		/* A 4xx greeting (busy, or "not from your network") keeps
		 * the mail out as surely as a timeout: connection level. */
		if (rp->code / 100 == 2) {
			relay_mem_set_up(s->r, s->key, "delivery", time(NULL));
			relay_session_ehlo(s, "EHLO");
		} else
			relay_host_failed(s, rp->text, rp->code / 100 == 4 ?
			    REACH_GREETING_4XX : REACH_OK);
		break;
	case RELAY_S_EHLO:
		log_debug("%s relay ehlo relay=%s code=%d ext=0x%x size=%llu",
		    s->d->msg->id, log_q(s->peer), rp->code, s->ext,
		    (unsigned long long)s->size_max);
		if (rp->code / 100 == 2)
			relay_session_ready(s);
		else if (rp->code >= 500)
			relay_session_ehlo(s, "HELO");
		else
			relay_host_failed(s, rp->text, REACH_OK);
		break;
	case RELAY_S_HELO:
		if (rp->code / 100 == 2) {
			s->ext = 0;
			relay_session_ready(s);
		} else
			relay_host_failed(s, rp->text, REACH_OK);
		break;
	case RELAY_S_STARTTLS:
		if (rp->code == 220)
			relay_tls_start(s);
		else if (s->target.tls == CONF_TLS_MAY)
			relay_session_auth(s);
		else
			relay_host_failed(s, rp->text, REACH_OK);
		break;
	default:
		relay_reply_auth(s, rp);
		break;
	}
}

static void
relay_session_reply(struct relay_session *s, const struct relay_reply *rp)
{
	switch (s->state) {
	case RELAY_S_GREETING:
	case RELAY_S_EHLO:
	case RELAY_S_HELO:
	case RELAY_S_STARTTLS:
	case RELAY_S_AUTH:
		relay_reply_setup(s, rp);
		break;
	case RELAY_S_RSET:
		s->need_rset = false;
		relay_txn_start(s);
		break;
	case RELAY_S_TXN:
		relay_txn_reply(s, rp);
		break;
	case RELAY_S_DATA:
		if (rp->code == 354) {
			relay_session_enter(s, RELAY_S_BODY,
			    s->r->conf->timeout_data_block);
			relay_body_pump(s);
		} else
			relay_txn_final(s, rp);
		break;
	case RELAY_S_DOT:
	case RELAY_S_BODY:
		relay_txn_final(s, rp);
		break;
	case RELAY_S_QUIT:
	case RELAY_S_IDLE:
		relay_session_end(s);
		break;
	default:
		relay_session_lost(s, "4.5.0 unexpected reply");
		break;
	}
}

static void
relay_session_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct relay_reply rp;
	bool alive = true;
	size_t len;
	char *line;
	int r;

	/* The greeting can be read before the connect event is seen. */
	if (s->state == RELAY_S_CONNECT)
		relay_session_enter(s, RELAY_S_GREETING,
		    s->r->conf->timeout_helo);
	s->alive_r = &alive;
	/* a session freed in relay_session_reply clears alive through
	 * s->alive_r, and the loop stops; the analyser loses that store */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	while (s->bev == bev && s->state != RELAY_S_TLS &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		r = relay_reply_line(&s->reply, line, len,
		    s->state == RELAY_S_EHLO ? &s->ext : NULL, &s->size_max);
		free(line);
		if (r < 0) {
			s->alive_r = NULL;
			relay_session_failure(s, "4.5.0 malformed reply", false,
			    REACH_CLOSED);
			return;
		}
		if (r == 0)
			continue;
		rp = s->reply;
		memset(&s->reply, 0, sizeof(s->reply));
		evtimer_del(s->timer);
		relay_session_reply(s, &rp);
		if (!alive)
			return;
	}
	s->alive_r = NULL;
	if (s->bev == bev && evbuffer_get_length(in) > RELAY_LINE_MAX)
		relay_session_failure(s, "4.5.0 reply line too long", false,
		    REACH_CLOSED);
}

static void
relay_session_begin(struct relay_session *s)
{
	if (relay_txn_check(s) == 1)
		relay_txn_start(s);
	else
		relay_session_next(s);
}
