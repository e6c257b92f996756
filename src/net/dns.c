/* Asynchronous DNS on libunbound inside the caller's libevent loop.
 * Each struct dns holds one ub_ctx for dns_resolvers (or resolv.conf)
 * and, when configured, one for dns_fallback_resolvers, which gets the
 * question again after SERVFAIL, a resolver error or our own timeout.
 * libunbound resolves on its own thread and hands answers back through a
 * pipe that the loop watches; ub_process() then runs our callbacks on the
 * loop's thread.  Answers are decoded here with explicit limits (RFC 1035
 * 3.3, RFC 3596 for AAAA, RFC 7505 null MX); what a result means for
 * mail (RFC 5321 5.1) is the caller's business.  Not done here: /etc/hosts,
 * CNAME data (libunbound follows the chain), DANE/TLSA.
 * A blocked resolver costs one timeout, not one per lookup: when the
 * first resolvers time out and fallback resolvers exist, the first ones
 * are set aside (DNS_ASIDE_MIN seconds, doubling while they keep timing
 * out, at most DNS_ASIDE_MAX) and lookups go straight to the fallback
 * resolvers meanwhile; the first lookup after that asks them again.
 * Answers are kept (net/dns_answers.h): those of the first resolvers
 * with a TTL are served again from memory while it lasts, without a
 * round trip through libunbound's thread; and serve-stale (RFC 8767)
 * for the lookups that ask for it (delivery's MX/A/AAAA): when no
 * resolver answers such a lookup it gets the last good answer, if at
 * most dns_stale_max old, marked stale.
 * Each context is counted on its own for /metrics (lib/metrics.h): one
 * slot of the shared region per context, found by its addresses; the
 * set-aside there is written by the process that publishes the health
 * (the queue), like state_dir/resolvers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "net/dns_answers.h"

#define DNS_NAME_MAX 253
#define DNS_ASIDE_MIN 30
/* A failure (SERVFAIL, resolver error) from the first resolvers that
 * took at least this long is libunbound giving up on servers that did
 * not answer, after its own retries: counted like our timeout. */
#define DNS_SLOW_FAIL_MS 2000
#define DNS_ASIDE_MAX 600
#define DNS_WHY_MAX 160
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

/* RFC 6761/8375 zones that libunbound answers by itself by default.  We
 * let them through to the forwarders, which know best (and tests serve
 * .test from a fake server); private reverse zones likewise, through
 * unblock-lan-zones.  onion. stays blocked (RFC 7686). */
static const char *const dns_transparent_zones[] = {
	"localhost.", "test.", "invalid.", "example.", "home.arpa.",
	"127.in-addr.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "ip6.arpa.",
	NULL
};

static const char *const dns_root_keys[] = {
	"/usr/share/dns/root.key", "/var/lib/unbound/root.key", NULL
};

struct dns_ub {
	struct dns *d;
	struct ub_ctx *ub;
	struct event *ev;
	bool fallback;
	time_t aside_until;		/* set aside after a timeout */
	unsigned aside_secs;		/* the last period (0: healthy) */
	time_t since;			/* the state began (0: the start) */
	char (*addrs)[80];		/* "ip:port" of each resolver */
	size_t naddrs;
	struct metrics_dns_resolver *stats;	/* NULL: the table is full */
};

struct dns {
	struct event_base *base;
	struct dns_ub primary;
	struct dns_ub fallback;		/* ub == NULL: none configured */
	LIST_HEAD(, dns_query) queries;
	void (*health_cb)(void *ctx);
	void *health_ctx;
	time_t stale_max;		/* 0: serve-stale off */
	struct dns_answers *answers;	/* cache and serve-stale */
};

struct dns_query {
	LIST_ENTRY(dns_query) entry;
	struct dns *d;
	char name[DNS_NAME_MAX + 2];
	int type;
	dns_cb *cb;
	void *ctx;
	struct event *timer;
	struct dns_ub *asking;		/* NULL: nothing in flight */
	int async_id;
	struct timespec asked;		/* when asking began (metrics) */
	unsigned flags;			/* DNS_F_* */
	bool tried_fallback;
	enum dns_status fail_status;	/* for failures delivered later */
	char why[DNS_WHY_MAX];		/* first resolvers' failure */
	char why2[2 * DNS_WHY_MAX];	/* the reason delivered */
	char canon[DNS_NAME_MAX + 2];	/* "": the answer had no CNAME */
	bool cached;			/* hit holds the cache's answer */
	struct dns_result hit;
};

static void dns_ub_answer(void *arg, int err, struct ub_result *res);

/* One question to one set of resolvers has an outcome: counted by set
 * and by the context's own slot, with the time it took (CLOCK_MONOTONIC
 * is read through the vDSO: no syscall). */
static void
dns_count(const struct dns_query *q, const struct dns_ub *u,
    enum metrics_dns_outcome o)
{
	static const enum metrics_dns_result set_result[METRICS_DNSO_N] = {
		[METRICS_DNSO_ANSWER] = METRICS_DNS_ANSWER,
		[METRICS_DNSO_NXDOMAIN] = METRICS_DNS_ANSWER,
		[METRICS_DNSO_SERVFAIL] = METRICS_DNS_SERVFAIL,
		[METRICS_DNSO_TIMEOUT] = METRICS_DNS_TIMEOUT,
		[METRICS_DNSO_ERROR] = METRICS_DNS_ERROR,
	};
	enum metrics_resolver r = u == &q->d->primary ?
	    METRICS_RESOLVER_PRIMARY : METRICS_RESOLVER_FALLBACK;
	struct timespec now;
	int64_t us;

	metrics_inc(&metrics_shm->dns[r][set_result[o]]);
	if (u->stats != NULL)
		metrics_inc(&u->stats->results[o]);
	if (o == METRICS_DNSO_ERROR)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - q->asked.tv_sec) * 1000000 +
	    (now.tv_nsec - q->asked.tv_nsec) / 1000;
	metrics_dns_observe(r, us > 0 ? (uint64_t)us : 0);
	if (u->stats != NULL)
		metrics_hist_observe(&u->stats->latency,
		    us > 0 ? (uint64_t)us : 0);
}

const char *
dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

static const struct {
	int type;
	const char *name;
} dns_types[] = {
	{ DNS_T_A, "A" }, { DNS_T_AAAA, "AAAA" }, { DNS_T_MX, "MX" },
	{ DNS_T_TXT, "TXT" }, { DNS_T_PTR, "PTR" }, { DNS_T_SRV, "SRV" },
};

const char *
dns_type_str(int type)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	return "?";
}

int
dns_type_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (str_ieq(dns_types[i].name, s))
			return dns_types[i].type;
	return -1;
}

static bool
dns_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!dns_label_char((unsigned char)name[i]) ||
		    ++label > 63)
			return false;
	}
	return label > 0;
}

/* ---------------------------------------------------------- rdata */

/* An uncompressed wire-form name at p[0..len) into dst as text without
 * the final dot ("" for the root).  Labels must hold host-name characters
 * only, so that nothing odd reaches logs or connect().  Returns the
 * octets used, or -1. */
static int
dns_name_unpack(const uint8_t *p, size_t len, char *dst, size_t size)
{
	size_t i = 0, o = 0;

	while (i < len && p[i] != 0) {
		size_t n = p[i++];

		if (n > 63 || i + n > len || o + n + 1 >= size ||
		    o + (o > 0) + n > DNS_NAME_MAX)
			return -1;
		if (o > 0)
			dst[o++] = '.';
		for (size_t k = 0; k < n; k++) {
			if (!dns_label_char(p[i + k]))
				return -1;
			dst[o++] = (char)p[i + k];
		}
		i += n;
	}
	if (i >= len || size == 0)
		return -1;	/* no terminating root label */
	dst[o] = '\0';
	return (int)(i + 1);
}

/* TXT: the character-strings joined (RFC 7208 3.3 and DKIM want that). */
static int
dns_rr_parse_txt(const uint8_t *p, size_t len, struct dns_rr *rr)
{
	size_t i = 0, o = 0;
	char *txt = xmalloc(len + 1);

	while (i < len) {
		size_t n = p[i++];

		if (i + n > len) {
			free(txt);
			return -1;
		}
		memcpy(txt + o, p + i, n);
		o += n;
		i += n;
	}
	txt[o] = '\0';
	rr->txt = txt;
	rr->txt_len = o;
	return 0;
}

static void
dns_rr_set_addr(struct dns_rr *rr, int family, const uint8_t *p)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&rr->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&rr->addr;

	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p, 16);
	}
}

int
dns_rr_parse(int type, const void *rdata, size_t len, struct dns_rr *rr)
{
	const uint8_t *p = rdata;
	int used;

	memset(rr, 0, sizeof(*rr));
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (len != (type == DNS_T_A ? 4u : 16u))
			return -1;
		dns_rr_set_addr(rr, type == DNS_T_A ? AF_INET : AF_INET6, p);
		return 0;
	case DNS_T_MX:
		if (len < 3)
			return -1;
		rr->pref = (uint16_t)(p[0] << 8 | p[1]);
		used = dns_name_unpack(p + 2, len - 2, rr->name,
		    sizeof(rr->name));
		return used < 0 || (size_t)used != len - 2 ? -1 : 0;
	case DNS_T_PTR:
		used = dns_name_unpack(p, len, rr->name, sizeof(rr->name));
		if (used < 0 || (size_t)used != len || rr->name[0] == '\0')
			return -1;
		return 0;
	case DNS_T_TXT:
		return dns_rr_parse_txt(p, len, rr);
	case DNS_T_SRV:
		/* priority, weight, port, target (RFC 2782) */
		if (len < 7)
			return -1;
		rr->pref = (uint16_t)(p[0] << 8 | p[1]);
		rr->weight = (uint16_t)(p[2] << 8 | p[3]);
		rr->port = (uint16_t)(p[4] << 8 | p[5]);
		used = dns_name_unpack(p + 6, len - 6, rr->name,
		    sizeof(rr->name));
		return used < 0 || (size_t)used != len - 6 ? -1 : 0;
	}
	return -1;
}

void
dns_rr_clear(struct dns_rr *rr)
{
	free(rr->txt);
	rr->txt = NULL;
	rr->txt_len = 0;
}

int
dns_reverse_name(const struct sockaddr *sa, const char *zone,
    char *dst, size_t size)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const uint8_t *a;
	size_t o = 0;
	int n;

	if (zone != NULL && zone[0] == '.')
		zone++;
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		a = sin6->sin6_addr.s6_addr;
		for (int i = 15; i >= 0; i--) {
			/* o < size holds: every step checked truncation. */
			n = snprintf(dst + o, size - o, "%x.%x.", a[i] & 0xf,
			    a[i] >> 4);
			if (n < 0 || (size_t)n >= size - o)
				return -1;
			o += (size_t)n;
		}
		zone = zone != NULL ? zone : "ip6.arpa";
	} else if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		if (sa->sa_family == AF_INET)
			a = (const uint8_t *)&sin->sin_addr;
		else
			a = sin6->sin6_addr.s6_addr + 12;	/* v4-mapped */
		n = snprintf(dst, size, "%u.%u.%u.%u.", a[3], a[2], a[1], a[0]);
		if (n < 0 || (size_t)n >= size)
			return -1;
		o = (size_t)n;
		zone = zone != NULL ? zone : "in-addr.arpa";
	} else
		return -1;
	n = snprintf(dst + o, size - o, "%s", zone);
	if (n < 0 || (size_t)n >= size - o)
		return -1;
	if (o + (size_t)n > 0 && dst[o + (size_t)n - 1] == '.')
		dst[o + (size_t)n - 1] = '\0';
	return 0;
}

/* ---------------------------------------------------------- setup */

static int
dns_ub_option(struct ub_ctx *ub, const char *opt, const char *val,
    const char **error_r)
{
	int r = ub_ctx_set_option(ub, opt, val);

	if (r != 0) {
		log_warnx("- dns option-failed option=%s value=%s error=%s",
		    log_q(opt), log_q(val), ub_strerror(r));
		*error_r = "libunbound refused an option";
		return -1;
	}
	return 0;
}

static int
dns_ub_forwarders(struct ub_ctx *ub, const struct conf_listen_list *l,
    const char **error_r)
{
	char addr[96];
	unsigned char tmp[16];

	if (l->n == 0) {
		/* No resolv.conf: libunbound recurses from the root hints. */
		if (ub_ctx_resolvconf(ub, NULL) != 0)
			log_warnx("- dns resolvconf-failed "
			    "reason=\"cannot read /etc/resolv.conf\"");
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct conf_listen *f = &l->v[i];

		if (inet_pton(AF_INET, f->host, tmp) != 1 &&
		    inet_pton(AF_INET6, f->host, tmp) != 1) {
			*error_r = "DNS resolvers must be IP addresses";
			return -1;
		}
		snprintf(addr, sizeof(addr), "%s@%s", f->host,
		    f->port[0] != '\0' ? f->port : "53");
		if (ub_ctx_set_fwd(ub, addr) != 0) {
			*error_r = "libunbound refused a DNS resolver address";
			return -1;
		}
	}
	return 0;
}

static int
dns_ub_dnssec(struct ub_ctx *ub, bool on, const char **error_r)
{
	if (!on) {
		/* Without trust anchors nothing would be validated anyway;
		 * leaving out the validator saves its work. */
		return dns_ub_option(ub, "module-config:", "iterator",
		    error_r);
	}
	for (size_t i = 0; dns_root_keys[i] != NULL; i++) {
		if (access(dns_root_keys[i], R_OK) != 0)
			continue;
		if (ub_ctx_add_ta_file(ub, dns_root_keys[i]) != 0) {
			*error_r = "cannot load the DNSSEC root trust anchor";
			return -1;
		}
		return 0;
	}
	*error_r = "dnssec = yes needs the root trust anchor "
	    "/usr/share/dns/root.key (package dns-root-data)";
	return -1;
}

static int
dns_ub_options(struct ub_ctx *ub, bool dnssec, const char **error_r)
{
	/* Loopback resolvers (local caches, tests) must be asked. */
	if (dns_ub_option(ub, "do-not-query-localhost:", "no", error_r) < 0 ||
	    dns_ub_option(ub, "unblock-lan-zones:", "yes", error_r) < 0 ||
	    dns_ub_option(ub, "insecure-lan-zones:", "yes", error_r) < 0)
		return -1;
	/* A resolver that timed out once is probed again instead of being
	 * shunned for infra-host-ttl (15 minutes by default). */
	if (dns_ub_option(ub, "infra-keep-probing:", "yes", error_r) < 0 ||
	    dns_ub_option(ub, "infra-host-ttl:", "60", error_r) < 0)
		return -1;
	for (size_t i = 0; dns_transparent_zones[i] != NULL; i++) {
		char zone[128];

		snprintf(zone, sizeof(zone), "%s transparent",
		    dns_transparent_zones[i]);
		if (dns_ub_option(ub, "local-zone:", zone, error_r) < 0)
			return -1;
		if (dnssec && dns_ub_option(ub, "domain-insecure:",
		    dns_transparent_zones[i], error_r) < 0)
			return -1;
	}
	return dns_ub_dnssec(ub, dnssec, error_r);
}

static void
dns_ub_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns_ub *u = arg;
	int r;

	if ((r = ub_process(u->ub)) != 0)
		log_warnx("- dns process-failed error=%s",
		    log_q(ub_strerror(r)));
}

/* The context's slot for /metrics, named by its addresses as `ferry
 * status` shows them, joined by commas when libunbound picks among
 * several (it never says which one answered). */
static void
dns_ub_stats(struct dns_ub *u)
{
	char name[METRICS_RESOLVER_LEN];
	struct fbuf b;

	fbuf_init(&b, 0);
	for (size_t i = 0; i < u->naddrs; i++)
		fbuf_addf(&b, "%s%s", i > 0 ? "," : "", u->addrs[i]);
	/* Cut like the slot's copy, so that the same list finds it. */
	str_lcpy(name, fbuf_str(&b), sizeof(name));
	fbuf_release(&b);
	u->stats = metrics_dns_resolver(u->fallback ?
	    METRICS_RESOLVER_FALLBACK : METRICS_RESOLVER_PRIMARY, name);
}

static int
dns_ub_init(struct dns *d, struct dns_ub *u, const struct conf_listen_list *l,
    const struct conf *conf, const char **error_r)
{
	u->d = d;
	u->fallback = u == &d->fallback;
	if ((u->ub = ub_ctx_create()) == NULL) {
		*error_r = "cannot create a libunbound context";
		return -1;
	}
	/* A thread, not a forked process: answers come back through the
	 * pipe behind ub_fd(), which the loop watches. */
	if (ub_ctx_async(u->ub, 1) != 0) {
		*error_r = "libunbound cannot resolve asynchronously";
		return -1;
	}
	if (dns_ub_options(u->ub, conf->dnssec, error_r) < 0 ||
	    dns_ub_forwarders(u->ub, l, error_r) < 0)
		return -1;
	u->naddrs = l->n > 0 ? l->n : 1;
	u->addrs = xcalloc(u->naddrs, sizeof(*u->addrs));
	if (l->n == 0)
		str_lcpy(u->addrs[0], "resolv.conf", sizeof(u->addrs[0]));
	for (size_t i = 0; i < l->n; i++)
		snprintf(u->addrs[i], sizeof(u->addrs[i]),
		    strchr(l->v[i].host, ':') != NULL ? "[%s]:%s" : "%s:%s",
		    l->v[i].host, l->v[i].port[0] != '\0' ? l->v[i].port :
		    "53");
	dns_ub_stats(u);
	u->ev = event_new(d->base, ub_fd(u->ub), EV_READ | EV_PERSIST,
	    dns_ub_readable, u);
	if (u->ev == NULL || event_add(u->ev, NULL) < 0) {
		*error_r = "cannot watch the libunbound pipe";
		return -1;
	}
	return 0;
}

static void
dns_ub_free(struct dns_ub *u)
{
	if (u->ev != NULL)
		event_free(u->ev);
	if (u->ub != NULL)
		ub_ctx_delete(u->ub);
	u->ev = NULL;
	u->ub = NULL;
	free(u->addrs);
	u->addrs = NULL;
	u->naddrs = 0;
}

int
dns_create(struct dns **dp, struct event_base *base,
    const struct conf *conf, const char **error_r)
{
	struct dns *d = xcalloc(1, sizeof(*d));

	d->base = base;
	LIST_INIT(&d->queries);
	d->answers = dns_answers_new();
	d->stale_max = (time_t)conf->dns_stale_max;
	if (dns_ub_init(d, &d->primary, &conf->dns_resolvers, conf,
	    error_r) < 0 ||
	    (conf->dns_fallback_resolvers.n > 0 &&
	    dns_ub_init(d, &d->fallback, &conf->dns_fallback_resolvers, conf,
	    error_r) < 0)) {
		dns_free(&d);
		return -1;
	}
	*dp = d;
	return 0;
}

static void dns_query_free(struct dns_query *q);

/* ---------------------------------------------------------- kept answers */

static bool
dns_stale_type(int type)
{
	return type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_MX;
}

/* Keeps an answer: for the cache (answers of the first resolvers: a
 * fallback answer says the first ones are failing, and is not worth
 * more than the next lookup's), and for serve-stale when the lookup may
 * be served stale later.  The NXDOMAIN of such a lookup is not cached:
 * it would take the place of the last good answer kept for it. */
static void
dns_answer_keep(struct dns *d, const struct dns_query *q,
    const struct dns_result *r)
{
	bool stale = d->stale_max != 0 && (q->flags & DNS_F_STALE_OK) &&
	    dns_stale_type(q->type);

	dns_answers_put(d->answers, q->name, q->type, r,
	    !r->fallback && !(stale && r->status == DNS_NXDOMAIN), stale,
	    time(NULL));
}

bool
dns_stale_peek(struct dns *d, const char *name, int type,
    struct dns_result *r)
{
	memset(r, 0, sizeof(*r));
	if (d->stale_max == 0 || !dns_stale_type(type) ||
	    !dns_answers_stale(d->answers, name, type, d->stale_max,
	    time(NULL), r))
		return false;
	/* MX, A and AAAA records own no memory: free(r->rr) is enough. */
	r->type = type;
	return true;
}

/* No resolver answered q: its last good answer, when the lookup may
 * take one and it is young enough.  True when it was handed over. */
static bool
dns_stale_serve(struct dns_query *q, const char *why)
{
	struct dns *d = q->d;
	struct dns_result r;

	if (d->stale_max == 0 || !(q->flags & DNS_F_STALE_OK) ||
	    !dns_stale_type(q->type) ||
	    !dns_answers_stale(d->answers, q->name, q->type, d->stale_max,
	    time(NULL), &r))
		return false;
	r.qname = q->name;
	r.type = q->type;
	r.fallback = q->tried_fallback;
	r.why = why;
	log_info("- dns stale-answer name=%s type=%s age=%llus records=%zu "
	    "reason=%s", log_q(q->name), dns_type_str(q->type),
	    (unsigned long long)r.stale_age, r.n, log_q(why));
	q->cb(&r, q->ctx);
	dns_answers_result_free(&r);
	return true;
}

/* Takes q's answer from the cache while it is fresh there, to be handed
 * over from the loop (the query's timer).  True when it did. */
static bool
dns_cache_take(struct dns_query *q)
{
	static const struct timeval now = { 0, 0 };

	if (!dns_answers_fresh(q->d->answers, q->name, q->type, time(NULL),
	    &q->hit, q->canon, sizeof(q->canon)))
		return false;
	q->cached = true;
	log_debug("- dns cached name=%s type=%s ttl=%u", log_q(q->name),
	    dns_type_str(q->type), q->hit.ttl);
	evtimer_add(q->timer, &now);
	return true;
}

/* The timer of a query answered from the cache. */
static void
dns_cache_serve(struct dns_query *q)
{
	struct dns_result *r = &q->hit;

	r->qname = q->name;
	r->type = q->type;
	q->cb(r, q->ctx);
	dns_query_free(q);
}

void
dns_cache_expire(struct dns *d)
{
	dns_answers_expire(d->answers);
}

void
dns_free(struct dns **dp)
{
	struct dns *d = *dp;
	struct dns_query *q;

	if (d == NULL)
		return;
	*dp = NULL;
	while ((q = LIST_FIRST(&d->queries)) != NULL)
		/* LIST_REMOVE in dns_query_free moves the head on; the
		 * analyser loses that store through le_prev */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		dns_query_free(q);
	dns_ub_free(&d->primary);
	dns_ub_free(&d->fallback);
	dns_answers_free(&d->answers);
	free(d);
}

/* ---------------------------------------------------------- queries */

static void
dns_query_free(struct dns_query *q)
{
	if (q->cached)
		dns_answers_result_free(&q->hit);
	if (q->asking != NULL)
		(void)ub_cancel(q->asking->ub, q->async_id);
	LIST_REMOVE(q, entry);
	event_free(q->timer);
	free(q);
}

void
dns_query_abort(struct dns_query **qp)
{
	if (*qp == NULL)
		return;
	dns_query_free(*qp);
	*qp = NULL;
}

/* Hands r to the owner, then the handle is gone. */
static void
dns_query_finish(struct dns_query *q, struct dns_result *r)
{
	r->qname = q->name;
	r->type = q->type;
	q->cb(r, q->ctx);
	dns_query_free(q);
}

static void
dns_query_fail(struct dns_query *q, enum dns_status st, const char *why)
{
	struct dns_result r;

	if (st == DNS_TEMPFAIL && dns_stale_serve(q, why)) {
		dns_query_free(q);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.status = st;
	r.fallback = q->tried_fallback;
	r.why = why;
	dns_query_finish(q, &r);
}

/* Failures found before asking anyone still reach the owner from the
 * loop, never inline. */
static void
dns_query_fail_later(struct dns_query *q, enum dns_status st,
    const char *why)
{
	static const struct timeval now = { 0, 0 };

	q->asking = NULL;
	q->fail_status = st;
	str_lcpy(q->why2, why, sizeof(q->why2));
	evtimer_add(q->timer, &now);
}

static void
dns_query_ask(struct dns_query *q, struct dns_ub *u)
{
	const struct timeval tv = { DNS_TIMEOUT_SEC, 0 };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &q->asked);
	r = ub_resolve_async(u->ub, q->name, q->type, 1, q, dns_ub_answer,
	    &q->async_id);
	if (r != 0) {
		dns_count(q, u, METRICS_DNSO_ERROR);
		dns_query_fail_later(q, DNS_TEMPFAIL, ub_strerror(r));
		return;
	}
	q->asking = u;
	evtimer_add(q->timer, &tv);
}

/* The resolvers asked could not answer: ask the fallback resolvers, or
 * report the temporary failure. */
static void
dns_query_next(struct dns_query *q, const char *why)
{
	struct dns_ub *fb = &q->d->fallback;

	if (!q->tried_fallback && fb->ub != NULL) {
		snprintf(q->why, sizeof(q->why), "resolvers: %.100s", why);
		q->tried_fallback = true;
		log_debug("- dns fallback name=%s type=%s reason=%s",
		    log_q(q->name), dns_type_str(q->type), log_q(why));
		dns_query_ask(q, fb);
		return;
	}
	if (q->tried_fallback) {
		snprintf(q->why2, sizeof(q->why2),
		    "%s; fallback resolvers: %.100s", q->why, why);
		why = q->why2;
	}
	dns_query_fail(q, DNS_TEMPFAIL, why);
}

/* The process that publishes the health (the one with a health_cb)
 * also shows it on /metrics: each context's set-aside end, 0 when up. */
static void
dns_health_publish(struct dns *d)
{
	struct dns_ub *groups[2] = { &d->primary, &d->fallback };

	for (int g = 0; g < 2; g++)
		if (groups[g]->stats != NULL)
			atomic_store_explicit(&groups[g]->stats->aside_until,
			    (int64_t)groups[g]->aside_until,
			    memory_order_relaxed);
}

/* The first resolvers timed out: set aside, when there is a fallback
 * to ask instead (logged once per period). */
static void
dns_primary_timed_out(struct dns *d)
{
	struct dns_ub *u = &d->primary;
	time_t now = time(NULL);

	if (d->fallback.ub == NULL || now < u->aside_until)
		return;
	u->aside_secs = u->aside_secs == 0 ? DNS_ASIDE_MIN :
	    u->aside_secs * 2 > DNS_ASIDE_MAX ? DNS_ASIDE_MAX :
	    u->aside_secs * 2;
	u->aside_until = now + (time_t)u->aside_secs;
	if (u->aside_secs == DNS_ASIDE_MIN)
		u->since = now;		/* a new episode */
	log_warnx("- dns resolvers-set-aside for=%us reason=\"timed out\" "
	    "action=\"dns_fallback_resolvers answer meanwhile\"",
	    u->aside_secs);
	if (d->health_cb != NULL) {
		if (u->stats != NULL)
			metrics_inc(&u->stats->asides);
		dns_health_publish(d);
		d->health_cb(d->health_ctx);
	}
}

/* The first resolvers answered (anything): healthy again. */
static void
dns_primary_answered(struct dns *d)
{
	struct dns_ub *u = &d->primary;

	if (u->aside_secs == 0)
		return;
	log_info("- dns resolvers-back after=%us", u->aside_secs);
	u->aside_secs = 0;
	u->aside_until = 0;
	u->since = time(NULL);
	if (d->health_cb != NULL) {
		dns_health_publish(d);
		d->health_cb(d->health_ctx);
	}
}

/* ---------------------------------------------------------- health */

void
dns_set_health_cb(struct dns *d, void (*cb)(void *ctx), void *ctx)
{
	d->health_cb = cb;
	d->health_ctx = ctx;
	/* The publisher's state replaces what an earlier one left. */
	if (cb != NULL)
		dns_health_publish(d);
}

size_t
dns_resolver_health(const struct dns *d, struct dns_resolver_health *v,
    size_t max)
{
	const struct dns_ub *groups[2] = { &d->primary, &d->fallback };
	time_t now = time(NULL);
	size_t n = 0;

	for (int g = 0; g < 2; g++) {
		const struct dns_ub *u = groups[g];

		if (u->ub == NULL)
			continue;
		for (size_t i = 0; i < u->naddrs; i++, n++) {
			if (n >= max)
				continue;
			memset(&v[n], 0, sizeof(v[n]));
			str_lcpy(v[n].addr, u->addrs[i], sizeof(v[n].addr));
			v[n].fallback = g == 1;
			v[n].aside = now < u->aside_until;
			/* Up after a set-aside ran out: since its end. */
			v[n].since = v[n].aside || u->aside_secs == 0 ?
			    u->since : u->aside_until;
			v[n].until = v[n].aside ? u->aside_until : 0;
		}
	}
	return n;
}

static void
dns_health_time(struct fbuf *b, const char *key, time_t t)
{
	struct tm tm;
	char when[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		fbuf_addf(b, " %s=start", key);
	else
		fbuf_addf(b, " %s=\"%s\"", key, when);
}

void
dns_resolver_health_format(const struct dns *d, struct fbuf *b)
{
	struct dns_resolver_health v[32];
	size_t n = dns_resolver_health(d, v, 32);

	for (size_t i = 0; i < n && i < 32; i++) {
		fbuf_addf(b, "%s group=%s state=%s", v[i].addr,
		    v[i].fallback ? "fallback" : "resolvers",
		    v[i].aside ? "set-aside" : "up");
		dns_health_time(b, "since", v[i].since);
		if (v[i].aside)
			dns_health_time(b, "until", v[i].until);
		fbuf_adds(b, "\n");
	}
}

static void
dns_query_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	if (q->cached) {
		dns_cache_serve(q);
		return;
	}
	if (q->asking == NULL) {
		dns_query_fail(q, q->fail_status, q->why2);
		return;
	}
	(void)ub_cancel(q->asking->ub, q->async_id);
	dns_count(q, q->asking, METRICS_DNSO_TIMEOUT);
	if (q->asking == &q->d->primary)
		dns_primary_timed_out(q->d);
	q->asking = NULL;
	dns_query_next(q, "timed out");
}

struct dns_query *
dns_lookup(struct dns *d, const char *name, int type, dns_cb *cb, void *ctx)
{
	return dns_lookup_flags(d, name, type, 0, cb, ctx);
}

struct dns_query *
dns_lookup_flags(struct dns *d, const char *name, int type, unsigned flags,
    dns_cb *cb, void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->d = d;
	q->flags = flags;
	q->type = type;
	q->cb = cb;
	q->ctx = ctx;
	q->timer = evtimer_new(d->base, dns_query_timer, q);
	if (q->timer == NULL)
		log_fatalx("dns: cannot create a timer");
	LIST_INSERT_HEAD(&d->queries, q, entry);
	str_lcpy(q->name, name, sizeof(q->name));
	if (strlen(name) >= sizeof(q->name) || !dns_name_valid(name)) {
		dns_query_fail_later(q, DNS_NXDOMAIN, "invalid name");
		return q;
	}
	if (q->name[strlen(q->name) - 1] == '.')
		q->name[strlen(q->name) - 1] = '\0';
	if (dns_cache_take(q))
		return q;
	if (d->fallback.ub != NULL && time(NULL) < d->primary.aside_until) {
		/* As if the first resolvers had failed, without the wait. */
		str_lcpy(q->why, "resolvers: set aside after a timeout",
		    sizeof(q->why));
		q->tried_fallback = true;
		log_debug("- dns fallback name=%s type=%s reason=%s",
		    log_q(q->name), dns_type_str(q->type), log_q(q->why));
		dns_query_ask(q, &d->fallback);
		return q;
	}
	dns_query_ask(q, &d->primary);
	return q;
}

/* ---------------------------------------------------------- answers */

/* The records of res decoded into r->rr (malformed ones skipped and
 * logged).  Returns how many were malformed. */
static size_t
dns_result_records(const struct dns_query *q, const struct ub_result *res,
    struct dns_result *r)
{
	size_t count = 0, bad = 0;

	while (res->data[count] != NULL)
		count++;
	r->rr = xcalloc(count > 0 ? count : 1, sizeof(*r->rr));
	for (size_t i = 0; i < count; i++) {
		if (res->len[i] < 0 || dns_rr_parse(q->type, res->data[i],
		    (size_t)res->len[i], &r->rr[r->n]) < 0) {
			bad++;
			continue;
		}
		r->n++;
	}
	if (bad > 0)
		log_warnx("- dns malformed-records name=%s type=%s count=%zu",
		    log_q(q->name), dns_type_str(q->type), bad);
	return bad;
}

static void
dns_result_release(struct dns_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		dns_rr_clear(&r->rr[i]);
	free(r->rr);
	r->rr = NULL;
	r->n = 0;
}

/* Classifies a libunbound result.  Returns false when the resolvers
 * asked could not answer (SERVFAIL and friends), with *why set. */
static bool
dns_result_classify(const struct dns_query *q, const struct ub_result *res,
    struct dns_result *r, const char **why_r)
{
	static char rcode[32];

	r->secure = res->secure != 0;
	if (res->bogus) {
		/* Validation failed: asking elsewhere gives the same data. */
		r->status = DNS_TEMPFAIL;
		r->why = "DNSSEC validation failed";
		log_warnx("- dns bogus name=%s reason=%s", log_q(q->name),
		    log_q(res->why_bogus != NULL ? res->why_bogus : "?"));
		return true;
	}
	/* Negative answers have the TTL of the zone's SOA (RFC 2308),
	 * 0 without one. */
	r->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	if (res->rcode == DNS_RCODE_NXDOMAIN || res->nxdomain) {
		r->status = DNS_NXDOMAIN;
		return true;
	}
	if (res->rcode != 0) {
		if (res->rcode == DNS_RCODE_SERVFAIL)
			*why_r = "SERVFAIL";
		else {
			snprintf(rcode, sizeof(rcode), "rcode %d", res->rcode);
			*why_r = rcode;
		}
		return false;
	}
	if (!res->havedata || res->data == NULL || res->data[0] == NULL) {
		r->status = DNS_NODATA;
		return true;
	}
	r->status = DNS_OK;
	if (dns_result_records(q, res, r) > 0 && r->n == 0) {
		r->status = DNS_TEMPFAIL;
		r->why = "malformed answer";
	}
	return true;
}

/* The canonical name when CNAMEs led elsewhere (check mx flags an MX
 * host that is an alias, RFC 2181 10.3). */
static void
dns_result_canon(struct dns_query *q, const struct ub_result *res,
    struct dns_result *r)
{
	size_t n;

	if (res->canonname == NULL ||
	    str_lcpy(q->canon, res->canonname, sizeof(q->canon)) >=
	    sizeof(q->canon))
		return;
	n = strlen(q->canon);
	if (n > 0 && q->canon[n - 1] == '.')
		q->canon[n - 1] = '\0';
	if (q->canon[0] != '\0' && !str_ieq(q->canon, q->name))
		r->canon = q->canon;
}

/* Milliseconds since q was asked. */
static uint64_t
dns_query_elapsed_ms(const struct dns_query *q)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - q->asked.tv_sec) * 1000 +
	    (now.tv_nsec - q->asked.tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

/* The first resolvers failed q: when that took long, it was libunbound's
 * own give-up on silent servers (its retries ran out before our timer),
 * and the group is set aside as for our timeout.  Without this, a warm
 * libunbound answers SERVFAIL after a few seconds, the lookup goes to
 * the fallback alone, and the next lookup (the MX host's addresses)
 * waits again for the blocked resolvers. */
static void
dns_primary_failed(struct dns_query *q, bool primary, const char *why)
{
	uint64_t ms;

	if (!primary)
		return;
	ms = dns_query_elapsed_ms(q);
	if (ms < DNS_SLOW_FAIL_MS)
		return;
	log_debug("- dns slow-failure name=%s type=%s after=%llums reason=%s",
	    log_q(q->name), dns_type_str(q->type), (unsigned long long)ms,
	    log_q(why));
	dns_primary_timed_out(q->d);
}

static void
dns_ub_answer(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;
	struct dns_result r;
	const char *why = NULL;
	struct dns_ub *u = q->asking;
	bool primary = q->asking == &q->d->primary;

	evtimer_del(q->timer);
	q->asking = NULL;
	memset(&r, 0, sizeof(r));
	if (err != 0) {
		dns_count(q, u, METRICS_DNSO_ERROR);
		ub_resolve_free(res);
		dns_primary_failed(q, primary, ub_strerror(err));
		dns_query_next(q, ub_strerror(err));
		return;
	}
	if (!dns_result_classify(q, res, &r, &why)) {
		dns_count(q, u, METRICS_DNSO_SERVFAIL);
		ub_resolve_free(res);
		dns_primary_failed(q, primary, why);
		dns_query_next(q, why);
		return;
	}
	dns_count(q, u, r.status == DNS_NXDOMAIN ?
	    METRICS_DNSO_NXDOMAIN : METRICS_DNSO_ANSWER);
	dns_result_canon(q, res, &r);
	ub_resolve_free(res);
	if (primary)
		dns_primary_answered(q->d);
	r.fallback = q->tried_fallback;
	if (r.why == NULL && q->tried_fallback)
		r.why = q->why;
	dns_answer_keep(q->d, q, &r);
	/* r owns the records; q is gone after dns_query_finish(). */
	dns_query_finish(q, &r);
	dns_result_release(&r);
}
