/* Client autoconfiguration and the help page (docs/autoconfig.md), for
 * anyone, without login: Thunderbird's autoconfig, Outlook's
 * autodiscover, the Apple profile, and /help (/help/DOMAIN, or the
 * domain of the Host) with the settings a customer types by hand.
 * autoconfig.c decides what is asked and writes it; the one lookup,
 * whether the domain is hosted, runs on a worker thread, and any other
 * domain gets 404. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/autoconfig.h"
#include "admin/autoconfig_help.h"
#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "admin/pages_reports.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "store/store.h"

struct pages_autoconfig {
	struct autoconfig_req req;
	int hosted;		/* store_domain_exists(): 1, 0, -1 */
	struct pages_reports_facts facts;	/* the help page's */
};

static void
pages_autoconfig_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_autoconfig *p = arg;

	p->hosted = conn == NULL ? -1 : store_domain_exists(conn,
	    p->req.domain);
}

/* 404 for a domain that is not hosted here, 503 when the store could
 * not say; 0 when the answer may be written. */
static int
pages_autoconfig_hosted(struct admin_req *r, const struct pages_autoconfig *p)
{
	if (p->hosted == 1)
		return 0;
	log_info("- admin autoconfig path=%s domain=%s result=%s",
	    log_q(admin_req_path(r)), log_q(p->req.domain),
	    p->hosted == 0 ? "unknown-domain" : "store-error");
	if (p->hosted == 0)
		admin_resp_error(r, 404, "This domain is not served here.");
	else
		admin_resp_error(r, 503, "Please try again later.");
	return -1;
}

static void
pages_autoconfig_done(struct admin_req *r, void *arg)
{
	struct pages_autoconfig *p = arg;
	const char *type, *filename;

	if (pages_autoconfig_hosted(r, p) == 0) {
		type = autoconfig_write(admin_req_conf(r), &p->req,
		    admin_resp_body(r), &filename);
		admin_resp_type(r, type);
		if (filename != NULL)
			admin_resp_header(r, "Content-Disposition",
			    "attachment; filename=\"mail.mobileconfig\"");
	}
	free(p);
}

static void
pages_autoconfig(struct admin_req *r, void *arg)
{
	struct pages_autoconfig *p = xcalloc(1, sizeof(*p));
	size_t len = 0;
	const char *body = admin_req_post(r) ? admin_req_body(r, &len) : NULL;
	int status;

	status = autoconfig_route(admin_req_post(r) ? "POST" : "GET",
	    admin_req_path(r), admin_req_query(r, "emailaddress"),
	    admin_req_host(r), body, len, &p->req);
	if (status != 200) {
		log_info("- admin autoconfig path=%s status=%d reason=%s",
		    log_q(admin_req_path(r)), status,
		    log_q(p->req.error != NULL ? p->req.error : "-"));
		admin_resp_error(r, status == 0 ? 404 : status,
		    status == 413 ? "The request is too large." :
		    status == 404 ? "This is not served here." :
		    "The request is malformed.");
		free(p);
		return;
	}
	admin_req_run(r, pages_autoconfig_work, pages_autoconfig_done, p);
}

/* ------------------------------------------------------------- help */

/* Whether the domain is hosted, and for a logged-in user what the log
 * says about their mail (the report form shows it). */
static void
pages_help_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_autoconfig *p = arg;

	pages_autoconfig_work(r, conn, arg);
	pages_reports_facts_get(r, &p->facts);
}

static void
pages_help_done(struct admin_req *r, void *arg)
{
	struct pages_autoconfig *p = arg;
	struct autoconfig_help h;
	char title[300];

	if (pages_autoconfig_hosted(r, p) < 0) {
		pages_reports_facts_free(&p->facts);
		free(p);
		return;
	}
	autoconfig_help(admin_req_conf(r), p->req.domain, &h);
	snprintf(title, sizeof(title), "Mail settings for %s", h.domain);
	html_begin(r, title);
	autoconfig_help_html(&h, admin_resp_body(r));
	page_notice(r);
	pages_reports_form(r, h.domain, &p->facts);
	html_end(r);
	pages_reports_facts_free(&p->facts);
	free(p);
}

static void
pages_help(struct admin_req *r, void *arg)
{
	struct pages_autoconfig *p = xcalloc(1, sizeof(*p));
	const char *rest = admin_req_rest(r);
	const char *name = rest[0] != '\0' ? rest : admin_req_host(r);

	if (autoconfig_host_domain(name, p->req.domain,
	    sizeof(p->req.domain)) < 0) {
		admin_resp_error(r, 404, "There is no page at this address.");
		free(p);
		return;
	}
	admin_req_run(r, pages_help_work, pages_help_done, p);
}

void
pages_autoconfig_register(struct admin_http *h)
{
	static const char *const get[] = {
		"/.well-known/autoconfig/mail/config-v1.1.xml",
		"/mail/config-v1.1.xml", "/mobileconfig",
	};
	static const char *const post[] = {
		"/autodiscover/autodiscover.xml",
		"/Autodiscover/Autodiscover.xml",
		"/AutoDiscover/AutoDiscover.xml",
	};

	for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++)
		admin_http_route(h, ADMIN_GET, get[i], 0, pages_autoconfig,
		    NULL);
	for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++)
		admin_http_route(h, ADMIN_POST, post[i], 0, pages_autoconfig,
		    NULL);
	admin_http_route(h, ADMIN_GET, "/help", 0, pages_help, NULL);
	admin_http_route(h, ADMIN_GET, "/help/", 0, pages_help, NULL);
}
