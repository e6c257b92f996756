/* The key lookups of an ARC chain (one TXT query per distinct selector
 * and domain, all at once through msgauth/keyfetch.h), then the caller's
 * callback on the loop; the caller decides (arc_verifier_decide), where
 * it likes: the signature checks are the CPU-heavy part. */
#include <stdlib.h>

#include <event2/event.h>

#include "lib/xalloc.h"
#include "msgauth/arc.h"
#include "msgauth/keyfetch.h"

struct arc_keyfetch {
	struct keyfetch *f;
	struct arc_verifier *v;
	arc_keys_cb *cb;
	void *ctx;
};

static const char *
arc_keyfetch_name(void *ctx, size_t i, char *buf, size_t size)
{
	struct arc_keyfetch *kf = ctx;

	return arc_verifier_keyname(kf->v, i);
}

static void
arc_keyfetch_got(void *ctx, size_t i, enum dns_status st, const char *txt,
    size_t len, uint32_t ttl)
{
	struct arc_keyfetch *kf = ctx;

	arc_verifier_key(kf->v, i, st, txt, len, ttl);
}

static void
arc_keyfetch_done(void *ctx)
{
	struct arc_keyfetch *kf = ctx;
	arc_keys_cb *cb = kf->cb;
	struct arc_verifier *v = kf->v;
	void *cbctx = kf->ctx;

	free(kf);
	cb(v, cbctx);
}

struct arc_keyfetch *
arc_verify_keys(struct event_base *base, struct dns *dns,
    struct arc_verifier *v, arc_keys_cb *cb, void *ctx)
{
	struct arc_keyfetch *kf = xcalloc(1, sizeof(*kf));

	kf->v = v;
	kf->cb = cb;
	kf->ctx = ctx;
	kf->f = keyfetch_start(base, dns, arc_verifier_nkeys(v),
	    arc_keyfetch_name, arc_keyfetch_got, arc_keyfetch_done, kf);
	return kf;
}

void
arc_keyfetch_abort(struct arc_keyfetch **fp)
{
	struct arc_keyfetch *kf = *fp;

	if (kf == NULL)
		return;
	keyfetch_abort(&kf->f);
	free(kf);
	*fp = NULL;
}
