/* The smtpd role's answer cache (smtpd_private.h, "answer cache"): the
 * store's answers to the connect-time ban check and to RCPT lookups,
 * kept on the loop thread so that a repeated question is answered
 * without a hop to the worker pool.  It never reads the store itself;
 * it holds what store requests brought back, and forgets everything as
 * soon as the store's change counter (store_generation()) or the
 * configuration snapshot moves, so a user added, an alias changed or an
 * address banned is seen by the next command after the change returned.
 * An answer is kept only when the counter did not move while it was
 * being read.  Direct-mapped tables: a key picks one slot, a newer
 * answer replaces whatever was there.  Only what depends on nothing but
 * the store and the configuration is kept: "not banned" (a ban is rare
 * and answers for a time), and RCPT answers whose mailboxes have no
 * quota (a quota's usage changes with every delivery). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "smtp/smtpd_private.h"
#include "store/resolve.h"
#include "store/store.h"

#define SMTP_CACHE_RCPT_SLOTS 512
#define SMTP_CACHE_BAN_SLOTS 1024

struct smtp_cache_rcpt {
	char key[SMTP_ADDR_PATH_MAX + 2];	/* "L" or "-", then the rcpt */
	bool used;
	enum resolve_status st;
	struct resolve_target *targets;
	size_t ntargets;
	struct store_rule *rules;
	size_t nrules;
};

struct smtp_cache_ban {
	char ip[64];
	bool used;
};

struct smtp_cache {
	const struct conf *conf;	/* a reference; NULL: nothing kept */
	uint64_t gen;
	struct smtp_cache_rcpt *rcpt;	/* allocated at the first answer */
	struct smtp_cache_ban *ban;
};

struct smtp_cache *
smtp_cache_new(void)
{
	return xcalloc(1, sizeof(struct smtp_cache));
}

static void
smtp_cache_rcpt_slot_clear(struct smtp_cache_rcpt *e)
{
	free(e->targets);
	free(e->rules);
	memset(e, 0, sizeof(*e));
}

static void
smtp_cache_clear(struct smtp_cache *sc)
{
	for (size_t i = 0; sc->rcpt != NULL && i < SMTP_CACHE_RCPT_SLOTS; i++)
		if (sc->rcpt[i].used)
			smtp_cache_rcpt_slot_clear(&sc->rcpt[i]);
	if (sc->ban != NULL)
		memset(sc->ban, 0, SMTP_CACHE_BAN_SLOTS * sizeof(*sc->ban));
	if (sc->conf != NULL)
		conf_unref(&sc->conf);
}

void
smtp_cache_free(struct smtp_cache **scp)
{
	struct smtp_cache *sc = *scp;

	if (sc == NULL)
		return;
	smtp_cache_clear(sc);
	free(sc->rcpt);
	free(sc->ban);
	free(sc);
	*scp = NULL;
}

int
smtp_cache_generation(struct smtpd *srv, const struct conf *c,
    uint64_t *gen_r)
{
	struct smtp_cache *sc = srv->cache;
	uint64_t gen;

	/* A session still on an older snapshot asks the store itself. */
	if (sc == NULL || c != srv->env->conf ||
	    store_pool_generation(srv->env->stores, &gen) < 0)
		return -1;
	if (sc->conf != c || sc->gen != gen) {
		smtp_cache_clear(sc);
		sc->conf = conf_ref(c);
		sc->gen = gen;
	}
	*gen_r = gen;
	return 0;
}

bool
smtp_cache_current(struct smtpd *srv, const struct conf *c, uint64_t gen)
{
	uint64_t now;

	return smtp_cache_generation(srv, c, &now) == 0 && now == gen;
}

/* ---- the ban check ---- */

bool
smtp_cache_not_banned(struct smtpd *srv, const struct conf *c, const char *ip)
{
	struct smtp_cache *sc = srv->cache;
	uint64_t gen;
	const struct smtp_cache_ban *e;

	if (smtp_cache_generation(srv, c, &gen) < 0 || sc->ban == NULL)
		return false;
	e = &sc->ban[str_hash(ip) % SMTP_CACHE_BAN_SLOTS];
	return e->used && strcmp(e->ip, ip) == 0;
}

void
smtp_cache_ban_put(struct smtpd *srv, const struct conf *c, const char *ip,
    uint64_t gen)
{
	struct smtp_cache *sc = srv->cache;
	struct smtp_cache_ban *e;

	if (!smtp_cache_current(srv, c, gen))
		return;
	if (sc->ban == NULL)
		sc->ban = xcalloc(SMTP_CACHE_BAN_SLOTS, sizeof(*sc->ban));
	e = &sc->ban[str_hash(ip) % SMTP_CACHE_BAN_SLOTS];
	if (str_lcpy(e->ip, ip, sizeof(e->ip)) >= sizeof(e->ip)) {
		e->used = false;
		return;
	}
	e->used = true;
}

/* ---- RCPT ---- */

static int
smtp_cache_rcpt_key(char *key, size_t size, const char *rcpt, bool literal)
{
	int n = snprintf(key, size, "%c%s", literal ? 'L' : '-', rcpt);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void *
smtp_cache_dup(const void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0)
		return NULL;
	q = xreallocarray(NULL, n, size);
	memcpy(q, p, n * size);
	return q;
}

int
smtp_cache_rcpt_get(struct smtpd *srv, const struct conf *c,
    const char *rcpt, bool literal, struct smtp_rcpt_lookup *res)
{
	struct smtp_cache *sc = srv->cache;
	char key[SMTP_ADDR_PATH_MAX + 2];
	const struct smtp_cache_rcpt *e;
	uint64_t gen;

	if (smtp_cache_generation(srv, c, &gen) < 0 || sc->rcpt == NULL ||
	    smtp_cache_rcpt_key(key, sizeof(key), rcpt, literal) < 0)
		return -1;
	e = &sc->rcpt[str_hash(key) % SMTP_CACHE_RCPT_SLOTS];
	if (!e->used || strcmp(e->key, key) != 0)
		return -1;
	memset(res, 0, sizeof(*res));
	res->st = e->st;
	res->targets.v = smtp_cache_dup(e->targets, e->ntargets,
	    sizeof(*e->targets));
	res->targets.n = e->ntargets;
	res->over_quota = false;
	res->rules = smtp_cache_dup(e->rules, e->nrules, sizeof(*e->rules));
	res->nrules = e->nrules;
	res->gen = gen;
	res->gen_ok = true;
	return 0;
}

void
smtp_cache_rcpt_put(struct smtpd *srv, const struct conf *c,
    const char *rcpt, bool literal, const struct smtp_rcpt_lookup *res,
    uint64_t gen)
{
	struct smtp_cache *sc = srv->cache;
	char key[SMTP_ADDR_PATH_MAX + 2];
	struct smtp_cache_rcpt *e;

	if (res->st != RESOLVE_LOCAL && res->st != RESOLVE_REMOTE &&
	    res->st != RESOLVE_UNKNOWN)
		return;
	for (size_t i = 0; res->st == RESOLVE_LOCAL &&
	    i < res->targets.n; i++)
		if (res->targets.v[i].local && res->targets.v[i].quota != 0)
			return;
	if (smtp_cache_rcpt_key(key, sizeof(key), rcpt, literal) < 0 ||
	    !smtp_cache_current(srv, c, gen))
		return;
	if (sc->rcpt == NULL)
		sc->rcpt = xcalloc(SMTP_CACHE_RCPT_SLOTS, sizeof(*sc->rcpt));
	e = &sc->rcpt[str_hash(key) % SMTP_CACHE_RCPT_SLOTS];
	smtp_cache_rcpt_slot_clear(e);
	str_lcpy(e->key, key, sizeof(e->key));
	e->used = true;
	e->st = res->st;
	e->targets = smtp_cache_dup(res->targets.v, res->targets.n,
	    sizeof(*res->targets.v));
	e->ntargets = res->targets.n;
	e->rules = smtp_cache_dup(res->rules, res->nrules,
	    sizeof(*res->rules));
	e->nrules = res->nrules;
}
