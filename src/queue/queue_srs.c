/* SRS for mail the queue forwards (queue_srs.h, docs/srs.md).  The
 * envelope keeps the original sender: Ferry's own bounces for a
 * forwarded recipient go to it directly, and each attempt makes the SRS
 * address afresh (a retry days later gets a fresh timestamp). */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "msgauth/srs.h"
#include "queue/queue_srs.h"
#include "queue/spool.h"

static bool
queue_srs_forwarded(const struct spool_rcpt *r, time_t now)
{
	return !r->local && r->state == SPOOL_RCPT_PENDING &&
	    r->next_attempt <= now && strcasecmp(r->orig, r->addr) != 0 &&
	    strrchr(r->orig, '@') != NULL;
}

void
queue_srs_domain(const struct conf *c, const struct spool_env *env,
    time_t now, queue_srs_local_fn *is_local, void *ctx, char *dst,
    size_t size)
{
	const char *at = strrchr(env->sender, '@');
	const struct spool_rcpt *fwd = NULL;

	dst[0] = '\0';
	if (!c->srs || at == NULL || at[1] == '\0')
		return;
	for (size_t i = 0; i < env->nrcpts && fwd == NULL; i++)
		if (queue_srs_forwarded(&env->rcpts[i], now))
			fwd = &env->rcpts[i];
	if (fwd == NULL || is_local(at + 1, ctx))
		return;
	if (c->srs_domain[0] != '\0')
		str_lcpy(dst, c->srs_domain, size);
	else
		str_lcpy(dst, strrchr(fwd->orig, '@') + 1, size);
}

const char *
queue_srs_sender(const struct srs_keys *k, const char *id,
    const char *sender, const char *domain, char *dst, size_t size)
{
	const char *error = NULL;

	if (domain[0] == '\0')
		return sender;
	if (srs_forward(k, sender, domain, time(NULL), dst, size,
	    &error) < 0) {
		log_warnx("%s queue srs-skipped from=%s reason=%s", id,
		    log_q(sender), log_q(error));
		return sender;
	}
	log_info("%s queue srs-rewritten from=%s srs=%s", id,
	    log_q(sender), log_q(dst));
	return dst;
}
