/* /why: what happened to mail, from the same reading of the log as
 * `ferry why` (src/ops/ops_why.c).  The admin and a postmaster search by
 * an address (mail to it, from it, or sent by it as a logged-in user)
 * and the admin also by client address: each message accepted with its
 * queue id, each refusal with the stage, the check and rule that
 * decided and the reply, for a recipient each delivery attempt and
 * outcome, for a user the automatic stops and the sending state now.
 * A user sees the mail refused for them in the last days and what they
 * sent.  Mail to an address also shows its delivery history from the
 * store (ops_history.h: each attempt, the reply, the next attempt, the
 * outcome), which needs no log file: without log_file the page shows
 * that alone.  Who may ask about what is decided in ops_why (and ops_send for
 * the sending state), never here: this file checks only the shape of
 * the input and renders, every string through html_addf()'s escaping. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "conf/conf.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_history.h"
#include "ops/ops_send.h"
#include "ops/ops_why.h"

#define PAGES_WHY_DAYS 7		/* a user's default window */
#define PAGES_WHY_DAYS_MAX 92
#define PAGES_WHY_IP_MAX 64

enum pages_why_dir { PAGES_WHY_TO, PAGES_WHY_FROM, PAGES_WHY_USER };

struct pages_why {
	/* The question, checked for shape on the loop. */
	const char *addr, *ip;		/* query values, or NULL */
	enum pages_why_dir dir;
	unsigned days;			/* 0: the whole log */
	bool user_view;			/* a user's own page */
	/* The answer, from work(). */
	struct ops_why w;		/* the search, or mail refused for me */
	struct ops_why sent;		/* user view: what I sent */
	struct ops_send_info info;
	bool have_info;
	struct ops_history h;		/* mail to the address: the history */
	struct ops_status st, info_st;
	int r;
};

/* The delivery history of mail to addr into p->h; an error only when
 * there is no log to show instead (p->r, p->st). */
static void
pages_why_history(struct admin_req *r, struct store *conn,
    struct pages_why *p, const char *addr, bool logged)
{
	struct ops_status st;

	if (conn == NULL)
		(void)ops_fail(&st, OPS_EFAIL, "the store is unavailable");
	else if (ops_history_read(admin_req_actor(r), conn,
	    admin_req_conf(r), STORE_HIST_BY_RCPT, addr, false, &p->h,
	    &st) == 0)
		return;
	if (!logged) {
		p->r = -1;
		p->st = st;
	}
}

/* The sending state of who (ops_send_info): p->have_info, or the
 * reason it is missing in p->info_st. */
static void
pages_why_info(struct admin_req *r, struct store *conn, struct pages_why *p,
    const char *who)
{
	struct ops_ctx c;

	if (conn == NULL) {
		(void)ops_fail(&p->info_st, OPS_EFAIL, "the store is "
		    "unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	p->have_info = ops_send_info(&c, who, &p->info, &p->info_st) == 0;
}

static void
pages_why_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_why *p = arg;
	const char *log_file = admin_req_conf(r)->log_file;
	const struct ops_actor *a = admin_req_actor(r);
	time_t since = p->days > 0 ? time(NULL) - (time_t)p->days * 86400 : 0;

	p->w.since = p->sent.since = since;
	p->w.ip = p->ip;
	if (p->user_view) {
		/* Their own address unless they named one: ops_why says
		 * whether they may. */
		const char *me = p->addr != NULL ? p->addr : a->name;

		p->w.to = me;
		p->sent.user = me;
		if (log_file[0] != '\0' &&
		    (p->r = ops_why_read(a, log_file, &p->w, &p->st)) == 0)
			p->r = ops_why_read(a, log_file, &p->sent, &p->st);
		if (p->r == 0)
			pages_why_history(r, conn, p, me, log_file[0] != '\0');
		if (p->r == 0)
			pages_why_info(r, conn, p, me);
		return;
	}
	if (p->addr == NULL && p->ip == NULL)
		return;
	if (p->addr != NULL && p->dir == PAGES_WHY_FROM)
		p->w.from = p->addr;
	else if (p->addr != NULL && p->dir == PAGES_WHY_USER)
		p->w.user = p->addr;
	else
		p->w.to = p->addr;
	/* Mail to an address is answered by the history alone when there
	 * is no log. */
	if (p->w.to == NULL || log_file[0] != '\0')
		p->r = ops_why_read(a, log_file, &p->w, &p->st);
	if (p->r == 0 && p->w.to != NULL)
		pages_why_history(r, conn, p, p->w.to, log_file[0] != '\0');
	if (p->r == 0 && p->w.user != NULL)
		pages_why_info(r, conn, p, p->w.user);
}

static void
pages_why_event(struct fbuf *b, const struct ops_why_event *e)
{
	if (e->kind == OPS_WHY_ACCEPTED) {
		html_addf(b, "<tr><td>%s</td><td>accepted</td><td>queue id %s"
		    "</td><td>from &lt;%s&gt; to %s</td></tr>", e->time, e->id,
		    e->from, e->rcpts != NULL && e->rcpts[0] != '\0' ?
		    e->rcpts : "-");
		return;
	}
	if (e->kind == OPS_WHY_CONNREFUSED) {
		html_addf(b, "<tr><td>%s</td><td>refused at connect</td>"
		    "<td>before the session</td><td>reply: <code>%s</code>"
		    "</td></tr>", e->time, e->reply);
		return;
	}
	html_addf(b, "<tr class=\"refused\"><td>%s</td><td>refused at %s</td>"
	    "<td>check %s%s%s</td><td>", e->time, e->stage, e->check,
	    e->rule[0] != '\0' ? ", rule " : "", e->rule);
	if (e->from[0] != '\0')
		html_addf(b, "from &lt;%s&gt; ", e->from);
	if (e->rcpt[0] != '\0')
		html_addf(b, "to &lt;%s&gt; ", e->rcpt);
	else if (e->rcpts != NULL && e->rcpts[0] != '\0')
		html_addf(b, "to %s ", e->rcpts);
	html_addf(b, "<br>reply: <code>%s</code></td></tr>", e->reply);
}

/* Each matching session with its events. */
static void
pages_why_sessions(struct fbuf *b, const struct ops_why *w)
{
	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order) {
		if (!s->matched)
			continue;
		html_addf(b, "<h3>Session %s</h3><p>%s from %s</p><table><tr>"
		    "<th>Time</th><th>What</th><th>Why</th><th>Message</th>"
		    "</tr>", s->sid[0] == '-' ? "-" : s->sid, s->time,
		    s->ip[0] != '\0' ? s->ip : "?");
		if (s->nev == 0)
			fbuf_adds(b, "<tr><td colspan=\"4\">no message accepted "
			    "or refused</td></tr>");
		for (size_t i = 0; i < s->nev; i++)
			pages_why_event(b, &s->ev[i]);
		fbuf_adds(b, "</table>");
	}
}

/* "2026-12-05 15:00:00 UTC" for t ("-" for 0). */
static const char *
pages_why_time(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(dst, size, "-");
	else
		strftime(dst, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return dst;
}

static void
pages_why_attempt(struct fbuf *b, const struct store_hist_attempt *a)
{
	char t[32], n[32], g[32];

	html_addf(b, "<tr class=\"attempt %s\"><td>%s</td><td>%s</td><td>%s"
	    "</td><td>%s %s", a->result, pages_why_time(a->at, t, sizeof(t)),
	    a->result, a->rcpt, a->route, a->host);
	if (a->tls[0] != '\0')
		html_addf(b, ", TLS %s", a->tls);
	if (a->reply[0] != '\0')
		html_addf(b, "<br>reply: <code>%s</code>", a->reply);
	if (a->reach[0] != '\0')
		html_addf(b, "<br>reachability memory: %s", a->reach);
	if (a->next_attempt > 0)
		html_addf(b, "<br>next attempt %s, given up at %s",
		    pages_why_time(a->next_attempt, n, sizeof(n)),
		    pages_why_time(a->give_up, g, sizeof(g)));
	fbuf_adds(b, "</td></tr>");
}

/* The delivery history: each message's story. */
static void
pages_why_stories(struct fbuf *b, const struct ops_history *h)
{
	char t[32];

	for (size_t i = 0; i < h->n; i++) {
		const struct ops_history_msg *v = &h->v[i];

		html_addf(b, "<h3 class=\"story\">Message %s</h3><p>", v->m.id);
		if (v->m.arrival > 0)
			html_addf(b, "Arrived %s from &lt;%s&gt; (client %s, "
			    "%llu bytes). ", pages_why_time(v->m.arrival, t,
			    sizeof(t)), v->m.sender, v->m.client,
			    (unsigned long long)v->m.size);
		for (size_t k = 0; k < v->nrcpts; k++)
			html_addf(b, "To %s: <strong class=\"outcome\">%s"
			    "</strong>. ", v->rcpts[k].addr,
			    ops_history_outcome(&v->rcpts[k]));
		fbuf_adds(b, "</p><table><tr><th>Time</th><th>Result</th>"
		    "<th>Recipient</th><th>Where, and the answer</th></tr>");
		for (size_t k = 0; k < v->na; k++)
			pages_why_attempt(b, &v->a[k]);
		fbuf_adds(b, "</table>");
	}
}

/* The log's queue lines about messages the history does not name. */
static void
pages_why_delivs(struct fbuf *b, const struct ops_why *w,
    const struct ops_history *h)
{
	size_t n = 0;

	for (size_t i = 0; i < w->ndv; i++) {
		const struct ops_why_deliv *d = &w->dv[i];

		if (ops_history_has(h, d->id))
			continue;
		if (n++ == 0)
			html_addf(b, "<h2>Deliveries to %s (from the log)</h2>"
			    "<table><tr><th>Time</th><th>Result</th><th>Queue "
			    "id</th><th>Details</th></tr>", w->to);
		html_addf(b, "<tr><td>%s</td><td>%s%s</td><td>%s</td><td>",
		    d->time, d->attempt ? "attempt: " : "", d->result, d->id);
		if (d->relay[0] != '\0')
			html_addf(b, "relay %s ", d->relay);
		if (d->tls[0] != '\0')
			html_addf(b, "tls %s ", d->tls);
		if (d->mailbox[0] != '\0')
			html_addf(b, "mailbox %s ", d->mailbox);
		if (d->next_in[0] != '\0')
			html_addf(b, "next attempt in %s ", d->next_in);
		if (d->reason[0] != '\0')
			html_addf(b, "<br>reply: <code>%s</code>", d->reason);
		fbuf_adds(b, "</td></tr>");
	}
	if (n > 0)
		fbuf_adds(b, "</table>");
}

/* A user's automatic stops, and the sending state now. */
static void
pages_why_sending(struct fbuf *b, const struct ops_why *w,
    const struct pages_why *p)
{
	const struct ops_send_info *i = &p->info;

	if (w->nstops > 0) {
		html_addf(b, "<h2>Automatic stops of %s</h2><ul>", w->user);
		for (size_t k = 0; k < w->nstops; k++) {
			const struct ops_why_stop *t = &w->stops[k];

			html_addf(b, "<li>%s stopped by %s (%s %s): %s; %s "
			    "queued message(s) held, postmaster notice %s</li>",
			    t->time, t->by_smtpd ? "smtpd" : "queue",
			    t->by_smtpd ? "session" : "message", t->id,
			    t->reason, t->held[0] ? t->held : "?",
			    t->notice[0] ? t->notice : "none");
		}
		fbuf_adds(b, "</ul>");
	}
	if (!p->have_info) {
		html_addf(b, "<p>Sending state: %s</p>", p->info_st.text);
		return;
	}
	html_addf(b, "<h2>Sending now</h2><p>%s: %s", i->subject, i->held ?
	    "on send-hold" : "may send");
	if (i->held)
		html_addf(b, " (%s): %s", i->hold.automatic ? "automatic" :
		    "by hand", i->hold.reason);
	html_addf(b, "</p><p>Messages in the last hour %ld (limit %ld), "
	    "recipients in the last day %ld (limit %ld), bounces %ld, spam "
	    "verdicts %ld.</p>", (long)i->msgs_hour,
	    (long)i->msgs_limit, (long)i->rcpts_day,
	    (long)i->rcpts_limit, (long)i->bounces_day,
	    (long)i->spam_day);
}

static void
pages_why_form(struct admin_req *r, const struct pages_why *p)
{
	struct fbuf *b = admin_resp_body(r);
	static const char *const dirs[] = { "to", "from", "user" };
	static const char *const labels[] = { "to this address",
		"from this address", "sent by this user (logged in)" };

	html_addf(b, "<form method=\"get\" action=\"/why\"><label "
	    "for=\"address\">Address</label><input id=\"address\" "
	    "name=\"address\" maxlength=\"320\" value=\"%s\"><label "
	    "for=\"dir\">Mail</label><select id=\"dir\" name=\"dir\">",
	    p->addr != NULL ? p->addr : "");
	for (size_t i = 0; i < 3; i++)
		html_addf(b, "<option value=\"%s\"%s>%s</option>", dirs[i],
		    (size_t)p->dir == i ? " selected" : "", labels[i]);
	fbuf_adds(b, "</select>");
	if (admin_req_actor(r)->role == OPS_ADMIN)
		html_addf(b, "<label for=\"ip\">or a client address</label>"
		    "<input id=\"ip\" name=\"ip\" maxlength=\"64\" "
		    "value=\"%s\">", p->ip != NULL ? p->ip : "");
	fbuf_adds(b, "<label for=\"days\">Days back (empty: the whole log)"
	    "</label><input id=\"days\" name=\"days\" inputmode=\"numeric\" "
	    "maxlength=\"2\"");
	if (p->days > 0)
		html_addf(b, " value=\"%u\"", p->days);
	fbuf_adds(b, "> <button type=\"submit\">Look</button></form>");
}

/* The user's page: refusals of mail to them, then what they sent. */
static void
pages_why_user(struct admin_req *r, const struct pages_why *p)
{
	struct fbuf *b = admin_resp_body(r);
	size_t n = 0;

	html_begin(r, "Refused mail and what you sent");
	html_addf(b, "<form method=\"get\" action=\"/why\"><label for=\"days\">"
	    "Days back</label><input id=\"days\" name=\"days\" "
	    "inputmode=\"numeric\" maxlength=\"2\" value=\"%u\"> <button "
	    "type=\"submit\">Show</button></form>", p->days);
	html_addf(b, "<h2>Mail refused for %s in the last %u days</h2>",
	    p->w.to, p->days);
	for (const struct ops_why_session *s = p->w.first; s != NULL;
	    s = s->order) {
		for (size_t i = 0; s->matched && i < s->nev; i++) {
			const struct ops_why_event *e = &s->ev[i];

			if (e->kind != OPS_WHY_REFUSED)
				continue;
			if (n++ == 0)
				fbuf_adds(b, "<table id=\"refused\"><tr><th>Time"
				    "</th><th>From</th><th>Check</th><th>Reply "
				    "the sender got</th></tr>");
			html_addf(b, "<tr class=\"refused\"><td>%s</td><td>"
			    "%s</td><td>%s</td><td><code>%s</code></td></tr>",
			    e->time, e->from[0] != '\0' ? e->from : "<>",
			    e->check, e->reply);
		}
	}
	if (n == 0)
		fbuf_adds(b, "<p>No mail to you was refused.</p>");
	else
		fbuf_adds(b, "</table>");
	if (p->h.n > 0) {
		fbuf_adds(b, "<h2 id=\"delivered\">Mail to you and what became "
		    "of it</h2>");
		pages_why_stories(b, &p->h);
	}
	html_addf(b, "<h2 id=\"sent\">What you sent in the last %u days</h2>",
	    p->days);
	if (ops_why_count(&p->sent) == 0)
		fbuf_adds(b, "<p>No session logged in as you.</p>");
	pages_why_sessions(b, &p->sent);
	pages_why_sending(b, &p->sent, p);
	html_end(r);
}

static void
pages_why_done(struct admin_req *r, void *arg)
{
	struct pages_why *p = arg;
	struct fbuf *b = admin_resp_body(r);
	bool asked = p->addr != NULL || p->ip != NULL;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else if (p->user_view)
		pages_why_user(r, p);
	else {
		html_begin(r, "Why: what happened to a message");
		pages_why_form(r, p);
		if (asked && ops_why_count(&p->w) == 0 && p->h.n == 0 &&
		    p->w.user == NULL)
			fbuf_adds(b, "<p>Nothing in the log or the delivery "
			    "history about this.</p>");
		pages_why_sessions(b, &p->w);
		if (p->h.n > 0) {
			fbuf_adds(b, "<h2>Delivery history</h2>");
			pages_why_stories(b, &p->h);
		}
		pages_why_delivs(b, &p->w, &p->h);
		if (p->w.user != NULL)
			pages_why_sending(b, &p->w, p);
		html_end(r);
	}
	ops_why_free(&p->w);
	ops_why_free(&p->sent);
	ops_history_free(&p->h);
	free(p);
}

/* A query value: NULL when absent or empty; false when longer than
 * max (the page then answers 400). */
static bool
pages_why_param(struct admin_req *r, const char *name, size_t max,
    const char **v_r)
{
	const char *v = admin_req_query(r, name);

	*v_r = v != NULL && v[0] != '\0' ? v : NULL;
	return *v_r == NULL || strlen(*v_r) <= max;
}

/* The shape of the question into p: NULL, or what is wrong with it. */
static const char *
pages_why_parse(struct admin_req *r, struct pages_why *p)
{
	const char *dir, *days;
	char *end;
	unsigned long n;

	if (!pages_why_param(r, "address", OPS_WHY_ADDR_MAX, &p->addr))
		return "The address is too long.";
	if (!pages_why_param(r, "ip", PAGES_WHY_IP_MAX, &p->ip) ||
	    (p->ip != NULL && strspn(p->ip, "0123456789abcdefABCDEF:.") !=
	    strlen(p->ip)))
		return "That is not a client address (IPv4 or IPv6).";
	if (!pages_why_param(r, "dir", 8, &dir))
		dir = "?";
	if (dir == NULL || strcmp(dir, "to") == 0)
		p->dir = PAGES_WHY_TO;
	else if (strcmp(dir, "from") == 0)
		p->dir = PAGES_WHY_FROM;
	else if (strcmp(dir, "user") == 0)
		p->dir = PAGES_WHY_USER;
	else
		return "Mail is \"to\", \"from\" or \"user\".";
	if (!pages_why_param(r, "days", 8, &days))
		days = "x";
	if (days != NULL) {
		n = strtoul(days, &end, 10);
		if (days[0] < '0' || days[0] > '9' || *end != '\0' || n < 1 ||
		    n > PAGES_WHY_DAYS_MAX)
			return "Days back is a number from 1 to 92.";
		p->days = (unsigned)n;
	}
	p->user_view = admin_req_actor(r)->role == OPS_USER;
	if (p->user_view && p->days == 0)
		p->days = PAGES_WHY_DAYS;
	return NULL;
}

static void
pages_why(struct admin_req *r, void *arg)
{
	struct pages_why *p = xcalloc(1, sizeof(*p));
	const char *bad = pages_why_parse(r, p);

	if (bad != NULL) {
		admin_resp_error(r, 400, bad);
		free(p);
		return;
	}
	admin_req_run(r, pages_why_work, pages_why_done, p);
}

void
pages_why_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/why", ADMIN_F_LOGIN, pages_why, NULL);
}
