/* DMARC (RFC 7489) of mail from outside at the end of data, and the
 * refusal of forged hosted domains.
 *
 * For a session that may not relay: the RFC 5322.From domain (6.6.1: one
 * From field with addresses of one domain, else 550), its _dmarc record
 * or the organizational domain's (6.6.3) through the role's resolver,
 * then dmarc_evaluate() with SPF's and DKIM's results.  p=reject
 * failures get 550 5.7.1, p=quarantine failures go to spam_folder (the
 * Authentication-Results field tags them either way); a DNS failure is
 * dmarc=temperror and nothing is refused.  Then one store request checks
 * whether a From domain is hosted here (mail from outside that uses one
 * must pass aligned SPF or DKIM: local_forgery_check) and records the
 * result for the aggregate reports (src/ops/ops_dmarc.c).
 * The public suffix list is read at start and, on reload, on a worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/arc.h"
#include "msgauth/dkim_verify.h"
#include "msgauth/dmarc.h"
#include "net/dns.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

#define SMTP_DMARC_DOMAINS 8	/* author domains looked at */
#define SMTP_DMARC_NAME 256

enum smtp_dmarc_res {
	SMTP_DMARC_NONE = 0,	/* no policy published (or not evaluated) */
	SMTP_DMARC_PASS,
	SMTP_DMARC_FAIL,
	SMTP_DMARC_TEMPERROR,
	SMTP_DMARC_PERMERROR
};

struct smtp_dmarc {
	struct smtp_session *s;
	void (*cb)(struct smtp_session *s);
	size_t ndom;
	struct dns_query *q;
	size_t ndkim;
	struct store_req *sreq;
	struct dmarc_outcome out;
	const char *dkim_pass[DKIM_VERIFY_MAX];
	struct dmarc_record rec;
	enum smtp_dmarc_res res;
	bool evaluate;			/* conf dmarc (else forgery only) */
	bool authored;			/* smtp_dmarc_author ran */
	bool dns_pending;		/* the policy lookup is out */
	bool asked_org;
	bool have_rec;
	bool spf_checked;		/* SPF ran for this message */
	bool unenforced;		/* a failure not acted on: SPF unknown */
	bool quarantine;
	bool arc_override;		/* a trusted ARC sealer: policy not
					 * applied (local_policy) */
	char spf_result[16];
	char from[SMTP_DMARC_NAME];	/* the one author domain, or "" */
	char org[SMTP_DMARC_NAME];
	char rec_domain[SMTP_DMARC_NAME];
	char spf_domain[SMTP_DMARC_NAME];
	char why[300];			/* permerror/temperror detail */
	char reply[800];		/* a refusal, or "" */
	char dom[SMTP_DMARC_DOMAINS][SMTP_DMARC_NAME];	/* author domains */
};

/* ------------------------------------------------ public suffix list */

struct smtp_dmarc_psl_job {
	struct smtpd *srv;
	char path[PATH_MAX];
	struct dmarc_psl *psl;
	const char *error;
};

static void
smtp_dmarc_psl_work(void *arg)
{
	struct smtp_dmarc_psl_job *j = arg;

	if (dmarc_psl_load(j->path, &j->psl, &j->error) < 0)
		j->psl = NULL;
}

static void
smtp_dmarc_psl_log(const char *path, const struct dmarc_psl *psl,
    const char *error)
{
	if (psl == NULL)
		log_warnx("- smtpd dmarc-psl-failed path=%s error=%s "
		    "note=\"organizational domains are the last two labels\"",
		    log_q(path), log_q(error));
	else
		log_info("- smtpd dmarc-psl-loaded path=%s rules=%zu",
		    log_q(path), dmarc_psl_count(psl));
}

static void
smtp_dmarc_psl_done(void *arg)
{
	struct smtp_dmarc_psl_job *j = arg;

	smtp_dmarc_psl_log(j->path, j->psl, j->error);
	/* Evaluations read the list synchronously, never across a wait:
	 * the old one can go now.  A failed reload keeps the old list. */
	if (j->psl != NULL) {
		dmarc_psl_free(j->srv->psl);
		j->srv->psl = j->psl;
	}
	free(j);
}

void
smtp_dmarc_psl_load(struct smtpd *srv, const struct conf *c, bool at_start)
{
	struct smtp_dmarc_psl_job *j;

	if (!c->dmarc && !c->local_forgery_check)
		return;
	j = xcalloc(1, sizeof(*j));
	j->srv = srv;
	str_lcpy(j->path, c->dmarc_psl, sizeof(j->path));
	if (!at_start) {
		workpool_submit(srv->env->pool, smtp_dmarc_psl_work,
		    smtp_dmarc_psl_done, j);
		return;
	}
	/* At start the loop is not running yet. */
	smtp_dmarc_psl_work(j);
	smtp_dmarc_psl_done(j);
}

/* ------------------------------------------------------------ session */

void
smtp_dmarc_start(struct smtp_session *s)
{
	const struct conf *c = s->conf;
	struct smtp_tx *tx = s->tx;

	if (s->relay_ok || (!c->dmarc && !c->local_forgery_check) ||
	    smtp_policy_skipped(s->pol, "dmarc"))
		return;
	tx->dmarc = xcalloc(1, sizeof(*tx->dmarc));
	tx->dmarc->evaluate = c->dmarc;
	tx->dmarc_from = true;
}

void
smtp_dmarc_free(struct smtp_dmarc **dp)
{
	struct smtp_dmarc *d = *dp;

	if (d == NULL)
		return;
	dns_query_abort(&d->q);
	store_req_abort(&d->sreq);
	free(d);
	*dp = NULL;
}

static void
smtp_dmarc_refuse(struct smtp_dmarc *d, const char *text)
{
	snprintf(d->reply, sizeof(d->reply), "550 5.7.1 %s", text);
}

/* The author domains (6.6.1).  DMARC needs exactly one From field whose
 * addresses share one domain; anything else is refused when DMARC is
 * on, since it is how a forged author slips past the check. */
static void
smtp_dmarc_author(struct smtp_dmarc *d, const struct smtp_tx *tx)
{
	struct mime_address *list, *a;
	bool unreadable = false;
	char dom[SMTP_DMARC_NAME];

	list = mime_address_parse(tx->from.data, tx->from.len);
	for (a = list; a != NULL; a = a->next) {
		size_t i;

		if (a->kind != MIME_ADDR_MAILBOX)
			continue;
		if (a->invalid || a->domain == NULL ||
		    str_lcpy(dom, a->domain, sizeof(dom)) >= sizeof(dom) ||
		    !dns_name_valid(dom)) {
			unreadable = true;
			continue;
		}
		str_lower(dom);
		if (dom[0] != '\0' && dom[strlen(dom) - 1] == '.')
			dom[strlen(dom) - 1] = '\0';
		for (i = 0; i < d->ndom && strcmp(d->dom[i], dom) != 0; i++)
			;
		if (i == d->ndom && d->ndom < SMTP_DMARC_DOMAINS)
			str_lcpy(d->dom[d->ndom++], dom, sizeof(d->dom[0]));
	}
	mime_address_free(&list);
	if (!d->evaluate) {
		if (d->ndom == 1)
			str_lcpy(d->from, d->dom[0], sizeof(d->from));
		return;
	}
	if (tx->nfrom != 1)
		smtp_dmarc_refuse(d, tx->nfrom == 0 ? "Message has no From: "
		    "header field (RFC 5322 3.6, RFC 7489 6.6.1)" :
		    "Message has more than one From: header field (RFC 5322 "
		    "3.6, RFC 7489 6.6.1)");
	else if (unreadable || d->ndom == 0)
		smtp_dmarc_refuse(d, "From: header field has no readable "
		    "address with a domain (RFC 7489 6.6.1)");
	else if (d->ndom > 1)
		smtp_dmarc_refuse(d, "From: header field names addresses in "
		    "several domains (RFC 7489 6.6.1)");
	else
		str_lcpy(d->from, d->dom[0], sizeof(d->from));
}

/* What SPF and DKIM authenticated.  SPF's identity is the MAIL FROM
 * domain, or the HELO name for the null sender (RFC 7489 4.1). */
static void
smtp_dmarc_auth(struct smtp_dmarc *d, struct smtp_session *s)
{
	const char *ar = smtp_policy_spf_ar(s->pol), *v, *at;
	size_t n;

	str_lcpy(d->spf_result, "none", sizeof(d->spf_result));
	d->spf_checked = ar[0] != '\0';
	if (strncmp(ar, "spf=", 4) == 0) {
		n = strcspn(ar + 4, " ");
		if (n < sizeof(d->spf_result))
			snprintf(d->spf_result, sizeof(d->spf_result), "%.*s",
			    (int)n, ar + 4);
		if ((v = strchr(ar, '=')) != NULL &&
		    (v = strchr(v + 1, '=')) != NULL) {
			at = strrchr(v + 1, '@');
			str_lcpy(d->spf_domain, at != NULL ? at + 1 : v + 1,
			    sizeof(d->spf_domain));
			str_lower(d->spf_domain);
		}
	}
	for (size_t i = 0; s->tx->verifier != NULL &&
	    i < dkim_verifier_count(s->tx->verifier) &&
	    d->ndkim < DKIM_VERIFY_MAX; i++) {
		const struct dkim_verdict *vd = dkim_verifier_verdict(
		    s->tx->verifier, i);

		if (vd->result == DKIM_R_PASS)
			d->dkim_pass[d->ndkim++] = vd->domain;
	}
}

/* Some SPF or DKIM pass aligns (relaxed) with domain. */
static bool
smtp_dmarc_any_aligned(const struct smtp_dmarc *d, const struct smtpd *srv,
    const char *domain)
{
	if (strcmp(d->spf_result, "pass") == 0 &&
	    dmarc_aligned(srv->psl, domain, d->spf_domain, DMARC_A_RELAXED))
		return true;
	for (size_t i = 0; i < d->ndkim; i++)
		if (dmarc_aligned(srv->psl, domain, d->dkim_pass[i],
		    DMARC_A_RELAXED))
			return true;
	return false;
}

/* The record is known (or its absence): the decision. */
static void
smtp_dmarc_decide(struct smtp_dmarc *d)
{
	struct dmarc_auth auth;

	if (!d->have_rec)
		return;
	memset(&auth, 0, sizeof(auth));
	auth.spf_domain = strcmp(d->spf_result, "pass") == 0 &&
	    d->spf_domain[0] != '\0' ? d->spf_domain : NULL;
	auth.dkim_domains = d->dkim_pass;
	auth.n_dkim = d->ndkim;
	dmarc_evaluate(d->s->srv->psl, &d->rec, d->from, d->rec_domain, &auth,
	    (unsigned)(ids_random() % 100), &d->out);
	d->res = d->out.pass ? SMTP_DMARC_PASS : SMTP_DMARC_FAIL;
	if (d->out.pass)
		return;
	if (!d->spf_checked && d->out.disposition != DMARC_P_NONE) {
		/* Without SPF (spf = no, or skipped by a rule) a sender that
		 * relies on SPF alone would be refused wrongly: no action. */
		d->unenforced = true;
		d->out.disposition = DMARC_P_NONE;
		str_lcpy(d->why, "SPF not checked: policy not applied",
		    sizeof(d->why));
		return;
	}
	/* A forwarder the operator trusts vouched for the message as it
	 * reached it (RFC 8617 7.2.1, RFC 7489 local policy): deliver,
	 * still reported as a failure with the override. */
	if (d->out.disposition != DMARC_P_NONE && smtp_arc_trusted_pass(d->s)) {
		const struct arc_result *arc = smtp_arc_result(d->s->tx);

		d->arc_override = true;
		d->out.disposition = DMARC_P_NONE;
		snprintf(d->why, sizeof(d->why), "local policy: trusted ARC "
		    "sealer %s", arc->sealer);
		return;
	}
	if (d->out.disposition == DMARC_P_REJECT) {
		char text[700];

		snprintf(text, sizeof(text), "Message refused by the DMARC "
		    "policy (p=reject) of %s: neither SPF nor DKIM passed for "
		    "a domain aligned with From: %s", d->rec_domain, d->from);
		smtp_dmarc_refuse(d, text);
	} else if (d->out.disposition == DMARC_P_QUARANTINE)
		d->quarantine = true;
}

/* ------------------------------------------------- the store request */

struct smtp_dmarc_job {
	char dom[SMTP_DMARC_DOMAINS][SMTP_DMARC_NAME];
	bool aligned[SMTP_DMARC_DOMAINS];
	size_t ndom;
	bool record;
	bool arc_trusted;		/* a trusted sealer's chain passed */
	struct store_dmarc_row row;
	int forged;			/* out: index into dom, or -1 */
	bool failed;
};

static void
smtp_dmarc_job_work(struct store *conn, void *data)
{
	struct smtp_dmarc_job *j = data;

	j->forged = -1;
	if (conn == NULL) {
		j->failed = true;
		return;
	}
	for (size_t i = 0; i < j->ndom && j->forged < 0; i++) {
		int r = j->aligned[i] ? 0 : store_domain_exists(conn, j->dom[i]);

		if (r < 0)
			j->failed = true;
		else if (r == 1)
			j->forged = (int)i;
	}
}

/* The row goes to the next batch (smtp_dmarc_rows.c); a hosted domain
 * forged without a trusted ARC sealer is recorded as refused by local
 * policy. */
static void
smtp_dmarc_record(struct smtpd *srv, struct smtp_dmarc_job *j)
{
	if (!j->record)
		return;
	if (j->forged >= 0 && !j->arc_trusted) {
		str_lcpy(j->row.disposition, "reject",
		    sizeof(j->row.disposition));
		str_lcpy(j->row.reason, "local_policy", sizeof(j->row.reason));
	}
	smtp_dmarc_rows_add(srv->dmarc_rows, &j->row);
}

static void smtp_dmarc_complete(struct smtp_dmarc *d);

static void
smtp_dmarc_job_done(void *data, void *ctx)
{
	struct smtp_dmarc_job *j = data;
	struct smtp_dmarc *d = ctx;
	char text[700];

	d->sreq = NULL;
	smtp_dmarc_record(d->s->srv, j);
	/* A hosted domain's mail that comes back through a trusted list
	 * server (its footer breaks DKIM, its address breaks SPF). */
	if (j->forged >= 0 && d->s->conf->local_forgery_check &&
	    j->arc_trusted)
		log_info("%s smtp forgery-overridden domain=%s reason=%s",
		    d->s->id, log_q(j->dom[j->forged]),
		    log_q("trusted ARC sealer"));
	else if (j->forged >= 0 && d->s->conf->local_forgery_check) {
		snprintf(text, sizeof(text), "Forged sender: %s is a domain "
		    "hosted here, and this mail from outside passed neither "
		    "SPF nor DKIM for it (authenticate to send as %s)",
		    j->dom[j->forged], j->dom[j->forged]);
		smtp_dmarc_refuse(d, text);
	}
	if (j->failed)
		log_warnx("%s smtp dmarc store-failed", d->s->id);
	smtp_dmarc_complete(d);
}

static const struct store_job smtp_dmarc_job = {
	.name = "dmarc",
	.work = smtp_dmarc_job_work,
	.done = smtp_dmarc_job_done,
};

static void
smtp_dmarc_row(const struct smtp_dmarc *d, struct store_dmarc_row *r)
{
	const struct smtp_session *s = d->s;
	const char *at = strrchr(s->tx->sender, '@');
	size_t len = 0;

	r->at = (int64_t)time(NULL);
	r->messages = 1;
	str_lcpy(r->policy_domain, d->rec_domain, sizeof(r->policy_domain));
	str_lcpy(r->header_from, d->from, sizeof(r->header_from));
	str_lcpy(r->source_ip, s->addr, sizeof(r->source_ip));
	str_lcpy(r->envelope_from, at != NULL ? at + 1 : "",
	    sizeof(r->envelope_from));
	str_lower(r->envelope_from);
	str_lcpy(r->spf_domain, d->spf_domain, sizeof(r->spf_domain));
	str_lcpy(r->spf_result, d->spf_result, sizeof(r->spf_result));
	for (size_t i = 0; s->tx->verifier != NULL &&
	    i < dkim_verifier_count(s->tx->verifier); i++) {
		const struct dkim_verdict *v = dkim_verifier_verdict(
		    s->tx->verifier, i);
		int n;

		if (!v->has_sig)
			continue;
		n = snprintf(r->dkim + len, sizeof(r->dkim) - len, "%s%s:%s:%s",
		    len > 0 ? " " : "", v->domain, v->selector,
		    dkim_result_str(v->result));
		if (n < 0 || (size_t)n >= sizeof(r->dkim) - len) {
			r->dkim[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	r->spf_aligned = d->out.spf_aligned;
	r->dkim_aligned = d->out.dkim_aligned;
	str_lcpy(r->disposition, dmarc_policy_name(d->out.disposition),
	    sizeof(r->disposition));
	str_lcpy(r->reason, d->unenforced || d->arc_override ? "local_policy" :
	    d->out.sampled_out ? "sampled_out" : "", sizeof(r->reason));
	str_lcpy(r->p, dmarc_policy_name(d->rec.p), sizeof(r->p));
	str_lcpy(r->sp, dmarc_policy_name(d->rec.sp), sizeof(r->sp));
	r->pct = d->rec.pct;
	str_lcpy(r->adkim, d->rec.adkim == DMARC_A_STRICT ? "s" : "r",
	    sizeof(r->adkim));
	str_lcpy(r->aspf, d->rec.aspf == DMARC_A_STRICT ? "s" : "r",
	    sizeof(r->aspf));
	len = 0;
	for (size_t i = 0; i < d->rec.n_rua; i++) {
		int n = snprintf(r->rua + len, sizeof(r->rua) - len, "%s%s",
		    i > 0 ? "," : "", d->rec.rua[i].uri);

		if (n < 0 || (size_t)n >= sizeof(r->rua) - len) {
			r->rua[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
}

/* After the DNS: the decision, then the store when there is something
 * to check or record.  1 when done now, 0 when the store was asked. */
static int
smtp_dmarc_after_dns(struct smtp_dmarc *d)
{
	const struct conf *c = d->s->conf;
	struct smtp_dmarc_job *j;
	bool need_store = false;

	smtp_dmarc_decide(d);
	j = xcalloc(1, sizeof(*j));
	if (c->local_forgery_check)
		for (size_t i = 0; i < d->ndom; i++) {
			str_lcpy(j->dom[j->ndom], d->dom[i], sizeof(j->dom[0]));
			j->aligned[j->ndom++] = smtp_dmarc_any_aligned(d,
			    d->s->srv, d->dom[i]);
		}
	j->record = d->res == SMTP_DMARC_PASS || d->res == SMTP_DMARC_FAIL;
	j->arc_trusted = smtp_arc_trusted_pass(d->s);
	j->forged = -1;
	if (j->record)
		smtp_dmarc_row(d, &j->row);
	for (size_t i = 0; i < j->ndom; i++)
		need_store = need_store || !j->aligned[i];
	if (!need_store) {
		/* Every hosted domain aligned: nothing to ask the store. */
		smtp_dmarc_record(d->s->srv, j);
		free(j);
		return 1;
	}
	d->sreq = store_req_submit(d->s->srv->env->stores, &smtp_dmarc_job,
	    j, d);
	return 0;
}

/* ------------------------------------------------------------- DNS */

static void smtp_dmarc_answer(const struct dns_result *r, void *ctx);

static void
smtp_dmarc_ask(struct smtp_dmarc *d, const char *domain)
{
	char name[SMTP_DMARC_NAME + 8];

	str_lcpy(d->rec_domain, domain, sizeof(d->rec_domain));
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	d->q = dns_lookup(smtp_policy_dns(d->s->srv->policy), name, DNS_T_TXT,
	    smtp_dmarc_answer, d);
}

/* The records of one answer: 1 a record (parsed or not), 0 none. */
static int
smtp_dmarc_select(struct smtp_dmarc *d, const struct dns_result *r)
{
	const struct dns_rr *found = NULL;
	size_t n = 0;
	char err[120];

	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (r->rr[i].txt != NULL &&
		    dmarc_is_dmarc(r->rr[i].txt, r->rr[i].txt_len)) {
			found = &r->rr[i];
			n++;
		}
	if (n == 0)
		return 0;
	if (n > 1) {
		/* 6.6.3 step 5: several records, no DMARC at all. */
		d->res = SMTP_DMARC_PERMERROR;
		str_lcpy(d->why, "several DMARC records", sizeof(d->why));
	} else if (dmarc_record_parse(found->txt, found->txt_len, &d->rec,
	    err, sizeof(err)) < 0) {
		d->res = SMTP_DMARC_PERMERROR;
		str_lcpy(d->why, err, sizeof(d->why));
	} else
		d->have_rec = true;
	return 1;
}

static void
smtp_dmarc_answer(const struct dns_result *r, void *ctx)
{
	struct smtp_dmarc *d = ctx;

	d->q = NULL;
	if (r->status == DNS_TEMPFAIL) {
		d->res = SMTP_DMARC_TEMPERROR;
		snprintf(d->why, sizeof(d->why), "DNS lookup of _dmarc.%s "
		    "failed", d->rec_domain);
	} else if (smtp_dmarc_select(d, r) == 0 && !d->asked_org &&
	    strcmp(d->org, d->from) != 0) {
		d->asked_org = true;
		smtp_dmarc_ask(d, d->org);
		return;
	}
	d->dns_pending = false;
	if (d->cb == NULL)
		return;		/* smtp_dmarc_check goes on from here */
	if (smtp_dmarc_after_dns(d) == 1)
		smtp_dmarc_complete(d);
}

/* ----------------------------------------------------------- results */

void
smtp_dmarc_ar(const struct smtp_tx *tx, struct fbuf *out)
{
	const struct smtp_dmarc *d = tx->dmarc;
	static const char *const names[] = { "none", "pass", "fail",
		"temperror", "permerror" };

	if (d == NULL || !d->evaluate || d->from[0] == '\0')
		return;
	fbuf_addf(out, ";\r\n\tdmarc=%s", names[d->res]);
	if (d->have_rec)
		fbuf_addf(out, " (p=%s sp=%s pct=%u dis=%s%s%s)",
		    dmarc_policy_name(d->rec.p), dmarc_policy_name(d->rec.sp),
		    d->rec.pct, dmarc_policy_name(d->out.disposition),
		    d->arc_override ? "; " : "", d->arc_override ? d->why : "");
	fbuf_addf(out, " header.from=%s", d->from);
}

static void
smtp_dmarc_log(const struct smtp_dmarc *d)
{
	static const char *const names[] = { "none", "pass", "fail",
		"temperror", "permerror" };

	log_info("%s smtp dmarc id=%s result=%s from=%s policy_domain=%s "
	    "p=%s disposition=%s spf=%s spf_domain=%s dkim_pass=%zu%s%s",
	    d->s->id, d->s->tx->id, names[d->res], log_q(d->from),
	    log_q(d->have_rec ? d->rec_domain : ""),
	    d->have_rec ? dmarc_policy_name(d->rec.p) : "-",
	    d->res == SMTP_DMARC_FAIL ?
	    dmarc_policy_name(d->out.disposition) : "none", d->spf_result,
	    log_q(d->spf_domain), d->ndkim, d->why[0] != '\0' ? " why=" : "",
	    d->why[0] != '\0' ? log_q(d->why) : "");
}

static void
smtp_dmarc_finish(struct smtp_dmarc *d)
{
	if (d->evaluate && d->from[0] != '\0')
		smtp_dmarc_log(d);
	smtp_authres_update(d->s->tx);
}

static void
smtp_dmarc_complete(struct smtp_dmarc *d)
{
	smtp_dmarc_finish(d);
	d->cb(d->s);
}

void
smtp_dmarc_prefetch(struct smtp_session *s)
{
	struct smtp_dmarc *d = s->tx->dmarc;

	if (d == NULL || d->authored)
		return;
	d->s = s;
	d->authored = true;
	smtp_dmarc_author(d, s->tx);
	if (d->reply[0] == '\0' && d->evaluate && d->from[0] != '\0') {
		(void)dmarc_org_domain(s->srv->psl, d->from, d->org,
		    sizeof(d->org));
		d->dns_pending = true;
		smtp_dmarc_ask(d, d->from);
	}
}

int
smtp_dmarc_check(struct smtp_session *s, void (*cb)(struct smtp_session *s))
{
	struct smtp_dmarc *d = s->tx->dmarc;
	int r;

	if (d == NULL)
		return 1;
	smtp_dmarc_prefetch(s);
	d->cb = cb;
	smtp_dmarc_auth(d, s);
	if (d->reply[0] != '\0')
		r = 1;
	else if (d->dns_pending)
		r = 0;			/* smtp_dmarc_answer goes on */
	else
		r = smtp_dmarc_after_dns(d);
	if (r == 1) {
		smtp_dmarc_finish(d);
		return 1;
	}
	s->busy = true;
	return 0;
}

const char *
smtp_dmarc_refusal(const struct smtp_tx *tx)
{
	return tx->dmarc != NULL && tx->dmarc->reply[0] != '\0' ?
	    tx->dmarc->reply : NULL;
}

bool
smtp_dmarc_quarantine(const struct smtp_tx *tx)
{
	return tx->dmarc != NULL && tx->dmarc->quarantine;
}
