/* One SMTP server address probed the way a sender meets it, for
 * `ferry check mx`: a non-blocking connect, the greeting (RFC 5321 3.1,
 * 4.2), EHLO (4.1.1.1), STARTTLS (RFC 3207) and the TLS handshake with
 * what the certificate says, then QUIT.  Every phase has its own
 * deadline on one timer, so a peer that accepts and never speaks, a
 * tarpit and a TLS hang each end in bounded time with their own
 * verdict.  Nothing is delivered: the probe never says MAIL FROM.
 * The relay's own probes (relay_probe.c) only connect and greet; this
 * file goes further because a person is waiting for the details. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/tls.h"
#include "ops/ops_probe.h"

enum ops_probe_phase {
	OPS_PROBE_P_CONNECT,
	OPS_PROBE_P_GREETING,
	OPS_PROBE_P_EHLO,
	OPS_PROBE_P_STARTTLS,
	OPS_PROBE_P_TLS,
};

struct ops_probe {
	struct event_base *base;
	struct sockaddr_storage ss;
	struct ops_probe_opts o;
	char helo[256], host[256];
	SSL_CTX *ssl_ctx;
	ops_probe_cb *cb;
	void *ctx;
	int fd;				/* until the bufferevent owns it */
	struct event *conn_ev;
	struct event *timer;
	struct bufferevent *bev;
	enum ops_probe_phase phase;
	struct timespec phase_start;
	struct ops_probe_reply reply;
	struct ops_probe_result r;
	bool done;			/* result final, reported from timer */
};

static const struct {
	const char *human, *json;
} ops_probe_words[OPS_PROBE_VERDICTS] = {
	[OPS_PROBE_ANSWERS] = { "answers", "answers" },
	[OPS_PROBE_TARPITS] = { "tarpits", "tarpits" },
	[OPS_PROBE_TLS_FAILS] = { "TLS fails", "tls-fails" },
	[OPS_PROBE_TLS_HANGS] = { "TLS hangs", "tls-hangs" },
	[OPS_PROBE_BUSY] = { "busy (4xx greeting)", "busy" },
	[OPS_PROBE_REJECTS] = { "rejects (5xx greeting)", "rejects" },
	[OPS_PROBE_NO_GREETING] = { "accepts, never greets", "no-greeting" },
	[OPS_PROBE_CLOSED] = { "closes without greeting", "closed" },
	[OPS_PROBE_TIMES_OUT] = { "times out", "times-out" },
	[OPS_PROBE_REFUSED] = { "refused", "refused" },
	[OPS_PROBE_UNREACHABLE] = { "unreachable", "unreachable" },
};

const char *
ops_probe_verdict_str(enum ops_probe_verdict v, bool json)
{
	if ((unsigned)v >= OPS_PROBE_VERDICTS)
		return "?";
	return json ? ops_probe_words[v].json : ops_probe_words[v].human;
}

bool
ops_probe_verdict_usable(enum ops_probe_verdict v)
{
	return v == OPS_PROBE_ANSWERS || v == OPS_PROBE_TARPITS ||
	    v == OPS_PROBE_TLS_FAILS || v == OPS_PROBE_TLS_HANGS;
}

/* ---------------------------------------------------------- plumbing */

static unsigned
ops_probe_ms_since(const struct timespec *t)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
	return ms > 0 ? (unsigned)ms : 0;
}

static unsigned
ops_probe_limit(const struct ops_probe *p, enum ops_probe_phase phase)
{
	return phase == OPS_PROBE_P_CONNECT ? p->o.t_connect :
	    phase == OPS_PROBE_P_TLS ? p->o.t_tls : p->o.t_reply;
}

static void
ops_probe_phase(struct ops_probe *p, enum ops_probe_phase phase)
{
	struct timeval tv = { (time_t)ops_probe_limit(p, phase), 0 };

	p->phase = phase;
	clock_gettime(CLOCK_MONOTONIC, &p->phase_start);
	memset(&p->reply, 0, sizeof(p->reply));
	evtimer_add(p->timer, &tv);
}

static void
ops_probe_release(struct ops_probe *p)
{
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	if (p->conn_ev != NULL)
		event_free(p->conn_ev);
	if (p->fd >= 0)
		close(p->fd);
	p->bev = NULL;
	p->conn_ev = NULL;
	p->fd = -1;
}

/* The result is final: I/O stops now, the owner hears from the loop. */
static void
ops_probe_end(struct ops_probe *p, enum ops_probe_verdict v,
    const char *error)
{
	static const struct timeval now = { 0, 0 };

	/* A polite QUIT in the clear, straight to the socket (the
	 * bufferevent is freed at once); none inside TLS. */
	if (p->bev != NULL && p->r.greeted &&
	    bufferevent_openssl_get_ssl(p->bev) == NULL)
		(void)send(bufferevent_getfd(p->bev), "QUIT\r\n", 6,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	ops_probe_release(p);
	/* A tarpit stays a tarpit when it is slow again later. */
	if (!(p->r.verdict == OPS_PROBE_TARPITS && v == OPS_PROBE_ANSWERS))
		p->r.verdict = v;
	if (error != NULL && p->r.error[0] == '\0')
		str_lcpy(p->r.error, error, sizeof(p->r.error));
	p->done = true;
	evtimer_del(p->timer);
	evtimer_add(p->timer, &now);
}

static void
ops_probe_send(struct ops_probe *p, const char *line,
    enum ops_probe_phase next)
{
	ops_probe_phase(p, next);
	if (bufferevent_write(p->bev, line, strlen(line)) < 0)
		ops_probe_end(p, OPS_PROBE_CLOSED, "cannot write");
}

static void
ops_probe_ehlo(struct ops_probe *p)
{
	char line[300];

	snprintf(line, sizeof(line), "EHLO %s\r\n", p->helo);
	ops_probe_send(p, line, OPS_PROBE_P_EHLO);
}

/* ---------------------------------------------------------- TLS */

static void
ops_probe_cert_names(struct ops_probe_cert *c, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;

	for (int i = 0; i < n && c->nnames < OPS_PROBE_NAMES_MAX; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		ops_probe_copy_text(c->names[c->nnames++], sizeof(c->names[0]),
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    (size_t)ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
}

static void
ops_probe_x509_name(char *dst, size_t size, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;

	dst[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &data)) > 0)
		ops_probe_copy_text(dst, size, data, (size_t)len);
	BIO_free(b);
}

static void
ops_probe_cert(struct ops_probe *p, SSL *ssl)
{
	struct ops_probe_cert *c = &p->r.cert;
	X509 *x = SSL_get1_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	struct tm tm;

	if (x == NULL) {
		str_lcpy(c->chain_why, "no certificate", sizeof(c->chain_why));
		return;
	}
	ops_probe_x509_name(c->subject, sizeof(c->subject),
	    X509_get_subject_name(x));
	ops_probe_x509_name(c->issuer, sizeof(c->issuer),
	    X509_get_issuer_name(x));
	ops_probe_cert_names(c, x);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		c->not_after = timegm(&tm);
	c->name_match = X509_check_host(x, p->host, strlen(p->host), 0,
	    NULL) == 1;
	c->chain_ok = vr == X509_V_OK;
	if (!c->chain_ok)
		str_lcpy(c->chain_why, X509_verify_cert_error_string(vr),
		    sizeof(c->chain_why));
	X509_free(x);
}

static void ops_probe_read(struct bufferevent *bev, void *arg);
static void ops_probe_event(struct bufferevent *bev, short what, void *arg);

/* The 220 to STARTTLS is in: the socket moves to an OpenSSL
 * bufferevent that starts the handshake as client. */
static void
ops_probe_tls_start(struct ops_probe *p)
{
	evutil_socket_t fd = bufferevent_getfd(p->bev);
	struct bufferevent *bev;
	SSL *ssl;

	p->r.tls_tried = true;
	if ((ssl = tls_client_ssl(p->ssl_ctx, p->host, false)) == NULL) {
		ops_probe_end(p, OPS_PROBE_TLS_FAILS, tls_error());
		return;
	}
	bev = bufferevent_openssl_socket_new(p->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		ops_probe_end(p, OPS_PROBE_TLS_FAILS, "cannot start TLS");
		return;
	}
	bufferevent_setfd(p->bev, -1);
	bufferevent_free(p->bev);
	p->bev = bev;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, ops_probe_read, NULL, ops_probe_event, p);
	bufferevent_setwatermark(bev, EV_READ, 0, OPS_PROBE_LINE_MAX * 4);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	ops_probe_phase(p, OPS_PROBE_P_TLS);
}

static void
ops_probe_tls_done(struct ops_probe *p)
{
	SSL *ssl = bufferevent_openssl_get_ssl(p->bev);

	p->r.tls_ok = true;
	p->r.tls_ms = ops_probe_ms_since(&p->phase_start);
	if (ssl != NULL) {
		str_lcpy(p->r.tls_version, tls_version(ssl),
		    sizeof(p->r.tls_version));
		str_lcpy(p->r.tls_cipher, tls_cipher(ssl),
		    sizeof(p->r.tls_cipher));
		ops_probe_cert(p, ssl);
	}
	ops_probe_end(p, OPS_PROBE_ANSWERS, NULL);
}

/* ---------------------------------------------------------- replies in */

static void
ops_probe_greeting(struct ops_probe *p)
{
	const struct ops_probe_reply *rp = &p->reply;

	p->r.greeted = true;
	p->r.greeting_ms = ops_probe_ms_since(&p->phase_start);
	p->r.greeting_code = rp->code;
	str_lcpy(p->r.greeting, rp->text, sizeof(p->r.greeting));
	if (rp->code / 100 == 4) {
		ops_probe_end(p, OPS_PROBE_BUSY, NULL);
		return;
	}
	if (rp->code / 100 != 2) {
		ops_probe_end(p, OPS_PROBE_REJECTS, NULL);
		return;
	}
	if (p->o.tarpit > 0 && p->r.greeting_ms > p->o.tarpit * 1000u)
		p->r.verdict = OPS_PROBE_TARPITS;
	ops_probe_ehlo(p);
}

static void
ops_probe_ehlo_reply(struct ops_probe *p)
{
	const struct ops_probe_reply *rp = &p->reply;

	p->r.ehlo_code = rp->code;
	p->r.ncaps = rp->ncaps;
	memcpy(p->r.caps, rp->caps, sizeof(p->r.caps));
	for (size_t i = 0; i < rp->ncaps; i++)
		if (strcasecmp(rp->caps[i], "STARTTLS") == 0)
			p->r.starttls_offered = true;
	if (rp->code / 100 == 2 && p->r.starttls_offered && p->o.starttls &&
	    p->ssl_ctx != NULL) {
		ops_probe_send(p, "STARTTLS\r\n", OPS_PROBE_P_STARTTLS);
		return;
	}
	ops_probe_end(p, OPS_PROBE_ANSWERS, rp->code / 100 == 2 ? NULL :
	    "EHLO refused");
}

static void
ops_probe_reply_done(struct ops_probe *p)
{
	char why[OPS_PROBE_TEXT_MAX];

	switch (p->phase) {
	case OPS_PROBE_P_GREETING:
		ops_probe_greeting(p);
		break;
	case OPS_PROBE_P_EHLO:
		ops_probe_ehlo_reply(p);
		break;
	case OPS_PROBE_P_STARTTLS:
		if (p->reply.code == 220) {
			ops_probe_tls_start(p);
			break;
		}
		p->r.tls_tried = true;
		snprintf(why, sizeof(why), "STARTTLS answered %d %.200s",
		    p->reply.code, p->reply.text);
		ops_probe_end(p, OPS_PROBE_TLS_FAILS, why);
		break;
	default:
		ops_probe_end(p, OPS_PROBE_ANSWERS, "unexpected reply");
	}
}

static void
ops_probe_read(struct bufferevent *bev, void *arg)
{
	struct ops_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;
	int r;

	while (!p->done && (line = evbuffer_readln(in, &len,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		r = ops_probe_reply_line(&p->reply, line, len);
		free(line);
		if (r < 0) {
			ops_probe_end(p, p->r.greeted ? OPS_PROBE_ANSWERS :
			    OPS_PROBE_CLOSED, "malformed reply");
			return;
		}
		if (r == 1)
			ops_probe_reply_done(p);
	}
	if (!p->done && evbuffer_get_length(in) > OPS_PROBE_LINE_MAX)
		ops_probe_end(p, p->r.greeted ? OPS_PROBE_ANSWERS :
		    OPS_PROBE_CLOSED, "reply line too long");
}

static void
ops_probe_event(struct bufferevent *bev, short what, void *arg)
{
	struct ops_probe *p = arg;

	if (p->phase == OPS_PROBE_P_TLS && (what & BEV_EVENT_CONNECTED)) {
		ops_probe_tls_done(p);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	switch (p->phase) {
	case OPS_PROBE_P_TLS:
		p->r.tls_ms = ops_probe_ms_since(&p->phase_start);
		ops_probe_end(p, OPS_PROBE_TLS_FAILS, (what & BEV_EVENT_EOF) ?
		    "closed during the handshake" : tls_error());
		break;
	case OPS_PROBE_P_GREETING:
		ops_probe_end(p, OPS_PROBE_CLOSED, "closed before the "
		    "greeting");
		break;
	default:
		ops_probe_end(p, OPS_PROBE_CLOSED, "closed after the "
		    "greeting");
	}
}

/* ---------------------------------------------------------- deadlines */

static void
ops_probe_timeout(struct ops_probe *p)
{
	char why[128];
	static const char *const what[] = {
		[OPS_PROBE_P_CONNECT] = "connect",
		[OPS_PROBE_P_GREETING] = "greeting",
		[OPS_PROBE_P_EHLO] = "EHLO reply",
		[OPS_PROBE_P_STARTTLS] = "STARTTLS reply",
		[OPS_PROBE_P_TLS] = "TLS handshake",
	};
	static const enum ops_probe_verdict verdict[] = {
		[OPS_PROBE_P_CONNECT] = OPS_PROBE_TIMES_OUT,
		[OPS_PROBE_P_GREETING] = OPS_PROBE_NO_GREETING,
		[OPS_PROBE_P_EHLO] = OPS_PROBE_TARPITS,
		[OPS_PROBE_P_STARTTLS] = OPS_PROBE_TARPITS,
		[OPS_PROBE_P_TLS] = OPS_PROBE_TLS_HANGS,
	};

	snprintf(why, sizeof(why), "no %s within %us", what[p->phase],
	    ops_probe_limit(p, p->phase));
	if (p->phase == OPS_PROBE_P_TLS) {
		p->r.tls_tried = true;
		p->r.tls_ms = ops_probe_ms_since(&p->phase_start);
	}
	ops_probe_end(p, verdict[p->phase], why);
}

static void
ops_probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ops_probe *p = arg;

	if (!p->done) {
		ops_probe_timeout(p);
		return;
	}
	p->cb(&p->r, p->ctx);
	event_free(p->timer);
	free(p);
}

/* ---------------------------------------------------------- connect */

static enum ops_probe_verdict
ops_probe_connect_verdict(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return OPS_PROBE_REFUSED;
	case ETIMEDOUT:
		return OPS_PROBE_TIMES_OUT;
	default:
		return OPS_PROBE_UNREACHABLE;
	}
}

static void
ops_probe_connected(struct ops_probe *p)
{
	p->r.connected = true;
	p->r.connect_ms = ops_probe_ms_since(&p->phase_start);
	event_free(p->conn_ev);
	p->conn_ev = NULL;
	p->bev = bufferevent_socket_new(p->base, p->fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		ops_probe_end(p, OPS_PROBE_UNREACHABLE, "out of resources");
		return;
	}
	p->fd = -1;
	bufferevent_setcb(p->bev, ops_probe_read, NULL, ops_probe_event, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, OPS_PROBE_LINE_MAX * 4);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	ops_probe_phase(p, OPS_PROBE_P_GREETING);
}

static void
ops_probe_conn_ready(evutil_socket_t fd, short what, void *arg)
{
	struct ops_probe *p = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		ops_probe_end(p, ops_probe_connect_verdict(err),
		    strerror(err));
		return;
	}
	ops_probe_connected(p);
}

static void
ops_probe_connect(struct ops_probe *p)
{
	socklen_t slen = p->ss.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	ops_probe_phase(p, OPS_PROBE_P_CONNECT);
	p->fd = socket(p->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		ops_probe_end(p, OPS_PROBE_UNREACHABLE, strerror(errno));
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&p->ss, slen) < 0 &&
	    errno != EINPROGRESS) {
		ops_probe_end(p, ops_probe_connect_verdict(errno),
		    strerror(errno));
		return;
	}
	p->conn_ev = event_new(p->base, p->fd, EV_WRITE, ops_probe_conn_ready,
	    p);
	if (p->conn_ev == NULL || event_add(p->conn_ev, NULL) < 0)
		ops_probe_end(p, OPS_PROBE_UNREACHABLE, "cannot wait for the "
		    "connection");
}

struct ops_probe *
ops_probe_start(struct event_base *base, const struct sockaddr *sa,
    const struct ops_probe_opts *o, SSL_CTX *ssl_ctx, ops_probe_cb *cb,
    void *ctx)
{
	struct ops_probe *p = xcalloc(1, sizeof(*p));
	uint16_t port = htons((uint16_t)o->port);

	p->base = base;
	p->o = *o;
	p->o.t_connect = o->t_connect > 0 ? o->t_connect : 1;
	p->o.t_reply = o->t_reply > 0 ? o->t_reply : 1;
	p->o.t_tls = o->t_tls > 0 ? o->t_tls : 1;
	str_lcpy(p->helo, o->helo != NULL ? o->helo : "localhost",
	    sizeof(p->helo));
	str_lcpy(p->host, o->host != NULL ? o->host : "", sizeof(p->host));
	p->o.helo = p->helo;
	p->o.host = p->host;
	p->ssl_ctx = ssl_ctx;
	p->cb = cb;
	p->ctx = ctx;
	p->fd = -1;
	p->r.verdict = OPS_PROBE_UNREACHABLE;
	p->timer = evtimer_new(base, ops_probe_timer, p);
	if (p->timer == NULL)
		abort();
	if (sa->sa_family == AF_INET) {
		memcpy(&p->ss, sa, sizeof(struct sockaddr_in));
		((struct sockaddr_in *)&p->ss)->sin_port = port;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&p->ss, sa, sizeof(struct sockaddr_in6));
		((struct sockaddr_in6 *)&p->ss)->sin6_port = port;
	} else {
		ops_probe_end(p, OPS_PROBE_UNREACHABLE, "not an IP address");
		return p;
	}
	ops_probe_connect(p);
	return p;
}

void
ops_probe_abort(struct ops_probe **pp)
{
	struct ops_probe *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	ops_probe_release(p);
	event_free(p->timer);
	free(p);
}

SSL_CTX *
ops_probe_ssl_ctx(void)
{
	SSL_CTX *ctx = tls_client_ctx(false);

	/* Not verified (the probe wants to see any certificate), but the
	 * chain result is still computed for the report. */
	if (ctx != NULL && SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error();
	return ctx;
}
