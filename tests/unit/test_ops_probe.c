/* Unit tests for the diagnostic probe's reply reader
 * (src/ops/ops_probe_reply.c) and its verdict words: table-driven, each
 * case a sequence of lines fed to one reply. */
#include <string.h>

#include "ops/ops_probe.h"
#include "test.h"

struct probe_case {
	const char *lines[6];
	int last;			/* return of the last line */
	int code;
	const char *text;
	size_t ncaps;
	const char *cap0;
};

static const struct probe_case probe_cases[] = {
	{ { "220 mx.test ESMTP" }, 1, 220, "mx.test ESMTP", 0, NULL },
	{ { "220" }, 1, 220, "", 0, NULL },
	{ { "250-mx.test", "250-PIPELINING", "250 STARTTLS" }, 1, 250,
	    "mx.test", 2, "PIPELINING" },
	{ { "250-mx.test", "250-SIZE 100" }, 0, 250, "mx.test", 1,
	    "SIZE 100" },
	{ { "220-a", "221 b" }, -1, 220, "a", 0, NULL },
	{ { "22" }, -1, 0, "", 0, NULL },
	{ { "HELLO" }, -1, 0, "", 0, NULL },
	{ { "120 early" }, -1, 0, "", 0, NULL },
	{ { "600 big" }, -1, 0, "", 0, NULL },
	{ { "220x" }, -1, 0, "", 0, NULL },
	{ { "2a0 x" }, -1, 0, "", 0, NULL },
	{ { "421 4.7.0 go away" }, 1, 421, "4.7.0 go away", 0, NULL },
	{ { "220 a\x01\x7f" "b" }, 1, 220, "a??b", 0, NULL },
};

static void
test_reply_table(void)
{
	test_begin("ops_probe_reply_line table");
	for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]);
	    i++) {
		const struct probe_case *c = &probe_cases[i];
		struct ops_probe_reply rp;
		int r = 0;

		memset(&rp, 0, sizeof(rp));
		for (size_t k = 0; k < 6 && c->lines[k] != NULL; k++)
			r = ops_probe_reply_line(&rp, c->lines[k],
			    strlen(c->lines[k]));
		test_assert_idx(r == c->last, i);
		if (c->last < 0 && c->code == 0)
			continue;
		test_assert_idx(rp.code == c->code, i);
		test_assert_idx(strcmp(rp.text, c->text) == 0, i);
		test_assert_idx(rp.ncaps == c->ncaps, i);
		if (c->cap0 != NULL)
			test_assert_idx(strcmp(rp.caps[0], c->cap0) == 0, i);
	}
	test_end();
}

static void
test_reply_limits(void)
{
	struct ops_probe_reply rp;
	char line[OPS_PROBE_LINE_MAX + 2];
	int r = 0;

	test_begin("ops_probe_reply_line limits");
	memset(&rp, 0, sizeof(rp));
	memset(line, 'x', sizeof(line));
	memcpy(line, "250-", 4);
	test_assert(ops_probe_reply_line(&rp, line, OPS_PROBE_LINE_MAX) == 0);
	test_assert(strlen(rp.text) == OPS_PROBE_TEXT_MAX - 1);
	test_assert(ops_probe_reply_line(&rp, line, OPS_PROBE_LINE_MAX + 1) ==
	    -1);
	memset(&rp, 0, sizeof(rp));
	for (int i = 0; i < OPS_PROBE_REPLY_LINES && r == 0; i++)
		r = ops_probe_reply_line(&rp, "250-CAP", 7);
	test_assert(r == 0);
	test_assert(rp.ncaps == OPS_PROBE_CAPS_MAX);
	test_assert(ops_probe_reply_line(&rp, "250 LAST", 8) == -1);
	/* A NUL inside a line is data, shown as '?'. */
	memset(&rp, 0, sizeof(rp));
	test_assert(ops_probe_reply_line(&rp, "220 a\0b", 7) == 1);
	test_assert(strcmp(rp.text, "a?b") == 0);
	test_end();
}

static void
test_verdicts(void)
{
	test_begin("ops_probe verdict words");
	for (int v = 0; v < OPS_PROBE_VERDICTS; v++) {
		test_assert_idx(strcmp(ops_probe_verdict_str(v, true), "?") != 0,
		    v);
		test_assert_idx(strcmp(ops_probe_verdict_str(v, false), "?") !=
		    0, v);
	}
	test_assert(strcmp(ops_probe_verdict_str(OPS_PROBE_VERDICTS, true),
	    "?") == 0);
	test_assert(ops_probe_verdict_usable(OPS_PROBE_TARPITS));
	test_assert(!ops_probe_verdict_usable(OPS_PROBE_NO_GREETING));
	test_assert(!ops_probe_verdict_usable(OPS_PROBE_REFUSED));
	test_end();
}

int
main(void)
{
	test_reply_table();
	test_reply_limits();
	test_verdicts();
	return test_exit();
}
