/* The MIME answer blob of the mailbox index (imap_mime_blob.h):
 * "FMC1", then for ENVELOPE, BODY and BODYSTRUCTURE a 32-bit length
 * and the response text, then a 32-bit FNV-1a checksum of everything
 * before it; numbers little-endian.  The checksum catches a row damaged
 * on disk or cut short; the parenthesis check keeps a blob that
 * happens to pass from putting anything but one list into a FETCH
 * line. */
#include <stdint.h>
#include <string.h>

#include "imap/imap_mime_blob.h"

#define IMAP_MIME_BLOB_MAGIC "FMC1"
#define IMAP_MIME_BLOB_MAX (16u * 1024 * 1024)

static uint32_t
imap_mime_blob_sum(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void
imap_mime_blob_u32(struct fbuf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8),
		(unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	fbuf_add(b, x, 4);
}

static uint32_t
imap_mime_blob_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
imap_mime_blob_encode(const struct fbuf *text[IMAP_MIME_COUNT],
    struct fbuf *out)
{
	size_t start = out->len;

	fbuf_adds(out, IMAP_MIME_BLOB_MAGIC);
	for (int i = 0; i < IMAP_MIME_COUNT; i++) {
		imap_mime_blob_u32(out, (uint32_t)text[i]->len);
		fbuf_add(out, text[i]->data, text[i]->len);
	}
	imap_mime_blob_u32(out, imap_mime_blob_sum((const unsigned char *)
	    out->data + start, out->len - start));
}

/* One parenthesised list: starts with '(' and ends with ')', and no
 * NUL (a literal inside may hold CRLF and anything else). */
static int
imap_mime_blob_list(const char *p, size_t n)
{
	if (n < 2 || p[0] != '(' || p[n - 1] != ')' ||
	    memchr(p, '\0', n) != NULL)
		return -1;
	return 0;
}

int
imap_mime_blob_decode(const void *data, size_t len, struct imap_mime_blob *r)
{
	const unsigned char *p = data;
	size_t off = 4;

	memset(r, 0, sizeof(*r));
	if (len < 4 + 4 * IMAP_MIME_COUNT + 4 || len > IMAP_MIME_BLOB_MAX ||
	    memcmp(p, IMAP_MIME_BLOB_MAGIC, 4) != 0)
		return -1;
	if (imap_mime_blob_get_u32(p + len - 4) !=
	    imap_mime_blob_sum(p, len - 4))
		return -1;
	for (int i = 0; i < IMAP_MIME_COUNT; i++) {
		uint32_t n;

		if (len - 4 - off < 4)
			return -1;
		n = imap_mime_blob_get_u32(p + off);
		off += 4;
		if (n > len - 4 - off)
			return -1;
		r->text[i] = (const char *)p + off;
		r->len[i] = n;
		if (imap_mime_blob_list(r->text[i], n) < 0)
			return -1;
		off += n;
	}
	if (off != len - 4)
		return -1;
	return 0;
}
