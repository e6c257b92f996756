/* `ferry queue list|show|delete`: reads the spool directly under
 * state_dir/spool (no running server needed, no store).  `list` and
 * `show` never change anything; `delete` removes envelope then content,
 * so a queue role in the middle of a delivery sees the message vanish and
 * never writes it back (spool_env_update refuses a missing envelope).
 * Hold, release and retry come with the next queue features. */
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
#include "queue/spool.h"

#define CMD_QUEUE_USAGE "queue list [--json] | show ID | delete ID"
#define CMD_QUEUE_HEADER_MAX 65536

static const char *cmd_queue_states[] = {
	"pending", "done", "failed", "bounced"
};

struct cmd_queue_ids {
	char (*v)[IDS_LEN + 1];
	size_t n, cap;
};

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

static void
cmd_queue_json(const struct spool_env *env, bool first)
{
	size_t i;

	fputs(first ? "\n  {\"id\": " : ",\n  {\"id\": ", stdout);
	cli_json_str(env->id);
	printf(", \"arrival\": %lld, \"sender\": ", (long long)env->arrival);
	cli_json_str(env->sender);
	printf(", \"size\": %llu, \"held\": %s, \"recipients\": [",
	    (unsigned long long)env->size, env->held ? "true" : "false");
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
			cmd_queue_json(&env, shown == 0);
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

static int
cmd_queue_show(const char *spool_dir, const char *id)
{
	struct spool_env env;
	char when[64];
	struct tm tm;
	size_t i;

	if (!ids_valid(id) || spool_env_read(spool_dir, id, &env) < 0) {
		if (!ids_valid(id) || errno == ENOENT)
			return cli_fail("no such message");
		return cli_fail("%s: %s", id, strerror(errno));
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
	cmd_queue_print_headers(spool_dir, id);
	spool_env_free(&env);
	return 0;
}

/* ---- delete ---- */

static int
cmd_queue_delete(const char *spool_dir, const char *id)
{
	if (!ids_valid(id))
		return cli_fail("no such message");
	if (spool_remove(spool_dir, id) < 0) {
		if (errno == ENOENT)
			return cli_fail("no such message");
		return cli_fail("%s: %s", id, strerror(errno));
	}
	return 0;
}

int
cmd_queue(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	char spool_dir[PATH_MAX];

	if (!((strcmp(verb, "list") == 0 && argc == 2) ||
	    ((strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0) &&
	    argc == 3 && !json)))
		return cli_usage(CMD_QUEUE_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	if (conf_state_path(&cli->conf, spool_dir, sizeof(spool_dir),
	    FERRY_SPOOL_DIR) < 0)
		return cli_fail("state_dir too long");
	if (strcmp(verb, "list") == 0)
		return cmd_queue_list(spool_dir, json);
	if (strcmp(verb, "show") == 0)
		return cmd_queue_show(spool_dir, argv[2]);
	return cmd_queue_delete(spool_dir, argv[2]);
}
