/* The home node's replies as the login proxy (mailproxy.h) reads them
 * while it logs in there: one line at a time, without CRLF, no I/O.
 * Only what the proxy acts on is recognised: its own tagged result, the
 * capability lists (untagged or as a response code), POP3's +OK/-ERR
 * and CAPA's terminator. */
#ifndef FERRY_MAILPROXY_REPLY_H
#define FERRY_MAILPROXY_REPLY_H
#include <stdbool.h>
#include <stddef.h>

#define MAILPROXY_CAPS_MAX 1024		/* capability text kept */

enum mailproxy_kind {
	MAILPROXY_OTHER,	/* untagged, another tag, or unparsable */
	MAILPROXY_OK,		/* "<tag> OK ..." */
	MAILPROXY_NO,		/* "<tag> NO ..." */
	MAILPROXY_BAD,		/* "<tag> BAD ..." */
	MAILPROXY_GREETING,	/* "* OK ..." or "* PREAUTH ..." */
	MAILPROXY_BYE		/* "* BYE ..." */
};

struct mailproxy_reply {
	enum mailproxy_kind kind;
	/* The capability list the line carries ("* CAPABILITY a b" or a
	 * "[CAPABILITY a b]" code), printable ASCII only, NUL-terminated;
	 * "" when none (or when it was not clean or too long). */
	char caps[MAILPROXY_CAPS_MAX];
	const char *text;	/* after the status word (in line), for logs */
};

/* Classifies one IMAP line for the proxy's tag (an atom).  r->text
 * points into line, which must be NUL-terminated. */
void mailproxy_imap_line(const char *line, const char *tag,
    struct mailproxy_reply *r);
/* POP3: 1 for "+OK...", 0 for "-ERR...", -1 for anything else. */
int mailproxy_pop3_status(const char *line);
/* True when the space-separated list holds word (case-blind). */
bool mailproxy_caps_has(const char *caps, const char *word);

#endif
