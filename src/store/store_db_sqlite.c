/* The SQLite 3 driver of the store (store_db.h): one file,
 * state_dir/ferry.db, in WAL mode (readers never wait for the writer),
 * busy timeout 5 s, foreign keys on, and the schema_version table
 * migrated on open (store_sqlite_migrations[] below).  Its change
 * counter is the mmap'd file beside the database (store_gen.h), so every
 * process on the machine sees a change as soon as it is committed.
 * Domains compare case-blind (COLLATE NOCASE), behind the lower-casing
 * the store's logic does anyway. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xalloc.h"
#include "store/store_db.h"
#include "store/store_gen.h"

#define STORE_SQLITE_BUSY_MS 5000

/* Migration n brings the schema from version n to n + 1.  Users and
 * aliases carry their domain in a column so that listing and deleting a
 * domain use an index; the foreign keys cascade as a second line of
 * defence behind the explicit deletes in store_domain_del(). */
static const char *const store_sqlite_migrations[STORE_SCHEMA_VERSION] = {
	"CREATE TABLE domains ("
	"  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE TABLE users ("
	"  address TEXT NOT NULL PRIMARY KEY,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  password TEXT NOT NULL,"
	"  quota INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE INDEX users_domain ON users (domain);"
	"CREATE TABLE aliases ("
	"  address TEXT NOT NULL PRIMARY KEY,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  targets TEXT NOT NULL);"
	"CREATE INDEX aliases_domain ON aliases (domain);",
	/* 2: failed-login bans (auth/ban.h).  Failures are kept one row per
	 * attempt so the window slides; both tables are keyed by the
	 * address in text form. */
	"CREATE TABLE bans ("
	"  ip TEXT NOT NULL PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  until INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE auth_failures ("
	"  ip TEXT NOT NULL,"
	"  service TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX auth_failures_ip ON auth_failures (ip, at);"
	"CREATE INDEX auth_failures_at ON auth_failures (at);",
	/* 3: per-domain rules and the greylist (src/policy/).  Databases
	 * made before this migration existed may hold these tables already
	 * (an older ferry created them outside the numbered list, with the
	 * same definitions), hence IF NOT EXISTS: their rows are kept. */
	"CREATE TABLE IF NOT EXISTS rules ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  action TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE INDEX IF NOT EXISTS rules_domain ON rules (domain);"
	"CREATE TABLE IF NOT EXISTS greylist ("
	"  triplet TEXT NOT NULL PRIMARY KEY,"
	"  first INTEGER NOT NULL,"
	"  last INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS greylist_first ON greylist (first);"
	"CREATE TABLE IF NOT EXISTS greylist_clients ("
	"  net TEXT NOT NULL PRIMARY KEY,"
	"  until INTEGER NOT NULL);",
	/* 4: DMARC results of inbound mail, one row a message with the
	 * policy as published, and the aggregate reports sent (one per
	 * policy domain and period: a second run sends nothing). */
	"CREATE TABLE dmarc_results ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  policy_domain TEXT NOT NULL COLLATE NOCASE,"
	"  header_from TEXT NOT NULL,"
	"  source_ip TEXT NOT NULL,"
	"  envelope_from TEXT NOT NULL,"
	"  spf_domain TEXT NOT NULL,"
	"  spf_result TEXT NOT NULL,"
	"  dkim TEXT NOT NULL,"
	"  spf_aligned INTEGER NOT NULL,"
	"  dkim_aligned INTEGER NOT NULL,"
	"  disposition TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  p TEXT NOT NULL, sp TEXT NOT NULL, pct INTEGER NOT NULL,"
	"  adkim TEXT NOT NULL, aspf TEXT NOT NULL, rua TEXT NOT NULL);"
	"CREATE INDEX dmarc_results_at ON dmarc_results (at);"
	"CREATE TABLE dmarc_reports ("
	"  domain TEXT NOT NULL COLLATE NOCASE,"
	"  begin INTEGER NOT NULL,"
	"  end INTEGER NOT NULL,"
	"  report_id TEXT NOT NULL,"
	"  sent INTEGER NOT NULL,"
	"  PRIMARY KEY (domain, begin));",
	/* 5: a user's vacation reply (RFC 3834, src/queue/vacation.h) and
	 * the senders answered, one row each with the time of the answer
	 * (pruned per user as answers age past the period).  Both go with
	 * the user. */
	"CREATE TABLE vacations ("
	"  address TEXT NOT NULL PRIMARY KEY"
	"    REFERENCES users (address) ON DELETE CASCADE,"
	"  enabled INTEGER NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  start INTEGER NOT NULL,"
	"  until INTEGER NOT NULL,"
	"  days INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE vacation_replies ("
	"  address TEXT NOT NULL"
	"    REFERENCES vacations (address) ON DELETE CASCADE,"
	"  sender TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (address, sender));",
	/* 6: outbound abuse control (store_send.c): sending limit
	 * overrides per user or domain (-1: the configured default),
	 * per-hour send counters, send-holds of users (and when each was
	 * last released), suspended domains. */
	"CREATE TABLE send_limits ("
	"  subject TEXT NOT NULL PRIMARY KEY,"
	"  msgs_hour INTEGER NOT NULL DEFAULT -1,"
	"  rcpts_day INTEGER NOT NULL DEFAULT -1);"
	"CREATE TABLE send_counts ("
	"  subject TEXT NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  msgs INTEGER NOT NULL DEFAULT 0,"
	"  rcpts INTEGER NOT NULL DEFAULT 0,"
	"  bounces INTEGER NOT NULL DEFAULT 0,"
	"  spam INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (subject, hour));"
	"CREATE TABLE send_holds ("
	"  address TEXT NOT NULL PRIMARY KEY,"
	"  since INTEGER NOT NULL,"
	"  automatic INTEGER NOT NULL,"
	"  reason TEXT NOT NULL);"
	"CREATE TABLE send_released ("
	"  address TEXT NOT NULL PRIMARY KEY,"
	"  at INTEGER NOT NULL);"
	"CREATE TABLE domain_suspended ("
	"  domain TEXT NOT NULL PRIMARY KEY COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  since INTEGER NOT NULL,"
	"  reason TEXT NOT NULL);",
	/* 7: DMARC aggregate reports received for hosted domains
	 * (store_dmarc_in.c): a report once per reporting organisation and
	 * report id, its records with it. */
	"CREATE TABLE dmarc_in_reports ("
	"  org TEXT NOT NULL,"
	"  report_id TEXT NOT NULL,"
	"  domain TEXT NOT NULL COLLATE NOCASE,"
	"  email TEXT NOT NULL,"
	"  period_begin INTEGER NOT NULL,"
	"  period_end INTEGER NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  p TEXT NOT NULL, sp TEXT NOT NULL, pct INTEGER NOT NULL,"
	"  adkim TEXT NOT NULL, aspf TEXT NOT NULL,"
	"  PRIMARY KEY (org, report_id));"
	"CREATE INDEX dmarc_in_reports_domain ON dmarc_in_reports "
	"  (domain, period_end);"
	"CREATE INDEX dmarc_in_reports_received ON dmarc_in_reports "
	"  (received);"
	"CREATE TABLE dmarc_in_records ("
	"  org TEXT NOT NULL,"
	"  report_id TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  source_ip TEXT NOT NULL,"
	"  messages INTEGER NOT NULL,"
	"  disposition TEXT NOT NULL,"
	"  dkim TEXT NOT NULL, spf TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  header_from TEXT NOT NULL,"
	"  envelope_from TEXT NOT NULL,"
	"  auth_dkim TEXT NOT NULL, auth_spf TEXT NOT NULL,"
	"  PRIMARY KEY (org, report_id, n),"
	"  FOREIGN KEY (org, report_id) REFERENCES dmarc_in_reports"
	"    (org, report_id) ON DELETE CASCADE);",
	/* 8: the nodes sharing this store and each domain's home
	 * node (store_node.c). */
	"CREATE TABLE nodes ("
	"  name TEXT NOT NULL PRIMARY KEY,"
	"  smtp TEXT NOT NULL,"
	"  imap TEXT NOT NULL DEFAULT '',"
	"  pop3 TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE TABLE domain_homes ("
	"  domain TEXT NOT NULL PRIMARY KEY COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  node TEXT NOT NULL REFERENCES nodes (name));"
	"CREATE INDEX domain_homes_node ON domain_homes (node);",
	/* 9: the delivery history (store_hist.c): each message's arrival
	 * and recipients, one row per attempt per recipient; and the
	 * queue summary every node publishes (queue list --all-nodes),
	 * with when each node last did. */
	"CREATE TABLE history_msgs ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  node TEXT NOT NULL,"
	"  arrival INTEGER NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  client TEXT NOT NULL,"
	"  size INTEGER NOT NULL);"
	"CREATE INDEX history_msgs_arrival ON history_msgs (arrival);"
	"CREATE TABLE history_rcpts ("
	"  id TEXT NOT NULL,"
	"  rcpt TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  PRIMARY KEY (id, rcpt));"
	"CREATE INDEX history_rcpts_rcpt ON history_rcpts (rcpt);"
	"CREATE INDEX history_rcpts_domain ON history_rcpts (domain);"
	"CREATE TABLE history_attempts ("
	"  id TEXT NOT NULL,"
	"  node TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  rcpt TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  route TEXT NOT NULL,"
	"  tls TEXT NOT NULL,"
	"  reach TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  reply TEXT NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  give_up INTEGER NOT NULL);"
	"CREATE INDEX history_attempts_id ON history_attempts (id, at);"
	"CREATE INDEX history_attempts_rcpt ON history_attempts (rcpt);"
	"CREATE INDEX history_attempts_domain ON history_attempts (domain);"
	"CREATE INDEX history_attempts_at ON history_attempts (at);"
	"CREATE TABLE queue_summary ("
	"  node TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  rcpts TEXT NOT NULL,"
	"  arrival INTEGER NOT NULL,"
	"  next_attempt INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  held INTEGER NOT NULL,"
	"  PRIMARY KEY (node, id));"
	"CREATE TABLE queue_nodes ("
	"  node TEXT NOT NULL PRIMARY KEY,"
	"  seen INTEGER NOT NULL);",
	/* 10: a DMARC result row stands for the messages of one second
	 * with the same source and results (it was one row a message). */
	("ALTER TABLE dmarc_results ADD COLUMN messages INTEGER NOT NULL "
	"DEFAULT 1;"),
};

struct store_sqlite {
	struct store_db base;
	sqlite3 *db;
	struct store_gen *gen;		/* the change counter */
};

struct store_sqlite_stmt {
	struct store_stmt base;
	sqlite3_stmt *st;
};

static const char *
store_sqlite_errmsg(struct store_db *d)
{
	struct store_sqlite *db = (struct store_sqlite *)d;

	return db->db != NULL ? sqlite3_errmsg(db->db) : "no database";
}

/* "what: sqlite message" in a per-thread buffer. */
static const char *
store_sqlite_dberr(struct store_sqlite *db, const char *what)
{
	static __thread char buf[256];

	snprintf(buf, sizeof(buf), "%s: %s", what,
	    store_sqlite_errmsg(&db->base));
	return buf;
}

static int
store_sqlite_migrate_to(struct store_sqlite *db, int from,
    const char **error_r)
{
	char *errmsg = NULL;
	static __thread char buf[256];

	for (int v = from; v < STORE_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(db->db, store_sqlite_migrations[v], NULL, NULL,
		    &errmsg) != SQLITE_OK) {
			snprintf(buf, sizeof(buf), "schema migration %d: %s",
			    v + 1, errmsg != NULL ? errmsg : "failed");
			sqlite3_free(errmsg);
			*error_r = buf;
			return -1;
		}
	}
	return 0;
}

/* Reads schema_version (0 when the table is empty). */
static int
store_sqlite_version(struct store_sqlite *db, int *version_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->db, "SELECT MAX(version) FROM "
	    "schema_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	*version_r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The schema version a connection sees, or -1; a database without the
 * table is version 0.  A plain read: no write lock is taken, so opening
 * a connection to an up-to-date database never waits for a writer. */
static int
store_sqlite_peek(struct store_sqlite *db)
{
	sqlite3_stmt *st;
	int rc, version = -1;

	if (sqlite3_prepare_v2(db->db, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'schema_version'", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW || store_sqlite_version(db, &version) < 0)
		return -1;
	return version;
}

static int
store_sqlite_schema(struct store_sqlite *db, const char **error_r)
{
	char sql[128];
	int version;

	if (store_sqlite_peek(db) == STORE_SCHEMA_VERSION)
		return 0;
	/* Migrations run under the write lock, and the version is read
	 * again inside it: another process may have migrated meanwhile. */
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE;"
	    "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER NOT NULL);", NULL, NULL, NULL) != SQLITE_OK ||
	    store_sqlite_version(db, &version) < 0) {
		*error_r = store_sqlite_dberr(db, "schema");
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		*error_r = "database schema is newer than this ferry";
		goto fail;
	}
	if (version < STORE_SCHEMA_VERSION) {
		if (store_sqlite_migrate_to(db, version, error_r) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "DELETE FROM schema_version;"
		    "INSERT INTO schema_version VALUES (%d);",
		    STORE_SCHEMA_VERSION);
		if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			*error_r = store_sqlite_dberr(db, "schema");
			goto fail;
		}
	}
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = store_sqlite_dberr(db, "schema");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
store_sqlite_setup(struct store_sqlite *db, const char *path,
    const char **error_r)
{
	int fd;

	/* Create the file ourselves so that it gets mode 0640; SQLite gives
	 * its -wal and -shm files the database file's mode.  Only when it
	 * is missing: closing a descriptor of the file drops every POSIX
	 * lock this process holds on it, also those of the process's other
	 * connections (the queue role opens one while others work), which
	 * then read and write as if unlocked. */
	if (access(path, F_OK) == 0)
		fd = -2;
	else
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		static __thread char buf[320];

		snprintf(buf, sizeof(buf), "%s: %s", path, strerror(errno));
		*error_r = buf;
		return -1;
	}
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = store_sqlite_dberr(db, path);
		return -1;
	}
	sqlite3_busy_timeout(db->db, STORE_SQLITE_BUSY_MS);
	sqlite3_extended_result_codes(db->db, 0);
	if (sqlite3_exec(db->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = store_sqlite_dberr(db, "pragma");
		return -1;
	}
	return store_sqlite_schema(db, error_r);
}

static void
store_sqlite_close(struct store_db **dp)
{
	struct store_sqlite *db = (struct store_sqlite *)*dp;

	if (db == NULL)
		return;
	if (db->db != NULL)
		sqlite3_close(db->db);
	store_gen_close(&db->gen);
	free(db);
	*dp = NULL;
}

static int
store_sqlite_open(struct store_db **dp, const char *path, unsigned flags,
    bool *unreachable_r, const char **error_r)
{
	struct store_sqlite *db = xcalloc(1, sizeof(*db));

	*unreachable_r = false;

	db->base.ops = &store_db_sqlite_ops;
	*dp = &db->base;
	if (store_sqlite_setup(db, path, error_r) < 0) {
		store_sqlite_close(dp);
		return -1;
	}
	db->gen = store_gen_open(path);
	return 0;
}

static struct store_stmt *
store_sqlite_prepare(struct store_db *d, const char *sql)
{
	struct store_sqlite *db = (struct store_sqlite *)d;
	struct store_sqlite_stmt *st;
	sqlite3_stmt *p = NULL;

	if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &p, NULL) != SQLITE_OK) {
		sqlite3_finalize(p);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->base.ops = &store_db_sqlite_ops;
	st->st = p;
	return &st->base;
}

static void
store_sqlite_finalize(struct store_stmt *s)
{
	struct store_sqlite_stmt *st = (struct store_sqlite_stmt *)s;

	sqlite3_finalize(st->st);
	free(st);
}

static sqlite3_stmt *
store_sqlite_st(struct store_stmt *s)
{
	return ((struct store_sqlite_stmt *)s)->st;
}

/* The text stays the caller's until the statement has stepped (the
 * store's logic binds from buffers that outlive the call). */
static void
store_sqlite_bind_text(struct store_stmt *s, int idx, const char *v)
{
	sqlite3_bind_text(store_sqlite_st(s), idx, v, -1, SQLITE_STATIC);
}

static void
store_sqlite_bind_int(struct store_stmt *s, int idx, int64_t v)
{
	sqlite3_bind_int64(store_sqlite_st(s), idx, v);
}

static int
store_sqlite_step(struct store_stmt *s)
{
	switch (sqlite3_step(store_sqlite_st(s))) {
	case SQLITE_ROW:
		return STORE_DB_ROW;
	case SQLITE_DONE:
		return STORE_DB_DONE;
	case SQLITE_CONSTRAINT:
		return STORE_DB_CONSTRAINT;
	default:
		return STORE_DB_ERROR;
	}
}

static void
store_sqlite_reset(struct store_stmt *s)
{
	sqlite3_reset(store_sqlite_st(s));
	sqlite3_clear_bindings(store_sqlite_st(s));
}

static const char *
store_sqlite_col_text(struct store_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(store_sqlite_st(s), col);

	return t != NULL ? (const char *)t : "";
}

static int64_t
store_sqlite_col_int(struct store_stmt *s, int col)
{
	return sqlite3_column_int64(store_sqlite_st(s), col);
}

static int
store_sqlite_changes(struct store_db *d)
{
	return sqlite3_changes(((struct store_sqlite *)d)->db);
}

static int
store_sqlite_exec(struct store_db *d, const char *sql)
{
	struct store_sqlite *db = (struct store_sqlite *)d;

	return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    0 : -1;
}

static int
store_sqlite_begin(struct store_db *d)
{
	return store_sqlite_exec(d, "BEGIN IMMEDIATE");
}

static int
store_sqlite_commit(struct store_db *d)
{
	return store_sqlite_exec(d, "COMMIT");
}

static void
store_sqlite_rollback(struct store_db *d)
{
	(void)store_sqlite_exec(d, "ROLLBACK");
}

static int
store_sqlite_generation(struct store_db *d, uint64_t *gen_r)
{
	return store_gen_read(((struct store_sqlite *)d)->gen, gen_r);
}

static void
store_sqlite_changed(struct store_db *d)
{
	store_gen_bump(((struct store_sqlite *)d)->gen);
}

const struct store_db_ops store_db_sqlite_ops = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.prepare = store_sqlite_prepare,
	.finalize = store_sqlite_finalize,
	.bind_text = store_sqlite_bind_text,
	.bind_int = store_sqlite_bind_int,
	.step = store_sqlite_step,
	.reset = store_sqlite_reset,
	.col_text = store_sqlite_col_text,
	.col_int = store_sqlite_col_int,
	.changes = store_sqlite_changes,
	.errmsg = store_sqlite_errmsg,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.generation = store_sqlite_generation,
	.changed = store_sqlite_changed,
};
