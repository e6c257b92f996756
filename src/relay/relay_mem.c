/* Reachability memory shared by every delivery of the queue role: an
 * address:port that just failed at connection level (timeout, refused,
 * greeting never came, TLS hang) is tried after the others for
 * host_down_memory seconds, and one whose TLS handshake failed is
 * spoken to in plaintext (under tls=may only) for tls_broken_memory.
 * A small hash table; entries expire lazily and on a minute's prune.
 * It forgets everything on restart, which is the safe direction. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "relay/relay_private.h"

void
relay_mem_key(const struct sockaddr *sa, char *dst, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(dst, size, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(dst, size, "[%s]:%u", ip, port);
	} else
		snprintf(dst, size, "?");
}

static unsigned
relay_mem_hash(const char *key)
{
	return str_hash(key) % RELAY_MEM_BUCKETS;
}

static struct relay_mem *
relay_mem_find(struct relay *r, const char *key, bool create)
{
	unsigned h = relay_mem_hash(key);
	struct relay_mem *m;

	for (m = r->mem[h]; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	if (!create)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	str_lcpy(m->key, key, sizeof(m->key));
	m->next = r->mem[h];
	r->mem[h] = m;
	return m;
}

bool
relay_mem_down(struct relay *r, const char *key, time_t now)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	return m != NULL && m->down_until > now;
}

bool
relay_mem_tls_broken(struct relay *r, const char *key, time_t now)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	return m != NULL && m->tls_broken_until > now;
}

void
relay_mem_set_down(struct relay *r, const char *key, time_t now)
{
	if (r->conf->host_down_memory > 0)
		relay_mem_find(r, key, true)->down_until = now +
		    (time_t)r->conf->host_down_memory;
}

void
relay_mem_set_tls_broken(struct relay *r, const char *key, time_t now)
{
	if (r->conf->tls_broken_memory > 0)
		relay_mem_find(r, key, true)->tls_broken_until = now +
		    (time_t)r->conf->tls_broken_memory;
}

void
relay_mem_prune(struct relay *r, time_t now)
{
	struct relay_mem **pp, *m;
	unsigned h;

	for (h = 0; h < RELAY_MEM_BUCKETS; h++)
		for (pp = &r->mem[h]; (m = *pp) != NULL;) {
			if (m->down_until <= now && m->tls_broken_until <= now) {
				*pp = m->next;
				free(m);
			} else
				pp = &m->next;
		}
}

void
relay_mem_free(struct relay *r)
{
	relay_mem_prune(r, (time_t)1 << 62);
}
