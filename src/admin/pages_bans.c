/* /admin/bans (the admin only): the failed-login bans in force, a form
 * to ban an address and a button to lift each ban, through
 * src/ops/ops_ban.c as `ferry ban list|add|del` does.  Bans are
 * server-wide, so no postmaster sees this page (the route says so, and
 * ops_ban_* refuse any other actor as well). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_ban.h"

struct pages_bans {
	struct ops_status st;
	int r;
	const char *done;
	struct ops_ban_list bans;
	int64_t now;
};

static void
pages_bans_free(struct pages_bans *p)
{
	ops_ban_list_free(&p->bans);
	free(p);
}

static bool
pages_bans_ctx(struct admin_req *r, struct store *conn, struct ops_ctx *c,
    struct pages_bans *p)
{
	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return false;
	}
	admin_req_ops_ctx(r, conn, c);
	p->now = (int64_t)time(NULL);
	return true;
}

static void
pages_bans_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_bans *p = arg;
	struct ops_ctx c;

	if (pages_bans_ctx(r, conn, &c, p))
		p->r = ops_ban_list(&c, p->now, &p->bans, &p->st);
}

/* "2026-12-05 10:00 UTC". */
static void
pages_bans_time(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(dst, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		str_lcpy(dst, "?", size);
}

static void
pages_bans_done(struct admin_req *r, void *arg)
{
	struct pages_bans *p = arg;
	struct fbuf *b = admin_resp_body(r);

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_bans_free(p);
		return;
	}
	html_begin(r, "Bans");
	page_notice(r);
	if (p->bans.n == 0)
		fbuf_adds(b, "<p>No address is banned.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Address</th><th>Reason</th>"
		    "<th>Since</th><th>Until</th><th></th></tr>");
	for (size_t i = 0; i < p->bans.n; i++) {
		const struct store_ban *ban = &p->bans.v[i];
		char since[40], until[40];

		pages_bans_time(ban->created, since, sizeof(since));
		pages_bans_time(ban->until, until, sizeof(until));
		html_addf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
		    "<td><form class=\"inline\" method=\"post\" "
		    "action=\"/admin/bans\">", ban->ip, ban->reason, since,
		    until);
		html_csrf(r);
		html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"del\">"
		    "<input type=\"hidden\" name=\"ip\" value=\"%s\">"
		    "<button class=\"danger\" type=\"submit\">Lift</button>"
		    "</form></td></tr>", ban->ip);
	}
	if (p->bans.n > 0)
		fbuf_adds(b, "</table>");
	fbuf_adds(b, "<h2>Ban an address</h2><form method=\"post\" "
	    "action=\"/admin/bans\">");
	html_csrf(r);
	fbuf_adds(b, "<input type=\"hidden\" name=\"op\" value=\"add\">"
	    "<label for=\"ip\">Address</label><input id=\"ip\" name=\"ip\" "
	    "required maxlength=\"64\"><label for=\"hours\">For how many hours "
	    "(empty: auth_ban_time)</label><input id=\"hours\" name=\"hours\" "
	    "inputmode=\"numeric\" maxlength=\"6\"> <button type=\"submit\">"
	    "Ban</button></form>");
	html_end(r);
	pages_bans_free(p);
}

static void
pages_bans(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_bans_work, pages_bans_done,
	    xcalloc(1, sizeof(struct pages_bans)));
}

/* The hours field: empty is the configured ban time (0). */
static int
pages_bans_hours(struct admin_req *r, uint64_t *seconds_r,
    struct ops_status *st)
{
	const char *h = admin_req_form(r, "hours");
	uint64_t v = 0;

	*seconds_r = 0;
	if (h == NULL || h[0] == '\0')
		return 0;
	if (strlen(h) > 6)
		return ops_fail(st, OPS_EINVAL, "too many hours");
	for (const char *s = h; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return ops_fail(st, OPS_EINVAL, "the hours are not a "
			    "number");
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v == 0)
		return ops_fail(st, OPS_EINVAL, "a ban lasts at least an hour");
	*seconds_r = v * 3600;
	return 0;
}

static void
pages_bans_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_bans *p = arg;
	const char *op = page_field(r, "op", 8);
	const char *ip = page_field(r, "ip", 64);
	struct ops_ctx c;
	uint64_t seconds;

	if (!pages_bans_ctx(r, conn, &c, p))
		return;
	if (op == NULL || ip == NULL || ip[0] == '\0')
		p->r = ops_fail(&p->st, OPS_EINVAL, "the form is incomplete "
		    "or the address is too long");
	else if (strcmp(op, "add") == 0) {
		p->done = "ban_added";
		if ((p->r = pages_bans_hours(r, &seconds, &p->st)) == 0)
			p->r = ops_ban_add(&c, ip, seconds, p->now, &p->st);
	} else if (strcmp(op, "del") == 0) {
		p->done = "ban_deleted";
		p->r = ops_ban_del(&c, ip, p->now, &p->st);
	} else
		p->r = ops_fail(&p->st, OPS_EINVAL, "unknown operation");
}

static void
pages_bans_post_done(struct admin_req *r, void *arg)
{
	struct pages_bans *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else
		page_redirect_done(r, "/admin/bans", p->done);
	pages_bans_free(p);
}

static void
pages_bans_post(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_bans_post_work, pages_bans_post_done,
	    xcalloc(1, sizeof(struct pages_bans)));
}

void
pages_bans_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/admin/bans", ADMIN_F_ADMIN,
	    pages_bans, NULL);
	admin_http_route(h, ADMIN_POST, "/admin/bans", ADMIN_F_ADMIN,
	    pages_bans_post, NULL);
}
