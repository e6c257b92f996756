/* Free space on the filesystem that holds a directory, watched from an
 * event loop: a statvfs() every second on the owner's worker pool (never
 * on the loop), a "low" state with hysteresis-free transitions logged
 * once each, and a callback on every change so that work held back for
 * want of space resumes by itself.  The minimum is min_free_space
 * (conf.h): bytes, or a percentage of the filesystem.  Knows nothing
 * about mail. */
#ifndef FERRY_DISKWATCH_H
#define FERRY_DISKWATCH_H
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct workpool;
struct diskwatch;

/* Called on the loop when the state changes (low true: below the
 * minimum, or a write just failed for want of space). */
typedef void diskwatch_cb(bool low, void *ctx);

/* "0", "100M", "2G", "5%" (a whole percentage, 0 to 99): 0 or -1.
 * *bytes_r and *pct_r: one of them is set, the other 0. */
int diskwatch_parse(const char *s, uint64_t *bytes_r, unsigned *pct_r);
/* Whether avail octets of a filesystem of total octets is under the
 * minimum (bytes, or pct of total), after taking `need` more octets.
 * With both minimums 0 only a full filesystem (avail <= need) is low. */
bool diskwatch_below(uint64_t avail, uint64_t total, uint64_t need,
    uint64_t min_bytes, unsigned min_pct);
/* Space available to unprivileged writers (statvfs f_bavail) and the
 * size of the filesystem holding path: 0 or -1 (errno).  Blocks. */
int diskwatch_statfs(const char *path, uint64_t *avail_r, uint64_t *total_r);

/* Starts watching path (copied) for `who` (the log prefix, "smtpd");
 * the first check is submitted at once.  cb may be NULL. */
struct diskwatch *diskwatch_new(struct event_base *base,
    struct workpool *pool, const char *path, const char *who,
    diskwatch_cb *cb, void *ctx);
/* The minimum (from the configuration; again on reload). */
void diskwatch_set_min(struct diskwatch *w, uint64_t min_bytes,
    unsigned min_pct);
/* On the loop: whether space is below the minimum now (as of the last
 * check, or a write failure reported since). */
bool diskwatch_low(const struct diskwatch *w);
/* On the loop: whether `need` more octets still leave the minimum free. */
bool diskwatch_fits(const struct diskwatch *w, uint64_t need);
/* On the loop: n octets were just written (a message committed); taken
 * off the last check's figure until the next check, so that a burst
 * between two checks cannot run through the reserve. */
void diskwatch_consume(struct diskwatch *w, uint64_t n);
/* A write failed with ENOSPC: checked at once; low while below the
 * minimum or under 64 KiB are left (a message larger than the space
 * left does not make the state low by itself). */
void diskwatch_failed(struct diskwatch *w);
/* Stops the watch.  A check still running on the pool frees it when it
 * reports (the pool must outlive this call until then). */
void diskwatch_free(struct diskwatch **wp);

#endif
