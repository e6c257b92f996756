/* The operations layer: what an operator (or later a postmaster or a
 * user through the web pages) can do to domains, users, aliases, rules,
 * bans and the queue, as functions that return data and a status and
 * never print.  The edges format: src/cmd/ prints text or --json, the
 * queue role answers on its control socket, the web UI will render.
 *
 * Every call names its actor.  An admin may do everything; a postmaster
 * only what concerns the domains listed in the actor; a user only their
 * own account.  A refused call fails with OPS_EPERM and says which
 * domain it was refused for.
 *
 * Errors: -1 with st filled: a code for the edge to map (exit status,
 * HTTP status) and one line of text for people, which names the object
 * ("example.org: no such domain").  The CLI prints "ferry: " + text. */
#ifndef FERRY_OPS_H
#define FERRY_OPS_H
#include <stdbool.h>
#include <stddef.h>

enum ops_role { OPS_ADMIN, OPS_POSTMASTER, OPS_USER };

struct ops_actor {
	enum ops_role role;
	const char *name;		/* for logs: "cli", a login address */
	const char *const *domains;	/* OPS_POSTMASTER: its domains */
	size_t ndomains;
};

enum ops_code {
	OPS_OK = 0,
	OPS_EINVAL,	/* the input is malformed */
	OPS_ENOENT,	/* no such object */
	OPS_EEXIST,	/* exists already */
	OPS_EPERM,	/* not allowed for this actor */
	OPS_EFAIL,	/* the store or the disk failed; may work later */
	OPS_EREFUSED,	/* valid but refused in this state (nothing to do) */
	OPS_EUSAGE	/* the request lacks a part (the CLI prints usage) */
};

struct ops_status {
	enum ops_code code;
	char text[512];
};

/* Sets st and returns -1. */
int ops_fail(struct ops_status *st, enum ops_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears st to OPS_OK and returns 0. */
int ops_ok(struct ops_status *st);
/* The actor the command line acts as: an admin named "cli". */
void ops_actor_cli(struct ops_actor *a);
/* 0 when actor may manage domain (normalised, lower case), else -1 with
 * OPS_EPERM in st. */
int ops_check_domain(const struct ops_actor *actor, const char *domain,
    struct ops_status *st);
/* 0 when actor may manage the mailbox addr (normalised): an admin, a
 * postmaster of its domain, or the user whose address it is (the
 * actor's name: the canonical address, store_user.address); else -1
 * with OPS_EPERM. */
int ops_check_mailbox(const struct ops_actor *actor, const char *addr,
    struct ops_status *st);
/* 0 when actor is an admin, else -1 with OPS_EPERM ("what" names the
 * operation for the message). */
int ops_check_admin(const struct ops_actor *actor, const char *what,
    struct ops_status *st);
/* Text for a terminal: control bytes of s become '?' in place. */
void ops_clean(char *s);

#endif
