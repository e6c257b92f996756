/* `ferry queue list|show|delete|hold|release|retry|bounce`: parses the
 * arguments, asks the running queue role over its control socket
 * (state_dir/queue.ctl, queue_control.h) or, when no server runs, does
 * the same operation on the spool itself (ops_queue.h), then prints the
 * result as text or --json.  The verbs:
 *   hold      the queue role leaves the message alone
 *   release   held cleared
 *   retry     next attempt now for pending recipients (of one message,
 *             all messages, or those whose address is in one domain)
 *   bounce    pending recipients become failed ("5.0.0 bounced by the
 *             operator"); the queue role sends the DSN
 *   delete    the message is removed
 * Working through the role means its in-memory schedule learns of the
 * change at once and the disk work runs where the spool's owner runs
 * it.  Without a server the changes are made as run_as and the queue is
 * woken by datagram in case one starts meanwhile. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/cmd_queue_view.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/privdrop.h"
#include "lib/strutil.h"
#include "net/control.h"
#include "ops/ops_queue.h"
#include "queue/queue_control.h"
#include "queue/queue_history.h"
#include "queue/queue_notify.h"
#include "store/store.h"

#define CMD_QUEUE_USAGE "queue list [--all-nodes] [--summary] " \
	"[--domain DOMAIN] " \
	"[--from ADDR|@DOMAIN] [--to ADDR|@DOMAIN] [--older AGE] " \
	"[--newer AGE] [--json] | show ID [--json] | " \
	"delete|hold|release|bounce ID | retry ID|--all|--domain DOMAIN"
#define CMD_QUEUE_TIMEOUT_MS 60000

static const char *cmd_queue_states[] = {
	"pending", "done", "failed", "bounced"
};

struct cmd_queue {
	struct cli *cli;
	char spool_dir[PATH_MAX];
	char ctl_path[PATH_MAX];
	struct ops_actor actor;
	struct cmd_queue_filter filter;
	bool json;
};

static const char *
cmd_queue_state(enum spool_rcpt_state s)
{
	return (unsigned)s < 4 ? cmd_queue_states[s] : "unknown";
}

/* Peer-supplied values reach a terminal: control bytes become '?'. */
static void
cmd_queue_clean_env(struct spool_env *env)
{
	ops_clean(env->sender);
	ops_clean(env->client_addr);
	ops_clean(env->client_helo);
	ops_clean(env->protocol);
	ops_clean(env->auth_user);
	ops_clean(env->hold_reason);
	for (size_t i = 0; i < env->nrcpts; i++) {
		ops_clean(env->rcpts[i].orig);
		ops_clean(env->rcpts[i].addr);
		ops_clean(env->rcpts[i].last_error);
	}
}

/* ---- printing ---- */

static void
cmd_queue_print_rcpt(const struct spool_rcpt *r, time_t now)
{
	char when[32];

	printf("    %-8s %s%s", cmd_queue_state(r->state), r->addr,
	    r->local ? "" : " (remote)");
	if (strcmp(r->orig, r->addr) != 0)
		printf(" orig=%s", r->orig);
	printf(" attempts=%u", r->attempts);
	if (r->state == SPOOL_RCPT_PENDING) {
		str_format_span(when, sizeof(when), (long long)(r->next_attempt -
		    now));
		printf(" next=%s", r->next_attempt <= now ? "now" : when);
	}
	if (r->last_error != NULL)
		printf(" error=\"%s\"", r->last_error);
	putchar('\n');
}

static void
cmd_queue_print(const struct spool_env *env, time_t now)
{
	char age[32];

	str_format_span(age, sizeof(age), (long long)(now - env->arrival));
	printf("%s %5s %10llu <%s>%s\n", env->id, age,
	    (unsigned long long)env->size, env->sender,
	    env->held ? " held" : "");
	for (size_t i = 0; i < env->nrcpts; i++)
		cmd_queue_print_rcpt(&env->rcpts[i], now);
}

static void
cmd_queue_json_rcpt(struct json *j, const struct spool_rcpt *r)
{
	json_object_begin(j);
	json_key(j, "orig");
	json_str(j, r->orig);
	json_key(j, "addr");
	json_str(j, r->addr);
	json_key(j, "local");
	json_bool(j, r->local);
	json_key(j, "state");
	json_str(j, cmd_queue_state(r->state));
	json_key(j, "attempts");
	json_uint(j, r->attempts);
	json_key(j, "next_attempt");
	json_int(j, (long long)r->next_attempt);
	json_key(j, "last_error");
	json_str(j, r->last_error);
	json_object_end(j);
}

/* Earliest next attempt of a pending recipient, -1 when none. */
static long long
cmd_queue_next(const struct spool_env *env)
{
	long long next = -1;

	for (size_t i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == SPOOL_RCPT_PENDING &&
		    (next < 0 || env->rcpts[i].next_attempt < next))
			next = (long long)env->rcpts[i].next_attempt;
	return next;
}

/* Length of the header section in buf (up to and without the empty line
 * that ends it). */
static size_t
cmd_queue_header_len(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n' ||
		    (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
			return i == 0 ? 0 : (buf[i - 1] == '\r' ? i - 1 : i);
	return n;
}

/* m: with `queue show`, the header section goes in too. */
static void
cmd_queue_json(struct json *j, const struct spool_env *env, time_t now,
    const struct ops_queue_msg *m)
{
	long long next = cmd_queue_next(env);

	json_object_begin(j);
	json_key(j, "id");
	json_str(j, env->id);
	json_key(j, "arrival");
	json_int(j, (long long)env->arrival);
	json_key(j, "age");
	json_int(j, (long long)(now > env->arrival ? now - env->arrival : 0));
	json_key(j, "sender");
	json_str(j, env->sender);
	json_key(j, "size");
	json_uint(j, env->size);
	json_key(j, "held");
	json_bool(j, env->held);
	json_key(j, "client");
	json_str(j, env->client_addr);
	json_key(j, "helo");
	json_str(j, env->client_helo);
	json_key(j, "protocol");
	json_str(j, env->protocol);
	json_key(j, "auth_user");
	json_str(j, env->auth_user);
	json_key(j, "hold_reason");
	json_str(j, env->held ? env->hold_reason : NULL);
	json_key(j, "next_attempt");
	if (next >= 0)
		json_int(j, next);
	else
		json_null(j);
	json_key(j, "recipients");
	json_array_begin(j);
	for (size_t i = 0; i < env->nrcpts; i++)
		cmd_queue_json_rcpt(j, &env->rcpts[i]);
	json_array_end(j);
	if (m != NULL) {
		json_key(j, "headers");
		if (m->headers_error != NULL)
			json_str(j, NULL);
		else
			json_strn(j, m->headers.len > 0 ? m->headers.data : "",
			    cmd_queue_header_len(m->headers.data,
			    m->headers.len));
		json_key(j, "headers_error");
		json_str(j, m->headers_error);
	}
	json_object_end(j);
}

/* Keeps the envelopes that pass the filter, in order. */
static void
cmd_queue_filter_list(struct ops_queue_list *l,
    const struct cmd_queue_filter *f, time_t now)
{
	size_t keep = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (cmd_queue_filter_match(f, &l->envs[i], now)) {
			if (keep != i)
				l->envs[keep] = l->envs[i];
			keep++;
		} else
			spool_env_free(&l->envs[i]);
	}
	l->n = keep;
}

static void
cmd_queue_print_list(struct ops_queue_list *l,
    const struct cmd_queue_filter *f, bool json)
{
	time_t now = time(NULL);
	struct fbuf out;
	struct json j;

	if (l->warnings.len > 0) {
		for (char *p = l->warnings.data, *nl; *p != '\0'; p = nl + 1) {
			if ((nl = strchr(p, '\n')) == NULL)
				break;
			fprintf(stderr, "ferry: %.*s\n", (int)(nl - p), p);
		}
	}
	cmd_queue_filter_list(l, f, now);
	if (f->summary) {
		cmd_queue_summary(l->envs, l->n, now, json);
		return;
	}
	if (!json) {
		for (size_t i = 0; i < l->n; i++) {
			cmd_queue_clean_env(&l->envs[i]);
			cmd_queue_print(&l->envs[i], now);
		}
		if (l->n == 0)
			puts(cmd_queue_filter_active(f) ? "no message matches" :
			    "queue is empty");
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++)
		cmd_queue_json(&j, &l->envs[i], now, NULL);
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

/* The header section, control bytes other than tab shown as '?', CRLF
 * as a newline, ending at the empty line. */
static void
cmd_queue_print_headers(const struct ops_queue_msg *m)
{
	const char *buf = m->headers.data;
	size_t n = m->headers.len;

	if (m->headers_error != NULL) {
		printf("(content unreadable: %s)\n", m->headers_error);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' && (i == 0 || buf[i - 1] == '\n' ||
		    (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
			break;
		if (c == '\r' && i + 1 < n && buf[i + 1] == '\n')
			continue;
		putchar(c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) ?
		    c : '?');
	}
}

static void
cmd_queue_print_msg(struct ops_queue_msg *m, bool json)
{
	struct spool_env *env = &m->env;
	char when[64];
	struct fbuf out;
	struct json j;
	struct tm tm;

	if (json) {
		fbuf_init(&out, 0);
		json_init(&j, &out);
		cmd_queue_json(&j, env, time(NULL), m);
		puts(out.data);
		fbuf_release(&out);
		return;
	}
	cmd_queue_clean_env(env);
	gmtime_r(&env->arrival, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("id: %s\narrival: %s (%lld)\nsender: <%s>\nsize: %llu\n"
	    "held: %s\nclient: %s helo=%s protocol=%s\n", env->id, when,
	    (long long)env->arrival, env->sender,
	    (unsigned long long)env->size, env->held ? "yes" : "no",
	    env->client_addr, env->client_helo, env->protocol);
	if (env->auth_user != NULL)
		printf("auth: %s\n", env->auth_user);
	if (env->held && env->hold_reason != NULL)
		printf("hold reason: %s\n", env->hold_reason);
	printf("recipients:\n");
	for (size_t i = 0; i < env->nrcpts; i++)
		cmd_queue_print_rcpt(&env->rcpts[i], time(NULL));
	printf("headers:\n");
	cmd_queue_print_headers(m);
}

/* ---- asking the queue role ---- */

/* Sends verb with args to the running queue role.  1 with its answer in
 * ans (ans->body to release), 0 when no server listens (ans untouched),
 * or -1 after printing why. */
static int
cmd_queue_ask(struct cmd_queue *q, const char *verb,
    const struct control_arg *args, size_t nargs,
    struct control_answer *ans)
{
	const char *error;

	if (control_call(q->ctl_path, verb, args, nargs, CMD_QUEUE_TIMEOUT_MS,
	    ans, &error) == 0)
		return 1;
	fbuf_release(&ans->body);
	if (control_errno_down(errno))
		return 0;
	cli_fail("queue role at %s: %s", q->ctl_path, errno == ETIMEDOUT ?
	    "no answer in time" : error);
	return -1;
}

/* The exit status for an answer that is an error: prints its text. */
static int
cmd_queue_refused(struct control_answer *ans)
{
	cli_fail("%s", fbuf_str(&ans->body));
	fbuf_release(&ans->body);
	return 1;
}

static int
cmd_queue_malformed(struct control_answer *ans)
{
	fbuf_release(&ans->body);
	return cli_fail("the queue role's answer is malformed");
}

/* ---- the verbs ---- */

static int
cmd_queue_list(struct cmd_queue *q)
{
	struct control_answer ans;
	struct ops_queue_list l;
	struct ops_status st;
	int r;

	if ((r = cmd_queue_ask(q, "list", NULL, 0, &ans)) < 0)
		return 1;
	if (r == 1 && ans.status != CONTROL_OK)
		return cmd_queue_refused(&ans);
	if (r == 1) {
		if (ops_queue_unwire_list(ans.body.data, ans.body.len, &l) < 0)
			return cmd_queue_malformed(&ans);
		fbuf_release(&ans.body);
	} else if (ops_queue_list(&q->actor, q->spool_dir, &l, &st) < 0) {
		ops_queue_list_free(&l);
		return cli_fail("%s", st.text);
	}
	cmd_queue_print_list(&l, &q->filter, q->json);
	ops_queue_list_free(&l);
	return 0;
}

static int
cmd_queue_show(struct cmd_queue *q, const char *id)
{
	struct control_arg arg = { "id", id };
	struct control_answer ans;
	struct ops_queue_msg m;
	struct ops_status st;
	int r;

	if ((r = cmd_queue_ask(q, "show", &arg, 1, &ans)) < 0)
		return 1;
	if (r == 1 && ans.status != CONTROL_OK)
		return cmd_queue_refused(&ans);
	if (r == 1) {
		if (ops_queue_unwire_msg(ans.body.data, ans.body.len, &m) < 0)
			return cmd_queue_malformed(&ans);
		fbuf_release(&ans.body);
	} else if (ops_queue_show(&q->actor, q->spool_dir, id, &m, &st) < 0) {
		ops_queue_msg_free(&m);
		return cli_fail("%s", st.text);
	}
	cmd_queue_print_msg(&m, q->json);
	ops_queue_msg_free(&m);
	return 0;
}

/* Changes are made as the server's user (run_as), as cli_open_store
 * does, so the queue role can still read the envelopes written here. */
static int
cmd_queue_become(const struct conf *c)
{
	const char *error;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || c->run_as[0] == '\0')
		return 0;
	if (privdrop_lookup(c->run_as, &uid, &gid, &error) < 0 ||
	    privdrop_to(c->run_as, uid, gid, &error) < 0)
		return cli_fail("cannot become %s: %s", c->run_as, error);
	return 0;
}

/* The counts a change reports. */
struct cmd_queue_counts {
	size_t bounced, matched, messages, held;
};

#define CMD_QUEUE_HIST_SEQ ((int64_t)1 << 40)

/* An offline delete or bounce of the message that was before goes into
 * the delivery history with the rows the running queue writes
 * (queue_history_operator), so `ferry why` tells it either way.  A
 * store that cannot be written costs the record, not the change: a
 * warning on stderr. */
static void
cmd_queue_record(struct cmd_queue *q, const struct spool_env *before,
    bool deleted)
{
	const struct conf *c = &q->cli->conf;
	struct store_hist_attempt *v = NULL;
	struct spool_env after;
	struct store *s = NULL;
	const char *error = "store path too long";
	char path[PATH_MAX];
	size_t n;

	if (c->history_keep == 0)
		return;
	if (deleted)
		n = queue_history_operator(c, q->actor.name, before, NULL, &v);
	else if (spool_env_read(q->spool_dir, before->id, &after) == 0) {
		n = queue_history_operator(c, q->actor.name, before, &after,
		    &v);
		spool_env_free(&after);
	} else
		return;
	/* seq orders the records of one second: these come after every
	 * record the stopped queue wrote in that second (its seq counts
	 * its own records from 1). */
	for (size_t i = 0; i < n; i++) {
		str_lcpy(v[i].node, conf_node_name(c), sizeof(v[i].node));
		v[i].seq = CMD_QUEUE_HIST_SEQ + (int64_t)i;
	}
	if (n > 0 && (conf_store_path(c, path, sizeof(path)) < 0 ||
	    store_open(&s, path, &error) < 0 ||
	    store_hist_write(s, NULL, 0, v, n, &error) < 0))
		fprintf(stderr, "ferry: warning: not recorded in the delivery "
		    "history: %s\n", error);
	store_close(&s);
	free(v);
}

/* A change made without a server: the ops call on the files, then a
 * wake-up datagram for each message it touched; a delete or a bounce is
 * recorded in the delivery history. */
static int
cmd_queue_direct(struct cmd_queue *q, const char *verb, const char *id,
    const char *domain, struct cmd_queue_counts *c, struct ops_status *st)
{
	struct ops_queue_ids wake = { NULL, 0, 0 };
	struct ops_queue_retry rt = { id, domain, 0, 0, 0 };
	const char *dir = q->spool_dir;
	bool del = strcmp(verb, "delete") == 0;
	bool record = del || strcmp(verb, "bounce") == 0;
	struct spool_env before;
	int r;

	if (cmd_queue_become(&q->cli->conf) != 0)
		return -2;
	record = record && spool_env_read(dir, id, &before) == 0;
	if (del)
		r = ops_queue_delete(&q->actor, dir, id, st);
	else if (strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0)
		r = ops_queue_hold(&q->actor, dir, id,
		    strcmp(verb, "hold") == 0, &wake, st);
	else if (strcmp(verb, "bounce") == 0)
		r = ops_queue_bounce(&q->actor, dir, id, &c->bounced, &wake,
		    st);
	else {
		r = ops_queue_retry(&q->actor, dir, &rt, &wake, st);
		c->matched = rt.matched;
		c->messages = rt.messages;
		c->held = rt.held;
	}
	if (record && r == 0)
		cmd_queue_record(q, &before, del);
	if (record)
		spool_env_free(&before);
	for (size_t i = 0; i < wake.n; i++)
		queue_notify(q->cli->conf.state_dir, wake.v[i]);
	ops_queue_ids_free(&wake);
	return r;
}

/* A change through the role: 1 done, 0 no server, or the exit status
 * (after printing) as a negative number. */
static int
cmd_queue_remote(struct cmd_queue *q, const char *verb, const char *id,
    const char *domain, struct cmd_queue_counts *c)
{
	struct control_arg arg;
	struct control_answer ans;
	const char *b;
	int r;

	if (id != NULL)
		arg = (struct control_arg){ "id", id };
	else if (domain != NULL)
		arg = (struct control_arg){ "domain", domain };
	else
		arg = (struct control_arg){ "all", "1" };
	if ((r = cmd_queue_ask(q, verb, &arg, 1, &ans)) <= 0)
		return r < 0 ? -1 : 0;
	if (ans.status != CONTROL_OK)
		return -cmd_queue_refused(&ans);
	b = fbuf_str(&ans.body);
	if (strcmp(verb, "bounce") == 0)
		c->bounced = (size_t)ops_queue_unwire_count(b, ans.body.len,
		    "bounced");
	if (strcmp(verb, "retry") == 0) {
		c->matched = (size_t)ops_queue_unwire_count(b, ans.body.len,
		    "matched");
		c->messages = (size_t)ops_queue_unwire_count(b, ans.body.len,
		    "messages");
		/* Absent from an older role's answer: -1, taken as none. */
		c->held = (size_t)ops_queue_unwire_count(b, ans.body.len,
		    "held");
		if (c->held == (size_t)-1)
			c->held = 0;
	}
	fbuf_release(&ans.body);
	return 1;
}

static int
cmd_queue_change(struct cmd_queue *q, const char *verb, const char *id,
    const char *domain)
{
	struct cmd_queue_counts c = { 0, 0, 0, 0 };
	struct ops_status st;
	int r;

	r = cmd_queue_remote(q, verb, id, domain, &c);
	if (r < 0)
		return -r;
	if (r == 0 && (r = cmd_queue_direct(q, verb, id, domain, &c,
	    &st)) < 0)
		return r == -2 ? 1 : cli_fail("%s", st.text);
	if (strcmp(verb, "bounce") == 0)
		printf("%s: %zu recipient%s marked failed; the queue sends "
		    "the bounce\n", id, c.bounced, c.bounced == 1 ? "" : "s");
	else if (strcmp(verb, "retry") == 0) {
		printf("%zu recipient%s in %zu message%s to be retried now",
		    c.matched, c.matched == 1 ? "" : "s", c.messages,
		    c.messages == 1 ? "" : "s");
		if (c.held > 0 && id != NULL)
			printf(", but %s is held: the queue leaves it alone "
			    "until `ferry queue release %s`", id, id);
		else if (c.held > 0)
			printf(", but %zu of them %s held: the queue leaves "
			    "%s alone until `ferry queue release ID`", c.held,
			    c.held == 1 ? "is" : "are", c.held == 1 ? "it" :
			    "them");
		putchar('\n');
	}
	return 0;
}

/* ---- command line ---- */

/* Argument count and --json for each verb: true when they fit. */
static bool
cmd_queue_args_ok(const char *verb, int argc, char **argv, bool json)
{
	if (strcmp(verb, "list") == 0)
		return argc == 2;
	if (strcmp(verb, "show") == 0)
		return argc == 3 && argv[2][0] != '-';
	if (json)
		return false;
	if (strcmp(verb, "retry") == 0)
		return (argc == 3 && (argv[2][0] != '-' ||
		    strcmp(argv[2], "--all") == 0)) || (argc == 4 &&
		    strcmp(argv[2], "--domain") == 0 && argv[3][0] != '-');
	if (strcmp(verb, "delete") == 0 || strcmp(verb, "hold") == 0 ||
	    strcmp(verb, "release") == 0 || strcmp(verb, "bounce") == 0)
		return argc == 3 && argv[2][0] != '-';
	return false;
}

int
cmd_queue(struct cli *cli, int argc, char **argv)
{
	struct cmd_queue q = { .cli = cli };
	const char *verb, *why;
	bool all_nodes;

	ops_actor_cli(&q.actor);
	q.json = cli_take_flag(&argc, argv, "--json");
	verb = argc > 1 ? argv[1] : "";
	all_nodes = strcmp(verb, "list") == 0 &&
	    cli_take_flag(&argc, argv, "--all-nodes");
	if (strcmp(verb, "list") == 0 &&
	    cmd_queue_filter_take(&argc, argv, &q.filter, &why) < 0)
		return cli_usage("%s: %s", CMD_QUEUE_USAGE, why);
	if (!cmd_queue_args_ok(verb, argc, argv, q.json))
		return cli_usage(CMD_QUEUE_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	if (conf_state_path(&cli->conf, q.spool_dir, sizeof(q.spool_dir),
	    FERRY_SPOOL_DIR) < 0 || conf_state_path(&cli->conf, q.ctl_path,
	    sizeof(q.ctl_path), QUEUE_CONTROL_SOCK) < 0)
		return cli_fail("state_dir too long");
	/* Every node's queue is in a shared store only; on SQLite the
	 * spool here is the whole story. */
	if (all_nodes && conf_store_shared(&cli->conf)) {
		if (cmd_queue_filter_active(&q.filter) || q.filter.summary)
			return cli_usage("%s: --all-nodes lists every message "
			    "(no filters, no --summary)", CMD_QUEUE_USAGE);
		return cmd_queue_all_nodes(cli, q.json);
	}
	if (strcmp(verb, "list") == 0)
		return cmd_queue_list(&q);
	if (strcmp(verb, "show") == 0)
		return cmd_queue_show(&q, argv[2]);
	if (strcmp(verb, "retry") == 0 && argc == 4)
		return cmd_queue_change(&q, verb, NULL, argv[3]);
	if (strcmp(verb, "retry") == 0 && strcmp(argv[2], "--all") == 0)
		return cmd_queue_change(&q, verb, NULL, NULL);
	return cmd_queue_change(&q, verb, argv[2], NULL);
}
