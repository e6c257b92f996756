/* client_allow / client_deny: the operator's CIDR lists, checked at
 * connect.  An allowed client skips the remaining overridable checks of
 * the session (a whitelist: allow wins when both lists match, so a host
 * can be let out of a denied range); a denied one is refused with 554
 * 5.7.1 at RCPT, where a recipient domain's rule may still let it in.
 * RFC 5321 3.1 (554 at connection) and RFC 3463 (5.7.1). */
#include "conf/conf.h"
#include "lib/cidr.h"
#include "policy/policy_private.h"

static bool
gate_client_enabled(const struct conf *c)
{
	return c->client_allow.n > 0 || c->client_deny.n > 0;
}

static void *
gate_client_start(struct policy_gate_call *call)
{
	const struct sockaddr *sa =
	    (const struct sockaddr *)&call->client->addr;

	if (cidr_list_match(&call->conf->client_allow, sa))
		policy_gate_finish(call, POLICY_ALLOW, 0, NULL, NULL);
	else if (cidr_list_match(&call->conf->client_deny, sa))
		policy_gate_finish(call, POLICY_REJECT, 554, "5.7.1",
		    "Access denied for [%s]", call->client->ip);
	else
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	return NULL;
}

const struct policy_gate gate_client = {
	.name = "client",
	.stage = POLICY_CONNECT,
	.enabled = gate_client_enabled,
	.start = gate_client_start,
};
