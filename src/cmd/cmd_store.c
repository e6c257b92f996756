/* `ferry store migrate --from sqlite:PATH --to postgresql://...`: copies
 * a store into another (store_copy(), store_copy.c), printing each table
 * with its counts, and fails unless every table arrived whole.  Safe to
 * run again: rows already there are kept.  The destination's schema is
 * created or migrated on opening, as for any store; the source must
 * exist (a SQLite path is never created here). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "store/store.h"

#define CMD_STORE_USAGE "store migrate --from sqlite:PATH|postgresql://... " \
	"--to postgresql://...|sqlite:PATH | store bench [--count N] [--json]"

/* A store argument as store_open() takes it: "sqlite:PATH" is PATH. */
static const char *
cmd_store_path(const char *arg)
{
	if (strncmp(arg, "sqlite:", 7) == 0 && arg[7] != '\0')
		return arg + 7;
	if (strncmp(arg, "postgresql://", 13) == 0 ||
	    strncmp(arg, "postgres://", 11) == 0)
		return arg;
	return NULL;
}

static void
cmd_store_progress(const struct store_copy_count *n, void *ctx)
{
	printf("%-18s %8lld copied  %8lld in source  %8lld in destination\n",
	    n->table, (long long)n->copied, (long long)n->source,
	    (long long)n->dest);
	fflush(stdout);
}

static int
cmd_store_migrate(const char *from, const char *to)
{
	struct store *src = NULL, *dst = NULL;
	const char *error;
	int ret;

	if (strcmp(from, to) == 0)
		return cli_fail("--from and --to are the same store");
	if (strncmp(from, "postgres", 8) != 0 && access(from, R_OK) < 0)
		return cli_fail("%s: no such database", from);
	if (store_open(&src, from, &error) < 0)
		return cli_fail("%s: %s", store_path_label(from), error);
	if (store_open(&dst, to, &error) < 0) {
		store_close(&src);
		return cli_fail("%s: %s", store_path_label(to), error);
	}
	ret = store_copy(src, dst, cmd_store_progress, NULL, &error);
	store_close(&src);
	store_close(&dst);
	if (ret < 0)
		return cli_fail("store migrate: %s (run it again to resume)",
		    error);
	printf("done: every table copied\n");
	return 0;
}

int
cmd_store(struct cli *cli, int argc, char **argv)
{
	const char *from = NULL, *to = NULL;

	if (argc >= 2 && strcmp(argv[1], "bench") == 0)
		return cmd_store_bench(cli, argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "migrate") != 0)
		return cli_usage(CMD_STORE_USAGE);
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *path = cmd_store_path(argv[i + 1]);

		if (path == NULL)
			return cli_usage(CMD_STORE_USAGE);
		if (strcmp(argv[i], "--from") == 0)
			from = path;
		else if (strcmp(argv[i], "--to") == 0)
			to = path;
		else
			return cli_usage(CMD_STORE_USAGE);
	}
	if (argc % 2 != 0)
		return cli_usage(CMD_STORE_USAGE);
	if (from == NULL || to == NULL)
		return cli_usage(CMD_STORE_USAGE);
	return cmd_store_migrate(from, to);
}
