/* Connections per client address (conncount.h): a chained hash table
 * keyed by the address text, djb2-hashed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/conncount.h"

struct conncount_entry {
	struct conncount_entry *next;
	char addr[CONNCOUNT_ADDR_LEN];
	unsigned n;
};

static unsigned
conncount_hash(const char *addr)
{
	return str_hash(addr) % CONNCOUNT_BUCKETS;
}

static struct conncount_entry **
conncount_slot(struct conncount *c, const char *addr)
{
	struct conncount_entry **pp;

	for (pp = &c->buckets[conncount_hash(addr)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (strcmp((*pp)->addr, addr) == 0)
			break;
	return pp;
}

unsigned
conncount_get(const struct conncount *c, const char *addr)
{
	const struct conncount_entry *e;

	for (e = c->buckets[conncount_hash(addr)]; e != NULL; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			return e->n;
	return 0;
}

void
conncount_add(struct conncount *c, const char *addr)
{
	struct conncount_entry **pp = conncount_slot(c, addr), *e = *pp;

	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		*pp = e;
	}
	e->n++;
}

void
conncount_del(struct conncount *c, const char *addr)
{
	struct conncount_entry **pp = conncount_slot(c, addr), *e = *pp;

	if (e == NULL)
		return;
	if (e->n > 0)
		e->n--;
	if (e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

const char *
conncount_check(const struct conncount *c, const char *addr,
    unsigned open, unsigned max_total, unsigned max_per_ip)
{
	if (open >= max_total)
		return "max_connections";
	if (conncount_get(c, addr) >= max_per_ip)
		return "max_connections_per_ip";
	return NULL;
}

void
conncount_refuse(int fd, const char *role, const char *addr,
    const char *reply, const char *why)
{
	if (reply != NULL && send(fd, reply, strlen(reply),
	    MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* the peer is gone already */
	}
	close(fd);
	log_info("- %s refused address=%s reason=%s", role, addr, why);
}
