/* Domain and user operations (ops_account.h).  Each checks the actor's
 * scope before it touches the store, and reports the store's own error
 * text when the store refuses. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "ops/ops_account.h"
#include "store/store.h"

static const char *
ops_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static void
ops_domain_list_cb(const char *domain, void *ctx)
{
	struct ops_domain_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(domain);
}

int
ops_domain_list(const struct ops_ctx *c, struct ops_domain_list *out,
    struct ops_status *st)
{
	struct ops_status ignored;
	const char *error;
	size_t kept = 0;

	memset(out, 0, sizeof(*out));
	if (store_domain_list(c->store, ops_domain_list_cb, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	for (size_t i = 0; i < out->n; i++) {
		if (ops_check_domain(c->actor, out->v[i], &ignored) == 0)
			out->v[kept++] = out->v[i];
		else
			free(out->v[i]);
	}
	out->n = kept;
	return ops_ok(st);
}

void
ops_domain_list_free(struct ops_domain_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
ops_domain_change(const struct ops_ctx *c, const char *input, bool add,
    struct ops_status *st)
{
	char domain[256];
	const char *error;
	int r;

	if (resolve_parse_domain(input, domain, sizeof(domain), &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_admin(c->actor, domain, st) < 0)
		return -1;
	/* A code the edges can map (HTTP 409 and 404); the store says the
	 * same in its own words otherwise. */
	if ((r = store_domain_exists(c->store, domain)) == 1 && add)
		return ops_fail(st, OPS_EEXIST, "%s: domain exists already",
		    domain);
	if (r == 0 && !add)
		return ops_fail(st, OPS_ENOENT, "%s: no such domain", domain);
	r = add ? store_domain_add(c->store, domain, &error) :
	    store_domain_del(c->store, domain, &error);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", domain, error);
	return ops_ok(st);
}

int
ops_domain_add(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	return ops_domain_change(c, input, true, st);
}

int
ops_domain_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	return ops_domain_change(c, input, false, st);
}

static void
ops_count_user(const struct store_user *u, void *ctx)
{
	(*(size_t *)ctx)++;
}

static void
ops_count_alias(const char *address, const char *targets, void *ctx)
{
	(*(size_t *)ctx)++;
}

static void
ops_count_rule(const struct store_rule *r, void *ctx)
{
	(*(size_t *)ctx)++;
}

int
ops_domain_contents(const struct ops_ctx *c, const char *input,
    char *domain, struct ops_domain_contents *out, struct ops_status *st)
{
	const char *error;

	memset(out, 0, sizeof(*out));
	if (ops_domain_arg(c, input, domain, 256, st) < 0)
		return -1;
	if (store_user_list(c->store, domain, ops_count_user, &out->users,
	    &error) < 0 || store_alias_list(c->store, domain,
	    ops_count_alias, &out->aliases, &error) < 0 ||
	    store_rule_list(c->store, domain, ops_count_rule, &out->rules,
	    &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", domain, error);
	return ops_ok(st);
}

int
ops_domain_arg(const struct ops_ctx *c, const char *input, char *dst,
    size_t size, struct ops_status *st)
{
	const char *error;

	if (resolve_parse_domain(input, dst, size, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	/* Scope first: a postmaster learns nothing about other domains,
	 * not even whether they exist. */
	if (ops_check_domain(c->actor, dst, st) < 0)
		return -1;
	if (store_domain_exists(c->store, dst) != 1)
		return ops_fail(st, OPS_ENOENT, "%s: no such domain", dst);
	return 0;
}

struct ops_user_collect {
	const struct ops_actor *actor;
	struct ops_user_list *l;
};

static void
ops_user_list_cb(const struct store_user *u, void *ctx)
{
	struct ops_user_collect *uc = ctx;
	struct ops_user_list *l = uc->l;
	struct ops_status ignored;
	const char *domain = ops_domain_of(u->address);

	if (ops_check_domain(uc->actor, domain, &ignored) < 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	str_lcpy(l->v[l->n].address, u->address, sizeof(l->v[l->n].address));
	str_lcpy(l->v[l->n].domain, domain, sizeof(l->v[l->n].domain));
	l->v[l->n].quota = u->quota;
	l->n++;
}

int
ops_user_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_user_list *out, struct ops_status *st)
{
	struct ops_user_collect uc = { c->actor, out };
	char domain[256];
	const char *error;

	memset(out, 0, sizeof(*out));
	if (domain_input != NULL && ops_domain_arg(c, domain_input, domain,
	    sizeof(domain), st) < 0)
		return -1;
	if (store_user_list(c->store, domain_input != NULL ? domain : NULL,
	    ops_user_list_cb, &uc, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	return ops_ok(st);
}

void
ops_user_list_free(struct ops_user_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* input normalised into addr and checked against the actor's scope;
 * then 1 when that user exists, 0 when not; -1 with st. */
static int
ops_user_find(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st)
{
	struct store_user u;
	const char *error;
	int r;

	if (resolve_parse_mailbox(&c->ropts, input, addr, size, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_domain(c->actor, ops_domain_of(addr), st) < 0)
		return -1;
	r = store_user_get(c->store, addr, &u);
	explicit_bzero(&u, sizeof(u));
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", addr);
	return r;
}

int
ops_user_check_new(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st)
{
	int found, r;

	if ((found = ops_user_find(c, input, addr, size, st)) < 0 &&
	    st->code != OPS_EFAIL)
		return -1;
	r = store_domain_exists(c->store, ops_domain_of(addr));
	if (r == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such domain (add it "
		    "with: ferry domain add)", addr);
	if (r < 0 || found < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", addr);
	if (found > 0)
		return ops_fail(st, OPS_EEXIST, "%s: user exists", addr);
	return ops_ok(st);
}

int
ops_user_add(const struct ops_ctx *c, const char *addr, const char *hash,
    uint64_t quota, struct ops_status *st)
{
	const char *error;

	if (ops_check_domain(c->actor, ops_domain_of(addr), st) < 0)
		return -1;
	if (store_user_add(c->store, addr, hash, quota, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_ok(st);
}

int
ops_user_check(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st)
{
	int r = ops_user_find(c, input, addr, size, st);

	if (r < 0)
		return -1;
	if (r == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such user", addr);
	return ops_ok(st);
}

/* After the user row is gone (its vacation rows go with it): the alias
 * named like it (the forward) would keep taking its mail to other
 * addresses, and a hold or limit override would bind a new account made
 * later under the same address.  Each removed piece is named in st. */
static int
ops_user_del_rest(const struct ops_ctx *c, const char *addr,
    struct ops_status *st)
{
	static const struct store_send_limits none = { -1, -1 };
	struct store_send_limits lim;
	struct fbuf said;
	char *targets = NULL;
	const char *error = "store error";
	int r;

	fbuf_init(&said, 0);
	r = store_alias_get(c->store, addr, &targets);
	if (r > 0 && store_alias_del(c->store, addr, &error) == 0) {
		char *rest = targets, *t;
		size_t n = 0;

		/* Named without the user itself (its copy). */
		fbuf_adds(&said, "its forward to ");
		while ((t = strsep(&rest, ",")) != NULL)
			if (*t != '\0' && strcmp(t, addr) != 0)
				fbuf_addf(&said, "%s%s", n++ > 0 ? ", " : "", t);
		fbuf_adds(&said, " removed");
	} else if (r != 0)
		r = -1;
	free(targets);
	if (r >= 0 && (r = store_send_hold_del(c->store, addr, time(NULL),
	    &error)) > 0)
		fbuf_addf(&said, "%sits send-hold lifted",
		    said.len > 0 ? "; " : "");
	if (r >= 0 && (r = store_send_limits_get(c->store, addr, &lim)) > 0) {
		r = store_send_limits_set(c->store, addr, &none, &error);
		if (r == 0)
			fbuf_addf(&said, "%sits sending limits removed",
			    said.len > 0 ? "; " : "");
	}
	if (r < 0) {
		fbuf_release(&said);
		return ops_fail(st, OPS_EFAIL, "%s deleted, but: %s", addr,
		    error);
	}
	ops_ok(st);
	str_lcpy(st->text, fbuf_str(&said), sizeof(st->text));
	fbuf_release(&said);
	return 0;
}

int
ops_user_del(const struct ops_ctx *c, const char *input,
    struct ops_status *st)
{
	char addr[320];
	const char *error;

	if (resolve_parse_mailbox(&c->ropts, input, addr, sizeof(addr),
	    &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_domain(c->actor, ops_domain_of(addr), st) < 0)
		return -1;
	if (store_user_del(c->store, addr, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_user_del_rest(c, addr, st);
}

int
ops_user_set_quota(const struct ops_ctx *c, const char *input,
    uint64_t quota, struct ops_status *st)
{
	char addr[320];
	const char *error;

	if (resolve_parse_mailbox(&c->ropts, input, addr, sizeof(addr),
	    &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_domain(c->actor, ops_domain_of(addr), st) < 0)
		return -1;
	if (store_user_set_quota(c->store, addr, quota, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_ok(st);
}

int
ops_user_set_password(const struct ops_ctx *c, const char *addr,
    const char *hash, struct ops_status *st)
{
	const char *error;

	if (ops_check_mailbox(c->actor, addr, st) < 0)
		return -1;
	if (store_user_set_password(c->store, addr, hash, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", addr, error);
	return ops_ok(st);
}

int
ops_mailbox_arg(const struct ops_ctx *c, const char *input, char *addr,
    size_t size, struct ops_status *st)
{
	struct store_user u;
	const char *error;
	int r;

	if (resolve_parse_mailbox(&c->ropts, input, addr, size, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	if (ops_check_mailbox(c->actor, addr, st) < 0)
		return -1;
	r = store_user_get(c->store, addr, &u);
	explicit_bzero(&u, sizeof(u));
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", addr);
	if (r == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such user", addr);
	return 0;
}

int
ops_user_info(const struct ops_ctx *c, const char *input,
    struct ops_user_info *out, struct ops_status *st)
{
	struct store_user u;
	char path[PATH_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	if (ops_mailbox_arg(c, input, out->address, sizeof(out->address),
	    st) < 0)
		return -1;
	r = store_user_get(c->store, out->address, &u);
	explicit_bzero(u.password_hash, sizeof(u.password_hash));
	if (r <= 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", out->address);
	out->quota = u.quota;
	if (c->conf != NULL && maildir_path(c->conf->state_dir, out->address,
	    path, sizeof(path)) == 0 && maildir_quota_usage(path,
	    &out->used_bytes, &out->used_messages) < 0) {
		out->used_bytes = 0;
		out->used_messages = 0;
	}
	return ops_ok(st);
}
