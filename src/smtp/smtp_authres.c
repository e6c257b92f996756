/* DKIM verification of mail from outside and its Authentication-Results
 * field (RFC 6376 6, RFC 8601).
 *
 * For a session that may not relay (mail from strangers, on the MX
 * port) with dkim_verify on: the content goes through a DKIM verifier as
 * it streams (src/msgauth/dkim_verify.h: header kept, body only hashed),
 * and at the end of data the keys of its signatures are looked up
 * through the role's resolver while the session waits.  The result, with
 * SPF's, becomes one Authentication-Results field with the hostname as
 * authserv-id, added with the other DATA-time headers.
 *
 * RFC 8601 5: fields already in the message that claim our authserv-id
 * must go.  The header section is held in memory (bounded by
 * SMTP_HEADER_MAX) instead of written to the spool until it ends, and
 * written without them; past the bound it is written as it is (such a
 * message is refused at the end when From: is checked, and otherwise is
 * at least not hidden: a forged field stays below ours).
 *
 * DKIM results do not reject anything here: that is DMARC's business
 * (smtp_dmarc.c), whose dmarc= result joins the field at the end. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "lib/workpool.h"
#include "mime/mime.h"
#include "msgauth/arc.h"
#include "msgauth/dkim_verify.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"

bool
smtp_authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	size_t i = 0, start, n = strlen(authserv_id);

	/* authserv-id is the first token, after optional CFWS (comments
	 * are rare here and a field starting with one is not ours). */
	while (i < len && isspace((unsigned char)value[i]))
		i++;
	start = i;
	while (i < len && value[i] != ';' && value[i] != '(' &&
	    !isspace((unsigned char)value[i]))
		i++;
	return i - start == n && n > 0 &&
	    strncasecmp(value + start, authserv_id, n) == 0;
}

void
smtp_authres_start(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (!s->conf->dkim_verify)
		return;
	/* Forged results are removed from everyone's mail, also from
	 * submission (local recipients would read them); only strangers'
	 * mail is verified. */
	tx->authserv_id = s->conf->hostname;
	tx->hold = true;
	tx->spf_ar = smtp_policy_spf_ar(s->pol);
	if (!s->relay_ok) {
		tx->bodies = dkim_bodies_new();
		tx->verifier = dkim_verifier_new(time(NULL));
		dkim_verifier_set_keycache(tx->verifier, s->srv->keycache);
		dkim_verifier_share_bodies(tx->verifier, tx->bodies);
		dkim_verifier_defer_checks(tx->verifier);
		dkim_verifier_share_header(tx->verifier);
	}
	smtp_arc_start(s);
}

/* The field: authserv-id, then spf and dkim (RFC 8601 2.2, 2.7). */
static void
smtp_authres_field(struct smtp_tx *tx)
{
	fbuf_reset(&tx->authres);
	fbuf_addf(&tx->authres, "Authentication-Results: %s",
	    tx->authserv_id);
	if (tx->spf_ar[0] != '\0')
		fbuf_addf(&tx->authres, ";\r\n\t%s", tx->spf_ar);
	dkim_verifier_ar(tx->verifier, &tx->authres);
	smtp_dmarc_ar(tx, &tx->authres);
	smtp_arc_ar(tx, &tx->authres);
	fbuf_adds(&tx->authres, "\r\n");
}

void
smtp_authres_update(struct smtp_tx *tx)
{
	if (tx->verifier != NULL && !tx->authres_early)
		smtp_authres_field(tx);
}

/* Writes the held header section without the dropped fields.  A message
 * without signatures has its complete result now: the field is written
 * in front, which spares the rewrite of the spool file at the end. */
static void
smtp_authres_flush_held(struct smtp_tx *tx)
{
	uint64_t at = 0;

	/* DMARC's result comes at the end. */
	if (tx->verifier != NULL && tx->dmarc == NULL &&
	    dkim_verifier_ended_header(tx->verifier) &&
	    dkim_verifier_count(tx->verifier) == 0 && smtp_arc_quiet(tx)) {
		smtp_authres_field(tx);
		smtp_tx_write(tx, tx->authres.data, tx->authres.len);
		fbuf_reset(&tx->authres);
		tx->authres_early = true;
	}

	for (size_t i = 0; i < tx->ndrop; i++) {
		const struct smtp_drop *d = &tx->drop[i];

		if (d->off < at || d->off + d->len > tx->held.len)
			continue;
		smtp_tx_write(tx, tx->held.data + at, (size_t)(d->off - at));
		at = d->off + d->len;
	}
	smtp_tx_write(tx, tx->held.data + at, tx->held.len - (size_t)at);
	tx->hold = false;
	fbuf_release(&tx->held);
}

void
smtp_authres_write(struct smtp_tx *tx, const char *data, size_t n, size_t hn)
{
	if (!tx->hold) {
		smtp_tx_write(tx, data, n);
		return;
	}
	if (fbuf_add(&tx->held, data, hn) < 0) {
		/* Over the bound: give up dropping, write it all as it is. */
		tx->ndrop = 0;
		smtp_authres_flush_held(tx);
		smtp_tx_write(tx, data, n);
		return;
	}
	if (hn < n || (tx->hp != NULL && mime_header_parser_done(tx->hp))) {
		smtp_authres_flush_held(tx);
		smtp_tx_write(tx, data + hn, n - hn);
	}
}

void
smtp_authres_release(struct smtp_tx *tx)
{
	if (tx->hold)
		smtp_authres_flush_held(tx);
}

/* The field for the end of data, and the results in the log.  With
 * DMARC on, the field waits: DMARC's check comes next and always ends
 * in smtp_authres_update, which builds it with DMARC's result (building
 * it here too cost a second field per checked message). */
static void
smtp_authres_done(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->dmarc == NULL)
		smtp_authres_field(tx);
	smtp_arc_log(s);
	for (size_t i = 0; i < dkim_verifier_count(tx->verifier); i++) {
		const struct dkim_verdict *d = dkim_verifier_verdict(
		    tx->verifier, i);

		log_info("%s smtp dkim id=%s result=%s domain=%s selector=%s "
		    "reason=%s", s->id, tx->id, dkim_result_str(d->result),
		    log_q(d->domain), log_q(d->selector),
		    log_q(d->reason != NULL ? d->reason : ""));
	}
}

/* The signature checks, on a worker of the role's pool: the RSA (or
 * Ed25519) verifications of DKIM and ARC are most of the CPU that
 * verifying costs, and the loop has every other session to serve.  The
 * session is busy meanwhile, so nothing on the loop touches the two
 * verifiers (nor frees the transaction) until the job is done. */
static void
smtp_authres_check_work(void *arg)
{
	struct smtp_tx *tx = ((struct smtp_session *)arg)->tx;

	dkim_verifier_check(tx->verifier);
	if (tx->arc != NULL)
		arc_verifier_decide(tx->arc);
}

static void
smtp_authres_check_done(void *arg)
{
	struct smtp_session *s = arg;

	smtp_authres_done(s);
	s->tx->authres_cb(s);
}

/* Every key is in: the checks (on the check pool when there are any),
 * then the field.  1 when done now, 0 when the session waits for the
 * job. */
static int
smtp_authres_check(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (dkim_verifier_checks_left(tx->verifier) == 0 &&
	    !smtp_arc_undecided(tx)) {
		smtp_authres_done(s);
		return 1;
	}
	if (s->srv->check_pool == NULL) {
		/* Shutting down (smtpd_finish_checks): no pool left. */
		smtp_authres_check_work(s);
		smtp_authres_done(s);
		return 1;
	}
	s->busy = true;
	workpool_submit(s->srv->check_pool, smtp_authres_check_work,
	    smtp_authres_check_done, s);
	return 0;
}

/* One of the two key lookups (DKIM's, ARC's) is in: the checks once
 * both are. */
static void
smtp_authres_key_done(struct smtp_session *s)
{
	if (--s->tx->keys_pending > 0)
		return;
	if (smtp_authres_check(s) == 1)
		s->tx->authres_cb(s);
}

static void
smtp_authres_keys(struct dkim_verifier *v, void *arg)
{
	struct smtp_session *s = arg;

	s->tx->kfetch = NULL;
	smtp_authres_key_done(s);
}

/* DKIM's and ARC's keys are looked up at the same time (they were one
 * after the other: a turn of the loop more for every forwarded
 * message), then the checks run.  1 when everything is decided now, 0
 * when the session waits (busy) for cb. */
int
smtp_authres_finish(struct smtp_session *s,
    void (*cb)(struct smtp_session *s))
{
	struct smtp_tx *tx = s->tx;

	if (tx->verifier == NULL || tx->authres_early)
		return 1;
	dkim_verifier_end(tx->verifier);
	tx->authres_cb = cb;
	tx->keys_pending = 1;		/* this call's own, until its end */
	if (dkim_verifier_pending(tx->verifier) > 0) {
		tx->keys_pending++;
		s->busy = true;
		tx->kfetch = dkim_verify_keys(s->srv->env->base,
		    smtp_policy_dns(s->srv->policy), tx->verifier,
		    smtp_authres_keys, s);
	}
	if (smtp_arc_finish(s, smtp_authres_key_done) == 0)
		tx->keys_pending++;
	if (--tx->keys_pending > 0)
		return 0;
	return smtp_authres_check(s);
}
