/* The page frame and the stylesheet (html.h). */
#include <string.h>

#include "admin/html.h"
#include "admin/http.h"

const char html_css[] =
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;"
    "background:#f5f7f9;line-height:1.45}"
    "header{background:#1d3a5f;color:#fff;padding:.6em 1em;display:flex;"
    "flex-wrap:wrap;align-items:center;gap:.4em 1.2em}"
    "header a{color:#fff;text-decoration:none}"
    "header .who{margin-left:auto;font-size:.9em;opacity:.9}"
    "header form{display:inline}"
    "nav{display:flex;flex-wrap:wrap;gap:.2em 1em;min-width:0}"
    /* a long path, address or id breaks rather than widen the page */
    "main{max-width:60em;margin:1em auto;padding:0 1em;"
    "overflow-wrap:anywhere}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #dde3ea;"
    "vertical-align:top;overflow-wrap:anywhere}"
    "th{background:#e8edf2}"
    ".system{color:#7a8794}"
    "form.inline{display:inline}"
    "input,select,textarea,button{font:inherit;padding:.3em .5em;max-width:100%}"
    "button{background:#1d3a5f;color:#fff;border:0;border-radius:3px;"
    "cursor:pointer}"
    "button.danger{background:#a32020}"
    "label{display:block;margin:.5em 0 .2em}"
    ".notice{background:#e6f4ea;border:1px solid #9fd3ad;padding:.5em}"
    ".error{background:#fbeaea;border:1px solid #e3a1a1;padding:.5em}"
    "code,pre{background:#eef1f4;padding:.1em .3em;overflow-x:auto}"
    /* A phone: each row a block of its cells; a row of column headings
     * goes, a row's own heading (key and value tables) stays above its
     * value. */
    "@media (max-width:40em){th,td{display:block}"
    "tr:not(:has(td)){display:none}"
    "td{border:0}tr{border-bottom:1px solid #dde3ea;display:block}}";

void
html_csrf(struct admin_req *r)
{
	const char *t = admin_req_csrf(r);

	html_addf(admin_resp_body(r),
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    t != NULL ? t : "");
}

void
html_begin(struct admin_req *r, const char *title)
{
	struct fbuf *b = admin_resp_body(r);
	const struct ops_actor *a = admin_req_actor(r);

	html_addf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<title>%s - Ferry</title>"
	    "<link rel=\"stylesheet\" href=\"/static/ferry.css\">"
	    "</head><body><header><a href=\"/\"><strong>Ferry</strong></a>",
	    title);
	if (a != NULL) {
		fbuf_adds(b, "<nav>");
		if (a->role != OPS_USER)
			fbuf_adds(b, "<a href=\"/domains\">Domains</a>");
		if (a->role == OPS_ADMIN)
			fbuf_adds(b, "<a href=\"/queue\">Queue</a>"
			    "<a href=\"/admin/status\">Status</a>"
			    "<a href=\"/admin/settings\">Settings</a>"
			    "<a href=\"/admin/bans\">Bans</a>");
		fbuf_adds(b, a->role == OPS_USER ? "<a href=\"/why\">Refused "
		    "mail</a>" : "<a href=\"/why\">Why</a>");
		fbuf_adds(b, "<a href=\"/account\">My account</a></nav>");
		html_addf(b, "<span class=\"who\">%s</span>",
		    admin_req_user(r));
		fbuf_adds(b, "<form method=\"post\" action=\"/logout\">");
		html_csrf(r);
		fbuf_adds(b, "<button type=\"submit\">Log out</button></form>");
	}
	html_addf(b, "</header><main><h1>%s</h1>", title);
}

void
html_end(struct admin_req *r)
{
	fbuf_adds(admin_resp_body(r), "</main></body></html>\n");
}
