/* Connections per client address, for the listeners of every role
 * (smtpd, pop3d): max_connections and max_connections_per_ip are
 * checked when a connection is accepted, before a session exists, and a
 * refused connection gets at most one line before it is closed.  The
 * table holds only addresses with a connection open; it is empty when
 * zeroed (calloc/memset) and empty again, with nothing to free, once
 * every conncount_add() has had its conncount_del(). */
#ifndef FERRY_CONNCOUNT_H
#define FERRY_CONNCOUNT_H

#define CONNCOUNT_BUCKETS 1024
#define CONNCOUNT_ADDR_LEN 64	/* as cidr_addr_str() writes it */

struct conncount_entry;

struct conncount {
	struct conncount_entry *buckets[CONNCOUNT_BUCKETS];
};

/* Connections open from addr. */
unsigned conncount_get(const struct conncount *c, const char *addr);
/* One more / one fewer connection from addr; a del for an address
 * without connections does nothing. */
void conncount_add(struct conncount *c, const char *addr);
void conncount_del(struct conncount *c, const char *addr);

/* The limit a new connection from addr breaks, when `open` connections
 * are up in all: "max_connections" or "max_connections_per_ip" (static
 * strings, also the reason logged), or NULL when it may be accepted. */
const char *conncount_check(const struct conncount *c, const char *addr,
    unsigned open, unsigned max_total, unsigned max_per_ip);

/* Refuses an accepted connection: reply (a whole line with CRLF; NULL
 * on implicit-TLS ports, where plaintext would only be a protocol error
 * to the client) is sent without waiting, fd is closed, and
 * "- <role> refused address=<addr> reason=<why>" is logged. */
void conncount_refuse(int fd, const char *role, const char *addr,
    const char *reply, const char *why);

#endif
