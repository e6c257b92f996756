/* The gate interface, shared by the pipeline (policy.c) and the gates
 * (gate_<name>.c).  Not for use outside src/policy/. */
#ifndef FERRY_POLICY_PRIVATE_H
#define FERRY_POLICY_PRIVATE_H
#include "policy/policy.h"

struct policy_gate_call;

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
	bool (*enabled)(const struct conf *c);
	void *(*start)(struct policy_gate_call *call);
	void (*abort)(void *job);
};

struct policy_gate_call {
	struct policy *policy;
	const struct policy_gate *gate;
	struct policy_client *client;
	const struct conf *conf;
	struct event_base *base;
	struct dns *dns;
	struct store *store;
	void *pipeline;			/* private to policy.c */
};

/* Ends a gate's check.  code/enhanced/text are the SMTP reply for
 * TEMPFAIL/REJECT (text should name the reason, e.g. the DNSBL zone);
 * ignored for ACCEPT/TAG.  Logs `check=<gate> verdict=...`. */
void policy_gate_finish(struct policy_gate_call *call, enum policy_verdict v,
    int code, const char *enhanced, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

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

#endif
