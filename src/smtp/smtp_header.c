/* The header section of a message as it streams in (DATA or BDAT),
 * read with src/mime: it counts the Received fields for RFC 5321 6.3
 * loop detection (max_hops; the Received field Ferry adds counts too,
 * so mail that an alias sends out and that comes back is stopped) and,
 * for the sender check, collects the values of the From fields; it
 * notes a DMARC report's Subject (such mail goes through the queue,
 * which reads the report: ops/ops_dmarc_in.h).  The DKIM and ARC
 * verifiers take their fields from this parse too (one parse of the
 * section instead of three), so its limits are theirs.
 * Nothing of the body is looked at, and memory is bounded by the
 * parser's header limit (the same 256 KiB the sender check allows). */
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/arc.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_verify.h"
#include "msgauth/dmarc_agg.h"
#include "smtp/smtpd_private.h"

/* The verifiers' own parsers had these limits (dkim_verify.c, arc.c). */
_Static_assert(SMTP_HEADER_MAX == DKIM_SIGNER_HEADER_MAX,
    "the verifiers read the fields of the transaction's parse");

static void
smtp_header_field(void *ctx, const struct mime_field *f)
{
	struct smtp_tx *tx = ctx;

	/* The verifiers read the fields of this one parse too. */
	if (tx->verifier != NULL)
		dkim_verifier_field(tx->verifier, f);
	if (tx->arc != NULL)
		arc_verifier_field(tx->arc, f);
	if (mime_field_is(f, "Received"))
		tx->received++;
	else if (tx->hold && mime_field_is(f, "Authentication-Results") &&
	    smtp_authres_is_ours(f->value, f->value_len, tx->authserv_id)) {
		tx->drop = xreallocarray(tx->drop, tx->ndrop + 1,
		    sizeof(*tx->drop));
		tx->drop[tx->ndrop].off = f->offset;
		tx->drop[tx->ndrop++].len = f->raw_len;
	}
	else if (mime_field_is(f, "Subject") &&
	    dmarc_agg_subject(f->value, f->value_len))
		tx->dmarc_report = true;
	else if ((tx->check_from || tx->dmarc_from) &&
	    mime_field_is(f, "From")) {
		tx->nfrom++;
		fbuf_add(&tx->from, f->value, f->value_len);
		fbuf_addc(&tx->from, ',');
	}
}

void
smtp_header_start(struct smtp_tx *tx)
{
	struct mime_limits l;

	mime_limits_default(&l);
	l.header_max = SMTP_HEADER_MAX;
	/* Fields are not kept, only counted: no limit on their number
	 * short of the header size. */
	l.fields_max = SMTP_HEADER_MAX;
	tx->hp = mime_header_parser_new(&l, smtp_header_field, tx);
}

size_t
smtp_header_feed(struct smtp_tx *tx, const void *data, size_t n)
{
	if (tx->hp != NULL && !mime_header_parser_done(tx->hp))
		return mime_header_parser_feed(tx->hp, data, n);
	return 0;
}

void
smtp_header_end(struct smtp_tx *tx)
{
	if (tx->hp != NULL)
		mime_header_parser_finish(tx->hp);
}

bool
smtp_header_ended(const struct smtp_tx *tx)
{
	return tx->hp != NULL && mime_header_parser_done(tx->hp);
}

bool
smtp_header_too_big(const struct smtp_tx *tx)
{
	return tx->hp != NULL && (mime_header_parser_flags(tx->hp) &
	    MIME_F_HEADER_TOO_BIG) != 0;
}

const char *
smtp_header_check_hops(struct smtp_session *s, char *buf, size_t size)
{
	unsigned hops = s->tx->received + 1;	/* ours */

	if (hops <= s->conf->max_hops)
		return NULL;
	snprintf(buf, size, "554 5.4.6 Too many hops: %u Received header "
	    "fields (mail loop?)", hops);
	return buf;
}
