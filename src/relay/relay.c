/* The relay's scheduler: a message's remote recipients are grouped by
 * domain into deliveries (at most RELAY_MAX_RCPTS recipients each, one
 * SMTP transaction), queued on their destination, and sessions are
 * started round-robin over the destinations that have work, within
 * concurrency_remote overall and concurrency_per_domain per destination.
 * A session keeps its connection and takes the next delivery of its
 * destination, so a tarpitting destination holds only its own sessions
 * and never delays another's (no head-of-line blocking).  Host lists are
 * cached per destination for a minute (libunbound caches the records).
 * Results reach the queue through a deferred event, never inline. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/tls.h"
#include "net/dns.h"
#include "relay/relay_private.h"

#define RELAY_PRUNE_SECS 60
#define RELAY_DEST_IDLE 600		/* forget an idle destination after */
#define RELAY_ERROR_TTL 5		/* seconds a failed host list is kept */

void
relay_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

void
relay_addr_domain(const char *addr, char *dst, size_t size)
{
	const char *at = strrchr(addr, '@');

	str_lcpy(dst, at != NULL ? at + 1 : "", size);
	str_lower(dst);
}

bool
relay_has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

int
relay_target_for(const struct conf *c, const struct conf_route *rt,
    const char *domain, struct relay_target *t)
{
	uint64_t port = c->remote_smtp_port;

	memset(t, 0, sizeof(*t));
	if (rt != NULL) {
		str_lcpy(t->host, rt->host, sizeof(t->host));
		if (rt->port[0] != '\0' &&
		    str_parse_uint(rt->port, 1, 65535, &port) < 0)
			return -1;
		t->mx = !rt->no_mx;
		t->route = true;
		t->tls = rt->tls != CONF_TLS_UNSET ? rt->tls :
		    conf_tls_policy_for(c, domain);
		str_lcpy(t->auth_file, rt->auth_file, sizeof(t->auth_file));
		if (rt->fb_host[0] != '\0') {
			uint64_t fp = c->remote_smtp_port;

			if (rt->fb_port[0] != '\0' &&
			    str_parse_uint(rt->fb_port, 1, 65535, &fp) < 0)
				return -1;
			str_lcpy(t->fb_host, rt->fb_host, sizeof(t->fb_host));
			t->fb_port = (unsigned)fp;
			t->fb_no_mx = rt->fb_no_mx;
		}
	} else {
		str_lcpy(t->host, domain, sizeof(t->host));
		t->mx = domain[0] != '[';
		t->tls = conf_tls_policy_for(c, domain);
	}
	t->port = (unsigned)port;
	return 0;
}

void
relay_target_dest(const struct conf *c, const char *domain,
    struct relay_target *t)
{
	const struct conf_route *rt = conf_route_for(c, domain);

	if (c->routes_mx.n > 0 && domain[0] != '[' &&
	    (rt == NULL || strcmp(rt->domain, "*") == 0)) {
		/* route beats route_mx, route_mx beats "route = *": the MX
		 * hosts decide (relay_mx.c). */
		relay_target_for(c, NULL, domain, t);
		t->mx_routes = true;
		return;
	}
	relay_target_for(c, rt, domain, t);
}

bool
relay_target_fallback(const struct conf *c, const struct relay_target *t,
    const char *domain, struct relay_target *fb)
{
	if (t->fb_host[0] != '\0') {
		memset(fb, 0, sizeof(*fb));
		str_lcpy(fb->host, t->fb_host, sizeof(fb->host));
		fb->port = t->fb_port;
		fb->mx = !t->fb_no_mx;
		fb->route = true;
		fb->tls = t->tls;
		str_lcpy(fb->auth_file, t->auth_file, sizeof(fb->auth_file));
		return true;
	}
	return c->fallback_relay.host[0] != '\0' &&
	    relay_target_for(c, &c->fallback_relay, domain, fb) == 0;
}

/* A home node's address (relay.h, struct relay_via): no MX, no route,
 * opportunistic TLS (the nodes' own network), temporary failures only. */
static void
relay_target_via(const struct relay_via *v, struct relay_target *t)
{
	memset(t, 0, sizeof(*t));
	str_lcpy(t->host, v->host, sizeof(t->host));
	t->port = v->port;
	t->mx = false;
	t->route = true;
	t->tls = CONF_TLS_MAY;
	str_lcpy(t->source, v->source, sizeof(t->source));
}

/* ---- destinations ---- */

static unsigned
relay_dest_hash(const char *domain)
{
	return str_hash(domain) % RELAY_DEST_BUCKETS;
}

static struct relay_dest *
relay_dest_get(struct relay *r, const char *domain, const struct relay_via *via)
{
	unsigned h = relay_dest_hash(domain);
	struct relay_dest *dst;

	for (dst = r->dests[h]; dst != NULL; dst = dst->hnext)
		if (strcmp(dst->domain, domain) == 0)
			return dst;
	dst = xcalloc(1, sizeof(*dst));
	str_lcpy(dst->domain, domain, sizeof(dst->domain));
	dst->homed = via != NULL;
	if (via != NULL)
		relay_target_via(via, &dst->target);
	else
		relay_target_dest(r->conf, domain, &dst->target);
	TAILQ_INIT(&dst->queue);
	TAILQ_INIT(&dst->waiting);
	TAILQ_INIT(&dst->idle);
	dst->idle_since = time(NULL);
	dst->hnext = r->dests[h];
	r->dests[h] = dst;
	return dst;
}

static void
relay_dest_ready(struct relay *r, struct relay_dest *dst)
{
	unsigned woken = 0;

	/* Connected idle sessions first: no new connection needed. */
	while (woken < dst->nqueued && relay_session_wake_idle(dst))
		woken++;
	if (woken > 0 && woken >= dst->nqueued)
		return;
	if (dst->in_ready || dst->nqueued == 0 || dst->active >= r->per_dest)
		return;
	dst->in_ready = true;
	TAILQ_INSERT_TAIL(&r->ready, dst, ready);
	event_active(r->kick_ev, EV_TIMEOUT, 0);
}

struct relay_deliv *
relay_dest_take(struct relay *r, struct relay_dest *dst)
{
	struct relay_deliv *d = TAILQ_FIRST(&dst->queue);

	if (d != NULL) {
		TAILQ_REMOVE(&dst->queue, d, link);
		dst->nqueued--;
	}
	return d;
}

void
relay_dest_fail_queued(struct relay *r, struct relay_dest *dst,
    enum relay_status st, const char *error)
{
	struct relay_deliv *d;

	while ((d = relay_dest_take(r, dst)) != NULL)
		relay_deliv_fail(r, d, st, error);
}

void
relay_session_ended(struct relay *r, struct relay_dest *dst)
{
	dst->active--;
	r->active--;
	dst->idle_since = time(NULL);
	relay_dest_ready(r, dst);
	event_active(r->kick_ev, EV_TIMEOUT, 0);
}

static void
relay_dest_hosts_cb(struct relay_hosts *h, void *ctx)
{
	struct relay_dest *dst = ctx;
	struct relay_session *s;

	dst->lookup = NULL;
	relay_hosts_free(&dst->hosts);
	dst->hosts = h;
	dst->hosts_until = time(NULL) + (h->status == RELAY_SENT ?
	    RELAY_HOSTS_TTL : RELAY_ERROR_TTL);
	while ((s = TAILQ_FIRST(&dst->waiting)) != NULL) {
		TAILQ_REMOVE(&dst->waiting, s, wlink);
		s->waiting = false;
		relay_session_hosts(s, h);
	}
}

void
relay_hosts_get(struct relay *r, struct relay_dest *dst,
    struct relay_session *s)
{
	if (dst->hosts != NULL && time(NULL) < dst->hosts_until &&
	    dst->lookup == NULL) {
		relay_session_hosts(s, dst->hosts);
		return;
	}
	s->waiting = true;
	TAILQ_INSERT_TAIL(&dst->waiting, s, wlink);
	if (dst->lookup == NULL)
		dst->lookup = relay_mx_start(r, &dst->target,
		    relay_dest_hosts_cb, dst);
}

void
relay_hosts_free(struct relay_hosts **hp)
{
	if (*hp == NULL)
		return;
	free((*hp)->v);
	free(*hp);
	*hp = NULL;
}

static void
relay_dest_free(struct relay_dest *dst)
{
	struct relay_deliv *d;

	while ((d = TAILQ_FIRST(&dst->queue)) != NULL) {
		TAILQ_REMOVE(&dst->queue, d, link);
		free(d->rcpts);
		free(d);
	}
	relay_mx_abort(&dst->lookup);
	relay_hosts_free(&dst->hosts);
	free(dst);
}

/* ---- results ---- */

static void
relay_report(struct relay *r, struct relay_msg *m)
{
	if (m->report_queued)
		return;
	m->report_queued = true;
	m->report_next = r->reports;
	r->reports = m;
	event_active(r->report_ev, EV_TIMEOUT, 0);
}

static void
relay_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct relay_msg *m;

	(void)fd;
	(void)what;
	while ((m = r->reports) != NULL) {
		r->reports = m->report_next;
		m->report_queued = false;
		if (m->pending == 0) {
			m->done = true;
			r->msgs--;
		}
		m->cb(m, m->ctx);
	}
}

static const char *
relay_result_name(enum relay_status st)
{
	switch (st) {
	case RELAY_SENT:
		return "sent";
	case RELAY_TEMP:
		return "deferred";
	case RELAY_PERM:
		return "failed";
	case RELAY_BUSY:
		return "busy";
	default:
		return "unknown";
	}
}

/* "5.1.1" from a text such as "host [ip]: 550 5.1.1 ...". */
static void
relay_dsn_of(const char *text, enum relay_status st, char *dst, size_t size)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if ((*p == '2' || *p == '4' || *p == '5') && p[1] == '.' &&
		    isdigit((unsigned char)p[2]) && (p == text || p[-1] == ' ')) {
			size_t n = strspn(p, "0123456789.");

			if (n < size) {
				memcpy(dst, p, n);
				dst[n] = '\0';
				return;
			}
		}
	}
	str_lcpy(dst, st == RELAY_SENT ? "2.0.0" : st == RELAY_PERM ?
	    "5.0.0" : "4.0.0", size);
}

static void
relay_log_rcpt(const struct relay_deliv *d, const struct relay_rcpt *rc)
{
	struct fbuf b;
	char dsn[16];

	relay_dsn_of(rc->error, rc->status, dsn, sizeof(dsn));
	metrics_inc(&metrics_shm->deliveries[d->route || d->via_fallback ?
	    METRICS_DEST_RELAY : METRICS_DEST_REMOTE][rc->status ==
	    RELAY_SENT ? METRICS_DELIVERED : rc->status == RELAY_PERM ?
	    METRICS_FAILED : METRICS_DEFERRED]);
	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s relay delivery rcpt=", d->msg->id);
	log_quote(&b, rc->addr, strlen(rc->addr), 0);
	fbuf_adds(&b, " relay=");
	log_quote(&b, d->peer[0] != '\0' ? d->peer : "none",
	    strlen(d->peer[0] != '\0' ? d->peer : "none"), 0);
	fbuf_addf(&b, " dsn=%s result=%s", dsn, relay_result_name(rc->status));
	if (d->via_fallback)
		fbuf_adds(&b, d->route_fb ? " via=route_fallback" :
		    " via=fallback_relay");
	else if (d->route_mx[0] != '\0')
		fbuf_addf(&b, " via=route_mx route_mx=%s", d->route_mx);
	if (d->tls[0] != '\0')
		fbuf_addf(&b, " tls=%s", d->tls);
	fbuf_adds(&b, " reply=");
	log_quote(&b, rc->error, strlen(rc->error), 300);
	log_info("%s", fbuf_str(&b));
	fbuf_release(&b);
}

void
relay_deliv_finish(struct relay *r, struct relay_deliv *d)
{
	struct relay_msg *m = d->msg;
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct relay_rcpt *rc = &m->rcpts[d->rcpts[i]];

		if (rc->status == RELAY_WAIT) {
			rc->status = RELAY_TEMP;
			str_lcpy(rc->error, "4.4.2 delivery aborted",
			    sizeof(rc->error));
		}
		relay_log_rcpt(d, rc);
		str_lcpy(rc->peer, d->peer, sizeof(rc->peer));
		str_lcpy(rc->route, d->via_fallback ? "fallback_relay" :
		    d->route ? "route" : "direct", sizeof(rc->route));
		str_lcpy(rc->tls, d->tls, sizeof(rc->tls));
		str_lcpy(rc->reach, d->reach, sizeof(rc->reach));
	}
	m->pending--;
	relay_report(r, m);
	free(d->rcpts);
	free(d);
}

void
relay_deliv_fail(struct relay *r, struct relay_deliv *d, enum relay_status st,
    const char *error)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct relay_rcpt *rc = &d->msg->rcpts[d->rcpts[i]];

		if (rc->status != RELAY_WAIT)
			continue;
		rc->status = st;
		str_lcpy(rc->error, error, sizeof(rc->error));
	}
	relay_deliv_finish(r, d);
}

/* ---- submission and scheduling ---- */

static struct relay_deliv *
relay_deliv_new(struct relay_msg *m)
{
	struct relay_deliv *d = xcalloc(1, sizeof(*d));

	d->msg = m;
	d->rcpts = xcalloc(RELAY_MAX_RCPTS, sizeof(*d->rcpts));
	m->pending++;
	return d;
}

static void
relay_enqueue(struct relay *r, struct relay_deliv *d, const char *domain,
    const struct relay_via *via)
{
	struct relay_dest *dst = relay_dest_get(r, domain, via);

	if (dst->nqueued >= RELAY_DEST_BACKLOG) {
		relay_deliv_fail(r, d, RELAY_BUSY,
		    "4.4.5 destination backlog full, not attempted");
		return;
	}
	d->route = dst->target.route;
	TAILQ_INSERT_TAIL(&dst->queue, d, link);
	dst->nqueued++;
	relay_dest_ready(r, dst);
}

void
relay_submit(struct relay *r, struct relay_msg *m)
{
	struct relay_deliv **open = xcalloc(m->nrcpts + 1, sizeof(*open));
	char (*doms)[256] = xcalloc(m->nrcpts + 1, sizeof(*doms));
	const struct relay_via **vias = xcalloc(m->nrcpts + 1, sizeof(*vias));
	size_t i, k, nopen = 0;

	m->done = false;
	m->pending = 0;
	r->msgs++;
	for (i = 0; i < m->nrcpts; i++) {
		char domain[256];

		/* A homed recipient's destination is its node: a key no
		 * domain can have (it holds spaces). */
		if (m->rcpts[i].via != NULL)
			relay_fmt(domain, sizeof(domain), "node %s %s:%u",
			    m->rcpts[i].via->node, m->rcpts[i].via->host,
			    m->rcpts[i].via->port);
		else
			relay_addr_domain(m->rcpts[i].addr, domain,
			    sizeof(domain));
		for (k = 0; k < nopen; k++)
			if (strcmp(doms[k], domain) == 0 &&
			    open[k]->n < RELAY_MAX_RCPTS)
				break;
		if (k == nopen) {
			open[nopen] = relay_deliv_new(m);
			vias[nopen] = m->rcpts[i].via;
			memcpy(doms[nopen++], domain, sizeof(domain));
		}
		open[k]->rcpts[open[k]->n++] = i;
	}
	for (k = 0; k < nopen; k++)
		relay_enqueue(r, open[k], doms[k], vias[k]);
	free(open);
	free(doms);
	free(vias);
	if (m->pending == 0)
		relay_report(r, m);
}

unsigned
relay_pending(const struct relay *r)
{
	return r->msgs;
}

/* Starts sessions round-robin over the destinations with work. */
static void
relay_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct relay_dest *dst;
	struct relay_deliv *d;

	(void)fd;
	(void)what;
	while (r->active < r->max_active &&
	    (dst = TAILQ_FIRST(&r->ready)) != NULL) {
		TAILQ_REMOVE(&r->ready, dst, ready);
		dst->in_ready = false;
		if (dst->active >= r->per_dest ||
		    (d = relay_dest_take(r, dst)) == NULL)
			continue;
		dst->active++;
		r->active++;
		relay_session_start(r, dst, d);
		relay_dest_ready(r, dst);
	}
}

static void
relay_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct relay_dest **pp, *dst;
	time_t now = time(NULL);
	unsigned h;

	(void)fd;
	(void)what;
	relay_mem_prune(r, now);
	for (h = 0; h < RELAY_DEST_BUCKETS; h++)
		for (pp = &r->dests[h]; (dst = *pp) != NULL;) {
			if (dst->nqueued == 0 && dst->active == 0 &&
			    dst->lookup == NULL && !dst->in_ready &&
			    now - dst->idle_since > RELAY_DEST_IDLE) {
				*pp = dst->hnext;
				relay_dest_free(dst);
			} else
				pp = &dst->hnext;
		}
}

static void
relay_limits(struct relay *r)
{
	r->max_active = r->conf->concurrency_remote > 0 ?
	    r->conf->concurrency_remote : 100;
	r->per_dest = r->conf->concurrency_per_domain > 0 ?
	    r->conf->concurrency_per_domain : 10;
}

void
relay_set_conf(struct relay *r, const struct conf *conf)
{
	const struct conf *old = r->conf;
	struct relay_dest *dst;

	r->conf = conf_ref(conf);
	conf_unref(&old);
	relay_limits(r);
	for (size_t h = 0; h < RELAY_DEST_BUCKETS; h++)
		for (dst = r->dests[h]; dst != NULL; dst = dst->hnext) {
			/* Routes and TLS policy: destinations without a
			 * connection take them now, others at their next
			 * start after they went idle.  A home node's target
			 * is fixed (its key holds the address). */
			if (dst->active == 0 && !dst->homed) {
				relay_target_dest(r->conf, dst->domain,
				    &dst->target);
				/* A cached host list may follow an old
				 * route (route_mx decides after the MX
				 * lookup): looked up again. */
				if (dst->lookup == NULL)
					relay_hosts_free(&dst->hosts);
			}
			/* More concurrency: waiting mail may start now. */
			relay_dest_ready(r, dst);
		}
}

/* A resolver group was set aside or came back: state_dir/resolvers is
 * written with the reachability memory. */
static void
relay_dns_health_cb(void *ctx)
{
	relay_mem_changed(ctx);
}

int
relay_create(struct relay **rp, struct event_base *base,
    const struct conf *conf, struct dns *dns, struct workpool *pool,
    const char **error_r)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	struct timeval tv = { RELAY_PRUNE_SECS, 0 };

	r->base = base;
	r->conf = conf_ref(conf);
	r->dns = dns;
	r->pool = pool;
	relay_limits(r);
	TAILQ_INIT(&r->ready);
	TAILQ_INIT(&r->sessions);
	TAILQ_INIT(&r->probes);
	TAILQ_INIT(&r->dials);
	r->tls_any = tls_client_ctx(false);
	r->tls_verify = tls_client_ctx(true);
	if (r->tls_any == NULL)
		log_warnx("relay TLS client context failed: %s", tls_error());
	r->report_ev = event_new(base, -1, 0, relay_report_cb, r);
	r->kick_ev = event_new(base, -1, 0, relay_kick_cb, r);
	r->prune_ev = event_new(base, -1, EV_PERSIST, relay_prune_cb, r);
	event_add(r->prune_ev, &tv);
	if (relay_mem_open(r, error_r) < 0) {
		relay_free(&r);
		return -1;
	}
	relay_probe_start(r);
	if (dns != NULL) {
		dns_set_health_cb(dns, relay_dns_health_cb, r);
		relay_mem_changed(r);	/* the resolvers' state, at start */
	}
	*rp = r;
	return 0;
}

void
relay_free(struct relay **rp)
{
	struct relay *r = *rp;
	struct relay_session *s;
	struct relay_dest *dst;
	unsigned h;

	if (r == NULL)
		return;
	*rp = NULL;
	if (r->dns != NULL)
		dns_set_health_cb(r->dns, NULL, NULL);
	while ((s = TAILQ_FIRST(&r->sessions)) != NULL)
		relay_session_free(&s);
	relay_dials_free(r);
	for (h = 0; h < RELAY_DEST_BUCKETS; h++)
		while ((dst = r->dests[h]) != NULL) {
			r->dests[h] = dst->hnext;
			relay_dest_free(dst);
		}
	relay_probe_stop(r);
	relay_mem_free(r);
	event_free(r->report_ev);
	event_free(r->kick_ev);
	event_free(r->prune_ev);
	if (r->tls_any != NULL)
		SSL_CTX_free(r->tls_any);
	if (r->tls_verify != NULL)
		SSL_CTX_free(r->tls_verify);
	conf_unref(&r->conf);
	free(r);
}
