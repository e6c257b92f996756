/* Failed-login bans (ban.h): the policy on top of the store's ban tables.
 * A failure is one row; the count is taken over the sliding window
 * (now - auth_ban_window, now], so failures age out on their own and a
 * success clears nothing.  Reaching auth_ban_max_failures bans the
 * address for auth_ban_time and forgets its failures, so a fresh count
 * starts once the ban ends.  Exempt networks and the addresses of the
 * nodes in the store (net/nodepeer.h) are neither counted nor banned.
 * Addresses are keyed in text form, IPv4-mapped IPv6 shown as
 * IPv4, so both spellings of one client share a count.  Event loops use
 * the _start() forms: store requests (store.h) whose data carries copies
 * of the settings, so a reload meanwhile changes nothing under them. */
#include <stdio.h>
#include <stdlib.h>

#include "auth/ban.h"
#include "conf/conf.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/nodepeer.h"
#include "store/store.h"

/* 1 banned (*until_r), 0 not, -1 store error. */
static int
ban_check_ip(struct store *st, const char *ip, time_t now, time_t *until_r)
{
	struct store_ban b;
	int r;

	/* Another node of the system (a front node proxying its users'
	 * logins, a peer relaying mail) is never banned: its clients are. */
	if (st != NULL && nodepeer_is_node(st, ip) == 1)
		return 0;
	r = st != NULL ? store_ban_get(st, ip, (int64_t)now, &b) : -1;
	if (r < 0) {
		log_warnx("- ban check-failed address=%s", ip);
		return -1;
	}
	if (r == 1 && until_r != NULL)
		*until_r = (time_t)b.until;
	return r;
}

bool
ban_exempt(const struct conf *c, const struct sockaddr *sa)
{
	return cidr_list_match(&c->auth_ban_exempt, sa);
}

int
ban_check(struct store *st, const struct conf *c, const struct sockaddr *sa,
    time_t now, time_t *until_r)
{
	char ip[64];

	if (ban_exempt(c, sa))
		return 0;
	cidr_addr_str(sa, ip, sizeof(ip));
	return ban_check_ip(st, ip, now, until_r);
}

/* The settings a failure is counted with, copied from the configuration. */
struct ban_limits {
	uint64_t window, max_failures, ban_time;
};

static int
ban_record_ip(struct store *st, const struct ban_limits *l, const char *ip,
    const char *service, time_t now)
{
	const char *error = "no store connection";
	char reason[128];
	int n;

	if (st != NULL && nodepeer_is_node(st, ip) == 1) {
		log_info("- ban not-counted address=%s service=%s reason=node",
		    ip, service);
		return 0;
	}
	n = st != NULL ? store_ban_failure_add(st, ip, service, (int64_t)now,
	    (int64_t)now - (int64_t)l->window) : -1;
	if (n < 0) {
		log_warnx("- ban record-failed address=%s", ip);
		return -1;
	}
	if ((unsigned)n < l->max_failures)
		return 0;
	snprintf(reason, sizeof(reason), "%d failed logins, last %s", n,
	    service);
	if (store_ban_set(st, ip, (int64_t)now, (int64_t)now +
	    (int64_t)l->ban_time, reason, &error) < 0) {
		log_warnx("- ban set-failed address=%s error=%s", ip,
		    log_q(error));
		return -1;
	}
	log_info("- ban banned address=%s service=%s failures=%d "
	    "seconds=%llu", ip, service, n, (unsigned long long)l->ban_time);
	metrics_ban(service);
	return 1;
}

static void
ban_limits_get(const struct conf *c, struct ban_limits *l)
{
	l->window = c->auth_ban_window;
	l->max_failures = c->auth_ban_max_failures;
	l->ban_time = c->auth_ban_time;
}

int
ban_record_failure(struct store *st, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now)
{
	struct ban_limits l;
	char ip[64];

	if (ban_exempt(c, sa))
		return 0;
	cidr_addr_str(sa, ip, sizeof(ip));
	ban_limits_get(c, &l);
	return ban_record_ip(st, &l, ip, service, now);
}

/* ---- requests for event loops ---- */

struct ban_job {
	char ip[64];
	char service[16];
	time_t now, until;
	struct ban_limits limits;
	int result;
	ban_check_cb *check_cb;
	ban_record_cb *record_cb;
};

static void
ban_check_work(struct store *conn, void *data)
{
	struct ban_job *j = data;

	j->result = ban_check_ip(conn, j->ip, j->now, &j->until);
}

static void
ban_check_done(void *data, void *ctx)
{
	struct ban_job *j = data;

	j->check_cb(j->result, j->until, ctx);
}

static const struct store_job ban_check_job = {
	.name = "ban-check",
	.work = ban_check_work,
	.done = ban_check_done,
};

struct store_req *
ban_check_start(struct store_pool *sp, const struct sockaddr *sa, time_t now,
    ban_check_cb *cb, void *ctx)
{
	struct ban_job *j = xcalloc(1, sizeof(*j));

	cidr_addr_str(sa, j->ip, sizeof(j->ip));
	j->now = now;
	j->check_cb = cb;
	return store_req_submit(sp, &ban_check_job, j, ctx);
}

static void
ban_record_work(struct store *conn, void *data)
{
	struct ban_job *j = data;

	j->result = ban_record_ip(conn, &j->limits, j->ip, j->service, j->now);
}

static void
ban_record_done(void *data, void *ctx)
{
	struct ban_job *j = data;

	j->record_cb(j->result, ctx);
}

/* A failure is recorded even when its session is gone by then: an
 * attacker must not escape the count by hanging up. */
static const struct store_job ban_record_job = {
	.name = "ban-record",
	.work = ban_record_work,
	.done = ban_record_done,
	.must_run = true,
};

struct store_req *
ban_record_start(struct store_pool *sp, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now,
    ban_record_cb *cb, void *ctx)
{
	struct ban_job *j = xcalloc(1, sizeof(*j));

	cidr_addr_str(sa, j->ip, sizeof(j->ip));
	str_lcpy(j->service, service, sizeof(j->service));
	j->now = now;
	ban_limits_get(c, &j->limits);
	j->record_cb = cb;
	return store_req_submit(sp, &ban_record_job, j, ctx);
}
