/* Unit tests for the store's request API (store_req.c) and its schema
 * migrations (store_db_sqlite.c): callbacks on the loop thread and never
 * inline, abort before and after the work ran, many requests in flight,
 * one connection per worker thread; a fresh database, one made by the
 * previous schema (version 2, with the rule tables an older ferry created
 * outside the migrations, and without them), and a re-run that changes
 * nothing. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "store/store.h"
#include "store/store_db.h"
#include "test.h"

static char test_dir[64];
static char test_db[512];
static pthread_t loop_thread;

struct t_data {
	char domain[64];
	int found;			/* store_domain_exists() on the worker */
	struct store *conn;		/* the connection the work was given */
	int *gate;			/* work waits until *gate != 0 */
	int *ran;			/* work increments */
};

struct t_ctx {
	int done;			/* done() calls */
	int inline_call;		/* done() ran inside submit */
	int off_loop;			/* done() ran on another thread */
	int in_submit;
	int found_sum;
};

static void
t_work(struct store *conn, void *p)
{
	struct t_data *d = p;

	if (d->gate != NULL)
		while (__atomic_load_n(d->gate, __ATOMIC_ACQUIRE) == 0)
			usleep(1000);
	d->conn = conn;
	d->found = conn != NULL ? store_domain_exists(conn, d->domain) : -1;
	if (d->ran != NULL)
		__atomic_add_fetch(d->ran, 1, __ATOMIC_ACQ_REL);
}

static void
t_done(void *p, void *ctx)
{
	struct t_data *d = p;
	struct t_ctx *c = ctx;

	c->done++;
	if (c->in_submit)
		c->inline_call++;
	if (!pthread_equal(pthread_self(), loop_thread))
		c->off_loop++;
	if (d->found == 1)
		c->found_sum++;
}

static const struct store_job t_job = { "test", t_work, t_done, NULL, false };
static const struct store_job t_job_must = { "test", t_work, t_done, NULL,
	true };

static struct store_req *
t_submit(struct store_pool *sp, const struct store_job *job, struct t_ctx *c,
    const char *domain, int *gate, int *ran)
{
	struct t_data *d = xcalloc(1, sizeof(*d));
	struct store_req *r;

	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	d->gate = gate;
	d->ran = ran;
	c->in_submit = 1;
	r = store_req_submit(sp, job, d, c);
	c->in_submit = 0;
	return r;
}

/* Runs the loop until the pool has no request left. */
static void
t_drain(struct event_base *base, struct store_pool *sp)
{
	while (store_pool_pending(sp) > 0)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
test_req_complete(struct event_base *base, struct store_pool *sp)
{
	struct t_ctx c = { 0 };

	test_begin("store_req completes on the loop, never inline");
	(void)t_submit(sp, &t_job, &c, "example.org", NULL, NULL);
	test_assert(c.done == 0);
	t_drain(base, sp);
	test_assert(c.done == 1);
	test_assert(c.inline_call == 0);
	test_assert(c.off_loop == 0);
	test_assert(c.found_sum == 1);
	test_end();
}

static void
test_req_abort_before(struct event_base *base, struct store_pool *sp,
    unsigned nthreads)
{
	struct t_ctx c = { 0 }, blocked = { 0 };
	struct store_req *r;
	int gate = 0, ran = 0, ran_must = 0;

	test_begin("store_req abort before the work ran");
	/* Occupy every worker, so the next requests wait in the queue. */
	for (unsigned i = 0; i < nthreads; i++)
		(void)t_submit(sp, &t_job, &blocked, "example.org", &gate, NULL);
	r = t_submit(sp, &t_job, &c, "example.org", NULL, &ran);
	store_req_abort(&r);
	test_assert(r == NULL);
	r = t_submit(sp, &t_job_must, &c, "example.org", NULL, &ran_must);
	store_req_abort(&r);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	t_drain(base, sp);
	test_assert(blocked.done == (int)nthreads);
	test_assert(ran == 0);		/* skipped: never started */
	test_assert(ran_must == 1);	/* must_run: ran all the same */
	test_assert(c.done == 0);	/* neither reported */
	store_req_abort(&r);		/* NULL: fine */
	test_end();
}

static void
test_req_abort_after(struct event_base *base, struct store_pool *sp)
{
	struct t_ctx c = { 0 };
	struct store_req *r;
	int ran = 0;

	test_begin("store_req abort after the work ran");
	r = t_submit(sp, &t_job, &c, "example.org", NULL, &ran);
	while (__atomic_load_n(&ran, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	/* The work is over, its completion not yet seen by the loop. */
	store_req_abort(&r);
	t_drain(base, sp);
	test_assert(ran == 1);
	test_assert(c.done == 0);
	test_end();
}

#define T_MANY 2000

static void
test_req_many(struct event_base *base, struct store_pool *sp,
    unsigned nthreads)
{
	struct t_ctx c = { 0 }, ab = { 0 };
	struct store_req *reqs[T_MANY];
	int ran = 0;

	test_begin("store_req many in flight, some aborted");
	for (int i = 0; i < T_MANY; i++)
		reqs[i] = t_submit(sp, &t_job, i % 3 == 0 ? &ab : &c,
		    i % 2 == 0 ? "example.org" : "nowhere.test", NULL, &ran);
	test_assert(store_pool_pending(sp) > 0);
	for (int i = 0; i < T_MANY; i += 3)
		store_req_abort(&reqs[i]);
	t_drain(base, sp);
	test_assert(ab.done == 0);
	test_assert(c.done == T_MANY - (T_MANY + 2) / 3);
	/* Every second one asked for a domain that exists. */
	test_assert(c.found_sum > 0 && c.found_sum < c.done);
	test_assert(c.inline_call == 0 && c.off_loop == 0);
	test_assert(ran <= T_MANY && ran >= c.done);
	test_end();
}

struct t_conn_data {
	struct store *conn;
	pthread_t thread;
	int *gate;
};

static void
t_conn_work(struct store *conn, void *p)
{
	struct t_conn_data *d = p;

	d->conn = conn;
	d->thread = pthread_self();
	/* Hold the thread until every request has one: all run at once. */
	__atomic_sub_fetch(d->gate, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(d->gate, __ATOMIC_ACQUIRE) > 0)
		usleep(1000);
}

struct t_conn_ctx {
	struct store *conns[8];
	pthread_t threads[8];
	unsigned n;
};

static void
t_conn_done(void *p, void *ctx)
{
	struct t_conn_data *d = p;
	struct t_conn_ctx *c = ctx;

	c->conns[c->n] = d->conn;
	c->threads[c->n++] = d->thread;
}

static void
test_req_conn_per_thread(struct event_base *base, struct store_pool *sp,
    unsigned nthreads)
{
	static const struct store_job job = { "conn", t_conn_work,
		t_conn_done, NULL, false };
	struct t_conn_ctx c = { 0 };
	int gate = (int)nthreads;
	bool distinct = true;

	test_begin("store_req one connection per worker thread");
	for (unsigned i = 0; i < nthreads; i++) {
		struct t_conn_data *d = xcalloc(1, sizeof(*d));

		d->gate = &gate;
		(void)store_req_submit(sp, &job, d, &c);
	}
	t_drain(base, sp);
	test_assert(c.n == nthreads);
	for (unsigned i = 0; i < c.n; i++) {
		test_assert(c.conns[i] != NULL);
		for (unsigned k = 0; k < i; k++)
			if (c.conns[i] == c.conns[k] ||
			    pthread_equal(c.threads[i], c.threads[k]))
				distinct = false;
	}
	test_assert(distinct);
	/* Not a worker: no connection. */
	test_assert(store_pool_conn(sp) == NULL);
	test_end();
}

static void
test_req(void)
{
	struct event_base *base = event_base_new();
	struct workpool *wp = workpool_create(base, 4);
	struct store_pool *sp;
	struct store *s;
	const char *error;

	loop_thread = pthread_self();
	test_assert(store_open(&s, test_db, &error) == 0);
	test_assert(store_domain_add(s, "example.org", &error) == 0);
	store_close(&s);
	if (store_pool_create(&sp, wp, test_db, &error) < 0) {
		test_begin("store_pool_create");
		test_assert(!"store_pool_create failed");
		test_end();
		return;
	}
	test_req_complete(base, sp);
	test_req_abort_before(base, sp, 4);
	test_req_abort_after(base, sp);
	test_req_many(base, sp, 4);
	test_req_conn_per_thread(base, sp, 4);
	workpool_free(&wp);
	store_pool_free(&sp);
	event_base_free(base);
}

/* ---- migrations ---- */

static int
t_sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int
t_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Schema version 2 as the previous ferry wrote it. */
static const char t_schema2[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (2);"
	"CREATE TABLE domains (name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE TABLE users (address TEXT NOT NULL PRIMARY KEY,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  password TEXT NOT NULL, quota INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE INDEX users_domain ON users (domain);"
	"CREATE TABLE aliases (address TEXT NOT NULL PRIMARY KEY,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  targets TEXT NOT NULL);"
	"CREATE INDEX aliases_domain ON aliases (domain);"
	"CREATE TABLE bans (ip TEXT NOT NULL PRIMARY KEY,"
	"  created INTEGER NOT NULL, until INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE auth_failures (ip TEXT NOT NULL, service TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX auth_failures_ip ON auth_failures (ip, at);"
	"CREATE INDEX auth_failures_at ON auth_failures (at);"
	"INSERT INTO domains (name) VALUES ('example.org');"
	"INSERT INTO users (address, domain, password, quota) VALUES "
	"  ('alice@example.org', 'example.org', '$y$x', 100);";

/* What store_policy_init() of the previous ferry added outside them. */
static const char t_policy_tables[] =
	"CREATE TABLE rules (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  domain TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES domains (name) ON DELETE CASCADE,"
	"  action TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));"
	"CREATE INDEX rules_domain ON rules (domain);"
	"CREATE TABLE greylist (triplet TEXT NOT NULL PRIMARY KEY,"
	"  first INTEGER NOT NULL, last INTEGER NOT NULL);"
	"CREATE INDEX greylist_first ON greylist (first);"
	"CREATE TABLE greylist_clients (net TEXT NOT NULL PRIMARY KEY,"
	"  until INTEGER NOT NULL);"
	"INSERT INTO rules (domain, action, kind, value) VALUES "
	"  ('example.org', 'deny', 'sender', 'spam@bad.test');";

static void
t_count_rule(const struct store_rule *r, void *ctx)
{
	(*(int *)ctx)++;
}

static void
test_migrate_fresh(void)
{
	struct store *s;
	const char *error;
	struct store_rule r = { 0, "example.org", "deny", "ip", "192.0.2.0/24" };
	enum store_grey g;
	int64_t first;

	test_begin("store migrations: fresh database");
	unlink(test_db);
	test_assert(store_open(&s, test_db, &error) == 0);
	test_assert(store_domain_add(s, "example.org", &error) == 0);
	test_assert(store_rule_add(s, &r, &error) == 0 && r.id == 1);
	test_assert(store_greylist_check(s, "192.0.2.0", "t1", 1000, 60,
	    3600, 86400, &g, &first) == 0 && g == STORE_GREY_NEW);
	store_close(&s);
	test_assert(t_sql_int(test_db,
	    "SELECT MAX(version) FROM schema_version") ==
	    STORE_SCHEMA_VERSION);
	test_assert(t_sql_int(test_db,
	    "SELECT COUNT(*) FROM schema_version") == 1);
	test_end();
}

static void
test_migrate_from2(bool with_policy_tables)
{
	struct store *s;
	struct store_user u;
	const char *error;
	struct store_rule r = { 0, "example.org", "allow", "ip", "10.0.0.0/8" };
	int n = 0;

	test_begin(with_policy_tables ? "store migrations: version 2 with "
	    "the old rule tables" : "store migrations: version 2 without them");
	unlink(test_db);
	test_assert(t_sql_exec(test_db, t_schema2) == 0);
	if (with_policy_tables)
		test_assert(t_sql_exec(test_db, t_policy_tables) == 0);
	test_assert(store_open(&s, test_db, &error) == 0);
	test_assert(store_user_get(s, "alice@example.org", &u) == 1 &&
	    u.quota == 100);
	test_assert(store_rule_list(s, "example.org", t_count_rule, &n,
	    &error) == 0);
	test_assert(n == (with_policy_tables ? 1 : 0));
	test_assert(store_rule_add(s, &r, &error) == 0);
	test_assert(r.id == (with_policy_tables ? 2 : 1));
	store_close(&s);
	test_assert(t_sql_int(test_db,
	    "SELECT MAX(version) FROM schema_version") ==
	    STORE_SCHEMA_VERSION);
	test_end();
}

static void
test_migrate_rerun(void)
{
	struct store *s;
	const char *error;
	int before, after;

	test_begin("store migrations: re-run is a no-op");
	/* test_db is at version 5 from the previous case. */
	before = t_sql_int(test_db, "SELECT COUNT(*) FROM rules");
	test_assert(store_open(&s, test_db, &error) == 0);
	store_close(&s);
	test_assert(store_open(&s, test_db, &error) == 0);
	store_close(&s);
	after = t_sql_int(test_db, "SELECT COUNT(*) FROM rules");
	test_assert(before == 2 && after == before);
	test_assert(t_sql_int(test_db,
	    "SELECT MAX(version) FROM schema_version") ==
	    STORE_SCHEMA_VERSION);
	test_assert(t_sql_int(test_db,
	    "SELECT COUNT(*) FROM schema_version") == 1);
	/* A newer schema than this code knows is refused, not touched. */
	test_assert(t_sql_exec(test_db,
	    "UPDATE schema_version SET version = 99") == 0);
	test_assert(store_open(&s, test_db, &error) < 0);
	test_assert(s == NULL);
	test_assert(t_sql_int(test_db,
	    "SELECT MAX(version) FROM schema_version") == 99);
	test_end();
}

static void
test_migrate_bad_input(void)
{
	struct store *s;
	const char *error = NULL;

	test_begin("store migrations: not a database");
	unlink(test_db);
	{
		FILE *f = fopen(test_db, "w");

		if (f != NULL) {
			fputs("this is not an SQLite file, but long enough to "
			    "look like a header of one ..........", f);
			fclose(f);
		}
	}
	test_assert(store_open(&s, test_db, &error) < 0);
	test_assert(s == NULL && error != NULL);
	test_end();
}

int
main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-store-req.XXXXXX");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(test_db, sizeof(test_db), "%s/ferry.db", test_dir);
	/* On PostgreSQL ($FERRY_TEST_STORE, an empty database): the
	 * request API only; the migration cases below are SQLite files. */
	if (getenv("FERRY_TEST_STORE") != NULL) {
		snprintf(test_db, sizeof(test_db), "%s",
		    getenv("FERRY_TEST_STORE"));
		test_req();
		rmdir(test_dir);
		return test_exit();
	}
	test_req();
	test_migrate_fresh();
	test_migrate_from2(true);
	test_migrate_rerun();
	test_migrate_from2(false);
	test_migrate_bad_input();
	unlink(test_db);
	{
		char p[600];

		snprintf(p, sizeof(p), "%s-wal", test_db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", test_db);
		unlink(p);
	}
	rmdir(test_dir);
	return test_exit();
}
