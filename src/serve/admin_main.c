/* The admin role's entry point: the web pages, autoconfiguration and
 * metrics over HTTP(S) (src/admin/), on one event loop with a small
 * worker pool for the blocking work (password checks, the store, the
 * operations layer).  SIGTERM/SIGINT: the loop ends once requests in
 * progress are answered (or after a grace period); SIGHUP rereads the
 * configuration and the certificates. */
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "admin/http.h"
#include "admin/metrics_http.h"
#include "admin/pages.h"
#include "auth/authcache.h"
#include "conf/conf.h"
#include "ferry.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "net/rolectl.h"
#include "serve/roles.h"
#include "store/store.h"

#define ADMIN_STOP_GRACE 10	/* seconds for requests to finish */
#define ADMIN_WORKERS 2

struct admin_role {
	struct ferry_env *env;
	struct admin_http *http;
	struct metrics_http *metrics;	/* metrics_listen, or NULL */
	struct event *sig_ev[3];
	struct event *stop_timer;
	time_t stop_started;
	struct rolectl_server *ctl;
};

static void
admin_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_role *a = arg;
	struct timeval tick = { 0, 100000 };

	if (admin_http_pending(a->http) == 0 ||
	    time(NULL) - a->stop_started >= ADMIN_STOP_GRACE) {
		if (admin_http_pending(a->http) > 0)
			log_warnx("- admin stop-timeout requests=%u",
			    admin_http_pending(a->http));
		event_base_loopexit(a->env->base, NULL);
		return;
	}
	evtimer_add(a->stop_timer, &tick);
}

static void
admin_stop(struct admin_role *a)
{
	if (a->env->stopping)
		return;
	a->env->stopping = true;
	log_info("- admin stopping");
	a->stop_started = time(NULL);
	a->stop_timer = evtimer_new(a->env->base, admin_stop_timer_cb, a);
	admin_stop_timer_cb(-1, 0, a);
}

static int
admin_reload(struct admin_role *a, const char **error_r)
{
	struct conf *fresh;
	const struct conf *old = a->env->conf, *f;

	if (log_reopen() < 0)
		log_warn("- admin log-reopen-failed");
	if (conf_snapshot_load(old->path, &fresh, error_r) < 0) {
		log_warnx("- admin reload-failed reason=%s", log_q(*error_r));
		return -1;
	}
	if (admin_http_reload(a->http, fresh, error_r) < 0) {
		log_warnx("- admin reload-failed reason=%s", log_q(*error_r));
		f = fresh;
		conf_unref(&f);
		return -1;
	}
	a->env->conf = fresh;
	conf_unref(&old);
	authcache_configure(fresh->auth_cache_ttl);
	log_set_level((enum log_level)fresh->log_level);
	log_info("- admin reloaded");
	return 0;
}

static void
admin_control_cb(struct rolectl_req *req, const char *line, void *arg)
{
	const char *error = NULL;
	int r = -1;

	if (strcmp(line, "reload") == 0)
		r = admin_reload(arg, &error);
	serve_role_reply(req, line, r, error);
}

static void
admin_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	const char *error;

	if (sig == SIGHUP)
		(void)admin_reload(arg, &error);
	else
		admin_stop(arg);
}

int
admin_main(struct ferry_env *env)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct admin_role a;
	char db[PATH_MAX];
	const char *error;

	memset(&a, 0, sizeof(a));
	a.env = env;
	signal(SIGPIPE, SIG_IGN);
	authcache_configure(env->conf->auth_cache_ttl);
	conf_store_path(env->conf, db, sizeof(db));
	env->base = event_base_new();
	env->pool = workpool_create(env->base, ADMIN_WORKERS);
	if (store_pool_create(&env->stores, env->pool, db, &error) < 0)
		log_fatalx("- admin store path=%s error=%s",
		    store_path_label(db), log_q(error));
	for (int i = 0; i < 3; i++) {
		a.sig_ev[i] = evsignal_new(env->base, sigs[i], admin_signal_cb,
		    &a);
		event_add(a.sig_ev[i], NULL);
	}
	a.ctl = rolectl_adopt(env->base, env->control_fd, admin_control_cb,
	    &a);
	serve_role_ready();
	if (admin_http_create(&a.http, env, &error) < 0)
		log_fatalx("- admin http error=%s", log_q(error));
	admin_pages_register(a.http);
	metrics_http_register(a.http);
	(void)metrics_http_start(&a.metrics, env);
	log_info("- admin ready");
	event_base_dispatch(env->base);
	workpool_free(&env->pool);
	rolectl_server_free(&a.ctl);
	admin_http_free(&a.http);
	metrics_http_free(&a.metrics);
	for (int i = 0; i < 3; i++)
		event_free(a.sig_ev[i]);
	if (a.stop_timer != NULL)
		event_free(a.stop_timer);
	event_base_free(env->base);
	env->base = NULL;
	store_pool_free(&env->stores);
	log_info("- admin stopped");
	return 0;
}
