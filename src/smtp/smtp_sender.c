/* Sender ownership for authenticated sessions (sender_check = yes): the
 * MAIL FROM address and every address in the From: header fields must
 * belong to the authenticated user: the user's own address, its
 * +extensions, or an address that delivers to the user (an alias, a
 * list alias the user is on, the domain's catch-all), as resolve_rcpt()
 * sees it.  The From: values are collected as the header streams by
 * (smtp_header.c) and read as address lists with src/mime; anything it
 * cannot read as one address counts as not owned.  The null sender is
 * left to the caller (allowed: MDNs and notices are sent with <>). */
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "mime/mime.h"
#include "smtp/smtpd_private.h"
#include "store/resolve.h"

#define SMTP_SENDER_ADDR_MAX 512

/* 1 when the authenticated user owns addr, 0 when not, -1 when the
 * store could not say. */
static int
smtp_sender_is(struct smtp_session *s, const char *addr)
{
	const struct conf *c = s->conf;
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

	if (!s->conf->sender_check || (r = smtp_sender_is(s, sender)) == 1)
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

struct smtp_sender_from {
	struct smtp_session *s;
	bool tempfail;				/* the store failed */
	int bad;				/* unowned addresses */
	char first_bad[MIME_ADDR_MAX];
};

static void
smtp_sender_from_one(struct smtp_sender_from *f, const char *addr,
    bool unreadable)
{
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
	struct mime_address *list, *a;

	if (!tx->check_from)
		return NULL;
	if (smtp_header_too_big(tx))
		return "553 5.7.1 Header section too large";
	memset(&f, 0, sizeof(f));
	f.s = s;
	list = mime_address_parse(tx->from.data, tx->from.len);
	for (a = list; a != NULL; a = a->next)
		if (a->kind == MIME_ADDR_MAILBOX)
			smtp_sender_from_one(&f, a->addr, a->invalid);
	mime_address_free(&list);
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
