/* `ferry why --ip IP | --from ADDRESS | --to ADDRESS | --user ADDRESS
 * | --id ID | --domain DOMAIN [--since DURATION] [--all-nodes] [--json]`:
 * for --id, --to and --domain, the delivery history the queue keeps in
 * the store (ops/ops_history.h: arrival, each attempt with its reply,
 * the next attempt, when it will be given up, the outcome; printed by
 * cmd_why_history.c), which needs no log file; --all-nodes shows every
 * node's on a shared store.  And it
 * answers "why was this mail refused" from Ferry's own log (log_file).
 * It reads the smtpd lines of each session (connected, the pipeline's
 * `policy decision` lines, the session's own `smtp reject` lines,
 * `smtp accepted`) and prints, per matching session, each message that
 * was accepted with its queue id and each refusal with its stage, the
 * check and rule that decided, and the reply.  Connections refused
 * before a session existed (limits, bans) are shown for --ip.  For --to
 * it also reads the queue's lines about that recipient: each delivery
 * attempt (`relay delivery`: the host, TLS, fallback relay and the
 * remote answer or network error) and each outcome (`queue delivered`:
 * delivered, deferred with the next attempt, failed and bounced), so mail
 * that was accepted and then waits shows why.  For --user (an
 * authenticated sender) it shows the sessions that user logged in to,
 * each automatic stop (`smtp send-stop`, `queue send-stop`) and the
 * account's sending state from the store (ops_send.h).  The reading is
 * src/ops/ops_why.c, shared with the /why page: this file parses the
 * arguments and prints. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/cmd_why.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_send.h"
#include "ops/ops_why.h"
#include "store/store.h"

#define CMD_WHY_USAGE \
	"why --ip IP | --from ADDRESS | --to ADDRESS | --user ADDRESS | " \
	"--id ID | --domain DOMAIN [--since DURATION] [--all-nodes] [--json]"

/* The question beyond the log's (struct ops_why). */
struct cmd_why_q {
	const char *id, *domain;
	bool all_nodes, json;
};

static void
cmd_why_print_event(const struct ops_why_event *e)
{
	if (e->kind == OPS_WHY_ACCEPTED) {
		printf("  %s accepted id=%s from=<%s> to=%s\n", e->time, e->id,
		    e->from, e->rcpts[0] != '\0' ? e->rcpts : "-");
		return;
	}
	if (e->kind == OPS_WHY_CONNREFUSED) {
		printf("  %s refused stage=connect before the session: %s\n",
		    e->time, e->reply);
		return;
	}
	printf("  %s refused stage=%s check=%s rule=%s", e->time, e->stage,
	    e->check, e->rule[0] != '\0' ? e->rule : "-");
	if (e->from[0] != '\0')
		printf(" from=<%s>", e->from);
	if (e->rcpt[0] != '\0')
		printf(" to=<%s>", e->rcpt);
	printf(" reply=\"%s\"\n", e->reply);
}

/* Prints the matching sessions; the number printed. */
static int
cmd_why_print(const struct ops_why *w)
{
	int n = 0;

	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order) {
		if (!s->matched)
			continue;
		printf("session %s %s ip=%s\n", s->sid[0] == '-' ? "-" :
		    s->sid, s->time, s->ip[0] != '\0' ? s->ip : "?");
		if (s->nev == 0)
			printf("  no message accepted or refused\n");
		for (size_t i = 0; i < s->nev; i++)
			cmd_why_print_event(&s->ev[i]);
		n++;
	}
	return n;
}

/* The queue's lines about the --to recipient, of messages the history
 * does not name; the number printed. */
static int
cmd_why_print_delivs(const struct ops_why *w, const struct ops_history *h)
{
	int n = 0;

	for (size_t i = 0; i < w->ndv; i++) {
		const struct ops_why_deliv *d = &w->dv[i];

		if (ops_history_has(h, d->id))
			continue;
		if (n++ == 0)
			printf("deliveries to <%s> (from the log)\n", w->to);
		if (d->attempt) {
			printf("  %s attempt id=%s result=%s relay=%s", d->time,
			    d->id, d->result, d->relay[0] != '\0' ? d->relay :
			    "-");
			if (d->via[0] != '\0')
				printf(" via=%s", d->via);
			if (d->tls[0] != '\0')
				printf(" tls=%s", d->tls);
		} else {
			printf("  %s %s id=%s", d->time, d->result, d->id);
			if (d->mailbox[0] != '\0')
				printf(" mailbox=%s", d->mailbox);
			if (d->attempts[0] != '\0')
				printf(" attempts=%s", d->attempts);
			if (d->next_in[0] != '\0')
				printf(" next_attempt_in=%s", d->next_in);
			if (strcmp(d->result, "failed") == 0)
				printf(" (given up)");
		}
		if (d->reason[0] != '\0')
			printf(" reply=\"%s\"", d->reason);
		putchar('\n');
	}
	return n;
}

/* Options into w: 0, or the exit status. */
static int
cmd_why_opts(struct ops_why *w, struct cmd_why_q *q, int argc, char **argv)
{
	uint64_t dur;

	q->all_nodes = cli_take_flag(&argc, argv, "--all-nodes");
	q->json = cli_take_flag(&argc, argv, "--json");
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return cli_usage("%s", CMD_WHY_USAGE);
		if (strcmp(argv[i], "--ip") == 0)
			w->ip = argv[i + 1];
		else if (strcmp(argv[i], "--from") == 0)
			w->from = argv[i + 1];
		else if (strcmp(argv[i], "--to") == 0)
			w->to = argv[i + 1];
		else if (strcmp(argv[i], "--user") == 0)
			w->user = argv[i + 1];
		else if (strcmp(argv[i], "--id") == 0)
			q->id = argv[i + 1];
		else if (strcmp(argv[i], "--domain") == 0)
			q->domain = argv[i + 1];
		else if (strcmp(argv[i], "--since") == 0) {
			if (str_parse_duration(argv[i + 1], &dur) < 0)
				return cli_usage("%s", CMD_WHY_USAGE);
			w->since = time(NULL) - (time_t)dur;
		} else
			return cli_usage("%s", CMD_WHY_USAGE);
	}
	/* --id and --domain ask the history alone. */
	if ((q->id != NULL) + (q->domain != NULL) + (w->ip != NULL ||
	    w->from != NULL || w->to != NULL || w->user != NULL) != 1)
		return cli_usage("%s", CMD_WHY_USAGE);
	return 0;
}

/* --user: the automatic stops found in the log. */
static void
cmd_why_print_stops(const struct ops_why *w)
{
	if (w->nstops == 0)
		return;
	printf("automatic stops of %s\n", w->user);
	for (size_t i = 0; i < w->nstops; i++) {
		const struct ops_why_stop *t = &w->stops[i];

		printf("  %s stopped by %s (%s %s): %s; %s queued message(s) "
		    "held, postmaster notice %s\n", t->time, t->by_smtpd ?
		    "smtpd" : "queue", t->by_smtpd ? "session" : "message",
		    t->id, t->reason, t->held[0] ? t->held : "?",
		    t->notice[0] ? t->notice : "none");
	}
}

/* --user: the stops found in the log, then the account's state now.
 * The number of lines printed, or -1 after printing an error. */
static int
cmd_why_print_user(struct cli *cli, const struct ops_why *w)
{
	struct ops_send_info i;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	cmd_why_print_stops(w);
	if (cli_open_store(cli, &s) < 0)
		return -1;
	cli_ops_ctx(cli, s, &a, &c);
	r = ops_send_info(&c, w->user, &i, &st);
	store_close(&s);
	if (r < 0) {
		cli_fail("%s", st.text);
		return -1;
	}
	printf("%s now: %s", i.subject, i.held ? "on send-hold" :
	    "may send");
	if (i.held) {
		time_t t = (time_t)i.hold.since;
		char when[32];
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf(" (%s, since %s): %s", i.hold.automatic ?
		    "automatic" : "by hand", when, i.hold.reason);
	}
	printf("\n  messages in the last hour %lld (limit %lld), recipients "
	    "in the last day %lld (limit %lld), bounces %lld, spam verdicts "
	    "%lld; normal %.1f messages an hour, stopped at %lld\n",
	    (long long)i.msgs_hour, (long long)i.msgs_limit,
	    (long long)i.rcpts_day, (long long)i.rcpts_limit,
	    (long long)i.bounces_day, (long long)i.spam_day, i.normal,
	    (long long)i.stop_at);
	return 1;
}

/* The history's answer to the question (--id, --domain or --to) into
 * h: 0 (also when the question is the log's alone), or the exit status
 * after printing why. */
static int
cmd_why_history(struct cli *cli, const struct ops_why *w,
    const struct cmd_why_q *q, struct ops_history *h)
{
	enum store_hist_by by = q->id != NULL ? STORE_HIST_BY_ID :
	    q->domain != NULL ? STORE_HIST_BY_DOMAIN : STORE_HIST_BY_RCPT;
	const char *key = q->id != NULL ? q->id : q->domain != NULL ?
	    q->domain : w->to;
	struct ops_actor actor;
	struct ops_status st;
	struct store *s;
	int r;

	memset(h, 0, sizeof(*h));
	if (key == NULL)
		return 0;
	ops_actor_cli(&actor);
	if (ops_history_check(&actor, by, key, &st) < 0)
		return st.code == OPS_EUSAGE ? cli_usage("%s", CMD_WHY_USAGE) :
		    cli_fail("%s: %s", key, st.text);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	r = ops_history_read(&actor, s, &cli->conf, by, key, q->all_nodes, h,
	    &st);
	store_close(&s);
	if (r < 0)
		return cli_fail("%s", st.text);
	return 0;
}

/* The log's answer into w, when there is a log to read or the question
 * is the log's alone: 0, or the exit status after printing why. */
static int
cmd_why_log(struct cli *cli, struct ops_why *w, const struct cmd_why_q *q,
    bool *read_r)
{
	struct ops_actor actor;
	struct ops_status st;

	*read_r = false;
	if (q->id != NULL || q->domain != NULL)
		return 0;
	/* Without a log file, --to is answered by the history alone. */
	if (cli->conf.log_file[0] == '\0' && w->to != NULL &&
	    w->ip == NULL && w->from == NULL && w->user == NULL)
		return 0;
	ops_actor_cli(&actor);
	if (ops_why_read(&actor, cli->conf.log_file, w, &st) < 0)
		return cli_fail("%s", st.text);
	*read_r = true;
	return 0;
}

static void
cmd_why_json(const struct ops_why *w, const struct ops_history *h)
{
	struct fbuf b;
	struct json j;

	fbuf_init(&b, 0);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "messages");
	cmd_why_json_history(&j, h);
	cmd_why_json_log(&j, w, h);
	json_object_end(&j);
	fwrite(b.data, 1, b.len, stdout);
	putchar('\n');
	fbuf_release(&b);
}

int
cmd_why(struct cli *cli, int argc, char **argv)
{
	struct ops_why *w = xcalloc(1, sizeof(*w));
	struct ops_history h;
	struct cmd_why_q q;
	bool logged;
	int ret, n;

	memset(&q, 0, sizeof(q));
	memset(&h, 0, sizeof(h));
	if ((ret = cmd_why_opts(w, &q, argc, argv)) != 0)
		goto out;
	if (cli_load_conf(cli) < 0) {
		ret = 1;
		goto out;
	}
	if ((ret = cmd_why_log(cli, w, &q, &logged)) != 0 ||
	    (ret = cmd_why_history(cli, w, &q, &h)) != 0)
		goto out;
	if (q.json) {
		cmd_why_json(w, &h);
		if (w->user != NULL && cmd_why_print_user(cli, w) < 0)
			ret = 1;
		goto out;
	}
	if (w->user != NULL) {
		/* The user's state is worth showing without any session. */
		cmd_why_print(w);
		if (cmd_why_print_user(cli, w) < 0)
			ret = 1;
		goto out;
	}
	n = cmd_why_print(w) + cmd_why_print_history(&h) +
	    cmd_why_print_delivs(w, &h);
	if (n == 0 && logged)
		ret = cli_fail("no matching session in %s%s",
		    cli->conf.log_file, w->to != NULL ? " and nothing in the "
		    "delivery history" : "");
	else if (n == 0)
		ret = cli_fail("nothing in the delivery history about %s",
		    q.id != NULL ? q.id : q.domain != NULL ? q.domain : w->to);
out:
	ops_history_free(&h);
	ops_why_free(w);
	free(w);
	return ret;
}
