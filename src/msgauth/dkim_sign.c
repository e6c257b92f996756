/* DKIM signing (RFC 6376 5; RFC 8463): the signer that follows a message
 * as it streams and the DKIM-Signature field it writes.
 *
 * The header section is parsed by src/mime as it arrives and kept (it
 * is bounded); when it ends, the From domain (RFC 5322.From, one domain
 * only: a message with several From fields or mailboxes of different
 * domains is not signed) selects the keys, and from then on the body is
 * only hashed (relaxed) and never kept.  Signatures are relaxed/relaxed
 * with t= and no l=, x= or i=; From, To, Subject, Date, Message-ID and
 * Content-Type are over-signed (5.4.2: listed once more than present, so
 * that an instance added on the way breaks the signature). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_private.h"

#define DKIM_FOLD 76		/* fold the field before this column */

static const struct {
	const char *name;
	bool over;
} dkim_sign_names[] = {
	{ "from", true }, { "reply-to", false }, { "subject", true },
	{ "date", true }, { "to", true }, { "cc", false },
	{ "message-id", true }, { "in-reply-to", false },
	{ "references", false }, { "mime-version", false },
	{ "content-type", true }, { "content-transfer-encoding", false },
	{ "sender", false }, { "list-unsubscribe", false },
	{ "list-unsubscribe-post", false },
};

enum dkim_signer_state {
	DKIM_SIGNER_HEADER = 0,
	DKIM_SIGNER_BODY,
	DKIM_SIGNER_OFF
};

struct dkim_signer {
	struct dkim_keyring *ring;	/* a reference */
	enum dkim_signer_state state;
	struct mime_header_parser *hp;
	struct dkim_fields fs;
	char domain[254];		/* the From domain; "" none yet */
	bool from_bad;			/* no single From domain */
	struct dkim_body body;
};

/* ---------------------------------------------------------- the field */

static size_t
dkim_sign_count(const struct dkim_hfield *f, size_t nf, const char *name)
{
	size_t n = 0, nl = strlen(name);

	for (size_t i = 0; i < nf; i++)
		if (f[i].name_len == nl && strncasecmp(f[i].name, name, nl) ==
		    0)
			n++;
	return n;
}

/* The h= names for this message into names: the count. */
static size_t
dkim_sign_hnames(const struct dkim_hfield *f, size_t nf,
    char names[][DKIM_HNAME_MAX + 1])
{
	size_t nh = 0;

	for (size_t k = 0; k < sizeof(dkim_sign_names) /
	    sizeof(dkim_sign_names[0]); k++) {
		size_t c = dkim_sign_count(f, nf, dkim_sign_names[k].name);

		if (dkim_sign_names[k].over)
			c++;
		for (; c > 0 && nh < DKIM_HNAMES_MAX; c--)
			snprintf(names[nh++], DKIM_HNAME_MAX + 1, "%s",
			    dkim_sign_names[k].name);
	}
	return nh;
}

/* Appends s, folding first when the current line would pass DKIM_FOLD. */
static void
dkim_sign_add(struct fbuf *out, size_t *col, const char *s, bool fold_ok)
{
	size_t n = strlen(s);

	if (fold_ok && *col + n > DKIM_FOLD) {
		fbuf_adds(out, "\r\n\t");
		*col = 1;
	}
	fbuf_adds(out, s);
	*col += n;
}

int
dkim_sign_fields(const struct dkim_sign_key *k, time_t now,
    const struct dkim_hfield *f, size_t nf, const unsigned char bh[32],
    struct fbuf *out)
{
	return dkim_sign_fields_as(k, "DKIM-Signature: v=1", now, f, nf, bh,
	    out);
}

int
dkim_sign_fields_as(const struct dkim_sign_key *k, const char *head,
    time_t now, const struct dkim_hfield *f, size_t nf,
    const unsigned char bh[32], struct fbuf *out)
{
	char names[DKIM_HNAMES_MAX][DKIM_HNAME_MAX + 1], tmp[600];
	unsigned char sig[DKIM_SIG_MAX];
	struct fbuf field, data, b64;
	size_t nh = dkim_sign_hnames(f, nf, names), col = 0;
	int algo = dkim_pkey_algo(k->key), n;

	if (algo < 0)
		return -1;
	fbuf_init(&field, 0);
	fbuf_init(&data, 0);
	fbuf_init(&b64, 0);
	snprintf(tmp, sizeof(tmp), "%s; a=%s; c=relaxed/relaxed;", head,
	    dkim_algo_str((enum dkim_algo)algo));
	dkim_sign_add(&field, &col, tmp, false);
	snprintf(tmp, sizeof(tmp), " d=%s;", k->domain);
	dkim_sign_add(&field, &col, tmp, true);
	snprintf(tmp, sizeof(tmp), " s=%s;", k->selector);
	dkim_sign_add(&field, &col, tmp, true);
	snprintf(tmp, sizeof(tmp), " t=%lld;", (long long)now);
	dkim_sign_add(&field, &col, tmp, true);
	for (size_t i = 0; i < nh; i++) {
		snprintf(tmp, sizeof(tmp), "%s%.*s%s", i == 0 ? " h=" : "",
		    DKIM_HNAME_MAX, names[i], i + 1 < nh ? ":" : ";");
		dkim_sign_add(&field, &col, tmp, true);
	}
	dkim_base64_encode(bh, 32, &b64);
	fbuf_adds(&field, "\r\n\tbh=");
	fbuf_add(&field, b64.data, b64.len);
	fbuf_adds(&field, ";\r\n\tb=");
	dkim_header_data(DKIM_C_RELAXED, f, nf, names, nh, field.data,
	    field.len, &data);
	n = dkim_sign_data(k->key, data.data, data.len, sig, sizeof(sig));
	if (n > 0) {
		fbuf_reset(&b64);
		dkim_base64_encode(sig, (size_t)n, &b64);
		for (size_t i = 0; i < b64.len; i += 72) {
			if (i > 0)
				fbuf_adds(&field, "\r\n\t");
			fbuf_add(&field, b64.data + i, b64.len - i < 72 ?
			    b64.len - i : 72);
		}
		fbuf_adds(&field, "\r\n");
		fbuf_add(out, field.data, field.len);
	}
	fbuf_release(&field);
	fbuf_release(&data);
	fbuf_release(&b64);
	return n > 0 ? 0 : -1;
}

/* ---------------------------------------------------------- the signer */

static void
dkim_signer_from(struct dkim_signer *s, const struct mime_field *mf)
{
	struct mime_address *list = mime_address_parse(mf->value,
	    mf->value_len);

	for (struct mime_address *a = list; a != NULL; a = a->next) {
		if (a->kind != MIME_ADDR_MAILBOX)
			continue;
		if (a->invalid || a->domain == NULL || (s->domain[0] != '\0' &&
		    strcasecmp(s->domain, a->domain) != 0))
			s->from_bad = true;
		else
			snprintf(s->domain, sizeof(s->domain), "%s", a->domain);
	}
	if (list == NULL)
		s->from_bad = true;
	mime_address_free(&list);
}

static void
dkim_signer_field(void *ctx, const struct mime_field *mf)
{
	struct dkim_signer *s = ctx;

	if (s->state != DKIM_SIGNER_HEADER)
		return;
	if (mime_field_is(mf, "From")) {
		if (s->domain[0] != '\0')
			s->from_bad = true;	/* a second From field */
		dkim_signer_from(s, mf);
	}
	if (dkim_fields_add(&s->fs, mf) < 0)
		s->state = DKIM_SIGNER_OFF;
}

/* The header section ended: sign only for one From domain with a key. */
static void
dkim_signer_header_done(struct dkim_signer *s)
{
	if (s->state != DKIM_SIGNER_HEADER)
		return;
	if (s->from_bad || s->domain[0] == '\0' ||
	    !dkim_keyring_has(s->ring, s->domain)) {
		s->state = DKIM_SIGNER_OFF;
		return;
	}
	dkim_body_init(&s->body, DKIM_C_RELAXED, UINT64_MAX);
	s->state = DKIM_SIGNER_BODY;
}

struct dkim_signer *
dkim_signer_new(const struct dkim_keyring *r)
{
	struct dkim_signer *s;

	if (!dkim_keyring_any(r))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->ring = dkim_keyring_ref((struct dkim_keyring *)r);
	dkim_fields_init(&s->fs);
	s->hp = dkim_header_parser_new(dkim_signer_field, s);
	return s;
}

void
dkim_signer_feed(struct dkim_signer *s, const void *data, size_t n)
{
	size_t used;

	if (s->state == DKIM_SIGNER_HEADER) {
		used = mime_header_parser_feed(s->hp, data, n);
		if (mime_header_parser_flags(s->hp) & MIME_F_HEADER_TOO_BIG)
			s->state = DKIM_SIGNER_OFF;
		if (!mime_header_parser_done(s->hp))
			return;
		dkim_signer_header_done(s);
		data = (const char *)data + used;
		n -= used;
	}
	if (s->state == DKIM_SIGNER_BODY)
		dkim_body_feed(&s->body, data, n);
}

const char *
dkim_signer_domain(const struct dkim_signer *s)
{
	return s->from_bad ? "" : s->domain;
}

int
dkim_signer_finish(struct dkim_signer *s, time_t now, struct fbuf *out)
{
	struct dkim_hfield *f;
	unsigned char bh[32];
	int made = 0;

	if (s->state == DKIM_SIGNER_HEADER) {
		mime_header_parser_finish(s->hp);
		dkim_signer_header_done(s);
	}
	if (s->state != DKIM_SIGNER_BODY)
		return 0;
	dkim_body_finish(&s->body, bh);
	s->state = DKIM_SIGNER_OFF;
	f = dkim_fields_view(&s->fs);
	for (size_t i = 0; i < s->ring->n; i++) {
		const struct dkim_ringkey *rk = &s->ring->keys[i];
		struct dkim_sign_key k = { rk->key, rk->domain, rk->selector };

		if (strcasecmp(rk->domain, s->domain) == 0 &&
		    dkim_sign_fields(&k, now, f, s->fs.n, bh, out) == 0)
			made++;
	}
	free(f);
	return made;
}

void
dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;

	if (s == NULL)
		return;
	if (s->state == DKIM_SIGNER_BODY)
		dkim_body_free(&s->body);
	mime_header_parser_free(&s->hp);
	dkim_fields_release(&s->fs);
	dkim_keyring_free(&s->ring);
	free(s);
	*sp = NULL;
}
