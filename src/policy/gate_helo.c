/* HELO/EHLO name checks (each switched on by its own key):
 * helo_reject_bare_ip   an IP address without the brackets of an
 *                       address literal (RFC 5321 4.1.3 wants [1.2.3.4])
 * helo_reject_malformed neither an address literal that parses nor a
 *                       fully qualified host name (RFC 5321 4.1.1.1,
 *                       RFC 1123 2.1: letters, digits, '-', two labels)
 * helo_reject_self      the client claims to be this server (hostname)
 * Each gives 550 5.7.1 at RCPT (where domain rules may override it).
 * The name is not looked up in DNS: many legitimate servers' are wrong. */
#include <arpa/inet.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/strutil.h"
#include "policy/policy_private.h"

static bool
gate_helo_is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
static bool
gate_helo_literal_ok(const char *s)
{
	char inner[64];
	size_t n = strlen(s);
	unsigned char buf[16];

	if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(inner))
		return false;
	memcpy(inner, s + 1, n - 2);
	inner[n - 2] = '\0';
	if (strncasecmp(inner, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, inner + 5, buf) == 1;
	return inet_pton(AF_INET, inner, buf) == 1;
}

/* A fully qualified host name: LDH labels of 1-63 octets, not starting
 * or ending with '-', at least two of them, the last not all digits. */
static bool
gate_helo_fqdn(const char *s)
{
	size_t labels = 0, len = 0;
	bool alpha_in_last = false;
	const char *p;

	if (strlen(s) > 253)
		return false;
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (len == 0 || p[-1] == '-')
				return false;
			labels++;
			if (*p == '\0')
				break;
			len = 0;
			alpha_in_last = false;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
		if ((len == 0 && *p == '-') || ++len > 63)
			return false;
		if ((*p < '0' || *p > '9') && *p != '-')
			alpha_in_last = true;
	}
	return labels >= 2 && alpha_in_last;
}

const char *
gate_helo_problem(const struct conf *c, const char *helo)
{
	size_t n = strlen(helo);

	if (c->helo_reject_bare_ip && gate_helo_is_ip(helo))
		return "bare IP address, use an address literal";
	if (c->helo_reject_self && (str_ieq(helo, c->hostname) ||
	    (n > 0 && helo[n - 1] == '.' && n - 1 == strlen(c->hostname) &&
	    strncasecmp(helo, c->hostname, n - 1) == 0)))
		return "claims to be this server";
	if (c->helo_reject_malformed && helo[0] == '[')
		return gate_helo_literal_ok(helo) ? NULL :
		    "malformed address literal";
	if (c->helo_reject_malformed && !gate_helo_is_ip(helo) &&
	    !gate_helo_fqdn(helo))
		return "not a fully qualified host name";
	return NULL;
}

static bool
gate_helo_enabled(const struct conf *c)
{
	return c->helo_reject_malformed || c->helo_reject_bare_ip ||
	    c->helo_reject_self;
}

static void *
gate_helo_start(struct policy_gate_call *call)
{
	const char *why = gate_helo_problem(call->conf, call->client->helo);

	if (why == NULL)
		policy_gate_finish(call, POLICY_ACCEPT, 0, NULL, NULL);
	else
		policy_gate_finish(call, POLICY_REJECT, 550, "5.7.1",
		    "Bad HELO %s: %s", call->client->helo, why);
	return NULL;
}

const struct policy_gate gate_helo = {
	.name = "helo",
	.stage = POLICY_HELO,
	.enabled = gate_helo_enabled,
	.start = gate_helo_start,
};
