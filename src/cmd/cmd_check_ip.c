/* `ferry check ip IP [--json]`: what the inbound checks know about a
 * client address.  DNS (all at once on one loop): its PTR names and
 * whether each resolves back to it (forward-confirmed reverse DNS, as
 * require_rdns = fcrdns asks, RFC 8601 2.7.3), and the answer of every
 * `dnsbl` zone (RFC 5782; "listed" decided by gate_dnsbl_listed(), the
 * TXT reason when listed).  The store (read only, when it exists): a
 * ban in force, the greylist's state for the client's network, and the
 * `ferry rule` ip rules that match it (skip rules, which apply to every
 * client of their domain, listed too).  The configuration: the lists it
 * is in (relay_networks makes it trusted, client_allow/deny, exempt
 * lines per check, auth_ban_exempt, ...).  Exit 0 when it ran. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/policy.h"
#include "store/store.h"

#define CMD_IP_USAGE "check ip IP [--json]"
#define CMD_IP_NAMES 4			/* PTR names checked, as gate_rdns */
#define CMD_IP_ZONES 16			/* dnsbl zones, as gate_dnsbl */
#define CMD_IP_RULES 64

struct cmd_ip;

struct cmd_ip_name {
	char name[256];
	enum dns_status st;
	bool confirmed;
	struct cmd_ip *ip;
};

struct cmd_ip_zone {
	const char *zone;		/* in the configuration */
	enum dns_status st;
	bool listed;
	char answer[256];		/* the A records */
	char reason[256];		/* TXT when listed */
	struct cmd_ip *ip;
};

struct cmd_ip {
	struct event_base *base;
	struct dns *dns;
	const struct conf *conf;
	struct sockaddr_storage ss;
	char addr[64];
	unsigned pending;
	enum dns_status ptr_st;
	char ptr_why[160];
	struct cmd_ip_name names[CMD_IP_NAMES];
	size_t nnames, nptr;
	struct cmd_ip_zone zones[CMD_IP_ZONES];
	size_t nzones;
	/* the store */
	bool have_store;
	char store_error[200];
	bool banned;
	struct store_ban ban;
	char grey_net[80];
	int64_t grey_until, grey_waiting;
	struct store_rule rules[CMD_IP_RULES];
	size_t nrules;
};

static void
cmd_ip_step(struct cmd_ip *c)
{
	if (--c->pending == 0)
		event_base_loopbreak(c->base);
}

/* ---------------------------------------------------------- rDNS */

static bool
cmd_ip_same(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	char x[64], y[64];

	cidr_addr_str((const struct sockaddr *)a, x, sizeof(x));
	cidr_addr_str(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}

static void
cmd_ip_fwd_done(const struct dns_result *r, void *arg)
{
	struct cmd_ip_name *n = arg;

	n->st = r->status;
	for (size_t k = 0; k < r->n; k++)
		if (cmd_ip_same(&n->ip->ss,
		    (const struct sockaddr *)&r->rr[k].addr))
			n->confirmed = true;
	cmd_ip_step(n->ip);
}

static void
cmd_ip_ptr_done(const struct dns_result *r, void *arg)
{
	struct cmd_ip *c = arg;
	int type = c->ss.ss_family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	c->ptr_st = r->status;
	c->nptr = r->n;
	if (r->status == DNS_TEMPFAIL)
		str_lcpy(c->ptr_why, r->why != NULL ? r->why : "failed",
		    sizeof(c->ptr_why));
	for (size_t k = 0; k < r->n && c->nnames < CMD_IP_NAMES; k++) {
		struct cmd_ip_name *n = &c->names[c->nnames++];

		str_lcpy(n->name, r->rr[k].name, sizeof(n->name));
		n->ip = c;
		c->pending++;
		(void)dns_lookup(c->dns, n->name, type, cmd_ip_fwd_done, n);
	}
	cmd_ip_step(c);
}

/* ---------------------------------------------------------- DNSBL */

static void
cmd_ip_txt_done(const struct dns_result *r, void *arg)
{
	struct cmd_ip_zone *z = arg;

	if (r->status == DNS_OK && r->n > 0)
		for (size_t i = 0, o = 0; i < r->rr[0].txt_len &&
		    o + 1 < sizeof(z->reason); i++) {
			unsigned char ch = (unsigned char)r->rr[0].txt[i];

			z->reason[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch :
			    '?';
			z->reason[o] = '\0';
		}
	cmd_ip_step(z->ip);
}

static void
cmd_ip_zone_done(const struct dns_result *r, void *arg)
{
	struct cmd_ip_zone *z = arg;
	char one[64], name[300];

	z->st = r->status;
	for (size_t k = 0; k < r->n; k++) {
		cidr_addr_str((const struct sockaddr *)&r->rr[k].addr, one,
		    sizeof(one));
		if (strlen(z->answer) + strlen(one) + 3 < sizeof(z->answer))
			snprintf(z->answer + strlen(z->answer),
			    sizeof(z->answer) - strlen(z->answer), "%s%s",
			    k > 0 ? ", " : "", one);
		if (gate_dnsbl_listed((const struct sockaddr *)
		    &r->rr[k].addr))
			z->listed = true;
	}
	if (z->listed && dns_reverse_name((const struct sockaddr *)
	    &z->ip->ss, z->zone, name, sizeof(name)) == 0) {
		z->ip->pending++;
		(void)dns_lookup(z->ip->dns, name, DNS_T_TXT, cmd_ip_txt_done,
		    z);
	}
	cmd_ip_step(z->ip);
}

static void
cmd_ip_ask(struct cmd_ip *c)
{
	char name[300];

	c->pending = 1;		/* held until everything has started */
	if (dns_reverse_name((const struct sockaddr *)&c->ss, NULL, name,
	    sizeof(name)) == 0) {
		c->pending++;
		(void)dns_lookup(c->dns, name, DNS_T_PTR, cmd_ip_ptr_done, c);
	}
	for (size_t i = 0; i < c->conf->dnsbl.n && c->nzones < CMD_IP_ZONES;
	    i++) {
		struct cmd_ip_zone *z = &c->zones[c->nzones++];

		z->zone = c->conf->dnsbl.v[i];
		z->ip = c;
		if (dns_reverse_name((const struct sockaddr *)&c->ss, z->zone,
		    name, sizeof(name)) < 0) {
			z->st = DNS_NXDOMAIN;
			continue;
		}
		c->pending++;
		(void)dns_lookup(c->dns, name, DNS_T_A, cmd_ip_zone_done, z);
	}
	cmd_ip_step(c);
}

/* ---------------------------------------------------------- store */

static void
cmd_ip_rule(const struct store_rule *r, void *ctx)
{
	struct cmd_ip *c = ctx;
	struct cidr net;

	if (c->nrules >= CMD_IP_RULES)
		return;
	if (strcmp(r->kind, "ip") == 0 && (cidr_parse(r->value, &net) < 0 ||
	    !cidr_match(&net, (const struct sockaddr *)&c->ss)))
		return;
	if (strcmp(r->kind, "ip") != 0 && strcmp(r->action, "skip") != 0)
		return;
	c->rules[c->nrules++] = *r;
}

/* Bans, greylist and rules, read without changing anything; nothing
 * when the store does not exist yet (the check creates none). */
static void
cmd_ip_store(struct cli *cli, struct cmd_ip *c)
{
	char path[PATH_MAX];
	struct store *s = NULL;
	const char *error = "cannot read";

	if (conf_store_path(&cli->conf, path, sizeof(path)) < 0 ||
	    (strncmp(path, "postgres", 8) != 0 && access(path, F_OK) != 0))
		return;
	if (cli_open_store(cli, &s) < 0) {
		str_lcpy(c->store_error, "cannot open the store",
		    sizeof(c->store_error));
		return;
	}
	c->have_store = true;
	c->banned = store_ban_get(s, c->addr, (int64_t)time(NULL),
	    &c->ban) == 1;
	if (gate_greylist_net((const struct sockaddr *)&c->ss, c->grey_net,
	    sizeof(c->grey_net)) == 0 &&
	    store_greylist_state(s, c->grey_net, &c->grey_until,
	    &c->grey_waiting) < 0)
		str_lcpy(c->store_error, "greylist unreadable",
		    sizeof(c->store_error));
	if (store_rule_list(s, NULL, cmd_ip_rule, c, &error) < 0)
		str_lcpy(c->store_error, error, sizeof(c->store_error));
	store_close(&s);
}

/* ---------------------------------------------------------- the lists */

struct cmd_ip_list {
	const char *key;
	const char *effect;
};

/* The configuration's address lists that hold the client, into v (the
 * keys); returns how many. */
static size_t
cmd_ip_lists(const struct cmd_ip *c, struct cmd_ip_list *v, size_t max)
{
	const struct conf *cf = c->conf;
	const struct sockaddr *sa = (const struct sockaddr *)&c->ss;
	const struct {
		const struct cidr_list *l;
		const char *key, *effect;
	} lists[] = {
		{ &cf->relay_networks, "relay_networks", cf->check_trusted_clients ?
		    "may relay (checks still run: check_trusted_clients)" :
		    "may relay; skips every check (trusted)" },
		{ &cf->client_allow, "client_allow", "accepted by the client "
		    "check, skips the checks after it" },
		{ &cf->client_deny, "client_deny", "refused by the client "
		    "check" },
		{ &cf->auth_ban_exempt, "auth_ban_exempt", "never banned for "
		    "failed logins" },
		{ &cf->auth_plaintext_networks, "auth_plaintext_networks",
		    "may log in without TLS" },
		{ &cf->transcript_ips, "transcript_ips", "sessions "
		    "transcribed to the log" },
		{ &cf->imap_trusted_proxies, "imap_trusted_proxies", "may "
		    "pass the client address (IMAP ID)" },
		{ &cf->pop3_trusted_proxies, "pop3_trusted_proxies", "may "
		    "pass the client address (POP3 XCLIENT)" },
		{ &cf->metrics_allow, "metrics_allow", "may read /metrics" },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]) && n < max;
	    i++)
		if (cidr_list_match(lists[i].l, sa)) {
			v[n].key = lists[i].key;
			v[n++].effect = lists[i].effect;
		}
	return n;
}

/* ---------------------------------------------------------- output */

static const char *
cmd_ip_fcrdns(const struct cmd_ip *c)
{
	bool temp = c->ptr_st == DNS_TEMPFAIL;

	for (size_t i = 0; i < c->nnames; i++) {
		if (c->names[i].confirmed)
			return "pass";
		temp = temp || c->names[i].st == DNS_TEMPFAIL;
	}
	return temp ? "temperror" : "fail";
}

static void
cmd_ip_human_dns(const struct cmd_ip *c)
{
	if (c->ptr_st == DNS_OK)
		for (size_t i = 0; i < c->nnames; i++)
			printf("PTR: %s (%s)\n", c->names[i].name,
			    c->names[i].confirmed ? "resolves back: confirmed" :
			    c->names[i].st == DNS_TEMPFAIL ?
			    "temporary DNS failure" : "does not resolve back");
	else
		printf("PTR: %s\n", c->ptr_st == DNS_TEMPFAIL ? c->ptr_why :
		    "none");
	printf("forward-confirmed reverse DNS: %s (require_rdns = %s)\n",
	    cmd_ip_fcrdns(c), c->conf->require_rdns == CONF_RDNS_FCRDNS ?
	    "fcrdns" : c->conf->require_rdns == CONF_RDNS_PTR ? "ptr" : "no");
	if (c->nzones == 0)
		puts("dnsbl: none configured");
	for (size_t i = 0; i < c->nzones; i++) {
		const struct cmd_ip_zone *z = &c->zones[i];

		printf("dnsbl %s: %s", z->zone, z->listed ? "LISTED" :
		    z->st == DNS_TEMPFAIL ? "no answer (counts as not "
		    "listed)" : "not listed");
		if (z->answer[0] != '\0')
			printf(" (%s)", z->answer);
		if (z->reason[0] != '\0')
			printf(": %s", z->reason);
		putchar('\n');
	}
}

static void
cmd_ip_human_store(const struct cmd_ip *c)
{
	time_t now = time(NULL);

	if (!c->have_store) {
		puts("store: none yet (no bans, greylist or rules)");
		return;
	}
	if (c->banned)
		printf("ban: banned until %lld (%s)\n", (long long)c->ban.until,
		    c->ban.reason);
	else
		puts("ban: none");
	if (c->grey_until > (int64_t)now)
		printf("greylist: %s trusted until %lld\n", c->grey_net,
		    (long long)c->grey_until);
	else
		printf("greylist: %s not trusted, %lld triplet(s) waiting\n",
		    c->grey_net, (long long)c->grey_waiting);
	for (size_t i = 0; i < c->nrules; i++)
		printf("rule %lld (%s): %s %s %s%s\n", (long long)c->rules[i].id,
		    c->rules[i].domain, c->rules[i].action, c->rules[i].kind,
		    c->rules[i].value, strcmp(c->rules[i].kind, "ip") == 0 ?
		    "" : " (every client)");
	if (c->nrules == 0)
		puts("rules: none for this address");
	if (c->store_error[0] != '\0')
		printf("store: %s\n", c->store_error);
}

static void
cmd_ip_human(const struct cmd_ip *c)
{
	struct cmd_ip_list lists[8];
	size_t n = cmd_ip_lists(c, lists, 8);
	size_t ex = 0;

	printf("client %s\n", c->addr);
	cmd_ip_human_dns(c);
	cmd_ip_human_store(c);
	for (size_t i = 0; i < n; i++)
		printf("in %s: %s\n", lists[i].key, lists[i].effect);
	for (size_t i = 0; policy_check_names[i] != NULL; i++)
		if (conf_exempted(c->conf, (const struct sockaddr *)&c->ss,
		    policy_check_names[i])) {
			printf("%s %s", ex++ == 0 ? "exempt (exempt =) from:" :
			    ",", policy_check_names[i]);
		}
	if (ex > 0)
		putchar('\n');
	if (n == 0 && ex == 0)
		puts("lists: in none (relay_networks, client_allow, exempt, "
		    "...)");
}

static void
cmd_ip_json_str(const char *key, const char *v)
{
	printf(", \"%s\": ", key);
	if (v != NULL)
		cli_json_str(v);
	else
		fputs("null", stdout);
}

static void
cmd_ip_json_dns(const struct cmd_ip *c)
{
	printf(", \"ptr\": {\"status\": \"%s\", \"names\": [",
	    dns_status_str(c->ptr_st));
	for (size_t i = 0; i < c->nnames; i++) {
		fputs(i > 0 ? ", {\"name\": " : "{\"name\": ", stdout);
		cli_json_str(c->names[i].name);
		printf(", \"confirmed\": %s}", c->names[i].confirmed ? "true" :
		    "false");
	}
	printf("]}, \"fcrdns\": \"%s\", \"dnsbl\": [", cmd_ip_fcrdns(c));
	for (size_t i = 0; i < c->nzones; i++) {
		const struct cmd_ip_zone *z = &c->zones[i];

		fputs(i > 0 ? ", {\"zone\": " : "{\"zone\": ", stdout);
		cli_json_str(z->zone);
		printf(", \"status\": \"%s\", \"listed\": %s",
		    dns_status_str(z->st), z->listed ? "true" : "false");
		cmd_ip_json_str("answer", z->answer[0] != '\0' ? z->answer :
		    NULL);
		cmd_ip_json_str("reason", z->reason[0] != '\0' ? z->reason :
		    NULL);
		putchar('}');
	}
	putchar(']');
}

static void
cmd_ip_json_store(const struct cmd_ip *c)
{
	printf(", \"store\": %s, \"banned\": %s", c->have_store ? "true" :
	    "false", c->banned ? "true" : "false");
	cmd_ip_json_str("ban_reason", c->banned ? c->ban.reason : NULL);
	printf(", \"ban_until\": %lld", c->banned ? (long long)c->ban.until :
	    0LL);
	cmd_ip_json_str("greylist_net", c->have_store ? c->grey_net : NULL);
	printf(", \"greylist_trusted_until\": %lld, \"greylist_waiting\": "
	    "%lld, \"rules\": [", (long long)c->grey_until,
	    (long long)c->grey_waiting);
	for (size_t i = 0; i < c->nrules; i++) {
		printf("%s{\"id\": %lld", i > 0 ? ", " : "",
		    (long long)c->rules[i].id);
		cmd_ip_json_str("domain", c->rules[i].domain);
		cmd_ip_json_str("action", c->rules[i].action);
		cmd_ip_json_str("kind", c->rules[i].kind);
		cmd_ip_json_str("value", c->rules[i].value);
		putchar('}');
	}
	putchar(']');
}

static void
cmd_ip_json(const struct cmd_ip *c)
{
	struct cmd_ip_list lists[8];
	size_t n = cmd_ip_lists(c, lists, 8), ex = 0;

	fputs("{\"ip\": ", stdout);
	cli_json_str(c->addr);
	cmd_ip_json_dns(c);
	cmd_ip_json_store(c);
	fputs(", \"lists\": [", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\"", i > 0 ? ", " : "", lists[i].key);
	fputs("], \"exempt\": [", stdout);
	for (size_t i = 0; policy_check_names[i] != NULL; i++)
		if (conf_exempted(c->conf, (const struct sockaddr *)&c->ss,
		    policy_check_names[i]))
			printf("%s\"%s\"", ex++ > 0 ? ", " : "",
			    policy_check_names[i]);
	puts("]}");
}

/* ---------------------------------------------------------- command */

static int
cmd_ip_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (cidr_addr_parse(s, ss) < 0)
		return -1;
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* What the server sees of an IPv4 client. */
		struct in_addr a;

		memcpy(&a, sin6->sin6_addr.s6_addr + 12, 4);
		memset(ss, 0, sizeof(*ss));
		sin->sin_family = AF_INET;
		sin->sin_addr = a;
	}
	return 0;
}

/* argv[0] is "ip". */
int
cmd_check_ip(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	struct cmd_ip *c;
	const char *error;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(CMD_IP_USAGE);
	c = xcalloc(1, sizeof(*c));
	if (cmd_ip_parse(argv[1], &c->ss) < 0) {
		free(c);
		return cli_fail("%s: not an IP address", argv[1]);
	}
	cidr_addr_str((const struct sockaddr *)&c->ss, c->addr,
	    sizeof(c->addr));
	if (cli_load_conf(cli) < 0 || (c->base = event_base_new()) == NULL) {
		free(c);
		return 1;
	}
	c->conf = &cli->conf;
	cmd_ip_store(cli, c);
	if (dns_create(&c->dns, c->base, &cli->conf, &error) < 0) {
		event_base_free(c->base);
		free(c);
		return cli_fail("dns: %s", error);
	}
	cmd_ip_ask(c);
	event_base_dispatch(c->base);
	if (json)
		cmd_ip_json(c);
	else
		cmd_ip_human(c);
	dns_free(&c->dns);
	event_base_free(c->base);
	free(c);
	return 0;
}
