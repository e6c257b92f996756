/* The delivery history for `ferry why` and /why (ops_history.h): the
 * question checked, the store asked (store_hist_query), the answer cut
 * to the actor's scope and each recipient given its outcome. */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_history.h"

/* A key's bytes: printable ASCII or UTF-8, nothing that could be a
 * control byte, a space or a quote. */
static bool
ops_history_clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	    p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\')
			return false;
	return true;
}

static int
ops_history_check_addr(const struct ops_actor *a, const char *key,
    struct ops_status *st)
{
	const char *at = strrchr(key, '@');

	if (strlen(key) > STORE_HIST_ADDR_MAX - 2 || at == NULL ||
	    at == key || at[1] == '\0' || !ops_history_clean(key))
		return ops_fail(st, OPS_EINVAL, "not an address");
	if (a->role == OPS_USER && ops_check_mailbox(a, key, st) < 0)
		return ops_fail(st, OPS_EPERM, "you may ask only about your "
		    "own address (%s)", a->name != NULL ? a->name : "");
	return ops_check_mailbox(a, key, st);
}

static int
ops_history_check_domain(const struct ops_actor *a, const char *key,
    struct ops_status *st)
{
	char dom[256];

	if (strlen(key) > 253 || strchr(key, '@') != NULL ||
	    !ops_history_clean(key) || key[0] == '.')
		return ops_fail(st, OPS_EINVAL, "not a domain");
	if (a->role == OPS_USER)
		return ops_fail(st, OPS_EPERM, "a user may ask about an "
		    "address, not a domain");
	str_lcpy(dom, key, sizeof(dom));
	str_lower(dom);
	return ops_check_domain(a, dom, st);
}

int
ops_history_check(const struct ops_actor *a, enum store_hist_by by,
    const char *key, struct ops_status *st)
{
	if (key == NULL || key[0] == '\0')
		return ops_fail(st, OPS_EUSAGE, "nothing asked");
	switch (by) {
	case STORE_HIST_BY_ID:
		if (!ids_valid(key))
			return ops_fail(st, OPS_EINVAL, "not a queue id "
			    "(%d lower-case hex digits)", IDS_LEN);
		return ops_ok(st);
	case STORE_HIST_BY_RCPT:
		return ops_history_check_addr(a, key, st);
	case STORE_HIST_BY_DOMAIN:
		return ops_history_check_domain(a, key, st);
	}
	return ops_fail(st, OPS_EINVAL, "unknown question");
}

/* ---- reading ---- */

struct ops_history_ctx {
	struct ops_history *h;
};

static void
ops_history_msg_cb(const struct store_hist_msg *m, void *ctx)
{
	struct ops_history *h = ((struct ops_history_ctx *)ctx)->h;
	struct ops_history_msg *v;

	h->v = xreallocarray(h->v, h->n + 1, sizeof(*h->v));
	v = &h->v[h->n++];
	memset(v, 0, sizeof(*v));
	v->m = *m;
	v->m.rcpts = xstrdup(m->rcpts != NULL ? m->rcpts : "");
}

static void
ops_history_attempt_cb(const struct store_hist_attempt *a, void *ctx)
{
	struct ops_history *h = ((struct ops_history_ctx *)ctx)->h;
	struct ops_history_msg *v;

	if (h->n == 0)
		return;
	v = &h->v[h->n - 1];
	v->a = xreallocarray(v->a, v->na + 1, sizeof(*v->a));
	v->a[v->na++] = *a;
}

/* Whether actor a may see recipient (or sender) addr. */
static bool
ops_history_sees(const struct ops_actor *a, const char *addr)
{
	struct ops_status st;
	char low[STORE_HIST_ADDR_MAX];

	if (a->role == OPS_ADMIN)
		return true;
	if (addr[0] == '\0' || strchr(addr, '@') == NULL)
		return false;
	str_lcpy(low, addr, sizeof(low));
	str_lower(low);
	return ops_check_mailbox(a, low, &st) == 0;
}

/* Whether recipient addr answers the question. */
static bool
ops_history_asked(enum store_hist_by by, const char *key, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (by == STORE_HIST_BY_RCPT)
		return str_ieq(addr, key);
	if (by == STORE_HIST_BY_DOMAIN)
		return at != NULL && str_ieq(at + 1, key);
	return true;
}

static void
ops_history_add_rcpt(struct ops_history_msg *v, const char *addr)
{
	for (size_t i = 0; i < v->nrcpts; i++)
		if (str_ieq(v->rcpts[i].addr, addr))
			return;
	v->rcpts = xreallocarray(v->rcpts, v->nrcpts + 1, sizeof(*v->rcpts));
	memset(&v->rcpts[v->nrcpts], 0, sizeof(*v->rcpts));
	str_lcpy(v->rcpts[v->nrcpts++].addr, addr, sizeof(v->rcpts[0].addr));
}

/* The recipients v shows (the arrival's, then any only attempts name),
 * cut to the scope, and the attempts about them only. */
static void
ops_history_scope(const struct ops_actor *a, enum store_hist_by by,
    const char *key, struct ops_history_msg *v)
{
	char addr[STORE_HIST_ADDR_MAX];
	const char *p = v->m.rcpts;
	size_t n, kept = 0;

	v->whole = by == STORE_HIST_BY_ID && (a->role == OPS_ADMIN ||
	    ops_history_sees(a, v->m.sender));
	while (*p != '\0') {
		n = strcspn(p, "\n");
		if (n > 0 && n < sizeof(addr)) {
			memcpy(addr, p, n);
			addr[n] = '\0';
			if (ops_history_asked(by, key, addr) && (v->whole ||
			    ops_history_sees(a, addr)))
				ops_history_add_rcpt(v, addr);
		}
		p += n;
		p += strspn(p, "\n");
	}
	for (size_t i = 0; i < v->na; i++) {
		const char *r = v->a[i].rcpt;

		if (!ops_history_asked(by, key, r) || (!v->whole &&
		    !ops_history_sees(a, r)))
			continue;
		ops_history_add_rcpt(v, r);
		v->a[kept++] = v->a[i];
	}
	v->na = kept;
	/* Each recipient's outcome is its last attempt. */
	for (size_t i = 0; i < v->na; i++)
		for (size_t k = 0; k < v->nrcpts; k++)
			if (str_ieq(v->rcpts[k].addr, v->a[i].rcpt))
				v->rcpts[k].last = &v->a[i];
}

static void
ops_history_msg_free(struct ops_history_msg *v)
{
	free(v->m.rcpts);
	free(v->a);
	free(v->rcpts);
}

/* Drops the messages with nothing in scope. */
static void
ops_history_cut(const struct ops_actor *a, enum store_hist_by by,
    const char *key, struct ops_history *h)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->n; i++) {
		struct ops_history_msg *v = &h->v[i];

		ops_history_scope(a, by, key, v);
		if (v->nrcpts == 0 && !v->whole) {
			ops_history_msg_free(v);
			continue;
		}
		h->v[kept++] = *v;
	}
	h->n = kept;
}

int
ops_history_read(const struct ops_actor *a, struct store *s,
    const struct conf *c, enum store_hist_by by, const char *key,
    bool all_nodes, struct ops_history *h, struct ops_status *st)
{
	struct ops_history_ctx x = { h };
	const char *error = "";

	memset(h, 0, sizeof(*h));
	if (ops_history_check(a, by, key, st) < 0)
		return -1;
	h->shared = conf_store_shared(c);
	if (store_hist_query(s, by, key, h->shared && !all_nodes ?
	    conf_node_name(c) : NULL, OPS_HISTORY_LIMIT, ops_history_msg_cb,
	    ops_history_attempt_cb, &x, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	ops_history_cut(a, by, key, h);
	return ops_ok(st);
}

void
ops_history_free(struct ops_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		ops_history_msg_free(&h->v[i]);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

const char *
ops_history_outcome(const struct ops_history_rcpt *r)
{
	if (r->last == NULL)
		return "queued";
	if (strcmp(r->last->result, "deferred") == 0)
		return "pending";
	return r->last->result;
}

bool
ops_history_has(const struct ops_history *h, const char *id)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].m.id, id) == 0)
			return true;
	return false;
}
