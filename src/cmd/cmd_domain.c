/* `ferry domain add|del|list`: the local domains (ops_account.h does the
 * work).  Deleting a domain deletes its users, aliases and rules from the
 * store (only with --force when it has any); the mail already in its
 * Maildirs stays on disk for the operator to remove. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_account.h"
#include "ops/ops_node.h"
#include "store/store.h"

/* "3 users, 1 alias and 2 rules" (only the non-zero ones). */
static void
cmd_domain_contents(char *dst, size_t size,
    const struct ops_domain_contents *n)
{
	const size_t v[3] = { n->users, n->aliases, n->rules };
	const char *what[3] = { "user", "alias", "rule" };
	size_t parts = 0, done = 0, len = 0;

	dst[0] = '\0';
	for (int i = 0; i < 3; i++)
		parts += v[i] > 0;
	for (int i = 0; i < 3; i++) {
		if (v[i] == 0)
			continue;
		done++;
		len += (size_t)snprintf(dst + len, size > len ? size - len : 0,
		    "%s%zu %s%s", done == 1 ? "" : done == parts ? " and " :
		    ", ", v[i], what[i], v[i] == 1 ? "" : i == 1 ? "es" : "s");
	}
}

/* A domain with users, aliases or rules is deleted only with --force,
 * and says what went with it. */
static int
cmd_domain_del(const struct ops_ctx *c, const char *input, bool force,
    struct ops_status *st)
{
	struct ops_domain_contents n;
	char domain[256], what[128];

	if (ops_domain_contents(c, input, domain, &n, st) < 0)
		return -1;
	cmd_domain_contents(what, sizeof(what), &n);
	if (what[0] != '\0' && !force)
		return ops_fail(st, OPS_EREFUSED, "%s has %s: `ferry domain del "
		    "%s --force` deletes them with it (the Maildirs stay on "
		    "disk)", domain, what, domain);
	if (ops_domain_del(c, domain, st) < 0)
		return -1;
	if (what[0] != '\0')
		printf("deleted %s with %s\n", domain, what);
	return 0;
}

#define CMD_DOMAIN_USAGE "domain add DOMAIN | del DOMAIN [--force] | " \
	"list [--json] | show DOMAIN [--json] | node DOMAIN NODE|--none | " \
	"records DOMAIN [--check] [--json] | " \
	"suspend DOMAIN [--reason TEXT] | resume DOMAIN | limit DOMAIN [options]"

/* Domains with a home node say which ("example.org (node a)"). */
static void
cmd_domain_print(const struct ops_domain_list *l,
    const struct ops_home_list *homes, bool json)
{
	struct fbuf out;
	struct json j;
	const char *home;

	if (!json) {
		for (size_t i = 0; i < l->n; i++) {
			home = ops_home_of(homes, l->v[i]);
			if (home != NULL)
				printf("%s (node %s)\n", l->v[i], home);
			else
				printf("%s\n", l->v[i]);
		}
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++) {
		json_object_begin(&j);
		json_key(&j, "domain");
		json_str(&j, l->v[i]);
		json_key(&j, "node");
		if ((home = ops_home_of(homes, l->v[i])) != NULL)
			json_str(&j, home);
		else
			json_null(&j);
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
	struct ops_home_list homes;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool json, force;
	const char *verb = argc > 1 ? argv[1] : "";
	bool list, change;
	int r;

	if (cmd_send_verb("domain", verb))
		return cmd_send(cli, "domain", argc, argv);
	json = cli_take_flag(&argc, argv, "--json");
	force = cli_take_flag(&argc, argv, "--force");
	verb = argc > 1 ? argv[1] : "";
	if (strcmp(verb, "records") == 0 && !force)
		return cmd_domain_records(cli, argc, argv, json);
	if ((strcmp(verb, "node") == 0 || strcmp(verb, "show") == 0) &&
	    !force)
		return cmd_domain_node(cli, argc, argv, json);
	list = strcmp(verb, "list") == 0 && argc == 2;
	change = (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) &&
	    argc == 3 && !json;
	if (!list && !change)
		return cli_usage(CMD_DOMAIN_USAGE);
	if (force && strcmp(verb, "del") != 0)
		return cli_usage(CMD_DOMAIN_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (list) {
		if ((r = ops_domain_list(&c, &l, &st)) == 0 &&
		    (r = ops_home_list(&c, &homes, &st)) == 0) {
			cmd_domain_print(&l, &homes, json);
			ops_home_list_free(&homes);
		}
		ops_domain_list_free(&l);
	} else if (strcmp(verb, "add") == 0)
		r = ops_domain_add(&c, argv[2], &st);
	else
		r = cmd_domain_del(&c, argv[2], force, &st);
	store_close(&s);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
