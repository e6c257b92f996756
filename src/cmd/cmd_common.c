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
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/strutil.h"
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
	if (conf_state_path(&cli->conf, path, sizeof(path), FERRY_DB_FILE) < 0) {
		cli_fail("state_dir path too long");
		return -1;
	}
	if (store_open(sp, path, &error) < 0) {
		cli_fail("%s: %s", path, error);
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
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
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

void
cli_resolve_opts(const struct cli *cli, struct resolve_opts *o)
{
	o->case_sensitive_local = cli->conf.local_part_case_sensitive;
	o->delimiter = cli->conf.recipient_delimiter;
}

int
cli_list_domain(struct store *s, const char *input, char *dst, size_t size)
{
	const char *error;

	if (resolve_parse_domain(input, dst, size, &error) < 0) {
		cli_fail("%s: %s", input, error);
		return -1;
	}
	if (store_domain_exists(s, dst) != 1) {
		cli_fail("%s: no such domain", dst);
		return -1;
	}
	return 0;
}

void
cli_list_begin(struct cli_list *l, bool json)
{
	l->json = json;
	l->n = 0;
	if (json)
		putchar('[');
}

void
cli_list_next(struct cli_list *l)
{
	fputs(l->n++ > 0 ? ",\n  " : "\n  ", stdout);
}

int
cli_list_end(struct cli_list *l, int r, const char *error)
{
	if (r < 0) {
		if (l->json)
			puts("]");
		return cli_fail("%s", error);
	}
	if (l->json)
		puts(l->n > 0 ? "\n]" : "]");
	return 0;
}

int
cmd_version(struct cli *cli, int argc, char **argv)
{
	printf("ferry %s\n", FERRY_VERSION);
	return 0;
}
