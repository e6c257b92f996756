/* The quota warning: after a delivery leaves a mailbox at or above
 * QUOTA_WARN_PERCENT of its quota, the user finds one message saying so
 * in their INBOX.  One: a marker file in the Maildir
 * (QUOTA_WARN_MARKER) is created with O_EXCL by whoever sends it, and
 * removed by the first delivery that finds usage below the line again,
 * so the next crossing warns once more. */
#ifndef FERRY_QUOTA_WARN_H
#define FERRY_QUOTA_WARN_H
#include <stdint.h>

#define QUOTA_WARN_PERCENT 90
#define QUOTA_WARN_MARKER "ferry-quota-warned"

/* After a successful delivery to rcpt's Maildir at path with this quota
 * (0: none, nothing to do).  hostname: the From of the warning.  Never
 * fails the delivery: problems are logged under id. */
void quota_warn_check(const char *id, const char *path, const char *rcpt,
    uint64_t quota, const char *hostname);

#endif
