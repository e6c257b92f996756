/* libFuzzer target for the diagnostic probe's SMTP reply reader
 * (src/ops/ops_probe_reply.c): the input is split into lines at LF (a
 * CR before it dropped) and fed to one reply until it is complete or
 * malformed, then to a fresh one.  What it keeps must be NUL-ended,
 * printable ASCII, within its caps, with a code of 200-599.
 * FUZZ_SOURCES: src/ops/ops_probe_reply.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_probe.h"

static void
fuzz_text(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n >= size)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void
fuzz_check(const struct ops_probe_reply *rp)
{
	if (rp->lines == 0)
		return;
	if (rp->code < 200 || rp->code > 599 || rp->ncaps > OPS_PROBE_CAPS_MAX ||
	    rp->lines > OPS_PROBE_REPLY_LINES)
		abort();
	fuzz_text(rp->text, sizeof(rp->text));
	for (size_t i = 0; i < rp->ncaps; i++)
		fuzz_text(rp->caps[i], sizeof(rp->caps[i]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ops_probe_reply rp;
	const char *p = (const char *)data, *end = p + size;

	memset(&rp, 0, sizeof(rp));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		int r;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		r = ops_probe_reply_line(&rp, p, len);
		fuzz_check(&rp);
		if (r != 0)
			memset(&rp, 0, sizeof(rp));
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
