/* The mail services a customer's client connects to, from the
 * configuration in force: for IMAP, POP3 and SMTP submission, each port
 * with its security (implicit TLS, STARTTLS or none) on the server's
 * host name.  One list for every edge that tells clients how to
 * connect: the SRV records to publish (ops_dnsrec.h), the autoconfig
 * documents and the help page (admin/autoconfig.h).  Pure: no I/O. */
#ifndef FERRY_OPS_SERVICES_H
#define FERRY_OPS_SERVICES_H
#include <stddef.h>

struct conf;

enum ops_service_proto { OPS_SVC_IMAP, OPS_SVC_POP3, OPS_SVC_SMTP };

enum ops_service_sec {
	OPS_SVC_TLS,		/* TLS from the first byte (993, 995, 465) */
	OPS_SVC_STARTTLS,	/* plain connection, then STARTTLS */
	OPS_SVC_PLAIN		/* no TLS at all (no tls_cert) */
};

struct ops_service {
	enum ops_service_proto proto;
	enum ops_service_sec sec;
	unsigned port;
	const char *srv;	/* RFC 6186 label: "_imaps._tcp", ... */
};

#define OPS_SERVICES_MAX 32

/* In the order clients should prefer them: IMAP before POP3, implicit
 * TLS before STARTTLS, then listener order; a port listed twice (two
 * addresses) once.  Implicit-TLS listeners are left out without a
 * tls_cert.  host is the name clients connect to (the hostname). */
struct ops_services {
	char host[256];
	struct ops_service v[OPS_SERVICES_MAX];
	size_t n;
};

void ops_services(const struct conf *conf, struct ops_services *out);
/* The first service of proto (any security), or NULL. */
const struct ops_service *ops_services_first(const struct ops_services *s,
    enum ops_service_proto proto);
/* "IMAP", "POP3", "SMTP". */
const char *ops_service_proto_str(enum ops_service_proto p);
/* "tls", "starttls", "none". */
const char *ops_service_sec_str(enum ops_service_sec s);

#endif
