/* `ferry check reach [--json]`: what the queue's reachability memory
 * holds (state_dir/reachability, net/reach.h), per address and port,
 * with the verdict the relay would reach now; and the per-address
 * verdict that `check mx` prints next to each address.  It only reads
 * the file the running queue writes (within a second of a change), so it
 * works with the server stopped too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

static void
cmd_reach_add(const struct reach_entry *e, void *ctx)
{
	struct cmd_reach *t = ctx;

	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = *e;
}

int
cmd_reach_load(const struct conf *c, struct cmd_reach *t)
{
	char path[PATH_MAX];
	struct fbuf b;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	t->conf = c;
	t->now = time(NULL);
	if (fsio_pathf(path, sizeof(path), "%s/%s", c->state_dir,
	    REACH_FILE) < 0)
		return -1;
	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, REACH_FILE_MAX) < 0)
		ret = errno == ENOENT ? 0 : -1;
	else if (reach_parse_file(b.data != NULL ? b.data : "", b.len,
	    cmd_reach_add, t) < 0)
		ret = -1;
	fbuf_release(&b);
	return ret;
}

const struct reach_entry *
cmd_reach_find(const struct cmd_reach *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	return NULL;
}

bool
cmd_reach_is_down(const struct cmd_reach *t, const struct reach_entry *e)
{
	return e != NULL && reach_is_down(e, t->now,
	    (time_t)t->conf->host_down_memory);
}

static void
cmd_reach_time(time_t when, char *dst, size_t size)
{
	struct tm tm;

	if (when == 0 || gmtime_r(&when, &tm) == NULL)
		str_lcpy(dst, "never", size);
	else if (strftime(dst, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		str_lcpy(dst, "?", size);
}

void
cmd_reach_verdict(const struct cmd_reach *t, const struct reach_entry *e,
    char *dst, size_t size)
{
	char when[32], tls[128] = "";
	bool tls_broken = e != NULL && reach_tls_broken(e, t->now,
	    (time_t)t->conf->tls_broken_memory);

	if (e == NULL) {
		str_lcpy(dst, "no failures remembered", size);
		return;
	}
	if (tls_broken) {
		cmd_reach_time(e->tls_since, when, sizeof(when));
		snprintf(tls, sizeof(tls), "; TLS broken (%s) since %s",
		    reach_fail_str(e->tls), when);
	}
	if (cmd_reach_is_down(t, e)) {
		cmd_reach_time(e->since, when, sizeof(when));
		snprintf(dst, size, "down (%s) since %s, %u failed probe(s)%s",
		    reach_fail_str(e->down), when, e->probes, tls);
		return;
	}
	cmd_reach_time(e->last_ok, when, sizeof(when));
	snprintf(dst, size, "up, last greeting %s%s", when, tls);
}

void
cmd_reach_json(const struct cmd_reach *t, const struct reach_entry *e)
{
	printf("{\"address\": ");
	cli_json_str(e->key);
	printf(", \"down\": %s, \"reason\": \"%s\", \"since\": %lld, "
	    "\"last_fail\": %lld, \"last_ok\": %lld, \"tls_broken\": %s, "
	    "\"tls_reason\": \"%s\", \"tls_since\": %lld, \"probes\": %u, "
	    "\"next_probe\": %lld}", cmd_reach_is_down(t, e) ? "true" : "false",
	    reach_fail_str(e->down), (long long)e->since,
	    (long long)e->last_fail, (long long)e->last_ok,
	    reach_tls_broken(e, t->now, (time_t)t->conf->tls_broken_memory) ?
	    "true" : "false", reach_fail_str(e->tls),
	    (long long)e->tls_since, e->probes, (long long)e->next_probe);
}

void
cmd_reach_free(struct cmd_reach *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

int
cmd_check_reach(struct cli *cli, bool json)
{
	struct cmd_reach t;
	char verdict[300];
	size_t ndown = 0;

	if (cli_load_conf(cli) < 0)
		return 1;
	if (cmd_reach_load(&cli->conf, &t) < 0) {
		cmd_reach_free(&t);
		return cli_fail("%s/%s: unreadable or not a reachability file",
		    cli->conf.state_dir, REACH_FILE);
	}
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < t.n; i++) {
		ndown += cmd_reach_is_down(&t, &t.v[i]);
		if (json) {
			fputs(i > 0 ? ", " : "", stdout);
			cmd_reach_json(&t, &t.v[i]);
			continue;
		}
		cmd_reach_verdict(&t, &t.v[i], verdict, sizeof(verdict));
		printf("%-24s %s\n", t.v[i].key, verdict);
	}
	if (json)
		puts("]");
	else
		printf("%zu address(es) remembered, %zu down; probes every %llus "
		    "(reach_probe_interval), failures believed %llus "
		    "(host_down_memory)\n", t.n, ndown,
		    (unsigned long long)cli->conf.reach_probe_interval,
		    (unsigned long long)cli->conf.host_down_memory);
	cmd_reach_free(&t);
	return 0;
}
