/* Unit tests for mailbox homing's pieces without the network: node
 * addresses (net/nodeaddr.c), whole and one byte short, and the store's
 * nodes and home nodes (store_node.c) on a fresh SQLite file, or on the
 * empty PostgreSQL database named by $FERRY_TEST_STORE
 * (tests/integration/test_pg_homing.py runs them so). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/nodeaddr.h"
#include "store/store.h"
#include "test.h"

static const struct {
	const char *in;
	const char *out;	/* NULL: refused */
} nodeaddr_cases[] = {
	{ "127.0.0.2:25", "127.0.0.2:25" },
	{ "192.0.2.7:65535", "192.0.2.7:65535" },
	{ "[2001:DB8:0::1]:587", "[2001:db8::1]:587" },
	{ "[::ffff:192.0.2.1]:25", "[::ffff:192.0.2.1]:25" },
	{ "192.0.2.7", NULL },
	{ "192.0.2.7:", NULL },
	{ "192.0.2.7:0", NULL },
	{ "192.0.2.7:65536", NULL },
	{ "192.0.2.7:25x", NULL },
	{ "192.0.2.7:-1", NULL },
	{ "mx.example:25", NULL },
	{ "2001:db8::1:25", NULL },
	{ "[192.0.2.7]:25", NULL },
	{ "[2001:db8::1]25", NULL },
	{ "[2001:db8::1", NULL },
	{ "[]:25", NULL },
	{ ":25", NULL },
	{ "", NULL },
	{ "1.2.3.4.5:25", NULL },
	{ "01.2.3.4:25", NULL },
};

static void
test_nodeaddr(void)
{
	struct nodeaddr a;
	struct sockaddr_in sin;
	const char *error;
	char out[NODEADDR_TEXT_MAX];

	test_begin("node addresses");
	for (size_t i = 0; i < sizeof(nodeaddr_cases) /
	    sizeof(nodeaddr_cases[0]); i++) {
		int r = nodeaddr_parse(nodeaddr_cases[i].in, &a, &error);

		if (nodeaddr_cases[i].out == NULL) {
			test_assert_idx(r == -1, i);
			continue;
		}
		test_assert_idx(r == 0, i);
		nodeaddr_format(&a, out, sizeof(out));
		test_assert_idx(strcmp(out, nodeaddr_cases[i].out) == 0, i);
	}
	test_assert(nodeaddr_parse("127.0.0.2:25", &a, &error) == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
	test_assert(nodeaddr_is_host(&a, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "127.0.0.3", &sin.sin_addr);
	test_assert(!nodeaddr_is_host(&a, (struct sockaddr *)&sin));
	test_assert(nodeaddr_host_is("2001:db8::1", "2001:DB8:0::1"));
	test_assert(!nodeaddr_host_is("192.0.2.1", "2001:db8::1"));
	test_assert(!nodeaddr_host_is("local", "127.0.0.1"));
	test_end();
}

struct node_seen {
	char names[8][64];
	int n;
};

static void
node_seen_cb(const struct store_node *n, void *ctx)
{
	struct node_seen *s = ctx;

	if (s->n < 8)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", n->name);
}

static void
home_seen_cb(const char *domain, const char *node, void *ctx)
{
	struct node_seen *s = ctx;

	if (s->n < 8)
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s=%s",
		    domain, node);
}

static void
test_store_nodes(struct store *s)
{
	struct store_node n, got;
	struct node_seen seen = { .n = 0 };
	const char *error = NULL;

	test_begin("store nodes and homes");
	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "b");
	snprintf(n.smtp, sizeof(n.smtp), "127.0.0.3:25");
	test_assert(store_node_add(s, &n, false, &error) == 0);
	snprintf(n.name, sizeof(n.name), "a");
	snprintf(n.smtp, sizeof(n.smtp), "127.0.0.2:25");
	snprintf(n.imap, sizeof(n.imap), "127.0.0.2:143");
	test_assert(store_node_add(s, &n, false, &error) == 0);
	test_assert(store_node_add(s, &n, false, &error) == -1);
	test_assert_streq(error, "node exists");
	snprintf(n.name, sizeof(n.name), "zz");
	test_assert(store_node_add(s, &n, true, &error) == -1);
	test_assert_streq(error, "no such node");
	test_assert(store_node_get(s, "a", &got) == 1);
	test_assert_streq(got.imap, "127.0.0.2:143");
	test_assert_streq(got.pop3, "");
	test_assert(store_node_get(s, "zz", &got) == 0);
	test_assert(store_node_list(s, node_seen_cb, &seen, &error) == 0);
	test_assert(seen.n == 2 && strcmp(seen.names[0], "a") == 0);

	test_assert(store_domain_add(s, "homed.test", &error) == 0);
	test_assert(store_domain_add(s, "free.test", &error) == 0);
	test_assert(store_domain_home(s, "homed.test", &got) == 0);
	test_assert(store_domain_home_set(s, "homed.test", "zz", &error) < 0);
	test_assert_streq(error, "no such node");
	test_assert(store_domain_home_set(s, "none.test", "a", &error) < 0);
	test_assert_streq(error, "no such domain");
	test_assert(store_domain_home_set(s, "HOMED.test", "a", &error) == 1);
	test_assert(store_domain_home_set(s, "homed.test", "a", &error) == 0);
	test_assert(store_domain_home(s, "Homed.TEST", &got) == 1);
	test_assert_streq(got.name, "a");
	test_assert_streq(got.smtp, "127.0.0.2:25");
	test_assert(store_domain_home(s, "free.test", &got) == 0);
	/* A home node cannot go; moving the domain frees it. */
	test_assert(store_node_del(s, "a", &error) < 0);
	test_assert_streq(error, "node is the home of 1 domain");
	test_assert(store_domain_home_set(s, "homed.test", "b", &error) == 1);
	seen.n = 0;
	test_assert(store_domain_home_list(s, home_seen_cb, &seen,
	    &error) == 0);
	test_assert(seen.n == 1 && strcmp(seen.names[0], "homed.test=b") == 0);
	test_assert(store_node_del(s, "a", &error) == 0);
	test_assert(store_node_del(s, "a", &error) < 0);
	test_assert_streq(error, "no such node");
	/* Deleting the domain takes its home with it. */
	test_assert(store_domain_del(s, "homed.test", &error) == 0);
	test_assert(store_node_del(s, "b", &error) == 0);
	test_assert(store_domain_home_set(s, "free.test", NULL, &error) == 0);
	test_end();
}

int
main(void)
{
	char dir[64], db[512];
	struct store *s = NULL;
	const char *error = NULL;
	const char *url = getenv("FERRY_TEST_STORE");

	test_nodeaddr();
	snprintf(dir, sizeof(dir), "/tmp/ferry-test-node.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	if (store_open(&s, url != NULL ? url : db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_store_nodes(s);
	store_close(&s);
	if (url == NULL) {
		const char *ext[] = { "", "-wal", "-shm", ".gen" };

		for (size_t i = 0; i < 4; i++) {
			snprintf(db, sizeof(db), "%s/ferry.db%s", dir, ext[i]);
			unlink(db);
		}
	}
	rmdir(dir);
	return test_exit();
}
