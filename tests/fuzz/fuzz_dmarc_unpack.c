/* libFuzzer target for the attachments of incoming DMARC reports
 * (src/msgauth/dmarc_agg_unpack.c): the input as gzip, as a zip
 * archive and as a whole mail whose report parts are then unpacked.
 * Checked: the output never passes the limit asked for, a failure
 * leaves the output as it was, and a zip entry accepted is exactly
 * its declared size.
 * FUZZ_SOURCES: src/msgauth/dmarc_agg_unpack.c src/mime src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "msgauth/dmarc_agg.h"

#define FUZZ_MAX (256 * 1024)

static void
fuzz_unpack(enum dmarc_agg_kind kind, const void *data, size_t len)
{
	struct fbuf out;
	const char *error = NULL;

	fbuf_init(&out, 0);
	fbuf_adds(&out, "x");
	if (dmarc_agg_unpack(kind, data, len, FUZZ_MAX, &out, &error) < 0) {
		if (error == NULL || out.len != 1)
			abort();
	} else if (out.len > FUZZ_MAX + 1)
		abort();
	fbuf_release(&out);
}

static void
fuzz_part(void *ctx, enum dmarc_agg_kind kind, const void *data, size_t len)
{
	(void)ctx;
	if (kind != dmarc_agg_sniff(data, len))
		abort();
	fuzz_unpack(kind, data, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_unpack(DMARC_AGG_GZIP, data + 1, size - 1);
		break;
	case 1:
		fuzz_unpack(DMARC_AGG_ZIP, data + 1, size - 1);
		break;
	default:
		(void)dmarc_agg_mail_parts(data + 1, size - 1, fuzz_part,
		    NULL);
		(void)dmarc_agg_subject((const char *)data + 1, size - 1);
	}
	return 0;
}
