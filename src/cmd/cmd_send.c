/* Outbound abuse control on the command line (ops_send.h does the work):
 *   ferry user send-hold ADDRESS [--reason TEXT]
 *   ferry user send-release ADDRESS
 *   ferry user limit ADDRESS [--messages-per-hour N|default]
 *                            [--recipients-per-day N|default] [--json]
 *   ferry domain suspend DOMAIN [--reason TEXT] | resume DOMAIN
 *   ferry domain limit DOMAIN [same options]
 * `limit` without options shows the limits, the counters and the state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_send.h"
#include "store/store.h"

#define CMD_SEND_LIMIT_OPTS "[--messages-per-hour N|default] " \
	"[--recipients-per-day N|default] [--json]"

bool
cmd_send_verb(const char *what, const char *verb)
{
	if (strcmp(verb, "limit") == 0)
		return true;
	if (strcmp(what, "user") == 0)
		return strcmp(verb, "send-hold") == 0 ||
		    strcmp(verb, "send-release") == 0;
	return strcmp(verb, "suspend") == 0 || strcmp(verb, "resume") == 0;
}

/* Takes "--name VALUE" out of argv: 1 taken (*value_r), 0 absent, -1
 * without a value. */
static int
cmd_send_take_opt(int *argc, char **argv, const char *name,
    const char **value_r)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc)
			return -1;
		*value_r = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) *
		    sizeof(*argv));
		*argc -= 2;
		return 1;
	}
	return 0;
}

/* "default" -> -1, a number 0..100000000, else -1 returned. */
static int
cmd_send_parse_limit(const char *s, int64_t *v_r)
{
	char *end;
	long long v;

	if (strcmp(s, "default") == 0) {
		*v_r = -1;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 100000000)
		return -1;
	*v_r = v;
	return 0;
}

static void
cmd_send_limit_text(char *dst, size_t size, int64_t count, int64_t limit,
    int64_t override)
{
	if (limit == 0)
		snprintf(dst, size, "%lld (no limit%s)", (long long)count,
		    override == 0 ? ", set" : "");
	else
		snprintf(dst, size, "%lld of %lld (%s)", (long long)count,
		    (long long)limit, override >= 0 ? "set" : "default");
}

static void
cmd_send_print(const struct ops_send_info *i)
{
	char m[96], r[96], when[64];
	struct tm tm;
	time_t t;

	cmd_send_limit_text(m, sizeof(m), i->msgs_hour, i->msgs_limit,
	    i->override.msgs_hour);
	cmd_send_limit_text(r, sizeof(r), i->rcpts_day, i->rcpts_limit,
	    i->override.rcpts_day);
	printf("%s\nmessages in the last hour: %s\nrecipients in the last "
	    "day: %s\nbounces in the last day: %lld\nspam verdicts in the "
	    "last day: %lld\n", i->subject, m, r, (long long)i->bounces_day,
	    (long long)i->spam_day);
	if (i->is_user) {
		printf("normal volume: %.1f messages an hour (%lld active "
		    "hour%s learnt); stopped at %lld an hour\n", i->normal,
		    (long long)i->active_hours, i->active_hours == 1 ? "" :
		    "s", (long long)i->stop_at);
		t = (time_t)i->hold.since;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		if (i->held)
			printf("send-hold: yes, since %s (%s): %s\n", when,
			    i->hold.automatic ? "automatic" : "by hand",
			    i->hold.reason);
		else
			printf("send-hold: no\n");
	}
	if (i->suspended)
		printf("domain suspended: yes\n");
}

static void
cmd_send_json(const struct ops_send_info *i)
{
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, i->is_user ? "user" : "domain");
	json_str(&j, i->subject);
	json_key(&j, "messages_per_hour_limit");
	json_int(&j, i->msgs_limit);
	json_key(&j, "messages_last_hour");
	json_int(&j, i->msgs_hour);
	json_key(&j, "recipients_per_day_limit");
	json_int(&j, i->rcpts_limit);
	json_key(&j, "recipients_last_day");
	json_int(&j, i->rcpts_day);
	json_key(&j, "bounces_last_day");
	json_int(&j, i->bounces_day);
	json_key(&j, "spam_last_day");
	json_int(&j, i->spam_day);
	json_key(&j, "held");
	json_bool(&j, i->held);
	json_key(&j, "hold_reason");
	json_str(&j, i->held ? i->hold.reason : NULL);
	json_key(&j, "suspended");
	json_bool(&j, i->suspended);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static int
cmd_send_limit(const struct ops_ctx *c, int argc, char **argv, bool json,
    struct ops_status *st)
{
	const char *m = NULL, *r = NULL;
	int64_t mv = OPS_SEND_KEEP, rv = OPS_SEND_KEEP;
	struct ops_send_info info;

	if (cmd_send_take_opt(&argc, argv, "--messages-per-hour", &m) < 0 ||
	    cmd_send_take_opt(&argc, argv, "--recipients-per-day", &r) < 0 ||
	    argc != 3 || argv[2][0] == '-' || (json && (m || r)))
		return -2;
	if ((m != NULL && cmd_send_parse_limit(m, &mv) < 0) ||
	    (r != NULL && cmd_send_parse_limit(r, &rv) < 0))
		return ops_fail(st, OPS_EINVAL, "%s: a limit is a number from "
		    "0 (none) to 100000000, or \"default\"", m != NULL &&
		    cmd_send_parse_limit(m, &mv) < 0 ? m : r);
	if ((m != NULL || r != NULL) &&
	    ops_send_limits_set(c, argv[2], mv, rv, st) < 0)
		return -1;
	if (ops_send_info(c, argv[2], &info, st) < 0)
		return -1;
	if (json)
		cmd_send_json(&info);
	else
		cmd_send_print(&info);
	return 0;
}

static int
cmd_send_hold(const struct ops_ctx *c, const char *verb, const char *input,
    const char *reason, struct ops_status *st)
{
	struct ops_send_hold_result r;

	if (strcmp(verb, "send-release") == 0) {
		if (ops_user_send_release(c, input, &r, st) < 0)
			return -1;
		printf("%s may send again; %zu held message%s released\n",
		    input, r.messages, r.messages == 1 ? "" : "s");
		return 0;
	}
	if (ops_user_send_hold(c, input, reason, &r, st) < 0)
		return -1;
	printf("%s: sending %s; %zu queued message%s held\n", input,
	    r.changed ? "stopped" : "was stopped already", r.messages,
	    r.messages == 1 ? "" : "s");
	if (r.notice_id[0] != '\0')
		printf("postmaster notified (queued as %s)\n", r.notice_id);
	else if (r.changed && r.notice_error[0] != '\0')
		printf("no notice sent: %s\n", r.notice_error);
	return 0;
}

int
cmd_send(struct cli *cli, const char *what, int argc, char **argv)
{
	const char *verb = argv[1], *reason = NULL;
	bool json = cli_take_flag(&argc, argv, "--json");
	bool takes_reason = strcmp(verb, "send-hold") == 0 ||
	    strcmp(verb, "suspend") == 0;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	if (takes_reason && cmd_send_take_opt(&argc, argv, "--reason",
	    &reason) < 0)
		return cli_usage("%s %s %s [--reason TEXT]", what, verb,
		    strcmp(what, "user") == 0 ? "ADDRESS" : "DOMAIN");
	if (strcmp(verb, "limit") != 0 && (argc != 3 || json ||
	    argv[2][0] == '-'))
		return cli_usage("%s %s %s%s", what, verb,
		    strcmp(what, "user") == 0 ? "ADDRESS" : "DOMAIN",
		    takes_reason ? " [--reason TEXT]" : "");
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (strcmp(verb, "limit") == 0)
		r = cmd_send_limit(&c, argc, argv, json, &st);
	else if (strcmp(verb, "suspend") == 0)
		r = ops_domain_suspend(&c, argv[2], reason, &st);
	else if (strcmp(verb, "resume") == 0)
		r = ops_domain_resume(&c, argv[2], &st);
	else
		r = cmd_send_hold(&c, verb, argv[2], reason, &st);
	store_close(&s);
	if (r == -2)
		return cli_usage("%s limit %s %s", what,
		    strcmp(what, "user") == 0 ? "ADDRESS" : "DOMAIN",
		    CMD_SEND_LIMIT_OPTS);
	if (r == 0 && strcmp(verb, "suspend") == 0)
		printf("%s suspended: its mail is refused with 4xx and its "
		    "users cannot log in\n", argv[2]);
	else if (r == 0 && strcmp(verb, "resume") == 0)
		printf("%s resumed\n", argv[2]);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
