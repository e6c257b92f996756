/* What `ferry status` and the admin's /admin/status show, gathered once
 * for both: whether the server runs (state_dir/ferry.pid) and its roles
 * with their uptimes (the supervisor's children in /proc), the queue by
 * state and by destination with the held messages, the bans in force,
 * the outbound abuse state (send-held users, suspended domains), the DNS
 * answers per resolver when the metrics region is shared (the admin
 * role), and the last warnings and errors of log_file.  Read-only and
 * blocking (spool, /proc, the store, the log): the CLI or a worker
 * thread.  Listeners and resolvers come from the configuration, which
 * the caller has. */
#ifndef FERRY_OPS_STATUS_H
#define FERRY_OPS_STATUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"
#include "lib/metrics.h"
#include "ops/ops.h"

struct conf;
struct store;
struct store_send_hold;

#define OPS_STATUS_ROLES 8
#define OPS_STATUS_DESTS 5
#define OPS_STATUS_ERRORS 5
#define OPS_STATUS_HELD 20		/* held messages listed (all counted) */

struct ops_status_proc {
	int pid;
	char name[32];
	long long up;			/* seconds, -1 unknown */
};

struct ops_status_dest {
	char domain[256];
	size_t n;
};

struct ops_status_held {
	char id[IDS_LEN + 1];
	char *sender;
	char *reason;			/* NULL: held by the operator */
	long long age;
};

struct ops_status_suspended {
	char domain[256];
	int64_t since;
};

struct ops_status_info {
	struct ops_status_proc server;	/* pid 0: not running */
	struct ops_status_proc roles[OPS_STATUS_ROLES];
	size_t nroles;
	size_t messages, pending, held, failed;
	struct ops_status_dest dests[OPS_STATUS_DESTS];
	size_t ndests;
	long long oldest;		/* seconds, -1 when empty */
	const char *queue_error;	/* static, or NULL */
	struct ops_status_held held_msgs[OPS_STATUS_HELD];
	size_t nheld_msgs, held_messages;	/* listed, all held messages */
	long long bans;			/* -1: store unreadable */
	/* Outbound abuse (store); abuse_known false without a store. */
	bool abuse_known;
	struct store_send_hold *send_holds;
	size_t nsend_holds;
	struct ops_status_suspended *suspended;
	size_t nsuspended;
	/* DNS answers by resolver since the server started (the admin
	 * role only: the CLI has no view of the shared counters). */
	bool dns_known;
	uint64_t dns[METRICS_RESOLVER_N][METRICS_DNS_RESULT_N];
	char *errors[OPS_STATUS_ERRORS];
	size_t nerrors;
};

/* The listener kinds status shows (smtp, submission, submissions, pop3,
 * pop3s, imap, imaps) and each one's addresses in c. */
#define OPS_STATUS_KINDS 7
struct conf_listen_list;
const char *ops_status_listen_kind(size_t i);
const struct conf_listen_list *ops_status_listen(const struct conf *c,
    size_t i);

/* Fills out (no init needed) for conf.  s: an open store, or NULL to
 * open state_dir's database (when it exists) for the bans and the
 * abuse state.  with_dns: read the shared metrics region.  Admins only;
 * 0, or -1 with OPS_EPERM. */
int ops_status_gather(const struct ops_actor *a, const struct conf *conf,
    struct store *s, bool with_dns, struct ops_status_info *out,
    struct ops_status *st);
void ops_status_info_free(struct ops_status_info *info);
/* "45s", "12m", "3h4m", "2d3h", "?" for a negative span. */
void ops_status_span(char *dst, size_t size, long long secs);

#endif
