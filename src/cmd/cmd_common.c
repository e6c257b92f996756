/* Shared plumbing for the subcommands: loading the configuration,
 * opening the store with the same privilege rule as the server, error and
 * usage lines, password input, JSON string output, `list` output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/strutil.h"
#include "ops/ops_account.h"
#include "store/resolve.h"
#include "store/store.h"

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("usage: ferry ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int
cli_load_conf(struct cli *cli)
{
	const char *error;

	if (cli->conf_loaded)
		return 0;
	conf_defaults(&cli->conf);
	if (conf_load(&cli->conf, cli->conf_path, &error) < 0) {
		fprintf(stderr, "ferry: %s\n", error);
		conf_free(&cli->conf);	/* what the lines before it set */
		return -1;
	}
	log_set_level(cli->conf.log_level);
	cli->conf_loaded = true;
	return 0;
}

/* Creates state_dir and, as root with run_as set, hands it to that user
 * and becomes that user, so files made here are the server's. */
static int
cli_prepare_state(struct cli *cli)
{
	const struct conf *c = &cli->conf;
	const char *error;
	uid_t uid;
	gid_t gid;

	if (fsio_mkdir_p(c->state_dir, 0750) < 0) {
		cli_fail("cannot create %s: %s", c->state_dir, strerror(errno));
		return -1;
	}
	if (geteuid() != 0 || c->run_as[0] == '\0')
		return 0;
	if (privdrop_lookup(c->run_as, &uid, &gid, &error) < 0) {
		cli_fail("run_as %s: %s", c->run_as, error);
		return -1;
	}
	if (privdrop_chown_tree(c->state_dir, uid, gid) < 0 ||
	    privdrop_to(c->run_as, uid, gid, &error) < 0) {
		cli_fail("cannot become %s: %s", c->run_as,
		    errno ? strerror(errno) : "failed");
		return -1;
	}
	return 0;
}

int
cli_open_store(struct cli *cli, struct store **sp)
{
	char path[PATH_MAX];
	const char *error;

	if (cli_load_conf(cli) < 0 || cli_prepare_state(cli) < 0)
		return -1;
	if (conf_store_path(&cli->conf, path, sizeof(path)) < 0) {
		cli_fail("store path too long");
		return -1;
	}
	if (store_open(sp, path, &error) < 0) {
		cli_fail("%s: %s", store_path_label(path), error);
		return -1;
	}
	return 0;
}

static int
cli_read_line(FILE *f, char *dst, size_t size)
{
	size_t n;

	if (fgets(dst, (int)size, f) == NULL)
		return -1;
	n = strlen(dst);
	if (n > 0 && dst[n - 1] == '\n')
		dst[--n] = '\0';
	else if (!feof(f))
		return -2;		/* line longer than the buffer */
	if (n > 0 && dst[n - 1] == '\r')
		dst[--n] = '\0';
	return 0;
}

static int
cli_prompt(const char *prompt, char *dst, size_t size)
{
	struct termios old, noecho;
	int r;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
	r = cli_read_line(stdin, dst, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return r;
}

int
cli_read_password(char *dst, size_t size)
{
	char again[256];
	int r;

	if (!isatty(STDIN_FILENO)) {
		r = cli_read_line(stdin, dst, size);
	} else {
		r = cli_prompt("Password: ", dst, size);
		if (r == 0 && cli_prompt("Again: ", again, sizeof(again)) == 0 &&
		    strcmp(dst, again) != 0) {
			cli_fail("passwords do not match");
			return -1;
		}
	}
	if (r == -2) {
		cli_fail("password too long (at most %zu characters)", size - 2);
		return -1;
	}
	if (r < 0 || dst[0] == '\0') {
		cli_fail("no password given (first line of standard input)");
		return -1;
	}
	return 0;
}

void
cli_json_str(const char *s)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	json_escape(&b, s, strlen(s));
	fwrite(b.data, 1, b.len, stdout);
	fbuf_release(&b);
}

bool
cli_take_flag(int *argc, char **argv, const char *flag)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], flag) != 0)
			continue;
		memmove(&argv[i], &argv[i + 1],
		    (size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		return true;
	}
	return false;
}

int
cli_take_opt(int *argc, char **argv, const char *name, const char **value_r)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc || *value_r != NULL)
			return -1;
		*value_r = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 1) *
		    sizeof(*argv));
		*argc -= 2;
		return 1;
	}
	return 0;
}

void
cli_ops_ctx(const struct cli *cli, struct store *s, struct ops_actor *a,
    struct ops_ctx *c)
{
	ops_actor_cli(a);
	c->actor = a;
	c->store = s;
	c->conf = &cli->conf;
	cli_resolve_opts(cli, &c->ropts);
}

void
cli_resolve_opts(const struct cli *cli, struct resolve_opts *o)
{
	o->case_sensitive_local = cli->conf.local_part_case_sensitive;
	o->delimiter = cli->conf.recipient_delimiter;
}

int
cmd_version(struct cli *cli, int argc, char **argv)
{
	printf("ferry %s\n", FERRY_VERSION);
	return 0;
}
