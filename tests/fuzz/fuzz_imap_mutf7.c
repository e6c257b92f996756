/* libFuzzer target for modified UTF-7 (src/imap/mutf7.c), round trips
 * both ways: a wire form that decodes must re-encode to the same octets
 * (only canonical forms decode), and UTF-8 that encodes must decode back
 * to itself.
 * FUZZ_SOURCES: src/imap/mutf7.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/mutf7.h"
#include "lib/fbuf.h"

static void
fuzz_mutf7_same(const struct fbuf *b, const uint8_t *data, size_t size)
{
	if (b->len != size ||
	    (size > 0 && memcmp(fbuf_str(b), data, size) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbuf a, b;

	fbuf_init(&a, 0);
	fbuf_init(&b, 0);
	if (mutf7_decode((const char *)data, size, &a) == 0) {
		if (mutf7_encode(a.data ? a.data : "", a.len, &b) < 0)
			abort();
		fuzz_mutf7_same(&b, data, size);
	}
	fbuf_reset(&a);
	fbuf_reset(&b);
	if (mutf7_encode((const char *)data, size, &a) == 0) {
		if (mutf7_decode(a.data ? a.data : "", a.len, &b) < 0)
			abort();
		fuzz_mutf7_same(&b, data, size);
	}
	fbuf_release(&a);
	fbuf_release(&b);
	return 0;
}
