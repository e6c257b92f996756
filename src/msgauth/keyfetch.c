/* Several TXT lookups at once for DKIM and ARC keys (keyfetch.h). */
#include <stdlib.h>

#include "lib/xalloc.h"
#include "msgauth/keyfetch.h"

struct keyfetch_one {
	struct keyfetch *kf;
	size_t idx;
	struct dns_query *q;
};

struct keyfetch {
	keyfetch_got_cb *got;
	keyfetch_done_cb *done;
	void *ctx;
	struct event *ev_done;		/* only when nothing was asked */
	struct keyfetch_one *one;
	size_t n, pending;
};

static void keyfetch_all_in(evutil_socket_t fd, short what, void *arg);

static void
keyfetch_answer(const struct dns_result *r, void *ctx)
{
	struct keyfetch_one *o = ctx;
	struct keyfetch *kf = o->kf;
	const struct dns_rr *rr = NULL;

	o->q = NULL;
	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (r->rr[i].txt != NULL) {
			rr = &r->rr[i];
			break;
		}
	kf->got(kf->ctx, o->idx, rr != NULL ? DNS_OK :
	    (r->status == DNS_OK ? DNS_NODATA : r->status),
	    rr != NULL ? rr->txt : NULL, rr != NULL ? rr->txt_len : 0,
	    rr != NULL ? r->ttl : 0);
	/* The last answer: done from here, already on the loop (through
	 * an event it cost a turn of the loop more per message). */
	if (--kf->pending == 0)
		keyfetch_all_in(-1, 0, kf);
}

static void
keyfetch_all_in(evutil_socket_t fd, short what, void *arg)
{
	struct keyfetch *kf = arg;
	keyfetch_done_cb *done = kf->done;
	void *ctx = kf->ctx;

	if (kf->ev_done != NULL)
		event_free(kf->ev_done);
	free(kf->one);
	free(kf);
	done(ctx);
}

struct keyfetch *
keyfetch_start(struct event_base *base, struct dns *dns, size_t n,
    keyfetch_name_cb *name, keyfetch_got_cb *got, keyfetch_done_cb *done,
    void *ctx)
{
	struct keyfetch *kf = xcalloc(1, sizeof(*kf));
	char buf[600];

	kf->got = got;
	kf->done = done;
	kf->ctx = ctx;
	kf->n = n;
	kf->one = xcalloc(n + 1, sizeof(*kf->one));
	for (size_t i = 0; i < n; i++) {
		struct keyfetch_one *o = &kf->one[i];
		const char *qname = name(ctx, i, buf, sizeof(buf));

		if (qname == NULL)
			continue;
		o->kf = kf;
		o->idx = i;
		kf->pending++;
		o->q = dns_lookup(dns, qname, DNS_T_TXT, keyfetch_answer, o);
	}
	if (kf->pending == 0) {
		/* Nothing to ask: done on the loop all the same. */
		kf->ev_done = evtimer_new(base, keyfetch_all_in, kf);
		event_active(kf->ev_done, EV_TIMEOUT, 1);
	}
	return kf;
}

void
keyfetch_abort(struct keyfetch **fp)
{
	struct keyfetch *kf = *fp;

	if (kf == NULL)
		return;
	for (size_t i = 0; i < kf->n; i++)
		if (kf->one[i].q != NULL)
			dns_query_abort(&kf->one[i].q);
	if (kf->ev_done != NULL)
		event_free(kf->ev_done);
	free(kf->one);
	free(kf);
	*fp = NULL;
}
