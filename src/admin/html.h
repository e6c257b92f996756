/* HTML for the admin pages: escaping (every string that reaches a page
 * goes through html_esc(), whatever its source), the page frame with the
 * navigation for the logged-in user's role, and small form helpers.
 * Pages carry no inline script or style: the Content-Security-Policy
 * (http.c) forbids both, and the one stylesheet is /static/ferry.css. */
#ifndef FERRY_ADMIN_HTML_H
#define FERRY_ADMIN_HTML_H
#include <stdarg.h>

#include "lib/fbuf.h"

struct admin_req;

/* Appends s with & < > " ' escaped (safe in text and quoted
 * attributes); bytes that are not valid UTF-8 and control characters
 * other than tab and newline become U+FFFD. */
void html_esc(struct fbuf *b, const char *s);
/* fbuf_addf() whose %s arguments are escaped: only %s, %d, %u, %ld,
 * %lu, %llu and %% are understood; literal parts are written as they
 * are (they are the page's own markup). */
void html_addf(struct fbuf *b, const char *fmt, ...);
/* The page frame: doctype, head (title escaped, the stylesheet, a
 * viewport for phones), the navigation for r's user, and <main>. */
void html_begin(struct admin_req *r, const char *title);
void html_end(struct admin_req *r);
/* <input type="hidden" name="csrf" value="..."> for r's session. */
void html_csrf(struct admin_req *r);
/* The stylesheet served at /static/ferry.css. */
extern const char html_css[];

#endif
