/* The sendmail interface (cmd_sendmail.c, cmd_sendmail_smtp.c) and the
 * message it reads (sendmail_msg.c, no I/O but sendmail_msg_read): lines
 * made CRLF, sendmail's lone-dot rule, the header section split off so
 * that recipients can be read from it (-t) and missing fields added. */
#ifndef FERRY_SENDMAIL_H
#define FERRY_SENDMAIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/fbuf.h"

struct cli;

struct sendmail_opts {
	bool extract;			/* -t */
	bool ignore_dots;		/* -i, -oi */
	bool smtp;			/* -bs */
	const char *sender;		/* -f, -r */
	const char *fullname;		/* -F */
	int first_rcpt;			/* argv index */
};

struct sendmail_msg {
	struct fbuf hdr;		/* header fields, CRLF lines */
	struct fbuf body;		/* after the empty line, CRLF lines */
	struct fbuf line;		/* the line being read */
	bool in_body, ended;
	bool dots;			/* a line "." ends the input */
	uint64_t size, max;
	const char *error;		/* static, after a failed feed */
};

/* max: octets of content accepted (0: no limit). */
void sendmail_msg_init(struct sendmail_msg *m, bool dots, uint64_t max);
void sendmail_msg_free(struct sendmail_msg *m);
/* Input bytes; 1 when the lone dot ended the message (the rest is not
 * read), 0 for more, -1 with m->error (a NUL, a bare CR, a line over 998
 * octets, too big). */
int sendmail_msg_feed(struct sendmail_msg *m, const void *p, size_t n);
/* End of input (an unterminated last line counts as a line): 0 or -1. */
int sendmail_msg_finish(struct sendmail_msg *m);
/* Reads f to its end or the lone dot: 0 or -1 with *why_r. */
int sendmail_msg_read(struct sendmail_msg *m, FILE *f, const char **why_r);
/* The unfolded values of every field called name, as one list. */
void sendmail_msg_field(const struct sendmail_msg *m, const char *name,
    struct fbuf *out);
/* Removes Bcc and adds From (fullname <sender>), Date and Message-ID when
 * missing. */
void sendmail_msg_complete(struct sendmail_msg *m, const char *hostname,
    const char *sender, const char *fullname);
uint64_t sendmail_msg_size(const struct sendmail_msg *m);
/* Appends the message (header, empty line, body) to out. */
void sendmail_msg_write(const struct sendmail_msg *m, struct fbuf *out);

/* Writes one message into the maildrop (cmd_sendmail.c): 0 or a
 * sysexits code after printing why. */
int sendmail_queue(const struct cli *cli, const struct sendmail_opts *o,
    int argc, char **argv, struct sendmail_msg *m);
/* -bs: SMTP on standard input and output (cmd_sendmail_smtp.c). */
int sendmail_smtp(const struct cli *cli, const struct sendmail_opts *o);

#endif
