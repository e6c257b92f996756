/* libFuzzer target for the Maildir++ quota file parser
 * (src/mailbox/maildir.c, maildir_size_parse).  Any text gives 0 or -1
 * without undefined behaviour (the line sums are signed: a file written
 * by anyone must not overflow them); a parse that succeeds gives the
 * header's quota.
 * FUZZ_SOURCES: src/mailbox/maildir.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox/maildir.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t quota, bytes, count;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (maildir_size_parse(s, &quota, &bytes, &count) == 0 &&
	    quota != strtoull(s, NULL, 10))
		abort();
	free(s);
	return 0;
}
