/* DMARC aggregate reports received (store.h, migration 7) and the
 * ageing of every DMARC table.  A report and its records go in within
 * one transaction; the report row's key (org, report_id) makes a second
 * copy of the same report (delivered to two mailboxes, imported again)
 * a no-op that writes nothing.  Records are deleted with their report
 * (ON DELETE CASCADE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc_agg.h"
#include "store/store.h"
#include "store/store_db.h"

enum store_dmarc_in_slot {
	DIN_ST_REPORT_ADD = STORE_XST_DMARC,
	DIN_ST_RECORD_ADD,
	DIN_ST_LIST,
	DIN_ST_PRUNE_IN,
	DIN_ST_PRUNE_RESULTS,
	DIN_ST_PRUNE_SENT,
	DIN_ST_END
};

static const char *const store_dmarc_in_sql[DIN_ST_END - STORE_XST_DMARC] = {
	[DIN_ST_REPORT_ADD - STORE_XST_DMARC] =
	    "INSERT INTO dmarc_in_reports (org, report_id, domain, email, "
	    "period_begin, period_end, received, p, sp, pct, adkim, aspf) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
	    "ON CONFLICT (org, report_id) DO NOTHING",
	[DIN_ST_RECORD_ADD - STORE_XST_DMARC] =
	    "INSERT INTO dmarc_in_records (org, report_id, n, source_ip, "
	    "messages, disposition, dkim, spf, reason, header_from, "
	    "envelope_from, auth_dkim, auth_spf) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[DIN_ST_LIST - STORE_XST_DMARC] =
	    "SELECT r.org, r.report_id, r.period_begin, r.period_end, "
	    "r.received, c.source_ip, c.messages, c.disposition, c.dkim, "
	    "c.spf, c.reason, c.header_from, c.auth_dkim, c.auth_spf "
	    "FROM dmarc_in_reports r LEFT JOIN dmarc_in_records c "
	    "ON c.org = r.org AND c.report_id = r.report_id "
	    "WHERE r.domain = ?1 AND r.period_end >= ?2 "
	    "ORDER BY r.period_begin, r.org, r.report_id, c.n",
	[DIN_ST_PRUNE_IN - STORE_XST_DMARC] =
	    "DELETE FROM dmarc_in_reports WHERE received < ?1",
	[DIN_ST_PRUNE_RESULTS - STORE_XST_DMARC] =
	    "DELETE FROM dmarc_results WHERE at < ?1",
	[DIN_ST_PRUNE_SENT - STORE_XST_DMARC] =
	    "DELETE FROM dmarc_reports WHERE \"end\" < ?1",
};

static struct store_stmt *
store_dmarc_in_stmt(struct store *s, enum store_dmarc_in_slot id)
{
	return store_db_xstmt(s, (unsigned)id,
	    store_dmarc_in_sql[id - STORE_XST_DMARC]);
}

/* "domain:selector:result ..." or "domain:result ..." of auth_results. */
static void
store_dmarc_in_auth(const struct dmarc_agg_auth *v, unsigned n, bool sel,
    char *dst, size_t size)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	for (unsigned i = 0; i < n; i++) {
		if (sel)
			fbuf_addf(&b, "%s%s:%s:%s", i > 0 ? " " : "",
			    v[i].domain, v[i].selector, v[i].result);
		else
			fbuf_addf(&b, "%s%s:%s", i > 0 ? " " : "",
			    v[i].domain, v[i].result);
	}
	str_lcpy(dst, fbuf_str(&b), size);
	fbuf_release(&b);
}

static int
store_dmarc_in_report(struct store *s, const struct dmarc_agg *a,
    int64_t received)
{
	struct store_stmt *st = store_dmarc_in_stmt(s, DIN_ST_REPORT_ADD);

	if (st == NULL)
		return -1;
	store_st_text(st, 1, a->org_name);
	store_st_text(st, 2, a->report_id);
	store_st_text(st, 3, a->domain);
	store_st_text(st, 4, a->email);
	store_st_int(st, 5, a->begin);
	store_st_int(st, 6, a->end);
	store_st_int(st, 7, received);
	store_st_text(st, 8, a->p);
	store_st_text(st, 9, a->sp);
	store_st_int(st, 10, a->pct);
	store_st_text(st, 11, a->adkim);
	store_st_text(st, 12, a->aspf);
	if (store_st_exec(st) < 0)
		return -1;
	return store_db_changes(s) > 0 ? 1 : 0;
}

static int
store_dmarc_in_record(struct store *s, const struct dmarc_agg *a, size_t i)
{
	struct store_stmt *st = store_dmarc_in_stmt(s, DIN_ST_RECORD_ADD);
	const struct dmarc_agg_rec *r = &a->recs[i];
	char dkim[1024], spf[1024];

	if (st == NULL)
		return -1;
	store_dmarc_in_auth(r->dkim_auth, r->ndkim, true, dkim, sizeof(dkim));
	store_dmarc_in_auth(r->spf_auth, r->nspf, false, spf, sizeof(spf));
	store_st_text(st, 1, a->org_name);
	store_st_text(st, 2, a->report_id);
	store_st_int(st, 3, (int64_t)i);
	store_st_text(st, 4, r->source_ip);
	store_st_int(st, 5, (int64_t)r->count);
	store_st_text(st, 6, r->disposition);
	store_st_text(st, 7, r->dkim);
	store_st_text(st, 8, r->spf);
	store_st_text(st, 9, r->reason);
	store_st_text(st, 10, r->header_from);
	store_st_text(st, 11, r->envelope_from);
	store_st_text(st, 12, dkim);
	store_st_text(st, 13, spf);
	return store_st_exec(st);
}

int
store_dmarc_in_add(struct store *s, const struct dmarc_agg *a,
    int64_t received, const char **error_r)
{
	int ret;

	store_db_lock(s);
	if (store_db_begin(s) < 0) {
		*error_r = store_db_err(s, "dmarc report begin");
		store_db_unlock(s);
		return -1;
	}
	ret = store_dmarc_in_report(s, a, received);
	for (size_t i = 0; ret == 1 && i < a->nrecs; i++)
		if (store_dmarc_in_record(s, a, i) < 0)
			ret = -1;
	if (ret < 0) {
		*error_r = store_db_err(s, "dmarc report add");
		store_db_rollback(s);
	} else if (store_db_commit(s) < 0) {
		*error_r = store_db_err(s, "dmarc report commit");
		ret = -1;
	}
	store_db_unlock(s);
	return ret;
}

static void
store_dmarc_in_fill(struct store_stmt *st, struct store_dmarc_in_row *r)
{
	memset(r, 0, sizeof(*r));
	str_lcpy(r->org, store_st_col_text(st, 0), sizeof(r->org));
	str_lcpy(r->report_id, store_st_col_text(st, 1), sizeof(r->report_id));
	r->begin = store_st_col_int(st, 2);
	r->end = store_st_col_int(st, 3);
	r->received = store_st_col_int(st, 4);
	str_lcpy(r->source_ip, store_st_col_text(st, 5), sizeof(r->source_ip));
	r->count = (uint64_t)store_st_col_int(st, 6);
	str_lcpy(r->disposition, store_st_col_text(st, 7),
	    sizeof(r->disposition));
	str_lcpy(r->dkim, store_st_col_text(st, 8), sizeof(r->dkim));
	str_lcpy(r->spf, store_st_col_text(st, 9), sizeof(r->spf));
	str_lcpy(r->reason, store_st_col_text(st, 10), sizeof(r->reason));
	str_lcpy(r->header_from, store_st_col_text(st, 11),
	    sizeof(r->header_from));
	str_lcpy(r->auth_dkim, store_st_col_text(st, 12), sizeof(r->auth_dkim));
	str_lcpy(r->auth_spf, store_st_col_text(st, 13), sizeof(r->auth_spf));
}

int
store_dmarc_in_list(struct store *s, const char *domain, int64_t since,
    void (*cb)(const struct store_dmarc_in_row *r, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_dmarc_in_row *v = NULL;
	struct store_stmt *st;
	char dom[256];
	size_t n = 0;
	int rc = STORE_DB_ERROR;

	str_lcpy(dom, domain, sizeof(dom));
	str_lower(dom);
	store_db_lock(s);
	st = store_dmarc_in_stmt(s, DIN_ST_LIST);
	if (st != NULL) {
		store_st_text(st, 1, dom);
		store_st_int(st, 2, since);
		while ((rc = store_st_step(st)) == STORE_DB_ROW) {
			if (n % 64 == 0)
				v = xreallocarray(v, n + 64, sizeof(*v));
			store_dmarc_in_fill(st, &v[n++]);
		}
		store_st_reset(st);
	}
	if (rc != STORE_DB_DONE)
		*error_r = store_db_err(s, "dmarc reports list");
	store_db_unlock(s);
	/* Outside the lock: the callback may take its time. */
	for (size_t i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], ctx);
	free(v);
	return rc == STORE_DB_DONE ? 0 : -1;
}

static int
store_dmarc_prune_one(struct store *s, enum store_dmarc_in_slot id,
    int64_t before, unsigned *n_r)
{
	struct store_stmt *st = store_dmarc_in_stmt(s, id);

	*n_r = 0;
	if (st == NULL)
		return -1;
	store_st_int(st, 1, before);
	if (store_st_exec(st) < 0)
		return -1;
	*n_r = (unsigned)store_db_changes(s);
	return 0;
}

int
store_dmarc_prune(struct store *s, int64_t before, unsigned *in_r,
    unsigned *results_r, unsigned *sent_r, const char **error_r)
{
	int ret;

	store_db_lock(s);
	ret = store_dmarc_prune_one(s, DIN_ST_PRUNE_IN, before, in_r);
	if (ret == 0)
		ret = store_dmarc_prune_one(s, DIN_ST_PRUNE_RESULTS, before,
		    results_r);
	if (ret == 0)
		ret = store_dmarc_prune_one(s, DIN_ST_PRUNE_SENT, before,
		    sent_r);
	if (ret < 0)
		*error_r = store_db_err(s, "dmarc prune");
	store_db_unlock(s);
	return ret;
}
