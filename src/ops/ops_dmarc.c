/* DMARC aggregate reports (ops_dmarc.h; RFC 7489 7.2, Appendix C).
 * Rows of one policy domain and period with the same source and
 * results become one <record> with a count; the policy published is the
 * last one seen.  The report mail is multipart/mixed with a short text
 * and the gzip'd XML in base64, named as 7.2.1.1 says, queued for the
 * relay like any message (the spool's commit, then the queue's wake-up).
 * What it does not do: failure reports (ruf=), size limits (!SIZE is
 * parsed but a report over it is still sent), reports for local rua. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "conf/conf.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc.h"
#include "ops/ops_account.h"
#include "ops/ops_dmarc.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/store.h"

int
ops_dmarc_period(const char *date, int64_t now, int64_t *begin, int64_t *end,
    struct ops_status *st)
{
	struct tm tm;
	char *rest;

	if (date == NULL) {
		*begin = (now / 86400 - 1) * 86400;
		*end = *begin + 86400;
		return ops_ok(st);
	}
	memset(&tm, 0, sizeof(tm));
	rest = strptime(date, "%Y-%m-%d", &tm);
	if (rest == NULL || *rest != '\0' || tm.tm_year < 70)
		return ops_fail(st, OPS_EINVAL, "%s: not a date (YYYY-MM-DD)",
		    date);
	*begin = (int64_t)timegm(&tm);
	*end = *begin + 86400;
	return ops_ok(st);
}

/* ------------------------------------------------------------ collect */

struct ops_dmarc_collect {
	const char *domain;
	const char *hostname;
	struct ops_dmarc_reports *out;
	int64_t begin, end;
};

static bool
ops_dmarc_same(const struct ops_dmarc_rec *a, const struct store_dmarc_row *r)
{
	return strcmp(a->source_ip, r->source_ip) == 0 &&
	    strcmp(a->disposition, r->disposition) == 0 &&
	    strcmp(a->reason, r->reason) == 0 &&
	    a->dkim_aligned == r->dkim_aligned &&
	    a->spf_aligned == r->spf_aligned &&
	    strcmp(a->header_from, r->header_from) == 0 &&
	    strcmp(a->envelope_from, r->envelope_from) == 0 &&
	    strcmp(a->spf_domain, r->spf_domain) == 0 &&
	    strcmp(a->spf_result, r->spf_result) == 0 &&
	    strcmp(a->dkim, r->dkim) == 0;
}

static struct ops_dmarc_report *
ops_dmarc_report_for(struct ops_dmarc_collect *c, const char *domain)
{
	struct ops_dmarc_reports *o = c->out;
	struct ops_dmarc_report *r;

	/* Rows come ordered by policy domain: the last one or a new one. */
	if (o->n > 0 && strcasecmp(o->v[o->n - 1].domain, domain) == 0)
		return &o->v[o->n - 1];
	o->v = xreallocarray(o->v, o->n + 1, sizeof(*o->v));
	r = &o->v[o->n++];
	memset(r, 0, sizeof(*r));
	str_lcpy(r->domain, domain, sizeof(r->domain));
	str_lower(r->domain);
	r->begin = c->begin;
	r->end = c->end;
	snprintf(r->report_id, sizeof(r->report_id), "%s.%lld@%s", r->domain,
	    (long long)c->begin, c->hostname);
	return r;
}

static void
ops_dmarc_row(const struct store_dmarc_row *row, void *ctx)
{
	struct ops_dmarc_collect *c = ctx;
	struct ops_dmarc_report *r;
	struct ops_dmarc_rec *rec = NULL;
	unsigned n = row->messages == 0 ? 1 : row->messages > UINT_MAX ?
	    UINT_MAX : (unsigned)row->messages;

	if (c->domain != NULL && strcasecmp(c->domain, row->policy_domain) != 0)
		return;
	r = ops_dmarc_report_for(c, row->policy_domain);
	str_lcpy(r->p, row->p, sizeof(r->p));
	str_lcpy(r->sp, row->sp, sizeof(r->sp));
	str_lcpy(r->adkim, row->adkim, sizeof(r->adkim));
	str_lcpy(r->aspf, row->aspf, sizeof(r->aspf));
	r->pct = row->pct;
	str_lcpy(r->rua, row->rua, sizeof(r->rua));
	r->messages += n;
	for (size_t i = 0; i < r->n && rec == NULL; i++)
		if (ops_dmarc_same(&r->v[i], row))
			rec = &r->v[i];
	if (rec != NULL) {
		rec->count += n;
		return;
	}
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	rec = &r->v[r->n++];
	memset(rec, 0, sizeof(*rec));
	rec->count = n;
	str_lcpy(rec->source_ip, row->source_ip, sizeof(rec->source_ip));
	str_lcpy(rec->disposition, row->disposition, sizeof(rec->disposition));
	str_lcpy(rec->reason, row->reason, sizeof(rec->reason));
	rec->dkim_aligned = row->dkim_aligned;
	rec->spf_aligned = row->spf_aligned;
	str_lcpy(rec->header_from, row->header_from, sizeof(rec->header_from));
	str_lcpy(rec->envelope_from, row->envelope_from,
	    sizeof(rec->envelope_from));
	str_lcpy(rec->spf_domain, row->spf_domain, sizeof(rec->spf_domain));
	str_lcpy(rec->spf_result, row->spf_result, sizeof(rec->spf_result));
	str_lcpy(rec->dkim, row->dkim, sizeof(rec->dkim));
}

int
ops_dmarc_collect(const struct ops_ctx *c, int64_t begin, int64_t end,
    const char *domain, const char *hostname, struct ops_dmarc_reports *out,
    struct ops_status *st)
{
	struct ops_dmarc_collect col = { domain, hostname, out, begin, end };
	const char *error = NULL;

	memset(out, 0, sizeof(*out));
	if (ops_check_admin(c->actor, "DMARC reports", st) < 0)
		return -1;
	if (store_dmarc_list(c->store, begin, end, ops_dmarc_row, &col,
	    &error) < 0) {
		ops_dmarc_reports_free(out);
		return ops_fail(st, OPS_EFAIL, "reading the results: %s",
		    error != NULL ? error : "store error");
	}
	for (size_t i = 0; i < out->n; i++)
		out->v[i].sent = store_dmarc_sent(c->store, out->v[i].domain,
		    begin) == 1;
	return ops_ok(st);
}

void
ops_dmarc_reports_free(struct ops_dmarc_reports *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].v);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* --------------------------------------------------------------- mail */

static void
ops_dmarc_base64(struct fbuf *out, const unsigned char *p, size_t n)
{
	unsigned char line[80];

	/* 57 octets make one 76-character line (RFC 2045 6.8). */
	for (size_t i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;
		int w = EVP_EncodeBlock(line, p + i, (int)k);

		fbuf_add(out, line, (size_t)w);
		fbuf_adds(out, "\r\n");
	}
}

static void
ops_dmarc_mail(struct fbuf *m, const struct ops_dmarc_report *r,
    const char *const *rcpts, size_t n, const char *from, const char *org,
    const char *hostname, const char *id, const struct fbuf *gz)
{
	char date[64], boundary[64];
	time_t now = time(NULL);

	str_date_utc(date, sizeof(date), now);
	snprintf(boundary, sizeof(boundary), "=_ferry_dmarc_%s", id);
	fbuf_addf(m, "From: <%s>\r\nTo: ", from);
	for (size_t i = 0; i < n; i++)
		fbuf_addf(m, "%s<%s>", i > 0 ? ",\r\n\t" : "", rcpts[i]);
	fbuf_addf(m, "\r\nSubject: Report Domain: %s Submitter: %s "
	    "Report-ID: <%s>\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
	    "boundary=\"%s\"\r\n\r\n--%s\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\nDMARC aggregate report for %s from %s "
	    "(%u messages).\r\n\r\n--%s\r\nContent-Type: application/gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: "
	    "attachment;\r\n\tfilename=\"%s!%s!%lld!%lld.xml.gz\"\r\n\r\n",
	    r->domain, hostname, r->report_id, date, id, hostname, boundary,
	    boundary, r->domain, org, r->messages, boundary, hostname,
	    r->domain, (long long)r->begin, (long long)r->end - 1);
	ops_dmarc_base64(m, (const unsigned char *)gz->data, gz->len);
	fbuf_addf(m, "--%s--\r\n", boundary);
}

static void
ops_dmarc_env(struct spool_env *e, const char *from, const char *hostname,
    const char *const *rcpts, size_t n)
{
	memset(e, 0, sizeof(*e));
	e->arrival = time(NULL);
	e->sender = xstrdup(from);
	e->client_addr = xstrdup("local");
	e->client_helo = xstrdup(hostname);
	e->protocol = xstrdup("DMARC");
	e->nrcpts = n;
	e->rcpts = xcalloc(n, sizeof(*e->rcpts));
	for (size_t i = 0; i < n; i++) {
		e->rcpts[i].orig = xstrdup(rcpts[i]);
		e->rcpts[i].addr = xstrdup(rcpts[i]);
		e->rcpts[i].state = SPOOL_RCPT_PENDING;
	}
}

int
ops_dmarc_send(const struct ops_ctx *c, const struct ops_dmarc_report *r,
    const char *const *rcpts, size_t n, const char *from, const char *org,
    const char *hostname, char *id_r, size_t id_size, struct ops_status *st)
{
	char spool[PATH_MAX];
	struct spool_writer *w;
	struct spool_env e;
	struct fbuf xml, gz, m;
	const char *error = NULL;
	int rc;

	if (ops_check_admin(c->actor, "DMARC reports", st) < 0)
		return -1;
	if (n == 0)
		return ops_fail(st, OPS_EINVAL, "%s: no recipient", r->domain);
	if (conf_state_path(c->conf, spool, sizeof(spool), FERRY_SPOOL_DIR) < 0 ||
	    spool_init(spool, &error) < 0 || spool_writer_open(&w, spool) < 0)
		return ops_fail(st, OPS_EFAIL, "cannot open the spool");
	str_lcpy(id_r, spool_writer_id(w), id_size);
	fbuf_init(&xml, 0);
	fbuf_init(&gz, 0);
	fbuf_init(&m, 0);
	ops_dmarc_xml(r, org, from, &xml);
	rc = ops_dmarc_gzip(xml.data, xml.len, &gz);
	ops_dmarc_mail(&m, r, rcpts, n, from, org, hostname, id_r, &gz);
	ops_dmarc_env(&e, from, hostname, rcpts, n);
	if (rc < 0 || spool_writer_write(w, m.data, m.len) < 0) {
		spool_writer_abort(&w);
		rc = -1;
	} else
		rc = spool_writer_commit(&w, &e);
	fbuf_release(&xml);
	fbuf_release(&gz);
	fbuf_release(&m);
	spool_env_free(&e);
	if (rc < 0)
		return ops_fail(st, OPS_EFAIL, "%s: cannot queue the report",
		    r->domain);
	queue_notify(c->conf->state_dir, id_r);
	if (store_dmarc_sent_add(c->store, r->domain, r->begin, r->end,
	    r->report_id, &error) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: queued as %s but not marked "
		    "sent: %s", r->domain, id_r, error);
	return ops_ok(st);
}
