/* `ferry domain add|del|list`: the local domains.  Deleting a domain
 * deletes its users and aliases from the store; the mail already in its
 * Maildirs stays on disk for the operator to remove. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_DOMAIN_USAGE "domain add DOMAIN | del DOMAIN | list [--json]"

static void
cmd_domain_list_cb(const char *domain, void *ctx)
{
	struct cli_list *c = ctx;

	if (!c->json) {
		printf("%s\n", domain);
		return;
	}
	cli_list_next(c);
	fputs("{\"domain\": ", stdout);
	cli_json_str(domain);
	putchar('}');
}

static int
cmd_domain_list(struct store *s, bool json)
{
	struct cli_list c;
	const char *error = NULL;
	int r;

	cli_list_begin(&c, json);
	r = store_domain_list(s, cmd_domain_list_cb, &c, &error);
	return cli_list_end(&c, r, error);
}

static int
cmd_domain_change(struct store *s, const char *verb, const char *input)
{
	char domain[256];
	const char *error;
	int r;

	if (resolve_parse_domain(input, domain, sizeof(domain), &error) < 0)
		return cli_fail("%s: %s", input, error);
	if (strcmp(verb, "add") == 0)
		r = store_domain_add(s, domain, &error);
	else
		r = store_domain_del(s, domain, &error);
	if (r < 0)
		return cli_fail("%s: %s", domain, error);
	return 0;
}

int
cmd_domain(struct cli *cli, int argc, char **argv)
{
	struct store *s;
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	bool list, change;
	int ret;

	list = strcmp(verb, "list") == 0 && argc == 2;
	change = (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) &&
	    argc == 3 && !json;
	if (!list && !change)
		return cli_usage(CMD_DOMAIN_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (list)
		ret = cmd_domain_list(s, json);
	else
		ret = cmd_domain_change(s, verb, argv[2]);
	store_close(&s);
	return ret;
}
