/* The queue's scheduler and delivery engine (queue_role.c): every message
 * in the spool, local delivery on the worker pool, remote delivery through
 * the relay.  The role's entry point (src/serve/queue_main.c) owns the
 * event loop and the signals and drives it through this interface. */
#ifndef FERRY_QUEUE_ROLE_H
#define FERRY_QUEUE_ROLE_H

struct ferry_env;
struct queue_role;

/* Prepares the spool, the store, the worker pool (env->pool) and the
 * relay on env->base; failures are fatal (the role is restarted). */
struct queue_role *queue_role_create(struct ferry_env *env);
/* Binds the wake-up socket, starts the timers, scans the spool and runs
 * what is due. */
void queue_role_start(struct queue_role *q);
unsigned queue_role_workers(const struct queue_role *q);
/* After env->conf was replaced by a new snapshot: the scheduler, the
 * worker count and the relay take its settings (queue_role.c). */
void queue_role_reload(struct queue_role *q);
/* Leaves the loop; jobs in flight are finished by queue_role_free(). */
void queue_role_stop(struct queue_role *q);
/* Waits for the workers, drops relay state (retried at the next start)
 * and frees everything but env->base. */
void queue_role_free(struct queue_role **qp);

#endif
