/* The header fields of a message as DKIM needs them (signer and
 * verifier): the raw text of each field, kept back to back in one buffer
 * bounded by DKIM_SIGNER_HEADER_MAX, and a view of them as
 * struct dkim_hfield for the header hash. */
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/dkim_private.h"

struct mime_header_parser *
dkim_header_parser_new(void (*cb)(void *ctx, const struct mime_field *f),
    void *ctx)
{
	struct mime_limits l;

	mime_limits_default(&l);
	l.header_max = DKIM_SIGNER_HEADER_MAX;
	l.fields_max = DKIM_SIGNER_HEADER_MAX;
	return mime_header_parser_new(&l, cb, ctx);
}

void
dkim_fields_init(struct dkim_fields *fs)
{
	memset(fs, 0, sizeof(*fs));
	fbuf_init(&fs->hdr, DKIM_SIGNER_HEADER_MAX);
}

int
dkim_fields_add(struct dkim_fields *fs, const struct mime_field *mf)
{
	struct dkim_field_pos *p;

	/* A typical header section in one allocation, not seven. */
	if (fs->hdr.cap == 0)
		fbuf_reserve(&fs->hdr, 4095);
	if (fbuf_add(&fs->hdr, mf->raw, mf->raw_len) < 0)
		return -1;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap == 0 ? 32 : fs->cap * 2;
		fs->pos = xreallocarray(fs->pos, fs->cap, sizeof(*fs->pos));
	}
	p = &fs->pos[fs->n++];
	p->raw_off = fs->hdr.len - mf->raw_len;
	p->raw_len = mf->raw_len;
	/* The name starts the raw field (mime.h). */
	p->name_off = p->raw_off;
	p->name_len = mf->name_len;
	return 0;
}

struct dkim_hfield *
dkim_fields_view(const struct dkim_fields *fs)
{
	struct dkim_hfield *f = xcalloc(fs->n + 1, sizeof(*f));

	for (size_t i = 0; i < fs->n; i++) {
		f[i].name = fs->hdr.data + fs->pos[i].name_off;
		f[i].name_len = fs->pos[i].name_len;
		f[i].raw = fs->hdr.data + fs->pos[i].raw_off;
		f[i].raw_len = fs->pos[i].raw_len;
	}
	return f;
}

void
dkim_fields_release(struct dkim_fields *fs)
{
	fbuf_release(&fs->hdr);
	free(fs->pos);
	fs->pos = NULL;
	fs->n = fs->cap = 0;
}
