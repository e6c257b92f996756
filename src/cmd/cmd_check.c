/* `ferry check dns NAME [TYPE]` and `ferry check mx DOMAIN`: what the
 * server's own resolver (dns_resolvers, then dns_fallback_resolvers)
 * says, for people or --json.  `check mx` follows RFC 5321 5.1: MX hosts
 * in preference order with their addresses, the implicit MX when there is
 * none, the null MX of RFC 7505; then it tries a TCP connection to
 * remote_smtp_port on each address DNS gave (no SMTP is spoken; skip with
 * --no-connect).  Both run the asynchronous resolver on a private loop.
 * Exit 1 when the answer is "does not exist", "no records" or a
 * temporary failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"

#define CMD_CHECK_USAGE \
	"check reach [--json] | " \
	"check dns NAME [A|AAAA|MX|TXT|PTR] [--json] | " \
	"check mx DOMAIN [--json] [--no-connect]"
#define CMD_CHECK_PROBE_MAX_SEC 5
#define CMD_CHECK_HOSTS_MAX 32

/* ---------------------------------------------------------- output */

/* Bytes quoted, what is not printable ASCII escaped: as a JSON string
 * (\u00XX; TXT is binary) or for people (\xHH). */
static void
cmd_check_quote_bytes(const char *s, size_t len, bool json)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if ((c < 0x20 || c >= 0x7f) && json)
			printf("\\u%04x", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
cmd_check_addr_str(const struct sockaddr_storage *ss, char *dst, size_t size)
{
	cidr_addr_str((const struct sockaddr *)ss, dst, size);
}

static void
cmd_check_json_why(const char *why)
{
	fputs(", \"why\": ", stdout);
	if (why != NULL)
		cli_json_str(why);
	else
		fputs("null", stdout);
}

/* ---------------------------------------------------------- check dns */

struct cmd_check_dns {
	struct event_base *base;
	bool json;
	int status;
};

static void
cmd_check_dns_record(int type, const struct dns_rr *rr, bool json)
{
	char addr[64];

	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		cmd_check_addr_str(&rr->addr, addr, sizeof(addr));
		if (json)
			cli_json_str(addr);
		else
			fputs(addr, stdout);
		break;
	case DNS_T_MX:
		if (json) {
			printf("{\"pref\": %u, \"host\": ", rr->pref);
			cli_json_str(rr->name);
			putchar('}');
		} else
			printf("%u %s", rr->pref,
			    rr->name[0] != '\0' ? rr->name : ".");
		break;
	case DNS_T_TXT:
		cmd_check_quote_bytes(rr->txt, rr->txt_len, json);
		break;
	case DNS_T_SRV:
		if (json) {
			printf("{\"priority\": %u, \"weight\": %u, "
			    "\"port\": %u, \"target\": ", rr->pref, rr->weight,
			    rr->port);
			cli_json_str(rr->name[0] != '\0' ? rr->name : ".");
			putchar('}');
		} else
			printf("%u %u %u %s", rr->pref, rr->weight, rr->port,
			    rr->name[0] != '\0' ? rr->name : ".");
		break;
	default:
		if (json)
			cli_json_str(rr->name);
		else
			fputs(rr->name, stdout);
	}
}

static void
cmd_check_dns_json(const struct dns_result *r)
{
	fputs("{\"name\": ", stdout);
	cli_json_str(r->qname);
	printf(", \"type\": \"%s\", \"status\": \"%s\", \"fallback\": %s, "
	    "\"secure\": %s", dns_type_str(r->type), dns_status_str(r->status),
	    r->fallback ? "true" : "false", r->secure ? "true" : "false");
	cmd_check_json_why(r->why);
	fputs(", \"records\": [", stdout);
	for (size_t i = 0; i < r->n; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cmd_check_dns_record(r->type, &r->rr[i], true);
	}
	puts("]}");
}

static void
cmd_check_dns_human(const struct dns_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		printf("%s %s ", r->qname, dns_type_str(r->type));
		cmd_check_dns_record(r->type, &r->rr[i], false);
		putchar('\n');
	}
	if (r->secure)
		puts("DNSSEC: secure");
	if (r->fallback)
		printf("answered by dns_fallback_resolvers (%s)\n",
		    r->why != NULL ? r->why : "the resolvers failed");
}

static int
cmd_check_dns_failure(const struct dns_result *r)
{
	const char *type = dns_type_str(r->type);

	switch (r->status) {
	case DNS_NXDOMAIN:
		return cli_fail("%s: does not exist (NXDOMAIN)", r->qname);
	case DNS_NODATA:
		return cli_fail("%s: no %s records (the name exists)",
		    r->qname, type);
	default:
		return cli_fail("%s %s: temporary DNS failure: %s", r->qname,
		    type, r->why != NULL ? r->why : "unknown");
	}
}

static void
cmd_check_dns_done(const struct dns_result *r, void *arg)
{
	struct cmd_check_dns *c = arg;

	if (c->json)
		cmd_check_dns_json(r);
	else if (r->status == DNS_OK)
		cmd_check_dns_human(r);
	c->status = r->status == DNS_OK ? 0 : cmd_check_dns_failure(r);
	event_base_loopbreak(c->base);
}

/* PTR for an address: its reverse name; any other name as given. */
static int
cmd_check_dns_qname(const char *name, int type, char *dst, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (type == DNS_T_PTR && inet_pton(AF_INET, name, &sin->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (type == DNS_T_PTR &&
	    inet_pton(AF_INET6, name, &sin6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	if (ss.ss_family != 0)
		return dns_reverse_name((struct sockaddr *)&ss, NULL, dst,
		    size);
	if (str_lcpy(dst, name, size) >= size || !dns_name_valid(dst))
		return -1;
	return 0;
}

static bool
cmd_check_is_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	    inet_pton(AF_INET6, s, tmp) == 1;
}

static int
cmd_check_dns(struct cli *cli, const char *name, const char *tname,
    bool json)
{
	struct cmd_check_dns c = { NULL, json, 1 };
	struct dns *d;
	const char *error;
	char qname[300];
	int type;

	if (tname != NULL)
		type = dns_type_parse(tname);
	else
		type = cmd_check_is_ip(name) ? DNS_T_PTR : DNS_T_A;
	if (type < 0)
		return cli_usage(CMD_CHECK_USAGE);
	if (cmd_check_dns_qname(name, type, qname, sizeof(qname)) < 0)
		return cli_fail("%s: not a valid DNS name", name);
	if (cli_load_conf(cli) < 0)
		return 1;
	if ((c.base = event_base_new()) == NULL)
		return cli_fail("cannot create an event loop");
	if (dns_create(&d, c.base, &cli->conf, &error) < 0) {
		event_base_free(c.base);
		return cli_fail("dns: %s", error);
	}
	(void)dns_lookup(d, qname, type, cmd_check_dns_done, &c);
	event_base_dispatch(c.base);
	dns_free(&d);
	event_base_free(c.base);
	return c.status;
}

/* ---------------------------------------------------------- check mx */

enum cmd_check_mx_kind {
	CMD_CHECK_MX_LIST,		/* MX records */
	CMD_CHECK_MX_IMPLICIT,		/* no MX: the domain itself */
	CMD_CHECK_MX_NULL,		/* RFC 7505 */
	CMD_CHECK_MX_FAILED		/* NXDOMAIN or temporary failure */
};

struct cmd_check_mx;

struct cmd_check_addr {
	struct sockaddr_storage ss;
	const char *connect;		/* "open", "refused"; NULL: untried */
	int fd;
	struct event *ev;
	struct cmd_check_mx *mx;
};

struct cmd_check_host {
	uint16_t pref;
	char name[256];
	bool self;			/* this server's hostname */
	enum dns_status st[2];		/* A, AAAA */
	char why[2][128];
	struct cmd_check_addr *addrs;
	size_t naddrs;
	struct cmd_check_mx *mx;
};

struct cmd_check_mx {
	const struct conf *conf;
	struct event_base *base;
	struct dns *dns;
	const char *domain;
	bool json, probe;
	enum cmd_check_mx_kind kind;
	enum dns_status st;		/* of the MX query */
	char why[300];
	char fallback_why[300];
	bool fallback;
	struct cmd_check_host *hosts;
	size_t nhosts;
	unsigned pending;
	struct cmd_reach reach;		/* the queue's reachability memory */
};

/* The reachability memory's key for an address at remote_smtp_port. */
static void
cmd_check_reach_key(const struct cmd_check_mx *mx,
    const struct cmd_check_addr *a, char *dst, size_t size)
{
	char ip[64];

	cmd_check_addr_str(&a->ss, ip, sizeof(ip));
	snprintf(dst, size, a->ss.ss_family == AF_INET6 ? "[%s]:%u" :
	    "%s:%u", ip, mx->conf->remote_smtp_port);
}

static const struct reach_entry *
cmd_check_reach_entry(const struct cmd_check_mx *mx,
    const struct cmd_check_addr *a)
{
	char key[REACH_KEY_MAX + 8];

	cmd_check_reach_key(mx, a, key, sizeof(key));
	return cmd_reach_find(&mx->reach, key);
}

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
	h->addrs = xreallocarray(h->addrs, h->naddrs + r->n,
	    sizeof(*h->addrs));
	for (size_t k = 0; k < r->n; k++) {
		struct cmd_check_addr *a = &h->addrs[h->naddrs++];

		memset(a, 0, sizeof(*a));
		a->ss = r->rr[k].addr;
		a->fd = -1;
		a->mx = h->mx;
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
	size_t n = r->n < CMD_CHECK_HOSTS_MAX ? r->n : CMD_CHECK_HOSTS_MAX;

	mx->hosts = xcalloc(n > 0 ? n : 1, sizeof(*mx->hosts));
	for (size_t i = 0; i < r->n; i++) {
		if (r->rr[i].name[0] == '\0')
			mx->kind = CMD_CHECK_MX_NULL;
		else if (mx->nhosts < n)
			cmd_check_mx_add_host(mx, r->rr[i].pref, r->rr[i].name);
	}
	if (mx->kind == CMD_CHECK_MX_NULL) {
		mx->nhosts = 0;
		return;
	}
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

/* ---------------------------------------------------------- reachability */

static void
cmd_check_probe_end(struct cmd_check_addr *a, const char *result)
{
	a->connect = result;
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->fd >= 0)
		close(a->fd);
	a->ev = NULL;
	a->fd = -1;
	a->mx->pending--;
	cmd_check_mx_step(a->mx);
}

static const char *
cmd_check_probe_errstr(int err)
{
	switch (err) {
	case 0:
		return "open";
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timed out";
	default:
		return strerror(err);
	}
}

static void
cmd_check_probe_ready(evutil_socket_t fd, short what, void *arg)
{
	struct cmd_check_addr *a = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT) {
		cmd_check_probe_end(a, "timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	cmd_check_probe_end(a, cmd_check_probe_errstr(err));
}

/* A non-blocking connect to the address DNS gave, capped in time. */
static void
cmd_check_probe(struct cmd_check_mx *mx, struct cmd_check_addr *a)
{
	uint64_t secs = mx->conf->timeout_connect;
	struct timeval tv = { (time_t)(secs < CMD_CHECK_PROBE_MAX_SEC ?
	    secs : CMD_CHECK_PROBE_MAX_SEC), 0 };
	socklen_t slen = a->ss.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	uint16_t port = htons((uint16_t)mx->conf->remote_smtp_port);

	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = port;
	mx->pending++;
	a->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		cmd_check_probe_end(a, strerror(errno));
		return;
	}
	if (connect(a->fd, (struct sockaddr *)&a->ss, slen) == 0 ||
	    errno != EINPROGRESS) {
		cmd_check_probe_end(a, cmd_check_probe_errstr(
		    errno == EINPROGRESS ? 0 : errno));
		return;
	}
	a->ev = event_new(mx->base, a->fd, EV_WRITE, cmd_check_probe_ready, a);
	if (a->ev == NULL || event_add(a->ev, &tv) < 0)
		cmd_check_probe_end(a, "cannot wait for the connection");
}

/* Moves on once nothing is pending: the probes after DNS, then the end. */
static void
cmd_check_mx_step(struct cmd_check_mx *mx)
{
	if (mx->pending > 0)
		return;
	if (mx->probe) {
		mx->probe = false;
		mx->pending++;		/* a probe may end inline */
		for (size_t i = 0; i < mx->nhosts; i++)
			for (size_t k = 0; k < mx->hosts[i].naddrs; k++)
				cmd_check_probe(mx, &mx->hosts[i].addrs[k]);
		mx->pending--;
		if (mx->pending > 0)
			return;
	}
	event_base_loopbreak(mx->base);
}

/* ---------------------------------------------------------- mx output */

/* Why a host has no address, for people and JSON. */
static const char *
cmd_check_host_problem(const struct cmd_check_host *h)
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

static size_t
cmd_check_mx_addr_count(const struct cmd_check_mx *mx)
{
	size_t n = 0;

	for (size_t i = 0; i < mx->nhosts; i++)
		n += mx->hosts[i].naddrs;
	return n;
}

static void
cmd_check_mx_json_host(const struct cmd_check_mx *mx,
    const struct cmd_check_host *h)
{
	char addr[64];

	printf("{\"pref\": %u, \"host\": ", h->pref);
	cli_json_str(h->name);
	printf(", \"self\": %s", h->self ? "true" : "false");
	cmd_check_json_why(cmd_check_host_problem(h));
	fputs(", \"addresses\": [", stdout);
	for (size_t k = 0; k < h->naddrs; k++) {
		const struct cmd_check_addr *a = &h->addrs[k];

		cmd_check_addr_str(&a->ss, addr, sizeof(addr));
		fputs(k > 0 ? ", " : "", stdout);
		fputs("{\"address\": ", stdout);
		cli_json_str(addr);
		printf(", \"port\": %u, \"connect\": ",
		    mx->conf->remote_smtp_port);
		if (a->connect != NULL)
			cli_json_str(a->connect);
		else
			fputs("null", stdout);
		printf(", \"reachable\": %s, \"memory\": ",
		    a->connect == NULL ? "null" :
		    strcmp(a->connect, "open") == 0 ? "true" : "false");
		if (cmd_check_reach_entry(mx, a) != NULL)
			cmd_reach_json(&mx->reach, cmd_check_reach_entry(mx, a));
		else
			fputs("null", stdout);
		putchar('}');
	}
	putchar(']');
	putchar('}');
}

static void
cmd_check_mx_json(const struct cmd_check_mx *mx)
{
	static const char *const kinds[] = { "mx", "implicit", "null",
	    "none" };

	fputs("{\"domain\": ", stdout);
	cli_json_str(mx->domain);
	printf(", \"status\": \"%s\", \"kind\": \"%s\", \"fallback\": %s",
	    dns_status_str(mx->st), kinds[mx->kind],
	    mx->fallback ? "true" : "false");
	cmd_check_json_why(mx->kind == CMD_CHECK_MX_FAILED ? mx->why :
	    mx->fallback ? mx->fallback_why : NULL);
	fputs(", \"hosts\": [", stdout);
	for (size_t i = 0; i < mx->nhosts; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		cmd_check_mx_json_host(mx, &mx->hosts[i]);
	}
	puts("]}");
}

/* One line per address ("reachable" column last, so more can follow). */
static void
cmd_check_mx_table(const struct cmd_check_mx *mx)
{
	int hw = 4, aw = 7;
	char addr[64];

	for (size_t i = 0; i < mx->nhosts; i++) {
		hw = (int)strlen(mx->hosts[i].name) > hw ?
		    (int)strlen(mx->hosts[i].name) : hw;
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++) {
			cmd_check_addr_str(&mx->hosts[i].addrs[k].ss, addr,
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
			    aw, "-", cmd_check_host_problem(h));
		for (size_t k = 0; k < h->naddrs; k++) {
			const struct reach_entry *e =
			    cmd_check_reach_entry(mx, &h->addrs[k]);
			char memory[300];

			cmd_check_addr_str(&h->addrs[k].ss, addr, sizeof(addr));
			cmd_reach_verdict(&mx->reach, e, memory, sizeof(memory));
			printf("%-5u  %-*s  %-*s  %s%s  memory: %s\n",
			    h->pref, hw, h->name, aw, addr,
			    h->addrs[k].connect != NULL ? h->addrs[k].connect :
			    "not tried", h->self ? " (this host)" : "",
			    memory);
		}
	}
}

/* Which path the relay would take now, from the memory: direct to the
 * live addresses, or the fallback relay when none is left. */
static void
cmd_check_mx_path(const struct cmd_check_mx *mx)
{
	const struct conf_route *rt = conf_route_for(mx->conf, mx->domain);
	const struct conf_route *fb = &mx->conf->fallback_relay;
	size_t n = 0, down = 0;

	if (rt != NULL) {
		printf("path now: route %s (the route's host, not these MX "
		    "hosts)\n", rt->host);
		return;
	}
	for (size_t i = 0; i < mx->nhosts; i++)
		for (size_t k = 0; k < mx->hosts[i].naddrs; k++) {
			n++;
			down += cmd_reach_is_down(&mx->reach,
			    cmd_check_reach_entry(mx, &mx->hosts[i].addrs[k]));
		}
	if (n == 0)
		return;
	if (down == n && fb->host[0] != '\0')
		printf("path now: fallback_relay %s (all %zu addresses "
		    "remembered down)\n", fb->host, n);
	else if (down == n)
		printf("path now: direct, but all %zu addresses are remembered "
		    "down (tried anyway: no fallback_relay)\n", n);
	else if (down > 0)
		printf("path now: direct to %zu of %zu addresses (%s)\n",
		    n - down, n, fb->host[0] != '\0' ? "the others are "
		    "remembered down and skipped" : "the ones remembered down "
		    "last");
	else
		printf("path now: direct, lower preference first\n");
}

static void
cmd_check_mx_human(const struct cmd_check_mx *mx)
{
	if (mx->kind == CMD_CHECK_MX_NULL)
		printf("%s: null MX (RFC 7505): the domain accepts no mail\n",
		    mx->domain);
	else if (mx->kind == CMD_CHECK_MX_IMPLICIT)
		printf("%s: no MX: implicit MX %s (its own addresses)\n",
		    mx->domain, mx->domain);
	else
		printf("%s: MX hosts in preference order\n", mx->domain);
	if (mx->nhosts > 0) {
		cmd_check_mx_table(mx);
		cmd_check_mx_path(mx);
	}
	if (mx->fallback)
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
		    cmd_check_host_problem(&mx->hosts[0]));
	return cli_fail("%s: no MX host has an address", mx->domain);
}

static void
cmd_check_mx_free(struct cmd_check_mx *mx)
{
	for (size_t i = 0; i < mx->nhosts; i++)
		free(mx->hosts[i].addrs);
	free(mx->hosts);
	mx->hosts = NULL;
}

static int
cmd_check_mx(struct cli *cli, const char *domain, bool json, bool probe)
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
	if (cmd_reach_load(&cli->conf, &mx.reach) < 0)
		fprintf(stderr, "ferry: warning: %s/%s unreadable: the "
		    "reachability memory is not shown\n", cli->conf.state_dir,
		    REACH_FILE);
	if ((mx.base = event_base_new()) == NULL)
		return cli_fail("cannot create an event loop");
	if (dns_create(&mx.dns, mx.base, &cli->conf, &error) < 0) {
		event_base_free(mx.base);
		return cli_fail("dns: %s", error);
	}
	mx.pending = 1;
	(void)dns_lookup(mx.dns, domain, DNS_T_MX, cmd_check_mx_done, &mx);
	event_base_dispatch(mx.base);
	if (json)
		cmd_check_mx_json(&mx);
	else if (mx.kind != CMD_CHECK_MX_FAILED)
		cmd_check_mx_human(&mx);
	status = cmd_check_mx_status(&mx);
	dns_free(&mx.dns);
	event_base_free(mx.base);
	cmd_check_mx_free(&mx);
	cmd_reach_free(&mx.reach);
	return status;
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "spf") == 0)	/* cmd_check_spf.c */
		return cmd_check_spf(cli, argc - 1, argv + 1);
	bool json = cli_take_flag(&argc, argv, "--json");
	bool no_connect = cli_take_flag(&argc, argv, "--no-connect");
	const char *what = argc > 1 ? argv[1] : "";

	if (strcmp(what, "dns") == 0 && (argc == 3 || argc == 4) &&
	    !no_connect)
		return cmd_check_dns(cli, argv[2], argc == 4 ? argv[3] : NULL,
		    json);
	if (strcmp(what, "reach") == 0 && argc == 2 && !no_connect)
		return cmd_check_reach(cli, json);
	if (strcmp(what, "mx") == 0 && argc == 3)
		return cmd_check_mx(cli, argv[2], json, !no_connect);
	return cli_usage(CMD_CHECK_USAGE);
}
