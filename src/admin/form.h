/* application/x-www-form-urlencoded, for query strings and form bodies
 * (no I/O): name=value pairs split on '&' (and ';'), '+' as space,
 * %XX decoded.  Bounded: at most FORM_FIELDS_MAX fields; a decoded NUL
 * byte, a bad %-escape or too many fields fail the whole form (a page
 * answers 400 rather than guess).  Values are not checked for UTF-8 here:
 * each page validates what it takes. */
#ifndef FERRY_ADMIN_FORM_H
#define FERRY_ADMIN_FORM_H
#include <stddef.h>

#define FORM_FIELDS_MAX 200

struct form_field {
	char *name, *value;
};

struct form {
	struct form_field *v;
	size_t n;
};

/* Parses len bytes of s into f (which it initialises).  0, or -1 (f is
 * then empty). */
int form_parse(struct form *f, const char *s, size_t len);
/* The first value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);
void form_free(struct form *f);
/* Appends s %-encoded for a query string or form (unreserved characters
 * as they are) to b. */
struct fbuf;
int form_encode(struct fbuf *b, const char *s);

#endif
