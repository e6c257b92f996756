/* `ferry user add|del|list|passwd|quota`: mailbox accounts.  Passwords
 * come from cli_read_password() (never from argv, where ps would show
 * them) and are stored only as yescrypt hashes; the plain text is wiped
 * as soon as it is hashed.  Deleting a user leaves its Maildir on disk. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/password.h"
#include "cmd/cmd.h"
#include "lib/strutil.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_USER_USAGE \
	"user add ADDRESS [--quota SIZE] | del ADDRESS | " \
	"list [DOMAIN] [--json] | passwd ADDRESS | quota ADDRESS SIZE"

/* Parses and normalises ADDRESS; prints why and returns -1 if bad. */
static int
cmd_user_address(const struct cli *cli, const char *input, char *dst,
    size_t size)
{
	struct resolve_opts o;
	const char *error;

	cli_resolve_opts(cli, &o);
	if (resolve_parse_mailbox(&o, input, dst, size, &error) < 0) {
		cli_fail("%s: %s", input, error);
		return -1;
	}
	return 0;
}

/* "0" is unlimited; otherwise K/M/G multiples. */
static int
cmd_user_parse_quota(const char *input, uint64_t *quota_r)
{
	if (str_parse_size(input, quota_r) < 0) {
		cli_fail("%s: invalid size (examples: 0, 512M, 2G)", input);
		return -1;
	}
	return 0;
}

/* Reads a password and hashes it into hash.  -1 after printing. */
static int
cmd_user_read_hash(char *hash, size_t size)
{
	char pw[256];
	int r;

	if (cli_read_password(pw, sizeof(pw)) < 0)
		return -1;
	r = password_hash(pw, hash, size);
	explicit_bzero(pw, sizeof(pw));
	if (r < 0) {
		cli_fail("cannot hash the password");
		return -1;
	}
	return 0;
}

/* ADDRESS normalised into addr, and whether that user exists: 1 yes,
 * 0 no, -1 store error; -2 after printing why the address is bad. */
static int
cmd_user_find(struct cli *cli, struct store *s, const char *input,
    char *addr, size_t size)
{
	struct store_user u;
	int r;

	if (cmd_user_address(cli, input, addr, size) < 0)
		return -2;
	r = store_user_get(s, addr, &u);
	explicit_bzero(&u, sizeof(u));
	return r;
}

static int
cmd_user_add(struct cli *cli, struct store *s, const char *input,
    uint64_t quota)
{
	char addr[320], hash[256];
	const char *error;
	int found, r;

	if ((found = cmd_user_find(cli, s, input, addr, sizeof(addr))) == -2)
		return 1;
	/* Fail before asking for a password when the add cannot work. */
	r = store_domain_exists(s, strrchr(addr, '@') + 1);
	if (r <= 0)
		return cli_fail("%s: %s", addr, r == 0 ? "no such domain "
		    "(add it with: ferry domain add)" : "store error");
	if (found != 0)
		return cli_fail("%s: %s", addr, found > 0 ? "user exists" :
		    "store error");
	if (cmd_user_read_hash(hash, sizeof(hash)) < 0)
		return 1;
	if (store_user_add(s, addr, hash, quota, &error) < 0)
		return cli_fail("%s: %s", addr, error);
	return 0;
}

static int
cmd_user_passwd(struct cli *cli, struct store *s, const char *input)
{
	char addr[320], hash[256];
	const char *error;
	int r;

	if ((r = cmd_user_find(cli, s, input, addr, sizeof(addr))) == -2)
		return 1;
	if (r <= 0)
		return cli_fail("%s: %s", addr, r == 0 ? "no such user" :
		    "store error");
	if (cmd_user_read_hash(hash, sizeof(hash)) < 0)
		return 1;
	if (store_user_set_password(s, addr, hash, &error) < 0)
		return cli_fail("%s: %s", addr, error);
	return 0;
}

static void
cmd_user_list_cb(const struct store_user *u, void *ctx)
{
	struct cli_list *c = ctx;
	char size[32];

	if (!c->json) {
		if (u->quota == 0) {
			printf("%s\n", u->address);
		} else {
			str_format_size(size, sizeof(size), u->quota);
			printf("%s quota=%s\n", u->address, size);
		}
		return;
	}
	cli_list_next(c);
	fputs("{\"address\": ", stdout);
	cli_json_str(u->address);
	fputs(", \"domain\": ", stdout);
	cli_json_str(strrchr(u->address, '@') != NULL ?
	    strrchr(u->address, '@') + 1 : "");
	printf(", \"quota\": %" PRIu64 "}", u->quota);
}

static int
cmd_user_list(struct store *s, const char *input, bool json)
{
	struct cli_list c;
	char domain[256];
	const char *error = NULL;
	int r;

	if (input != NULL && cli_list_domain(s, input, domain,
	    sizeof(domain)) < 0)
		return 1;
	cli_list_begin(&c, json);
	r = store_user_list(s, input != NULL ? domain : NULL,
	    cmd_user_list_cb, &c, &error);
	return cli_list_end(&c, r, error);
}

static int
cmd_user_simple(struct cli *cli, struct store *s, const char *verb,
    const char *input, const char *size)
{
	char addr[320];
	const char *error;
	uint64_t quota;
	int r;

	if (cmd_user_address(cli, input, addr, sizeof(addr)) < 0)
		return 1;
	if (strcmp(verb, "del") == 0) {
		r = store_user_del(s, addr, &error);
	} else {
		if (cmd_user_parse_quota(size, &quota) < 0)
			return 1;
		r = store_user_set_quota(s, addr, quota, &error);
	}
	if (r < 0)
		return cli_fail("%s: %s", addr, error);
	return 0;
}

/* Takes "--quota SIZE" or "--quota=SIZE" out of argv.  1 found, 0 not,
 * -1 when the option has no value. */
static int
cmd_user_take_quota(int *argc, char **argv, const char **size_r)
{
	for (int i = 2; i < *argc; i++) {
		int drop;

		if (strcmp(argv[i], "--quota") == 0) {
			if (i + 1 >= *argc)
				return -1;
			*size_r = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], "--quota=", 8) == 0) {
			*size_r = argv[i] + 8;
			drop = 1;
		} else
			continue;
		memmove(&argv[i], &argv[i + drop],
		    (size_t)(*argc - i - drop + 1) * sizeof(*argv));
		*argc -= drop;
		return 1;
	}
	return 0;
}

/* Checks the argument count for verb; true when the call is well-formed. */
static bool
cmd_user_args_ok(const char *verb, int argc, bool json, int quota)
{
	if (strcmp(verb, "list") == 0)
		return (argc == 2 || argc == 3) && quota == 0;
	if (json)
		return false;
	if (strcmp(verb, "add") == 0)
		return argc == 3 && quota >= 0;
	if (quota != 0)
		return false;
	if (strcmp(verb, "del") == 0 || strcmp(verb, "passwd") == 0)
		return argc == 3;
	if (strcmp(verb, "quota") == 0)
		return argc == 4;
	return false;
}

int
cmd_user(struct cli *cli, int argc, char **argv)
{
	struct store *s;
	const char *verb, *size = "0";
	bool json = cli_take_flag(&argc, argv, "--json");
	uint64_t quota = 0;
	int has_quota = cmd_user_take_quota(&argc, argv, &size), ret;

	verb = argc > 1 ? argv[1] : "";
	if (!cmd_user_args_ok(verb, argc, json, has_quota))
		return cli_usage(CMD_USER_USAGE);
	if (has_quota > 0 && cmd_user_parse_quota(size, &quota) < 0)
		return 1;
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (strcmp(verb, "add") == 0)
		ret = cmd_user_add(cli, s, argv[2], quota);
	else if (strcmp(verb, "passwd") == 0)
		ret = cmd_user_passwd(cli, s, argv[2]);
	else if (strcmp(verb, "list") == 0)
		ret = cmd_user_list(s, argc == 3 ? argv[2] : NULL, json);
	else
		ret = cmd_user_simple(cli, s, verb, argv[2],
		    argc == 4 ? argv[3] : NULL);
	store_close(&s);
	return ret;
}
