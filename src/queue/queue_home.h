/* Mailbox homing on the queue's side: where a local recipient's mail is
 * delivered when several nodes share the store.  A recipient in a domain
 * whose home node (store.h, `ferry domain node`) is another node is
 * relayed to that node over SMTP, as a backup MX relays to the primary;
 * anything else is delivered here.  Loop protection: this node never
 * relays to itself (its node_name is the home), and a message that came
 * from another node (its client address is a node's SMTP host) is never
 * relayed on: it is delivered here, with a warning in the log, rather
 * than sent round in a circle while the nodes disagree. */
#ifndef FERRY_QUEUE_HOME_H
#define FERRY_QUEUE_HOME_H
#include <stddef.h>

#include "relay/relay.h"

struct conf;
struct spool_env;
struct store;

/* For the local recipient addr of env, on a worker thread with the
 * store s (the caller serialises its use): 1 relay it to the home node
 * (v filled: the node, its SMTP address, and this node's own SMTP host
 * to connect from, so that the home node sees a peer), 0 deliver here,
 * -1 the store failed (a temporary failure). */
int queue_home_route(struct store *s, const struct conf *c,
    const struct spool_env *env, const char *addr, struct relay_via *v);

#endif
