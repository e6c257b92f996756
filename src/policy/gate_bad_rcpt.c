/* The dictionary-attack block.  The session reports each unknown
 * recipient (policy_note_bad_rcpt()); a client address that names more
 * than bad_rcpt_limit of them within bad_rcpt_window is refused for
 * bad_rcpt_block: this gate then answers every stage, 421 4.7.1 (and
 * close) at connect and HELO, 451 4.7.1 at MAIL, RCPT and DATA.  On by
 * default (bad_rcpt_limit = 5); off with bad_rcpt_limit = 0.  State is
 * in memory (policy_track.c).  RFC 5321 4.2.5, RFC 3463 (4.7.1). */
#include <time.h>

#include "conf/conf.h"
#include "policy/policy_private.h"

static bool
gate_bad_rcpt_enabled(const struct conf *c)
{
	return c->bad_rcpt_limit > 0;
}

static bool
gate_bad_rcpt_needed(struct policy *p, const struct policy_client *c)
{
	return policy_track_blocked(p->bad_rcpt, c->ip,
	    (int64_t)time(NULL)) != 0;
}

static void *
gate_bad_rcpt_start(struct policy_gate_call *call)
{
	struct policy_client *c = call->client;
	int64_t now = (int64_t)time(NULL), until;

	until = policy_track_blocked(call->policy->bad_rcpt, c->ip, now);
	if (until == 0) {
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	policy_gate_note(call, "blocked_for=%llds", (long long)(until - now));
	policy_gate_finish(call, POLICY_TEMPFAIL,
	    call->stage <= POLICY_HELO ? 421 : 451, "4.7.1",
	    "Too many unknown recipients from [%s], try again later", c->ip);
	return NULL;
}

const struct policy_gate gate_bad_rcpt = {
	.name = "bad_rcpt",
	.every_stage = true,
	.immediate = true,
	.enabled = gate_bad_rcpt_enabled,
	.needed = gate_bad_rcpt_needed,
	.start = gate_bad_rcpt_start,
};
