/* Mail problem reports (src/ops/ops_report_fmt.c, ops_report_facts.c):
 * the file format (r2 lines with the log facts, r1 lines still read,
 * escapes, malformed lines skipped), and the facts drawn from a small
 * log: only the reporter's own mail, whatever the actor's role, oldest
 * first, control bytes neutralised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops_report.h"
#include "test.h"

static void
test_report_format(void)
{
	struct ops_report r = { 1764930000, "alice@example.test",
		"today", "bob@remote.example", "line one\nline\t%two",
		"2026-12-05T10:00:00.000Z  refused: x\n" };
	struct ops_report_list l;
	struct fbuf b;
	static const char old[] = "r1\t5\ta@b\tw\tx@y\twhat%0Ais it\n"
	    "r2\t6\ta@b\t\t\tno facts field\n"	/* r2 needs six */
	    "r3\t7\ta@b\t\t\tx\tf\n"
	    "r2\t8\ta@b\t\t\tx\tf%00\n"		/* NUL escape */
	    "r2\t9\ta@b\t\t\tlast\tfacts%0Ahere\n";

	test_begin("report format: r2 with facts, r1 still read");
	fbuf_init(&b, 0);
	ops_report_format(&r, &b);
	test_assert(strncmp(b.data, "r2\t1764930000\talice@example.test\t"
	    "today\tbob@remote.example\tline one%0Aline%09%25two\t"
	    "2026-12-05T10:00:00.000Z  refused: x%0A\n", b.len) == 0);
	ops_report_parse(b.data, b.len, &l);
	test_assert(l.n == 1 && strcmp(l.v[0].facts, r.facts) == 0 &&
	    strcmp(l.v[0].what, r.what) == 0);
	ops_report_list_free(&l);
	ops_report_parse(old, sizeof(old) - 1, &l);
	test_assert(l.n == 2);
	test_assert(l.n == 2 && l.v[0].time == 5 &&
	    strcmp(l.v[0].what, "what\nis it") == 0 &&
	    strcmp(l.v[0].facts, "") == 0);
	test_assert(l.n == 2 && l.v[1].time == 9 &&
	    strcmp(l.v[1].what, "last") == 0 &&
	    strcmp(l.v[1].facts, "facts\nhere") == 0);
	ops_report_list_free(&l);
	fbuf_release(&b);
	test_end();
}

#define P "2026-12-05T10:00:00.000Z mx ferry[1]: "
#define Q "2026-12-05T11:00:00.000Z mx ferry[1]: "
#define S1 "1111111111111111 "
#define S2 "2222222222222222 "

static const char test_log[] =
    /* S2 (later): alice logged in, her mail to nobody refused. */
    Q S2 "smtp connected address=198.51.100.7 host=y\n"
    Q S2 "smtp auth user=alice@example.test mechanism=PLAIN\n"
    Q S2 "smtp reject stage=rcpt rcpt=<nobody@example.test> code=550 "
    "dsn=5.1.1 reason=\"User unknown\"\n"
    /* S1: refusals for alice and carol, with a control byte. */
    P S1 "smtp connected address=192.0.2.1 host=x\n"
    P S1 "policy decision stage=rcpt verdict=reject check=rule rule=3 "
    "from=<s@bad.example> rcpt=<alice@example.test> code=550 dsn=5.7.1 "
    "reason=\"no\x01way\"\n"
    P S1 "policy decision stage=rcpt verdict=reject check=dnsbl "
    "from=<s@bad.example> rcpt=<carol@other.test> code=554 dsn=5.7.1 "
    "reason=\"listed\"\n"
    /* Deliveries: alice's deferred, carol's failed. */
    P "aaaaaaaaaaaaaaaa queue deferred rcpt=<alice@example.test> "
    "result=deferred reason=\"disk full\"\n"
    P "bbbbbbbbbbbbbbbb queue failed rcpt=<carol@other.test> "
    "result=failed reason=\"gone\"\n";

static void
test_report_facts(void)
{
	char path[] = "/tmp/ferry-report-XXXXXX";
	struct ops_actor admin = { OPS_ADMIN, "alice@example.test", NULL, 0 };
	struct ops_actor user = { OPS_USER, "alice@example.test", NULL, 0 };
	struct ops_actor carol = { OPS_USER, "carol@other.test", NULL, 0 };
	const struct ops_actor *as[2] = { &admin, &user };
	struct ops_status st;
	struct fbuf b;
	int fd;

	test_begin("report facts: the reporter's own mail only");
	fd = mkstemp(path);
	test_assert(fd >= 0 && write(fd, test_log, sizeof(test_log) - 1) ==
	    (ssize_t)sizeof(test_log) - 1);
	close(fd);
	fbuf_init(&b, 0);
	for (size_t i = 0; i < 2; i++) {
		fbuf_reset(&b);
		test_assert_idx(ops_report_facts(as[i], path, 0, &b, &st) == 0,
		    (int)i);
		test_assert_idx(strcmp(fbuf_str(&b),
		    "2026-12-05T10:00:00.000Z  refused: mail from "
		    "<s@bad.example> to you (at rcpt, check rule): 550 5.7.1 "
		    "no?way\n"
		    "2026-12-05T10:00:00.000Z  delayed: a message to you "
		    "(queue id aaaaaaaaaaaaaaaa): disk full\n"
		    "2026-12-05T11:00:00.000Z  refused: your mail from <> to "
		    "<nobody@example.test> (at rcpt, check smtp): 550 5.1.1 "
		    "User unknown\n") == 0, (int)i);
	}
	fbuf_reset(&b);
	test_assert(ops_report_facts(&carol, path, 0, &b, &st) == 0);
	test_assert(strstr(fbuf_str(&b), "alice") == NULL &&
	    strstr(fbuf_str(&b), "listed") != NULL &&
	    strstr(fbuf_str(&b), "not delivered: a message to you (queue id "
	    "bbbbbbbbbbbbbbbb): gone") != NULL);
	/* Since after everything: nothing. */
	fbuf_reset(&b);
	test_assert(ops_report_facts(&user, path, 1900000000, &b, &st) == 0 &&
	    b.len == 0);
	/* No log: an error, nothing written. */
	fbuf_reset(&b);
	test_assert(ops_report_facts(&user, "", 0, &b, &st) < 0 &&
	    b.len == 0);
	fbuf_release(&b);
	unlink(path);
	test_end();
}

int
main(void)
{
	test_report_format();
	test_report_facts();
	return test_exit();
}
