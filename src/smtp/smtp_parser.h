/* SMTP command-line parser (RFC 5321 section 4.1, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3030 BDAT), no I/O.  The
 * session hands it one line without the CRLF; it fills a struct
 * smtp_command that owns every string it points to (no allocation). */
#ifndef FERRY_SMTP_PARSER_H
#define FERRY_SMTP_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_addr.h"

#define SMTP_PARSER_LINE_MAX 4096	/* hard cap; sessions use a lower limit */
#define SMTP_PARSER_PARAMS_MAX 16

enum smtp_cmd {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO, SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT,
	SMTP_CMD_DATA, SMTP_CMD_BDAT, SMTP_CMD_RSET, SMTP_CMD_NOOP,
	SMTP_CMD_QUIT, SMTP_CMD_VRFY, SMTP_CMD_EXPN, SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS, SMTP_CMD_AUTH,
	SMTP_CMD_COUNT
};

enum smtp_body { SMTP_BODY_7BIT = 0, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };

struct smtp_param {
	const char *keyword;	/* upper-cased */
	const char *value;	/* NULL when "KEYWORD" has no "=value" */
};

struct smtp_command {
	enum smtp_cmd cmd;
	const char *verb;	/* upper-cased verb as sent (for UNKNOWN logs) */
	const char *arg;	/* text after the verb, "" if none (HELO/EHLO
				 * domain, VRFY/HELP/NOOP/AUTH argument), with
				 * surrounding spaces dropped; not checked
				 * further.  MAIL/RCPT: only "FROM:<...>" /
				 * "TO:<...>" (the parameters are split off) */
	struct smtp_addr path;	/* MAIL/RCPT.  RCPT is parsed allowing
				 * UTF-8: the session must refuse path.utf8
				 * when MAIL had no SMTPUTF8 */
	struct smtp_param params[SMTP_PARSER_PARAMS_MAX];
	size_t nparams;
	/* MAIL parameters, validated: */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	/* BDAT */
	uint64_t chunk_size;
	bool last;
	char buf[SMTP_PARSER_LINE_MAX + 1];	/* storage for the pointers */
};

/* Reply a syntax error should get: "501 5.5.4 ..." etc. */
struct smtp_parse_error {
	int code;		/* 500, 501, 504, 555 */
	const char *enhanced;	/* "5.5.2", "5.5.4", "5.1.3", "5.1.7" ... */
	const char *text;	/* human reason, static */
};

/* Parses `len` octets (no CRLF).  Lines with NUL octets, longer than
 * SMTP_PARSER_LINE_MAX or with 8-bit octets outside addresses given
 * SMTPUTF8 are errors.  An unknown verb returns 0 with cmd UNKNOWN.
 * MAIL/RCPT: addresses parsed with smtp_addr_parse_path(); an unknown
 * MAIL/RCPT parameter is an error (555 5.5.4); SIZE must be decimal,
 * BODY=7BIT|8BITMIME, SMTPUTF8 takes no value.  0 or -1 (err filled).
 * Replies chosen: 500 5.5.2 line too long, NUL, empty line, control or
 * 8-bit octet in the verb; 501 5.5.4 missing/extra argument, control or
 * (outside MAIL/RCPT) 8-bit octet in the argument, "FROM:"/"TO:" missing,
 * bad BDAT size, malformed parameter; 501 5.1.7 bad MAIL address; 501
 * 5.1.3 bad RCPT address; 555 5.5.4 unknown, duplicate or bad-valued
 * parameter, or too many.  "MAIL FROM: <a@b>" (spaces before "<") and
 * trailing spaces are accepted.  cmd stays valid until the next parse. */
int smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    struct smtp_parse_error *err);
/* Name of a command for logs ("MAIL"). */
const char *smtp_cmd_name(enum smtp_cmd cmd);

#endif
