/* Failed-login ban operations (ops.h): list, add and lift the bans kept
 * in the store (auth/ban.h has the policy).  Bans are server-wide, so
 * only an admin may use them.  Addresses are stored the way the servers
 * key them (IPv4-mapped IPv6 as IPv4).  Blocking: CLI or worker thread. */
#ifndef FERRY_OPS_BAN_H
#define FERRY_OPS_BAN_H
#include <stddef.h>
#include <stdint.h>

#include "ops/ops_account.h"
#include "store/store.h"

struct ops_ban_list {
	struct store_ban *v;
	size_t n, cap;
};

/* The bans in force at now. */
int ops_ban_list(const struct ops_ctx *c, int64_t now,
    struct ops_ban_list *out, struct ops_status *st);
void ops_ban_list_free(struct ops_ban_list *l);
/* Bans ip_input for seconds (0: auth_ban_time) from now, reason
 * "manual".  Refused (OPS_EREFUSED) for an address in auth_ban_exempt. */
int ops_ban_add(const struct ops_ctx *c, const char *ip_input,
    uint64_t seconds, int64_t now, struct ops_status *st);
/* Lifts the ban on ip_input; "no such ban" when there is none. */
int ops_ban_del(const struct ops_ctx *c, const char *ip_input, int64_t now,
    struct ops_status *st);

#endif
