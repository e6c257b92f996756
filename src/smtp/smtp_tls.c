/* TLS for SMTP sessions: STARTTLS on the smtp and submission listeners
 * (RFC 3207) and implicit TLS on submissions listeners (RFC 8314), both
 * as OpenSSL socket bufferevents.  Bytes the client pipelined behind
 * STARTTLS are thrown away before the handshake (CVE-2011-0411 class:
 * they were sent in the clear and must never run under TLS), and after
 * the handshake the session forgets HELO, the transaction and any
 * authentication (RFC 3207 4.2).  Certificates and protocol settings
 * live in net/tls.c. */
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "net/tls.h"
#include "smtp/smtpd_private.h"

bool
smtp_tls_available(const struct smtp_session *s)
{
	return s->srv->tls != NULL && !s->tls &&
	    s->kind != SMTPD_KIND_SUBMISSIONS;
}

const char *
smtp_tls_bev_error(struct bufferevent *bev)
{
	static char buf[256];
	unsigned long e, best = 0;

	/* libevent queues OpenSSL's errors and, after them, bare
	 * SSL_get_error() codes (library 0), which say nothing. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (best == 0 || ERR_GET_LIB(best) == 0)
			best = e;
	if (best == 0)
		return "connection closed";
	if (ERR_GET_LIB(best) == 0)
		return "TLS protocol error";
	ERR_error_string_n(best, buf, sizeof(buf));
	return buf;
}

void
smtp_tls_starttls(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);

	if (junk > 0) {
		/* Plaintext sent behind STARTTLS: never executed. */
		evbuffer_drain(in, junk);
		log_info("%s smtp starttls-discarded bytes=%zu", s->id, junk);
	}
	/* Nothing more is read in the clear: the next bytes are the
	 * ClientHello, for the TLS bufferevent that smtp_tls_switch()
	 * puts on the socket once the 220 has been written. */
	bufferevent_disable(s->bev, EV_READ);
	smtp_tx_free(&s->tx);
	smtp_session_enter_state(s, SMTP_STATE_TLS);
	smtp_session_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_session_flush(s);
	bufferevent_set_timeouts(s->bev, NULL, &(struct timeval){
	    (time_t)s->conf->timeout_tls, 0 });
}

bool
smtp_tls_switch_pending(const struct smtp_session *s)
{
	return s->state == SMTP_STATE_TLS &&
	    bufferevent_openssl_get_ssl(s->bev) == NULL;
}

/* The 220 is out: the socket moves from the plaintext bufferevent to an
 * OpenSSL one (no filter over the old one, so TLS costs no extra copy
 * and "written" means handed to the kernel on both).  -1 when the
 * session could not continue (the caller ends it). */
int
smtp_tls_switch(struct smtp_session *s)
{
	struct bufferevent *old = s->bev, *bev;
	evutil_socket_t fd = bufferevent_getfd(old);
	SSL *ssl;

	if ((ssl = tls_server_ssl(s->srv->tls)) == NULL)
		return -1;
	bev = bufferevent_openssl_socket_new(bufferevent_get_base(old), fd,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_warnx("%s smtp tls-bev-failed", s->id);
		SSL_free(ssl);
		return -1;
	}
	/* The old bufferevent must not close the socket it hands over. */
	bufferevent_setfd(old, -1);
	bufferevent_free(old);
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	smtp_session_setup_bev(s, bev);
	smtp_session_set_timeout(s, s->conf->timeout_tls);
	return 0;
}

struct bufferevent *
smtp_tls_accept(struct smtp_session *s, int fd)
{
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = tls_server_ssl(s->srv->tls)) == NULL) {
		log_warnx("%s smtp tls-unavailable address=%s", s->id, s->addr);
		close(fd);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(s->srv->env->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_warnx("%s smtp tls-bev-failed", s->id);
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
smtp_tls_established(struct smtp_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	const char *sni = ssl != NULL ?
	    SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;

	s->tls = true;
	str_lcpy(s->tls_version, tls_version(ssl), sizeof(s->tls_version));
	str_lcpy(s->tls_cipher, tls_cipher(ssl), sizeof(s->tls_cipher));
	log_info("%s smtp tls version=%s cipher=%s sni=%s", s->id,
	    s->tls_version, s->tls_cipher, log_q(sni != NULL ? sni : ""));
	smtp_session_set_timeout(s, s->conf->smtp_timeout);
	if (s->state != SMTP_STATE_TLS) {
		/* Implicit TLS: now the greeting. */
		struct timeval now = { 0, 0 };

		evtimer_add(s->greet_timer, &now);
		return;
	}
	/* RFC 3207 4.2: discard all knowledge obtained from the client
	 * before TLS, as if the connection had just been opened. */
	s->helo[0] = '\0';
	s->esmtp = false;
	s->auth_user[0] = '\0';
	s->relay_ok = s->kind == SMTPD_KIND_SMTP &&
	    cidr_list_match(&s->conf->relay_networks,
	    (const struct sockaddr *)&s->peer);
	smtp_auth_free(&s->auth);
	smtp_session_enter_state(s, SMTP_STATE_HELO);
	smtp_session_process(s);
}

void
smtp_tls_close(struct smtp_session *s)
{
	SSL *ssl;

	if (!s->tls || (ssl = bufferevent_openssl_get_ssl(s->bev)) == NULL)
		return;
	/* One non-blocking attempt: the peer's reply is not awaited. */
	if (SSL_shutdown(ssl) < 0)
		ERR_clear_error();
}
