/* CIDR parsing and matching for relay_networks and friends. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	uint64_t prefix;
	unsigned max;

	if (str_lcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL)
		prefix = max;
	else if (str_parse_uint(slash, 0, max, &prefix) < 0)
		return -1;
	c->prefix = (unsigned)prefix;
	return 0;
}

int
cidr_list_parse(struct cidr_list *l, const char *s, const char **bad_r)
{
	static __thread char bad[64];
	char *copy = xstrdup(s), *save = NULL, *tok;
	struct cidr c;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (cidr_parse(tok, &c) < 0) {
			str_lcpy(bad, tok, sizeof(bad));
			*bad_r = bad;
			free(copy);
			return -1;
		}
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = c;
	}
	free(copy);
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool
cidr_bits_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return c->family == AF_INET &&
		    cidr_bits_match(c->addr, (const uint8_t *)&in->sin_addr,
		    c->prefix);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		if (c->family == AF_INET6)
			return cidr_bits_match(c->addr, a, c->prefix);
		if (memcmp(a, mapped, 12) == 0)
			return cidr_bits_match(c->addr, a + 12, c->prefix);
	}
	return false;
}

bool
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], sa))
			return true;
	return false;
}

void
cidr_addr_str(const struct sockaddr *sa, char *dst, size_t size)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, dst, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, mapped, 12) == 0)
			inet_ntop(AF_INET, a + 12, dst, (socklen_t)size);
		else
			inet_ntop(AF_INET6, a, dst, (socklen_t)size);
	} else
		str_lcpy(dst, "unknown", size);
}

int
cidr_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	else
		return -1;
	return 0;
}
