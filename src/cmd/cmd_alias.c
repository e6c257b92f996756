/* `ferry alias add|del|list`: aliases and catch-alls of local domains.
 * An alias is "local@domain" or "@domain" (catch-all) and maps to one or
 * more mailboxes, local or remote, each checked and normalised here so
 * the resolver only ever reads clean lists.  Whether a local target
 * exists is checked at delivery time, not here: aliases may be set up
 * before their users.  The work is ops_alias.h's; this file parses and
 * prints. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_alias.h"
#include "store/store.h"

#define CMD_ALIAS_USAGE \
	"alias add ADDRESS TARGET[,TARGET...] | del ADDRESS | " \
	"list [DOMAIN] [--json]"

static void
cmd_alias_print(const struct ops_alias_list *l, bool json)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		for (size_t i = 0; i < l->n; i++) {
			printf("%s -> ", l->v[i].address);
			for (size_t k = 0; k < l->v[i].ntargets; k++)
				printf("%s%s", k > 0 ? "," : "",
				    l->v[i].targets[k]);
			putchar('\n');
		}
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++) {
		json_object_begin(&j);
		json_key(&j, "address");
		json_str(&j, l->v[i].address);
		json_key(&j, "domain");
		json_str(&j, l->v[i].domain);
		json_key(&j, "targets");
		json_array_begin(&j);
		for (size_t k = 0; k < l->v[i].ntargets; k++)
			json_str(&j, l->v[i].targets[k]);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static int
cmd_alias_list(const struct ops_ctx *c, const char *input, bool json)
{
	struct ops_alias_list l;
	struct ops_status st;

	if (ops_alias_list(c, input, &l, &st) < 0) {
		ops_alias_list_free(&l);
		return cli_fail("%s", st.text);
	}
	cmd_alias_print(&l, json);
	ops_alias_list_free(&l);
	return 0;
}

int
cmd_alias(struct cli *cli, int argc, char **argv)
{
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	bool ok;
	int ret;

	if (strcmp(verb, "list") == 0)
		ok = argc == 2 || argc == 3;
	else if (strcmp(verb, "add") == 0)
		ok = argc >= 4 && !json;
	else if (strcmp(verb, "del") == 0)
		ok = argc == 3 && !json;
	else
		ok = false;
	if (!ok)
		return cli_usage(CMD_ALIAS_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	/* "a,b" and "a b" (and a mix) name the same targets. */
	if (strcmp(verb, "add") == 0)
		ret = ops_alias_add(&c, argv[2], argv + 3, (size_t)(argc - 3),
		    &st) < 0 ? cli_fail("%s", st.text) : 0;
	else if (strcmp(verb, "del") == 0)
		ret = ops_alias_del(&c, argv[2], &st) < 0 ?
		    cli_fail("%s", st.text) : 0;
	else
		ret = cmd_alias_list(&c, argc == 3 ? argv[2] : NULL, json);
	store_close(&s);
	return ret;
}
