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
#include "net/rolectl.h"
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
	struct rolectl_server *ctl;	/* the supervisor's requests */
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

/* Builds the new snapshot, has the servers take its certificates and
 * limits, then makes it current: new sessions start with it, running
 * ones keep theirs.  0, or -1 with *error_r (nothing changed). */
static int
mailbox_reload(struct mailbox_role *m, const char **error_r)
{
	struct conf *fresh;
	const struct conf *old = m->env->conf, *f;

	/* After logrotate: a new log file by the same name. */
	if (log_reopen() < 0)
		log_warn("- mailbox log-reopen-failed");
	if (conf_snapshot_load(old->path, &fresh, error_r) < 0) {
		log_warnx("- mailbox reload-failed reason=%s", log_q(*error_r));
		return -1;
	}
	if (m->pop3 != NULL && pop3d_reload(m->pop3, fresh, error_r) < 0) {
		f = fresh;
		conf_unref(&f);
		return -1;	/* logged by pop3d_reload() */
	}
	if (m->imap != NULL && imapd_reload(m->imap, fresh, error_r) < 0) {
		/* POP3 took the new certificates already: it keeps them,
		 * everything else stays as it was. */
		f = fresh;
		conf_unref(&f);
		return -1;	/* logged by imapd_reload() */
	}
	m->env->conf = fresh;
	conf_unref(&old);
	authcache_configure(fresh->auth_cache_ttl);
	log_set_level((enum log_level)fresh->log_level);
	log_info("- mailbox reloaded");
	return 0;
}

static void
mailbox_control_cb(struct rolectl_req *req, const char *line, void *arg)
{
	const char *error = NULL;
	int r = -1;

	if (strcmp(line, "reload") == 0)
		r = mailbox_reload(arg, &error);
	serve_role_reply(req, line, r, error);
}

static void
mailbox_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	const char *error;

	if (sig == SIGHUP)
		(void)mailbox_reload(arg, &error);
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
	conf_store_path(env->conf, db, sizeof(db));
	env->base = event_base_new();
	env->pool = workpool_create(env->base, MAILBOX_WORKERS);
	/* The loop reaches the store through requests on the pool only,
	 * each worker with its own connection (store.h). */
	if (store_pool_create(&env->stores, env->pool, db, &error) < 0)
		log_fatalx("- mailbox store path=%s error=%s",
		    store_path_label(db), log_q(error));
	for (int i = 0; i < 3; i++) {
		m.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    mailbox_signal_cb, &m);
		event_add(m.sig_ev[i], NULL);
	}
	m.ctl = rolectl_adopt(env->base, env->control_fd,
	    mailbox_control_cb, &m);
	serve_role_ready();
	m.pop3 = pop3d_create(env, mailbox_idle, &m);
	m.imap = imapd_create(env, mailbox_idle, &m);
	log_info("- mailbox ready");
	event_base_dispatch(env->base);
	/* Commits still running finish (their sessions are freed) first. */
	workpool_free(&env->pool);
	rolectl_server_free(&m.ctl);
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
