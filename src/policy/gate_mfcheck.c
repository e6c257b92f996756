/* mfcheck = yes: the MAIL FROM domain must be able to receive replies,
 * i.e. have MX records (RFC 5321 5.1) or, without them, A/AAAA records
 * (the implicit MX).  MX, A and AAAA are asked at once.  The domain does
 * not exist, or has none of them: 553 5.1.8; a null MX only (RFC 7505
 * 4.2, "accepts no mail"): 550 5.7.27; DNS trouble that leaves it open:
 * 451 4.4.3 "DNS temporary failure".  The null sender <> and address
 * literals are not checked.  Decided at RCPT with the other MAIL checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/policy_private.h"

enum { GATE_MF_MX, GATE_MF_A, GATE_MF_AAAA, GATE_MF_N };

struct gate_mfcheck_q {
	struct gate_mfcheck_job *job;
	struct dns_query *q;
	enum dns_status st;
	bool null_mx;			/* only "MX 0 ." */
};

struct gate_mfcheck_job {
	struct policy_gate_call *call;
	struct gate_mfcheck_q q[GATE_MF_N];
	size_t pending;
	char domain[256];
};

static bool
gate_mfcheck_enabled(const struct conf *c)
{
	return c->mfcheck;
}

static void
gate_mfcheck_free(struct gate_mfcheck_job *j)
{
	for (int i = 0; i < GATE_MF_N; i++)
		dns_query_abort(&j->q[i].q);
	free(j);
}

static void
gate_mfcheck_decide(struct gate_mfcheck_job *j)
{
	struct policy_gate_call *call = j->call;
	const struct gate_mfcheck_q mxq = j->q[GATE_MF_MX], *mx = &mxq;
	bool temp = false, addr = false;
	char domain[256];

	memcpy(domain, j->domain, sizeof(domain));
	for (int i = GATE_MF_A; i < GATE_MF_N; i++)
		addr |= j->q[i].st == DNS_OK;
	for (int i = 0; i < GATE_MF_N; i++)
		temp |= j->q[i].st == DNS_TEMPFAIL;
	policy_gate_note(call, "domain=%s mx=%s a=%s aaaa=%s", domain,
	    dns_status_str(mx->st), dns_status_str(j->q[GATE_MF_A].st),
	    dns_status_str(j->q[GATE_MF_AAAA].st));
	gate_mfcheck_free(j);
	if (mx->st == DNS_OK && !mx->null_mx)
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	else if (mx->st == DNS_OK)
		policy_gate_finish(call, POLICY_REJECT, 550, "5.7.27",
		    "Sender address rejected: %s accepts no mail (null MX)",
		    domain);
	else if (mx->st == DNS_NXDOMAIN)
		policy_gate_finish(call, POLICY_REJECT, 553, "5.1.8",
		    "Sender address rejected: domain %s not found", domain);
	else if (addr)
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	else if (temp)
		policy_gate_finish(call, POLICY_TEMPFAIL, 451, "4.4.3",
		    "Sender address rejected: DNS temporary failure for %s",
		    domain);
	else
		policy_gate_finish(call, POLICY_REJECT, 553, "5.1.8",
		    "Sender address rejected: domain %s has no MX or address "
		    "records", domain);
}

static void
gate_mfcheck_cb(const struct dns_result *r, void *ctx)
{
	struct gate_mfcheck_q *q = ctx;
	struct gate_mfcheck_job *j = q->job;

	q->q = NULL;
	q->st = r->status;
	if (r->status == DNS_OK && q == &j->q[GATE_MF_MX])
		q->null_mx = r->n == 1 && r->rr[0].name[0] == '\0';
	if (--j->pending == 0)
		gate_mfcheck_decide(j);
}

static void *
gate_mfcheck_start(struct policy_gate_call *call)
{
	static const int types[GATE_MF_N] = { DNS_T_MX, DNS_T_A, DNS_T_AAAA };
	const char *at = strrchr(call->client->sender, '@');
	struct gate_mfcheck_job *j;

	if (at == NULL || at[1] == '\0' || at[1] == '[') {
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->call = call;
	snprintf(j->domain, sizeof(j->domain), "%s", at + 1);
	j->pending = GATE_MF_N;
	for (int i = 0; i < GATE_MF_N; i++) {
		j->q[i].job = j;
		j->q[i].q = dns_lookup(call->dns, j->domain, types[i],
		    gate_mfcheck_cb, &j->q[i]);
	}
	return j;
}

static void
gate_mfcheck_abort(void *job)
{
	gate_mfcheck_free(job);
}

const struct policy_gate gate_mfcheck = {
	.name = "mfcheck",
	.stage = POLICY_MAIL,
	.enabled = gate_mfcheck_enabled,
	.start = gate_mfcheck_start,
	.abort = gate_mfcheck_abort,
};
