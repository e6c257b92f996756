/* The key lookups of an ARC chain through net/dns.h (one TXT query per
 * distinct selector and domain, all at once), then the decision
 * (arc_verifier_decide) and the caller's callback on the loop. */
#include <stdlib.h>

#include <event2/event.h>

#include "lib/xalloc.h"
#include "msgauth/arc.h"

struct arc_keyfetch_one {
	struct arc_keyfetch *kf;
	size_t idx;
	struct dns_query *q;
};

struct arc_keyfetch {
	struct arc_verifier *v;
	arc_keys_cb *cb;
	void *ctx;
	struct event *ev_done;
	struct arc_keyfetch_one *one;
	size_t n, pending;
};

static void
arc_keyfetch_finish(struct arc_keyfetch *kf)
{
	if (kf->pending == 0)
		event_active(kf->ev_done, EV_TIMEOUT, 1);
}

static void
arc_keyfetch_answer(const struct dns_result *r, void *ctx)
{
	struct arc_keyfetch_one *o = ctx;
	struct arc_keyfetch *kf = o->kf;
	const struct dns_rr *rr = NULL;

	o->q = NULL;
	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (r->rr[i].txt != NULL) {
			rr = &r->rr[i];
			break;
		}
	arc_verifier_key(kf->v, o->idx, rr != NULL ? DNS_OK :
	    (r->status == DNS_OK ? DNS_NODATA : r->status),
	    rr != NULL ? rr->txt : NULL, rr != NULL ? rr->txt_len : 0);
	kf->pending--;
	arc_keyfetch_finish(kf);
}

static void
arc_keyfetch_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arc_keyfetch *kf = arg;
	arc_keys_cb *cb = kf->cb;
	struct arc_verifier *v = kf->v;
	void *ctx = kf->ctx;

	event_free(kf->ev_done);
	free(kf->one);
	free(kf);
	arc_verifier_decide(v);
	cb(v, ctx);
}

struct arc_keyfetch *
arc_verify_keys(struct event_base *base, struct dns *dns,
    struct arc_verifier *v, arc_keys_cb *cb, void *ctx)
{
	struct arc_keyfetch *kf = xcalloc(1, sizeof(*kf));

	kf->v = v;
	kf->cb = cb;
	kf->ctx = ctx;
	kf->ev_done = evtimer_new(base, arc_keyfetch_done_cb, kf);
	kf->n = arc_verifier_nkeys(v);
	kf->one = xcalloc(kf->n + 1, sizeof(*kf->one));
	for (size_t i = 0; i < kf->n; i++) {
		struct arc_keyfetch_one *o = &kf->one[i];

		o->kf = kf;
		o->idx = i;
		kf->pending++;
		o->q = dns_lookup(dns, arc_verifier_keyname(v, i), DNS_T_TXT,
		    arc_keyfetch_answer, o);
	}
	arc_keyfetch_finish(kf);
	return kf;
}

void
arc_keyfetch_abort(struct arc_keyfetch **fp)
{
	struct arc_keyfetch *kf = *fp;

	if (kf == NULL)
		return;
	for (size_t i = 0; i < kf->n; i++)
		if (kf->one[i].q != NULL)
			dns_query_abort(&kf->one[i].q);
	event_free(kf->ev_done);
	free(kf->one);
	free(kf);
	*fp = NULL;
}
