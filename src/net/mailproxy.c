/* The login proxy to a home node (mailproxy.h).  Two phases on one
 * object: the login dialogue (a small state machine per protocol, one
 * reply line at a time through mailproxy_reply.c, every step under the
 * timeout), then the relay (two bufferevents, each side's input appended
 * to the other side's output; a side stops being read while the other
 * side's output is above MAILPROXY_HIGH and resumes once it drained
 * below MAILPROXY_LOW, so neither a slow client nor a slow home node
 * makes the proxy buffer more than about that much per direction).
 * TLS to the home node is opportunistic and unverified: nodes are
 * entered by IP address, and what it protects against is a passive
 * listener on the nodes' network, which is what sees the replayed
 * password otherwise (docs/design-notes.md).  RFC 9051 6.2.1
 * (STARTTLS), 6.2.2 (AUTHENTICATE), RFC 2971 (ID), RFC 4959 (SASL-IR),
 * RFC 4616 (PLAIN); RFC 2595 (STLS), RFC 5034 (POP3 AUTH). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "auth/sasl.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/mailproxy.h"
#include "net/mailproxy_reply.h"
#include "net/nodeaddr.h"
#include "net/session_io.h"
#include "net/tls.h"

#define MAILPROXY_LINE_MAX 8192		/* a reply line while logging in */
#define MAILPROXY_HIGH (256 * 1024)	/* stop reading the other side */
#define MAILPROXY_LOW (64 * 1024)	/* and read it again below this */
#define MAILPROXY_READ_HIGH (64 * 1024)	/* per read */

enum mailproxy_step {
	MAILPROXY_S_GREETING,
	MAILPROXY_S_CAPA,		/* POP3: waiting for CAPA's +OK */
	MAILPROXY_S_CAPA_LIST,		/* POP3: CAPA's lines until "." */
	MAILPROXY_S_STARTTLS,
	MAILPROXY_S_ID,
	MAILPROXY_S_AUTH,
	MAILPROXY_S_DONE,		/* reported */
	MAILPROXY_S_RELAY
};

struct mailproxy;

struct mailproxy_side {
	struct mailproxy *m;
	struct bufferevent *bev;
	struct mailproxy_side *peer;
	uint64_t copied;		/* octets taken from this side */
	bool closed;
};

struct mailproxy {
	struct event_base *base;
	enum mailproxy_proto proto;
	enum mailproxy_step step;
	char id[64];
	char user[320];
	char password[SASL_FIELD_MAX];
	char client_ip[64];
	char caps[MAILPROXY_CAPS_MAX];
	bool tls;
	bool starttls;			/* the home offers it */
	bool skip_line;
	unsigned timeout;
	struct event *report_ev;	/* the result, reported from the loop */
	mailproxy_login_cb *login_cb;
	mailproxy_end_cb *end_cb;
	void *ctx;
	struct mailproxy_side client, home;
	bool ok;			/* the login's result, once reported */
	char why[160];
	bool ending;			/* a side closed: draining the other */
	const char *end_why;
};

static SSL_CTX *mailproxy_ssl_ctx;	/* the loop's, made at first use */

static void mailproxy_login_read(struct bufferevent *bev, void *arg);
static void mailproxy_login_event(struct bufferevent *bev, short what,
    void *arg);

static void
mailproxy_wipe(struct mailproxy *m)
{
	explicit_bzero(m->password, sizeof(m->password));
}

/* Ends the login dialogue; the callback runs from the loop (a zero
 * timer), so m stays valid for the caller of this. */
static void
mailproxy_report(struct mailproxy *m, bool ok, const char *why)
{
	struct timeval now = { 0, 0 };

	if (m->step >= MAILPROXY_S_DONE)
		return;
	mailproxy_wipe(m);
	m->step = MAILPROXY_S_DONE;
	m->ok = ok;
	str_lcpy(m->why, why, sizeof(m->why));
	if (m->home.bev != NULL)
		bufferevent_disable(m->home.bev, EV_READ);
	evtimer_add(m->report_ev, &now);
}

static void
mailproxy_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailproxy *m = arg;

	m->login_cb(m->ok, m->ok ? m->caps : "", m->why, m->ctx);
}

static void
mailproxy_send(struct mailproxy *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mailproxy_send(struct mailproxy *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(m->home.bev), fmt, ap);
	va_end(ap);
}

/* The SASL PLAIN response for the user's credentials into dst. */
static int
mailproxy_plain(struct mailproxy *m, char *dst, size_t size)
{
	char raw[2 * SASL_FIELD_MAX + 2];
	size_t u = strlen(m->user), p = strlen(m->password);
	int r;

	if (u + p + 2 > sizeof(raw))
		return -1;
	raw[0] = '\0';
	memcpy(raw + 1, m->user, u);
	raw[1 + u] = '\0';
	memcpy(raw + 2 + u, m->password, p);
	r = sasl_base64_encode(raw, u + p + 2, dst, size);
	explicit_bzero(raw, sizeof(raw));
	return r < 0 ? -1 : 0;
}

static void
mailproxy_auth(struct mailproxy *m)
{
	char b64[4 * SASL_FIELD_MAX];

	if (mailproxy_plain(m, b64, sizeof(b64)) < 0) {
		mailproxy_report(m, false, "credentials too long");
		return;
	}
	if (m->proto == MAILPROXY_IMAP)
		mailproxy_send(m, "p4 AUTHENTICATE PLAIN %s\r\n", b64);
	else
		mailproxy_send(m, "AUTH PLAIN %s\r\n", b64);
	explicit_bzero(b64, sizeof(b64));
	mailproxy_wipe(m);
	m->step = MAILPROXY_S_AUTH;
}

/* The client's address (IMAP ID x-originating-ip, POP3 XCLIENT ADDR=;
 * the home takes either from a node's address only), then the login.
 * Its answer does not matter: a home that does not take it logs the
 * login under this node's address, and the login goes on. */
static void
mailproxy_id(struct mailproxy *m)
{
	if (m->client_ip[0] == '\0') {
		mailproxy_auth(m);
		return;
	}
	if (m->proto == MAILPROXY_POP3)
		mailproxy_send(m, "XCLIENT ADDR=%s\r\n", m->client_ip);
	else
		mailproxy_send(m, "p3 ID (\"x-originating-ip\" \"%s\")\r\n",
		    m->client_ip);
	m->step = MAILPROXY_S_ID;
}

/* STARTTLS answered: a TLS client filter over the connection. */
static int
mailproxy_tls(struct mailproxy *m)
{
	struct timeval tv = { (time_t)m->timeout, 0 };
	struct bufferevent *f;
	SSL *ssl;

	if (mailproxy_ssl_ctx == NULL &&
	    (mailproxy_ssl_ctx = tls_client_ctx(false)) == NULL)
		return -1;
	if ((ssl = tls_client_ssl(mailproxy_ssl_ctx, NULL, false)) == NULL)
		return -1;
	f = bufferevent_openssl_filter_new(m->base, m->home.bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	m->home.bev = f;
	bufferevent_setcb(f, mailproxy_login_read, NULL,
	    mailproxy_login_event, m);
	bufferevent_set_timeouts(f, &tv, &tv);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	m->tls = true;
	return 0;
}

/* After the capabilities: STARTTLS when offered, else on. */
static void
mailproxy_after_caps(struct mailproxy *m)
{
	if (m->starttls && !m->tls) {
		mailproxy_send(m, m->proto == MAILPROXY_IMAP ?
		    "p2 STARTTLS\r\n" : "STLS\r\n");
		m->step = MAILPROXY_S_STARTTLS;
		return;
	}
	mailproxy_id(m);
}

static void
mailproxy_starttls_done(struct mailproxy *m, bool ok)
{
	if (!ok) {
		/* offered but refused: going on in plaintext would hand the
		 * password to whoever made it refuse */
		mailproxy_report(m, false, "home refused STARTTLS");
		return;
	}
	if (mailproxy_tls(m) < 0) {
		mailproxy_report(m, false, "cannot start TLS");
		return;
	}
	mailproxy_id(m);
}

/* One reply line from an IMAP home node. */
static void
mailproxy_imap_step(struct mailproxy *m, const char *line)
{
	static const char *const tags[] = { "", "p1", "", "p2", "p3", "p4" };
	struct mailproxy_reply r;

	mailproxy_imap_line(line, m->step < sizeof(tags) / sizeof(tags[0]) ?
	    tags[m->step] : "", &r);
	if (r.kind == MAILPROXY_BYE) {
		mailproxy_report(m, false, "home said BYE");
		return;
	}
	if (r.caps[0] != '\0')
		str_lcpy(m->caps, r.caps, sizeof(m->caps));
	switch (m->step) {
	case MAILPROXY_S_GREETING:
		if (r.kind != MAILPROXY_GREETING) {
			mailproxy_report(m, false, "no greeting");
			return;
		}
		mailproxy_send(m, "p1 CAPABILITY\r\n");
		m->step = MAILPROXY_S_CAPA;
		break;
	case MAILPROXY_S_CAPA:
		if (r.kind == MAILPROXY_OTHER || r.kind == MAILPROXY_GREETING)
			return;
		m->starttls = mailproxy_caps_has(m->caps, "STARTTLS");
		mailproxy_after_caps(m);
		break;
	case MAILPROXY_S_STARTTLS:
		if (r.kind != MAILPROXY_OTHER && r.kind != MAILPROXY_GREETING)
			mailproxy_starttls_done(m, r.kind == MAILPROXY_OK);
		break;
	case MAILPROXY_S_ID:
		if (r.kind != MAILPROXY_OTHER && r.kind != MAILPROXY_GREETING)
			mailproxy_auth(m);
		break;
	case MAILPROXY_S_AUTH:
		if (line[0] == '+') {
			mailproxy_report(m, false, "home asked for more");
			return;
		}
		if (r.kind == MAILPROXY_OK) {
			/* caps from the OK's code only: older ones are the
			 * unauthenticated list */
			str_lcpy(m->caps, r.caps, sizeof(m->caps));
			mailproxy_report(m, true, "");
		} else if (r.kind == MAILPROXY_NO || r.kind == MAILPROXY_BAD)
			mailproxy_report(m, false, "home refused the login");
		break;
	default:
		break;
	}
}

/* One reply line from a POP3 home node. */
static void
mailproxy_pop3_step(struct mailproxy *m, const char *line)
{
	int st = mailproxy_pop3_status(line);

	switch (m->step) {
	case MAILPROXY_S_GREETING:
		if (st != 1) {
			mailproxy_report(m, false, "no greeting");
			return;
		}
		mailproxy_send(m, "CAPA\r\n");
		m->step = MAILPROXY_S_CAPA;
		break;
	case MAILPROXY_S_CAPA:
		if (st == 1)
			m->step = MAILPROXY_S_CAPA_LIST;
		else
			mailproxy_after_caps(m);
		break;
	case MAILPROXY_S_CAPA_LIST:
		if (strcmp(line, ".") == 0)
			mailproxy_after_caps(m);
		else if (strcasecmp(line, "STLS") == 0)
			m->starttls = true;
		break;
	case MAILPROXY_S_STARTTLS:
		mailproxy_starttls_done(m, st == 1);
		break;
	case MAILPROXY_S_ID:
		mailproxy_auth(m);
		break;
	case MAILPROXY_S_AUTH:
		if (st == 1)
			mailproxy_report(m, true, "");
		else
			mailproxy_report(m, false, "home refused the login");
		break;
	default:
		break;
	}
}

static void
mailproxy_login_read(struct bufferevent *bev, void *arg)
{
	struct mailproxy *m = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool overlong;
	char *line;
	size_t len;

	while (m->step < MAILPROXY_S_DONE) {
		if (session_io_line(in, MAILPROXY_LINE_MAX, &m->skip_line,
		    &overlong, &line, &len) != 1)
			break;
		if (line == NULL)
			continue;
		if (m->proto == MAILPROXY_IMAP)
			mailproxy_imap_step(m, line);
		else
			mailproxy_pop3_step(m, line);
		free(line);
	}
}

static void
mailproxy_login_event(struct bufferevent *bev, short what, void *arg)
{
	struct mailproxy *m = arg;
	char why[160];
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (m->step >= MAILPROXY_S_DONE)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "home closed the connection");
	else if (m->tls)
		snprintf(why, sizeof(why), "tls: %s", tls_error());
	else
		snprintf(why, sizeof(why), "connect: %s",
		    err != 0 ? strerror(err) : "failed");
	mailproxy_report(m, false, why);
}

/* The home's address as a sockaddr. */
static socklen_t
mailproxy_sockaddr(const struct nodeaddr *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a->v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		if (inet_pton(AF_INET6, a->host, &s6->sin6_addr) != 1)
			return 0;
		return sizeof(*s6);
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)a->port);
	if (inet_pton(AF_INET, a->host, &s4->sin_addr) != 1)
		return 0;
	return sizeof(*s4);
}

/* Opens the connection: NULL, or why it cannot be opened. */
static const char *
mailproxy_dial(struct mailproxy *m, const struct mailproxy_params *p)
{
	struct sockaddr_storage ss;
	socklen_t len = mailproxy_sockaddr(p->addr, &ss);
	struct timeval tv = { (time_t)p->timeout, 0 };
	int fd;

	if (len == 0)
		return "bad address";
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return "cannot make a socket";
	if (p->source != NULL && p->source[0] != '\0' &&
	    nodeaddr_bind_source(fd, ss.ss_family, p->source) < 0) {
		close(fd);
		return "cannot bind to this node's address";
	}
	m->home.bev = bufferevent_socket_new(m->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (m->home.bev == NULL) {
		close(fd);
		return "out of memory";
	}
	bufferevent_setcb(m->home.bev, mailproxy_login_read, NULL,
	    mailproxy_login_event, m);
	bufferevent_set_timeouts(m->home.bev, &tv, &tv);
	bufferevent_setwatermark(m->home.bev, EV_READ, 0,
	    MAILPROXY_READ_HIGH);
	bufferevent_enable(m->home.bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(m->home.bev, (struct sockaddr *)&ss,
	    (int)len) < 0)
		return "connect failed";
	return NULL;
}

struct mailproxy *
mailproxy_start(struct event_base *base, const struct mailproxy_params *p,
    mailproxy_login_cb *cb, void *ctx)
{
	struct mailproxy *m = xcalloc(1, sizeof(*m));
	const char *why;

	m->base = base;
	m->proto = p->proto;
	m->timeout = p->timeout;
	m->login_cb = cb;
	m->ctx = ctx;
	m->client.m = m->home.m = m;
	m->client.peer = &m->home;
	m->home.peer = &m->client;
	str_lcpy(m->id, p->session_id, sizeof(m->id));
	str_lcpy(m->user, p->user, sizeof(m->user));
	str_lcpy(m->client_ip, p->client_ip, sizeof(m->client_ip));
	m->report_ev = evtimer_new(base, mailproxy_report_cb, m);
	if (str_lcpy(m->password, p->password, sizeof(m->password)) >=
	    sizeof(m->password))
		why = "credentials too long";
	else
		why = mailproxy_dial(m, p);
	if (why != NULL)
		mailproxy_report(m, false, why);
	return m;
}

/* ---- the relay ---- */

static void
mailproxy_end(struct mailproxy *m, const char *why)
{
	bufferevent_disable(m->client.bev, EV_READ | EV_WRITE);
	bufferevent_disable(m->home.bev, EV_READ | EV_WRITE);
	m->step = MAILPROXY_S_DONE;
	m->end_cb(why, m->client.copied, m->home.copied, m->ctx);
}

static void
mailproxy_relay_read(struct bufferevent *bev, void *arg)
{
	struct mailproxy_side *sd = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(sd->peer->bev);

	sd->copied += evbuffer_get_length(in);
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= MAILPROXY_HIGH)
		bufferevent_disable(bev, EV_READ);
}

/* The peer's output drained below the low mark (or, ending, to 0). */
static void
mailproxy_relay_write(struct bufferevent *bev, void *arg)
{
	struct mailproxy_side *sd = arg;
	struct mailproxy *m = sd->m;

	if (m->ending) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			mailproxy_end(m, m->end_why);
		return;
	}
	if (!sd->peer->closed)
		bufferevent_enable(sd->peer->bev, EV_READ);
}

static void
mailproxy_relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct mailproxy_side *sd = arg;
	struct mailproxy *m = sd->m;
	struct mailproxy_side *o = sd->peer;
	bool client = sd == &m->client;

	if (what & BEV_EVENT_CONNECTED)
		return;
	sd->closed = true;
	if (m->ending) {
		/* the side being drained failed too */
		mailproxy_end(m, m->end_why);
		return;
	}
	m->end_why = what & BEV_EVENT_TIMEOUT ? (client ? "client timeout" :
	    "home timeout") : what & BEV_EVENT_EOF ? (client ?
	    "client closed" : "home closed") : (client ? "client error" :
	    "home error");
	/* what this side said last still goes to the other */
	mailproxy_relay_read(bev, sd);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (o->closed || evbuffer_get_length(bufferevent_get_output(
	    o->bev)) == 0) {
		mailproxy_end(m, m->end_why);
		return;
	}
	m->ending = true;
	bufferevent_disable(o->bev, EV_READ);
	bufferevent_setwatermark(o->bev, EV_WRITE, 0, 0);
	bufferevent_enable(o->bev, EV_WRITE);
}

static void
mailproxy_side_setup(struct mailproxy_side *sd, unsigned idle_timeout)
{
	struct timeval w = { (time_t)idle_timeout, 0 };

	bufferevent_setcb(sd->bev, mailproxy_relay_read, mailproxy_relay_write,
	    mailproxy_relay_event, sd);
	bufferevent_setwatermark(sd->bev, EV_READ, 0, MAILPROXY_READ_HIGH);
	bufferevent_setwatermark(sd->bev, EV_WRITE, MAILPROXY_LOW, 0);
	/* no read timeout: IDLE is silent for as long as the home node
	 * lets it be, and the home node's own timeouts end that */
	bufferevent_set_timeouts(sd->bev, NULL, &w);
	bufferevent_enable(sd->bev, EV_READ | EV_WRITE);
}

void
mailproxy_relay(struct mailproxy *m, struct bufferevent *client,
    unsigned idle_timeout, mailproxy_end_cb *cb, void *ctx)
{
	m->client.bev = client;
	m->end_cb = cb;
	m->ctx = ctx;
	m->step = MAILPROXY_S_RELAY;
	mailproxy_side_setup(&m->client, idle_timeout);
	mailproxy_side_setup(&m->home, idle_timeout);
	/* pipelined commands after the login, and anything the home node
	 * said after its OK, are not lost */
	mailproxy_relay_read(m->client.bev, &m->client);
	mailproxy_relay_read(m->home.bev, &m->home);
}

bool
mailproxy_relaying(const struct mailproxy *m)
{
	return m->client.bev != NULL;
}

void
mailproxy_free(struct mailproxy **mp)
{
	struct mailproxy *m = *mp;

	if (m == NULL)
		return;
	if (m->client.bev != NULL) {
		/* the client's bufferevent is the caller's again */
		bufferevent_setcb(m->client.bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(m->client.bev, EV_READ | EV_WRITE);
	}
	if (m->report_ev != NULL)
		event_free(m->report_ev);
	if (m->home.bev != NULL)
		bufferevent_free(m->home.bev);
	mailproxy_wipe(m);
	free(m);
	*mp = NULL;
}
