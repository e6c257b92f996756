/* The AUTHORIZATION state (RFC 1939 section 4 and 7, RFC 2449 CAPA,
 * RFC 2595 STLS, RFC 5034 AUTH PLAIN): credentials are accepted only
 * under TLS or from auth_plaintext_networks, checked on a worker thread
 * (yescrypt is slow by design), and a failure is counted for the
 * client's address (auth/ban.h).  A good login then claims the maildrop:
 * an in-memory set refuses a second session in this process at once, a
 * flock()ed lock file in the Maildir refuses it across processes, and the
 * Maildir is scanned once (uidlist.h) for the session's snapshot.
 * APOP is not offered: it needs passwords stored in the clear. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "auth/ban.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/legacy_uidl.h"
#include "mailbox/maildir.h"
#include "net/nodepeer.h"
#include "pop3/pop3_private.h"
#include "store/store.h"

#define POP3_NO_PLAINTEXT "-ERR [AUTH] Plaintext authentication " \
	"disallowed on non-secure connections, use STLS"

/* A login in progress: the credential check, then opening the maildrop,
 * each on a worker thread. */
struct pop3_login {
	struct pop3_session *s;
	const char *method;		/* "USER" or "PLAIN", for logs */
	char user[SASL_FIELD_MAX + POP3_ARG_MAX];
	char password[POP3_LINE_MAX];
	enum login_result result;
	bool cached;			/* the auth cache vouched */
	bool exempt;			/* auth_ban_exempt: no ban counting */
	bool banned;			/* banned already: not checked */
	int banned_now;			/* ban_record_failure(): 1 banned */
	char canon[320];
	char path[PATH_MAX];
	int lock_fd;
	int err;			/* opening: 0 or errno */
	struct uidlist mbox;
	struct legacy_uidl legacy;	/* UIDLs kept from an import */
	bool skipped;			/* the peer left before the work began */
	/* mailbox homing: the user's home is another node (home_r 1), or
	 * finding it failed (-1, -2: a temporary failure) */
	int home_r;
	const char *home_error;
	struct nodepeer_home home;
};

/* On a worker: true when the session's peer has gone (the session lives
 * on, dead, until the job reports). */
static bool
pop3_login_abandoned(struct pop3_login *l)
{
	if (!__atomic_load_n(&l->s->gone, __ATOMIC_ACQUIRE))
		return false;
	l->skipped = true;
	return true;
}

/* A login whose peer left: nothing is answered or counted. */
static void
pop3_login_dropped(struct pop3_session *s, struct pop3_login *l)
{
	log_info("%s pop3 login-aborted address=%s user=%s method=%s "
	    "started=%s", s->id, s->addr, log_q(l->user), l->method,
	    l->skipped ? "no" : "yes");
}

bool
pop3_plaintext_ok(const struct pop3_session *s)
{
	return s->tls || cidr_list_match(&s->conf->auth_plaintext_networks,
	    (const struct sockaddr *)&s->conn_peer);
}

/* XCLIENT ADDR=: another node proxying its client's login (net/
 * mailproxy.h), or a host in pop3_trusted_proxies, names the client
 * before any USER or AUTH.  From then on the session's peer is that
 * address: the logs, the failed-login bans and their exemptions are the
 * client's, not the proxy's.  Whether a password may be sent without
 * TLS is still decided by the connection's own address.  A node is
 * known by the loop's copy of the node list, else by asking the store
 * (a node added a moment ago, or this role just started), as IMAP's
 * x-originating-ip is at login.  From anyone else, a second time, after
 * USER, after login (the command table) or with no address it is
 * refused and logged, and the session stays the connection's. */
struct pop3_xclient {
	char conn_ip[64];		/* the connection's address */
	char value[POP3_XCLIENT_ADDR_MAX + 1];
	struct sockaddr_storage claim;
	int node;			/* nodepeer_is_node() */
};

static void
pop3_xclient_refuse(struct pop3_session *s, const char *value,
    const char *why)
{
	log_info("%s pop3 xclient-refused address=%s value=%s reason=%s",
	    s->id, s->addr, log_q(value), why);
	pop3_session_reply(s, "-ERR XCLIENT not permitted");
	pop3_session_error(s);
}

static void
pop3_xclient_take(struct pop3_session *s, const struct sockaddr_storage *ss)
{
	char addr[sizeof(s->addr)];

	cidr_addr_str((const struct sockaddr *)ss, addr, sizeof(addr));
	log_info("%s pop3 proxied address=%s proxy=%s", s->id, addr,
	    s->addr);
	s->peer = *ss;
	str_lcpy(s->addr, addr, sizeof(s->addr));
	s->proxied = true;
	pop3_session_reply(s, "+OK");
}

static void
pop3_xclient_work(struct store *conn, void *data)
{
	struct pop3_xclient *x = data;

	x->node = conn != NULL ? nodepeer_is_node(conn, x->conn_ip) : -1;
}

static void
pop3_xclient_done(void *data, void *ctx)
{
	struct pop3_xclient *x = data;
	struct pop3_session *s = ctx;

	s->sreq = NULL;
	if (!s->dead && x->node == 1)
		pop3_xclient_take(s, &x->claim);
	else if (!s->dead)
		pop3_xclient_refuse(s, x->value, x->node == 0 ? "untrusted" :
		    "store-error");
	pop3_session_resume(s);		/* frees a dead session */
}

static const struct store_job pop3_xclient_job = {
	.name = "xclient",
	.work = pop3_xclient_work,
	.done = pop3_xclient_done,
};

void
pop3_cmd_xclient(struct pop3_session *s, struct pop3_command *cmd)
{
	const struct sockaddr *conn = (const struct sockaddr *)&s->conn_peer;
	struct pop3_xclient *x;
	struct sockaddr_storage ss;

	if (s->proxied || s->have_user || cidr_addr_parse(cmd->arg, &ss) < 0) {
		pop3_xclient_refuse(s, cmd->arg, s->proxied ? "repeated" :
		    s->have_user ? "after-user" : "invalid");
		return;
	}
	if (cidr_list_match(&s->conf->pop3_trusted_proxies, conn) ||
	    nodepeers_match(s->srv->peers, conn)) {
		pop3_xclient_take(s, &ss);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	cidr_addr_str(conn, x->conn_ip, sizeof(x->conn_ip));
	str_lcpy(x->value, cmd->arg, sizeof(x->value));
	x->claim = ss;
	pop3_session_suspend(s);
	s->sreq = store_req_submit(s->srv->env->stores, &pop3_xclient_job, x,
	    s);
}

void
pop3_cmd_capa(struct pop3_session *s, struct pop3_command *cmd)
{
	bool auth = s->state == POP3_STATE_AUTH;

	pop3_session_reply(s, "+OK Capability list follows");
	pop3_session_reply(s, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
	    "PIPELINING");
	if (auth && !s->tls && s->srv->tls != NULL)
		pop3_session_reply(s, "STLS");
	if (auth && pop3_plaintext_ok(s))
		pop3_session_reply(s, "USER\r\nSASL PLAIN");
	pop3_session_reply(s, "IMPLEMENTATION Ferry\r\n.");
}

void
pop3_cmd_stls(struct pop3_session *s, struct pop3_command *cmd)
{
	if (s->tls) {
		pop3_session_reply(s, "-ERR Command not permitted when TLS "
		    "active");
		pop3_session_error(s);
		return;
	}
	if (s->srv->tls == NULL) {
		pop3_session_reply(s, "-ERR TLS not available");
		pop3_session_error(s);
		return;
	}
	pop3_session_reply(s, "+OK Begin TLS negotiation");
	pop3_session_starttls(s);
}

void
pop3_cmd_apop(struct pop3_session *s, struct pop3_command *cmd)
{
	pop3_session_reply(s, "-ERR APOP not supported");
	pop3_session_error(s);
}

void
pop3_cmd_user(struct pop3_session *s, struct pop3_command *cmd)
{
	if (!pop3_plaintext_ok(s)) {
		pop3_session_reply(s, POP3_NO_PLAINTEXT);
		pop3_session_error(s);
		return;
	}
	str_lcpy(s->user, cmd->arg, sizeof(s->user));
	s->have_user = true;
	pop3_session_reply(s, "+OK");
}

static void
pop3_login_free(struct pop3_login **lp)
{
	struct pop3_login *l = *lp;

	if (l->lock_fd >= 0)
		close(l->lock_fd);
	uidlist_free(&l->mbox);
	legacy_uidl_free(&l->legacy);
	explicit_bzero(l, sizeof(*l));
	free(l);
	*lp = NULL;
}

/* Worker: the maildrop's lock, then one scan of the Maildir. */
static void
pop3_open_work(void *arg)
{
	struct pop3_login *l = arg;
	char file[PATH_MAX];

	l->err = 0;
	if (__atomic_load_n(&l->s->gone, __ATOMIC_ACQUIRE)) {
		l->err = ECANCELED;	/* nobody to serve the mailbox to */
		return;
	}
	if (maildir_create(l->path) < 0 || snprintf(file, sizeof(file),
	    "%s/" POP3_LOCK_FILE, l->path) >= (int)sizeof(file)) {
		l->err = errno != 0 ? errno : ENAMETOOLONG;
		return;
	}
	l->lock_fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd < 0 || flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		l->err = errno;
		return;
	}
	if (uidlist_sync(l->path, &l->mbox) < 0)
		l->err = errno;
	/* An unreadable list only costs the kept UIDLs (Ferry's own are
	 * given instead); it must not keep the user out. */
	else if (legacy_uidl_load(l->path, &l->legacy) < 0)
		legacy_uidl_free(&l->legacy);
}

/* Marks the messages whose UIDL is their base name (legacy_uidl.h). */
static void
pop3_mark_legacy(struct pop3_session *s, const struct legacy_uidl *set)
{
	for (size_t i = 0; i < s->mbox.n && set->n > 0; i++) {
		const char *name = s->mbox.v[i].name;
		const char *base = strchr(name, '/');
		size_t n;

		base = base != NULL ? base + 1 : name;
		n = uidlist_basename_len(base);
		if (legacy_uidl_ok(base, n) && legacy_uidl_has(set, base, n))
			s->flags[i] |= POP3_MF_LEGACY;
	}
}

static uint64_t
pop3_mbox_octets(const struct uidlist *ul)
{
	uint64_t total = 0;

	for (size_t i = 0; i < ul->n; i++)
		total += ul->v[i].vsize;
	return total;
}

static void
pop3_open_done(void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *s = l->s;

	if (s->dead)
		pop3_login_dropped(s, l);
	else if (l->err != 0) {
		log_info("%s pop3 open-failed user=%s error=%s", s->id,
		    log_q(s->address), l->err == EWOULDBLOCK ? "in-use" :
		    log_q(strerror(l->err)));
		s->mailbox[0] = s->address[0] = '\0';
		if (l->err == EWOULDBLOCK)
			pop3_session_reply(s, "-ERR [IN-USE] Mailbox is in use "
			    "by another session");
		else
			pop3_session_reply(s, "-ERR [SYS/TEMP] Cannot open the "
			    "mailbox, try again later");
	} else {
		s->mbox = l->mbox;
		memset(&l->mbox, 0, sizeof(l->mbox));
		s->flags = xcalloc(s->mbox.n + 1, 1);
		pop3_mark_legacy(s, &l->legacy);
		s->lock_fd = l->lock_fd;
		l->lock_fd = -1;
		pop3_session_enter_state(s, POP3_STATE_TRANS);
		metrics_inc(&metrics_shm->logins[METRICS_PROTO_POP3][1]);
		log_info("%s pop3 login user=%s method=%s tls=%s cached=%s "
		    "messages=%zu octets=%llu address=%s", s->id,
		    log_q(s->address), l->method, s->tls ? "yes" : "no",
		    l->cached ? "yes" : "no", s->mbox.n,
		    (unsigned long long)pop3_mbox_octets(&s->mbox), s->addr);
		pop3_session_reply(s, "+OK Logged in, %zu messages (%llu "
		    "octets)", s->mbox.n,
		    (unsigned long long)pop3_mbox_octets(&s->mbox));
	}
	pop3_login_free(&l);
	pop3_session_resume(s);
}

/* The credentials were good: claim the maildrop and open it. */
static void
pop3_login_ok(struct pop3_session *s, struct pop3_login *l)
{
	if (maildir_path(s->conf->state_dir, l->canon, l->path,
	    sizeof(l->path)) < 0) {
		pop3_session_reply(s, "-ERR [SYS/TEMP] Cannot open the "
		    "mailbox");
		pop3_login_free(&l);
		pop3_session_resume(s);
		return;
	}
	if (pop3d_mailbox_in_use(s->srv, l->path)) {
		log_info("%s pop3 open-failed user=%s error=in-use", s->id,
		    log_q(l->canon));
		pop3_session_reply(s, "-ERR [IN-USE] Mailbox is in use by "
		    "another session");
		pop3_login_free(&l);
		pop3_session_resume(s);
		return;
	}
	str_lcpy(s->mailbox, l->path, sizeof(s->mailbox));
	str_lcpy(s->address, l->canon, sizeof(s->address));
	workpool_submit(s->srv->env->pool, pop3_open_work, pop3_open_done, l);
}

static void
pop3_login_failed(struct pop3_session *s, struct pop3_login *l)
{
	int banned = l->banned_now;

	s->auth_failures++;
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_POP3][0]);
	log_info("%s pop3 auth-failed address=%s user=%s method=%s "
	    "failures=%u%s", s->id, s->addr, log_q(l->user), l->method,
	    s->auth_failures, banned == 1 ? " banned=yes" : "");
	if (banned == 1) {
		pop3_session_reply(s, "-ERR [SYS/PERM] Too many failed logins, "
		    "address banned");
		pop3_session_enter_state(s, POP3_STATE_QUIT);
		return;
	}
	pop3_session_reply(s, "-ERR [AUTH] Authentication failed");
	if (s->auth_failures >= POP3_MAX_AUTH_FAILURES)
		pop3_session_enter_state(s, POP3_STATE_QUIT);
}

static void
pop3_login_work(void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *s = l->s;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;
	struct store *conn = store_pool_conn(s->srv->env->stores);
	time_t now = time(NULL);

	/* The worker thread's own store connection (store.h): the ban that
	 * may have started since the greeting, the credentials, and a
	 * failure's count, all off the loop.  A login whose peer has left
	 * costs no hash. */
	if (pop3_login_abandoned(l)) {
		l->result = LOGIN_TEMPFAIL;
	} else if (conn == NULL) {
		l->result = LOGIN_TEMPFAIL;
	} else if (!l->exempt && ban_check(conn, s->conf, sa, now,
	    NULL) == 1) {
		l->banned = true;
	} else {
		l->result = login_check(conn, s->conf, l->user,
		    l->password, l->canon, sizeof(l->canon), &l->cached);
		if (l->result == LOGIN_BAD && !l->exempt)
			l->banned_now = ban_record_failure(conn, s->conf,
			    sa, "pop3", now);
	}
	/* a login proxied to the home node logs in there with the same
	 * credentials: the password is kept for that (and wiped at once
	 * by pop3_login_done) */
	if (l->result == LOGIN_OK && !l->banned)
		l->home_r = nodepeer_home(conn, conf_node_name(s->conf),
		    l->canon, NODEPEER_POP3, &l->home, &l->home_error);
	if (l->home_r != 1)
		explicit_bzero(l->password, sizeof(l->password));
}

static void
pop3_login_done(void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *s = l->s;

	if (!s->dead && l->banned) {
		log_info("%s pop3 reject stage=auth address=%s check=ban",
		    s->id, s->addr);
		pop3_session_reply(s, "-ERR [SYS/PERM] Too many failed logins, "
		    "address banned");
		pop3_session_enter_state(s, POP3_STATE_QUIT);
	} else if (s->dead) {
		pop3_login_dropped(s, l);
	} else if (l->result == LOGIN_TEMPFAIL) {
		pop3_session_reply(s, "-ERR [SYS/TEMP] Temporary failure, try "
		    "again later");
	} else if (l->result == LOGIN_OK && l->home_r < 0) {
		log_warnx("%s pop3 proxy-failed user=%s address=%s reason=%s",
		    s->id, log_q(l->canon), s->addr, log_q(l->home_error));
		pop3_session_reply(s, "-ERR [SYS/TEMP] Temporary failure, "
		    "try again later");
	} else if (l->result == LOGIN_OK && l->home_r == 1) {
		pop3_proxy_start(s, l->canon, l->password, &l->home);
		explicit_bzero(l->password, sizeof(l->password));
	} else if (l->result == LOGIN_OK) {
		pop3_login_ok(s, l);
		return;
	} else if (l->result == LOGIN_REFUSED) {
		log_info("%s pop3 reject stage=auth address=%s user=%s "
		    "check=suspended", s->id, s->addr, log_q(l->canon));
		pop3_session_reply(s, "-ERR [AUTH] The domain of this account "
		    "is suspended, contact your postmaster");
	} else
		pop3_login_failed(s, l);
	pop3_login_free(&l);
	pop3_session_resume(s);
}

static void
pop3_login_start(struct pop3_session *s, const char *method,
    const char *user, const char *password)
{
	struct pop3_login *l;

	l = xcalloc(1, sizeof(*l));
	l->exempt = ban_exempt(s->conf, (struct sockaddr *)&s->peer);
	l->s = s;
	l->method = method;
	l->lock_fd = -1;
	str_lcpy(l->user, user, sizeof(l->user));
	str_lcpy(l->password, password, sizeof(l->password));
	pop3_session_suspend(s);
	pop3_session_watch_hup(s);
	workpool_submit(s->srv->env->pool, pop3_login_work, pop3_login_done, l);
}

void
pop3_cmd_pass(struct pop3_session *s, struct pop3_command *cmd)
{
	if (!pop3_plaintext_ok(s)) {
		pop3_session_reply(s, POP3_NO_PLAINTEXT);
		pop3_session_error(s);
		return;
	}
	if (!s->have_user) {
		pop3_session_reply(s, "-ERR USER first");
		pop3_session_error(s);
		return;
	}
	/* RFC 1939 section 7: after PASS, USER starts over either way. */
	s->have_user = false;
	pop3_login_start(s, "USER", s->user, cmd->arg);
}

/* RFC 4616 PLAIN; an authorization identity other than the user's own
 * would be a proxy login, which is not offered. */
static void
pop3_auth_plain(struct pop3_session *s, const char *b64, size_t len)
{
	char authzid[SASL_FIELD_MAX], authcid[SASL_FIELD_MAX];
	char passwd[SASL_FIELD_MAX];

	if (sasl_plain_decode(b64, len, authzid, authcid, passwd) < 0) {
		pop3_session_reply(s, "-ERR [AUTH] Malformed PLAIN response");
		pop3_session_error(s);
	} else if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
		pop3_session_reply(s, "-ERR [AUTH] Authorization identity "
		    "not allowed");
		pop3_session_error(s);
	} else
		pop3_login_start(s, "PLAIN", authcid, passwd);
	explicit_bzero(passwd, sizeof(passwd));
}

void
pop3_cmd_auth(struct pop3_session *s, struct pop3_command *cmd)
{
	if (!pop3_plaintext_ok(s)) {
		pop3_session_reply(s, POP3_NO_PLAINTEXT);
		pop3_session_error(s);
	} else if (cmd->arg[0] == '\0') {
		/* The mechanism list some clients ask for (RFC 1734 era). */
		pop3_session_reply(s, "+OK\r\nPLAIN\r\n.");
	} else if (strcmp(cmd->arg, "PLAIN") != 0) {
		pop3_session_reply(s, "-ERR Unsupported authentication "
		    "mechanism");
		pop3_session_error(s);
	} else if (cmd->arg2 == NULL) {
		s->sasl_wait = true;
		pop3_session_reply(s, "+ ");
	} else
		pop3_auth_plain(s, cmd->arg2, strcmp(cmd->arg2, "=") == 0 ?
		    0 : strlen(cmd->arg2));
}

void
pop3_auth_response(struct pop3_session *s, const char *line, size_t len)
{
	s->sasl_wait = false;
	if (len == 1 && line[0] == '*') {
		pop3_session_reply(s, "-ERR [AUTH] Authentication cancelled");
		return;
	}
	pop3_auth_plain(s, line, len);
}
