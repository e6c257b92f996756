/* Every page family's routes (pages.h). */
#include "admin/pages.h"

void
admin_pages_register(struct admin_http *h)
{
	pages_login_register(h);
	pages_home_register(h);
	pages_autoconfig_register(h);
	pages_account_register(h);
	pages_domains_register(h);
	pages_rules_register(h);
	pages_bans_register(h);
	pages_queue_register(h);
	pages_dns_register(h);
	pages_status_register(h);
	pages_reports_register(h);
	pages_why_register(h);
}
