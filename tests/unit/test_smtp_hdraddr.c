/* Unit tests for header address lists (src/smtp/smtp_hdraddr.c), the
 * reader behind the From: ownership check.  Each value is parsed from an
 * exactly-sized heap copy so that ASan catches reads past `len`.  The
 * expected string lists the callbacks: addresses joined by "|", an
 * unreadable mailbox marked with a leading "!". */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "smtp/smtp_hdraddr.h"
#include "test.h"

struct hdraddr_case {
	const char *in;
	const char *want;
};

static const struct hdraddr_case cases[] = {
	{ "alice@example.test", "alice@example.test" },
	{ "<alice@example.test>", "alice@example.test" },
	{ " Alice Example <alice@example.test> ", "alice@example.test" },
	{ "\"Example, Alice\" <alice@example.test>", "alice@example.test" },
	{ "\"alice@example.test\" <bob@example.test>", "bob@example.test" },
	{ "alice@example.test <bob@example.test>", "bob@example.test" },
	{ "alice@example.test (Alice <bob@x>)", "alice@example.test" },
	{ "(c1 (nested) c2) alice@example.test", "alice@example.test" },
	{ "a@x, b@y", "a@x|b@y" },
	{ "<a@x>,<b@y>", "a@x|b@y" },
	{ "Team: a@x, B <b@y>;", "a@x|b@y" },
	{ "undisclosed-recipients:;", "" },
	{ "a@x, , b@y", "a@x|b@y" },
	{ "<a@x> b@y", "!a@x" },
	{ "<a@x><b@y>", "!a@x" },
	{ "<a@x> \"b\"", "!a@x" },
	{ "<>", "!" },
	{ "<@relay.example:a@x>", "a@x" },
	{ "<@r1,@r2:a@x>", "a@x" },
	{ "\"a b\"@x", "\"a b\"@x" },
	{ "\"a\\\"b\"@x", "\"a\\\"b\"@x" },
	{ "a @ x", "a@x" },
	{ "a@x (unterminated", "a@x" },
	{ "\"unterminated", "\"unterminated" },
	{ "", "" },
};

struct collect {
	struct fbuf out;
	int n;
};

static void
collect_cb(void *ctx, const char *addr, bool unreadable)
{
	struct collect *c = ctx;

	if (c->n++ > 0)
		fbuf_addc(&c->out, '|');
	if (unreadable)
		fbuf_addc(&c->out, '!');
	fbuf_adds(&c->out, addr);
}

static void
test_hdraddr_cases(void)
{
	test_begin("hdraddr cases");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		char *copy = malloc(len + 1);
		struct collect c = { .n = 0 };

		memcpy(copy, cases[i].in, len);
		fbuf_init(&c.out, 0);
		smtp_hdraddr_parse(copy, len, collect_cb, &c);
		test_assert_idx(strcmp(fbuf_str(&c.out), cases[i].want) == 0,
		    i);
		if (strcmp(fbuf_str(&c.out), cases[i].want) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&c.out));
		fbuf_release(&c.out);
		free(copy);
	}
	test_end();
}

static void
test_hdraddr_long(void)
{
	char big[2 * SMTP_HDRADDR_MAX];
	struct collect c = { .n = 0 };

	test_begin("hdraddr too long");
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 3] = '@';
	fbuf_init(&c.out, 0);
	smtp_hdraddr_parse(big, sizeof(big), collect_cb, &c);
	test_assert(c.n == 1 && c.out.data[0] == '!');
	fbuf_release(&c.out);
	test_end();
}

static void
test_hdraddr_fields(void)
{
	static const char hdrs[] =
	    "Subject: hi\r\n"
	    "From: Alice\r\n <alice@x>\r\n"
	    "X-From: <evil@x>\r\n"
	    "FROM : <bob@y>\r\n"
	    "Fromage: <cheese@z>\r\n"
	    "To: <c@z>\r\n";
	struct fbuf out;
	struct collect c = { .n = 0 };

	test_begin("hdraddr fields");
	fbuf_init(&out, 0);
	smtp_hdraddr_fields(hdrs, sizeof(hdrs) - 1, "From", &out);
	fbuf_init(&c.out, 0);
	smtp_hdraddr_parse(out.data, out.len, collect_cb, &c);
	test_assert_streq(fbuf_str(&c.out), "alice@x|bob@y");
	fbuf_release(&c.out);
	fbuf_release(&out);
	test_end();
}

/* Found by fuzz_smtp_hdraddr: a field name with no colon at the very end
 * of the headers read one byte past them. */
static void
test_hdraddr_fields_truncated(void)
{
	static const char *inputs[] = { "From", "From ", "From \t", "X: y\nFrom ",
		"From\n", "Fro" };
	struct fbuf out;

	test_begin("hdraddr fields cut short");
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t n = strlen(inputs[i]);
		char *exact = malloc(n);	/* no NUL: ASan sees overreads */

		memcpy(exact, inputs[i], n);
		fbuf_init(&out, 0);
		smtp_hdraddr_fields(exact, n, "From", &out);
		test_assert_idx(out.len == 0, i);
		fbuf_release(&out);
		free(exact);
	}
	test_end();
}

int
main(void)
{
	test_hdraddr_cases();
	test_hdraddr_long();
	test_hdraddr_fields();
	test_hdraddr_fields_truncated();
	return test_exit();
}
