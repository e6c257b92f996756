/* The input edge shared by the line-based server sessions (smtp, pop3):
 * command lines taken from a bufferevent's input buffer with a length
 * limit, overlong lines answered once and discarded. */
#ifndef FERRY_SESSION_IO_H
#define FERRY_SESSION_IO_H
#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

/* Takes the next line (ending in LF) from in.  A line of more than max
 * octets, LF included, is discarded: what has come of it at once, the
 * rest as it arrives, with *skip (the session's, false at first) true
 * until its LF.  *overlong_r is true when this call met an overlong line
 * first: the caller answers it, once.
 * 1 with *line_r: the line without LF or CRLF, NUL-terminated, *len_r
 * octets, xmalloc()ed; the caller wipes it (it may hold credentials) and
 * frees it.  1 with *line_r NULL: a discarded line ended.  0: no line is
 * complete yet (*line_r NULL). */
int session_io_line(struct evbuffer *in, size_t max, bool *skip,
    bool *overlong_r, char **line_r, size_t *len_r);

#endif
