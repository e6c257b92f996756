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
#include "admin/pages.h"
#include "admin/session.h"
#include "auth/ban.h"
#include "auth/login.h"
#include "auth/password.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"

#define ACCOUNT_PW_MIN 8
#define ACCOUNT_PW_MAX 1023

struct pages_account {
	struct ops_user_info info;
	struct ops_status st;
	int r;
	/* the password change */
	char current[ACCOUNT_PW_MAX + 1], fresh[ACCOUNT_PW_MAX + 1];
	bool changed;
};

static void
pages_account_free(struct pages_account *p)
{
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
}

static void
pages_account_render(struct admin_req *r, struct pages_account *p,
    const char *notice, const char *error)
{
	struct fbuf *b = admin_resp_body(r);
	char used[32], quota[32];

	html_begin(r, "My account");
	if (notice != NULL)
		html_addf(b, "<p class=\"notice\">%s</p>", notice);
	if (error != NULL)
		html_addf(b, "<p class=\"error\">%s</p>", error);
	html_addf(b, "<p>Address: <strong>%s</strong></p>", admin_req_user(r));
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
	fbuf_adds(b, "<h2>Change password</h2>"
	    "<form method=\"post\" action=\"/account/password\">");
	html_csrf(r);
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
	const char *n = admin_req_query(r, "done");

	pages_account_render(r, p, n != NULL && strcmp(n, "password") == 0 ?
	    "Your password was changed." : NULL, p->r < 0 ? p->st.text : NULL);
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
		admin_resp_redirect(r, "/account?done=password");
		pages_account_free(p);
		return;
	}
	admin_resp_status(r, p->st.code == OPS_EPERM ? 403 :
	    p->st.code == OPS_EINVAL ? 400 : 503);
	error = p->st.text;
	/* the page's quota part was not loaded: say only the error */
	p->r = -1;
	pages_account_render(r, p, NULL, error);
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
		pages_account_render(r, p, NULL, why);
		pages_account_free(p);
		return;
	}
	str_lcpy(p->current, cur, sizeof(p->current));
	str_lcpy(p->fresh, fresh, sizeof(p->fresh));
	admin_req_run(r, pages_account_pw_work, pages_account_pw_done, p);
}

void
pages_account_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/account", ADMIN_F_LOGIN,
	    pages_account, NULL);
	admin_http_route(h, ADMIN_POST, "/account/password", ADMIN_F_LOGIN,
	    pages_account_pw, NULL);
}
