/* Ban operations (ops_ban.h).  The address is parsed and written in its
 * canonical form here, so that what an admin types matches what the
 * servers look up. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "lib/cidr.h"
#include "lib/xalloc.h"
#include "ops/ops_ban.h"

static void
ops_ban_list_cb(const struct store_ban *b, void *ctx)
{
	struct ops_ban_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *b;
}

int
ops_ban_list(const struct ops_ctx *c, int64_t now, struct ops_ban_list *out,
    struct ops_status *st)
{
	const char *error;

	memset(out, 0, sizeof(*out));
	if (ops_check_admin(c->actor, "bans", st) < 0)
		return -1;
	if (store_ban_list(c->store, now, ops_ban_list_cb, out, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s", error);
	return ops_ok(st);
}

void
ops_ban_list_free(struct ops_ban_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* c's first address (host bits cleared) as a socket address. */
static void
ops_ban_net_start(const struct cidr *c, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	uint8_t a[16];
	unsigned bits = c->family == AF_INET ? 32 : 128;

	memcpy(a, c->addr, sizeof(a));
	for (unsigned b = c->prefix; b < bits; b++)
		a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
	} else {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
	}
}

/* An address or a range ("192.0.2.0/24") in canonical text form, the
 * way the servers key addresses (a full-length prefix is a single
 * address); net_r gets it for matching. */
static int
ops_ban_parse_ip(const char *in, char *dst, size_t size,
    struct cidr *net_r, struct ops_status *st)
{
	struct sockaddr_storage ss;
	size_t n;

	if (cidr_parse(in, net_r) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: not an IP address or "
		    "CIDR range", in);
	if (strchr(in, '/') == NULL)
		net_r->prefix = net_r->family == AF_INET ? 32 : 128;
	ops_ban_net_start(net_r, &ss);
	cidr_addr_str((struct sockaddr *)&ss, dst, size);
	if (net_r->prefix < (net_r->family == AF_INET ? 32u : 128u)) {
		n = strlen(dst);
		snprintf(dst + n, size - n, "/%u", net_r->prefix);
	}
	return 0;
}

/* True when the range shares an address with auth_ban_exempt (which the
 * servers never ban: a range over it would be a trap, or a typo). */
static bool
ops_ban_overlaps_exempt(const struct conf *conf, const struct cidr *net)
{
	const struct cidr_list *l = &conf->auth_ban_exempt;
	struct sockaddr_storage a, b;

	ops_ban_net_start(net, &a);
	for (size_t i = 0; i < l->n; i++) {
		ops_ban_net_start(&l->v[i], &b);
		if (cidr_match(&l->v[i], (struct sockaddr *)&a) ||
		    cidr_match(net, (struct sockaddr *)&b))
			return true;
	}
	return false;
}

int
ops_ban_add(const struct ops_ctx *c, const char *ip_input, uint64_t seconds,
    int64_t now, struct ops_status *st)
{
	struct cidr net;
	const char *error;
	char ip[64];

	if (ops_check_admin(c->actor, "bans", st) < 0 ||
	    ops_ban_parse_ip(ip_input, ip, sizeof(ip), &net, st) < 0)
		return -1;
	if (ops_ban_overlaps_exempt(c->conf, &net))
		return ops_fail(st, OPS_EREFUSED, "%s: in auth_ban_exempt, "
		    "cannot be banned", ip);
	if (seconds == 0)
		seconds = c->conf->auth_ban_time;
	if (store_ban_set(c->store, ip, now, now + (int64_t)seconds, "manual",
	    &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: %s", ip, error);
	return ops_ok(st);
}

int
ops_ban_del(const struct ops_ctx *c, const char *ip_input, int64_t now,
    struct ops_status *st)
{
	struct cidr net;
	const char *error;
	char ip[64];

	if (ops_check_admin(c->actor, "bans", st) < 0 ||
	    ops_ban_parse_ip(ip_input, ip, sizeof(ip), &net, st) < 0)
		return -1;
	if (store_ban_del(c->store, ip, now, &error) < 0)
		return ops_fail(st, OPS_ENOENT, "%s: %s", ip, error);
	return ops_ok(st);
}
