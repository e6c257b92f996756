/* Queue operations (ops_queue.h), moved out of `ferry queue` so that the
 * queue role can run them when it owns the spool.  delete removes the
 * envelope then the content, so a delivery in the middle sees the
 * message vanish and never writes it back (spool_env_update refuses a
 * missing envelope); the other changes rewrite the envelope atomically.
 * The relay phase of a delivery re-reads the envelope before it saves
 * its results, so a hold, bounce or delete made meanwhile is honoured.
 *
 * Scope (ops_queue.h): a postmaster sees a message whose sender or one of
 * whose recipients is in its domains; when the sender is not, only those
 * recipients.  Whole-message changes need the whole message in scope. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "ops/ops_queue.h"
#include "store/resolve.h"

/* A change to one envelope: returns OPS_QUEUE_* bits, or -1 with st. */
#define OPS_QUEUE_WRITE 1
#define OPS_QUEUE_WAKE 2
typedef int ops_queue_change_fn(const struct ops_actor *a,
    struct spool_env *env, void *arg, struct ops_status *st);

void
ops_queue_ids_add(struct ops_queue_ids *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	str_lcpy(l->v[l->n++], id, IDS_LEN + 1);
}

void
ops_queue_ids_free(struct ops_queue_ids *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
ops_queue_collect(const char *id, void *ctx)
{
	ops_queue_ids_add(ctx, id);
}

/* "no such message ID", the argument shortened and cleaned. */
static int
ops_queue_nosuch(const char *id, struct ops_status *st)
{
	char shown[80];

	str_lcpy(shown, id, sizeof(shown));
	ops_clean(shown);
	return ops_fail(st, OPS_ENOENT, "no such message %s", shown);
}

static int
ops_queue_errno(const char *what, int err, struct ops_status *st)
{
	if (err == ENOENT || err == ENAMETOOLONG)
		return ops_queue_nosuch(what, st);
	return ops_fail(st, OPS_EFAIL, "%s: %s", what, strerror(err));
}

/* addr's domain is one of the actor's (an admin has them all). */
static bool
ops_queue_addr_ours(const struct ops_actor *a, const char *addr)
{
	const char *at;

	if (a->role == OPS_ADMIN)
		return true;
	if (a->role != OPS_POSTMASTER || addr == NULL ||
	    (at = strrchr(addr, '@')) == NULL)
		return false;
	for (size_t i = 0; i < a->ndomains; i++)
		if (strcasecmp(at + 1, a->domains[i]) == 0)
			return true;
	return false;
}

bool
ops_queue_rcpt_visible(const struct ops_actor *a, const struct spool_env *env,
    const struct spool_rcpt *r)
{
	return ops_queue_addr_ours(a, env->sender) ||
	    ops_queue_addr_ours(a, r->orig) || ops_queue_addr_ours(a, r->addr);
}

enum ops_queue_scope
ops_queue_scope(const struct ops_actor *a, const struct spool_env *env)
{
	size_t seen = 0;

	if (a->role == OPS_ADMIN || ops_queue_addr_ours(a, env->sender))
		return OPS_QUEUE_ALL;
	for (size_t i = 0; i < env->nrcpts; i++)
		seen += ops_queue_rcpt_visible(a, env, &env->rcpts[i]);
	if (seen == 0)
		return OPS_QUEUE_NONE;
	return seen == env->nrcpts ? OPS_QUEUE_ALL : OPS_QUEUE_PART;
}

/* What a partial view leaves out: the other recipients, and the login of
 * a sender who is another domain's user. */
static void
ops_queue_trim(const struct ops_actor *a, struct spool_env *env)
{
	size_t keep = 0;

	if (ops_queue_scope(a, env) != OPS_QUEUE_PART)
		return;
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (ops_queue_rcpt_visible(a, env, r)) {
			env->rcpts[keep++] = *r;
			continue;
		}
		free(r->orig);
		free(r->addr);
		free(r->last_error);
	}
	env->nrcpts = keep;
	free(env->auth_user);
	env->auth_user = NULL;
}

/* Queue operations are for admins and postmasters. */
static int
ops_queue_check(const struct ops_actor *a, struct ops_status *st)
{
	if (a->role == OPS_ADMIN || a->role == OPS_POSTMASTER)
		return 0;
	return ops_check_admin(a, "queue", st);
}

static void
ops_queue_list_add(struct ops_queue_list *l, struct spool_env *env)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->envs = xreallocarray(l->envs, l->cap, sizeof(*l->envs));
	}
	l->envs[l->n++] = *env;
}

int
ops_queue_list(const struct ops_actor *a, const char *spool_dir,
    struct ops_queue_list *out, struct ops_status *st)
{
	struct ops_queue_ids ids = { NULL, 0, 0 };
	struct spool_env env;

	memset(out, 0, sizeof(*out));
	fbuf_init(&out->warnings, 0);
	if (ops_queue_check(a, st) < 0)
		return -1;
	if (spool_scan(spool_dir, false, ops_queue_collect, &ids) < 0) {
		ops_queue_ids_free(&ids);
		return ops_fail(st, OPS_EFAIL, "%s: %s", spool_dir,
		    strerror(errno));
	}
	for (size_t i = 0; i < ids.n; i++) {
		if (spool_env_read(spool_dir, ids.v[i], &env) == 0) {
			if (ops_queue_scope(a, &env) == OPS_QUEUE_NONE) {
				spool_env_free(&env);
				continue;
			}
			ops_queue_trim(a, &env);
			ops_queue_list_add(out, &env);
		} else if (a->role == OPS_ADMIN && errno != ENOENT)
			fbuf_addf(&out->warnings, "%s: unreadable envelope: "
			    "%s\n", ids.v[i], strerror(errno));
	}
	ops_queue_ids_free(&ids);
	return ops_ok(st);
}

void
ops_queue_list_free(struct ops_queue_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		spool_env_free(&l->envs[i]);
	free(l->envs);
	fbuf_release(&l->warnings);
	memset(l, 0, sizeof(*l));
}

/* The header section of id's content: up to and including the first
 * empty line, at most OPS_QUEUE_HEADER_MAX bytes. */
static void
ops_queue_headers(const char *spool_dir, const char *id,
    struct ops_queue_msg *m)
{
	char path[PATH_MAX], *buf;
	ssize_t n;
	int fd;

	if (spool_msg_path(spool_dir, id, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		m->headers_error = xstrdup(strerror(errno));
		return;
	}
	buf = xmalloc(OPS_QUEUE_HEADER_MAX);
	n = read(fd, buf, OPS_QUEUE_HEADER_MAX);
	close(fd);
	if (n < 0) {
		m->headers_error = xstrdup(strerror(errno));
		free(buf);
		return;
	}
	/* The end is the first LF that ends an empty line (LF LF or
	 * LF CR LF); ferry queue show prints up to there. */
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n' ||
		    (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))) {
			n = i + 1;
			break;
		}
	}
	fbuf_add(&m->headers, buf, (size_t)n);
	free(buf);
}

int
ops_queue_show(const struct ops_actor *a, const char *spool_dir,
    const char *id, struct ops_queue_msg *out, struct ops_status *st)
{
	memset(out, 0, sizeof(*out));
	fbuf_init(&out->headers, 0);
	if (ops_queue_check(a, st) < 0)
		return -1;
	if (!ids_valid(id))
		return ops_queue_nosuch(id, st);
	if (spool_env_read(spool_dir, id, &out->env) < 0)
		return ops_queue_errno(id, errno, st);
	/* Another domain's message does not exist for this actor. */
	if (ops_queue_scope(a, &out->env) == OPS_QUEUE_NONE)
		return ops_queue_nosuch(id, st);
	ops_queue_trim(a, &out->env);
	ops_queue_headers(spool_dir, id, out);
	return ops_ok(st);
}

void
ops_queue_msg_free(struct ops_queue_msg *m)
{
	spool_env_free(&m->env);
	fbuf_release(&m->headers);
	free(m->headers_error);
	memset(m, 0, sizeof(*m));
}

/* The whole message must be in a's scope: -1 with OPS_ENOENT when none of
 * it is (as for an unknown id), OPS_EPERM when only part. */
static int
ops_queue_scope_whole(const struct ops_actor *a, const struct spool_env *env,
    struct ops_status *st)
{
	switch (ops_queue_scope(a, env)) {
	case OPS_QUEUE_ALL:
		return 0;
	case OPS_QUEUE_PART:
		return ops_fail(st, OPS_EPERM, "%s: the message is also for "
		    "other domains; retry or bounce your recipients instead",
		    env->id);
	case OPS_QUEUE_NONE:
	default:
		return ops_queue_nosuch(env->id, st);
	}
}

static int
ops_queue_whole(const struct ops_actor *a, const char *spool_dir,
    const char *id, struct ops_status *st)
{
	struct spool_env env;
	int r;

	if (!ids_valid(id))
		return ops_queue_nosuch(id, st);
	if (a->role == OPS_ADMIN)
		return 0;
	if (spool_env_read(spool_dir, id, &env) < 0)
		return ops_queue_errno(id, errno, st);
	r = ops_queue_scope_whole(a, &env, st);
	spool_env_free(&env);
	return r;
}

int
ops_queue_delete(const struct ops_actor *a, const char *spool_dir,
    const char *id, struct ops_status *st)
{
	if (ops_queue_check(a, st) < 0 ||
	    ops_queue_whole(a, spool_dir, id, st) < 0)
		return -1;
	if (spool_remove(spool_dir, id) < 0)
		return ops_queue_errno(id, errno, st);
	return ops_ok(st);
}

/* Applies change to id's envelope, rewrites it and records the wake-up
 * the change asks for.  0, -1 with st; errno_r gets the errno of a read
 * or write failure (0 when the change itself refused). */
static int
ops_queue_apply(const struct ops_actor *a, const char *spool_dir,
    const char *id, ops_queue_change_fn *change, void *arg,
    struct ops_queue_ids *wake, int *errno_r, struct ops_status *st)
{
	struct spool_env env;
	int what;

	*errno_r = 0;
	if (!ids_valid(id)) {
		*errno_r = ENOENT;
		return ops_queue_nosuch(id, st);
	}
	if (spool_env_read(spool_dir, id, &env) < 0) {
		*errno_r = errno;
		return ops_queue_errno(id, errno, st);
	}
	if (ops_queue_scope(a, &env) == OPS_QUEUE_NONE) {
		spool_env_free(&env);
		*errno_r = ENOENT;
		return ops_queue_nosuch(id, st);
	}
	if ((what = change(a, &env, arg, st)) < 0) {
		spool_env_free(&env);
		return -1;
	}
	if ((what & OPS_QUEUE_WRITE) != 0 &&
	    spool_env_update(spool_dir, &env) < 0) {
		*errno_r = errno;
		spool_env_free(&env);
		return ops_queue_errno(id, *errno_r, st);
	}
	if ((what & OPS_QUEUE_WAKE) != 0 && wake != NULL)
		ops_queue_ids_add(wake, id);
	spool_env_free(&env);
	return ops_ok(st);
}

static int
ops_queue_hold_fn(const struct ops_actor *a, struct spool_env *env,
    void *arg, struct ops_status *st)
{
	bool hold = *(const bool *)arg;

	if (ops_queue_scope_whole(a, env, st) < 0)
		return -1;
	if (env->held == hold)
		return hold ? 0 : OPS_QUEUE_WAKE;
	env->held = hold;
	free(env->hold_reason);
	env->hold_reason = NULL;
	return OPS_QUEUE_WRITE | (hold ? 0 : OPS_QUEUE_WAKE);
}

int
ops_queue_hold(const struct ops_actor *a, const char *spool_dir,
    const char *id, bool hold, struct ops_queue_ids *wake,
    struct ops_status *st)
{
	int err;

	if (ops_queue_check(a, st) < 0)
		return -1;
	return ops_queue_apply(a, spool_dir, id, ops_queue_hold_fn, &hold,
	    wake, &err, st);
}

struct ops_queue_user_arg {
	const char *user;
	const char *reason;		/* hold: the reason to record */
	bool hold;
	size_t n;
};

/* A message of the user still to be sent, for a send-hold: held with the
 * reason; released only when a send-hold held it. */
static int
ops_queue_user_fn(const struct ops_actor *a, struct spool_env *env,
    void *arg, struct ops_status *st)
{
	struct ops_queue_user_arg *u = arg;
	bool pending = false;

	if (env->auth_user == NULL || strcmp(env->auth_user, u->user) != 0)
		return 0;
	for (size_t i = 0; i < env->nrcpts; i++)
		pending |= env->rcpts[i].state == SPOOL_RCPT_PENDING;
	if (!pending)
		return 0;
	if (u->hold) {
		if (env->held)
			return 0;
		env->held = true;
		free(env->hold_reason);
		env->hold_reason = xstrdup(u->reason);
		u->n++;
		return OPS_QUEUE_WRITE;
	}
	if (!env->held || env->hold_reason == NULL ||
	    strncmp(env->hold_reason, OPS_QUEUE_SEND_HOLD,
	    strlen(OPS_QUEUE_SEND_HOLD)) != 0)
		return 0;
	env->held = false;
	free(env->hold_reason);
	env->hold_reason = NULL;
	u->n++;
	return OPS_QUEUE_WRITE | OPS_QUEUE_WAKE;
}

int
ops_queue_hold_user(const struct ops_actor *a, const char *spool_dir,
    const char *user, bool hold, const char *reason, size_t *n_r,
    struct ops_queue_ids *wake, struct ops_status *st)
{
	struct ops_queue_user_arg u = { user, reason, hold, 0 };
	struct ops_queue_ids ids = { NULL, 0, 0 };
	struct ops_status one;
	int err;

	*n_r = 0;
	if (ops_check_admin(a, "queue", st) < 0)
		return -1;
	if (user == NULL || user[0] == '\0' || (hold && reason == NULL))
		return ops_fail(st, OPS_EINVAL, "no user given");
	if (spool_scan(spool_dir, false, ops_queue_collect, &ids) < 0) {
		ops_queue_ids_free(&ids);
		return ops_fail(st, OPS_EFAIL, "%s: %s", spool_dir,
		    strerror(errno));
	}
	/* A message that finishes meanwhile is simply gone (ENOENT). */
	for (size_t i = 0; i < ids.n; i++)
		(void)ops_queue_apply(a, spool_dir, ids.v[i],
		    ops_queue_user_fn, &u, wake, &err, &one);
	ops_queue_ids_free(&ids);
	*n_r = u.n;
	return ops_ok(st);
}

static int
ops_queue_bounce_fn(const struct ops_actor *a, struct spool_env *env,
    void *arg, struct ops_status *st)
{
	size_t *n = arg;
	char *why;

	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING ||
		    !ops_queue_rcpt_visible(a, env, r))
			continue;
		/* The sender learns why it was stuck as well. */
		why = r->last_error != NULL ? xasprintf("%s (last error: %s)",
		    OPS_QUEUE_BOUNCED, r->last_error) :
		    xstrdup(OPS_QUEUE_BOUNCED);
		free(r->last_error);
		r->last_error = why;
		r->state = SPOOL_RCPT_FAILED;
		r->next_attempt = 0;
		(*n)++;
	}
	if (*n == 0)
		return ops_fail(st, OPS_EREFUSED, "%s: no pending recipients "
		    "to bounce", env->id);
	/* A held message is never looked at: the bounce would wait. */
	env->held = false;
	return OPS_QUEUE_WRITE | OPS_QUEUE_WAKE;
}

int
ops_queue_bounce(const struct ops_actor *a, const char *spool_dir,
    const char *id, size_t *n_r, struct ops_queue_ids *wake,
    struct ops_status *st)
{
	int err;

	*n_r = 0;
	if (ops_queue_check(a, st) < 0)
		return -1;
	return ops_queue_apply(a, spool_dir, id, ops_queue_bounce_fn, n_r,
	    wake, &err, st);
}

static bool
ops_queue_in_domain(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

static int
ops_queue_retry_fn(const struct ops_actor *a, struct spool_env *env,
    void *arg, struct ops_status *st)
{
	struct ops_queue_retry *rt = arg;
	size_t matched = 0;
	bool changed = false;

	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		if (r->state != SPOOL_RCPT_PENDING || (rt->domain != NULL &&
		    !ops_queue_in_domain(r->addr, rt->domain)) ||
		    !ops_queue_rcpt_visible(a, env, r))
			continue;
		matched++;
		changed |= r->next_attempt != 0;
		r->next_attempt = 0;
	}
	if (matched == 0)
		return 0;
	/* Made due all the same (released, it goes at once), but the
	 * queue leaves it alone until then: the caller says so. */
	if (env->held)
		rt->held++;
	rt->matched += matched;
	rt->messages++;
	return OPS_QUEUE_WAKE | (changed ? OPS_QUEUE_WRITE : 0);
}

/* Every message; those gone meanwhile are skipped. */
static int
ops_queue_retry_many(const struct ops_actor *a, const char *spool_dir,
    struct ops_queue_retry *rt, struct ops_queue_ids *wake,
    struct ops_status *st)
{
	struct ops_queue_ids ids = { NULL, 0, 0 };
	int r = 0, err;

	if (spool_scan(spool_dir, false, ops_queue_collect, &ids) < 0) {
		ops_queue_ids_free(&ids);
		return ops_fail(st, OPS_EFAIL, "%s: %s", spool_dir,
		    strerror(errno));
	}
	for (size_t i = 0; i < ids.n && r == 0; i++) {
		r = ops_queue_apply(a, spool_dir, ids.v[i],
		    ops_queue_retry_fn, rt, wake, &err, st);
		if (r < 0 && err == ENOENT)
			r = 0;
	}
	ops_queue_ids_free(&ids);
	return r < 0 ? -1 : ops_ok(st);
}

int
ops_queue_retry(const struct ops_actor *a, const char *spool_dir,
    struct ops_queue_retry *rt, struct ops_queue_ids *wake,
    struct ops_status *st)
{
	char domain[256];
	const char *error, *input = rt->domain;
	int err, r;

	rt->matched = rt->messages = rt->held = 0;
	if (ops_queue_check(a, st) < 0)
		return -1;
	if (rt->id != NULL)
		return ops_queue_apply(a, spool_dir, rt->id,
		    ops_queue_retry_fn, rt, wake, &err, st);
	if (input != NULL) {
		if (resolve_parse_domain(input, domain, sizeof(domain),
		    &error) < 0)
			return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
		rt->domain = domain;
	}
	r = ops_queue_retry_many(a, spool_dir, rt, wake, st);
	rt->domain = input;
	return r;
}

/* ---- the actor on the control socket ---- */

size_t
ops_queue_actor_args(const struct ops_actor *a, struct fbuf *storage,
    struct control_arg *args)
{
	size_t name_len;

	fbuf_reset(storage);
	fbuf_adds(storage, a->name != NULL && a->name[0] != '\0' ? a->name :
	    "-");
	name_len = storage->len;
	fbuf_add(storage, "", 1);
	for (size_t i = 0; a->role != OPS_ADMIN && i < a->ndomains; i++) {
		if (i > 0)
			fbuf_adds(storage, ",");
		fbuf_adds(storage, a->domains[i]);
	}
	/* Pointers only now: the buffer no longer grows. */
	args[0] = (struct control_arg){ "as", storage->data };
	if (a->role == OPS_ADMIN)
		return 1;
	args[1] = (struct control_arg){ "scope", storage->data + name_len +
	    1 };
	return 2;
}

int
ops_queue_actor_parse(const char *as, char *scope_buf, const char **doms,
    size_t ndoms, struct ops_actor *a)
{
	size_t n = 0;
	char *p, *rest = scope_buf;

	ops_actor_cli(a);
	if (as != NULL)
		a->name = as;
	if (scope_buf == NULL)
		return 0;
	/* Anything scoped is a postmaster, even with no domain at all. */
	a->role = OPS_POSTMASTER;
	while (rest[0] != '\0' && (p = strsep(&rest, ",")) != NULL) {
		if (n == ndoms || p[0] == '\0')
			return -1;
		doms[n++] = p;
		if (rest == NULL)
			break;
	}
	a->domains = doms;
	a->ndomains = n;
	return 0;
}

/* ---- the wire form of results ---- */

void
ops_queue_wire_add(struct fbuf *out, const char *tag, const void *p,
    size_t len)
{
	fbuf_addf(out, "%s %zu\n", tag, len);
	fbuf_add(out, p, len);
}

int
ops_queue_wire_next(const char **p, const char *end, char tag[16],
    const char **data_r, size_t *len_r)
{
	const char *s = *p, *sp, *nl;
	char num[24];
	uint64_t n;

	if (s == end)
		return 0;
	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL ||
	    (sp = memchr(s, ' ', (size_t)(nl - s))) == NULL ||
	    sp == s || sp - s > 15 || nl - sp - 1 >= (long)sizeof(num) ||
	    nl - sp - 1 == 0)
		return -1;
	memcpy(tag, s, (size_t)(sp - s));
	tag[sp - s] = '\0';
	memcpy(num, sp + 1, (size_t)(nl - sp - 1));
	num[nl - sp - 1] = '\0';
	if (strlen(tag) != (size_t)(sp - s) ||
	    str_parse_uint(num, 0, SIZE_MAX, &n) < 0 ||
	    n > (uint64_t)(end - nl - 1))
		return -1;
	*data_r = nl + 1;
	*len_r = (size_t)n;
	*p = nl + 1 + n;
	return 1;
}

static void
ops_queue_wire_env(struct fbuf *out, const struct spool_env *env)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	spool_env_format(env, &b);
	ops_queue_wire_add(out, "env", b.data, b.len);
	fbuf_release(&b);
}

void
ops_queue_wire_list(const struct ops_queue_list *l, struct fbuf *out)
{
	for (size_t i = 0; i < l->n; i++)
		ops_queue_wire_env(out, &l->envs[i]);
	if (l->warnings.len > 0)
		ops_queue_wire_add(out, "warn", l->warnings.data,
		    l->warnings.len);
}

int
ops_queue_unwire_list(const char *p, size_t len, struct ops_queue_list *out)
{
	const char *end = len > 0 ? p + len : p, *data;
	struct spool_env env;
	char tag[16];
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	fbuf_init(&out->warnings, 0);
	if (len == 0)
		return 0;	/* p may be NULL: an empty fbuf */
	while ((r = ops_queue_wire_next(&p, end, tag, &data, &n)) == 1) {
		if (strcmp(tag, "warn") == 0) {
			fbuf_add(&out->warnings, data, n);
			continue;
		}
		if (strcmp(tag, "env") != 0 ||
		    spool_env_parse(data, n, &env) < 0) {
			r = -1;
			break;
		}
		ops_queue_list_add(out, &env);
	}
	if (r < 0)
		ops_queue_list_free(out);
	return r;
}

void
ops_queue_wire_msg(const struct ops_queue_msg *m, struct fbuf *out)
{
	ops_queue_wire_env(out, &m->env);
	if (m->headers_error != NULL)
		ops_queue_wire_add(out, "headers-error", m->headers_error,
		    strlen(m->headers_error));
	else
		ops_queue_wire_add(out, "headers", m->headers.data,
		    m->headers.len);
}

int
ops_queue_unwire_msg(const char *p, size_t len, struct ops_queue_msg *out)
{
	const char *end = len > 0 ? p + len : p, *data;
	char tag[16];
	bool have_env = false;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	fbuf_init(&out->headers, 0);
	while ((r = ops_queue_wire_next(&p, end, tag, &data, &n)) == 1) {
		if (strcmp(tag, "env") == 0 && !have_env) {
			if (spool_env_parse(data, n, &out->env) < 0) {
				r = -1;
				break;
			}
			have_env = true;
		} else if (strcmp(tag, "headers") == 0)
			fbuf_add(&out->headers, data, n);
		else if (strcmp(tag, "headers-error") == 0 &&
		    out->headers_error == NULL)
			out->headers_error = xstrndup(data, n);
		else {
			r = -1;
			break;
		}
	}
	if (r == 0 && !have_env)
		r = -1;
	if (r < 0) {
		if (!have_env)
			memset(&out->env, 0, sizeof(out->env));
		ops_queue_msg_free(out);
	}
	return r;
}

void
ops_queue_wire_count(struct fbuf *out, const char *name, size_t n)
{
	char num[24];
	int len = snprintf(num, sizeof(num), "%zu", n);

	ops_queue_wire_add(out, name, num, (size_t)len);
}

long long
ops_queue_unwire_count(const char *p, size_t len, const char *name)
{
	const char *end = len > 0 ? p + len : p, *data;
	char tag[16], num[24];
	uint64_t v;
	size_t n;

	while (ops_queue_wire_next(&p, end, tag, &data, &n) == 1) {
		if (strcmp(tag, name) != 0)
			continue;
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, data, n);
		num[n] = '\0';
		if (str_parse_uint(num, 0, INT64_MAX, &v) < 0)
			return -1;
		return (long long)v;
	}
	return -1;
}
