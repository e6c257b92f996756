/* Mail problem reports: a logged-in user tells their domain's postmaster
 * what went wrong (from the help page /help/DOMAIN), and the postmaster
 * reads them on /domains/DOMAIN.  Kept in a file per domain under
 * state_dir/reports/ (not the store: they are notes for people, bounded
 * and disposable, and need no schema change on every backend), at most
 * OPS_REPORT_KEEP per domain, the oldest dropped first.
 *
 * Scope: a user reports for its own domain only, a postmaster for its
 * domains, the admin for any; only a postmaster of the domain or the
 * admin lists them.  Blocking (file I/O): CLI or worker thread.
 *
 * Each report is also mailed to the domain's postmaster (ops_notice.h),
 * with what Ferry's log says about the reporter's recent mail when the
 * reporter chose to include it (ops_report_facts()).
 *
 * The file: one report a line, "r2" and six TAB-separated fields (time
 * as decimal seconds, reporter, when, address, what, facts), each with
 * '%', TAB, CR, LF and other control bytes as %XX; "r1" lines (without
 * facts) are still read.  ops_report_parse() is fuzzed
 * (tests/fuzz/fuzz_ops_report.c). */
#ifndef FERRY_OPS_REPORT_H
#define FERRY_OPS_REPORT_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/fbuf.h"
#include "ops/ops.h"

struct ops_ctx;

#define OPS_REPORT_KEEP 50		/* reports kept per domain */
#define OPS_REPORT_WHAT_MAX 2000	/* bytes of the description */
#define OPS_REPORT_WHEN_MAX 100
#define OPS_REPORT_ADDR_MAX 320
#define OPS_REPORT_FACTS_MAX 8000	/* bytes of the log facts */
#define OPS_REPORT_FACTS_N 20		/* facts kept, the newest */
#define OPS_REPORT_FACTS_DAYS 7		/* how far back they look */
#define OPS_REPORT_FILE_MAX (512 * 1024)	/* a file read at most */

struct ops_report {
	int64_t time;			/* when it was reported */
	char *reporter;			/* the logged-in address */
	char *when;			/* "yesterday about 10:00", may be "" */
	char *address;			/* the other party, may be "" */
	char *what;			/* the description (newlines kept) */
	char *facts;			/* from the log, lines; may be "" */
};

struct ops_report_list {
	struct ops_report *v;		/* oldest first */
	size_t n;
};

/* What the reporter said. */
struct ops_report_in {
	const char *when, *address, *what;	/* when, address may be NULL */
	const char *facts;		/* ops_report_facts() text, or NULL */
};

/* Records a report for domain_input by the actor (its name is the
 * reporter) and mails it to the domain's postmaster.  what must be
 * non-empty; the fields within their limits (else OPS_EINVAL); no NUL
 * bytes (C strings).  Keeps the newest OPS_REPORT_KEEP.  The report
 * stands when only the mail fails: then mail_error_r (size
 * OPS_NOTICE_ERROR_MAX, may be NULL) says why, else it is "". */
int ops_report_add(const struct ops_ctx *c, const char *domain_input,
    const struct ops_report_in *in, int64_t now, char *mail_error_r,
    struct ops_status *st);

/* What log_file says about the actor's own recent mail (since `since`,
 * Unix time): mail refused for its address, deliveries to it that
 * failed or were deferred, mail it sent (logged in) that was refused,
 * and its sending stopped.  Appended to out as text, one fact a line,
 * oldest first, the newest OPS_REPORT_FACTS_N, at most
 * OPS_REPORT_FACTS_MAX bytes, control bytes as '?'; nothing when
 * nothing is known.  About no other address than the actor's own name.
 * -1 with st when the log cannot be read (OPS_EINVAL: log_file not
 * set). */
int ops_report_facts(const struct ops_actor *a, const char *log_file,
    time_t since, struct fbuf *out, struct ops_status *st);
/* The domain's reports, oldest first (an empty list when none). */
int ops_report_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_report_list *out, struct ops_status *st);
void ops_report_list_free(struct ops_report_list *l);

/* The file format.  parse: the lines of buf that are well-formed
 * reports (others are skipped: a torn write loses one report, not the
 * file); out is replaced. */
void ops_report_parse(const char *buf, size_t len, struct ops_report_list *out);
void ops_report_format(const struct ops_report *r, struct fbuf *out);

#endif
