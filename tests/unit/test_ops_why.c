/* ops_why (src/ops/ops_why.c): the log reader behind `ferry why` and
 * /why, on a small log written here: matching by recipient, sender,
 * client address and logged-in user, the automatic stops, and the
 * scope of each actor (a postmaster sees only events about an address
 * of its domains, a user only about their own address). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ops/ops_why.h"
#include "test.h"

#define P "2026-12-05T10:00:00.000Z mx ferry[1]: "
#define S1 "1111111111111111 "
#define S2 "2222222222222222 "
#define S3 "3333333333333333 "
#define S4 "4444444444444444 "

static const char test_log[] =
    /* S1: a refusal for alice, one for carol of another domain, and a
     * message accepted for both. */
    P S1 "smtp connected address=192.0.2.1 host=x\n"
    P "debug: " S1 "policy decision stage=mail verdict=accept "
    "from=<s@bad.example>\n"
    P S1 "policy decision stage=rcpt verdict=reject check=rule rule=3 "
    "from=<s@bad.example> rcpt=<alice@example.test> code=550 dsn=5.7.1 "
    "reason=\"Refused by rule=9 policy\"\n"
    P S1 "smtp reject stage=rcpt rcpt=<carol@other.test> code=550 "
    "dsn=5.1.1 reason=\"User unknown\"\n"
    P "debug: " S1 "policy decision stage=mail verdict=accept "
    "from=<f@ok.example>\n"
    P "debug: " S1 "policy decision stage=rcpt verdict=accept "
    "rcpt=<alice@example.test>\n"
    P "debug: " S1 "policy decision stage=rcpt verdict=accept "
    "rcpt=<carol@other.test>\n"
    P S1 "smtp accepted id=aaaaaaaaaaaaaaaa from=<f@ok.example> size=9\n"
    /* S2: alice logged in and sent, then was stopped. */
    P S2 "smtp connected address=198.51.100.7 host=y\n"
    P S2 "smtp auth user=alice@example.test mechanism=PLAIN\n"
    P "debug: " S2 "policy decision stage=mail verdict=accept "
    "from=<alice@example.test>\n"
    P "debug: " S2 "policy decision stage=rcpt verdict=accept "
    "rcpt=<x@remote.example>\n"
    P S2 "smtp accepted id=bbbbbbbbbbbbbbbb from=<alice@example.test>\n"
    P "warning: " S2 "smtp send-stop user=alice@example.test "
    "reason=\"sudden volume\" held_messages=4 notice=cccccccccccccccc\n"
    /* S3: bob logged in, nothing else. */
    P S3 "smtp connected address=198.51.100.8 host=z\n"
    P S3 "smtp auth user=bob@example.test mechanism=PLAIN\n"
    /* S4: a message to alice and carol refused at the end of DATA. */
    P S4 "smtp connected address=192.0.2.9 host=w\n"
    P "debug: " S4 "policy decision stage=mail verdict=accept "
    "from=<spam@bad.example>\n"
    P "debug: " S4 "policy decision stage=rcpt verdict=accept "
    "rcpt=<alice@example.test>\n"
    P "debug: " S4 "policy decision stage=rcpt verdict=accept "
    "rcpt=<carol@other.test>\n"
    P S4 "smtp reject stage=data code=554 id=dddddddddddddddd size=9 "
    "reason=\"5.7.1 spam\"\n"
    /* A connection refused before any session, and the queue. */
    P "- smtp refused address=203.0.113.5 check=rate reason=\"421 busy\"\n"
    P "aaaaaaaaaaaaaaaa queue delivered rcpt=<alice@example.test> "
    "result=delivered mailbox=alice@example.test\n"
    P "aaaaaaaaaaaaaaaa queue delivered rcpt=<carol@other.test> "
    "result=delivered mailbox=carol@other.test\n"
    /* Noise: not a session id, an overlong key, no separator. */
    P "XYZ smtp connected address=1.1.1.1\n"
    P "zzzzzzzzzzzzzzzz smtp connected address=1.1.1.1\n"
    "garbage without the separator\n";

static char test_path[64];

static void
test_actors(struct ops_actor *admin, struct ops_actor *pm,
    struct ops_actor *user)
{
	static const char *const doms[] = { "example.test" };

	memset(admin, 0, sizeof(*admin));
	admin->role = OPS_ADMIN;
	admin->name = "cli";
	memset(pm, 0, sizeof(*pm));
	pm->role = OPS_POSTMASTER;
	pm->name = "postmaster@example.test";
	pm->domains = doms;
	pm->ndomains = 1;
	memset(user, 0, sizeof(*user));
	user->role = OPS_USER;
	user->name = "alice@example.test";
}

/* Reads the log as a with one question; the result's counts. */
static int
test_read(const struct ops_actor *a, const char *ip, const char *from,
    const char *to, const char *user, struct ops_why *w,
    struct ops_status *st)
{
	memset(w, 0, sizeof(*w));
	w->ip = ip;
	w->from = from;
	w->to = to;
	w->user = user;
	return ops_why_read(a, test_path, w, st);
}

static const struct ops_why_session *
test_first(const struct ops_why *w)
{
	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order)
		if (s->matched)
			return s;
	return NULL;
}

static void
test_admin_reads(const struct ops_actor *admin)
{
	struct ops_why w;
	struct ops_status st;
	const struct ops_why_session *s;

	test_begin("ops_why admin: to, ip, user");
	test_assert(test_read(admin, NULL, NULL, "alice@example.test", NULL,
	    &w, &st) == 0);
	s = test_first(&w);
	test_assert(s != NULL && strcmp(s->sid, "1111111111111111") == 0);
	test_assert(s != NULL && s->nev == 3);
	if (s != NULL && s->nev == 3) {
		test_assert(s->ev[0].kind == OPS_WHY_REFUSED);
		test_assert_streq(s->ev[0].check, "rule");
		test_assert_streq(s->ev[0].rule, "3");
		test_assert_streq(s->ev[0].reply,
		    "550 5.7.1 Refused by rule=9 policy");
		test_assert_streq(s->ev[1].check, "smtp");
		test_assert_streq(s->ev[1].rcpt, "carol@other.test");
		test_assert_streq(s->ev[2].rcpts,
		    "alice@example.test, carol@other.test");
	}
	test_assert(w.ndv == 1);
	s = s != NULL ? s->order : NULL;
	while (s != NULL && !s->matched)
		s = s->order;
	test_assert(s != NULL && s->nev == 1 && s->ev[0].rcpts != NULL &&
	    strcmp(s->ev[0].rcpts, "alice@example.test, carol@other.test") ==
	    0);
	ops_why_free(&w);
	test_assert(test_read(admin, "203.0.113.5", NULL, NULL, NULL, &w,
	    &st) == 0);
	s = test_first(&w);
	test_assert(s != NULL && s->nev == 1 &&
	    s->ev[0].kind == OPS_WHY_CONNREFUSED);
	ops_why_free(&w);
	test_assert(test_read(admin, NULL, NULL, NULL, "alice@example.test",
	    &w, &st) == 0);
	s = test_first(&w);
	test_assert(s != NULL && strcmp(s->sid, "2222222222222222") == 0);
	test_assert(ops_why_count(&w) == 2);	/* S2 and the stop */
	test_assert(w.nstops == 1);
	if (w.nstops == 1) {
		test_assert(w.stops[0].by_smtpd);
		test_assert_streq(w.stops[0].reason, "sudden volume");
		test_assert_streq(w.stops[0].held, "4");
		test_assert_streq(w.stops[0].notice, "cccccccccccccccc");
	}
	ops_why_free(&w);
	test_assert(test_read(admin, NULL, NULL, NULL, NULL, &w, &st) < 0 &&
	    st.code == OPS_EUSAGE);
	ops_why_free(&w);
	test_end();
}

static void
test_postmaster_scope(const struct ops_actor *pm)
{
	struct ops_why w;
	struct ops_status st;
	const struct ops_why_session *s;

	test_begin("ops_why postmaster: only its addresses and their events");
	test_assert(test_read(pm, NULL, NULL, "alice@example.test", NULL, &w,
	    &st) == 0);
	s = test_first(&w);
	test_assert(s != NULL && s->nev == 2);
	if (s != NULL && s->nev == 2) {
		test_assert_streq(s->ev[0].rcpt, "alice@example.test");
		test_assert_streq(s->ev[1].rcpts, "alice@example.test");
	}
	test_assert(w.ndv == 1);
	s = s != NULL ? s->order : NULL;
	while (s != NULL && !s->matched)
		s = s->order;
	test_assert(s != NULL && strcmp(s->sid, "4444444444444444") == 0);
	test_assert(s != NULL && s->nev == 1);
	if (s != NULL && s->nev == 1) {
		test_assert(s->ev[0].kind == OPS_WHY_REFUSED);
		test_assert_streq(s->ev[0].stage, "data");
		test_assert_streq(s->ev[0].rcpts, "alice@example.test");
		test_assert_streq(s->ev[0].reply, "554 5.7.1 spam");
	}
	ops_why_free(&w);
	test_assert(test_read(pm, NULL, NULL, "carol@other.test", NULL, &w,
	    &st) < 0 && st.code == OPS_EPERM);
	ops_why_free(&w);
	test_assert(test_read(pm, "192.0.2.1", NULL, NULL, NULL, &w, &st) < 0 &&
	    st.code == OPS_EPERM);
	ops_why_free(&w);
	test_assert(test_read(pm, NULL, "alice@example.test",
	    "alice@example.test", NULL, &w, &st) < 0 && st.code == OPS_EINVAL);
	ops_why_free(&w);
	test_assert(test_read(pm, NULL, NULL, NULL, "bob@example.test", &w,
	    &st) == 0 && ops_why_count(&w) == 1);
	ops_why_free(&w);
	test_end();
}

/* An address logged with a stray bracket ("<a@b>>", "<<a@b>>") is
 * kept as written less one pair ("a@b>", "<a@b>") and is not a@b: it
 * used to be stripped a second time when compared, so a postmaster's
 * view kept the event with a recipient other than the one asked (found
 * by the ten-million fuzzing campaign, fuzz_why). */
static void
test_postmaster_stray_brackets(const struct ops_actor *pm)
{
	static const char log[] =
	    P S1 "smtp connected address=192.0.2.1 host=x\n"
	    P S1 "policy decision stage=rcpt verdict=reject check=rule "
	    "rule=3 from=<s@bad.example> rcpt=<alice@example.test>> "
	    "code=550 dsn=5.7.1 reason=\"no\"\n"
	    P S1 "policy decision stage=rcpt verdict=reject check=rule "
	    "rule=3 from=<<alice@example.test>> rcpt=<<alice@example.test>> "
	    "code=550 dsn=5.7.1 reason=\"no\"\n"
	    P S2 "smtp connected address=192.0.2.2 host=y\n"
	    P S2 "policy decision stage=rcpt verdict=reject check=rule "
	    "rule=3 from=<s@bad.example> rcpt=<ALICE@example.test> "
	    "code=550 dsn=5.7.1 reason=\"no\"\n";
	struct ops_why w;
	struct ops_status st;
	const struct ops_why_session *s;
	FILE *f;

	test_begin("ops_why postmaster: a stray bracket is another address");
	f = fmemopen((void *)log, sizeof(log) - 1, "r");
	test_assert(f != NULL);
	if (f == NULL)
		return;
	memset(&w, 0, sizeof(w));
	w.to = "alice@example.test";
	test_assert(ops_why_read_stream(pm, f, &w, &st) == 0);
	fclose(f);
	s = test_first(&w);
	test_assert(s != NULL && strcmp(s->sid, "2222222222222222") == 0);
	test_assert(s != NULL && s->nev == 1 &&
	    strcmp(s->ev[0].rcpt, "ALICE@example.test") == 0);
	for (s = w.first; s != NULL; s = s->order)
		for (size_t i = 0; i < s->nev; i++)
			test_assert_idx(strcasecmp(s->ev[i].rcpt,
			    "alice@example.test") == 0, i);
	ops_why_free(&w);
	test_end();
}

static void
test_user_scope(const struct ops_actor *user)
{
	static const char *const bad[] = { "alice", "@example.test",
		"alice@", "a b@example.test", "<alice@example.test>",
		"\"x\"@example.test" };
	struct ops_why w;
	struct ops_status st;

	test_begin("ops_why user: only their own address");
	test_assert(test_read(user, NULL, NULL, "alice@example.test", NULL, &w,
	    &st) == 0 && ops_why_count(&w) == 3);	/* S1, S4, delivery */
	ops_why_free(&w);
	test_assert(test_read(user, NULL, NULL, NULL, "alice@example.test",
	    &w, &st) == 0 && w.nstops == 1);
	ops_why_free(&w);
	test_assert(test_read(user, NULL, NULL, "bob@example.test", NULL, &w,
	    &st) < 0 && st.code == OPS_EPERM);
	ops_why_free(&w);
	test_assert(test_read(user, NULL, NULL, NULL, "bob@example.test", &w,
	    &st) < 0 && st.code == OPS_EPERM);
	ops_why_free(&w);
	test_assert(test_read(user, "198.51.100.7", NULL, NULL, NULL, &w,
	    &st) < 0 && st.code == OPS_EPERM);
	ops_why_free(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_assert_idx(test_read(user, NULL, NULL, bad[i], NULL, &w,
		    &st) < 0 && st.code == OPS_EINVAL, i);
		ops_why_free(&w);
	}
	test_end();
}

int
main(void)
{
	struct ops_actor admin, pm, user;
	struct ops_why w;
	struct ops_status st;
	FILE *f;
	int fd;

	snprintf(test_path, sizeof(test_path), "/tmp/test_ops_why.XXXXXX");
	if ((fd = mkstemp(test_path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		return 1;
	}
	fputs(test_log, f);
	fclose(f);
	test_actors(&admin, &pm, &user);
	test_admin_reads(&admin);
	test_postmaster_scope(&pm);
	test_postmaster_stray_brackets(&pm);
	test_user_scope(&user);
	test_begin("ops_why without a log");
	memset(&w, 0, sizeof(w));
	w.to = "alice@example.test";
	test_assert(ops_why_read(&admin, "", &w, &st) < 0 &&
	    st.code == OPS_EINVAL);
	test_assert(ops_why_read(&admin, "/nonexistent/ferry.log", &w,
	    &st) < 0 && st.code == OPS_EFAIL);
	ops_why_free(&w);
	test_end();
	unlink(test_path);
	return test_exit();
}
