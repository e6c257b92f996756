/* Text comparison for SEARCH (RFC 3501 section 6.4.4; RFC 9051 6.4.4):
 * substring matches after a simple case fold, and header fields matched
 * as a client shows them, with RFC 2047 encoded words decoded.  The fold
 * is not full Unicode case folding (no i;unicode-casemap): it maps the
 * capitals of ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic to
 * their small letters, which covers what users of those scripts type. */
#ifndef FERRY_IMAP_MATCH_H
#define FERRY_IMAP_MATCH_H
#include <stdbool.h>
#include <stddef.h>

struct fbuf;

/* Appends s[0 .. n-1] to out, folded.  UTF-8 characters keep their
 * length; invalid UTF-8 and everything not folded is copied as it is. */
void imap_match_fold(const char *s, size_t n, struct fbuf *out);
/* Whether the value of a header field, v[0 .. len-1] (its folding line
 * breaks may still be in it), contains the UTF-8 string needle, both
 * folded: as written, or with its encoded words decoded to UTF-8.  An
 * empty needle matches. */
bool imap_match_header(const char *v, size_t len, const char *needle);

#endif
