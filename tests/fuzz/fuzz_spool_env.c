/* libFuzzer target for the spool envelope parser (src/queue/spool.c,
 * spool_env_parse and spool_env_format).  Any input parses to 0 or -1; a
 * parsed envelope formats to text that parses again to an envelope that
 * formats to the same text (what the queue writes, it can read back).
 * FUZZ_SOURCES: src/queue/spool.c src/mime src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "queue/spool.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_env env, again;
	struct fbuf a, b;

	if (spool_env_parse((const char *)data, size, &env) < 0)
		return 0;
	if (env.sender == NULL || env.client_addr == NULL ||
	    env.client_helo == NULL || env.protocol == NULL)
		abort();
	fbuf_init(&a, 0);
	fbuf_init(&b, 0);
	spool_env_format(&env, &a);
	if (spool_env_parse(fbuf_str(&a), a.len, &again) < 0)
		abort();
	spool_env_format(&again, &b);
	if (a.len != b.len || memcmp(fbuf_str(&a), fbuf_str(&b), a.len) != 0)
		abort();
	spool_env_free(&env);
	spool_env_free(&again);
	fbuf_release(&a);
	fbuf_release(&b);
	return 0;
}
