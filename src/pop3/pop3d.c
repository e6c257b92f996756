/* The POP3 server of the mailbox role (pop3d.h): listeners of kind
 * "pop3" (plaintext, STLS offered when a certificate is configured) and
 * "pop3s" (TLS from the first byte, RFC 8314) served through
 * net/listener.h, which enforces max_connections and
 * max_connections_per_ip before a session exists, and the set of
 * maildrops in use (RFC 1939 section 8: one session per maildrop).  One
 * process serves every session, so that set is authoritative here; the
 * lock file taken when a maildrop opens covers other processes. */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "net/listener.h"
#include "net/nodepeer.h"
#include "net/tls.h"
#include "pop3/pop3_private.h"
#include "pop3/pop3d.h"

static const struct listener_kind pop3d_kinds[] = {
	{ "pop3", 0, false },
	{ "pop3s", 0, true },
};

bool
pop3d_mailbox_in_use(struct pop3d *d, const char *path)
{
	for (struct listener_session *ls = listener_set_first(d->lset);
	    ls != NULL; ls = ls->next) {
		const struct pop3_session *s = ls->owner;

		if (s->mailbox[0] != '\0' && strcmp(s->mailbox, path) == 0)
			return true;
	}
	return false;
}

static const char *
pop3d_busy_reply(void *ctx, const struct listener_conn *c, const char *why,
    char *buf, size_t size)
{
	return "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
}

static struct listener_session *
pop3d_accept(void *ctx, const struct listener_conn *c)
{
	struct pop3_session *s;

	s = pop3_session_new(ctx, c->fd, c->sa, c->salen, c->tls);
	return s != NULL ? &s->link : NULL;
}

static void
pop3d_shutdown_session(void *owner)
{
	pop3_session_shutdown(owner, "-ERR [SYS/TEMP] Server shutting down");
}

static void
pop3d_idle(void *ctx)
{
	struct pop3d *d = ctx;

	if (d->idle != NULL)
		d->idle(d->idle_arg);
}

static const struct listener_ops pop3d_listener_ops = {
	.busy_reply = pop3d_busy_reply,
	.accept = pop3d_accept,
	.shutdown = pop3d_shutdown_session,
	.idle = pop3d_idle,
};

void
pop3d_session_gone(struct pop3d *d, struct pop3_session *s)
{
	listener_session_gone(d->lset, &s->link);
}

struct pop3d *
pop3d_create(struct ferry_env *env, void (*idle)(void *), void *arg)
{
	struct pop3d *d;
	const char *error;
	size_t want = 0;

	for (size_t i = 0; i < env->nlisteners; i++)
		if (strncmp(env->listeners[i].kind, "pop3", 4) == 0)
			want++;
	if (want == 0)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->env = env;
	d->idle = idle;
	d->idle_arg = arg;
	if (tls_server_create(&d->tls, d->env->conf, &error) < 0)
		log_warnx("- pop3 tls-unavailable error=%s", log_q(error));
	d->lset = listener_set_create(env->base, "pop3", &pop3d_listener_ops,
	    d);
	d->peers = nodepeers_new(env->base, env->stores, "pop3");
	listener_set_peers(d->lset, d->peers);
	listener_set_limits(d->lset, d->env->conf->max_connections,
	    d->env->conf->max_connections_per_ip);
	listener_set_adopt(d->lset, env->listeners, env->nlisteners,
	    pop3d_kinds, sizeof(pop3d_kinds) / sizeof(pop3d_kinds[0]),
	    d->tls != NULL);
	log_info("- pop3 ready listeners=%zu tls=%s",
	    listener_set_nlisteners(d->lset), d->tls != NULL ? "yes" : "no");
	return d;
}

unsigned
pop3d_sessions(const struct pop3d *d)
{
	return listener_set_count(d->lset);
}

void
pop3d_stop(struct pop3d *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	listener_set_stop(d->lset);
}

int
pop3d_reload(struct pop3d *d, const struct conf *fresh, const char **error_r)
{
	if (d->tls != NULL && tls_server_reload(d->tls, fresh, error_r) < 0) {
		log_warnx("- pop3 tls-reload-failed error=%s", log_q(*error_r));
		return -1;
	}
	listener_set_limits(d->lset, fresh->max_connections,
	    fresh->max_connections_per_ip);
	return 0;
}

void
pop3d_free(struct pop3d **dp)
{
	struct pop3d *d = *dp;
	struct listener_session *ls;

	if (d == NULL)
		return;
	d->idle = NULL;
	while ((ls = listener_set_first(d->lset)) != NULL) {
		struct pop3_session *s = ls->owner;

		pop3d_session_gone(d, s);
		pop3_session_free(&s);
	}
	listener_set_free(&d->lset);
	nodepeers_free(&d->peers);
	tls_server_free(&d->tls);
	free(d);
	*dp = NULL;
}
