/* IPv4/IPv6 networks in CIDR form and lists of them.  IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) match IPv4 networks. */
#ifndef FERRY_CIDR_H
#define FERRY_CIDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* "10.0.0.0/8", "::1", "192.0.2.7" (host): 0 or -1. */
int cidr_parse(const char *s, struct cidr *c);
/* Comma/space-separated list; appends to l.  0, or -1 with *bad_r set to
 * a static copy of the offending item. */
int cidr_list_parse(struct cidr_list *l, const char *s, const char **bad_r);
void cidr_list_free(struct cidr_list *l);
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
bool cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);
/* Text form of an address without port, e.g. "192.0.2.7" or "2001:db8::1"
 * (IPv4-mapped shown as IPv4). */
void cidr_addr_str(const struct sockaddr *sa, char *dst, size_t size);
/* An IPv4 or IPv6 literal ("192.0.2.7", "2001:db8::1"; no prefix, no
 * brackets) into *ss with port 0, as written (IPv4-mapped stays IPv6):
 * 0, or -1 when s is neither. */
int cidr_addr_parse(const char *s, struct sockaddr_storage *ss);

#endif
