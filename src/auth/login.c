/* Credential checks (see login.h).  Unknown users and malformed names
 * still pay for one password verification, so response time does not
 * tell which accounts exist. */
#include <string.h>
#include <time.h>

#include "auth/authcache.h"

#include "auth/login.h"
#include "auth/password.h"
#include "conf/conf.h"
#include "lib/strutil.h"
#include "store/resolve.h"
#include "store/store.h"

enum login_result
login_prepare(struct store *st, const struct conf *c, const char *user,
    struct login_req *r)
{
	struct resolve_opts o = { c->local_part_case_sensitive,
		c->recipient_delimiter };
	char addr[320];
	struct store_user u;
	int rc;

	memset(r, 0, sizeof(*r));
	if (resolve_normalise(&o, user, addr, sizeof(addr)) < 0 ||
	    strchr(addr, '@') == NULL || addr[0] == '@')
		return LOGIN_OK;	/* verifies as unknown */
	rc = store_user_get(st, addr, &u);
	if (rc < 0)
		return LOGIN_TEMPFAIL;
	if (rc > 0) {
		str_lcpy(r->canon, u.address, sizeof(r->canon));
		str_lcpy(r->hash, u.password_hash, sizeof(r->hash));
		explicit_bzero(u.password_hash, sizeof(u.password_hash));
	}
	return LOGIN_OK;
}

enum login_result
login_verify(struct login_req *r, const char *password)
{
	bool ok;

	time_t now = time(NULL);

	r->cached = false;
	if (r->hash[0] == '\0') {
		password_verify_dummy(password);
		return LOGIN_BAD;
	}
	/* Only a success is ever cached: a wrong password is verified in
	 * full every time, so a hit tells nothing the answer does not. */
	if (authcache_check(r->canon, r->hash, password, now)) {
		r->cached = true;
		ok = true;
	} else {
		ok = password_verify(password, r->hash);
		if (ok)
			authcache_store(r->canon, r->hash, password, now);
	}
	explicit_bzero(r->hash, sizeof(r->hash));
	return ok ? LOGIN_OK : LOGIN_BAD;
}

enum login_result
login_check(struct store *st, const struct conf *c, const char *user,
    const char *password, char *canon, size_t size, bool *cached_r)
{
	struct login_req r;
	enum login_result res;

	if (login_prepare(st, c, user, &r) != LOGIN_OK) {
		password_verify_dummy(password);
		return LOGIN_TEMPFAIL;
	}
	res = login_verify(&r, password);
	if (res == LOGIN_OK)
		str_lcpy(canon, r.canon, size);
	if (cached_r != NULL)
		*cached_r = res == LOGIN_OK && r.cached;
	return res;
}
