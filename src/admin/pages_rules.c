/* /rules/DOMAIN: a domain's own rules (allow or deny senders and client
 * addresses, skip checks for its recipients) from src/ops/ops_rule.c,
 * shown beside the system settings they override, which are read from
 * the request's configuration snapshot and greyed out: the postmaster
 * sees what the server does and what their rule changes, and changes
 * only the latter.  Adding and deleting go through ops_rule_add/del
 * exactly as `ferry rule` does. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "conf/conf.h"
#include "lib/xalloc.h"
#include "ops/ops_rule.h"

struct pages_rules {
	char domain[256];
	struct ops_status st;
	int r;
	const char *done;
	struct ops_rule_list rules;
};

static void
pages_rules_free(struct pages_rules *p)
{
	ops_rule_list_free(&p->rules);
	free(p);
}

/* Opens the ops context and checks the path's domain. */
static bool
pages_rules_arg(struct admin_req *r, struct store *conn, struct ops_ctx *c,
    struct pages_rules *p)
{
	const char *rest;
	char raw[256];

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return false;
	}
	admin_req_ops_ctx(r, conn, c);
	if (!page_segment(admin_req_rest(r), raw, sizeof(raw), &rest) ||
	    rest[0] != '\0') {
		p->r = ops_fail(&p->st, OPS_ENOENT, "no such page");
		return false;
	}
	p->r = ops_domain_arg(c, raw, p->domain, sizeof(p->domain), &p->st);
	return p->r == 0;
}

static void
pages_rules_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_rules *p = arg;
	struct ops_ctx c;

	if (pages_rules_arg(r, conn, &c, p))
		p->r = ops_rule_list(&c, p->domain, &p->rules, &p->st);
}

static bool
pages_rules_in(const struct conf_strlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

/* The system's setting for one check, in words. */
static void
pages_rules_setting(const struct conf *cf, const char *check, char *dst,
    size_t size)
{
	bool listed = cf->checks.n == 0 || pages_rules_in(&cf->checks, check);

	if (strcmp(check, "dnsbl") == 0)
		snprintf(dst, size, "%zu list%s%s", cf->dnsbl.n,
		    cf->dnsbl.n == 1 ? "" : "s", cf->dnsbl_tag_only ?
		    " (tag only)" : "");
	else if (strcmp(check, "rdns") == 0)
		snprintf(dst, size, "%s", cf->require_rdns == CONF_RDNS_NO ?
		    "off" : cf->require_rdns == CONF_RDNS_PTR ? "PTR required" :
		    "forward-confirmed PTR required");
	else if (strcmp(check, "spf") == 0)
		snprintf(dst, size, "%s", !cf->spf ? "off" :
		    cf->spf_reject_fail ? "on, fail refused" : "on");
	else if (strcmp(check, "greylist") == 0)
		snprintf(dst, size, "%s", cf->greylist ? "on" : "off");
	else if (strcmp(check, "mfcheck") == 0)
		snprintf(dst, size, "%s", cf->mfcheck ? "on" : "off");
	else if (strcmp(check, "rate") == 0 && cf->conn_rate_limit > 0)
		snprintf(dst, size, "%u connections per window",
		    cf->conn_rate_limit);
	else if (strcmp(check, "bad_rcpt") == 0 && cf->bad_rcpt_limit > 0)
		snprintf(dst, size, "%u unknown recipients per window",
		    cf->bad_rcpt_limit);
	else if (strcmp(check, "rate") == 0 || strcmp(check, "bad_rcpt") == 0)
		snprintf(dst, size, "off");
	else if (strcmp(check, "dmarc") == 0)
		snprintf(dst, size, "%s", cf->dmarc ? "on" : "off");
	else if (strcmp(check, "clamd") == 0)
		snprintf(dst, size, "%s", cf->clamd[0] != '\0' ? "on" : "off");
	else if (strcmp(check, "spamd") == 0)
		snprintf(dst, size, "%s", cf->spamd[0] != '\0' ? "on" : "off");
	else if (strcmp(check, "helo") == 0)
		snprintf(dst, size, "%s", cf->helo_reject_malformed ||
		    cf->helo_reject_bare_ip || cf->helo_reject_self ? "on" :
		    "off");
	else if (strcmp(check, "client") == 0)
		snprintf(dst, size, "%zu allowed, %zu denied networks",
		    cf->client_allow.n, cf->client_deny.n);
	else
		snprintf(dst, size, "configured");
	if (!listed && size > 0) {
		size_t n = strlen(dst);

		snprintf(dst + n, size - n, " (not in checks)");
	}
}

static const char *const pages_rules_checks[] = {
	"client", "rate", "bad_rcpt", "dnsbl", "rdns", "helo", "mfcheck",
	"spf", "greylist", "clamd", "spamd", "dmarc",
};

/* The rule that skips check for this domain, or NULL. */
static const struct store_rule *
pages_rules_skip(const struct pages_rules *p, const char *check)
{
	for (size_t i = 0; i < p->rules.n; i++) {
		const struct store_rule *ru = &p->rules.v[i];
		char copy[sizeof(ru->value)], *s = copy, *tok;

		if (strcmp(ru->action, "skip") != 0)
			continue;
		snprintf(copy, sizeof(copy), "%s", ru->value);
		while ((tok = strsep(&s, ",")) != NULL)
			if (strcmp(tok, check) == 0)
				return ru;
	}
	return NULL;
}

static void
pages_rules_system(struct admin_req *r, const struct pages_rules *p)
{
	const struct conf *cf = admin_req_conf(r);
	struct fbuf *b = admin_resp_body(r);

	fbuf_adds(b, "<h2>Checks: the system and this domain</h2><table><tr>"
	    "<th>Check</th><th>System setting</th><th>This domain</th></tr>");
	for (size_t i = 0; i < sizeof(pages_rules_checks) /
	    sizeof(pages_rules_checks[0]); i++) {
		const char *check = pages_rules_checks[i];
		const struct store_rule *skip = pages_rules_skip(p, check);
		char setting[128];

		pages_rules_setting(cf, check, setting, sizeof(setting));
		html_addf(b, "<tr><td>%s</td><td class=\"system\">%s</td><td>",
		    check, setting);
		if (skip != NULL)
			html_addf(b, "skipped (rule %ld)", (long)skip->id);
		else
			fbuf_adds(b, "as the system");
		fbuf_adds(b, "</td></tr>");
	}
	fbuf_adds(b, "</table>");
}

static void
pages_rules_list(struct admin_req *r, const struct pages_rules *p)
{
	struct fbuf *b = admin_resp_body(r);

	fbuf_adds(b, "<h2>This domain's rules</h2>");
	if (p->rules.n == 0)
		fbuf_adds(b, "<p>No rules: the system settings apply.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Rule</th><th>Action</th>"
		    "<th>Applies to</th><th></th></tr>");
	for (size_t i = 0; i < p->rules.n; i++) {
		const struct store_rule *ru = &p->rules.v[i];

		html_addf(b, "<tr><td>%ld</td><td>%s %s</td><td>%s</td><td>"
		    "<form class=\"inline\" method=\"post\" action=\"/rules/%s\">",
		    (long)ru->id, ru->action, ru->kind, ru->value,
		    p->domain);
		html_csrf(r);
		html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"del\">"
		    "<input type=\"hidden\" name=\"id\" value=\"%ld\">"
		    "<button class=\"danger\" type=\"submit\">Delete</button>"
		    "</form></td></tr>", (long)ru->id);
	}
	if (p->rules.n > 0)
		fbuf_adds(b, "</table>");
	html_addf(b, "<h3>Add a rule</h3><form method=\"post\" "
	    "action=\"/rules/%s\">", p->domain);
	html_csrf(r);
	fbuf_adds(b, "<input type=\"hidden\" name=\"op\" value=\"add\">"
	    "<label for=\"action\">Action</label><select id=\"action\" "
	    "name=\"action\"><option value=\"allow\">allow (accept whatever "
	    "the checks say)</option><option value=\"deny\">deny (refuse)"
	    "</option><option value=\"skip\">skip checks</option></select>"
	    "<label for=\"kind\">For allow and deny: what the value is</label>"
	    "<select id=\"kind\" name=\"kind\"><option value=\"sender\">"
	    "sender address, @domain or &lt;&gt;</option><option value=\"ip\">"
	    "client address or network (CIDR)</option></select>"
	    "<label for=\"value\">Value (for skip: check names, "
	    "comma-separated)</label><input id=\"value\" name=\"value\" "
	    "required maxlength=\"500\"> <button type=\"submit\">Add rule"
	    "</button></form>");
}

static void
pages_rules_done(struct admin_req *r, void *arg)
{
	struct pages_rules *p = arg;
	char title[300];

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_rules_free(p);
		return;
	}
	snprintf(title, sizeof(title), "Rules for %s", p->domain);
	html_begin(r, title);
	page_notice(r);
	html_addf(admin_resp_body(r), "<p><a href=\"/domains/%s\">Users and "
	    "aliases</a></p>", p->domain);
	pages_rules_list(r, p);
	pages_rules_system(r, p);
	html_end(r);
	pages_rules_free(p);
}

static void
pages_rules(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_rules_work, pages_rules_done,
	    xcalloc(1, sizeof(struct pages_rules)));
}

/* The rule id field: digits only. */
static int
pages_rules_id(struct admin_req *r, int64_t *id_r, struct ops_status *st)
{
	const char *s = page_field(r, "id", 19);
	char *end;
	long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return ops_fail(st, OPS_EINVAL, "the rule number is missing "
		    "or malformed");
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return ops_fail(st, OPS_EINVAL, "the rule number is malformed");
	*id_r = v;
	return 0;
}

static void
pages_rules_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_rules *p = arg;
	const char *op = page_field(r, "op", 8);
	const char *action = page_field(r, "action", 8);
	const char *kind = page_field(r, "kind", 8);
	const char *value = page_field(r, "value", 500);
	struct store_rule added;
	struct ops_ctx c;
	int64_t id = 0;
	char *values[1];

	if (!pages_rules_arg(r, conn, &c, p))
		return;
	if (op != NULL && strcmp(op, "del") == 0) {
		p->done = "rule_deleted";
		if ((p->r = pages_rules_id(r, &id, &p->st)) == 0)
			p->r = ops_rule_del(&c, id, &p->st);
		return;
	}
	if (op == NULL || strcmp(op, "add") != 0 || action == NULL ||
	    value == NULL || value[0] == '\0') {
		p->r = ops_fail(&p->st, OPS_EINVAL, "the form is incomplete "
		    "or a field is too long");
		return;
	}
	p->done = "rule_added";
	values[0] = (char *)value;
	p->r = ops_rule_add(&c, p->domain, action, kind, values, 1, &added,
	    &p->st);
}

static void
pages_rules_post_done(struct admin_req *r, void *arg)
{
	struct pages_rules *p = arg;
	char back[300];

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else {
		snprintf(back, sizeof(back), "/rules/%s", p->domain);
		page_redirect_done(r, back, p->done);
	}
	pages_rules_free(p);
}

static void
pages_rules_post(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_rules_post_work, pages_rules_post_done,
	    xcalloc(1, sizeof(struct pages_rules)));
}

void
pages_rules_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/rules/", ADMIN_F_POSTMASTER,
	    pages_rules, NULL);
	admin_http_route(h, ADMIN_POST, "/rules/", ADMIN_F_POSTMASTER,
	    pages_rules_post, NULL);
}
