/* Unit tests for the delivery history and the queue summaries in the
 * store (store.h, store_hist.c), on a fresh SQLite file, or on the empty
 * PostgreSQL database named by $FERRY_TEST_STORE
 * (tests/integration/test_pg_store.py runs them so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "store/store.h"
#include "test.h"

struct seen {
	char ids[16][STORE_HIST_ID_MAX];
	char rcpts[16][256];
	int64_t arrival[16];
	size_t nmsgs;
	struct store_hist_attempt att[32];
	size_t natt;
};

static void
seen_msg(const struct store_hist_msg *m, void *ctx)
{
	struct seen *s = ctx;

	if (s->nmsgs >= 16)
		return;
	str_lcpy(s->ids[s->nmsgs], m->id, sizeof(s->ids[0]));
	str_lcpy(s->rcpts[s->nmsgs], m->rcpts, sizeof(s->rcpts[0]));
	s->arrival[s->nmsgs++] = m->arrival;
}

static void
seen_attempt(const struct store_hist_attempt *a, void *ctx)
{
	struct seen *s = ctx;

	if (s->natt < 32)
		s->att[s->natt++] = *a;
}

static void
msg_init(struct store_hist_msg *m, const char *id, const char *node,
    int64_t arrival, const char *rcpts)
{
	memset(m, 0, sizeof(*m));
	str_lcpy(m->id, id, sizeof(m->id));
	str_lcpy(m->node, node, sizeof(m->node));
	m->arrival = arrival;
	str_lcpy(m->sender, "a@sender.test", sizeof(m->sender));
	str_lcpy(m->client, "192.0.2.7", sizeof(m->client));
	m->size = 1234;
	m->rcpts = (char *)rcpts;
}

static void
att_init(struct store_hist_attempt *a, const char *id, const char *node,
    int64_t at, int64_t seq, const char *rcpt, const char *result,
    const char *reply)
{
	memset(a, 0, sizeof(*a));
	str_lcpy(a->id, id, sizeof(a->id));
	str_lcpy(a->node, node, sizeof(a->node));
	a->at = at;
	a->seq = seq;
	str_lcpy(a->rcpt, rcpt, sizeof(a->rcpt));
	str_lcpy(a->host, "mx.remote.test [192.0.2.1]:25", sizeof(a->host));
	str_lcpy(a->route, "direct", sizeof(a->route));
	str_lcpy(a->result, result, sizeof(a->result));
	str_lcpy(a->reply, reply, sizeof(a->reply));
	if (strcmp(result, "deferred") == 0) {
		a->next_attempt = at + 60;
		a->give_up = at + 86400;
	}
}

static int
query(struct store *s, enum store_hist_by by, const char *key,
    const char *node, struct seen *out)
{
	const char *error = NULL;

	memset(out, 0, sizeof(*out));
	return store_hist_query(s, by, key, node, 50, seen_msg, seen_attempt,
	    out, &error);
}

static void
test_hist_write_read(struct store *s)
{
	struct store_hist_msg m[2];
	struct store_hist_attempt a[4];
	const char *error = NULL;
	struct seen out;

	test_begin("history: arrival and attempts, read back by id, "
	    "recipient and domain");
	msg_init(&m[0], "0000000000000aa1", "node-a", 1000,
	    "bob@remote.test\ncarol@other.test");
	msg_init(&m[1], "0000000000000bb2", "node-b", 1100,
	    "dave@remote.test");
	att_init(&a[0], "0000000000000aa1", "node-a", 1001, 1,
	    "bob@remote.test", "deferred", "451 4.7.1 try later");
	att_init(&a[1], "0000000000000aa1", "node-a", 1001, 2,
	    "carol@other.test", "bounced", "550 5.1.1 no such user");
	/* Same second as the deferral: seq keeps the order. */
	att_init(&a[2], "0000000000000aa1", "node-a", 1001, 3,
	    "bob@remote.test", "delivered", "250 2.0.0 ok");
	att_init(&a[3], "0000000000000bb2", "node-b", 1101, 1,
	    "dave@remote.test", "delivered", "250 ok");
	test_assert(store_hist_write(s, m, 2, a, 4, &error) == 0);
	/* A second arrival of the same id changes nothing. */
	m[0].arrival = 5;
	test_assert(store_hist_write(s, m, 1, NULL, 0, &error) == 0);

	test_assert(query(s, STORE_HIST_BY_ID, "0000000000000aa1", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 1 && out.arrival[0] == 1000);
	test_assert_streq(out.rcpts[0], "bob@remote.test\ncarol@other.test");
	test_assert(out.natt == 3);
	test_assert_streq(out.att[0].result, "deferred");
	test_assert_streq(out.att[0].reply, "451 4.7.1 try later");
	test_assert(out.att[0].next_attempt == 1061);
	test_assert(out.att[0].give_up == 1001 + 86400);
	test_assert_streq(out.att[0].host, "mx.remote.test [192.0.2.1]:25");
	test_assert_streq(out.att[1].result, "bounced");
	test_assert_streq(out.att[2].result, "delivered");
	test_assert_streq(out.att[2].node, "node-a");

	test_assert(query(s, STORE_HIST_BY_RCPT, "dave@remote.test", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 1 && out.natt == 1);
	test_assert_streq(out.ids[0], "0000000000000bb2");

	/* By domain: both messages, oldest first. */
	test_assert(query(s, STORE_HIST_BY_DOMAIN, "remote.test", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 2);
	test_assert_streq(out.ids[0], "0000000000000aa1");
	test_assert_streq(out.ids[1], "0000000000000bb2");

	/* One node's history only. */
	test_assert(query(s, STORE_HIST_BY_DOMAIN, "remote.test", "node-b",
	    &out) == 0);
	test_assert(out.nmsgs == 1);
	test_assert_streq(out.ids[0], "0000000000000bb2");
	test_assert(query(s, STORE_HIST_BY_ID, "0000000000000aa1", "node-b",
	    &out) == 0);
	test_assert(out.nmsgs == 0 && out.natt == 0);

	/* Nothing known: no rows, no error. */
	test_assert(query(s, STORE_HIST_BY_ID, "ffffffffffffffff", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 0);
	test_assert(query(s, STORE_HIST_BY_RCPT, "nobody@x'; DROP TABLE "
	    "history_msgs; --", NULL, &out) == 0);
	test_assert(out.nmsgs == 0);
	test_end();
}

/* Batches written one after the other by one connection (as the
 * queue's writer does, with a prune between) are seen by another. */
static void
test_hist_other_conn(struct store *s, const char *db)
{
	struct store_hist_msg m;
	struct store_hist_attempt a;
	const char *error = NULL;
	struct store *s2 = NULL;
	struct seen out;

	test_begin("history: each batch is committed for other readers");
	test_assert(store_open(&s2, db, &error) == 0);
	msg_init(&m, "0000000000000ee5", "node-a", 900000, "f@x.test");
	att_init(&a, "0000000000000ee5", "node-a", 900001, 1, "f@x.test",
	    "deferred", "451 later");
	test_assert(store_hist_write(s, &m, 1, &a, 1, &error) == 0);
	test_assert(store_hist_prune(s, 10, &error) >= 0);
	att_init(&a, "0000000000000ee5", "node-a", 900002, 2, "f@x.test",
	    "delivered", "250 ok");
	test_assert(store_hist_write(s, NULL, 0, &a, 1, &error) == 0);
	test_assert(query(s2, STORE_HIST_BY_ID, "0000000000000ee5", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 1 && out.natt == 2);
	store_close(&s2);
	test_end();
}

static void
test_hist_orphan_attempts(struct store *s)
{
	struct store_hist_attempt a;
	const char *error = NULL;
	struct seen out;

	test_begin("history: attempts whose arrival was not recorded");
	att_init(&a, "0000000000000cc3", "node-a", 2000, 1, "eve@third.test",
	    "deferred", "421 busy");
	test_assert(store_hist_write(s, NULL, 0, &a, 1, &error) == 0);
	test_assert(query(s, STORE_HIST_BY_RCPT, "eve@third.test", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 1 && out.arrival[0] == 0 && out.natt == 1);
	test_assert_streq(out.ids[0], "0000000000000cc3");
	test_end();
}

static void
test_hist_prune(struct store *s)
{
	struct store_hist_msg m;
	struct store_hist_attempt a;
	const char *error = NULL;
	struct seen out;

	test_begin("history: pruning keeps messages with recent attempts");
	/* Arrived long ago, still being tried: kept whole. */
	msg_init(&m, "0000000000000dd4", "node-a", 100, "old@remote.test");
	att_init(&a, "0000000000000dd4", "node-a", 5000, 1, "old@remote.test",
	    "deferred", "451 later");
	test_assert(store_hist_write(s, &m, 1, &a, 1, &error) == 0);
	test_assert(store_hist_prune(s, 3000, &error) > 0);
	/* aa1 and bb2 (last attempts 1001, 1101) and cc3 (2000) are gone. */
	test_assert(query(s, STORE_HIST_BY_ID, "0000000000000aa1", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 0 && out.natt == 0);
	test_assert(query(s, STORE_HIST_BY_RCPT, "eve@third.test", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 0);
	test_assert(query(s, STORE_HIST_BY_ID, "0000000000000dd4", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 1 && out.arrival[0] == 100 && out.natt == 1);
	/* Past its last attempt too: gone. */
	test_assert(store_hist_prune(s, 6000, &error) > 0);
	test_assert(query(s, STORE_HIST_BY_ID, "0000000000000dd4", NULL,
	    &out) == 0);
	test_assert(out.nmsgs == 0 && out.natt == 0);
	test_assert(store_hist_prune(s, 6000, &error) == 0);
	test_end();
}

struct qseen {
	char line[8][512];
	size_t n;
};

static void
qseen_row(const struct store_queue_row *r, int64_t seen, void *ctx)
{
	struct qseen *q = ctx;

	if (q->n < 8)
		snprintf(q->line[q->n++], sizeof(q->line[0]), "%s %s %s [%s] "
		    "%lld %d %lld", r->node, r->id, r->sender, r->rcpts,
		    (long long)r->next_attempt, r->held, (long long)seen);
}

static void
test_queue_summary(struct store *s)
{
	struct store_queue_row r[2];
	const char *error = NULL;
	struct qseen q;

	test_begin("queue summaries: each node replaces its own rows");
	memset(r, 0, sizeof(r));
	str_lcpy(r[0].id, "00000000000000a1", sizeof(r[0].id));
	str_lcpy(r[0].sender, "x@a.test", sizeof(r[0].sender));
	r[0].rcpts = "y@b.test, z@b.test";
	r[0].arrival = 10;
	r[0].next_attempt = 70;
	str_lcpy(r[1].id, "00000000000000a2", sizeof(r[1].id));
	r[1].rcpts = "w@c.test";
	r[1].arrival = 20;
	r[1].held = true;
	test_assert(store_queue_publish(s, "node-a", r, 2, 100, &error) == 0);
	test_assert(store_queue_publish(s, "node-b", r, 1, 90, &error) == 0);
	memset(&q, 0, sizeof(q));
	test_assert(store_queue_list_all(s, qseen_row, &q, &error) == 0);
	test_assert(q.n == 3);
	test_assert_streq(q.line[0], "node-a 00000000000000a1 x@a.test "
	    "[y@b.test, z@b.test] 70 0 100");
	test_assert_streq(q.line[1], "node-a 00000000000000a2  [w@c.test] "
	    "0 1 100");
	test_assert_streq(q.line[2], "node-b 00000000000000a1 x@a.test "
	    "[y@b.test, z@b.test] 70 0 90");
	/* node-a's queue emptied: only its rows go. */
	test_assert(store_queue_publish(s, "node-a", NULL, 0, 200, &error) ==
	    0);
	memset(&q, 0, sizeof(q));
	test_assert(store_queue_list_all(s, qseen_row, &q, &error) == 0);
	test_assert(q.n == 1);
	test_assert(strncmp(q.line[0], "node-b ", 7) == 0);
	test_end();
}

int
main(void)
{
	char dir[64] = "/tmp/ferry-test-history.XXXXXX", db[512], f[600];
	struct store *s = NULL;
	const char *error = NULL;
	bool pg = getenv("FERRY_TEST_STORE") != NULL;
	static const char *const sfx[] = { "", "-wal", "-shm", ".gen" };

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	if (pg)
		snprintf(db, sizeof(db), "%s", getenv("FERRY_TEST_STORE"));
	if (store_open(&s, db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_hist_write_read(s);
	test_hist_other_conn(s, db);
	test_hist_orphan_attempts(s);
	test_hist_prune(s);
	test_queue_summary(s);
	store_close(&s);
	for (size_t i = 0; !pg && i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(f, sizeof(f), "%s/ferry.db%s", dir, sfx[i]);
		unlink(f);
	}
	rmdir(dir);
	return test_exit();
}
