/* Greylisting (the triplet method): the first attempt of (client
 * network, sender, recipient) gets 451 4.7.1; a retry after
 * greylist_delay and within greylist_window passes, and then the whole
 * client network is trusted for greylist_expire.  The network is the
 * client's /24 (IPv4) or /64 (IPv6), so pools of outbound servers that
 * retry from a neighbouring address still pass.  State is in the store
 * (it survives restarts and is shared by all smtpd processes); the check
 * and its write are a store request (store.h), on the role's worker pool.  A store failure
 * accepts (logged): greylisting is never worth losing mail over.
 * RFC 6647 (email greylisting), RFC 5321 4.5.4.1 (retry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>

#include "conf/conf.h"
#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/policy_private.h"
#include "store/store.h"

#define GATE_GREYLIST_PRUNE 3600	/* seconds between clean-ups */
/* A network the store called trusted is believed for this long without
 * asking again: a trust lasts greylist_expire (36 days by default), and
 * nothing but its expiry ends it, so a minute's belief costs nothing,
 * and every RCPT from a known sender's servers (most mail) skips a
 * store request and its trip through the worker pool. */
#define GATE_GREYLIST_TRUST_SECS 60
#define GATE_GREYLIST_TRUST_SLOTS 256	/* direct-mapped by network */

struct gate_greylist_trust {
	char net[64];
	int64_t at;			/* when the store said so; 0: empty */
};

/* The request's data: inputs and results only (store.h). */
struct gate_greylist_job {
	char net[64];
	char triplet[64 + 2 * 320 + 4];
	int64_t t[4];			/* now, delay, window, expire */
	bool prune;
	int rc;
	enum store_grey state;
	int64_t first;
};

/* The gate's job handle, owned by the pipeline's call. */
struct gate_greylist_req {
	struct policy_gate_call *call;
	struct store_req *req;
};

int
gate_greylist_net(const struct sockaddr *sa, char *dst, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
	char ip[64];
	int n;

	memset(&ss, 0, sizeof(ss));
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		*s6 = *in6;
		memset(s6->sin6_addr.s6_addr + 8, 0, 8);
		cidr_addr_str((struct sockaddr *)s6, ip, sizeof(ip));
		n = snprintf(dst, size, "%s/64", ip);
	} else if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		s4->sin_family = AF_INET;
		if (sa->sa_family == AF_INET)
			s4->sin_addr = in4->sin_addr;
		else
			memcpy(&s4->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
		((uint8_t *)&s4->sin_addr)[3] = 0;
		cidr_addr_str((struct sockaddr *)s4, ip, sizeof(ip));
		n = snprintf(dst, size, "%s/24", ip);
	} else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool
gate_greylist_enabled(const struct conf *c)
{
	return c->greylist;
}

static struct gate_greylist_trust *
gate_greylist_slot(struct policy *p, const char *net)
{
	if (p->greylist_trust == NULL)
		p->greylist_trust = xcalloc(GATE_GREYLIST_TRUST_SLOTS,
		    sizeof(*p->greylist_trust));
	return &p->greylist_trust[str_hash(net) % GATE_GREYLIST_TRUST_SLOTS];
}

/* Whether the store said net was trusted less than a minute ago. */
static bool
gate_greylist_trusted(struct policy *p, const char *net, int64_t now)
{
	const struct gate_greylist_trust *t = gate_greylist_slot(p, net);

	return t->at != 0 && now >= t->at &&
	    now - t->at < GATE_GREYLIST_TRUST_SECS && strcmp(t->net, net) == 0;
}

static void
gate_greylist_work(struct store *conn, void *data)
{
	struct gate_greylist_job *j = data;

	if (conn == NULL) {
		j->rc = -1;
		return;
	}
	j->rc = store_greylist_check(conn, j->net, j->triplet, j->t[0],
	    j->t[1], j->t[2], j->t[3], &j->state, &j->first);
	if (j->prune)
		store_greylist_prune(conn, j->t[0], j->t[2]);
}

static void
gate_greylist_done(void *data, void *ctx)
{
	struct gate_greylist_job *j = data;
	struct gate_greylist_req *g = ctx;
	struct policy_gate_call *call = g->call;
	int64_t wait = j->t[1] - (j->t[0] - j->first);
	static const char *const names[] = { "new", "early", "pass",
		"trusted" };

	free(g);			/* the request is over: no abort now */
	if (j->rc < 0) {
		policy_gate_note(call, "store=failed");
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return;
	}
	policy_gate_note(call, "greylist=%s net=%s", names[j->state], j->net);
	if (j->state == STORE_GREY_PASS || j->state == STORE_GREY_TRUSTED) {
		struct gate_greylist_trust *t = gate_greylist_slot(call->policy,
		    j->net);

		str_lcpy(t->net, j->net, sizeof(t->net));
		t->at = j->t[0];
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return;
	}
	policy_gate_finish(call, POLICY_TEMPFAIL, 451, "4.7.1",
	    "Greylisted, please try again in %lld seconds",
	    (long long)(wait > 0 ? wait : 1));
}

static const struct store_job gate_greylist_job = {
	.name = "greylist",
	.work = gate_greylist_work,
	.done = gate_greylist_done,
};

static void *
gate_greylist_start(struct policy_gate_call *call)
{
	const struct conf *c = call->conf;
	struct policy *p = call->policy;
	struct gate_greylist_job *j;
	struct gate_greylist_req *g;
	char sender[320], rcpt[320], net[64];

	if (call->stores == NULL || gate_greylist_net((const struct sockaddr *)
	    &call->client->addr, net, sizeof(net)) < 0) {
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	if (gate_greylist_trusted(p, net, (int64_t)time(NULL))) {
		policy_gate_note(call, "greylist=trusted net=%s cached=yes",
		    net);
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	str_lcpy(j->net, net, sizeof(j->net));
	j->t[0] = (int64_t)time(NULL);
	j->t[1] = (int64_t)c->greylist_delay;
	j->t[2] = (int64_t)c->greylist_window;
	j->t[3] = (int64_t)c->greylist_expire;
	str_lcpy(sender, call->client->sender, sizeof(sender));
	str_lcpy(rcpt, call->client->rcpt != NULL ? call->client->rcpt : "",
	    sizeof(rcpt));
	snprintf(j->triplet, sizeof(j->triplet), "%s %s %s", j->net,
	    str_lower(sender), str_lower(rcpt));
	if (j->t[0] - p->greylist_pruned >= GATE_GREYLIST_PRUNE) {
		p->greylist_pruned = j->t[0];
		j->prune = true;
	}
	g = xcalloc(1, sizeof(*g));
	g->call = call;
	g->req = store_req_submit(call->stores, &gate_greylist_job, j, g);
	return g;
}

static void
gate_greylist_abort(void *job)
{
	struct gate_greylist_req *g = job;

	store_req_abort(&g->req);	/* done() will not run: free here */
	free(g);
}
const struct policy_gate gate_greylist = {
	.name = "greylist",
	.stage = POLICY_RCPT,
	.enabled = gate_greylist_enabled,
	.start = gate_greylist_start,
	.abort = gate_greylist_abort,
};
