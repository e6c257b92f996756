/* Unit tests for vacation replies: the settings checks (dates, subject,
 * body: src/ops/ops_vacation_fmt.c), the store's settings and "once per
 * sender per period" claims, and forwarding on the alias machinery
 * (src/ops/ops_forward.c) with its actor checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "ops/ops_forward.h"
#include "ops/ops_vacation.h"
#include "queue/vacation.h"
#include "store/resolve.h"
#include "store/store.h"
#include "test.h"

static const struct {
	const char *in;
	int end;
	long long want;		/* -1: refused */
} date_cases[] = {
	{ "1970-01-01", 0, 0 },
	{ "1970-01-01", 1, 86399 },
	{ "2026-12-05", 0, 1796428800 },
	{ "2026-12-05T10:40", 0, 1796467200 },
	{ "2026-12-05 10:40:30Z", 1, 1796467230 },
	{ "2024-02-29", 0, 1709164800 },
	{ "2025-02-29", 0, -1 },
	{ "2100-02-29", 0, -1 },
	{ "2000-02-29", 0, 951782400 },
	{ "2026-13-01", 0, -1 },
	{ "2026-00-10", 0, -1 },
	{ "2026-04-31", 0, -1 },
	{ "1969-12-31", 0, -1 },
	{ "2026-1-5", 0, -1 },
	{ "2026-12-05T24:00", 0, -1 },
	{ "2026-12-05T10:60", 0, -1 },
	{ "2026-12-05T10", 0, -1 },
	{ "2026-12-05x", 0, -1 },
	{ "2026-12-05T10:40:30+01:00", 0, -1 },
	{ "", 0, -1 },
	{ "tomorrow", 0, -1 },
};

static void
test_dates(void)
{
	char buf[32];
	int64_t t;
	const char *error;

	test_begin("vacation dates");
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]);
	    i++) {
		int r = ops_vacation_parse_date(date_cases[i].in,
		    date_cases[i].end, &t, &error);

		if (date_cases[i].want < 0)
			test_assert_idx(r == -1, i);
		else
			test_assert_idx(r == 0 && t == date_cases[i].want, i);
	}
	ops_vacation_format_date(1796467230, buf, sizeof(buf));
	test_assert_streq(buf, "2026-12-05 10:40:30");
	ops_vacation_format_date(951782400, buf, sizeof(buf));
	test_assert_streq(buf, "2000-02-29 00:00:00");
	/* Every day of four centuries formats back to what parses it. */
	for (int64_t d = 0; d < 146097 * 1; d += 7) {
		char day[16];

		ops_vacation_format_date(d * 86400, buf, sizeof(buf));
		snprintf(day, sizeof(day), "%.10s", buf);
		test_assert(ops_vacation_parse_date(day, false, &t,
		    &error) == 0 && t == d * 86400);
	}
	test_end();
}

static void
test_texts(void)
{
	struct fbuf b;
	const char *error;
	char big[OPS_VACATION_SUBJECT_MAX + 2];

	test_begin("vacation subject and body checks");
	test_assert(ops_vacation_check_subject("Away", 4, &error) == 0);
	test_assert(ops_vacation_check_subject("Gr\xc3\xbc\xc3\x9f" "e", 7,
	    &error) == 0);
	test_assert(ops_vacation_check_subject("a\r\nBcc: x", 9,
	    &error) == -1);
	test_assert(ops_vacation_check_subject("a\tb", 3, &error) == -1);
	test_assert(ops_vacation_check_subject("\xc0\xaf", 2, &error) == -1);
	test_assert(ops_vacation_check_subject("\xed\xa0\x80", 3,
	    &error) == -1);
	test_assert(ops_vacation_check_subject("\xe2\x82", 2, &error) == -1);
	memset(big, 'x', sizeof(big));
	test_assert(ops_vacation_check_subject(big,
	    OPS_VACATION_SUBJECT_MAX, &error) == 0);
	test_assert(ops_vacation_check_subject(big,
	    OPS_VACATION_SUBJECT_MAX + 1, &error) == -1);
	fbuf_init(&b, 0);
	test_assert(ops_vacation_norm_body("a\r\nb\n\tc", 7, &b,
	    &error) == 0);
	test_assert_streq(fbuf_str(&b), "a\nb\n\tc");
	fbuf_reset(&b);
	test_assert(ops_vacation_norm_body("a\0b", 3, &b, &error) == -1);
	test_assert_streq(error, "contains a NUL byte");
	test_assert(ops_vacation_norm_body("a\rb", 3, &b, &error) == -1);
	test_assert(ops_vacation_norm_body("a\x1b[2J", 5, &b, &error) == -1);
	test_assert(ops_vacation_norm_body("\xff", 1, &b, &error) == -1);
	fbuf_release(&b);
	test_end();
}

static void
test_store_vacation(struct store *s)
{
	struct store_vacation v = { .enabled = true, .subject = "S",
		.body = "B", .days = 7 }, got;
	struct store_user u;
	const char *error;

	test_begin("store vacation settings and claims");
	test_assert(store_domain_add(s, "example.org", &error) == 0);
	test_assert(store_user_add(s, "amy@example.org", "h", 0, &error) == 0);
	test_assert(store_user_get(s, "amy@example.org", &u) == 1 &&
	    !u.vacation);
	test_assert(store_vacation_get(s, "amy@example.org", &got) == 0);
	test_assert(store_vacation_set(s, "nobody@example.org", &v,
	    &error) == -1);
	test_assert_streq(error, "no such user");
	test_assert(store_vacation_set(s, "amy@example.org", &v, &error) == 0);
	test_assert(store_user_get(s, "amy@example.org", &u) == 1 &&
	    u.vacation);
	test_assert(store_vacation_get(s, "amy@example.org", &got) == 1);
	test_assert(got.enabled && got.days == 7);
	test_assert_streq(got.subject, "S");
	test_assert_streq(got.body, "B");
	store_vacation_free(&got);
	/* Once per sender per period: a second claim within it fails, one
	 * after it succeeds, an unclaimed answer can be claimed again. */
	test_assert(store_vacation_claim(s, "amy@example.org", "x@r.test",
	    1000, 100) == 1);
	test_assert(store_vacation_claim(s, "amy@example.org", "x@r.test",
	    1050, 100) == 0);
	test_assert(store_vacation_claim(s, "amy@example.org", "y@r.test",
	    1050, 100) == 1);
	test_assert(store_vacation_claim(s, "amy@example.org", "x@r.test",
	    1100, 100) == 1);
	test_assert(store_vacation_unclaim(s, "amy@example.org", "x@r.test",
	    1100) == 0);
	test_assert(store_vacation_claim(s, "amy@example.org", "x@r.test",
	    1101, 100) == 1);
	/* Saving the settings again forgets the answers. */
	test_assert(store_vacation_set(s, "amy@example.org", &v, &error) == 0);
	test_assert(store_vacation_claim(s, "amy@example.org", "x@r.test",
	    1102, 100) == 1);
	v.enabled = false;
	test_assert(store_vacation_set(s, "amy@example.org", &v, &error) == 0);
	test_assert(store_user_get(s, "amy@example.org", &u) == 1 &&
	    !u.vacation);
	/* The settings go with the user. */
	test_assert(store_user_del(s, "amy@example.org", &error) == 0);
	test_assert(store_vacation_get(s, "amy@example.org", &got) == 0);
	test_assert(store_user_add(s, "amy@example.org", "h", 0, &error) == 0);
	test_assert(store_vacation_get(s, "amy@example.org", &got) == 0);
	test_end();
}

static void
count_ref(const char *alias, void *ctx)
{
	(void)alias;
	(*(int *)ctx)++;
}

static void
test_forward(struct store *s)
{
	const char *other[] = { "other.test" };
	struct ops_actor admin, user, pm, stranger;
	struct ops_ctx c = { .store = s, .ropts = { false, "+" } };
	struct ops_forward f;
	struct ops_status st;
	char *one[] = { "far@remote.test, near@example.org" };
	char *self[] = { "amy@example.org" };
	char *loop[] = { "amy@example.org" };
	const char *error;
	int n = 0;

	test_begin("forwarding on the alias machinery");
	ops_actor_cli(&admin);
	memset(&user, 0, sizeof(user));
	user.role = OPS_USER;
	user.name = "amy@example.org";
	stranger = user;
	stranger.name = "near@example.org";
	memset(&pm, 0, sizeof(pm));
	pm.role = OPS_POSTMASTER;
	pm.name = "pm@other.test";
	pm.domains = other;
	pm.ndomains = 1;
	test_assert(store_user_add(s, "near@example.org", "h", 0,
	    &error) == 0);
	c.actor = &user;
	test_assert(ops_forward_set(&c, "amy@example.org", one, 1, true,
	    &st) == 0);
	test_assert(ops_forward_get(&c, "amy@example.org", &f, &st) == 0);
	test_assert(f.ntargets == 2 && f.keep);
	test_assert_streq(f.targets[0], "far@remote.test");
	ops_forward_free(&f);
	test_assert(store_alias_refs(s, "amy@example.org", count_ref, &n,
	    &error) == 0 && n == 1);
	/* The user itself as a target is "keep". */
	test_assert(ops_forward_set(&c, "amy@example.org", self, 1, false,
	    &st) == -1 && st.code == OPS_EINVAL);
	/* Others may not touch it. */
	c.actor = &stranger;
	test_assert(ops_forward_get(&c, "amy@example.org", &f, &st) == -1 &&
	    st.code == OPS_EPERM);
	c.actor = &pm;
	test_assert(ops_forward_clear(&c, "amy@example.org", &st) == -1 &&
	    st.code == OPS_EPERM);
	/* A loop between two users delivers to a mailbox: allowed, as for
	 * aliases. */
	c.actor = &admin;
	test_assert(ops_forward_set(&c, "near@example.org", loop, 1, false,
	    &st) == 0);
	test_assert(ops_forward_clear(&c, "amy@example.org", &st) == 0);
	test_assert(ops_forward_clear(&c, "amy@example.org", &st) == 0);
	test_assert(ops_forward_get(&c, "amy@example.org", &f, &st) == 0 &&
	    f.ntargets == 0 && !f.keep);
	ops_forward_free(&f);
	test_end();
}

static const struct {
	const char *sender, *hdr;
	enum vacation_verdict want;
} check_cases[] = {
	{ "p@r.test", "To: <amy@example.org>\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "To: Amy <AMY@Example.ORG>\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "To: x@r.test\r\nCc: a@r.test,\r\n amy+work@example.org"
	    "\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "To: list@example.org\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "Resent-To: amy@example.org\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "To: x@r.test\r\n\r\n", VACATION_NOT_ADDRESSED },
	{ "p@r.test", "To: \"amy@example.org\" <x@r.test>\r\n\r\n",
	    VACATION_NOT_ADDRESSED },
	{ "p@r.test", "Subject: amy@example.org\r\n\r\n",
	    VACATION_NOT_ADDRESSED },
	{ "p@r.test", "\r\nTo: amy@example.org\r\n", VACATION_NOT_ADDRESSED },
	{ "", "To: amy@example.org\r\n\r\n", VACATION_NULL_SENDER },
	{ "amy@example.org", "To: amy@example.org\r\n\r\n", VACATION_SELF },
	{ "MAILER-DAEMON@r.test", "To: amy@example.org\r\n\r\n",
	    VACATION_ROBOT_SENDER },
	{ "owner-list@r.test", "To: amy@example.org\r\n\r\n",
	    VACATION_ROBOT_SENDER },
	{ "list-request@r.test", "To: amy@example.org\r\n\r\n",
	    VACATION_ROBOT_SENDER },
	{ "no-reply@r.test", "To: amy@example.org\r\n\r\n",
	    VACATION_ROBOT_SENDER },
	{ "requester@r.test", "To: amy@example.org\r\n\r\n",
	    VACATION_ANSWER },
	{ "p@r.test", "Auto-Submitted: auto-replied\r\nTo: amy@example.org"
	    "\r\n\r\n", VACATION_AUTO },
	{ "p@r.test", "Auto-Submitted: No (human)\r\nTo: amy@example.org"
	    "\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "Auto-Submitted: nope\r\nTo: amy@example.org"
	    "\r\n\r\n", VACATION_AUTO },
	{ "p@r.test", "Precedence: BULK\r\nTo: amy@example.org\r\n\r\n",
	    VACATION_PRECEDENCE },
	{ "p@r.test", "Precedence: junk\r\nTo: amy@example.org\r\n\r\n",
	    VACATION_PRECEDENCE },
	{ "p@r.test", "Precedence: first-class\r\nTo: amy@example.org"
	    "\r\n\r\n", VACATION_ANSWER },
	{ "p@r.test", "To: amy@example.org\r\nList-Id: <l.r.test>\r\n\r\n",
	    VACATION_LIST },
	{ "p@r.test", "To: amy@example.org\r\nlist-unsubscribe: <x>\r\n\r\n",
	    VACATION_LIST },
	{ "p@r.test", "To: amy@example.org\r\nX-Auto-Response-Suppress: DR, "
	    "OOF\r\n\r\n", VACATION_SUPPRESSED },
};

static void
test_check(void)
{
	const char *addrs[] = { "amy@example.org", "list@example.org" };
	struct vacation_in in = { .addrs = addrs, .naddrs = 2,
		.delimiter = "+" };
	struct vacation_orig o;

	test_begin("vacation: when to answer");
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]);
	    i++) {
		in.sender = check_cases[i].sender;
		in.hdr = check_cases[i].hdr;
		in.hdr_len = strlen(in.hdr);
		test_assert_idx(vacation_check(&in, &o) ==
		    check_cases[i].want, i);
		vacation_orig_free(&o);
	}
	test_assert(vacation_in_dates(0, 0, 5));
	test_assert(vacation_in_dates(5, 10, 5) && vacation_in_dates(5, 10,
	    10));
	test_assert(!vacation_in_dates(5, 10, 4) && !vacation_in_dates(5, 10,
	    11));
	test_assert(!vacation_in_dates(0, 10, 11) && vacation_in_dates(5, 0,
	    1000));
	test_end();
}

static void
test_compose(void)
{
	const char *addrs[] = { "amy@example.org" };
	const char *hdr = "To: amy@example.org\r\nSubject: =?ISO-8859-1?Q?"
	    "Gr=FC=DFe?= and\r\n more\r\nMessage-ID: <m1@r.test>\r\n"
	    "References: <m0@r.test> bad <m-1@r.test>\r\n\r\n";
	struct vacation_in in = { .sender = "p@r.test", .addrs = addrs,
		.naddrs = 1, .hdr = hdr, .hdr_len = strlen(hdr) };
	struct vacation_reply r = { .from = "amy@example.org",
		.to = "p@r.test", .subject = "", .body = "Away\nback soon",
		.msgid = "<v1@mx.example.org>", .now = 1796467230 };
	struct vacation_orig o;
	struct fbuf m;

	test_begin("vacation: the reply");
	test_assert(vacation_check(&in, &o) == VACATION_ANSWER);
	test_assert_streq(fbuf_str(&o.subject),
	    "Gr\xc3\xbc\xc3\x9f" "e and more");
	test_assert_streq(fbuf_str(&o.message_id), "<m1@r.test>");
	test_assert_streq(fbuf_str(&o.references), "<m0@r.test> <m-1@r.test>");
	fbuf_init(&m, 0);
	vacation_compose(&r, &o, &m);
	test_assert(strstr(fbuf_str(&m), "Date: Sat, 05 Dec 2026 10:40:30 "
	    "+0000\r\nFrom: <amy@example.org>\r\nTo: <p@r.test>\r\n"
	    "Subject: =?UTF-8?B?QXV0bzogR3LDvMOfZSBhbmQgbW9yZQ==?=\r\n"
	    "Message-ID: <v1@mx.example.org>\r\n"
	    "In-Reply-To: <m1@r.test>\r\nReferences: <m0@r.test>\r\n"
	    " <m-1@r.test>\r\n <m1@r.test>\r\n"
	    "Auto-Submitted: auto-replied\r\n") == m.data);
	test_assert(strstr(fbuf_str(&m), "Content-Transfer-Encoding: 7bit"
	    "\r\n\r\nAway\r\nback soon\r\n") != NULL);
	/* A plain subject of the settings stays as it is. */
	r.subject = "Out until Monday";
	fbuf_reset(&m);
	vacation_compose(&r, &o, &m);
	test_assert(strstr(fbuf_str(&m), "\r\nSubject: Out until Monday\r\n")
	    != NULL);
	fbuf_release(&m);
	vacation_orig_free(&o);
	test_end();
}

int
main(void)
{
	char dir[64], db[512], path[600];
	struct store *s = NULL;
	const char *error = NULL;

	test_dates();
	test_texts();
	test_check();
	test_compose();
	snprintf(dir, sizeof(dir), "/tmp/ferry-test-vacation.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/ferry.db", dir);
	/* Or the empty PostgreSQL database $FERRY_TEST_STORE names. */
	if (getenv("FERRY_TEST_STORE") != NULL)
		snprintf(db, sizeof(db), "%s", getenv("FERRY_TEST_STORE"));
	if (store_open(&s, db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_store_vacation(s);
	test_forward(s);
	store_close(&s);
	for (size_t i = 0; i < 4; i++) {
		const char *sfx[] = { "", "-wal", "-shm", ".gen" };

		snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		unlink(path);
	}
	rmdir(dir);
	return test_exit();
}
