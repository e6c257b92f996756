/* A user's vacation auto-reply (ops.h): the settings the queue role reads
 * when it delivers mail to the user (src/queue/vacation.h decides on
 * and writes the answer, RFC 3834).  The user, a postmaster of the
 * domain or the admin may read and change them.  Every input is checked
 * here, so that the web pages and the command line refuse the same
 * things with the same words.  Blocking (the store): CLI or worker
 * thread; the ops_vacation_parse_* functions do no I/O. */
#ifndef FERRY_OPS_VACATION_H
#define FERRY_OPS_VACATION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops_account.h"

struct fbuf;

#define OPS_VACATION_SUBJECT_MAX 200	/* octets of UTF-8 */
#define OPS_VACATION_BODY_MAX 65536	/* octets of UTF-8 */
#define OPS_VACATION_DAYS_DEFAULT 7
#define OPS_VACATION_DAYS_MAX 365

struct ops_vacation {
	char address[320];		/* the user, normalised */
	bool exists;			/* settings were ever saved */
	bool enabled;
	char *subject;			/* "": "Auto: " + the original's */
	char *body;			/* UTF-8, LF line ends */
	int64_t start, end;		/* unix seconds, 0: no bound */
	unsigned days;			/* once per sender per this */
};

/* A change: every NULL field (and enabled < 0) keeps what is stored. */
struct ops_vacation_change {
	int enabled;			/* -1 keep, 0 off, 1 on */
	const char *subject;		/* "" back to the default */
	const char *body;		/* body_len octets (NUL refused) */
	size_t body_len;
	const char *start, *end;	/* dates (see below); "" no bound */
	const char *days;		/* "1" to OPS_VACATION_DAYS_MAX */
};

/* The settings of user input (defaults when none were saved). */
int ops_vacation_get(const struct ops_ctx *c, const char *input,
    struct ops_vacation *out, struct ops_status *st);
void ops_vacation_free(struct ops_vacation *v);
/* Applies ch to the user's settings and saves them (the senders
 * answered so far are forgotten: a new absence answers everyone once
 * again).  Turning on needs a body and an end (if any) after now. */
int ops_vacation_change(const struct ops_ctx *c, const char *input,
    const struct ops_vacation_change *ch, int64_t now,
    struct ops_status *st);

/* A date as a user gives it, in UTC: "YYYY-MM-DD" (the day's first
 * second, or its last when end_of_day) or "YYYY-MM-DDTHH:MM[:SS]" (a
 * space for the T too, a "Z" at the end allowed).  0 with the time in
 * *t_r, or -1 with a static reason. */
int ops_vacation_parse_date(const char *s, bool end_of_day, int64_t *t_r,
    const char **error_r);
/* "YYYY-MM-DD HH:MM:SS" (UTC) of t into dst (size >= 20). */
void ops_vacation_format_date(int64_t t, char *dst, size_t size);
/* Checks a subject (UTF-8, no control characters, at most
 * OPS_VACATION_SUBJECT_MAX octets): 0 or -1 with a static reason. */
int ops_vacation_check_subject(const char *s, size_t len,
    const char **error_r);
/* Checks a body (UTF-8, no NUL or other control characters but TAB,
 * CR and LF, no lone CR, at most OPS_VACATION_BODY_MAX octets) and
 * appends it to out with LF line ends: 0, or -1 with a static reason. */
int ops_vacation_norm_body(const char *p, size_t len, struct fbuf *out,
    const char **error_r);

#endif
