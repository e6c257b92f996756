/* Ban operations (ops_ban.h).  The address is parsed and written in its
 * canonical form here, so that what an admin types matches what the
 * servers look up. */
#include <arpa/inet.h>
#include <netinet/in.h>
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

/* A single address in canonical text form; sa_r gets it for matching. */
static int
ops_ban_parse_ip(const char *in, char *dst, size_t size,
    struct sockaddr_storage *sa_r, struct ops_status *st)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa_r;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa_r;

	memset(sa_r, 0, sizeof(*sa_r));
	if (inet_pton(AF_INET, in, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, in, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return ops_fail(st, OPS_EINVAL, "%s: not an IP address", in);
	cidr_addr_str((struct sockaddr *)sa_r, dst, size);
	return 0;
}

int
ops_ban_add(const struct ops_ctx *c, const char *ip_input, uint64_t seconds,
    int64_t now, struct ops_status *st)
{
	struct sockaddr_storage sa;
	const char *error;
	char ip[64];

	if (ops_check_admin(c->actor, "bans", st) < 0 ||
	    ops_ban_parse_ip(ip_input, ip, sizeof(ip), &sa, st) < 0)
		return -1;
	if (cidr_list_match(&c->conf->auth_ban_exempt, (struct sockaddr *)&sa))
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
	struct sockaddr_storage sa;
	const char *error;
	char ip[64];

	if (ops_check_admin(c->actor, "bans", st) < 0 ||
	    ops_ban_parse_ip(ip_input, ip, sizeof(ip), &sa, st) < 0)
		return -1;
	if (store_ban_del(c->store, ip, now, &error) < 0)
		return ops_fail(st, OPS_ENOENT, "%s: %s", ip, error);
	return ops_ok(st);
}
