/* The queue role's part of outbound abuse control (auth/sendlimit.h):
 * bounces drawn by an authenticated user's mail count towards the
 * automatic stop. */
#ifndef FERRY_QUEUE_SEND_H
#define FERRY_QUEUE_SEND_H
#include <stddef.h>

struct conf;
struct store;

/* n recipients of message id, sent by authenticated user, failed for
 * good: counts them and, when that stops the user, holds its queued mail
 * (on the files, from this worker) and sends the postmaster's notice.
 * Worker thread, with s usable by it (the role's store lock held). */
void queue_send_bounces(struct store *s, const struct conf *c,
    const char *id, const char *user, size_t n);

#endif
