/* "Report a mail problem": the form on the help page /help/DOMAIN for a
 * logged-in user, its POST, and the list the domain's postmaster sees on
 * /domains/DOMAIN.  The report is kept by src/ops/ops_report.c (scope
 * there: a user reports only to its own domain's postmaster), which also
 * mails it to the postmaster; the reporter is the logged-in address,
 * never a form field.  The form shows what the log says about the
 * user's own recent mail (ops_report_facts()); ticked, the report
 * carries those facts, read again from the log when it is sent (never
 * taken from the form, so what the postmaster reads is the server's
 * word).  Everything shown is escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "admin/pages_reports.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_notice.h"
#include "ops/ops_report.h"

struct pages_report {
	char domain[256];
	char back[300];
	char mail_error[OPS_NOTICE_ERROR_MAX];
	struct ops_status st;
	int r;
};

void
pages_reports_facts_get(struct admin_req *r, struct pages_reports_facts *f)
{
	const struct ops_actor *a = admin_req_actor(r);
	time_t since = time(NULL) - (time_t)OPS_REPORT_FACTS_DAYS * 86400;

	fbuf_init(&f->text, OPS_REPORT_FACTS_MAX + 1024);
	f->r = 1;
	if (a == NULL)
		return;
	f->r = ops_report_facts(a, admin_req_conf(r)->log_file, since,
	    &f->text, &f->st);
}

void
pages_reports_facts_free(struct pages_reports_facts *f)
{
	fbuf_release(&f->text);
}

static void
pages_reports_facts_show(struct fbuf *b, const struct pages_reports_facts *f)
{
	fbuf_adds(b, "<h3>Your recent mail, as the server's log shows it</h3>");
	if (f->r < 0) {
		html_addf(b, "<p>The log could not be read for this (%s); "
		    "describe the problem below.</p>", f->st.text);
		return;
	}
	if (f->text.len == 0) {
		html_addf(b, "<p>The log shows no mail refused or left "
		    "undelivered for you, and none of yours refused, in the "
		    "last %d days.</p>", OPS_REPORT_FACTS_DAYS);
		return;
	}
	html_addf(b, "<p>Mail refused or not delivered for you, and mail "
	    "you sent that was refused, in the last %d days (oldest first). "
	    "Leave the box ticked and your postmaster gets these lines with "
	    "your report.</p><pre class=\"facts\">%s</pre>",
	    OPS_REPORT_FACTS_DAYS, fbuf_str(&f->text));
}

void
pages_reports_form(struct admin_req *r, const char *domain,
    const struct pages_reports_facts *f)
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
	    "your address (%s) with it.</p>", domain, admin_req_user(r));
	if (f != NULL)
		pages_reports_facts_show(b, f);
	html_addf(b, "<form method=\"post\" action=\"/help/%s\">", domain);
	html_csrf(r);
	if (f != NULL && f->r == 0 && f->text.len > 0)
		fbuf_adds(b, "<label><input type=\"checkbox\" "
		    "name=\"include_log\" value=\"yes\" checked> Include "
		    "the lines above</label>");
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
	html_addf(b, "<p>The last %d reports from the help page, newest first "
	    "(each was also mailed to the domain's postmaster address)."
	    "</p><table><tr><th>Reported</th><th>By</th><th>When</th>"
	    "<th>Address</th><th>What</th><th>From the log</th></tr>",
	    OPS_REPORT_KEEP);
	for (size_t i = l->n; i-- > 0;) {
		const struct ops_report *rep = &l->v[i];
		time_t t = (time_t)rep->time;
		struct tm tm;

		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%d %H:%M UTC", &tm) == 0)
			str_lcpy(when, "?", sizeof(when));
		html_addf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		    "<td><pre>%s</pre></td><td>%s%s%s</td></tr>", when,
		    rep->reporter, rep->when, rep->address, rep->what,
		    rep->facts[0] != '\0' ? "<pre class=\"facts\">" : "",
		    rep->facts[0] != '\0' ? rep->facts : "-",
		    rep->facts[0] != '\0' ? "</pre>" : "");
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
	const char *include = admin_req_form(r, "include_log");
	struct pages_reports_facts f;
	struct ops_report_in in = { when, address, NULL, NULL };
	struct ops_ctx c;
	char *what;

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	what = pages_reports_text(admin_req_form(r, "what"));
	in.what = what;
	pages_reports_facts_get(r, &f);
	if (include != NULL && strcmp(include, "yes") == 0 && f.r == 0)
		in.facts = fbuf_str(&f.text);
	p->r = ops_report_add(&c, p->domain, &in, (int64_t)time(NULL),
	    p->mail_error, &p->st);
	pages_reports_facts_free(&f);
	free(what);
}

static void
pages_reports_post_done(struct admin_req *r, void *arg)
{
	struct pages_report *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else {
		if (p->mail_error[0] != '\0')
			log_warnx("- admin report-mail-failed domain=%s "
			    "reason=%s", log_q(p->domain),
			    log_q(p->mail_error));
		page_redirect_done(r, p->back, "reported");
	}
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
