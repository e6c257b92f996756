/* Choosing where to connect (RFC 5321 section 5.1): the MX records of
 * the destination sorted by preference; no MX records (NODATA) means the
 * domain itself is the implicit MX; NXDOMAIN fails for good; a null MX
 * (RFC 7505: one record, exchange ".") fails at once with 556 5.1.10; when
 * this server's hostname is among the hosts, it and every host of equal
 * or worse preference are dropped (the backup-MX rule).  Each remaining
 * host's A and AAAA records are looked up in parallel; every address is
 * tried, IPv4 before IPv6 within a host (the networks this is built for
 * break IPv6 more often than IPv4).  Routes without MX lookup ("[host]")
 * and address literals skip the MX step.  When no resolver answers, the
 * last good answers serve (dns.h DNS_F_STALE_OK, dns_stale_max).  Equal preferences are shuffled
 * per session (relay_mx_order), not here, so a cached list spreads load. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "relay/relay_private.h"

struct relay_mx;

struct relay_mx_q {
	struct relay_mx *mx;
	size_t host;
	int type;
	struct dns_query *q;
	enum dns_status status;
};

struct relay_mx_host {
	char name[256];
	uint16_t pref;
	struct relay_mx_q q[2];		/* A, AAAA */
	struct relay_addr *v[2];	/* A, AAAA results */
	size_t n[2];
};

struct relay_mx {
	struct relay *r;
	struct relay_target t;
	relay_mx_cb *cb;
	void *ctx;
	struct dns_query *mxq;
	struct relay_mx_host hosts[RELAY_MAX_HOSTS];
	size_t nhosts;
	unsigned outstanding;
	bool implicit;
	bool routed;			/* t was switched to a route */
	struct event *ev;		/* deferred completion */
	struct relay_hosts *res;
};

static void relay_mx_addr_cb(const struct dns_result *res, void *ctx);
static void relay_mx_begin(struct relay_mx *mx);

static void
relay_mx_complete(struct relay_mx *mx)
{
	struct relay_hosts *h = mx->res;
	relay_mx_cb *cb = mx->cb;
	void *ctx = mx->ctx;

	if (mx->routed) {
		h->routed = true;
		h->target = mx->t;
	}
	mx->res = NULL;
	relay_mx_abort(&mx);
	cb(h, ctx);
}

static void
relay_mx_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_mx_complete(arg);
}

/* Ends the lookup with an error; completion is deferred to the loop so
 * that it is never inline from relay_mx_start. */
static void
relay_mx_error(struct relay_mx *mx, enum relay_status st, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
relay_mx_error(struct relay_mx *mx, enum relay_status st, const char *fmt,
    ...)
{
	va_list ap;

	mx->res->status = st;
	va_start(ap, fmt);
	vsnprintf(mx->res->error, sizeof(mx->res->error), fmt, ap);
	va_end(ap);
	event_active(mx->ev, EV_TIMEOUT, 0);
}

/* Parses an IP literal (optionally in brackets) with the port. */
static bool
relay_mx_literal(const char *host, unsigned port, struct relay_addr *a)
{
	char buf[256];
	size_t len = strlen(host);
	struct sockaddr_in *s4 = (void *)&a->sa;
	struct sockaddr_in6 *s6 = (void *)&a->sa;

	if (host[0] == '[' && len > 2 && host[len - 1] == ']')
		str_lcpy(buf, host + 1, len - 1 < sizeof(buf) ? len - 1 :
		    sizeof(buf));
	else
		str_lcpy(buf, host, sizeof(buf));
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		memmove(buf, buf + 5, strlen(buf + 5) + 1);
	memset(&a->sa, 0, sizeof(a->sa));
	if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		a->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		a->salen = sizeof(*s6);
	} else
		return false;
	relay_fmt(a->host, sizeof(a->host), "[%s]", buf);
	return true;
}

static void
relay_mx_add_host(struct relay_mx *mx, const char *name, uint16_t pref)
{
	struct relay_mx_host *h;
	size_t worst = 0;

	if (mx->nhosts < RELAY_MAX_HOSTS)
		h = &mx->hosts[mx->nhosts++];
	else {
		/* Full: keep the best hosts whatever order DNS gave. */
		for (size_t i = 1; i < mx->nhosts; i++)
			if (mx->hosts[i].pref > mx->hosts[worst].pref)
				worst = i;
		if (pref >= mx->hosts[worst].pref)
			return;
		h = &mx->hosts[worst];
	}
	str_lcpy(h->name, name, sizeof(h->name));
	h->pref = pref;
}

static bool
relay_mx_is_me(const struct relay_mx *mx, const char *name)
{
	const char *me = mx->r->conf->hostname;
	size_t n = strlen(me);

	if (n > 0 && me[n - 1] == '.')
		n--;
	return strncasecmp(name, me, n) == 0 && (name[n] == '\0' ||
	    (name[n] == '.' && name[n + 1] == '\0'));
}

static int
relay_mx_cmp(const void *a, const void *b)
{
	const struct relay_mx_host *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

/* Backup-MX rule: drops our own name and every host not better.  The
 * records are searched whole, so a long MX list that was cut to
 * RELAY_MAX_HOSTS cannot hide us (and loop mail back). */
static void
relay_mx_drop_self(struct relay_mx *mx, const struct dns_result *res)
{
	size_t i, keep = 0;
	int self = -1;

	for (i = 0; i < res->n; i++)
		if (relay_mx_is_me(mx, res->rr[i].name) &&
		    (self < 0 || res->rr[i].pref < self))
			self = res->rr[i].pref;
	if (self < 0)
		return;
	for (i = 0; i < mx->nhosts; i++)	/* sorted by preference */
		if (mx->hosts[i].pref < self)
			keep = i + 1;
	mx->nhosts = keep;
}

static void
relay_mx_start_host(struct relay_mx *mx, size_t i)
{
	static const int types[2] = { DNS_T_A, DNS_T_AAAA };
	struct relay_mx_host *h = &mx->hosts[i];
	int k;

	for (k = 0; k < 2; k++) {
		h->q[k].mx = mx;
		h->q[k].host = i;
		h->q[k].type = types[k];
		h->q[k].status = DNS_TEMPFAIL;
		mx->outstanding++;
		h->q[k].q = dns_lookup_flags(mx->r->dns, h->name, types[k],
		    DNS_F_STALE_OK, relay_mx_addr_cb, &h->q[k]);
	}
}

static void
relay_mx_start_hosts(struct relay_mx *mx)
{
	size_t i;

	if (mx->nhosts == 0) {
		relay_mx_error(mx, RELAY_TEMP, "4.4.6 mail for %s loops back "
		    "to myself: we are the best MX", mx->t.host);
		return;
	}
	for (i = 0; i < mx->nhosts; i++)
		relay_mx_start_host(mx, i);
}

/* route_mx: the destination's mail goes to rt (matched by MX host
 * mxhost; NULL: the "*" route, no route_mx rule matched) instead of its
 * MX hosts.  The lookup starts again for the route's host. */
static void
relay_mx_reroute(struct relay_mx *mx, const struct conf_route *rt,
    const char *mxhost)
{
	const struct conf *c = mx->r->conf;
	char domain[256];
	struct relay_target t;

	str_lcpy(domain, mx->t.host, sizeof(domain));
	if (rt == NULL)
		rt = conf_route_for(c, domain);
	if (rt == NULL || relay_target_for(c, rt, domain, &t) < 0) {
		relay_mx_error(mx, RELAY_TEMP, "4.3.5 route for %s unusable",
		    domain);
		return;
	}
	if (mxhost != NULL) {
		relay_fmt(t.route_mx, sizeof(t.route_mx), "%s%s",
		    rt->domain[0] == '.' ? "*" : "", rt->domain);
		log_debug("- relay route-mx domain=%s mx=%s rule=%s relay=%s",
		    domain, mxhost, t.route_mx, t.host);
	}
	mx->t = t;
	mx->routed = true;
	mx->nhosts = 0;
	mx->implicit = false;
	relay_mx_begin(mx);
}

/* The "*" route, when route_mx rules held it back: true when it took
 * over. */
static bool
relay_mx_default_route(struct relay_mx *mx)
{
	const struct conf_route *rt;

	if (!mx->t.mx_routes)
		return false;
	rt = conf_route_for(mx->r->conf, mx->t.host);
	if (rt == NULL)
		return false;
	relay_mx_reroute(mx, rt, NULL);
	return true;
}

/* A route_mx rule for the best MX host that has one: true when it took
 * over (or the "*" route did, no rule matching). */
static bool
relay_mx_route_mx(struct relay_mx *mx, const struct dns_result *res)
{
	const struct conf_route *rt, *best = NULL;
	const char *host = NULL;
	int pref = -1;

	if (!mx->t.mx_routes)
		return false;
	for (size_t i = 0; i < res->n; i++) {
		if (pref >= 0 && res->rr[i].pref >= pref)
			continue;
		if ((rt = conf_route_mx_for(mx->r->conf,
		    res->rr[i].name)) != NULL) {
			best = rt;
			host = res->rr[i].name;
			pref = res->rr[i].pref;
		}
	}
	if (best != NULL) {
		relay_mx_reroute(mx, best, host);
		return true;
	}
	return relay_mx_default_route(mx);
}

static void
relay_mx_mx_result(struct relay_mx *mx, const struct dns_result *res)
{
	size_t i;

	if (res->n == 1 && (res->rr[0].name[0] == '\0' ||
	    strcmp(res->rr[0].name, ".") == 0)) {
		relay_mx_error(mx, RELAY_PERM, "556 5.1.10 domain %s does not "
		    "accept mail (null MX, RFC 7505)", mx->t.host);
		return;
	}
	if (relay_mx_route_mx(mx, res))
		return;
	for (i = 0; i < res->n; i++)
		if (res->rr[i].name[0] != '\0' &&
		    strcmp(res->rr[i].name, ".") != 0)
			relay_mx_add_host(mx, res->rr[i].name, res->rr[i].pref);
	qsort(mx->hosts, mx->nhosts, sizeof(mx->hosts[0]), relay_mx_cmp);
	relay_mx_drop_self(mx, res);
	relay_mx_start_hosts(mx);
}

static void
relay_mx_mx_cb(const struct dns_result *res, void *ctx)
{
	struct relay_mx *mx = ctx;

	mx->mxq = NULL;
	switch (res->status) {
	case DNS_OK:
		relay_mx_mx_result(mx, res);
		break;
	case DNS_NODATA:
		if (mx->t.mx_routes) {
			/* The domain is its own MX host (RFC 5321 5.1). */
			struct dns_rr self = { .pref = 0 };
			struct dns_result one = { .status = DNS_OK, .rr = &self,
			    .n = 1 };

			str_lcpy(self.name, mx->t.host, sizeof(self.name));
			if (relay_mx_route_mx(mx, &one))
				break;
		}
		mx->implicit = true;
		relay_mx_add_host(mx, mx->t.host, 0);
		relay_mx_start_hosts(mx);
		break;
	case DNS_NXDOMAIN:
		if (relay_mx_default_route(mx))
			break;
		relay_mx_error(mx, mx->t.route ? RELAY_TEMP : RELAY_PERM,
		    "%s domain %s does not exist (DNS: NXDOMAIN)",
		    mx->t.route ? "4.4.3 relay" : "5.1.2", mx->t.host);
		break;
	default:
		if (relay_mx_default_route(mx))
			break;
		relay_mx_error(mx, RELAY_TEMP, "4.4.3 DNS lookup of MX for %s "
		    "failed: %s", mx->t.host, res->why != NULL ? res->why :
		    dns_status_str(res->status));
		break;
	}
}

static void
relay_mx_add_addrs(struct relay_mx *mx, const struct relay_mx_host *h,
    int k)
{
	struct relay_hosts *res = mx->res;
	size_t i;

	for (i = 0; i < h->n[k] && res->n < RELAY_MAX_ADDRS; i++)
		res->v[res->n++] = h->v[k][i];
}

/* Every address lookup has answered: the list in preference order, or
 * why there is none. */
static void
relay_mx_hosts_done(struct relay_mx *mx)
{
	struct relay_hosts *res = mx->res;
	bool temp = false;
	size_t i;

	res->v = xcalloc(RELAY_MAX_ADDRS, sizeof(*res->v));
	for (i = 0; i < mx->nhosts; i++) {
		const struct relay_mx_host *h = &mx->hosts[i];

		relay_mx_add_addrs(mx, h, 0);
		relay_mx_add_addrs(mx, h, 1);
		if (h->q[0].status == DNS_TEMPFAIL ||
		    h->q[1].status == DNS_TEMPFAIL)
			temp = true;
	}
	if (res->n > 0)
		res->status = RELAY_SENT;
	else if (temp || !mx->t.mx || mx->t.route)
		relay_mx_error(mx, RELAY_TEMP, "4.4.3 no address found for "
		    "the mail hosts of %s (DNS lookup failed)", mx->t.host);
	else
		relay_mx_error(mx, RELAY_PERM, "5.4.4 %s has no mail host "
		    "with an address (%s)", mx->t.host, mx->implicit ?
		    "no MX, A or AAAA records" : "MX hosts have no A/AAAA");
	if (res->n > 0)
		relay_mx_complete(mx);
}

static void
relay_mx_addr_cb(const struct dns_result *res, void *ctx)
{
	struct relay_mx_q *q = ctx;
	struct relay_mx *mx = q->mx;
	struct relay_mx_host *h = &mx->hosts[q->host];
	int k = q->type == DNS_T_A ? 0 : 1;
	size_t i;

	q->q = NULL;
	q->status = res->status;
	if (res->status == DNS_OK && res->n > 0) {
		h->v[k] = xcalloc(res->n, sizeof(*h->v[k]));
		for (i = 0; i < res->n; i++) {
			struct relay_addr *a = &h->v[k][h->n[k]];
			sa_family_t fam = res->rr[i].addr.ss_family;

			if (fam != (k == 0 ? AF_INET : AF_INET6))
				continue;
			a->sa = res->rr[i].addr;
			a->salen = fam == AF_INET ? sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6);
			if (fam == AF_INET)
				((struct sockaddr_in *)&a->sa)->sin_port =
				    htons((uint16_t)mx->t.port);
			else
				((struct sockaddr_in6 *)&a->sa)->sin6_port =
				    htons((uint16_t)mx->t.port);
			str_lcpy(a->host, h->name, sizeof(a->host));
			a->pref = h->pref;
			h->n[k]++;
		}
	}
	if (--mx->outstanding == 0)
		relay_mx_hosts_done(mx);
}

struct relay_mx *
relay_mx_start(struct relay *r, const struct relay_target *t,
    relay_mx_cb *cb, void *ctx)
{
	struct relay_mx *mx = xcalloc(1, sizeof(*mx));

	mx->r = r;
	mx->t = *t;
	mx->cb = cb;
	mx->ctx = ctx;
	mx->res = xcalloc(1, sizeof(*mx->res));
	mx->ev = event_new(r->base, -1, 0, relay_mx_ev_cb, mx);
	relay_mx_begin(mx);
	return mx;
}

/* Starts resolving mx->t: an address literal, its MX records, or its
 * A/AAAA records. */
static void
relay_mx_begin(struct relay_mx *mx)
{
	const struct relay_target *t = &mx->t;
	struct relay *r = mx->r;
	struct relay_addr a = { .pref = 0 };

	if (relay_mx_literal(t->host, t->port, &a)) {
		mx->res->v = xcalloc(1, sizeof(a));
		mx->res->v[0] = a;
		mx->res->n = 1;
		mx->res->status = RELAY_SENT;
		event_active(mx->ev, EV_TIMEOUT, 0);
	} else if (t->mx)
		mx->mxq = dns_lookup_flags(r->dns, t->host, DNS_T_MX,
		    DNS_F_STALE_OK, relay_mx_mx_cb, mx);
	else {
		relay_mx_add_host(mx, t->host, 0);
		relay_mx_start_hosts(mx);
	}
}

void
relay_mx_abort(struct relay_mx **mp)
{
	struct relay_mx *mx = *mp;
	size_t i;
	int k;

	if (mx == NULL)
		return;
	*mp = NULL;
	if (mx->mxq != NULL)
		dns_query_abort(&mx->mxq);
	for (i = 0; i < mx->nhosts; i++)
		for (k = 0; k < 2; k++) {
			if (mx->hosts[i].q[k].q != NULL)
				dns_query_abort(&mx->hosts[i].q[k].q);
			free(mx->hosts[i].v[k]);
		}
	event_free(mx->ev);
	relay_hosts_free(&mx->res);
	free(mx);
}

/* ---- per-session order ---- */

struct relay_mx_key {
	uint16_t pref;
	uint32_t rnd;
	size_t idx;
	bool down;
	bool tls_broken;		/* tls=may: plaintext there, so last
					 * among equal preferences */
};

static int
relay_mx_key_cmp(const void *a, const void *b)
{
	const struct relay_mx_key *x = a, *y = b;

	if (x->down != y->down)
		return x->down ? 1 : -1;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->tls_broken != y->tls_broken)
		return x->tls_broken ? 1 : -1;
	if (x->rnd != y->rnd)
		return x->rnd < y->rnd ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void
relay_mx_order(struct relay *r, const struct relay_hosts *h,
    bool tls_required, bool skip_dead, struct relay_addr **v_r,
    size_t *n_r, size_t *skipped_r)
{
	struct relay_mx_key *keys = xcalloc(h->n + 1, sizeof(*keys));
	struct relay_addr *v = xcalloc(h->n + 1, sizeof(*v));
	time_t now = time(NULL);
	char key[64];
	uint32_t rnd = 0;
	size_t i, n = 0;
	bool dead, tls_broken;

	*skipped_r = 0;
	for (i = 0; i < h->n; i++) {
		/* One random draw per host, so its addresses stay together. */
		if (i == 0 || strcmp(h->v[i].host, h->v[i - 1].host) != 0)
			rnd = (uint32_t)ids_random();
		relay_mem_key((const struct sockaddr *)&h->v[i].sa, key,
		    sizeof(key));
		tls_broken = relay_mem_tls_broken(r, key, now);
		dead = relay_mem_down(r, key, now) || (tls_required &&
		    tls_broken);
		if (dead && skip_dead) {
			(*skipped_r)++;
			continue;
		}
		keys[n++] = (struct relay_mx_key){ h->v[i].pref, rnd, i, dead,
		    tls_broken };
	}
	qsort(keys, n, sizeof(*keys), relay_mx_key_cmp);
	for (i = 0; i < n; i++)
		v[i] = h->v[keys[i].idx];
	free(keys);
	*v_r = v;
	*n_r = n;
}
