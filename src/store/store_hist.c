/* The delivery history and the nodes' queue summaries (store.h,
 * migration 9): what the queue did with each message, written in
 * batches by the queue role (one transaction per batch), read by `ferry
 * why` and `ferry queue list --all-nodes`.  Queries in the SQL both
 * drivers speak.  Reading collects a step's rows before the next
 * statement runs, and calls back only after the lock is released, so a
 * callback may use the store.  Nothing here moves the change counter:
 * no cache depends on these rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_db.h"

enum store_hist_slot {
	HIST_ST_MSG_ADD,
	HIST_ST_RCPT_ADD,
	HIST_ST_ATTEMPT_ADD,
	HIST_ST_PRUNE_MSGS,
	HIST_ST_PRUNE_RCPTS,
	HIST_ST_PRUNE_ATTEMPTS,
	HIST_ST_IDS_RCPT,
	HIST_ST_IDS_DOMAIN,
	HIST_ST_IDS_ID,
	HIST_ST_MSG_GET,
	HIST_ST_RCPTS_GET,
	HIST_ST_ATTEMPTS_GET,
	HIST_ST_QUEUE_CLEAR,
	HIST_ST_QUEUE_ADD,
	HIST_ST_QUEUE_SEEN,
	HIST_ST_QUEUE_ALL,
	HIST_ST_N
};

/* ?2 limit, ?3 node ("" any): the ids, newest first. */
#define HIST_IDS(col) \
	"SELECT id, MIN(t) FROM (" \
	"SELECT r.id AS id, m.arrival AS t FROM history_rcpts r " \
	"JOIN history_msgs m ON m.id = r.id WHERE r." col " = ?1 " \
	"AND (?3 = '' OR m.node = ?3) UNION ALL " \
	"SELECT id, at AS t FROM history_attempts WHERE " col " = ?1 " \
	"AND (?3 = '' OR node = ?3)) x GROUP BY id " \
	"ORDER BY MIN(t) DESC, id LIMIT ?2"

static const char *const store_hist_sql[HIST_ST_N] = {
	[HIST_ST_MSG_ADD] =
	    "INSERT INTO history_msgs (id, node, arrival, sender, client, "
	    "size) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (id) DO NOTHING",
	[HIST_ST_RCPT_ADD] =
	    "INSERT INTO history_rcpts (id, rcpt, domain) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (id, rcpt) DO NOTHING",
	[HIST_ST_ATTEMPT_ADD] =
	    "INSERT INTO history_attempts (id, node, at, seq, rcpt, domain, "
	    "host, route, tls, reach, result, reply, next_attempt, give_up) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14)",
	[HIST_ST_PRUNE_MSGS] =
	    "DELETE FROM history_msgs WHERE arrival < ?1 AND NOT EXISTS "
	    "(SELECT 1 FROM history_attempts a WHERE a.id = history_msgs.id "
	    "AND a.at >= ?1)",
	[HIST_ST_PRUNE_RCPTS] =
	    "DELETE FROM history_rcpts WHERE NOT EXISTS "
	    "(SELECT 1 FROM history_msgs m WHERE m.id = history_rcpts.id)",
	[HIST_ST_PRUNE_ATTEMPTS] =
	    "DELETE FROM history_attempts WHERE at < ?1 AND NOT EXISTS "
	    "(SELECT 1 FROM history_msgs m WHERE m.id = history_attempts.id)",
	[HIST_ST_IDS_RCPT] = HIST_IDS("rcpt"),
	[HIST_ST_IDS_DOMAIN] = HIST_IDS("domain"),
	[HIST_ST_IDS_ID] =
	    "SELECT id, MIN(t) FROM ("
	    "SELECT id, arrival AS t FROM history_msgs WHERE id = ?1 "
	    "AND (?3 = '' OR node = ?3) UNION ALL "
	    "SELECT id, at AS t FROM history_attempts WHERE id = ?1 "
	    "AND (?3 = '' OR node = ?3)) x GROUP BY id LIMIT ?2",
	[HIST_ST_MSG_GET] =
	    "SELECT node, arrival, sender, client, size FROM history_msgs "
	    "WHERE id = ?1",
	[HIST_ST_RCPTS_GET] =
	    "SELECT rcpt FROM history_rcpts WHERE id = ?1 ORDER BY rcpt",
	[HIST_ST_ATTEMPTS_GET] =
	    "SELECT node, at, seq, rcpt, host, route, tls, reach, result, "
	    "reply, next_attempt, give_up FROM history_attempts "
	    "WHERE id = ?1 AND (?2 = '' OR node = ?2) ORDER BY at, seq",
	[HIST_ST_QUEUE_CLEAR] = "DELETE FROM queue_summary WHERE node = ?1",
	[HIST_ST_QUEUE_ADD] =
	    "INSERT INTO queue_summary (node, id, sender, rcpts, arrival, "
	    "next_attempt, size, held) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
	    "ON CONFLICT (node, id) DO NOTHING",
	[HIST_ST_QUEUE_SEEN] =
	    "INSERT INTO queue_nodes (node, seen) VALUES (?1, ?2) "
	    "ON CONFLICT (node) DO UPDATE SET seen = excluded.seen",
	[HIST_ST_QUEUE_ALL] =
	    "SELECT q.node, q.id, q.sender, q.rcpts, q.arrival, "
	    "q.next_attempt, q.size, q.held, COALESCE(n.seen, 0) "
	    "FROM queue_summary q LEFT JOIN queue_nodes n ON n.node = q.node "
	    "ORDER BY q.node, q.arrival, q.id",
};

static struct store_stmt *
store_hist_stmt(struct store *s, enum store_hist_slot id)
{
	return store_db_xstmt(s, STORE_XST_HIST + (unsigned)id,
	    store_hist_sql[id]);
}

/* The domain of addr, lower-cased ("" when none). */
static void
store_hist_domain(const char *addr, char *dst, size_t size)
{
	const char *at = strrchr(addr, '@');

	str_lcpy(dst, at != NULL ? at + 1 : "", size);
	str_lower(dst);
}

static void
store_hist_col(struct store_stmt *st, int col, char *dst, size_t size)
{
	str_lcpy(dst, store_st_col_text(st, col), size);
}

/* ---- writing ---- */

static int
store_hist_rcpts_add(struct store *s, const struct store_hist_msg *m)
{
	char rcpt[STORE_HIST_ADDR_MAX], domain[256];
	const char *p = m->rcpts != NULL ? m->rcpts : "";
	struct store_stmt *st;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, "\n");
		if (n > 0 && n < sizeof(rcpt)) {
			memcpy(rcpt, p, n);
			rcpt[n] = '\0';
			str_lower(rcpt);
			store_hist_domain(rcpt, domain, sizeof(domain));
			st = store_hist_stmt(s, HIST_ST_RCPT_ADD);
			store_st_text(st, 1, m->id);
			store_st_text(st, 2, rcpt);
			store_st_text(st, 3, domain);
			if (store_st_exec(st) < 0)
				return -1;
		}
		p += n;
		p += strspn(p, "\n");
	}
	return 0;
}

static int
store_hist_msg_add(struct store *s, const struct store_hist_msg *m)
{
	struct store_stmt *st = store_hist_stmt(s, HIST_ST_MSG_ADD);

	store_st_text(st, 1, m->id);
	store_st_text(st, 2, m->node);
	store_st_int(st, 3, m->arrival);
	store_st_text(st, 4, m->sender);
	store_st_text(st, 5, m->client);
	store_st_int(st, 6, (int64_t)m->size);
	if (store_st_exec(st) < 0)
		return -1;
	/* A message recorded before keeps its recipients; adding them
	 * again changes nothing (the key is id and recipient). */
	return store_hist_rcpts_add(s, m);
}

static int
store_hist_attempt_add(struct store *s, const struct store_hist_attempt *a)
{
	struct store_stmt *st = store_hist_stmt(s, HIST_ST_ATTEMPT_ADD);
	char domain[256], rcpt[STORE_HIST_ADDR_MAX];

	str_lcpy(rcpt, a->rcpt, sizeof(rcpt));
	str_lower(rcpt);
	store_hist_domain(a->rcpt, domain, sizeof(domain));
	store_st_text(st, 1, a->id);
	store_st_text(st, 2, a->node);
	store_st_int(st, 3, a->at);
	store_st_int(st, 4, a->seq);
	store_st_text(st, 5, rcpt);
	store_st_text(st, 6, domain);
	store_st_text(st, 7, a->host);
	store_st_text(st, 8, a->route);
	store_st_text(st, 9, a->tls);
	store_st_text(st, 10, a->reach);
	store_st_text(st, 11, a->result);
	store_st_text(st, 12, a->reply);
	store_st_int(st, 13, a->next_attempt);
	store_st_int(st, 14, a->give_up);
	return store_st_exec(st);
}

int
store_hist_write(struct store *s, const struct store_hist_msg *msgs,
    size_t nmsgs, const struct store_hist_attempt *attempts,
    size_t nattempts, const char **error_r)
{
	int ret = 0;
	size_t i;

	store_db_lock(s);
	if (store_db_begin(s) < 0) {
		store_db_seterr(error_r, store_db_err(s, "history begin"));
		store_db_unlock(s);
		return -1;
	}
	for (i = 0; ret == 0 && i < nmsgs; i++)
		ret = store_hist_msg_add(s, &msgs[i]);
	for (i = 0; ret == 0 && i < nattempts; i++)
		ret = store_hist_attempt_add(s, &attempts[i]);
	if (ret < 0) {
		store_db_seterr(error_r, store_db_err(s, "history write"));
		store_db_rollback(s);
	} else if (store_db_commit(s) < 0) {
		store_db_seterr(error_r, store_db_err(s, "history commit"));
		ret = -1;
	}
	store_db_unlock(s);
	return ret;
}

int64_t
store_hist_prune(struct store *s, int64_t before, const char **error_r)
{
	static const enum store_hist_slot steps[] = { HIST_ST_PRUNE_MSGS,
		HIST_ST_PRUNE_RCPTS, HIST_ST_PRUNE_ATTEMPTS };
	struct store_stmt *st;
	int64_t n = 0;
	size_t i;

	store_db_lock(s);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		st = store_hist_stmt(s, steps[i]);
		if (steps[i] != HIST_ST_PRUNE_RCPTS)
			store_st_int(st, 1, before);
		if (store_st_exec(st) < 0) {
			store_db_seterr(error_r, store_db_err(s,
			    "history prune"));
			store_db_unlock(s);
			return -1;
		}
		n += store_db_changes(s);
	}
	store_db_unlock(s);
	return n;
}

/* ---- reading ---- */

/* One message's story, read under the lock, told after it. */
struct store_hist_story {
	struct store_hist_msg m;
	struct store_hist_attempt *a;
	size_t na;
};

static int
store_hist_ids(struct store *s, enum store_hist_by by, const char *key,
    const char *node, unsigned limit, char (**ids_r)[STORE_HIST_ID_MAX],
    size_t *n_r)
{
	enum store_hist_slot slot = by == STORE_HIST_BY_ID ? HIST_ST_IDS_ID :
	    by == STORE_HIST_BY_RCPT ? HIST_ST_IDS_RCPT : HIST_ST_IDS_DOMAIN;
	struct store_stmt *st = store_hist_stmt(s, slot);
	char (*ids)[STORE_HIST_ID_MAX] = NULL, lkey[STORE_HIST_ADDR_MAX];
	size_t n = 0;
	int rc;

	/* Recipients and domains are kept lower-cased: the key too (one
	 * too long matches nothing). */
	if (str_lcpy(lkey, key, sizeof(lkey)) >= sizeof(lkey))
		lkey[0] = '\0';
	str_lower(lkey);
	store_st_text(st, 1, lkey);
	store_st_int(st, 2, limit);
	store_st_text(st, 3, node);
	while ((rc = store_st_step(st)) == STORE_DB_ROW && n < limit) {
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		store_hist_col(st, 0, ids[n++], STORE_HIST_ID_MAX);
	}
	store_st_reset(st);
	*ids_r = ids;
	*n_r = n;
	return rc == STORE_DB_ROW || rc == STORE_DB_DONE ? 0 : -1;
}

static int
store_hist_read_msg(struct store *s, struct store_hist_story *t)
{
	struct store_stmt *st = store_hist_stmt(s, HIST_ST_MSG_GET);
	struct fbuf b;
	int rc;

	store_st_text(st, 1, t->m.id);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW) {
		store_hist_col(st, 0, t->m.node, sizeof(t->m.node));
		t->m.arrival = store_st_col_int(st, 1);
		store_hist_col(st, 2, t->m.sender, sizeof(t->m.sender));
		store_hist_col(st, 3, t->m.client, sizeof(t->m.client));
		t->m.size = (uint64_t)store_st_col_int(st, 4);
	}
	store_st_reset(st);
	if (rc != STORE_DB_ROW && rc != STORE_DB_DONE)
		return -1;
	fbuf_init(&b, 0);
	st = store_hist_stmt(s, HIST_ST_RCPTS_GET);
	store_st_text(st, 1, t->m.id);
	while ((rc = store_st_step(st)) == STORE_DB_ROW)
		fbuf_addf(&b, "%s%s", b.len > 0 ? "\n" : "",
		    store_st_col_text(st, 0));
	store_st_reset(st);
	t->m.rcpts = xstrdup(fbuf_str(&b));
	fbuf_release(&b);
	return rc == STORE_DB_DONE ? 0 : -1;
}

static void
store_hist_read_attempt(struct store_stmt *st, struct store_hist_attempt *a)
{
	store_hist_col(st, 0, a->node, sizeof(a->node));
	a->at = store_st_col_int(st, 1);
	a->seq = store_st_col_int(st, 2);
	store_hist_col(st, 3, a->rcpt, sizeof(a->rcpt));
	store_hist_col(st, 4, a->host, sizeof(a->host));
	store_hist_col(st, 5, a->route, sizeof(a->route));
	store_hist_col(st, 6, a->tls, sizeof(a->tls));
	store_hist_col(st, 7, a->reach, sizeof(a->reach));
	store_hist_col(st, 8, a->result, sizeof(a->result));
	store_hist_col(st, 9, a->reply, sizeof(a->reply));
	a->next_attempt = store_st_col_int(st, 10);
	a->give_up = store_st_col_int(st, 11);
}

static int
store_hist_read_story(struct store *s, struct store_hist_story *t,
    const char *node)
{
	struct store_stmt *st;
	int rc;

	if (store_hist_read_msg(s, t) < 0)
		return -1;
	st = store_hist_stmt(s, HIST_ST_ATTEMPTS_GET);
	store_st_text(st, 1, t->m.id);
	store_st_text(st, 2, node);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		struct store_hist_attempt *a;

		t->a = xreallocarray(t->a, t->na + 1, sizeof(*t->a));
		a = &t->a[t->na++];
		memset(a, 0, sizeof(*a));
		str_lcpy(a->id, t->m.id, sizeof(a->id));
		store_hist_read_attempt(st, a);
	}
	store_st_reset(st);
	return rc == STORE_DB_DONE ? 0 : -1;
}

static void
store_hist_stories_free(struct store_hist_story *t, size_t n)
{
	for (size_t i = 0; t != NULL && i < n; i++) {
		free(t[i].m.rcpts);
		free(t[i].a);
	}
	free(t);
}

int
store_hist_query(struct store *s, enum store_hist_by by, const char *key,
    const char *node, unsigned limit, store_hist_msg_cb *msg_cb,
    store_hist_attempt_cb *attempt_cb, void *ctx, const char **error_r)
{
	char (*ids)[STORE_HIST_ID_MAX] = NULL;
	struct store_hist_story *t = NULL;
	size_t n = 0, i;
	int ret;

	if (node == NULL)
		node = "";
	store_db_lock(s);
	ret = store_hist_ids(s, by, key, node, limit, &ids, &n);
	if (n > 0)
		t = xcalloc(n, sizeof(*t));
	/* Oldest first: the ids came newest first. */
	for (i = 0; ret == 0 && i < n; i++) {
		str_lcpy(t[i].m.id, ids[n - 1 - i], sizeof(t[i].m.id));
		ret = store_hist_read_story(s, &t[i], node);
	}
	if (ret < 0)
		store_db_seterr(error_r, store_db_err(s, "history"));
	store_db_unlock(s);
	free(ids);
	for (i = 0; ret == 0 && i < n; i++) {
		if (msg_cb != NULL)
			msg_cb(&t[i].m, ctx);
		for (size_t k = 0; attempt_cb != NULL && k < t[i].na; k++)
			attempt_cb(&t[i].a[k], ctx);
	}
	store_hist_stories_free(t, n);
	return ret;
}

/* ---- queue summaries ---- */

static int
store_queue_row_add(struct store *s, const char *node,
    const struct store_queue_row *r)
{
	struct store_stmt *st = store_hist_stmt(s, HIST_ST_QUEUE_ADD);

	store_st_text(st, 1, node);
	store_st_text(st, 2, r->id);
	store_st_text(st, 3, r->sender);
	store_st_text(st, 4, r->rcpts != NULL ? r->rcpts : "");
	store_st_int(st, 5, r->arrival);
	store_st_int(st, 6, r->next_attempt);
	store_st_int(st, 7, (int64_t)r->size);
	store_st_int(st, 8, r->held ? 1 : 0);
	return store_st_exec(st);
}

int
store_queue_publish(struct store *s, const char *node,
    const struct store_queue_row *rows, size_t n, int64_t now,
    const char **error_r)
{
	struct store_stmt *st;
	int ret;

	store_db_lock(s);
	if (store_db_begin(s) < 0) {
		store_db_seterr(error_r, store_db_err(s, "queue publish"));
		store_db_unlock(s);
		return -1;
	}
	st = store_hist_stmt(s, HIST_ST_QUEUE_CLEAR);
	store_st_text(st, 1, node);
	ret = store_st_exec(st);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = store_queue_row_add(s, node, &rows[i]);
	if (ret == 0) {
		st = store_hist_stmt(s, HIST_ST_QUEUE_SEEN);
		store_st_text(st, 1, node);
		store_st_int(st, 2, now);
		ret = store_st_exec(st);
	}
	if (ret < 0) {
		store_db_seterr(error_r, store_db_err(s, "queue publish"));
		store_db_rollback(s);
	} else if (store_db_commit(s) < 0) {
		store_db_seterr(error_r, store_db_err(s, "queue publish"));
		ret = -1;
	}
	store_db_unlock(s);
	return ret;
}

int
store_queue_list_all(struct store *s,
    void (*cb)(const struct store_queue_row *r, int64_t seen, void *ctx),
    void *ctx, const char **error_r)
{
	struct store_queue_row *v = NULL;
	int64_t *seen = NULL;
	struct store_stmt *st;
	size_t n = 0, i;
	int rc;

	store_db_lock(s);
	st = store_hist_stmt(s, HIST_ST_QUEUE_ALL);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		struct store_queue_row *r;

		v = xreallocarray(v, n + 1, sizeof(*v));
		seen = xreallocarray(seen, n + 1, sizeof(*seen));
		r = &v[n];
		memset(r, 0, sizeof(*r));
		store_hist_col(st, 0, r->node, sizeof(r->node));
		store_hist_col(st, 1, r->id, sizeof(r->id));
		store_hist_col(st, 2, r->sender, sizeof(r->sender));
		r->rcpts = xstrdup(store_st_col_text(st, 3));
		r->arrival = store_st_col_int(st, 4);
		r->next_attempt = store_st_col_int(st, 5);
		r->size = (uint64_t)store_st_col_int(st, 6);
		r->held = store_st_col_int(st, 7) != 0;
		seen[n++] = store_st_col_int(st, 8);
	}
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "queue list"));
	store_db_unlock(s);
	for (i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], seen[i], ctx);
	for (i = 0; i < n; i++)
		free(v[i].rcpts);
	free(v);
	free(seen);
	return rc == STORE_DB_DONE ? 0 : -1;
}
