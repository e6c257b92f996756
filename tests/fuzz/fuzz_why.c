/* libFuzzer target for the log reader behind `ferry why` and /why
 * (src/ops/ops_why.c): any log text, read as the admin asking about a
 * client address, a recipient, a sender and a user at once, then as a
 * postmaster and as a user asking about one address each (the scope
 * filter), gives a result without a crash or leak; every kept refusal
 * of a postmaster's view is about the address asked.
 * FUZZ_SOURCES: src/ops/ops_why.c src/ops/ops.c src/lib */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/ops_why.h"

static void
fuzz_why_one(const struct ops_actor *a, const uint8_t *data, size_t size,
    const char *ip, const char *from, const char *to, const char *user)
{
	struct ops_why *w = calloc(1, sizeof(*w));
	struct ops_status st;
	FILE *f;

	if (w == NULL || (f = fmemopen((void *)data, size, "r")) == NULL) {
		free(w);
		return;
	}
	w->ip = ip;
	w->from = from;
	w->to = to;
	w->user = user;
	if (ops_why_read_stream(a, f, w, &st) == 0) {
		(void)ops_why_count(w);
		for (const struct ops_why_session *s = w->first;
		    a->role == OPS_POSTMASTER && to != NULL && s != NULL;
		    s = s->order)
			for (size_t i = 0; i < s->nev; i++)
				/* a refusal names its recipient, or (at the
				 * end of DATA) the ones refused with it,
				 * which the scope cuts down to the one
				 * asked */
				if (s->ev[i].kind == OPS_WHY_REFUSED &&
				    strcasecmp(s->ev[i].rcpts != NULL ?
				    s->ev[i].rcpts : s->ev[i].rcpt, to) != 0)
					abort();
	}
	fclose(f);
	ops_why_free(w);
	free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const doms[] = { "example.test" };
	struct ops_actor admin = { .role = OPS_ADMIN, .name = "cli" };
	struct ops_actor pm = { .role = OPS_POSTMASTER,
		.name = "postmaster@example.test", .domains = doms,
		.ndomains = 1 };
	struct ops_actor user = { .role = OPS_USER,
		.name = "alice@example.test" };

	if (size == 0)
		return 0;
	fuzz_why_one(&admin, data, size, "192.0.2.1", "s@bad.example",
	    "alice@example.test", "alice@example.test");
	fuzz_why_one(&pm, data, size, NULL, NULL, "alice@example.test", NULL);
	fuzz_why_one(&user, data, size, NULL, NULL, NULL,
	    "alice@example.test");
	return 0;
}
