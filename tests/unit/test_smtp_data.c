/* Unit tests for the DATA/BDAT decoder (src/smtp/smtp_data.c).  Every case
 * is fed whole, one byte at a time, and split in two at every offset; all
 * runs must give the same result.  Includes every SMTP smuggling variant. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "smtp/smtp_data.h"
#include "test.h"

#define F_LF	0x01
#define F_CR	0x02
#define F_LONG	0x04
#define F_8BIT	0x08
#define F_NUL	0x10

struct data_case {
	const char *in;
	size_t in_len;		/* 0: strlen(in) */
	size_t max_line;
	int ret;
	size_t used;		/* expected *used_r total */
	const char *out;
	size_t out_len;		/* 0: strlen(out) */
	unsigned flags;
};

struct data_result {
	int ret;
	size_t used;
	struct fbuf out;
	uint64_t size;
	unsigned flags;
};

static const struct data_case data_cases[] = {
	/* the DATA command's CRLF is the one before the first line */
	{ ".\r\n", 0, 1000, 1, 3, "", 0, 0 },
	{ "hello\r\n.\r\n", 0, 1000, 1, 10, "hello\r\n", 0, 0 },
	{ "hello\r\n.\r\nQUIT\r\n", 0, 1000, 1, 10, "hello\r\n", 0, 0 },
	{ "\r\n.\r\n", 0, 1000, 1, 5, "\r\n", 0, 0 },
	{ "a\r\nb\r\n\r\n.\r\nRSET\r\n", 0, 1000, 1, 11, "a\r\nb\r\n\r\n",
	  0, 0 },
	/* dot-unstuffing */
	{ "..a\r\n.b\r\n.\r\n", 0, 1000, 1, 12, ".a\r\nb\r\n", 0, 0 },
	{ "..\r\n.\r\n", 0, 1000, 1, 7, ".\r\n", 0, 0 },
	{ ". \r\n.\r\n", 0, 1000, 1, 7, " \r\n", 0, 0 },
	{ "a.\r\n.\r\n", 0, 1000, 1, 7, "a.\r\n", 0, 0 },
	{ "...\r\n.\r\n", 0, 1000, 1, 8, "..\r\n", 0, 0 },
	/* SMTP smuggling: none of these ends the data */
	{ "a\n.\nb\r\n.\r\n", 0, 1000, 1, 10, "a\n.\nb\r\n", 0, F_LF },
	{ "a\n.\r\nb\r\n.\r\n", 0, 1000, 1, 11, "a\n.\r\nb\r\n", 0, F_LF },
	{ "a\r.\r\nb\r\n.\r\n", 0, 1000, 1, 11, "a\r.\r\nb\r\n", 0, F_CR },
	{ "a\r\n.\nb\r\n.\r\n", 0, 1000, 1, 11, "a\r\n\nb\r\n", 0, F_LF },
	{ "a\r\n.\rb\r\n.\r\n", 0, 1000, 1, 11, "a\r\n\rb\r\n", 0, F_CR },
	{ "a\r\n.\r\r\n.\r\n", 0, 1000, 1, 10, "a\r\n\r\r\n", 0, F_CR },
	{ "a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n", 0, 1000, 1, 25,
	  "a\r\n\rMAIL FROM:<x@y>\r\n", 0, F_CR },
	{ "\n.\n", 0, 1000, 0, 3, "\n.\n", 0, F_LF },
	{ "\n.\r\n", 0, 1000, 0, 4, "\n.\r\n", 0, F_LF },
	{ "\r.\r\n", 0, 1000, 0, 4, "\r.\r\n", 0, F_CR },
	{ "x\r\n.\n", 0, 1000, 0, 5, "x\r\n\n", 0, F_LF },
	{ "x\r\n.\rQUIT\r\n", 0, 1000, 0, 11, "x\r\n\rQUIT\r\n", 0, F_CR },
	{ "x\n\r\n.\r\n", 0, 1000, 1, 7, "x\n\r\n", 0, F_LF },
	{ "x\r\r\n.\r\n", 0, 1000, 1, 7, "x\r\r\n", 0, F_CR },
	{ "\n.\r\n.\r\n", 0, 1000, 1, 7, "\n.\r\n", 0, F_LF },
	/* incomplete */
	{ "", 0, 1000, 0, 0, "", 0, 0 },
	{ "abc", 0, 1000, 0, 3, "abc", 0, 0 },
	{ "a\r\n.\r", 0, 1000, 0, 5, "a\r\n", 0, 0 },
	{ "a\r\n.", 0, 1000, 0, 4, "a\r\n", 0, 0 },
	{ "a\r", 0, 1000, 0, 2, "a\r", 0, 0 },
	/* 8-bit and NUL */
	{ "\xc3\xa9\r\n.\r\n", 0, 1000, 1, 7, "\xc3\xa9\r\n", 0, F_8BIT },
	{ "a\0b\r\n.\r\n", 8, 1000, 1, 8, "a\0b\r\n", 5, F_NUL },
	{ ".\0\r\n.\r\n", 7, 1000, 1, 7, "\0\r\n", 3, F_NUL },
	/* line length, CRLF included, dot-stuffing excluded */
	{ "12345678\r\n.\r\n", 0, 10, 1, 13, "12345678\r\n", 0, 0 },
	{ "123456789\r\n.\r\n", 0, 10, 1, 14, "123456789\r\n", 0, F_LONG },
	{ "..2345678\r\n.\r\n", 0, 10, 1, 14, ".2345678\r\n", 0, 0 },
	{ "123456789012\r\n.\r\n", 0, 0, 1, 17, "123456789012\r\n", 0, 0 },
	{ "1234567\n12\r\n.\r\n", 0, 10, 1, 15, "1234567\n12\r\n", 0,
	  F_LF | F_LONG },
};

static unsigned
data_flags(const struct smtp_data *d)
{
	return (d->bare_lf ? F_LF : 0) | (d->bare_cr ? F_CR : 0) |
	    (d->long_line ? F_LONG : 0) | (d->has_8bit ? F_8BIT : 0) |
	    (d->has_nul ? F_NUL : 0);
}

/* Feeds in[0..len) in pieces of `step` octets (0: whole), stopping at the
 * end of data, with the first piece `first` octets long when non-zero. */
static void
data_run(const struct data_case *c, size_t len, size_t first, size_t step,
    size_t out_max, struct data_result *res)
{
	struct smtp_data d;
	size_t pos = 0, n, used;

	smtp_data_init(&d, c->max_line);
	fbuf_init(&res->out, out_max);
	res->ret = 0;
	while (pos < len || (pos == 0 && len == 0)) {
		n = len - pos;
		if (pos == 0 && first != 0)
			n = first;
		else if (step != 0 && step < n)
			n = step;
		res->ret = smtp_data_feed(&d, c->in + pos, n, &used,
		    &res->out);
		pos += used;
		if (res->ret == 1 || len == 0)
			break;
	}
	res->used = pos;
	res->size = d.size;
	res->flags = data_flags(&d);
}

static bool
data_result_ok(const struct data_case *c, const struct data_result *r)
{
	size_t out_len = c->out_len != 0 ? c->out_len : strlen(c->out);

	return r->ret == c->ret && r->used == c->used &&
	    r->out.len == out_len && r->size == out_len &&
	    memcmp(fbuf_str(&r->out), c->out, out_len) == 0 &&
	    r->flags == c->flags;
}

static void
test_data_cases(void)
{
	struct data_result r;

	test_begin("smtp_data_feed whole, trickled and split");
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	    i++) {
		const struct data_case *c = &data_cases[i];
		size_t len = c->in_len != 0 ? c->in_len : strlen(c->in);

		data_run(c, len, 0, 0, 0, &r);
		test_assert_idx(data_result_ok(c, &r), i);
		fbuf_release(&r.out);
		data_run(c, len, 0, 1, 0, &r);
		test_assert_idx(data_result_ok(c, &r), i);
		fbuf_release(&r.out);
		for (size_t k = 1; k < len; k++) {
			data_run(c, len, k, 0, 0, &r);
			test_assert_idx(data_result_ok(c, &r), i * 1000 + k);
			fbuf_release(&r.out);
		}
	}
	test_end();
}

static void
test_data_out_max(void)
{
	static const struct data_case c = { "hello world\r\n.\r\n", 0, 1000,
		1, 16, "hello world\r\n", 0, 0 };
	struct data_result r;

	test_begin("smtp_data_feed out->max clips, decoding goes on");
	for (size_t step = 0; step < 4; step++) {
		data_run(&c, strlen(c.in), 0, step, 5, &r);
		test_assert(r.ret == 1 && r.used == 16 && r.size == 13);
		test_assert(r.out.len == 5 &&
		    memcmp(fbuf_str(&r.out), "hello", 5) == 0);
		fbuf_release(&r.out);
	}
	test_end();
}

static void
test_data_done(void)
{
	struct smtp_data d;
	struct fbuf out;
	size_t used = 99;

	test_begin("smtp_data_feed after the end consumes nothing");
	smtp_data_init(&d, 1000);
	fbuf_init(&out, 0);
	test_assert(smtp_data_feed(&d, ".\r\nQUIT\r\n", 9, &used, &out) == 1);
	test_assert(used == 3);
	test_assert(smtp_data_feed(&d, "QUIT\r\n", 6, &used, &out) == 1);
	test_assert(used == 0 && out.len == 0);
	fbuf_release(&out);
	test_end();
}

struct raw_case {
	const char *in;
	size_t max_line;
	const char *out;	/* after smtp_data_finish_raw() */
	unsigned flags;
};

static const struct raw_case raw_cases[] = {
	{ "", 1000, "", 0 },
	{ "a\r\n", 1000, "a\r\n", 0 },
	{ "a\r\n.\r\n", 1000, "a\r\n.\r\n", 0 },
	{ "..a\r\n", 1000, "..a\r\n", 0 },
	{ "abc", 1000, "abc\r\n", 0 },
	{ "a\nb\r\n", 1000, "a\nb\r\n", F_LF },
	{ "a\rb\r\n", 1000, "a\rb\r\n", F_CR },
	{ "a\r", 1000, "a\r\r\n", F_CR },
	{ "123456789\r\n", 10, "123456789\r\n", F_LONG },
	{ "12345678\r\n", 10, "12345678\r\n", 0 },
	{ "\xe2\x82\xac\r\n", 1000, "\xe2\x82\xac\r\n", F_8BIT },
};

static void
raw_run(const struct raw_case *c, size_t step, struct fbuf *out,
    struct smtp_data *d)
{
	size_t len = strlen(c->in), n;

	smtp_data_init(d, c->max_line);
	fbuf_init(out, 0);
	for (size_t pos = 0; pos < len; pos += n) {
		n = step == 0 || step > len - pos ? len - pos : step;
		smtp_data_feed_raw(d, c->in + pos, n, out);
	}
	smtp_data_finish_raw(d, out);
}

static void
test_data_raw(void)
{
	struct smtp_data d;
	struct fbuf out;

	test_begin("smtp_data_feed_raw whole and trickled");
	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		for (size_t step = 0; step < 3; step++) {
			raw_run(&raw_cases[i], step, &out, &d);
			test_assert_idx(strcmp(fbuf_str(&out),
			    raw_cases[i].out) == 0, i);
			test_assert_idx(d.size == strlen(raw_cases[i].out), i);
			test_assert_idx(data_flags(&d) ==
			    raw_cases[i].flags, i);
			fbuf_release(&out);
		}
	}
	test_end();
}

int
main(void)
{
	test_data_cases();
	test_data_out_max();
	test_data_done();
	test_data_raw();
	return test_exit();
}
