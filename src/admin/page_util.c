/* Shared helpers of the postmaster and admin pages (page_util.h). */
#include <string.h>

#include "admin/form.h"
#include "admin/html.h"
#include "admin/http.h"
#include "admin/page_util.h"
#include "lib/fbuf.h"

/* What a redirect may announce; anything else in "done" is ignored. */
static const struct {
	const char *key, *text;
} page_notices[] = {
	{ "domain_added", "The domain was added." },
	{ "domain_deleted", "The domain was deleted." },
	{ "user_added", "The user was added." },
	{ "user_deleted", "The user was deleted." },
	{ "password_set", "The password was changed." },
	{ "quota_set", "The quota was changed." },
	{ "alias_added", "The alias was saved." },
	{ "alias_deleted", "The alias was deleted." },
	{ "rule_added", "The rule was added." },
	{ "rule_deleted", "The rule was deleted." },
	{ "ban_added", "The address is banned." },
	{ "ban_deleted", "The ban was lifted." },
	/* the queue pages (pages_queue.c) */
	{ "queue_retried", "The message will be retried now." },
	{ "queue_held", "The message is held." },
	{ "queue_released", "The message was released." },
	{ "queue_bounced", "The recipients were bounced; the sender gets a "
	    "delivery report." },
	{ "queue_deleted", "The message was deleted." },
	/* the help page's report form (pages_reports.c) */
	{ "reported", "Your report was sent to the postmaster." },
	/* the user's own account (pages_account.c) */
	{ "password", "Your password was changed." },
	{ "forward", "Forwarding saved." },
	{ "vacation", "Vacation reply saved." },
};

int
page_http_status(enum ops_code code)
{
	switch (code) {
	case OPS_EPERM:
		return 403;
	case OPS_ENOENT:
		return 404;
	case OPS_EEXIST:
	case OPS_EREFUSED:
		return 409;
	case OPS_EINVAL:
	case OPS_EUSAGE:
		return 400;
	case OPS_OK:
	case OPS_EFAIL:
	default:
		return 503;
	}
}

void
page_ops_error(struct admin_req *r, const struct ops_status *st)
{
	admin_resp_error(r, page_http_status(st->code), st->text);
}

void
page_redirect_done(struct admin_req *r, const char *path, const char *key)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_adds(&b, path);
	fbuf_adds(&b, "?done=");
	form_encode(&b, key);
	admin_resp_redirect(r, fbuf_str(&b));
	fbuf_release(&b);
}

void
page_notice(struct admin_req *r)
{
	const char *key = admin_req_query(r, "done");

	if (key == NULL)
		return;
	for (size_t i = 0; i < sizeof(page_notices) / sizeof(page_notices[0]);
	    i++)
		if (strcmp(key, page_notices[i].key) == 0) {
			html_addf(admin_resp_body(r),
			    "<p class=\"notice\">%s</p>", page_notices[i].text);
			return;
		}
}

const char *
page_field(struct admin_req *r, const char *name, size_t max)
{
	const char *v = admin_req_form(r, name);

	if (v == NULL || strlen(v) > max || strpbrk(v, "\r\n") != NULL)
		return NULL;
	return v;
}

bool
page_segment(const char *s, char *dst, size_t size, const char **rest_r)
{
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

	if (n == 0 || n >= size)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*rest_r = slash != NULL ? slash + 1 : "";
	return true;
}

bool
page_only_segment(const char *s, char *dst, size_t size)
{
	const char *rest;

	return strchr(s, '/') == NULL && page_segment(s, dst, size, &rest) &&
	    rest[0] == '\0';
}
