/* Failed-login bans (ban.h): the policy on top of the store's ban tables.
 * A failure is one row; the count is taken over the sliding window
 * (now - auth_ban_window, now], so failures age out on their own and a
 * success clears nothing.  Reaching auth_ban_max_failures bans the
 * address for auth_ban_time and forgets its failures, so a fresh count
 * starts once the ban ends.  Exempt networks are neither counted nor
 * banned.  Addresses are keyed in text form, IPv4-mapped IPv6 shown as
 * IPv4, so both spellings of one client share a count. */
#include <stdio.h>

#include "auth/ban.h"
#include "conf/conf.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "store/store.h"

int
ban_check(struct store *st, const struct conf *c, const struct sockaddr *sa,
    time_t now, time_t *until_r)
{
	struct store_ban b;
	char ip[64];
	int r;

	if (cidr_list_match(&c->auth_ban_exempt, sa))
		return 0;
	cidr_addr_str(sa, ip, sizeof(ip));
	r = store_ban_get(st, ip, (int64_t)now, &b);
	if (r < 0) {
		log_warnx("- ban check-failed address=%s", ip);
		return -1;
	}
	if (r == 1 && until_r != NULL)
		*until_r = (time_t)b.until;
	return r;
}

int
ban_record_failure(struct store *st, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now)
{
	const char *error;
	char ip[64], reason[128];
	int n;

	if (cidr_list_match(&c->auth_ban_exempt, sa))
		return 0;
	cidr_addr_str(sa, ip, sizeof(ip));
	n = store_ban_failure_add(st, ip, service, (int64_t)now,
	    (int64_t)now - (int64_t)c->auth_ban_window);
	if (n < 0) {
		log_warnx("- ban record-failed address=%s", ip);
		return -1;
	}
	if ((unsigned)n < c->auth_ban_max_failures)
		return 0;
	snprintf(reason, sizeof(reason), "%d failed logins, last %s", n,
	    service);
	if (store_ban_set(st, ip, (int64_t)now,
	    (int64_t)now + (int64_t)c->auth_ban_time, reason, &error) < 0) {
		log_warnx("- ban set-failed address=%s error=%s", ip,
		    log_q(error));
		return -1;
	}
	log_info("- ban banned address=%s service=%s failures=%d "
	    "seconds=%llu", ip, service, n,
	    (unsigned long long)c->auth_ban_time);
	return 1;
}
