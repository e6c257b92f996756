/* `ferry why --ip IP | --from ADDRESS | --to ADDRESS | --user ADDRESS
 * [--since DURATION]`:
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
 * account's sending state from the store (ops_send.h).  It only reads:
 * the log format is the contract (STYLE.md "Logging format"). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_send.h"
#include "store/store.h"

#define CMD_WHY_USAGE \
	"why --ip IP | --from ADDRESS | --to ADDRESS | --user ADDRESS " \
	"[--since DURATION]"
#define CMD_WHY_LINE 16384
#define CMD_WHY_BUCKETS 4096
#define CMD_WHY_MAX_EVENTS 200		/* kept per session */
#define CMD_WHY_MAX_DELIVS 2000		/* queue lines kept for --to */
#define CMD_WHY_REPLY_MAX 600

enum cmd_why_kind { WHY_REFUSED, WHY_ACCEPTED, WHY_CONNREFUSED };

struct cmd_why_event {
	enum cmd_why_kind kind;
	char time[32];
	char stage[12], check[32], rule[24], reply[360];
	char from[322], rcpt[322], id[24];
	char *rcpts;			/* accepted: "a, b" (malloc'd) */
};

struct cmd_why_session {
	struct cmd_why_session *next;	/* hash chain */
	struct cmd_why_session *order;	/* in order of appearance */
	char sid[IDS_LEN + 1];
	char time[32];
	char ip[64];
	char from[322];			/* current transaction */
	struct fbuf tx_rcpts;
	bool matched;
	struct cmd_why_event *ev;
	size_t nev;
};

/* One queue line about the --to recipient. */
struct cmd_why_deliv {
	char time[32], id[IDS_LEN + 1];
	bool attempt;			/* relay delivery, else queue outcome */
	char result[16], relay[300], via[32], tls[96];
	char reason[CMD_WHY_REPLY_MAX], next_in[24], attempts[12];
	char mailbox[330];
};

struct cmd_why {
	const char *ip, *from, *to, *user;
	struct fbuf stops;		/* --user: its send-stop lines */
	struct cmd_why_deliv *dv;
	size_t ndv;
	time_t since;
	struct cmd_why_session *b[CMD_WHY_BUCKETS];
	struct cmd_why_session *first, *last;
	unsigned nrefused;
};

/* The value of key in a "k=v k2="quoted \"v\"" line, unescaped into dst.
 * Quoted values are skipped as a whole, so text inside a reason never
 * passes for a key.  True when found. */
static bool
cmd_why_kv(const char *line, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key), k;
	const char *p = line;
	bool hit;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		hit = strncmp(p, key, klen) == 0 && p[klen] == '=';
		while (*p != '\0' && *p != ' ' && *p != '=')
			p++;
		if (*p != '=')
			continue;
		p++;
		k = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (hit && k + 1 < size)
					dst[k++] = *p;
			}
			if (*p == '"')
				p++;
		} else
			for (; *p != '\0' && *p != ' '; p++)
				if (hit && k + 1 < size)
					dst[k++] = *p;
		if (hit) {
			dst[k] = '\0';
			return true;
		}
	}
	return false;
}

static struct cmd_why_session *
cmd_why_session(struct cmd_why *w, const char *sid, bool create)
{
	unsigned h = 0;
	struct cmd_why_session *s;

	for (const char *p = sid; *p != '\0'; p++)
		h = h * 31 + (unsigned char)*p;
	h %= CMD_WHY_BUCKETS;
	for (s = w->b[h]; s != NULL; s = s->next)
		if (strcmp(s->sid, sid) == 0)
			return s;
	if (!create)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	str_lcpy(s->sid, sid, sizeof(s->sid));
	fbuf_init(&s->tx_rcpts, 64 * 1024);
	s->next = w->b[h];
	w->b[h] = s;
	if (w->last != NULL)
		w->last->order = s;
	else
		w->first = s;
	w->last = s;
	return s;
}

static void
cmd_why_free(struct cmd_why *w)
{
	struct cmd_why_session *s, *next;

	for (s = w->first; s != NULL; s = next) {
		next = s->order;
		for (size_t i = 0; i < s->nev; i++)
			free(s->ev[i].rcpts);
		free(s->ev);
		fbuf_release(&s->tx_rcpts);
		free(s);
	}
	free(w->dv);
	fbuf_release(&w->stops);
}

/* "<a@b>" -> "a@b" into dst. */
static void
cmd_why_bare(const char *src, char *dst, size_t size)
{
	size_t n;

	str_lcpy(dst, src[0] == '<' ? src + 1 : src, size);
	n = strlen(dst);
	if (n > 0 && dst[n - 1] == '>')
		dst[n - 1] = '\0';
}

/* "<a@b>" or "a@b" names addr, case-blind. */
static bool
cmd_why_addr_eq(const char *logged, const char *addr)
{
	char a[330], b[330];

	cmd_why_bare(logged, a, sizeof(a));
	cmd_why_bare(addr, b, sizeof(b));
	return str_ieq(a, b);
}

static void
cmd_why_match(struct cmd_why *w, struct cmd_why_session *s, const char *from,
    const char *rcpt)
{
	if (w->ip != NULL && strcmp(s->ip, w->ip) == 0)
		s->matched = true;
	if (w->from != NULL && from != NULL && from[0] != '\0' &&
	    cmd_why_addr_eq(from, w->from))
		s->matched = true;
	if (w->to != NULL && rcpt != NULL && rcpt[0] != '\0' &&
	    cmd_why_addr_eq(rcpt, w->to))
		s->matched = true;
}

static struct cmd_why_event *
cmd_why_event_new(struct cmd_why_session *s, enum cmd_why_kind kind,
    const char *time)
{
	struct cmd_why_event *e;

	if (s->nev >= CMD_WHY_MAX_EVENTS)
		return NULL;
	s->ev = xreallocarray(s->ev, s->nev + 1, sizeof(*s->ev));
	e = &s->ev[s->nev++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	str_lcpy(e->time, time, sizeof(e->time));
	return e;
}

/* The reply as the client saw it: "554 5.7.1 text". */
static void
cmd_why_reply(const char *kv, struct cmd_why_event *e)
{
	char code[8] = "", dsn[16] = "", reason[300] = "";

	cmd_why_kv(kv, "code", code, sizeof(code));
	cmd_why_kv(kv, "dsn", dsn, sizeof(dsn));
	cmd_why_kv(kv, "reason", reason, sizeof(reason));
	snprintf(e->reply, sizeof(e->reply), "%s%s%s%s%s", code,
	    dsn[0] ? " " : "", dsn, reason[0] ? " " : "", reason);
}

/* A refusal by the pipeline or by the session itself. */
static void
cmd_why_refused(struct cmd_why *w, struct cmd_why_session *s,
    const char *time, const char *kv, const char *dflt_check)
{
	struct cmd_why_event *e = cmd_why_event_new(s, WHY_REFUSED, time);
	char from[322];

	if (e == NULL)
		return;
	cmd_why_kv(kv, "stage", e->stage, sizeof(e->stage));
	if (!cmd_why_kv(kv, "check", e->check, sizeof(e->check)))
		str_lcpy(e->check, dflt_check, sizeof(e->check));
	cmd_why_kv(kv, "rule", e->rule, sizeof(e->rule));
	if (cmd_why_kv(kv, "from", from, sizeof(from)))
		cmd_why_bare(from, e->from, sizeof(e->from));
	else if (strcmp(e->stage, "connect") != 0 &&
	    strcmp(e->stage, "helo") != 0)
		str_lcpy(e->from, s->from, sizeof(e->from));
	if (cmd_why_kv(kv, "rcpt", from, sizeof(from)))
		cmd_why_bare(from, e->rcpt, sizeof(e->rcpt));
	cmd_why_reply(kv, e);
	cmd_why_match(w, s, e->from, e->rcpt);
}

static void
cmd_why_accepted(struct cmd_why *w, struct cmd_why_session *s,
    const char *time, const char *kv)
{
	struct cmd_why_event *e = cmd_why_event_new(s, WHY_ACCEPTED, time);
	char from[322];

	if (e == NULL)
		return;
	cmd_why_kv(kv, "id", e->id, sizeof(e->id));
	if (cmd_why_kv(kv, "from", from, sizeof(from)))
		cmd_why_bare(from, e->from, sizeof(e->from));
	e->rcpts = xstrdup(fbuf_str(&s->tx_rcpts));
	cmd_why_match(w, s, e->from, NULL);
	fbuf_reset(&s->tx_rcpts);
}

/* `policy decision`: refusals, and the transaction's sender and
 * accepted recipients for the accepted line that follows. */
static void
cmd_why_decision(struct cmd_why *w, struct cmd_why_session *s,
    const char *time, const char *kv)
{
	char stage[12] = "", verdict[12] = "", addr[322], bare[322];

	cmd_why_kv(kv, "stage", stage, sizeof(stage));
	cmd_why_kv(kv, "verdict", verdict, sizeof(verdict));
	if (strcmp(verdict, "reject") == 0 ||
	    strcmp(verdict, "tempfail") == 0) {
		cmd_why_refused(w, s, time, kv, "-");
		return;
	}
	if (strcmp(stage, "mail") == 0 &&
	    cmd_why_kv(kv, "from", addr, sizeof(addr))) {
		cmd_why_bare(addr, s->from, sizeof(s->from));
		fbuf_reset(&s->tx_rcpts);
		cmd_why_match(w, s, s->from, NULL);
	} else if (strcmp(stage, "rcpt") == 0 &&
	    cmd_why_kv(kv, "rcpt", addr, sizeof(addr))) {
		cmd_why_bare(addr, bare, sizeof(bare));
		fbuf_addf(&s->tx_rcpts, "%s%s", s->tx_rcpts.len ? ", " : "",
		    bare);
		cmd_why_match(w, s, NULL, bare);
	}
}

/* "2026-11-22T15:11:19.123Z" -> Unix time, or -1. */
static time_t
cmd_why_time(const char *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return -1;
	return timegm(&tm);
}

/* "- smtp refused address=IP reason=..." (no session yet). */
static void
cmd_why_connrefused(struct cmd_why *w, const char *time, const char *kv)
{
	struct cmd_why_session *s;
	struct cmd_why_event *e;
	char ip[64] = "", sid[IDS_LEN + 1];

	cmd_why_kv(kv, "address", ip, sizeof(ip));
	if (w->ip == NULL || strcmp(ip, w->ip) != 0)
		return;
	/* One pseudo-session per refused connection. */
	snprintf(sid, sizeof(sid), "-%015x", ++w->nrefused);
	s = cmd_why_session(w, sid, true);
	str_lcpy(s->time, time, sizeof(s->time));
	str_lcpy(s->ip, ip, sizeof(s->ip));
	s->matched = true;
	if ((e = cmd_why_event_new(s, WHY_CONNREFUSED, time)) != NULL) {
		str_lcpy(e->stage, "connect", sizeof(e->stage));
		cmd_why_kv(kv, "reason", e->reply, sizeof(e->reply));
	}
}

/* "<qid> relay delivery rcpt=..." or "<qid> queue delivered|deferred|
 * failed rcpt=..."
 * for the --to recipient. */
static void
cmd_why_deliv_line(struct cmd_why *w, const char *time, const char *qid,
    const char *kv, bool attempt)
{
	struct cmd_why_deliv *d;
	char rcpt[330] = "";

	cmd_why_kv(kv, "rcpt", rcpt, sizeof(rcpt));
	if (w->to == NULL || !cmd_why_addr_eq(rcpt, w->to) ||
	    w->ndv >= CMD_WHY_MAX_DELIVS)
		return;
	w->dv = xreallocarray(w->dv, w->ndv + 1, sizeof(*w->dv));
	d = &w->dv[w->ndv++];
	memset(d, 0, sizeof(*d));
	str_lcpy(d->time, time, sizeof(d->time));
	str_lcpy(d->id, qid, sizeof(d->id));
	d->attempt = attempt;
	cmd_why_kv(kv, "result", d->result, sizeof(d->result));
	cmd_why_kv(kv, "relay", d->relay, sizeof(d->relay));
	cmd_why_kv(kv, "via", d->via, sizeof(d->via));
	cmd_why_kv(kv, "tls", d->tls, sizeof(d->tls));
	if (!cmd_why_kv(kv, "reply", d->reason, sizeof(d->reason)))
		cmd_why_kv(kv, "reason", d->reason, sizeof(d->reason));
	cmd_why_kv(kv, "next_in", d->next_in, sizeof(d->next_in));
	cmd_why_kv(kv, "attempts", d->attempts, sizeof(d->attempts));
	cmd_why_kv(kv, "mailbox", d->mailbox, sizeof(d->mailbox));
}

/* "smtp auth user=..." and "smtp|queue send-stop user=..." for --user:
 * true when the line was one of them. */
static bool
cmd_why_user_line(struct cmd_why *w, const char *time, const char *sid,
    const char *rest)
{
	char user[330] = "", reason[300] = "", held[24] = "", notice[40] = "";
	bool smtp_stop = strncmp(rest, "smtp send-stop ", 15) == 0;
	bool queue_stop = strncmp(rest, "queue send-stop ", 16) == 0;
	struct cmd_why_session *s;

	if (w->user == NULL || (!smtp_stop && !queue_stop &&
	    strncmp(rest, "smtp auth ", 10) != 0))
		return false;
	cmd_why_kv(rest, "user", user, sizeof(user));
	if (!cmd_why_addr_eq(user, w->user))
		return true;
	if (!smtp_stop && !queue_stop) {
		if ((s = cmd_why_session(w, sid, false)) != NULL)
			s->matched = true;
		return true;
	}
	cmd_why_kv(rest, "reason", reason, sizeof(reason));
	cmd_why_kv(rest, "held_messages", held, sizeof(held));
	cmd_why_kv(rest, "notice", notice, sizeof(notice));
	fbuf_addf(&w->stops, "  %s stopped by %s (%s %s): %s; %s queued "
	    "message(s) held, postmaster notice %s\n", time, smtp_stop ?
	    "smtpd" : "queue", smtp_stop ? "session" : "message", sid, reason,
	    held[0] ? held : "?", notice[0] ? notice : "none");
	return true;
}

/* One session line: "<sid> <module> <event> key=value ...". */
static void
cmd_why_session_line(struct cmd_why *w, const char *time, const char *sid,
    const char *rest)
{
	struct cmd_why_session *s;
	bool connected = strncmp(rest, "smtp connected ", 15) == 0;

	if (cmd_why_user_line(w, time, sid, rest))
		return;

	if (strncmp(rest, "relay delivery ", 15) == 0) {
		cmd_why_deliv_line(w, time, sid, rest + 15, true);
		return;
	}
	/* The queue's outcome: "queue delivered", "queue deferred" or
	 * "queue failed" (result= says the same). */
	if (strncmp(rest, "queue delivered ", 16) == 0 ||
	    strncmp(rest, "queue failed ", 13) == 0 ||
	    strncmp(rest, "queue deferred ", 15) == 0) {
		cmd_why_deliv_line(w, time, sid, strchr(rest + 6, ' ') + 1,
		    false);
		return;
	}
	s = cmd_why_session(w, sid, connected);
	if (s == NULL)
		return;
	if (connected) {
		str_lcpy(s->time, time, sizeof(s->time));
		cmd_why_kv(rest, "address", s->ip, sizeof(s->ip));
		cmd_why_match(w, s, NULL, NULL);
	} else if (strncmp(rest, "smtp reject ", 12) == 0)
		cmd_why_refused(w, s, time, rest + 12, "smtp");
	else if (strncmp(rest, "smtp accepted ", 14) == 0)
		cmd_why_accepted(w, s, time, rest + 14);
	else if (strncmp(rest, "policy decision ", 16) == 0)
		cmd_why_decision(w, s, time, rest + 16);
}

static void
cmd_why_line(struct cmd_why *w, char *line)
{
	char *sp, *rest, sid[IDS_LEN + 1];
	time_t t;

	line[strcspn(line, "\r\n")] = '\0';
	sp = strchr(line, ' ');
	rest = sp != NULL ? strstr(sp, "]: ") : NULL;
	if (rest == NULL)
		return;
	*sp = '\0';
	if (w->since > 0 && ((t = cmd_why_time(line)) < 0 || t < w->since))
		return;
	rest += 3;
	if (strncmp(rest, "debug: ", 7) == 0)
		rest += 7;
	else if (strncmp(rest, "warning: ", 9) == 0)
		rest += 9;		/* the send-stop lines */
	if (strncmp(rest, "- smtp refused ", 15) == 0) {
		cmd_why_connrefused(w, line, rest + 15);
		return;
	}
	if (strlen(rest) <= IDS_LEN || rest[IDS_LEN] != ' ')
		return;
	memcpy(sid, rest, IDS_LEN);
	sid[IDS_LEN] = '\0';
	if (ids_valid(sid))
		cmd_why_session_line(w, line, sid, rest + IDS_LEN + 1);
}

static void
cmd_why_print_event(const struct cmd_why_event *e)
{
	if (e->kind == WHY_ACCEPTED) {
		printf("  %s accepted id=%s from=<%s> to=%s\n", e->time, e->id,
		    e->from, e->rcpts[0] != '\0' ? e->rcpts : "-");
		return;
	}
	if (e->kind == WHY_CONNREFUSED) {
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
cmd_why_print(const struct cmd_why *w)
{
	int n = 0;

	for (const struct cmd_why_session *s = w->first; s != NULL;
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

/* The queue's lines about the --to recipient; the number printed. */
static int
cmd_why_print_delivs(const struct cmd_why *w)
{
	if (w->ndv == 0)
		return 0;
	printf("deliveries to <%s>\n", w->to);
	for (size_t i = 0; i < w->ndv; i++) {
		const struct cmd_why_deliv *d = &w->dv[i];

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
	return (int)w->ndv;
}

/* Options into w: 0, or the exit status. */
static int
cmd_why_opts(struct cmd_why *w, int argc, char **argv)
{
	uint64_t dur;

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
		else if (strcmp(argv[i], "--since") == 0) {
			if (str_parse_duration(argv[i + 1], &dur) < 0)
				return cli_usage("%s", CMD_WHY_USAGE);
			w->since = time(NULL) - (time_t)dur;
		} else
			return cli_usage("%s", CMD_WHY_USAGE);
	}
	if (w->ip == NULL && w->from == NULL && w->to == NULL &&
	    w->user == NULL)
		return cli_usage("%s", CMD_WHY_USAGE);
	return 0;
}

/* --user: the stops found in the log, then the account's state now.
 * The number of lines printed, or -1 after printing an error. */
static int
cmd_why_print_user(struct cli *cli, const struct cmd_why *w)
{
	struct ops_send_info i;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	if (w->stops.len > 0)
		printf("automatic stops of %s\n%s", w->user,
		    fbuf_str(&w->stops));
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

int
cmd_why(struct cli *cli, int argc, char **argv)
{
	struct cmd_why *w = xcalloc(1, sizeof(*w));
	char *line = xmalloc(CMD_WHY_LINE);
	FILE *f = NULL;
	int ret;

	if ((ret = cmd_why_opts(w, argc, argv)) != 0)
		goto out;
	if (cli_load_conf(cli) < 0) {
		ret = 1;
		goto out;
	}
	if (cli->conf.log_file[0] == '\0') {
		ret = cli_fail("log_file is not set: nothing to read");
		goto out;
	}
	if ((f = fopen(cli->conf.log_file, "r")) == NULL) {
		ret = cli_fail("%s: %s", cli->conf.log_file, strerror(errno));
		goto out;
	}
	fbuf_init(&w->stops, 1024 * 1024);
	while (fgets(line, CMD_WHY_LINE, f) != NULL)
		cmd_why_line(w, line);
	if (w->user != NULL) {
		/* The user's state is worth showing without any session. */
		cmd_why_print(w);
		if (cmd_why_print_user(cli, w) < 0)
			ret = 1;
	} else if (cmd_why_print(w) + cmd_why_print_delivs(w) == 0)
		ret = cli_fail("no matching session in %s", cli->conf.log_file);
out:
	if (f != NULL)
		fclose(f);
	cmd_why_free(w);
	free(w);
	free(line);
	return ret;
}
