/* `ferry queue list --all-nodes`: every node's queue, from the compact
 * summaries the queue roles publish into a shared (PostgreSQL) store
 * (store_queue_publish: when the queue changes, at least every minute).
 * A node whose last summary is older than CMD_QUEUE_STALE is marked
 * stale: it may be down, and its rows say what it held then.  On SQLite
 * the store is this node's alone, and the caller lists the spool as
 * without the flag. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/cmd_queue_view.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "ops/ops.h"
#include "store/store.h"

#define CMD_QUEUE_STALE 180		/* seconds without a summary */

struct cmd_queue_nodes {
	bool json;
	time_t now;
	struct json j;
	struct fbuf out;
	size_t n;
	char node[STORE_HIST_NODE_MAX];	/* the node printed last */
};

static void
cmd_queue_nodes_text(const struct store_queue_row *r, int64_t seen,
    struct cmd_queue_nodes *x)
{
	char age[32], next[32], buf[STORE_HIST_ADDR_MAX];
	bool stale = x->now - (time_t)seen > CMD_QUEUE_STALE;

	if (strcmp(x->node, r->node) != 0) {
		str_lcpy(x->node, r->node, sizeof(x->node));
		str_format_span(age, sizeof(age), (long long)(x->now -
		    (time_t)seen));
		printf("node %s: summary %s old%s\n", r->node, age, stale ?
		    " (stale: the node has not published since; it may be "
		    "down)" : "");
	}
	str_format_span(age, sizeof(age), (long long)(x->now -
	    (time_t)r->arrival));
	str_format_span(next, sizeof(next), (long long)(r->next_attempt -
	    x->now));
	str_lcpy(buf, r->sender, sizeof(buf));
	ops_clean(buf);
	printf("  %-12s %s %5s %10llu <%s>%s%s next=%s\n", r->node, r->id,
	    age, (unsigned long long)r->size, buf, r->held ? " held" : "",
	    stale ? " stale" : "", r->next_attempt <= x->now ? "now" : next);
	printf("    to %s\n", r->rcpts[0] != '\0' ? r->rcpts : "-");
}

static void
cmd_queue_nodes_json(const struct store_queue_row *r, int64_t seen,
    struct cmd_queue_nodes *x)
{
	struct json *j = &x->j;

	json_object_begin(j);
	json_key(j, "node");
	json_str(j, r->node);
	json_key(j, "id");
	json_str(j, r->id);
	json_key(j, "arrival");
	json_int(j, r->arrival);
	json_key(j, "sender");
	json_str(j, r->sender);
	json_key(j, "size");
	json_uint(j, r->size);
	json_key(j, "held");
	json_bool(j, r->held);
	json_key(j, "next_attempt");
	json_int(j, r->next_attempt);
	json_key(j, "pending");
	json_str(j, r->rcpts);
	json_key(j, "node_seen");
	json_int(j, seen);
	json_key(j, "stale");
	json_bool(j, x->now - (time_t)seen > CMD_QUEUE_STALE);
	json_object_end(j);
}

static void
cmd_queue_nodes_row(const struct store_queue_row *r, int64_t seen, void *ctx)
{
	struct cmd_queue_nodes *x = ctx;

	x->n++;
	if (x->json)
		cmd_queue_nodes_json(r, seen, x);
	else
		cmd_queue_nodes_text(r, seen, x);
}

int
cmd_queue_all_nodes(struct cli *cli, bool json)
{
	struct cmd_queue_nodes x;
	const char *error = "";
	struct store *s;
	int r;

	memset(&x, 0, sizeof(x));
	x.json = json;
	x.now = time(NULL);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	fbuf_init(&x.out, 0);
	json_init(&x.j, &x.out);
	if (json)
		json_array_begin_lines(&x.j);
	r = store_queue_list_all(s, cmd_queue_nodes_row, &x, &error);
	store_close(&s);
	if (json) {
		json_array_end(&x.j);
		if (r == 0) {
			fwrite(x.out.data, 1, x.out.len, stdout);
			putchar('\n');
		}
	} else if (r == 0 && x.n == 0)
		printf("no message queued on any node\n");
	fbuf_release(&x.out);
	if (r < 0)
		return cli_fail("%s", error);
	return 0;
}
