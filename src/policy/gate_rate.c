/* conn_rate_limit: at most that many connections per client address in
 * conn_rate_window (a sliding window estimated from two fixed ones,
 * policy_track.c).  Over the limit the connection gets 421 4.7.0 and is
 * closed at once: this protects the server, so no domain rule can
 * override it.  RFC 5321 3.8 (421 and closing). */
#include <time.h>

#include "conf/conf.h"
#include "policy/policy_private.h"

static bool
gate_rate_enabled(const struct conf *c)
{
	return c->conn_rate_limit > 0;
}

static void *
gate_rate_start(struct policy_gate_call *call)
{
	const struct conf *c = call->conf;
	unsigned n;

	n = policy_track_hit(call->policy->rate, call->client->ip,
	    (int64_t)time(NULL), (int64_t)c->conn_rate_window);
	policy_gate_note(call, "count=%u limit=%u", n, c->conn_rate_limit);
	if (n > c->conn_rate_limit)
		policy_gate_finish(call, POLICY_TEMPFAIL, 421, "4.7.0",
		    "Too many connections from [%s], slow down",
		    call->client->ip);
	else
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	return NULL;
}

const struct policy_gate gate_rate = {
	.name = "rate",
	.stage = POLICY_CONNECT,
	.immediate = true,
	.enabled = gate_rate_enabled,
	.start = gate_rate_start,
};
