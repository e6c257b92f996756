/* The queue pages: /queue (the admin: every message, with the filters
 * of `ferry queue list` and its per-destination summary), /queue/DOMAIN
 * (a postmaster, or the admin: the messages that concern DOMAIN) and
 * /queue/msg/ID (envelope, client, login, each recipient's last error
 * and next attempt, the header section; forms to retry, hold, release,
 * bounce and delete).
 *
 * The queue role owns the spool, so every read and change is a request
 * on its control socket (queue_control.h), from a worker thread, that
 * names the actor ("as", and "scope" for a postmaster: ops_queue.h).
 * The scope is decided there, in the operations layer, exactly as for
 * `ferry queue`; this file narrows the actor to DOMAIN for
 * /queue/DOMAIN and renders what comes back. */
#include <limits.h>
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
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "ops/ops_queue.h"
#include "ops/ops_queue_view.h"
#include "queue/queue_control.h"

#define PAGES_QUEUE_TIMEOUT_MS 30000
#define PAGES_QUEUE_FILTER_MAX 512

static const char *const pages_queue_filters[] = {
	"domain", "from", "to", "older", "newer"
};

struct pages_queue {
	char domain[256];		/* /queue/DOMAIN, else "" */
	char id[IDS_LEN + 1];		/* /queue/msg/ID */
	const char *doms[1];		/* the narrowed actor's domain */
	struct ops_actor actor;		/* who the queue role is told acts */
	struct ops_queue_filter filter;
	struct ops_queue_list list;
	struct ops_queue_summary sum;
	struct ops_queue_msg msg;
	bool have_msg;
	struct ops_status st;
	int r;
	const char *done;		/* POST: the notice key */
	char back[320];			/* POST: where to go after success */
	time_t now;
};

static void
pages_queue_free(struct pages_queue *p)
{
	ops_queue_list_free(&p->list);
	ops_queue_summary_free(&p->sum);
	if (p->have_msg)
		ops_queue_msg_free(&p->msg);
	free(p);
}

/* The queue role's answer to an error: "CODE text" (queue_control.c)
 * into st; an answer without the code (a malformed request) is
 * OPS_EINVAL. */
static int
pages_queue_refused(const struct control_answer *ans, struct ops_status *st)
{
	const char *t = fbuf_str(&ans->body);

	if (t[0] >= '0' && t[0] <= '9' && t[1] == ' ')
		return ops_fail(st, (enum ops_code)(t[0] - '0'), "%s", t + 2);
	return ops_fail(st, OPS_EINVAL, "%s", t);
}

/* Worker thread: asks the queue role verb (with id when not NULL) as
 * p->actor.  0 with the answer's body in ans (to release), or -1 with
 * p->st. */
static int
pages_queue_ask(struct admin_req *r, struct pages_queue *p, const char *verb,
    const char *id, struct control_answer *ans)
{
	struct control_arg args[3];
	char path[PATH_MAX];
	const char *error;
	struct fbuf storage;
	size_t n;
	int rc;

	ans->status = CONTROL_ERROR;
	fbuf_init(&ans->body, 0);
	if (conf_state_path(admin_req_conf(r), path, sizeof(path),
	    QUEUE_CONTROL_SOCK) < 0)
		return ops_fail(&p->st, OPS_EFAIL, "state_dir too long");
	fbuf_init(&storage, 0);
	n = ops_queue_actor_args(&p->actor, &storage, args);
	if (id != NULL)
		args[n++] = (struct control_arg){ "id", id };
	rc = control_call(path, verb, args, n, PAGES_QUEUE_TIMEOUT_MS, ans,
	    &error);
	fbuf_release(&storage);
	if (rc < 0) {
		fbuf_release(&ans->body);
		return ops_fail(&p->st, OPS_EFAIL, "the queue role does not "
		    "answer (%s)", error);
	}
	if (ans->status != CONTROL_OK) {
		pages_queue_refused(ans, &p->st);
		fbuf_release(&ans->body);
		return -1;
	}
	return 0;
}

/* ---- showing times ---- */

static void
pages_queue_time(time_t t, char *dst, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		str_lcpy(dst, "?", size);
}

static const char *
pages_queue_state(enum spool_rcpt_state s)
{
	static const char *const names[] = { "pending", "done", "failed",
		"bounced" };

	return (unsigned)s < 4 ? names[s] : "unknown";
}

/* "in 40m", "now", or "" when not pending. */
static void
pages_queue_next(const struct spool_rcpt *rc, time_t now, char *dst,
    size_t size)
{
	char span[32];

	dst[0] = '\0';
	if (rc->state != SPOOL_RCPT_PENDING)
		return;
	if (rc->next_attempt <= now) {
		str_lcpy(dst, "now", size);
		return;
	}
	str_format_span(span, sizeof(span), (long long)(rc->next_attempt -
	    now));
	snprintf(dst, size, "in %s", span);
}

/* ---- the lists ---- */

/* The filters from the query string: 0, or -1 with p->st (400). */
static int
pages_queue_take_filter(struct admin_req *r, struct pages_queue *p)
{
	const char *why;

	ops_queue_filter_init(&p->filter);
	for (size_t i = 0; i < sizeof(pages_queue_filters) /
	    sizeof(pages_queue_filters[0]); i++) {
		const char *k = pages_queue_filters[i];
		const char *v = admin_req_query(r, k);

		if (v == NULL)
			continue;
		if (strlen(v) > PAGES_QUEUE_FILTER_MAX)
			return ops_fail(&p->st, OPS_EINVAL, "%s: too long", k);
		if (ops_queue_filter_set(&p->filter, k, v, &why) < 0)
			return ops_fail(&p->st, OPS_EINVAL, "%s: %s", k, why);
	}
	return 0;
}

static void
pages_queue_list_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_queue *p = arg;
	struct control_answer ans;
	size_t keep = 0;

	if ((p->r = pages_queue_ask(r, p, "list", NULL, &ans)) < 0)
		return;
	if (ops_queue_unwire_list(ans.body.data, ans.body.len,
	    &p->list) < 0) {
		fbuf_release(&ans.body);
		p->r = ops_fail(&p->st, OPS_EFAIL, "the queue role's answer "
		    "is malformed");
		return;
	}
	fbuf_release(&ans.body);
	p->now = time(NULL);
	for (size_t i = 0; i < p->list.n; i++) {
		if (ops_queue_filter_match(&p->filter, &p->list.envs[i],
		    p->now))
			p->list.envs[keep++] = p->list.envs[i];
		else
			spool_env_free(&p->list.envs[i]);
	}
	p->list.n = keep;
	ops_queue_summarize(p->list.envs, p->list.n, p->now, &p->sum);
}

static void
pages_queue_summary(struct fbuf *b, const struct ops_queue_summary *s)
{
	fbuf_adds(b, "<h2>Pending recipients by destination</h2><table><tr>"
	    "<th>Destination</th><th>Total</th><th>Held</th>");
	for (size_t c = 0; c < OPS_QUEUE_NCOLS - 1; c++)
		html_addf(b, "<th>&le;%um</th>", ops_queue_cols[c]);
	fbuf_adds(b, "<th>More</th></tr>");
	for (size_t k = 0; k <= s->n; k++) {
		const struct ops_queue_dest *d = k == 0 ? &s->all :
		    &s->v[k - 1];

		html_addf(b, "<tr><td>%s</td><td>%lu</td><td>%lu</td>",
		    d->domain, (unsigned long)d->total,
		    (unsigned long)d->held);
		for (size_t c = 0; c < OPS_QUEUE_NCOLS; c++)
			html_addf(b, "<td>%lu</td>", (unsigned long)d->cols[c]);
		fbuf_adds(b, "</tr>");
	}
	fbuf_adds(b, "</table>");
}

/* The filter form, showing the values in force. */
static void
pages_queue_filter_form(struct admin_req *r, struct fbuf *b,
    const char *action)
{
	html_addf(b, "<h2>Filter</h2><form method=\"get\" action=\"%s\">",
	    action);
	for (size_t i = 0; i < sizeof(pages_queue_filters) /
	    sizeof(pages_queue_filters[0]); i++) {
		const char *k = pages_queue_filters[i];
		const char *v = admin_req_query(r, k);

		html_addf(b, "<label for=\"f-%s\">%s</label><input id=\"f-%s\" "
		    "name=\"%s\" value=\"%s\" maxlength=\"512\"", k,
		    i == 0 ? "Recipient domain" : i == 1 ?
		    "Sender (address, @domain or <>)" : i == 2 ?
		    "Recipient (address or @domain)" : i == 3 ?
		    "Older than (30m, 4h, 2d)" : "Newer than", k, k,
		    v != NULL ? v : "");
		fbuf_adds(b, ">");
	}
	fbuf_adds(b, " <button type=\"submit\">Show</button></form>");
}

static void
pages_queue_row(struct fbuf *b, const struct spool_env *e, time_t now)
{
	char age[32], next[48];

	str_format_span(age, sizeof(age), (long long)(now - e->arrival));
	html_addf(b, "<tr><td><a href=\"/queue/msg/%s\">%s</a>%s</td>"
	    "<td>%s</td><td>%llu</td><td>&lt;%s&gt;</td><td>", e->id, e->id,
	    e->held ? " (held)" : "", age, (unsigned long long)e->size,
	    e->sender);
	for (size_t k = 0; k < e->nrcpts; k++) {
		const struct spool_rcpt *rc = &e->rcpts[k];

		pages_queue_next(rc, now, next, sizeof(next));
		html_addf(b, "%s%s: %s%s%s", k > 0 ? "<br>" : "", rc->addr,
		    pages_queue_state(rc->state), next[0] != '\0' ?
		    ", next " : "", next);
		if (rc->last_error != NULL)
			html_addf(b, " <small>(%s)</small>", rc->last_error);
	}
	fbuf_adds(b, "</td></tr>");
}

static void
pages_queue_list_done(struct admin_req *r, void *arg)
{
	struct pages_queue *p = arg;
	struct fbuf *b = admin_resp_body(r);
	char title[300], action[300];

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_queue_free(p);
		return;
	}
	snprintf(title, sizeof(title), "Queue%s%s", p->domain[0] != '\0' ?
	    " for " : "", p->domain);
	snprintf(action, sizeof(action), "/queue%s%s", p->domain[0] != '\0' ?
	    "/" : "", p->domain);
	html_begin(r, title);
	page_notice(r);
	if (p->domain[0] == '\0')
		pages_queue_summary(b, &p->sum);
	else
		fbuf_adds(b, "<p>Messages from or to this domain; of mail "
		    "from elsewhere only this domain's recipients are "
		    "shown.</p>");
	pages_queue_filter_form(r, b, action);
	html_addf(b, "<h2>Messages (%lu)</h2>", (unsigned long)p->list.n);
	if (p->list.n == 0)
		fbuf_adds(b, ops_queue_filter_active(&p->filter) ?
		    "<p>No message matches.</p>" : "<p>The queue is empty."
		    "</p>");
	else {
		fbuf_adds(b, "<table><tr><th>Id</th><th>Age</th><th>Size</th>"
		    "<th>Sender</th><th>Recipients</th></tr>");
		for (size_t i = 0; i < p->list.n; i++)
			pages_queue_row(b, &p->list.envs[i], p->now);
		fbuf_adds(b, "</table>");
	}
	html_end(r);
	pages_queue_free(p);
}

static struct pages_queue *
pages_queue_new(struct admin_req *r)
{
	struct pages_queue *p = xcalloc(1, sizeof(*p));

	p->actor = *admin_req_actor(r);
	p->now = time(NULL);
	return p;
}

/* /queue: the admin's whole queue. */
static void
pages_queue_all(struct admin_req *r, void *arg)
{
	struct pages_queue *p = pages_queue_new(r);

	if (pages_queue_take_filter(r, p) < 0) {
		page_ops_error(r, &p->st);
		pages_queue_free(p);
		return;
	}
	admin_req_run(r, pages_queue_list_work, pages_queue_list_done, p);
}

/* /queue/DOMAIN: the actor narrowed to DOMAIN (a postmaster only for its
 * own: the same refusal as every other page for another domain). */
static void
pages_queue_domain(struct admin_req *r, struct pages_queue *p,
    const char *seg)
{
	str_lcpy(p->domain, seg, sizeof(p->domain));
	str_lower(p->domain);
	if (ops_check_domain(admin_req_actor(r), p->domain, &p->st) < 0 ||
	    pages_queue_take_filter(r, p) < 0) {
		page_ops_error(r, &p->st);
		pages_queue_free(p);
		return;
	}
	p->doms[0] = p->domain;
	p->actor.role = OPS_POSTMASTER;
	p->actor.domains = p->doms;
	p->actor.ndomains = 1;
	admin_req_run(r, pages_queue_list_work, pages_queue_list_done, p);
}

/* ---- one message ---- */

static void
pages_queue_msg_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_queue *p = arg;
	struct control_answer ans;

	if ((p->r = pages_queue_ask(r, p, "show", p->id, &ans)) < 0)
		return;
	if (ops_queue_unwire_msg(ans.body.data, ans.body.len, &p->msg) < 0)
		p->r = ops_fail(&p->st, OPS_EFAIL, "the queue role's answer "
		    "is malformed");
	else
		p->have_msg = true;
	fbuf_release(&ans.body);
}

/* The header section as text: CR LF as a line break, up to the empty
 * line (html_esc turns other control bytes into U+FFFD). */
static void
pages_queue_headers(struct fbuf *b, const struct ops_queue_msg *m)
{
	struct fbuf t;
	const char *s = m->headers.data;
	size_t n = m->headers.len;

	if (m->headers_error != NULL) {
		html_addf(b, "<p class=\"error\">The content is unreadable: "
		    "%s</p>", m->headers_error);
		return;
	}
	fbuf_init(&t, 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] == '\n' ||
		    (i >= 2 && s[i - 1] == '\r' && s[i - 2] == '\n')))
			break;
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if (s[i] == '\0')
			fbuf_adds(&t, "?");
		else
			fbuf_add(&t, &s[i], 1);
	}
	html_addf(b, "<pre>%s</pre>", fbuf_str(&t));
	fbuf_release(&t);
}

static void
pages_queue_button(struct admin_req *r, const char *id, const char *op,
    const char *label, bool danger)
{
	struct fbuf *b = admin_resp_body(r);

	html_addf(b, "<form class=\"inline\" method=\"post\" "
	    "action=\"/queue/msg/%s\">", id);
	html_csrf(r);
	html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"%s\">"
	    "<button%s type=\"submit\">%s</button></form> ", op,
	    danger ? " class=\"danger\"" : "", label);
}

static void
pages_queue_envelope(struct fbuf *b, const struct spool_env *e)
{
	char when[64];

	pages_queue_time(e->arrival, when, sizeof(when));
	html_addf(b, "<table><tr><th>Arrived</th><td>%s</td></tr>"
	    "<tr><th>Sender</th><td>&lt;%s&gt;</td></tr>"
	    "<tr><th>Size</th><td>%llu bytes</td></tr>"
	    "<tr><th>Client</th><td>%s (HELO %s, %s)</td></tr>", when,
	    e->sender, (unsigned long long)e->size, e->client_addr,
	    e->client_helo, e->protocol);
	html_addf(b, "<tr><th>Logged in as</th><td>%s</td></tr>",
	    e->auth_user != NULL ? e->auth_user : "(not authenticated, or "
	    "another domain's user)");
	html_addf(b, "<tr><th>Held</th><td>%s%s%s</td></tr></table>",
	    e->held ? "yes" : "no", e->held && e->hold_reason != NULL ?
	    ": " : "", e->held && e->hold_reason != NULL ? e->hold_reason :
	    "");
}

static void
pages_queue_rcpts(struct fbuf *b, const struct spool_env *e, time_t now)
{
	char next[48], at[64];

	fbuf_adds(b, "<h2>Recipients</h2><table><tr><th>Address</th>"
	    "<th>State</th><th>Attempts</th><th>Next attempt</th>"
	    "<th>Last error</th></tr>");
	for (size_t k = 0; k < e->nrcpts; k++) {
		const struct spool_rcpt *rc = &e->rcpts[k];

		pages_queue_next(rc, now, next, sizeof(next));
		if (rc->state == SPOOL_RCPT_PENDING && rc->next_attempt > now) {
			pages_queue_time(rc->next_attempt, at, sizeof(at));
			html_addf(b, "<tr><td>%s%s%s%s</td><td>%s</td><td>%u"
			    "</td><td>%s (%s)</td><td>%s</td></tr>", rc->addr,
			    strcmp(rc->orig, rc->addr) != 0 ? " (for " : "",
			    strcmp(rc->orig, rc->addr) != 0 ? rc->orig : "",
			    strcmp(rc->orig, rc->addr) != 0 ? ")" : "",
			    pages_queue_state(rc->state), rc->attempts, next,
			    at, rc->last_error != NULL ? rc->last_error : "");
			continue;
		}
		html_addf(b, "<tr><td>%s%s%s%s</td><td>%s</td><td>%u</td>"
		    "<td>%s</td><td>%s</td></tr>", rc->addr,
		    strcmp(rc->orig, rc->addr) != 0 ? " (for " : "",
		    strcmp(rc->orig, rc->addr) != 0 ? rc->orig : "",
		    strcmp(rc->orig, rc->addr) != 0 ? ")" : "",
		    pages_queue_state(rc->state), rc->attempts, next,
		    rc->last_error != NULL ? rc->last_error : "");
	}
	fbuf_adds(b, "</table>");
}

static void
pages_queue_msg_done(struct admin_req *r, void *arg)
{
	struct pages_queue *p = arg;
	struct fbuf *b = admin_resp_body(r);
	const struct spool_env *e = &p->msg.env;
	char title[64];

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_queue_free(p);
		return;
	}
	snprintf(title, sizeof(title), "Message %s", e->id);
	html_begin(r, title);
	page_notice(r);
	pages_queue_envelope(b, e);
	pages_queue_rcpts(b, e, time(NULL));
	fbuf_adds(b, "<h2>Actions</h2><p>");
	pages_queue_button(r, e->id, "retry", "Retry now", false);
	pages_queue_button(r, e->id, e->held ? "release" : "hold",
	    e->held ? "Release" : "Hold", false);
	pages_queue_button(r, e->id, "bounce", "Bounce to the sender", true);
	pages_queue_button(r, e->id, "delete", "Delete", true);
	fbuf_adds(b, "</p><h2>Header</h2>");
	pages_queue_headers(b, &p->msg);
	html_end(r);
	pages_queue_free(p);
}

/* "msg/ID" into p->id: false when it is no queue id (then 404). */
static bool
pages_queue_id(struct pages_queue *p, const char *rest)
{
	if (strncmp(rest, "msg/", 4) != 0 || !ids_valid(rest + 4))
		return false;
	str_lcpy(p->id, rest + 4, sizeof(p->id));
	return true;
}

/* GET /queue/DOMAIN or /queue/msg/ID. */
static void
pages_queue_sub(struct admin_req *r, void *arg)
{
	struct pages_queue *p = pages_queue_new(r);
	const char *rest = admin_req_rest(r), *after;
	char seg[256];

	if (strncmp(rest, "msg/", 4) == 0) {
		if (!pages_queue_id(p, rest)) {
			admin_resp_error(r, 404, "no such message");
			pages_queue_free(p);
			return;
		}
		admin_req_run(r, pages_queue_msg_work, pages_queue_msg_done, p);
		return;
	}
	if (!page_segment(rest, seg, sizeof(seg), &after) || after[0] != '\0' ||
	    strchr(rest, '/') != NULL) {
		admin_resp_error(r, 404, "no such page");
		pages_queue_free(p);
		return;
	}
	pages_queue_domain(r, p, seg);
}

/* ---- changes ---- */

static const struct {
	const char *op, *verb, *done;
} pages_queue_ops[] = {
	{ "retry", "retry", "queue_retried" },
	{ "hold", "hold", "queue_held" },
	{ "release", "release", "queue_released" },
	{ "bounce", "bounce", "queue_bounced" },
	{ "delete", "delete", "queue_deleted" },
};

static void
pages_queue_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_queue *p = arg;
	const char *op = page_field(r, "op", 16);
	struct control_answer ans;
	size_t i, n = sizeof(pages_queue_ops) / sizeof(pages_queue_ops[0]);

	for (i = 0; op != NULL && i < n; i++)
		if (strcmp(op, pages_queue_ops[i].op) == 0)
			break;
	if (op == NULL || i == n) {
		p->r = ops_fail(&p->st, OPS_EINVAL, "unknown operation");
		return;
	}
	if ((p->r = pages_queue_ask(r, p, pages_queue_ops[i].verb, p->id,
	    &ans)) < 0)
		return;
	fbuf_release(&ans.body);
	p->done = pages_queue_ops[i].done;
	if (strcmp(op, "delete") != 0)
		snprintf(p->back, sizeof(p->back), "/queue/msg/%s", p->id);
	else if (p->actor.role == OPS_ADMIN || p->actor.ndomains == 0)
		str_lcpy(p->back, "/queue", sizeof(p->back));
	else
		snprintf(p->back, sizeof(p->back), "/queue/%s",
		    p->actor.domains[0]);
}

static void
pages_queue_post_done(struct admin_req *r, void *arg)
{
	struct pages_queue *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else
		page_redirect_done(r, p->back, p->done);
	pages_queue_free(p);
}

/* POST /queue/msg/ID. */
static void
pages_queue_post(struct admin_req *r, void *arg)
{
	struct pages_queue *p = pages_queue_new(r);

	if (!pages_queue_id(p, admin_req_rest(r))) {
		admin_resp_error(r, 404, "no such message");
		pages_queue_free(p);
		return;
	}
	admin_req_run(r, pages_queue_post_work, pages_queue_post_done, p);
}

void
pages_queue_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/queue", ADMIN_F_ADMIN,
	    pages_queue_all, NULL);
	admin_http_route(h, ADMIN_GET, "/queue/", ADMIN_F_POSTMASTER,
	    pages_queue_sub, NULL);
	admin_http_route(h, ADMIN_POST, "/queue/", ADMIN_F_POSTMASTER,
	    pages_queue_post, NULL);
}
