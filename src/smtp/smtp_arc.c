/* ARC in smtpd (docs/arc.md): the chain of mail from outside is verified
 * beside DKIM (same header copy rules, keys through the role's resolver
 * after DKIM's), its result goes into Authentication-Results as arc=,
 * and mail that an alias forwards to a remote address gets an ARC set
 * sealed with the alias domain's DKIM key (rsa) on the commit's worker,
 * carrying Ferry's Authentication-Results.  DMARC may use the result
 * through smtp_arc_trusted_pass(); nothing here refuses mail. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/arc.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_private.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"

struct smtp_arc_seal {
	struct arc_verifier *v;		/* taken from the transaction */
	struct dkim_keyring *ring;	/* a reference */
	char domain[254];
	struct fbuf authres;		/* Ferry's field value */
	const char *error;		/* out: why no set; NULL: sealed */
};

/* The local domain of the first recipient an alias sends out, or NULL. */
static const char *
smtp_arc_forward_domain(const struct smtp_tx *tx)
{
	for (size_t i = 0; i < tx->nrcpts; i++) {
		const struct smtp_rcpt *r = &tx->rcpts[i];
		const char *at = strrchr(r->orig, '@');

		if (!r->local && at != NULL && strcasecmp(r->orig, r->addr) != 0)
			return at + 1;
	}
	return NULL;
}

static bool
smtp_arc_seal_wanted(const struct smtp_session *s)
{
	const char *d = smtp_arc_forward_domain(s->tx);

	return s->conf->arc_seal && d != NULL &&
	    dkim_keyring_rsa(s->srv->dkim, d) != NULL;
}

void
smtp_arc_start(struct smtp_session *s)
{
	if (s->conf->arc_verify && !s->relay_ok) {
		s->tx->arc = arc_verifier_new(time(NULL),
		    smtp_arc_seal_wanted(s));
		arc_verifier_set_keycache(s->tx->arc, s->srv->keycache);
		arc_verifier_share_header(s->tx->arc);
		if (s->tx->bodies != NULL)
			arc_verifier_share_bodies(s->tx->arc, s->tx->bodies);
	}
}

void
smtp_arc_feed(struct smtp_tx *tx, const void *data, size_t n)
{
	if (tx->arc != NULL && !tx->too_big)
		arc_verifier_feed(tx->arc, data, n);
}

bool
smtp_arc_quiet(const struct smtp_tx *tx)
{
	return tx->arc == NULL || (arc_verifier_ended_header(tx->arc) &&
	    arc_verifier_count(tx->arc) == 0 &&
	    arc_verifier_nkeys(tx->arc) == 0 && !smtp_arc_sealing(tx));
}

bool
smtp_arc_sealing(const struct smtp_tx *tx)
{
	return tx->arc != NULL && smtp_arc_forward_domain(tx) != NULL;
}

void
smtp_arc_ar(const struct smtp_tx *tx, struct fbuf *out)
{
	if (tx->arc != NULL)
		arc_verifier_ar(tx->arc, out);
}

void
smtp_arc_log(struct smtp_session *s)
{
	const struct arc_result *r;

	if (s->tx->arc == NULL)
		return;
	r = arc_verifier_result(s->tx->arc);
	if (r->n == 0 && r->cv == ARC_CV_NONE)
		return;
	log_info("%s smtp arc id=%s result=%s sets=%u sealer=%s "
	    "oldest_pass=%u reason=%s", s->id, s->tx->id, arc_cv_str(r->cv),
	    r->n, log_q(r->sealer), r->oldest_pass, log_q(r->reason));
}

static void
smtp_arc_keys(struct arc_verifier *v, void *arg)
{
	struct smtp_session *s = arg;
	void (*cb)(struct smtp_session *) = s->tx->arc_cb;

	s->tx->arc_kfetch = NULL;
	cb(s);
}

bool
smtp_arc_undecided(const struct smtp_tx *tx)
{
	return tx->arc != NULL && arc_verifier_nkeys(tx->arc) > 0;
}

int
smtp_arc_finish(struct smtp_session *s, void (*cb)(struct smtp_session *))
{
	struct smtp_tx *tx = s->tx;

	if (tx->arc == NULL)
		return 1;
	arc_verifier_end(tx->arc);
	if (arc_verifier_nkeys(tx->arc) == 0) {
		arc_verifier_decide(tx->arc);
		return 1;
	}
	tx->arc_cb = cb;
	s->busy = true;
	tx->arc_kfetch = arc_verify_keys(s->srv->env->base,
	    smtp_policy_dns(s->srv->policy), tx->arc, smtp_arc_keys, s);
	return 0;
}

const struct arc_result *
smtp_arc_result(const struct smtp_tx *tx)
{
	if (tx == NULL || tx->arc == NULL || tx->arc_kfetch != NULL ||
	    smtp_arc_undecided(tx))
		return NULL;
	return arc_verifier_result(tx->arc);
}

bool
smtp_arc_trusted_pass(const struct smtp_session *s)
{
	const struct arc_result *r = smtp_arc_result(s->tx);

	return r != NULL && r->cv == ARC_CV_PASS && r->sealer[0] != '\0' &&
	    conf_strlist_has(&s->conf->arc_trusted_sealers, r->sealer);
}

struct smtp_arc_seal *
smtp_arc_seal_prepare(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_arc_seal *j;
	const char *d, *colon;

	if (tx->arc == NULL || !smtp_arc_seal_wanted(s) ||
	    (colon = memchr(tx->authres.data, ':', tx->authres.len)) == NULL)
		return NULL;
	d = smtp_arc_forward_domain(tx);
	j = xcalloc(1, sizeof(*j));
	j->v = tx->arc;
	tx->arc = NULL;
	j->ring = dkim_keyring_ref(s->srv->dkim);
	str_lcpy(j->domain, d, sizeof(j->domain));
	fbuf_init(&j->authres, 0);
	fbuf_add(&j->authres, colon + 1, tx->authres.len -
	    (size_t)(colon + 1 - tx->authres.data));
	return j;
}

int
smtp_arc_seal_run(struct smtp_arc_seal *j, struct fbuf *out)
{
	const struct dkim_ringkey *rk = dkim_keyring_rsa(j->ring, j->domain);
	struct dkim_sign_key k;

	if (rk == NULL) {
		j->error = "no rsa key";
		return -1;
	}
	k.key = rk->key;
	k.domain = rk->domain;
	k.selector = rk->selector;
	return arc_seal_message(j->v, &k, j->authres.data, j->authres.len,
	    time(NULL), out, &j->error);
}

void
smtp_arc_seal_done(struct smtp_session *s, const char *id,
    struct smtp_arc_seal **jp)
{
	struct smtp_arc_seal *j = *jp;

	if (j == NULL)
		return;
	if (j->error == NULL)
		log_info("%s smtp arc-sealed id=%s domain=%s instance=%u",
		    s->id, id, log_q(j->domain),
		    arc_verifier_count(j->v) + 1);
	else
		log_info("%s smtp arc-not-sealed id=%s domain=%s reason=%s",
		    s->id, id, log_q(j->domain), log_q(j->error));
	arc_verifier_free(&j->v);
	dkim_keyring_free(&j->ring);
	fbuf_release(&j->authres);
	free(j);
	*jp = NULL;
}
