/* The smtpd session's store lookups, each a store request (store.h) on
 * the role's worker pool, so that the loop never waits for the database
 * or the disk: the recipient at RCPT (resolve_rcpt(), the recipient
 * domain's rules for the checks, and the quota usage of its mailboxes,
 * which may rescan a Maildir), and sender ownership (MAIL FROM and the
 * From: header addresses of an authenticated session).  Requests carry
 * copies of everything they need; the session aborts a pending one when
 * it goes away. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/sendlimit.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "policy/policy.h"
#include "smtp/smtpd_private.h"
#include "store/resolve.h"
#include "store/store.h"

struct smtp_lookup_opts {
	bool case_sensitive;
	char delimiter[16];
};

static void
smtp_lookup_opts_get(const struct conf *c, struct smtp_lookup_opts *o)
{
	o->case_sensitive = c->local_part_case_sensitive;
	str_lcpy(o->delimiter, c->recipient_delimiter, sizeof(o->delimiter));
}

/* ---- RCPT ---- */

struct smtp_rcpt_job {
	char rcpt[SMTP_ADDR_PATH_MAX + 1];
	bool literal;
	struct smtp_lookup_opts o;
	char state_dir[PATH_MAX];
	uint64_t need;			/* declared size (MAIL SIZE=) */
	struct smtp_rcpt_lookup res;
	bool rules_ok;			/* the rules could be read */
	uint64_t gen;			/* store generation when sent */
	bool gen_ok;			/* the answer may be cached */
	char send_user[320];		/* "" or the authenticated sender */
	struct sendlimit_cfg send_cfg;
	smtp_rcpt_lookup_cb *cb;
};

/* The recipient's domain, or the domain of a local target, suspended:
 * inbound mail for it waits (ops_send.h). */
static bool
smtp_rcpt_suspended(struct store *conn, const struct smtp_rcpt_job *j)
{
	const struct resolve_result *r = &j->res.targets;
	const char *at = strrchr(j->rcpt, '@');

	if (at != NULL && store_domain_suspended(conn, at + 1, NULL) == 1)
		return true;
	for (size_t i = 0; i < r->n; i++) {
		const char *rcpt_dom = strrchr(j->rcpt, '@');

		at = strrchr(r->v[i].user, '@');
		/* The recipient's own domain was asked just above. */
		if (r->v[i].local && at != NULL && (rcpt_dom == NULL ||
		    strcasecmp(at, rcpt_dom) != 0) &&
		    store_domain_suspended(conn, at + 1, NULL) == 1)
			return true;
	}
	return false;
}

/* True when every local target is at or over its quota (the message
 * could be delivered to none of them).  Reading maildirsize may mean a
 * rescan of the whole Maildir: this runs on a worker. */
static bool
smtp_rcpt_over_quota(const struct smtp_rcpt_job *j)
{
	const struct resolve_result *r = &j->res.targets;
	char path[PATH_MAX];
	uint64_t bytes, count;
	size_t full = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct resolve_target *t = &r->v[i];

		if (!t->local)
			return false;
		if (t->quota == 0 || maildir_path(j->state_dir, t->user, path,
		    sizeof(path)) < 0 ||
		    maildir_quota_usage(path, &bytes, &count) < 0)
			return false;
		if (bytes + j->need < t->quota)
			return false;
		full++;
	}
	return full > 0;
}

static void
smtp_rcpt_work(struct store *conn, void *data)
{
	struct smtp_rcpt_job *j = data;
	struct resolve_opts o = { j->o.case_sensitive, j->o.delimiter };
	const char *at = strrchr(j->rcpt, '@');

	if (j->literal)
		j->res.st = RESOLVE_REMOTE;
	else if (conn == NULL)
		j->res.st = RESOLVE_ERROR;
	else
		j->res.st = resolve_rcpt(conn, &o, j->rcpt, &j->res.targets);
	if (j->res.st == RESOLVE_LOCAL)
		j->res.suspended = smtp_rcpt_suspended(conn, j);
	if (j->res.st == RESOLVE_LOCAL && !j->res.suspended)
		j->res.over_quota = smtp_rcpt_over_quota(j);
	/* An authenticated sender's recipient counts once it would be
	 * taken (sendlimit.h). */
	if (j->send_user[0] != '\0' && !j->res.suspended &&
	    !j->res.over_quota && (j->res.st == RESOLVE_LOCAL ||
	    j->res.st == RESOLVE_REMOTE))
		sendlimit_reserve(conn, &j->send_cfg, j->send_user,
		    STORE_SEND_RCPT, time(NULL), &j->res.send);
	if (j->res.st != RESOLVE_ERROR && at != NULL)
		j->rules_ok = policy_rules_load(conn, at + 1, &j->res.rules,
		    &j->res.nrules) == 0;
}

static void
smtp_rcpt_done(void *data, void *ctx)
{
	struct smtp_rcpt_job *j = data;
	struct smtp_session *s = ctx;

	j->res.gen = j->gen;
	j->res.gen_ok = j->gen_ok && smtp_cache_current(s->srv, s->conf,
	    j->gen);
	if (j->res.gen_ok && j->rules_ok && !j->res.over_quota &&
	    !j->res.suspended)
		smtp_cache_rcpt_put(s->srv, s->conf, j->rcpt, j->literal,
		    &j->res, j->gen);
	j->cb(s, j->rcpt, &j->res);
}

static void
smtp_rcpt_release(void *data)
{
	struct smtp_rcpt_job *j = data;

	resolve_result_free(&j->res.targets);
	free(j->res.rules);
	free(j);
}

static const struct store_job smtp_rcpt_job = {
	.name = "rcpt",
	.work = smtp_rcpt_work,
	.done = smtp_rcpt_done,
	.release = smtp_rcpt_release,
};

struct store_req *
smtp_rcpt_lookup(struct smtp_session *s, const char *rcpt, bool literal,
    smtp_rcpt_lookup_cb *cb)
{
	struct smtp_rcpt_job *j = xcalloc(1, sizeof(*j));
	const struct conf *c = s->conf;

	str_lcpy(j->rcpt, rcpt, sizeof(j->rcpt));
	j->literal = literal;
	smtp_lookup_opts_get(c, &j->o);
	str_lcpy(j->state_dir, c->state_dir, sizeof(j->state_dir));
	j->need = s->tx != NULL ? s->tx->declared_size : 0;
	j->gen_ok = smtp_cache_generation(s->srv, c, &j->gen) == 0;
	if (s->auth_user[0] != '\0') {
		str_lcpy(j->send_user, s->auth_user, sizeof(j->send_user));
		sendlimit_cfg_get(c, &j->send_cfg);
	}
	j->cb = cb;
	return store_req_submit(s->srv->env->stores, &smtp_rcpt_job, j, s);
}

/* ---- sender ownership ---- */

struct smtp_owner_job {
	struct smtp_lookup_opts o;
	char user[320];
	char **addrs;			/* NULL: unreadable */
	size_t n;
	int result;
	size_t first_bad;
	smtp_owner_cb *cb;
};

/* 1 when user owns addr (its own address, a +extension, or an address
 * that delivers to it), 0 when not, -1 when the store could not say. */
static int
smtp_owner_is(struct store *conn, const struct resolve_opts *o,
    const char *user, const char *addr)
{
	struct resolve_result r = { NULL, 0 };
	char norm[512];
	enum resolve_status st;
	int owned = 0;

	if (addr == NULL || strchr(addr, '@') == NULL || addr[0] == '@' ||
	    resolve_normalise(o, addr, norm, sizeof(norm)) < 0)
		return 0;
	if (strcmp(norm, user) == 0)
		return 1;
	if (conn == NULL)
		return -1;
	st = resolve_rcpt(conn, o, norm, &r);
	if (st == RESOLVE_ERROR)
		return -1;
	if (st == RESOLVE_LOCAL)
		for (size_t i = 0; i < r.n && owned == 0; i++)
			owned = r.v[i].local && strcmp(r.v[i].user, user) == 0;
	resolve_result_free(&r);
	return owned;
}

static void
smtp_owner_work(struct store *conn, void *data)
{
	struct smtp_owner_job *j = data;
	struct resolve_opts o = { j->o.case_sensitive, j->o.delimiter };
	bool tempfail = false;

	j->result = 1;
	for (size_t i = 0; i < j->n; i++) {
		int r = smtp_owner_is(conn, &o, j->user, j->addrs[i]);

		if (r == 0) {
			j->result = 0;
			j->first_bad = i;
			return;
		}
		if (r < 0)
			tempfail = true;
	}
	if (tempfail)
		j->result = -1;
}

static void
smtp_owner_done(void *data, void *ctx)
{
	struct smtp_owner_job *j = data;

	j->cb(ctx, j->result, j->result == 0 ? j->addrs[j->first_bad] : NULL);
}

static void
smtp_owner_release(void *data)
{
	struct smtp_owner_job *j = data;

	for (size_t i = 0; i < j->n; i++)
		free(j->addrs[i]);
	free(j->addrs);
	free(j);
}

static const struct store_job smtp_owner_job = {
	.name = "sender",
	.work = smtp_owner_work,
	.done = smtp_owner_done,
	.release = smtp_owner_release,
};

struct store_req *
smtp_owner_check(struct smtp_session *s, char *const *addrs, size_t n,
    smtp_owner_cb *cb)
{
	struct smtp_owner_job *j = xcalloc(1, sizeof(*j));

	smtp_lookup_opts_get(s->conf, &j->o);
	str_lcpy(j->user, s->auth_user, sizeof(j->user));
	j->addrs = xcalloc(n > 0 ? n : 1, sizeof(*j->addrs));
	for (size_t i = 0; i < n; i++)
		j->addrs[i] = addrs[i] != NULL ? xstrdup(addrs[i]) : NULL;
	j->n = n;
	j->cb = cb;
	return store_req_submit(s->srv->env->stores, &smtp_owner_job, j, s);
}
