/* Unit tests for outbound abuse control: the store's counters, holds and
 * suspensions (store_send.c) and the decisions over them (sendlimit.c),
 * on a fresh SQLite file, with the clock given to each call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/sendlimit.h"
#include "store/store.h"
#include "test.h"

#define T0 (1800000000 - 1800000000 % 3600)	/* the start of an hour */

static char test_dir[64];
static char test_db[512];

static struct sendlimit_cfg
t_cfg(void)
{
	struct sendlimit_cfg c = { 0 };

	c.user_msgs = 5;
	c.user_rcpts = 4;
	c.stop_factor = 10;
	c.stop_min = 100;
	c.learn_days = 14;
	c.stop_bounces = 3;
	c.stop_spam = 2;
	return c;
}

static enum sendlimit_verdict
t_msg(struct store *s, const struct sendlimit_cfg *c, const char *a,
    int64_t now, struct sendlimit_result *r)
{
	sendlimit_reserve(s, c, a, STORE_SEND_MSG, now, r);
	return r->v;
}

static void
test_message_limit(struct store *s)
{
	struct sendlimit_cfg c = t_cfg();
	struct sendlimit_result r;

	test_begin("sendlimit: messages per hour, per user");
	for (int i = 0; i < 5; i++)
		test_assert_idx(t_msg(s, &c, "a@example.org", T0 + i, &r) ==
		    SENDLIMIT_OK, i);
	test_assert(t_msg(s, &c, "a@example.org", T0 + 10, &r) ==
	    SENDLIMIT_LIMIT);
	test_assert(r.count == 5 && r.limit == 5);
	test_assert_streq(r.scope, "user");
	test_assert_streq(r.what, "messages per hour");
	/* A refused message is not counted. */
	test_assert(t_msg(s, &c, "a@example.org", T0 + 11, &r) ==
	    SENDLIMIT_LIMIT && r.count == 5);
	/* Another user of the domain is counted apart. */
	test_assert(t_msg(s, &c, "b@example.org", T0 + 12, &r) ==
	    SENDLIMIT_OK);
	/* Half an hour into the next hour, half of the last one counts:
	 * 5 * 1800 / 3600 = 2, so three more fit. */
	for (int i = 0; i < 3; i++)
		test_assert_idx(t_msg(s, &c, "a@example.org", T0 + 5400, &r) ==
		    SENDLIMIT_OK, i);
	test_assert(t_msg(s, &c, "a@example.org", T0 + 5400, &r) ==
	    SENDLIMIT_LIMIT);
	test_end();
}

static void
test_overrides_and_domain(struct store *s)
{
	struct sendlimit_cfg c = t_cfg();
	struct store_send_limits l = { 1, -1 };
	struct sendlimit_result r;
	const char *error;

	test_begin("sendlimit: overrides, domain limit, recipients");
	test_assert(store_send_limits_set(s, "c@Example.NET", &l, &error) ==
	    0);
	test_assert(t_msg(s, &c, "c@example.net", T0, &r) == SENDLIMIT_OK);
	test_assert(t_msg(s, &c, "c@example.net", T0, &r) == SENDLIMIT_LIMIT);
	l.msgs_hour = 0;		/* none */
	test_assert(store_send_limits_set(s, "c@example.net", &l, &error) ==
	    0);
	for (int i = 0; i < 20; i++)
		test_assert_idx(t_msg(s, &c, "c@example.net", T0, &r) ==
		    SENDLIMIT_OK, i);
	/* A domain limit counts every user of the domain. */
	l.msgs_hour = 2;
	test_assert(store_send_limits_set(s, "example.com", &l, &error) == 0);
	test_assert(t_msg(s, &c, "x@example.com", T0, &r) == SENDLIMIT_OK);
	test_assert(t_msg(s, &c, "y@example.com", T0, &r) == SENDLIMIT_OK);
	test_assert(t_msg(s, &c, "z@example.com", T0, &r) == SENDLIMIT_LIMIT);
	test_assert_streq(r.scope, "domain");
	/* Recipients per day: 4, over the last 24 clock hours. */
	for (int i = 0; i < 4; i++) {
		sendlimit_reserve(s, &c, "r@example.org", STORE_SEND_RCPT,
		    T0 + i * 3600, &r);
		test_assert_idx(r.v == SENDLIMIT_OK, i);
	}
	sendlimit_reserve(s, &c, "r@example.org", STORE_SEND_RCPT,
	    T0 + 23 * 3600, &r);
	test_assert(r.v == SENDLIMIT_LIMIT && r.count == 4);
	sendlimit_reserve(s, &c, "r@example.org", STORE_SEND_RCPT,
	    T0 + 24 * 3600, &r);
	test_assert(r.v == SENDLIMIT_OK);	/* the first hour left */
	test_end();
}

static void
test_learning_and_stop(struct store *s)
{
	struct sendlimit_cfg c = t_cfg();
	struct sendlimit_result r;
	struct store_send_view v;
	const char *error;
	int64_t day = 86400;

	test_begin("sendlimit: normal volume is learnt, a burst stops");
	c.user_msgs = 0;
	c.stop_min = 3;
	/* 2 messages in each of 3 hours, days ago: normal 2, stop at 20. */
	for (int h = 0; h < 3; h++)
		for (int i = 0; i < 2; i++)
			test_assert(t_msg(s, &c, "n@example.org", T0 + h * 7200 +
			    i, &r) == SENDLIMIT_OK);
	test_assert(store_send_view(s, "n@example.org", T0 + 3 * day,
	    14 * 24, &v, &error) == 0);
	test_assert(v.user.active_hours == 3 && v.user.msgs_hist == 6);
	test_assert(sendlimit_stop_threshold(&c, &v.user) == 20);
	for (int i = 0; i < 20; i++)
		test_assert_idx(t_msg(s, &c, "n@example.org", T0 + 3 * day, &r)
		    == SENDLIMIT_OK, i);
	test_assert(t_msg(s, &c, "n@example.org", T0 + 3 * day, &r) ==
	    SENDLIMIT_STOPPED && r.held_now);
	test_assert(strstr(r.reason, "sudden volume: 21 messages") != NULL);
	test_assert(t_msg(s, &c, "n@example.org", T0 + 3 * day, &r) ==
	    SENDLIMIT_HELD);
	/* Released: the hour that stopped it is forgiven. */
	test_assert(store_send_hold_del(s, "n@example.org", T0 + 3 * day,
	    &error) == 1);
	test_assert(t_msg(s, &c, "n@example.org", T0 + 3 * day, &r) ==
	    SENDLIMIT_OK);
	/* Beyond the history kept, nothing is learnt: stop at stop_min. */
	test_assert(store_send_view(s, "n@example.org", T0 + 30 * day,
	    14 * 24, &v, &error) == 0);
	test_assert(v.user.active_hours == 0);
	test_assert(sendlimit_stop_threshold(&c, &v.user) == 3);
	c.stop_factor = 0;
	test_assert(sendlimit_stop_threshold(&c, &v.user) == 0);
	test_end();
}

static void
test_bounces_spam_hold_suspend(struct store *s)
{
	struct sendlimit_cfg c = t_cfg();
	struct sendlimit_result r;
	struct store_send_hold h;
	const char *error;

	test_begin("sendlimit: bounces and spam stop; holds; suspension");
	sendlimit_reserve(s, &c, "b@example.org", STORE_SEND_BOUNCE, T0, &r);
	test_assert(r.v == SENDLIMIT_OK);
	sendlimit_reserve(s, &c, "b@example.org", STORE_SEND_BOUNCE, T0, &r);
	test_assert(r.v == SENDLIMIT_OK);
	sendlimit_reserve(s, &c, "b@example.org", STORE_SEND_BOUNCE, T0, &r);
	test_assert(r.v == SENDLIMIT_STOPPED && r.held_now);
	test_assert(store_send_hold_get(s, "b@example.org", &h) == 1);
	test_assert(h.automatic && strstr(h.reason, "3 bounces") != NULL);
	sendlimit_reserve(s, &c, "s@example.org", STORE_SEND_SPAM, T0, &r);
	sendlimit_reserve(s, &c, "s@example.org", STORE_SEND_SPAM, T0, &r);
	test_assert(r.v == SENDLIMIT_STOPPED);
	/* A hold by hand, kept with its reason; a second one changes
	 * nothing. */
	test_assert(store_send_hold_set(s, "m@example.org", T0, false, "why",
	    &error) == 1);
	test_assert(store_send_hold_set(s, "m@example.org", T0, true,
	    "other", &error) == 0);
	test_assert(store_send_hold_get(s, "m@example.org", &h) == 1 &&
	    !h.automatic && strcmp(h.reason, "why") == 0);
	test_assert(t_msg(s, &c, "m@example.org", T0, &r) == SENDLIMIT_HELD);
	sendlimit_reserve(s, &c, "m@example.org", STORE_SEND_RCPT, T0, &r);
	test_assert(r.v == SENDLIMIT_HELD);
	test_assert(store_send_hold_del(s, "m@example.org", T0, &error) == 1);
	test_assert(store_send_hold_del(s, "m@example.org", T0, &error) == 0);
	/* Suspension needs the domain. */
	test_assert(store_domain_suspend(s, "nowhere.test", T0, "", &error) <
	    0 && strcmp(error, "no such domain") == 0);
	test_assert(store_domain_add(s, "susp.test", &error) == 0);
	test_assert(store_domain_suspend(s, "SUSP.test", T0, "x", &error) ==
	    1);
	test_assert(store_domain_suspend(s, "susp.test", T0, "x", &error) ==
	    0);
	test_assert(store_domain_suspended(s, "susp.test", NULL) == 1);
	test_assert(t_msg(s, &c, "u@susp.test", T0, &r) ==
	    SENDLIMIT_SUSPENDED);
	test_assert(store_domain_resume(s, "susp.test", &error) == 1);
	test_assert(store_domain_resume(s, "susp.test", &error) == 0);
	test_assert(t_msg(s, &c, "u@susp.test", T0, &r) == SENDLIMIT_OK);
	/* Bad subjects. */
	test_assert(t_msg(s, &c, "no-at-sign", T0, &r) == SENDLIMIT_ERROR);
	test_assert(t_msg(s, &c, "a@", T0, &r) == SENDLIMIT_ERROR);
	test_end();
}

int
main(void)
{
	struct store *s = NULL;
	const char *error = NULL;
	const char *files[] = { "", "-wal", "-shm", ".gen" };

	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-test-send.XXXXXX");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(test_db, sizeof(test_db), "%s/ferry.db", test_dir);
	/* Or the empty PostgreSQL database $FERRY_TEST_STORE names. */
	if (getenv("FERRY_TEST_STORE") != NULL)
		snprintf(test_db, sizeof(test_db), "%s",
		    getenv("FERRY_TEST_STORE"));
	if (store_open(&s, test_db, &error) < 0) {
		fprintf(stderr, "store_open: %s\n", error);
		return 1;
	}
	test_message_limit(s);
	test_overrides_and_domain(s);
	test_learning_and_stop(s);
	test_bounces_spam_hold_suspend(s);
	store_close(&s);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(test_db, sizeof(test_db), "%s/ferry.db%s", test_dir,
		    files[i]);
		unlink(test_db);
	}
	rmdir(test_dir);
	return test_exit();
}
