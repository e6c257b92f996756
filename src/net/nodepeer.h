/* What the roles and the ban checks need to know about the other nodes
 * sharing the store (store.h "nodes and home nodes"): whether an address
 * is a node's (peers are exempt from failed-login bans, per-address
 * connection limits and the inbound checks, and may name their clients'
 * addresses), and where a logged-in user's mailbox lives.
 * nodepeer_is_node() and nodepeer_home() read the store and block:
 * worker threads only, with the worker's own connection, no caching.
 * struct nodepeers is the loop thread's copy of the nodes' hosts, for
 * decisions made at accept time; it follows the store's change counter
 * (store_pool_generation, looked at every second) and is read again
 * through the store's request API when that moves. */
#ifndef FERRY_NODEPEER_H
#define FERRY_NODEPEER_H
#include <stdbool.h>

#include "net/nodeaddr.h"
#include "store/store.h"

/* 1 when ip (text, as cidr_addr_str() writes it) is the host of one of
 * the SMTP, IMAP or POP3 addresses of any node in the store (this node's
 * own included), 0 not, -1 store error. */
int nodepeer_is_node(struct store *st, const char *ip);

enum nodepeer_service {
	NODEPEER_IMAP,
	NODEPEER_POP3
};

/* Where to proxy a login to. */
struct nodepeer_home {
	char node[STORE_NODE_NAME_MAX + 1];
	struct nodeaddr addr;		/* the home's IMAP or POP3 address */
	char source[NODEADDR_HOST_MAX];	/* this node's own host for that
					 * service (else its SMTP host) to
					 * connect from; "" when unknown */
};

/* For the logged-in address (canonical, "user@domain"), on node self:
 * 1 its domain's home is another node (h filled), 0 the mailbox is here
 * (no home, or the home is self), -1 store error, -2 the home node has
 * no usable address for svc (*error_r says why).  Callers treat -1 and
 * -2 as a temporary failure, never as "serve it here". */
int nodepeer_home(struct store *st, const char *self, const char *address,
    enum nodepeer_service svc, struct nodepeer_home *h,
    const char **error_r);

struct event_base;
struct sockaddr;
struct store_pool;
struct nodepeers;

/* who names the role in logs ("smtp", "imap", "pop3").  The first read
 * starts at once; until it has answered nothing is a peer. */
struct nodepeers *nodepeers_new(struct event_base *base,
    struct store_pool *sp, const char *who);
void nodepeers_free(struct nodepeers **npp);
/* True when sa's host is one of the nodes' hosts (this node's own
 * included), as last read.  NULL np: false. */
bool nodepeers_match(const struct nodepeers *np, const struct sockaddr *sa);

#endif
