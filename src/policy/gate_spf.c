/* spf = yes: RFC 7208 check_host() at MAIL FROM for the client's address
 * and the sender's domain, or for the HELO identity (postmaster@HELO)
 * when the sender is the null path <> (RFC 7208 2.3, 2.4).  Every result
 * adds a Received-SPF header field (9.1) to the message.
 *
 * What the results do (RFC 7208 8; RFC 7372 codes):
 * - fail, with spf_reject_fail = yes: 550 5.7.23 with the domain's
 *   explanation (exp=, 6.2) or a default text (8.4).  Without it, fail
 *   only tags.
 * - temperror (DNS trouble): never a permanent rejection.  With
 *   spf_reject_fail = yes it is 451 4.7.24, so that a DNS outage cannot
 *   be used to slip a forged sender past an enforcing server and the
 *   sending server retries (8.6); without it the mail is accepted and
 *   the header records the temperror.
 * - permerror (the domain's own broken policy), none, neutral, softfail
 *   and pass: accepted with the header (8.7 leaves permerror to local
 *   policy; a broken record is the publisher's problem, not a forgery).
 * Like the other MAIL checks, a rejection is decided at RCPT by the
 * pipeline, where a recipient domain's rules may override it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "msgauth/spf.h"
#include "policy/policy_private.h"

#define GATE_SPF_EXPLAIN_MAX 200

struct gate_spf_job {
	struct policy_gate_call *call;
	struct spf_check *check;
};

static bool
gate_spf_enabled(const struct conf *c)
{
	return c->spf;
}

/* The reply text for a fail: the explanation, else a default (8.4). */
static void
gate_spf_reason(const struct spf_answer *a, const char *ip, char *dst,
    size_t size)
{
	if (a->explanation[0] != '\0')
		(void)snprintf(dst, size, "%.*s", GATE_SPF_EXPLAIN_MAX,
		    a->explanation);
	else
		(void)snprintf(dst, size, "%.*s does not designate %s as "
		    "permitted sender", GATE_SPF_EXPLAIN_MAX, a->domain, ip);
}

/* The Authentication-Results method for an answer: property values are
 * reduced to what a header value can carry without quoting. */
static void
gate_spf_ar(const struct spf_answer *a, char *dst, size_t size)
{
	bool helo = strcmp(a->identity, "helo") == 0;
	const char *v = helo ? a->domain : a->sender;
	size_t n;

	n = (size_t)snprintf(dst, size, "spf=%s smtp.%s=", spf_result_str(a->result),
	    helo ? "helo" : "mailfrom");
	for (; *v != '\0' && n + 1 < size; v++)
		if (*v > 0x20 && *v < 0x7f && strchr(";()\"\\", *v) == NULL)
			dst[n++] = *v;
	dst[n < size ? n : size - 1] = '\0';
}

static void
gate_spf_done(const struct spf_answer *a, void *arg)
{
	struct gate_spf_job *job = arg;
	struct policy_gate_call *call = job->call;
	struct policy_client *cl = call->client;
	bool enforce = call->conf->spf_reject_fail;
	char reason[GATE_SPF_EXPLAIN_MAX + 300];

	free(job);
	policy_gate_note(call, "spf=%s identity=%s domain=%s mechanism=%s%s%s",
	    spf_result_str(a->result), a->identity, log_q(a->domain),
	    log_q(a->mechanism), a->problem[0] != '\0' ? " problem=" : "",
	    a->problem[0] != '\0' ? log_q(a->problem) : "");
	(void)spf_received_spf(&cl->headers, a, cl->ip, cl->helo,
	    call->conf->hostname);
	gate_spf_ar(a, cl->spf_ar, sizeof(cl->spf_ar));
	if (a->result == SPF_FAIL && enforce) {
		gate_spf_reason(a, cl->ip, reason, sizeof(reason));
		policy_gate_finish(call, POLICY_REJECT, 550, "5.7.23",
		    "SPF fail for %s: %s", a->domain, reason);
		return;
	}
	if (a->result == SPF_TEMPERROR && enforce) {
		policy_gate_finish(call, POLICY_TEMPFAIL, 451, "4.7.24",
		    "SPF temporary error for %s, try again later", a->domain);
		return;
	}
	policy_gate_finish(call, POLICY_TAG, 0, NULL, NULL);
}

static void *
gate_spf_start(struct policy_gate_call *call)
{
	struct gate_spf_job *job = xcalloc(1, sizeof(*job));
	struct spf_request req;

	memset(&req, 0, sizeof(req));
	req.ip = call->client->addr;
	req.sender = call->client->sender;
	req.helo = call->client->helo;
	req.receiver = call->conf->hostname;
	job->call = call;
	call->client->spf_ar[0] = '\0';
	job->check = spf_check_start(call->base, call->dns, &req,
	    gate_spf_done, job);
	return job;
}

static void
gate_spf_abort(void *arg)
{
	struct gate_spf_job *job = arg;

	spf_check_abort(&job->check);
	free(job);
}

const struct policy_gate gate_spf = {
	.name = "spf",
	.stage = POLICY_MAIL,
	.enabled = gate_spf_enabled,
	.start = gate_spf_start,
	.abort = gate_spf_abort,
};
