/* The PostgreSQL driver of the store (store_db.h), on libpq: the path is
 * a connection URI (postgresql://user@host/db?...).  Several Ferry nodes
 * share one database this way.
 *
 * - A connection is blocking libpq on the calling (worker) thread, with
 *   bounded waits: connect_timeout 5 s, statement_timeout and
 *   lock_timeout 5 s, TCP keepalives and tcp_user_timeout, so a dead or
 *   unreachable server is an error, never a hang.  A connection found
 *   broken is made again at its next use (statements re-prepared), and a
 *   statement outside a transaction that failed because the connection
 *   broke is retried once on a new one: a server restart costs a request
 *   nothing once the server is back.  A store opened with
 *   STORE_OPEN_LAZY (a role's) may start without any connection: the
 *   first one that works also checks the schema.
 * - Statements are prepared once per connection (PQprepare), at first
 *   use; ?N parameters become $N.  Values travel as text.
 * - Write transactions take one advisory lock, so writers run one after
 *   the other as under SQLite's BEGIN IMMEDIATE: the read-then-write
 *   logic of the greylist and sending limits stays exact across nodes.
 * - The schema migrates under another advisory lock, in one transaction,
 *   so nodes starting together migrate once.
 * - The change counter is a row (ferry_generation) that triggers bump
 *   in every transaction changing a cached table, with a NOTIFY; each
 *   process reads it on a watcher thread of its own (store_generation()
 *   starts it), woken by the notification and re-reading every second,
 *   so a change on any node reaches every cache within about a second;
 *   a change the process made itself is noted at once.  While the
 *   watcher has no connection the counter is unknown and caches hold
 *   nothing; each new watcher connection starts a new epoch of values. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_db.h"

#define STORE_PG_MAXPARAMS 32
/* Advisory lock keys ("ferry" and "ferrm" in ASCII). */
#define STORE_PG_LOCK_WRITE 0x6665727279LL
#define STORE_PG_LOCK_MIGRATE 0x666572726dLL
/* How often a watcher reads the counter without being notified (ms). */
#define STORE_PG_WATCH_MS 1000

/* Objects of the PostgreSQL schema only: SQLite's instr() (the store's
 * queries use it), the change counter and the trigger function that
 * bumps it and notifies the watchers. */
#define STORE_PG_COMMON \
	"CREATE FUNCTION instr(text, text) RETURNS integer " \
	"LANGUAGE sql IMMUTABLE AS 'SELECT strpos($1, $2)';" \
	"CREATE TABLE ferry_generation (" \
	"  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1)," \
	"  gen BIGINT NOT NULL);" \
	"INSERT INTO ferry_generation VALUES (1, 1);" \
	"CREATE FUNCTION ferry_bump() RETURNS trigger LANGUAGE plpgsql AS " \
	"'BEGIN UPDATE ferry_generation SET gen = gen + 1 WHERE id = 1; " \
	"PERFORM pg_notify(''ferry_generation'', ''''); RETURN NULL; END';"
/* Table t's changes bump the counter. */
#define STORE_PG_BUMP(t) \
	"CREATE TRIGGER " t "_gen AFTER INSERT OR UPDATE OR DELETE OR " \
	"TRUNCATE ON " t " FOR EACH STATEMENT EXECUTE FUNCTION ferry_bump();"

/* Migration n brings the schema from version n to n + 1, as the SQLite
 * driver's migration n does, in PostgreSQL's DDL: BIGINT for INTEGER,
 * identity columns for AUTOINCREMENT, the "C" collation everywhere (byte
 * order and comparison, as SQLite's), "end" quoted.  Domains need no
 * NOCASE: the store's logic lower-cases them. */
static const char *const store_pg_migrations[STORE_SCHEMA_VERSION] = {
	"CREATE TABLE domains ("
	"  name TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint));"
	"CREATE TABLE users ("
	"  address TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  domain TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  password TEXT COLLATE \"C\" NOT NULL,"
	"  quota BIGINT NOT NULL DEFAULT 0,"
	"  created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint));"
	"CREATE INDEX users_domain ON users (domain);"
	"CREATE TABLE aliases ("
	"  address TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  domain TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  targets TEXT COLLATE \"C\" NOT NULL);"
	"CREATE INDEX aliases_domain ON aliases (domain);"
	STORE_PG_COMMON
	STORE_PG_BUMP("domains") STORE_PG_BUMP("users")
	STORE_PG_BUMP("aliases"),
	/* 2: failed-login bans (auth/ban.h).  Failures are kept one row per
	 * attempt so the window slides; both tables are keyed by the
	 * address in text form. */
	"CREATE TABLE bans ("
	"  ip TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  created BIGINT NOT NULL,"
	"  until BIGINT NOT NULL,"
	"  reason TEXT COLLATE \"C\" NOT NULL DEFAULT '');"
	"CREATE TABLE auth_failures ("
	"  ip TEXT COLLATE \"C\" NOT NULL,"
	"  service TEXT COLLATE \"C\" NOT NULL,"
	"  at BIGINT NOT NULL);"
	"CREATE INDEX auth_failures_ip ON auth_failures (ip, at);"
	"CREATE INDEX auth_failures_at ON auth_failures (at);"
	STORE_PG_BUMP("bans"),
	/* 3: per-domain rules and the greylist (src/policy/).  Databases
	 * made before this migration existed may hold these tables already
	 * (an older ferry created them outside the numbered list, with the
	 * same definitions), hence IF NOT EXISTS: their rows are kept. */
	"CREATE TABLE IF NOT EXISTS rules ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  domain TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  action TEXT COLLATE \"C\" NOT NULL,"
	"  kind TEXT COLLATE \"C\" NOT NULL,"
	"  value TEXT COLLATE \"C\" NOT NULL,"
	"  created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint));"
	"CREATE INDEX IF NOT EXISTS rules_domain ON rules (domain);"
	"CREATE TABLE IF NOT EXISTS greylist ("
	"  triplet TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  first BIGINT NOT NULL,"
	"  last BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS greylist_first ON greylist (first);"
	"CREATE TABLE IF NOT EXISTS greylist_clients ("
	"  net TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  until BIGINT NOT NULL);"
	STORE_PG_BUMP("rules"),
	/* 4: DMARC results of inbound mail, one row a message with the
	 * policy as published, and the aggregate reports sent (one per
	 * policy domain and period: a second run sends nothing). */
	"CREATE TABLE dmarc_results ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  at BIGINT NOT NULL,"
	"  policy_domain TEXT COLLATE \"C\" NOT NULL,"
	"  header_from TEXT COLLATE \"C\" NOT NULL,"
	"  source_ip TEXT COLLATE \"C\" NOT NULL,"
	"  envelope_from TEXT COLLATE \"C\" NOT NULL,"
	"  spf_domain TEXT COLLATE \"C\" NOT NULL,"
	"  spf_result TEXT COLLATE \"C\" NOT NULL,"
	"  dkim TEXT COLLATE \"C\" NOT NULL,"
	"  spf_aligned BIGINT NOT NULL,"
	"  dkim_aligned BIGINT NOT NULL,"
	"  disposition TEXT COLLATE \"C\" NOT NULL,"
	"  reason TEXT COLLATE \"C\" NOT NULL,"
	"  p TEXT COLLATE \"C\" NOT NULL, sp TEXT COLLATE \"C\" NOT NULL,"
	"  pct BIGINT NOT NULL,"
	"  adkim TEXT COLLATE \"C\" NOT NULL, aspf TEXT COLLATE \"C\" NOT NULL,"
	"  rua TEXT COLLATE \"C\" NOT NULL);"
	"CREATE INDEX dmarc_results_at ON dmarc_results (at);"
	"CREATE TABLE dmarc_reports ("
	"  domain TEXT COLLATE \"C\" NOT NULL,"
	"  begin BIGINT NOT NULL,"
	"  \"end\" BIGINT NOT NULL,"
	"  report_id TEXT COLLATE \"C\" NOT NULL,"
	"  sent BIGINT NOT NULL,"
	"  PRIMARY KEY (domain, begin));",
	/* 5: a user's vacation reply (RFC 3834, src/queue/vacation.h) and
	 * the senders answered, one row each with the time of the answer
	 * (pruned per user as answers age past the period).  Both go with
	 * the user. */
	"CREATE TABLE vacations ("
	"  address TEXT COLLATE \"C\" NOT NULL PRIMARY KEY"
	"    REFERENCES users (address) ON DELETE CASCADE,"
	"  enabled BIGINT NOT NULL,"
	"  subject TEXT COLLATE \"C\" NOT NULL,"
	"  body TEXT COLLATE \"C\" NOT NULL,"
	"  start BIGINT NOT NULL,"
	"  until BIGINT NOT NULL,"
	"  days BIGINT NOT NULL,"
	"  updated BIGINT NOT NULL);"
	"CREATE TABLE vacation_replies ("
	"  address TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES vacations (address) ON DELETE CASCADE,"
	"  sender TEXT COLLATE \"C\" NOT NULL,"
	"  at BIGINT NOT NULL,"
	"  PRIMARY KEY (address, sender));"
	STORE_PG_BUMP("vacations"),
	/* 6: outbound abuse control (store_send.c): sending limit
	 * overrides per user or domain (-1: the configured default),
	 * per-hour send counters, send-holds of users (and when each was
	 * last released), suspended domains. */
	"CREATE TABLE send_limits ("
	"  subject TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  msgs_hour BIGINT NOT NULL DEFAULT -1,"
	"  rcpts_day BIGINT NOT NULL DEFAULT -1);"
	"CREATE TABLE send_counts ("
	"  subject TEXT COLLATE \"C\" NOT NULL,"
	"  hour BIGINT NOT NULL,"
	"  msgs BIGINT NOT NULL DEFAULT 0,"
	"  rcpts BIGINT NOT NULL DEFAULT 0,"
	"  bounces BIGINT NOT NULL DEFAULT 0,"
	"  spam BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (subject, hour));"
	"CREATE TABLE send_holds ("
	"  address TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  since BIGINT NOT NULL,"
	"  automatic BIGINT NOT NULL,"
	"  reason TEXT COLLATE \"C\" NOT NULL);"
	"CREATE TABLE send_released ("
	"  address TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  at BIGINT NOT NULL);"
	"CREATE TABLE domain_suspended ("
	"  domain TEXT COLLATE \"C\" NOT NULL PRIMARY KEY"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  since BIGINT NOT NULL,"
	"  reason TEXT COLLATE \"C\" NOT NULL);"
	STORE_PG_BUMP("send_limits") STORE_PG_BUMP("send_holds")
	STORE_PG_BUMP("domain_suspended"),
	/* 7: DMARC aggregate reports received for hosted domains
	 * (store_dmarc_in.c): a report once per reporting organisation and
	 * report id, its records with it. */
	"CREATE TABLE dmarc_in_reports ("
	"  org TEXT COLLATE \"C\" NOT NULL,"
	"  report_id TEXT COLLATE \"C\" NOT NULL,"
	"  domain TEXT COLLATE \"C\" NOT NULL,"
	"  email TEXT COLLATE \"C\" NOT NULL,"
	"  period_begin BIGINT NOT NULL,"
	"  period_end BIGINT NOT NULL,"
	"  received BIGINT NOT NULL,"
	"  p TEXT COLLATE \"C\" NOT NULL, sp TEXT COLLATE \"C\" NOT NULL,"
	"  pct BIGINT NOT NULL,"
	"  adkim TEXT COLLATE \"C\" NOT NULL, aspf TEXT COLLATE \"C\" NOT NULL,"
	"  PRIMARY KEY (org, report_id));"
	"CREATE INDEX dmarc_in_reports_domain ON dmarc_in_reports "
	"  (domain, period_end);"
	"CREATE INDEX dmarc_in_reports_received ON dmarc_in_reports "
	"  (received);"
	"CREATE TABLE dmarc_in_records ("
	"  org TEXT COLLATE \"C\" NOT NULL,"
	"  report_id TEXT COLLATE \"C\" NOT NULL,"
	"  n BIGINT NOT NULL,"
	"  source_ip TEXT COLLATE \"C\" NOT NULL,"
	"  messages BIGINT NOT NULL,"
	"  disposition TEXT COLLATE \"C\" NOT NULL,"
	"  dkim TEXT COLLATE \"C\" NOT NULL, spf TEXT COLLATE \"C\" NOT NULL,"
	"  reason TEXT COLLATE \"C\" NOT NULL,"
	"  header_from TEXT COLLATE \"C\" NOT NULL,"
	"  envelope_from TEXT COLLATE \"C\" NOT NULL,"
	"  auth_dkim TEXT COLLATE \"C\" NOT NULL, auth_spf TEXT COLLATE \"C\" NOT NULL,"
	"  PRIMARY KEY (org, report_id, n),"
	"  FOREIGN KEY (org, report_id) REFERENCES dmarc_in_reports"
	"    (org, report_id) ON DELETE CASCADE);",
	"CREATE TABLE nodes ("
	"  name TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  smtp TEXT COLLATE \"C\" NOT NULL,"
	"  imap TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
	"  pop3 TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
	"  created BIGINT NOT NULL"
	"    DEFAULT (EXTRACT(EPOCH FROM now())::BIGINT));"
	"CREATE TABLE domain_homes ("
	"  domain TEXT COLLATE \"C\" NOT NULL PRIMARY KEY"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  node TEXT COLLATE \"C\" NOT NULL REFERENCES nodes (name));"
	"CREATE INDEX domain_homes_node ON domain_homes (node);"
	STORE_PG_BUMP("nodes") STORE_PG_BUMP("domain_homes"),
	/* 9: the delivery history (store_hist.c): each message's arrival
	 * and recipients, one row per attempt per recipient; and the
	 * queue summary every node publishes (queue list --all-nodes),
	 * with when each node last did. */
	"CREATE TABLE history_msgs ("
	"  id TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  node TEXT COLLATE \"C\" NOT NULL,"
	"  arrival BIGINT NOT NULL,"
	"  sender TEXT COLLATE \"C\" NOT NULL,"
	"  client TEXT COLLATE \"C\" NOT NULL,"
	"  size BIGINT NOT NULL);"
	"CREATE INDEX history_msgs_arrival ON history_msgs (arrival);"
	"CREATE TABLE history_rcpts ("
	"  id TEXT COLLATE \"C\" NOT NULL,"
	"  rcpt TEXT COLLATE \"C\" NOT NULL,"
	"  domain TEXT COLLATE \"C\" NOT NULL,"
	"  PRIMARY KEY (id, rcpt));"
	"CREATE INDEX history_rcpts_rcpt ON history_rcpts (rcpt);"
	"CREATE INDEX history_rcpts_domain ON history_rcpts (domain);"
	"CREATE TABLE history_attempts ("
	"  id TEXT COLLATE \"C\" NOT NULL,"
	"  node TEXT COLLATE \"C\" NOT NULL,"
	"  at BIGINT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  rcpt TEXT COLLATE \"C\" NOT NULL,"
	"  domain TEXT COLLATE \"C\" NOT NULL,"
	"  host TEXT COLLATE \"C\" NOT NULL,"
	"  route TEXT COLLATE \"C\" NOT NULL,"
	"  tls TEXT COLLATE \"C\" NOT NULL,"
	"  reach TEXT COLLATE \"C\" NOT NULL,"
	"  result TEXT COLLATE \"C\" NOT NULL,"
	"  reply TEXT COLLATE \"C\" NOT NULL,"
	"  next_attempt BIGINT NOT NULL,"
	"  give_up BIGINT NOT NULL);"
	"CREATE INDEX history_attempts_id ON history_attempts (id, at);"
	"CREATE INDEX history_attempts_rcpt ON history_attempts (rcpt);"
	"CREATE INDEX history_attempts_domain ON history_attempts (domain);"
	"CREATE INDEX history_attempts_at ON history_attempts (at);"
	"CREATE TABLE queue_summary ("
	"  node TEXT COLLATE \"C\" NOT NULL,"
	"  id TEXT COLLATE \"C\" NOT NULL,"
	"  sender TEXT COLLATE \"C\" NOT NULL,"
	"  rcpts TEXT COLLATE \"C\" NOT NULL,"
	"  arrival BIGINT NOT NULL,"
	"  next_attempt BIGINT NOT NULL,"
	"  size BIGINT NOT NULL,"
	"  held BIGINT NOT NULL,"
	"  PRIMARY KEY (node, id));"
	"CREATE TABLE queue_nodes ("
	"  node TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  seen BIGINT NOT NULL);",
	/* 10: a DMARC result row stands for the messages of one second
	 * with the same source and results (it was one row a message). */
	("ALTER TABLE dmarc_results ADD COLUMN messages BIGINT NOT NULL "
	"DEFAULT 1;"),
};

/* The generation watcher of a database in this process, shared by all
 * its connections to it so that they all read one counter (see the
 * top). */
struct store_pg_watch {
	struct store_pg_watch *next;
	char *url;
	pid_t pid;			/* the process whose thread it is */
	unsigned refs;
	pthread_t thread;
	int wake[2];			/* a byte stops the thread */
	uint64_t gen;			/* atomic: the highest row value seen */
	uint64_t epoch;			/* atomic: the watcher's connections */
	int known;			/* atomic: gen is current */
};

struct store_pg {
	struct store_db base;
	PGconn *conn;
	char *url;
	unsigned epoch;			/* bumped at each new connection */
	unsigned next_id;		/* statement names */
	int changes;
	bool in_tx;
	bool schema_ok;			/* checked on some connection */
	bool in_schema;			/* being checked */
	bool down;			/* the last connect got no server */
	char err[256];
	int watch_started;		/* atomic */
	struct store_pg_watch *watch;
};

struct store_pg_stmt {
	struct store_stmt base;
	struct store_pg *db;
	char name[24];
	char *sql;			/* with $N parameters */
	int nparams;
	unsigned epoch;			/* prepared on this connection; 0 never */
	char *vals[STORE_PG_MAXPARAMS];
	PGresult *res;
	int row, nrows;
	bool ran;
};

/* The watchers: the only state of the driver outside a connection, as
 * the change counter is per process by nature. */
static pthread_mutex_t store_pg_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_pg_watch *store_pg_watches;

static void
store_pg_seterr(struct store_pg *db, const char *msg)
{
	size_t n;

	snprintf(db->err, sizeof(db->err), "%s", msg != NULL && *msg != '\0' ?
	    msg : "database error");
	/* libpq's messages end in a newline and may hold several lines. */
	n = strcspn(db->err, "\r\n");
	db->err[n] = '\0';
}

static void
store_pg_reserr(struct store_pg *db, const PGresult *res)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	store_pg_seterr(db, m != NULL ? m : db->conn != NULL ?
	    PQerrorMessage(db->conn) : "no connection");
}

static void
store_pg_notice(void *arg, const char *msg)
{
}

/* Connects to url with Ferry's bounded waits; the URI's own settings
 * win over these defaults (they come later).  NULL only when out of
 * memory; a failed connection is returned for its message. */
static PGconn *
store_pg_connect(const char *url)
{
	static const char *const keys[] = {
		"connect_timeout", "application_name", "options",
		"keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout", "dbname", NULL
	};
	const char *const vals[] = {
		"5", "ferry",
		"-c statement_timeout=5000 -c lock_timeout=5000 "
		"-c idle_in_transaction_session_timeout=60000",
		"10", "5", "2", "10000", url, NULL
	};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		PQsetNoticeProcessor(c, store_pg_notice, NULL);
	return c;
}

static int store_pg_schema(struct store_pg *db, const char **error_r);

/* A live connection, the schema checked once (at the first connection
 * that worked: a store opened lazily had none): 0, or -1 with db->err
 * saying why and db->down true when the server did not answer. */
static int
store_pg_ensure(struct store_pg *db)
{
	const char *error;
	int rc;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	/* The migration's transaction is not carried over to another. */
	if (db->in_schema) {
		store_pg_seterr(db, "connection lost during the schema check");
		return -1;
	}
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->in_tx = false;
	db->down = true;
	db->conn = store_pg_connect(db->url);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		store_pg_seterr(db, db->conn != NULL ?
		    PQerrorMessage(db->conn) : "out of memory");
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	db->down = false;
	if (++db->epoch == 0)
		db->epoch = 1;
	if (db->schema_ok || db->in_schema)
		return 0;
	db->in_schema = true;
	rc = store_pg_schema(db, &error);
	db->in_schema = false;
	if (rc < 0) {
		/* Dropped, so that the next use checks again. */
		store_pg_seterr(db, error);
		db->down = db->conn == NULL ||
		    PQstatus(db->conn) != CONNECTION_OK;
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	db->schema_ok = true;
	return 0;
}

/* Runs sql (no parameters, any number of statements) on the live
 * connection: 0, or -1 with db->err. */
static int
store_pg_exec(struct store_pg *db, const char *sql)
{
	PGresult *res;
	int ret = 0;

	if (store_pg_ensure(db) < 0)
		return -1;
	res = PQexec(db->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		store_pg_reserr(db, res);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

/* One integer of a one-row query (0 for no row or NULL): 0 or -1. */
static int
store_pg_query_int(struct store_pg *db, const char *sql, int64_t *v)
{
	PGresult *res;
	int ret = -1;

	if (store_pg_ensure(db) < 0)
		return -1;
	res = PQexec(db->conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		*v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ?
		    strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
		ret = 0;
	} else
		store_pg_reserr(db, res);
	PQclear(res);
	return ret;
}

static const char *
store_pg_errmsg(struct store_db *d)
{
	return ((struct store_pg *)d)->err;
}

/* "what: message" in a per-thread buffer. */
static const char *
store_pg_dberr(struct store_pg *db, const char *what)
{
	static __thread char buf[320];

	snprintf(buf, sizeof(buf), "%s: %s", what, db->err);
	return buf;
}

/* The version of the schema, 0 without one: 0 or -1. */
static int
store_pg_version(struct store_pg *db, int64_t *v)
{
	int64_t exists;

	if (store_pg_query_int(db, "SELECT COUNT(*) FROM pg_catalog.pg_tables "
	    "WHERE tablename = 'schema_version' AND "
	    "schemaname = current_schema()", &exists) < 0)
		return -1;
	if (exists == 0) {
		*v = 0;
		return 0;
	}
	return store_pg_query_int(db, "SELECT MAX(version) FROM "
	    "schema_version", v);
}

/* Inside the migration transaction, under its lock. */
static int
store_pg_migrate_locked(struct store_pg *db, const char **error_r)
{
	static __thread char buf[320];
	char sql[128];
	int64_t version;

	if (store_pg_exec(db, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER NOT NULL)") < 0 ||
	    store_pg_version(db, &version) < 0) {
		*error_r = store_pg_dberr(db, "schema");
		return -1;
	}
	if (version > STORE_SCHEMA_VERSION) {
		*error_r = "database schema is newer than this ferry";
		return -1;
	}
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
		if (store_pg_exec(db, store_pg_migrations[v]) < 0) {
			snprintf(buf, sizeof(buf), "schema migration %d: %s",
			    (int)v + 1, db->err);
			*error_r = buf;
			return -1;
		}
	}
	snprintf(sql, sizeof(sql), "DELETE FROM schema_version;"
	    "INSERT INTO schema_version VALUES (%d);", STORE_SCHEMA_VERSION);
	if (store_pg_exec(db, sql) < 0) {
		*error_r = store_pg_dberr(db, "schema");
		return -1;
	}
	return 0;
}

/* Creates or migrates the schema.  The version is read again under the
 * lock: another node may have migrated meanwhile. */
static int
store_pg_schema(struct store_pg *db, const char **error_r)
{
	char sql[96];
	int64_t version;

	if (store_pg_version(db, &version) < 0) {
		*error_r = store_pg_dberr(db, "schema");
		return -1;
	}
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
	    (long long)STORE_PG_LOCK_MIGRATE);
	if (store_pg_exec(db, sql) < 0) {
		*error_r = store_pg_dberr(db, "schema");
		return -1;
	}
	if (store_pg_migrate_locked(db, error_r) < 0) {
		(void)store_pg_exec(db, "ROLLBACK");
		return -1;
	}
	if (store_pg_exec(db, "COMMIT") < 0) {
		*error_r = store_pg_dberr(db, "schema");
		(void)store_pg_exec(db, "ROLLBACK");
		return -1;
	}
	return 0;
}

static void store_pg_watch_put(struct store_pg_watch **wp);

static void
store_pg_close(struct store_db **dp)
{
	struct store_pg *db = (struct store_pg *)*dp;

	if (db == NULL)
		return;
	store_pg_watch_put(&db->watch);
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->url);
	free(db);
	*dp = NULL;
}

/* Lazily (STORE_OPEN_LAZY), a server that does not answer leaves the
 * store without a connection: store_pg_ensure() makes it, and checks the
 * schema, at the first use that finds the server up. */
static int
store_pg_open(struct store_db **dp, const char *path, unsigned flags,
    bool *unreachable_r, const char **error_r)
{
	static __thread char buf[320];
	struct store_pg *db = xcalloc(1, sizeof(*db));

	db->base.ops = &store_db_pg_ops;
	db->url = xstrdup(path);
	*dp = &db->base;
	*unreachable_r = false;
	if (store_pg_ensure(db) == 0)
		return 0;
	if (db->down && (flags & STORE_OPEN_LAZY) != 0)
		return 0;
	/* Never the URI: it may hold a password. */
	if (db->down)
		snprintf(buf, sizeof(buf), "postgresql: cannot connect: %s",
		    db->err);
	else
		snprintf(buf, sizeof(buf), "%s", db->err);
	*unreachable_r = db->down;
	*error_r = buf;
	store_pg_close(dp);
	return -1;
}

/* sql with ?N turned into $N (outside quotes); the highest N. */
static char *
store_pg_sql(const char *sql, int *nparams_r)
{
	struct fbuf b;
	bool quoted = false;

	fbuf_init(&b, 0);
	*nparams_r = 0;
	for (const char *p = sql; *p != '\0'; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (*p == '?' && !quoted && p[1] >= '0' && p[1] <= '9') {
			int n = atoi(p + 1);

			if (n > *nparams_r)
				*nparams_r = n;
			(void)fbuf_add(&b, "$", 1);
			continue;
		}
		(void)fbuf_add(&b, p, 1);
	}
	return b.data != NULL ? b.data : xstrdup("");
}

static struct store_stmt *
store_pg_prepare(struct store_db *d, const char *sql)
{
	struct store_pg *db = (struct store_pg *)d;
	struct store_pg_stmt *st = xcalloc(1, sizeof(*st));

	st->base.ops = &store_db_pg_ops;
	st->db = db;
	st->sql = store_pg_sql(sql, &st->nparams);
	if (st->nparams > STORE_PG_MAXPARAMS) {
		free(st->sql);
		free(st);
		return NULL;
	}
	snprintf(st->name, sizeof(st->name), "ferry%u", ++db->next_id);
	return &st->base;
}

static void
store_pg_reset(struct store_stmt *s)
{
	struct store_pg_stmt *st = (struct store_pg_stmt *)s;

	for (int i = 0; i < STORE_PG_MAXPARAMS; i++) {
		free(st->vals[i]);
		st->vals[i] = NULL;
	}
	PQclear(st->res);
	st->res = NULL;
	st->ran = false;
	st->row = st->nrows = 0;
}

static void
store_pg_finalize(struct store_stmt *s)
{
	struct store_pg_stmt *st = (struct store_pg_stmt *)s;

	store_pg_reset(s);
	free(st->sql);
	free(st);
}

static void
store_pg_bind_text(struct store_stmt *s, int idx, const char *v)
{
	struct store_pg_stmt *st = (struct store_pg_stmt *)s;

	if (idx < 1 || idx > STORE_PG_MAXPARAMS)
		return;
	free(st->vals[idx - 1]);
	st->vals[idx - 1] = v != NULL ? xstrdup(v) : NULL;
}

static void
store_pg_bind_int(struct store_stmt *s, int idx, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	store_pg_bind_text(s, idx, num);
}

/* Prepares st (on this connection, once) and runs it; NULL when there
 * is no connection (db->err says why). */
static PGresult *
store_pg_run(struct store_pg_stmt *st)
{
	struct store_pg *db = st->db;
	PGresult *res;

	if (store_pg_ensure(db) < 0)
		return NULL;
	if (st->epoch != db->epoch) {
		res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		st->epoch = db->epoch;
	}
	return PQexecPrepared(db->conn, st->name, st->nparams,
	    (const char *const *)st->vals, NULL, NULL, 0);
}

/* Runs st, once more on a new connection when the old one turned out
 * broken outside a transaction (a server restart): 0 with st->res, or
 * a store_db_rc error. */
static int
store_pg_exec_stmt(struct store_pg_stmt *st)
{
	struct store_pg *db = st->db;
	ExecStatusType status;
	const char *state;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool was_tx = db->in_tx;

		PQclear(st->res);
		st->res = store_pg_run(st);
		status = PQresultStatus(st->res);
		if (st->res != NULL && (status == PGRES_COMMAND_OK ||
		    status == PGRES_TUPLES_OK))
			return 0;
		if (st->res != NULL)
			store_pg_reserr(db, st->res);
		if (was_tx || db->conn == NULL ||
		    PQstatus(db->conn) == CONNECTION_OK)
			break;
	}
	state = st->res != NULL ?
	    PQresultErrorField(st->res, PG_DIAG_SQLSTATE) : NULL;
	/* Class 23: integrity constraint violations. */
	return state != NULL && strncmp(state, "23", 2) == 0 ?
	    STORE_DB_CONSTRAINT : STORE_DB_ERROR;
}

static int
store_pg_step(struct store_stmt *s)
{
	struct store_pg_stmt *st = (struct store_pg_stmt *)s;
	int rc;

	if (!st->ran) {
		st->ran = true;
		st->row = -1;
		if ((rc = store_pg_exec_stmt(st)) != 0) {
			st->nrows = 0;
			return rc;
		}
		st->nrows = PQntuples(st->res);
		/* As sqlite3_changes(): the last INSERT, UPDATE or DELETE's
		 * rows; a SELECT leaves it alone. */
		if (strncmp(PQcmdStatus(st->res), "SELECT", 6) != 0)
			st->db->changes = atoi(PQcmdTuples(st->res));
	}
	if (st->row + 1 < st->nrows) {
		st->row++;
		return STORE_DB_ROW;
	}
	st->row = st->nrows;
	return STORE_DB_DONE;
}

static const char *
store_pg_col_text(struct store_stmt *s, int col)
{
	struct store_pg_stmt *st = (struct store_pg_stmt *)s;

	if (st->res == NULL || st->row < 0 || st->row >= st->nrows ||
	    col >= PQnfields(st->res) || PQgetisnull(st->res, st->row, col))
		return "";
	return PQgetvalue(st->res, st->row, col);
}

static int64_t
store_pg_col_int(struct store_stmt *s, int col)
{
	return strtoll(store_pg_col_text(s, col), NULL, 10);
}

static int
store_pg_changes(struct store_db *d)
{
	return ((struct store_pg *)d)->changes;
}

static int
store_pg_begin(struct store_db *d)
{
	struct store_pg *db = (struct store_pg *)d;
	char sql[96];
	int rc;

	/* A broken connection is replaced here, before the transaction
	 * starts (once); inside it nothing is retried. */
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
	    (long long)STORE_PG_LOCK_WRITE);
	rc = store_pg_exec(db, sql);
	if (rc < 0 && db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		rc = store_pg_exec(db, sql);
	if (rc < 0) {
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
			PQclear(PQexec(db->conn, "ROLLBACK"));
		return -1;
	}
	db->in_tx = true;
	return 0;
}

/* COMMIT; soft: without waiting for the commit's WAL flush
 * (synchronous_commit off for this transaction only, sent in the same
 * round trip), for soft state only (store_db.h commit_soft). */
static int
store_pg_commit_as(struct store_db *d, bool soft)
{
	struct store_pg *db = (struct store_pg *)d;
	PGresult *res;
	int ret = -1;

	db->in_tx = false;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		store_pg_seterr(db, "connection lost");
		return -1;
	}
	res = PQexec(db->conn, soft ?
	    "SET LOCAL synchronous_commit = off; COMMIT" : "COMMIT");
	/* A failed transaction "commits" as ROLLBACK. */
	if (PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(res), "COMMIT") == 0)
		ret = 0;
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		store_pg_seterr(db, "transaction rolled back");
	else
		store_pg_reserr(db, res);
	PQclear(res);
	return ret;
}

static int
store_pg_commit(struct store_db *d)
{
	return store_pg_commit_as(d, false);
}

static int
store_pg_commit_soft(struct store_db *d)
{
	return store_pg_commit_as(d, true);
}

static void
store_pg_rollback(struct store_db *d)
{
	struct store_pg *db = (struct store_pg *)d;

	db->in_tx = false;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return;
	/* db->err keeps the error that led here. */
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

/* ---- the generation watcher ---- */

static void
store_pg_watch_unknown(struct store_pg_watch *w)
{
	__atomic_store_n(&w->known, 0, __ATOMIC_SEQ_CST);
}

/* Raises w's counter to gen (never lowers it: a watcher's read that
 * started before a change this process noted must not undo the note). */
static void
store_pg_watch_raise(struct store_pg_watch *w, uint64_t gen)
{
	uint64_t cur = __atomic_load_n(&w->gen, __ATOMIC_SEQ_CST);

	while (cur < gen && !__atomic_compare_exchange_n(&w->gen, &cur, gen,
	    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

/* The counter row on c: 0, or -1. */
static int
store_pg_gen_query(PGconn *c, uint64_t *gen_r)
{
	PGresult *res = PQexec(c, "SELECT gen FROM ferry_generation "
	    "WHERE id = 1");
	int ret = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*gen_r = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		ret = 0;
	}
	PQclear(res);
	return ret;
}

/* Reads the counter row (fresh: the first read on a new connection
 * starts a new epoch, so that values seen before an outage, or before
 * the database was restored from a backup, never come back).  0, or -1
 * (the connection is to be dropped). */
static int
store_pg_watch_read(struct store_pg_watch *w, PGconn *c, bool fresh)
{
	uint64_t gen;

	if (store_pg_gen_query(c, &gen) < 0)
		return -1;
	if (fresh) {
		store_pg_watch_unknown(w);
		__atomic_add_fetch(&w->epoch, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->gen, gen, __ATOMIC_SEQ_CST);
	} else
		store_pg_watch_raise(w, gen);
	__atomic_store_n(&w->known, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Waits up to ms for a notification or the stop byte: 1 stop, 0 go on,
 * -1 the connection broke. */
static int
store_pg_watch_wait(struct store_pg_watch *w, PGconn *c, int ms)
{
	struct pollfd pfd[2] = {
		{ .fd = w->wake[0], .events = POLLIN },
		{ .fd = c != NULL ? PQsocket(c) : -1, .events = POLLIN },
	};
	PGnotify *n;

	if (poll(pfd, 2, ms) < 0 && errno != EINTR)
		return -1;
	if (pfd[0].revents != 0)
		return 1;
	if (c == NULL || pfd[1].revents == 0)
		return 0;
	if (PQconsumeInput(c) == 0)
		return -1;
	while ((n = PQnotifies(c)) != NULL)
		PQfreemem(n);
	return 0;
}

/* A listening connection, or NULL. */
static PGconn *
store_pg_watch_connect(const char *url)
{
	PGconn *c = store_pg_connect(url);
	PGresult *res;

	if (c == NULL)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	res = PQexec(c, "LISTEN ferry_generation");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	return c;
}

static void *
store_pg_watch_run(void *arg)
{
	struct store_pg_watch *w = arg;
	PGconn *c = NULL;
	int rc = 0;

	while (rc != 1) {
		bool fresh = c == NULL;

		if (c == NULL)
			c = store_pg_watch_connect(w->url);
		if (c != NULL && store_pg_watch_read(w, c, fresh) < 0) {
			PQfinish(c);
			c = NULL;
		}
		if (c == NULL)
			store_pg_watch_unknown(w);
		rc = store_pg_watch_wait(w, c, STORE_PG_WATCH_MS);
		if (rc < 0 && c != NULL) {
			store_pg_watch_unknown(w);
			PQfinish(c);
			c = NULL;
		}
	}
	if (c != NULL)
		PQfinish(c);
	return NULL;
}

static struct store_pg_watch *
store_pg_watch_start(const char *url)
{
	struct store_pg_watch *w = xcalloc(1, sizeof(*w));

	w->url = xstrdup(url);
	w->pid = getpid();
	if (pipe2(w->wake, O_CLOEXEC) < 0) {
		free(w->url);
		free(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, store_pg_watch_run, w) != 0) {
		close(w->wake[0]);
		close(w->wake[1]);
		free(w->url);
		free(w);
		return NULL;
	}
	return w;
}

/* The watcher of url in this process, started when there is none; one
 * inherited over fork() has no thread here and is left alone. */
static struct store_pg_watch *
store_pg_watch_get(const char *url)
{
	struct store_pg_watch *w;
	pid_t pid = getpid();

	pthread_mutex_lock(&store_pg_watch_lock);
	for (w = store_pg_watches; w != NULL; w = w->next)
		if (w->pid == pid && strcmp(w->url, url) == 0)
			break;
	if (w == NULL && (w = store_pg_watch_start(url)) != NULL) {
		w->next = store_pg_watches;
		store_pg_watches = w;
	}
	if (w != NULL)
		w->refs++;
	pthread_mutex_unlock(&store_pg_watch_lock);
	return w;
}

static void
store_pg_watch_put(struct store_pg_watch **wp)
{
	struct store_pg_watch *w = *wp, **pp;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&store_pg_watch_lock);
	if (--w->refs > 0 || w->pid != getpid()) {
		pthread_mutex_unlock(&store_pg_watch_lock);
		return;
	}
	for (pp = &store_pg_watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&store_pg_watch_lock);
	if (write(w->wake[1], "x", 1) < 0) {
		/* A pipe of our own cannot be full; nothing to do. */
	}
	pthread_join(w->thread, NULL);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w->url);
	free(w);
}

/* The first call starts the watcher (so only processes that cache pay
 * for one); until it has read the row the counter is unknown. */
static int
store_pg_generation(struct store_db *d, uint64_t *gen_r)
{
	struct store_pg *db = (struct store_pg *)d;
	struct store_pg_watch *w;
	uint64_t epoch, gen;

	if (__atomic_exchange_n(&db->watch_started, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_store_n(&db->watch, store_pg_watch_get(db->url),
		    __ATOMIC_SEQ_CST);
	w = __atomic_load_n(&db->watch, __ATOMIC_SEQ_CST);
	if (w == NULL || !__atomic_load_n(&w->known, __ATOMIC_SEQ_CST))
		return -1;
	epoch = __atomic_load_n(&w->epoch, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&w->gen, __ATOMIC_SEQ_CST);
	/* A new epoch began meanwhile: unknown for this moment. */
	if (!__atomic_load_n(&w->known, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&w->epoch, __ATOMIC_SEQ_CST) != epoch)
		return -1;
	*gen_r = (epoch << 48) ^ gen;
	return 0;
}

/* After a change this connection committed: the row as it is now (the
 * triggers bumped it in the change's transaction) goes into the
 * process's watcher at once, so the process's own caches see the change
 * as soon as the call returns, as on SQLite; other processes see it when
 * their watcher is notified. */
static void
store_pg_changed(struct store_db *d)
{
	struct store_pg *db = (struct store_pg *)d;
	struct store_pg_watch *w;
	uint64_t gen;
	pid_t pid = getpid();

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    store_pg_gen_query(db->conn, &gen) < 0)
		return;
	pthread_mutex_lock(&store_pg_watch_lock);
	for (w = store_pg_watches; w != NULL; w = w->next)
		if (w->pid == pid && strcmp(w->url, db->url) == 0)
			store_pg_watch_raise(w, gen);
	pthread_mutex_unlock(&store_pg_watch_lock);
}

/* Identity columns do not move when rows come with their ids: set
 * them past the highest one. */
static int
store_pg_copied(struct store_db *d)
{
	return store_pg_exec((struct store_pg *)d,
	    "SELECT setval(pg_get_serial_sequence('rules', 'id'), "
	    "COALESCE(MAX(id), 0) + 1, false) FROM rules;"
	    "SELECT setval(pg_get_serial_sequence('dmarc_results', 'id'), "
	    "COALESCE(MAX(id), 0) + 1, false) FROM dmarc_results");
}

const struct store_db_ops store_db_pg_ops = {
	.name = "postgresql",
	.open = store_pg_open,
	.close = store_pg_close,
	.prepare = store_pg_prepare,
	.finalize = store_pg_finalize,
	.bind_text = store_pg_bind_text,
	.bind_int = store_pg_bind_int,
	.step = store_pg_step,
	.reset = store_pg_reset,
	.col_text = store_pg_col_text,
	.col_int = store_pg_col_int,
	.changes = store_pg_changes,
	.errmsg = store_pg_errmsg,
	.begin = store_pg_begin,
	.commit = store_pg_commit,
	.commit_soft = store_pg_commit_soft,
	.rollback = store_pg_rollback,
	.generation = store_pg_generation,
	.changed = store_pg_changed,
	.copied = store_pg_copied,
};
