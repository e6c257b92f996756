/* Commands valid in any state (RFC 9051 section 6.1: CAPABILITY, NOOP,
 * LOGOUT; RFC 2971 ID; RFC 5161 ENABLE) and the not-authenticated state
 * (section 6.2: STARTTLS, LOGIN, AUTHENTICATE with RFC 4959 SASL-IR and
 * RFC 4616 PLAIN).  Plaintext credentials are accepted only under TLS or
 * from auth_plaintext_networks (LOGINDISABLED otherwise), checked on a
 * worker thread (yescrypt is slow by design), and every failure counts
 * for the client's address in the bans shared with SMTP and POP3
 * (auth/ban.h).  A good login opens the user's mailbox (mbox.h) on the
 * same worker job: the first login ever creates the special-use
 * folders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/ban.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "imap/imap_cmd_args.h"
#include "imap/imap_private.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox.h"
#include "net/nodepeer.h"
#include "store/store.h"

#define IMAP_NO_PLAINTEXT "[PRIVACYREQUIRED] Plaintext authentication " \
	"disallowed on non-secure connections, use STARTTLS"

/* A login in progress: the credential check and opening the mailbox. */
struct imap_login {
	const char *method;		/* "LOGIN" or "PLAIN", for logs */
	char user[SASL_FIELD_MAX];
	char password[SASL_FIELD_MAX];
	char state_dir[PATH_MAX];
	struct store_pool *stores;	/* the worker's connection from it */
	const struct conf *conf;
	struct sockaddr_storage peer;
	bool exempt;			/* auth_ban_exempt: no ban counting */
	bool banned;			/* banned already: not checked */
	int banned_now;			/* ban_record_failure(): 1 banned */
	enum login_result result;
	bool cached;
	char canon[320];
	struct mbox_user *mbox;
	struct mbox_error err;
	bool open_failed;
	/* mailbox homing: the user's home is another node (home_r 1), or
	 * finding it failed (-1, -2: a temporary failure) */
	int home_r;
	const char *home_error;
	struct nodepeer_home home;
	/* the session's x-originating-ip claim, taken when the connection
	 * is a node's */
	struct sockaddr_storage conn_peer;
	struct sockaddr_storage claim;
	bool have_claim;
	bool claimed;
};

bool
imap_plaintext_ok(const struct imap_session *s)
{
	return s->tls || cidr_list_match(&s->conf->auth_plaintext_networks,
	    (const struct sockaddr *)&s->conn_peer);
}

void
imap_capabilities(struct imap_session *s, struct fbuf *b)
{
	/* before login {n+} literals are capped at 4096 octets: LITERAL-
	 * (RFC 7888 section 5); after it, LITERAL+ */
	fbuf_addf(b, "IMAP4rev1 IMAP4rev2 %s SASL-IR ID ENABLE IDLE NAMESPACE "
	    "UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE MULTIAPPEND ESEARCH "
	    "SEARCHRES STATUS=SIZE CONDSTORE QRESYNC BINARY UTF8=ACCEPT LIST-EXTENDED "
	    "LIST-STATUS CREATE-SPECIAL-USE QUOTA QUOTA=RES-STORAGE "
	    "COMPRESS=DEFLATE", s->state == IMAP_STATE_NOAUTH ? "LITERAL-" :
	    "LITERAL+");
	fbuf_addf(b, " APPENDLIMIT=%llu",
	    (unsigned long long)imap_append_limit(s));
	fbuf_adds(b, " SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT "
	    "THREAD=REFERENCES");
	if (s->state != IMAP_STATE_NOAUTH)
		return;
	if (!s->tls && s->srv->tls != NULL)
		fbuf_adds(b, " STARTTLS");
	if (imap_plaintext_ok(s))
		fbuf_adds(b, " AUTH=PLAIN");
	else
		fbuf_adds(b, " LOGINDISABLED");
}

void
imap_cmd_capability(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct fbuf b;

	if (count != 0) {
		imap_bad(s, tag, "CAPABILITY takes no arguments");
		return;
	}
	fbuf_init(&b, 0);
	imap_capabilities(s, &b);
	imap_reply(s, "* CAPABILITY %s", fbuf_str(&b));
	imap_reply(s, "%s OK Capability completed", tag);
	fbuf_release(&b);
}

void
imap_cmd_logout(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	if (count != 0) {
		imap_bad(s, tag, "LOGOUT takes no arguments");
		return;
	}
	imap_reply(s, "* BYE Logging out");
	imap_reply(s, "%s OK Logout completed", tag);
	imap_session_close(s);
}

/* ID (RFC 2971): the client's list is checked (NIL or up to 30 string
 * pairs, RFC 2971 section 3.3) and logged; the server names itself. */
void
imap_cmd_id(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	const struct imap_arg *kv;
	const char *error;
	unsigned n;

	if (imap_id_args_check(args, count, &n, &error) < 0) {
		imap_bad(s, tag, error);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *k = args[0].list[2 * i].str;

		kv = &args[0].list[2 * i + 1];
		if (str_ieq(k, "name") || str_ieq(k, "version"))
			log_info("%s imap id %s=%s", s->id, str_ieq(k, "name") ?
			    "name" : "version", log_q(kv->str));
	}
	for (unsigned i = 0; i < n; i++) {
		kv = &args[0].list[2 * i + 1];
		imap_limits_id_field(s, args[0].list[2 * i].str,
		    kv->type == IMAP_ARG_ATOM ? NULL : kv->str);
	}
	imap_reply(s, "* ID (\"name\" \"Ferry\" \"version\" \"%s\")",
	    FERRY_VERSION);
	imap_reply(s, "%s OK ID completed", tag);
}

/* ENABLE (RFC 5161, RFC 9051 6.3.1): CONDSTORE, QRESYNC (which implies
 * CONDSTORE, RFC 7162 3.2.3), IMAP4rev2 (RFC 9051 behaviour, with UTF-8
 * mailbox names) and UTF8=ACCEPT (RFC 6855); unknown capabilities are
 * ignored as the RFC asks.  The ENABLED response lists only what this
 * command turned on, each name once. */
void
imap_cmd_enable(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	bool want[4] = { false, false, false, false };
	struct fbuf b;

	if (count == 0) {
		imap_bad(s, tag, "ENABLE needs capability names");
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imap_bad(s, tag, "ENABLE takes capability names");
			return;
		}
		want[0] |= imap_arg_atom_is(&args[i], "CONDSTORE");
		want[1] |= imap_arg_atom_is(&args[i], "QRESYNC");
		want[2] |= imap_arg_atom_is(&args[i], "IMAP4rev2");
		want[3] |= imap_arg_atom_is(&args[i], "UTF8=ACCEPT");
	}
	fbuf_init(&b, 0);
	if (want[0] && !s->condstore)
		fbuf_adds(&b, " CONDSTORE");
	if (want[1] && !s->qresync)
		fbuf_adds(&b, " QRESYNC");
	if (want[2] && !s->rev2)
		fbuf_adds(&b, " IMAP4rev2");
	if (want[3] && !s->utf8)
		fbuf_adds(&b, " UTF8=ACCEPT");
	s->condstore |= want[0] || want[1];
	s->qresync |= want[1];
	s->rev2 |= want[2];
	/* IMAP4rev2 mailbox names are UTF-8 (RFC 9051 5.1) */
	s->utf8 |= want[2] || want[3];
	imap_reply(s, "* ENABLED%s", fbuf_str(&b));
	fbuf_release(&b);
	imap_reply(s, "%s OK Enabled", tag);
}

void
imap_cmd_starttls(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	if (count != 0)
		imap_bad(s, tag, "STARTTLS takes no arguments");
	else if (s->tls)
		imap_bad(s, tag, "TLS is already active");
	else if (s->srv->tls == NULL)
		imap_bad(s, tag, "TLS not available");
	else {
		imap_reply(s, "%s OK Begin TLS negotiation now", tag);
		imap_session_starttls(s);
	}
}

static void
imap_login_release(struct imap_job *job)
{
	struct imap_login *l = job->data;

	imap_close_later(job->s->srv, NULL, NULL, &l->mbox);
	conf_unref(&l->conf);
	explicit_bzero(l, sizeof(*l));
	free(l);
}

/* Worker: a front node naming its client (imap_limits.c keeps the
 * claim of a connection outside imap_trusted_proxies for this): the
 * claimed address counts for bans and logs when the connection comes
 * from a node's address. */
static void
imap_login_claim(struct imap_login *l, struct store *conn)
{
	char ip[64];

	if (!l->have_claim)
		return;
	cidr_addr_str((const struct sockaddr *)&l->conn_peer, ip, sizeof(ip));
	if (nodepeer_is_node(conn, ip) != 1)
		return;
	l->peer = l->claim;
	l->exempt = ban_exempt(l->conf, (const struct sockaddr *)&l->peer);
	l->claimed = true;
}

/* Worker: where the user's mailbox is; 1 when it is another node's. */
static int
imap_login_home(struct imap_login *l, struct store *conn)
{
	l->home_r = nodepeer_home(conn, conf_node_name(l->conf), l->canon,
	    NODEPEER_IMAP, &l->home, &l->home_error);
	return l->home_r;
}

/* Worker: the password, then the mailbox. */
static void
imap_login_work(struct imap_job *job)
{
	struct imap_login *l = job->data;
	const struct sockaddr *sa = (const struct sockaddr *)&l->peer;
	struct store *conn = store_pool_conn(l->stores);
	time_t now = time(NULL);
	struct store_user u;
	char path[PATH_MAX];

	/* The store through this worker thread's own connection (store.h):
	 * a ban started since the greeting, the credentials, and a
	 * failure's count, all off the loop. */
	if (conn != NULL)
		imap_login_claim(l, conn);
	if (conn == NULL)
		l->result = LOGIN_TEMPFAIL;
	else if (!l->exempt && ban_check(conn, l->conf, sa, now, NULL) == 1)
		l->banned = true;
	else {
		l->result = login_check(conn, l->conf, l->user, l->password,
		    l->canon, sizeof(l->canon), &l->cached);
		if (l->result == LOGIN_BAD && !l->exempt)
			l->banned_now = ban_record_failure(conn, l->conf, sa,
			    "imap", now);
	}
	/* a login proxied to the home node logs in there with the same
	 * credentials: the password is kept for that (and wiped at once
	 * by imap_login_done) */
	if (l->banned || l->result != LOGIN_OK ||
	    imap_login_home(l, conn) != 1)
		explicit_bzero(l->password, sizeof(l->password));
	if (l->banned)
		return;
	if (l->result != LOGIN_OK || l->home_r != 0)
		return;
	/* the Maildir++ quota APPEND, COPY and MOVE are held to */
	if (store_user_get(conn, l->canon, &u) != 1)
		u.quota = 0;
	explicit_bzero(u.password_hash, sizeof(u.password_hash));
	if (maildir_path(l->state_dir, l->canon, path, sizeof(path)) < 0 ||
	    mbox_user_open(job->s->srv->mbox, path, u.quota, &l->mbox,
	    &l->err) < 0)
		l->open_failed = true;
}

static void
imap_login_failed(struct imap_session *s, struct imap_job *job)
{
	struct imap_login *l = job->data;
	int banned = l->banned_now;

	s->auth_failures++;
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_IMAP][0]);
	log_info("%s imap auth-failed address=%s user=%s method=%s "
	    "failures=%u%s", s->id, s->addr, log_q(l->user), l->method,
	    s->auth_failures, banned == 1 ? " banned=yes" : "");
	if (banned == 1) {
		fbuf_addf(&job->out, "%s NO [AUTHENTICATIONFAILED] "
		    "Authentication failed\r\n* BYE Too many failed logins, "
		    "address banned\r\n", job->tag);
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	fbuf_addf(&job->out, "%s NO [AUTHENTICATIONFAILED] Authentication "
	    "failed\r\n", job->tag);
	if (s->auth_failures >= IMAP_MAX_AUTH_FAILURES) {
		fbuf_adds(&job->out, "* BYE Too many failed logins\r\n");
		s->state = IMAP_STATE_LOGOUT;
	}
}

static void
imap_login_done(struct imap_job *job)
{
	struct imap_login *l = job->data;
	struct imap_session *s = job->s;
	struct fbuf caps;

	if (l->claimed) {
		char addr[sizeof(s->addr)];

		cidr_addr_str((const struct sockaddr *)&l->peer, addr,
		    sizeof(addr));
		log_info("%s imap proxied address=%s proxy=%s node=yes", s->id,
		    addr, s->addr);
		s->peer = l->peer;
		str_lcpy(s->addr, addr, sizeof(s->addr));
		s->proxied = true;
	}
	if (l->banned) {
		log_info("%s imap reject stage=auth address=%s check=ban",
		    s->id, s->addr);
		fbuf_addf(&job->out, "%s NO [AUTHENTICATIONFAILED] "
		    "Authentication failed\r\n* BYE Too many failed logins, "
		    "address banned\r\n", job->tag);
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	if (l->result == LOGIN_TEMPFAIL || (l->result == LOGIN_OK &&
	    l->open_failed)) {
		if (l->open_failed)
			log_warnx("%s imap open-failed user=%s error=%s", s->id,
			    log_q(l->canon), log_q(l->err.text));
		fbuf_addf(&job->out, "%s NO [UNAVAILABLE] Temporary failure, "
		    "try again later\r\n", job->tag);
		return;
	}
	if (l->result == LOGIN_REFUSED) {
		log_info("%s imap reject stage=auth address=%s user=%s "
		    "check=suspended", s->id, s->addr, log_q(l->canon));
		fbuf_addf(&job->out, "%s NO [CONTACTADMIN] The domain of this "
		    "account is suspended, contact your postmaster\r\n",
		    job->tag);
		return;
	}
	if (l->result != LOGIN_OK) {
		imap_login_failed(s, job);
		return;
	}
	if (l->home_r < 0) {
		log_warnx("%s imap proxy-failed user=%s address=%s reason=%s",
		    s->id, log_q(l->canon), s->addr, log_q(l->home_error));
		fbuf_addf(&job->out, "%s NO [UNAVAILABLE] Temporary failure, "
		    "try again later\r\n", job->tag);
		return;
	}
	if (l->home_r == 1) {
		imap_proxy_start(s, job->tag, l->canon, l->password, &l->home);
		explicit_bzero(l->password, sizeof(l->password));
		return;
	}
	if (imap_limits_user_full(s, l->canon)) {
		log_info("%s imap reject stage=auth address=%s user=%s "
		    "check=max_user_sessions", s->id, s->addr, log_q(l->canon));
		fbuf_addf(&job->out, "%s NO [LIMIT] Too many sessions for this "
		    "user (%u), log out elsewhere first\r\n", job->tag,
		    s->conf->imap_max_user_sessions);
		return;
	}
	s->user = l->mbox;
	l->mbox = NULL;
	str_lcpy(s->address, l->canon, sizeof(s->address));
	imap_session_enter_state(s, IMAP_STATE_AUTH);
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_IMAP][1]);
	log_info("%s imap login user=%s method=%s tls=%s cached=%s", s->id,
	    log_q(s->address), l->method, s->tls ? "yes" : "no",
	    l->cached ? "yes" : "no");
	fbuf_init(&caps, 0);
	imap_capabilities(s, &caps);
	fbuf_addf(&job->out, "%s OK [CAPABILITY %s] Logged in\r\n", job->tag,
	    fbuf_str(&caps));
	fbuf_release(&caps);
}

static void
imap_login_start(struct imap_session *s, const char *tag, const char *method,
    const char *user, const char *password)
{
	struct imap_login *l;
	struct imap_job *job;

	l = xcalloc(1, sizeof(*l));
	l->method = method;
	l->stores = s->srv->env->stores;
	l->peer = s->peer;
	l->exempt = ban_exempt(s->conf, (struct sockaddr *)&s->peer);
	l->conn_peer = s->conn_peer;
	l->claim = s->claim;
	l->have_claim = s->have_claim && !s->proxied;
	l->conf = conf_ref(s->conf);
	str_lcpy(l->user, user, sizeof(l->user));
	str_lcpy(l->password, password, sizeof(l->password));
	str_lcpy(l->state_dir, s->conf->state_dir, sizeof(l->state_dir));
	job = imap_job_new(s, tag, imap_login_work);
	job->done = imap_login_done;
	job->release = imap_login_release;
	job->data = l;
	job->login = true;
	imap_job_submit(job);
}

void
imap_cmd_login(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	const char *user, *password;

	if (count != 2 || !imap_arg_astring(&args[0], &user) ||
	    !imap_arg_astring(&args[1], &password)) {
		imap_bad(s, tag, "LOGIN needs a user name and a password");
		return;
	}
	if (!imap_plaintext_ok(s)) {
		imap_reply(s, "%s NO %s", tag, IMAP_NO_PLAINTEXT);
		return;
	}
	if (strlen(user) >= SASL_FIELD_MAX || strlen(password) >=
	    SASL_FIELD_MAX) {
		imap_reply(s, "%s NO [AUTHENTICATIONFAILED] Authentication "
		    "failed", tag);
		return;
	}
	imap_login_start(s, tag, "LOGIN", user, password);
}

/* RFC 4616 PLAIN; an authorization identity other than the user's own
 * would be a proxy login, which is not offered. */
static void
imap_auth_plain(struct imap_session *s, const char *tag, const char *b64,
    size_t len)
{
	char authzid[SASL_FIELD_MAX], authcid[SASL_FIELD_MAX];
	char passwd[SASL_FIELD_MAX];

	if (sasl_plain_decode(b64, len, authzid, authcid, passwd) < 0)
		imap_bad(s, tag, "Malformed PLAIN response");
	else if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0)
		imap_reply(s, "%s NO [AUTHORIZATIONFAILED] Authorization "
		    "identity not allowed", tag);
	else
		imap_login_start(s, tag, "PLAIN", authcid, passwd);
	explicit_bzero(passwd, sizeof(passwd));
}

void
imap_cmd_authenticate(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	const char *ir;

	if (count < 1 || count > 2 || args[0].type != IMAP_ARG_ATOM ||
	    (count == 2 && !imap_arg_astring(&args[1], &ir))) {
		imap_bad(s, tag, "AUTHENTICATE needs a mechanism");
		return;
	}
	if (!str_ieq(args[0].str, "PLAIN")) {
		imap_reply(s, "%s NO Unsupported authentication mechanism",
		    tag);
		return;
	}
	if (!imap_plaintext_ok(s)) {
		imap_reply(s, "%s NO %s", tag, IMAP_NO_PLAINTEXT);
		return;
	}
	if (count == 2) {
		/* SASL-IR (RFC 4959): "=" is an empty initial response */
		imap_auth_plain(s, tag, ir, strcmp(ir, "=") == 0 ? 0 :
		    strlen(ir));
		return;
	}
	str_lcpy(s->tag, tag, sizeof(s->tag));
	s->input = IMAP_INPUT_SASL;
	imap_reply(s, "+ ");
}

void
imap_auth_response(struct imap_session *s, const char *line, size_t len)
{
	s->input = IMAP_INPUT_COMMAND;
	if (len == 1 && line[0] == '*') {
		imap_reply(s, "%s BAD Authentication cancelled", s->tag);
		return;
	}
	imap_auth_plain(s, s->tag, line, len);
}
