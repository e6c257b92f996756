/* Sender ownership for authenticated sessions (sender_check = yes): the
 * MAIL FROM address and every address in the From: header fields must
 * belong to the authenticated user: the user's own address, its
 * +extensions, or an address that delivers to the user (an alias, a
 * list alias the user is on, the domain's catch-all), as resolve_rcpt()
 * sees it.  The From: values are collected as the header streams by
 * (smtp_header.c) and read as address lists with src/mime; anything it
 * cannot read as one address counts as not owned.  The store is asked
 * through a request (smtp_lookup.c), never on the loop.  The null sender is
 * left to the caller (allowed: MDNs and notices are sent with <>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "smtp/smtpd_private.h"

#define SMTP_SENDER_FROM_MAX 100	/* From: addresses checked */

void
smtp_sender_mail_refused(struct smtp_session *s, int owned,
    const char *sender)
{
	if (owned < 0) {
		smtp_session_reply(s, "451 4.3.0 Temporary lookup failure, "
		    "try again later");
		return;
	}
	log_info("%s smtp reject stage=mail code=553 check=sender "
	    "from=<%s> user=%s", s->id, sender, log_q(s->auth_user));
	metrics_smtp_refused("sender", 553);
	smtp_session_reply(s, "553 5.7.1 Sender address not owned by the "
	    "authenticated user");
}

int
smtp_sender_check_header(struct smtp_session *s, smtp_owner_cb *cb)
{
	struct smtp_tx *tx = s->tx;
	struct mime_address *list, *a;
	char **v = NULL;
	size_t n = 0;

	if (!tx->check_from)
		return 1;
	list = mime_address_parse(tx->from.data, tx->from.len);
	for (a = list; a != NULL && n < SMTP_SENDER_FROM_MAX; a = a->next) {
		if (a->kind != MIME_ADDR_MAILBOX)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = a->invalid ? NULL : xstrdup(a->addr);
	}
	mime_address_free(&list);
	if (n == 0)
		return 1;
	s->busy = true;
	s->sreq = smtp_owner_check(s, v, n, cb);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return 0;
}

const char *
smtp_sender_header_refused(struct smtp_session *s, int owned,
    const char *bad)
{
	if (owned < 0)
		return "451 4.3.0 Temporary lookup failure, try again later";
	log_info("%s smtp reject stage=data code=553 check=sender "
	    "header_from=%s user=%s", s->id, log_q(bad != NULL ? bad :
	    "(unreadable)"), log_q(s->auth_user));
	return "553 5.7.1 From: header address not owned by the "
	    "authenticated user";
}
