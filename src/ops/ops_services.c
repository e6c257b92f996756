/* The mail services clients connect to (ops_services.h), read from the
 * listener keys: imaps/imap, pop3s/pop3, submissions/submission.  The
 * plain listeners offer STARTTLS whenever a certificate is configured
 * (the roles load tls_cert for every listener), and every listener wants
 * a password (submission always needs AUTH).  It does not look at which
 * addresses a listener binds: a server behind NAT binds a private one. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "ops/ops_services.h"

static void
ops_services_add(struct ops_services *out, const struct conf_listen_list *l,
    enum ops_service_proto proto, enum ops_service_sec sec, const char *srv)
{
	for (size_t i = 0; i < l->n; i++) {
		unsigned long port = strtoul(l->v[i].port, NULL, 10);
		bool seen = false;

		if (port == 0 || port > 65535)
			continue;
		for (size_t k = 0; k < out->n; k++)
			seen |= out->v[k].proto == proto &&
			    out->v[k].port == port;
		if (seen || out->n == OPS_SERVICES_MAX)
			continue;
		out->v[out->n].proto = proto;
		out->v[out->n].sec = sec;
		out->v[out->n].port = (unsigned)port;
		out->v[out->n].srv = srv;
		out->n++;
	}
}

void
ops_services(const struct conf *conf, struct ops_services *out)
{
	bool tls = conf->tls_cert[0] != '\0';
	enum ops_service_sec upgrade = tls ? OPS_SVC_STARTTLS : OPS_SVC_PLAIN;

	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", conf->hostname);
	for (char *p = out->host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (tls)
		ops_services_add(out, &conf->imaps_listen, OPS_SVC_IMAP,
		    OPS_SVC_TLS, "_imaps._tcp");
	ops_services_add(out, &conf->imap_listen, OPS_SVC_IMAP, upgrade,
	    "_imap._tcp");
	if (tls)
		ops_services_add(out, &conf->pop3s_listen, OPS_SVC_POP3,
		    OPS_SVC_TLS, "_pop3s._tcp");
	ops_services_add(out, &conf->pop3_listen, OPS_SVC_POP3, upgrade,
	    "_pop3._tcp");
	if (tls)
		ops_services_add(out, &conf->submissions_listen, OPS_SVC_SMTP,
		    OPS_SVC_TLS, "_submissions._tcp");
	ops_services_add(out, &conf->submission_listen, OPS_SVC_SMTP, upgrade,
	    "_submission._tcp");
}

const struct ops_service *
ops_services_first(const struct ops_services *s, enum ops_service_proto proto)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].proto == proto)
			return &s->v[i];
	return NULL;
}

const char *
ops_service_proto_str(enum ops_service_proto p)
{
	static const char *const names[] = { "IMAP", "POP3", "SMTP" };

	return names[p];
}

const char *
ops_service_sec_str(enum ops_service_sec s)
{
	static const char *const names[] = { "tls", "starttls", "none" };

	return names[s];
}
