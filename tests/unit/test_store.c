/* Unit tests for the account store, recipient resolution and password
 * hashing, on a fresh SQLite file in a temporary directory, or on the
 * empty PostgreSQL database named by $FERRY_TEST_STORE (a postgresql://
 * URI; tests/integration/test_pg_store.py runs them so). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.h"
#include "store/resolve.h"
#include "store/store.h"
#include "test.h"

static char test_dir[64];
static char test_db[512];
static bool test_pg;		/* on $FERRY_TEST_STORE */

static void
count_domain(const char *domain, void *ctx)
{
	(void)domain;
	(*(int *)ctx)++;
}

static void
count_user(const struct store_user *u, void *ctx)
{
	(void)u;
	(*(int *)ctx)++;
}

static void
count_alias(const char *address, const char *targets, void *ctx)
{
	(void)address;
	(void)targets;
	(*(int *)ctx)++;
}

static void
test_store_basic(struct store *s)
{
	struct store_user u;
	const char *error = NULL;
	char *targets;
	int n;

	test_begin("store domains and users");
	test_assert(store_domain_add(s, "example.org", &error) == 0);
	test_assert(store_domain_add(s, "Example.ORG", &error) == -1);
	test_assert_streq(error, "domain exists");
	test_assert(store_domain_add(s, "other.test", &error) == 0);
	test_assert(store_domain_add(s, "remove.test", &error) == 0);
	test_assert(store_domain_exists(s, "EXAMPLE.org") == 1);
	test_assert(store_domain_exists(s, "nowhere.test") == 0);
	test_assert(store_user_add(s, "bob@nowhere.test", "x", 0, &error) < 0);
	test_assert_streq(error, "no such domain");
	test_assert(store_user_add(s, "bob@example.org", "h1", 1024,
	    &error) == 0);
	test_assert(store_user_add(s, "bob@example.org", "h1", 0, &error) < 0);
	test_assert_streq(error, "user exists");
	test_assert(store_user_get(s, "bob@EXAMPLE.org", &u) == 1);
	test_assert_streq(u.address, "bob@example.org");
	test_assert_streq(u.password_hash, "h1");
	test_assert(u.quota == 1024);
	test_assert(store_user_set_password(s, "bob@example.org", "h2",
	    &error) == 0);
	test_assert(store_user_set_quota(s, "bob@example.org", 0, &error) == 0);
	test_assert(store_user_get(s, "bob@example.org", &u) == 1);
	test_assert_streq(u.password_hash, "h2");
	test_assert(u.quota == 0);
	test_assert(store_user_set_quota(s, "nobody@example.org", 1,
	    &error) < 0);
	test_assert_streq(error, "no such user");
	test_assert(store_user_get(s, "nobody@example.org", &u) == 0);
	test_assert(store_user_add(s, "carol@other.test", "h", 0, &error) == 0);
	n = 0;
	test_assert(store_user_list(s, NULL, count_user, &n, &error) == 0);
	test_assert(n == 2);
	n = 0;
	test_assert(store_user_list(s, "OTHER.test", count_user, &n,
	    &error) == 0);
	test_assert(n == 1);
	test_assert(store_alias_add(s, "x@nowhere.test", "bob@example.org",
	    &error) < 0);
	test_assert(store_alias_add(s, "info@example.org", "bob@example.org",
	    &error) == 0);
	test_assert(store_alias_add(s, "info@example.org",
	    "carol@other.test", &error) == 0);
	test_assert(store_alias_get(s, "info@example.org", &targets) == 1);
	test_assert_streq(targets, "carol@other.test");
	free(targets);
	test_assert(store_alias_get(s, "none@example.org", &targets) == 0);
	test_assert(store_alias_del(s, "info@example.org", &error) == 0);
	test_assert(store_alias_del(s, "info@example.org", &error) < 0);
	test_assert_streq(error, "no such alias");
	n = 0;
	test_assert(store_domain_list(s, count_domain, &n, &error) == 0);
	test_assert(n == 3);
	test_end();
}

static void
test_store_cascade(struct store *s)
{
	struct store_user u;
	const char *error = NULL;
	int n;

	test_begin("store domain delete cascades");
	test_assert(store_user_add(s, "a@remove.test", "h", 0, &error) == 0);
	test_assert(store_alias_add(s, "b@remove.test", "a@remove.test",
	    &error) == 0);
	test_assert(store_alias_add(s, "@remove.test", "a@remove.test",
	    &error) == 0);
	test_assert(store_domain_del(s, "REMOVE.test", &error) == 0);
	test_assert(store_domain_del(s, "remove.test", &error) < 0);
	test_assert_streq(error, "no such domain");
	test_assert(store_user_get(s, "a@remove.test", &u) == 0);
	n = 0;
	test_assert(store_alias_list(s, "remove.test", count_alias, &n,
	    &error) == 0);
	test_assert(n == 0);
	/* Re-adding the domain brings nothing back. */
	test_assert(store_domain_add(s, "remove.test", &error) == 0);
	n = 0;
	test_assert(store_user_list(s, "remove.test", count_user, &n,
	    &error) == 0);
	test_assert(n == 0);
	test_assert(store_domain_del(s, "remove.test", &error) == 0);
	test_end();
}

static void
test_store_reopen(void)
{
	struct store *s = NULL;
	const char *error = NULL;
	struct stat st;

	test_begin("store reopen keeps data, mode 0640");
	test_assert(store_open(&s, test_db, &error) == 0);
	test_assert(s != NULL && store_domain_exists(s, "example.org") == 1);
	store_close(&s);
	test_assert(s == NULL);
	test_assert(test_pg ||
	    (stat(test_db, &st) == 0 && (st.st_mode & 0137) == 0));
	test_assert(store_open(&s, "/nonexistent/dir/ferry.db", &error) < 0);
	test_assert(s == NULL);
	test_end();
}

/* Resolution fixtures: added once on top of test_store_basic's data. */
static const struct {
	const char *address, *targets;	/* targets NULL: a user */
} fixtures[] = {
	{ "alice@example.org", NULL },
	{ "Dave@example.org", NULL },
	{ "sales@example.org", "alice@example.org, bob@example.org" },
	{ "team@example.org", "sales@example.org,alice@example.org,"
	    "bob@example.org" },
	{ "fwd@example.org", "someone@remote.test,alice@example.org" },
	{ "copy@example.org", "copy@example.org,x@remote.test" },
	{ "copy@example.org", NULL },
	{ "loop1@example.org", "loop2@example.org" },
	{ "loop2@example.org", "loop1@example.org" },
	{ "loopu@example.org", "loopv@example.org,bob@example.org" },
	{ "loopv@example.org", "loopu@example.org" },
	{ "ghost@example.org", "missing@example.org" },
	{ "half@example.org", "missing@example.org,alice@example.org" },
	{ "ext@example.org", "alice+tag@example.org" },
	{ "list+x@example.org", "bob@example.org" },
	{ "@other.test", "alice@example.org" },
	{ "d0@example.org", "d1@example.org" },
	{ "d1@example.org", "d2@example.org" },
	{ "d2@example.org", "d3@example.org" },
	{ "d3@example.org", "d4@example.org" },
	{ "d4@example.org", "d5@example.org" },
	{ "d5@example.org", "d6@example.org" },
	{ "d6@example.org", "d7@example.org" },
	{ "d7@example.org", "d8@example.org" },
	{ "d8@example.org", "d9@example.org" },
	{ "d9@example.org", "d10@example.org" },
	{ "d10@example.org", "d11@example.org" },
	{ "d11@example.org", "alice@example.org" },
	{ "e9@example.org", "d2@example.org" },
	{ "to-deleted@example.org", "z@gone.test" },
};

static const struct {
	const char *address;
	enum resolve_status status;
	const char *users;	/* local mailboxes, space separated, in order */
	const char *remote;	/* remote targets, space separated */
	const char *first;	/* address of the first target, or NULL */
} cases[] = {
	{ "bob@example.org", RESOLVE_LOCAL, "bob@example.org", "",
	    "bob@example.org" },
	{ "BOB@Example.ORG.", RESOLVE_LOCAL, "bob@example.org", "", NULL },
	{ "dave@example.org", RESOLVE_LOCAL, "dave@example.org", "", NULL },
	{ "nobody@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "someone@remote.test", RESOLVE_REMOTE, "", "", NULL },
	{ "bob+lists@example.org", RESOLVE_LOCAL, "bob@example.org", "",
	    "bob+lists@example.org" },
	{ "bob+@example.org", RESOLVE_LOCAL, "bob@example.org", "", NULL },
	{ "+bob@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "sales+q3@example.org", RESOLVE_LOCAL,
	    "alice@example.org bob@example.org", "", NULL },
	{ "list+x@example.org", RESOLVE_LOCAL, "bob@example.org", "", NULL },
	{ "list+y@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "sales@example.org", RESOLVE_LOCAL,
	    "alice@example.org bob@example.org", "", NULL },
	{ "team@example.org", RESOLVE_LOCAL,
	    "alice@example.org bob@example.org", "", NULL },
	{ "fwd@example.org", RESOLVE_LOCAL, "alice@example.org",
	    "someone@remote.test", NULL },
	{ "copy@example.org", RESOLVE_LOCAL, "copy@example.org",
	    "x@remote.test", NULL },
	{ "loop1@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "loopu@example.org", RESOLVE_LOCAL, "bob@example.org", "", NULL },
	{ "ghost@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "half@example.org", RESOLVE_LOCAL, "alice@example.org", "", NULL },
	{ "ext@example.org", RESOLVE_LOCAL, "alice@example.org", "",
	    "alice+tag@example.org" },
	{ "anything@other.test", RESOLVE_LOCAL, "alice@example.org", "",
	    NULL },
	{ "carol@other.test", RESOLVE_LOCAL, "carol@other.test", "", NULL },
	/* d0 needs 12 alias hops: past the limit.  d2 needs 10: fine. */
	{ "d0@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "d2@example.org", RESOLVE_LOCAL, "alice@example.org", "", NULL },
	{ "e9@example.org", RESOLVE_UNKNOWN, "", "", NULL },
	{ "to-deleted@example.org", RESOLVE_LOCAL, "", "z@gone.test", NULL },
	{ "not-an-address", RESOLVE_UNKNOWN, "", "", NULL },
	{ "@example.org", RESOLVE_UNKNOWN, "", "", NULL },
};

/* Space-joined list of the local (or remote) targets of r. */
static void
join_targets(const struct resolve_result *r, bool local, char *dst,
    size_t size)
{
	size_t len = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].local != local)
			continue;
		len += (size_t)snprintf(dst + len, size - len, "%s%s",
		    len > 0 ? " " : "", local ? r->v[i].user : r->v[i].address);
		if (len >= size)
			return;
	}
}

static void
test_resolve(struct store *s)
{
	const struct resolve_opts o = { false, "+" };
	struct resolve_result r;
	const char *error = NULL;
	char buf[512];
	int rc;

	test_begin("resolve fixtures");
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char addr[320];

		test_assert_idx(resolve_normalise(&o, fixtures[i].address, addr,
		    sizeof(addr)) == 0, i);
		rc = fixtures[i].targets == NULL ?
		    store_user_add(s, addr, "h", 7, &error) :
		    store_alias_add(s, addr, fixtures[i].targets, &error);
		test_assert_idx(rc == 0, i);
	}
	test_end();

	test_begin("resolve cases");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum resolve_status st = resolve_rcpt(s, &o, cases[i].address,
		    &r);

		test_assert_idx(st == cases[i].status, i);
		join_targets(&r, true, buf, sizeof(buf));
		test_assert_idx(strcmp(buf, cases[i].users) == 0, i);
		join_targets(&r, false, buf, sizeof(buf));
		test_assert_idx(strcmp(buf, cases[i].remote) == 0, i);
		if (cases[i].first != NULL)
			test_assert_idx(r.n > 0 && strcmp(r.v[0].address,
			    cases[i].first) == 0, i);
		if (st == RESOLVE_LOCAL && r.n > 0 && r.v[0].local)
			test_assert_idx(r.v[0].quota == 7 ||
			    strcmp(r.v[0].user, "bob@example.org") == 0 ||
			    strcmp(r.v[0].user, "carol@other.test") == 0, i);
		if (st != RESOLVE_LOCAL)
			test_assert_idx(r.n == 0 && r.v == NULL, i);
		resolve_result_free(&r);
	}
	test_end();
}

static void
test_resolve_opts(struct store *s)
{
	const struct resolve_opts nodelim = { false, "" };
	const struct resolve_opts cs = { true, "+" };
	const struct resolve_opts multi = { false, "+-" };
	struct resolve_result r;
	const char *error = NULL;
	char buf[64];

	test_begin("resolve options");
	test_assert(resolve_rcpt(s, &nodelim, "bob+x@example.org", &r) ==
	    RESOLVE_UNKNOWN);
	test_assert(resolve_rcpt(s, NULL, "bob+x@example.org", &r) ==
	    RESOLVE_LOCAL);
	resolve_result_free(&r);
	test_assert(resolve_rcpt(s, &multi, "bob-x@example.org", &r) ==
	    RESOLVE_LOCAL);
	resolve_result_free(&r);
	/* Case-sensitive locals: Bob is not bob, the domain still folds. */
	test_assert(resolve_rcpt(s, &cs, "Bob@example.org", &r) ==
	    RESOLVE_UNKNOWN);
	test_assert(resolve_normalise(&cs, "Mixed@Example.ORG.", buf,
	    sizeof(buf)) == 0);
	test_assert_streq(buf, "Mixed@example.org");
	test_assert(store_user_add(s, buf, "h", 0, &error) == 0);
	test_assert(resolve_rcpt(s, &cs, "Mixed@EXAMPLE.org", &r) ==
	    RESOLVE_LOCAL);
	resolve_result_free(&r);
	test_assert(resolve_normalise(NULL, "Mixed@Example.ORG.", buf,
	    sizeof(buf)) == 0);
	test_assert_streq(buf, "mixed@example.org");
	test_assert(resolve_normalise(NULL, "a@.", buf, sizeof(buf)) < 0);
	test_assert(resolve_normalise(NULL, "a@", buf, sizeof(buf)) < 0);
	test_assert(resolve_normalise(NULL, "abc", buf, sizeof(buf)) < 0);
	test_assert(resolve_normalise(NULL, "abcdef@example.org", buf, 8) < 0);
	test_assert(resolve_normalise(NULL, "@Example.org", buf,
	    sizeof(buf)) == 0);
	test_assert_streq(buf, "@example.org");
	test_end();
}

static const struct {
	const char *input, *want;	/* want NULL: rejected */
	bool domain;
} parse_cases[] = {
	{ "Bob@Example.ORG", "bob@example.org", false },
	{ "bob+x@example.org.", "bob+x@example.org", false },
	{ "bob@[192.0.2.1]", NULL, false },
	{ "bob", NULL, false },
	{ "bob@", NULL, false },
	{ "two words@example.org", NULL, false },
	{ "Example.ORG.", "example.org", true },
	{ "a..b", NULL, true },
	{ "-a.test", NULL, true },
	{ "bad_domain", NULL, true },
	{ "", NULL, true },
};

static void
test_resolve_parse(void)
{
	char buf[320];
	const char *error;
	int r;

	test_begin("resolve parse mailbox and domain");
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	    i++) {
		error = NULL;
		r = parse_cases[i].domain ?
		    resolve_parse_domain(parse_cases[i].input, buf, sizeof(buf),
		    &error) :
		    resolve_parse_mailbox(NULL, parse_cases[i].input, buf,
		    sizeof(buf), &error);
		if (parse_cases[i].want == NULL) {
			test_assert_idx(r < 0 && error != NULL, i);
		} else {
			test_assert_idx(r == 0, i);
			test_assert_idx(strcmp(buf, parse_cases[i].want) == 0, i);
		}
	}
	test_end();
}

static void
test_resolve_limits(struct store *s)
{
	const struct resolve_opts o = { false, "+" };
	struct resolve_result r;
	const char *error = NULL;
	char addr[64], targets[4096];
	size_t len = 0;

	test_begin("resolve target limit");
	test_assert(store_domain_add(s, "big.test", &error) == 0);
	for (int i = 0; i < RESOLVE_MAX_TARGETS + 20; i++) {
		snprintf(addr, sizeof(addr), "u%d@big.test", i);
		test_assert(store_user_add(s, addr, "h", 0, &error) == 0);
		len += (size_t)snprintf(targets + len, sizeof(targets) - len,
		    "%s%s", i > 0 ? "," : "", addr);
	}
	test_assert(len < sizeof(targets));
	test_assert(store_alias_add(s, "all@big.test", targets, &error) == 0);
	test_assert(resolve_rcpt(s, &o, "all@big.test", &r) == RESOLVE_LOCAL);
	test_assert(r.n == RESOLVE_MAX_TARGETS);
	resolve_result_free(&r);
	test_end();
}

static void
test_password(void)
{
	char hash[256], small[8];

	test_begin("password hash and verify");
	test_assert(password_hash("s3cret pass", hash, sizeof(hash)) == 0);
	test_assert(strncmp(hash, "$y$", 3) == 0);
	test_assert(password_verify("s3cret pass", hash));
	test_assert(!password_verify("s3cret pasS", hash));
	test_assert(!password_verify("", hash));
	test_assert(!password_verify("s3cret pass", ""));
	test_assert(!password_verify("s3cret pass", "!locked"));
	test_assert(!password_verify("x", "*"));
	test_assert(!password_verify_dummy("s3cret pass"));
	test_assert(password_hash("x", small, sizeof(small)) < 0);
	/* A SHA-512 crypt hash of "password" still verifies. */
	test_assert(password_verify("password",
	    "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterL"
	    "p8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"));
	test_end();
}

/* The change counter (store_generation): every change that a cached
 * answer could depend on moves it, for every connection to the file;
 * reads, failure rows and the greylist do not. */
static void
test_store_generation(struct store *s)
{
	struct store *other = NULL;
	struct store_rule rule;
	struct store_user u;
	enum store_grey grey;
	int64_t first;
	uint64_t g0, g, h;
	const char *error = NULL;

	test_begin("store generation counter");
	test_assert(store_open(&other, test_db, &error) == 0);
	/* PostgreSQL's counter is read by a watcher thread each connection
	 * starts at the first call: unknown until it has (bounded wait). */
	for (int i = 0; test_pg && i < 500 && (store_generation(s, &g) < 0 ||
	    store_generation(other, &g) < 0); i++)
		usleep(20000);
	test_assert(store_generation(s, &g0) == 0);
	test_assert(store_generation(other, &h) == 0);
	test_assert(h == g0);
#define MOVED(call) do {						\
		test_assert(store_generation(s, &g) == 0);		\
		test_assert((call) == 0);				\
		test_assert(store_generation(other, &h) == 0);		\
		test_assert(h > g);					\
	} while (0)
	MOVED(store_domain_add(other, "gen.test", &error));
	MOVED(store_user_add(s, "g@gen.test", "h", 0, &error));
	MOVED(store_user_set_quota(s, "g@gen.test", 5, &error));
	MOVED(store_user_set_password(s, "g@gen.test", "h2", &error));
	MOVED(store_alias_add(s, "a@gen.test", "g@gen.test", &error));
	MOVED(store_alias_del(s, "a@gen.test", &error));
	MOVED(store_ban_set(s, "192.0.2.1", 1000, 2000, "test", &error));
	MOVED(store_ban_del(s, "192.0.2.1", 1000, &error));
	memset(&rule, 0, sizeof(rule));
	snprintf(rule.domain, sizeof(rule.domain), "gen.test");
	snprintf(rule.action, sizeof(rule.action), "deny");
	snprintf(rule.kind, sizeof(rule.kind), "sender");
	snprintf(rule.value, sizeof(rule.value), "x@y.test");
	MOVED(store_rule_add(s, &rule, &error));
	MOVED(store_rule_del(s, rule.id, &error));
	MOVED(store_user_del(s, "g@gen.test", &error));
	MOVED(store_domain_del(s, "gen.test", &error));
#undef MOVED
	/* What no cached answer depends on leaves it alone. */
	test_assert(store_generation(s, &g) == 0);
	test_assert(store_user_get(s, "g@gen.test", &u) == 0);
	test_assert(store_ban_failure_add(s, "192.0.2.2", "smtp", 1000,
	    900) == 1);
	test_assert(store_greylist_check(s, "192.0.2.0/24", "t", 1000, 60,
	    3600, 86400, &grey, &first) == 0);
	test_assert(store_generation(other, &h) == 0);
	test_assert(h == g);
	store_close(&other);
	test_end();
}

/* The greylist's states in order; a network that passed is then
 * trusted, and that answer is a read: it does not wait for a write
 * transaction another connection holds (SQLite: that wait was a sleep
 * of a millisecond and more per RCPT, or a failure after the busy
 * timeout). */
static void
test_greylist(struct store *s)
{
	const char *net = "198.51.100.0/24";
	enum store_grey grey;
	int64_t first;
	sqlite3 *w = NULL;

	test_begin("greylist: new, early, pass, trusted without a write lock");
	test_assert(store_greylist_check(s, net, "a b c", 1000, 60, 3600,
	    86400, &grey, &first) == 0 && grey == STORE_GREY_NEW &&
	    first == 1000);
	test_assert(store_greylist_check(s, net, "a b c", 1030, 60, 3600,
	    86400, &grey, &first) == 0 && grey == STORE_GREY_EARLY &&
	    first == 1000);
	test_assert(store_greylist_check(s, net, "a b c", 1070, 60, 3600,
	    86400, &grey, &first) == 0 && grey == STORE_GREY_PASS);
	if (!test_pg) {
		test_assert(sqlite3_open(test_db, &w) == SQLITE_OK);
		test_assert(sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) == SQLITE_OK);
	}
	test_assert(store_greylist_check(s, net, "d e f", 1100, 60, 3600,
	    86400, &grey, &first) == 0 && grey == STORE_GREY_TRUSTED);
	if (w != NULL) {
		sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(w);
	}
	/* Past the trust: greylisted again. */
	test_assert(store_greylist_check(s, net, "d e f", 1070 + 86400 + 1,
	    60, 3600, 86400, &grey, &first) == 0 && grey == STORE_GREY_NEW);
	test_end();
}

/* Store paths as logged: a URI's password masked, nothing else. */
static void
test_store_label(void)
{
	static const struct {
		const char *path, *want;
	} labels[] = {
		{ "/var/lib/ferry/ferry.db", "/var/lib/ferry/ferry.db" },
		{ "postgresql://ferry@db/ferry", "postgresql://ferry@db/ferry" },
		{ "postgresql://ferry:hunter2@db:5432/ferry",
		    "postgresql://ferry:*******@db:5432/ferry" },
		{ "postgres://u:p@h/d?password=x&sslmode=require",
		    "postgres://u:*@h/d?password=*&sslmode=require" },
		{ "postgresql://u@/d?host=/run/a:b@c",
		    "postgresql://u@/d?host=/run/a:b@c" },
		{ "postgresql://h/d?password=", "postgresql://h/d?password=" },
	};

	test_begin("store path label masks passwords");
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		test_assert_streq(store_path_label(labels[i].path),
		    labels[i].want);
	test_end();
}

int
main(void)
{
	struct store *s = NULL;
	const char *error = NULL;

	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-test-store.XXXXXX");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(test_db, sizeof(test_db), "%s/ferry.db", test_dir);
	if (getenv("FERRY_TEST_STORE") != NULL) {
		test_pg = true;
		snprintf(test_db, sizeof(test_db), "%s",
		    getenv("FERRY_TEST_STORE"));
	}
	if (store_open(&s, test_db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_store_basic(s);
	test_store_cascade(s);
	test_resolve(s);
	test_resolve_opts(s);
	test_resolve_limits(s);
	test_resolve_parse();
	test_store_generation(s);
	test_greylist(s);
	store_close(&s);
	test_store_reopen();
	test_password();
	test_store_label();
	if (test_pg) {
		rmdir(test_dir);
		return test_exit();
	}
	unlink(test_db);
	snprintf(test_db, sizeof(test_db), "%s/ferry.db-wal", test_dir);
	unlink(test_db);
	snprintf(test_db, sizeof(test_db), "%s/ferry.db-shm", test_dir);
	unlink(test_db);
	snprintf(test_db, sizeof(test_db), "%s/ferry.db.gen", test_dir);
	unlink(test_db);
	rmdir(test_dir);
	return test_exit();
}
