/* Recipient resolution: what a recipient address delivers to.
 * Order for an address in a local domain: exact alias, user, then the
 * address without its +extension (alias, then user), then the domain's
 * catch-all alias "@domain".  Alias targets are resolved again (depth
 * limit 10, loops broken, duplicates dropped); a target in a non-local
 * domain is a remote recipient.  Used at RCPT time by smtpd. */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define RESOLVE_MAX_DEPTH 10
#define RESOLVE_MAX_TARGETS 100

enum resolve_status {
	RESOLVE_LOCAL = 1,	/* local domain, known: see targets */
	RESOLVE_REMOTE = 2,	/* not a local domain */
	RESOLVE_UNKNOWN = 3,	/* local domain, no such recipient */
	RESOLVE_ERROR = -1	/* store failure: answer 451 */
};

struct resolve_target {
	char address[320];	/* normalised final address */
	bool local;		/* a local mailbox (user) */
	char user[320];		/* local: the user's canonical address */
	uint64_t quota;		/* local: the user's quota, 0 = none */
	bool vacation;		/* local: a vacation reply is on */
};

struct resolve_result {
	struct resolve_target *v;	/* malloc'd */
	size_t n;
};

struct resolve_opts {
	bool case_sensitive_local;	/* default false: lower-case locals */
	const char *delimiter;		/* "+" or "" */
};

/* address: "local@domain" as the client gave it.  Fills r (the caller
 * frees with resolve_result_free) for RESOLVE_LOCAL; r is empty for the
 * other results. */
enum resolve_status resolve_rcpt(struct store *s, const struct resolve_opts *o,
    const char *address, struct resolve_result *r);
void resolve_result_free(struct resolve_result *r);
/* Normalises "Local@Example.ORG." into dst: domain lower-cased, trailing
 * dot dropped, local part lower-cased unless case-sensitive.  0 or -1.
 * A catch-all key "@domain" (empty local part) is accepted too. */
int resolve_normalise(const struct resolve_opts *o, const char *address,
    char *dst, size_t size);
/* The stored form of an address typed by an administrator (command
 * line, alias targets): checks RFC 5321 mailbox syntax (no address
 * literals) and normalises it into dst.  0, or -1 with *error_r a
 * static reason. */
int resolve_parse_mailbox(const struct resolve_opts *o, const char *input,
    char *dst, size_t size, const char **error_r);
/* The same for a domain name: host name syntax, lower-cased, trailing
 * dot dropped.  0 or -1 with *error_r. */
int resolve_parse_domain(const char *input, char *dst, size_t size,
    const char **error_r);

#endif
