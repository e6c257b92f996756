/* `ferry user forward ADDRESS [set TARGET,... [--keep] | clear | show]
 * [--json]`: a user's forwarding.  The work is ops_forward.h's (the alias
 * named like the user); this file parses and prints. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_forward.h"
#include "store/store.h"

#define CMD_FORWARD_USAGE \
	"user forward ADDRESS [set TARGET[,TARGET...] [--keep] | clear | " \
	"show] [--json]"

static void
cmd_forward_print(const struct ops_forward *f, bool json)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		if (f->ntargets == 0) {
			printf("%s: no forwarding\n", f->address);
			return;
		}
		printf("%s -> ", f->address);
		for (size_t i = 0; i < f->ntargets; i++)
			printf("%s%s", i > 0 ? ", " : "", f->targets[i]);
		printf("%s\n", f->keep ? " (a copy stays in the mailbox)" :
		    " (no copy kept)");
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "address");
	json_str(&j, f->address);
	json_key(&j, "targets");
	json_array_begin(&j);
	for (size_t i = 0; i < f->ntargets; i++)
		json_str(&j, f->targets[i]);
	json_array_end(&j);
	json_key(&j, "keep");
	json_bool(&j, f->keep);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static int
cmd_forward_run(const struct ops_ctx *c, int argc, char **argv, bool keep,
    bool json)
{
	const char *verb = argc > 3 ? argv[3] : "show";
	struct ops_forward f;
	struct ops_status st;
	int r;

	if (strcmp(verb, "set") == 0)
		r = ops_forward_set(c, argv[2], argv + 4, (size_t)(argc - 4),
		    keep, &st);
	else if (strcmp(verb, "clear") == 0)
		r = ops_forward_clear(c, argv[2], &st);
	else
		r = 0;
	if (r < 0)
		return cli_fail("%s", st.text);
	if (ops_forward_get(c, argv[2], &f, &st) < 0)
		return cli_fail("%s", st.text);
	if (json || strcmp(verb, "show") == 0)
		cmd_forward_print(&f, json);
	ops_forward_free(&f);
	return 0;
}

int
cmd_user_forward(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	bool keep = cli_take_flag(&argc, argv, "--keep");
	const char *verb = argc > 3 ? argv[3] : "show";
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int ret;

	if (argc < 3 || (strcmp(verb, "set") == 0 ? argc < 5 :
	    (argc > 4 || keep || (strcmp(verb, "clear") != 0 &&
	    strcmp(verb, "show") != 0))))
		return cli_usage(CMD_FORWARD_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	ret = cmd_forward_run(&c, argc, argv, keep, json);
	store_close(&s);
	return ret;
}
