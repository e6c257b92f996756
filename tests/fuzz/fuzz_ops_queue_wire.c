/* libFuzzer target for the wire form of queue results (ops_queue.h) that
 * `ferry queue` parses from the queue role's answers: any body gives 0 or
 * -1 without a crash or leak, and a list that parses encodes and parses
 * again to the same number of envelopes and the same ids.
 * FUZZ_SOURCES: src/ops/ops_queue.c src/ops/ops.c src/queue/spool.c src/mime src/store src/smtp/smtp_addr.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_queue.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ops_queue_list l, again;
	struct ops_queue_msg m;
	struct fbuf out;

	(void)ops_queue_unwire_count(p, size, "matched");
	if (ops_queue_unwire_msg(p, size, &m) == 0)
		ops_queue_msg_free(&m);
	if (ops_queue_unwire_list(p, size, &l) < 0)
		return 0;
	fbuf_init(&out, 0);
	ops_queue_wire_list(&l, &out);
	if (ops_queue_unwire_list(out.data, out.len, &again) < 0 ||
	    again.n != l.n)
		abort();
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.envs[i].id, again.envs[i].id) != 0)
			abort();
	ops_queue_list_free(&again);
	ops_queue_list_free(&l);
	fbuf_release(&out);
	return 0;
}
