/* Checking a user's credentials, for every protocol.  The work is the
 * same whether or not the user exists (a dummy hash is verified for
 * unknown users), and the comparison is constant-time.  Verification costs
 * a yescrypt computation (tens of milliseconds): call it from a worker
 * thread (lib/workpool.h), never on the event loop.  Credentials are
 * never logged. */
#ifndef FERRY_LOGIN_H
#define FERRY_LOGIN_H
#include <stdbool.h>
#include <stddef.h>

struct conf;
struct store;
struct store_pool;
struct store_req;

enum login_result {
	LOGIN_OK = 0,
	LOGIN_BAD = 1,		/* unknown user or wrong password */
	LOGIN_TEMPFAIL = 2,	/* store error: answer 454 / [SYS/TEMP] */
	LOGIN_REFUSED = 3	/* right password, but the user's domain is
				 * suspended (ops_send.h): refused, and not
				 * counted as a failure */
};

/* user: the login name as the client sent it (an address; normalised
 * here: domain lower-cased, local part per configuration).  On LOGIN_OK
 * the canonical address is copied to canon (size bytes), and *cached_r
 * (when not NULL) says whether the auth cache (authcache.h) vouched for
 * the password instead of a new verification. */
enum login_result login_check(struct store *st, const struct conf *c,
    const char *user, const char *password, char *canon, size_t size,
    bool *cached_r);

/* login_check() as a store request (store.h) for event loops: the lookup
 * and the yescrypt work both run on a worker thread of sp's pool, with
 * copies of user, password (wiped after use) and the address settings.
 * cb gets the result, the canonical address ("" unless LOGIN_OK) and
 * whether the auth cache vouched; the handle is for store_req_abort(). */
typedef void login_cb(enum login_result res, const char *canon, bool cached,
    void *ctx);
struct store_req *login_start(struct store_pool *sp, const struct conf *c,
    const char *user, const char *password, login_cb *cb, void *ctx);

/* The same check in two halves: login_prepare() looks the user up (a
 * blocking store read) and login_verify() does the yescrypt work (it
 * touches neither store nor conf).  Unknown users get a request that verifies against a dummy
 * hash, so both halves take the same time either way. */
struct login_req {
	char canon[320];	/* canonical address when known */
	char hash[256];		/* "" for unknown users */
	bool cached;		/* login_verify: OK from the auth cache */
	bool suspended;		/* the user's domain is suspended */
};

/* LOGIN_OK when r is ready for login_verify() (also for unknown users),
 * LOGIN_TEMPFAIL on a store error. */
enum login_result login_prepare(struct store *st, const struct conf *c,
    const char *user, struct login_req *r);
/* LOGIN_OK, LOGIN_BAD or (right password, suspended domain)
 * LOGIN_REFUSED; wipes r's hash afterwards. */
enum login_result login_verify(struct login_req *r, const char *password);

#endif
