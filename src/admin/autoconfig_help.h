/* The help page's content for one domain: how to set up a mail program
 * by hand, in the words a customer needs (server name, port, security
 * as mail programs label it, user name, when to use which), from the
 * services in force (ops/ops_services.h).  Structured rows for any
 * edge; autoconfig_help_html() renders them as an HTML fragment. */
#ifndef FERRY_AUTOCONFIG_HELP_H
#define FERRY_AUTOCONFIG_HELP_H
#include <stddef.h>

#include "ops/ops_services.h"

struct conf;
struct fbuf;

struct autoconfig_help_row {
	enum ops_service_proto proto;
	const char *what;	/* "Incoming mail (IMAP)", static */
	unsigned port;
	const char *security;	/* "SSL/TLS", "STARTTLS", "None", static */
	const char *when;	/* when to choose this row, static */
};

struct autoconfig_help {
	char domain[256];
	char host[256];		/* the server name for every row */
	char username[300];	/* "your full address: name@DOMAIN" */
	struct autoconfig_help_row v[OPS_SERVICES_MAX];
	size_t n;
};

/* Fills out for domain (normalised, hosted: the caller checks). */
void autoconfig_help(const struct conf *conf, const char *domain,
    struct autoconfig_help *out);
/* The help as an HTML fragment (no page frame: a table per kind, then
 * the user name and password notes, and a form that downloads the
 * Apple profile), every text escaped by html_esc(). */
void autoconfig_help_html(const struct autoconfig_help *h, struct fbuf *out);

#endif
