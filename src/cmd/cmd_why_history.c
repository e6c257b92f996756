/* `ferry why --id | --to | --domain`: printing the delivery history
 * (ops/ops_history.h) for people and as JSON.  cmd_why.c parses the
 * arguments, reads the log and the store, and calls these. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/cmd_why.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops.h"

/* "2026-12-05T15:00:00Z" for t ("-" for 0). */
static const char *
cmd_why_time(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(dst, size, "-");
		return dst;
	}
	strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return dst;
}

/* Peer text for a terminal: control bytes shown as '?'. */
static const char *
cmd_why_clean(const char *s, char *dst, size_t size)
{
	snprintf(dst, size, "%s", s);
	ops_clean(dst);
	return dst;
}

static void
cmd_why_print_attempt(const struct store_hist_attempt *a, bool shared)
{
	char t[32], reply[STORE_HIST_REPLY_MAX], host[320];

	printf("  %s %s <%s> %s", cmd_why_time(a->at, t, sizeof(t)),
	    a->result, a->rcpt, a->route[0] != '\0' ? a->route : "-");
	if (a->host[0] != '\0')
		printf(" %s", cmd_why_clean(a->host, host, sizeof(host)));
	if (a->tls[0] != '\0')
		printf(" tls=\"%s\"", a->tls);
	if (shared)
		printf(" node=%s", a->node);
	if (a->reply[0] != '\0')
		printf(" reply=\"%s\"", cmd_why_clean(a->reply, reply,
		    sizeof(reply)));
	putchar('\n');
	if (a->reach[0] != '\0')
		printf("      reachability memory: %s\n", a->reach);
	if (a->next_attempt > 0)
		printf("      next attempt %s, given up at %s\n",
		    cmd_why_time(a->next_attempt, t, sizeof(t)),
		    cmd_why_time(a->give_up, reply, sizeof(reply)));
}

static void
cmd_why_print_msg(const struct ops_history_msg *v, bool shared)
{
	char t[32], t2[32];

	if (v->m.arrival > 0)
		printf("message %s arrived %s from=<%s> client=%s size=%llu%s%s\n",
		    v->m.id, cmd_why_time(v->m.arrival, t, sizeof(t)),
		    v->m.sender, v->m.client[0] != '\0' ? v->m.client : "-",
		    (unsigned long long)v->m.size, shared ? " node=" : "",
		    shared ? v->m.node : "");
	else
		printf("message %s (arrival not recorded)\n", v->m.id);
	for (size_t i = 0; i < v->na; i++)
		cmd_why_print_attempt(&v->a[i], shared);
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct ops_history_rcpt *r = &v->rcpts[i];
		const char *o = ops_history_outcome(r);

		printf("  outcome <%s>: %s", r->addr, o);
		if (strcmp(o, "pending") == 0)
			printf(" (next attempt %s, given up at %s)",
			    cmd_why_time(r->last->next_attempt, t, sizeof(t)),
			    cmd_why_time(r->last->give_up, t2, sizeof(t2)));
		if (shared && r->last != NULL)
			printf(" by node %s", r->last->node);
		putchar('\n');
	}
}

int
cmd_why_print_history(const struct ops_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		cmd_why_print_msg(&h->v[i], h->shared);
	return (int)h->n;
}

static void
cmd_why_json_attempt(struct json *j, const struct store_hist_attempt *a)
{
	json_object_begin(j);
	json_key(j, "at");
	json_int(j, a->at);
	json_key(j, "node");
	json_str(j, a->node);
	json_key(j, "rcpt");
	json_str(j, a->rcpt);
	json_key(j, "result");
	json_str(j, a->result);
	json_key(j, "route");
	json_str(j, a->route);
	json_key(j, "host");
	json_str(j, a->host);
	json_key(j, "tls");
	json_str(j, a->tls);
	json_key(j, "reach");
	json_str(j, a->reach);
	json_key(j, "reply");
	json_str(j, a->reply);
	json_key(j, "next_attempt");
	json_int(j, a->next_attempt);
	json_key(j, "give_up");
	json_int(j, a->give_up);
	json_object_end(j);
}

static void
cmd_why_json_msg(struct json *j, const struct ops_history_msg *v)
{
	json_object_begin(j);
	json_key(j, "id");
	json_str(j, v->m.id);
	json_key(j, "node");
	json_str(j, v->m.node);
	json_key(j, "arrival");
	json_int(j, v->m.arrival);
	json_key(j, "sender");
	json_str(j, v->m.sender);
	json_key(j, "client");
	json_str(j, v->m.client);
	json_key(j, "size");
	json_uint(j, v->m.size);
	json_key(j, "recipients");
	json_array_begin(j);
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct ops_history_rcpt *r = &v->rcpts[i];

		json_object_begin(j);
		json_key(j, "address");
		json_str(j, r->addr);
		json_key(j, "outcome");
		json_str(j, ops_history_outcome(r));
		json_key(j, "next_attempt");
		json_int(j, r->last != NULL ? r->last->next_attempt : 0);
		json_key(j, "give_up");
		json_int(j, r->last != NULL ? r->last->give_up : 0);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "attempts");
	json_array_begin(j);
	for (size_t i = 0; i < v->na; i++)
		cmd_why_json_attempt(j, &v->a[i]);
	json_array_end(j);
	json_object_end(j);
}

void
cmd_why_json_history(struct json *j, const struct ops_history *h)
{
	json_array_begin_lines(j);
	for (size_t i = 0; i < h->n; i++)
		cmd_why_json_msg(j, &h->v[i]);
	json_array_end(j);
}

static void
cmd_why_json_event(struct json *j, const struct ops_why_event *e)
{
	static const char *const kinds[] = { "refused", "accepted",
		"refused_connect" };

	json_object_begin(j);
	json_key(j, "kind");
	json_str(j, kinds[e->kind]);
	json_key(j, "time");
	json_str(j, e->time);
	json_key(j, "stage");
	json_str(j, e->stage);
	json_key(j, "check");
	json_str(j, e->check);
	json_key(j, "rule");
	json_str(j, e->rule);
	json_key(j, "from");
	json_str(j, e->from);
	json_key(j, "rcpt");
	json_str(j, e->rcpt[0] != '\0' ? e->rcpt : e->rcpts);
	json_key(j, "id");
	json_str(j, e->id);
	json_key(j, "reply");
	json_str(j, e->reply);
	json_object_end(j);
}

static void
cmd_why_json_deliv(struct json *j, const struct ops_why_deliv *d)
{
	json_object_begin(j);
	json_key(j, "time");
	json_str(j, d->time);
	json_key(j, "id");
	json_str(j, d->id);
	json_key(j, "attempt");
	json_bool(j, d->attempt);
	json_key(j, "result");
	json_str(j, d->result);
	json_key(j, "relay");
	json_str(j, d->relay);
	json_key(j, "reply");
	json_str(j, d->reason);
	json_object_end(j);
}

void
cmd_why_json_log(struct json *j, const struct ops_why *w,
    const struct ops_history *h)
{
	json_key(j, "sessions");
	json_array_begin_lines(j);
	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order) {
		if (!s->matched)
			continue;
		json_object_begin(j);
		json_key(j, "session");
		json_str(j, s->sid[0] == '-' ? "" : s->sid);
		json_key(j, "time");
		json_str(j, s->time);
		json_key(j, "ip");
		json_str(j, s->ip);
		json_key(j, "events");
		json_array_begin(j);
		for (size_t i = 0; i < s->nev; i++)
			cmd_why_json_event(j, &s->ev[i]);
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "log_deliveries");
	json_array_begin_lines(j);
	for (size_t i = 0; i < w->ndv; i++)
		if (!ops_history_has(h, w->dv[i].id))
			cmd_why_json_deliv(j, &w->dv[i]);
	json_array_end(j);
}
