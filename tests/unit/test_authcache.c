/* Unit tests of the verified-credentials cache (src/auth/authcache.c):
 * only the exact user, stored hash and password that were stored hit,
 * entries expire after the ttl, and ttl 0 turns it off and forgets. */
#include <stdio.h>
#include <string.h>

#include "auth/authcache.h"
#include "test.h"

#define H1 "$y$j9T$salt$hash-one"
#define H2 "$y$j9T$salt$hash-two"

static void
test_hit_and_miss(void)
{
	time_t t = 1000000;

	test_begin("authcache: only what was stored hits");
	authcache_configure(3600);
	test_assert(!authcache_check("a@x.test", H1, "pw", t));
	authcache_store("a@x.test", H1, "pw", t);
	test_assert(authcache_check("a@x.test", H1, "pw", t + 1));
	test_assert(!authcache_check("a@x.test", H1, "pW", t + 1));
	test_assert(!authcache_check("a@x.test", H1, "pw ", t + 1));
	test_assert(!authcache_check("a@x.test", H1, "", t + 1));
	/* The password changed: the stored hash is another one. */
	test_assert(!authcache_check("a@x.test", H2, "pw", t + 1));
	test_assert(!authcache_check("b@x.test", H1, "pw", t + 1));
	/* The separator keeps "user|hash|password" from sliding. */
	test_assert(!authcache_check("a@x.tes", "t" H1, "pw", t + 1));
	test_end();
}

static void
test_expiry(void)
{
	time_t t = 2000000;

	test_begin("authcache: entries expire after the ttl, hits do not renew");
	authcache_configure(60);
	authcache_store("e@x.test", H1, "secret", t);
	test_assert(authcache_check("e@x.test", H1, "secret", t + 59));
	test_assert(!authcache_check("e@x.test", H1, "secret", t + 60));
	test_assert(!authcache_check("e@x.test", H1, "secret", t + 61));
	test_end();
}

static void
test_off(void)
{
	time_t t = 3000000;

	test_begin("authcache: ttl 0 is off and forgets");
	authcache_configure(3600);
	authcache_store("o@x.test", H1, "pw", t);
	test_assert(authcache_check("o@x.test", H1, "pw", t));
	authcache_configure(0);
	test_assert(!authcache_check("o@x.test", H1, "pw", t));
	authcache_store("o@x.test", H1, "pw", t);
	test_assert(!authcache_check("o@x.test", H1, "pw", t));
	authcache_configure(3600);
	test_assert(!authcache_check("o@x.test", H1, "pw", t));
	test_end();
}

static void
test_many_users(void)
{
	char user[64];
	time_t t = 4000000;
	int hits = 0;

	test_begin("authcache: many users, never a wrong hit");
	authcache_configure(3600);
	for (int i = 0; i < 10000; i++) {
		snprintf(user, sizeof(user), "u%d@x.test", i);
		authcache_store(user, H1, user, t);
	}
	for (int i = 0; i < 10000; i++) {
		snprintf(user, sizeof(user), "u%d@x.test", i);
		test_assert(!authcache_check(user, H1, "wrong", t));
		hits += authcache_check(user, H1, user, t);
	}
	/* More users than slots: the newest ones are still there. */
	test_assert(hits > 1000 && hits <= 10000);
	snprintf(user, sizeof(user), "u%d@x.test", 9999);
	test_assert(authcache_check(user, H1, user, t));
	/* Input too long to cache is simply not cached. */
	{
		char pw[3000];

		memset(pw, 'p', sizeof(pw) - 1);
		pw[sizeof(pw) - 1] = '\0';
		authcache_store("long@x.test", H1, pw, t);
		test_assert(!authcache_check("long@x.test", H1, pw, t));
	}
	test_end();
}

int
main(void)
{
	test_hit_and_miss();
	test_expiry();
	test_off();
	test_many_users();
	return test_exit();
}
