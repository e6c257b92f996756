/* `ferry check ...`: the dispatch, and `check dns NAME [TYPE]`: what
 * the server's own resolver (dns_resolvers, then dns_fallback_resolvers)
 * says, for people or --json, on the asynchronous resolver on a private
 * loop.  Exit 1 when the answer is "does not exist", "no records" or a
 * temporary failure.  `check mx` is cmd_check_mx.c, `check spf`
 * cmd_check_spf.c, `check reach` cmd_check_reach.c, `check dns
 * [NAME] --resolvers` (every resolver on its own) cmd_check_dns.c,
 * `check sender` cmd_check_sender.c, `check ip` cmd_check_ip.c. */
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
	"check dns [NAME] --resolvers [--json] | " \
	"check mx DOMAIN [--json] [--no-connect] [--timeout SECS] " \
	"[--tarpit SECS] | check sender DOMAIN [--ip IP] [--json] | " \
	"check ip IP [--json] | " \
	"check spf IP SENDER [HELO] [--json]"

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

/* "--timeout N" style options (seconds, 1..300) taken out of argv:
 * 0 (*v_r set when present), or -1 for a bad or missing value. */
static int
cmd_check_take_secs(int *argc, char **argv, const char *opt, uint64_t *v_r)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], opt) != 0)
			continue;
		if (i + 1 >= *argc ||
		    str_parse_uint(argv[i + 1], 1, 300, v_r) < 0)
			return -1;
		memmove(&argv[i], &argv[i + 2],
		    (size_t)(*argc - i - 1) * sizeof(*argv));
		*argc -= 2;
		return 0;
	}
	return 0;
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "spf") == 0)	/* cmd_check_spf.c */
		return cmd_check_spf(cli, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "sender") == 0)	/* cmd_check_sender.c */
		return cmd_check_sender(cli, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "ip") == 0)	/* cmd_check_ip.c */
		return cmd_check_ip(cli, argc - 1, argv + 1);
	bool json = cli_take_flag(&argc, argv, "--json");
	bool no_connect = cli_take_flag(&argc, argv, "--no-connect");
	bool resolvers = cli_take_flag(&argc, argv, "--resolvers");
	uint64_t timeout = 0, tarpit = 0;

	if (cmd_check_take_secs(&argc, argv, "--timeout", &timeout) < 0 ||
	    cmd_check_take_secs(&argc, argv, "--tarpit", &tarpit) < 0)
		return cli_usage(CMD_CHECK_USAGE);
	const char *what = argc > 1 ? argv[1] : "";

	/* `check dns` alone, or with --resolvers: every resolver on its
	 * own (cmd_check_dns.c). */
	if (strcmp(what, "dns") == 0 && (argc == 2 || (resolvers &&
	    argc == 3)) && !no_connect)
		return cmd_check_dns_all(cli, argc == 3 ? argv[2] : NULL, json);
	if (resolvers)
		return cli_usage(CMD_CHECK_USAGE);
	if (strcmp(what, "dns") == 0 && (argc == 3 || argc == 4) &&
	    !no_connect)
		return cmd_check_dns(cli, argv[2], argc == 4 ? argv[3] : NULL,
		    json);
	if (strcmp(what, "reach") == 0 && argc == 2 && !no_connect)
		return cmd_check_reach(cli, json);
	if (strcmp(what, "mx") == 0 && argc == 3)
		return cmd_check_mx(cli, argv[2], json, !no_connect,
		    (unsigned)timeout, (unsigned)tarpit);
	return cli_usage(CMD_CHECK_USAGE);
}
