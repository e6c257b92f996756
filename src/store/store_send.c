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
	SEND_ST_COUNT_MSG,
	SEND_ST_COUNT_RCPT,
	SEND_ST_COUNT_BOUNCE,
	SEND_ST_COUNT_SPAM,
	SEND_ST_PRUNE,
	SEND_ST_RELEASED_SET,
	SEND_ST_VIEW,
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
	[SEND_ST_COUNT_MSG] =
	    "INSERT INTO send_counts (subject, hour, msgs) "
	    "VALUES (?1, ?3, 1), (?2, ?3, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "msgs = send_counts.msgs + 1 RETURNING msgs",
	[SEND_ST_COUNT_RCPT] =
	    "INSERT INTO send_counts (subject, hour, rcpts) "
	    "VALUES (?1, ?3, 1), (?2, ?3, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "rcpts = send_counts.rcpts + 1 RETURNING rcpts",
	[SEND_ST_COUNT_BOUNCE] =
	    "INSERT INTO send_counts (subject, hour, bounces) "
	    "VALUES (?1, ?3, 1), (?2, ?3, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "bounces = send_counts.bounces + 1 RETURNING bounces",
	[SEND_ST_COUNT_SPAM] =
	    "INSERT INTO send_counts (subject, hour, spam) "
	    "VALUES (?1, ?3, 1), (?2, ?3, 1) "
	    "ON CONFLICT (subject, hour) DO UPDATE SET "
	    "spam = send_counts.spam + 1 RETURNING spam",
	[SEND_ST_PRUNE] =
	    "DELETE FROM send_counts WHERE subject IN (?1, ?2) AND hour <= ?3",
	[SEND_ST_RELEASED_SET] =
	    "INSERT INTO send_released (address, at) VALUES (?1, ?2) "
	    "ON CONFLICT (address) DO UPDATE SET at = excluded.at",
	/* Everything store_send_view_locked() reads about an address
	 * (?1) and its domain (?2), counters after hour ?3, in one
	 * statement (one round trip to PostgreSQL, not seven); the first
	 * column says which table a row comes from (enum
	 * store_send_row). */
	[SEND_ST_VIEW] =
	    "SELECT 0, since, automatic, 0, 0, 0, reason FROM send_holds "
	    "WHERE address = ?1 "
	    "UNION ALL SELECT 1, at, 0, 0, 0, 0, NULL FROM send_released "
	    "WHERE address = ?1 "
	    "UNION ALL SELECT 2, since, 0, 0, 0, 0, NULL "
	    "FROM domain_suspended WHERE domain = ?2 "
	    "UNION ALL SELECT 3, msgs_hour, rcpts_day, 0, 0, 0, NULL "
	    "FROM send_limits WHERE subject = ?1 "
	    "UNION ALL SELECT 4, msgs_hour, rcpts_day, 0, 0, 0, NULL "
	    "FROM send_limits WHERE subject = ?2 "
	    "UNION ALL SELECT 5, hour, msgs, rcpts, bounces, spam, NULL "
	    "FROM send_counts WHERE subject = ?1 AND hour > ?3 "
	    "UNION ALL SELECT 6, hour, msgs, rcpts, bounces, spam, NULL "
	    "FROM send_counts WHERE subject = ?2 AND hour > ?3",
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

/* The first column of SEND_ST_VIEW's rows. */
enum store_send_row {
	SEND_ROW_HOLD,
	SEND_ROW_RELEASED,
	SEND_ROW_SUSPENDED,
	SEND_ROW_USER_LIMITS,
	SEND_ROW_DOM_LIMITS,
	SEND_ROW_USER_COUNTS,
	SEND_ROW_DOM_COUNTS
};

/* Adds one send_counts row (hour h, the rest from column 2 on) into
 * out as of hour `hour`. */
static void
store_send_stats_add(struct store_stmt *st, int64_t h, int64_t hour,
    struct store_send_stats *out)
{
	int64_t m = store_st_col_int(st, 2);

	if (h == hour)
		out->msgs_cur += m;
	else if (h < hour) {
		if (h == hour - 1)
			out->msgs_prev += m;
		out->msgs_hist += m;
		out->active_hours += m > 0;
	}
	if (h > hour - 24) {
		out->rcpts_day += store_st_col_int(st, 3);
		out->bounces_day += store_st_col_int(st, 4);
		out->spam_day += store_st_col_int(st, 5);
	}
}

/* With the lock held: the whole view of address (v->address and
 * v->domain point into keys the caller keeps), from one statement.
 * 0 or -1. */
static int
store_send_view_locked(struct store *s, const char *addr, const char *dom,
    int64_t now, int64_t learn_hours, struct store_send_view *v)
{
	struct store_stmt *st = store_send_stmt(s, SEND_ST_VIEW);
	int64_t hour = now / 3600;
	int rc;

	memset(v, 0, sizeof(*v));
	v->address = addr;
	v->domain = dom;
	v->user_lim.msgs_hour = v->user_lim.rcpts_day = -1;
	v->dom_lim.msgs_hour = v->dom_lim.rcpts_day = -1;
	if (st == NULL)
		return -1;
	if (learn_hours < 24)
		learn_hours = 24;
	store_st_text(st, 1, addr);
	store_st_text(st, 2, dom);
	store_st_int(st, 3, hour - learn_hours);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		int64_t a = store_st_col_int(st, 1), b = store_st_col_int(st, 2);

		switch (store_st_col_int(st, 0)) {
		case SEND_ROW_HOLD:
			v->held = true;
			str_lcpy(v->hold.address, addr,
			    sizeof(v->hold.address));
			v->hold.since = a;
			v->hold.automatic = b != 0;
			str_lcpy(v->hold.reason, store_st_col_text(st, 6),
			    sizeof(v->hold.reason));
			break;
		case SEND_ROW_RELEASED:
			v->released = a;
			break;
		case SEND_ROW_SUSPENDED:
			v->suspended = true;
			break;
		case SEND_ROW_USER_LIMITS:
			v->user_lim.msgs_hour = a;
			v->user_lim.rcpts_day = b;
			break;
		case SEND_ROW_DOM_LIMITS:
			v->dom_lim.msgs_hour = a;
			v->dom_lim.rcpts_day = b;
			break;
		case SEND_ROW_USER_COUNTS:
			store_send_stats_add(st, a, hour, &v->user);
			break;
		case SEND_ROW_DOM_COUNTS:
			store_send_stats_add(st, a, hour, &v->dom);
			break;
		default:
			break;
		}
	}
	store_st_reset(st);
	return rc == STORE_DB_DONE ? 0 : -1;
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

/* Adds one to the counter `what` in hour of the address and of its
 * domain (one statement for both), and prunes both's old rows when
 * either counter starts (a new hour: rows may have aged out since the
 * last prune; otherwise nothing has, and the round trip is saved). */
static int
store_send_count(struct store *s, const char *addr, const char *dom,
    enum store_send_count what, int64_t hour)
{
	static const enum store_send_slot ids[] = {
		[STORE_SEND_MSG] = SEND_ST_COUNT_MSG,
		[STORE_SEND_RCPT] = SEND_ST_COUNT_RCPT,
		[STORE_SEND_BOUNCE] = SEND_ST_COUNT_BOUNCE,
		[STORE_SEND_SPAM] = SEND_ST_COUNT_SPAM,
	};
	struct store_stmt *st = store_send_stmt(s, ids[what]);
	bool started = false;
	int rc;

	if (st == NULL)
		return -1;
	store_st_text(st, 1, addr);
	store_st_text(st, 2, dom);
	store_st_int(st, 3, hour);
	while ((rc = store_st_step(st)) == STORE_DB_ROW)
		started |= store_st_col_int(st, 0) == 1;
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		return -1;
	if (!started)
		return 0;
	st = store_send_stmt(s, SEND_ST_PRUNE);
	if (st == NULL)
		return -1;
	store_st_text(st, 1, addr);
	store_st_text(st, 2, dom);
	store_st_int(st, 3, hour - STORE_SEND_HOURS_MAX);
	return store_st_exec(st);
}

/* Applies a: counters, then the hold.  0 or -1. */
static int
store_send_apply(struct store *s, const char *addr, const char *dom,
    enum store_send_count what, int64_t now, struct store_send_action *a)
{
	struct store_stmt *st;

	if (a->count && store_send_count(s, addr, dom, what, now / 3600) < 0)
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
	/* Counts alone are soft state: a crash may lose the last few (as
	 * SQLite's WAL commits may), so their commit does not wait for
	 * the disk; one that holds the account does (store_db.h). */
	if ((a->hold ? store_db_commit(s) : store_db_commit_soft(s)) < 0)
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
