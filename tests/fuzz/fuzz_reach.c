/* libFuzzer target for the reachability file (src/net/reach.c): the
 * input is a whole file.  Every entry the reader accepts must have a
 * valid key and failure kinds, and must read back the same after being
 * written again (format, then parse), so a file Ferry wrote is always
 * one Ferry reads.
 * FUZZ_SOURCES: src/net/reach.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "net/reach.h"

static void
fuzz_entry(const struct reach_entry *e, void *ctx)
{
	struct reach_entry back;
	const char *error;
	struct fbuf b;

	(void)ctx;
	if (strnlen(e->key, sizeof(e->key)) >= sizeof(e->key) ||
	    (unsigned)e->down >= REACH_FAIL_COUNT ||
	    (unsigned)e->tls >= REACH_FAIL_COUNT)
		abort();
	fbuf_init(&b, 0);
	reach_format(&b, e);
	if (b.len == 0 || b.data[b.len - 1] != '\n')
		abort();
	if (reach_parse_line(b.data, b.len - 1, &back, &error) < 0)
		abort();
	if (memcmp(&back, e, sizeof(back)) != 0)
		abort();
	fbuf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)reach_parse_file(text, size, fuzz_entry, NULL);
	free(text);
	return 0;
}
