/* libFuzzer target for the home node's replies as the login proxy reads
 * them (src/net/mailproxy_reply.c).  The input is one line (cut at the
 * first NUL): as IMAP for the tag "p4", the kind is a known one, the
 * text lies inside the line, and a capability list is printable ASCII
 * without brackets and shorter than the limit; as POP3 the status is
 * -1, 0 or 1; every capability word found is found again by
 * mailproxy_caps_has().
 * FUZZ_SOURCES: src/net/mailproxy_reply.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/mailproxy_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailproxy_reply r;
	char *line = malloc(size + 1);
	size_t n;
	int st;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	n = strlen(line);
	mailproxy_imap_line(line, "p4", &r);
	if (r.kind > MAILPROXY_BYE || r.text == NULL)
		abort();
	if (r.text[0] != '\0' && (r.text < line || r.text > line + n))
		abort();
	if (strlen(r.caps) >= MAILPROXY_CAPS_MAX)
		abort();
	for (const char *p = r.caps; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '[' || *p == ']')
			abort();
	if (r.caps[0] != '\0' && r.caps[0] != ' ') {
		char word[MAILPROXY_CAPS_MAX];
		size_t w = strcspn(r.caps, " ");

		memcpy(word, r.caps, w);
		word[w] = '\0';
		if (!mailproxy_caps_has(r.caps, word))
			abort();
	}
	st = mailproxy_pop3_status(line);
	if (st < -1 || st > 1)
		abort();
	free(line);
	return 0;
}
