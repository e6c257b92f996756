/* The key record lookups of DKIM and ARC verification: several DNS TXT
 * queries at once through net/dns.h, each answer handed on as it comes,
 * then one call when the last has come.  No parsing of the records here. */
#ifndef FERRY_MSGAUTH_KEYFETCH_H
#define FERRY_MSGAUTH_KEYFETCH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "net/dns.h"

struct keyfetch;

/* The name to ask for lookup i (NULL: none for i); buf (size bytes) may
 * hold it. */
typedef const char *keyfetch_name_cb(void *ctx, size_t i, char *buf,
    size_t size);
/* Lookup i's answer: its first TXT record (RFC 6376 3.6.2.2: with several,
 * the first is used), DNS_NODATA when it had none; ttl: the answer's TTL
 * in seconds (0 when unknown). */
typedef void keyfetch_got_cb(void *ctx, size_t i, enum dns_status st,
    const char *txt, size_t len, uint32_t ttl);
/* All answers are in; the keyfetch is already freed. */
typedef void keyfetch_done_cb(void *ctx);

/* Starts n lookups.  done runs once, on the loop, never inline (also
 * when there is nothing to ask).  Never NULL. */
struct keyfetch *keyfetch_start(struct event_base *base, struct dns *dns,
    size_t n, keyfetch_name_cb *name, keyfetch_got_cb *got,
    keyfetch_done_cb *done, void *ctx);
/* Stops the lookups; neither got nor done runs afterwards.  *fp = NULL;
 * nothing when it is NULL already. */
void keyfetch_abort(struct keyfetch **fp);

#endif
