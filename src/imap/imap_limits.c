/* Per-user session limits and the client address a trusted proxy gives.
 *
 * imap_max_user_sessions: a login past that many logged-in sessions of
 * the same user in this process is refused with NO [LIMIT] (the session
 * stays unauthenticated and may log out); per address the listener
 * already counts connections (max_connections_per_ip).
 *
 * imap_trusted_proxies: a webmail or proxy in that list may tell the
 * client's address with ID ("x-originating-ip" ...) before login (RFC
 * 2971 fields as Dovecot and Roundcube send them).  From then on the
 * session's peer is that address: logs, the failed-login bans and their
 * exemptions apply to the client, not to the webmail host.  Whether a
 * password may be sent without TLS is still decided by the connection's
 * own address (imap_plaintext_ok).  From anyone else the field is
 * ignored (and logged), as is a second one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "imap/imap_private.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "net/listener.h"

bool
imap_limits_user_full(const struct imap_session *s, const char *user)
{
	unsigned max = s->conf->imap_max_user_sessions, n = 0;

	for (struct listener_session *ls = listener_set_first(s->srv->lset);
	    ls != NULL; ls = ls->next) {
		const struct imap_session *o = ls->owner;

		if (o != s && o->state != IMAP_STATE_NOAUTH &&
		    o->state != IMAP_STATE_LOGOUT && str_ieq(o->address, user))
			n++;
	}
	return n >= max;
}

/* An IPv4 or IPv6 literal (no port, no brackets) as a sockaddr. */
static int
imap_limits_parse_addr(const char *v, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, v, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, v, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

void
imap_limits_id_field(struct imap_session *s, const char *key,
    const char *value)
{
	struct sockaddr_storage ss;
	char addr[sizeof(s->addr)];

	if (!str_ieq(key, "x-originating-ip") || value == NULL)
		return;
	if (s->state != IMAP_STATE_NOAUTH || s->proxied ||
	    !cidr_list_match(&s->conf->imap_trusted_proxies,
	    (const struct sockaddr *)&s->conn_peer)) {
		log_info("%s imap id-ignored address=%s field=x-originating-ip "
		    "value=%s reason=%s", s->id, s->addr, log_q(value),
		    s->state != IMAP_STATE_NOAUTH ? "logged-in" : s->proxied ?
		    "repeated" : "untrusted");
		/* unless it is another node naming its client: the login
		 * decides that with the store's node list (imap_cmd_any.c) */
		if (s->state == IMAP_STATE_NOAUTH && !s->proxied &&
		    imap_limits_parse_addr(value, &ss) == 0) {
			s->claim = ss;
			s->have_claim = true;
		}
		return;
	}
	if (imap_limits_parse_addr(value, &ss) < 0) {
		log_info("%s imap id-ignored address=%s field=x-originating-ip "
		    "value=%s reason=invalid", s->id, s->addr, log_q(value));
		return;
	}
	cidr_addr_str((const struct sockaddr *)&ss, addr, sizeof(addr));
	log_info("%s imap proxied address=%s proxy=%s", s->id, addr, s->addr);
	s->peer = ss;
	str_lcpy(s->addr, addr, sizeof(s->addr));
	s->proxied = true;
}
