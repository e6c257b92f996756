/* Peers and home nodes (nodepeer.h).  Each blocking question is one
 * small store read on the caller's worker thread: the node list has a
 * handful of rows, and a domain's home is one indexed lookup.  The loop
 * copy holds the hosts as text, compared with nodeaddr_host_is(). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/nodepeer.h"

struct nodepeer_scan {
	const char *ip;
	const char *self;
	enum nodepeer_service svc;
	bool found;
	char source[NODEADDR_HOST_MAX];
};

/* True when the address text a (may be "") has ip as its host. */
static bool
nodepeer_addr_is(const char *a, const char *ip)
{
	struct nodeaddr na;
	const char *error;

	return a[0] != '\0' && nodeaddr_parse(a, &na, &error) == 0 &&
	    nodeaddr_host_is(ip, na.host);
}

static void
nodepeer_scan_cb(const struct store_node *n, void *ctx)
{
	struct nodepeer_scan *sc = ctx;

	if (nodepeer_addr_is(n->smtp, sc->ip) ||
	    nodepeer_addr_is(n->imap, sc->ip) ||
	    nodepeer_addr_is(n->pop3, sc->ip))
		sc->found = true;
}

int
nodepeer_is_node(struct store *st, const char *ip)
{
	struct nodepeer_scan sc;
	const char *error;

	memset(&sc, 0, sizeof(sc));
	sc.ip = ip;
	if (st == NULL || store_node_list(st, nodepeer_scan_cb, &sc,
	    &error) < 0)
		return -1;
	return sc.found ? 1 : 0;
}

/* This node's own host to connect from: the service's address, else
 * the SMTP one (the address the other nodes know it by). */
static void
nodepeer_self_cb(const struct store_node *n, void *ctx)
{
	struct nodepeer_scan *sc = ctx;
	const char *a = sc->svc == NODEPEER_IMAP ? n->imap : n->pop3;
	struct nodeaddr na;
	const char *error;

	if (strcasecmp(n->name, sc->self) != 0)
		return;
	if ((a[0] != '\0' && nodeaddr_parse(a, &na, &error) == 0) ||
	    (n->smtp[0] != '\0' && nodeaddr_parse(n->smtp, &na, &error) == 0))
		str_lcpy(sc->source, na.host, sizeof(sc->source));
}

int
nodepeer_home(struct store *st, const char *self, const char *address,
    enum nodepeer_service svc, struct nodepeer_home *h,
    const char **error_r)
{
	struct nodepeer_scan sc;
	struct store_node n;
	const char *at = strrchr(address, '@'), *a;
	int r;

	memset(h, 0, sizeof(*h));
	*error_r = "store error";
	if (at == NULL || (r = store_domain_home(st, at + 1, &n)) == 0)
		return 0;
	if (r < 0)
		return -1;
	if (strcasecmp(n.name, self) == 0)
		return 0;
	str_lcpy(h->node, n.name, sizeof(h->node));
	a = svc == NODEPEER_IMAP ? n.imap : n.pop3;
	if (a[0] == '\0') {
		*error_r = svc == NODEPEER_IMAP ? "home node has no IMAP "
		    "address" : "home node has no POP3 address";
		return -2;
	}
	if (nodeaddr_parse(a, &h->addr, error_r) < 0)
		return -2;
	memset(&sc, 0, sizeof(sc));
	sc.self = self;
	sc.svc = svc;
	if (store_node_list(st, nodepeer_self_cb, &sc, error_r) < 0)
		return -1;
	str_lcpy(h->source, sc.source, sizeof(h->source));
	return 1;
}

/* ---- the loop's copy ---- */

#define NODEPEERS_MAX 192		/* hosts kept (three per node) */

struct nodepeers_list {
	char host[NODEPEERS_MAX][NODEADDR_HOST_MAX];
	size_t n;
	bool ok;			/* the read worked */
};

struct nodepeers {
	struct store_pool *sp;
	struct event *tick;
	struct store_req *req;
	char who[16];
	uint64_t gen;
	bool have_gen;
	struct nodepeers_list list;
};

static void
nodepeers_add(struct nodepeers_list *l, const char *a)
{
	struct nodeaddr na;
	const char *error;

	if (a[0] == '\0' || nodeaddr_parse(a, &na, &error) < 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->host[i], na.host) == 0)
			return;
	if (l->n < NODEPEERS_MAX)
		str_lcpy(l->host[l->n++], na.host, sizeof(l->host[0]));
}

static void
nodepeers_list_cb(const struct store_node *n, void *ctx)
{
	struct nodepeers_list *l = ctx;

	nodepeers_add(l, n->smtp);
	nodepeers_add(l, n->imap);
	nodepeers_add(l, n->pop3);
}

static void
nodepeers_work(struct store *conn, void *data)
{
	struct nodepeers_list *l = data;
	const char *error;

	l->ok = conn != NULL && store_node_list(conn, nodepeers_list_cb, l,
	    &error) == 0;
}

static void
nodepeers_done(void *data, void *ctx)
{
	struct nodepeers_list *l = data;
	struct nodepeers *np = ctx;

	np->req = NULL;
	if (!l->ok) {
		np->have_gen = false;	/* asked again at the next tick */
		return;
	}
	if (l->n != np->list.n || memcmp(l->host, np->list.host,
	    l->n * sizeof(l->host[0])) != 0)
		log_info("- %s peers-known nodes-hosts=%zu", np->who, l->n);
	np->list = *l;
}

static const struct store_job nodepeers_job = {
	.name = "node-peers",
	.work = nodepeers_work,
	.done = nodepeers_done,
};

static void
nodepeers_tick(evutil_socket_t fd, short what, void *arg)
{
	struct nodepeers *np = arg;
	uint64_t gen;

	if (np->req != NULL || store_pool_generation(np->sp, &gen) < 0)
		return;
	if (np->have_gen && gen == np->gen)
		return;
	np->gen = gen;
	np->have_gen = true;
	np->req = store_req_submit(np->sp, &nodepeers_job,
	    xcalloc(1, sizeof(struct nodepeers_list)), np);
}

struct nodepeers *
nodepeers_new(struct event_base *base, struct store_pool *sp,
    const char *who)
{
	struct nodepeers *np = xcalloc(1, sizeof(*np));
	struct timeval second = { 1, 0 };

	np->sp = sp;
	str_lcpy(np->who, who, sizeof(np->who));
	np->tick = event_new(base, -1, EV_PERSIST, nodepeers_tick, np);
	event_add(np->tick, &second);
	nodepeers_tick(-1, 0, np);
	return np;
}

void
nodepeers_free(struct nodepeers **npp)
{
	struct nodepeers *np = *npp;

	if (np == NULL)
		return;
	store_req_abort(&np->req);
	event_free(np->tick);
	free(np);
	*npp = NULL;
}

bool
nodepeers_match(const struct nodepeers *np, const struct sockaddr *sa)
{
	char ip[64];

	if (np == NULL || np->list.n == 0)
		return false;
	cidr_addr_str(sa, ip, sizeof(ip));
	for (size_t i = 0; i < np->list.n; i++)
		if (nodeaddr_host_is(ip, np->list.host[i]))
			return true;
	return false;
}
