/* libFuzzer target for the relay's SMTP reply and EHLO parser
 * (src/relay/relay_reply.c).  The first input byte picks the mode (bit 0:
 * an EHLO reply, keywords parsed); the rest is split into lines the way
 * the client does (evbuffer_readln with EVBUFFER_EOL_CRLF: LF ends a
 * line, one CR before it is dropped), each handed over as its own
 * NUL-terminated heap copy, as evbuffer_readln returns them; what is
 * left without an LF is fed as a last line.  A complete reply must carry
 * a code 200-599 whose digits start its text, at most 100 lines, text
 * bounded and free of control characters; only known EHLO flags appear,
 * and none outside EHLO mode.
 * FUZZ_SOURCES: src/relay/relay_reply.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay_private.h"

#define FUZZ_EXT_ALL (RELAY_EXT_PIPELINING | RELAY_EXT_SIZE | \
	RELAY_EXT_8BITMIME | RELAY_EXT_SMTPUTF8 | RELAY_EXT_CHUNKING | \
	RELAY_EXT_STARTTLS | RELAY_EXT_AUTH_PLAIN | RELAY_EXT_AUTH_LOGIN)

static void
fuzz_check(const struct relay_reply *rp)
{
	size_t n = strnlen(rp->text, sizeof(rp->text));

	if (n >= sizeof(rp->text))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)rp->text[i] < 0x20)
			abort();
	if (rp->code < 200 || rp->code > 599 || rp->nlines < 1 ||
	    rp->nlines > 100)
		abort();
	if (n < 3 || rp->text[0] != '0' + rp->code / 100 ||
	    rp->text[1] != '0' + rp->code / 10 % 10 ||
	    rp->text[2] != '0' + rp->code % 10)
		abort();
}

static void
fuzz_line(struct relay_reply *rp, const uint8_t *p, size_t len, bool ehlo,
    unsigned *ext, uint64_t *size_max)
{
	char *line = malloc(len + 1);
	int r;

	if (line == NULL)
		abort();
	memcpy(line, p, len);
	line[len] = '\0';
	r = relay_reply_line(rp, line, len, ehlo ? ext : NULL, size_max);
	free(line);
	if (r < -1 || r > 1)
		abort();
	if (r >= 0)
		fuzz_check(rp);
	if (r != 0)
		memset(rp, 0, sizeof(*rp));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_reply rp;
	unsigned ext = 0;
	uint64_t size_max = 12345;
	bool ehlo;
	size_t start, i;

	if (size == 0)
		return 0;
	ehlo = data[0] & 1;
	data++;
	size--;
	memset(&rp, 0, sizeof(rp));
	for (start = i = 0; i < size; i++) {
		size_t len;

		if (data[i] != '\n')
			continue;
		len = i - start;
		if (len > 0 && data[i - 1] == '\r')
			len--;
		fuzz_line(&rp, data + start, len, ehlo, &ext, &size_max);
		start = i + 1;
	}
	if (start < size)
		fuzz_line(&rp, data + start, size - start, ehlo, &ext,
		    &size_max);
	if ((ext & ~(unsigned)FUZZ_EXT_ALL) != 0)
		abort();
	if (!ehlo && (ext != 0 || size_max != 12345))
		abort();
	return 0;
}
