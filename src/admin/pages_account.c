/* The logged-in user's own account: what the mailbox holds against its
 * quota, and a password change (the current password first, checked
 * like a login and counted in the failed-login bans when wrong).  After
 * a change every other web session of the account ends; IMAP, POP3 and
 * SMTP take the new password at once (the verified-password cache keys
 * on the stored hash, auth/authcache.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "admin/pages.h"
#include "admin/session.h"
#include "auth/ban.h"
#include "auth/login.h"
#include "auth/password.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_forward.h"
#include "ops/ops_vacation.h"

#define ACCOUNT_PW_MIN 8
#define ACCOUNT_PW_MAX 1023

struct pages_account {
	struct ops_user_info info;
	struct ops_forward fwd;
	struct ops_vacation vac;
	bool have_fwd, have_vac;
	struct ops_status st;
	int r;
	/* the password change */
	char current[ACCOUNT_PW_MAX + 1], fresh[ACCOUNT_PW_MAX + 1];
	bool changed;
};

static void
pages_account_free(struct pages_account *p)
{
	if (p->have_fwd)
		ops_forward_free(&p->fwd);
	if (p->have_vac)
		ops_vacation_free(&p->vac);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

/* "12.3 MB" for people. */
static void
pages_account_size(char *dst, size_t size, uint64_t bytes)
{
	if (bytes < 1024 * 1024)
		snprintf(dst, size, "%llu KB",
		    (unsigned long long)((bytes + 1023) / 1024));
	else if (bytes < 1024ULL * 1024 * 1024)
		snprintf(dst, size, "%.1f MB", (double)bytes / (1024 * 1024));
	else
		snprintf(dst, size, "%.2f GB",
		    (double)bytes / (1024.0 * 1024 * 1024));
}

static void
pages_account_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_account *p = arg;
	struct ops_ctx c;

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	p->r = ops_user_info(&c, admin_req_user(r), &p->info, &p->st);
	if (p->r == 0) {
		struct ops_status st2;

		p->have_fwd = ops_forward_get(&c, admin_req_user(r), &p->fwd,
		    &st2) == 0;
		p->have_vac = ops_vacation_get(&c, admin_req_user(r), &p->vac,
		    &st2) == 0;
	}
}

/* The forwarding and vacation forms, filled with what is stored. */
static void
pages_account_mail_forms(struct admin_req *r, struct pages_account *p)
{
	struct fbuf *b = admin_resp_body(r);
	char date[32];

	if (p->have_fwd) {
		fbuf_adds(b, "<h2>Forwarding</h2><form method=\"post\" "
		    "action=\"/account/forward\">");
		html_csrf(r);
		fbuf_adds(b, "<label for=\"targets\">Forward my mail to "
		    "(addresses separated by commas; empty: no forwarding)"
		    "</label><input id=\"targets\" name=\"targets\" "
		    "size=\"60\" value=\"");
		for (size_t i = 0; i < p->fwd.ntargets; i++) {
			if (i > 0)
				fbuf_adds(b, ", ");
			html_esc(b, p->fwd.targets[i]);
		}
		/* a copy stays unless the user says otherwise */
		html_addf(b, "\"><label><input type=\"checkbox\" name=\"keep\" "
		    "value=\"yes\"%s> Keep a copy in my mailbox</label>"
		    "<p><button type=\"submit\">Save forwarding</button></p>"
		    "</form>", p->fwd.ntargets == 0 || p->fwd.keep ?
		    " checked" : "");
	}
	if (!p->have_vac)
		return;
	fbuf_adds(b, "<h2>Vacation reply</h2><form method=\"post\" "
	    "action=\"/account/vacation\">");
	html_csrf(r);
	html_addf(b, "<label><input type=\"checkbox\" name=\"enabled\" "
	    "value=\"yes\"%s> Answer incoming mail while I am away "
	    "(once per sender every few days; never to lists, bulk or "
	    "automatic mail)</label>", p->vac.enabled ? " checked" : "");
	html_addf(b, "<label for=\"subject\">Subject (empty: \"Auto: \" and "
	    "the original subject)</label><input id=\"subject\" "
	    "name=\"subject\" size=\"60\" value=\"%s\">",
	    p->vac.subject != NULL ? p->vac.subject : "");
	html_addf(b, "<label for=\"body\">Message</label><textarea id=\"body\" "
	    "name=\"body\" rows=\"6\" cols=\"60\">%s</textarea>",
	    p->vac.body != NULL ? p->vac.body : "");
	date[0] = '\0';
	if (p->vac.start > 0)
		ops_vacation_format_date(p->vac.start, date, sizeof(date));
	html_addf(b, "<label for=\"start\">From (YYYY-MM-DD, UTC; empty: "
	    "now)</label><input id=\"start\" name=\"start\" value=\"%s\">",
	    date);
	date[0] = '\0';
	if (p->vac.end > 0)
		ops_vacation_format_date(p->vac.end, date, sizeof(date));
	html_addf(b, "<label for=\"end\">Until (YYYY-MM-DD, UTC; empty: until "
	    "switched off)</label><input id=\"end\" name=\"end\" "
	    "value=\"%s\">", date);
	html_addf(b, "<label for=\"days\">Answer the same sender again after "
	    "(days)</label><input id=\"days\" name=\"days\" "
	    "inputmode=\"numeric\" value=\"%u\">"
	    "<p><button type=\"submit\">Save vacation reply</button></p>"
	    "</form>", p->vac.days);
}

static void
pages_account_render(struct admin_req *r, struct pages_account *p,
    const char *error)
{
	struct fbuf *b = admin_resp_body(r);
	char used[32], quota[32];
	const char *at;

	html_begin(r, "My account");
	page_notice(r);
	if (error != NULL)
		html_addf(b, "<p class=\"error\">%s</p>", error);
	html_addf(b, "<p>Address: <strong>%s</strong></p>", admin_req_user(r));
	at = strrchr(admin_req_user(r), '@');
	if (at != NULL)
		html_addf(b, "<p><a href=\"/help/%s\">Settings for your mail "
		    "program</a>: server names, ports and security for IMAP, "
		    "POP3 and sending mail.</p>", at + 1);
	if (p->r == 0) {
		pages_account_size(used, sizeof(used), p->info.used_bytes);
		fbuf_adds(b, "<h2>Mailbox</h2>");
		if (p->info.quota > 0) {
			pages_account_size(quota, sizeof(quota), p->info.quota);
			html_addf(b, "<p id=\"quota\">%s of %s used (%llu%%), "
			    "%llu messages.</p>", used, quota,
			    (unsigned long long)(p->info.used_bytes * 100 /
			    p->info.quota),
			    (unsigned long long)p->info.used_messages);
		} else
			html_addf(b, "<p id=\"quota\">%s used, %llu messages, "
			    "no quota.</p>", used,
			    (unsigned long long)p->info.used_messages);
	}
	pages_account_mail_forms(r, p);
	fbuf_adds(b, "<h2>Change password</h2>"
	    "<form method=\"post\" action=\"/account/password\">");
	html_csrf(r);
	/* the account whose password this is, for password managers */
	html_addf(b, "<input type=\"email\" name=\"username\" value=\"%s\" "
	    "autocomplete=\"username\" hidden readonly>", admin_req_user(r));
	html_addf(b, "<label for=\"current\">Current password</label>"
	    "<input id=\"current\" name=\"current\" type=\"password\" "
	    "autocomplete=\"current-password\" required>"
	    "<label for=\"new\">New password (at least %d characters)</label>"
	    "<input id=\"new\" name=\"new\" type=\"password\" "
	    "autocomplete=\"new-password\" required minlength=\"%d\">"
	    "<label for=\"confirm\">New password again</label>"
	    "<input id=\"confirm\" name=\"confirm\" type=\"password\" "
	    "autocomplete=\"new-password\" required>"
	    "<p><button type=\"submit\">Change password</button></p></form>",
	    ACCOUNT_PW_MIN, ACCOUNT_PW_MIN);
	html_end(r);
}

static void
pages_account_done(struct admin_req *r, void *arg)
{
	struct pages_account *p = arg;
	pages_account_render(r, p, p->r < 0 ? p->st.text : NULL);
	pages_account_free(p);
}

static void
pages_account(struct admin_req *r, void *arg)
{
	admin_req_run(r, pages_account_work, pages_account_done,
	    xcalloc(1, sizeof(struct pages_account)));
}

static void
pages_account_pw_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_account *p = arg;
	const struct conf *cf = admin_req_conf(r);
	const struct sockaddr *sa = admin_req_peer(r);
	struct login_req lr;
	enum login_result res;
	struct ops_ctx c;
	char hash[256];

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "The server cannot change "
		    "passwords right now: try again in a minute.");
		goto out;
	}
	admin_req_ops_ctx(r, conn, &c);
	res = login_prepare(conn, cf, admin_req_user(r), &lr);
	if (res == LOGIN_OK)
		res = login_verify(&lr, p->current);
	explicit_bzero(&lr, sizeof(lr));
	if (res != LOGIN_OK) {
		if (res == LOGIN_BAD && !ban_exempt(cf, sa))
			(void)ban_record_failure(conn, cf, sa, "admin",
			    time(NULL));
		p->r = ops_fail(&p->st, res == LOGIN_BAD ? OPS_EPERM :
		    OPS_EFAIL, res == LOGIN_BAD ? "The current password is "
		    "wrong." : "The server cannot check passwords right now.");
		goto out;
	}
	if (password_hash(p->fresh, hash, sizeof(hash)) < 0) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "The new password could "
		    "not be stored.");
		goto out;
	}
	p->r = ops_user_set_password(&c, admin_req_user(r), hash, &p->st);
	explicit_bzero(hash, sizeof(hash));
	p->changed = p->r == 0;
	if (p->r == 0)
		(void)ops_user_info(&c, admin_req_user(r), &p->info, &p->st);
out:
	explicit_bzero(p->current, sizeof(p->current));
	explicit_bzero(p->fresh, sizeof(p->fresh));
}

static void
pages_account_pw_done(struct admin_req *r, void *arg)
{
	struct pages_account *p = arg;
	const char *error;

	if (p->changed) {
		admin_session_end_user(admin_http_sessions(admin_req_http(r)),
		    admin_req_user(r), admin_req_cookie(r,
		    ADMIN_SESSION_COOKIE));
		log_info("- admin password-changed user=%s address=%s",
		    log_q(admin_req_user(r)), admin_req_peer_text(r));
		page_redirect_done(r, "/account", "password");
		pages_account_free(p);
		return;
	}
	admin_resp_status(r, p->st.code == OPS_EPERM ? 403 :
	    p->st.code == OPS_EINVAL ? 400 : 503);
	error = p->st.text;
	/* the page's quota part was not loaded: say only the error */
	p->r = -1;
	pages_account_render(r, p, error);
	pages_account_free(p);
}

/* The new password's own checks, before any work: a refusal names what
 * is wrong, or NULL. */
static const char *
pages_account_pw_check(const char *user, const char *cur, const char *fresh,
    const char *confirm)
{
	if (cur == NULL || fresh == NULL || confirm == NULL || cur[0] == '\0')
		return "Fill in all three fields.";
	if (strcmp(fresh, confirm) != 0)
		return "The two new passwords differ.";
	if (strlen(fresh) < ACCOUNT_PW_MIN)
		return "The new password is too short.";
	if (strlen(fresh) > ACCOUNT_PW_MAX || strlen(cur) > ACCOUNT_PW_MAX)
		return "The password is too long.";
	if (strcasecmp(fresh, user) == 0 || strcmp(fresh, cur) == 0)
		return "Choose a new password that is neither your address "
		    "nor the old password.";
	for (const unsigned char *s = (const unsigned char *)fresh; *s != '\0';
	    s++)
		if (*s < 0x20 || *s == 0x7f)
			return "The new password holds control characters.";
	return NULL;
}

static void
pages_account_pw(struct admin_req *r, void *arg)
{
	const char *cur = admin_req_form(r, "current");
	const char *fresh = admin_req_form(r, "new");
	const char *why = pages_account_pw_check(admin_req_user(r), cur, fresh,
	    admin_req_form(r, "confirm"));
	struct pages_account *p;

	p = xcalloc(1, sizeof(*p));
	if (why != NULL) {
		admin_resp_status(r, 400);
		p->r = -1;
		pages_account_render(r, p, why);
		pages_account_free(p);
		return;
	}
	str_lcpy(p->current, cur, sizeof(p->current));
	str_lcpy(p->fresh, fresh, sizeof(p->fresh));
	admin_req_run(r, pages_account_pw_work, pages_account_pw_done, p);
}

struct pages_account_set {
	bool vacation;
	char *targets;			/* forward: the field as typed */
	bool keep;
	struct fbuf subject, body;	/* vacation */
	char start[64], end[64], days[16];
	int enabled;
	struct ops_status st;
	int r;
};

static void
pages_account_set_free(struct pages_account_set *p)
{
	free(p->targets);
	fbuf_release(&p->subject);
	fbuf_release(&p->body);
	free(p);
}

static void
pages_account_set_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_account_set *p = arg;
	struct ops_vacation_change ch;
	struct ops_ctx c;

	if (conn == NULL) {
		p->r = ops_fail(&p->st, OPS_EFAIL, "the store is unavailable");
		return;
	}
	admin_req_ops_ctx(r, conn, &c);
	if (!p->vacation) {
		char *args[1] = { p->targets };

		p->r = strspn(p->targets, " ,\t") == strlen(p->targets) ?
		    ops_forward_clear(&c, admin_req_user(r), &p->st) :
		    ops_forward_set(&c, admin_req_user(r), args, 1, p->keep,
		    &p->st);
		return;
	}
	memset(&ch, 0, sizeof(ch));
	ch.enabled = p->enabled;
	ch.subject = fbuf_str(&p->subject);
	ch.body = fbuf_str(&p->body);
	ch.body_len = p->body.len;
	ch.start = p->start;
	ch.end = p->end;
	ch.days = p->days;
	p->r = ops_vacation_change(&c, admin_req_user(r), &ch,
	    (int64_t)time(NULL), &p->st);
}

static void
pages_account_set_done(struct admin_req *r, void *arg)
{
	struct pages_account_set *p = arg;

	if (p->r == 0) {
		log_info("- admin %s-changed user=%s address=%s",
		    p->vacation ? "vacation" : "forward",
		    log_q(admin_req_user(r)), admin_req_peer_text(r));
		page_redirect_done(r, "/account", p->vacation ? "vacation" :
		    "forward");
	} else
		admin_resp_error(r, p->st.code == OPS_EPERM ? 403 :
		    p->st.code == OPS_EFAIL ? 503 : 400, p->st.text);
	pages_account_set_free(p);
}

/* A text field into dst, or false when it is absent or too long. */
static bool
pages_account_field(struct admin_req *r, const char *name, char *dst,
    size_t size)
{
	const char *v = admin_req_form(r, name);

	if (v == NULL)
		v = "";
	if (strlen(v) >= size)
		return false;
	str_lcpy(dst, v, size);
	return true;
}

static void
pages_account_forward(struct admin_req *r, void *arg)
{
	const char *t = admin_req_form(r, "targets");
	const char *keep = admin_req_form(r, "keep");
	struct pages_account_set *p;

	if (t == NULL || strlen(t) > 4096) {
		admin_resp_error(r, 400, "The list of addresses is missing or "
		    "too long.");
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->targets = xstrdup(t);
	p->keep = keep != NULL && strcmp(keep, "yes") == 0;
	admin_req_run(r, pages_account_set_work, pages_account_set_done, p);
}

static void
pages_account_vacation(struct admin_req *r, void *arg)
{
	const char *subject = admin_req_form(r, "subject");
	const char *body = admin_req_form(r, "body");
	const char *en = admin_req_form(r, "enabled");
	struct pages_account_set *p = xcalloc(1, sizeof(*p));

	p->vacation = true;
	p->enabled = en != NULL && strcmp(en, "yes") == 0;
	fbuf_init(&p->subject, OPS_VACATION_SUBJECT_MAX + 1);
	fbuf_init(&p->body, OPS_VACATION_BODY_MAX + 1);
	if (fbuf_adds(&p->subject, subject != NULL ? subject : "") < 0 ||
	    fbuf_adds(&p->body, body != NULL ? body : "") < 0 ||
	    !pages_account_field(r, "start", p->start, sizeof(p->start)) ||
	    !pages_account_field(r, "end", p->end, sizeof(p->end)) ||
	    !pages_account_field(r, "days", p->days, sizeof(p->days))) {
		pages_account_set_free(p);
		admin_resp_error(r, 400, "A field of the form is too long.");
		return;
	}
	if (p->days[0] == '\0')
		str_lcpy(p->days, "7", sizeof(p->days));
	admin_req_run(r, pages_account_set_work, pages_account_set_done, p);
}

void
pages_account_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_POST, "/account/forward", ADMIN_F_LOGIN,
	    pages_account_forward, NULL);
	admin_http_route(h, ADMIN_POST, "/account/vacation", ADMIN_F_LOGIN,
	    pages_account_vacation, NULL);
	admin_http_route(h, ADMIN_GET, "/account", ADMIN_F_LOGIN,
	    pages_account, NULL);
	admin_http_route(h, ADMIN_POST, "/account/password", ADMIN_F_LOGIN,
	    pages_account_pw, NULL);
}
