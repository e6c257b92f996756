/* Helpers shared by the pages (pages_domains.c, pages_rules.c,
 * pages_bans.c, pages_account.c): the HTTP status for an operations-layer
 * error, the error page that shows its text, notices after a redirect
 * (a fixed key in the query, so a link cannot put words on a page), and
 * input bounds checked before anything reaches src/ops/.  Loop thread
 * or work(): they only touch the request's memory. */
#ifndef FERRY_ADMIN_PAGE_UTIL_H
#define FERRY_ADMIN_PAGE_UTIL_H
#include <stdbool.h>
#include <stddef.h>

#include "ops/ops.h"

struct admin_req;
struct fbuf;

#define PAGE_FIELD_MAX 1024	/* any single form field we take */

/* 400, 403, 404, 409 or 503 for an ops error code. */
int page_http_status(enum ops_code code);
/* The error page for st: its status and its text (escaped). */
void page_ops_error(struct admin_req *r, const struct ops_status *st);
/* 303 to path with "?done=key" (key is one of page_notice's). */
void page_redirect_done(struct admin_req *r, const char *path,
    const char *key);
/* The notice for the request's "done" parameter, when it names one. */
void page_notice(struct admin_req *r);
/* A form field that is present, at most max bytes and without CR or
 * LF: the value, else NULL. */
const char *page_field(struct admin_req *r, const char *name, size_t max);
/* A path segment (the domain in /domains/DOMAIN): copies the part of s
 * before the first '/' into dst; *rest_r points after that '/' ("" when
 * none).  false when empty or too long. */
bool page_segment(const char *s, char *dst, size_t size,
    const char **rest_r);
/* s is exactly one segment (no '/' at all, not even a trailing one):
 * copied into dst.  false when not, or empty or too long. */
bool page_only_segment(const char *s, char *dst, size_t size);

#endif
