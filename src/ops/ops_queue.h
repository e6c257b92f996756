/* Queue operations (ops.h): list, show, delete, hold, release, bounce and
 * retry on the spool under spool_dir.  They block on the disk: the queue
 * role runs them on its pool when it answers its control socket
 * (queue_control.h), and the command line runs them itself when the
 * server is stopped.  Changes say which messages the queue should look
 * at now (`wake`); the caller wakes it.
 *
 * Scope.  An admin sees and changes everything.  A postmaster sees a
 * message when its sender or one of its recipients (as given at RCPT
 * or as resolved) is in one of its domains.  When the sender is theirs
 * the whole message is theirs (their user's mail, to whomever it goes);
 * otherwise they see only their own recipients, and not the sender's
 * login (another domain's user).  retry and bounce act on the recipients
 * they see; delete, hold and release change the whole message and need
 * all of it in scope (OPS_EPERM otherwise).  A message with nothing in
 * scope is answered as an unknown id (OPS_ENOENT), so its existence does
 * not leak.  Send-holds (hold_user) are for admins.
 *
 * ops_queue_wire_* carry the results over the control socket as chunks
 * "TAG SP LENGTH LF BYTES", envelopes in the spool's own record format,
 * so that both paths hand the CLI the same structures. */
#ifndef FERRY_OPS_QUEUE_H
#define FERRY_OPS_QUEUE_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/fbuf.h"
#include "lib/ids.h"
#include "ops/ops.h"
#include "queue/spool.h"

#define OPS_QUEUE_HEADER_MAX 65536
#define OPS_QUEUE_BOUNCED "5.0.0 bounced by the operator"

struct ops_queue_ids {
	char (*v)[IDS_LEN + 1];
	size_t n, cap;
};

struct ops_queue_list {
	struct spool_env *envs;		/* oldest first */
	size_t n, cap;
	struct fbuf warnings;		/* "ID: unreadable envelope: ..." lines */
};

struct ops_queue_msg {
	struct spool_env env;
	struct fbuf headers;		/* the raw header section (<= 64 KB) */
	char *headers_error;		/* NULL, or why it is unreadable */
};

struct ops_queue_retry {
	const char *id;			/* in: one message, or NULL */
	const char *domain;		/* in: with id NULL, NULL means all */
	size_t matched;			/* out: pending recipients made due */
	size_t messages;		/* out: messages with such recipients */
	size_t held;			/* out: of those, held ones (made due
					 * but not tried until released) */
};

enum ops_queue_scope { OPS_QUEUE_NONE, OPS_QUEUE_PART, OPS_QUEUE_ALL };

/* How much of env the actor may see (the rule above). */
enum ops_queue_scope ops_queue_scope(const struct ops_actor *a,
    const struct spool_env *env);
/* Whether recipient r of env is in the actor's view. */
bool ops_queue_rcpt_visible(const struct ops_actor *a,
    const struct spool_env *env, const struct spool_rcpt *r);

/* The actor over the queue role's control socket: "as" (its name, for
 * the log) and, for a postmaster, "scope" (its domains, comma-separated).
 * Formats into storage, which must outlive args: the number of args
 * set (1 or 2). */
struct control_arg;
size_t ops_queue_actor_args(const struct ops_actor *a, struct fbuf *storage,
    struct control_arg *args);
/* Parses them back into a (its strings point into buf, which is
 * modified; domains into doms, at most ndoms).  No "as": the CLI's admin.
 * 0, or -1 when malformed. */
int ops_queue_actor_parse(const char *as, char *scope_buf,
    const char **doms, size_t ndoms, struct ops_actor *a);

void ops_queue_ids_add(struct ops_queue_ids *l, const char *id);
void ops_queue_ids_free(struct ops_queue_ids *l);

/* 0 with out filled (init not needed), or -1 when the spool cannot be
 * listed.  Envelopes that vanish meanwhile are skipped silently. */
int ops_queue_list(const struct ops_actor *a, const char *spool_dir,
    struct ops_queue_list *out, struct ops_status *st);
void ops_queue_list_free(struct ops_queue_list *l);
/* id's envelope and header section.  -1 with OPS_ENOENT for an unknown
 * or malformed id. */
int ops_queue_show(const struct ops_actor *a, const char *spool_dir,
    const char *id, struct ops_queue_msg *out, struct ops_status *st);
void ops_queue_msg_free(struct ops_queue_msg *m);
/* Removes the message, envelope first (a delivery in progress then
 * cannot write it back). */
int ops_queue_delete(const struct ops_actor *a, const char *spool_dir,
    const char *id, struct ops_status *st);
/* Sets or clears the held flag; releasing wakes the message. */
int ops_queue_hold(const struct ops_actor *a, const char *spool_dir,
    const char *id, bool hold, struct ops_queue_ids *wake,
    struct ops_status *st);
/* Send-holds: every message of authenticated sender user with a
 * recipient still pending is held with reason (which must start with
 * OPS_QUEUE_SEND_HOLD); with hold false, the messages a send-hold held
 * are released (others stay held).  *n_r: how many changed. */
#define OPS_QUEUE_SEND_HOLD "send-hold"
int ops_queue_hold_user(const struct ops_actor *a, const char *spool_dir,
    const char *user, bool hold, const char *reason, size_t *n_r,
    struct ops_queue_ids *wake, struct ops_status *st);
/* Pending recipients become failed ("5.0.0 bounced by the operator",
 * with the last error); the queue then sends the DSN.  *n_r: how many.
 * OPS_EREFUSED when none was pending. */
int ops_queue_bounce(const struct ops_actor *a, const char *spool_dir,
    const char *id, size_t *n_r, struct ops_queue_ids *wake,
    struct ops_status *st);
/* Makes pending recipients due now: of rt->id, or of every message (in
 * rt->domain when set). */
int ops_queue_retry(const struct ops_actor *a, const char *spool_dir,
    struct ops_queue_retry *rt, struct ops_queue_ids *wake,
    struct ops_status *st);

/* Appends one chunk to out. */
void ops_queue_wire_add(struct fbuf *out, const char *tag, const void *p,
    size_t len);
/* The next chunk at *p (before end): 1 with tag (NUL-terminated, at most
 * 15 bytes), data and len, *p advanced; 0 at the end; -1 malformed. */
int ops_queue_wire_next(const char **p, const char *end, char tag[16],
    const char **data_r, size_t *len_r);
/* Encode and decode whole results.  Decoders: 0, or -1 when the body is
 * malformed (the partial result is freed). */
void ops_queue_wire_list(const struct ops_queue_list *l, struct fbuf *out);
int ops_queue_unwire_list(const char *p, size_t len,
    struct ops_queue_list *out);
void ops_queue_wire_msg(const struct ops_queue_msg *m, struct fbuf *out);
int ops_queue_unwire_msg(const char *p, size_t len, struct ops_queue_msg *out);
/* A count chunk (bounce, retry): "name" with a decimal. */
void ops_queue_wire_count(struct fbuf *out, const char *name, size_t n);
/* The count named name in the body, or -1 when absent or malformed. */
long long ops_queue_unwire_count(const char *p, size_t len,
    const char *name);

#endif
