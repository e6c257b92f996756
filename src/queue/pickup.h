/* The queue role's pickup: moves what `ferry sendmail` left in
 * maildrop_dir (queue/maildrop.h) into the spool.  A scan runs on the
 * role's worker pool at start, when inotify reports a file renamed into
 * the directory, and at every periodic rescan; each complete file is
 * checked, committed to the spool as a new message (recipients resolved
 * as smtpd resolves them at RCPT) and then removed.  The submitting user
 * is the file's owner.  Everything but pickup_start/_scan/_stop runs on
 * the worker threads. */
#ifndef FERRY_PICKUP_H
#define FERRY_PICKUP_H

#include "store/resolve.h"

struct conf;
struct dkim_keyring;
struct event_base;
struct pickup;
struct workpool;

/* Resolves one recipient (worker thread; the queue's store lock). */
typedef enum resolve_status pickup_resolve_fn(void *ctx, const struct conf *c,
    const char *addr, struct resolve_result *r);
/* A message was committed with this id (event loop). */
typedef void pickup_wake_fn(void *ctx, const char *id);

/* Watches the maildrop directory of *confp (which must exist; the
 * supervisor makes it).  *confp is the role's current snapshot, read on
 * the loop thread when a scan starts (the scan holds a reference); so is
 * *keysp, the role's DKIM signing keys (NULL: signing off): a message
 * whose From domain has a key is signed as submitted mail is.
 * Without inotify (logged) only the scans the caller asks for find new
 * files.  0, or -1 with *error_r when the path is too long. */
int pickup_start(struct pickup **pp, struct event_base *base,
    struct workpool *pool, const struct conf *const *confp,
    struct dkim_keyring *const *keysp, const char *spool_dir,
    pickup_resolve_fn *resolve, pickup_wake_fn *wake, void *ctx,
    const char **error_r);
/* Runs a scan now or, when one is running, right after it. */
void pickup_scan(struct pickup *p);
/* Stops watching; call after the pool has drained (no scan in flight). */
void pickup_stop(struct pickup **pp);

#endif
