/* POP3 command-line parser (RFC 1939 section 3 and 9, RFC 2449 CAPA and
 * its limits, RFC 2595 STLS, RFC 5034 AUTH), no I/O.  The session hands
 * it one line without the CRLF; it fills a struct pop3_command that owns
 * every string it points to.  It also holds the byte-level transformer
 * that turns a message file into the RETR/TOP response body (CRLF line
 * ends, dot-stuffing, line counting for TOP). */
#ifndef FERRY_POP3_PARSER_H
#define FERRY_POP3_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fbuf;

#define POP3_LINE_MAX 1024	/* a command line incl CRLF; RFC 2449 says
				 * 255, AUTH responses need more */
#define POP3_ARG_MAX 320	/* USER and AUTH mechanism names */

enum pop3_cmd {
	POP3_CMD_UNKNOWN = 0,
	POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_AUTH, POP3_CMD_STLS,
	POP3_CMD_CAPA, POP3_CMD_STAT, POP3_CMD_LIST, POP3_CMD_RETR,
	POP3_CMD_DELE, POP3_CMD_NOOP, POP3_CMD_RSET, POP3_CMD_QUIT,
	POP3_CMD_TOP, POP3_CMD_UIDL, POP3_CMD_APOP, POP3_CMD_XCLIENT,
	POP3_CMD_COUNT
};

struct pop3_command {
	enum pop3_cmd cmd;
	const char *verb;	/* as sent, upper-cased (for logs) */
	/* USER: the name; PASS: the rest of the line (spaces allowed);
	 * AUTH: the mechanism (upper-cased) or "" when none; XCLIENT: the
	 * address of ADDR=, checked for its characters and length only
	 * (the session parses it). */
	const char *arg;
	const char *arg2;	/* AUTH initial response, NULL when absent */
	bool has_msg;		/* LIST/UIDL with an argument; RETR, DELE, TOP */
	uint32_t msg;		/* message number, >= 1 */
	uint64_t lines;		/* TOP: body lines */
	char buf[POP3_LINE_MAX + 1];
};

enum pop3_parse_error {
	POP3_PERR_NONE = 0,
	POP3_PERR_EMPTY,	/* empty line */
	POP3_PERR_LONG,		/* longer than POP3_LINE_MAX - 2 */
	POP3_PERR_NUL,		/* NUL or other control octet */
	POP3_PERR_UNKNOWN,	/* unknown command */
	POP3_PERR_ARGS,		/* missing or extra arguments */
	POP3_PERR_NUMBER,	/* not a valid message number / line count */
	POP3_PERR_ADDR		/* XCLIENT: not ADDR= and an address */
};

/* XCLIENT ADDR=: the longest address taken (an IPv6 literal with an
 * IPv4 tail, INET6_ADDRSTRLEN - 1). */
#define POP3_XCLIENT_ADDR_MAX 45

/* Parses len octets (no CRLF).  Verbs are case-blind; arguments are
 * separated by single or multiple spaces.  Numbers are decimal digits
 * only (no sign), messages 1..2^32-1.  0, or -1 with *err_r set; cmd
 * stays valid until the next parse. */
int pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
    enum pop3_parse_error *err_r);
/* Text of a parse error for a "-ERR" reply. */
const char *pop3_parse_error_text(enum pop3_parse_error e);
const char *pop3_cmd_name(enum pop3_cmd cmd);

/* The RETR/TOP body transformer.  Feed the file's bytes in any chunks;
 * output gets LF turned into CRLF (CRLF stays), a '.' at a line start
 * doubled, and for TOP only the header, the empty line and `lines` body
 * lines.  pop3_stuff_end() adds a CRLF when the content did not end with
 * one, then the ".\r\n" terminator. */
struct pop3_stuff {
	bool top;		/* stop after the body lines */
	uint64_t lines;		/* body lines left to send (TOP) */
	bool in_body;
	bool line_start;
	uint64_t line_len;	/* octets of the current line so far */
	bool done;		/* TOP reached its limit: ignore the rest */
	char prev;		/* last input octet */
};

void pop3_stuff_init(struct pop3_stuff *st, bool top, uint64_t lines);
/* Appends the transformed bytes to out (which has no limit). */
void pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t n,
    struct fbuf *out);
void pop3_stuff_end(struct pop3_stuff *st, struct fbuf *out);

#endif
