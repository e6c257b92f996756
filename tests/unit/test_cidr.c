/* Unit tests for CIDR parsing and matching (src/lib/cidr.c): IPv4, IPv6,
 * prefixes off octet boundaries, IPv4-mapped IPv6 peers, and lists. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "lib/cidr.h"
#include "test.h"

struct cidr_parse_case {
	const char *in;
	int ret;
	int family;
	unsigned prefix;
};

static const struct cidr_parse_case parse_cases[] = {
	{ "10.0.0.0/8", 0, AF_INET, 8 },
	{ "192.0.2.7", 0, AF_INET, 32 },
	{ "0.0.0.0/0", 0, AF_INET, 0 },
	{ "192.0.2.0/32", 0, AF_INET, 32 },
	{ "::1", 0, AF_INET6, 128 },
	{ "2001:db8::/32", 0, AF_INET6, 32 },
	{ "::/0", 0, AF_INET6, 0 },
	{ "::ffff:10.0.0.1/128", 0, AF_INET6, 128 },
	{ "10.0.0.0/33", -1, 0, 0 },
	{ "2001:db8::/129", -1, 0, 0 },
	{ "10.0.0.0/", -1, 0, 0 },
	{ "10.0.0.0/-1", -1, 0, 0 },
	{ "10.0.0.0/8x", -1, 0, 0 },
	{ "10.0.0.0/8/8", -1, 0, 0 },
	{ "10.0.0/8", -1, 0, 0 },
	{ "256.0.0.0/8", -1, 0, 0 },
	{ "example.org", -1, 0, 0 },
	{ "", -1, 0, 0 },
	{ "/8", -1, 0, 0 },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", -1, 0, 0 },
	{ "0000000000000000000000000000000000000000000000000000000000000001",
	  -1, 0, 0 },
};

static void
test_cidr_parse(void)
{
	struct cidr c;

	test_begin("cidr_parse");
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	    i++) {
		const struct cidr_parse_case *pc = &parse_cases[i];

		test_assert_idx(cidr_parse(pc->in, &c) == pc->ret, i);
		if (pc->ret == 0)
			test_assert_idx(c.family == pc->family &&
			    c.prefix == pc->prefix, i);
	}
	test_end();
}

static void
cidr_sa4(struct sockaddr_storage *ss, const char *addr)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(25);
	if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
		test_assert(!"bad test address");
}

static void
cidr_sa6(struct sockaddr_storage *ss, const char *addr)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(25);
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
		test_assert(!"bad test address");
}

struct cidr_match_case {
	const char *net;
	const char *addr;	/* contains ':' for IPv6 */
	bool match;
};

static const struct cidr_match_case match_cases[] = {
	{ "10.0.0.0/8", "10.1.2.3", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "10.0.0.0/8", "::a01:203", false },
	{ "192.0.2.16/28", "192.0.2.31", true },
	{ "192.0.2.16/28", "192.0.2.32", false },
	{ "192.0.2.16/28", "192.0.2.15", false },
	{ "172.16.0.0/12", "172.31.255.255", true },
	{ "172.16.0.0/12", "172.32.0.0", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "192.0.2.7", "192.0.2.7", true },
	{ "192.0.2.7", "192.0.2.6", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/32", "192.0.2.1", false },
	{ "::1", "::1", true },
	{ "::1", "::2", false },
	{ "::/0", "fe80::1", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true },
};

static void
test_cidr_match(void)
{
	struct sockaddr_storage ss;
	struct cidr c;

	test_begin("cidr_match");
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
	    i++) {
		const struct cidr_match_case *mc = &match_cases[i];

		test_assert_idx(cidr_parse(mc->net, &c) == 0, i);
		if (strchr(mc->addr, ':') != NULL)
			cidr_sa6(&ss, mc->addr);
		else
			cidr_sa4(&ss, mc->addr);
		test_assert_idx(cidr_match(&c, (struct sockaddr *)&ss) ==
		    mc->match, i);
	}
	test_end();
}

static void
test_cidr_list(void)
{
	struct cidr_list l = { NULL, 0 };
	struct sockaddr_storage ss;
	const char *bad = NULL;

	test_begin("cidr_list_parse and cidr_list_match");
	test_assert(cidr_list_parse(&l, "127.0.0.0/8, ::1 10.0.0.0/8,,",
	    &bad) == 0);
	test_assert(l.n == 3);
	cidr_sa4(&ss, "10.2.3.4");
	test_assert(cidr_list_match(&l, (struct sockaddr *)&ss));
	cidr_sa4(&ss, "192.0.2.1");
	test_assert(!cidr_list_match(&l, (struct sockaddr *)&ss));
	cidr_sa6(&ss, "::1");
	test_assert(cidr_list_match(&l, (struct sockaddr *)&ss));
	cidr_sa6(&ss, "::ffff:127.0.0.1");
	test_assert(cidr_list_match(&l, (struct sockaddr *)&ss));
	test_assert(cidr_list_parse(&l, "192.0.2.0/24 bogus/8 ::2",
	    &bad) == -1);
	test_assert_streq(bad, "bogus/8");
	cidr_list_free(&l);
	test_assert(l.v == NULL && l.n == 0);
	test_assert(cidr_list_parse(&l, "", &bad) == 0 && l.n == 0);
	cidr_sa4(&ss, "10.2.3.4");
	test_assert(!cidr_list_match(&l, (struct sockaddr *)&ss));
	cidr_list_free(&l);
	test_end();
}

static void
test_cidr_addr_str(void)
{
	struct sockaddr_storage ss;
	char buf[64];

	test_begin("cidr_addr_str");
	cidr_sa4(&ss, "192.0.2.7");
	cidr_addr_str((struct sockaddr *)&ss, buf, sizeof(buf));
	test_assert_streq(buf, "192.0.2.7");
	cidr_sa6(&ss, "2001:db8::1");
	cidr_addr_str((struct sockaddr *)&ss, buf, sizeof(buf));
	test_assert_streq(buf, "2001:db8::1");
	cidr_sa6(&ss, "::ffff:192.0.2.7");
	cidr_addr_str((struct sockaddr *)&ss, buf, sizeof(buf));
	test_assert_streq(buf, "192.0.2.7");
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	cidr_addr_str((struct sockaddr *)&ss, buf, sizeof(buf));
	test_assert_streq(buf, "unknown");
	test_end();
}

int
main(void)
{
	test_cidr_parse();
	test_cidr_match();
	test_cidr_list();
	test_cidr_addr_str();
	return test_exit();
}
