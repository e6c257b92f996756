/* The address of one service of a node in a cluster sharing a store
 * (`ferry node add --smtp ADDR`): an IP literal and a port, "IPv4:PORT"
 * or "[IPv6]:PORT".  No host names: peers are recognised by their source
 * address (a name would need DNS on the loop and could change under a
 * trusted entry), and a relay between nodes must not depend on DNS. */
#ifndef FERRY_NODEADDR_H
#define FERRY_NODEADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NODEADDR_HOST_MAX 46		/* INET6_ADDRSTRLEN */
#define NODEADDR_TEXT_MAX 64		/* "[" host "]:" port NUL */

struct nodeaddr {
	char host[NODEADDR_HOST_MAX];	/* canonical text, no brackets */
	unsigned port;
	bool v6;
};

/* Parses s ("192.0.2.7:25", "[2001:db8::1]:25").  0, or -1 with
 * *error_r a static reason. */
int nodeaddr_parse(const char *s, struct nodeaddr *a, const char **error_r);
/* The canonical text form of a into dst ("[...]:port" for IPv6). */
void nodeaddr_format(const struct nodeaddr *a, char *dst, size_t size);
/* True when sa (any port) is a's host; IPv4-mapped IPv6 matches IPv4. */
bool nodeaddr_is_host(const struct nodeaddr *a, const struct sockaddr *sa);
/* The same for a text address as cidr_addr_str() writes it. */
bool nodeaddr_host_is(const char *addr_text, const char *host);
/* Binds the unconnected socket fd of family to the IP literal source
 * (this node's entered address, so that a peer node recognises it); a
 * source of another family or not a literal is left to the kernel.  0,
 * or -1 with errno. */
int nodeaddr_bind_source(int fd, int family, const char *source);

#endif
