/* SRS in the queue role (docs/srs.md): which remote deliveries get an
 * SRS envelope sender, and making it.  A message's remote recipients go
 * out in one relay batch with one MAIL FROM, so the choice is per batch:
 * SRS when srs is on, the sender is not null and not in a local domain,
 * and at least one recipient of the batch was forwarded (an address in a
 * local domain, given at RCPT, that delivers to a remote address: an
 * alias pointing out, or an SRS bounce being sent back). */
#ifndef FERRY_QUEUE_SRS_H
#define FERRY_QUEUE_SRS_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct conf;
struct spool_env;
struct srs_keys;

/* True when domain is a local domain (a store lookup; an error counts as
 * local, so that nothing is rewritten on a guess). */
typedef bool queue_srs_local_fn(const char *domain, void *ctx);

/* The domain to rewrite into for the recipients of env due at now
 * (pending, remote, next attempt passed), written to dst; "" when no
 * rewrite.  Worker threads (is_local reads the store). */
void queue_srs_domain(const struct conf *c, const struct spool_env *env,
    time_t now, queue_srs_local_fn *is_local, void *ctx, char *dst,
    size_t size);
/* The MAIL FROM for the batch: the SRS form of sender in dst, or sender
 * itself when domain is "" or the rewrite is not possible (logged).  The
 * result points at dst or sender. */
const char *queue_srs_sender(const struct srs_keys *k, const char *id,
    const char *sender, const char *domain, char *dst, size_t size);

#endif
