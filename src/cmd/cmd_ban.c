/* `ferry ban list [--json] | add IP [--for DURATION] | del IP`: the
 * failed-login bans kept in the store (auth/ban.h).  add bans for
 * auth_ban_time unless --for says otherwise; an address in
 * auth_ban_exempt cannot be banned (the servers would ignore it).
 * Addresses are written the way the servers key them (IPv4-mapped IPv6
 * as IPv4). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/strutil.h"
#include "store/store.h"

#define CMD_BAN_USAGE "ban list [--json] | add IP [--for DURATION] | del IP"

static void
cmd_ban_time(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
cmd_ban_list_cb(const struct store_ban *b, void *ctx)
{
	struct cli_list *c = ctx;
	char until[32], created[32];

	cmd_ban_time(b->until, until, sizeof(until));
	cmd_ban_time(b->created, created, sizeof(created));
	if (!c->json) {
		printf("%-40s until %s  %s\n", b->ip, until, b->reason);
		return;
	}
	cli_list_next(c);
	fputs("{\"ip\": ", stdout);
	cli_json_str(b->ip);
	printf(", \"created\": %lld, \"until\": %lld, \"until_utc\": \"%s\", "
	    "\"reason\": ", (long long)b->created, (long long)b->until, until);
	cli_json_str(b->reason);
	putchar('}');
}

static int
cmd_ban_list(struct store *s, bool json)
{
	struct cli_list c;
	const char *error = NULL;
	int r;

	cli_list_begin(&c, json);
	r = store_ban_list(s, (int64_t)time(NULL), cmd_ban_list_cb, &c,
	    &error);
	return cli_list_end(&c, r, error);
}

/* A single address in canonical text form; sa_r gets it for matching. */
static int
cmd_ban_parse_ip(const char *in, char *dst, size_t size,
    struct sockaddr_storage *sa_r)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa_r;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa_r;

	memset(sa_r, 0, sizeof(*sa_r));
	if (inet_pton(AF_INET, in, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, in, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return -1;
	cidr_addr_str((struct sockaddr *)sa_r, dst, size);
	return 0;
}

static int
cmd_ban_add(struct cli *cli, struct store *s, const char *ip,
    uint64_t seconds)
{
	int64_t now = (int64_t)time(NULL);
	const char *error;

	if (store_ban_set(s, ip, now, now + (int64_t)seconds, "manual",
	    &error) < 0)
		return cli_fail("%s: %s", ip, error);
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
	struct sockaddr_storage sa;
	const char *iparg, *forarg, *error;
	uint64_t seconds;
	struct store *s;
	char ip[64];
	int ret;

	if (cmd_ban_args(argc, argv, &iparg, &forarg) < 0)
		return cli_usage(CMD_BAN_USAGE);
	if (cmd_ban_parse_ip(iparg, ip, sizeof(ip), &sa) < 0)
		return cli_fail("%s: not an IP address", iparg);
	if (forarg != NULL && (str_parse_duration(forarg, &seconds) < 0 ||
	    seconds == 0 || seconds > 100ull * 365 * 86400))
		return cli_fail("%s: not a duration (e.g. 30m, 2h, 7d)", forarg);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (strcmp(argv[1], "del") == 0) {
		ret = 0;
		if (store_ban_del(s, ip, (int64_t)time(NULL), &error) < 0)
			ret = cli_fail("%s: %s", ip, error);
	} else if (cidr_list_match(&cli->conf.auth_ban_exempt,
	    (struct sockaddr *)&sa))
		ret = cli_fail("%s: in auth_ban_exempt, cannot be banned", ip);
	else
		ret = cmd_ban_add(cli, s, ip, forarg != NULL ? seconds :
		    cli->conf.auth_ban_time);
	store_close(&s);
	return ret;
}

int
cmd_ban(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	struct store *s;
	int ret;

	if (strcmp(verb, "list") == 0 && argc == 2) {
		if (cli_open_store(cli, &s) < 0)
			return 1;
		ret = cmd_ban_list(s, json);
		store_close(&s);
		return ret;
	}
	if ((strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) && !json)
		return cmd_ban_change(cli, argc, argv);
	return cli_usage(CMD_BAN_USAGE);
}
