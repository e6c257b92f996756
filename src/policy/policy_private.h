/* The gate interface, shared by the pipeline (policy.c) and the gates
 * (gate_<name>.c).  Not for use outside src/policy/. */
#ifndef FERRY_POLICY_PRIVATE_H
#define FERRY_POLICY_PRIVATE_H
#include "policy/policy.h"

struct policy_gate_call;
struct policy_track;
struct workpool;

/* The pipeline's state; gates may use the per-IP trackers. */
struct policy {
	struct event_base *base;
	const struct conf *conf;
	struct dns *dns;
	struct store_pool *stores;	/* NULL: no greylist state */
	struct policy_track *rate;	/* gate_rate: connections per IP */
	struct policy_track *bad_rcpt;	/* gate_bad_rcpt: unknown rcpts */
	int64_t greylist_pruned;	/* last greylist clean-up */
	/* gate_greylist: networks the store said were trusted, and when
	 * (NULL until the first) */
	struct gate_greylist_trust *greylist_trust;
};

/* One check.  start() begins it for call->client and must end it with
 * exactly one policy_gate_finish() — inline or later, from a DNS or I/O
 * callback — unless abort() is called first.  start() returns the gate's
 * job pointer (passed to abort), or NULL when it already finished.
 * Gates keep no per-session state outside their job, and read settings
 * through call->conf each time (it is swapped on reload). */
struct policy_gate {
	const char *name;		/* "dnsbl", also used in `checks`, `exempt`
					 * and `rule ... skip` */
	enum policy_stage stage;
	/* Runs at every stage (stage is then ignored). */
	bool every_stage;
	/* Its TEMPFAIL/REJECT is answered at once and no domain rule can
	 * override it (abuse protection: rate, dictionary attacks).  Other
	 * connect/HELO/MAIL verdicts are decided at RCPT, per recipient. */
	bool immediate;
	bool (*enabled)(const struct conf *c);
	/* Optional: false when the gate would surely accept this client
	 * now, so that policy_stage_active() can skip the run. */
	bool (*needed)(struct policy *p, const struct policy_client *c);
	void *(*start)(struct policy_gate_call *call);
	void (*abort)(void *job);
};

struct policy_gate_call {
	struct policy *policy;
	const struct policy_gate *gate;
	struct policy_client *client;
	enum policy_stage stage;	/* the stage being run */
	const struct conf *conf;
	struct event_base *base;
	struct dns *dns;
	struct store_pool *stores;
	void *pipeline;			/* private to policy.c */
};

/* Ends a gate's check.  code/enhanced/text are the SMTP reply for
 * TEMPFAIL/REJECT (text should name the reason, e.g. the DNSBL zone);
 * ignored for ACCEPT/TAG/ALLOW (ALLOW: the session skips the remaining
 * overridable checks, e.g. client_allow).  Logs `check=<gate>
 * verdict=...`.  May free call (and run the session's callback): the
 * gate frees its job first and touches neither afterwards. */
void policy_gate_finish(struct policy_gate_call *call, enum policy_verdict v,
    int code, const char *enhanced, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A gate's note for the log line of its verdict (e.g. "list=zen.example"),
 * set before policy_gate_finish(). */
void policy_gate_note(struct policy_gate_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-IP sliding-window counters (policy_track.c): two fixed windows
 * weighted (the previous one by how much of it still overlaps), so the
 * memory per address is constant whatever the limit.  At most `max`
 * addresses are tracked; past that, idle ones are dropped and new ones
 * go uncounted (fail open) until space frees. */
struct policy_track *policy_track_create(size_t max);
void policy_track_free(struct policy_track **tp);
/* Counts one event for key at now; returns the estimated number of
 * events within the last `window` seconds, this one included. */
unsigned policy_track_hit(struct policy_track *t, const char *key,
    int64_t now, int64_t window);
/* The estimate without counting. */
unsigned policy_track_count(struct policy_track *t, const char *key,
    int64_t now, int64_t window);
/* Blocks key until `until` and forgets its counts. */
void policy_track_block(struct policy_track *t, const char *key,
    int64_t now, int64_t until);
/* The end of key's block, or 0 when it is not blocked at now. */
int64_t policy_track_blocked(struct policy_track *t, const char *key,
    int64_t now);

/* Pure helpers of the gates, exported for the unit tests. */
/* helo_reject_*: NULL when acceptable, else the reason. */
const char *gate_helo_problem(const struct conf *c, const char *helo);
/* gate_greylist_net() and gate_dnsbl_listed() are in policy.h. */

/* The gates (defined in their files, listed in policy.c). */
extern const struct policy_gate gate_client;	/* client_allow/deny */
extern const struct policy_gate gate_rate;	/* conn_rate_limit */
extern const struct policy_gate gate_dnsbl;
extern const struct policy_gate gate_rdns;
extern const struct policy_gate gate_helo;
extern const struct policy_gate gate_mfcheck;
extern const struct policy_gate gate_spf;
extern const struct policy_gate gate_greylist;
extern const struct policy_gate gate_bad_rcpt;
extern const struct policy_gate gate_clamd;
extern const struct policy_gate gate_spamd;

/* policy_check_names[] is in policy.h. */
/* The index of name in policy_check_names, or -1. */
int policy_check_index(const char *name);

#endif
