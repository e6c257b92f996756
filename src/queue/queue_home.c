/* Mailbox homing for the queue role (queue_home.h).  Runs on the
 * delivery workers beside the Maildir delivery it replaces, one store
 * lookup per local recipient (the domain's home joined with its node);
 * the node list is read only when the home is another node, to find
 * this node's own address and to recognise mail that came from a peer.
 * What the relay then does with the address is relay/relay.c's. */
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "net/nodeaddr.h"
#include "queue/queue_home.h"
#include "queue/spool.h"
#include "store/store.h"

struct queue_home_scan {
	const char *self;		/* this node's name */
	const char *client;		/* the message's client address */
	char source[NODEADDR_HOST_MAX];	/* this node's SMTP host */
	char peer[STORE_NODE_NAME_MAX + 1];	/* the node it came from */
};

static void
queue_home_scan_cb(const struct store_node *n, void *ctx)
{
	struct queue_home_scan *sc = ctx;
	struct nodeaddr a;
	const char *error;

	if (nodeaddr_parse(n->smtp, &a, &error) < 0)
		return;
	if (strcasecmp(n->name, sc->self) == 0)
		str_lcpy(sc->source, a.host, sizeof(sc->source));
	else if (sc->peer[0] == '\0' && nodeaddr_host_is(sc->client, a.host))
		str_lcpy(sc->peer, n->name, sizeof(sc->peer));
}

int
queue_home_route(struct store *s, const struct conf *c,
    const struct spool_env *env, const char *addr, struct relay_via *v)
{
	struct queue_home_scan sc;
	struct nodeaddr smtp;
	struct store_node n;
	const char *at = strrchr(addr, '@'), *error;
	int r;

	memset(v, 0, sizeof(*v));
	if (at == NULL || (r = store_domain_home(s, at + 1, &n)) == 0)
		return 0;
	if (r < 0)
		return -1;
	if (strcasecmp(n.name, conf_node_name(c)) == 0)
		return 0;
	if (nodeaddr_parse(n.smtp, &smtp, &error) < 0) {
		log_warnx("%s queue home-address-bad node=%s address=%s "
		    "reason=%s delivered=here", env->id, log_q(n.name),
		    log_q(n.smtp), error);
		return 0;
	}
	memset(&sc, 0, sizeof(sc));
	sc.self = conf_node_name(c);
	sc.client = env->client_addr != NULL ? env->client_addr : "";
	if (store_node_list(s, queue_home_scan_cb, &sc, &error) < 0)
		return -1;
	if (sc.peer[0] != '\0') {
		log_warnx("%s queue home-loop rcpt=<%s> home=%s from-node=%s "
		    "delivered=here", env->id, log_q(addr), log_q(n.name),
		    log_q(sc.peer));
		return 0;
	}
	str_lcpy(v->node, n.name, sizeof(v->node));
	str_lcpy(v->host, smtp.host, sizeof(v->host));
	v->port = smtp.port;
	str_lcpy(v->source, sc.source, sizeof(v->source));
	return 1;
}
