/* A POP3 login proxied to the user's home node (mailbox homing, issue
 * 15; net/mailproxy.h does the connection).  The password was verified
 * here; the user's domain lives on another node, so instead of claiming
 * a maildrop here (where nothing is delivered for it) the session logs
 * in there and then only copies octets: STAT, RETR, DELE and the QUIT
 * that commits them are the home node's.  When the home node cannot be
 * reached or refuses, the client gets -ERR [SYS/TEMP] and stays in the
 * AUTHORIZATION state here. */
#include <string.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "net/mailproxy.h"
#include "net/nodepeer.h"
#include "pop3/pop3_private.h"

#define POP3_PROXY_TIMEOUT 15		/* connect, and each reply */

static void
pop3_proxy_ended(const char *why, uint64_t to_home, uint64_t to_client,
    void *ctx)
{
	struct pop3_session *s = ctx;

	log_info("%s pop3 proxy-end user=%s home=%s reason=\"%s\" "
	    "to_home=%llu to_client=%llu", s->id, log_q(s->address),
	    log_q(s->proxy_node), why, (unsigned long long)to_home,
	    (unsigned long long)to_client);
	mailproxy_free(&s->proxy);
	pop3_session_enter_state(s, POP3_STATE_QUIT);
	pop3_session_end(s);
}

static void
pop3_proxy_login_cb(bool ok, const char *caps, const char *why, void *ctx)
{
	struct pop3_session *s = ctx;

	if (s->dead) {
		pop3_session_free(&s);
		return;
	}
	if (!ok) {
		log_warnx("%s pop3 proxy-failed user=%s address=%s home=%s "
		    "reason=%s", s->id, log_q(s->address), s->addr,
		    log_q(s->proxy_node), log_q(why));
		mailproxy_free(&s->proxy);
		s->address[0] = '\0';
		pop3_session_reply(s, "-ERR [SYS/TEMP] The mailbox's server "
		    "is not reachable, try again later");
		pop3_session_resume(s);
		return;
	}
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_POP3][1]);
	log_info("%s pop3 proxy user=%s address=%s home=%s tls=%s", s->id,
	    log_q(s->address), s->addr, log_q(s->proxy_node),
	    s->tls ? "yes" : "no");
	pop3_session_reply(s, "+OK Logged in");
	pop3_session_flush(s);
	pop3_session_enter_state(s, POP3_STATE_TRANS);
	mailproxy_relay(s->proxy, s->bev, (unsigned)s->conf->pop3_timeout,
	    pop3_proxy_ended, s);
}

void
pop3_proxy_start(struct pop3_session *s, const char *user,
    const char *password, const struct nodepeer_home *home)
{
	char ip[64];
	struct mailproxy_params p = {
		.proto = MAILPROXY_POP3, .session_id = s->id,
		.node = home->node, .addr = &home->addr,
		.source = home->source, .user = user, .password = password,
		.client_ip = ip, .timeout = POP3_PROXY_TIMEOUT,
	};

	str_lcpy(ip, s->addr, sizeof(ip));
	str_lcpy(s->address, user, sizeof(s->address));
	str_lcpy(s->proxy_node, home->node, sizeof(s->proxy_node));
	s->proxy = mailproxy_start(s->srv->env->base, &p,
	    pop3_proxy_login_cb, s);
}

bool
pop3_proxy_shutdown(struct pop3_session *s)
{
	if (s->proxy == NULL || !mailproxy_relaying(s->proxy))
		return false;
	pop3_proxy_ended("shutdown", 0, 0, s);
	return true;
}
