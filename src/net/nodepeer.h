/* What the mailbox roles and the ban checks need to know about the other
 * nodes sharing the store (store.h "nodes and home nodes"): whether an
 * address is a node's (peers are exempt from failed-login bans and may
 * name their clients' addresses), and where a logged-in user's mailbox
 * lives.  Both read the store and block: worker threads only, with the
 * worker's own connection.  No caching: a node or a home changed with
 * the command line counts for the next login. */
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

#endif
