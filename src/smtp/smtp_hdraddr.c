/* Address lists in header fields (see smtp_hdraddr.h), kept as a small
 * interface over src/mime, which does the reading: mime_address_parse()
 * for the lists (its mailboxes in order, group markers skipped) and the
 * header field splitter for the fields. */
#include <string.h>

#include "lib/fbuf.h"
#include "mime/mime.h"
#include "smtp/smtp_hdraddr.h"

_Static_assert(SMTP_HDRADDR_MAX == MIME_ADDR_MAX,
    "smtp_hdraddr and mime agree on the longest address");

void
smtp_hdraddr_parse(const char *v, size_t len, smtp_hdraddr_cb *cb,
    void *ctx)
{
	struct mime_address *list = mime_address_parse(v, len), *a;

	for (a = list; a != NULL; a = a->next)
		if (a->kind == MIME_ADDR_MAILBOX)
			cb(ctx, a->addr, a->invalid);
	mime_address_free(&list);
}

void
smtp_hdraddr_fields(const char *hdrs, size_t len, const char *name,
    struct fbuf *out)
{
	mime_header_values(hdrs, len, name, out);
}
