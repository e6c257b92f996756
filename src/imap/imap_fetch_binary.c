/* FETCH BINARY[section]<partial>, BINARY.PEEK and BINARY.SIZE (RFC
 * 3516, RFC 9051 section 6.4.5): a leaf part's body with its
 * Content-Transfer-Encoding undone (base64, quoted-printable; 7bit,
 * 8bit and binary are identity), sent as a literal8 (~{n}) when it holds
 * NUL.  An encoding we do not know is refused (NO [UNKNOWN-CTE]) rather
 * than sent still encoded.  BINARY[] and multipart or message/rfc822
 * parts go out as they are (their encoding may only be an identity one).
 * The message is the one FETCH read, with CRLF line ends, so decoded
 * quoted-printable text keeps CRLF line breaks. */
#include <stdio.h>
#include <string.h>

#include "imap/imap_private.h"
#include "mime/mime.h"

/* 0 and the decoder's encoding, or -1 for an unknown one. */
static int
imap_binary_cte(const char *name, enum mime_cte *cte_r)
{
	static const char *const identity[] = { "7bit", "8bit", "binary" };

	if (name == NULL) {
		*cte_r = MIME_CTE_7BIT;
		return 0;
	}
	for (size_t i = 0; i < sizeof(identity) / sizeof(identity[0]); i++) {
		if (strcasecmp(name, identity[i]) == 0) {
			*cte_r = MIME_CTE_7BIT;
			return 0;
		}
	}
	if (strcasecmp(name, "base64") == 0)
		*cte_r = MIME_CTE_BASE64;
	else if (strcasecmp(name, "quoted-printable") == 0)
		*cte_r = MIME_CTE_QP;
	else
		return -1;
	return 0;
}

/* The decoded content of the section into out; -1: unknown encoding. */
static int
imap_binary_content(const struct imap_fetch_item *it, const struct fbuf *msg,
    struct fbuf *out)
{
	const char *data = fbuf_str(msg);
	char section[IMAP_SECTION_DEPTH * 11 + 1];
	const struct mime_part *p;
	struct mime_part *root;
	struct mime_decoder d;
	enum mime_cte cte;
	size_t n = 0;
	int r = 0;

	if (it->nparts == 0) {
		fbuf_add(out, data, msg->len);
		return 0;
	}
	if ((root = mime_parse(data, msg->len, NULL)) == NULL)
		return 0;
	section[0] = '\0';
	for (unsigned i = 0; i < it->nparts; i++)
		n += (size_t)snprintf(section + n, sizeof(section) - n, "%s%u",
		    i ? "." : "", it->parts[i]);
	p = mime_part_find(root, section);
	if (p == NULL || p->body_offset + p->body_size > msg->len) {
		/* a part that does not exist is empty, as for BODY[] */
	} else if (p->multipart || p->message) {
		fbuf_add(out, data + p->body_offset, (size_t)p->body_size);
	} else if (imap_binary_cte(p->encoding, &cte) < 0) {
		r = -1;
	} else {
		mime_decoder_init(&d, cte);
		mime_decoder_feed(&d, data + p->body_offset,
		    (size_t)p->body_size, out);
		mime_decoder_finish(&d, out);
	}
	mime_part_free(&root);
	return r;
}

int
imap_fetch_binary(const struct imap_fetch_item *it, const struct fbuf *msg,
    struct fbuf *b)
{
	struct fbuf content;
	const char *data;
	size_t len;

	fbuf_init(&content, 0);
	if (imap_binary_content(it, msg, &content) < 0) {
		fbuf_release(&content);
		return -1;
	}
	data = fbuf_str(&content);
	len = content.len;
	fbuf_adds(b, it->name);
	if (it->type == IMAP_FETCH_BINARY_SIZE) {
		fbuf_addf(b, " %zu", len);
		fbuf_release(&content);
		return 0;
	}
	if (it->partial) {
		fbuf_addf(b, "<%llu>", (unsigned long long)it->offset);
		if (it->offset >= len)
			len = 0;
		else {
			data += it->offset;
			len -= (size_t)it->offset;
			if (len > it->count)
				len = (size_t)it->count;
		}
	}
	fbuf_addf(b, " %s{%zu}\r\n", memchr(data, '\0', len) != NULL ? "~" :
	    "", len);
	fbuf_add(b, data, len);
	fbuf_release(&content);
	return 0;
}
