/* The queue role's entry point: creates the event loop, the scheduler
 * (src/queue/queue_role.h) with its workers and relay, and runs the loop.
 * SIGHUP rereads the configuration; SIGTERM/SIGINT leave the loop, and
 * the jobs in flight finish before the process goes (the spool is the
 * truth: relay attempts cut short are retried at the next start). */
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "ferry.h"
#include "lib/log.h"
#include "net/rolectl.h"
#include "queue/queue_role.h"
#include "serve/roles.h"

struct queue_main {
	struct ferry_env *env;
	struct queue_role *q;
	struct event *sig_ev[3];
	struct rolectl_server *ctl;	/* the supervisor's requests */
};

/* Builds the new snapshot and makes it current: jobs started from now on
 * read it, running ones keep theirs.  0, or -1 with *error_r. */
static int
queue_main_reload(struct queue_main *m, const char **error_r)
{
	struct conf *fresh;
	const struct conf *old = m->env->conf;

	/* After logrotate: a new log file by the same name. */
	if (log_reopen() < 0)
		log_warn("- queue log-reopen-failed");
	if (conf_snapshot_load(old->path, &fresh, error_r) < 0) {
		log_warnx("- queue reload-failed reason=%s", log_q(*error_r));
		return -1;
	}
	m->env->conf = fresh;
	conf_unref(&old);
	log_set_level((enum log_level)fresh->log_level);
	queue_role_reload(m->q);
	log_info("- queue reloaded");
	return 0;
}

static void
queue_main_control_cb(struct rolectl_req *req, const char *line, void *arg)
{
	const char *error = NULL;
	int r = -1;

	if (strcmp(line, "reload") == 0)
		r = queue_main_reload(arg, &error);
	serve_role_reply(req, line, r, error);
}

static void
queue_main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct queue_main *m = arg;
	const char *error;

	if (sig == SIGHUP) {
		(void)queue_main_reload(m, &error);
		return;
	}
	m->env->stopping = true;
	queue_role_stop(m->q);
}

int
queue_main(struct ferry_env *env)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct queue_main m = { .env = env };

	if ((env->base = event_base_new()) == NULL)
		log_fatalx("queue: cannot create event base");
	m.q = queue_role_create(env);
	for (int i = 0; i < 3; i++) {
		m.sig_ev[i] = evsignal_new(env->base, sigs[i],
		    queue_main_signal_cb, &m);
		event_add(m.sig_ev[i], NULL);
	}
	m.ctl = rolectl_adopt(env->base, env->control_fd,
	    queue_main_control_cb, &m);
	serve_role_ready();
	queue_role_start(m.q);
	log_info("- queue started workers=%u", queue_role_workers(m.q));
	event_base_dispatch(env->base);
	rolectl_server_free(&m.ctl);
	queue_role_free(&m.q);
	for (int i = 0; i < 3; i++)
		event_free(m.sig_ev[i]);
	event_base_free(env->base);
	env->base = NULL;
	log_info("- queue stopped");
	return 0;
}
