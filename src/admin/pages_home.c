/* The start page after login: who you are, what you may do, and (for
 * the admin and postmasters) the domains in your care, from the
 * operations layer as the CLI's `ferry domain list` sees them. */
#include <stdlib.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/pages.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"

struct pages_home {
	struct ops_domain_list domains;
	struct ops_status st;
	int r;
};

static void
pages_home_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_home *p = arg;
	struct ops_ctx c;

	if (admin_req_actor(r)->role == OPS_USER)
		return;
	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	p->r = ops_domain_list(&c, &p->domains, &p->st);
}

static void
pages_home_done(struct admin_req *r, void *arg)
{
	struct pages_home *p = arg;
	const struct ops_actor *a = admin_req_actor(r);
	struct fbuf *b = admin_resp_body(r);

	html_begin(r, "Welcome");
	html_addf(b, "<p>You are logged in as <strong>%s</strong> (%s).</p>",
	    admin_req_user(r), a->role == OPS_ADMIN ? "administrator" :
	    a->role == OPS_POSTMASTER ? "postmaster" : "mailbox user");
	if (a->role != OPS_USER) {
		if (p->r < 0)
			html_addf(b, "<p class=\"error\">%s</p>", p->st.text);
		else if (p->domains.n == 0)
			fbuf_adds(b, "<p>No domains yet.</p>");
		else {
			fbuf_adds(b, "<h2>Domains</h2><table><tr><th>Domain"
			    "</th></tr>");
			for (size_t i = 0; i < p->domains.n; i++)
				html_addf(b, "<tr><td><a href=\"/domains/%s\">"
				    "%s</a></td></tr>", p->domains.v[i],
				    p->domains.v[i]);
			fbuf_adds(b, "</table>");
		}
	}
	fbuf_adds(b, "<h2>Your account</h2><p><a href=\"/account\">Password, "
	    "forwarding, vacation reply and quota</a></p>");
	html_end(r);
	ops_domain_list_free(&p->domains);
	free(p);
}

static void
pages_home(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_home_work, pages_home_done,
	    xcalloc(1, sizeof(struct pages_home)));
}

void
pages_home_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/", ADMIN_F_LOGIN, pages_home, NULL);
}
