/* `ferry rule add|list|del`: per-domain rules, owned by each domain's
 * postmaster and applied at RCPT to that domain's recipients (see
 * policy.h): allow|deny sender ADDRESS|@DOMAIN|<>, allow|deny ip CIDR,
 * skip CHECK[,CHECK...].  Everything is checked here (the domain is
 * local, the address or network parses, the checks exist) so that the
 * pipeline only ever reads clean rules: ops_rule.h does that work, which
 * a later web page for postmasters will use too; this file parses the
 * words and prints. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "ops/ops_rule.h"
#include "store/store.h"

#define CMD_RULE_USAGE \
	"rule add DOMAIN allow|deny sender ADDRESS|@DOMAIN | " \
	"rule add DOMAIN allow|deny ip CIDR | " \
	"rule add DOMAIN skip CHECK[,CHECK...] | " \
	"rule list [DOMAIN] [--json] | rule del ID"

static void
cmd_rule_json(struct json *j, const struct store_rule *r)
{
	json_object_begin(j);
	json_key(j, "id");
	json_int(j, (long long)r->id);
	json_key(j, "domain");
	json_str(j, r->domain);
	json_key(j, "action");
	json_str(j, r->action);
	json_key(j, "kind");
	json_str(j, r->kind);
	json_key(j, "value");
	json_str(j, r->value);
	json_object_end(j);
}

static void
cmd_rule_print(const struct store_rule *v, size_t n, bool json, bool list)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		for (size_t i = 0; i < n; i++) {
			const struct store_rule *r = &v[i];
			bool check = strcmp(r->kind, "check") == 0;

			printf("%lld %s %s%s%s %s\n", (long long)r->id,
			    r->domain, r->action, check ? "" : " ",
			    check ? "" : r->kind, r->value);
		}
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	if (list)
		json_array_begin_lines(&j);
	for (size_t i = 0; i < n; i++)
		cmd_rule_json(&j, &v[i]);
	if (list)
		json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

/* Opens the store and fills the operations context: 0 or -1 (printed). */
static int
cmd_rule_open(struct cli *cli, struct store **s, struct ops_actor *a,
    struct ops_ctx *c)
{
	if (cli_open_store(cli, s) < 0)
		return -1;
	cli_ops_ctx(cli, *s, a, c);
	return 0;
}

/* rule add DOMAIN ACTION [KIND] VALUE... */
static int
cmd_rule_add(struct cli *cli, int argc, char **argv, bool json)
{
	struct store_rule r;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	bool skip;
	int ret = 0;

	if (argc < 5)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (cmd_rule_open(cli, &s, &a, &c) < 0)
		return 1;
	skip = strcmp(argv[3], "skip") == 0;
	if (ops_rule_add(&c, argv[2], argv[3], skip ? NULL : argv[4],
	    argv + (skip ? 4 : 5), (size_t)(argc - (skip ? 4 : 5)), &r,
	    &st) < 0)
		ret = st.code == OPS_EUSAGE ? cli_usage("%s", CMD_RULE_USAGE) :
		    cli_fail("%s", st.text);
	else if (json)
		cmd_rule_print(&r, 1, true, false);
	else
		printf("rule %lld added\n", (long long)r.id);
	store_close(&s);
	return ret;
}

static int
cmd_rule_del(struct cli *cli, const char *arg)
{
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	uint64_t id;
	int ret = 0;

	if (str_parse_uint(arg, 1, INT64_MAX, &id) < 0)
		return cli_usage("%s", CMD_RULE_USAGE);
	if (cmd_rule_open(cli, &s, &a, &c) < 0)
		return 1;
	if (ops_rule_del(&c, (int64_t)id, &st) < 0)
		ret = cli_fail("%s", st.text);
	store_close(&s);
	return ret;
}

static int
cmd_rule_list(struct cli *cli, const char *input, bool json)
{
	struct ops_rule_list l;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int ret = 0;

	if (cmd_rule_open(cli, &s, &a, &c) < 0)
		return 1;
	if (ops_rule_list(&c, input, &l, &st) < 0)
		ret = cli_fail("%s", st.text);
	else
		cmd_rule_print(l.v, l.n, json, true);
	ops_rule_list_free(&l);
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
