/* RFC 5321 / RFC 6531 mailbox and path parsing, no I/O.
 *   Path      = "<" [ A-d-l ":" ] Mailbox ">"     (source route ignored)
 *   Mailbox   = Local-part "@" ( Domain / address-literal )
 * Local parts: dot-atom or quoted-string; UTF-8 allowed only with
 * SMTP_ADDR_F_UTF8.  Limits: local part 64 octets, domain 255, path 256. */
#ifndef FERRY_SMTP_ADDR_H
#define FERRY_SMTP_ADDR_H
#include <stdbool.h>
#include <stddef.h>

#define SMTP_ADDR_LOCAL_MAX 64
#define SMTP_ADDR_DOMAIN_MAX 255
#define SMTP_ADDR_PATH_MAX 256

/* flags for smtp_addr_parse_path() */
#define SMTP_ADDR_F_UTF8	0x01	/* SMTPUTF8 given: allow UTF-8 */
#define SMTP_ADDR_F_ALLOW_NULL	0x02	/* "<>" allowed (MAIL FROM) */
#define SMTP_ADDR_F_POSTMASTER	0x04	/* bare "<Postmaster>" allowed (RCPT) */
#define SMTP_ADDR_F_NO_BRACKETS	0x08	/* accept "user@dom" without <> too */

struct smtp_addr {
	/* Local part in canonical form: a dot-atom as given, or a quoted
	 * string reduced to its dot-atom form when it is one ("a.b" -> a.b),
	 * otherwise kept quoted with only necessary escapes. */
	char local[SMTP_ADDR_LOCAL_MAX * 2 + 3];
	/* Domain as given (no trailing dot), or "[literal]" with brackets. */
	char domain[SMTP_ADDR_DOMAIN_MAX + 1];
	bool null;		/* "<>" */
	bool postmaster;	/* bare "<Postmaster>": domain is empty */
	bool literal;		/* domain is an address literal */
	bool utf8;		/* contains non-ASCII octets */
};

/* Parses a complete path such as "<user@example.org>" (len octets, no
 * NUL required).  0, or -1 with *error_r a static reason text. */
int smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
    struct smtp_addr *a, const char **error_r);
/* Parses a bare mailbox "user@example.org" (used by the CLI and the
 * alias table).  Same returns. */
int smtp_addr_parse_mailbox(const char *s, size_t len, unsigned flags,
    struct smtp_addr *a, const char **error_r);
/* "local@domain" (or "" for null, "postmaster" for bare Postmaster) into
 * dst; returns the length, or -1 when it does not fit. */
int smtp_addr_format(const struct smtp_addr *a, char *dst, size_t size);
/* RFC 1035 host name syntax check used for domains and HELO names:
 * letters, digits, hyphens, dots, labels 1..63, total <= 255; UTF-8
 * labels accepted when utf8 is true. */
bool smtp_addr_domain_valid(const char *s, size_t len, bool utf8);

#endif
