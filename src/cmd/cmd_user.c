/* `ferry user add|del|list|passwd|quota`: mailbox accounts.  Passwords
 * come from cli_read_password() (never from argv, where ps would show
 * them) and are stored only as yescrypt hashes; the plain text is wiped
 * as soon as it is hashed.  Deleting a user leaves its Maildir on disk.
 * The work is ops_account.h's; this file parses and prints. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/password.h"
#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "mailbox/maildir.h"
#include "ops/ops_account.h"
#include "ops/ops_alias.h"
#include "store/store.h"

#define CMD_USER_USAGE \
	"user add ADDRESS [--quota SIZE] | del ADDRESS [--force] | " \
	"list [DOMAIN] [--json] | passwd ADDRESS | " \
	"quota ADDRESS [SIZE] [--json] | forward ADDRESS ... | " \
	"vacation ADDRESS ... | send-hold ADDRESS [--reason TEXT] | " \
	"send-release ADDRESS | limit ADDRESS [options]"

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

static int
cmd_user_add(const struct ops_ctx *c, const char *input, uint64_t quota)
{
	char addr[320], hash[256];
	struct ops_status st;

	/* Fail before asking for a password when the add cannot work. */
	if (ops_user_check_new(c, input, addr, sizeof(addr), &st) < 0)
		return cli_fail("%s", st.text);
	if (cmd_user_read_hash(hash, sizeof(hash)) < 0)
		return 1;
	if (ops_user_add(c, addr, hash, quota, &st) < 0)
		return cli_fail("%s", st.text);
	return 0;
}

static int
cmd_user_passwd(const struct ops_ctx *c, const char *input)
{
	char addr[320], hash[256];
	struct ops_status st;

	if (ops_user_check(c, input, addr, sizeof(addr), &st) < 0)
		return cli_fail("%s", st.text);
	if (cmd_user_read_hash(hash, sizeof(hash)) < 0)
		return 1;
	if (ops_user_set_password(c, addr, hash, &st) < 0)
		return cli_fail("%s", st.text);
	return 0;
}

/* A user's mailbox usage (maildirsize, or counted when it is missing; a
 * mailbox never delivered to is empty).  -1 when it cannot be read. */
static int
cmd_user_usage(const char *state_dir, const char *address, uint64_t *bytes_r,
    uint64_t *count_r)
{
	char path[PATH_MAX];

	*bytes_r = *count_r = 0;
	if (maildir_path(state_dir, address, path, sizeof(path)) < 0)
		return -1;
	return maildir_quota_usage(path, bytes_r, count_r);
}

/* "alice@example.org used=1.2M messages=3 quota=50M (2%)". */
static void
cmd_user_print_one(const char *state_dir, const struct ops_user *u)
{
	char used[32], limit[32];
	uint64_t bytes, count;

	if (cmd_user_usage(state_dir, u->address, &bytes, &count) < 0) {
		printf("%s used=? quota=", u->address);
		bytes = count = 0;
	} else {
		str_format_size(used, sizeof(used), bytes);
		printf("%s used=%s messages=%llu quota=", u->address, used,
		    (unsigned long long)count);
	}
	if (u->quota == 0) {
		printf("none\n");
		return;
	}
	str_format_size(limit, sizeof(limit), u->quota);
	printf("%s (%llu%%)\n", limit,
	    (unsigned long long)(bytes * 100 / u->quota));
}

static void
cmd_user_json_one(struct json *j, const char *state_dir,
    const struct ops_user *u)
{
	uint64_t bytes, count;
	bool known = cmd_user_usage(state_dir, u->address, &bytes,
	    &count) == 0;

	json_object_begin(j);
	json_key(j, "address");
	json_str(j, u->address);
	json_key(j, "domain");
	json_str(j, u->domain);
	json_key(j, "quota");
	json_uint(j, u->quota);
	json_key(j, "used");
	if (known)
		json_uint(j, bytes);
	else
		json_null(j);
	json_key(j, "messages");
	if (known)
		json_uint(j, count);
	else
		json_null(j);
	json_object_end(j);
}

static void
cmd_user_print(const char *state_dir, const struct ops_user_list *l,
    bool json)
{
	struct fbuf out;
	struct json j;

	if (!json) {
		for (size_t i = 0; i < l->n; i++)
			cmd_user_print_one(state_dir, &l->v[i]);
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++)
		cmd_user_json_one(&j, state_dir, &l->v[i]);
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static int
cmd_user_list(const struct ops_ctx *c, const char *state_dir,
    const char *input, bool json)
{
	struct ops_user_list l;
	struct ops_status st;

	if (ops_user_list(c, input, &l, &st) < 0) {
		ops_user_list_free(&l);
		return cli_fail("%s", st.text);
	}
	cmd_user_print(state_dir, &l, json);
	ops_user_list_free(&l);
	return 0;
}

/* `user quota ADDRESS`: one user's usage and limit. */
static int
cmd_user_quota_show(const struct ops_ctx *c, const char *state_dir,
    const char *input, bool json)
{
	struct ops_user_list l, one;
	struct ops_status st;
	char addr[320];
	const char *at;
	int ret = 1;

	if (ops_user_check(c, input, addr, sizeof(addr), &st) < 0)
		return cli_fail("%s", st.text);
	at = strrchr(addr, '@');
	if (ops_user_list(c, at != NULL ? at + 1 : NULL, &l, &st) < 0) {
		ops_user_list_free(&l);
		return cli_fail("%s", st.text);
	}
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].address, addr) == 0) {
			one.v = &l.v[i];
			one.n = one.cap = 1;
			cmd_user_print(state_dir, &one, json);
			ret = 0;
			break;
		}
	if (ret != 0)
		cli_fail("no such user %s", addr);
	ops_user_list_free(&l);
	return ret;
}

/* A user that aliases (or the catch-all) point at is deleted only with
 * --force, which takes it out of them too: else they would send its mail
 * nowhere ("User unknown"). */
static int
cmd_user_del(const struct ops_ctx *c, const char *input, bool force,
    struct ops_status *st)
{
	struct ops_alias_list refs;
	struct fbuf names;
	char addr[320];
	size_t changed, deleted;
	int r;

	r = ops_user_del_refs(c, input, force, addr, sizeof(addr), &refs,
	    &changed, &deleted, st);
	fbuf_init(&names, 0);
	for (size_t i = 0; i < refs.n; i++)
		fbuf_addf(&names, "%s%s%s", i > 0 ? ", " : "",
		    refs.v[i].address, refs.v[i].address[0] == '@' ?
		    " (catch-all)" : "");
	ops_alias_list_free(&refs);
	if (r < 0 && st->code == OPS_EREFUSED && names.len > 0)
		ops_fail(st, OPS_EREFUSED, "%s is a target of %s: `ferry user "
		    "del %s --force` deletes it and takes it out of them", addr,
		    fbuf_str(&names), addr);
	if (r == 0 && names.len > 0)
		printf("deleted %s; taken out of %s (%zu alias%s changed, %zu "
		    "deleted as empty)\n", addr, fbuf_str(&names), changed,
		    changed == 1 ? "" : "es", deleted);
	if (r == 0 && st->text[0] != '\0') {
		ops_clean(st->text);
		printf("deleted %s; %s\n", addr, st->text);
	}
	fbuf_release(&names);
	return r;
}

/* user quota ADDRESS SIZE */
static int
cmd_user_quota_set(const struct ops_ctx *c, const char *input,
    const char *size)
{
	struct ops_status st;
	uint64_t quota;
	int r;

	if (cmd_user_parse_quota(size, &quota) < 0)
		return 1;
	r = ops_user_set_quota(c, input, quota, &st);
	if (r < 0)
		return cli_fail("%s", st.text);
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
	if (strcmp(verb, "quota") == 0 && argc == 3)
		return quota == 0;
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
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	const char *verb, *size = "0";
	bool json;
	bool force;
	struct ops_status st;
	uint64_t quota = 0;
	int has_quota, ret;

	if (argc > 1 && strcmp(argv[1], "forward") == 0)
		return cmd_user_forward(cli, argc, argv);
	if (argc > 1 && strcmp(argv[1], "vacation") == 0)
		return cmd_user_vacation(cli, argc, argv);
	if (argc > 1 && cmd_send_verb("user", argv[1]))
		return cmd_send(cli, "user", argc, argv);
	json = cli_take_flag(&argc, argv, "--json");
	force = cli_take_flag(&argc, argv, "--force");
	has_quota = cmd_user_take_quota(&argc, argv, &size);
	verb = argc > 1 ? argv[1] : "";
	if (!cmd_user_args_ok(verb, argc, json, has_quota) ||
	    (force && strcmp(verb, "del") != 0))
		return cli_usage(CMD_USER_USAGE);
	if (has_quota > 0 && cmd_user_parse_quota(size, &quota) < 0)
		return 1;
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (strcmp(verb, "add") == 0)
		ret = cmd_user_add(&c, argv[2], quota);
	else if (strcmp(verb, "passwd") == 0)
		ret = cmd_user_passwd(&c, argv[2]);
	else if (strcmp(verb, "list") == 0)
		ret = cmd_user_list(&c, cli->conf.state_dir,
		    argc == 3 ? argv[2] : NULL, json);
	else if (strcmp(verb, "del") == 0)
		ret = cmd_user_del(&c, argv[2], force, &st) < 0 ?
		    cli_fail("%s", st.text) : 0;
	else if (strcmp(verb, "quota") == 0 && argc == 3)
		ret = cmd_user_quota_show(&c, cli->conf.state_dir, argv[2],
		    json);
	else
		ret = cmd_user_quota_set(&c, argv[2],
		    argc == 4 ? argv[3] : NULL);
	store_close(&s);
	return ret;
}
