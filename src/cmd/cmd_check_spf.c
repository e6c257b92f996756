/* `ferry check spf IP SENDER [HELO] [--json]`: RFC 7208 check_host() as
 * the server runs it (msgauth/spf.c, the server's resolvers, hostname as
 * the receiver %{r}), for people or --json: the result, the mechanism
 * that decided (and the way to it through include: and redirect=), the
 * explanation of a fail, the problem of a temperror or
 * permerror, the lookups counted against the limits (4.6.4) and the
 * Received-SPF header field (9.1) the server would add.  SENDER "" or
 * "<>" checks the HELO identity.  Exit 0 whenever a result was reached
 * (whatever it is), 1 when the check could not run, 2 on usage errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "msgauth/spf.h"
#include "net/dns.h"

#define CMD_CHECK_SPF_USAGE "check spf IP SENDER [HELO] [--json]"

struct cmd_check_spf {
	struct event_base *base;
	const char *ip, *helo, *receiver;
	bool json;
};

static void
cmd_check_spf_json_field(const char *key, const char *v, bool first)
{
	printf("%s\"%s\": ", first ? "{" : ", ", key);
	cli_json_str(v);
}

static void
cmd_check_spf_json(const struct spf_answer *a, const char *header)
{
	cmd_check_spf_json_field("result", spf_result_str(a->result), true);
	cmd_check_spf_json_field("identity", a->identity, false);
	cmd_check_spf_json_field("sender", a->sender, false);
	cmd_check_spf_json_field("domain", a->domain, false);
	cmd_check_spf_json_field("mechanism", a->mechanism, false);
	cmd_check_spf_json_field("path", a->path, false);
	cmd_check_spf_json_field("explanation", a->explanation, false);
	cmd_check_spf_json_field("problem", a->problem, false);
	printf(", \"lookups\": %u, \"void_lookups\": %u", a->lookups,
	    a->void_lookups);
	cmd_check_spf_json_field("received_spf", header, false);
	puts("}");
}

static void
cmd_check_spf_human(const struct spf_answer *a, const char *header)
{
	printf("spf: %s\n", spf_result_str(a->result));
	printf("identity: %s (%s)\n", a->identity, a->sender);
	printf("domain: %s\n", a->domain);
	if (a->mechanism[0] != '\0')
		printf("mechanism: %s\n", a->mechanism);
	if (a->path[0] != '\0')
		printf("path: %s\n", a->path);
	if (a->explanation[0] != '\0')
		printf("explanation: %s\n", a->explanation);
	if (a->problem[0] != '\0')
		printf("problem: %s\n", a->problem);
	printf("lookups: %u (void: %u)\n", a->lookups, a->void_lookups);
	fputs(header, stdout);
}

static void
cmd_check_spf_done(const struct spf_answer *a, void *arg)
{
	struct cmd_check_spf *c = arg;
	struct fbuf h;
	char *nl;

	fbuf_init(&h, 0);
	(void)spf_received_spf(&h, a, c->ip, c->helo, c->receiver);
	if (c->json) {
		/* one line: the folds undone, the final CRLF dropped */
		while ((nl = strstr(h.data, "\r\n")) != NULL)
			memmove(nl, nl + 2, strlen(nl + 2) + 1);
		cmd_check_spf_json(a, h.data);
	} else {
		while ((nl = strchr(h.data, '\r')) != NULL)
			memmove(nl, nl + 1, strlen(nl + 1) + 1);
		cmd_check_spf_human(a, h.data);
	}
	fbuf_release(&h);
	event_base_loopbreak(c->base);
}

/* "<a@b>" and "<>" as MAIL FROM writes them; "" for the null path. */
static void
cmd_check_spf_sender(const char *s, char *dst, size_t size)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		(void)snprintf(dst, size, "%.*s", (int)(n - 2), s + 1);
	else
		str_lcpy(dst, s, size);
}

static int
cmd_check_spf_run(struct cli *cli, struct spf_request *req, bool json)
{
	struct cmd_check_spf c;
	struct dns *d;
	const char *error;
	char ip[INET6_ADDRSTRLEN + 1];

	if (cli_load_conf(cli) < 0)
		return 1;
	memset(&c, 0, sizeof(c));
	c.json = json;
	c.helo = req->helo;
	c.receiver = req->receiver = cli->conf.hostname;
	if (req->ip.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&req->ip)->sin_addr,
		    ip, sizeof(ip));
	else
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&req->ip)->sin6_addr, ip,
		    sizeof(ip));
	c.ip = ip;
	if ((c.base = event_base_new()) == NULL)
		return cli_fail("cannot create an event loop");
	if (dns_create(&d, c.base, &cli->conf, &error) < 0) {
		event_base_free(c.base);
		return cli_fail("dns: %s", error);
	}
	(void)spf_check_start(c.base, d, req, cmd_check_spf_done, &c);
	event_base_dispatch(c.base);
	dns_free(&d);
	event_base_free(c.base);
	return 0;
}

/* argv[0] is "spf". */
int
cmd_check_spf(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	struct spf_request req;
	char sender[600];

	if (argc != 3 && argc != 4)
		return cli_usage(CMD_CHECK_SPF_USAGE);
	memset(&req, 0, sizeof(req));
	if (cidr_addr_parse(argv[1], &req.ip) < 0)
		return cli_fail("%s: not an IP address", argv[1]);
	cmd_check_spf_sender(argv[2], sender, sizeof(sender));
	req.sender = sender;
	req.helo = argc == 4 ? argv[3] : "";
	return cmd_check_spf_run(cli, &req, json);
}
