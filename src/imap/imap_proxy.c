/* An IMAP login proxied to the user's home node (mailbox homing, issue
 * 15; net/mailproxy.h does the connection).  The password was verified
 * here; the user's domain lives on another node, so instead of opening
 * a mailbox here (where nothing is delivered for it) the session logs in
 * there and then only copies octets: CAPABILITY, IDLE, COMPRESS and
 * everything else after the login are the home node's.  When the home
 * node cannot be reached or refuses, the client gets NO [UNAVAILABLE]
 * and stays unauthenticated here. */
#include <string.h>

#include <event2/bufferevent.h>

#include "imap/imap_private.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "net/mailproxy.h"
#include "net/nodepeer.h"

#define IMAP_PROXY_TIMEOUT 15		/* connect, and each reply */

static void
imap_proxy_ended(const char *why, uint64_t to_home, uint64_t to_client,
    void *ctx)
{
	struct imap_session *s = ctx;

	log_info("%s imap proxy-end user=%s home=%s reason=\"%s\" "
	    "to_home=%llu to_client=%llu", s->id, log_q(s->address),
	    log_q(s->proxy_node), why, (unsigned long long)to_home,
	    (unsigned long long)to_client);
	mailproxy_free(&s->proxy);
	s->state = IMAP_STATE_LOGOUT;
	imap_session_end(s);
}

static void
imap_proxy_login_cb(bool ok, const char *caps, const char *why, void *ctx)
{
	struct imap_session *s = ctx;

	if (s->dead) {
		imap_session_free(&s);
		return;
	}
	if (!ok) {
		log_warnx("%s imap proxy-failed user=%s address=%s home=%s "
		    "reason=%s", s->id, log_q(s->address), s->addr,
		    log_q(s->proxy_node), log_q(why));
		mailproxy_free(&s->proxy);
		s->address[0] = '\0';
		imap_reply(s, "%s NO [UNAVAILABLE] The mailbox's server is "
		    "not reachable, try again later", s->tag);
		imap_session_resume(s);
		return;
	}
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_IMAP][1]);
	log_info("%s imap proxy user=%s address=%s home=%s tls=%s", s->id,
	    log_q(s->address), s->addr, log_q(s->proxy_node),
	    s->tls ? "yes" : "no");
	if (caps[0] != '\0')
		imap_reply(s, "%s OK [CAPABILITY %s] Logged in", s->tag, caps);
	else
		imap_reply(s, "%s OK Logged in", s->tag);
	imap_session_flush(s);
	s->state = IMAP_STATE_AUTH;
	mailproxy_relay(s->proxy, s->bev, (unsigned)s->conf->imap_timeout,
	    imap_proxy_ended, s);
}

void
imap_proxy_start(struct imap_session *s, const char *tag, const char *user,
    const char *password, const struct nodepeer_home *home)
{
	char ip[64];
	struct mailproxy_params p = {
		.proto = MAILPROXY_IMAP, .session_id = s->id,
		.node = home->node, .addr = &home->addr,
		.source = home->source, .user = user, .password = password,
		.client_ip = ip, .timeout = IMAP_PROXY_TIMEOUT,
	};

	str_lcpy(ip, s->addr, sizeof(ip));
	str_lcpy(s->tag, tag, sizeof(s->tag));
	str_lcpy(s->address, user, sizeof(s->address));
	str_lcpy(s->proxy_node, home->node, sizeof(s->proxy_node));
	s->proxy = mailproxy_start(s->srv->env->base, &p,
	    imap_proxy_login_cb, s);
}

bool
imap_proxy_shutdown(struct imap_session *s)
{
	if (s->proxy == NULL || !mailproxy_relaying(s->proxy))
		return false;
	imap_proxy_ended("shutdown", 0, 0, s);
	return true;
}
