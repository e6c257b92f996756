/* The smtpd role's entry point: creates the event loop, the commit pool
 * and its store connections, starts the SMTP server (src/smtp/smtpd.h) on
 * the listeners inherited from the supervisor, and runs the loop.  SIGHUP
 * rereads the configuration and the certificates; SIGTERM/SIGINT stop
 * the server, wait for its sessions (at most SMTPD_STOP_GRACE seconds)
 * and let running commits finish before the process goes. */
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "auth/authcache.h"
#include "ferry.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "net/rolectl.h"
#include "serve/roles.h"
#include "smtp/smtpd.h"
#include "store/store.h"

#define SMTPD_STOP_GRACE 10	/* seconds to finish commits on shutdown */
#define SMTPD_COMMIT_THREADS 16	/* message commits (fsync-bound) */

struct smtpd_role {
	struct ferry_env *env;
	struct smtpd *srv;
	struct event *sig_ev[3];
	struct event *stop_timer;
	struct rolectl_server *ctl;	/* the supervisor's requests */
};

static void
smtpd_role_idle(void *arg)
{
	struct smtpd_role *r = arg;

	event_base_loopexit(r->env->base, NULL);
}

static void
smtpd_role_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_role *r = arg;

	log_warnx("- smtpd stop-timeout sessions=%u", smtpd_sessions(r->srv));
	event_base_loopexit(r->env->base, NULL);
}

static void
smtpd_role_stop(struct smtpd_role *r)
{
	struct timeval grace = { SMTPD_STOP_GRACE, 0 };

	if (r->env->stopping)
		return;
	r->env->stopping = true;
	log_info("- smtpd stopping sessions=%u", smtpd_sessions(r->srv));
	r->stop_timer = evtimer_new(r->env->base, smtpd_role_stop_timer_cb, r);
	evtimer_add(r->stop_timer, &grace);
	smtpd_stop(r->srv);	/* calls smtpd_role_idle when drained */
}

/* Builds the new snapshot, has the server take its certificates and
 * limits, then makes it current: new sessions start with it, running
 * ones keep theirs.  0, or -1 with *error_r (nothing changed). */
static int
smtpd_role_reload(struct smtpd_role *r, const char **error_r)
{
	struct conf *fresh;
	const struct conf *old = r->env->conf, *f;

	/* After logrotate: a new log file by the same name. */
	if (log_reopen() < 0)
		log_warn("- smtpd log-reopen-failed");
	if (conf_snapshot_load(old->path, &fresh, error_r) < 0) {
		log_warnx("- smtpd reload-failed reason=%s", log_q(*error_r));
		return -1;
	}
	if (smtpd_reload(r->srv, fresh, error_r) < 0) {
		f = fresh;
		conf_unref(&f);
		return -1;	/* logged by smtpd_reload() */
	}
	r->env->conf = fresh;
	conf_unref(&old);
	authcache_configure(fresh->auth_cache_ttl);
	log_set_level((enum log_level)fresh->log_level);
	log_info("- smtpd reloaded");
	return 0;
}

static void
smtpd_role_control_cb(struct rolectl_req *req, const char *line, void *arg)
{
	const char *error = NULL;
	int r = -1;

	if (strcmp(line, "reload") == 0)
		r = smtpd_role_reload(arg, &error);
	serve_role_reply(req, line, r, error);
}

static void
smtpd_role_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	const char *error;

	if (sig == SIGHUP)
		(void)smtpd_role_reload(arg, &error);
	else
		smtpd_role_stop(arg);
}

int
smtpd_main(struct ferry_env *env)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct smtpd_role r;
	char db[PATH_MAX];
	const char *error;

	memset(&r, 0, sizeof(r));
	r.env = env;
	signal(SIGPIPE, SIG_IGN);
	authcache_configure(env->conf->auth_cache_ttl);
	conf_store_path(env->conf, db, sizeof(db));
	env->base = event_base_new();
	/* Commits (smtp_tx.c) spend their time in fsync: more of them in
	 * flight lets the disk merge them. */
	env->pool = workpool_create(env->base, SMTPD_COMMIT_THREADS);
	/* The loop reaches the store only through requests on this pool,
	 * each thread with its own connection (store.h). */
	if (store_pool_create(&env->stores, env->pool, db, &error) < 0)
		log_fatalx("- smtpd store path=%s error=%s",
		    store_path_label(db), log_q(error));
	r.srv = smtpd_create(env, smtpd_role_idle, &r);
	for (int i = 0; i < 3; i++) {
		r.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    smtpd_role_signal_cb, &r);
		event_add(r.sig_ev[i], NULL);
	}
	r.ctl = rolectl_adopt(env->base, env->control_fd,
	    smtpd_role_control_cb, &r);
	serve_role_ready();
	log_info("- smtpd ready listeners=%zu", smtpd_nlisteners(r.srv));
	event_base_dispatch(env->base);
	/* Signature checks and then commits still running finish before
	 * the process goes (a check's session may go on to commit). */
	smtpd_finish_checks(r.srv);
	workpool_free(&env->pool);
	rolectl_server_free(&r.ctl);
	smtpd_free(&r.srv);
	for (int i = 0; i < 3; i++)
		event_free(r.sig_ev[i]);
	if (r.stop_timer != NULL)
		event_free(r.stop_timer);
	event_base_free(env->base);
	env->base = NULL;
	store_pool_free(&env->stores);
	log_info("- smtpd stopped");
	return 0;
}
