/* Per-domain rule operations (ops_rule.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_rule.h"
#include "policy/policy.h"

/* The sender value: "<>", "@domain" or a mailbox, normalised. */
static int
ops_rule_sender(const struct ops_ctx *c, const char *input, char *dst,
    size_t size, struct ops_status *st)
{
	const char *error;
	int r;

	if (strcmp(input, "<>") == 0) {
		str_lcpy(dst, input, size);
		return 0;
	}
	if (input[0] == '@') {
		dst[0] = '@';
		r = resolve_parse_domain(input + 1, dst + 1, size - 1, &error);
	} else
		r = resolve_parse_mailbox(&c->ropts, input, dst, size, &error);
	if (r < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", input, error);
	return 0;
}

/* "dnsbl, rdns" -> "dnsbl,rdns" with every name known. */
static int
ops_rule_checks(char *const *values, size_t n, char *dst, size_t size,
    struct ops_status *st)
{
	struct fbuf b;
	char *copy, *p, *tok;
	int ret = 0;

	fbuf_init(&b, 0);
	for (size_t i = 0; i < n && ret == 0; i++) {
		copy = xstrdup(values[i]);
		for (p = copy; ret == 0 && (tok = strsep(&p, ",")) != NULL; ) {
			tok = str_trim(tok);
			if (*tok == '\0')
				continue;
			if (!policy_check_known(str_lower(tok)))
				ret = ops_fail(st, OPS_EINVAL, "unknown check "
				    "%s (known: client, rate, bad_rcpt, dnsbl, "
				    "rdns, helo, mfcheck, spf, greylist, clamd, "
				    "spamd)", tok);
			else
				fbuf_addf(&b, "%s%s", b.len ? "," : "", tok);
		}
		free(copy);
	}
	if (ret == 0 && b.len == 0)
		ret = ops_fail(st, OPS_EUSAGE, "no checks named");
	if (ret == 0 && str_lcpy(dst, b.data, size) >= size)
		ret = ops_fail(st, OPS_EINVAL, "too many checks");
	fbuf_release(&b);
	return ret;
}

/* The words of a rule into r (domain already set).  0 or -1. */
static int
ops_rule_build(const struct ops_ctx *c, const char *action, const char *kind,
    char *const *values, size_t n, struct store_rule *r,
    struct ops_status *st)
{
	struct cidr net;

	str_lcpy(r->action, action, sizeof(r->action));
	if (strcmp(action, "skip") == 0) {
		str_lcpy(r->kind, "check", sizeof(r->kind));
		return ops_rule_checks(values, n, r->value, sizeof(r->value),
		    st);
	}
	if ((strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0) ||
	    kind == NULL || n != 1)
		return ops_fail(st, OPS_EUSAGE, "not a rule");
	str_lcpy(r->kind, kind, sizeof(r->kind));
	if (strcmp(kind, "sender") == 0)
		return ops_rule_sender(c, values[0], r->value,
		    sizeof(r->value), st);
	if (strcmp(kind, "ip") != 0)
		return ops_fail(st, OPS_EUSAGE, "not a rule");
	if (cidr_parse(values[0], &net) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: not an address or CIDR "
		    "network", values[0]);
	str_lcpy(r->value, values[0], sizeof(r->value));
	return 0;
}

int
ops_rule_add(const struct ops_ctx *c, const char *domain_input,
    const char *action, const char *kind, char *const *values, size_t n,
    struct store_rule *out, struct ops_status *st)
{
	const char *error;

	memset(out, 0, sizeof(*out));
	if (resolve_parse_domain(domain_input, out->domain,
	    sizeof(out->domain), &error) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: %s", domain_input, error);
	if (ops_rule_build(c, action, kind, values, n, out, st) < 0 ||
	    ops_check_domain(c->actor, out->domain, st) < 0)
		return -1;
	if (store_rule_add(c->store, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", out->domain, error);
	return ops_ok(st);
}

static void
ops_rule_list_cb(const struct store_rule *r, void *ctx)
{
	struct ops_rule_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *r;
}

int
ops_rule_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_rule_list *out, struct ops_status *st)
{
	struct ops_status ignored;
	char domain[256];
	const char *error;
	size_t kept = 0;

	memset(out, 0, sizeof(*out));
	if (domain_input != NULL && ops_domain_arg(c, domain_input, domain,
	    sizeof(domain), st) < 0)
		return -1;
	if (store_rule_list(c->store, domain_input != NULL ? domain : NULL,
	    ops_rule_list_cb, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	for (size_t i = 0; i < out->n; i++)
		if (ops_check_domain(c->actor, out->v[i].domain, &ignored) == 0)
			out->v[kept++] = out->v[i];
	out->n = kept;
	return ops_ok(st);
}

void
ops_rule_list_free(struct ops_rule_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
ops_rule_del(const struct ops_ctx *c, int64_t id, struct ops_status *st)
{
	struct ops_rule_list l;
	const char *error;
	bool mine = c->actor->role == OPS_ADMIN;

	/* A postmaster may delete only a rule it can see. */
	if (!mine) {
		if (ops_rule_list(c, NULL, &l, st) == 0)
			for (size_t i = 0; i < l.n && !mine; i++)
				mine = l.v[i].id == id;
		ops_rule_list_free(&l);
	}
	if (!mine)
		return ops_fail(st, OPS_ENOENT, "rule %lld: no such rule",
		    (long long)id);
	if (store_rule_del(c->store, id, &error) < 0)
		return ops_fail(st, OPS_ENOENT, "rule %lld: %s", (long long)id,
		    error);
	return ops_ok(st);
}
