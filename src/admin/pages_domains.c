/* The domain pages for postmasters and the admin: /domains lists the
 * domains in the actor's care (the admin also adds and deletes them),
 * /domains/DOMAIN shows its users with quota and usage, its aliases,
 * forwards and catch-all, with forms to add, delete, reset passwords and
 * set quotas.  Every read and change is a call into src/ops/ with the
 * logged-in actor, so scope is decided there, as for the CLI; this file
 * only reads forms, maps errors to HTTP statuses and renders.  Passwords
 * are hashed here (as the CLI does) and never kept. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/form.h"
#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "admin/pages_reports.h"
#include "auth/password.h"
#include "conf/conf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "ops/ops_account.h"
#include "ops/ops_alias.h"
#include "ops/ops_report.h"

#define PAGES_DOMAINS_PW_MAX 512

struct pages_usage {
	uint64_t bytes, count;
	bool known;
};

struct pages_dom {
	char domain[256];		/* as in the path, then normalised */
	struct ops_status st;
	int r;
	const char *done;		/* POST: the notice key */
	char back[300];			/* POST: where to go after success */
	struct ops_domain_list domains;
	struct ops_domain_contents contents;
	struct ops_user_list users;
	struct pages_usage *usage;
	struct ops_alias_list aliases;
	struct ops_report_list reports;
};

static struct pages_dom *
pages_dom_new(void)
{
	return xcalloc(1, sizeof(struct pages_dom));
}

static void
pages_dom_free(struct pages_dom *p)
{
	ops_domain_list_free(&p->domains);
	ops_user_list_free(&p->users);
	ops_alias_list_free(&p->aliases);
	ops_report_list_free(&p->reports);
	free(p->usage);
	free(p);
}

/* Opens c for r, or fails p when the store is away. */
static bool
pages_dom_ctx(struct admin_req *r, struct store *conn, struct ops_ctx *c,
    struct pages_dom *p)
{
	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return false;
	}
	admin_req_ops_ctx(r, conn, c);
	return true;
}

/* ---- /domains ---- */

static void
pages_domains_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_dom *p = arg;
	struct ops_ctx c;

	if (pages_dom_ctx(r, conn, &c, p))
		p->r = ops_domain_list(&c, &p->domains, &p->st);
}

static void
pages_domains_done(struct admin_req *r, void *arg)
{
	struct pages_dom *p = arg;
	struct fbuf *b = admin_resp_body(r);
	bool admin = admin_req_actor(r)->role == OPS_ADMIN;

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_dom_free(p);
		return;
	}
	html_begin(r, "Domains");
	page_notice(r);
	if (p->domains.n == 0)
		fbuf_adds(b, "<p>No domains yet.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Domain</th><th></th></tr>");
	for (size_t i = 0; i < p->domains.n; i++) {
		html_addf(b, "<tr><td><a href=\"/domains/%s\">%s</a></td><td>",
		    p->domains.v[i], p->domains.v[i]);
		html_addf(b, "<a href=\"/rules/%s\">rules</a>",
		    p->domains.v[i]);
		if (admin) {
			fbuf_adds(b, "<form class=\"inline\" method=\"post\" "
			    "action=\"/domains\">");
			html_csrf(r);
			html_addf(b, "<input type=\"hidden\" name=\"op\" "
			    "value=\"del\"><input type=\"hidden\" name=\"domain\" "
			    "value=\"%s\"> <label class=\"inline\"><input "
			    "type=\"checkbox\" name=\"force\" value=\"yes\"> "
			    "with its users, aliases and rules</label> "
			    "<button class=\"danger\" type=\"submit\">Delete"
			    "</button></form>", p->domains.v[i]);
		}
		fbuf_adds(b, "</td></tr>");
	}
	if (p->domains.n > 0)
		fbuf_adds(b, "</table>");
	if (admin) {
		fbuf_adds(b, "<h2>Add a domain</h2><form method=\"post\" "
		    "action=\"/domains\">");
		html_csrf(r);
		fbuf_adds(b, "<input type=\"hidden\" name=\"op\" value=\"add\">"
		    "<label for=\"domain\">Domain</label><input id=\"domain\" "
		    "name=\"domain\" required maxlength=\"253\"> "
		    "<button type=\"submit\">Add</button></form>");
	}
	html_end(r);
	pages_dom_free(p);
}

static void
pages_domains(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_domains_work, pages_domains_done,
	    pages_dom_new());
}

/* POST /domains (admin): op=add|del, domain, force. */
static void
pages_domains_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_dom *p = arg;
	const char *op = page_field(r, "op", 8);
	const char *domain = page_field(r, "domain", 255);
	const char *force = admin_req_form(r, "force");
	struct ops_ctx c;
	char norm[256];

	if (!pages_dom_ctx(r, conn, &c, p))
		return;
	if (op == NULL || domain == NULL) {
		p->r = ops_fail(&p->st, OPS_EINVAL, "the form is incomplete "
		    "or a field is too long");
		return;
	}
	if (strcmp(op, "add") == 0) {
		p->r = ops_domain_add(&c, domain, &p->st);
		p->done = "domain_added";
	} else if (strcmp(op, "del") == 0) {
		/* As `ferry domain del` without --force: a domain with
		 * contents goes only when the box is ticked. */
		if ((p->r = ops_domain_contents(&c, domain, norm, &p->contents,
		    &p->st)) < 0)
			return;
		if ((force == NULL || strcmp(force, "yes") != 0) &&
		    p->contents.users + p->contents.aliases +
		    p->contents.rules > 0) {
			p->r = ops_fail(&p->st, OPS_EREFUSED, "%s has %zu users, "
			    "%zu aliases and %zu rules: tick the box to delete "
			    "them with it (the Maildirs stay on disk)", norm,
			    p->contents.users, p->contents.aliases,
			    p->contents.rules);
			return;
		}
		p->r = ops_domain_del(&c, norm, &p->st);
		p->done = "domain_deleted";
	} else
		p->r = ops_fail(&p->st, OPS_EINVAL, "unknown operation");
}

static void
pages_domains_post_done(struct admin_req *r, void *arg)
{
	struct pages_dom *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else
		page_redirect_done(r, "/domains", p->done);
	pages_dom_free(p);
}

static void
pages_domains_post(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_domains_post_work, pages_domains_post_done,
	    pages_dom_new());
}

/* ---- /domains/DOMAIN ---- */

/* The domain named by the path, normalised and checked (scope first). */
static bool
pages_dom_arg(struct admin_req *r, const struct ops_ctx *c,
    struct pages_dom *p)
{
	const char *rest;
	char raw[256];

	if (!page_segment(admin_req_rest(r), raw, sizeof(raw), &rest) ||
	    rest[0] != '\0') {
		p->r = ops_fail(&p->st, OPS_ENOENT, "no such page");
		return false;
	}
	if ((p->r = ops_domain_arg(c, raw, p->domain, sizeof(p->domain),
	    &p->st)) < 0)
		return false;
	return true;
}

static void
pages_dom_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_dom *p = arg;
	const char *state_dir = admin_req_conf(r)->state_dir;
	struct ops_ctx c;

	if (!pages_dom_ctx(r, conn, &c, p) || !pages_dom_arg(r, &c, p))
		return;
	if ((p->r = ops_user_list(&c, p->domain, &p->users, &p->st)) < 0)
		return;
	p->usage = xcalloc(p->users.n + 1, sizeof(*p->usage));
	for (size_t i = 0; i < p->users.n; i++) {
		char path[4096];
		struct pages_usage *u = &p->usage[i];

		u->known = maildir_path(state_dir, p->users.v[i].address, path,
		    sizeof(path)) == 0 && maildir_quota_usage(path, &u->bytes,
		    &u->count) == 0;
	}
	if ((p->r = ops_alias_list(&c, p->domain, &p->aliases, &p->st)) < 0)
		return;
	p->r = ops_report_list(&c, p->domain, &p->reports, &p->st);
}

/* A small POST form with hidden fields: op and user/address. */
static void
pages_dom_button(struct admin_req *r, const char *domain, const char *op,
    const char *field, const char *value, const char *label)
{
	struct fbuf *b = admin_resp_body(r);

	html_addf(b, "<form class=\"inline\" method=\"post\" "
	    "action=\"/domains/%s\">", domain);
	html_csrf(r);
	html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"%s\" value=\"%s\">", op, field,
	    value);
	if (strcmp(op, "user_del") == 0)
		fbuf_adds(b, "<label class=\"inline\"><input type=\"checkbox\" "
		    "name=\"force\" value=\"yes\"> also from aliases</label> ");
	html_addf(b, "<button class=\"danger\" type=\"submit\">%s</button>"
	    "</form>", label);
}

static void
pages_dom_users(struct admin_req *r, struct pages_dom *p)
{
	struct fbuf *b = admin_resp_body(r);

	html_addf(b, "<h2>Users</h2>");
	if (p->users.n == 0)
		fbuf_adds(b, "<p>No users yet.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Address</th><th>Used</th>"
		    "<th>Quota</th><th></th></tr>");
	for (size_t i = 0; i < p->users.n; i++) {
		const struct ops_user *u = &p->users.v[i];
		char used[32], limit[32];

		if (p->usage[i].known)
			str_format_size(used, sizeof(used), p->usage[i].bytes);
		else
			str_lcpy(used, "?", sizeof(used));
		if (u->quota == 0)
			str_lcpy(limit, "unlimited", sizeof(limit));
		else
			str_format_size(limit, sizeof(limit), u->quota);
		html_addf(b, "<tr><td>%s</td><td>%s (%llu messages)</td>"
		    "<td>%s", u->address, used,
		    (unsigned long long)p->usage[i].count, limit);
		if (u->quota > 0 && p->usage[i].known)
			html_addf(b, " (%llu%%)", (unsigned long long)
			    (p->usage[i].bytes * 100 / u->quota));
		html_addf(b, "<form method=\"post\" action=\"/domains/%s\">",
		    p->domain);
		html_csrf(r);
		html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"user_"
		    "quota\"><input type=\"hidden\" name=\"user\" value=\"%s\">"
		    "<input name=\"quota\" size=\"6\" placeholder=\"50M\" "
		    "aria-label=\"new quota for %s\" maxlength=\"20\"> <button "
		    "type=\"submit\">Set quota</button></form></td><td>",
		    u->address, u->address);
		html_addf(b, "<form method=\"post\" action=\"/domains/%s\">",
		    p->domain);
		html_csrf(r);
		/* the account the new password is for, as a password
		 * manager (and chromium's form checks) look for it */
		html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"user_"
		    "passwd\"><input type=\"hidden\" name=\"user\" value=\"%s\">"
		    "<input type=\"email\" name=\"username\" value=\"%s\" "
		    "autocomplete=\"username\" hidden readonly>"
		    "<input type=\"password\" name=\"password\" "
		    "autocomplete=\"new-password\" aria-label=\"new password "
		    "for %s\" required> <button type=\"submit\">Reset "
		    "password</button></form>", u->address, u->address,
		    u->address);
		pages_dom_button(r, p->domain, "user_del", "user", u->address,
		    "Delete");
		fbuf_adds(b, "</td></tr>");
	}
	if (p->users.n > 0)
		fbuf_adds(b, "</table>");
	html_addf(b, "<h3>Add a user</h3><form method=\"post\" "
	    "action=\"/domains/%s\">", p->domain);
	html_csrf(r);
	html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"user_add\">"
	    "<label for=\"user\">Address</label><input id=\"user\" "
	    "name=\"user\" required maxlength=\"64\" autocomplete=\"off\"> @%s"
	    "<label for=\"password\">Password</label><input id=\"password\" "
	    "type=\"password\" name=\"password\" autocomplete=\"new-password\" "
	    "required><label for=\"quota\">Quota (empty: unlimited)</label>"
	    "<input id=\"quota\" name=\"quota\" placeholder=\"50M\" "
	    "maxlength=\"20\"> <button type=\"submit\">Add user</button>"
	    "</form>", p->domain);
}

static void
pages_dom_aliases(struct admin_req *r, struct pages_dom *p)
{
	struct fbuf *b = admin_resp_body(r);

	fbuf_adds(b, "<h2>Aliases, forwards and catch-all</h2>");
	if (p->aliases.n == 0)
		fbuf_adds(b, "<p>No aliases yet.</p>");
	else
		fbuf_adds(b, "<table><tr><th>Address</th><th>Delivers to</th>"
		    "<th></th></tr>");
	for (size_t i = 0; i < p->aliases.n; i++) {
		const struct ops_alias *a = &p->aliases.v[i];

		if (a->address[0] == '@')
			html_addf(b, "<tr><td>%s (catch-all)</td><td>",
			    a->address);
		else
			html_addf(b, "<tr><td>%s</td><td>", a->address);
		for (size_t t = 0; t < a->ntargets; t++)
			html_addf(b, "%s%s", t > 0 ? ", " : "", a->targets[t]);
		fbuf_adds(b, "</td><td>");
		pages_dom_button(r, p->domain, "alias_del", "alias",
		    a->address, "Delete");
		fbuf_adds(b, "</td></tr>");
	}
	if (p->aliases.n > 0)
		fbuf_adds(b, "</table>");
	html_addf(b, "<h3>Add or change an alias</h3><form method=\"post\" "
	    "action=\"/domains/%s\">", p->domain);
	html_csrf(r);
	html_addf(b, "<input type=\"hidden\" name=\"op\" value=\"alias_add\">"
	    "<label for=\"alias\">Address (* for the catch-all)</label>"
	    "<input id=\"alias\" name=\"alias\" required maxlength=\"64\"> @%s"
	    "<label for=\"targets\">Delivers to (addresses here or "
	    "elsewhere, comma-separated)</label><input id=\"targets\" "
	    "name=\"targets\" required maxlength=\"1000\"> "
	    "<button type=\"submit\">Save alias</button></form>", p->domain);
}

static void
pages_dom_done(struct admin_req *r, void *arg)
{
	struct pages_dom *p = arg;
	struct fbuf *b = admin_resp_body(r);

	if (p->r < 0) {
		page_ops_error(r, &p->st);
		pages_dom_free(p);
		return;
	}
	html_begin(r, p->domain);
	page_notice(r);
	html_addf(b, "<p><a href=\"/rules/%s\">Rules</a> | <a href=\"/queue/"
	    "%s\">Queue</a> | <a href=\"/dns/%s\">DNS records</a></p>",
	    p->domain, p->domain, p->domain);
	pages_dom_users(r, p);
	pages_dom_aliases(r, p);
	pages_reports_list(b, &p->reports);
	html_end(r);
	pages_dom_free(p);
}

static void
pages_dom(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_dom_work, pages_dom_done, pages_dom_new());
}

/* "local" or "local@DOMAIN" (any case) into addr as local@domain; the
 * form's address must stay in the page's domain. */
static int
pages_dom_address(const struct pages_dom *p, const char *input, char *addr,
    size_t size, struct ops_status *st)
{
	const char *at = strrchr(input, '@');

	if (at != NULL && strcasecmp(at + 1, p->domain) != 0)
		return ops_fail(st, OPS_EINVAL, "%s is not in %s", input,
		    p->domain);
	if (at != NULL)
		return str_lcpy(addr, input, size) < size ? 0 :
		    ops_fail(st, OPS_EINVAL, "the address is too long");
	if (snprintf(addr, size, "%s@%s", input, p->domain) >= (int)size)
		return ops_fail(st, OPS_EINVAL, "the address is too long");
	return 0;
}

/* The quota field: empty or absent is unlimited. */
static int
pages_dom_quota(struct admin_req *r, uint64_t *quota_r,
    struct ops_status *st)
{
	const char *q = page_field(r, "quota", 20);

	*quota_r = 0;
	if (admin_req_form(r, "quota") != NULL && q == NULL)
		return ops_fail(st, OPS_EINVAL, "the quota is too long");
	if (q == NULL || q[0] == '\0')
		return 0;
	if (str_parse_size(q, quota_r) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: not a size (say 500M or "
		    "2G)", q);
	return 0;
}

/* The password field hashed into hash; the plain text stays in the
 * request only. */
static int
pages_dom_hash(struct admin_req *r, char *hash, size_t size,
    struct ops_status *st)
{
	const char *pw = admin_req_form(r, "password");

	if (pw == NULL || pw[0] == '\0')
		return ops_fail(st, OPS_EINVAL, "the password is empty");
	if (strlen(pw) > PAGES_DOMAINS_PW_MAX)
		return ops_fail(st, OPS_EINVAL, "the password is longer than "
		    "%d bytes", PAGES_DOMAINS_PW_MAX);
	if (password_hash(pw, hash, size) < 0)
		return ops_fail(st, OPS_EFAIL, "cannot hash the password");
	return 0;
}

static int
pages_dom_user_op(struct admin_req *r, const struct ops_ctx *c,
    struct pages_dom *p, const char *op, const char *addr)
{
	char norm[320], hash[256];
	uint64_t quota;
	struct ops_alias_list refs;
	size_t changed, deleted;
	const char *force = admin_req_form(r, "force");
	int ret;

	if (strcmp(op, "user_add") == 0) {
		p->done = "user_added";
		if (ops_user_check_new(c, addr, norm, sizeof(norm), &p->st) < 0 ||
		    pages_dom_quota(r, &quota, &p->st) < 0 ||
		    pages_dom_hash(r, hash, sizeof(hash), &p->st) < 0)
			return -1;
		ret = ops_user_add(c, norm, hash, quota, &p->st);
		explicit_bzero(hash, sizeof(hash));
		return ret;
	}
	if (strcmp(op, "user_passwd") == 0) {
		p->done = "password_set";
		if (ops_user_check(c, addr, norm, sizeof(norm), &p->st) < 0 ||
		    pages_dom_hash(r, hash, sizeof(hash), &p->st) < 0)
			return -1;
		ret = ops_user_set_password(c, norm, hash, &p->st);
		explicit_bzero(hash, sizeof(hash));
		return ret;
	}
	if (strcmp(op, "user_quota") == 0) {
		p->done = "quota_set";
		if (pages_dom_quota(r, &quota, &p->st) < 0)
			return -1;
		return ops_user_set_quota(c, addr, quota, &p->st);
	}
	p->done = "user_deleted";
	ret = ops_user_del_refs(c, addr, force != NULL &&
	    strcmp(force, "yes") == 0, norm, sizeof(norm), &refs, &changed,
	    &deleted, &p->st);
	ops_alias_list_free(&refs);
	return ret;
}

static int
pages_dom_alias_op(struct admin_req *r, const struct ops_ctx *c,
    struct pages_dom *p, const char *op, const char *alias)
{
	char addr[320];
	const char *targets;
	char *args[1];

	if (strcmp(alias, "*") == 0 || strcmp(alias, "@") == 0)
		alias = "";
	if (alias[0] == '\0' || alias[0] == '@') {
		if (alias[0] == '@' && strcasecmp(alias + 1, p->domain) != 0)
			return ops_fail(&p->st, OPS_EINVAL, "%s is not in %s",
			    alias, p->domain);
		snprintf(addr, sizeof(addr), "@%s", p->domain);
	} else if (pages_dom_address(p, alias, addr, sizeof(addr),
	    &p->st) < 0)
		return -1;
	if (strcmp(op, "alias_del") == 0) {
		p->done = "alias_deleted";
		return ops_alias_del(c, addr, &p->st);
	}
	p->done = "alias_added";
	if ((targets = page_field(r, "targets", PAGE_FIELD_MAX)) == NULL)
		return ops_fail(&p->st, OPS_EINVAL, "the targets are missing "
		    "or too long");
	args[0] = (char *)targets;
	return ops_alias_add(c, addr, args, 1, &p->st);
}

/* POST /domains/DOMAIN: op=user_add|user_del|user_passwd|user_quota
 * (user), alias_add|alias_del (alias, targets). */
static void
pages_dom_post_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_dom *p = arg;
	const char *op = page_field(r, "op", 16);
	const char *user = page_field(r, "user", 320);
	const char *alias = page_field(r, "alias", 320);
	struct ops_ctx c;
	char addr[320];

	if (!pages_dom_ctx(r, conn, &c, p) || !pages_dom_arg(r, &c, p))
		return;
	snprintf(p->back, sizeof(p->back), "/domains/%s", p->domain);
	if (op == NULL)
		p->r = ops_fail(&p->st, OPS_EINVAL, "the form is incomplete");
	else if (strncmp(op, "user_", 5) == 0 && (strcmp(op, "user_add") == 0 ||
	    strcmp(op, "user_del") == 0 || strcmp(op, "user_passwd") == 0 ||
	    strcmp(op, "user_quota") == 0)) {
		if (user == NULL || user[0] == '\0')
			p->r = ops_fail(&p->st, OPS_EINVAL, "the address is "
			    "missing or too long");
		else if ((p->r = pages_dom_address(p, user, addr, sizeof(addr),
		    &p->st)) == 0)
			p->r = pages_dom_user_op(r, &c, p, op, addr);
	} else if (strcmp(op, "alias_add") == 0 ||
	    strcmp(op, "alias_del") == 0) {
		if (alias == NULL)
			p->r = ops_fail(&p->st, OPS_EINVAL, "the alias is "
			    "missing or too long");
		else
			p->r = pages_dom_alias_op(r, &c, p, op, alias);
	} else
		p->r = ops_fail(&p->st, OPS_EINVAL, "unknown operation");
}

static void
pages_dom_post_done(struct admin_req *r, void *arg)
{
	struct pages_dom *p = arg;

	if (p->r < 0)
		page_ops_error(r, &p->st);
	else
		page_redirect_done(r, p->back, p->done);
	pages_dom_free(p);
}

static void
pages_dom_post(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_dom_post_work, pages_dom_post_done,
	    pages_dom_new());
}

void
pages_domains_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/domains", ADMIN_F_POSTMASTER,
	    pages_domains, NULL);
	admin_http_route(h, ADMIN_POST, "/domains", ADMIN_F_ADMIN,
	    pages_domains_post, NULL);
	admin_http_route(h, ADMIN_GET, "/domains/", ADMIN_F_POSTMASTER,
	    pages_dom, NULL);
	admin_http_route(h, ADMIN_POST, "/domains/", ADMIN_F_POSTMASTER,
	    pages_dom_post, NULL);
}
