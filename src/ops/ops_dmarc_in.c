/* DMARC aggregate reports received (ops_dmarc_in.h): every report part
 * of a mail is unpacked (at most DMARC_AGG_XML_MAX octets of XML),
 * parsed, checked against the hosted domains and stored; one part's
 * failure does not stop the others, and never the delivery that called
 * (the mail is in the mailbox already).  The summary adds a domain's
 * records up per source address: DMARC passed when the reporter
 * evaluated DKIM or SPF as passing (aligned), failed otherwise; sources
 * with failures come first, as those are what an operator looks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc_agg.h"
#include "ops/ops_account.h"
#include "ops/ops_dmarc_in.h"
#include "store/store.h"

const char *
ops_dmarc_in_fate_name(enum ops_dmarc_in_fate f)
{
	switch (f) {
	case OPS_DIN_STORED: return "stored";
	case OPS_DIN_DUPLICATE: return "duplicate";
	case OPS_DIN_NOT_HOSTED: return "not-hosted";
	case OPS_DIN_BAD: return "bad";
	case OPS_DIN_FAILED: return "failed";
	}
	return "?";
}

struct ops_dmarc_in_run {
	struct store *s;
	pthread_mutex_t *lock;
	int64_t now;
	struct ops_dmarc_in_result *res;
};

/* The domain or one of its parents is hosted: 1, 0, -1. */
static int
ops_dmarc_in_hosted(struct store *s, const char *domain)
{
	for (const char *d = domain; d != NULL && *d != '\0';) {
		int r = store_domain_exists(s, d);

		if (r != 0)
			return r;
		d = strchr(d, '.');
		d = d != NULL ? d + 1 : NULL;
	}
	return 0;
}

static void
ops_dmarc_in_store(struct ops_dmarc_in_run *run, struct dmarc_agg *a,
    struct ops_dmarc_in_item *it)
{
	const char *error = "store error";
	int r;

	/* A period cannot end after the report came. */
	if (a->end > run->now)
		a->end = run->now;
	if (a->begin > a->end)
		a->begin = a->end;
	if (run->lock != NULL)
		pthread_mutex_lock(run->lock);
	r = ops_dmarc_in_hosted(run->s, a->domain);
	if (r == 1)
		r = store_dmarc_in_add(run->s, a, run->now, &error);
	else if (r == 0)
		r = 2;
	if (run->lock != NULL)
		pthread_mutex_unlock(run->lock);
	switch (r) {
	case 1: it->fate = OPS_DIN_STORED; break;
	case 0: it->fate = OPS_DIN_DUPLICATE; break;
	case 2: it->fate = OPS_DIN_NOT_HOSTED; break;
	default:
		it->fate = OPS_DIN_FAILED;
		str_lcpy(it->error, error, sizeof(it->error));
	}
}

static void
ops_dmarc_in_part(void *ctx, enum dmarc_agg_kind kind, const void *data,
    size_t len)
{
	struct ops_dmarc_in_run *run = ctx;
	struct ops_dmarc_in_result *res = run->res;
	struct ops_dmarc_in_item *it;
	struct dmarc_agg a;
	struct fbuf xml;
	const char *error = NULL;

	res->v = xreallocarray(res->v, res->n + 1, sizeof(*res->v));
	it = &res->v[res->n++];
	memset(it, 0, sizeof(*it));
	fbuf_init(&xml, 0);
	memset(&a, 0, sizeof(a));
	if (dmarc_agg_unpack(kind, data, len, DMARC_AGG_XML_MAX, &xml,
	    &error) < 0 || dmarc_agg_parse(fbuf_str(&xml), xml.len, &a,
	    &error) < 0) {
		it->fate = OPS_DIN_BAD;
		str_lcpy(it->error, error, sizeof(it->error));
	} else {
		str_lcpy(it->org, a.org_name, sizeof(it->org));
		str_lcpy(it->report_id, a.report_id, sizeof(it->report_id));
		str_lcpy(it->domain, a.domain, sizeof(it->domain));
		it->records = a.nrecs;
		for (size_t i = 0; i < a.nrecs; i++)
			it->messages += a.recs[i].count;
		ops_dmarc_in_store(run, &a, it);
	}
	dmarc_agg_free(&a);
	fbuf_release(&xml);
}

void
ops_dmarc_in_take(struct store *s, pthread_mutex_t *lock, const void *msg,
    size_t len, bool raw, int64_t now, struct ops_dmarc_in_result *res)
{
	struct ops_dmarc_in_run run = { s, lock, now, res };

	memset(res, 0, sizeof(*res));
	if (raw)
		ops_dmarc_in_part(&run, dmarc_agg_sniff(msg, len), msg, len);
	else
		(void)dmarc_agg_mail_parts(msg, len, ops_dmarc_in_part, &run);
}

void
ops_dmarc_in_result_free(struct ops_dmarc_in_result *res)
{
	free(res->v);
	res->v = NULL;
	res->n = 0;
}

/* ------------------------------------------------------------ summary */

struct ops_dmarc_sum_run {
	struct ops_dmarc_summary *sum;
	char last_org[256], last_id[256];
};

/* The reporter's index in sum->orgs (added when new). */
static unsigned
ops_dmarc_sum_org(struct ops_dmarc_summary *sum, const char *name,
    bool new_report, uint64_t messages)
{
	struct ops_dmarc_org *o = NULL;

	for (size_t i = 0; i < sum->norgs && o == NULL; i++)
		if (strcmp(sum->orgs[i].name, name) == 0)
			o = &sum->orgs[i];
	if (o == NULL) {
		sum->orgs = xreallocarray(sum->orgs, sum->norgs + 1,
		    sizeof(*sum->orgs));
		o = &sum->orgs[sum->norgs++];
		memset(o, 0, sizeof(*o));
		str_lcpy(o->name, name, sizeof(o->name));
	}
	o->reports += new_report;
	o->messages += messages;
	return (unsigned)(o - sum->orgs);
}

static struct ops_dmarc_src *
ops_dmarc_sum_src(struct ops_dmarc_summary *sum, const char *ip)
{
	struct ops_dmarc_src *s;

	for (size_t i = 0; i < sum->nsrc; i++)
		if (strcmp(sum->src[i].ip, ip) == 0)
			return &sum->src[i];
	sum->src = xreallocarray(sum->src, sum->nsrc + 1, sizeof(*sum->src));
	s = &sum->src[sum->nsrc++];
	memset(s, 0, sizeof(*s));
	str_lcpy(s->ip, ip, sizeof(s->ip));
	return s;
}

static void
ops_dmarc_sum_row(const struct store_dmarc_in_row *r, void *ctx)
{
	struct ops_dmarc_sum_run *run = ctx;
	struct ops_dmarc_summary *sum = run->sum;
	struct ops_dmarc_src *s;
	unsigned oi;
	bool new_report = strcmp(run->last_org, r->org) != 0 ||
	    strcmp(run->last_id, r->report_id) != 0;
	bool pass = strcmp(r->dkim, "pass") == 0 || strcmp(r->spf, "pass") == 0;

	if (new_report) {
		str_lcpy(run->last_org, r->org, sizeof(run->last_org));
		str_lcpy(run->last_id, r->report_id, sizeof(run->last_id));
		if (sum->reports == 0 || r->begin < sum->first)
			sum->first = r->begin;
		if (sum->reports == 0 || r->end > sum->last)
			sum->last = r->end;
		sum->reports++;
	}
	oi = ops_dmarc_sum_org(sum, r->org, new_report, r->count);
	if (r->source_ip[0] == '\0')
		return;
	s = ops_dmarc_sum_src(sum, r->source_ip);
	s->messages += r->count;
	*(pass ? &s->pass : &s->fail) += r->count;
	sum->messages += r->count;
	*(pass ? &sum->pass : &sum->fail) += r->count;
	s->dkim_pass += strcmp(r->dkim, "pass") == 0 ? r->count : 0;
	s->spf_pass += strcmp(r->spf, "pass") == 0 ? r->count : 0;
	if (strcmp(r->disposition, "reject") == 0)
		s->reject += r->count;
	else if (strcmp(r->disposition, "quarantine") == 0)
		s->quarantine += r->count;
	else
		s->none += r->count;
	if (s->header_from[0] == '\0')
		str_lcpy(s->header_from, r->header_from, sizeof(s->header_from));
	for (size_t i = 0; i < s->norgs; i++)
		if (s->orgs[i] == oi)
			return;
	if (s->norgs < OPS_DMARC_SRC_ORGS)
		s->orgs[s->norgs++] = oi;
}

/* Failing sources first (most failures first), then by volume. */
static int
ops_dmarc_src_cmp(const void *a, const void *b)
{
	const struct ops_dmarc_src *x = a, *y = b;

	if (x->fail != y->fail)
		return x->fail > y->fail ? -1 : 1;
	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

int
ops_dmarc_summary(const struct ops_ctx *c, const char *domain,
    unsigned days, int64_t now, struct ops_dmarc_summary *out,
    struct ops_status *st)
{
	struct ops_dmarc_sum_run run;
	const char *error = "store error";

	memset(out, 0, sizeof(*out));
	memset(&run, 0, sizeof(run));
	run.sum = out;
	str_lcpy(out->domain, domain, sizeof(out->domain));
	str_lower(out->domain);
	if (ops_check_domain(c->actor, out->domain, st) < 0)
		return -1;
	out->since = now - (int64_t)days * 86400;
	if (store_dmarc_in_list(c->store, out->domain, out->since,
	    ops_dmarc_sum_row, &run, &error) < 0) {
		ops_dmarc_summary_free(out);
		return ops_fail(st, OPS_EFAIL, "reading the reports: %s",
		    error);
	}
	if (out->nsrc > 1)
		qsort(out->src, out->nsrc, sizeof(*out->src),
		    ops_dmarc_src_cmp);
	return ops_ok(st);
}

void
ops_dmarc_summary_free(struct ops_dmarc_summary *sum)
{
	free(sum->src);
	free(sum->orgs);
	sum->src = NULL;
	sum->orgs = NULL;
	sum->nsrc = sum->norgs = 0;
}

int
ops_dmarc_prune(struct store *s, int64_t now, uint64_t keep, unsigned *in_r,
    unsigned *results_r, unsigned *sent_r, const char **error_r)
{
	return store_dmarc_prune(s, now - (int64_t)keep, in_r, results_r,
	    sent_r, error_r);
}
