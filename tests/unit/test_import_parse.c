/* Unit tests for the vpopmail import's parsers (src/ops/ops_import_parse.c),
 * the kept POP3 UIDL list (src/mailbox/legacy_uidl.c) and
 * password_usable() on the hashes a vpasswd holds: good and hostile
 * lines, quotas, .qmail lines and names, Courier and Dovecot UID lists,
 * and every prefix of each input (a cut file must never crash). */
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "mailbox/legacy_uidl.h"
#include "ops/ops_import_parse.h"
#include "test.h"

static void
test_vpw_good(void)
{
	struct ops_vpw e;
	const char *error = NULL;
	const char *line = "Alice:$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1:1:10:"
	    "Alice A.:/home/vpopmail/domains/example.org/alice:10485760S:"
	    "clear:with:colons\r";

	test_begin("vpasswd good line");
	test_assert(ops_vpw_parse(line, strlen(line), &e, &error) == 0);
	test_assert_streq(e.name, "Alice");
	test_assert_streq(e.hash, "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1");
	test_assert(e.uid == 1 && e.flags == 10);
	test_assert_streq(e.gecos, "Alice A.");
	test_assert_streq(e.dir, "/home/vpopmail/domains/example.org/alice");
	test_assert_streq(e.quota, "10485760S");
	test_assert_streq(e.clear, "clear:with:colons");
	line = "bob:x:1:0::/d/bob:NOQUOTA";
	test_assert(ops_vpw_parse(line, strlen(line), &e, &error) == 0);
	test_assert_streq(e.clear, "");
	test_assert_streq(e.gecos, "");
	test_end();
}

static void
test_vpw_bad(void)
{
	static const char *const bad[] = {
		"", "alice", "alice:x:1:0:A:/d", ":x:1:0:A:/d:NOQUOTA",
		".x:x:1:0:A:/d:NOQUOTA", "a/b:x:1:0:A:/d:NOQUOTA",
		"a@b:x:1:0:A:/d:NOQUOTA", "a:x:one:0:A:/d:NOQUOTA",
		"a:x:1:-1:A:/d:NOQUOTA", "a:x:1:0:A\t:/d:NOQUOTA",
		"a:x:1:99999999999:A:/d:NOQUOTA", "a b:x:1:0:A:/d:NOQUOTA",
	};
	struct ops_vpw e;
	const char *error;
	char big[OPS_VPW_LINE_MAX + 100];

	test_begin("vpasswd bad lines");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		test_assert_idx(ops_vpw_parse(bad[i], strlen(bad[i]), &e,
		    &error) < 0 && error != NULL, i);
	}
	memset(big, 'a', sizeof(big));
	test_assert(ops_vpw_parse(big, sizeof(big), &e, &error) < 0);
	test_end();
}

static void
test_vpw_quota(void)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t bytes, count;
	} cases[] = {
		{ "NOQUOTA", 0, 0, 0 }, { "noquota", 0, 0, 0 }, { "", 0, 0, 0 },
		{ "10485760S", 0, 10485760, 0 }, { "5000", 0, 5000, 0 },
		{ "1048576S,100C", 0, 1048576, 100 }, { "100C", 0, 0, 100 },
		{ "5s,7c", 0, 5, 7 },
		{ "S", -1, 0, 0 }, { "10M", -1, 0, 0 }, { "1,2,3", -1, 0, 0 },
		{ "-5", -1, 0, 0 }, { "99999999999999999999999S", -1, 0, 0 },
		{ "5S,", -1, 0, 0 }, { " 5", -1, 0, 0 },
	};
	uint64_t b, c;
	const char *error;

	test_begin("vpasswd quota field");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = ops_vpw_quota(cases[i].in, &b, &c, &error);

		test_assert_idx(r == cases[i].ret, i);
		if (r == 0)
			test_assert_idx(b == cases[i].bytes &&
			    c == cases[i].count, i);
	}
	test_end();
}

static void
test_dotqmail(void)
{
	const char *text = "# comment\n\n&a@example.org\nb@example.net  \n"
	    "./alice/Maildir/\n/var/mail/x\n| /usr/bin/ezmlm-send ~/l\n"
	    "| /home/vpopmail/bin/vdelivermail '' bounce-no-mailbox\n"
	    "|vdelivermail \"\" postmaster@example.org\n";
	struct ops_dotqmail q;
	const char *error;

	test_begin("dotqmail lines");
	test_assert(ops_dotqmail_parse(text, strlen(text), &q, &error) == 0);
	test_assert(q.n == 7);
	if (q.n == 7) {
		test_assert(q.v[0].kind == OPS_DQ_FORWARD && q.v[0].line == 3);
		test_assert_streq(q.v[0].arg, "a@example.org");
		test_assert(q.v[1].kind == OPS_DQ_FORWARD);
		test_assert_streq(q.v[1].arg, "b@example.net");
		test_assert(q.v[2].kind == OPS_DQ_MAILDIR);
		test_assert(q.v[3].kind == OPS_DQ_MBOX);
		test_assert(q.v[4].kind == OPS_DQ_PROGRAM);
		test_assert(q.v[5].kind == OPS_DQ_VDELIVER);
		test_assert_streq(q.v[5].arg, "bounce-no-mailbox");
		test_assert(q.v[6].kind == OPS_DQ_VDELIVER);
		test_assert_streq(q.v[6].arg, "postmaster@example.org");
	}
	ops_dotqmail_free(&q);
	test_assert(ops_dotqmail_parse("a\0b\n", 4, &q, &error) < 0);
	test_assert(ops_dotqmail_parse("|\n", 2, &q, &error) < 0);
	test_assert(ops_dotqmail_parse("&\n", 2, &q, &error) < 0);
	test_assert(ops_dotqmail_parse("a\x01\n", 3, &q, &error) < 0);
	test_assert(q.n == 0 && q.v == NULL);
	/* every prefix parses or fails cleanly */
	for (size_t n = 0; n <= strlen(text); n++) {
		if (ops_dotqmail_parse(text, n, &q, &error) == 0)
			ops_dotqmail_free(&q);
	}
	test_end();
}

static void
test_dotqmail_name(void)
{
	char dst[256];

	test_begin("dotqmail names");
	test_assert(ops_dotqmail_name(".qmail-info", dst, sizeof(dst)) ==
	    OPS_DQN_LOCAL);
	test_assert_streq(dst, "info");
	test_assert(ops_dotqmail_name(".qmail-First:Last", dst,
	    sizeof(dst)) == OPS_DQN_LOCAL);
	test_assert_streq(dst, "first.last");
	test_assert(ops_dotqmail_name(".qmail-default", dst, sizeof(dst)) ==
	    OPS_DQN_DEFAULT);
	test_assert(ops_dotqmail_name(".qmail-list-default", dst,
	    sizeof(dst)) == OPS_DQN_WILDCARD);
	test_assert_streq(dst, "list");
	test_assert(ops_dotqmail_name(".qmail", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name(".qmail-", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name(".qmail-a/b", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name(".qmail-a\nb", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name(".qmail-:x", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name(".qmail-a::b", dst, sizeof(dst)) < 0);
	test_assert(ops_dotqmail_name("vpasswd", dst, sizeof(dst)) < 0);
	test_end();
}

static void
test_msgname(void)
{
	test_begin("message file names");
	test_assert(ops_import_msgname_ok("1700000000.1.host,S=12:2,S"));
	test_assert(ops_import_msgname_ok("1700000000.1.host"));
	test_assert(!ops_import_msgname_ok(""));
	test_assert(!ops_import_msgname_ok(".hidden"));
	test_assert(!ops_import_msgname_ok("a b"));
	test_assert(!ops_import_msgname_ok("a\nb"));
	test_assert(!ops_import_msgname_ok("a:b:c"));
	test_assert(!ops_import_msgname_ok(":2,S"));
	test_assert(!ops_import_msgname_ok("caf\xc3\xa9"));
	test_end();
}

static void
test_uidmap(void)
{
	static const char courier1[] =
	    "1 1234567 40\n17 1700000300.1.h\n23 1700000301.2.h:2,S\n";
	static const char courier2[] = "2 99 10\n1700000300.1.h 3\n";
	static const char dovecot3[] =
	    "3 V7654321 N100 Gabcdef\n42 W130 :1600000000.3.h\n"
	    "43 :../evil\n0 :zero\n100 :toohigh\n44 :1600000000.3.h\n";
	struct ops_uidmap m;
	const char *error;

	test_begin("courier and dovecot uid lists");
	test_assert(ops_uidmap_parse(courier1, strlen(courier1), &m,
	    &error) == 0);
	test_assert(m.uidvalidity == 1234567 && m.next_uid == 40);
	test_assert(ops_uidmap_find(&m, "1700000300.1.h", 14) == 17);
	test_assert(ops_uidmap_find(&m, "1700000301.2.h", 14) == 23);
	test_assert(ops_uidmap_find(&m, "1700000301.2", 12) == 0);
	ops_uidmap_free(&m);
	test_assert(ops_uidmap_parse(courier2, strlen(courier2), &m,
	    &error) == 0);
	test_assert(ops_uidmap_find(&m, "1700000300.1.h", 14) == 3);
	ops_uidmap_free(&m);
	test_assert(ops_uidmap_parse(dovecot3, strlen(dovecot3), &m,
	    &error) == 0);
	test_assert(m.uidvalidity == 7654321 && m.next_uid == 100);
	/* the name listed twice is dropped, as are the bad lines */
	test_assert(m.n == 0);
	ops_uidmap_free(&m);
	test_assert(ops_uidmap_parse("", 0, &m, &error) < 0);
	test_assert(ops_uidmap_parse("4 1 2\n", 6, &m, &error) < 0);
	test_assert(ops_uidmap_parse("1 0 5\n", 6, &m, &error) < 0);
	test_assert(ops_uidmap_parse("3 V5\n", 5, &m, &error) < 0);
	for (size_t n = 0; n <= strlen(dovecot3); n++)
		if (ops_uidmap_parse(dovecot3, n, &m, &error) == 0)
			ops_uidmap_free(&m);
	test_end();
}

static void
test_legacy_uidl(void)
{
	static const char text[] = "ferry-pop3-uidl 1\nb.2.h\na.1.h\nb.2.h\n";
	struct legacy_uidl set;

	test_begin("kept pop3 uidl list");
	test_assert(legacy_uidl_parse(text, strlen(text), &set) == 0);
	test_assert(set.n == 2);
	test_assert(legacy_uidl_has(&set, "a.1.h", 5));
	test_assert(legacy_uidl_has(&set, "b.2.h:2,S", 5));
	test_assert(!legacy_uidl_has(&set, "a.1", 3));
	legacy_uidl_add(&set, "0.0.h", 5);
	test_assert(set.n == 3 && strcmp(set.v[0], "0.0.h") == 0);
	legacy_uidl_free(&set);
	test_assert(legacy_uidl_parse("ferry-pop3-uidl 1\na b\n", 21,
	    &set) < 0);
	test_assert(legacy_uidl_parse("ferry-pop3-uidl 1\nab", 20, &set) < 0);
	test_assert(legacy_uidl_parse("nope\n", 5, &set) < 0);
	test_assert(!legacy_uidl_ok("x:2,S", 5));
	test_assert(!legacy_uidl_ok("", 0));
	test_assert(legacy_uidl_ok("1700000000.1.host", 17));
	test_end();
}

static void
test_password_usable(void)
{
	test_begin("crypt(3) hashes from vpasswd");
	/* made with openssl passwd -1 / -6 and DES crypt, password "secret" */
	test_assert(password_usable("$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"));
	test_assert(password_verify("secret",
	    "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"));
	test_assert(password_usable("abNANd1rDfiNc"));
	test_assert(password_verify("secret", "abNANd1rDfiNc"));
	test_assert(!password_verify("secreT", "abNANd1rDfiNc"));
	test_assert(password_usable("$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5"
	    "Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG."));
	test_assert(!password_usable(""));
	test_assert(!password_usable("!"));
	test_assert(!password_usable("$9$nonsense"));
	test_assert(!password_usable("$1$abcdefgh$short"));
	test_end();
}

int
main(void)
{
	test_vpw_good();
	test_vpw_bad();
	test_vpw_quota();
	test_dotqmail();
	test_dotqmail_name();
	test_msgname();
	test_uidmap();
	test_legacy_uidl();
	test_password_usable();
	return test_exit();
}
