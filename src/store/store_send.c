/* The SQLite backend's half of outbound abuse control (store.h,
 * migration 5): limit overrides, the per-hour send counters, send-holds
 * of users and suspended domains.  A reservation reads everything about
 * a sender and writes its counters in one BEGIN IMMEDIATE transaction,
 * so concurrent sessions (in any process) count one after the other.
 * What the numbers mean, and the thresholds, are auth/sendlimit.c's;
 * nothing here knows a limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "store/store.h"
#include "store/store_db.h"

enum store_send_slot {
	SEND_ST_LIMITS_SET,
	SEND_ST_LIMITS_DEL,
	SEND_ST_LIMITS_GET,
	SEND_ST_HOLD_SET,
	SEND_ST_HOLD_DEL,
	SEND_ST_HOLD_GET,
	SEND_ST_HOLD_LIST,
	SEND_ST_SUSPEND,
	SEND_ST_RESUME,
	SEND_ST_SUSPENDED,
	SEND_ST_DOMAIN_EXISTS,
	SEND_ST_COUNTS,
	SEND_ST_COUNT_MSG,
	SEND_ST_COUNT_RCPT,
	SEND_ST_COUNT_BOUNCE,
	SEND_ST_COUNT_SPAM,
	SEND_ST_PRUNE,
	SEND_ST_RELEASED_SET,
	SEND_ST_RELEASED_GET,
	SEND_ST_N
};

static const char *const store_send_sql[SEND_ST_N] = {
	[SEND_ST_LIMITS_SET] =
	    "INSERT INTO send_limits (subject, msgs_hour, rcpts_day) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (subject) DO UPDATE SET "
	    "msgs_hour = excluded.msgs_hour, rcpts_day = excluded.rcpts_day",
	[SEND_ST_LIMITS_DEL] = "DELETE FROM send_limits WHERE subject = ?1",
	[SEND_ST_LIMITS_GET] =
	    "SELECT msgs_hour, rcpts_day FROM send_limits WHERE subject = ?1",
	[SEND_ST_HOLD_SET] =
	    "INSERT INTO send_holds (address, since, automatic, reason) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (address) DO NOTHING",
	[SEND_ST_HOLD_DEL] = "DELETE FROM send_holds WHERE address = ?1",
	[SEND_ST_HOLD_GET] =
	    "SELECT address, since, automatic, reason FROM send_holds "
	    "WHERE address = ?1",
	[SEND_ST_HOLD_LIST] =
	    "SELECT address, since, automatic, reason FROM send_holds "
	    "ORDER BY address",
	[SEND_ST_SUSPEND] =
	    "INSERT INTO domain_suspended (domain, since, reason) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (domain) DO NOTHING",
	[SEND_ST_RESUME] = "DELETE FROM domain_suspended WHERE domain = ?1",
	[SEND_ST_SUSPENDED] =
	    "SELECT since FROM domain_suspended WHERE domain = ?1",
	[SEND_ST_DOMAIN_EXISTS] = "SELECT 1 FROM domains WHERE name = ?1",
	[SEND_ST_COUNTS] =
	    "SELECT hour, msgs, rcpts, bounces, spam FROM send_counts "
	    "WHERE subject = ?1 AND hour > ?2",
	[SEND_ST_COUNT_MSG] =
	    "INSERT INTO send_counts (subject, hour, msgs) VALUES (?1, ?2, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "msgs = send_counts.msgs + 1",
	[SEND_ST_COUNT_RCPT] =
	    "INSERT INTO send_counts (subject, hour, rcpts) VALUES (?1, ?2, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "rcpts = send_counts.rcpts + 1",
	[SEND_ST_COUNT_BOUNCE] =
	    "INSERT INTO send_counts (subject, hour, bounces) "
	    "VALUES (?1, ?2, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "bounces = send_counts.bounces + 1",
	[SEND_ST_COUNT_SPAM] =
	    "INSERT INTO send_counts (subject, hour, spam) VALUES (?1, ?2, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "spam = send_counts.spam + 1",
	[SEND_ST_PRUNE] =
	    "DELETE FROM send_counts WHERE subject = ?1 AND hour <= ?2",
	[SEND_ST_RELEASED_SET] =
	    "INSERT INTO send_released (address, at) VALUES (?1, ?2) "
	    "ON CONFLICT (address) DO UPDATE SET at = excluded.at",
	[SEND_ST_RELEASED_GET] =
	    "SELECT at FROM send_released WHERE address = ?1",
};

static struct store_stmt *
store_send_stmt(struct store *s, enum store_send_slot id)
{
	return store_db_xstmt(s, (unsigned)id, store_send_sql[id]);
}

/* A subject lower-cased in its domain part (all of a domain). */
static int
store_send_norm(const char *subject, char *dst, size_t size)
{
	char *at;

	if (subject == NULL || subject[0] == '\0' ||
	    str_lcpy(dst, subject, size) >= size)
		return -1;
	at = strrchr(dst, '@');
	str_lower(at != NULL ? at + 1 : dst);
	return 0;
}

/* ---- limits ---- */

int
store_send_limits_set(struct store *s, const char *subject,
    const struct store_send_limits *l, const char **error_r)
{
	char key[320];
	struct store_stmt *st;
	int ret;

	if (store_send_norm(subject, key, sizeof(key)) < 0) {
		store_db_seterr(error_r, "invalid subject");
		return -1;
	}
	store_db_lock(s);
	if (l->msgs_hour < 0 && l->rcpts_day < 0) {
		st = store_send_stmt(s, SEND_ST_LIMITS_DEL);
		if (st != NULL)
			store_st_text(st, 1, key);
	} else {
		st = store_send_stmt(s, SEND_ST_LIMITS_SET);
		if (st != NULL) {
			store_st_text(st, 1, key);
			store_st_int(st, 2, l->msgs_hour);
			store_st_int(st, 3, l->rcpts_day);
		}
	}
	ret = store_st_exec(st);
	if (ret < 0)
		store_db_seterr(error_r, store_db_err(s, "send limits"));
	store_db_unlock(s);
	return ret;
}

/* With the lock held. */
static int
store_send_limits_get_locked(struct store *s, const char *key,
    struct store_send_limits *l)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_LIMITS_GET);
	int rc;

	l->msgs_hour = l->rcpts_day = -1;
	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW) {
		l->msgs_hour = store_st_col_int(st, 0);
		l->rcpts_day = store_st_col_int(st, 1);
	}
	store_st_reset(st);
	return rc == STORE_DB_ROW ? 1 : rc == STORE_DB_DONE ? 0 : -1;
}

int
store_send_limits_get(struct store *s, const char *subject,
    struct store_send_limits *l)
{
	char key[320];
	int ret;

	l->msgs_hour = l->rcpts_day = -1;
	if (store_send_norm(subject, key, sizeof(key)) < 0)
		return 0;
	store_db_lock(s);
	ret = store_send_limits_get_locked(s, key, l);
	store_db_unlock(s);
	return ret;
}

/* ---- holds ---- */

int
store_send_hold_set(struct store *s, const char *address, int64_t now,
    bool automatic, const char *reason, const char **error_r)
{
	char key[320];
	struct store_stmt *st;
	int ret;

	if (store_send_norm(address, key, sizeof(key)) < 0) {
		store_db_seterr(error_r, "invalid address");
		return -1;
	}
	store_db_lock(s);
	st = store_send_stmt(s, SEND_ST_HOLD_SET);
	if (st != NULL) {
		store_st_text(st, 1, key);
		store_st_int(st, 2, now);
		store_st_int(st, 3, automatic ? 1 : 0);
		store_st_text(st, 4, reason);
	}
	if (store_st_exec(st) < 0) {
		store_db_seterr(error_r, store_db_err(s, "send hold"));
		ret = -1;
	} else
		ret = store_db_changes(s) > 0 ? 1 : 0;
	store_db_unlock(s);
	return ret;
}

/* Deletes the row of key with statement id: 1, 0 (none) or -1. */
static int
store_send_del(struct store *s, enum store_send_slot id, const char *key,
    const char *what, const char **error_r)
{
	struct store_stmt *st;
	int ret;

	store_db_lock(s);
	st = store_send_stmt(s, id);
	if (st != NULL)
		store_st_text(st, 1, key);
	if (store_st_exec(st) < 0) {
		store_db_seterr(error_r, store_db_err(s, what));
		ret = -1;
	} else
		ret = store_db_changes(s) > 0 ? 1 : 0;
	if (ret > 0)
		store_db_changed(s);
	store_db_unlock(s);
	return ret;
}

int
store_send_hold_del(struct store *s, const char *address, int64_t now,
    const char **error_r)
{
	char key[320];
	struct store_stmt *st;
	int ret;

	if (store_send_norm(address, key, sizeof(key)) < 0)
		return 0;
	ret = store_send_del(s, SEND_ST_HOLD_DEL, key, "send release",
	    error_r);
	if (ret != 1)
		return ret;
	store_db_lock(s);
	st = store_send_stmt(s, SEND_ST_RELEASED_SET);
	if (st != NULL) {
		store_st_text(st, 1, key);
		store_st_int(st, 2, now);
	}
	if (store_st_exec(st) < 0) {
		store_db_seterr(error_r, store_db_err(s, "send release"));
		ret = -1;
	}
	store_db_unlock(s);
	return ret;
}

/* With the lock held: when address was last released, 0 if never. */
static int
store_send_released_locked(struct store *s, const char *key, int64_t *at_r)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_RELEASED_GET);
	int rc;

	*at_r = 0;
	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW)
		*at_r = store_st_col_int(st, 0);
	store_st_reset(st);
	return rc == STORE_DB_ROW || rc == STORE_DB_DONE ? 0 : -1;
}

static void
store_send_hold_fill(struct store_stmt *st, struct store_send_hold *h)
{
	const char *a = store_st_col_text(st, 0);
	const char *r = store_st_col_text(st, 3);

	memset(h, 0, sizeof(*h));
	str_lcpy(h->address, a != NULL ? (const char *)a : "",
	    sizeof(h->address));
	h->since = store_st_col_int(st, 1);
	h->automatic = store_st_col_int(st, 2) != 0;
	str_lcpy(h->reason, r != NULL ? (const char *)r : "",
	    sizeof(h->reason));
}

/* With the lock held: 1, 0 or -1. */
static int
store_send_hold_get_locked(struct store *s, const char *key,
    struct store_send_hold *h)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_HOLD_GET);
	int rc;

	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW && h != NULL)
		store_send_hold_fill(st, h);
	store_st_reset(st);
	return rc == STORE_DB_ROW ? 1 : rc == STORE_DB_DONE ? 0 : -1;
}

int
store_send_hold_get(struct store *s, const char *address,
    struct store_send_hold *h)
{
	char key[320];
	int ret;

	if (store_send_norm(address, key, sizeof(key)) < 0)
		return 0;
	store_db_lock(s);
	ret = store_send_hold_get_locked(s, key, h);
	store_db_unlock(s);
	return ret;
}

int
store_send_hold_list(struct store *s,
    void (*cb)(const struct store_send_hold *h, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_send_hold *v = NULL, h;
	size_t n = 0;
	struct store_stmt *st;
	int rc = STORE_DB_ERROR;

	/* Collected first and called back after the lock is released, so
	 * that a callback may use the store. */
	store_db_lock(s);
	st = store_send_stmt(s, SEND_ST_HOLD_LIST);
	while (st != NULL && (rc = store_st_step(st)) == STORE_DB_ROW) {
		store_send_hold_fill(st, &h);
		v = realloc(v, (n + 1) * sizeof(*v));
		if (v == NULL)
			abort();
		v[n++] = h;
	}
	if (st != NULL)
		store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_db_seterr(error_r, store_db_err(s, "send hold list"));
	store_db_unlock(s);
	for (size_t i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], ctx);
	free(v);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* ---- suspended domains ---- */

int
store_domain_suspend(struct store *s, const char *domain, int64_t now,
    const char *reason, const char **error_r)
{
	char key[256];
	struct store_stmt *st;
	int ret = -1, rc;

	if (store_send_norm(domain, key, sizeof(key)) < 0) {
		store_db_seterr(error_r, "no such domain");
		return -1;
	}
	store_db_lock(s);
	st = store_send_stmt(s, SEND_ST_DOMAIN_EXISTS);
	if (st == NULL) {
		store_db_seterr(error_r, store_db_err(s, "suspend"));
		goto out;
	}
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	store_st_reset(st);
	if (rc != STORE_DB_ROW) {
		store_db_seterr(error_r, rc == STORE_DB_DONE ? "no such domain" :
		    store_db_err(s, "suspend"));
		goto out;
	}
	st = store_send_stmt(s, SEND_ST_SUSPEND);
	if (st != NULL) {
		store_st_text(st, 1, key);
		store_st_int(st, 2, now);
		store_st_text(st, 3, reason);
	}
	if (store_st_exec(st) < 0) {
		store_db_seterr(error_r, store_db_err(s, "suspend"));
		goto out;
	}
	ret = store_db_changes(s) > 0 ? 1 : 0;
	store_db_changed(s);	/* cached RCPT answers go */
out:
	store_db_unlock(s);
	return ret;
}

int
store_domain_resume(struct store *s, const char *domain,
    const char **error_r)
{
	char key[256];

	if (store_send_norm(domain, key, sizeof(key)) < 0)
		return 0;
	return store_send_del(s, SEND_ST_RESUME, key, "resume", error_r);
}

/* With the lock held: 1, 0 or -1. */
static int
store_domain_suspended_locked(struct store *s, const char *key,
    int64_t *since_r)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_SUSPENDED);
	int rc;

	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW && since_r != NULL)
		*since_r = store_st_col_int(st, 0);
	store_st_reset(st);
	return rc == STORE_DB_ROW ? 1 : rc == STORE_DB_DONE ? 0 : -1;
}

int
store_domain_suspended(struct store *s, const char *domain,
    int64_t *since_r)
{
	char key[256];
	int ret;

	if (store_send_norm(domain, key, sizeof(key)) < 0)
		return 0;
	store_db_lock(s);
	ret = store_domain_suspended_locked(s, key, since_r);
	store_db_unlock(s);
	return ret;
}

/* ---- counters ---- */

/* Reads key's counters into st as of hour `hour`: 0 or -1. */
static int
store_send_stats_locked(struct store *s, const char *key, int64_t hour,
    int64_t learn_hours, struct store_send_stats *out)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_COUNTS);
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	if (learn_hours < 24)
		learn_hours = 24;
	store_st_text(st, 1, key);
	store_st_int(st, 2, hour - learn_hours);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		int64_t h = store_st_col_int(st, 0);
		int64_t m = store_st_col_int(st, 1);

		if (h == hour)
			out->msgs_cur += m;
		else if (h < hour) {
			if (h == hour - 1)
				out->msgs_prev += m;
			out->msgs_hist += m;
			out->active_hours += m > 0;
		}
		if (h > hour - 24) {
			out->rcpts_day += store_st_col_int(st, 2);
			out->bounces_day += store_st_col_int(st, 3);
			out->spam_day += store_st_col_int(st, 4);
		}
	}
	store_st_reset(st);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* With the lock held: the whole view of address (v->address and
 * v->domain point into keys the caller keeps).  0 or -1. */
static int
store_send_view_locked(struct store *s, const char *addr, const char *dom,
    int64_t now, int64_t learn_hours, struct store_send_view *v)
{
	int64_t hour = now / 3600;
	int r;

	memset(v, 0, sizeof(*v));
	v->address = addr;
	v->domain = dom;
	if ((r = store_send_hold_get_locked(s, addr, &v->hold)) < 0)
		return -1;
	v->held = r == 1;
	if (store_send_released_locked(s, addr, &v->released) < 0)
		return -1;
	if ((r = store_domain_suspended_locked(s, dom, NULL)) < 0)
		return -1;
	v->suspended = r == 1;
	if (store_send_limits_get_locked(s, addr, &v->user_lim) < 0 ||
	    store_send_limits_get_locked(s, dom, &v->dom_lim) < 0)
		return -1;
	if (store_send_stats_locked(s, addr, hour, learn_hours,
	    &v->user) < 0 ||
	    store_send_stats_locked(s, dom, hour, learn_hours, &v->dom) < 0)
		return -1;
	return 0;
}

/* The address and its domain, normalised: 0 or -1. */
static int
store_send_keys(const char *address, char addr[320], char dom[256])
{
	const char *at;

	if (store_send_norm(address, addr, 320) < 0 ||
	    (at = strrchr(addr, '@')) == NULL || at[1] == '\0' ||
	    str_lcpy(dom, at + 1, 256) >= 256)
		return -1;
	return 0;
}

int
store_send_view(struct store *s, const char *address, int64_t now,
    int64_t learn_hours, struct store_send_view *v, const char **error_r)
{
	static __thread char addr[320], dom[256];
	int ret;

	if (store_send_keys(address, addr, dom) < 0) {
		store_db_seterr(error_r, "invalid address");
		return -1;
	}
	store_db_lock(s);
	ret = store_send_view_locked(s, addr, dom, now, learn_hours, v);
	if (ret < 0)
		store_db_seterr(error_r, store_db_err(s, "send counters"));
	store_db_unlock(s);
	return ret;
}

/* Adds one to key's counter `what` in hour, and prunes its old rows. */
static int
store_send_count(struct store *s, const char *key,
    enum store_send_count what, int64_t hour)
{
	static const enum store_send_slot ids[] = {
		[STORE_SEND_MSG] = SEND_ST_COUNT_MSG,
		[STORE_SEND_RCPT] = SEND_ST_COUNT_RCPT,
		[STORE_SEND_BOUNCE] = SEND_ST_COUNT_BOUNCE,
		[STORE_SEND_SPAM] = SEND_ST_COUNT_SPAM,
	};
	struct store_stmt *st = store_send_stmt(s, ids[what]);

	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	store_st_int(st, 2, hour);
	if (store_st_exec(st) < 0)
		return -1;
	st = store_send_stmt(s, SEND_ST_PRUNE);
	if (st == NULL)
		return -1;
	store_st_text(st, 1, key);
	store_st_int(st, 2, hour - STORE_SEND_HOURS_MAX);
	return store_st_exec(st);
}

/* Applies a: counters, then the hold.  0 or -1. */
static int
store_send_apply(struct store *s, const char *addr, const char *dom,
    enum store_send_count what, int64_t now, struct store_send_action *a)
{
	struct store_stmt *st;

	if (a->count && (store_send_count(s, addr, what, now / 3600) < 0 ||
	    store_send_count(s, dom, what, now / 3600) < 0))
		return -1;
	if (!a->hold)
		return 0;
	st = store_send_stmt(s, SEND_ST_HOLD_SET);
	if (st == NULL)
		return -1;
	store_st_text(st, 1, addr);
	store_st_int(st, 2, now);
	store_st_int(st, 3, 1);
	store_st_text(st, 4, a->hold_reason);
	if (store_st_exec(st) < 0)
		return -1;
	a->held_now = store_db_changes(s) > 0;
	return 0;
}

int
store_send_reserve(struct store *s, const char *address,
    enum store_send_count what, int64_t now, int64_t learn_hours,
    store_send_decide_cb *decide, void *ctx, struct store_send_action *a,
    const char **error_r)
{
	char addr[320], dom[256];
	struct store_send_view v;

	if (store_send_keys(address, addr, dom) < 0) {
		store_db_seterr(error_r, "invalid address");
		return -1;
	}
	memset(a, 0, sizeof(*a));
	store_db_lock(s);
	if (store_db_begin(s) < 0)
		goto fail;
	if (store_send_view_locked(s, addr, dom, now, learn_hours, &v) < 0)
		goto rollback;
	decide(&v, a, ctx);
	if (store_send_apply(s, addr, dom, what, now, a) < 0)
		goto rollback;
	if (store_db_commit(s) < 0)
		goto fail;
	if (a->held_now)
		store_db_changed(s);
	store_db_unlock(s);
	return 0;
rollback:
	store_db_rollback(s);
fail:
	store_db_seterr(error_r, store_db_err(s, "send counters"));
	store_db_unlock(s);
	return -1;
}
