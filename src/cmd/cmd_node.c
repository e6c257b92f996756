/* `ferry node add|del|list` and `ferry domain node|show`: the nodes that
 * share this store and the domains' home nodes (ops_node.h does the
 * work).  A node is named as its own node_name setting names it; its
 * addresses are where the other nodes reach it:
 *
 *   ferry node add a --smtp 10.0.0.1:25 --imap 10.0.0.1:143 \
 *       --pop3 10.0.0.1:110
 *   ferry domain node example.org a        (or --none)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_account.h"
#include "ops/ops_node.h"
#include "store/store.h"

#define CMD_NODE_USAGE "node add NAME --smtp IP:PORT [--imap IP:PORT] " \
	"[--pop3 IP:PORT] [--replace] | del NAME | list [--json]"
#define CMD_DOMAIN_NODE_USAGE "domain node DOMAIN NODE|--none | " \
	"show DOMAIN [--json]"

static void
cmd_node_print(const struct ops_node_list *l, bool json)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		for (size_t i = 0; i < l->n; i++)
			printf("%s smtp=%s imap=%s pop3=%s\n", l->v[i].name,
			    l->v[i].smtp, l->v[i].imap[0] != '\0' ?
			    l->v[i].imap : "-", l->v[i].pop3[0] != '\0' ?
			    l->v[i].pop3 : "-");
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++) {
		json_object_begin(&j);
		json_key(&j, "name");
		json_str(&j, l->v[i].name);
		json_key(&j, "smtp");
		json_str(&j, l->v[i].smtp);
		json_key(&j, "imap");
		json_str(&j, l->v[i].imap);
		json_key(&j, "pop3");
		json_str(&j, l->v[i].pop3);
		json_object_end(&j);
	}
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

/* argv after the verb: NAME and its options.  -2: usage. */
static int
cmd_node_add(const struct ops_ctx *c, int argc, char **argv, bool replace,
    struct ops_status *st)
{
	const char *smtp = NULL, *imap = NULL, *pop3 = NULL;

	if (cli_take_opt(&argc, argv, "--smtp", &smtp) < 0 ||
	    cli_take_opt(&argc, argv, "--imap", &imap) < 0 ||
	    cli_take_opt(&argc, argv, "--pop3", &pop3) < 0 ||
	    argc != 3 || argv[2][0] == '-' || smtp == NULL)
		return -2;
	return ops_node_add(c, argv[2], smtp, imap, pop3, replace, st);
}

int
cmd_node(struct cli *cli, int argc, char **argv)
{
	struct ops_node_list l;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool json = cli_take_flag(&argc, argv, "--json");
	bool replace = cli_take_flag(&argc, argv, "--replace");
	const char *verb = argc > 1 ? argv[1] : "";
	int r;

	if (strcmp(verb, "list") == 0 ? argc != 2 || replace :
	    strcmp(verb, "del") == 0 ? argc != 3 || json || replace ||
	    argv[2][0] == '-' : strcmp(verb, "add") != 0 || json)
		return cli_usage(CMD_NODE_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (strcmp(verb, "list") == 0) {
		if ((r = ops_node_list(&c, &l, &st)) == 0)
			cmd_node_print(&l, json);
		ops_node_list_free(&l);
	} else if (strcmp(verb, "del") == 0)
		r = ops_node_del(&c, argv[2], &st);
	else
		r = cmd_node_add(&c, argc, argv, replace, &st);
	store_close(&s);
	if (r == -2 || (r < 0 && st.code == OPS_EUSAGE))
		return cli_usage(CMD_NODE_USAGE);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}

static int
cmd_domain_show(const struct ops_ctx *c, const char *input, bool json,
    struct ops_status *st)
{
	char domain[256];
	struct store_node n;
	int home;

	if (ops_domain_arg(c, input, domain, sizeof(domain), st) < 0)
		return -1;
	if ((home = store_domain_home(c->store, domain, &n)) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: the store failed", domain);
	if (json) {
		printf("{\"domain\": ");
		cli_json_str(domain);
		printf(", \"node\": ");
		if (home == 1)
			cli_json_str(n.name);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("domain: %s\n", domain);
		if (home == 1)
			printf("node: %s (smtp %s)\n", n.name, n.smtp);
		else
			printf("node: none (delivered on the node that "
			    "receives its mail)\n");
	}
	return 0;
}

int
cmd_domain_node(struct cli *cli, int argc, char **argv, bool json)
{
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool none = cli_take_flag(&argc, argv, "--none");
	bool show = strcmp(argv[1], "show") == 0;
	int r;

	if (show ? argc != 3 || none : json || (none ? argc != 3 :
	    argc != 4) || argv[2][0] == '-' || (!none && argv[3][0] == '-'))
		return cli_usage(CMD_DOMAIN_NODE_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (show)
		r = cmd_domain_show(&c, argv[2], json, &st);
	else if ((r = ops_domain_node(&c, argv[2], none ? NULL : argv[3],
	    &st)) == 0)
		printf("%s: unchanged\n", argv[2]);
	store_close(&s);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
