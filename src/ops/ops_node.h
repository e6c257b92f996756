/* Nodes sharing the store and domains' home nodes (ops.h): `ferry node
 * add|del|list` and `ferry domain node`.  Admin only: a node's address
 * is trusted by its peers (mail relayed from it, logins proxied to it),
 * so no postmaster may name one.  Blocking (the store): command line or
 * worker threads only. */
#ifndef FERRY_OPS_NODE_H
#define FERRY_OPS_NODE_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops.h"
#include "store/store.h"

struct ops_ctx;

struct ops_node_list {
	struct store_node *v;
	size_t n, cap;
};

/* One domain and its home node. */
struct ops_home {
	char domain[256];
	char node[STORE_NODE_NAME_MAX + 1];
};

struct ops_home_list {
	struct ops_home *v;
	size_t n, cap;
};

/* Checks a node name (host name syntax, at most 63 octets) and writes
 * its stored form (lower case) into dst (size > STORE_NODE_NAME_MAX).
 * 0, or -1 with OPS_EINVAL. */
int ops_node_name(const char *input, char *dst, size_t size,
    struct ops_status *st);
/* Adds a node (replace: changes an existing node's addresses); smtp is
 * required, imap and pop3 may be NULL or "" (not offered).  Addresses
 * are net/nodeaddr.h text. */
int ops_node_add(const struct ops_ctx *c, const char *name, const char *smtp,
    const char *imap, const char *pop3, bool replace, struct ops_status *st);
/* Refused (OPS_EREFUSED) while the node is some domain's home. */
int ops_node_del(const struct ops_ctx *c, const char *name,
    struct ops_status *st);
int ops_node_list(const struct ops_ctx *c, struct ops_node_list *out,
    struct ops_status *st);
void ops_node_list_free(struct ops_node_list *l);
/* Sets domain's home node (node NULL: none).  1 changed, 0 it was so,
 * -1 with st. */
int ops_domain_node(const struct ops_ctx *c, const char *domain,
    const char *node, struct ops_status *st);
/* Every domain that has a home. */
int ops_home_list(const struct ops_ctx *c, struct ops_home_list *out,
    struct ops_status *st);
void ops_home_list_free(struct ops_home_list *l);
/* The home of domain in l, or NULL. */
const char *ops_home_of(const struct ops_home_list *l, const char *domain);

#endif
