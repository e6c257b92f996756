/* Forwarding of a user's mail (ops.h), as the user, a postmaster of the
 * domain or the admin may set it.  Forwarding is no second mechanism: it
 * is the alias whose address is the user's own, so resolution at RCPT
 * (store/resolve.h: an exact alias comes before the user) sends the mail
 * to the targets, and "keep a copy" is the user's own address among
 * them (an alias naming itself delivers to the mailbox).  Forwarded
 * remote copies are SRS-rewritten by the queue like any alias's
 * (docs/srs.md).  The loop check is the alias one.  Blocking: CLI or
 * worker thread. */
#ifndef FERRY_OPS_FORWARD_H
#define FERRY_OPS_FORWARD_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops_account.h"

/* Most targets a user may forward to. */
#define OPS_FORWARD_MAX 16

struct ops_forward {
	char address[320];		/* the user, normalised */
	char **targets;			/* without the user itself */
	size_t ntargets;		/* 0: no forwarding */
	bool keep;			/* a copy stays in the mailbox */
};

/* The forwarding of user input (an existing user in scope). */
int ops_forward_get(const struct ops_ctx *c, const char *input,
    struct ops_forward *out, struct ops_status *st);
void ops_forward_free(struct ops_forward *f);
/* Forwards input's mail to the n arguments (each one or more comma-
 * separated addresses), keeping a copy or not.  A target in a local
 * domain must be a user or an alias; the user itself is refused (that
 * is keep). */
int ops_forward_set(const struct ops_ctx *c, const char *input,
    char *const *target_args, size_t n, bool keep, struct ops_status *st);
/* Stops forwarding (nothing to do is no error). */
int ops_forward_clear(const struct ops_ctx *c, const char *input,
    struct ops_status *st);

#endif
