/* libFuzzer target for the ENVELOPE/BODY/BODYSTRUCTURE blob of the
 * mailbox index (imap_mime_blob.h): decoding must refuse the input or
 * give three parenthesised texts inside it that encode to the same
 * octets again.
 * FUZZ_SOURCES: src/imap/imap_mime_blob.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_mime_blob.h"
#include "lib/fbuf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_mime_blob r;
	struct fbuf t[IMAP_MIME_COUNT], out;
	const struct fbuf *tp[IMAP_MIME_COUNT];

	if (imap_mime_blob_decode(data, size, &r) < 0)
		return 0;
	fbuf_init(&out, 0);
	for (int i = 0; i < IMAP_MIME_COUNT; i++) {
		if (r.text[i] < (const char *)data ||
		    r.text[i] + r.len[i] > (const char *)data + size ||
		    r.len[i] < 2 || r.text[i][0] != '(' ||
		    r.text[i][r.len[i] - 1] != ')')
			abort();
		fbuf_init(&t[i], 0);
		fbuf_add(&t[i], r.text[i], r.len[i]);
		tp[i] = &t[i];
	}
	imap_mime_blob_encode(tp, &out);
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();
	for (int i = 0; i < IMAP_MIME_COUNT; i++)
		fbuf_release(&t[i]);
	fbuf_release(&out);
	return 0;
}
