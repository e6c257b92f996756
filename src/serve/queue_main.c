/* The queue role's entry point: creates the event loop, the scheduler
 * (src/queue/queue_role.h) with its workers and relay, and runs the loop.
 * SIGHUP rereads the configuration; SIGTERM/SIGINT leave the loop, and
 * the jobs in flight finish before the process goes (the spool is the
 * truth: relay attempts cut short are retried at the next start). */
#include <signal.h>

#include <event2/event.h>

#include "ferry.h"
#include "lib/log.h"
#include "queue/queue_role.h"
#include "serve/roles.h"

struct queue_main {
	struct ferry_env *env;
	struct queue_role *q;
	struct event *sig_ev[3];
};

static void
queue_main_reload(struct queue_main *m)
{
	struct conf fresh, *c = m->env->conf;
	const char *error;

	conf_defaults(&fresh);
	if (conf_load(&fresh, c->path, &error) < 0) {
		log_warnx("- queue reload-failed reason=%s", log_q(error));
		conf_free(&fresh);
		return;
	}
	conf_free(c);
	*c = fresh;
	log_set_level((enum log_level)c->log_level);
	queue_role_reload(m->q);
	log_info("- queue reloaded");
}

static void
queue_main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct queue_main *m = arg;

	if (sig == SIGHUP) {
		queue_main_reload(m);
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
	serve_role_ready();
	queue_role_start(m.q);
	log_info("- queue started workers=%u", queue_role_workers(m.q));
	event_base_dispatch(env->base);
	queue_role_free(&m.q);
	for (int i = 0; i < 3; i++)
		event_free(m.sig_ev[i]);
	event_base_free(env->base);
	env->base = NULL;
	log_info("- queue stopped");
	return 0;
}
