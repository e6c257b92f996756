/* The store's logic (store.h) over either database driver (store_db.h):
 * every query and every rule about what may change, in the SQL both
 * SQLite and PostgreSQL speak.  A struct store is one connection; every
 * statement is prepared once per connection, at its first use.  The
 * event loops use one connection per pool thread through store_req.c;
 * the command line uses one on its own thread.  A mutex still serialises
 * each connection, for the queue role, which shares one between its
 * delivery threads.  Domains are stored lower-cased; addresses are
 * matched exactly as the caller normalised them (resolve_normalise), so
 * a case-sensitive local part configuration keeps working.  No message
 * data ever lives here.  The schema and its migrations are each
 * driver's own (their DDL differs), numbered the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cidr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_db.h"


enum store_stmt_id {
	STORE_ST_DOMAIN_ADD,
	STORE_ST_DOMAIN_DEL,
	STORE_ST_DOMAIN_EXISTS,
	STORE_ST_DOMAIN_LIST,
	STORE_ST_DOMAIN_DEL_USERS,
	STORE_ST_DOMAIN_DEL_ALIASES,
	STORE_ST_USER_ADD,
	STORE_ST_USER_DEL,
	STORE_ST_USER_SET_PASSWORD,
	STORE_ST_USER_SET_QUOTA,
	STORE_ST_USER_GET,
	STORE_ST_USER_LIST_ALL,
	STORE_ST_USER_LIST_DOMAIN,
	STORE_ST_ALIAS_ADD,
	STORE_ST_ALIAS_DEL,
	STORE_ST_ALIAS_GET,
	STORE_ST_ALIAS_LIST_ALL,
	STORE_ST_ALIAS_LIST_DOMAIN,
	STORE_ST_BAN_GET,
	STORE_ST_BAN_SET,
	STORE_ST_BAN_DEL,
	STORE_ST_BAN_LIST,
	STORE_ST_BAN_RANGES,
	STORE_ST_BAN_FAIL_ADD,
	STORE_ST_BAN_FAIL_PRUNE,
	STORE_ST_BAN_FAIL_COUNT,
	STORE_ST_BAN_FAIL_CLEAR,
	STORE_ST_RULE_ADD,
	STORE_ST_RULE_DEL,
	STORE_ST_RULE_LIST_ALL,
	STORE_ST_RULE_LIST_DOMAIN,
	STORE_ST_GREY_CLIENT_GET,
	STORE_ST_GREY_GET,
	STORE_ST_GREY_NEW,
	STORE_ST_GREY_TOUCH,
	STORE_ST_GREY_DEL,
	STORE_ST_GREY_TRUST,
	STORE_ST_GREY_PRUNE,
	STORE_ST_GREY_PRUNE_CLIENTS,
	STORE_ST_GREY_NET_COUNT,
	STORE_ST_DMARC_ADD,
	STORE_ST_DMARC_LIST,
	STORE_ST_DMARC_SENT_ADD,
	STORE_ST_DMARC_SENT_GET,
	STORE_ST_VAC_GET,
	STORE_ST_VAC_SET,
	STORE_ST_VAC_DEL,
	STORE_ST_VAC_REPLIES_CLEAR,
	STORE_ST_VAC_CLAIM,
	STORE_ST_VAC_UNCLAIM,
	STORE_ST_VAC_PRUNE,
	STORE_ST_ALIAS_REFS,
	STORE_ST_COUNT
};

/* Whether the queue must decide on a user's mail (a column of the user
 * queries: smtpd keeps such mail off its direct path, see store.h): a
 * vacation reply is on, or the domain has a home node (store_node.c:
 * the queue relays it there unless this node is the home). */
#define STORE_USER_VACATION \
	"CASE WHEN COALESCE((SELECT v.enabled FROM vacations v " \
	"WHERE v.address = users.address), 0) <> 0 OR EXISTS (SELECT 1 " \
	"FROM domain_homes h WHERE h.domain = users.domain) THEN 1 ELSE 0 END"

static const char *const store_sql[STORE_ST_COUNT] = {
	[STORE_ST_DOMAIN_ADD] = "INSERT INTO domains (name) VALUES (?1)",
	[STORE_ST_DOMAIN_DEL] = "DELETE FROM domains WHERE name = ?1",
	[STORE_ST_DOMAIN_EXISTS] = "SELECT 1 FROM domains WHERE name = ?1",
	[STORE_ST_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[STORE_ST_DOMAIN_DEL_USERS] = "DELETE FROM users WHERE domain = ?1",
	[STORE_ST_DOMAIN_DEL_ALIASES] = "DELETE FROM aliases WHERE domain = ?1",
	[STORE_ST_USER_ADD] =
	    "INSERT INTO users (address, domain, password, quota) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[STORE_ST_USER_DEL] = "DELETE FROM users WHERE address = ?1",
	[STORE_ST_USER_SET_PASSWORD] =
	    "UPDATE users SET password = ?2 WHERE address = ?1",
	[STORE_ST_USER_SET_QUOTA] =
	    "UPDATE users SET quota = ?2 WHERE address = ?1",
	[STORE_ST_USER_GET] =
	    "SELECT address, password, " STORE_USER_VACATION ", quota "
	    "FROM users WHERE address = ?1",
	[STORE_ST_USER_LIST_ALL] =
	    "SELECT address, password, " STORE_USER_VACATION ", quota "
	    "FROM users ORDER BY domain, address",
	[STORE_ST_USER_LIST_DOMAIN] =
	    "SELECT address, password, " STORE_USER_VACATION ", quota "
	    "FROM users WHERE domain = ?1 ORDER BY address",
	[STORE_ST_ALIAS_ADD] =
	    "INSERT INTO aliases (address, domain, targets) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (address) DO UPDATE SET targets = excluded.targets",
	[STORE_ST_ALIAS_DEL] = "DELETE FROM aliases WHERE address = ?1",
	[STORE_ST_ALIAS_GET] = "SELECT targets FROM aliases WHERE address = ?1",
	[STORE_ST_ALIAS_LIST_ALL] =
	    "SELECT address, targets FROM aliases ORDER BY domain, address",
	[STORE_ST_ALIAS_LIST_DOMAIN] =
	    "SELECT address, targets FROM aliases WHERE domain = ?1 "
	    "ORDER BY address",
	[STORE_ST_BAN_GET] =
	    "SELECT ip, reason, created, until FROM bans "
	    "WHERE ip = ?1 AND until > ?2",
	[STORE_ST_BAN_SET] =
	    "INSERT INTO bans (ip, created, until, reason) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ip) DO UPDATE SET "
	    "created = excluded.created, until = excluded.until, "
	    "reason = excluded.reason",
	[STORE_ST_BAN_DEL] = "DELETE FROM bans WHERE ip = ?1",
	[STORE_ST_BAN_LIST] =
	    "SELECT ip, reason, created, until FROM bans WHERE until > ?1 "
	    "ORDER BY until, ip",
	[STORE_ST_BAN_RANGES] =
	    "SELECT ip, reason, created, until FROM bans "
	    "WHERE until > ?1 AND ip LIKE '%/%'",
	[STORE_ST_BAN_FAIL_ADD] =
	    "INSERT INTO auth_failures (ip, service, at) VALUES (?1, ?2, ?3)",
	[STORE_ST_BAN_FAIL_PRUNE] = "DELETE FROM auth_failures WHERE at <= ?1",
	[STORE_ST_BAN_FAIL_COUNT] =
	    "SELECT COUNT(*) FROM auth_failures WHERE ip = ?1 AND at > ?2",
	[STORE_ST_BAN_FAIL_CLEAR] = "DELETE FROM auth_failures WHERE ip = ?1",
	[STORE_ST_RULE_ADD] =
	    "INSERT INTO rules (domain, action, kind, value) "
	    "VALUES (?1, ?2, ?3, ?4) RETURNING id",
	[STORE_ST_RULE_DEL] = "DELETE FROM rules WHERE id = ?1",
	[STORE_ST_RULE_LIST_ALL] =
	    "SELECT id, domain, action, kind, value FROM rules "
	    "ORDER BY domain, id",
	[STORE_ST_RULE_LIST_DOMAIN] =
	    "SELECT id, domain, action, kind, value FROM rules "
	    "WHERE domain = ?1 ORDER BY id",
	[STORE_ST_GREY_CLIENT_GET] =
	    "SELECT until FROM greylist_clients WHERE net = ?1",
	[STORE_ST_GREY_GET] = "SELECT first FROM greylist WHERE triplet = ?1",
	[STORE_ST_GREY_NEW] =
	    "INSERT INTO greylist (triplet, first, last) VALUES (?1, ?2, ?2) "
	    "ON CONFLICT (triplet) DO UPDATE SET first = excluded.first, "
	    "last = excluded.last",
	[STORE_ST_GREY_TOUCH] = "UPDATE greylist SET last = ?2 WHERE triplet = ?1",
	[STORE_ST_GREY_DEL] = "DELETE FROM greylist WHERE triplet = ?1",
	[STORE_ST_GREY_TRUST] =
	    "INSERT INTO greylist_clients (net, until) VALUES (?1, ?2) "
	    "ON CONFLICT (net) DO UPDATE SET until = excluded.until",
	[STORE_ST_GREY_PRUNE] = "DELETE FROM greylist WHERE first < ?1",
	[STORE_ST_GREY_PRUNE_CLIENTS] =
	    "DELETE FROM greylist_clients WHERE until <= ?1",
	[STORE_ST_GREY_NET_COUNT] =
	    "SELECT COUNT(*) FROM greylist WHERE triplet LIKE ?1",
	[STORE_ST_DMARC_ADD] =
	    "INSERT INTO dmarc_results (at, policy_domain, header_from, "
	    "source_ip, envelope_from, spf_domain, spf_result, dkim, "
	    "spf_aligned, dkim_aligned, disposition, reason, p, sp, pct, "
	    "adkim, aspf, rua, messages) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
	/* A day's rows summed by the database: the report's reader holds
	 * one row per source and result, not one per second. */
	[STORE_ST_DMARC_LIST] =
	    "SELECT MIN(at), policy_domain, header_from, source_ip, "
	    "envelope_from, spf_domain, spf_result, dkim, spf_aligned, "
	    "dkim_aligned, disposition, reason, p, sp, pct, adkim, aspf, rua, "
	    "SUM(messages) FROM dmarc_results WHERE at >= ?1 AND at < ?2 "
	    "GROUP BY policy_domain, header_from, source_ip, envelope_from, "
	    "spf_domain, spf_result, dkim, spf_aligned, dkim_aligned, "
	    "disposition, reason, p, sp, pct, adkim, aspf, rua "
	    "ORDER BY policy_domain, MIN(id)",
	[STORE_ST_DMARC_SENT_ADD] =
	    "INSERT INTO dmarc_reports (domain, begin, \"end\", "
	    "report_id, sent) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT DO NOTHING",
	[STORE_ST_DMARC_SENT_GET] =
	    "SELECT 1 FROM dmarc_reports WHERE domain = ?1 AND begin = ?2",
	[STORE_ST_VAC_GET] =
	    "SELECT enabled, subject, body, start, until, days, updated "
	    "FROM vacations WHERE address = ?1",
	[STORE_ST_VAC_SET] =
	    "INSERT INTO vacations (address, enabled, subject, body, start, "
	    "until, days, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
	    "ON CONFLICT (address) DO UPDATE SET enabled = excluded.enabled, "
	    "subject = excluded.subject, body = excluded.body, "
	    "start = excluded.start, until = excluded.until, "
	    "days = excluded.days, updated = excluded.updated",
	[STORE_ST_VAC_DEL] = "DELETE FROM vacations WHERE address = ?1",
	[STORE_ST_VAC_REPLIES_CLEAR] =
	    "DELETE FROM vacation_replies WHERE address = ?1",
	/* One statement: two deliveries racing for the same sender claim
	 * it once. */
	[STORE_ST_VAC_CLAIM] =
	    "INSERT INTO vacation_replies (address, sender, at) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (address, sender) DO UPDATE "
	    "SET at = excluded.at WHERE vacation_replies.at <= ?4",
	[STORE_ST_VAC_UNCLAIM] =
	    "DELETE FROM vacation_replies WHERE address = ?1 AND sender = ?2 "
	    "AND at = ?3",
	[STORE_ST_VAC_PRUNE] =
	    "DELETE FROM vacation_replies WHERE address = ?1 AND at <= ?2",
	[STORE_ST_ALIAS_REFS] =
	    "SELECT address, targets FROM aliases WHERE instr(targets, ?1) > 0 "
	    "ORDER BY address",
};

struct store {
	struct store_db *db;		/* the driver's connection */
	struct store_stmt *st[STORE_ST_COUNT];
	struct store_stmt *xst[STORE_XST_MAX];	/* other files' statements */
	pthread_mutex_t lock;
};

/* Formats "what: database message" into a per-thread buffer for error_r. */
static const char *
store_dberr(struct store *s, const char *what)
{
	static __thread char buf[256];

	snprintf(buf, sizeof(buf), "%s: %s", what,
	    s != NULL && s->db != NULL ? s->db->ops->errmsg(s->db) :
	    "no database");
	return buf;
}

static void
store_set_error(const char **error_r, const char *msg)
{
	if (error_r != NULL)
		*error_r = msg;
}

/* *slot's statement of sql, prepared on first use and then kept for the
 * connection's life (a role opens one connection per worker thread at
 * start-up, and most of them only ever run a few of these statements),
 * else reset and unbound.  NULL when it cannot be prepared: the cursor
 * answers such a statement with an error from every step. */
static struct store_stmt *
store_slot_stmt(struct store *s, struct store_stmt **slot, const char *sql)
{
	if (*slot == NULL) {
		*slot = s->db->ops->prepare(s->db, sql);
		return *slot;
	}
	store_st_reset(*slot);
	return *slot;
}

static struct store_stmt *
store_stmt(struct store *s, enum store_stmt_id id)
{
	return store_slot_stmt(s, &s->st[id], store_sql[id]);
}

static void
store_bind_text(struct store_stmt *st, int idx, const char *v)
{
	store_st_text(st, idx, v);
}

/* Runs a statement that returns no rows: 0, or -1 with the step code
 * in *rc_r (when not NULL). */
static int
store_exec_stmt(struct store_stmt *st, int *rc_r)
{
	int rc = store_st_step(st);

	store_st_reset(st);
	if (rc_r != NULL)
		*rc_r = rc;
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* store_exec_stmt() of statement id with text ?1 = key. */
static int
store_exec_key(struct store *s, enum store_stmt_id id, const char *key,
    int *rc_r)
{
	struct store_stmt *st = store_stmt(s, id);

	store_bind_text(st, 1, key);
	return store_exec_stmt(st, rc_r);
}

/* A lookup's store_st_step() code as 1 (a row), 0 (none) or -1 (error). */
static int
store_found(int rc)
{
	if (rc == STORE_DB_ROW)
		return 1;
	return rc == STORE_DB_DONE ? 0 : -1;
}

static int
store_begin(struct store *s)
{
	return s->db->ops->begin(s->db);
}

static int
store_commit(struct store *s)
{
	return s->db->ops->commit(s->db);
}

static void
store_rollback(struct store *s)
{
	s->db->ops->rollback(s->db);
}

/* After a committed change that cached answers may depend on. */
static void
store_changed(struct store *s)
{
	s->db->ops->changed(s->db);
}

/* The domain of "local@domain" or "@domain", lower-cased into dst. */
static int
store_split_domain(const char *address, char *dst, size_t size)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || at[1] == '\0')
		return -1;
	if (str_lcpy(dst, at + 1, size) >= size)
		return -1;
	str_lower(dst);
	return 0;
}

/* address with its domain part lower-cased, into dst. */
static int
store_norm_address(const char *address, char *dst, size_t size)
{
	char *at;

	if (str_lcpy(dst, address, size) >= size)
		return -1;
	at = strrchr(dst, '@');
	if (at == NULL || at[1] == '\0')
		return -1;
	str_lower(at + 1);
	return 0;
}

const struct store_db_ops *
store_db_pick(const char *path)
{
	if (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0)
		return &store_db_pg_ops;
	return &store_db_sqlite_ops;
}

const char *
store_path_label(const char *path)
{
	static __thread char buf[1024];
	char *p, *at, *colon, *q;

	str_lcpy(buf, path, sizeof(buf));
	if (store_db_pick(path) != &store_db_pg_ops ||
	    (p = strstr(buf, "://")) == NULL)
		return buf;
	p += 3;
	/* user:password@host */
	at = strchr(p, '@');
	colon = strchr(p, ':');
	if (at != NULL && colon != NULL && colon < at &&
	    strcspn(p, "/?") > (size_t)(at - p)) {
		memset(colon + 1, '*', (size_t)(at - colon - 1));
	}
	/* ...?password=secret&... */
	for (q = strstr(buf, "password="); q != NULL;
	    q = strstr(q, "password=")) {
		q += 9;
		while (*q != '\0' && *q != '&')
			*q++ = '*';
	}
	return buf;
}

int
store_open_ex(struct store **sp, const char *path, unsigned flags,
    bool *unreachable_r, const char **error_r)
{
	const struct store_db_ops *ops = store_db_pick(path);
	struct store *s = xcalloc(1, sizeof(*s));
	const char *error = "store_open failed";
	bool unreachable = false;

	pthread_mutex_init(&s->lock, NULL);
	if (ops->open(&s->db, path, flags, &unreachable, &error) < 0) {
		store_close(&s);
		store_set_error(error_r, error);
		if (unreachable_r != NULL)
			*unreachable_r = unreachable;
		*sp = NULL;
		return -1;
	}
	*sp = s;
	return 0;
}

int
store_open(struct store **sp, const char *path, const char **error_r)
{
	return store_open_ex(sp, path, 0, NULL, error_r);
}

int
store_generation(struct store *s, uint64_t *gen_r)
{
	return s->db->ops->generation(s->db, gen_r);
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	for (int i = 0; i < STORE_ST_COUNT; i++)
		if (s->st[i] != NULL)
			s->st[i]->ops->finalize(s->st[i]);
	for (int i = 0; i < STORE_XST_MAX; i++)
		if (s->xst[i] != NULL)
			s->xst[i]->ops->finalize(s->xst[i]);
	if (s->db != NULL)
		s->db->ops->close(&s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

/* ---- for the store's other files (store_db.h) ---- */

struct store_db *
store_db_of(struct store *s)
{
	return s->db;
}

struct store_stmt *
store_db_xstmt(struct store *s, unsigned slot, const char *sql)
{
	if (slot >= STORE_XST_MAX)
		return NULL;
	return store_slot_stmt(s, &s->xst[slot], sql);
}

void
store_db_lock(struct store *s)
{
	pthread_mutex_lock(&s->lock);
}

void
store_db_unlock(struct store *s)
{
	pthread_mutex_unlock(&s->lock);
}

int
store_db_begin(struct store *s)
{
	return store_begin(s);
}

int
store_db_commit(struct store *s)
{
	if (store_commit(s) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

int
store_db_commit_soft(struct store *s)
{
	const struct store_db_ops *ops = s->db->ops;

	if (ops->commit_soft == NULL)
		return store_db_commit(s);
	if (ops->commit_soft(s->db) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

void
store_db_rollback(struct store *s)
{
	store_rollback(s);
}

void
store_db_changed(struct store *s)
{
	store_changed(s);
}

const char *
store_db_err(struct store *s, const char *what)
{
	return store_dberr(s, what);
}

int
store_db_changes(struct store *s)
{
	return s->db->ops->changes(s->db);
}


/* ---- domains ---- */

int
store_domain_add(struct store *s, const char *domain, const char **error_r)
{
	char name[256];
	int rc, ret = 0;

	if (str_lcpy(name, domain, sizeof(name)) >= sizeof(name) ||
	    name[0] == '\0') {
		store_set_error(error_r, "invalid domain");
		return -1;
	}
	str_lower(name);
	pthread_mutex_lock(&s->lock);
	if (store_exec_key(s, STORE_ST_DOMAIN_ADD, name, &rc) < 0) {
		store_set_error(error_r, rc == STORE_DB_CONSTRAINT ?
		    "domain exists" : store_dberr(s, "domain add"));
		ret = -1;
	}
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* With the lock held and a transaction open: removes the domain, its
 * users and its aliases.  0, or -1 with *error_r. */
static int
store_domain_del_locked(struct store *s, const char *name,
    const char **error_r)
{
	static const enum store_stmt_id ids[] = {
		STORE_ST_DOMAIN_DEL_USERS, STORE_ST_DOMAIN_DEL_ALIASES,
		STORE_ST_DOMAIN_DEL,
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (store_exec_key(s, ids[i], name, NULL) < 0) {
			*error_r = store_dberr(s, "domain del");
			return -1;
		}
	}
	if (store_db_changes(s) == 0) {
		*error_r = "no such domain";
		return -1;
	}
	return 0;
}

int
store_domain_del(struct store *s, const char *domain, const char **error_r)
{
	char name[256];
	const char *error = NULL;
	int ret = -1;

	if (str_lcpy(name, domain, sizeof(name)) >= sizeof(name)) {
		store_set_error(error_r, "no such domain");
		return -1;
	}
	str_lower(name);
	pthread_mutex_lock(&s->lock);
	if (store_begin(s) < 0)
		error = store_dberr(s, "domain del");
	else if (store_domain_del_locked(s, name, &error) < 0)
		store_rollback(s);
	else if (store_commit(s) < 0) {
		error = store_dberr(s, "domain del");
		store_rollback(s);
	} else
		ret = 0;
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		store_set_error(error_r, error);
	return ret;
}

/* With the lock held: 1, 0 or -1. */
static int
store_domain_exists_locked(struct store *s, const char *name)
{
	struct store_stmt *st = store_stmt(s, STORE_ST_DOMAIN_EXISTS);
	int rc;

	store_bind_text(st, 1, name);
	rc = store_st_step(st);
	store_st_reset(st);
	return store_found(rc);
}

/* With the lock held: 0 when domain is local, else -1 with *error_r
 * ("no such domain", or "<what>: <database error>"). */
static int
store_domain_need_locked(struct store *s, const char *domain,
    const char *what, const char **error_r)
{
	int rc = store_domain_exists_locked(s, domain);

	if (rc <= 0) {
		store_set_error(error_r, rc == 0 ? "no such domain" :
		    store_dberr(s, what));
		return -1;
	}
	return 0;
}

int
store_domain_exists(struct store *s, const char *domain)
{
	char name[256];
	int ret;

	if (str_lcpy(name, domain, sizeof(name)) >= sizeof(name))
		return 0;
	str_lower(name);
	pthread_mutex_lock(&s->lock);
	ret = store_domain_exists_locked(s, name);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Rows collected under the lock and handed to callbacks after it is
 * released, so that a callback may call back into the store. */
struct store_rows {
	char **v;		/* ncols strings per row */
	uint64_t *num;		/* one number per row (quota) */
	size_t n, cap, ncols;
};

static void
store_rows_free(struct store_rows *r)
{
	for (size_t i = 0; i < r->n * r->ncols; i++)
		free(r->v[i]);
	free(r->v);
	free(r->num);
}

/* Steps st to the end, keeping text columns 0..ncols-1 and, when
 * numcol >= 0, that integer column.  0 or -1. */
static int
store_rows_collect(struct store_stmt *st, struct store_rows *r, size_t ncols,
    int numcol)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->ncols = ncols;
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		if (r->n == r->cap) {
			r->cap = r->cap == 0 ? 16 : r->cap * 2;
			r->v = xreallocarray(r->v, r->cap, ncols * sizeof(char *));
			r->num = xreallocarray(r->num, r->cap, sizeof(uint64_t));
		}
		for (size_t c = 0; c < ncols; c++) {
			const char *t = store_st_col_text(st, (int)c);

			r->v[r->n * ncols + c] = xstrdup(t != NULL ?
			    (const char *)t : "");
		}
		r->num[r->n] = numcol >= 0 ?
		    (uint64_t)store_st_col_int(st, numcol) : 0;
		r->n++;
	}
	store_st_reset(st);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* Runs statement id (with text ?1 = key when not NULL) under the lock
 * and collects its rows.  0, or -1 with *error_r ("list: ...") and rows
 * freed. */
static int
store_collect(struct store *s, enum store_stmt_id id, const char *key,
    struct store_rows *rows, size_t ncols, int numcol, const char **error_r)
{
	struct store_stmt *st;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, id);
	if (key != NULL)
		store_bind_text(st, 1, key);
	if (store_rows_collect(st, rows, ncols, numcol) < 0) {
		store_set_error(error_r, store_dberr(s, "list"));
		ret = -1;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		store_rows_free(rows);
	return ret;
}

/* Runs a listing statement: one bound to domain_or_null when given,
 * else all.  As store_collect(). */
static int
store_list(struct store *s, enum store_stmt_id all, enum store_stmt_id one,
    const char *domain_or_null, struct store_rows *rows, size_t ncols,
    int numcol, const char **error_r)
{
	char name[256];

	/* Domains are stored lower-cased; one too long names none. */
	if (domain_or_null != NULL) {
		if (str_lcpy(name, domain_or_null, sizeof(name)) >= sizeof(name))
			name[0] = '\0';
		str_lower(name);
	}
	return store_collect(s, domain_or_null != NULL ? one : all,
	    domain_or_null != NULL ? name : NULL, rows, ncols, numcol,
	    error_r);
}

/* Runs the lookup id for address (?1, normalised): 1 with rows to free
 * when it matched, 0 when not (or the address is malformed), -1 on a
 * database error. */
static int
store_get(struct store *s, enum store_stmt_id id, const char *address,
    struct store_rows *rows, size_t ncols, int numcol)
{
	char addr[320];

	if (store_norm_address(address, addr, sizeof(addr)) < 0)
		return 0;
	if (store_collect(s, id, addr, rows, ncols, numcol, NULL) < 0)
		return -1;
	if (rows->n == 0) {
		store_rows_free(rows);
		return 0;
	}
	return 1;
}

int
store_domain_list(struct store *s,
    void (*cb)(const char *domain, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_rows rows;

	if (store_list(s, STORE_ST_DOMAIN_LIST, STORE_ST_DOMAIN_LIST, NULL,
	    &rows, 1, -1, error_r) < 0)
		return -1;
	for (size_t i = 0; i < rows.n; i++)
		cb(rows.v[i], ctx);
	store_rows_free(&rows);
	return 0;
}

/* ---- users ---- */

int
store_user_add(struct store *s, const char *address, const char *hash,
    uint64_t quota, const char **error_r)
{
	char addr[320], domain[256];
	struct store_stmt *st;
	int rc, ret = -1;

	if (store_norm_address(address, addr, sizeof(addr)) < 0 ||
	    addr[0] == '@' ||
	    store_split_domain(addr, domain, sizeof(domain)) < 0) {
		store_set_error(error_r, "invalid address");
		return -1;
	}
	if (hash == NULL || hash[0] == '\0') {
		store_set_error(error_r, "no password hash");
		return -1;
	}
	if (quota > INT64_MAX) {
		store_set_error(error_r, "quota too large");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	if (store_domain_need_locked(s, domain, "user add", error_r) < 0)
		goto out;
	st = store_stmt(s, STORE_ST_USER_ADD);
	store_bind_text(st, 1, addr);
	store_bind_text(st, 2, domain);
	store_bind_text(st, 3, hash);
	store_st_int(st, 4, quota);
	if (store_exec_stmt(st, &rc) < 0) {
		store_set_error(error_r, rc == STORE_DB_CONSTRAINT ?
		    "user exists" : store_dberr(s, "user add"));
		goto out;
	}
	ret = 0;
out:
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Runs a statement keyed by address (?1) with an optional text (?2) or
 * number; "no such <what>" when no row changed.  0 or -1. */
static int
store_update(struct store *s, enum store_stmt_id id, const char *address,
    const char *text, int64_t num, const char *nosuch, const char **error_r)
{
	char addr[320];
	struct store_stmt *st;
	int ret = 0;

	if (store_norm_address(address, addr, sizeof(addr)) < 0) {
		store_set_error(error_r, nosuch);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, id);
	store_bind_text(st, 1, addr);
	if (text != NULL)
		store_bind_text(st, 2, text);
	else if (num >= 0)
		store_st_int(st, 2, num);
	if (store_exec_stmt(st, NULL) < 0) {
		store_set_error(error_r, store_dberr(s, "update"));
		ret = -1;
	} else if (store_db_changes(s) == 0) {
		store_set_error(error_r, nosuch);
		ret = -1;
	}
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_user_del(struct store *s, const char *address, const char **error_r)
{
	return store_update(s, STORE_ST_USER_DEL, address, NULL, -1,
	    "no such user", error_r);
}

int
store_user_set_password(struct store *s, const char *address,
    const char *hash, const char **error_r)
{
	return store_update(s, STORE_ST_USER_SET_PASSWORD, address, hash, -1,
	    "no such user", error_r);
}

int
store_user_set_quota(struct store *s, const char *address,
    uint64_t quota, const char **error_r)
{
	if (quota > INT64_MAX) {
		store_set_error(error_r, "quota too large");
		return -1;
	}
	return store_update(s, STORE_ST_USER_SET_QUOTA, address, NULL,
	    (int64_t)quota, "no such user", error_r);
}

static void
store_user_fill(struct store_user *u, char *const *cols, uint64_t quota)
{
	memset(u, 0, sizeof(*u));
	str_lcpy(u->address, cols[0], sizeof(u->address));
	str_lcpy(u->password_hash, cols[1], sizeof(u->password_hash));
	u->vacation = strcmp(cols[2], "0") != 0;
	u->quota = quota;
}

int
store_user_get(struct store *s, const char *address, struct store_user *u)
{
	struct store_rows rows;
	int rc;

	rc = store_get(s, STORE_ST_USER_GET, address, &rows, 3, 3);
	if (rc == 1) {
		store_user_fill(u, rows.v, rows.num[0]);
		store_rows_free(&rows);
	}
	return rc;
}

int
store_user_list(struct store *s, const char *domain_or_null,
    void (*cb)(const struct store_user *u, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_rows rows;
	struct store_user u;

	if (store_list(s, STORE_ST_USER_LIST_ALL, STORE_ST_USER_LIST_DOMAIN,
	    domain_or_null, &rows, 3, 3, error_r) < 0)
		return -1;
	for (size_t i = 0; i < rows.n; i++) {
		store_user_fill(&u, &rows.v[i * 3], rows.num[i]);
		cb(&u, ctx);
	}
	explicit_bzero(&u, sizeof(u));
	store_rows_free(&rows);
	return 0;
}

/* ---- aliases ---- */

int
store_alias_add(struct store *s, const char *address, const char *targets,
    const char **error_r)
{
	char addr[320], domain[256];
	struct store_stmt *st;
	int ret = -1;

	if (store_norm_address(address, addr, sizeof(addr)) < 0 ||
	    store_split_domain(addr, domain, sizeof(domain)) < 0) {
		store_set_error(error_r, "invalid address");
		return -1;
	}
	if (targets == NULL || targets[0] == '\0') {
		store_set_error(error_r, "no alias targets");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	if (store_domain_need_locked(s, domain, "alias add", error_r) < 0)
		goto out;
	st = store_stmt(s, STORE_ST_ALIAS_ADD);
	store_bind_text(st, 1, addr);
	store_bind_text(st, 2, domain);
	store_bind_text(st, 3, targets);
	if (store_exec_stmt(st, NULL) < 0) {
		store_set_error(error_r, store_dberr(s, "alias add"));
		goto out;
	}
	ret = 0;
out:
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_alias_del(struct store *s, const char *address, const char **error_r)
{
	return store_update(s, STORE_ST_ALIAS_DEL, address, NULL, -1,
	    "no such alias", error_r);
}

int
store_alias_get(struct store *s, const char *address, char **targets_r)
{
	struct store_rows rows;
	int rc;

	*targets_r = NULL;
	rc = store_get(s, STORE_ST_ALIAS_GET, address, &rows, 1, -1);
	if (rc == 1) {
		/* Hand the string over instead of copying it again. */
		*targets_r = rows.v[0];
		rows.v[0] = NULL;
		store_rows_free(&rows);
	}
	return rc;
}

int
store_alias_list(struct store *s, const char *domain_or_null,
    void (*cb)(const char *address, const char *targets, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_rows rows;

	if (store_list(s, STORE_ST_ALIAS_LIST_ALL, STORE_ST_ALIAS_LIST_DOMAIN,
	    domain_or_null, &rows, 2, -1, error_r) < 0)
		return -1;
	for (size_t i = 0; i < rows.n; i++)
		cb(rows.v[i * 2], rows.v[i * 2 + 1], ctx);
	store_rows_free(&rows);
	return 0;
}

/* ---- failed-login bans ---- */

/* A ban of a range ("192.0.2.0/24", `ferry ban add` with a CIDR) that
 * holds ip: STORE_DB_ROW (b filled, its ip the range), STORE_DB_DONE or an
 * error.  Ranges are few (set by hand), so each is tried in turn.  With
 * the lock held. */
static int
store_ban_range(struct store *s, const char *ip, int64_t now,
    struct store_ban *b)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct store_stmt *st;
	struct cidr net;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return STORE_DB_DONE;
	st = store_stmt(s, STORE_ST_BAN_RANGES);
	store_st_int(st, 1, now);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		const char *r = store_st_col_text(st, 0);
		const char *t = store_st_col_text(st, 1);

		if (r == NULL || cidr_parse((const char *)r, &net) < 0 ||
		    !cidr_match(&net, (struct sockaddr *)&ss))
			continue;
		if (b != NULL) {
			memset(b, 0, sizeof(*b));
			str_lcpy(b->ip, (const char *)r, sizeof(b->ip));
			str_lcpy(b->reason, t != NULL ? (const char *)t : "",
			    sizeof(b->reason));
			b->created = store_st_col_int(st, 2);
			b->until = store_st_col_int(st, 3);
		}
		break;
	}
	store_st_reset(st);
	return rc;
}

int
store_ban_get(struct store *s, const char *ip, int64_t now,
    struct store_ban *b)
{
	struct store_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_BAN_GET);
	store_bind_text(st, 1, ip);
	store_st_int(st, 2, now);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW && b != NULL) {
		const char *t = store_st_col_text(st, 1);

		memset(b, 0, sizeof(*b));
		str_lcpy(b->ip, ip, sizeof(b->ip));
		str_lcpy(b->reason, t != NULL ? (const char *)t : "",
		    sizeof(b->reason));
		b->created = store_st_col_int(st, 2);
		b->until = store_st_col_int(st, 3);
	}
	store_st_reset(st);
	if (rc == STORE_DB_DONE)
		rc = store_ban_range(s, ip, now, b);
	pthread_mutex_unlock(&s->lock);
	return store_found(rc);
}

/* With the lock held and a transaction open. */
static int
store_ban_set_locked(struct store *s, const char *ip, int64_t now,
    int64_t until, const char *reason)
{
	struct store_stmt *st = store_stmt(s, STORE_ST_BAN_SET);

	store_bind_text(st, 1, ip);
	store_st_int(st, 2, now);
	store_st_int(st, 3, until);
	store_bind_text(st, 4, reason != NULL ? reason : "");
	if (store_exec_stmt(st, NULL) < 0)
		return -1;
	return store_exec_key(s, STORE_ST_BAN_FAIL_CLEAR, ip, NULL);
}

int
store_ban_set(struct store *s, const char *ip, int64_t now, int64_t until,
    const char *reason, const char **error_r)
{
	int ret = -1;

	pthread_mutex_lock(&s->lock);
	if (store_begin(s) == 0) {
		if (store_ban_set_locked(s, ip, now, until, reason) == 0 &&
		    store_commit(s) == 0)
			ret = 0;
		else
			store_rollback(s);
	}
	if (ret < 0)
		store_set_error(error_r, store_dberr(s, "ban set"));
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_ban_del(struct store *s, const char *ip, int64_t now,
    const char **error_r)
{
	int ret = -1, changed = 0;

	pthread_mutex_lock(&s->lock);
	if (store_begin(s) < 0)
		goto fail;
	if (store_exec_key(s, STORE_ST_BAN_DEL, ip, NULL) < 0)
		goto rollback;
	changed = store_db_changes(s);
	if (store_exec_key(s, STORE_ST_BAN_FAIL_CLEAR, ip, NULL) < 0 ||
	    store_commit(s) < 0)
		goto rollback;
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	if (changed == 0) {
		store_set_error(error_r, "no such ban");
		return -1;
	}
	return 0;
rollback:
	store_rollback(s);
fail:
	store_set_error(error_r, store_dberr(s, "ban del"));
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_ban_list(struct store *s, int64_t now,
    void (*cb)(const struct store_ban *b, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_ban *v = NULL, *b;
	size_t n = 0;
	struct store_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_BAN_LIST);
	store_st_int(st, 1, now);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		const char *ip = store_st_col_text(st, 0);
		const char *why = store_st_col_text(st, 1);

		v = xreallocarray(v, n + 1, sizeof(*v));
		b = &v[n++];
		str_lcpy(b->ip, ip != NULL ? (const char *)ip : "",
		    sizeof(b->ip));
		str_lcpy(b->reason, why != NULL ? (const char *)why : "",
		    sizeof(b->reason));
		b->created = store_st_col_int(st, 2);
		b->until = store_st_col_int(st, 3);
	}
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_set_error(error_r, store_dberr(s, "ban list"));
	pthread_mutex_unlock(&s->lock);
	/* Callbacks run without the lock so they may use the store. */
	for (size_t i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], ctx);
	free(v);
	return rc == STORE_DB_DONE ? 0 : -1;
}

int
store_ban_failure_add(struct store *s, const char *ip, const char *service,
    int64_t now, int64_t since)
{
	struct store_stmt *st;
	int count = -1, rc;

	pthread_mutex_lock(&s->lock);
	if (store_begin(s) < 0)
		goto out;
	st = store_stmt(s, STORE_ST_BAN_FAIL_PRUNE);
	store_st_int(st, 1, since);
	if (store_exec_stmt(st, NULL) < 0)
		goto rollback;
	st = store_stmt(s, STORE_ST_BAN_FAIL_ADD);
	store_bind_text(st, 1, ip);
	store_bind_text(st, 2, service);
	store_st_int(st, 3, now);
	if (store_exec_stmt(st, NULL) < 0)
		goto rollback;
	st = store_stmt(s, STORE_ST_BAN_FAIL_COUNT);
	store_bind_text(st, 1, ip);
	store_st_int(st, 2, since);
	rc = store_st_step(st);
	count = rc == STORE_DB_ROW ? store_st_col_int(st, 0) : -1;
	store_st_reset(st);
	if (count >= 0 && store_commit(s) == 0)
		goto out;
	count = -1;
rollback:
	store_rollback(s);
out:
	pthread_mutex_unlock(&s->lock);
	return count;
}

/* ---- inbound check pipeline: rules and greylist ---- */

int
store_rule_add(struct store *s, struct store_rule *r, const char **error_r)
{
	struct store_stmt *st;
	int ret = -1;

	str_lower(r->domain);
	pthread_mutex_lock(&s->lock);
	if (store_domain_need_locked(s, r->domain, "rule add", error_r) < 0)
		goto out;
	st = store_stmt(s, STORE_ST_RULE_ADD);
	store_bind_text(st, 1, r->domain);
	store_bind_text(st, 2, r->action);
	store_bind_text(st, 3, r->kind);
	store_bind_text(st, 4, r->value);
	if (store_st_step(st) != STORE_DB_ROW) {
		store_set_error(error_r, store_dberr(s, "rule add"));
		store_st_reset(st);
		goto out;
	}
	r->id = store_st_col_int(st, 0);
	store_st_reset(st);
	ret = 0;
out:
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_rule_del(struct store *s, int64_t id, const char **error_r)
{
	struct store_stmt *st;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_RULE_DEL);
	store_st_int(st, 1, id);
	if (store_exec_stmt(st, NULL) < 0) {
		store_set_error(error_r, store_dberr(s, "rule del"));
		ret = -1;
	} else if (store_db_changes(s) == 0) {
		store_set_error(error_r, "no such rule");
		ret = -1;
	}
	store_changed(s);	/* after the commit (store.h) */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void
store_rule_fill(struct store_stmt *st, struct store_rule *r)
{
	static const size_t sizes[] = { sizeof(r->domain), sizeof(r->action),
		sizeof(r->kind), sizeof(r->value) };
	char *dst[] = { r->domain, r->action, r->kind, r->value };

	memset(r, 0, sizeof(*r));
	r->id = store_st_col_int(st, 0);
	for (int i = 0; i < 4; i++) {
		const char *t = store_st_col_text(st, i + 1);

		str_lcpy(dst[i], t != NULL ? (const char *)t : "", sizes[i]);
	}
}

int
store_rule_list(struct store *s, const char *domain_or_null,
    void (*cb)(const struct store_rule *r, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_rule *v = NULL;
	size_t n = 0;
	struct store_stmt *st;
	char name[256];
	int rc;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, domain_or_null != NULL ? STORE_ST_RULE_LIST_DOMAIN :
	    STORE_ST_RULE_LIST_ALL);
	if (domain_or_null != NULL) {
		if (str_lcpy(name, domain_or_null, sizeof(name)) >= sizeof(name))
			name[0] = '\0';
		store_bind_text(st, 1, str_lower(name));
	}
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		store_rule_fill(st, &v[n++]);
	}
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_set_error(error_r, store_dberr(s, "rule list"));
	pthread_mutex_unlock(&s->lock);
	/* Callbacks run without the lock so they may use the store. */
	for (size_t i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], ctx);
	free(v);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* With the lock held: integer column 0 of statement id's first row, with
 * text ?1 = key, into *v: 1 (a row), 0 (none) or -1. */
static int
store_get_int(struct store *s, enum store_stmt_id id, const char *key,
    int64_t *v)
{
	struct store_stmt *st = store_stmt(s, id);
	int rc;

	store_bind_text(st, 1, key);
	rc = store_st_step(st);
	if (rc == STORE_DB_ROW)
		*v = store_st_col_int(st, 0);
	store_st_reset(st);
	return store_found(rc);
}

/* With the lock held: statement id with text ?1 = key and integer ?2. */
static int
store_exec_key_num(struct store *s, enum store_stmt_id id, const char *key,
    int64_t num)
{
	struct store_stmt *st = store_stmt(s, id);

	store_bind_text(st, 1, key);
	store_st_int(st, 2, num);
	return store_exec_stmt(st, NULL);
}

/* With the lock held and a transaction open. */
static int
store_greylist_locked(struct store *s, const char *net, const char *triplet,
    const int64_t t[4], enum store_grey *state_r, int64_t *first_r)
{
	int64_t now = t[0], delay = t[1], window = t[2], expire = t[3];
	int64_t until, first;
	int rc;

	rc = store_get_int(s, STORE_ST_GREY_CLIENT_GET, net, &until);
	if (rc < 0)
		return -1;
	if (rc == 1 && until > now) {
		*state_r = STORE_GREY_TRUSTED;
		*first_r = now;
		return 0;
	}
	rc = store_get_int(s, STORE_ST_GREY_GET, triplet, &first);
	if (rc < 0)
		return -1;
	if (rc == 0 || now - first > window) {
		*first_r = now;
		*state_r = STORE_GREY_NEW;
		return store_exec_key_num(s, STORE_ST_GREY_NEW, triplet, now);
	}
	*first_r = first;
	if (now - first < delay) {
		*state_r = STORE_GREY_EARLY;
		return store_exec_key_num(s, STORE_ST_GREY_TOUCH, triplet, now);
	}
	*state_r = STORE_GREY_PASS;
	if (store_exec_key(s, STORE_ST_GREY_DEL, triplet, NULL) < 0)
		return -1;
	return store_exec_key_num(s, STORE_ST_GREY_TRUST, net, now + expire);
}

int
store_greylist_check(struct store *s, const char *net, const char *triplet,
    int64_t now, int64_t delay, int64_t window, int64_t expire,
    enum store_grey *state_r, int64_t *first_r)
{
	const int64_t t[4] = { now, delay, window, expire };
	int64_t until;
	int ret = -1;

	pthread_mutex_lock(&s->lock);
	/* A trusted client network, the usual case once a network has
	 * passed, is one read: no write transaction, which would wait for
	 * every other writer of the store (on SQLite, in sleeps of a
	 * millisecond and more) and commit nothing. */
	if (store_get_int(s, STORE_ST_GREY_CLIENT_GET, net, &until) == 1 &&
	    until > now) {
		*state_r = STORE_GREY_TRUSTED;
		*first_r = now;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (store_begin(s) == 0) {
		if (store_greylist_locked(s, net, triplet, t, state_r,
		    first_r) == 0 && store_commit(s) == 0)
			ret = 0;
		else
			store_rollback(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* With the lock held: statement id with integer ?1. */
static int
store_exec_num(struct store *s, enum store_stmt_id id, int64_t num)
{
	struct store_stmt *st = store_stmt(s, id);

	store_st_int(st, 1, num);
	return store_exec_stmt(st, NULL);
}

int
store_greylist_prune(struct store *s, int64_t now, int64_t window)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = store_exec_num(s, STORE_ST_GREY_PRUNE, now - window);
	if (ret == 0)
		ret = store_exec_num(s, STORE_ST_GREY_PRUNE_CLIENTS, now);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_greylist_state(struct store *s, const char *net, int64_t *until_r,
    int64_t *waiting_r)
{
	char like[128];
	int rc;

	*until_r = 0;
	*waiting_r = 0;
	/* Triplets are "net sender rcpt"; a net holds no LIKE wildcard. */
	if (snprintf(like, sizeof(like), "%s %%", net) >= (int)sizeof(like))
		return -1;
	pthread_mutex_lock(&s->lock);
	rc = store_get_int(s, STORE_ST_GREY_CLIENT_GET, net, until_r);
	if (rc >= 0 && store_get_int(s, STORE_ST_GREY_NET_COUNT, like,
	    waiting_r) < 0)
		rc = -1;
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? -1 : 0;
}

/* ---- DMARC results and reports ---- */

static void
store_dmarc_bind(struct store_stmt *st, const struct store_dmarc_row *r)
{
	store_st_int(st, 1, r->at);
	store_bind_text(st, 2, r->policy_domain);
	store_bind_text(st, 3, r->header_from);
	store_bind_text(st, 4, r->source_ip);
	store_bind_text(st, 5, r->envelope_from);
	store_bind_text(st, 6, r->spf_domain);
	store_bind_text(st, 7, r->spf_result);
	store_bind_text(st, 8, r->dkim);
	store_st_int(st, 9, r->spf_aligned);
	store_st_int(st, 10, r->dkim_aligned);
	store_bind_text(st, 11, r->disposition);
	store_bind_text(st, 12, r->reason);
	store_bind_text(st, 13, r->p);
	store_bind_text(st, 14, r->sp);
	store_st_int(st, 15, (int)r->pct);
	store_bind_text(st, 16, r->adkim);
	store_bind_text(st, 17, r->aspf);
	store_bind_text(st, 18, r->rua);
	store_st_int(st, 19, r->messages > 0 ? (int64_t)r->messages : 1);
}

int
store_dmarc_add(struct store *s, const struct store_dmarc_row *r,
    const char **error_r)
{
	return store_dmarc_add_many(s, r, 1, error_r);
}

int
store_dmarc_add_many(struct store *s, const struct store_dmarc_row *r,
    size_t n, const char **error_r)
{
	struct store_stmt *st;
	const char *error = NULL;

	pthread_mutex_lock(&s->lock);
	if (store_begin(s) < 0)
		error = store_dberr(s, "dmarc add");
	for (size_t i = 0; error == NULL && i < n; i++) {
		st = store_stmt(s, STORE_ST_DMARC_ADD);
		store_dmarc_bind(st, &r[i]);
		if (store_exec_stmt(st, NULL) < 0)
			error = store_dberr(s, "dmarc add");
	}
	if (error == NULL && store_commit(s) < 0)
		error = store_dberr(s, "dmarc add");
	if (error != NULL)
		store_rollback(s);
	/* No store_changed(): nothing cached depends on these rows. */
	pthread_mutex_unlock(&s->lock);
	if (error != NULL) {
		store_set_error(error_r, error);
		return -1;
	}
	return 0;
}

static void
store_dmarc_text(struct store_stmt *st, int col, char *dst, size_t size)
{
	const char *t = store_st_col_text(st, col);

	str_lcpy(dst, t != NULL ? (const char *)t : "", size);
}

static void
store_dmarc_fill(struct store_stmt *st, struct store_dmarc_row *r)
{
	memset(r, 0, sizeof(*r));
	r->at = store_st_col_int(st, 0);
	store_dmarc_text(st, 1, r->policy_domain, sizeof(r->policy_domain));
	store_dmarc_text(st, 2, r->header_from, sizeof(r->header_from));
	store_dmarc_text(st, 3, r->source_ip, sizeof(r->source_ip));
	store_dmarc_text(st, 4, r->envelope_from, sizeof(r->envelope_from));
	store_dmarc_text(st, 5, r->spf_domain, sizeof(r->spf_domain));
	store_dmarc_text(st, 6, r->spf_result, sizeof(r->spf_result));
	store_dmarc_text(st, 7, r->dkim, sizeof(r->dkim));
	r->spf_aligned = store_st_col_int(st, 8) != 0;
	r->dkim_aligned = store_st_col_int(st, 9) != 0;
	store_dmarc_text(st, 10, r->disposition, sizeof(r->disposition));
	store_dmarc_text(st, 11, r->reason, sizeof(r->reason));
	store_dmarc_text(st, 12, r->p, sizeof(r->p));
	store_dmarc_text(st, 13, r->sp, sizeof(r->sp));
	r->pct = (unsigned)store_st_col_int(st, 14);
	store_dmarc_text(st, 15, r->adkim, sizeof(r->adkim));
	store_dmarc_text(st, 16, r->aspf, sizeof(r->aspf));
	store_dmarc_text(st, 17, r->rua, sizeof(r->rua));
	r->messages = (uint64_t)store_st_col_int(st, 18);
}

int
store_dmarc_list(struct store *s, int64_t begin, int64_t end,
    void (*cb)(const struct store_dmarc_row *r, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_dmarc_row *v = NULL;
	size_t n = 0;
	struct store_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_DMARC_LIST);
	store_st_int(st, 1, begin);
	store_st_int(st, 2, end);
	while ((rc = store_st_step(st)) == STORE_DB_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		store_dmarc_fill(st, &v[n++]);
	}
	store_st_reset(st);
	if (rc != STORE_DB_DONE)
		store_set_error(error_r, store_dberr(s, "dmarc list"));
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; rc == STORE_DB_DONE && i < n; i++)
		cb(&v[i], ctx);
	free(v);
	return rc == STORE_DB_DONE ? 0 : -1;
}

/* A report's domain in lower case: SQLite's column compares without
 * case, PostgreSQL's (COLLATE "C") with it; the marks are the same on
 * both. */
static const char *
store_dmarc_domain(const char *domain, char *buf, size_t size)
{
	str_lcpy(buf, domain, size);
	return str_lower(buf);
}

int
store_dmarc_sent(struct store *s, const char *domain, int64_t begin)
{
	struct store_stmt *st;
	char dom[256];
	int rc;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_DMARC_SENT_GET);
	store_bind_text(st, 1, store_dmarc_domain(domain, dom, sizeof(dom)));
	store_st_int(st, 2, begin);
	rc = store_found(store_st_step(st));
	store_st_reset(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
store_dmarc_sent_add(struct store *s, const char *domain, int64_t begin,
    int64_t end, const char *report_id, const char **error_r)
{
	struct store_stmt *st;
	char dom[256];
	int ret;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_DMARC_SENT_ADD);
	store_bind_text(st, 1, store_dmarc_domain(domain, dom, sizeof(dom)));
	store_st_int(st, 2, begin);
	store_st_int(st, 3, end);
	store_bind_text(st, 4, report_id);
	store_st_int(st, 5, (int64_t)time(NULL));
	if (store_exec_stmt(st, NULL) < 0) {
		store_set_error(error_r, store_dberr(s, "dmarc report"));
		ret = -1;
	} else
		ret = store_db_changes(s) > 0 ? 1 : 0;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- vacation replies ---- */

int
store_vacation_get(struct store *s, const char *address,
    struct store_vacation *v)
{
	char addr[320];
	struct store_stmt *st;
	int rc;

	memset(v, 0, sizeof(*v));
	if (store_norm_address(address, addr, sizeof(addr)) < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_VAC_GET);
	store_bind_text(st, 1, addr);
	rc = store_found(store_st_step(st));
	if (rc == 1) {
		const char *subj = store_st_col_text(st, 1);
		const char *body = store_st_col_text(st, 2);

		v->enabled = store_st_col_int(st, 0) != 0;
		v->subject = xstrdup(subj != NULL ? (const char *)subj : "");
		v->body = xstrdup(body != NULL ? (const char *)body : "");
		v->start = store_st_col_int(st, 3);
		v->end = store_st_col_int(st, 4);
		v->days = (unsigned)store_st_col_int(st, 5);
		v->updated = store_st_col_int(st, 6);
	}
	store_st_reset(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
store_vacation_free(struct store_vacation *v)
{
	free(v->subject);
	free(v->body);
	memset(v, 0, sizeof(*v));
}

/* With the lock held and a transaction open. */
static int
store_vacation_set_locked(struct store *s, const char *addr,
    const struct store_vacation *v, const char **error_r)
{
	struct store_stmt *st = store_stmt(s, STORE_ST_VAC_SET);
	int rc;

	store_bind_text(st, 1, addr);
	store_st_int(st, 2, v->enabled ? 1 : 0);
	store_bind_text(st, 3, v->subject != NULL ? v->subject : "");
	store_bind_text(st, 4, v->body != NULL ? v->body : "");
	store_st_int(st, 5, v->start);
	store_st_int(st, 6, v->end);
	store_st_int(st, 7, (int)v->days);
	store_st_int(st, 8, v->updated);
	if (store_exec_stmt(st, &rc) < 0) {
		*error_r = rc == STORE_DB_CONSTRAINT ? "no such user" :
		    store_dberr(s, "vacation set");
		return -1;
	}
	if (store_exec_key(s, STORE_ST_VAC_REPLIES_CLEAR, addr, NULL) < 0) {
		*error_r = store_dberr(s, "vacation set");
		return -1;
	}
	return 0;
}

int
store_vacation_set(struct store *s, const char *address,
    const struct store_vacation *v, const char **error_r)
{
	char addr[320];
	const char *error = NULL;
	int ret = -1;

	if (store_norm_address(address, addr, sizeof(addr)) < 0) {
		store_set_error(error_r, "no such user");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	if (store_begin(s) < 0)
		error = store_dberr(s, "vacation set");
	else if (store_vacation_set_locked(s, addr, v, &error) < 0)
		store_rollback(s);
	else if (store_commit(s) < 0) {
		error = store_dberr(s, "vacation set");
		store_rollback(s);
	} else
		ret = 0;
	/* The user's answer at RCPT (direct delivery or not) changed. */
	store_changed(s);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		store_set_error(error_r, error);
	return ret;
}

int
store_vacation_del(struct store *s, const char *address,
    const char **error_r)
{
	char addr[320];
	int ret;

	if (store_norm_address(address, addr, sizeof(addr)) < 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (store_exec_key(s, STORE_ST_VAC_DEL, addr, NULL) < 0) {
		store_set_error(error_r, store_dberr(s, "vacation del"));
		ret = -1;
	} else
		ret = store_db_changes(s) > 0 ? 1 : 0;
	store_changed(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_vacation_claim(struct store *s, const char *address,
    const char *sender, int64_t now, int64_t period)
{
	struct store_stmt *st;
	int ret = -1;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_VAC_PRUNE);
	store_bind_text(st, 1, address);
	store_st_int(st, 2, now - period);
	if (store_exec_stmt(st, NULL) < 0)
		goto out;
	st = store_stmt(s, STORE_ST_VAC_CLAIM);
	store_bind_text(st, 1, address);
	store_bind_text(st, 2, sender);
	store_st_int(st, 3, now);
	store_st_int(st, 4, now - period);
	if (store_exec_stmt(st, NULL) < 0)
		goto out;
	ret = store_db_changes(s) > 0 ? 1 : 0;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_vacation_unclaim(struct store *s, const char *address,
    const char *sender, int64_t at)
{
	struct store_stmt *st;
	int ret;

	pthread_mutex_lock(&s->lock);
	st = store_stmt(s, STORE_ST_VAC_UNCLAIM);
	store_bind_text(st, 1, address);
	store_bind_text(st, 2, sender);
	store_st_int(st, 3, at);
	ret = store_exec_stmt(st, NULL);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
store_alias_refs(struct store *s, const char *address,
    void (*cb)(const char *alias, void *ctx), void *ctx,
    const char **error_r)
{
	struct store_rows rows;

	if (store_collect(s, STORE_ST_ALIAS_REFS, address, &rows, 2, -1,
	    error_r) < 0)
		return -1;
	for (size_t i = 0; i < rows.n; i++)
		if (rows.v[i * 2][0] != '@' &&
		    str_list_has(rows.v[i * 2 + 1], address))
			cb(rows.v[i * 2], ctx);
	store_rows_free(&rows);
	return 0;
}
