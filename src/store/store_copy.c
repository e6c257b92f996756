/* store_copy() (store.h): every table of one store into another, by
 * name and columns, through the drivers' cursors, so it works from any
 * driver to any other (SQLite into PostgreSQL for `ferry store
 * migrate`).  Rows go in with ON CONFLICT DO NOTHING, one transaction a
 * table: a row the destination already holds (by its key) is kept as it
 * is there, so a run that stopped half-way is simply run again.  Failed
 * logins (auth_failures) are not copied: they have no key to recognise
 * a copied row by, and only matter for minutes.  It deliberately knows
 * no rule about the rows: they were valid where they came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "store/store.h"
#include "store/store_db.h"

/* Every table with a key, parents before children (foreign keys), and
 * its columns as both schemas name them. */
static const struct {
	const char *table, *columns;
	unsigned ncols;
} store_copy_tables[] = {
	{ "domains", "name, created", 2 },
	{ "users", "address, domain, password, quota, created", 5 },
	{ "aliases", "address, domain, targets", 3 },
	{ "bans", "ip, created, until, reason", 4 },
	{ "rules", "id, domain, action, kind, value, created", 6 },
	{ "greylist", "triplet, first, last", 3 },
	{ "greylist_clients", "net, until", 2 },
	{ "dmarc_results", "id, at, policy_domain, header_from, source_ip, "
	    "envelope_from, spf_domain, spf_result, dkim, spf_aligned, "
	    "dkim_aligned, disposition, reason, p, sp, pct, adkim, aspf, rua, "
	    "messages", 20 },
	{ "dmarc_reports", "domain, begin, \"end\", report_id, sent", 5 },
	{ "vacations", "address, enabled, subject, body, start, until, days, "
	    "updated", 8 },
	{ "vacation_replies", "address, sender, at", 3 },
	{ "send_limits", "subject, msgs_hour, rcpts_day", 3 },
	{ "send_counts", "subject, hour, msgs, rcpts, bounces, spam", 6 },
	{ "send_holds", "address, since, automatic, reason", 4 },
	{ "send_released", "address, at", 2 },
	{ "domain_suspended", "domain, since, reason", 3 },
	{ "dmarc_in_reports", "org, report_id, domain, email, period_begin, "
	    "period_end, received, p, sp, pct, adkim, aspf", 12 },
	{ "dmarc_in_records", "org, report_id, n, source_ip, messages, "
	    "disposition, dkim, spf, reason, header_from, envelope_from, "
	    "auth_dkim, auth_spf", 13 },
	{ "nodes", "name, smtp, imap, pop3, created", 5 },
	{ "domain_homes", "domain, node", 2 },
};

#define STORE_COPY_N \
	(sizeof(store_copy_tables) / sizeof(store_copy_tables[0]))

/* "what table: message" in a per-thread buffer. */
static const char *
store_copy_err(struct store_db *db, const char *what, const char *table)
{
	static __thread char buf[320];

	snprintf(buf, sizeof(buf), "%s %s: %s", what, table,
	    db->ops->errmsg(db));
	return buf;
}

/* Rows of table in db: 0 or -1. */
static int
store_copy_count(struct store_db *db, const char *table, int64_t *n_r)
{
	struct store_stmt *st;
	char sql[96];
	int ret = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	if ((st = db->ops->prepare(db, sql)) == NULL)
		return -1;
	if (st->ops->step(st) == STORE_DB_ROW) {
		*n_r = st->ops->col_int(st, 0);
		ret = 0;
	}
	st->ops->finalize(st);
	return ret;
}

/* The INSERT for table i into sql. */
static void
store_copy_insert_sql(size_t i, struct fbuf *sql)
{
	fbuf_addf(sql, "INSERT INTO %s (%s) VALUES (",
	    store_copy_tables[i].table, store_copy_tables[i].columns);
	for (unsigned c = 1; c <= store_copy_tables[i].ncols; c++)
		fbuf_addf(sql, "%s?%u", c > 1 ? ", " : "", c);
	fbuf_addf(sql, ") ON CONFLICT DO NOTHING");
}

/* Steps sel to its end, each row into ins; *n_r rows inserted.  0, or
 * -1 with *error_r. */
static int
store_copy_rows(struct store_db *from, struct store_db *to, size_t i,
    struct store_stmt *sel, struct store_stmt *ins, int64_t *n_r,
    const char **error_r)
{
	const char *table = store_copy_tables[i].table;
	int rc;

	while ((rc = sel->ops->step(sel)) == STORE_DB_ROW) {
		for (unsigned c = 0; c < store_copy_tables[i].ncols; c++)
			ins->ops->bind_text(ins, (int)c + 1,
			    sel->ops->col_text(sel, (int)c));
		if (ins->ops->step(ins) != STORE_DB_DONE) {
			*error_r = store_copy_err(to, "write", table);
			return -1;
		}
		*n_r += to->ops->changes(to);
		ins->ops->reset(ins);
	}
	if (rc != STORE_DB_DONE) {
		*error_r = store_copy_err(from, "read", table);
		return -1;
	}
	return 0;
}

/* One table, in one transaction of the destination. */
static int
store_copy_table(struct store_db *from, struct store_db *to, size_t i,
    int64_t *n_r, const char **error_r)
{
	struct store_stmt *sel = NULL, *ins = NULL;
	struct fbuf sql;
	int ret = -1;

	fbuf_init(&sql, 0);
	fbuf_addf(&sql, "SELECT %s FROM %s", store_copy_tables[i].columns,
	    store_copy_tables[i].table);
	sel = from->ops->prepare(from, sql.data);
	fbuf_reset(&sql);
	store_copy_insert_sql(i, &sql);
	ins = to->ops->prepare(to, sql.data);
	fbuf_release(&sql);
	*error_r = NULL;
	if (sel == NULL || ins == NULL)
		*error_r = store_copy_err(sel == NULL ? from : to, "prepare",
		    store_copy_tables[i].table);
	else if (to->ops->begin(to) < 0)
		*error_r = store_copy_err(to, "begin", "copy");
	else if (store_copy_rows(from, to, i, sel, ins, n_r, error_r) < 0)
		to->ops->rollback(to);
	else if (to->ops->commit(to) < 0) {
		*error_r = store_copy_err(to, "commit", "copy");
		to->ops->rollback(to);
	} else
		ret = 0;
	if (sel != NULL)
		sel->ops->finalize(sel);
	if (ins != NULL)
		ins->ops->finalize(ins);
	return ret;
}

int
store_copy(struct store *from, struct store *to, store_copy_cb *progress,
    void *ctx, const char **error_r)
{
	struct store_db *f = store_db_of(from), *t = store_db_of(to);
	static __thread char buf[320];

	for (size_t i = 0; i < STORE_COPY_N; i++) {
		struct store_copy_count n = { .table =
		    store_copy_tables[i].table };

		if (store_copy_table(f, t, i, &n.copied, error_r) < 0)
			return -1;
		if (store_copy_count(f, n.table, &n.source) < 0 ||
		    store_copy_count(t, n.table, &n.dest) < 0) {
			*error_r = store_copy_err(f, "count", n.table);
			return -1;
		}
		if (progress != NULL)
			progress(&n, ctx);
		if (n.dest < n.source) {
			snprintf(buf, sizeof(buf), "%s: %lld rows copied of "
			    "%lld", n.table, (long long)n.dest,
			    (long long)n.source);
			*error_r = buf;
			return -1;
		}
	}
	if (t->ops->copied != NULL && t->ops->copied(t) < 0) {
		*error_r = store_copy_err(t, "after", "copy");
		return -1;
	}
	store_db_changed(to);
	return 0;
}
