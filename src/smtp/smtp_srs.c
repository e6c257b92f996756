/* Bounces to SRS addresses at RCPT (docs/srs.md): a recipient in a local
 * domain whose local part starts SRS0= or SRS1= is an address Ferry made
 * when it forwarded mail.  It is accepted only when its hash matches one
 * of the secrets and its timestamp is at most srs_max_age old; it then
 * stands for one remote recipient, the original sender (SRS0) or the
 * forwarder before us (SRS1), and the message is relayed there.  A forged
 * or expired one gets 550 5.1.1 at RCPT.  The sender is not checked: an
 * auto-reply has one, and the hash already limits what can be sent to
 * one original sender for srs_max_age days. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/srs.h"
#include "store/resolve.h"
#include "smtp/smtpd_private.h"

int
smtp_srs_rcpt(struct smtp_session *s, const char *rcpt,
    struct smtp_rcpt_lookup *res)
{
	const struct conf *c = s->conf;
	char orig[SRS_ADDR_MAX];
	const char *error = NULL;
	struct resolve_target *t;

	if (!c->srs || (res->st != RESOLVE_LOCAL &&
	    res->st != RESOLVE_UNKNOWN) || !srs_is_srs(rcpt))
		return 0;
	if (srs_reverse(s->srv->srs, rcpt, time(NULL),
	    (unsigned)(c->srs_max_age / 86400), orig, sizeof(orig),
	    &error) < 0) {
		log_info("%s smtp reject stage=rcpt rcpt=%s code=550 "
		    "dsn=5.1.1 reason=%s", s->id, log_q(rcpt), log_q(error));
		smtp_session_reply(s, "550 5.1.1 <%s>: Invalid SRS address "
		    "(%s)", rcpt, error);
		return -1;
	}
	resolve_result_free(&res->targets);
	t = xcalloc(1, sizeof(*t));
	str_lcpy(t->address, orig, sizeof(t->address));
	res->targets.v = t;
	res->targets.n = 1;
	res->st = RESOLVE_LOCAL;
	res->over_quota = false;
	log_info("%s smtp srs-reversed rcpt=%s to=%s", s->id, log_q(rcpt),
	    log_q(orig));
	return 0;
}
