/* `ferry rule add|list|del`: per-domain rules, owned by each domain's
 * postmaster and applied at RCPT to that domain's recipients (see
 * policy.h): allow|deny sender ADDRESS|@DOMAIN|<>, allow|deny ip CIDR,
 * skip CHECK[,CHECK...].  Everything is checked here (the domain is
 * local, the address or network parses, the checks exist) so that the
 * pipeline only ever reads clean rules.  The store is the one interface
 * a later web page for postmasters will use too. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "policy/policy.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_RULE_USAGE \
	"rule add DOMAIN allow|deny sender ADDRESS|@DOMAIN | " \
	"rule add DOMAIN allow|deny ip CIDR | " \
	"rule add DOMAIN skip CHECK[,CHECK...] | " \
	"rule list [DOMAIN] [--json] | rule del ID"

/* The sender value: "<>", "@domain" or a mailbox, normalised. */
static int
cmd_rule_sender(struct cli *cli, const char *input, char *dst, size_t size)
{
	struct resolve_opts o = { cli->conf.local_part_case_sensitive,
		cli->conf.recipient_delimiter };
	const char *error;
	int r;

	if (strcmp(input, "<>") == 0)
		return str_lcpy(dst, input, size) < size ? 0 : -1;
	if (input[0] == '@') {
		dst[0] = '@';
		r = resolve_parse_domain(input + 1, dst + 1, size - 1, &error);
	} else
		r = resolve_parse_mailbox(&o, input, dst, size, &error);
	if (r < 0)
		return cli_fail("%s: %s", input, error) * -1;
	return 0;
}

/* "dnsbl, rdns" -> "dnsbl,rdns" with every name known. */
static int
cmd_rule_checks(int argc, char **argv, int first, char *dst, size_t size)
{
	struct fbuf b;
	char *copy, *p, *tok;
	int ret = 0;

	fbuf_init(&b, 0);
	for (int i = first; i < argc && ret == 0; i++) {
		copy = strdup(argv[i]);
		for (p = copy; ret == 0 && (tok = strsep(&p, ",")) != NULL; ) {
			tok = str_trim(tok);
			if (*tok == '\0')
				continue;
			if (!policy_check_known(str_lower(tok)))
				ret = cli_fail("unknown check %s (known: "
				    "client, rate, bad_rcpt, dnsbl, rdns, "
				    "helo, mfcheck, spf, greylist, clamd, "
				    "spamd)", tok) * -1;
			else
				fbuf_addf(&b, "%s%s", b.len ? "," : "", tok);
		}
		free(copy);
	}
	if (ret == 0 && b.len == 0)
		ret = cli_usage("%s", CMD_RULE_USAGE) * -1;
	if (ret == 0 && str_lcpy(dst, b.data, size) >= size)
		ret = cli_fail("too many checks") * -1;
	fbuf_release(&b);
	return ret;
}

static void
cmd_rule_print(const struct store_rule *r, bool json)
{
	if (!json) {
		printf("%lld %s %s%s%s %s\n", (long long)r->id, r->domain,
		    r->action, strcmp(r->kind, "check") == 0 ? "" : " ",
		    strcmp(r->kind, "check") == 0 ? "" : r->kind, r->value);
		return;
	}
	printf("{\"id\": %lld, \"domain\": ", (long long)r->id);
	cli_json_str(r->domain);
	fputs(", \"action\": ", stdout);
	cli_json_str(r->action);
	fputs(", \"kind\": ", stdout);
	cli_json_str(r->kind);
	fputs(", \"value\": ", stdout);
	cli_json_str(r->value);
	putchar('}');
}

/* argv: rule add DOMAIN ACTION ... into r.  0, or the exit status. */
static int
cmd_rule_parse(struct cli *cli, int argc, char **argv, struct store_rule *r)
{
	const char *error;
	struct cidr net;

	memset(r, 0, sizeof(*r));
	if (argc < 5)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (resolve_parse_domain(argv[2], r->domain, sizeof(r->domain),
	    &error) < 0)
		return cli_fail("%s: %s", argv[2], error);
	str_lcpy(r->action, argv[3], sizeof(r->action));
	if (strcmp(argv[3], "skip") == 0) {
		str_lcpy(r->kind, "check", sizeof(r->kind));
		return cmd_rule_checks(argc, argv, 4, r->value,
		    sizeof(r->value)) < 0 ? 1 : 0;
	}
	if ((strcmp(argv[3], "allow") != 0 && strcmp(argv[3], "deny") != 0) ||
	    argc != 6)
		return cli_usage("%s", CMD_RULE_USAGE);
	str_lcpy(r->kind, argv[4], sizeof(r->kind));
	if (strcmp(argv[4], "sender") == 0)
		return cmd_rule_sender(cli, argv[5], r->value,
		    sizeof(r->value)) < 0 ? 1 : 0;
	if (strcmp(argv[4], "ip") != 0)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (cidr_parse(argv[5], &net) < 0)
		return cli_fail("%s: not an address or CIDR network", argv[5]);
	str_lcpy(r->value, argv[5], sizeof(r->value));
	return 0;
}

static int
cmd_rule_add(struct cli *cli, int argc, char **argv, bool json)
{
	struct store_rule r;
	struct store *s;
	const char *error;
	int ret;

	if ((ret = cmd_rule_parse(cli, argc, argv, &r)) != 0)
		return ret;
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (store_rule_add(s, &r, &error) < 0)
		ret = cli_fail("%s: %s", r.domain, error);
	else if (json) {
		cmd_rule_print(&r, true);
		putchar('\n');
	} else
		printf("rule %lld added\n", (long long)r.id);
	store_close(&s);
	return ret;
}

static int
cmd_rule_del(struct cli *cli, const char *arg)
{
	struct store *s;
	const char *error;
	uint64_t id;
	int ret = 0;

	if (str_parse_uint(arg, 1, INT64_MAX, &id) < 0)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (store_rule_del(s, (int64_t)id, &error) < 0)
		ret = cli_fail("rule %s: %s", arg, error);
	store_close(&s);
	return ret;
}

static void
cmd_rule_list_cb(const struct store_rule *r, void *ctx)
{
	struct cli_list *c = ctx;

	if (c->json)
		cli_list_next(c);
	cmd_rule_print(r, c->json);
}

static int
cmd_rule_list(struct cli *cli, const char *input, bool json)
{
	struct cli_list c = { json, 0 };
	char domain[256];
	struct store *s;
	const char *error;
	int ret = 0;

	if (input != NULL && resolve_parse_domain(input, domain,
	    sizeof(domain), &error) < 0)
		return cli_fail("%s: %s", input, error);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (input != NULL && store_domain_exists(s, domain) != 1)
		ret = cli_fail("%s: no such domain", domain);
	else {
		if (json)
			putchar('[');
		if (store_rule_list(s, input != NULL ? domain : NULL,
		    cmd_rule_list_cb, &c, &error) < 0)
			ret = cli_fail("%s", error);
		if (json)
			puts(c.n > 0 ? "\n]" : "]");
	}
	store_close(&s);
	return ret;
}

int
cmd_rule(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");

	if (argc < 2)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	if (strcmp(argv[1], "add") == 0)
		return cmd_rule_add(cli, argc, argv, json);
	if (strcmp(argv[1], "del") == 0 && argc == 3)
		return cmd_rule_del(cli, argv[2]);
	if (strcmp(argv[1], "list") == 0 && argc <= 3)
		return cmd_rule_list(cli, argc == 3 ? argv[2] : NULL, json);
	return cli_usage("%s", CMD_RULE_USAGE);
}
