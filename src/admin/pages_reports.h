/* The mail problem report form and list (pages_reports.c), drawn into
 * the help page and the domain page.  Loop thread or work(). */
#ifndef FERRY_ADMIN_PAGES_REPORTS_H
#define FERRY_ADMIN_PAGES_REPORTS_H

#include "lib/fbuf.h"
#include "ops/ops.h"

struct admin_req;
struct ops_report_list;

/* What the log says about the logged-in user's recent mail, for the
 * form to show and the report to carry (ops_report_facts()). */
struct pages_reports_facts {
	struct fbuf text;
	struct ops_status st;
	int r;			/* 0, -1 (st says why), 1: nobody logged in */
};

/* Fills f for r's logged-in user.  work() only (reads the log). */
void pages_reports_facts_get(struct admin_req *r,
    struct pages_reports_facts *f);
void pages_reports_facts_free(struct pages_reports_facts *f);

/* The form for r's logged-in user (a login link when nobody is), with
 * the facts of f shown before sending. */
void pages_reports_form(struct admin_req *r, const char *domain,
    const struct pages_reports_facts *f);
/* The reports, newest first. */
void pages_reports_list(struct fbuf *b, const struct ops_report_list *l);

#endif
