/* DNS blocklists (RFC 5782): the client address, reversed, is looked up
 * as an A record under every `dnsbl` zone at once.  An answer inside
 * 127.0.0.0/8 means listed (127.255.255.x are the lists' own error
 * codes, e.g. "query refused", and do not count); the TXT record of the
 * first listed zone (in configured order) gives the reason when it has
 * one.  Listed: 554 5.7.1 naming the list (decided at RCPT), or with
 * dnsbl_action = tag an X-DNSBL header only.  A zone that fails to
 * answer is logged and counts as not listed: DNS trouble never rejects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/policy_private.h"

#define GATE_DNSBL_MAX 16		/* zones asked */

struct gate_dnsbl_zone {
	struct gate_dnsbl_job *job;
	const char *zone;		/* in conf (alive during the run) */
	struct dns_query *q;
	enum dns_status st;
	bool listed;
};

struct gate_dnsbl_job {
	struct policy_gate_call *call;
	struct gate_dnsbl_zone z[GATE_DNSBL_MAX];
	size_t n, pending;
	size_t first;			/* first listed zone, or n */
	struct dns_query *txt;
	char reason[200];
};

bool
gate_dnsbl_listed(const struct sockaddr *sa)
{
	const uint8_t *a;

	if (sa->sa_family != AF_INET)
		return false;
	a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	return a[0] == 127 && !(a[1] == 255 && a[2] == 255);
}

static bool
gate_dnsbl_enabled(const struct conf *c)
{
	return c->dnsbl.n > 0;
}

/* Keeps printable ASCII of DNS text for a reply (peer-visible). */
static void
gate_dnsbl_clean(char *dst, size_t size, const char *src)
{
	size_t k = 0;

	for (; src != NULL && *src != '\0' && k + 1 < size; src++)
		if (*src >= 0x20 && *src < 0x7f)
			dst[k++] = *src;
	dst[k] = '\0';
}

static void
gate_dnsbl_free(struct gate_dnsbl_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		dns_query_abort(&j->z[i].q);
	dns_query_abort(&j->txt);
	free(j);
}

/* Logs the zones that could not be asked, for the verdict's line. */
static void
gate_dnsbl_note(struct gate_dnsbl_job *j)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	if (j->first < j->n)
		fbuf_addf(&b, "list=%s", j->z[j->first].zone);
	for (size_t i = 0; i < j->n; i++)
		if (j->z[i].st == DNS_TEMPFAIL)
			fbuf_addf(&b, "%sdns_failed=%s", b.len ? " " : "",
			    j->z[i].zone);
	if (b.len > 0)
		policy_gate_note(j->call, "%s", b.data);
	fbuf_release(&b);
}

/* Every answer is in: decide, free the job, finish. */
static void
gate_dnsbl_decide(struct gate_dnsbl_job *j)
{
	struct policy_gate_call *call = j->call;
	struct policy_client *c = call->client;
	char text[300];
	const char *zone;

	gate_dnsbl_note(j);
	if (j->first == j->n) {
		gate_dnsbl_free(j);
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return;
	}
	zone = j->z[j->first].zone;
	snprintf(text, sizeof(text), "%s%s%s", zone,
	    j->reason[0] != '\0' ? ": " : "", j->reason);
	if (call->conf->dnsbl_tag_only) {
		for (size_t i = 0; i < j->n; i++) {
			bool why = i == j->first && j->reason[0] != '\0';

			if (j->z[i].listed)
				fbuf_addf(&c->headers, "X-DNSBL: %s lists "
				    "[%s]%s%s\r\n", j->z[i].zone, c->ip,
				    why ? ": " : "", why ? j->reason : "");
		}
		gate_dnsbl_free(j);
		policy_gate_finish(call, POLICY_TAG, 0, NULL, NULL);
		return;
	}
	gate_dnsbl_free(j);
	policy_gate_finish(call, POLICY_REJECT, 554, "5.7.1",
	    "Service unavailable; client [%s] blocked using %s", c->ip, text);
}

static void
gate_dnsbl_txt_cb(const struct dns_result *r, void *ctx)
{
	struct gate_dnsbl_job *j = ctx;

	j->txt = NULL;
	if (r->status == DNS_OK && r->n > 0)
		gate_dnsbl_clean(j->reason, sizeof(j->reason), r->rr[0].txt);
	gate_dnsbl_decide(j);
}

static void
gate_dnsbl_a_cb(const struct dns_result *r, void *ctx)
{
	struct gate_dnsbl_zone *z = ctx;
	struct gate_dnsbl_job *j = z->job;
	char name[512];

	z->q = NULL;
	z->st = r->status;
	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (gate_dnsbl_listed((const struct sockaddr *)&r->rr[i].addr))
			z->listed = true;
	if (--j->pending > 0)
		return;
	for (j->first = 0; j->first < j->n; j->first++)
		if (j->z[j->first].listed)
			break;
	if (j->first == j->n || dns_reverse_name((const struct sockaddr *)
	    &j->call->client->addr, j->z[j->first].zone, name,
	    sizeof(name)) < 0) {
		gate_dnsbl_decide(j);
		return;
	}
	j->txt = dns_lookup(j->call->dns, name, DNS_T_TXT, gate_dnsbl_txt_cb,
	    j);
}

static void *
gate_dnsbl_start(struct policy_gate_call *call)
{
	const struct conf_strlist *zones = &call->conf->dnsbl;
	struct gate_dnsbl_job *j = xcalloc(1, sizeof(*j));
	char name[512];

	j->call = call;
	for (size_t i = 0; i < zones->n && j->n < GATE_DNSBL_MAX; i++) {
		if (dns_reverse_name((const struct sockaddr *)
		    &call->client->addr, zones->v[i], name, sizeof(name)) < 0)
			continue;
		j->z[j->n].job = j;
		j->z[j->n].zone = zones->v[i];
		j->n++;
	}
	if (j->n == 0) {
		free(j);
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	/* All queries are started before any callback can run (callbacks
	 * never run inline), so `pending` is complete first. */
	j->pending = j->n;
	for (size_t i = 0; i < j->n; i++) {
		dns_reverse_name((const struct sockaddr *)&call->client->addr,
		    j->z[i].zone, name, sizeof(name));
		j->z[i].q = dns_lookup(call->dns, name, DNS_T_A,
		    gate_dnsbl_a_cb, &j->z[i]);
	}
	return j;
}

static void
gate_dnsbl_abort(void *job)
{
	gate_dnsbl_free(job);
}

const struct policy_gate gate_dnsbl = {
	.name = "dnsbl",
	.stage = POLICY_CONNECT,
	.enabled = gate_dnsbl_enabled,
	.start = gate_dnsbl_start,
	.abort = gate_dnsbl_abort,
};
