/* The maildrop file: how `ferry sendmail` (any local user) hands a
 * message to the queue role without the network, whether the server runs
 * or not.  One file per message in maildrop_dir:
 *
 *   "ferry-maildrop 1" LF
 *   "S " sender LF                 (empty after "S ": the null sender)
 *   "R " recipient LF              (1 to MAILDROP_RCPT_MAX of them)
 *   "E" LF
 *   content: the message, every line ending CRLF
 *
 * The writer is not trusted: the pickup checks every record and line
 * (maildrop_env_parse, maildrop_content_*) and takes the submitting user
 * from the file's owner, never from the content.  No I/O here. */
#ifndef FERRY_MAILDROP_H
#define FERRY_MAILDROP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fbuf;

#define MAILDROP_MAGIC "ferry-maildrop 1\n"
#define MAILDROP_RCPT_MAX 1000
#define MAILDROP_ADDR_MAX 320		/* octets of one address */
#define MAILDROP_HEAD_MAX (16 + 1024 * (MAILDROP_ADDR_MAX + 3))
#define MAILDROP_LINE_MAX 1000		/* content line, CRLF included */
#define MAILDROP_TMP_PREFIX "tmp."	/* being written */
#define MAILDROP_MSG_PREFIX "msg."	/* complete: the rename commits */

struct maildrop_env {
	char *sender;			/* "" for the null sender */
	char **rcpts;
	size_t nrcpts;
};

/* True when a is an address a record may hold: 1 to MAILDROP_ADDR_MAX
 * printable octets (UTF-8 allowed) without space, '<', '>', with an '@'
 * that has something on both sides (the last '@', for quoted locals),
 * and after it a domain of letters, digits, '-', '.' and UTF-8, or an
 * address literal in brackets. */
bool maildrop_addr_ok(const char *a);
/* Appends the records for e (addresses already checked) to out. */
void maildrop_env_format(const struct maildrop_env *e, struct fbuf *out);
/* Parses the records at the start of buf[0..len): 1 with e filled and
 * *content_r the offset of the content, 0 when the "E" record is not
 * within len (more bytes needed; malformed at MAILDROP_HEAD_MAX), -1 with
 * *error_r (static) when malformed.  e is freed by maildrop_env_free
 * after 1; after 0 or -1 nothing is held. */
int maildrop_env_parse(const char *buf, size_t len, struct maildrop_env *e,
    size_t *content_r, const char **error_r);
void maildrop_env_free(struct maildrop_env *e);

/* Streaming check of the content: CRLF line ends only, no NUL, lines of
 * at most MAILDROP_LINE_MAX octets, at most max octets (0: no limit). */
struct maildrop_check {
	uint64_t size, max;
	size_t line;			/* octets of the current line */
	bool cr;			/* the last octet was CR */
};
void maildrop_check_init(struct maildrop_check *c, uint64_t max);
/* 0, or -1 with *error_r (static) at the first fault. */
int maildrop_check_feed(struct maildrop_check *c, const void *p, size_t n,
    const char **error_r);
/* The content must end at a line end: 0 or -1 with *error_r. */
int maildrop_check_end(const struct maildrop_check *c, const char **error_r);

#endif
