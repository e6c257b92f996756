/* `ferry check mx DOMAIN [--json] [--no-connect] [--timeout N]
 * [--tarpit N]`: where mail for a domain goes and whether it gets there
 * from here.  RFC 5321 5.1: the MX hosts in preference order (lower
 * first, equal ones in random order), the implicit MX when there is
 * none, the null MX of RFC 7505; flags for what senders stumble on (an
 * MX naming a CNAME, RFC 2181 10.3; an IP literal; a host listed twice;
 * a host without addresses).  Then each address is probed as a sender
 * meets it (ops/ops_probe.c: connect, greeting, EHLO, STARTTLS and the
 * certificate), every phase bounded, all at once on one loop; a verdict
 * per address, per host and for the domain; the path the relay would
 * take now (route, direct, fallback_relay) from the reachability memory
 * (state_dir/reachability, read only).  --no-connect skips the probes.
 * Exit 1 only when DNS gives no usable answer; an undeliverable domain
 * is an answer (exit 0, "deliverable": false). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "net/dns.h"
#include "ops/ops_probe.h"
#include "ops/ops_provider.h"
#include "queue/queue_control.h"
#include "queue/queue_stale.h"

#define CMD_CHECK_MX_HOSTS_MAX 32
#define CMD_CHECK_MX_PHASE_MAX 15	/* default cap per probe phase */
#define CMD_CHECK_MX_TARPIT 10		/* default tarpit bound, seconds */
#define CMD_CHECK_MX_FLAGS_MAX 64
#define CMD_CHECK_MX_CTL_MS 3000	/* the queue's answer, at most */
#define CMD_CHECK_MX_RULE "lower preference is tried first; equal " \
	"preferences in random order"

enum cmd_check_mx_kind {
	CMD_CHECK_MX_LIST,		/* MX records */
	CMD_CHECK_MX_IMPLICIT,		/* no MX: the domain itself */
	CMD_CHECK_MX_NULL,		/* RFC 7505 */
	CMD_CHECK_MX_FAILED		/* NXDOMAIN or temporary failure */
};

struct cmd_check_mx;

struct cmd_check_addr {
	struct sockaddr_storage ss;
	bool probed;
	struct ops_probe_result res;
	struct ops_probe *probe;
	struct cmd_check_host *host;
};

struct cmd_check_host {
	uint16_t pref;
	char name[256];
	char canon[256];		/* "": not an alias */
	bool self;			/* this server's hostname */
	bool ip_literal;
	enum dns_status st[2];		/* A, AAAA */
	char why[2][128];
	struct cmd_check_addr *addrs;
	size_t naddrs;
	struct cmd_check_mx *mx;
};

struct cmd_check_mx_flag {
	const char *flag;		/* "cname", "no-address", ... */
	const char *host;		/* borrowed; NULL: the domain */
	char text[300];
};

struct cmd_check_mx {
	const struct conf *conf;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ssl_ctx;
	const char *domain;
	bool json, probe;
	struct ops_probe_opts popts;
	enum cmd_check_mx_kind kind;
	enum dns_status st;		/* of the MX query */
	char why[300];
	char fallback_why[300];
	bool fallback;
	struct cmd_check_host *hosts;
	size_t nhosts;
	unsigned pending;
	struct cmd_check_mx_flag flags[CMD_CHECK_MX_FLAGS_MAX];
	size_t nflags;
	struct cmd_reach reach;		/* the queue's reachability memory */
	bool stale;			/* hosts from the queue's serve-stale */
	uint64_t stale_age;		/* of the MX answer, seconds */
	char stale_none[200];		/* why there are none, for people */
	struct ops_providers providers;
	const struct ops_provider *provider;	/* NULL: none recognised */
	const struct ops_provider_set *pset;	/* the set the domain follows */
	size_t pset_present;
};

/* ---------------------------------------------------------- helpers */

static void
cmd_check_mx_addr_str(const struct sockaddr_storage *ss, char *dst,
    size_t size)
{
	cidr_addr_str((const struct sockaddr *)ss, dst, size);
}

static void
cmd_check_mx_json_strn(const char *key, const char *v)
{
	printf(", \"%s\": ", key);
	if (v != NULL)
		cli_json_str(v);
	else
		fputs("null", stdout);
}

static bool
cmd_check_mx_is_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	    inet_pton(AF_INET6, s, tmp) == 1;
}

/* The reachability memory's key for an address at remote_smtp_port. */
static const struct reach_entry *
cmd_check_mx_reach_entry(const struct cmd_check_mx *mx,
    const struct cmd_check_addr *a)
{
	char key[REACH_KEY_MAX + 8], ip[64];

	cmd_check_mx_addr_str(&a->ss, ip, sizeof(ip));
	snprintf(key, sizeof(key), a->ss.ss_family == AF_INET6 ? "[%s]:%u" :
	    "%s:%u", ip, mx->conf->remote_smtp_port);
	return cmd_reach_find(&mx->reach, key);
}

/* The connect outcome in the words `check mx` always used. */
static const char *
cmd_check_mx_connect_word(const struct cmd_check_addr *a)
{
	if (!a->probed)
		return NULL;
	if (a->res.connected)
		return "open";
	if (a->res.verdict == OPS_PROBE_REFUSED)
		return "refused";
	if (a->res.verdict == OPS_PROBE_TIMES_OUT)
		return "timed out";
	return a->res.error[0] != '\0' ? a->res.error : "unreachable";
}

static void
cmd_check_mx_flag(struct cmd_check_mx *mx, const char *flag,
    const char *host, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
cmd_check_mx_flag(struct cmd_check_mx *mx, const char *flag,
    const char *host, const char *fmt, ...)
{
	struct cmd_check_mx_flag *f;
	va_list ap;

	if (mx->nflags >= CMD_CHECK_MX_FLAGS_MAX)
		return;
	f = &mx->flags[mx->nflags++];
	f->flag = flag;
	f->host = host;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- DNS */

static void cmd_check_mx_step(struct cmd_check_mx *mx);

static void
cmd_check_mx_note_fallback(struct cmd_check_mx *mx,
    const struct dns_result *r)
{
	if (!r->fallback || mx->fallback)
		return;
	mx->fallback = true;
	str_lcpy(mx->fallback_why, r->why != NULL ? r->why :
	    "the resolvers failed", sizeof(mx->fallback_why));
}

static void
cmd_check_mx_addr_done(const struct dns_result *r, void *arg)
{
	struct cmd_check_host *h = arg;
	int i = r->type == DNS_T_A ? 0 : 1;

	cmd_check_mx_note_fallback(h->mx, r);
	h->st[i] = r->status;
	if (r->status == DNS_TEMPFAIL)
		str_lcpy(h->why[i], r->why != NULL ? r->why : "unknown",
		    sizeof(h->why[i]));
	if (r->canon != NULL && h->canon[0] == '\0')
		str_lcpy(h->canon, r->canon, sizeof(h->canon));
	h->addrs = xreallocarray(h->addrs, h->naddrs + r->n,
	    sizeof(*h->addrs));
	for (size_t k = 0; k < r->n; k++) {
		struct cmd_check_addr *a = &h->addrs[h->naddrs++];

		memset(a, 0, sizeof(*a));
		a->ss = r->rr[k].addr;
	}
	h->mx->pending--;
	cmd_check_mx_step(h->mx);
}

static void
cmd_check_mx_add_host(struct cmd_check_mx *mx, uint16_t pref,
    const char *name)
{
	struct cmd_check_host *h = &mx->hosts[mx->nhosts++];

	memset(h, 0, sizeof(*h));
	h->pref = pref;
	str_lcpy(h->name, name, sizeof(h->name));
	h->self = str_ieq(name, mx->conf->hostname);
	h->ip_literal = cmd_check_mx_is_ip(name);
	h->mx = mx;
}

static int
cmd_check_mx_cmp(const void *a, const void *b)
{
	const struct cmd_check_host *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->name, y->name);
}

/* Hosts sorted by preference (names break ties, for stable output; the
 * relay shuffles equal preferences), then their addresses asked. */
static void
cmd_check_mx_hosts(struct cmd_check_mx *mx, const struct dns_result *r)
{
	size_t n = r->n < CMD_CHECK_MX_HOSTS_MAX ? r->n :
	    CMD_CHECK_MX_HOSTS_MAX;

	mx->hosts = xcalloc(n > 0 ? n : 1, sizeof(*mx->hosts));
	for (size_t i = 0; i < r->n; i++) {
		if (r->rr[i].name[0] == '\0')
			mx->kind = CMD_CHECK_MX_NULL;
		else if (mx->nhosts < n)
			cmd_check_mx_add_host(mx, r->rr[i].pref, r->rr[i].name);
	}
	if (mx->kind == CMD_CHECK_MX_NULL) {
		if (mx->nhosts > 0)
			cmd_check_mx_flag(mx, "null-mx-mixed", NULL, "a null "
			    "MX among other MX records (RFC 7505 3: it must "
			    "be the only one); senders ignore them all");
		mx->nhosts = 0;
		return;
	}
	if (r->n > n)
		cmd_check_mx_flag(mx, "too-many", NULL, "%zu MX records; "
		    "only the first %zu are checked", r->n, n);
	qsort(mx->hosts, mx->nhosts, sizeof(*mx->hosts), cmd_check_mx_cmp);
}

static void
cmd_check_mx_resolve_hosts(struct cmd_check_mx *mx)
{
	for (size_t i = 0; i < mx->nhosts; i++) {
		struct cmd_check_host *h = &mx->hosts[i];

		mx->pending += 2;
		(void)dns_lookup(mx->dns, h->name, DNS_T_A,
		    cmd_check_mx_addr_done, h);
		(void)dns_lookup(mx->dns, h->name, DNS_T_AAAA,
		    cmd_check_mx_addr_done, h);
	}
}

static void
cmd_check_mx_done(const struct dns_result *r, void *arg)
{
	struct cmd_check_mx *mx = arg;

	cmd_check_mx_note_fallback(mx, r);
	mx->st = r->status;
	mx->pending--;
	if (r->status == DNS_OK) {
		mx->kind = CMD_CHECK_MX_LIST;
		cmd_check_mx_hosts(mx, r);
	} else if (r->status == DNS_NODATA) {
		mx->kind = CMD_CHECK_MX_IMPLICIT;
		mx->hosts = xcalloc(1, sizeof(*mx->hosts));
		cmd_check_mx_add_host(mx, 0, mx->domain);
	} else {
		mx->kind = CMD_CHECK_MX_FAILED;
		str_lcpy(mx->why, r->why != NULL ? r->why : "unknown",
		    sizeof(mx->why));
	}
	cmd_check_mx_resolve_hosts(mx);
	cmd_check_mx_step(mx);
}

/* ---------------------------------------------------------- probes */

static void
cmd_check_mx_probe_done(const struct ops_probe_result *r, void *arg)
{
	struct cmd_check_addr *a = arg;
	struct cmd_check_mx *mx = a->host->mx;

	a->probe = NULL;
	a->probed = true;
	a->res = *r;
	mx->pending--;
	cmd_check_mx_step(mx);
}

static void
cmd_check_mx_probe_all(struct cmd_check_mx *mx)
{
	for (size_t i = 0; i < mx->nhosts; i++) {
		struct cmd_check_host *h = &mx->hosts[i];
		struct ops_probe_opts o = mx->popts;

		o.host = h->name;
		for (size_t k = 0; k < h->naddrs; k++) {
			h->addrs[k].host = h;
			mx->pending++;
			h->addrs[k].probe = ops_probe_start(mx->base,
			    (struct sockaddr *)&h->addrs[k].ss, &o,
			    mx->ssl_ctx, cmd_check_mx_probe_done, &h->addrs[k]);
		}
	}
}

/* Moves on once nothing is pending: the probes after DNS, then the end. */
static void
cmd_check_mx_step(struct cmd_check_mx *mx)
{
	if (mx->pending > 0)
		return;
	if (mx->probe) {
		mx->probe = false;
		cmd_check_mx_probe_all(mx);
		if (mx->pending > 0)
			return;
	}
	event_base_loopbreak(mx->base);
}

/* ---------------------------------------------------------- stale */

/* Asks the running queue for its serve-stale answer to name/type into
 * *out: 1, 0 when it holds none (or no queue runs: mx->stale_none
 * says), -1 when the answer does not parse. */
static int
cmd_check_mx_ask_stale(struct cmd_check_mx *mx, const char *name, int type,
    struct queue_stale *out)
{
	char path[PATH_MAX];
	struct control_arg args[2] = { { "name", name },
	    { "type", dns_type_str(type) } };
	struct control_answer ans;
	const char *error;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", mx->conf->state_dir,
	    QUEUE_CONTROL_SOCK) >= (int)sizeof(path))
		return 0;
	if (control_call(path, "stale", args, 2, CMD_CHECK_MX_CTL_MS, &ans,
	    &error) < 0) {
		fbuf_release(&ans.body);
		snprintf(mx->stale_none, sizeof(mx->stale_none), "%s",
		    control_errno_down(errno) ? "none known: the queue is not "
		    "running (it keeps them in its memory)" : "none known: the "
		    "queue did not answer");
		return 0;
	}
	if (ans.status != CONTROL_OK) {
		str_lcpy(mx->stale_none, "none: the queue holds no answer "
		    "young enough (dns_stale_max)", sizeof(mx->stale_none));
		fbuf_release(&ans.body);
		return 0;
	}
	r = queue_stale_parse(ans.body.data, ans.body.len, type, out);
	fbuf_release(&ans.body);
	if (r < 0)
		str_lcpy(mx->stale_none, "none: the queue's answer did not "
		    "parse", sizeof(mx->stale_none));
	return r < 0 ? -1 : 1;
}

/* A host's stale A or AAAA answer into its addresses. */
static void
cmd_check_mx_stale_addrs(struct cmd_check_mx *mx, struct cmd_check_host *h,
    int type, struct queue_stale *qs)
{
	int i = type == DNS_T_A ? 0 : 1;

	if (cmd_check_mx_ask_stale(mx, h->name, type, qs) != 1) {
		h->st[i] = DNS_TEMPFAIL;
		str_lcpy(h->why[i], "lookup failed, no stale answer",
		    sizeof(h->why[i]));
		return;
	}
	h->st[i] = qs->nodata ? DNS_NODATA : DNS_OK;
	h->addrs = xreallocarray(h->addrs, h->naddrs + qs->n + 1,
	    sizeof(*h->addrs));
	for (size_t k = 0; k < qs->n; k++) {
		memset(&h->addrs[h->naddrs], 0, sizeof(*h->addrs));
		h->addrs[h->naddrs++].ss = qs->rr[k].addr;
	}
}

/* The MX lookup failed (not NXDOMAIN): the answers the relay would
 * deliver on now, if the running queue still holds them (serve-stale,
 * RFC 8767); then the hosts are probed like fresh ones. */
static void
cmd_check_mx_stale(struct cmd_check_mx *mx)
{
	struct queue_stale *qs = xcalloc(1, sizeof(*qs));
	size_t n;

	if (cmd_check_mx_ask_stale(mx, mx->domain, DNS_T_MX, qs) != 1) {
		free(qs);
		return;
	}
	mx->stale = true;
	mx->stale_age = qs->age;
	n = qs->nodata ? 1 : qs->n < CMD_CHECK_MX_HOSTS_MAX ? qs->n :
	    CMD_CHECK_MX_HOSTS_MAX;
	mx->hosts = xcalloc(n > 0 ? n : 1, sizeof(*mx->hosts));
	mx->kind = qs->nodata ? CMD_CHECK_MX_IMPLICIT : CMD_CHECK_MX_LIST;
	if (qs->nodata)
		cmd_check_mx_add_host(mx, 0, mx->domain);
	for (size_t i = 0; !qs->nodata && i < qs->n &&
	    mx->nhosts < CMD_CHECK_MX_HOSTS_MAX; i++) {
		if (qs->rr[i].name[0] == '\0')
			mx->kind = CMD_CHECK_MX_NULL;
		else
			cmd_check_mx_add_host(mx, qs->rr[i].pref,
			    qs->rr[i].name);
	}
	if (mx->kind == CMD_CHECK_MX_NULL)
		mx->nhosts = 0;
	qsort(mx->hosts, mx->nhosts, sizeof(*mx->hosts), cmd_check_mx_cmp);
	for (size_t i = 0; i < mx->nhosts; i++) {
		cmd_check_mx_stale_addrs(mx, &mx->hosts[i], DNS_T_A, qs);
		cmd_check_mx_stale_addrs(mx, &mx->hosts[i], DNS_T_AAAA, qs);
	}
	free(qs);
}

/* Where mail for the domain goes while its MX lookup fails and nothing
 * stale is held: a route needs no MX records; otherwise the mail waits
 * (the fallback relay takes mail whose hosts do not answer, not mail
 * whose DNS fails).  *kind_r: "route" or "wait". */
static void
cmd_check_mx_failed_path(const struct cmd_check_mx *mx, const char **kind_r,
    char *dst, size_t size)
{
	const struct conf_route *rt = conf_route_for(mx->conf, mx->domain);
	bool star = rt != NULL && strcmp(rt->domain, "*") == 0;

	*kind_r = "route";
	if (rt != NULL && (!star || mx->conf->routes_mx.n == 0)) {
		if (snprintf(dst, size, "route %s%s%s (%sa route needs no MX "
		    "records of the domain)", rt->host, rt->fb_host[0] !=
		    '\0' ? ", its fallback " : "", rt->fb_host, star ?
		    "the \"*\" route; " : "") < 0)
			dst[0] = '\0';
		return;
	}
	*kind_r = "wait";
	snprintf(dst, size, "none: the mail waits (deferred with 4.4.3, "
	    "retried)%s%s", mx->conf->routes_mx.n > 0 ? "; route_mx rules "
	    "need the MX hosts" : "", mx->conf->fallback_relay.host[0] !=
	    '\0' ? "; fallback_relay takes mail whose hosts do not answer, "
	    "not mail whose DNS fails" : "");
}

/* ---------------------------------------------------------- findings */

/* Why a host has no address, for people and JSON. */
static const char *
cmd_check_mx_host_problem(const struct cmd_check_host *h)
{
	if (h->naddrs > 0)
		return NULL;
	if (h->st[0] == DNS_TEMPFAIL)
		return h->why[0];
	if (h->st[1] == DNS_TEMPFAIL)
		return h->why[1];
	if (h->st[0] == DNS_NXDOMAIN && h->st[1] == DNS_NXDOMAIN)
		return "host does not exist (NXDOMAIN)";
	return "no address records";
}

static bool
cmd_check_mx_same_addr(const struct cmd_check_addr *a,
    const struct cmd_check_addr *b)
{
	char x[64], y[64];

	cmd_check_mx_addr_str(&a->ss, x, sizeof(x));
	cmd_check_mx_addr_str(&b->ss, y, sizeof(y));
	return strcmp(x, y) == 0;
}

/* The same address under an earlier host, or NULL. */
static const struct cmd_check_host *
cmd_check_mx_addr_seen(const struct cmd_check_mx *mx, size_t hi,
    const struct cmd_check_addr *a)
{
	for (size_t i = 0; i < hi; i++)
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++)
			if (cmd_check_mx_same_addr(&mx->hosts[i].addrs[k], a))
				return &mx->hosts[i];
	return NULL;
}

static void
cmd_check_mx_host_flags(struct cmd_check_mx *mx, size_t i)
{
	const struct cmd_check_host *h = &mx->hosts[i], *o;
	char addr[64];

	for (size_t j = 0; j < i; j++)
		if (str_ieq(mx->hosts[j].name, h->name)) {
			cmd_check_mx_flag(mx, "duplicate-host", h->name,
			    "%s is listed more than once", h->name);
			break;
		}
	if (h->ip_literal)
		cmd_check_mx_flag(mx, "ip-literal", h->name, "%s is an IP "
		    "address, not a host name (RFC 5321 5.1); many senders "
		    "give up", h->name);
	if (h->canon[0] != '\0')
		cmd_check_mx_flag(mx, "cname", h->name, "%s is an alias "
		    "(CNAME) of %s; an MX must name the host itself (RFC 2181 "
		    "10.3)", h->name, h->canon);
	if (h->naddrs == 0)
		cmd_check_mx_flag(mx, "no-address", h->name, "%s has no "
		    "address: %s", h->name, cmd_check_mx_host_problem(h));
	for (size_t k = 0; k < h->naddrs; k++)
		if ((o = cmd_check_mx_addr_seen(mx, i, &h->addrs[k])) != NULL &&
		    !str_ieq(o->name, h->name)) {
			cmd_check_mx_addr_str(&h->addrs[k].ss, addr,
			    sizeof(addr));
			cmd_check_mx_flag(mx, "duplicate-address", h->name,
			    "%s has the address %s of %s too", h->name, addr,
			    o->name);
		}
}

static void
cmd_check_mx_findings(struct cmd_check_mx *mx)
{
	if (mx->kind == CMD_CHECK_MX_IMPLICIT)
		cmd_check_mx_flag(mx, "no-mx", NULL, "no MX records: mail "
		    "goes to the domain's own addresses (implicit MX, RFC "
		    "5321 5.1)");
	if (mx->kind == CMD_CHECK_MX_NULL)
		cmd_check_mx_flag(mx, "null-mx", NULL, "null MX (RFC 7505): "
		    "the domain accepts no mail");
	for (size_t i = 0; i < mx->nhosts; i++)
		cmd_check_mx_host_flags(mx, i);
}

/* The best verdict of a host's addresses; OPS_PROBE_VERDICTS when none
 * was probed. */
static enum ops_probe_verdict
cmd_check_mx_host_verdict(const struct cmd_check_host *h)
{
	enum ops_probe_verdict best = OPS_PROBE_VERDICTS;

	for (size_t k = 0; k < h->naddrs; k++)
		if (h->addrs[k].probed && h->addrs[k].res.verdict < best)
			best = h->addrs[k].res.verdict;
	return best;
}

/* Whether mail gets through address a under the domain's tls_policy:
 * a usable greeting, and TLS when the policy demands it. */
static bool
cmd_check_mx_addr_ok(const struct cmd_check_mx *mx,
    const struct cmd_check_addr *a)
{
	int mode = conf_tls_policy_for(mx->conf, mx->domain);

	if (!a->probed || !ops_probe_verdict_usable(a->res.verdict))
		return false;
	if (mode == CONF_TLS_ENCRYPT)
		return a->res.tls_ok;
	if (mode == CONF_TLS_VERIFY)
		return a->res.tls_ok && a->res.cert.name_match &&
		    a->res.cert.chain_ok;
	return true;
}

static size_t
cmd_check_mx_hosts_ok(const struct cmd_check_mx *mx)
{
	size_t n = 0;

	for (size_t i = 0; i < mx->nhosts; i++)
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++)
			if (cmd_check_mx_addr_ok(mx, &mx->hosts[i].addrs[k])) {
				n++;
				break;
			}
	return n;
}

static size_t
cmd_check_mx_addr_count(const struct cmd_check_mx *mx)
{
	size_t n = 0;

	for (size_t i = 0; i < mx->nhosts; i++)
		n += mx->hosts[i].naddrs;
	return n;
}

/* Which path the relay would take now, from the configuration and the
 * memory: a route, direct to the live addresses, or the fallback relay
 * when none is left.  *kind_r is "route", "direct", "fallback" or
 * "none". */
/* The route the relay would choose, by its precedence (relay.c,
 * relay_mx.c): a route for the domain itself, then the route_mx rule of
 * the best-preference MX host that one matches (*mxhost_r), then the
 * "*" route; NULL: the MX hosts. */
static const struct conf_route *
cmd_check_mx_route(const struct cmd_check_mx *mx, const char **mxhost_r)
{
	const struct conf_route *rt = conf_route_for(mx->conf, mx->domain);
	const struct conf_route *m;

	*mxhost_r = NULL;
	if (rt != NULL && strcmp(rt->domain, "*") != 0)
		return rt;
	if (mx->conf->routes_mx.n == 0 || mx->domain[0] == '[')
		return rt;
	/* hosts are in preference order: the first match is the best */
	for (size_t i = 0; i < mx->nhosts; i++)
		if ((m = conf_route_mx_for(mx->conf, mx->hosts[i].name)) !=
		    NULL) {
			*mxhost_r = mx->hosts[i].name;
			return m;
		}
	return rt;
}

static void
cmd_check_mx_path(const struct cmd_check_mx *mx, const char **kind_r,
    char *dst, size_t size)
{
	const char *mxhost;
	const struct conf_route *rt = cmd_check_mx_route(mx, &mxhost);
	const struct conf_route *fb = &mx->conf->fallback_relay;
	size_t n = 0, down = 0;

	*kind_r = "direct";
	if (rt != NULL && mxhost != NULL) {
		*kind_r = "route";
		/* names are cut when too long: the text is for people */
		if (snprintf(dst, size, "route_mx %s%s: relay %s%s%s (MX host "
		    "%s matches; not these MX hosts)", rt->domain[0] == '.' ?
		    "*" : "", rt->domain, rt->host, rt->fb_host[0] != '\0' ?
		    ", its fallback " : "", rt->fb_host, mxhost) < 0)
			dst[0] = '\0';
		return;
	}
	if (rt != NULL) {
		*kind_r = "route";
		if (snprintf(dst, size, "route %s%s%s (the route's host, not "
		    "these MX hosts%s)", rt->host, rt->fb_host[0] != '\0' ?
		    ", its fallback " : "", rt->fb_host,
		    strcmp(rt->domain, "*") == 0 ? "; the \"*\" route" :
		    "") < 0)
			dst[0] = '\0';
		return;
	}
	for (size_t i = 0; i < mx->nhosts; i++)
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++) {
			n++;
			down += cmd_reach_is_down(&mx->reach,
			    cmd_check_mx_reach_entry(mx,
			    &mx->hosts[i].addrs[k]));
		}
	if (n == 0 && fb->host[0] != '\0') {
		*kind_r = "fallback";
		snprintf(dst, size, "fallback_relay %s (no MX host has an "
		    "address)", fb->host);
	} else if (n == 0) {
		*kind_r = "none";
		str_lcpy(dst, "none (no MX host has an address)", size);
	} else if (down == n && fb->host[0] != '\0') {
		*kind_r = "fallback";
		snprintf(dst, size, "fallback_relay %s (all %zu addresses "
		    "remembered down)", fb->host, n);
	} else if (down == n)
		snprintf(dst, size, "direct, but all %zu addresses are "
		    "remembered down (tried anyway: no fallback_relay)", n);
	else if (down > 0)
		snprintf(dst, size, "direct to %zu of %zu addresses (%s)",
		    n - down, n, fb->host[0] != '\0' ? "the others are "
		    "remembered down and skipped" : "the ones remembered down "
		    "last");
	else
		str_lcpy(dst, "direct, lower preference first", size);
}

/* ---------------------------------------------------------- providers */

/* The MX host names, borrowed, in dst (at most CMD_CHECK_MX_HOSTS_MAX). */
static size_t
cmd_check_mx_names(const struct cmd_check_mx *mx, const char **dst)
{
	for (size_t i = 0; i < mx->nhosts; i++)
		dst[i] = mx->hosts[i].name;
	return mx->nhosts;
}

static void
cmd_check_mx_provider(struct cmd_check_mx *mx, const char *conf_path)
{
	const char *names[CMD_CHECK_MX_HOSTS_MAX];
	char dir[PATH_MAX], err[512], *slash;
	size_t n = cmd_check_mx_names(mx, names);

	if (n == 0)
		return;
	str_lcpy(dir, conf_path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		str_lcpy(dir, ".", sizeof(dir));
	if (ops_providers_load(&mx->providers, dir, err, sizeof(err)) < 0)
		fprintf(stderr, "ferry: warning: provider profiles: %s\n",
		    err);
	mx->provider = ops_providers_find(&mx->providers, names, n);
	if (mx->provider != NULL)
		mx->pset = ops_provider_best_set(mx->provider, names, n,
		    &mx->pset_present);
}

/* The entries of the chosen set that no MX record has, into dst. */
static size_t
cmd_check_mx_missing(const struct cmd_check_mx *mx, const char **dst)
{
	const char *names[CMD_CHECK_MX_HOSTS_MAX];
	size_t n = cmd_check_mx_names(mx, names), k = 0;

	for (size_t e = 0; e < mx->pset->nhosts; e++)
		if (!ops_provider_present(mx->pset->hosts[e], names, n))
			dst[k++] = mx->pset->hosts[e];
	return k;
}

/* The provider's hosts among the MX records that were probed and did
 * not answer usably, into dst. */
static size_t
cmd_check_mx_unreachable(const struct cmd_check_mx *mx,
    const struct cmd_check_host **dst)
{
	size_t k = 0;

	for (size_t i = 0; i < mx->nhosts; i++) {
		const struct cmd_check_host *h = &mx->hosts[i];
		bool ok = false;

		if (!ops_provider_claims(mx->provider, h->name))
			continue;
		for (size_t a = 0; a < h->naddrs; a++)
			ok = ok || cmd_check_mx_addr_ok(mx, &h->addrs[a]) ||
			    !h->addrs[a].probed;
		if (!ok)
			dst[k++] = h;
	}
	return k;
}

static void
cmd_check_mx_json_list(const char *key, const char *const *v, size_t n)
{
	printf(", \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cli_json_str(v[i]);
	}
	putchar(']');
}

static void
cmd_check_mx_json_provider(const struct cmd_check_mx *mx, bool probed)
{
	const struct ops_provider *p = mx->provider;
	const struct cmd_check_host *bad[CMD_CHECK_MX_HOSTS_MAX];
	const char *v[CMD_CHECK_MX_HOSTS_MAX];
	size_t n;

	fputs(", \"provider\": ", stdout);
	if (p == NULL) {
		fputs("null", stdout);
		return;
	}
	fputs("{\"id\": ", stdout);
	cli_json_str(p->id);
	cmd_check_mx_json_strn("name", p->name);
	cmd_check_mx_json_strn("set", mx->pset->name);
	for (n = 0; n < mx->pset->nhosts; n++)
		v[n] = mx->pset->hosts[n];
	cmd_check_mx_json_list("recommended", v, n);
	n = cmd_check_mx_missing(mx, v);
	cmd_check_mx_json_list("missing", v, n);
	n = cmd_check_mx_unreachable(mx, bad);
	for (size_t i = 0; i < n; i++)
		v[i] = bad[i]->name;
	cmd_check_mx_json_list("unreachable", v, n);
	printf(", \"probed\": %s", probed ? "true" : "false");
	cmd_check_mx_json_strn("current_set", p->sets[0].name);
	for (n = 0; n < p->sets[0].nhosts; n++)
		v[n] = p->sets[0].hosts[n];
	cmd_check_mx_json_list("current", v, n);
	putchar('}');
}

/* ---------------------------------------------------------- JSON */

static void
cmd_check_mx_json_cert(const struct ops_probe_cert *c)
{
	fputs(", \"certificate\": {\"subject\": ", stdout);
	cli_json_str(c->subject);
	fputs(", \"issuer\": ", stdout);
	cli_json_str(c->issuer);
	fputs(", \"names\": [", stdout);
	for (size_t i = 0; i < c->nnames; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cli_json_str(c->names[i]);
	}
	printf("], \"not_after\": %lld, \"name_match\": %s, \"chain_ok\": %s",
	    (long long)c->not_after, c->name_match ? "true" : "false",
	    c->chain_ok ? "true" : "false");
	cmd_check_mx_json_strn("chain_why", c->chain_ok ? NULL : c->chain_why);
	putchar('}');
}

static void
cmd_check_mx_json_probe(const struct ops_probe_result *r)
{
	printf(", \"verdict\": \"%s\", \"probe\": {\"connected\": %s, "
	    "\"connect_ms\": %u", ops_probe_verdict_str(r->verdict, true),
	    r->connected ? "true" : "false", r->connect_ms);
	cmd_check_mx_json_strn("error", r->error[0] != '\0' ? r->error : NULL);
	if (r->greeted) {
		printf(", \"greeting\": {\"code\": %d, \"ms\": %u, \"text\": ",
		    r->greeting_code, r->greeting_ms);
		cli_json_str(r->greeting);
		putchar('}');
	} else
		fputs(", \"greeting\": null", stdout);
	printf(", \"ehlo_code\": %d, \"capabilities\": [", r->ehlo_code);
	for (size_t i = 0; i < r->ncaps; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cli_json_str(r->caps[i]);
	}
	printf("], \"starttls\": %s, \"tls\": ", r->starttls_offered ?
	    "true" : "false");
	if (!r->tls_tried) {
		fputs("null}", stdout);
		return;
	}
	printf("{\"ok\": %s, \"ms\": %u", r->tls_ok ? "true" : "false",
	    r->tls_ms);
	cmd_check_mx_json_strn("version", r->tls_ok ? r->tls_version : NULL);
	cmd_check_mx_json_strn("cipher", r->tls_ok ? r->tls_cipher : NULL);
	if (r->tls_ok)
		cmd_check_mx_json_cert(&r->cert);
	fputs("}}", stdout);
}

static void
cmd_check_mx_json_addr(const struct cmd_check_mx *mx,
    const struct cmd_check_addr *a)
{
	const struct reach_entry *e = cmd_check_mx_reach_entry(mx, a);
	const char *word = cmd_check_mx_connect_word(a);
	char addr[64];

	cmd_check_mx_addr_str(&a->ss, addr, sizeof(addr));
	fputs("{\"address\": ", stdout);
	cli_json_str(addr);
	printf(", \"port\": %u", mx->conf->remote_smtp_port);
	cmd_check_mx_json_strn("connect", word);
	printf(", \"reachable\": %s, \"memory\": ", word == NULL ? "null" :
	    a->res.connected ? "true" : "false");
	if (e != NULL)
		cmd_reach_json(&mx->reach, e);
	else
		fputs("null", stdout);
	if (a->probed)
		cmd_check_mx_json_probe(&a->res);
	else
		fputs(", \"verdict\": null, \"probe\": null", stdout);
	printf(", \"usable\": %s}", cmd_check_mx_addr_ok(mx, a) ? "true" :
	    "false");
}

static void
cmd_check_mx_json_host(const struct cmd_check_mx *mx,
    const struct cmd_check_host *h)
{
	enum ops_probe_verdict v = cmd_check_mx_host_verdict(h);

	printf("{\"pref\": %u, \"host\": ", h->pref);
	cli_json_str(h->name);
	printf(", \"self\": %s, \"ip_literal\": %s", h->self ? "true" : "false",
	    h->ip_literal ? "true" : "false");
	cmd_check_mx_json_strn("cname", h->canon[0] != '\0' ? h->canon : NULL);
	cmd_check_mx_json_strn("why", cmd_check_mx_host_problem(h));
	cmd_check_mx_json_strn("verdict", v < OPS_PROBE_VERDICTS ?
	    ops_probe_verdict_str(v, true) : NULL);
	fputs(", \"addresses\": [", stdout);
	for (size_t k = 0; k < h->naddrs; k++) {
		fputs(k > 0 ? ", " : "", stdout);
		cmd_check_mx_json_addr(mx, &h->addrs[k]);
	}
	fputs("]}", stdout);
}

static void
cmd_check_mx_json(const struct cmd_check_mx *mx, bool probed)
{
	static const char *const kinds[] = { "mx", "implicit", "null",
	    "none" };
	const char *kind;
	char path[600];

	fputs("{\"domain\": ", stdout);
	cli_json_str(mx->domain);
	printf(", \"status\": \"%s\", \"kind\": \"%s\", \"fallback\": %s",
	    dns_status_str(mx->st), kinds[mx->kind],
	    mx->fallback ? "true" : "false");
	cmd_check_mx_json_strn("why", mx->kind == CMD_CHECK_MX_FAILED ||
	    mx->stale ? mx->why : mx->fallback ? mx->fallback_why : NULL);
	if (mx->stale)
		printf(", \"stale\": {\"age\": %llu}",
		    (unsigned long long)mx->stale_age);
	else
		fputs(", \"stale\": null", stdout);
	cmd_check_mx_json_strn("stale_none", mx->stale_none[0] != '\0' ?
	    mx->stale_none : NULL);
	cmd_check_mx_json_strn("rule", CMD_CHECK_MX_RULE);
	fputs(", \"flags\": [", stdout);
	for (size_t i = 0; i < mx->nflags; i++) {
		printf("%s{\"flag\": \"%s\"", i > 0 ? ", " : "",
		    mx->flags[i].flag);
		cmd_check_mx_json_strn("host", mx->flags[i].host);
		cmd_check_mx_json_strn("text", mx->flags[i].text);
		putchar('}');
	}
	fputs("], \"hosts\": [", stdout);
	for (size_t i = 0; i < mx->nhosts; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cmd_check_mx_json_host(mx, &mx->hosts[i]);
	}
	putchar(']');
	cmd_check_mx_json_provider(mx, probed);
	if (mx->kind == CMD_CHECK_MX_FAILED && mx->st != DNS_NXDOMAIN) {
		cmd_check_mx_failed_path(mx, &kind, path, sizeof(path));
		printf(", \"deliverable\": %s, \"path\": {\"kind\": \"%s\", "
		    "\"text\": ", strcmp(kind, "route") == 0 ? "null" :
		    "false", kind);
		cli_json_str(path);
		puts("}}");
		return;
	}
	if (mx->kind == CMD_CHECK_MX_FAILED || mx->kind == CMD_CHECK_MX_NULL) {
		puts(", \"deliverable\": false, \"path\": null}");
		return;
	}
	cmd_check_mx_path(mx, &kind, path, sizeof(path));
	printf(", \"deliverable\": %s, \"hosts_answering\": ", !probed ?
	    "null" : cmd_check_mx_hosts_ok(mx) > 0 ? "true" : "false");
	if (probed)
		printf("%zu", cmd_check_mx_hosts_ok(mx));
	else
		fputs("null", stdout);
	printf(", \"path\": {\"kind\": \"%s\", \"text\": ", kind);
	cli_json_str(path);
	puts("}}");
}

/* ---------------------------------------------------------- people */

static void
cmd_check_mx_human_tls(const struct ops_probe_result *r, const char *host)
{
	const struct ops_probe_cert *c = &r->cert;
	char when[32] = "?", names[400] = "";
	struct tm tm;

	if (!r->tls_ok) {
		printf("         TLS: failed: %s\n", r->error);
		return;
	}
	for (size_t i = 0; i < c->nnames; i++) {
		size_t o = strlen(names);

		snprintf(names + o, sizeof(names) - o, "%s%s", i > 0 ? ", " :
		    "", c->names[i]);
	}
	if (c->not_after != 0 && gmtime_r(&c->not_after, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	printf("         TLS: %s %s in %u ms; certificate %s, names: %s; "
	    "expires %s%s\n", r->tls_version, r->tls_cipher, r->tls_ms,
	    c->subject[0] != '\0' ? c->subject : "(no subject)",
	    names[0] != '\0' ? names : "(none)", when,
	    c->not_after != 0 && c->not_after < time(NULL) ? " (EXPIRED)" :
	    "");
	printf("         TLS: name %s %s the certificate; chain %s%s\n", host,
	    c->name_match ? "matches" : "does NOT match", c->chain_ok ?
	    "trusted" : "not trusted: ", c->chain_ok ? "" : c->chain_why);
}

/* The probe's details under an address row, indented. */
static void
cmd_check_mx_human_probe(const struct cmd_check_addr *a)
{
	const struct ops_probe_result *r = &a->res;

	printf("         %s", ops_probe_verdict_str(r->verdict, false));
	if (r->connected)
		printf(": connect %u ms", r->connect_ms);
	if (r->greeted)
		printf(", greeting %d \"%s\" after %u ms", r->greeting_code,
		    r->greeting, r->greeting_ms);
	if (r->error[0] != '\0' && !r->tls_tried)
		printf(" (%s)", r->error);
	putchar('\n');
	if (r->ehlo_code != 0) {
		printf("         EHLO %d:", r->ehlo_code);
		for (size_t i = 0; i < r->ncaps; i++)
			printf(" %s", r->caps[i]);
		putchar('\n');
	}
	if (r->tls_tried)
		cmd_check_mx_human_tls(r, a->host->name);
	else if (r->ehlo_code / 100 == 2 && !r->starttls_offered)
		puts("         TLS: STARTTLS not offered");
}

/* One row per address ("reachable" column, then the memory), the
 * probe's details below it. */
static void
cmd_check_mx_table(const struct cmd_check_mx *mx)
{
	int hw = 4, aw = 7;
	char addr[64], memory[300];

	for (size_t i = 0; i < mx->nhosts; i++) {
		hw = (int)strlen(mx->hosts[i].name) > hw ?
		    (int)strlen(mx->hosts[i].name) : hw;
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++) {
			cmd_check_mx_addr_str(&mx->hosts[i].addrs[k].ss, addr,
			    sizeof(addr));
			aw = (int)strlen(addr) > aw ? (int)strlen(addr) : aw;
		}
	}
	printf("%-5s  %-*s  %-*s  port %u\n", "pref", hw, "host", aw,
	    "address", mx->conf->remote_smtp_port);
	for (size_t i = 0; i < mx->nhosts; i++) {
		const struct cmd_check_host *h = &mx->hosts[i];

		if (h->naddrs == 0)
			printf("%-5u  %-*s  %-*s  %s\n", h->pref, hw, h->name,
			    aw, "-", cmd_check_mx_host_problem(h));
		for (size_t k = 0; k < h->naddrs; k++) {
			const struct cmd_check_addr *a = &h->addrs[k];
			const char *word = cmd_check_mx_connect_word(a);

			cmd_check_mx_addr_str(&a->ss, addr, sizeof(addr));
			cmd_reach_verdict(&mx->reach,
			    cmd_check_mx_reach_entry(mx, a), memory,
			    sizeof(memory));
			printf("%-5u  %-*s  %-*s  %s%s  memory: %s\n",
			    h->pref, hw, h->name, aw, addr,
			    word != NULL ? word : "not tried",
			    h->self ? " (this host)" : "", memory);
			if (a->probed)
				cmd_check_mx_human_probe(a);
		}
	}
}

static void
cmd_check_mx_human_verdicts(const struct cmd_check_mx *mx)
{
	size_t ok = cmd_check_mx_hosts_ok(mx);
	int mode = conf_tls_policy_for(mx->conf, mx->domain);

	for (size_t i = 0; i < mx->nhosts; i++) {
		const struct cmd_check_host *h = &mx->hosts[i];
		enum ops_probe_verdict v = cmd_check_mx_host_verdict(h);

		printf("host %s: %s\n", h->name, v < OPS_PROBE_VERDICTS ?
		    ops_probe_verdict_str(v, false) : "no address");
	}
	if (ok > 0)
		printf("domain: deliverable from here (%zu of %zu hosts "
		    "answer%s)\n", ok, mx->nhosts, mode == CONF_TLS_ENCRYPT ||
		    mode == CONF_TLS_VERIFY ? " with the TLS tls_policy "
		    "demands" : "");
	else
		printf("domain: NOT deliverable from here (no host answers%s)"
		    "\n", mode == CONF_TLS_ENCRYPT || mode == CONF_TLS_VERIFY ?
		    " with the TLS tls_policy demands" : "");
}

static void
cmd_check_mx_human_list(const char *what, const char *const *v, size_t n)
{
	printf("provider: %s: ", what);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i > 0 ? ", " : "", v[i]);
	putchar('\n');
}

static void
cmd_check_mx_human_provider(const struct cmd_check_mx *mx, bool probed)
{
	const struct ops_provider *p = mx->provider;
	const struct cmd_check_host *bad[CMD_CHECK_MX_HOSTS_MAX];
	const char *v[CMD_CHECK_MX_HOSTS_MAX];
	size_t n;

	if (p == NULL)
		return;
	printf("provider: %s (%s); the domain follows its set \"%s\" (%zu "
	    "of %zu present)\n", p->name, p->id, mx->pset->name,
	    mx->pset_present, mx->pset->nhosts);
	if ((n = cmd_check_mx_missing(mx, v)) > 0)
		cmd_check_mx_human_list("missing from the MX records", v, n);
	if ((n = cmd_check_mx_unreachable(mx, bad)) > 0) {
		for (size_t i = 0; i < n; i++)
			v[i] = bad[i]->name;
		cmd_check_mx_human_list(probed ? "present but not answering "
		    "from here" : "present without an address", v, n);
	}
	if (mx->pset != &p->sets[0]) {
		printf("provider: its current recommendation is the set "
		    "\"%s\": ", p->sets[0].name);
		for (size_t i = 0; i < p->sets[0].nhosts; i++)
			printf("%s%s", i > 0 ? ", " : "", p->sets[0].hosts[i]);
		putchar('\n');
	}
}

/* The MX lookup failed and nothing stale is held: why, and where the
 * mail goes meanwhile. */
static void
cmd_check_mx_human_failed(const struct cmd_check_mx *mx)
{
	const char *kind;
	char path[600];

	cmd_check_mx_failed_path(mx, &kind, path, sizeof(path));
	printf("%s: the MX lookup failed: %s\n", mx->domain, mx->why);
	printf("serve-stale: %s\n", mx->stale_none[0] != '\0' ?
	    mx->stale_none : "none");
	printf("path now: %s\n", path);
	if (strcmp(kind, "route") == 0)
		puts("domain: goes through the route (its host is not probed "
		    "here: `ferry check mx` of the route's domain)");
	else
		puts("domain: NOT deliverable from here now (no MX answer, "
		    "none stale); it waits for DNS");
	if (mx->fallback)
		printf("dns_fallback_resolvers were asked too (%s)\n",
		    mx->fallback_why);
}

static void
cmd_check_mx_human(const struct cmd_check_mx *mx, bool probed)
{
	const char *kind;
	char path[600];

	if (mx->stale)
		printf("%s: the MX lookup failed: %s; serve-stale: delivery "
		    "uses the queue's last good answers, received %llu s ago "
		    "(dns_stale_max), shown below\n", mx->domain, mx->why,
		    (unsigned long long)mx->stale_age);
	if (mx->kind == CMD_CHECK_MX_NULL)
		printf("%s: null MX (RFC 7505): the domain accepts no mail\n",
		    mx->domain);
	else if (mx->kind == CMD_CHECK_MX_IMPLICIT)
		printf("%s: no MX: implicit MX %s (its own addresses)\n",
		    mx->domain, mx->domain);
	else
		printf("%s: MX hosts in preference order (%s)\n", mx->domain,
		    CMD_CHECK_MX_RULE);
	for (size_t i = 0; i < mx->nflags; i++)
		if (strcmp(mx->flags[i].flag, "null-mx") != 0 &&
		    strcmp(mx->flags[i].flag, "no-mx") != 0)
			printf("flag %s: %s\n", mx->flags[i].flag,
			    mx->flags[i].text);
	if (mx->nhosts > 0) {
		cmd_check_mx_table(mx);
		if (probed)
			cmd_check_mx_human_verdicts(mx);
		cmd_check_mx_human_provider(mx, probed);
		cmd_check_mx_path(mx, &kind, path, sizeof(path));
		printf("path now: %s\n", path);
	}
	if (mx->fallback && !mx->stale)
		printf("answered by dns_fallback_resolvers (%s)\n",
		    mx->fallback_why);
}

static int
cmd_check_mx_status(const struct cmd_check_mx *mx)
{
	if (mx->kind == CMD_CHECK_MX_FAILED && mx->st == DNS_NXDOMAIN)
		return cli_fail("%s: does not exist (NXDOMAIN)", mx->domain);
	if (mx->kind == CMD_CHECK_MX_FAILED)
		return cli_fail("%s: temporary DNS failure: %s", mx->domain,
		    mx->why);
	if (mx->kind == CMD_CHECK_MX_NULL)
		return 0;
	if (cmd_check_mx_addr_count(mx) > 0)
		return 0;
	if (mx->kind == CMD_CHECK_MX_IMPLICIT)
		return cli_fail("%s: no MX and no address: %s", mx->domain,
		    cmd_check_mx_host_problem(&mx->hosts[0]));
	return cli_fail("%s: no MX host has an address", mx->domain);
}

/* ---------------------------------------------------------- command */

static void
cmd_check_mx_free(struct cmd_check_mx *mx)
{
	for (size_t i = 0; i < mx->nhosts; i++) {
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++)
			ops_probe_abort(&mx->hosts[i].addrs[k].probe);
		free(mx->hosts[i].addrs);
	}
	free(mx->hosts);
	mx->hosts = NULL;
	if (mx->ssl_ctx != NULL)
		SSL_CTX_free(mx->ssl_ctx);
	if (mx->dns != NULL)
		dns_free(&mx->dns);
	if (mx->base != NULL)
		event_base_free(mx->base);
	cmd_reach_free(&mx->reach);
	ops_providers_free(&mx->providers);
}

static unsigned
cmd_check_mx_cap(uint64_t conf_secs, unsigned cap)
{
	return conf_secs > 0 && conf_secs < cap ? (unsigned)conf_secs : cap;
}

/* Each phase within the relay's own timeout for it, capped (a person
 * waits), so "times out" means what it means for delivery. */
static void
cmd_check_mx_opts(struct cmd_check_mx *mx, unsigned cap, unsigned tarpit)
{
	const struct conf *c = mx->conf;

	mx->popts.port = c->remote_smtp_port;
	mx->popts.helo = c->hostname;
	mx->popts.t_connect = cmd_check_mx_cap(c->timeout_connect, cap);
	mx->popts.t_reply = cmd_check_mx_cap(c->timeout_helo, cap);
	mx->popts.t_tls = cmd_check_mx_cap(c->timeout_tls, cap);
	mx->popts.tarpit = tarpit;
	mx->popts.starttls = true;
}

int
cmd_check_mx(struct cli *cli, const char *domain, bool json, bool probe,
    unsigned cap, unsigned tarpit)
{
	struct cmd_check_mx mx;
	const char *error;
	int status;

	if (!dns_name_valid(domain))
		return cli_fail("%s: not a valid domain name", domain);
	if (cli_load_conf(cli) < 0)
		return 1;
	memset(&mx, 0, sizeof(mx));
	mx.conf = &cli->conf;
	mx.domain = domain;
	mx.json = json;
	mx.probe = probe;
	cmd_check_mx_opts(&mx, cap > 0 ? cap : CMD_CHECK_MX_PHASE_MAX,
	    tarpit > 0 ? tarpit : CMD_CHECK_MX_TARPIT);
	if (cmd_reach_load(&cli->conf, &mx.reach) < 0)
		fprintf(stderr, "ferry: warning: %s/%s unreadable: the "
		    "reachability memory is not shown\n", cli->conf.state_dir,
		    REACH_FILE);
	if (probe && (mx.ssl_ctx = ops_probe_ssl_ctx()) == NULL)
		fprintf(stderr, "ferry: warning: no TLS client context: "
		    "STARTTLS is not tried\n");
	if ((mx.base = event_base_new()) == NULL) {
		cmd_check_mx_free(&mx);
		return cli_fail("cannot create an event loop");
	}
	if (dns_create(&mx.dns, mx.base, &cli->conf, &error) < 0) {
		cmd_check_mx_free(&mx);
		return cli_fail("dns: %s", error);
	}
	mx.pending = 1;
	(void)dns_lookup(mx.dns, domain, DNS_T_MX, cmd_check_mx_done, &mx);
	event_base_dispatch(mx.base);
	if (mx.kind == CMD_CHECK_MX_FAILED && mx.st != DNS_NXDOMAIN) {
		cmd_check_mx_stale(&mx);
		if (mx.stale && probe) {
			cmd_check_mx_probe_all(&mx);
			if (mx.pending > 0)
				event_base_dispatch(mx.base);
		}
	}
	cmd_check_mx_findings(&mx);
	cmd_check_mx_provider(&mx, cli->conf_path);
	if (json)
		cmd_check_mx_json(&mx, probe);
	else if (mx.kind != CMD_CHECK_MX_FAILED)
		cmd_check_mx_human(&mx, probe);
	else if (mx.st != DNS_NXDOMAIN)
		cmd_check_mx_human_failed(&mx);
	status = cmd_check_mx_status(&mx);
	cmd_check_mx_free(&mx);
	return status;
}
