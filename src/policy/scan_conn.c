/* The scanners' client connection (see scan_conn.h): one bufferevent, one
 * timer that is both the deadline and the way errors found while starting
 * are reported later (never inline), an optional DNS query for a host
 * name.  The content is read from the file in SCAN_CHUNK pieces only
 * while the output buffer is below SCAN_OUT_HIGH, so a large message is
 * never held in memory whole.  Also the parsers of clamd's and spamd's
 * replies. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/scan_conn.h"

#define SCAN_CHUNK 65536		/* content read per read(2) */
#define SCAN_OUT_HIGH (256 * 1024)	/* stop reading content above */
#define SCAN_OUT_LOW (64 * 1024)	/* resume below (write watermark) */

struct scan_conn {
	struct event_base *base;
	struct bufferevent *bev;
	struct event *timer;		/* deadline, and deferred errors */
	struct dns_query *query;
	int fd;				/* content, -1 when none/closed */
	uint64_t left;			/* content bytes still to send */
	bool chunked, tail_sent, connected;
	void *head, *tail;
	size_t head_len, tail_len;
	uint16_t port;
	struct fbuf reply;
	char error[160];		/* set: finish with it at the timer */
	char write_error[96];		/* sending failed; still reading */
	scan_conn_cb *cb;
	void *arg;
};

static void scan_conn_read_cb(struct bufferevent *bev, void *arg);
static void scan_conn_write_cb(struct bufferevent *bev, void *arg);
static void scan_conn_event_cb(struct bufferevent *bev, short what,
    void *arg);
static void scan_conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void scan_conn_dns_cb(const struct dns_result *r, void *arg);
static void scan_conn_pump(struct scan_conn *c);

static void
scan_conn_free(struct scan_conn *c)
{
	if (c->query != NULL)
		dns_query_abort(&c->query);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c->head);
	free(c->tail);
	fbuf_release(&c->reply);
	free(c);
}

/* Ends the exchange: frees the connection, then calls back. */
static void
scan_conn_finish(struct scan_conn *c, const char *error)
{
	scan_conn_cb *cb = c->cb;
	void *arg = c->arg;
	char why[sizeof(c->error)];
	size_t len = c->reply.len;
	char *reply;

	if (error != NULL)
		str_lcpy(why, error, sizeof(why));
	reply = fbuf_steal(&c->reply);
	scan_conn_free(c);
	cb(reply, len, error != NULL ? why : NULL, arg);
	free(reply);
}

/* Reports an error from the timer (used where calling back now could be
 * inline from scan_conn_start or unsafe). */
static void __attribute__((format(printf, 2, 3)))
scan_conn_fail_later(struct scan_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	event_del(c->timer);
	event_active(c->timer, EV_TIMEOUT, 0);
}

/* Numeric address (or "localhost") into ss: 0, or -1 when it needs DNS. */
static int
scan_conn_numeric(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (str_ieq(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len_r = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Starts connecting; the head and the first content go into the output
 * buffer at once and leave when the connection is up. */
static void
scan_conn_connect(struct scan_conn *c, const struct sockaddr *sa,
    socklen_t len)
{
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		scan_conn_fail_later(c, "cannot create a connection");
		return;
	}
	bufferevent_setcb(c->bev, scan_conn_read_cb, scan_conn_write_cb,
	    scan_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, SCAN_OUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)sa,
	    (int)len) < 0) {
		scan_conn_fail_later(c, "cannot connect: %s", strerror(errno));
		return;
	}
	if (c->head_len > 0)
		bufferevent_write(c->bev, c->head, c->head_len);
	scan_conn_pump(c);
}

/* Resolves the target and connects (or looks the host name up first). */
static void
scan_conn_begin(struct scan_conn *c, struct dns *dns, const char *target)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	char host[PATH_MAX];
	socklen_t len;
	bool is_unix;

	if (scan_conn_target_parse(target, &is_unix, host, sizeof(host),
	    &c->port) < 0) {
		scan_conn_fail_later(c, "bad scanner address \"%.100s\"",
		    target);
		return;
	}
	if (is_unix) {
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		str_lcpy(sun->sun_path, host, sizeof(sun->sun_path));
		scan_conn_connect(c, (struct sockaddr *)sun, sizeof(*sun));
	} else if (scan_conn_numeric(host, c->port, &ss, &len) == 0)
		scan_conn_connect(c, (struct sockaddr *)&ss, len);
	else if (dns == NULL)
		scan_conn_fail_later(c, "cannot resolve \"%.100s\"", host);
	else
		c->query = dns_lookup(dns, host, DNS_T_A, scan_conn_dns_cb, c);
}

static void
scan_conn_dns_cb(const struct dns_result *r, void *arg)
{
	struct scan_conn *c = arg;
	struct sockaddr_storage ss;

	c->query = NULL;
	if (r->status != DNS_OK || r->n == 0) {
		scan_conn_fail_later(c, "cannot resolve scanner host: %s",
		    dns_status_str(r->status));
		return;
	}
	ss = r->rr[0].addr;
	((struct sockaddr_in *)&ss)->sin_port = htons(c->port);
	scan_conn_connect(c, (struct sockaddr *)&ss,
	    sizeof(struct sockaddr_in));
}

struct scan_conn *
scan_conn_start(struct event_base *base, struct dns *dns,
    const struct scan_conn_req *req, scan_conn_cb *cb, void *arg)
{
	struct scan_conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { (time_t)req->timeout_secs, 0 };

	c->base = base;
	c->fd = req->fd;
	c->left = req->fd >= 0 ? req->size : 0;
	c->chunked = req->chunked;
	c->cb = cb;
	c->arg = arg;
	fbuf_init(&c->reply, req->reply_max);
	if (req->head_len > 0) {
		c->head = xmalloc(req->head_len);
		memcpy(c->head, req->head, req->head_len);
		c->head_len = req->head_len;
	}
	if (req->tail_len > 0) {
		c->tail = xmalloc(req->tail_len);
		memcpy(c->tail, req->tail, req->tail_len);
		c->tail_len = req->tail_len;
	}
	c->timer = evtimer_new(base, scan_conn_timer_cb, c);
	if (c->timer == NULL)
		abort();
	evtimer_add(c->timer, &tv);
	scan_conn_begin(c, dns, req->target);
	return c;
}

void
scan_conn_abort(struct scan_conn **cp)
{
	if (*cp == NULL)
		return;
	scan_conn_free(*cp);
	*cp = NULL;
}

/* Adds one chunk of content (framed when chunked): 1 added, 0 when the
 * content is all sent, -1 on a read error (c->error set). */
static int
scan_conn_add_chunk(struct scan_conn *c, struct evbuffer *out)
{
	unsigned char buf[SCAN_CHUNK];
	size_t want = c->left < SCAN_CHUNK ? (size_t)c->left : SCAN_CHUNK;
	uint32_t be;
	ssize_t n;

	if (c->left == 0)
		return 0;
	do
		n = read(c->fd, buf, want);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		snprintf(c->error, sizeof(c->error), "reading the message: %s",
		    n == 0 ? "file shorter than expected" : strerror(errno));
		return -1;
	}
	if (c->chunked) {
		be = htonl((uint32_t)n);
		evbuffer_add(out, &be, sizeof(be));
	}
	evbuffer_add(out, buf, (size_t)n);
	c->left -= (uint64_t)n;
	return 1;
}

/* Fills the output up to SCAN_OUT_HIGH; the tail once content is done.
 * A read error is reported from the timer (this may run inside
 * scan_conn_start). */
static void
scan_conn_pump(struct scan_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int r = 1;

	while (!c->tail_sent && c->error[0] == '\0' &&
	    evbuffer_get_length(out) < SCAN_OUT_HIGH) {
		r = scan_conn_add_chunk(c, out);
		if (r < 0) {
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
			event_del(c->timer);
			event_active(c->timer, EV_TIMEOUT, 0);
			return;
		}
		if (r == 0) {
			if (c->tail_len > 0)
				evbuffer_add(out, c->tail, c->tail_len);
			c->tail_sent = true;
			if (c->fd >= 0)
				close(c->fd);
			c->fd = -1;
		}
	}
}

static void
scan_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct scan_conn *c = arg;

	c->connected = true;		/* something left: we are connected */
	if (!c->tail_sent)
		scan_conn_pump(c);
}

/* Moves what arrived into the reply: 0, or -1 when over the cap. */
static int
scan_conn_take_input(struct scan_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return 0;
	if (fbuf_add(&c->reply, evbuffer_pullup(in, (ssize_t)n), n) < 0)
		return -1;
	evbuffer_drain(in, n);
	return 0;
}

static void
scan_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct scan_conn *c = arg;

	if (scan_conn_take_input(c) < 0)
		scan_conn_finish(c, "reply too long");
}

/* Sending failed (the peer stopped reading: clamd answers a stream that
 * is too long with an ERROR line and closes): keep reading its answer. */
static void
scan_conn_stop_sending(struct scan_conn *c, int err)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	snprintf(c->write_error, sizeof(c->write_error),
	    "connection failed: %s", evutil_socket_error_to_string(err));
	c->connected = true;
	c->tail_sent = true;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	bufferevent_disable(c->bev, EV_WRITE);
	evbuffer_drain(out, evbuffer_get_length(out));
}

static void
scan_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct scan_conn *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	char why[128];

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		return;
	}
	if ((what & BEV_EVENT_WRITING) && c->write_error[0] == '\0') {
		scan_conn_stop_sending(c, err);
		return;
	}
	if (scan_conn_take_input(c) < 0) {
		scan_conn_finish(c, "reply too long");
		return;
	}
	/* The peer closed; an answer before a reset still counts (clamd
	 * closes early when a stream is too long). */
	if (c->reply.len > 0) {
		scan_conn_finish(c, NULL);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		scan_conn_finish(c, "connection closed without a reply");
		return;
	}
	snprintf(why, sizeof(why), "%s: %s",
	    c->connected ? "connection failed" : "cannot connect",
	    evutil_socket_error_to_string(err));
	scan_conn_finish(c, c->write_error[0] != '\0' ? c->write_error : why);
}

static void
scan_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_conn *c = arg;

	scan_conn_finish(c, c->error[0] != '\0' ? c->error : "timed out");
}

/* ------------------------------------------------------------ parsers */

/* Copies at most size-1 printable ASCII bytes of s[0..n) into dst,
 * replacing anything else with '?'. */
static void
scan_conn_printable(char *dst, size_t size, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size; i++)
		dst[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] :
		    s[i] == ' ' ? ' ' : '?';
	if (size > 0)
		dst[i] = '\0';
}

enum scan_clamd_status
scan_conn_parse_clamd(const char *reply, size_t len, char *name,
    size_t namesize)
{
	const char *p = reply, *end;
	size_t n;

	while (len > 0 && (reply[len - 1] == '\0' || reply[len - 1] == '\n' ||
	    reply[len - 1] == '\r' || reply[len - 1] == ' '))
		len--;
	end = reply + len;
	if (len == 0 || memchr(reply, '\0', len) != NULL ||
	    memchr(reply, '\n', len) != NULL) {
		scan_conn_printable(name, namesize, "malformed reply", 15);
		return SCAN_CLAMD_ERROR;
	}
	if (len > 8 && memcmp(p, "stream: ", 8) == 0)
		p += 8;
	n = (size_t)(end - p);
	if (n == 2 && memcmp(p, "OK", 2) == 0) {
		scan_conn_printable(name, namesize, "", 0);
		return SCAN_CLAMD_CLEAN;
	}
	if (n > 6 && memcmp(end - 6, " FOUND", 6) == 0 && p == reply + 8) {
		scan_conn_printable(name, namesize, p, n - 6);
		return SCAN_CLAMD_INFECTED;
	}
	if (n > 6 && memcmp(end - 6, " ERROR", 6) == 0)
		n -= 6;
	scan_conn_printable(name, namesize, p, n);
	return SCAN_CLAMD_ERROR;
}

/* One line of s[0..len) from *pos (CR LF or LF ended): its start and
 * length, *pos moved past it; -1 at the end of the data. */
static int
scan_conn_line(const char *s, size_t len, size_t *pos, const char **line_r,
    size_t *n_r)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return -1;
	nl = memchr(s + *pos, '\n', len - *pos);
	if (nl == NULL)
		return -1;
	*line_r = s + *pos;
	n = (size_t)(nl - *line_r);
	*pos += n + 1;
	if (n > 0 && (*line_r)[n - 1] == '\r')
		n--;
	*n_r = n;
	return 0;
}

/* "SPAMD/1.1 0 EX_OK": 0 when the status is 0. */
static int
scan_conn_spamd_status(const char *line, size_t n, char *why, size_t whysize)
{
	char buf[128];

	scan_conn_printable(buf, sizeof(buf), line, n);
	if (strncmp(buf, "SPAMD/", 6) != 0 || strchr(buf, ' ') == NULL) {
		snprintf(why, whysize, "not a spamd reply: %s", buf);
		return -1;
	}
	if (strncmp(strchr(buf, ' '), " 0 ", 3) != 0) {
		snprintf(why, whysize, "spamd error: %s", buf);
		return -1;
	}
	return 0;
}

/* "Spam: True ; 15.2 / 5.0" (after the name): 0 or -1. */
static int
scan_conn_spamd_verdict(const char *v, double *score_r, bool *spam_r)
{
	char word[8], *end;
	const char *semi = strchr(v, ';');
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	if (semi == NULL)
		return -1;
	n = (size_t)(semi - v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(word))
		return -1;
	memcpy(word, v, n);
	word[n] = '\0';
	if (str_ieq(word, "true") || str_ieq(word, "yes"))
		*spam_r = true;
	else if (str_ieq(word, "false") || str_ieq(word, "no"))
		*spam_r = false;
	else
		return -1;
	errno = 0;
	*score_r = strtod(semi + 1, &end);
	if (errno != 0 || end == semi + 1 || *score_r != *score_r ||
	    *score_r > 1e6 || *score_r < -1e6)
		return -1;
	if (*score_r == 0)
		*score_r = 0;		/* spamd says "-0.0" */
	return 0;
}

/* A SYMBOLS body: rule names, keeping only [A-Za-z0-9_,]. */
static void
scan_conn_spamd_symbols(const char *s, size_t n, char *dst, size_t size)
{
	size_t i, o = 0;
	char ch;

	for (i = 0; i < n && o + 1 < size; i++) {
		ch = s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == ',')
			dst[o++] = ch;
	}
	if (size > 0)
		dst[o] = '\0';
}

int
scan_conn_parse_spamd(const char *reply, size_t len, double *score_r,
    bool *spam_r, char *symbols, size_t symsize, char *why, size_t whysize)
{
	const char *line;
	char buf[128];
	size_t pos = 0, n;
	bool have = false;

	if (symsize > 0)
		symbols[0] = '\0';
	if (scan_conn_line(reply, len, &pos, &line, &n) < 0) {
		snprintf(why, whysize, "%s", "spamd reply truncated");
		return -1;
	}
	if (scan_conn_spamd_status(line, n, why, whysize) < 0)
		return -1;
	while (scan_conn_line(reply, len, &pos, &line, &n) == 0 && n > 0) {
		scan_conn_printable(buf, sizeof(buf), line, n);
		if (n < 5 || strncasecmp(buf, "Spam:", 5) != 0)
			continue;
		if (scan_conn_spamd_verdict(buf + 5, score_r, spam_r) < 0) {
			snprintf(why, whysize, "bad spamd verdict: %s", buf);
			return -1;
		}
		have = true;
	}
	if (!have) {
		snprintf(why, whysize, "%s", "spamd reply without a verdict");
		return -1;
	}
	if (pos < len)
		scan_conn_spamd_symbols(reply + pos, len - pos, symbols,
		    symsize);
	return 0;
}
