/* The SMTP server of the smtpd role (smtpd.h): every SMTP listener
 * inherited from the supervisor (kinds smtp, submission and submissions)
 * served through net/listener.h, which enforces max_connections and
 * max_connections_per_ip; failed-login bans are checked by each new
 * session, through the store, before it says anything.  On stop, idle sessions get 421 4.3.2 and sessions in
 * the middle of a commit finish it (their 250 is sent) and then get 421. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/diskwatch.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "msgauth/dkim_keycache.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/srs.h"
#include "msgauth/dmarc.h"
#include "net/dns.h"
#include "net/listener.h"
#include "net/nodepeer.h"
#include "net/tls.h"
#include "queue/spool.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd.h"
#include "smtp/smtpd_private.h"
#include "store/store.h"

#define SMTPD_AUTH_THREADS 4	/* password checks (CPU, 16 MB each) */
#define SMTPD_CHECK_THREADS_MAX 8	/* signature checks: one per CPU */

static const struct listener_kind smtpd_kinds[] = {
	{ "smtp", SMTPD_KIND_SMTP, false },
	{ "submission", SMTPD_KIND_SUBMISSION, false },
	{ "submissions", SMTPD_KIND_SUBMISSIONS, true },
};

static struct dkim_keyring *smtpd_dkim_load(const struct conf *c);

static const char *
smtpd_busy_reply(void *ctx, const struct listener_conn *c, const char *why,
    char *buf, size_t size)
{
	struct smtpd *srv = ctx;

	snprintf(buf, size, "421 4.7.0 %s Too many connections%s, try again "
	    "later\r\n", srv->env->conf->hostname,
	    strcmp(why, "max_connections") == 0 ? "" : " from your address");
	return buf;
}

static struct listener_session *
smtpd_accept(void *ctx, const struct listener_conn *c)
{
	struct smtpd *srv = ctx;
	struct smtp_session *s;

	s = smtp_session_new(srv, c->fd, c->sa, c->salen,
	    (enum smtpd_kind)c->kind);
	return s != NULL ? &s->link : NULL;
}

static void
smtpd_shutdown_session(void *owner)
{
	smtp_session_shutdown(owner, "421 4.3.2 Service shutting down");
}

static void
smtpd_idle(void *ctx)
{
	struct smtpd *srv = ctx;

	if (srv->idle != NULL)
		srv->idle(srv->idle_arg);
}

static const struct listener_ops smtpd_listener_ops = {
	.busy_reply = smtpd_busy_reply,
	.accept = smtpd_accept,
	.shutdown = smtpd_shutdown_session,
	.idle = smtpd_idle,
};

bool
smtpd_disk_ok(struct smtpd *srv, const char *sid, const char *stage,
    uint64_t need)
{
	if (diskwatch_fits(srv->disk, need))
		return true;
	log_info("%s smtp reject stage=%s code=452 dsn=4.3.1 check=disk "
	    "size=%llu reason=\"spool filesystem below min_free_space\"",
	    sid, stage, (unsigned long long)need);
	metrics_smtp_refused("disk", 452);
	return false;
}

void
smtpd_disk_used(struct smtpd *srv, uint64_t n)
{
	diskwatch_consume(srv->disk, n);
}

void
smtpd_disk_failed(struct smtpd *srv, int err)
{
	if (err == ENOSPC || err == EDQUOT)
		diskwatch_failed(srv->disk);
}

void
smtpd_session_gone(struct smtpd *srv, struct smtp_session *s)
{
	listener_session_gone(srv->lset, &s->link);
}

/* One signature-check thread per CPU, at least 2. */
static unsigned
smtpd_check_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > SMTPD_CHECK_THREADS_MAX ?
	    SMTPD_CHECK_THREADS_MAX : (unsigned)n;
}

struct smtpd *
smtpd_create(struct ferry_env *env, void (*idle)(void *), void *arg)
{
	struct smtpd *srv = xcalloc(1, sizeof(*srv));
	char db[PATH_MAX];
	const char *error;

	srv->env = env;
	srv->idle = idle;
	srv->idle_arg = arg;
	conf_state_path(env->conf, srv->spool_dir, sizeof(srv->spool_dir),
	    FERRY_SPOOL_DIR);
	conf_state_path(env->conf, srv->mail_dir, sizeof(srv->mail_dir),
	    FERRY_MAIL_DIR);
	spool_recycle_clean(srv->spool_dir);
	if (tls_server_create(&srv->tls, env->conf, &error) < 0)
		log_fatalx("- smtpd tls error=%s", log_q(error));
	srv->auth_pool = workpool_create(env->base, SMTPD_AUTH_THREADS);
	srv->check_pool = workpool_create(env->base, smtpd_check_threads());
	/* The password checks' own store connections (store.h). */
	conf_store_path(env->conf, db, sizeof(db));
	if (store_pool_create(&srv->auth_stores, srv->auth_pool, db,
	    &error) < 0)
		log_fatalx("- smtpd store path=%s error=%s",
		    store_path_label(db), log_q(error));
	if (smtp_policy_create(&srv->policy, srv, &error) < 0)
		log_fatalx("- smtpd dns error=%s", log_q(error));
	srv->dkim = smtpd_dkim_load(env->conf);
	srv->keycache = dkim_keycache_new(DKIM_KEYCACHE_MAX);
	srv->srs = srs_keys_for_conf(env->conf);
	smtp_dmarc_psl_load(srv, env->conf, true);
	srv->cache = smtp_cache_new();
	srv->dmarc_rows = smtp_dmarc_rows_new(env->base, env->stores);
	srv->disk = diskwatch_new(env->base, env->pool, srv->spool_dir,
	    "smtpd", NULL, NULL);
	diskwatch_set_min(srv->disk, env->conf->min_free_bytes,
	    env->conf->min_free_pct);
	srv->lset = listener_set_create(env->base, "smtp",
	    &smtpd_listener_ops, srv);
	srv->peers = nodepeers_new(env->base, env->stores, "smtp");
	listener_set_peers(srv->lset, srv->peers);
	listener_set_limits(srv->lset, srv->env->conf->max_connections,
	    srv->env->conf->max_connections_per_ip);
	listener_set_adopt(srv->lset, env->listeners, env->nlisteners,
	    smtpd_kinds, sizeof(smtpd_kinds) / sizeof(smtpd_kinds[0]),
	    srv->tls != NULL);
	return srv;
}

size_t
smtpd_nlisteners(const struct smtpd *srv)
{
	return listener_set_nlisteners(srv->lset);
}

unsigned
smtpd_sessions(const struct smtpd *srv)
{
	return listener_set_count(srv->lset);
}

void
smtpd_stop(struct smtpd *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	listener_set_stop(srv->lset);
	smtp_dmarc_rows_stop(srv->dmarc_rows);
}

/* The signing keys of a configuration (an empty ring when signing is
 * off); reading them blocks, but only at start and on reload. */
static struct dkim_keyring *
smtpd_dkim_load(const struct conf *c)
{
	char dir[PATH_MAX];

	if (!c->dkim_sign || dkim_key_dir(c, dir, sizeof(dir)) < 0)
		return dkim_keyring_load("");
	return dkim_keyring_load(dir);
}

/* New connections get the reread certificates; established sessions keep
 * theirs.  On failure nothing changes. */
static int
smtpd_tls_reload(struct smtpd *srv, const struct conf *fresh,
    const char **error_r)
{
	if (srv->tls == NULL) {
		if (tls_server_create(&srv->tls, fresh, error_r) < 0)
			return -1;
		if (srv->tls != NULL)
			log_info("- smtpd tls-loaded cert=%s",
			    log_q(fresh->tls_cert));
		return 0;
	}
	if (fresh->tls_cert[0] == '\0') {
		log_warnx("- smtpd tls-reload note=\"tls_cert removed: "
		    "restart to stop offering TLS\"");
		return 0;
	}
	if (tls_server_reload(srv->tls, fresh, error_r) < 0)
		return -1;
	log_info("- smtpd tls-reloaded cert=%s sni=%zu",
	    log_q(fresh->tls_cert), fresh->ntls_sni);
	return 0;
}

int
smtpd_reload(struct smtpd *srv, const struct conf *fresh,
    const char **error_r)
{
	if (smtpd_tls_reload(srv, fresh, error_r) < 0) {
		log_warnx("- smtpd tls-reload-failed error=%s", log_q(*error_r));
		return -1;
	}
	listener_set_limits(srv->lset, fresh->max_connections,
	    fresh->max_connections_per_ip);
	smtp_policy_set_conf(srv->policy, fresh);
	diskwatch_set_min(srv->disk, fresh->min_free_bytes,
	    fresh->min_free_pct);
	/* Messages being signed keep the keys they started with. */
	dkim_keyring_free(&srv->dkim);
	srv->dkim = smtpd_dkim_load(fresh);
	/* Verifiers at work hold references of their own. */
	dkim_keycache_clear(srv->keycache);
	dns_cache_expire(smtp_policy_dns(srv->policy));
	srs_keys_free(&srv->srs);
	srv->srs = srs_keys_for_conf(fresh);
	smtp_dmarc_psl_load(srv, fresh, false);
	return 0;
}

void
smtpd_finish_checks(struct smtpd *srv)
{
	workpool_free(&srv->check_pool);
}

void
smtpd_free(struct smtpd **srvp)
{
	struct smtpd *srv = *srvp;
	struct listener_session *ls;

	if (srv == NULL)
		return;
	/* Password checks still running report first. */
	workpool_free(&srv->auth_pool);
	workpool_free(&srv->check_pool);
	store_pool_free(&srv->auth_stores);
	while ((ls = listener_set_first(srv->lset)) != NULL) {
		struct smtp_session *s = ls->owner;

		smtpd_session_gone(srv, s);
		smtp_session_free(&s);
	}
	listener_set_free(&srv->lset);
	nodepeers_free(&srv->peers);
	spool_recycle_drop();
	diskwatch_free(&srv->disk);
	smtp_policy_free(&srv->policy);
	dkim_keyring_free(&srv->dkim);
	dkim_keycache_free(&srv->keycache);
	srs_keys_free(&srv->srs);
	dmarc_psl_free(srv->psl);
	smtp_cache_free(&srv->cache);
	smtp_dmarc_rows_free(&srv->dmarc_rows);
	tls_server_free(&srv->tls);
	free(srv);
	*srvp = NULL;
}
