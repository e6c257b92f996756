/* Node and home-node operations (ops_node.h).  Names are host-name
 * shaped and lower-cased, as node_name is compared case-blind; addresses
 * are IP literals with a port (net/nodeaddr.h), stored in their
 * canonical text so that every role compares them as text.  Errors name
 * the object as the rest of the command line does ("b: no such node"). */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/nodeaddr.h"
#include "ops/ops_account.h"
#include "ops/ops_node.h"

int
ops_node_name(const char *input, char *dst, size_t size,
    struct ops_status *st)
{
	size_t n = strlen(input);

	if (n == 0 || n > STORE_NODE_NAME_MAX || n >= size)
		return ops_fail(st, OPS_EINVAL, "node name must be 1 to %d "
		    "characters", STORE_NODE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)input[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ((ch == '-' || ch == '.') &&
		    i > 0 && i + 1 < n)))
			return ops_fail(st, OPS_EINVAL, "invalid node name "
			    "(letters, digits, inner '-' and '.' only)");
	}
	memcpy(dst, input, n + 1);
	str_lower(dst);
	return 0;
}

/* An address option into dst (canonical, "" when absent and optional). */
static int
ops_node_addr(const char *what, const char *input, bool required,
    char *dst, size_t size, struct ops_status *st)
{
	struct nodeaddr a;
	const char *error;

	dst[0] = '\0';
	if (input == NULL || input[0] == '\0') {
		if (required)
			return ops_fail(st, OPS_EUSAGE, "the %s address is "
			    "required", what);
		return 0;
	}
	if (nodeaddr_parse(input, &a, &error) < 0) {
		char shown[80];

		str_lcpy(shown, input, sizeof(shown));
		ops_clean(shown);
		return ops_fail(st, OPS_EINVAL, "%s address %s: %s", what,
		    shown, error);
	}
	nodeaddr_format(&a, dst, size);
	return 0;
}

int
ops_node_add(const struct ops_ctx *c, const char *name, const char *smtp,
    const char *imap, const char *pop3, bool replace, struct ops_status *st)
{
	struct store_node n;
	const char *error;

	memset(&n, 0, sizeof(n));
	if (ops_check_admin(c->actor, "nodes", st) < 0 ||
	    ops_node_name(name, n.name, sizeof(n.name), st) < 0 ||
	    ops_node_addr("smtp", smtp, true, n.smtp, sizeof(n.smtp),
	    st) < 0 ||
	    ops_node_addr("imap", imap, false, n.imap, sizeof(n.imap),
	    st) < 0 ||
	    ops_node_addr("pop3", pop3, false, n.pop3, sizeof(n.pop3), st) < 0)
		return -1;
	if (store_node_add(c->store, &n, replace, &error) == 0)
		return ops_ok(st);
	if (strcmp(error, "node exists") == 0)
		return ops_fail(st, OPS_EEXIST, "%s: node exists already "
		    "(--replace changes its addresses)", n.name);
	if (strcmp(error, "no such node") == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such node", n.name);
	return ops_fail(st, OPS_EFAIL, "%s: %s", n.name, error);
}

int
ops_node_del(const struct ops_ctx *c, const char *name,
    struct ops_status *st)
{
	char key[STORE_NODE_NAME_MAX + 1];
	const char *error;

	if (ops_check_admin(c->actor, "nodes", st) < 0 ||
	    ops_node_name(name, key, sizeof(key), st) < 0)
		return -1;
	if (store_node_del(c->store, key, &error) == 0)
		return ops_ok(st);
	if (strcmp(error, "no such node") == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such node", key);
	if (strncmp(error, "node is the home", 16) == 0)
		return ops_fail(st, OPS_EREFUSED, "%s: %s (`ferry domain node "
		    "DOMAIN --none` or another node first)", key, error);
	return ops_fail(st, OPS_EFAIL, "%s: %s", key, error);
}

static void
ops_node_list_cb(const struct store_node *n, void *ctx)
{
	struct ops_node_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *n;
}

int
ops_node_list(const struct ops_ctx *c, struct ops_node_list *out,
    struct ops_status *st)
{
	const char *error;

	memset(out, 0, sizeof(*out));
	if (ops_check_admin(c->actor, "nodes", st) < 0)
		return -1;
	if (store_node_list(c->store, ops_node_list_cb, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	return ops_ok(st);
}

void
ops_node_list_free(struct ops_node_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
ops_domain_node(const struct ops_ctx *c, const char *domain,
    const char *node, struct ops_status *st)
{
	char dom[256], key[STORE_NODE_NAME_MAX + 1];
	const char *error;
	int r;

	if (ops_domain_arg(c, domain, dom, sizeof(dom), st) < 0 ||
	    ops_check_admin(c->actor, dom, st) < 0)
		return -1;
	if (node != NULL && ops_node_name(node, key, sizeof(key), st) < 0)
		return -1;
	r = store_domain_home_set(c->store, dom, node != NULL ? key : NULL,
	    &error);
	if (r >= 0) {
		ops_ok(st);
		return r;
	}
	if (strcmp(error, "no such node") == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such node (`ferry "
		    "node add` it first)", key);
	if (strcmp(error, "no such domain") == 0)
		return ops_fail(st, OPS_ENOENT, "%s: no such domain", dom);
	return ops_fail(st, OPS_EFAIL, "%s: %s", dom, error);
}

static void
ops_home_list_cb(const char *domain, const char *node, void *ctx)
{
	struct ops_home_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	str_lcpy(l->v[l->n].domain, domain, sizeof(l->v[l->n].domain));
	str_lcpy(l->v[l->n].node, node, sizeof(l->v[l->n].node));
	l->n++;
}

int
ops_home_list(const struct ops_ctx *c, struct ops_home_list *out,
    struct ops_status *st)
{
	const char *error;

	memset(out, 0, sizeof(*out));
	if (store_domain_home_list(c->store, ops_home_list_cb, out,
	    &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	return ops_ok(st);
}

void
ops_home_list_free(struct ops_home_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *
ops_home_of(const struct ops_home_list *l, const char *domain)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].domain, domain) == 0)
			return l->v[i].node;
	return NULL;
}
