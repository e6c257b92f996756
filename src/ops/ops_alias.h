/* Alias operations (ops.h): aliases and catch-alls of local domains.  An
 * alias is "local@domain" or "@domain" (catch-all) and maps to one or
 * more mailboxes, local or remote, each checked and normalised here so
 * that the resolver only ever reads clean lists.  Whether a local target
 * exists is checked at delivery time: aliases may come before their
 * users.  A postmaster manages the aliases of its own domains.
 * Blocking: CLI or worker thread. */
#ifndef FERRY_OPS_ALIAS_H
#define FERRY_OPS_ALIAS_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops_account.h"

struct ops_alias {
	char *address;			/* "a@example.org" or "@example.org" */
	char *domain;
	char **targets;
	size_t ntargets;
};

struct ops_alias_list {
	struct ops_alias *v;
	size_t n, cap;
};

/* Aliases of domain_input ("example.org" or "@example.org"; NULL: every
 * domain in scope). */
int ops_alias_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_alias_list *out, struct ops_status *st);
void ops_alias_list_free(struct ops_alias_list *l);
/* Sets input's targets (replacing an existing alias): each of the n
 * arguments is one or more comma-separated addresses; duplicates are
 * dropped; at most RESOLVE_MAX_TARGETS. */
int ops_alias_add(const struct ops_ctx *c, const char *input,
    char *const *target_args, size_t n, struct ops_status *st);
/* The same for addr, an alias already normalised, in a local domain and
 * in the caller's scope (ops_forward.h checks a user's own account):
 * the target checks, the loop check, the store. */
int ops_alias_set(const struct ops_ctx *c, const char *addr,
    char *const *target_args, size_t n, struct ops_status *st);
/* No domain check beyond scope: an alias left over in any state can go. */
int ops_alias_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st);

/* The aliases (every domain's, catch-alls included) with addr (a
 * normalised address) among their targets; not the alias named addr
 * itself (the user's forward, ops_forward.h). */
int ops_alias_refs(const struct ops_ctx *c, const char *addr,
    struct ops_alias_list *out, struct ops_status *st);
/* Takes addr out of every alias's targets; an alias left without any is
 * deleted.  *changed_r and *deleted_r count them. */
int ops_alias_unref(const struct ops_ctx *c, const char *addr,
    size_t *changed_r, size_t *deleted_r, struct ops_status *st);

/* Deletes the user input names (addr, size >= 320: its normal form).  When aliases (or the catch-all) point
 * at it, *refs lists them and the call is refused (OPS_EREFUSED) unless
 * force, which first takes the user out of them (*changed_r aliases
 * changed, *deleted_r deleted as empty): else they would send its mail
 * nowhere.  Free *refs in every case. */
int ops_user_del_refs(const struct ops_ctx *c, const char *input, bool force,
    char *addr, size_t size, struct ops_alias_list *refs, size_t *changed_r,
    size_t *deleted_r, struct ops_status *st);

#endif
