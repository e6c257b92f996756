/* The smtpd role: accepts connections on every SMTP listener inherited
 * from the supervisor (kinds smtp, submission and submissions), enforces
 * max_connections, max_connections_per_ip and failed-login bans before a
 * session exists, and runs the sessions on one event loop with a worker
 * pool for the blocking commit and password checks.  SIGTERM: listeners
 * close, idle sessions get 421 4.3.2, sessions in the middle of a commit
 * finish it (their 250 is sent) and then get 421.  SIGHUP rereads the
 * config and the TLS certificates. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "auth/authcache.h"
#include "auth/ban.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "net/conncount.h"
#include "net/tls.h"
#include "queue/spool.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

#define SMTPD_STOP_GRACE 10	/* seconds to finish commits on shutdown */
#define SMTPD_COMMIT_THREADS 16	/* message commits (fsync-bound) */
#define SMTPD_AUTH_THREADS 4	/* password checks (CPU, 16 MB each) */

/* Failed-login bans hold for every listener: one refusal line, then
 * close, before any authentication.  On implicit TLS a plaintext line
 * would only be a TLS protocol error, so the connection just closes. */
static bool
smtpd_banned(struct smtpd *srv, int fd, struct sockaddr *sa,
    const char *addr, enum smtpd_kind kind)
{
	char reply[400];

	if (ban_check(srv->env->store, srv->conf, sa, time(NULL), NULL) != 1)
		return false;
	snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many failed logins "
	    "from your address: banned\r\n", srv->conf->hostname);
	conncount_refuse(fd, "smtp", addr, kind == SMTPD_KIND_SUBMISSIONS ?
	    NULL : reply, "banned");
	return true;
}

static void
smtpd_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtpd_listener *sl = arg;
	struct smtpd *srv = sl->srv;
	struct smtp_session *s;
	const char *why;
	char addr[CONNCOUNT_ADDR_LEN], reply[400];

	cidr_addr_str(sa, addr, sizeof(addr));
	if (srv->stopping) {
		close(fd);
		return;
	}
	why = conncount_check(&srv->conns, addr, srv->nsessions,
	    srv->conf->max_connections, srv->conf->max_connections_per_ip);
	if (why != NULL) {
		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many "
		    "connections%s, try again later\r\n", srv->conf->hostname,
		    strcmp(why, "max_connections") == 0 ? "" :
		    " from your address");
		conncount_refuse(fd, "smtp", addr, reply, why);
		return;
	}
	if (smtpd_banned(srv, fd, sa, addr, sl->kind))
		return;
	/* Replies are already coalesced per pipelined batch; Nagle would
	 * only hold back the TLS handshake flights and the next reply. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int)) < 0)
		log_debug("- smtp nodelay-failed address=%s", addr);
	s = smtp_session_new(srv, fd, sa, (socklen_t)salen, sl->kind);
	if (s == NULL)
		return;
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	conncount_add(&srv->conns, s->addr);
}

static void
smtpd_accept_error_cb(struct evconnlistener *l, void *arg)
{
	/* EMFILE and friends: back off briefly instead of spinning. */
	log_warn("- smtp accept-failed");
	evconnlistener_disable(l);
	usleep(10000);
	evconnlistener_enable(l);
}

static void
smtpd_maybe_exit(struct smtpd *srv)
{
	if (srv->stopping && srv->nsessions == 0)
		event_base_loopexit(srv->env->base, NULL);
}

void
smtpd_session_gone(struct smtpd *srv, struct smtp_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	conncount_del(&srv->conns, s->addr);
	smtpd_maybe_exit(srv);
}

static void
smtpd_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd *srv = arg;

	log_warnx("- smtpd stop-timeout sessions=%u", srv->nsessions);
	event_base_loopexit(srv->env->base, NULL);
}

static void
smtpd_stop(struct smtpd *srv)
{
	struct smtp_session *s, *next;
	struct timeval grace = { SMTPD_STOP_GRACE, 0 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("- smtpd stopping sessions=%u", srv->nsessions);
	for (size_t i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i].l);
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		smtp_session_shutdown(s, "421 4.3.2 Service shutting down");
	}
	srv->stop_timer = evtimer_new(srv->env->base, smtpd_stop_timer_cb, srv);
	evtimer_add(srv->stop_timer, &grace);
	smtpd_maybe_exit(srv);
}

/* New connections get the reread certificates; established sessions keep
 * theirs.  A failed reload keeps the old ones (and says so). */
static void
smtpd_tls_reload(struct smtpd *srv)
{
	const char *error;

	if (srv->tls == NULL) {
		if (tls_server_create(&srv->tls, srv->conf, &error) < 0)
			log_warnx("- smtpd tls-reload-failed error=%s",
			    log_q(error));
		return;
	}
	if (srv->conf->tls_cert[0] == '\0')
		log_warnx("- smtpd tls-reload note=\"tls_cert removed: "
		    "restart to stop offering TLS\"");
	else if (tls_server_reload(srv->tls, srv->conf, &error) < 0)
		log_warnx("- smtpd tls-reload-failed error=%s", log_q(error));
	else
		log_info("- smtpd tls-reloaded cert=%s sni=%zu",
		    log_q(srv->conf->tls_cert), srv->conf->ntls_sni);
}

static void
smtpd_reload(struct smtpd *srv)
{
	struct conf fresh;
	const char *error;

	conf_defaults(&fresh);
	if (conf_load(&fresh, srv->conf->path, &error) < 0) {
		log_warnx("- smtpd reload-failed reason=%s", log_q(error));
		conf_free(&fresh);
		return;
	}
	/* Sessions read limits through srv->conf each time and keep no
	 * pointers into it, so the contents can be swapped in place. */
	conf_free(srv->conf);
	*srv->conf = fresh;
	authcache_configure(srv->conf->auth_cache_ttl);
	log_set_level((enum log_level)srv->conf->log_level);
	smtpd_tls_reload(srv);
	log_info("- smtpd reloaded");
}

static void
smtpd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		smtpd_reload(arg);
	else
		smtpd_stop(arg);
}

/* The listener kind for a supervisor kind name; -1 for other roles'. */
static int
smtpd_kind(const char *name)
{
	if (strcmp(name, "smtp") == 0)
		return SMTPD_KIND_SMTP;
	if (strcmp(name, "submission") == 0)
		return SMTPD_KIND_SUBMISSION;
	if (strcmp(name, "submissions") == 0)
		return SMTPD_KIND_SUBMISSIONS;
	return -1;
}

static void
smtpd_listen(struct smtpd *srv)
{
	struct ferry_env *env = srv->env;

	srv->listeners = xcalloc(env->nlisteners, sizeof(*srv->listeners));
	for (size_t i = 0; i < env->nlisteners; i++) {
		struct smtpd_listener *sl = &srv->listeners[srv->nlisteners];
		int kind = smtpd_kind(env->listeners[i].kind);

		if (kind < 0)
			continue;	/* other roles' listeners */
		if (kind == SMTPD_KIND_SUBMISSIONS && srv->tls == NULL) {
			log_warnx("- smtpd no-tls listener=%s note=\"%s needs "
			    "tls_cert: not served\"", env->listeners[i].addr,
			    "submissions_listen");
			continue;
		}
		sl->srv = srv;
		sl->kind = (enum smtpd_kind)kind;
		sl->l = evconnlistener_new(env->base, smtpd_accept_cb, sl,
		    LEV_OPT_CLOSE_ON_EXEC, -1, env->listeners[i].fd);
		if (sl->l == NULL)
			log_fatalx("- smtpd cannot listen on %s",
			    env->listeners[i].addr);
		evconnlistener_set_error_cb(sl->l, smtpd_accept_error_cb);
		srv->nlisteners++;
	}
}

int
smtpd_main(struct ferry_env *env)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct smtpd srv;
	char db[PATH_MAX];
	const char *error;

	memset(&srv, 0, sizeof(srv));
	srv.env = env;
	srv.conf = env->conf;
	signal(SIGPIPE, SIG_IGN);
	conf_state_path(env->conf, srv.spool_dir, sizeof(srv.spool_dir),
	    FERRY_SPOOL_DIR);
	spool_recycle_clean(srv.spool_dir);
	authcache_configure(env->conf->auth_cache_ttl);
	conf_state_path(env->conf, srv.mail_dir, sizeof(srv.mail_dir),
	    FERRY_MAIL_DIR);
	conf_state_path(env->conf, db, sizeof(db), FERRY_DB_FILE);
	if (store_open(&env->store, db, &error) < 0)
		log_fatalx("- smtpd store path=%s error=%s", db, log_q(error));
	if (tls_server_create(&srv.tls, env->conf, &error) < 0)
		log_fatalx("- smtpd tls error=%s", log_q(error));
	env->base = event_base_new();
	/* Commits (smtp_tx.c) spend their time in fsync: more of them in
	 * flight lets the disk merge them.  Password checks burn CPU. */
	env->pool = workpool_create(env->base, SMTPD_COMMIT_THREADS);
	srv.auth_pool = workpool_create(env->base, SMTPD_AUTH_THREADS);
	if (smtp_policy_create(&srv.policy, &srv, &error) < 0)
		log_fatalx("- smtpd dns error=%s", log_q(error));
	for (int i = 0; i < 3; i++) {
		srv.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    smtpd_signal_cb, &srv);
		event_add(srv.sig_ev[i], NULL);
	}
	smtpd_listen(&srv);
	log_info("- smtpd ready listeners=%zu", srv.nlisteners);
	event_base_dispatch(env->base);
	/* Commits still running finish before the process goes. */
	workpool_free(&srv.auth_pool);
	workpool_free(&env->pool);
	while (srv.sessions != NULL) {
		struct smtp_session *s = srv.sessions;

		smtpd_session_gone(&srv, s);
		smtp_session_free(&s);
	}
	spool_recycle_drop();
	smtp_policy_free(&srv.policy);
	store_close(&env->store);
	tls_server_free(&srv.tls);
	log_info("- smtpd stopped");
	return 0;
}
