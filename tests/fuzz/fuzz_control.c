/* libFuzzer target for the control-socket request parser: any input gives
 * 0 or -1 without a crash; a parsed request's pointers stay inside its
 * buffer, and formatting it again and re-parsing gives the same verb and
 * arguments.  The response-head parser gets the same bytes.
 * FUZZ_SOURCES: src/net/control.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/control.h"

static void
fuzz_control_inside(const struct control_msg *m, const char *p)
{
	if (p < m->buf || p > m->buf + sizeof(m->buf) - 1)
		abort();
}

static void
fuzz_control_roundtrip(const struct control_msg *m)
{
	static struct control_msg again;
	struct fbuf b;
	const char *error;

	fbuf_init(&b, 0);
	/* Encoding may grow a line past the limit: then it must refuse. */
	if (control_msg_format(&b, m->verb, m->args, m->nargs, &error) < 0) {
		fbuf_release(&b);
		return;
	}
	if (b.len == 0 || b.data[b.len - 1] != '\n' ||
	    control_msg_parse(b.data, b.len - 1, &again, &error) < 0 ||
	    strcmp(again.verb, m->verb) != 0 || again.nargs != m->nargs)
		abort();
	for (size_t i = 0; i < m->nargs; i++) {
		if (strcmp(again.args[i].key, m->args[i].key) != 0 ||
		    strcmp(again.args[i].value, m->args[i].value) != 0)
			abort();
	}
	fbuf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control_msg msg;
	enum control_status st;
	const char *error = NULL;
	size_t n;

	(void)control_head_parse((const char *)data, size, &st, &n);
	if (control_msg_parse((const char *)data, size, &msg, &error) < 0) {
		if (error == NULL)
			abort();
		return 0;
	}
	fuzz_control_inside(&msg, msg.verb);
	if (strlen(msg.verb) == 0 || strlen(msg.verb) > CONTROL_NAME_MAX ||
	    msg.nargs > CONTROL_ARGS_MAX)
		abort();
	for (size_t i = 0; i < msg.nargs; i++) {
		fuzz_control_inside(&msg, msg.args[i].key);
		fuzz_control_inside(&msg, msg.args[i].value);
		if (control_msg_arg(&msg, msg.args[i].key) != msg.args[i].value)
			abort();
	}
	fuzz_control_roundtrip(&msg);
	return 0;
}
