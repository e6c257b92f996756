/* Credential checks (see login.h).  Unknown users and malformed names
 * still pay for one password verification, so response time does not
 * tell which accounts exist. */
#include <string.h>

#include "auth/login.h"
#include "auth/password.h"
#include "conf/conf.h"
#include "lib/strutil.h"
#include "store/resolve.h"
#include "store/store.h"

enum login_result
login_check(struct store *st, const struct conf *c, const char *user,
    const char *password, char *canon, size_t size)
{
	struct resolve_opts o = { c->local_part_case_sensitive,
		c->recipient_delimiter };
	char addr[320];
	struct store_user u;
	int r;

	if (resolve_normalise(&o, user, addr, sizeof(addr)) < 0 ||
	    strchr(addr, '@') == NULL || addr[0] == '@') {
		password_verify_dummy(password);
		return LOGIN_BAD;
	}
	r = store_user_get(st, addr, &u);
	if (r < 0) {
		password_verify_dummy(password);
		return LOGIN_TEMPFAIL;
	}
	if (r == 0) {
		password_verify_dummy(password);
		return LOGIN_BAD;
	}
	if (!password_verify(password, u.password_hash))
		return LOGIN_BAD;
	str_lcpy(canon, u.address, size);
	return LOGIN_OK;
}
