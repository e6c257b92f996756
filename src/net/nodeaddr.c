/* Node service addresses (nodeaddr.h): IP literal and port only.  The
 * host is rewritten into inet_ntop's canonical form so that two
 * spellings of one address compare equal as text (the store keeps the
 * text, and the smtpd and queue roles compare source addresses with
 * it).  No I/O, but for binding a socket to a node's source address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/cidr.h"
#include "lib/strutil.h"
#include "net/nodeaddr.h"

/* Splits s into host (brackets removed) and port text: 0 or -1. */
static int
nodeaddr_split(const char *s, char *host, size_t hsize, const char **port_r,
    bool *bracket_r)
{
	const char *colon, *end;
	size_t n;

	*bracket_r = s[0] == '[';
	if (*bracket_r) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		n = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hsize)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	*port_r = colon + 1;
	return 0;
}

int
nodeaddr_parse(const char *s, struct nodeaddr *a, const char **error_r)
{
	char host[NODEADDR_HOST_MAX + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port;
	uint64_t p;
	bool bracket;

	memset(a, 0, sizeof(*a));
	if (nodeaddr_split(s, host, sizeof(host), &port, &bracket) < 0) {
		*error_r = "expected IP:PORT or [IPv6]:PORT";
		return -1;
	}
	if (str_parse_uint(port, 1, 65535, &p) < 0) {
		*error_r = "port must be 1 to 65535";
		return -1;
	}
	if (!bracket && inet_pton(AF_INET, host, bin) == 1)
		a->v6 = false;
	else if (bracket && inet_pton(AF_INET6, host, bin) == 1)
		a->v6 = true;
	else {
		*error_r = bracket ? "not an IPv6 address" :
		    "not an IPv4 address (IPv6 goes in brackets; no host "
		    "names)";
		return -1;
	}
	if (inet_ntop(a->v6 ? AF_INET6 : AF_INET, bin, a->host,
	    sizeof(a->host)) == NULL) {
		*error_r = "not an IP address";
		return -1;
	}
	a->port = (unsigned)p;
	return 0;
}

void
nodeaddr_format(const struct nodeaddr *a, char *dst, size_t size)
{
	snprintf(dst, size, a->v6 ? "[%s]:%u" : "%s:%u", a->host, a->port);
}

bool
nodeaddr_host_is(const char *addr_text, const char *host)
{
	unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];
	int fx = strchr(addr_text, ':') != NULL ? AF_INET6 : AF_INET;
	int fy = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;

	if (fx != fy || inet_pton(fx, addr_text, x) != 1 ||
	    inet_pton(fy, host, y) != 1)
		return false;
	return memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

bool
nodeaddr_is_host(const struct nodeaddr *a, const struct sockaddr *sa)
{
	char text[NODEADDR_HOST_MAX];

	cidr_addr_str(sa, text, sizeof(text));
	return nodeaddr_host_is(text, a->host);
}

int
nodeaddr_bind_source(int fd, int family, const char *source)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET && inet_pton(AF_INET, source,
	    &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof(*s4);
	} else if (family == AF_INET6 && inet_pton(AF_INET6, source,
	    &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof(*s6);
	} else
		return 0;
	return bind(fd, (struct sockaddr *)&ss, len);
}
