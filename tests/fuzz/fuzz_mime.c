/* libFuzzer target for src/mime: the input is parsed as a message whole
 * and again in pieces whose sizes come from the input's first octet;
 * both trees must be the same, every part must lie inside the input and
 * inside its parent, and body events must carry exactly the leaf
 * bodies (which must decode as text).  The input is also run through
 * one of the field-level parsers (addresses, dates and ids, encoded
 * words, parameters), chosen by its first and last octets.
 * FUZZ_SOURCES: src/mime src/lib/fbuf.c src/lib/xalloc.c src/lib/log.c src/lib/strutil.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "mime/mime.h"

struct fuzz_mime_ctx {
	uint64_t body;		/* body octets reported */
	struct mime_decoder dec;
	struct fbuf out;
};

static void
fuzz_mime_event(void *ctx, const struct mime_event *ev)
{
	struct fuzz_mime_ctx *c = ctx;

	if (ev->type == MIME_EVENT_BODY) {
		c->body += ev->len;
		mime_decoder_feed(&c->dec, ev->data, ev->len, &c->out);
		fbuf_reset(&c->out);
	}
}

static uint64_t
fuzz_mime_check(const struct mime_part *p, const struct mime_part *up,
    const char *msg, size_t len)
{
	uint64_t leaves = 0;
	struct fbuf text;

	for (; p != NULL; p = p->next) {
		if (p->hdr_offset + p->hdr_size != p->body_offset ||
		    p->body_offset + p->body_size > len ||
		    p->ctype.type == NULL || p->ctype.subtype == NULL ||
		    (up != NULL && (p->hdr_offset < up->body_offset ||
		    p->body_offset + p->body_size >
		    up->body_offset + up->body_size)))
			abort();
		if (!p->multipart && !p->message) {
			leaves += p->body_size;
			fbuf_init(&text, 0);
			if (mime_part_text(p, msg, len, &text) < 0)
				abort();
			fbuf_release(&text);
		}
		leaves += fuzz_mime_check(p->children, p, msg, len);
	}
	return leaves;
}

static void
fuzz_mime_dump(const struct mime_part *p, struct fbuf *out)
{
	for (; p != NULL; p = p->next) {
		fbuf_addf(out, "%llu %llu %llu %llu %llu %x %s/%s(",
		    (unsigned long long)p->hdr_offset,
		    (unsigned long long)p->hdr_size,
		    (unsigned long long)p->body_offset,
		    (unsigned long long)p->body_size,
		    (unsigned long long)p->body_lines, p->flags,
		    p->ctype.type, p->ctype.subtype);
		fuzz_mime_dump(p->children, out);
		fbuf_addc(out, ')');
	}
}

/* One of the field-level parsers, by sel: all of them on every input
 * cost a third of the time, and the fuzzer reaches each anyway. */
static void
fuzz_mime_fields(const char *d, size_t n, unsigned sel)
{
	struct mime_address *a;
	struct mime_value v;
	struct fbuf out;
	time_t t;
	int zone;

	switch (sel % 5) {
	case 0:
		a = mime_address_parse(d, n);
		mime_address_free(&a);
		break;
	case 1:
		(void)mime_date_parse(d, n, &t, &zone);
		(void)mime_msgid_list(d, n, NULL, NULL);
		break;
	case 2:
		fbuf_init(&out, 0);
		mime_encword_decode(d, n, &out);
		fbuf_release(&out);
		break;
	default:
		mime_value_parse(d, n, sel % 5 == 3, &v);
		mime_value_free(&v);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct fuzz_mime_ctx c;
	struct mime_parser *p;
	struct mime_part *whole, *pieces;
	struct mime_envelope env;
	struct fbuf a, b;
	size_t step = size > 0 ? (size_t)data[0] % 13 + 1 : 1;

	memset(&c, 0, sizeof(c));
	fbuf_init(&c.out, 0);
	mime_decoder_init(&c.dec, size > 1 && data[1] & 1 ? MIME_CTE_QP :
	    MIME_CTE_BASE64);
	whole = mime_parse(d, size, NULL);
	p = mime_parser_new(NULL, fuzz_mime_event, &c);
	for (size_t k = 0; k < size; k += step)
		mime_parser_feed(p, d + k, size - k < step ? size - k : step);
	pieces = mime_parser_finish(p);
	mime_parser_free(&p);
	mime_decoder_finish(&c.dec, &c.out);
	fbuf_init(&a, 0);
	fbuf_init(&b, 0);
	fuzz_mime_dump(whole, &a);
	fuzz_mime_dump(pieces, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	if (fuzz_mime_check(pieces, NULL, d, size) != c.body)
		abort();
	fbuf_release(&a);
	fbuf_release(&b);
	fbuf_release(&c.out);
	mime_part_free(&whole);
	mime_part_free(&pieces);
	mime_envelope_parse(d, size, &env);
	mime_envelope_free(&env);
	fuzz_mime_fields(d, size > 4096 ? 4096 : size,
	    size > 0 ? data[0] / 13u + data[size - 1] : 0);
	return 0;
}
