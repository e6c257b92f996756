/* The FETCH items that need a message's MIME structure (RFC 9051
 * section 7.5.2, RFC 3501 section 7.4.2): ENVELOPE, BODY, BODYSTRUCTURE
 * and BODY[part[.HEADER|.TEXT|.MIME|.HEADER.FIELDS...]], built on
 * src/mime/ (mime.h) from the message with CRLF line ends, so sizes and
 * offsets are those a client receives.  Strings go out as they are in
 * the message (encoded words stay encoded, as IMAP asks); 8-bit text is
 * sent as a literal.  Types and parameter names come lower-case from
 * the parser, which IMAP compares case-blind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_mime_blob.h"
#include "imap/imap_private.h"
#include "mailbox/mbox.h"
#include "mime/mime.h"

static void
imap_mime_nstr(struct fbuf *b, const char *s)
{
	imap_fmt_nstring(b, s, false);
}

static void
imap_mime_addresses(struct fbuf *b, const struct mime_address *a)
{
	if (a == NULL) {
		fbuf_adds(b, "NIL");
		return;
	}
	fbuf_addc(b, '(');
	for (; a != NULL; a = a->next) {
		fbuf_addc(b, '(');
		if (a->kind == MIME_ADDR_GROUP_START) {
			/* the parser keeps a group's name in mailbox */
			fbuf_adds(b, "NIL NIL ");
			imap_mime_nstr(b, a->mailbox != NULL ? a->mailbox : "");
			fbuf_adds(b, " NIL");
		} else if (a->kind == MIME_ADDR_GROUP_END) {
			fbuf_adds(b, "NIL NIL NIL NIL");
		} else {
			imap_mime_nstr(b, a->name);
			fbuf_addc(b, ' ');
			imap_mime_nstr(b, a->route);
			fbuf_addc(b, ' ');
			imap_mime_nstr(b, a->mailbox);
			fbuf_addc(b, ' ');
			imap_mime_nstr(b, a->domain);
		}
		fbuf_addc(b, ')');
	}
	fbuf_addc(b, ')');
}

/* ENVELOPE of the header section hdr[0..len). */
static void
imap_mime_envelope(struct fbuf *b, const char *hdr, size_t len)
{
	struct mime_envelope env;

	memset(&env, 0, sizeof(env));
	mime_envelope_parse(hdr, len, &env);
	fbuf_addc(b, '(');
	imap_mime_nstr(b, env.date);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, env.subject);
	fbuf_addc(b, ' ');
	imap_mime_addresses(b, env.from);
	fbuf_addc(b, ' ');
	/* RFC 3501 7.4.2: Sender and Reply-To default to From */
	imap_mime_addresses(b, env.sender != NULL ? env.sender : env.from);
	fbuf_addc(b, ' ');
	imap_mime_addresses(b, env.reply_to != NULL ? env.reply_to : env.from);
	fbuf_addc(b, ' ');
	imap_mime_addresses(b, env.to);
	fbuf_addc(b, ' ');
	imap_mime_addresses(b, env.cc);
	fbuf_addc(b, ' ');
	imap_mime_addresses(b, env.bcc);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, env.in_reply_to);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, env.message_id);
	fbuf_addc(b, ')');
	mime_envelope_free(&env);
}

static void
imap_mime_params(struct fbuf *b, const struct mime_value *v)
{
	if (v->nparams == 0) {
		fbuf_adds(b, "NIL");
		return;
	}
	fbuf_addc(b, '(');
	for (size_t i = 0; i < v->nparams; i++) {
		if (i > 0)
			fbuf_addc(b, ' ');
		imap_mime_nstr(b, v->params[i].name);
		fbuf_addc(b, ' ');
		imap_mime_nstr(b, v->params[i].value != NULL ?
		    v->params[i].value : "");
	}
	fbuf_addc(b, ')');
}

/* disposition, language, location (the extension data shared by both
 * kinds of parts). */
static void
imap_mime_ext_tail(struct fbuf *b, const struct mime_part *p)
{
	fbuf_addc(b, ' ');
	if (p->disposition.type == NULL)
		fbuf_adds(b, "NIL");
	else {
		fbuf_addc(b, '(');
		imap_mime_nstr(b, p->disposition.type);
		fbuf_addc(b, ' ');
		imap_mime_params(b, &p->disposition);
		fbuf_addc(b, ')');
	}
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->language);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->location);
}

static void imap_mime_structure(struct fbuf *b, const char *msg,
    const struct mime_part *p, bool ext);

static void
imap_mime_multipart(struct fbuf *b, const char *msg,
    const struct mime_part *p, bool ext)
{
	const struct mime_part *c;

	fbuf_addc(b, '(');
	for (c = p->children; c != NULL; c = c->next)
		imap_mime_structure(b, msg, c, ext);
	if (p->children == NULL)	/* no parts: an empty text part */
		fbuf_adds(b, "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->ctype.subtype != NULL ? p->ctype.subtype :
	    "mixed");
	if (ext) {
		fbuf_addc(b, ' ');
		imap_mime_params(b, &p->ctype);
		imap_mime_ext_tail(b, p);
	}
	fbuf_addc(b, ')');
}

static void
imap_mime_structure(struct fbuf *b, const char *msg,
    const struct mime_part *p, bool ext)
{
	const char *type = p->ctype.type != NULL ? p->ctype.type : "text";
	const char *sub = p->ctype.subtype != NULL ? p->ctype.subtype :
	    "plain";

	if (p->multipart) {
		imap_mime_multipart(b, msg, p, ext);
		return;
	}
	fbuf_addc(b, '(');
	imap_mime_nstr(b, type);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, sub);
	fbuf_addc(b, ' ');
	imap_mime_params(b, &p->ctype);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->id);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->description);
	fbuf_addc(b, ' ');
	imap_mime_nstr(b, p->encoding != NULL ? p->encoding : "7bit");
	fbuf_addf(b, " %llu", (unsigned long long)p->body_size);
	if (p->message && p->children != NULL) {
		const struct mime_part *m = p->children;

		fbuf_addc(b, ' ');
		imap_mime_envelope(b, msg + m->hdr_offset, (size_t)m->hdr_size);
		fbuf_addc(b, ' ');
		imap_mime_structure(b, msg, m, ext);
		fbuf_addf(b, " %llu", (unsigned long long)p->body_lines);
	} else if (strcmp(type, "text") == 0)
		fbuf_addf(b, " %llu", (unsigned long long)p->body_lines);
	if (ext) {
		fbuf_addc(b, ' ');
		imap_mime_nstr(b, p->md5);
		imap_mime_ext_tail(b, p);
	}
	fbuf_addc(b, ')');
}

int
imap_fetch_mime_item(const struct imap_fetch_item *it, const struct fbuf *msg,
    struct fbuf *b)
{
	const char *data = fbuf_str(msg);
	struct mime_part *root = mime_parse(data, msg->len, NULL);

	if (root == NULL)
		return -1;
	switch (it->type) {
	case IMAP_FETCH_ENVELOPE:
		fbuf_adds(b, "ENVELOPE ");
		imap_mime_envelope(b, data, (size_t)root->hdr_size);
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
	case IMAP_FETCH_BODY:
		fbuf_adds(b, it->type == IMAP_FETCH_BODY ? "BODY " :
		    "BODYSTRUCTURE ");
		imap_mime_structure(b, data, root,
		    it->type == IMAP_FETCH_BODYSTRUCTURE);
		break;
	default:
		break;
	}
	mime_part_free(&root);
	return 0;
}

/* ENVELOPE, BODY and BODYSTRUCTURE of msg, built from one parse, as a
 * blob for the index. */
static int
imap_fetch_mime_build(const struct fbuf *msg, struct fbuf *blob)
{
	const char *data = fbuf_str(msg);
	struct mime_part *root = mime_parse(data, msg->len, NULL);
	struct fbuf t[IMAP_MIME_COUNT];
	const struct fbuf *tp[IMAP_MIME_COUNT];

	if (root == NULL)
		return -1;
	for (int i = 0; i < IMAP_MIME_COUNT; i++) {
		fbuf_init(&t[i], 0);
		tp[i] = &t[i];
	}
	imap_mime_envelope(&t[IMAP_MIME_ENVELOPE], data,
	    (size_t)root->hdr_size);
	imap_mime_structure(&t[IMAP_MIME_BODY], data, root, false);
	imap_mime_structure(&t[IMAP_MIME_BODYSTRUCTURE], data, root, true);
	mime_part_free(&root);
	imap_mime_blob_encode(tp, blob);
	for (int i = 0; i < IMAP_MIME_COUNT; i++)
		fbuf_release(&t[i]);
	return 0;
}

int
imap_fetch_mime_cached(struct mbox_view *view, uint32_t seq,
    const struct mbox_msg *m, const struct fbuf *msg, struct fbuf *blob,
    struct imap_mime_blob *r)
{
	struct fbuf own;
	void *data;
	size_t len;
	int ret;

	fbuf_reset(blob);
	if (mbox_cache_get(view, m->uid, IMAP_CACHE_MIME, &data, &len) == 0 &&
	    data != NULL) {
		fbuf_add(blob, data, len);
		free(data);
		if (imap_mime_blob_decode(blob->data, blob->len, r) == 0)
			return 0;
		fbuf_reset(blob);	/* damaged: built again below */
	}
	fbuf_init(&own, 0);
	if (msg == NULL) {
		if (imap_read_message(view, seq, &own) < 0) {
			fbuf_release(&own);
			return -1;
		}
		msg = &own;
	}
	ret = imap_fetch_mime_build(msg, blob);
	fbuf_release(&own);
	if (ret < 0 || imap_mime_blob_decode(blob->data, blob->len, r) < 0)
		return -1;
	(void)mbox_cache_put(view, m->uid, IMAP_CACHE_MIME, blob->data,
	    blob->len);
	return 0;
}

int
imap_fetch_mime_section(const struct imap_fetch_item *it,
    const struct fbuf *msg, struct fbuf *out)
{
	const char *data = fbuf_str(msg);
	struct mime_part *root = mime_parse(data, msg->len, NULL);
	const struct mime_part *p, *m;
	char section[IMAP_SECTION_DEPTH * 11 + 1];
	size_t n = 0;

	if (root == NULL)
		return -1;
	section[0] = '\0';
	for (unsigned i = 0; i < it->nparts; i++)
		n += (size_t)snprintf(section + n, sizeof(section) - n, "%s%u",
		    i ? "." : "", it->parts[i]);
	p = mime_part_find(root, section);
	if (p == NULL) {
		/* a part that does not exist is empty (RFC 9051 6.4.5) */
		mime_part_free(&root);
		return 0;
	}
	m = p->message && p->children != NULL ? p->children : NULL;
	switch (it->text) {
	case IMAP_SECTION_ALL:
		fbuf_add(out, data + p->body_offset, (size_t)p->body_size);
		break;
	case IMAP_SECTION_MIME:
		fbuf_add(out, data + p->hdr_offset, (size_t)p->hdr_size);
		break;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		if (m != NULL)
			fbuf_add(out, data + m->hdr_offset, (size_t)m->hdr_size);
		break;
	case IMAP_SECTION_TEXT:
		if (m != NULL)
			fbuf_add(out, data + m->body_offset,
			    (size_t)m->body_size);
		break;
	}
	mime_part_free(&root);
	return 0;
}
