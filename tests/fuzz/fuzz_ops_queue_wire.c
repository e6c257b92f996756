/* libFuzzer target for the wire form of queue results (ops_queue.h) that
 * `ferry queue` parses from the queue role's answers: any body gives 0 or
 * -1 without a crash or leak, and a list that parses encodes and parses
 * again to the same number of envelopes and the same ids.  The same bytes
 * as a "scope" argument (ops_queue_actor_parse) either fail or give a
 * postmaster whose domains format and parse back the same.
 * FUZZ_SOURCES: src/ops/ops_queue.c src/ops/ops.c src/queue/spool.c src/mime src/store src/smtp/smtp_addr.c src/lib */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/control.h"
#include "ops/ops_queue.h"

static void
fuzz_scope(const uint8_t *data, size_t size)
{
	char buf[512], again[512];
	const char *doms[8], *doms2[8];
	struct control_arg args[2];
	struct ops_actor a, b;
	struct fbuf f;

	if (size >= sizeof(buf) || memchr(data, '\0', size) != NULL)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (ops_queue_actor_parse("pm", buf, doms, 8, &a) < 0)
		return;
	if (a.role != OPS_POSTMASTER)
		abort();
	fbuf_init(&f, 0);
	if (ops_queue_actor_args(&a, &f, args) != 2)
		abort();
	snprintf(again, sizeof(again), "%s", args[1].value);
	if (ops_queue_actor_parse(args[0].value, again, doms2, 8, &b) < 0 ||
	    b.ndomains != a.ndomains)
		abort();
	for (size_t i = 0; i < a.ndomains; i++)
		if (strcmp(a.domains[i], b.domains[i]) != 0)
			abort();
	fbuf_release(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ops_queue_list l, again;
	struct ops_queue_msg m;
	struct fbuf out;

	fuzz_scope(data, size);
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
