/* Vacation settings (ops_vacation.h) on the store.  A change is applied
 * to the stored settings (or the defaults) and the result is checked as
 * a whole: turning on needs a body, the end must come after the start,
 * and turning on with an end already past would answer nobody. */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_vacation.h"
#include "store/resolve.h"
#include "store/store.h"

int
ops_vacation_get(const struct ops_ctx *c, const char *input,
    struct ops_vacation *out, struct ops_status *st)
{
	struct store_vacation v;
	int r;

	memset(out, 0, sizeof(*out));
	if (ops_mailbox_arg(c, input, out->address, sizeof(out->address),
	    st) < 0)
		return -1;
	r = store_vacation_get(c->store, out->address, &v);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", out->address);
	if (r == 0) {
		out->subject = xstrdup("");
		out->body = xstrdup("");
		out->days = OPS_VACATION_DAYS_DEFAULT;
		return ops_ok(st);
	}
	out->exists = true;
	out->enabled = v.enabled;
	out->subject = v.subject;
	out->body = v.body;
	out->start = v.start;
	out->end = v.end;
	out->days = v.days;
	return ops_ok(st);
}

void
ops_vacation_free(struct ops_vacation *v)
{
	free(v->subject);
	free(v->body);
	memset(v, 0, sizeof(*v));
}

/* The text fields of ch into v. */
static int
ops_vacation_apply_text(const struct ops_vacation_change *ch,
    struct ops_vacation *v, struct ops_status *st)
{
	const char *error;
	struct fbuf body;

	if (ch->subject != NULL) {
		if (ops_vacation_check_subject(ch->subject,
		    strlen(ch->subject), &error) < 0)
			return ops_fail(st, OPS_EINVAL, "%s: subject %s",
			    v->address, error);
		free(v->subject);
		v->subject = xstrdup(ch->subject);
	}
	if (ch->body != NULL) {
		fbuf_init(&body, 0);
		if (ops_vacation_norm_body(ch->body, ch->body_len, &body,
		    &error) < 0) {
			fbuf_release(&body);
			return ops_fail(st, OPS_EINVAL, "%s: body %s",
			    v->address, error);
		}
		free(v->body);
		v->body = xstrdup(fbuf_str(&body));
		fbuf_release(&body);
	}
	return 0;
}

/* The dates and the period of ch into v. */
static int
ops_vacation_apply_times(const struct ops_vacation_change *ch,
    struct ops_vacation *v, struct ops_status *st)
{
	const char *error;
	uint64_t days;

	if (ch->start != NULL && ch->start[0] == '\0')
		v->start = 0;
	else if (ch->start != NULL && ops_vacation_parse_date(ch->start,
	    false, &v->start, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "start %s: %s", ch->start,
		    error);
	if (ch->end != NULL && ch->end[0] == '\0')
		v->end = 0;
	else if (ch->end != NULL && ops_vacation_parse_date(ch->end, true,
	    &v->end, &error) < 0)
		return ops_fail(st, OPS_EINVAL, "end %s: %s", ch->end, error);
	if (ch->days != NULL) {
		if (str_parse_uint(ch->days, 1, OPS_VACATION_DAYS_MAX,
		    &days) < 0)
			return ops_fail(st, OPS_EINVAL, "days %s: a number "
			    "from 1 to %d", ch->days, OPS_VACATION_DAYS_MAX);
		v->days = (unsigned)days;
	}
	return 0;
}

int
ops_vacation_change(const struct ops_ctx *c, const char *input,
    const struct ops_vacation_change *ch, int64_t now,
    struct ops_status *st)
{
	struct ops_vacation v;
	struct store_vacation sv;
	const char *error;
	int r = -1;

	if (ops_vacation_get(c, input, &v, st) < 0)
		return -1;
	if (ch->enabled >= 0)
		v.enabled = ch->enabled > 0;
	if (ops_vacation_apply_text(ch, &v, st) < 0 ||
	    ops_vacation_apply_times(ch, &v, st) < 0)
		goto out;
	if (v.start != 0 && v.end != 0 && v.end <= v.start)
		ops_fail(st, OPS_EINVAL, "%s: the end is not after the start",
		    v.address);
	else if (v.enabled && v.body[0] == '\0')
		ops_fail(st, OPS_EINVAL, "%s: a vacation reply needs a body",
		    v.address);
	else if (v.enabled && ch->enabled > 0 && v.end != 0 && v.end <= now)
		ops_fail(st, OPS_EINVAL, "%s: the end is already past",
		    v.address);
	else {
		memset(&sv, 0, sizeof(sv));
		sv.enabled = v.enabled;
		sv.subject = v.subject;
		sv.body = v.body;
		sv.start = v.start;
		sv.end = v.end;
		sv.days = v.days;
		sv.updated = now;
		if (store_vacation_set(c->store, v.address, &sv, &error) < 0)
			ops_fail(st, OPS_EFAIL, "%s: %s", v.address, error);
		else
			r = ops_ok(st);
	}
out:
	ops_vacation_free(&v);
	return r;
}
