/* Domain and user operations (ops.h) on the store: the accounts that the
 * command line, and later the admin and postmaster pages, manage.  They
 * call the store directly and so block: call them from the CLI or a
 * worker thread, never from an event loop.
 *
 * Scope: adding and deleting domains is for admins; a postmaster lists
 * and manages the users of its own domains only, and its listing of
 * domains shows only those.  Texts name the object as the CLI always has
 * ("x@example.org: no such user"). */
#ifndef FERRY_OPS_ACCOUNT_H
#define FERRY_OPS_ACCOUNT_H
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"
#include "store/resolve.h"

struct conf;
struct store;

struct ops_ctx {
	const struct ops_actor *actor;
	struct store *store;
	struct resolve_opts ropts;	/* the configuration's address rules */
	const struct conf *conf;	/* for settings such as ban exemptions */
};

struct ops_domain_list {
	char **v;
	size_t n, cap;
};

struct ops_user {
	char address[320];
	char domain[256];
	uint64_t quota;			/* bytes, 0 = unlimited */
};

struct ops_user_list {
	struct ops_user *v;
	size_t n, cap;
};

/* The domains the actor may see, in the store's order. */
int ops_domain_list(const struct ops_ctx *c, struct ops_domain_list *out,
    struct ops_status *st);
void ops_domain_list_free(struct ops_domain_list *l);
/* input is normalised (lower case, no trailing dot) first. */
int ops_domain_add(const struct ops_ctx *c, const char *input,
    struct ops_status *st);
int ops_domain_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st);
/* A domain argument of a listing: normalised into dst; must exist and
 * be in the actor's scope. */
int ops_domain_arg(const struct ops_ctx *c, const char *input, char *dst,
    size_t size, struct ops_status *st);
/* What deleting a domain takes with it. */
struct ops_domain_contents {
	size_t users, aliases, rules;
};
/* Counts the users, aliases (catch-all included) and rules of an
 * existing domain in scope; domain (size >= 256) gets its normal form. */
int ops_domain_contents(const struct ops_ctx *c, const char *input,
    char *domain, struct ops_domain_contents *out, struct ops_status *st);

/* Users of domain_input (NULL: every domain in scope). */
int ops_user_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_user_list *out, struct ops_status *st);
void ops_user_list_free(struct ops_user_list *l);
/* Checks that input can be added (valid, domain local and in scope, no
 * such user yet) and normalises it into addr (size >= 320): call before
 * asking for a password. */
int ops_user_check_new(const struct ops_ctx *c, const char *input,
    char *addr, size_t size, struct ops_status *st);
/* Adds a checked address with a password hash (never plain text). */
int ops_user_add(const struct ops_ctx *c, const char *addr, const char *hash,
    uint64_t quota, struct ops_status *st);
/* Checks that input names an existing user in scope; addr as above. */
int ops_user_check(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st);
/* Deletes the user with what belongs to its account: its forward (the
 * alias named like it), its vacation reply, its sending-limit overrides
 * and send-hold.  On success st->text says which of those were there
 * ("" when none), for the caller to show. */
int ops_user_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st);
int ops_user_set_quota(const struct ops_ctx *c, const char *input,
    uint64_t quota, struct ops_status *st);
/* Sets the password hash of the account addr (checked, normalised):
 * admins, its postmaster, or the user itself (ops_check_mailbox). */
int ops_user_set_password(const struct ops_ctx *c, const char *addr,
    const char *hash, struct ops_status *st);

/* input as an existing user that the actor may manage
 * (ops_check_mailbox: a user only itself), normalised into addr (size
 * >= 320): 0, or -1 with st (EINVAL, EPERM, ENOENT, EFAIL). */
int ops_mailbox_arg(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st);

/* One account as its pages show it: the quota and what the Maildir
 * holds now (from maildirsize; recomputed when it is missing). */
struct ops_user_info {
	char address[320];
	uint64_t quota;			/* bytes, 0 = unlimited */
	uint64_t used_bytes, used_messages;
};
int ops_user_info(const struct ops_ctx *c, const char *input,
    struct ops_user_info *out, struct ops_status *st);

#endif
