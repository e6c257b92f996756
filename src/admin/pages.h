/* The admin role's pages, one file per family (pages_NAME.c), each with
 * a register function that adds its routes (http.h).  pages.c calls
 * them all; a new family adds its line there. */
#ifndef FERRY_ADMIN_PAGES_H
#define FERRY_ADMIN_PAGES_H

struct admin_http;

void admin_pages_register(struct admin_http *h);

/* log in and out (pages_login.c) */
void pages_login_register(struct admin_http *h);
/* the start page for every role (pages_home.c) */
void pages_home_register(struct admin_http *h);
/* autoconfig, autodiscover, the Apple profile, /help (pages_autoconfig.c) */
void pages_autoconfig_register(struct admin_http *h);
/* the user's own account: quota, password (pages_account.c) */
void pages_account_register(struct admin_http *h);
/* /domains and /domains/DOMAIN: users, aliases (pages_domains.c) */
void pages_domains_register(struct admin_http *h);
/* /rules/DOMAIN beside the system settings (pages_rules.c) */
void pages_rules_register(struct admin_http *h);
/* /admin/bans (pages_bans.c) */
void pages_bans_register(struct admin_http *h);
/* /queue, /queue/DOMAIN, /queue/msg/ID (pages_queue.c) */
void pages_queue_register(struct admin_http *h);
/* /dns/DOMAIN: the records to publish, checked (pages_dns.c) */
void pages_dns_register(struct admin_http *h);
/* /admin/status and /admin/settings (pages_status.c) */
void pages_status_register(struct admin_http *h);
/* POST /help/DOMAIN: a mail problem report (pages_reports.c) */
void pages_reports_register(struct admin_http *h);
/* /why from the log, as `ferry why` (pages_why.c) */
void pages_why_register(struct admin_http *h);

#endif
