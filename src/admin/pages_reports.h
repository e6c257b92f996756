/* The mail problem report form and list (pages_reports.c), drawn into
 * the help page and the domain page.  Loop thread or work(). */
#ifndef FERRY_ADMIN_PAGES_REPORTS_H
#define FERRY_ADMIN_PAGES_REPORTS_H

struct admin_req;
struct fbuf;
struct ops_report_list;

/* The form for r's logged-in user (a login link when nobody is). */
void pages_reports_form(struct admin_req *r, const char *domain);
/* The reports, newest first. */
void pages_reports_list(struct fbuf *b, const struct ops_report_list *l);

#endif
