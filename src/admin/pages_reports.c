/* "Report a mail problem": the form on the help page /help/DOMAIN for a
 * logged-in user, its POST, and the list the domain's postmaster sees on
 * /domains/DOMAIN.  The report is kept by src/ops/ops_report.c (scope
 * there: a user reports only to its own domain's postmaster); the
 * reporter is the logged-in address, never a form field; everything
 * shown is escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "admin/pages_reports.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_report.h"

struct pages_report {
	char domain[256];
	char back[300];
	struct ops_status st;
	int r;
};

void
pages_reports_form(struct admin_req *r, const char *domain)
{
	struct fbuf *b = admin_resp_body(r);

	fbuf_adds(b, "<h2>Report a mail problem</h2>");
	if (admin_req_actor(r) == NULL) {
		html_addf(b, "<p><a href=\"/login?next=/help/%s\">Log in</a> "
		    "with your mail address to tell your postmaster about a "
		    "problem.</p>", domain);
		return;
	}
	html_addf(b, "<p>Tell the postmaster of %s what went wrong. They see "
	    "your address (%s) with it.</p><form method=\"post\" "
	    "action=\"/help/%s\">", domain, admin_req_user(r), domain);
	html_csrf(r);
	html_addf(b, "<label for=\"what\">What happened</label><textarea "
	    "id=\"what\" name=\"what\" rows=\"5\" cols=\"60\" required "
	    "maxlength=\"%d\"></textarea><label for=\"when\">When (roughly)"
	    "</label><input id=\"when\" name=\"when\" maxlength=\"%d\">"
	    "<label for=\"address\">The other address (sender or recipient),"
	    " if any</label><input id=\"address\" name=\"address\" "
	    "maxlength=\"%d\"> <button type=\"submit\">Send the report"
	    "</button></form>", OPS_REPORT_WHAT_MAX, OPS_REPORT_WHEN_MAX,
	    OPS_REPORT_ADDR_MAX);
}

void
pages_reports_list(struct fbuf *b, const struct ops_report_list *l)
{
	char when[40];

	html_addf(b, "<h2>Reported problems</h2>");
	if (l->n == 0) {
		fbuf_adds(b, "<p>No problem was reported.</p>");
		return;
	}
	html_addf(b, "<p>The last %d reports from the help page, newest first."
	    "</p><table><tr><th>Reported</th><th>By</th><th>When</th>"
	    "<th>Address</th><th>What</th></tr>", OPS_REPORT_KEEP);
	for (size_t i = l->n; i-- > 0;) {
		const struct ops_report *rep = &l->v[i];
		time_t t = (time_t)rep->time;
		struct tm tm;

		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%d %H:%M UTC", &tm) == 0)
			str_lcpy(when, "?", sizeof(when));
		html_addf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		    "<td><pre>%s</pre></td></tr>", when, rep->reporter,
		    rep->when, rep->address, rep->what);
	}
	fbuf_adds(b, "</table>");
}

/* A textarea's value: CR LF as LF; the rest is ops_report's to judge. */
static char *
pages_reports_text(const char *v)
{
	char *out = xstrdup(v != NULL ? v : ""), *o = out;

	for (const char *s = out; *s != '\0'; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			*o++ = *s;
	*o = '\0';
	return out;
}

static void
pages_reports_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_report *p = arg;
	const char *when = admin_req_form(r, "when");
	const char *address = admin_req_form(r, "address");
	struct ops_ctx c;
	char *what;

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	what = pages_reports_text(admin_req_form(r, "what"));
	p->r = ops_report_add(&c, p->domain, when, address, what,
	    (int64_t)time(NULL), &p->st);
	free(what);
}

static void
pages_reports_post_done(struct admin_req *r, void *arg)
{
	struct pages_report *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else
		page_redirect_done(r, p->back, "reported");
	free(p);
}

/* POST /help/DOMAIN. */
static void
pages_reports_post(struct admin_req *r, void *arg)
{
	struct pages_report *p = xcalloc(1, sizeof(*p));

	if (!page_only_segment(admin_req_rest(r), p->domain,
	    sizeof(p->domain))) {
		admin_resp_error(r, 404, "no such page");
		free(p);
		return;
	}
	str_lower(p->domain);
	snprintf(p->back, sizeof(p->back), "/help/%s", p->domain);
	admin_req_run(r, pages_reports_post_work, pages_reports_post_done, p);
}

void
pages_reports_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_POST, "/help/", ADMIN_F_LOGIN,
	    pages_reports_post, NULL);
}
