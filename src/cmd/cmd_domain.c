/* `ferry domain add|del|list`: the local domains (ops_account.h does the
 * work).  Deleting a domain deletes its users and aliases from the store;
 * the mail already in its Maildirs stays on disk for the operator to
 * remove. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_account.h"
#include "store/store.h"

#define CMD_DOMAIN_USAGE "domain add DOMAIN | del DOMAIN | list [--json]"

static void
cmd_domain_print(const struct ops_domain_list *l, bool json)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		for (size_t i = 0; i < l->n; i++)
			printf("%s\n", l->v[i]);
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++) {
		json_object_begin(&j);
		json_key(&j, "domain");
		json_str(&j, l->v[i]);
		json_object_end(&j);
	}
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

int
cmd_domain(struct cli *cli, int argc, char **argv)
{
	struct ops_domain_list l;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	bool list, change;
	int r;

	list = strcmp(verb, "list") == 0 && argc == 2;
	change = (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) &&
	    argc == 3 && !json;
	if (!list && !change)
		return cli_usage(CMD_DOMAIN_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (list) {
		if ((r = ops_domain_list(&c, &l, &st)) == 0)
			cmd_domain_print(&l, json);
		ops_domain_list_free(&l);
	} else if (strcmp(verb, "add") == 0)
		r = ops_domain_add(&c, argv[2], &st);
	else
		r = ops_domain_del(&c, argv[2], &st);
	store_close(&s);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
