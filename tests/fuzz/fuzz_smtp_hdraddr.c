/* libFuzzer target for header address lists (From: ownership check) and
 * the header-field extraction in front of it.  Every address handed to
 * the callback must be shorter than SMTP_HDRADDR_MAX and NUL-free.
 * FUZZ_SOURCES: src/smtp/smtp_hdraddr.c src/mime src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "smtp/smtp_hdraddr.h"

static void
fuzz_hdraddr_cb(void *ctx, const char *addr, bool unreadable)
{
	if (strlen(addr) >= SMTP_HDRADDR_MAX)
		abort();
	(*(size_t *)ctx)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbuf from;
	size_t n = 0;

	smtp_hdraddr_parse((const char *)data, size, fuzz_hdraddr_cb, &n);
	fbuf_init(&from, 0);
	smtp_hdraddr_fields((const char *)data, size, "From", &from);
	smtp_hdraddr_parse(from.data, from.len, fuzz_hdraddr_cb, &n);
	fbuf_release(&from);
	return 0;
}
