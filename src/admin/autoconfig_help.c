/* The help page's rows (autoconfig_help.h).  Security is named as mail
 * programs name it ("SSL/TLS" for implicit TLS, "STARTTLS"), and each
 * row says when to pick it: the first port of a kind is the one to
 * use, an implicit-TLS port is preferred over STARTTLS (RFC 8314), and
 * further submission ports are for networks that block the usual ones.
 * Deliberately no passwords or account data: the page is the same for
 * everyone in the domain. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin/autoconfig_help.h"
#include "admin/html.h"
#include "lib/fbuf.h"
#include "ops/ops_services.h"

static const char *
autoconfig_help_when(const struct ops_service *v, bool first_of_proto,
    bool first_of_sec)
{
	if (v->sec == OPS_SVC_PLAIN)
		return "without encryption: only on a network you trust";
	if (first_of_proto)
		return "recommended";
	if (v->proto == OPS_SVC_SMTP && !first_of_sec)
		return "if your network blocks the ports above";
	if (v->sec == OPS_SVC_STARTTLS)
		return "if your mail program has no SSL/TLS setting";
	return "if the port above does not work";
}

void
autoconfig_help(const struct conf *conf, const char *domain,
    struct autoconfig_help *out)
{
	static const char *const what[] = { "Incoming mail (IMAP)",
	    "Incoming mail (POP3)", "Outgoing mail (SMTP)" };
	static const char *const sec[] = { "SSL/TLS", "STARTTLS",
	    "None" };
	struct ops_services s;

	ops_services(conf, &s);
	memset(out, 0, sizeof(*out));
	snprintf(out->domain, sizeof(out->domain), "%s", domain);
	snprintf(out->host, sizeof(out->host), "%s", s.host);
	snprintf(out->username, sizeof(out->username),
	    "your full e-mail address (name@%s)", domain);
	for (size_t i = 0; i < s.n; i++) {
		bool first_proto = true, first_sec = true;

		for (size_t k = 0; k < i; k++) {
			first_proto &= s.v[k].proto != s.v[i].proto;
			first_sec &= s.v[k].proto != s.v[i].proto ||
			    s.v[k].sec != s.v[i].sec;
		}
		out->v[out->n].proto = s.v[i].proto;
		out->v[out->n].what = what[s.v[i].proto];
		out->v[out->n].port = s.v[i].port;
		out->v[out->n].security = sec[s.v[i].sec];
		out->v[out->n].when = autoconfig_help_when(&s.v[i],
		    first_proto, first_sec);
		out->n++;
	}
}

static void
autoconfig_help_table(const struct autoconfig_help *h,
    enum ops_service_proto proto, struct fbuf *out)
{
	bool any = false;

	for (size_t i = 0; i < h->n; i++) {
		const struct autoconfig_help_row *row = &h->v[i];

		if (row->proto != proto)
			continue;
		if (!any)
			html_addf(out, "<h2>%s</h2><table class=\"help\">"
			    "<tr><th>Server</th><th>Port</th><th>Security</th>"
			    "<th>When</th></tr>", row->what);
		any = true;
		html_addf(out, "<tr><td><code>%s</code></td><td>%u</td>"
		    "<td>%s</td><td>%s</td></tr>", h->host, row->port,
		    row->security, row->when);
	}
	if (any)
		fbuf_adds(out, "</table>");
}

void
autoconfig_help_html(const struct autoconfig_help *h, struct fbuf *out)
{
	html_addf(out, "<p>Most mail programs set themselves up when you "
	    "enter your e-mail address and password. If yours asks for the "
	    "servers, use these settings for <strong>%s</strong>.</p>",
	    h->domain);
	autoconfig_help_table(h, OPS_SVC_IMAP, out);
	autoconfig_help_table(h, OPS_SVC_POP3, out);
	autoconfig_help_table(h, OPS_SVC_SMTP, out);
	if (h->n == 0)
		fbuf_adds(out, "<p>This server offers no mailbox access or "
		    "sending for mail programs.</p>");
	html_addf(out, "<h2>Your login</h2><ul>"
	    "<li>User name: %s, for incoming and outgoing mail.</li>"
	    "<li>Password: your mailbox password (\"normal password\"); "
	    "the outgoing server needs it too.</li>"
	    "<li>Choose IMAP to see the same mail on several devices; "
	    "POP3 downloads it to one.</li></ul>", h->username);
	fbuf_adds(out, "<h2>iPhone, iPad and Mac</h2>"
	    "<form method=\"get\" action=\"/mobileconfig\">"
	    "<label for=\"emailaddress\">Your e-mail address</label>"
	    "<input type=\"email\" id=\"emailaddress\" name=\"emailaddress\" "
	    "required> <button type=\"submit\">Download the settings "
	    "profile</button></form>");
}
