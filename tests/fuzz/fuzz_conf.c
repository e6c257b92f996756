/* libFuzzer target for the configuration parser (src/conf/conf.c,
 * conf_parse over the built-in defaults).  Any text gives 0 or -1; a
 * refusal names "fuzz.conf:" and the line (or the whole-file check); the
 * configuration is freed either way (leaks fail).  A text that parses
 * parses again, over fresh defaults, the same way.
 * FUZZ_SOURCES: src/conf src/mailbox/mbox_name.c src/mailbox/mbox_files.c src/policy/policy_names.c src/policy/scan_target.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	const char *err = NULL;
	char *s;
	int r;

	/* an exact-size copy so that ASan sees any read past the end */
	s = malloc(size > 0 ? size : 1);
	memcpy(s, data, size);
	memset(&c, 0, sizeof(c));
	conf_defaults(&c);
	r = conf_parse(&c, "fuzz.conf", s, size, &err);
	if (r < 0 && (err == NULL || strncmp(err, "fuzz.conf:", 10) != 0))
		abort();
	if (r != 0 && r != -1)
		abort();
	conf_free(&c);
	if (r == 0) {
		memset(&c, 0, sizeof(c));
		conf_defaults(&c);
		if (conf_parse(&c, "fuzz.conf", s, size, &err) != 0)
			abort();
		conf_free(&c);
	}
	free(s);
	return 0;
}
