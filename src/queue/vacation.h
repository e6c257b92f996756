/* Vacation auto-replies (RFC 3834, with RFC 5230's rules for when not to
 * answer): the decision for one delivered message and the reply's
 * content.  No I/O: the queue role (queue_vacation.c) reads the header
 * section from the spool, the settings and the "already answered"
 * record from the store, and commits what vacation_compose() writes.
 * Everything here reads peer data with explicit limits (fuzzed by
 * tests/fuzz/fuzz_vacation.c). */
#ifndef FERRY_VACATION_H
#define FERRY_VACATION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/fbuf.h"

/* Octets of the original's header section read (the rest is ignored). */
#define VACATION_HEADER_MAX (64 * 1024)

enum vacation_verdict {
	VACATION_ANSWER = 0,
	VACATION_NULL_SENDER,	/* MAIL FROM:<> */
	VACATION_SELF,		/* from the user (or one of its addresses) */
	VACATION_ROBOT_SENDER,	/* MAILER-DAEMON, owner-*, *-request, ... */
	VACATION_AUTO,		/* Auto-Submitted other than "no" */
	VACATION_PRECEDENCE,	/* Precedence: bulk, list or junk */
	VACATION_LIST,		/* List-Id, List-Unsubscribe, ... */
	VACATION_SUPPRESSED,	/* X-Auto-Response-Suppress: OOF or All */
	VACATION_NOT_ADDRESSED,	/* none of the user's addresses in To/Cc */
	VACATION_OUT_OF_DATES	/* before the start or after the end */
};

/* What the decision is made on. */
struct vacation_in {
	const char *sender;		/* the envelope sender, "" for <> */
	const char *const *addrs;	/* the user's addresses, normalised */
	size_t naddrs;
	bool case_sensitive_local;	/* the configuration's rule */
	const char *delimiter;		/* "+" or "" (recipient_delimiter) */
	const char *hdr;		/* the header section (may be cut) */
	size_t hdr_len;
};

/* What the reply takes from the original; vacation_orig_free() it. */
struct vacation_orig {
	struct fbuf subject;		/* decoded to UTF-8, cleaned */
	struct fbuf message_id;		/* "<...>" or empty */
	struct fbuf references;		/* "<a> <b> ..." or empty */
};

/* The verdict for a message (o filled in any case). */
enum vacation_verdict vacation_check(const struct vacation_in *in,
    struct vacation_orig *o);
void vacation_orig_free(struct vacation_orig *o);
/* A word for logs: "answer", "null-sender", "list", ... */
const char *vacation_verdict_name(enum vacation_verdict v);
/* True when now is inside [start, end] (0: no bound). */
bool vacation_in_dates(int64_t start, int64_t end, int64_t now);

struct vacation_reply {
	const char *from;		/* the user's address */
	const char *to;			/* the envelope sender answered */
	const char *subject;		/* the setting; "" for the default */
	const char *body;		/* UTF-8, LF line ends */
	const char *msgid;		/* "<...@host>" for the reply */
	time_t now;
};

/* Appends the reply (header and body, CRLF line ends, no line over 998
 * octets, non-ASCII text encoded: RFC 2047 in the header, base64 in
 * the body) to out. */
void vacation_compose(const struct vacation_reply *r,
    const struct vacation_orig *o, struct fbuf *out);

#endif
