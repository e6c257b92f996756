/* Unit tests for the maildrop format (queue/maildrop.c) and the message
 * reader of `ferry sendmail` (cmd/sendmail_msg.c): tables of good and bad
 * inputs, each fed whole and one byte at a time. */
#include <stdlib.h>
#include <string.h>

#include "cmd/sendmail.h"
#include "lib/fbuf.h"
#include "queue/maildrop.h"
#include "test.h"

static void
test_addr_ok(void)
{
	static const struct {
		const char *a;
		bool ok;
	} cases[] = {
		{ "a@b.example", true }, { "\"x y\"@b.example", false },
		{ "\"x@y\"@b.example", true }, { "u@[192.0.2.1]", true },
		{ "u@[192.0.2.1", false }, { "@b.example", false },
		{ "a@", false }, { "ab", false }, { "", false },
		{ "a@b,c", false }, { "a<b@c", false }, { "a@b\x7f", false },
		{ "a\tb@c", false }, { "j\xc3\xb6@b\xc3\xa4.example", true },
	};

	test_begin("maildrop_addr_ok");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_assert_idx(maildrop_addr_ok(cases[i].a) == cases[i].ok, i);
	test_end();
}

static void
test_env_parse(void)
{
	static const struct {
		const char *in;
		int r;
		size_t nrcpts;
	} cases[] = {
		{ "ferry-maildrop 1\nS a@b.c\nR d@e.f\nE\nX", 1, 1 },
		{ "ferry-maildrop 1\nS \nR d@e.f\nR g@h.i\nE\n", 1, 2 },
		{ "ferry-maildrop 1\nS a@b.c\nR d@e.f\n", 0, 0 },
		{ "ferry-maildrop 1\nS a@b", 0, 0 },
		{ "ferry-mai", 0, 0 },
		{ "ferry-maildrop 2\nS a@b.c\nR d@e.f\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nS a@b.c\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nR d@e.f\nS a@b.c\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nS a@b.c\nS a@b.c\nR d@e.f\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nS a@b.c\nR bad\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nS a@b.c\nRd@e.f\nE\n", -1, 0 },
		{ "ferry-maildrop 1\nS a@b.c\nX y\nE\n", -1, 0 },
		{ "GET / HTTP/1.0\n", -1, 0 },
	};

	test_begin("maildrop_env_parse");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct maildrop_env e;
		const char *error;
		size_t off = 0;
		int r;

		r = maildrop_env_parse(cases[i].in, strlen(cases[i].in), &e,
		    &off, &error);
		test_assert_idx(r == cases[i].r, i);
		if (r == 1) {
			test_assert_idx(e.nrcpts == cases[i].nrcpts, i);
			test_assert_idx(strcmp(cases[i].in + off, "X") == 0 ||
			    cases[i].in[off] == '\0', i);
			maildrop_env_free(&e);
		}
	}
	test_end();
}

static void
test_env_limits(void)
{
	struct maildrop_env e, back;
	struct fbuf b;
	const char *error;
	char addr[64];
	size_t off;

	test_begin("maildrop records: round trip, recipient limit");
	memset(&e, 0, sizeof(e));
	e.sender = strdup("s@x.example");
	e.rcpts = calloc(MAILDROP_RCPT_MAX + 1, sizeof(char *));
	for (size_t i = 0; i <= MAILDROP_RCPT_MAX; i++) {
		snprintf(addr, sizeof(addr), "r%zu@x.example", i);
		e.rcpts[i] = strdup(addr);
	}
	e.nrcpts = MAILDROP_RCPT_MAX;
	fbuf_init(&b, 0);
	maildrop_env_format(&e, &b);
	test_assert(maildrop_env_parse(b.data, b.len, &back, &off, &error) == 1);
	test_assert(off == b.len && back.nrcpts == MAILDROP_RCPT_MAX);
	maildrop_env_free(&back);
	e.nrcpts++;
	fbuf_reset(&b);
	maildrop_env_format(&e, &b);
	test_assert(maildrop_env_parse(b.data, b.len, &back, &off, &error) ==
	    -1);
	test_assert_streq(error, "too many recipients");
	fbuf_release(&b);
	maildrop_env_free(&e);
	test_end();
}

static int
test_check_run(const char *s, size_t n, bool trickle, uint64_t max)
{
	struct maildrop_check c;
	const char *error;

	maildrop_check_init(&c, max);
	if (!trickle) {
		if (maildrop_check_feed(&c, s, n, &error) < 0)
			return -1;
	} else
		for (size_t i = 0; i < n; i++)
			if (maildrop_check_feed(&c, s + i, 1, &error) < 0)
				return -1;
	return maildrop_check_end(&c, &error);
}

static void
test_check(void)
{
	static const struct {
		const char *in;
		int r;
	} cases[] = {
		{ "a\r\nb\r\n", 0 }, { "", 0 }, { "a\nb\r\n", -1 },
		{ "a\rb\r\n", -1 }, { "a\r\nb", -1 }, { "a\r\r\n", -1 },
	};
	char line[1002];

	test_begin("maildrop_check");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int t = 0; t < 2; t++)
			test_assert_idx(test_check_run(cases[i].in,
			    strlen(cases[i].in), t, 0) == cases[i].r, i);
	memset(line, 'x', sizeof(line));
	memcpy(line + 998, "\r\n", 2);
	test_assert(test_check_run(line, 1000, false, 0) == 0);
	line[998] = 'x';
	memcpy(line + 999, "\r\n", 2);
	test_assert(test_check_run(line, 1001, true, 0) == -1);
	test_assert(test_check_run("a\0\r\n", 4, false, 0) == -1);
	test_assert(test_check_run("ab\r\n", 4, false, 3) == -1);
	test_end();
}

/* Reads in (whole or a byte at a time) and writes the result. */
static int
test_msg_run(const char *in, size_t n, bool dots, bool trickle,
    struct fbuf *out)
{
	struct sendmail_msg m;
	int r = 0;

	sendmail_msg_init(&m, dots, 0);
	if (!trickle)
		r = sendmail_msg_feed(&m, in, n);
	else
		for (size_t i = 0; i < n && r == 0; i++)
			r = sendmail_msg_feed(&m, in + i, 1);
	if (r >= 0)
		r = sendmail_msg_finish(&m);
	if (r == 0)
		sendmail_msg_write(&m, out);
	sendmail_msg_free(&m);
	return r;
}

static void
test_msg(void)
{
	static const struct {
		const char *in;
		bool dots;
		const char *out;		/* NULL: refused */
	} cases[] = {
		{ "Subject: a\n\nbody\n", true, "Subject: a\r\n\r\nbody\r\n" },
		{ "Subject: a\r\n\r\nbody", true, "Subject: a\r\n\r\nbody\r\n" },
		{ "S: a\n x\n\nb\n.\nc\n", true, "S: a\r\n x\r\n\r\nb\r\n" },
		{ "S: a\n\nb\n.\nc\n", false, "S: a\r\n\r\nb\r\n.\r\nc\r\n" },
		{ "no header here\nS: x\n", true,
		    "\r\nno header here\r\nS: x\r\n" },
		{ "S: a\nbody at once\n", true, "S: a\r\n\r\nbody at once\r\n" },
		{ " lead\n", true, "\r\n lead\r\n" },
		{ "", true, "\r\n" },
		{ "S: a\n\nbare\rcr\n", true, NULL },
		{ "S: a\n\nnul\n\0", true, NULL },
	};

	test_begin("sendmail_msg read");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);

		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			n += 1;		/* the NUL case */
		for (int t = 0; t < 2; t++) {
			struct fbuf out;
			int r;

			fbuf_init(&out, 0);
			r = test_msg_run(cases[i].in, n, cases[i].dots, t, &out);
			if (cases[i].out == NULL)
				test_assert_idx(r < 0, i);
			else {
				test_assert_idx(r == 0, i);
				test_assert_idx(r == 0 &&
				    strcmp(out.data, cases[i].out) == 0, i);
			}
			fbuf_release(&out);
		}
	}
	test_end();
}

static void
test_msg_long_and_fields(void)
{
	struct sendmail_msg m;
	static const char hdrs[] = "To: a@b.example,\n c@d.example\n"
	    "BCC: e@f.example\n\tg@h.example\nfrom: x@y.example\n\nbody\n";
	struct fbuf v, out;
	char line[1001];

	test_begin("sendmail_msg line limit, fields, complete");
	memset(line, 'y', sizeof(line));
	line[998] = '\n';
	sendmail_msg_init(&m, true, 0);
	test_assert(sendmail_msg_feed(&m, line, 999) == 0);
	line[998] = 'y';
	line[999] = '\n';
	test_assert(sendmail_msg_feed(&m, line, 1000) == -1);
	sendmail_msg_free(&m);

	sendmail_msg_init(&m, true, 0);
	test_assert(sendmail_msg_feed(&m, hdrs, strlen(hdrs)) == 0);
	test_assert(sendmail_msg_finish(&m) == 0);
	fbuf_init(&v, 0);
	sendmail_msg_field(&m, "bcc", &v);
	test_assert(strstr(v.data, "e@f.example") != NULL &&
	    strstr(v.data, "g@h.example") != NULL);
	fbuf_release(&v);
	sendmail_msg_complete(&m, "h.example", "s@h.example", "Name");
	fbuf_init(&out, 0);
	sendmail_msg_write(&m, &out);
	test_assert(strstr(out.data, "e@f.example") == NULL);
	test_assert(strstr(out.data, "From: \"Name\"") == NULL);
	test_assert(strstr(out.data, "\r\nDate: ") != NULL);
	test_assert(strstr(out.data, "\r\nMessage-ID: <") != NULL);
	test_assert(strstr(out.data, "\r\n\r\nbody\r\n") != NULL);
	fbuf_release(&out);
	sendmail_msg_free(&m);
	test_end();
}

int
main(void)
{
	test_addr_ok();
	test_env_parse();
	test_env_limits();
	test_check();
	test_msg();
	test_msg_long_and_fields();
	return test_exit();
}
