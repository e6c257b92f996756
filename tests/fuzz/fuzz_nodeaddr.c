/* libFuzzer target for node addresses (src/net/nodeaddr.c): the input is
 * one address.  An address the parser accepts must format into text that
 * parses again to the same address (the store keeps that text).
 * FUZZ_SOURCES: src/net/nodeaddr.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/nodeaddr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodeaddr a, back;
	const char *error;
	char text[NODEADDR_TEXT_MAX];
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (nodeaddr_parse(s, &a, &error) == 0) {
		nodeaddr_format(&a, text, sizeof(text));
		if (nodeaddr_parse(text, &back, &error) < 0 ||
		    memcmp(&a, &back, sizeof(a)) != 0 ||
		    !nodeaddr_host_is(a.host, back.host))
			abort();
	}
	free(s);
	return 0;
}
