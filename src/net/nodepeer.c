/* Peers and home nodes for logins (nodepeer.h).  Each question is one
 * small store read on the caller's worker thread: the node list has a
 * handful of rows, and a domain's home is one indexed lookup. */
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
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
