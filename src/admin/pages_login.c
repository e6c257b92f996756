/* Logging in and out of the web pages.  The login is a mailbox address
 * and its password, checked as SMTP AUTH, IMAP and POP3 check them
 * (auth/login.h) and counted in the same failed-login bans (auth/ban.h,
 * service "admin").  What the account may do follows from the address:
 * addresses in admin_users are the admin, postmaster@DOMAIN is DOMAIN's
 * postmaster, every other mailbox is a user of its own account.
 *
 * The login form is protected against cross-site posts by a token in a
 * cookie that the form repeats (the user has no session yet); every
 * later form carries the session's own token (http.c checks it).  A
 * successful login always gets a new session id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/html.h"
#include "admin/http.h"
#include "admin/pages.h"
#include "admin/session.h"
#include "auth/ban.h"
#include "auth/login.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define LOGIN_COOKIE "ferry_login"

enum pages_login_result {
	PAGES_LOGIN_OK,
	PAGES_LOGIN_BAD,
	PAGES_LOGIN_BANNED,
	PAGES_LOGIN_TEMPFAIL
};

struct pages_login {
	char user[320];
	char password[1024];
	char next[512];
	enum pages_login_result result;
	char canon[320];
	int banned_now;
};

/* Cookie attributes: Secure whenever the page came over TLS (plain HTTP
 * is only ever served on loopback or behind a TLS proxy). */
static void
pages_login_cookie(struct admin_req *r, const char *name, const char *value,
    long max_age)
{
	char buf[512];

	if (max_age >= 0)
		snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; "
		    "SameSite=Strict; Max-Age=%ld%s", name, value, max_age,
		    admin_req_tls(r) ? "; Secure" : "");
	else
		snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; "
		    "SameSite=Strict%s", name, value,
		    admin_req_tls(r) ? "; Secure" : "");
	admin_resp_header(r, "Set-Cookie", buf);
}

/* `next` after login: a local path only. */
static const char *
pages_login_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' ||
	    next[1] == '\\' || strncmp(next, "/login", 6) == 0 ||
	    strlen(next) >= 512)
		return "/";
	return next;
}

static void
pages_login_form(struct admin_req *r, const char *error, const char *user,
    const char *next)
{
	struct fbuf *b = admin_resp_body(r);
	char token[ADMIN_TOKEN_LEN + 1];

	admin_token(token);
	pages_login_cookie(r, LOGIN_COOKIE, token, 3600);
	html_begin(r, "Log in");
	if (error != NULL)
		html_addf(b, "<p class=\"error\">%s</p>", error);
	html_addf(b, "<form method=\"post\" action=\"/login\">"
	    "<input type=\"hidden\" name=\"login_token\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"next\" value=\"%s\">"
	    "<label for=\"user\">Email address</label>"
	    "<input id=\"user\" name=\"user\" type=\"email\" "
	    "autocomplete=\"username\" required value=\"%s\">"
	    "<label for=\"password\">Password</label>"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required>"
	    "<p><button type=\"submit\">Log in</button></p></form>",
	    token, pages_login_next(next), user != NULL ? user : "");
	html_end(r);
}

static void
pages_login_get(struct admin_req *r, void *arg)
{
	/* Shown to a logged-in user too: logging in as someone else
	 * replaces the session. */
	pages_login_form(r, NULL, NULL, admin_req_query(r, "next"));
}

static void
pages_login_work(struct admin_req *r, struct store *conn, void *arg)
{
	struct pages_login *l = arg;
	const struct conf *c = admin_req_conf(r);
	const struct sockaddr *sa = admin_req_peer(r);
	bool exempt = ban_exempt(c, sa);
	time_t now = time(NULL);
	struct login_req lr;
	enum login_result res;

	if (conn == NULL) {
		l->result = PAGES_LOGIN_TEMPFAIL;
		return;
	}
	if (!exempt && ban_check(conn, c, sa, now, NULL) == 1) {
		l->result = PAGES_LOGIN_BANNED;
		return;
	}
	res = login_prepare(conn, c, l->user, &lr);
	if (res == LOGIN_OK)
		res = login_verify(&lr, l->password);
	explicit_bzero(l->password, sizeof(l->password));
	if (res != LOGIN_TEMPFAIL)
		metrics_inc(&metrics_shm->logins[METRICS_PROTO_HTTP]
		    [res == LOGIN_OK]);
	if (res == LOGIN_OK) {
		l->result = PAGES_LOGIN_OK;
		str_lcpy(l->canon, lr.canon, sizeof(l->canon));
	} else if (res == LOGIN_TEMPFAIL || res == LOGIN_REFUSED)
		/* REFUSED: the domain is suspended (ops_send.h); not a
		 * failed password, so never counted towards a ban. */
		l->result = PAGES_LOGIN_TEMPFAIL;
	else {
		l->result = PAGES_LOGIN_BAD;
		if (!exempt)
			l->banned_now = ban_record_failure(conn, c, sa, "admin",
			    now);
	}
	explicit_bzero(&lr, sizeof(lr));
}

/* The role that the address has (pages_login.c's header comment). */
static enum ops_role
pages_login_role(const struct conf *c, const char *canon, char *domain,
    size_t size)
{
	const char *at = strrchr(canon, '@');

	str_lcpy(domain, at != NULL ? at + 1 : "", size);
	if (conf_strlist_has(&c->admin_users, canon))
		return OPS_ADMIN;
	if (at != NULL && (size_t)(at - canon) == 10 &&
	    strncmp(canon, "postmaster", 10) == 0)
		return OPS_POSTMASTER;
	return OPS_USER;
}

static void
pages_login_done(struct admin_req *r, void *arg)
{
	struct pages_login *l = arg;
	const struct admin_session *s;
	const char *old;
	char domain[256];
	enum ops_role role;

	switch (l->result) {
	case PAGES_LOGIN_OK:
		break;
	case PAGES_LOGIN_BANNED:
		log_info("- admin reject stage=auth address=%s check=ban",
		    admin_req_peer_text(r));
		admin_resp_status(r, 403);
		pages_login_form(r, "Too many failed logins from your "
		    "address: try again later.", l->user, l->next);
		free(l);
		return;
	case PAGES_LOGIN_TEMPFAIL:
		admin_resp_status(r, 503);
		pages_login_form(r, "The server cannot check passwords "
		    "right now: try again in a minute.", l->user, l->next);
		free(l);
		return;
	case PAGES_LOGIN_BAD:
		log_info("- admin auth-failed address=%s user=%s%s",
		    admin_req_peer_text(r), log_q(l->user),
		    l->banned_now == 1 ? " banned=yes" : "");
		admin_resp_status(r, 401);
		pages_login_form(r, "Wrong email address or password.",
		    l->user, l->next);
		free(l);
		return;
	}
	role = pages_login_role(admin_req_conf(r), l->canon, domain,
	    sizeof(domain));
	/* The session the browser had (if any) ends: a login always
	 * starts a new one. */
	if ((old = admin_req_cookie(r, ADMIN_SESSION_COOKIE)) != NULL)
		admin_session_end(admin_http_sessions(admin_req_http(r)), old);
	s = admin_session_new(admin_http_sessions(admin_req_http(r)), l->canon,
	    role, domain, time(NULL));
	log_info("- admin login address=%s user=%s role=%s",
	    admin_req_peer_text(r), log_q(l->canon),
	    role == OPS_ADMIN ? "admin" : role == OPS_POSTMASTER ?
	    "postmaster" : "user");
	pages_login_cookie(r, ADMIN_SESSION_COOKIE, s->id, -1);
	pages_login_cookie(r, LOGIN_COOKIE, "", 0);
	admin_resp_redirect(r, pages_login_next(l->next));
	free(l);
}

static void
pages_login_post(struct admin_req *r, void *arg)
{
	const char *user = admin_req_form(r, "user");
	const char *pw = admin_req_form(r, "password");
	const char *next = admin_req_form(r, "next");
	struct pages_login *l;

	if (!admin_token_equal(admin_req_form(r, "login_token"),
	    admin_req_cookie(r, LOGIN_COOKIE))) {
		admin_resp_status(r, 403);
		pages_login_form(r, "The login form expired: please log in "
		    "again.", user, next);
		return;
	}
	if (user == NULL || pw == NULL || user[0] == '\0' || pw[0] == '\0' ||
	    strlen(user) >= 320 || strlen(pw) >= 1024) {
		admin_resp_status(r, 400);
		pages_login_form(r, "Enter your email address and password.",
		    user != NULL && strlen(user) < 320 ? user : NULL, next);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	str_lcpy(l->user, user, sizeof(l->user));
	str_lcpy(l->password, pw, sizeof(l->password));
	str_lcpy(l->next, pages_login_next(next), sizeof(l->next));
	admin_req_run(r, pages_login_work, pages_login_done, l);
}

static void
pages_logout(struct admin_req *r, void *arg)
{
	const char *id = admin_req_cookie(r, ADMIN_SESSION_COOKIE);

	if (id != NULL)
		admin_session_end(admin_http_sessions(admin_req_http(r)), id);
	log_info("- admin logout address=%s user=%s", admin_req_peer_text(r),
	    log_q(admin_req_user(r)));
	pages_login_cookie(r, ADMIN_SESSION_COOKIE, "", 0);
	admin_resp_redirect(r, "/login");
}

void
pages_login_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/login", 0, pages_login_get, NULL);
	admin_http_route(h, ADMIN_POST, "/login", 0, pages_login_post, NULL);
	admin_http_route(h, ADMIN_POST, "/logout", ADMIN_F_LOGIN,
	    pages_logout, NULL);
}
