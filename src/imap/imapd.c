/* The IMAP server of the mailbox role (imapd.h): listeners of kind
 * "imap" (plaintext, STARTTLS offered when a certificate is configured)
 * and "imaps" (TLS from the first byte, RFC 8314) served through
 * net/listener.h, which enforces max_connections and the per-address
 * limit (imap_max_connections_per_ip, else max_connections_per_ip)
 * before a session exists; and the process's
 * mailbox service (mbox.h), whose one inotify watcher serves every
 * session. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_private.h"
#include "imap/imapd.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"
#include "net/listener.h"
#include "net/nodepeer.h"
#include "net/tls.h"

static const struct listener_kind imapd_kinds[] = {
	{ "imap", 0, false },
	{ "imaps", 0, true },
};

static const char *
imapd_busy_reply(void *ctx, const struct listener_conn *c, const char *why,
    char *buf, size_t size)
{
	return "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
}

static struct listener_session *
imapd_accept(void *ctx, const struct listener_conn *c)
{
	struct imap_session *s;

	s = imap_session_new(ctx, c->fd, c->sa, c->salen, c->tls);
	return s != NULL ? &s->link : NULL;
}

static void
imapd_shutdown_session(void *owner)
{
	imap_session_shutdown(owner, "* BYE [UNAVAILABLE] Server shutting "
	    "down");
}

static void
imapd_idle(void *ctx)
{
	struct imapd *d = ctx;

	if (d->idle != NULL)
		d->idle(d->idle_arg);
}

static const struct listener_ops imapd_listener_ops = {
	.busy_reply = imapd_busy_reply,
	.accept = imapd_accept,
	.shutdown = imapd_shutdown_session,
	.idle = imapd_idle,
};

void
imapd_session_gone(struct imapd *d, struct imap_session *s)
{
	listener_session_gone(d->lset, &s->link);
}

/* Connections from one address: IMAP's own limit when set (webmail and
 * phones behind one NAT keep several IMAP connections each, where SMTP
 * clients keep one), else the one every protocol shares. */
static unsigned
imapd_per_ip(const struct conf *c)
{
	return c->imap_max_connections_per_ip != 0 ?
	    c->imap_max_connections_per_ip : c->max_connections_per_ip;
}

struct imapd *
imapd_create(struct ferry_env *env, void (*idle)(void *), void *arg)
{
	struct imapd *d;
	const char *error;
	size_t want = 0;

	for (size_t i = 0; i < env->nlisteners; i++)
		if (strcmp(env->listeners[i].kind, "imap") == 0 ||
		    strcmp(env->listeners[i].kind, "imaps") == 0)
			want++;
	if (want == 0)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->env = env;
	d->idle = idle;
	d->idle_arg = arg;
	if (tls_server_create(&d->tls, d->env->conf, &error) < 0)
		log_warnx("- imap tls-unavailable error=%s", log_q(error));
	d->mbox = mbox_service_create(env->base);
	d->bgpool = imap_bgpool_create(env->base);
	mbox_service_set_min_free(d->mbox, env->conf->min_free_bytes,
	    env->conf->min_free_pct);
	d->lset = listener_set_create(env->base, "imap", &imapd_listener_ops,
	    d);
	d->peers = nodepeers_new(env->base, env->stores, "imap");
	listener_set_peers(d->lset, d->peers);
	listener_set_limits(d->lset, d->env->conf->max_connections,
	    imapd_per_ip(d->env->conf));
	listener_set_adopt(d->lset, env->listeners, env->nlisteners,
	    imapd_kinds, sizeof(imapd_kinds) / sizeof(imapd_kinds[0]),
	    d->tls != NULL);
	log_info("- imap ready listeners=%zu tls=%s",
	    listener_set_nlisteners(d->lset), d->tls != NULL ? "yes" : "no");
	return d;
}

unsigned
imapd_sessions(const struct imapd *d)
{
	return listener_set_count(d->lset);
}

void
imapd_stop(struct imapd *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	listener_set_stop(d->lset);
}

int
imapd_reload(struct imapd *d, const struct conf *fresh, const char **error_r)
{
	if (d->tls != NULL && tls_server_reload(d->tls, fresh, error_r) < 0) {
		log_warnx("- imap tls-reload-failed error=%s", log_q(*error_r));
		return -1;
	}
	listener_set_limits(d->lset, fresh->max_connections,
	    imapd_per_ip(fresh));
	mbox_service_set_min_free(d->mbox, fresh->min_free_bytes,
	    fresh->min_free_pct);
	return 0;
}

void
imapd_free(struct imapd **dp)
{
	struct imapd *d = *dp;
	struct listener_session *ls;

	if (d == NULL)
		return;
	d->idle = NULL;
	/* rows still being written are finished (each job holds its user) */
	workpool_free(&d->bgpool);
	while ((ls = listener_set_first(d->lset)) != NULL) {
		struct imap_session *s = ls->owner;

		imapd_session_gone(d, s);
		imap_session_free(&s);
	}
	listener_set_free(&d->lset);
	nodepeers_free(&d->peers);
	mbox_service_free(&d->mbox);
	tls_server_free(&d->tls);
	free(d);
	*dp = NULL;
}
