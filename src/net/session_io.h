/* The edges shared by the line-based server sessions (smtp, pop3, imap):
 * command lines taken from a bufferevent's input buffer with a length
 * limit, overlong lines answered once and discarded; and the last reply
 * of a session that runs over TLS, written out before it is freed. */
#ifndef FERRY_SESSION_IO_H
#define FERRY_SESSION_IO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct bufferevent;
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

/* Slow peers: a peer that sends one octet a second resets the read
 * timeout with each octet, so a command must also arrive whole within a
 * limit from its first octet.  The session counts the lines (commands)
 * it takes in `lines`; after each read it asks session_io_pace_late()
 * with whether a line is begun and not complete (input pending, or an
 * overlong one being skipped).  Zeroed memory is a valid state. */
struct session_io_pace {
	unsigned long lines, seen;
	time_t since;
};
/* True when the line begun has waited more than limit seconds. */
bool session_io_pace_late(struct session_io_pace *p, bool partial,
    uint64_t limit);

/* Who finishes a session once its last octets are written. */
struct session_io_drain {
	void (*finish)(void *arg);
	void *arg;
};

/* Closing after STARTTLS/STLS: the TLS filter bev has handed its last
 * record to the socket bufferevent below it, which still has to write it;
 * freeing now would lose the final reply.  When that socket buffer holds
 * output, bev is disabled and d->finish(d->arg) runs once it is empty or
 * fails (30 s at most): true.  false when nothing is left below (the
 * caller finishes at once).  d must live until finish has run. */
bool session_io_drain_under(struct bufferevent *bev,
    struct session_io_drain *d);

/* A peer that goes away while its session is suspended (reading off,
 * waiting for a job such as a login's password hash) would go unnoticed
 * until the job ends.  This watch looks at the socket under bev without
 * taking anything from it: gone(arg) runs on the loop, once, when the
 * peer has closed or reset the connection and left no input unread
 * (nothing in bev's input buffers, none in the socket).  Unread input
 * (pipelined commands) ends the watch without a call: the session reads
 * it, and then the close, after its job, as it always did.  Zeroed
 * memory is a stopped watch. */
struct session_io_hup {
	struct event *ev;
	struct bufferevent *bev;
	void (*gone)(void *arg);
	void *arg;
};
/* Starts watching bev's socket (a running watch is restarted). */
void session_io_hup_start(struct session_io_hup *h, struct bufferevent *bev,
    void (*gone)(void *arg), void *arg);
/* Stops it; harmless on a stopped watch.  Call before freeing bev. */
void session_io_hup_stop(struct session_io_hup *h);

#endif
