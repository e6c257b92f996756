/* Allocation that never returns NULL: running out of memory is fatal for
 * the role (the supervisor restarts it), so callers need no NULL checks. */
#ifndef FERRY_XALLOC_H
#define FERRY_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh allocation; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
