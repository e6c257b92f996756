/* Credential checks (see login.h).  Unknown users and malformed names
 * still pay for one password verification, so response time does not
 * tell which accounts exist. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/authcache.h"

#include "auth/login.h"
#include "auth/password.h"
#include "conf/conf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "store/resolve.h"
#include "store/store.h"

/* login_prepare() with the address options given. */
static enum login_result
login_lookup(struct store *st, const struct resolve_opts *o, const char *user,
    struct login_req *r)
{
	char addr[320];
	struct store_user u;
	int rc;

	memset(r, 0, sizeof(*r));
	if (resolve_normalise(o, user, addr, sizeof(addr)) < 0 ||
	    strchr(addr, '@') == NULL || addr[0] == '@')
		return LOGIN_OK;	/* verifies as unknown */
	rc = store_user_get(st, addr, &u);
	if (rc < 0)
		return LOGIN_TEMPFAIL;
	if (rc > 0) {
		str_lcpy(r->canon, u.address, sizeof(r->canon));
		str_lcpy(r->hash, u.password_hash, sizeof(r->hash));
		explicit_bzero(u.password_hash, sizeof(u.password_hash));
		rc = store_domain_suspended(st, strrchr(r->canon, '@') + 1,
		    NULL);
		if (rc < 0)
			return LOGIN_TEMPFAIL;
		r->suspended = rc == 1;
	}
	return LOGIN_OK;
}

enum login_result
login_prepare(struct store *st, const struct conf *c, const char *user,
    struct login_req *r)
{
	struct resolve_opts o = { c->local_part_case_sensitive,
		c->recipient_delimiter };

	return login_lookup(st, &o, user, r);
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
	/* Only the right password learns of the suspension. */
	if (ok && r->suspended)
		return LOGIN_REFUSED;
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
	if (res == LOGIN_OK || res == LOGIN_REFUSED)
		str_lcpy(canon, r.canon, size);
	if (cached_r != NULL)
		*cached_r = res == LOGIN_OK && r.cached;
	return res;
}

/* ---- the request form, for event loops ---- */

struct login_job {
	char user[320];
	char password[512];
	bool case_sensitive;
	char delimiter[16];
	enum login_result result;
	char canon[320];
	bool cached;
	login_cb *cb;
};

static void
login_work(struct store *conn, void *data)
{
	struct login_job *j = data;
	struct resolve_opts o = { j->case_sensitive, j->delimiter };
	struct login_req r;

	if (conn == NULL) {
		password_verify_dummy(j->password);
		j->result = LOGIN_TEMPFAIL;
	} else if (login_lookup(conn, &o, j->user, &r) != LOGIN_OK) {
		password_verify_dummy(j->password);
		j->result = LOGIN_TEMPFAIL;
	} else {
		j->result = login_verify(&r, j->password);
		if (j->result == LOGIN_OK || j->result == LOGIN_REFUSED)
			str_lcpy(j->canon, r.canon, sizeof(j->canon));
		j->cached = j->result == LOGIN_OK && r.cached;
	}
	explicit_bzero(j->password, sizeof(j->password));
}

static void
login_done(void *data, void *ctx)
{
	struct login_job *j = data;

	j->cb(j->result, j->canon, j->cached, ctx);
}

static void
login_release(void *data)
{
	explicit_bzero(data, sizeof(struct login_job));
	free(data);
}

static const struct store_job login_job = {
	.name = "login",
	.work = login_work,
	.done = login_done,
	.release = login_release,
};

struct store_req *
login_start(struct store_pool *sp, const struct conf *c, const char *user,
    const char *password, login_cb *cb, void *ctx)
{
	struct login_job *j = xcalloc(1, sizeof(*j));

	str_lcpy(j->user, user, sizeof(j->user));
	str_lcpy(j->password, password, sizeof(j->password));
	j->case_sensitive = c->local_part_case_sensitive;
	str_lcpy(j->delimiter, c->recipient_delimiter, sizeof(j->delimiter));
	j->cb = cb;
	return store_req_submit(sp, &login_job, j, ctx);
}
