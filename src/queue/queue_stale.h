/* The answer of the queue control socket's "stale" verb (queue_control.h):
 * the serve-stale answer (RFC 8767) the relay holds for one name and
 * type, as lines: "age SECONDS", then "nodata", or one "mx PREF HOST" or
 * "addr ADDRESS" line per record.  Written by the queue role, read by
 * `ferry check mx` when the MX lookup itself fails. */
#ifndef FERRY_QUEUE_STALE_H
#define FERRY_QUEUE_STALE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dns_result;
struct fbuf;

#define QUEUE_STALE_MAX 64		/* records read at most */

struct queue_stale_rr {
	uint16_t pref;			/* MX */
	char name[256];			/* MX exchange ("" for a null MX) */
	struct sockaddr_storage addr;	/* A/AAAA, port 0 */
};

struct queue_stale {
	uint64_t age;			/* seconds since it was received */
	bool nodata;			/* the name has no such records */
	struct queue_stale_rr rr[QUEUE_STALE_MAX];
	size_t n;
};

/* Appends r (of type DNS_T_MX, DNS_T_A or DNS_T_AAAA) to b. */
void queue_stale_format(const struct dns_result *r, int type,
    struct fbuf *b);
/* Parses len bytes of an answer of type into *out.  0, or -1 when it is
 * malformed (a line that is none of the above, a bad preference, name
 * or address, a record of the other kind; more than QUEUE_STALE_MAX
 * records are cut, not refused). */
int queue_stale_parse(const char *body, size_t len, int type,
    struct queue_stale *out);

#endif
