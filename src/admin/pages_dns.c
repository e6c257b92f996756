/* /dns/DOMAIN (the domain's postmaster and the admin): the DNS records
 * the domain should publish and what DNS says about each now, as `ferry
 * domain records DOMAIN --check` shows them (src/ops/ops_dnsrec.c does
 * both: the list from the store and configuration, the check through
 * the server's own resolvers on a loop of its own, on the worker
 * thread).  Scope: ops_dnsrec_list() checks the domain for the actor. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_dnsrec.h"

struct pages_dns {
	char domain[256];
	struct ops_dnsrec_list l;
	bool have_list;
	struct ops_status st;
	int r;
};

static void
pages_dns_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_dns *p = arg;
	struct ops_ctx c;

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	if ((p->r = ops_dnsrec_list(&c, p->domain, &p->l, &p->st)) < 0)
		return;
	p->have_list = true;
	/* A resolver that cannot be made leaves every record unchecked:
	 * the list is still what to publish. */
	(void)ops_dnsrec_check(admin_req_conf(r), &p->l, &p->st);
	p->r = 0;
}

static const char *
pages_dns_state(enum ops_dnsrec_state s)
{
	switch (s) {
	case OPS_DNSREC_MATCH:
		return "published";
	case OPS_DNSREC_DIFFERS:
		return "published, but different";
	case OPS_DNSREC_MISSING:
		return "missing";
	case OPS_DNSREC_FAILED:
		return "DNS did not answer";
	case OPS_DNSREC_UNCHECKED:
	default:
		return "not checked";
	}
}

static void
pages_dns_row(struct fbuf *b, const struct ops_dnsrec *rec)
{
	html_addf(b, "<tr><td>%s<br><small>%s</small></td><td>%s</td>"
	    "<td><code>%s</code></td><td class=\"dns-%s\">%s",
	    rec->name, rec->purpose, rec->type, rec->value,
	    ops_dnsrec_state_str(rec->state), pages_dns_state(rec->state));
	if (rec->state == OPS_DNSREC_FAILED)
		html_addf(b, " (%s)", rec->why);
	for (size_t k = 0; k < rec->npublished &&
	    rec->state != OPS_DNSREC_MATCH; k++)
		html_addf(b, "<br>now: <code>%s</code>", rec->published[k]);
	fbuf_adds(b, "</td></tr>");
}

static void
pages_dns_done(struct admin_req *r, void *arg)
{
	struct pages_dns *p = arg;
	struct fbuf *b = admin_resp_body(r);
	bool dkim = false;
	char title[300];

	if (p->r < 0) {
		page_ops_error(r, &p->st);
	} else {
		snprintf(title, sizeof(title), "DNS records for %s",
		    p->l.domain);
		html_begin(r, title);
		html_addf(b, "<p>Publish these records in the DNS zone of "
		    "<strong>%s</strong> so that mail for it reaches this "
		    "server (%s) and mail from it is trusted. \"Now\" is "
		    "what the server's resolvers answer at this moment.</p>",
		    p->l.domain, p->l.host);
		for (size_t i = 0; i < p->l.n; i++)
			dkim |= p->l.v[i].kind == OPS_DNSREC_DKIM;
		if (!dkim)
			html_addf(b, "<p class=\"error\">No DKIM key yet: "
			    "<code>ferry dkim keygen %s</code> makes one.</p>",
			    p->l.domain);
		fbuf_adds(b, "<table><tr><th>Name</th><th>Type</th>"
		    "<th>Value</th><th>In DNS</th></tr>");
		for (size_t i = 0; i < p->l.n; i++)
			pages_dns_row(b, &p->l.v[i]);
		html_addf(b, "</table><p><a href=\"/domains/%s\">Back to %s"
		    "</a></p>", p->l.domain, p->l.domain);
		html_end(r);
	}
	if (p->have_list)
		ops_dnsrec_list_free(&p->l);
	free(p);
}

static void
pages_dns(struct admin_req *r, void *arg)
{
	struct pages_dns *p = xcalloc(1, sizeof(*p));

	if (!page_only_segment(admin_req_rest(r), p->domain,
	    sizeof(p->domain))) {
		admin_resp_error(r, 404, "no such page");
		free(p);
		return;
	}
	admin_req_run(r, pages_dns_work, pages_dns_done, p);
}

void
pages_dns_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/dns/", ADMIN_F_POSTMASTER, pages_dns,
	    NULL);
}
