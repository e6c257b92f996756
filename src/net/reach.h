/* The reachability record of one remote address and port, and its file
 * form (state_dir/reachability): what failed there (connect timeout,
 * refused, greeting timeout or 4xx greeting, TLS hang or handshake
 * failure), since when, the last success, and the probe schedule.  No
 * I/O here: the relay keeps the live table (relay_mem.c) and writes the
 * file on its pool; the command line reads it for `check mx` and
 * `check reach`. */
#ifndef FERRY_REACH_H
#define FERRY_REACH_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct fbuf;

#define REACH_FILE "reachability"
#define REACH_KEY_MAX 64		/* "192.0.2.1:25", "[2001:db8::1]:25" */
#define REACH_FILE_MAX (8u << 20)	/* a larger file is not read */

enum reach_fail {
	REACH_OK = 0,			/* no failure on record */
	REACH_CONNECT_TIMEOUT,
	REACH_REFUSED,
	REACH_CONNECT_ERROR,		/* unreachable, reset, no route */
	REACH_GREETING_TIMEOUT,		/* accepted, never greeted */
	REACH_CLOSED,			/* closed before the greeting */
	REACH_GREETING_4XX,		/* greeted with 4xx (busy, blocked) */
	REACH_TLS_HANG,			/* handshake timed out */
	REACH_TLS_FAILED,		/* handshake failed */
	REACH_FAIL_COUNT
};

struct reach_entry {
	char key[REACH_KEY_MAX];	/* "ip:port" as relay_mem_key() */
	enum reach_fail down;		/* REACH_OK: not down */
	time_t since;			/* down since (first failure) */
	time_t last_fail;		/* newest evidence of being down */
	time_t last_ok;			/* last greeting seen (0: never) */
	enum reach_fail tls;		/* REACH_TLS_* or REACH_OK */
	time_t tls_since;		/* TLS broken since (0: not) */
	unsigned probes;		/* failed probes since the failure */
	time_t next_probe;		/* 0: none planned */
};

/* "connect-timeout", ...; "ok" for REACH_OK. */
const char *reach_fail_str(enum reach_fail f);
/* The enum for a name; -1 when unknown. */
int reach_fail_parse(const char *s, enum reach_fail *f_r);
/* Whether the entry says down at now: a failure younger than memory
 * seconds (memory 0: the memory is off, never down). */
bool reach_is_down(const struct reach_entry *e, time_t now, time_t memory);
/* Whether TLS to the address is remembered broken at now. */
bool reach_tls_broken(const struct reach_entry *e, time_t now,
    time_t memory);

/* Appends one line (with "\n") describing e to b. */
void reach_format(struct fbuf *b, const struct reach_entry *e);
/* Parses one line (without "\n") into e: 0, or -1 with error_r for a
 * malformed line (unknown keys are errors; the file is ours). */
int reach_parse_line(const char *line, size_t len, struct reach_entry *e,
    const char **error_r);

/* The first line of the file. */
#define REACH_HEADER "ferry-reachability 1"
/* Calls cb for every well-formed entry of the file text (NUL-terminated
 * buffer of len octets); returns the count of malformed lines skipped,
 * or -1 when the header is missing. */
int reach_parse_file(const char *text, size_t len,
    void (*cb)(const struct reach_entry *e, void *ctx), void *ctx);

#endif
