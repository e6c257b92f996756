/* Bounces count against the sender's account (queue_send.h).  Only
 * recipients that failed for good count, once each, when the queue turns
 * them into a DSN; mail from the null sender and unauthenticated mail
 * have no account to count against. */
#include <string.h>
#include <time.h>

#include "auth/sendlimit.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "ops/ops_send.h"
#include "queue/queue_send.h"

static void
queue_send_stop(struct store *s, const struct conf *c, const char *id,
    const char *user, const char *reason)
{
	struct ops_send_hold_result hr;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx ctx;

	memset(&hr, 0, sizeof(hr));
	ops_actor_cli(&a);
	a.name = "queue";
	memset(&ctx, 0, sizeof(ctx));
	ctx.actor = &a;
	ctx.store = s;
	ctx.conf = c;
	ctx.ropts.case_sensitive_local = c->local_part_case_sensitive;
	ctx.ropts.delimiter = c->recipient_delimiter;
	(void)ops_send_stopped(&ctx, user, reason, true, &hr, &st);
	log_warnx("%s queue send-stop user=%s reason=%s held_messages=%zu "
	    "notice=%s", id, log_q(user), log_q(reason), hr.messages,
	    hr.notice_id[0] != '\0' ? hr.notice_id : "none");
}

void
queue_send_bounces(struct store *s, const struct conf *c, const char *id,
    const char *user, size_t n)
{
	struct sendlimit_cfg cfg;
	struct sendlimit_result r;
	int64_t now = time(NULL);

	sendlimit_cfg_get(c, &cfg);
	for (size_t i = 0; i < n; i++) {
		sendlimit_reserve(s, &cfg, user, STORE_SEND_BOUNCE, now, &r);
		if (r.v == SENDLIMIT_ERROR) {
			log_warnx("%s queue send-count-error user=%s error=%s",
			    id, log_q(user), log_q(r.error));
			return;
		}
		if (r.v == SENDLIMIT_STOPPED && r.held_now) {
			queue_send_stop(s, c, id, user, r.reason);
			return;
		}
	}
}
