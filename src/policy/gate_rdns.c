/* require_rdns = ptr | fcrdns: the client address must have a PTR
 * record (ptr), and one of its names must resolve back to the address
 * (fcrdns, "forward-confirmed reverse DNS", RFC 8601 2.7.3 iprev).  Up
 * to GATE_RDNS_NAMES names are checked in parallel; the first confirmed
 * one is kept in client->ptr (in both modes) for Received and logs.
 * No PTR, or no name that confirms: 550 5.7.25; DNS trouble that leaves
 * it open: 450 4.7.25 (RFC 7372 3.2). */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "conf/conf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/policy_private.h"

#define GATE_RDNS_NAMES 4

struct gate_rdns_fwd {
	struct gate_rdns_job *job;
	char name[256];
	struct dns_query *q;
};

struct gate_rdns_job {
	struct policy_gate_call *call;
	struct dns_query *ptr_q;
	struct gate_rdns_fwd fwd[GATE_RDNS_NAMES];
	size_t n, pending;
	bool tempfail;			/* a forward lookup failed */
	int confirmed;			/* index into fwd, or -1 */
};

static bool
gate_rdns_enabled(const struct conf *c)
{
	return c->require_rdns != CONF_RDNS_NO;
}

/* The 4 or 16 address bytes of sa (IPv4-mapped IPv6 as IPv4). */
static size_t
gate_rdns_bytes(const struct sockaddr *sa, const uint8_t **p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET) {
		*p = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)sa;
	*p = s6->sin6_addr.s6_addr;
	if (memcmp(*p, mapped, sizeof(mapped)) == 0) {
		*p += 12;
		return 4;
	}
	return 16;
}

static bool
gate_rdns_same(const struct sockaddr *a, const struct sockaddr *b)
{
	const uint8_t *pa = NULL, *pb = NULL;
	size_t na = gate_rdns_bytes(a, &pa), nb = gate_rdns_bytes(b, &pb);

	return na > 0 && na == nb && memcmp(pa, pb, na) == 0;
}

static void
gate_rdns_free(struct gate_rdns_job *j)
{
	dns_query_abort(&j->ptr_q);
	for (size_t i = 0; i < j->n; i++)
		dns_query_abort(&j->fwd[i].q);
	free(j);
}

static void
gate_rdns_decide(struct gate_rdns_job *j)
{
	struct policy_gate_call *call = j->call;
	struct policy_client *c = call->client;
	bool fcrdns = call->conf->require_rdns == CONF_RDNS_FCRDNS;
	bool tempfail = j->tempfail;

	if (j->confirmed >= 0)
		str_lcpy(c->ptr, j->fwd[j->confirmed].name, sizeof(c->ptr));
	policy_gate_note(call, "ptr=%s", j->n > 0 ? j->fwd[0].name : "");
	gate_rdns_free(j);
	if (!fcrdns || c->ptr[0] != '\0')
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	else if (tempfail)
		policy_gate_finish(call, POLICY_TEMPFAIL, 450, "4.7.25",
		    "Cannot confirm the reverse DNS of [%s]: DNS temporary "
		    "failure", c->ip);
	else
		policy_gate_finish(call, POLICY_REJECT, 550, "5.7.25",
		    "Reverse DNS of [%s] does not resolve back to it", c->ip);
}

static void
gate_rdns_fwd_cb(const struct dns_result *r, void *ctx)
{
	struct gate_rdns_fwd *f = ctx;
	struct gate_rdns_job *j = f->job;

	f->q = NULL;
	if (r->status == DNS_TEMPFAIL)
		j->tempfail = true;
	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (j->confirmed < 0 && gate_rdns_same((const struct sockaddr *)
		    &r->rr[i].addr, (const struct sockaddr *)
		    &j->call->client->addr))
			j->confirmed = (int)(f - j->fwd);
	if (--j->pending == 0)
		gate_rdns_decide(j);
}

static void
gate_rdns_ptr_cb(const struct dns_result *r, void *ctx)
{
	struct gate_rdns_job *j = ctx;
	struct policy_gate_call *call = j->call;
	const char *ip = call->client->ip;
	const uint8_t *p;
	int type;

	j->ptr_q = NULL;
	for (size_t i = 0; r->status == DNS_OK && i < r->n &&
	    j->n < GATE_RDNS_NAMES; i++) {
		if (r->rr[i].name[0] == '\0')
			continue;
		j->fwd[j->n].job = j;
		str_lcpy(j->fwd[j->n].name, r->rr[i].name,
		    sizeof(j->fwd[j->n].name));
		j->n++;
	}
	if (j->n == 0) {
		bool temp = r->status == DNS_TEMPFAIL;

		gate_rdns_free(j);
		if (temp)
			policy_gate_finish(call, POLICY_TEMPFAIL, 450, "4.7.25",
			    "Cannot find the reverse DNS of [%s]: DNS "
			    "temporary failure", ip);
		else
			policy_gate_finish(call, POLICY_REJECT, 550, "5.7.25",
			    "Client host [%s] has no reverse DNS (PTR) record",
			    ip);
		return;
	}
	type = gate_rdns_bytes((const struct sockaddr *)&call->client->addr,
	    &p) == 4 ? DNS_T_A : DNS_T_AAAA;
	j->pending = j->n;
	for (size_t i = 0; i < j->n; i++)
		j->fwd[i].q = dns_lookup(call->dns, j->fwd[i].name, type,
		    gate_rdns_fwd_cb, &j->fwd[i]);
}

static void *
gate_rdns_start(struct policy_gate_call *call)
{
	struct gate_rdns_job *j;
	char name[128];

	if (dns_reverse_name((const struct sockaddr *)&call->client->addr,
	    NULL, name, sizeof(name)) < 0) {
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->call = call;
	j->confirmed = -1;
	j->ptr_q = dns_lookup(call->dns, name, DNS_T_PTR, gate_rdns_ptr_cb, j);
	return j;
}

static void
gate_rdns_abort(void *job)
{
	gate_rdns_free(job);
}

const struct policy_gate gate_rdns = {
	.name = "rdns",
	.stage = POLICY_CONNECT,
	.enabled = gate_rdns_enabled,
	.start = gate_rdns_start,
	.abort = gate_rdns_abort,
};
