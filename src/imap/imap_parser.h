/* IMAP command reader (RFC 3501 / RFC 9051 section 9 "command", RFC 7888
 * LITERAL+ and LITERAL-, RFC 3516 literal8), no I/O.  The session feeds
 * whatever octets arrived; the reader assembles one whole command (tag,
 * name, argument tree), across lines joined by literals, under explicit
 * limits.  It knows no command's grammar: src/imap/imap_args.h turns
 * arguments into sequence sets, FETCH items, SEARCH keys and STORE
 * operations.  AUTHENTICATE responses and IDLE's DONE are lines the
 * session reads itself, outside this reader. */
#ifndef FERRY_IMAP_PARSER_H
#define FERRY_IMAP_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fbuf.h"

#define IMAP_TAG_MAX 64		/* longer tags are refused */
#define IMAP_NAME_MAX 32	/* command names ("UID" counts as one) */
#define IMAP_LITERAL_MINUS_MAX 4096	/* RFC 7888 section 4 */

struct imap_parser_limits {
	size_t line_max;	/* one line incl. CRLF, outside literals */
	uint64_t literal_max;	/* one literal's octets */
	uint64_t nonsync_max;	/* one {n+} literal: literal_max under
				 * LITERAL+, IMAP_LITERAL_MINUS_MAX under
				 * LITERAL-, 0 refuses them */
	size_t command_max;	/* all argument octets of one command */
	unsigned depth_max;	/* parenthesised list nesting */
	unsigned args_max;	/* arguments, counting every list member */
};

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* also flags (\Seen), numbers, sequence
				 * sets and fetch items with [...]<...> */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,	/* {n}, {n+} and ~{n} */
	IMAP_ARG_LIST
};

/* One argument.  str is NUL-terminated (a literal may hold NULs: use
 * len); list members are list[0 .. count-1].  Everything lives in the
 * parser until the next imap_parser_feed() or imap_parser_free(). */
struct imap_arg {
	enum imap_arg_type type;
	bool literal8;		/* ~{n}: binary content allowed */
	const char *str;	/* "" for lists */
	size_t len;
	const struct imap_arg *list;
	unsigned count;
};

struct imap_command {
	const char *tag;
	const char *name;	/* upper-cased */
	const struct imap_arg *args;
	unsigned count;
};

enum imap_parse_error {
	IMAP_PERR_NONE = 0,
	IMAP_PERR_TAG,		/* missing or invalid tag */
	IMAP_PERR_NAME,		/* missing or invalid command name */
	IMAP_PERR_SYNTAX,	/* bad character, quoting or spacing */
	IMAP_PERR_NUL,		/* NUL outside a literal */
	IMAP_PERR_LINE,		/* line longer than line_max */
	IMAP_PERR_LITERAL,	/* literal larger than its limit */
	IMAP_PERR_COMMAND,	/* command larger than command_max */
	IMAP_PERR_DEPTH,	/* lists nested deeper than depth_max */
	IMAP_PERR_ARGS,		/* more than args_max arguments */
	IMAP_PERR_LIST		/* unbalanced parentheses */
};

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,	/* reply with imap_parser_error() */
	IMAP_PARSE_MORE = 0,	/* all input used, command incomplete */
	IMAP_PARSE_DONE = 1,	/* imap_parser_command() is ready */
	IMAP_PARSE_CONTINUE = 2	/* a {n} literal follows: send "+ ..." */
};

struct imap_parser_arg;		/* internal: args under construction */

struct imap_parser {
	struct imap_parser_limits lim, next_lim;
	bool lim_pending;
	int state;
	struct fbuf line;	/* the current line, without literals */
	struct fbuf strs;	/* every argument's text, NUL-separated */
	struct imap_parser_arg *pargs;
	unsigned npargs, cap_pargs;
	unsigned *stack;	/* indexes of the open lists */
	unsigned depth;
	uint64_t lit_left;	/* octets of the literal still to come */
	unsigned lit_arg;
	bool lit_sync;		/* the current literal was {n} */
	bool after_literal;	/* the line continues after a literal */
	char tag[IMAP_TAG_MAX + 1];
	char name[IMAP_NAME_MAX + 1];
	enum imap_parse_error error;
	bool fatal;
	bool tag_ok;
	/* skipping after an error */
	uint64_t skip_left;
	char tail[24];
	size_t tail_len;
	/* the finished command */
	struct imap_arg *out;
	struct imap_command cmd;
};

void imap_parser_init(struct imap_parser *p,
    const struct imap_parser_limits *lim);
/* Takes effect from the next command (for example after login). */
void imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *lim);
void imap_parser_free(struct imap_parser *p);

/* Consumes input from data[0 .. len-1], stopping after a complete
 * command, a {n} literal announcement or an error; *used_r says how many
 * octets were consumed (feed the rest again).  After DONE the command is
 * valid until the next feed.  After ERROR the reader skips the rest of
 * the bad command (its line and any {n+} literals it announced) on the
 * following feeds, unless imap_parser_fatal() is true: then the stream
 * cannot be resynchronised and the session must close after replying. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
    const char *data, size_t len, size_t *used_r);
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* The size of the {n} literal the client waits to be told to send. */
uint64_t imap_parser_literal_size(const struct imap_parser *p);
/* True when the current command has used nothing of the next line: a
 * fresh command may start (used by the session before IDLE/AUTHENTICATE). */
bool imap_parser_idle(const struct imap_parser *p);

enum imap_parse_error imap_parser_error(const struct imap_parser *p);
/* The tag of the failed command, or "*" when none was read. */
const char *imap_parser_error_tag(const struct imap_parser *p);
bool imap_parser_fatal(const struct imap_parser *p);
/* Text for a BAD reply; it starts with "[TOOBIG] " for the size limits
 * (RFC 4469 / RFC 9051 section 7.1). */
const char *imap_parse_error_text(enum imap_parse_error e);

#endif
