/* /admin/status and /admin/settings (the admin only).  The status page
 * is `ferry status` on a page (ops_status.h gathers for both): the
 * server and its roles with uptimes, the listeners, the queue by state
 * and destination with the held messages, bans, send-held users and
 * suspended domains, the resolvers with their answers since start (the
 * shared metrics region), and the last warnings and errors of the log.
 * The settings page lists the configuration in force, from the
 * request's snapshot (conf_show.h), secrets never shown. */
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
#include "conf/conf_show.h"
#include "lib/xalloc.h"
#include "ops/ops_status.h"
#include "store/store.h"

struct pages_status {
	struct ops_status_info info;
	struct ops_status st;
	int r;
};

static void
pages_status_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_status *p = arg;

	/* Without the store the rest is still worth showing. */
	p->r = ops_status_gather(admin_req_actor(r), admin_req_conf(r), conn,
	    true, &p->info, &p->st);
	if (conn == NULL)
		p->info.bans = -1;
}

static void
pages_status_roles(struct fbuf *b, const struct ops_status_info *s)
{
	char up[32];

	if (s->server.pid == 0) {
		fbuf_adds(b, "<p class=\"error\">The server is not running "
		    "(no live pid file).</p>");
		return;
	}
	ops_status_span(up, sizeof(up), s->server.up);
	html_addf(b, "<p>Running as pid %d, up %s.</p><table><tr><th>Role"
	    "</th><th>Pid</th><th>Up</th></tr>", s->server.pid, up);
	for (size_t i = 0; i < s->nroles; i++) {
		ops_status_span(up, sizeof(up), s->roles[i].up);
		html_addf(b, "<tr><td>%s</td><td>%d</td><td>%s</td></tr>",
		    s->roles[i].name, s->roles[i].pid, up);
	}
	fbuf_adds(b, "</table>");
}

static void
pages_status_listen_row(struct fbuf *b, const char *kind,
    const struct conf_listen_list *l)
{
	for (size_t k = 0; k < l->n; k++)
		html_addf(b, "<tr><td>%s</td><td>%s:%s</td></tr>", kind,
		    l->v[k].host, l->v[k].port);
}

static void
pages_status_listeners(struct fbuf *b, const struct conf *c)
{
	fbuf_adds(b, "<h2>Listeners</h2><table><tr><th>Service</th>"
	    "<th>Address</th></tr>");
	for (size_t i = 0; i < OPS_STATUS_KINDS; i++)
		pages_status_listen_row(b, ops_status_listen_kind(i),
		    ops_status_listen(c, i));
	pages_status_listen_row(b, "admin", &c->admin_listen);
	pages_status_listen_row(b, "metrics", &c->metrics_listen);
	fbuf_adds(b, "</table>");
}

static void
pages_status_queue(struct fbuf *b, const struct ops_status_info *s)
{
	char age[32];

	fbuf_adds(b, "<h2>Queue</h2>");
	if (s->queue_error != NULL) {
		html_addf(b, "<p class=\"error\">%s</p>", s->queue_error);
		return;
	}
	ops_status_span(age, sizeof(age), s->oldest);
	html_addf(b, "<table><tr><th>Messages</th><td>%lu</td></tr>"
	    "<tr><th>Recipients pending</th><td>%lu</td></tr>"
	    "<tr><th>Recipients held</th><td>%lu</td></tr>"
	    "<tr><th>Failed (bounce due)</th><td>%lu</td></tr>"
	    "<tr><th>Oldest</th><td>%s</td></tr></table>",
	    (unsigned long)s->messages, (unsigned long)s->pending,
	    (unsigned long)s->held, (unsigned long)s->failed,
	    s->messages > 0 ? age : "-");
	for (size_t i = 0; i < s->ndests; i++)
		html_addf(b, "%s%s: %lu%s", i == 0 ? "<p>Busiest destinations: "
		    : ", ", s->dests[i].domain, (unsigned long)s->dests[i].n,
		    i + 1 == s->ndests ? ".</p>" : "");
	fbuf_adds(b, "<p><a href=\"/queue\">The queue</a></p>");
	if (s->held_messages == 0)
		return;
	html_addf(b, "<h3>Held messages (%lu)</h3><table><tr><th>Id</th>"
	    "<th>Age</th><th>Sender</th><th>Why</th></tr>",
	    (unsigned long)s->held_messages);
	for (size_t i = 0; i < s->nheld_msgs; i++) {
		const struct ops_status_held *h = &s->held_msgs[i];

		ops_status_span(age, sizeof(age), h->age);
		html_addf(b, "<tr><td><a href=\"/queue/msg/%s\">%s</a></td>"
		    "<td>%s</td><td>&lt;%s&gt;</td><td>%s</td></tr>", h->id,
		    h->id, age, h->sender, h->reason != NULL ? h->reason :
		    "held by the operator");
	}
	fbuf_adds(b, "</table>");
}

static void
pages_status_abuse(struct fbuf *b, const struct ops_status_info *s)
{
	char when[40];

	fbuf_adds(b, "<h2>Bans and outbound abuse</h2>");
	if (s->bans < 0)
		fbuf_adds(b, "<p>Bans: unknown (the store is unavailable).</p>");
	else
		html_addf(b, "<p>%ld failed-login ban%s in force "
		    "(<a href=\"/admin/bans\">bans</a>).</p>", (long)s->bans,
		    s->bans == 1 ? "" : "s");
	if (!s->abuse_known) {
		fbuf_adds(b, "<p>Send-holds and suspensions: unknown.</p>");
		return;
	}
	if (s->nsend_holds == 0)
		fbuf_adds(b, "<p>No user is on send-hold.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Send-held user</th><th>Since</th>"
		    "<th>Why</th></tr>");
	for (size_t i = 0; i < s->nsend_holds; i++) {
		time_t t = (time_t)s->send_holds[i].since;
		struct tm tm;

		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%d %H:%M UTC", &tm) == 0)
			snprintf(when, sizeof(when), "?");
		html_addf(b, "<tr><td>%s</td><td>%s</td><td>%s%s</td></tr>",
		    s->send_holds[i].address, when, s->send_holds[i].reason,
		    s->send_holds[i].automatic ? " (automatic)" : "");
	}
	if (s->nsend_holds > 0)
		fbuf_adds(b, "</table>");
	if (s->nsuspended == 0)
		fbuf_adds(b, "<p>No domain is suspended.</p>");
	for (size_t i = 0; i < s->nsuspended; i++)
		html_addf(b, "%s%s%s", i == 0 ? "<p>Suspended domains: " :
		    ", ", s->suspended[i].domain, i + 1 == s->nsuspended ?
		    ".</p>" : "");
}

static void
pages_status_resolvers(struct fbuf *b, const struct conf *c,
    const struct ops_status_info *s)
{
	fbuf_adds(b, "<h2>Resolvers</h2><p>Configured: ");
	if (c->dns_resolvers.n == 0)
		fbuf_adds(b, "the system's (/etc/resolv.conf)");
	for (size_t i = 0; i < c->dns_resolvers.n; i++)
		html_addf(b, "%s%s:%s", i > 0 ? ", " : "",
		    c->dns_resolvers.v[i].host, c->dns_resolvers.v[i].port);
	for (size_t i = 0; i < c->dns_fallback_resolvers.n; i++)
		html_addf(b, "%s%s:%s", i == 0 ? "; fallback: " : ", ",
		    c->dns_fallback_resolvers.v[i].host,
		    c->dns_fallback_resolvers.v[i].port);
	fbuf_adds(b, ".</p>");
	if (!s->dns_known)
		return;
	fbuf_adds(b, "<table><tr><th>Since start</th>");
	for (size_t k = 0; k < METRICS_DNS_RESULT_N; k++)
		html_addf(b, "<th>%s</th>", metrics_dns_result_names[k]);
	fbuf_adds(b, "</tr>");
	for (size_t r = 0; r < METRICS_RESOLVER_N; r++) {
		html_addf(b, "<tr><td>%s</td>", metrics_resolver_names[r]);
		for (size_t k = 0; k < METRICS_DNS_RESULT_N; k++)
			html_addf(b, "<td>%llu</td>",
			    (unsigned long long)s->dns[r][k]);
		fbuf_adds(b, "</tr>");
	}
	fbuf_adds(b, "</table>");
}

static void
pages_status_errors(struct fbuf *b, const struct conf *c,
    const struct ops_status_info *s)
{
	fbuf_adds(b, "<h2>Last warnings and errors</h2>");
	if (c->log_file[0] == '\0')
		fbuf_adds(b, "<p>Unknown: log_file is not set.</p>");
	else if (s->nerrors == 0)
		html_addf(b, "<p>None in %s.</p>", c->log_file);
	else {
		fbuf_adds(b, "<pre>");
		for (size_t i = 0; i < s->nerrors; i++)
			html_addf(b, "%s\n", s->errors[i]);
		fbuf_adds(b, "</pre>");
	}
}

static void
pages_status_done(struct admin_req *r, void *arg)
{
	struct pages_status *p = arg;
	const struct conf *c = admin_req_conf(r);
	struct fbuf *b = admin_resp_body(r);

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else {
		html_begin(r, "Status");
		pages_status_roles(b, &p->info);
		pages_status_listeners(b, c);
		pages_status_queue(b, &p->info);
		pages_status_abuse(b, &p->info);
		pages_status_resolvers(b, c, &p->info);
		pages_status_errors(b, c, &p->info);
		fbuf_adds(b, "<p><a href=\"/admin/settings\">The settings in "
		    "force</a></p>");
		html_end(r);
	}
	ops_status_info_free(&p->info);
	free(p);
}

static void
pages_status(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_status_work, pages_status_done,
	    xcalloc(1, sizeof(struct pages_status)));
}

/* ---- /admin/settings ---- */

static void
pages_settings_row(const char *name, const char *value, bool secret,
    void *ctx)
{
	struct fbuf *b = ctx;

	if (secret)
		html_addf(b, "<tr><td>%s</td><td class=\"system\">%s</td></tr>",
		    name, value[0] != '\0' ? "set (not shown)" : "not set");
	else
		html_addf(b, "<tr><td>%s</td><td><code>%s</code></td></tr>",
		    name, value);
}

static void
pages_settings(struct admin_req *r, void *arg)
{
	const struct conf *c = admin_req_conf(r);
	struct fbuf *b = admin_resp_body(r);

	html_begin(r, "Settings in force");
	html_addf(b, "<p>The configuration the server runs with now, read "
	    "from %s (defaults included; sizes in bytes, durations in "
	    "seconds). It is changed by editing that file and "
	    "<code>ferry reload</code>; nothing here can change it. Secrets "
	    "are never shown.</p><table><tr><th>Key</th><th>Value</th></tr>",
	    c->path);
	conf_show(c, pages_settings_row, b);
	fbuf_adds(b, "</table>");
	html_end(r);
}

void
pages_status_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/admin/status", ADMIN_F_ADMIN,
	    pages_status, NULL);
	admin_http_route(h, ADMIN_GET, "/admin/settings", ADMIN_F_ADMIN,
	    pages_settings, NULL);
}
