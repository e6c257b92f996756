/* Forwarding (ops_forward.h): a view of the alias named like the user.
 * Setting it checks the targets a user types more strictly than an
 * administrator's alias (a local target must exist now: a user cannot
 * set up the other side later) and then stores it through
 * ops_alias_set, which normalises, counts and refuses loops. */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_alias.h"
#include "ops/ops_account.h"
#include "ops/ops_forward.h"
#include "store/resolve.h"
#include "store/store.h"

int
ops_forward_get(const struct ops_ctx *c, const char *input,
    struct ops_forward *out, struct ops_status *st)
{
	char *targets = NULL, *p, *tok;
	int r;

	memset(out, 0, sizeof(*out));
	if (ops_mailbox_arg(c, input, out->address, sizeof(out->address),
	    st) < 0)
		return -1;
	r = store_alias_get(c->store, out->address, &targets);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", out->address);
	for (p = targets; r > 0 && (tok = strsep(&p, ",")) != NULL; ) {
		if (tok[0] == '\0')
			continue;
		if (strcmp(tok, out->address) == 0) {
			out->keep = true;
			continue;
		}
		out->targets = xreallocarray(out->targets, out->ntargets + 1,
		    sizeof(*out->targets));
		out->targets[out->ntargets++] = xstrdup(tok);
	}
	free(targets);
	/* An alias naming only the user is a copy to itself: no forward. */
	if (out->ntargets == 0)
		out->keep = false;
	return ops_ok(st);
}

void
ops_forward_free(struct ops_forward *f)
{
	for (size_t i = 0; i < f->ntargets; i++)
		free(f->targets[i]);
	free(f->targets);
	memset(f, 0, sizeof(*f));
}

/* One target as a user may give it: a mailbox, not the user, and in a
 * local domain only something that exists.  Appended to list. */
static int
ops_forward_target(const struct ops_ctx *c, const char *user,
    const char *tok, char ***list, size_t *n, struct ops_status *st)
{
	struct resolve_result res;
	enum resolve_status rs;
	char addr[320];
	const char *error;

	if (resolve_parse_mailbox(&c->ropts, tok, addr, sizeof(addr),
	    &error) < 0)
		return ops_fail(st, OPS_EINVAL, "target %s: %s", tok, error);
	if (strcmp(addr, user) == 0)
		return ops_fail(st, OPS_EINVAL, "target %s: that is the "
		    "mailbox itself (a copy stays there with --keep)", addr);
	rs = resolve_rcpt(c->store, &c->ropts, addr, &res);
	resolve_result_free(&res);
	if (rs == RESOLVE_ERROR)
		return ops_fail(st, OPS_EFAIL, "target %s: store error", addr);
	if (rs == RESOLVE_UNKNOWN)
		return ops_fail(st, OPS_ENOENT, "target %s: no such local "
		    "address", addr);
	if (*n >= OPS_FORWARD_MAX)
		return ops_fail(st, OPS_EINVAL, "too many targets (at most %d)",
		    OPS_FORWARD_MAX);
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(addr);
	return 0;
}

int
ops_forward_set(const struct ops_ctx *c, const char *input,
    char *const *target_args, size_t n, bool keep, struct ops_status *st)
{
	char addr[320], **list = NULL, *copy, *p, *tok;
	size_t nlist = 0;
	int r = 0;

	if (ops_mailbox_arg(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	for (size_t i = 0; i < n && r == 0; i++) {
		copy = xstrdup(target_args[i]);
		for (p = copy; r == 0 && (tok = strsep(&p, ",")) != NULL; ) {
			tok = str_trim(tok);
			if (tok[0] != '\0')
				r = ops_forward_target(c, addr, tok, &list,
				    &nlist, st);
		}
		free(copy);
	}
	if (r == 0 && nlist == 0)
		r = ops_fail(st, OPS_EINVAL, "%s: no targets given", addr);
	if (r == 0 && keep) {
		list = xreallocarray(list, nlist + 1, sizeof(*list));
		list[nlist++] = xstrdup(addr);
	}
	if (r == 0)
		r = ops_alias_set(c, addr, list, nlist, st);
	for (size_t i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
	return r < 0 ? -1 : ops_ok(st);
}

int
ops_forward_clear(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	char addr[320], *targets = NULL;
	const char *error = "store error";
	int r;

	if (ops_mailbox_arg(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	r = store_alias_get(c->store, addr, &targets);
	free(targets);
	if (r < 0 || (r > 0 && store_alias_del(c->store, addr, &error) < 0))
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_ok(st);
}
