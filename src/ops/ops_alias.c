/* Alias operations (ops_alias.h).  The stored target list is one
 * comma-separated string of normalised addresses; listings split it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_alias.h"
#include "store/resolve.h"
#include "store/store.h"

/* input ("local@domain" or "@domain") into its stored form. */
static int
ops_alias_parse(const struct ops_ctx *c, const char *input, char *dst,
    size_t size, struct ops_status *st)
{
	const char *error;
	int r;

	if (input[0] == '@') {
		dst[0] = '@';
		r = resolve_parse_domain(input + 1, dst + 1, size - 1, &error);
	} else
		r = resolve_parse_mailbox(&c->ropts, input, dst, size, &error);
	if (r < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	return ops_check_domain(c->actor, strrchr(dst, '@') + 1, st);
}

static void
ops_alias_list_cb(const char *address, const char *targets, void *ctx)
{
	struct ops_alias_list *l = ctx;
	struct ops_alias *a;
	char *copy, *p, *tok;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	a = &l->v[l->n++];
	memset(a, 0, sizeof(*a));
	a->address = xstrdup(address);
	a->domain = xstrdup(strrchr(address, '@') != NULL ?
	    strrchr(address, '@') + 1 : "");
	copy = xstrdup(targets);
	for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
		if (*tok == '\0')
			continue;
		a->targets = xreallocarray(a->targets, a->ntargets + 1,
		    sizeof(*a->targets));
		a->targets[a->ntargets++] = xstrdup(tok);
	}
	free(copy);
}

static void
ops_alias_free(struct ops_alias *a)
{
	free(a->address);
	free(a->domain);
	for (size_t i = 0; i < a->ntargets; i++)
		free(a->targets[i]);
	free(a->targets);
	memset(a, 0, sizeof(*a));
}

int
ops_alias_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_alias_list *out, struct ops_status *st)
{
	struct ops_status ignored;
	char domain[256];
	const char *error;
	size_t kept = 0;

	memset(out, 0, sizeof(*out));
	if (domain_input != NULL && ops_domain_arg(c, domain_input[0] == '@' ?
	    domain_input + 1 : domain_input, domain, sizeof(domain), st) < 0)
		return -1;
	if (store_alias_list(c->store, domain_input != NULL ? domain : NULL,
	    ops_alias_list_cb, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	for (size_t i = 0; i < out->n; i++) {
		if (ops_check_domain(c->actor, out->v[i].domain, &ignored) == 0)
			out->v[kept++] = out->v[i];
		else
			ops_alias_free(&out->v[i]);
	}
	out->n = kept;
	return ops_ok(st);
}

void
ops_alias_list_free(struct ops_alias_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		ops_alias_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Appends each comma-separated target of list to out, normalised and
 * without duplicates.  0 or -1. */
static int
ops_alias_add_targets(const struct ops_ctx *c, const char *list,
    struct fbuf *out, int *n, struct ops_status *st)
{
	char *copy = xstrdup(list), *p = copy, *tok;
	char addr[320];
	const char *error;
	int ret = 0;

	while (ret == 0 && (tok = strsep(&p, ",")) != NULL) {
		tok = str_trim(tok);
		if (tok[0] == '\0')
			continue;
		if (resolve_parse_mailbox(&c->ropts, tok, addr, sizeof(addr),
		    &error) < 0)
			ret = ops_fail(st, OPS_EINVAL, "target %s: %s", tok,
			    error);
		else if (str_list_has(fbuf_str(out), addr))
			continue;
		else if (++*n > RESOLVE_MAX_TARGETS)
			ret = ops_fail(st, OPS_EINVAL, "too many targets (at "
			    "most %d)", RESOLVE_MAX_TARGETS);
		else {
			if (out->len > 0)
				fbuf_addc(out, ',');
			fbuf_adds(out, addr);
		}
	}
	free(copy);
	return ret;
}

/* The loop check of alias add: a walk from the new alias through the
 * targets that are aliases (with the new list in place of any stored
 * one).  A loop is refused when mail to the new alias would reach
 * nothing at all (no mailbox, no remote address): resolution breaks the
 * cycle, finds nothing and the sender sees "User unknown".  A cycle that
 * also reaches a mailbox ("self -> self, alice") or comes back to an
 * address that is a user ("a -> a, b@remote") delivers, so it stays
 * allowed. */
struct ops_alias_walk {
	const struct ops_ctx *c;
	const char *addr, *targets;	/* the alias being added */
	const char *path[RESOLVE_MAX_DEPTH + 2];
	int depth;
	bool delivers;			/* some target is a mailbox or remote */
	struct fbuf cycle;		/* the first cycle found, or empty */
};

/* 0, or -1 on a store error. */
static int
ops_alias_walk(struct ops_alias_walk *w, const char *addr)
{
	struct store_user u;
	char *stored = NULL, *copy, *p, *tok;
	const char *list, *at;
	int r, on_path = -1;

	for (int i = 0; i < w->depth; i++)
		if (strcmp(w->path[i], addr) == 0)
			on_path = i;
	if (on_path < 0 && strcmp(addr, w->addr) != 0) {
		r = store_alias_get(w->c->store, addr, &stored);
		if (r < 0)
			return -1;
	} else
		r = on_path < 0;
	if (on_path >= 0 || r == 0) {
		/* Not expanded (again): a mailbox, a remote address, or
		 * nothing. */
		bool ok;

		free(stored);
		r = store_user_get(w->c->store, addr, &u);
		explicit_bzero(&u, sizeof(u));
		if (r < 0)
			return -1;
		ok = r == 1;
		if (!ok && (at = strrchr(addr, '@')) != NULL) {
			if ((r = store_domain_exists(w->c->store, at + 1)) < 0)
				return -1;
			ok = r == 0;		/* not ours: relayed */
		}
		w->delivers |= ok;
		if (on_path >= 0 && !ok && w->cycle.len == 0) {
			for (int i = on_path; i < w->depth; i++)
				fbuf_addf(&w->cycle, "%s -> ", w->path[i]);
			fbuf_adds(&w->cycle, addr);
		}
		return 0;
	}
	if (w->depth > RESOLVE_MAX_DEPTH) {
		free(stored);
		return 0;
	}
	list = stored != NULL ? stored : w->targets;
	w->path[w->depth++] = addr;
	copy = xstrdup(list);
	r = 0;
	for (p = copy; r == 0 && (tok = strsep(&p, ",")) != NULL; )
		if (tok[0] != '\0' && tok[0] != '@')
			r = ops_alias_walk(w, tok);
	w->depth--;
	free(copy);
	free(stored);
	return r;
}

int
ops_alias_add(const struct ops_ctx *c, const char *input,
    char *const *target_args, size_t n, struct ops_status *st)
{
	char addr[320];
	int r;

	if (ops_alias_parse(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	r = store_domain_exists(c->store, strrchr(addr, '@') + 1);
	if (r <= 0)
		return ops_fail(st, r == 0 ? OPS_ENOENT : OPS_EFAIL, "%s: %s",
		    addr, r == 0 ? "no such domain (aliases belong to local "
		    "domains)" : "store error");
	return ops_alias_set(c, addr, target_args, n, st);
}

int
ops_alias_set(const struct ops_ctx *c, const char *addr,
    char *const *target_args, size_t n, struct ops_status *st)
{
	struct fbuf targets;
	const char *error;
	int count = 0, r;

	fbuf_init(&targets, 0);
	r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = ops_alias_add_targets(c, target_args[i], &targets, &count,
		    st);
	if (r == 0 && targets.len == 0)
		r = ops_fail(st, OPS_EINVAL, "%s: no targets given", addr);
	if (r == 0 && addr[0] != '@') {
		struct ops_alias_walk w = { .c = c, .addr = addr,
		    .targets = targets.data };

		fbuf_init(&w.cycle, 0);
		if (ops_alias_walk(&w, addr) < 0)
			r = ops_fail(st, OPS_EFAIL, "%s: store error", addr);
		else if (!w.delivers && w.cycle.len > 0)
			r = ops_fail(st, OPS_EINVAL, "alias loop: %s (mail to "
			    "%s would reach no mailbox)", fbuf_str(&w.cycle),
			    addr);
		fbuf_release(&w.cycle);
	}
	if (r == 0 && store_alias_add(c->store, addr, targets.data,
	    &error) < 0)
		r = ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	fbuf_release(&targets);
	return r < 0 ? -1 : ops_ok(st);
}

int
ops_alias_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	char addr[320], *targets;
	const char *error;
	int r;

	if (ops_alias_parse(c, input, addr, sizeof(addr), st) < 0)
		return -1;
	/* "no such alias" as a code the edges map (HTTP 404). */
	if ((r = store_alias_get(c->store, addr, &targets)) == 1)
		free(targets);
	else if (r == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such alias", addr);
	if (store_alias_del(c->store, addr, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_ok(st);
}

int
ops_alias_refs(const struct ops_ctx *c, const char *addr,
    struct ops_alias_list *out, struct ops_status *st)
{
	size_t kept = 0;

	if (ops_alias_list(c, NULL, out, st) < 0)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		bool has = false;

		/* The alias named like the user is its own forward (with a
		 * copy when it names the user): not a reference to it. */
		for (size_t k = 0; k < out->v[i].ntargets && !has; k++)
			has = strcmp(out->v[i].targets[k], addr) == 0 &&
			    strcmp(out->v[i].address, addr) != 0;
		if (!has) {
			ops_alias_free(&out->v[i]);
			continue;
		}
		if (kept != i) {
			out->v[kept] = out->v[i];
			memset(&out->v[i], 0, sizeof(out->v[i]));
		}
		kept++;
	}
	out->n = kept;
	return ops_ok(st);
}

int
ops_alias_unref(const struct ops_ctx *c, const char *addr,
    size_t *changed_r, size_t *deleted_r, struct ops_status *st)
{
	struct ops_alias_list l;
	struct fbuf rest;
	const char *error;
	int r = 0;

	*changed_r = *deleted_r = 0;
	if (ops_alias_refs(c, addr, &l, st) < 0) {
		ops_alias_list_free(&l);
		return -1;
	}
	fbuf_init(&rest, 0);
	for (size_t i = 0; i < l.n && r == 0; i++) {
		fbuf_reset(&rest);
		for (size_t k = 0; k < l.v[i].ntargets; k++) {
			if (strcmp(l.v[i].targets[k], addr) == 0)
				continue;
			if (rest.len > 0)
				fbuf_addc(&rest, ',');
			fbuf_adds(&rest, l.v[i].targets[k]);
		}
		if (rest.len == 0) {
			r = store_alias_del(c->store, l.v[i].address, &error);
			*deleted_r += r == 0;
		} else {
			r = store_alias_add(c->store, l.v[i].address,
			    fbuf_str(&rest), &error);
			*changed_r += r == 0;
		}
		if (r < 0)
			r = ops_fail(st, OPS_EFAIL, "%s: %s", l.v[i].address,
			    error);
	}
	fbuf_release(&rest);
	ops_alias_list_free(&l);
	return r < 0 ? -1 : ops_ok(st);
}

int
ops_user_del_refs(const struct ops_ctx *c, const char *input, bool force,
    char *addr, size_t size, struct ops_alias_list *refs, size_t *changed_r,
    size_t *deleted_r, struct ops_status *st)
{
	memset(refs, 0, sizeof(*refs));
	*changed_r = *deleted_r = 0;
	if (ops_user_check(c, input, addr, size, st) < 0)
		return -1;
	if (ops_alias_refs(c, addr, refs, st) < 0)
		return -1;
	if (refs->n > 0 && !force)
		return ops_fail(st, OPS_EREFUSED, "%s is a target of %zu "
		    "alias%s: delete it with them taken out, or change them "
		    "first", addr, refs->n, refs->n == 1 ? "" : "es");
	if (refs->n > 0 && ops_alias_unref(c, addr, changed_r, deleted_r,
	    st) < 0)
		return -1;
	return ops_user_del(c, addr, st);
}
