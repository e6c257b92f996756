/* `ferry queue list|show|delete|hold|release|retry|bounce`: works on the
 * spool under state_dir/spool directly (no running server needed, no
 * store).  `list` and `show` never change anything; `delete` removes
 * envelope then content, so a queue role in the middle of a delivery
 * sees the message vanish and never writes it back (spool_env_update
 * refuses a missing envelope).  The other verbs rewrite the envelope
 * atomically and wake the queue role with a datagram (queue_notify.h):
 *   hold      F held: the queue role leaves the message alone
 *   release   held cleared
 *   retry     next attempt 0 for pending recipients (of one message, all
 *             messages, or those whose address is in one domain)
 *   bounce    pending recipients become failed with last_error "5.0.0
 *             bounced by the operator", held cleared: the queue role
 *             sends the DSN (bounce.h) and finishes the message
 * There is no lock between this and the queue role: a delivery attempt
 * that ends while the command runs can write its own envelope over ours
 * (the command then looks lost, and is simply repeated). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/privdrop.h"
#include "lib/xalloc.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/resolve.h"

#define CMD_QUEUE_USAGE "queue list [--json] | show ID [--json] | " \
	"delete|hold|release|bounce ID | retry ID|--all|--domain DOMAIN"
#define CMD_QUEUE_BOUNCED "5.0.0 bounced by the operator"
/* What a change to one envelope needs (cmd_queue_modify). */
#define CMD_QUEUE_WRITE 1
#define CMD_QUEUE_NOTIFY 2
#define CMD_QUEUE_HEADER_MAX 65536

static const char *cmd_queue_states[] = {
	"pending", "done", "failed", "bounced"
};

struct cmd_queue_ids {
	char (*v)[IDS_LEN + 1];
	size_t n, cap;
};

struct cmd_queue {
	struct cli *cli;
	char spool_dir[PATH_MAX];
	bool json;
};

/* A change to one envelope: returns CMD_QUEUE_* bits, or -1 after
 * printing why. */
typedef int cmd_queue_change_fn(struct spool_env *env, void *arg);

static const char *
cmd_queue_state(enum spool_rcpt_state s)
{
	return (unsigned)s < 4 ? cmd_queue_states[s] : "unknown";
}

static void
cmd_queue_collect(const char *id, void *ctx)
{
	struct cmd_queue_ids *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL) {
			fputs("ferry: out of memory\n", stderr);
			exit(1);
		}
	}
	memcpy(l->v[l->n++], id, IDS_LEN + 1);
}

/* "45s", "12m", "3h", "2d"; negative spans print as "0s". */
static void
cmd_queue_span(char *dst, size_t size, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(dst, size, "%llds", secs);
	else if (secs < 7200)
		snprintf(dst, size, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(dst, size, "%lldh", secs / 3600);
	else
		snprintf(dst, size, "%lldd", secs / 86400);
}

/* Peer-supplied values reach a terminal: control bytes become '?'. */
static void
cmd_queue_clean(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
cmd_queue_clean_env(struct spool_env *env)
{
	size_t i;

	cmd_queue_clean(env->sender);
	cmd_queue_clean(env->client_addr);
	cmd_queue_clean(env->client_helo);
	cmd_queue_clean(env->protocol);
	cmd_queue_clean(env->auth_user);
	for (i = 0; i < env->nrcpts; i++) {
		cmd_queue_clean(env->rcpts[i].orig);
		cmd_queue_clean(env->rcpts[i].addr);
		cmd_queue_clean(env->rcpts[i].last_error);
	}
}

/* ---- list ---- */

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
		cmd_queue_span(when, sizeof(when), (long long)(r->next_attempt -
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
	size_t i;

	cmd_queue_span(age, sizeof(age), (long long)(now - env->arrival));
	printf("%s %5s %10llu <%s>%s\n", env->id, age,
	    (unsigned long long)env->size, env->sender,
	    env->held ? " held" : "");
	for (i = 0; i < env->nrcpts; i++)
		cmd_queue_print_rcpt(&env->rcpts[i], now);
}

static void
cmd_queue_json_rcpt(const struct spool_rcpt *r)
{
	fputs("{\"orig\": ", stdout);
	cli_json_str(r->orig);
	fputs(", \"addr\": ", stdout);
	cli_json_str(r->addr);
	printf(", \"local\": %s, \"state\": \"%s\", \"attempts\": %u, "
	    "\"next_attempt\": %lld, \"last_error\": ",
	    r->local ? "true" : "false", cmd_queue_state(r->state),
	    r->attempts, (long long)r->next_attempt);
	if (r->last_error != NULL)
		cli_json_str(r->last_error);
	else
		fputs("null", stdout);
	putchar('}');
}

/* Earliest next attempt of a pending recipient, -1 when none. */
static long long
cmd_queue_next(const struct spool_env *env)
{
	long long next = -1;
	size_t i;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == SPOOL_RCPT_PENDING &&
		    (next < 0 || env->rcpts[i].next_attempt < next))
			next = (long long)env->rcpts[i].next_attempt;
	return next;
}

static void
cmd_queue_json(const struct spool_env *env, const char *prefix, time_t now)
{
	long long next = cmd_queue_next(env);
	size_t i;

	printf("%s{\"id\": ", prefix);
	cli_json_str(env->id);
	printf(", \"arrival\": %lld, \"age\": %lld, \"sender\": ",
	    (long long)env->arrival, (long long)(now > env->arrival ?
	    now - env->arrival : 0));
	cli_json_str(env->sender);
	printf(", \"size\": %llu, \"held\": %s, \"next_attempt\": ",
	    (unsigned long long)env->size, env->held ? "true" : "false");
	if (next >= 0)
		printf("%lld", next);
	else
		fputs("null", stdout);
	fputs(", \"recipients\": [", stdout);
	for (i = 0; i < env->nrcpts; i++) {
		if (i > 0)
			fputs(", ", stdout);
		cmd_queue_json_rcpt(&env->rcpts[i]);
	}
	fputs("]}", stdout);
}

static int
cmd_queue_list(const char *spool_dir, bool json)
{
	struct cmd_queue_ids ids = { NULL, 0, 0 };
	struct spool_env env;
	time_t now = time(NULL);
	size_t i, shown = 0;

	if (spool_scan(spool_dir, false, cmd_queue_collect, &ids) < 0) {
		free(ids.v);
		return cli_fail("%s: %s", spool_dir, strerror(errno));
	}
	if (json)
		putchar('[');
	for (i = 0; i < ids.n; i++) {
		if (spool_env_read(spool_dir, ids.v[i], &env) < 0) {
			if (errno != ENOENT)
				fprintf(stderr, "ferry: %s: unreadable "
				    "envelope: %s\n", ids.v[i],
				    strerror(errno));
			continue;
		}
		if (json)
			cmd_queue_json(&env, shown == 0 ? "\n  " : ",\n  ",
			    now);
		else {
			cmd_queue_clean_env(&env);
			cmd_queue_print(&env, now);
		}
		shown++;
		spool_env_free(&env);
	}
	if (json)
		puts(shown > 0 ? "\n]" : "]");
	else if (shown == 0)
		puts("queue is empty");
	free(ids.v);
	return 0;
}

/* ---- show ---- */

/* The header block of the content: up to the first empty line, control
 * bytes other than tab shown as '?', CRLF as a newline. */
static void
cmd_queue_print_headers(const char *spool_dir, const char *id)
{
	char path[PATH_MAX], buf[CMD_QUEUE_HEADER_MAX];
	ssize_t n;
	size_t i;
	int fd;

	if (spool_msg_path(spool_dir, id, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		printf("(content unreadable: %s)\n", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' && (i == 0 || buf[i - 1] == '\n' ||
		    (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
			break;
		if (c == '\r' && i + 1 < (size_t)n && buf[i + 1] == '\n')
			continue;
		putchar(c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) ?
		    c : '?');
	}
}

/* "ferry: no such message ID", the argument cleaned for the terminal. */
static int
cmd_queue_nosuch(const char *arg)
{
	char shown[80];

	snprintf(shown, sizeof(shown), "%s", arg);
	cmd_queue_clean(shown);
	return cli_fail("no such message %s", shown);
}

/* Reads id's envelope: 0, or the exit status after printing why. */
static int
cmd_queue_read(const struct cmd_queue *q, const char *id,
    struct spool_env *env)
{
	if (!ids_valid(id))
		return cmd_queue_nosuch(id);
	if (spool_env_read(q->spool_dir, id, env) < 0) {
		if (errno == ENOENT)
			return cmd_queue_nosuch(id);
		return cli_fail("%s: %s", id, strerror(errno));
	}
	return 0;
}

static int
cmd_queue_show(struct cmd_queue *q, const char *id)
{
	struct spool_env env;
	char when[64];
	struct tm tm;
	size_t i;
	int r;

	if ((r = cmd_queue_read(q, id, &env)) != 0)
		return r;
	if (q->json) {
		cmd_queue_json(&env, "", time(NULL));
		putchar('\n');
		spool_env_free(&env);
		return 0;
	}
	cmd_queue_clean_env(&env);
	gmtime_r(&env.arrival, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("id: %s\narrival: %s (%lld)\nsender: <%s>\nsize: %llu\n"
	    "held: %s\nclient: %s helo=%s protocol=%s\n", env.id, when,
	    (long long)env.arrival, env.sender,
	    (unsigned long long)env.size, env.held ? "yes" : "no",
	    env.client_addr, env.client_helo, env.protocol);
	if (env.auth_user != NULL)
		printf("auth: %s\n", env.auth_user);
	printf("recipients:\n");
	for (i = 0; i < env.nrcpts; i++)
		cmd_queue_print_rcpt(&env.rcpts[i], time(NULL));
	printf("headers:\n");
	cmd_queue_print_headers(q->spool_dir, id);
	spool_env_free(&env);
	return 0;
}

/* ---- delete ---- */

static int
cmd_queue_delete(struct cmd_queue *q, const char *id)
{
	if (!ids_valid(id))
		return cmd_queue_nosuch(id);
	if (spool_remove(q->spool_dir, id) < 0) {
		if (errno == ENOENT)
			return cmd_queue_nosuch(id);
		return cli_fail("%s: %s", id, strerror(errno));
	}
	return 0;
}

/* ---- changes: hold, release, retry, bounce ---- */

/* Applies change to id's envelope, rewrites it and wakes the queue role
 * as the change asks: 0, -1 with errno (ENOENT: no such message), or -2
 * when the change refused after printing why. */
static int
cmd_queue_apply(struct cmd_queue *q, const char *id,
    cmd_queue_change_fn *change, void *arg)
{
	struct spool_env env;
	int what, saved;

	if (!ids_valid(id)) {
		errno = ENOENT;
		return -1;
	}
	if (spool_env_read(q->spool_dir, id, &env) < 0)
		return -1;
	what = change(&env, arg);
	if (what > 0 && (what & CMD_QUEUE_WRITE) != 0 &&
	    spool_env_update(q->spool_dir, &env) < 0) {
		saved = errno;
		spool_env_free(&env);
		errno = saved;
		return -1;
	}
	if (what > 0 && (what & CMD_QUEUE_NOTIFY) != 0)
		queue_notify(q->cli->conf.state_dir, id);
	spool_env_free(&env);
	return what < 0 ? -2 : 0;
}

/* The same for one message named by the operator: the exit status. */
static int
cmd_queue_modify(struct cmd_queue *q, const char *id,
    cmd_queue_change_fn *change, void *arg)
{
	int r = cmd_queue_apply(q, id, change, arg);

	if (r == -1 && (errno == ENOENT || errno == ENAMETOOLONG))
		return cmd_queue_nosuch(id);
	if (r == -1)
		return cli_fail("%s: %s", id, strerror(errno));
	return r == 0 ? 0 : 1;
}

static int
cmd_queue_hold_fn(struct spool_env *env, void *arg)
{
	bool hold = *(const bool *)arg;

	if (env->held == hold)
		return hold ? 0 : CMD_QUEUE_NOTIFY;
	env->held = hold;
	return CMD_QUEUE_WRITE | (hold ? 0 : CMD_QUEUE_NOTIFY);
}

struct cmd_queue_retry {
	const char *domain;	/* NULL: every pending recipient */
	size_t matched;		/* pending recipients made due, all messages */
	size_t messages;	/* messages with such recipients */
};

static bool
cmd_queue_in_domain(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

static int
cmd_queue_retry_fn(struct spool_env *env, void *arg)
{
	struct cmd_queue_retry *rt = arg;
	size_t i, matched = 0;
	bool changed = false;

	for (i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING || (rt->domain != NULL &&
		    !cmd_queue_in_domain(r->addr, rt->domain)))
			continue;
		matched++;
		changed |= r->next_attempt != 0;
		r->next_attempt = 0;
	}
	rt->matched += matched;
	if (matched == 0)
		return 0;
	rt->messages++;
	return CMD_QUEUE_NOTIFY | (changed ? CMD_QUEUE_WRITE : 0);
}

static int
cmd_queue_bounce_fn(struct spool_env *env, void *arg)
{
	size_t i, *n = arg;
	char *why;

	for (i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING)
			continue;
		/* The sender learns why it was stuck as well. */
		why = r->last_error != NULL ? xasprintf("%s (last error: %s)",
		    CMD_QUEUE_BOUNCED, r->last_error) : xstrdup(
		    CMD_QUEUE_BOUNCED);
		free(r->last_error);
		r->last_error = why;
		r->state = SPOOL_RCPT_FAILED;
		r->next_attempt = 0;
		(*n)++;
	}
	if (*n == 0) {
		cli_fail("%s: no pending recipients to bounce", env->id);
		return -1;
	}
	/* A held message is never looked at: the bounce would wait. */
	env->held = false;
	return CMD_QUEUE_WRITE | CMD_QUEUE_NOTIFY;
}

static int
cmd_queue_hold(struct cmd_queue *q, const char *id)
{
	bool hold = true;

	return cmd_queue_modify(q, id, cmd_queue_hold_fn, &hold);
}

static int
cmd_queue_release(struct cmd_queue *q, const char *id)
{
	bool hold = false;

	return cmd_queue_modify(q, id, cmd_queue_hold_fn, &hold);
}

static int
cmd_queue_bounce(struct cmd_queue *q, const char *id)
{
	size_t n = 0;
	int r;

	if ((r = cmd_queue_modify(q, id, cmd_queue_bounce_fn, &n)) == 0)
		printf("%s: %zu recipient%s marked failed; the queue sends "
		    "the bounce\n", id, n, n == 1 ? "" : "s");
	return r;
}

/* retry --all, retry --domain D: every message, missing ones skipped. */
static int
cmd_queue_retry_many(struct cmd_queue *q, struct cmd_queue_retry *rt)
{
	struct cmd_queue_ids ids = { NULL, 0, 0 };
	size_t i;
	int r = 0;

	if (spool_scan(q->spool_dir, false, cmd_queue_collect, &ids) < 0) {
		free(ids.v);
		return cli_fail("%s: %s", q->spool_dir, strerror(errno));
	}
	for (i = 0; i < ids.n && r == 0; i++)
		if (cmd_queue_apply(q, ids.v[i], cmd_queue_retry_fn, rt) < 0 &&
		    errno != ENOENT)	/* gone meanwhile: fine */
			r = cli_fail("%s: %s", ids.v[i], strerror(errno));
	free(ids.v);
	return r;
}

static int
cmd_queue_retry(struct cmd_queue *q, int argc, char **argv)
{
	struct cmd_queue_retry rt = { NULL, 0, 0 };
	char domain[256];
	const char *error;
	int r;

	if (argc == 4) {
		if (resolve_parse_domain(argv[3], domain, sizeof(domain),
		    &error) < 0)
			return cli_fail("%s: %s", argv[3], error);
		rt.domain = domain;
	}
	if (argc == 4 || strcmp(argv[2], "--all") == 0)
		r = cmd_queue_retry_many(q, &rt);
	else
		r = cmd_queue_modify(q, argv[2], cmd_queue_retry_fn, &rt);
	if (r == 0)
		printf("%zu recipient%s in %zu message%s to be retried now\n",
		    rt.matched, rt.matched == 1 ? "" : "s", rt.messages,
		    rt.messages == 1 ? "" : "s");
	return r;
}

/* ---- command line ---- */

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
	struct cmd_queue q = { cli, "", false };
	const char *verb;

	q.json = cli_take_flag(&argc, argv, "--json");
	verb = argc > 1 ? argv[1] : "";
	if (!cmd_queue_args_ok(verb, argc, argv, q.json))
		return cli_usage(CMD_QUEUE_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	if (conf_state_path(&cli->conf, q.spool_dir, sizeof(q.spool_dir),
	    FERRY_SPOOL_DIR) < 0)
		return cli_fail("state_dir too long");
	if (strcmp(verb, "list") == 0)
		return cmd_queue_list(q.spool_dir, q.json);
	if (strcmp(verb, "show") == 0)
		return cmd_queue_show(&q, argv[2]);
	if (cmd_queue_become(&cli->conf) != 0)
		return 1;
	if (strcmp(verb, "delete") == 0)
		return cmd_queue_delete(&q, argv[2]);
	if (strcmp(verb, "hold") == 0)
		return cmd_queue_hold(&q, argv[2]);
	if (strcmp(verb, "release") == 0)
		return cmd_queue_release(&q, argv[2]);
	if (strcmp(verb, "bounce") == 0)
		return cmd_queue_bounce(&q, argv[2]);
	return cmd_queue_retry(&q, argc, argv);
}
