/* `ferry store bench [--count N] [--json]`: the latency of the store's
 * lookups on the hot paths (bench/README.md, "Store lookups"), through
 * the same synchronous API a role's worker thread calls, on one
 * connection of the configured store: a user found and missing, an
 * alias, a domain, a whole RCPT resolution (resolve_rcpt(): what smtpd
 * asks once per recipient when its cache has no answer), a ban check
 * (each connection to POP3/IMAP), a greylist check (a write
 * transaction) and a sending-limit reservation (the transaction an
 * authenticated sender's MAIL and each RCPT run: read the sender's
 * view, count).  Each is run N times (after N/10 unmeasured); the
 * median, 99th percentile and mean are printed in microseconds.
 *
 * It makes a domain of its own for the run (bench-PID.invalid, with one
 * user and one alias) and deletes it at the end; its greylist rows go
 * with the next prune, its two send-counter rows (the user's and the
 * domain's, this hour) stay.  Caches play no part: nothing here
 * caches. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_STORE_BENCH_USAGE "store bench [--count N] [--json]"

struct cmd_store_bench {
	struct store *s;
	char domain[64];
	char user[128];
	char missing[128];
	char alias[128];
	struct resolve_opts ropts;
	unsigned i;
};

static int64_t
cmd_store_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmd_store_bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* One lookup of each kind: 0, or -1 when the store failed. */
static int
cmd_store_bench_user(struct cmd_store_bench *b)
{
	struct store_user u;

	return store_user_get(b->s, b->user, &u) == 1 ? 0 : -1;
}

static int
cmd_store_bench_user_missing(struct cmd_store_bench *b)
{
	struct store_user u;

	return store_user_get(b->s, b->missing, &u) == 0 ? 0 : -1;
}

static int
cmd_store_bench_alias(struct cmd_store_bench *b)
{
	char *targets = NULL;
	int r = store_alias_get(b->s, b->alias, &targets);

	free(targets);
	return r == 1 ? 0 : -1;
}

static int
cmd_store_bench_domain(struct cmd_store_bench *b)
{
	return store_domain_exists(b->s, b->domain) == 1 ? 0 : -1;
}

static int
cmd_store_bench_resolve(struct cmd_store_bench *b)
{
	struct resolve_result r = { NULL, 0 };
	enum resolve_status st;

	st = resolve_rcpt(b->s, &b->ropts, b->alias, &r);
	resolve_result_free(&r);
	return st == RESOLVE_LOCAL ? 0 : -1;
}

static int
cmd_store_bench_ban(struct cmd_store_bench *b)
{
	return store_ban_get(b->s, "192.0.2.77", (int64_t)time(NULL),
	    NULL) == 0 ? 0 : -1;
}

/* A new triplet each time: the insert path of the greylist. */
static int
cmd_store_bench_greylist(struct cmd_store_bench *b)
{
	char triplet[256];
	enum store_grey st;
	int64_t first;

	snprintf(triplet, sizeof(triplet), "198.51.100.0/24 s%u@%s %s",
	    b->i++, b->domain, b->user);
	return store_greylist_check(b->s, "198.51.100.0/24", triplet,
	    (int64_t)time(NULL), 300, 86400, 86400, &st, &first);
}

static void
cmd_store_bench_count(const struct store_send_view *v,
    struct store_send_action *a, void *ctx)
{
	a->count = true;
}

/* What sendlimit_reserve() asks the store for each message. */
static int
cmd_store_bench_send(struct cmd_store_bench *b)
{
	struct store_send_action a;
	const char *error;

	return store_send_reserve(b->s, b->user, STORE_SEND_MSG,
	    (int64_t)time(NULL), 24 * 7, cmd_store_bench_count, NULL, &a,
	    &error);
}

static const struct {
	const char *name;
	int (*run)(struct cmd_store_bench *b);
} cmd_store_bench_kinds[] = {
	{ "user", cmd_store_bench_user },
	{ "user-missing", cmd_store_bench_user_missing },
	{ "alias", cmd_store_bench_alias },
	{ "domain", cmd_store_bench_domain },
	{ "resolve-rcpt", cmd_store_bench_resolve },
	{ "ban-check", cmd_store_bench_ban },
	{ "greylist", cmd_store_bench_greylist },
	{ "send-reserve", cmd_store_bench_send },
};

/* Times count runs of kind k into ns[]: 0, or -1 on a store failure. */
static int
cmd_store_bench_time(struct cmd_store_bench *b, size_t k, int64_t *ns,
    unsigned count)
{
	for (unsigned i = 0; i < count / 10 + 1; i++)
		if (cmd_store_bench_kinds[k].run(b) < 0)
			return -1;
	for (unsigned i = 0; i < count; i++) {
		int64_t t0 = cmd_store_bench_now_ns();

		if (cmd_store_bench_kinds[k].run(b) < 0)
			return -1;
		ns[i] = cmd_store_bench_now_ns() - t0;
	}
	qsort(ns, count, sizeof(*ns), cmd_store_bench_cmp);
	return 0;
}

static int
cmd_store_bench_setup(struct cmd_store_bench *b)
{
	const char *error;
	char targets[160];

	snprintf(b->domain, sizeof(b->domain), "bench-%d.invalid",
	    (int)getpid());
	snprintf(b->user, sizeof(b->user), "u@%s", b->domain);
	snprintf(b->missing, sizeof(b->missing), "nobody@%s", b->domain);
	snprintf(b->alias, sizeof(b->alias), "a@%s", b->domain);
	snprintf(targets, sizeof(targets), "%s", b->user);
	b->ropts.case_sensitive_local = false;
	b->ropts.delimiter = "+";
	if (store_domain_add(b->s, b->domain, &error) < 0 ||
	    store_user_add(b->s, b->user, "x", 0, &error) < 0 ||
	    store_alias_add(b->s, b->alias, targets, &error) < 0)
		return cli_fail("store bench: set-up: %s", error) * -1;
	return 0;
}

static int
cmd_store_bench_run(struct cli *cli, unsigned count, bool json)
{
	struct cmd_store_bench b;
	const size_t nkinds = sizeof(cmd_store_bench_kinds) /
	    sizeof(cmd_store_bench_kinds[0]);
	int64_t *ns;
	const char *error;
	char path[4096];
	int ret = 0;

	memset(&b, 0, sizeof(b));
	if (cli_open_store(cli, &b.s) < 0)
		return 1;
	if (conf_store_path(&cli->conf, path, sizeof(path)) < 0)
		path[0] = '\0';
	if (cmd_store_bench_setup(&b) < 0) {
		(void)store_domain_del(b.s, b.domain, &error);
		store_close(&b.s);
		return 1;
	}
	ns = calloc(count, sizeof(*ns));
	if (ns == NULL) {
		store_close(&b.s);
		return cli_fail("store bench: %s", strerror(errno));
	}
	if (json)
		printf("{\"store\": \"%s\", \"count\": %u, \"lookups\": [",
		    strncmp(path, "postgres", 8) == 0 ? "postgresql" : "sqlite",
		    count);
	else
		printf("%-14s %10s %10s %10s   (microseconds, %u runs each, "
		    "store %s)\n", "lookup", "median", "p99", "mean", count,
		    store_path_label(path));
	for (size_t k = 0; k < nkinds; k++) {
		int64_t sum = 0;
		double med, p99;

		if (cmd_store_bench_time(&b, k, ns, count) < 0) {
			ret = cli_fail("store bench: %s failed",
			    cmd_store_bench_kinds[k].name);
			break;
		}
		for (unsigned i = 0; i < count; i++)
			sum += ns[i];
		med = ns[count / 2] / 1000.0;
		p99 = ns[(size_t)count * 99 / 100] / 1000.0;
		if (json)
			printf("%s{\"name\": \"%s\", \"median_us\": %.1f, "
			    "\"p99_us\": %.1f, \"mean_us\": %.1f}",
			    k > 0 ? ", " : "", cmd_store_bench_kinds[k].name,
			    med, p99, sum / 1000.0 / count);
		else
			printf("%-14s %10.1f %10.1f %10.1f\n",
			    cmd_store_bench_kinds[k].name, med, p99,
			    sum / 1000.0 / count);
	}
	if (json)
		printf("]}\n");
	free(ns);
	if (store_domain_del(b.s, b.domain, &error) < 0 && ret == 0)
		ret = cli_fail("store bench: removing %s: %s", b.domain, error);
	store_close(&b.s);
	return ret;
}

int
cmd_store_bench(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	unsigned long count = 2000;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			errno = 0;
			count = strtoul(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || argv[i][0] == '-' ||
			    count < 10 || count > 1000000)
				return cli_usage("%s (--count: 10 to 1000000)",
				    CMD_STORE_BENCH_USAGE);
		} else
			return cli_usage(CMD_STORE_BENCH_USAGE);
	}
	return cmd_store_bench_run(cli, (unsigned)count, json);
}
