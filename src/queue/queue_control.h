/* The queue role's control socket, state_dir/queue.ctl (net/control.h):
 * `ferry queue ...` asks the running queue role, which owns the spool, to
 * list, show and change messages (ops/ops_queue.h) instead of editing the
 * spool under it.  Verbs and arguments:
 *   list                       body: envelopes (ops_queue_wire_list)
 *   show id=ID                 body: envelope and headers
 *   delete|hold|release id=ID  body: empty
 *   bounce id=ID               body: count "bounced"
 *   retry id=ID | all=1 | domain=D   body: counts "matched", "messages"
 *   stale name=NAME type=MX|A|AAAA   body: the serve-stale answer the
 *                              relay holds ("age S", then "nodata" or
 *                              "mx PREF HOST" / "addr IP" lines), for
 *                              `ferry check mx`; answered on the loop
 * Errors answer "error" with the line the CLI prints after "ferry: ".
 * The spool work runs on the role's pool; the answer follows it, and the
 * messages it changed are woken on the loop.  Each request is logged. */
#ifndef FERRY_QUEUE_CONTROL_H
#define FERRY_QUEUE_CONTROL_H

#define QUEUE_CONTROL_SOCK "queue.ctl"

struct conf;
struct dns;
struct event_base;
struct queue_history;
struct workpool;
struct queue_control;

/* Called on the loop for each message a change wants looked at now, then
 * once with id NULL: run what is due. */
typedef void queue_control_wake_fn(const char *id, void *ctx);

/* Listens on state_dir/queue.ctl (mode 0600).  0, or -1 with error_r;
 * the role then runs without it (the CLI falls back to the files).
 * spool_dir is copied. */
int queue_control_start(struct queue_control **qcp, struct event_base *base,
    struct workpool *pool, const char *state_dir, const char *spool_dir,
    queue_control_wake_fn *wake, void *ctx, const char **error_r);
/* Operator changes (delete; bounce) go into the delivery history h (one
 * record per recipient they ended, result "deleted" or "bounced", route
 * "operator"), with the configuration *confp (read on the loop when a
 * request comes).  h NULL: not recorded. */
void queue_control_set_history(struct queue_control *qc,
    struct queue_history *h, const struct conf *const *confp);
/* The relay's resolver, whose serve-stale answers the "stale" verb
 * reads (borrowed; NULL: none). */
void queue_control_set_dns(struct queue_control *qc, struct dns *dns);
/* Closes the socket.  Call after the pool has finished its jobs. */
void queue_control_stop(struct queue_control **qcp);

#endif
