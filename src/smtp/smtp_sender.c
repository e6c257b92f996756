/* Sender ownership for authenticated sessions (sender_check = yes): the
 * MAIL FROM address and every address in the From: header fields must
 * belong to the authenticated user: the user's own address, its
 * +extensions, or an address that delivers to the user (an alias, a
 * list alias the user is on, the domain's catch-all), as resolve_rcpt()
 * sees it.  From: is read with smtp_hdraddr.c; anything it cannot read
 * as one address counts as not owned.  The null sender is
 * left to the caller (allowed: MDNs and notices are sent with <>). */
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "smtp/smtp_hdraddr.h"
#include "smtp/smtpd_private.h"
#include "store/resolve.h"

/* Header sections longer than this are refused rather than half read. */
#define SMTP_SENDER_HDRS_MAX (256 * 1024)
#define SMTP_SENDER_ADDR_MAX 512

/* 1 when the authenticated user owns addr, 0 when not, -1 when the
 * store could not say. */
static int
smtp_sender_is(struct smtp_session *s, const char *addr)
{
	const struct conf *c = s->srv->conf;
	struct resolve_opts o = { c->local_part_case_sensitive,
		c->recipient_delimiter };
	struct resolve_result r = { NULL, 0 };
	char norm[SMTP_SENDER_ADDR_MAX];
	enum resolve_status st;
	int owned = 0;

	if (strchr(addr, '@') == NULL || addr[0] == '@' ||
	    resolve_normalise(&o, addr, norm, sizeof(norm)) < 0)
		return 0;
	if (strcmp(norm, s->auth_user) == 0)
		return 1;
	/* +extensions, aliases and catch-alls: whatever delivers here. */
	st = resolve_rcpt(s->srv->env->store, &o, norm, &r);
	if (st == RESOLVE_ERROR)
		return -1;
	if (st == RESOLVE_LOCAL)
		for (size_t i = 0; i < r.n && owned == 0; i++)
			owned = r.v[i].local &&
			    strcmp(r.v[i].user, s->auth_user) == 0;
	resolve_result_free(&r);
	return owned;
}

int
smtp_sender_check_mail(struct smtp_session *s, const char *sender)
{
	int r;

	if (!s->srv->conf->sender_check || (r = smtp_sender_is(s, sender)) == 1)
		return 0;
	if (r < 0) {
		smtp_session_reply(s, "451 4.3.0 Temporary lookup failure, "
		    "try again later");
		return -1;
	}
	log_info("%s smtp reject stage=mail code=553 check=sender "
	    "from=<%s> user=%s", s->id, sender, log_q(s->auth_user));
	smtp_session_reply(s, "553 5.7.1 Sender address not owned by the "
	    "authenticated user");
	return -1;
}

void
smtp_sender_collect(struct smtp_tx *tx)
{
	size_t from, room, n;
	const char *end;

	if (!tx->check_from || tx->hdrs_done)
		return;
	from = tx->hdrs.len > 3 ? tx->hdrs.len - 3 : 0;
	room = SMTP_SENDER_HDRS_MAX - tx->hdrs.len;
	n = tx->out.len < room ? tx->out.len : room;
	fbuf_add(&tx->hdrs, tx->out.data, n);
	if (tx->hdrs.len >= 2 && memcmp(tx->hdrs.data, "\r\n", 2) == 0) {
		fbuf_reset(&tx->hdrs);		/* no header section at all */
		tx->hdrs_done = true;
		return;
	}
	end = memmem(tx->hdrs.data + from, tx->hdrs.len - from, "\r\n\r\n", 4);
	if (end != NULL) {
		tx->hdrs.len = (size_t)(end - tx->hdrs.data) + 2;
		tx->hdrs.data[tx->hdrs.len] = '\0';
		tx->hdrs_done = true;
	} else if (tx->hdrs.len >= SMTP_SENDER_HDRS_MAX) {
		tx->hdrs_overflow = true;
		tx->hdrs_done = true;
	}
}

struct smtp_sender_from {
	struct smtp_session *s;
	bool tempfail;				/* the store failed */
	int bad;				/* unowned addresses */
	char first_bad[SMTP_HDRADDR_MAX];
};

static void
smtp_sender_from_cb(void *ctx, const char *addr, bool unreadable)
{
	struct smtp_sender_from *f = ctx;

	int r = unreadable ? 0 : smtp_sender_is(f->s, addr);

	if (r == 1)
		return;
	if (r < 0) {
		f->tempfail = true;
		return;
	}
	if (f->bad++ == 0)
		snprintf(f->first_bad, sizeof(f->first_bad), "%s",
		    unreadable ? "(unreadable)" : addr);
}

const char *
smtp_sender_check_header(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_sender_from f;
	struct fbuf from;

	if (!tx->check_from)
		return NULL;
	if (tx->hdrs_overflow)
		return "553 5.7.1 Header section too large";
	memset(&f, 0, sizeof(f));
	f.s = s;
	fbuf_init(&from, 0);
	smtp_hdraddr_fields(tx->hdrs.data, tx->hdrs.len, "From", &from);
	if (from.len > 0)
		smtp_hdraddr_parse(from.data, from.len, smtp_sender_from_cb, &f);
	fbuf_release(&from);
	if (f.bad == 0 && f.tempfail)
		return "451 4.3.0 Temporary lookup failure, try again later";
	if (f.bad == 0)
		return NULL;
	log_info("%s smtp reject stage=data code=553 check=sender "
	    "header_from=%s user=%s", s->id, log_q(f.first_bad),
	    log_q(s->auth_user));
	return "553 5.7.1 From: header address not owned by the "
	    "authenticated user";
}
