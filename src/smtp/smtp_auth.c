/* SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms,
 * initial responses included (SASL-IR).  AUTH is offered only under TLS
 * or to clients in auth_plaintext_networks; elsewhere it is refused with
 * 538 5.7.11 so that no password crosses the network in the clear.  The
 * user lookup and the yescrypt check are one store request on the
 * password pool, with the session busy; failures are counted for bans
 * (auth/ban.h) by another, and the 535 waits for it.  Neither passwords nor the names tried
 * in failed attempts reach the log; buffers that held them are wiped. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/ban.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "smtp/smtpd_private.h"

/* base64 of "Username:" and "Password:", the LOGIN mechanism's prompts */
#define SMTP_AUTH_PROMPT_USER "VXNlcm5hbWU6"
#define SMTP_AUTH_PROMPT_PASS "UGFzc3dvcmQ6"

enum smtp_auth_mech { SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN };

struct smtp_auth {
	struct smtp_session *s;
	enum smtp_auth_mech mech;
	bool have_user;			/* LOGIN: the name came */
	char authcid[SASL_FIELD_MAX];
	char passwd[SASL_FIELD_MAX];
};

static bool
smtp_auth_allowed(const struct smtp_session *s)
{
	return s->tls || cidr_list_match(&s->conf->auth_plaintext_networks,
	    (const struct sockaddr *)&s->peer);
}

bool
smtp_auth_offered(const struct smtp_session *s)
{
	return s->auth_user[0] == '\0' && smtp_auth_allowed(s);
}

void
smtp_auth_free(struct smtp_auth **ap)
{
	struct smtp_auth *a = *ap;

	if (a == NULL)
		return;
	explicit_bzero(a, sizeof(*a));
	free(a);
	*ap = NULL;
}

/* Ends the exchange (either way): back to the ready state. */
static void
smtp_auth_end(struct smtp_session *s)
{
	smtp_auth_free(&s->auth);
	smtp_session_enter_state(s, SMTP_STATE_READY);
}

/* The failure is counted (auth/ban.h); the 535 follows once it is. */
static void
smtp_auth_recorded(int result, void *ctx)
{
	struct smtp_session *s = ctx;

	s->sreq = NULL;
	s->busy = false;
	smtp_session_unwatch_hup(s);
	if (result == 1)
		log_info("%s smtp banned address=%s", s->id, s->addr);
	smtp_session_reply(s, "535 5.7.8 Authentication credentials invalid");
	smtp_auth_end(s);
	smtp_session_error(s);
	if (s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

static void
smtp_auth_fail(struct smtp_session *s, const char *why)
{
	const char *mech = s->auth->mech == SMTP_AUTH_PLAIN ? "PLAIN" : "LOGIN";
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;

	/* The name tried (never the password), as POP3 and IMAP log it. */
	log_info("%s smtp auth-failed address=%s user=%s mech=%s reason=%s",
	    s->id, s->addr, log_q(s->auth->authcid), mech, log_q(why));
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_SMTP][0]);
	if (ban_exempt(s->conf, sa)) {
		smtp_session_reply(s, "535 5.7.8 Authentication credentials "
		    "invalid");
		smtp_auth_end(s);
		smtp_session_error(s);
		return;
	}
	s->busy = true;
	bufferevent_disable(s->bev, EV_READ);
	s->sreq = ban_record_start(s->srv->env->stores, s->conf, sa,
	    "smtp", time(NULL), smtp_auth_recorded, s);
	smtp_session_watch_hup(s);
}

static void
smtp_auth_done(enum login_result result, const char *canon, bool cached,
    void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_auth *a = s->auth;

	s->sreq = NULL;
	s->busy = false;
	smtp_session_unwatch_hup(s);
	if (result == LOGIN_TEMPFAIL) {
		log_warnx("%s smtp auth-tempfail address=%s", s->id, s->addr);
		smtp_session_reply(s, "454 4.7.0 Temporary authentication "
		    "failure");
		smtp_auth_end(s);
	} else if (result == LOGIN_REFUSED) {
		log_info("%s smtp reject stage=auth address=%s user=%s code=535 "
		    "dsn=5.7.8 check=suspended reason=\"domain suspended\"",
		    s->id, s->addr, log_q(canon));
		smtp_session_reply(s, "535 5.7.8 Authentication refused: the "
		    "domain of %s is suspended, contact your postmaster", canon);
		smtp_auth_end(s);
	} else if (result != LOGIN_OK) {
		smtp_auth_fail(s, "bad credentials");
		if (s->busy)
			return;		/* counting the failure first */
	} else {
		str_lcpy(s->auth_user, canon, sizeof(s->auth_user));
		s->relay_ok = true;
		metrics_inc(&metrics_shm->logins[METRICS_PROTO_SMTP][1]);
		log_info("%s smtp auth user=%s mech=%s cached=%s", s->id,
		    log_q(s->auth_user), a->mech == SMTP_AUTH_PLAIN ?
		    "PLAIN" : "LOGIN", cached ? "yes" : "no");
		smtp_session_reply(s, "235 2.7.0 Authentication successful");
		smtp_auth_end(s);
	}
	if (s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

/* Both names and the password are in: the lookup and the verification
 * run on the password pool (a store request), the session busy. */
static void
smtp_auth_check(struct smtp_session *s)
{
	struct smtp_auth *a = s->auth;

	a->s = s;
	s->busy = true;
	bufferevent_disable(s->bev, EV_READ);
	s->sreq = login_start(s->srv->auth_stores, s->conf, a->authcid,
	    a->passwd, smtp_auth_done, s);
	smtp_session_watch_hup(s);
	explicit_bzero(a->passwd, sizeof(a->passwd));
}

static void
smtp_auth_plain(struct smtp_session *s, const char *resp, size_t len)
{
	struct smtp_auth *a = s->auth;
	char authzid[SASL_FIELD_MAX];

	if (sasl_plain_decode(resp, len, authzid, a->authcid, a->passwd) < 0) {
		smtp_session_reply(s, "501 5.5.2 Cannot decode response");
		smtp_auth_end(s);
		smtp_session_error(s);
		return;
	}
	/* Acting for another user (authzid) is not offered. */
	if (authzid[0] != '\0' && !str_ieq(authzid, a->authcid)) {
		explicit_bzero(authzid, sizeof(authzid));
		smtp_auth_fail(s, "authorization identity differs");
		return;
	}
	explicit_bzero(authzid, sizeof(authzid));
	smtp_auth_check(s);
}

/* LOGIN: one base64 field per step, the name first. */
static void
smtp_auth_login(struct smtp_session *s, const char *resp, size_t len)
{
	struct smtp_auth *a = s->auth;
	char *dst = a->have_user ? a->passwd : a->authcid;

	int n = sasl_base64_decode(resp, len, dst, SASL_FIELD_MAX);

	if (n <= 0 || strlen(dst) != (size_t)n) {
		smtp_session_reply(s, "501 5.5.2 Cannot decode response");
		smtp_auth_end(s);
		smtp_session_error(s);
		return;
	}
	if (!a->have_user) {
		a->have_user = true;
		smtp_session_enter_state(s, SMTP_STATE_AUTH);
		smtp_session_reply(s, "334 " SMTP_AUTH_PROMPT_PASS);
		return;
	}
	smtp_auth_check(s);
}

static void
smtp_auth_step(struct smtp_session *s, const char *resp, size_t len)
{
	if (s->auth->mech == SMTP_AUTH_PLAIN)
		smtp_auth_plain(s, resp, len);
	else
		smtp_auth_login(s, resp, len);
}

void
smtp_auth_input(struct smtp_session *s, char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		/* RFC 4954 4: the client cancels the exchange. */
		smtp_session_reply(s, "501 5.0.0 Authentication cancelled");
		smtp_auth_end(s);
	} else
		smtp_auth_step(s, line, len);
	explicit_bzero(line, len);
}

static int
smtp_auth_mech(const char *name, size_t len, enum smtp_auth_mech *m)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		*m = SMTP_AUTH_PLAIN;
	else if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		*m = SMTP_AUTH_LOGIN;
	else
		return -1;
	return 0;
}

/* "AUTH mechanism [initial-response]" */
void
smtp_auth_cmd(struct smtp_session *s, const char *arg)
{
	const char *sp = strchr(arg, ' ');
	size_t mlen = sp != NULL ? (size_t)(sp - arg) : strlen(arg);
	enum smtp_auth_mech mech;

	if (s->auth_user[0] != '\0') {
		smtp_session_reply(s, "503 5.5.1 Already authenticated");
		smtp_session_error(s);
		return;
	}
	if (!smtp_auth_allowed(s)) {
		log_info("%s smtp reject stage=auth code=538 check=tls "
		    "reason=\"AUTH without TLS\"", s->id);
		metrics_smtp_refused("tls", 538);
		smtp_session_reply(s, "538 5.7.11 Encryption required for "
		    "requested authentication mechanism");
		smtp_session_error(s);
		return;
	}
	if (smtp_auth_mech(arg, mlen, &mech) < 0) {
		smtp_session_reply(s, "504 5.5.4 Unrecognized authentication "
		    "type");
		smtp_session_error(s);
		return;
	}
	s->auth = xcalloc(1, sizeof(*s->auth));
	s->auth->mech = mech;
	smtp_session_enter_state(s, SMTP_STATE_AUTH);
	if (sp == NULL) {
		smtp_session_reply(s, "334 %s", mech == SMTP_AUTH_PLAIN ? "" :
		    SMTP_AUTH_PROMPT_USER);
		return;
	}
	while (*sp == ' ')
		sp++;
	/* RFC 4954 4: "=" is an empty initial response. */
	smtp_auth_step(s, sp, strcmp(sp, "=") == 0 ? 0 : strlen(sp));
}
