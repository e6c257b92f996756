/* Listening, accepting, connection limits and the session list, shared by
 * every TCP protocol (listener.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "ferry.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib/metrics.h"
#include "net/listener.h"
#include "net/nodepeer.h"
#include "net/tls.h"

struct listener_sock {
	struct listener_set *set;
	struct evconnlistener *l;
	int kind;
	bool tls;
	struct metrics_listener *m;	/* its counters, or NULL */
	int nodelay;	/* 1 accepted sockets inherit TCP_NODELAY, -1 they
			 * do not (set on each), 0 not known yet */
};

struct listener_set {
	struct event_base *base;
	const char *proto;
	struct listener_ops ops;
	void *ctx;
	struct listener_sock *socks;
	size_t nsocks;
	struct listener_session *sessions;	/* doubly linked */
	unsigned nsessions;
	unsigned max_total, max_per_ip;
	struct conncount conns;		/* open connections per address */
	const struct nodepeers *peers;	/* exempt from max_per_ip */
	bool stopping;
};

struct listener_set *
listener_set_create(struct event_base *base, const char *proto,
    const struct listener_ops *ops, void *ctx)
{
	struct listener_set *set = xcalloc(1, sizeof(*set));

	set->base = base;
	set->proto = proto;
	set->ops = *ops;
	set->ctx = ctx;
	set->max_total = set->max_per_ip = ~0u;
	return set;
}

void
listener_refuse(const struct listener_set *set, const struct listener_conn *c,
    const char *reply, const char *why)
{
	conncount_refuse(c->fd, set->proto, c->addr, reply, why);
}

/* True when TCP_NODELAY is on for the socket fd. */
static bool
listener_nodelay_on(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 &&
	    on != 0;
}

static void
listener_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_sock *sock = arg;
	struct listener_set *set = sock->set;
	struct listener_session *ls;
	struct listener_conn c;
	const char *why, *reply = NULL;
	char addr[CONNCOUNT_ADDR_LEN], buf[512];

	if (set->stopping) {
		close(fd);
		return;
	}
	cidr_addr_str(sa, addr, sizeof(addr));
	c = (struct listener_conn){ .fd = fd, .sa = sa,
		.salen = (socklen_t)salen, .addr = addr, .kind = sock->kind,
		.tls = sock->tls };
	why = conncount_check(&set->conns, addr, set->nsessions,
	    set->max_total, nodepeers_match(set->peers, sa) ? ~0u :
	    set->max_per_ip);
	if (why != NULL) {
		/* One line, but not on TLS ports, where plaintext would only
		 * be a protocol error to the client. */
		if (!sock->tls)
			reply = set->ops.busy_reply(set->ctx, &c, why, buf,
			    sizeof(buf));
		listener_refuse(set, &c, reply, why);
		if (sock->m != NULL)
			metrics_inc(&sock->m->refused);
		return;
	}
	if (set->ops.admit != NULL && !set->ops.admit(set->ctx, &c))
		return;
	/* Replies are written whole (coalesced per pipelined batch): Nagle
	 * would only hold back TLS handshake flights and the next reply.
	 * Linux hands the listening socket's TCP_NODELAY on to accepted
	 * ones (listener_set_adopt sets it there): the first connection
	 * shows whether it did, and only if not is it set on each. */
	if (sock->nodelay == 0)
		sock->nodelay = listener_nodelay_on(fd) ? 1 : -1;
	if (sock->nodelay < 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
	    &(int){ 1 }, sizeof(int)) < 0)
		log_debug("- %s nodelay-failed address=%s", set->proto, addr);
	if ((ls = set->ops.accept(set->ctx, &c)) == NULL)
		return;
	memcpy(ls->addr, addr, sizeof(ls->addr));
	ls->prev = NULL;
	ls->next = set->sessions;
	if (set->sessions != NULL)
		set->sessions->prev = ls;
	set->sessions = ls;
	ls->linked = true;
	set->nsessions++;
	conncount_add(&set->conns, ls->addr);
	ls->metrics = sock->m;
	if (sock->m != NULL) {
		metrics_inc(&sock->m->connections);
		metrics_gauge_add(&sock->m->sessions, 1);
	}
}

static void
listener_error_cb(struct evconnlistener *l, void *arg)
{
	struct listener_sock *sock = arg;

	/* EMFILE and friends: back off briefly instead of spinning. */
	log_warn("- %s accept-failed", sock->set->proto);
	evconnlistener_disable(l);
	usleep(10000);
	evconnlistener_enable(l);
}

size_t
listener_set_adopt(struct listener_set *set, const struct ferry_listener *v,
    size_t n, const struct listener_kind *kinds, size_t nkinds, bool have_tls)
{
	set->socks = xreallocarray(set->socks, set->nsocks + n,
	    sizeof(*set->socks));
	for (size_t i = 0; i < n; i++) {
		const struct listener_kind *k = NULL;
		struct listener_sock *sock;

		for (size_t j = 0; j < nkinds && k == NULL; j++)
			if (strcmp(v[i].kind, kinds[j].name) == 0)
				k = &kinds[j];
		if (k == NULL)
			continue;	/* another protocol's */
		if (k->tls && !have_tls) {
			log_warnx("- %s listener-skipped addr=%s reason=\"%s "
			    "needs tls_cert and tls_key\"", set->proto,
			    v[i].addr, k->name);
			continue;
		}
		sock = &set->socks[set->nsocks];
		sock->set = set;
		sock->kind = k->kind;
		sock->tls = k->tls;
		sock->m = metrics_listener_find(v[i].kind, v[i].addr);
		/* Inherited by accepted sockets on Linux (listener_accept_cb
		 * checks); where it cannot be set, each gets it instead. */
		sock->nodelay = setsockopt(v[i].fd, IPPROTO_TCP, TCP_NODELAY,
		    &(int){ 1 }, sizeof(int)) == 0 ? 0 : -1;
		if (sock->m != NULL)
			atomic_store(&sock->m->owner, (int32_t)getpid());
		sock->l = evconnlistener_new(set->base, listener_accept_cb,
		    sock, LEV_OPT_CLOSE_ON_EXEC, -1, v[i].fd);
		if (sock->l == NULL)
			log_fatalx("- %s cannot listen on %s", set->proto,
			    v[i].addr);
		evconnlistener_set_error_cb(sock->l, listener_error_cb);
		set->nsocks++;
	}
	return set->nsocks;
}

void
listener_set_peers(struct listener_set *set, const struct nodepeers *peers)
{
	set->peers = peers;
}

void
listener_set_limits(struct listener_set *set, unsigned max_total,
    unsigned max_per_ip)
{
	set->max_total = max_total;
	set->max_per_ip = max_per_ip;
}

unsigned
listener_set_count(const struct listener_set *set)
{
	return set->nsessions;
}

size_t
listener_set_nlisteners(const struct listener_set *set)
{
	return set->nsocks;
}

bool
listener_set_stopping(const struct listener_set *set)
{
	return set->stopping;
}

struct listener_session *
listener_set_first(const struct listener_set *set)
{
	return set->sessions;
}

void
listener_session_init(struct listener_session *ls, void *owner)
{
	memset(ls, 0, sizeof(*ls));
	ls->owner = owner;
}

void
listener_session_gone(struct listener_set *set, struct listener_session *ls)
{
	if (!ls->linked)
		return;
	if (ls->prev != NULL)
		ls->prev->next = ls->next;
	else
		set->sessions = ls->next;
	if (ls->next != NULL)
		ls->next->prev = ls->prev;
	ls->prev = ls->next = NULL;
	ls->linked = false;
	set->nsessions--;
	conncount_del(&set->conns, ls->addr);
	if (ls->metrics != NULL)
		metrics_gauge_add(&ls->metrics->sessions, -1);
	if (set->stopping && set->nsessions == 0 && set->ops.idle != NULL)
		set->ops.idle(set->ctx);
}

void
listener_set_stop(struct listener_set *set)
{
	struct listener_session *ls, *next;

	if (set->stopping)
		return;
	set->stopping = true;
	log_info("- %s stopping sessions=%u", set->proto, set->nsessions);
	for (size_t i = 0; i < set->nsocks; i++)
		evconnlistener_disable(set->socks[i].l);
	for (ls = set->sessions; ls != NULL; ls = next) {
		next = ls->next;
		set->ops.shutdown(ls->owner);
	}
	if (set->nsessions == 0 && set->ops.idle != NULL)
		set->ops.idle(set->ctx);
}

void
listener_set_free(struct listener_set **setp)
{
	struct listener_set *set = *setp;

	if (set == NULL)
		return;
	set->ops.idle = NULL;
	while (set->sessions != NULL)
		listener_session_gone(set, set->sessions);
	for (size_t i = 0; i < set->nsocks; i++)
		evconnlistener_free(set->socks[i].l);
	free(set->socks);
	free(set);
	*setp = NULL;
}

struct bufferevent *
listener_bufferevent(struct event_base *base, int fd, struct tls_server *tls)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (tls == NULL) {
		if ((bev = bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL)
			close(fd);
		return bev;
	}
	if ((ssl = tls_server_ssl(tls)) == NULL) {
		close(fd);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}
