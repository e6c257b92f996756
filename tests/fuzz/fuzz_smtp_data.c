/* libFuzzer target for the DATA/BDAT decoder.  The input is decoded whole,
 * split at a point chosen by its first octets, and one octet at a time;
 * all three must agree exactly.  A decoded body, dot-stuffed again and
 * terminated, must decode to itself, and an end of data may only be
 * reported right after CR LF "." CR LF.
 * FUZZ_SOURCES: src/smtp/smtp_data.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "smtp/smtp_data.h"

struct fuzz_smtp_data_run {
	int ret;
	size_t used;
	struct smtp_data d;
	struct fbuf out;
};

/* Feeds in pieces of `step` octets (0: whole), the first `first` long. */
static void
fuzz_smtp_data_feed(const char *in, size_t len, size_t first, size_t step,
    struct fuzz_smtp_data_run *r)
{
	size_t pos = 0, n, used;

	smtp_data_init(&r->d, 1000);
	fbuf_init(&r->out, 0);
	r->ret = 0;
	while (pos < len) {
		n = len - pos;
		if (pos == 0 && first != 0 && first < n)
			n = first;
		else if (step != 0 && step < n)
			n = step;
		r->ret = smtp_data_feed(&r->d, in + pos, n, &used, &r->out);
		if (used > n)
			abort();
		pos += used;
		if (r->ret == 1)
			break;
	}
	r->used = pos;
}

static void
fuzz_smtp_data_same(const struct fuzz_smtp_data_run *a,
    const struct fuzz_smtp_data_run *b)
{
	if (a->ret != b->ret || a->used != b->used ||
	    a->out.len != b->out.len ||
	    memcmp(fbuf_str(&a->out), fbuf_str(&b->out), a->out.len) != 0 ||
	    a->d.size != b->d.size || a->d.bare_lf != b->d.bare_lf ||
	    a->d.bare_cr != b->d.bare_cr || a->d.long_line != b->d.long_line ||
	    a->d.has_8bit != b->d.has_8bit || a->d.has_nul != b->d.has_nul)
		abort();
}

/* Dot-stuffs body (empty or ending in CRLF) and appends ".\r\n". */
static void
fuzz_smtp_data_encode(const struct fbuf *body, struct fbuf *enc)
{
	bool bol = true;

	fbuf_init(enc, 0);
	for (size_t i = 0; i < body->len; i++) {
		if (bol && body->data[i] == '.')
			(void)fbuf_addc(enc, '.');
		(void)fbuf_addc(enc, body->data[i]);
		bol = i > 0 && body->data[i - 1] == '\r' &&
		    body->data[i] == '\n';
	}
	(void)fbuf_add(enc, ".\r\n", 3);
}

static void
fuzz_smtp_data_roundtrip(const struct fuzz_smtp_data_run *w)
{
	struct fuzz_smtp_data_run r;
	struct fbuf enc;

	if (w->out.len > 0 && (w->out.len < 2 ||
	    memcmp(w->out.data + w->out.len - 2, "\r\n", 2) != 0))
		abort();
	fuzz_smtp_data_encode(&w->out, &enc);
	fuzz_smtp_data_feed(enc.data, enc.len, 0, 0, &r);
	if (r.ret != 1 || r.used != enc.len || r.out.len != w->out.len ||
	    memcmp(fbuf_str(&r.out), fbuf_str(&w->out), w->out.len) != 0)
		abort();
	fbuf_release(&r.out);
	fbuf_release(&enc);
}

static void
fuzz_smtp_data_raw(const char *in, size_t len)
{
	struct smtp_data d;
	struct fbuf out;

	smtp_data_init(&d, 1000);
	fbuf_init(&out, 0);
	smtp_data_feed_raw(&d, in, len / 2, &out);
	smtp_data_feed_raw(&d, in + len / 2, len - len / 2, &out);
	smtp_data_finish_raw(&d, &out);
	if (out.len != d.size || (len == 0 && out.len != 0))
		abort();
	if (len > 0 && (out.len < len || memcmp(out.data, in, len) != 0 ||
	    memcmp(out.data + out.len - 2, "\r\n", 2) != 0))
		abort();
	fbuf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct fuzz_smtp_data_run whole, split, trickle;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	fuzz_smtp_data_feed(in, size, 0, 0, &whole);
	fuzz_smtp_data_feed(in, size, cut, 0, &split);
	fuzz_smtp_data_feed(in, size, 0, 1, &trickle);
	fuzz_smtp_data_same(&whole, &split);
	fuzz_smtp_data_same(&whole, &trickle);
	if (whole.ret == 1) {
		if (!(whole.used == 3 && memcmp(in, ".\r\n", 3) == 0) &&
		    (whole.used < 5 ||
		    memcmp(in + whole.used - 5, "\r\n.\r\n", 5) != 0))
			abort();
		fuzz_smtp_data_roundtrip(&whole);
	}
	if (whole.out.len != whole.d.size)
		abort();
	fuzz_smtp_data_raw(in, size);
	fbuf_release(&whole.out);
	fbuf_release(&split.out);
	fbuf_release(&trickle.out);
	return 0;
}
