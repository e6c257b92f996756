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

static void
smtpd_role_reload(struct smtpd_role *r)
{
	struct conf fresh;
	const char *error;

	conf_defaults(&fresh);
	if (conf_load(&fresh, r->env->conf->path, &error) < 0) {
		log_warnx("- smtpd reload-failed reason=%s", log_q(error));
		conf_free(&fresh);
		return;
	}
	/* Sessions read limits through srv->conf each time and keep no
	 * pointers into it, so the contents can be swapped in place. */
	conf_free(r->env->conf);
	*r->env->conf = fresh;
	authcache_configure(r->env->conf->auth_cache_ttl);
	log_set_level((enum log_level)r->env->conf->log_level);
	smtpd_reload(r->srv);
	log_info("- smtpd reloaded");
}

static void
smtpd_role_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		smtpd_role_reload(arg);
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
	conf_state_path(env->conf, db, sizeof(db), FERRY_DB_FILE);
	env->base = event_base_new();
	/* Commits (smtp_tx.c) spend their time in fsync: more of them in
	 * flight lets the disk merge them. */
	env->pool = workpool_create(env->base, SMTPD_COMMIT_THREADS);
	/* The loop reaches the store only through requests on this pool,
	 * each thread with its own connection (store.h). */
	if (store_pool_create(&env->stores, env->pool, db, &error) < 0)
		log_fatalx("- smtpd store path=%s error=%s", db, log_q(error));
	r.srv = smtpd_create(env, smtpd_role_idle, &r);
	for (int i = 0; i < 3; i++) {
		r.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    smtpd_role_signal_cb, &r);
		event_add(r.sig_ev[i], NULL);
	}
	serve_role_ready();
	log_info("- smtpd ready listeners=%zu", smtpd_nlisteners(r.srv));
	event_base_dispatch(env->base);
	/* Commits still running finish before the process goes. */
	workpool_free(&env->pool);
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
