/* `ferry ban list [--json] | add IP [--for DURATION] | del IP`: the
 * failed-login bans kept in the store (auth/ban.h).  add bans for
 * auth_ban_time unless --for says otherwise; an address in
 * auth_ban_exempt cannot be banned (the servers would ignore it).
 * Addresses are written the way the servers key them (IPv4-mapped IPv6
 * as IPv4).  The work is ops_ban.h's; this file parses and prints. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "ops/ops_ban.h"
#include "store/store.h"

#define CMD_BAN_USAGE "ban list [--json] | add IP|CIDR [--for DURATION] | " \
	"del IP|CIDR"

static void
cmd_ban_time(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
cmd_ban_list(const struct ops_ctx *c, bool json)
{
	char until[32];
	struct ops_ban_list l;
	struct ops_status st;
	struct fbuf out;
	struct json j;

	if (ops_ban_list(c, (int64_t)time(NULL), &l, &st) < 0) {
		ops_ban_list_free(&l);
		return cli_fail("%s", st.text);
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	if (json)
		json_array_begin_lines(&j);
	for (size_t i = 0; i < l.n; i++) {
		const struct store_ban *b = &l.v[i];

		cmd_ban_time(b->until, until, sizeof(until));
		if (!json) {
			printf("%-40s until %s  %s\n", b->ip, until, b->reason);
			continue;
		}
		json_object_begin(&j);
		json_key(&j, "ip");
		json_str(&j, b->ip);
		json_key(&j, "created");
		json_int(&j, (long long)b->created);
		json_key(&j, "until");
		json_int(&j, (long long)b->until);
		json_key(&j, "until_utc");
		json_str(&j, until);
		json_key(&j, "reason");
		json_str(&j, b->reason);
		json_object_end(&j);
	}
	if (json) {
		json_array_end(&j);
		puts(out.data);
	} else if (l.n == 0)
		puts("no bans");
	fbuf_release(&out);
	ops_ban_list_free(&l);
	return 0;
}

/* Splits "add IP [--for DURATION]" / "del IP".  0 or -1 (usage). */
static int
cmd_ban_args(int argc, char **argv, const char **ip_r, const char **for_r)
{
	*ip_r = NULL;
	*for_r = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc &&
		    *for_r == NULL && strcmp(argv[1], "add") == 0)
			*for_r = argv[++i];
		else if (argv[i][0] != '-' && *ip_r == NULL)
			*ip_r = argv[i];
		else
			return -1;
	}
	return *ip_r != NULL ? 0 : -1;
}

static int
cmd_ban_change(struct cli *cli, int argc, char **argv)
{
	const char *iparg, *forarg;
	uint64_t seconds = 0;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	if (cmd_ban_args(argc, argv, &iparg, &forarg) < 0)
		return cli_usage(CMD_BAN_USAGE);
	if (forarg != NULL && (str_parse_duration(forarg, &seconds) < 0 ||
	    seconds == 0 || seconds > 100ull * 365 * 86400))
		return cli_fail("%s: not a duration (e.g. 30m, 2h, 7d)", forarg);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (strcmp(argv[1], "del") == 0)
		r = ops_ban_del(&c, iparg, (int64_t)time(NULL), &st);
	else
		r = ops_ban_add(&c, iparg, seconds, (int64_t)time(NULL), &st);
	store_close(&s);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}

int
cmd_ban(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int ret;

	if (strcmp(verb, "list") == 0 && argc == 2) {
		if (cli_open_store(cli, &s) < 0)
			return 1;
		cli_ops_ctx(cli, s, &a, &c);
		ret = cmd_ban_list(&c, json);
		store_close(&s);
		return ret;
	}
	if ((strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) && !json)
		return cmd_ban_change(cli, argc, argv);
	return cli_usage(CMD_BAN_USAGE);
}
