/* The mailbox role's entry point: serves the maildrops over POP3
 * (src/pop3/) and IMAP (src/imap/) on one event loop with a small worker
 * pool for the blocking work (password checks, Maildir scans and
 * changes, the mailbox index).  SIGTERM/SIGINT: the listeners close,
 * idle sessions are told and closed, sessions with work in progress
 * finish it; SIGHUP rereads the configuration and the certificates. */
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "auth/authcache.h"
#include "ferry.h"
#include "imap/imapd.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "pop3/pop3d.h"
#include "serve/roles.h"
#include "store/store.h"

#define MAILBOX_STOP_GRACE 10	/* seconds for sessions to finish */
#define MAILBOX_WORKERS 4

struct mailbox_role {
	struct ferry_env *env;
	struct pop3d *pop3;
	struct imapd *imap;
	unsigned draining;		/* servers still closing sessions */
	struct event *sig_ev[3];
	struct event *stop_timer;
};

static void
mailbox_idle(void *arg)
{
	struct mailbox_role *m = arg;

	/* each server reports once, when its last session is gone */
	if (m->draining > 0 && --m->draining > 0)
		return;
	event_base_loopexit(m->env->base, NULL);
}

static void
mailbox_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox_role *m = arg;

	log_warnx("- mailbox stop-timeout sessions=%u",
	    (m->pop3 != NULL ? pop3d_sessions(m->pop3) : 0) +
	    (m->imap != NULL ? imapd_sessions(m->imap) : 0));
	event_base_loopexit(m->env->base, NULL);
}

static void
mailbox_stop(struct mailbox_role *m)
{
	struct timeval grace = { MAILBOX_STOP_GRACE, 0 };

	if (m->env->stopping)
		return;
	m->env->stopping = true;
	log_info("- mailbox stopping");
	m->stop_timer = evtimer_new(m->env->base, mailbox_stop_timer_cb, m);
	evtimer_add(m->stop_timer, &grace);
	m->draining = (m->pop3 != NULL) + (m->imap != NULL);
	if (m->draining == 0) {
		event_base_loopexit(m->env->base, NULL);
		return;
	}
	/* each calls mailbox_idle when its sessions are gone */
	if (m->pop3 != NULL)
		pop3d_stop(m->pop3);
	if (m->imap != NULL)
		imapd_stop(m->imap);
}

static void
mailbox_reload(struct mailbox_role *m)
{
	struct conf fresh;
	const char *error;

	conf_defaults(&fresh);
	if (conf_load(&fresh, m->env->conf->path, &error) < 0) {
		log_warnx("- mailbox reload-failed reason=%s", log_q(error));
		conf_free(&fresh);
		return;
	}
	/* Sessions read the configuration through env->conf each time and
	 * keep no pointers into it, so the contents can be swapped. */
	conf_free(m->env->conf);
	*m->env->conf = fresh;
	authcache_configure(m->env->conf->auth_cache_ttl);
	log_set_level((enum log_level)m->env->conf->log_level);
	if (m->pop3 != NULL)
		pop3d_reload(m->pop3);
	if (m->imap != NULL)
		imapd_reload(m->imap);
	log_info("- mailbox reloaded");
}

static void
mailbox_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		mailbox_reload(arg);
	else
		mailbox_stop(arg);
}

int
mailbox_main(struct ferry_env *env)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct mailbox_role m;
	char db[PATH_MAX];
	const char *error;

	memset(&m, 0, sizeof(m));
	m.env = env;
	signal(SIGPIPE, SIG_IGN);
	authcache_configure(env->conf->auth_cache_ttl);
	conf_state_path(env->conf, db, sizeof(db), FERRY_DB_FILE);
	env->base = event_base_new();
	env->pool = workpool_create(env->base, MAILBOX_WORKERS);
	/* The loop reaches the store through requests on the pool only,
	 * each worker with its own connection (store.h). */
	if (store_pool_create(&env->stores, env->pool, db, &error) < 0)
		log_fatalx("- mailbox store path=%s error=%s", db, log_q(error));
	for (int i = 0; i < 3; i++) {
		m.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    mailbox_signal_cb, &m);
		event_add(m.sig_ev[i], NULL);
	}
	serve_role_ready();
	m.pop3 = pop3d_create(env, mailbox_idle, &m);
	m.imap = imapd_create(env, mailbox_idle, &m);
	log_info("- mailbox ready");
	event_base_dispatch(env->base);
	/* Commits still running finish (their sessions are freed) first. */
	workpool_free(&env->pool);
	pop3d_free(&m.pop3);
	imapd_free(&m.imap);
	for (int i = 0; i < 3; i++)
		event_free(m.sig_ev[i]);
	if (m.stop_timer != NULL)
		event_free(m.stop_timer);
	event_base_free(env->base);
	env->base = NULL;
	store_pool_free(&env->stores);
	log_info("- mailbox stopped");
	return 0;
}
