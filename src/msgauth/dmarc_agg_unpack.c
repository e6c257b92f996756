/* Report attachments (dmarc_agg.h): found in a mail by its MIME
 * structure, transfer-decoded, and unpacked.  gzip (RFC 1952) through
 * zlib, which checks the CRC and length of the trailer; zip (PKWARE's
 * APPNOTE) read from its end of central directory: exactly one entry,
 * stored or deflated, not encrypted, no ZIP64, its size and CRC
 * checked.  Output is bounded by the caller's max whatever the headers
 * claim, so a bomb stops at the limit with an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "lib/fbuf.h"
#include "mime/mime.h"
#include "msgauth/dmarc_agg.h"

#define DMARC_AGG_CHUNK 16384

/* Drops what was appended after start. */
static void
dmarc_agg_cut(struct fbuf *out, size_t start)
{
	if (out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
}

enum dmarc_agg_kind
dmarc_agg_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return DMARC_AGG_GZIP;
	if (len >= 4 && memcmp(p, "PK\003\004", 4) == 0)
		return DMARC_AGG_ZIP;
	return DMARC_AGG_XML;
}

/* Inflates in[0..n) (windowBits: 15 + 16 gzip, -15 raw deflate) onto
 * out, at most max octets in all. */
static int
dmarc_agg_inflate(const void *in, size_t n, int bits, size_t max,
    struct fbuf *out, const char **error_r)
{
	unsigned char buf[DMARC_AGG_CHUNK];
	size_t start = out->len;
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, bits) != Z_OK) {
		*error_r = "zlib cannot start";
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		if (out->len - start + (sizeof(buf) - z.avail_out) > max) {
			rc = Z_MEM_ERROR;
			*error_r = "output over the limit";
			break;
		}
		fbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
	inflateEnd(&z);
	if (rc == Z_STREAM_END)
		return 0;
	if (rc == Z_OK || rc == Z_BUF_ERROR)
		*error_r = "truncated compressed data";
	else if (rc != Z_MEM_ERROR)
		*error_r = "corrupt compressed data";
	dmarc_agg_cut(out, start);
	return -1;
}

static uint32_t
dmarc_agg_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
dmarc_agg_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The one entry of a zip archive: its data, sizes, method and CRC. */
struct dmarc_agg_zent {
	const unsigned char *data;
	uint32_t csize, usize, crc;
	uint16_t method;
};

static int
dmarc_agg_zip_entry(const unsigned char *p, size_t len,
    struct dmarc_agg_zent *e, const char **error_r)
{
	size_t eocd, cd, loc;

	*error_r = "not a zip archive";
	if (len < 22)
		return -1;
	/* The end of central directory record, before a comment of at most
	 * 65535 octets. */
	for (eocd = len - 22;; eocd--) {
		if (dmarc_agg_le32(p + eocd) == 0x06054b50)
			break;
		if (eocd == 0 || len - eocd > 22 + 65535)
			return -1;
	}
	if (dmarc_agg_le16(p + eocd + 10) != 1) {
		*error_r = "a zip archive must hold exactly one file";
		return -1;
	}
	cd = dmarc_agg_le32(p + eocd + 16);
	if (cd > eocd || eocd - cd < 46 || dmarc_agg_le32(p + cd) != 0x02014b50)
		return -1;
	if (dmarc_agg_le16(p + cd + 8) & 1) {
		*error_r = "encrypted zip entry";
		return -1;
	}
	e->method = dmarc_agg_le16(p + cd + 10);
	e->crc = dmarc_agg_le32(p + cd + 16);
	e->csize = dmarc_agg_le32(p + cd + 20);
	e->usize = dmarc_agg_le32(p + cd + 24);
	loc = dmarc_agg_le32(p + cd + 42);
	if (e->csize == UINT32_MAX || e->usize == UINT32_MAX) {
		*error_r = "ZIP64 archives are not read";
		return -1;
	}
	if (loc > cd || cd - loc < 30 || dmarc_agg_le32(p + loc) != 0x04034b50)
		return -1;
	loc += 30 + (size_t)dmarc_agg_le16(p + loc + 26) +
	    dmarc_agg_le16(p + loc + 28);
	if (loc > cd || cd - loc < e->csize) {
		*error_r = "truncated zip archive";
		return -1;
	}
	e->data = p + loc;
	return 0;
}

static int
dmarc_agg_unzip(const void *data, size_t len, size_t max, struct fbuf *out,
    const char **error_r)
{
	struct dmarc_agg_zent e;
	size_t start = out->len;

	if (dmarc_agg_zip_entry(data, len, &e, error_r) < 0)
		return -1;
	if (e.usize > max) {
		*error_r = "output over the limit";
		return -1;
	}
	if (e.method == 0) {
		if (e.csize != e.usize) {
			*error_r = "bad stored zip entry";
			return -1;
		}
		fbuf_add(out, e.data, e.csize);
	} else if (e.method == 8) {
		if (dmarc_agg_inflate(e.data, e.csize, -15, e.usize, out,
		    error_r) < 0)
			return -1;
	} else {
		*error_r = "zip compression method not supported";
		return -1;
	}
	if (out->len - start != e.usize ||
	    crc32(0, (const Bytef *)fbuf_str(out) + start, (uInt)e.usize) !=
	    e.crc) {
		dmarc_agg_cut(out, start);
		*error_r = "zip entry size or CRC mismatch";
		return -1;
	}
	return 0;
}

int
dmarc_agg_unpack(enum dmarc_agg_kind kind, const void *data, size_t len,
    size_t max, struct fbuf *out, const char **error_r)
{
	switch (kind) {
	case DMARC_AGG_GZIP:
		return dmarc_agg_inflate(data, len, 15 + 16, max, out,
		    error_r);
	case DMARC_AGG_ZIP:
		return dmarc_agg_unzip(data, len, max, out, error_r);
	case DMARC_AGG_XML:
		break;
	}
	if (len > max) {
		*error_r = "output over the limit";
		return -1;
	}
	fbuf_add(out, data, len);
	return 0;
}

/* ------------------------------------------------------------ in mail */

bool
dmarc_agg_subject(const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	return len >= 14 && strncasecmp(v, "Report Domain:", 14) == 0;
}

static bool
dmarc_agg_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* Whether part looks like a report by its type or its file name. */
static bool
dmarc_agg_wanted(const struct mime_part *part)
{
	static const char *const types[] = { "application/gzip",
		"application/x-gzip", "application/zip",
		"application/x-zip-compressed", "application/x-zip",
		"text/xml", "application/xml", NULL };
	const char *type = part->ctype.type, *sub = part->ctype.subtype;
	const char *name;
	char full[128];

	if (type == NULL || sub == NULL)
		return false;
	snprintf(full, sizeof(full), "%s/%s", type, sub);
	for (size_t i = 0; types[i] != NULL; i++)
		if (strcmp(full, types[i]) == 0)
			return true;
	if (strcmp(full, "application/octet-stream") != 0)
		return false;
	name = mime_value_param(&part->disposition, "filename");
	if (name == NULL)
		name = mime_value_param(&part->ctype, "name");
	return name != NULL && (dmarc_agg_suffix(name, ".xml") ||
	    dmarc_agg_suffix(name, ".gz") || dmarc_agg_suffix(name, ".zip"));
}

static unsigned
dmarc_agg_walk(const struct mime_part *part, const unsigned char *msg,
    size_t len, dmarc_agg_part_cb *cb, void *ctx)
{
	struct mime_decoder d;
	struct fbuf body;
	unsigned found = 0;

	if (part->multipart || part->message) {
		for (const struct mime_part *c = part->children; c != NULL;
		    c = c->next)
			found += dmarc_agg_walk(c, msg, len, cb, ctx);
		return found;
	}
	if (!dmarc_agg_wanted(part) || part->body_offset > len ||
	    part->body_size > len - part->body_offset)
		return 0;
	fbuf_init(&body, 0);
	mime_decoder_init(&d, mime_cte_from_name(part->encoding != NULL ?
	    part->encoding : "7bit"));
	mime_decoder_feed(&d, msg + part->body_offset,
	    (size_t)part->body_size, &body);
	mime_decoder_finish(&d, &body);
	cb(ctx, dmarc_agg_sniff(body.data, body.len), body.data, body.len);
	fbuf_release(&body);
	return 1;
}

unsigned
dmarc_agg_mail_parts(const void *msg, size_t len, dmarc_agg_part_cb *cb,
    void *ctx)
{
	struct mime_part *root = mime_parse(msg, len, NULL);
	unsigned n = 0;

	if (root != NULL)
		n = dmarc_agg_walk(root, msg, len, cb, ctx);
	mime_part_free(&root);
	return n;
}
