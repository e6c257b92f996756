/* libFuzzer target for vacation replies: the settings checks
 * (src/ops/ops_vacation_fmt.c) and the reply decision and content
 * (src/queue/vacation.c).  The input's first line is a date (parsed,
 * and when accepted formatted back and parsed again to the same time);
 * the whole input is a subject and a body for the checks, and a header
 * section for vacation_check, whose reply must then have no bare CR or
 * LF, no NUL, no 8-bit octet and no line over 998 octets.
 * FUZZ_SOURCES: src/ops/ops_vacation_fmt.c src/queue/vacation.c src/mime src/lib */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "ops/ops_vacation.h"
#include "queue/vacation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_date(const char *s, size_t len)
{
	char buf[64], day[32];
	const char *nl = memchr(s, '\n', len), *error;
	size_t n = nl != NULL ? (size_t)(nl - s) : len;
	int64_t t, t2;

	if (n >= sizeof(buf))
		return;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ops_vacation_parse_date(buf, n % 2 == 0, &t, &error) < 0)
		return;
	ops_vacation_format_date(t, day, sizeof(day));
	day[10] = 'T';
	assert(ops_vacation_parse_date(day, false, &t2, &error) == 0);
	assert(t2 == t);
}

static void
fuzz_reply_ok(const struct fbuf *m)
{
	size_t line = 0;

	for (size_t i = 0; i < m->len; i++) {
		unsigned char c = (unsigned char)m->data[i];

		assert(c != 0 && c < 0x80);
		if (c == '\r')
			assert(i + 1 < m->len && m->data[i + 1] == '\n');
		if (c == '\n') {
			assert(i > 0 && m->data[i - 1] == '\r');
			line = 0;
		} else
			assert(++line <= 998);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *error;
	const char *addrs[] = { "user@example.org", "alias@example.org" };
	struct vacation_in in = { .sender = "peer@remote.example",
		.addrs = addrs, .naddrs = 2, .delimiter = "+", .hdr = s,
		.hdr_len = size };
	struct vacation_reply r = { .from = "user@example.org",
		.to = "peer@remote.example", .subject = "",
		.body = "Away.\n", .msgid = "<x@example.org>", .now = 0 };
	struct vacation_orig o;
	struct fbuf b, m;

	fuzz_date(s, size);
	(void)ops_vacation_check_subject(s, size, &error);
	fbuf_init(&b, 0);
	if (ops_vacation_norm_body(s, size, &b, &error) == 0)
		assert(memchr(b.data != NULL ? b.data : "", '\r', b.len) ==
		    NULL);
	(void)vacation_check(&in, &o);
	fbuf_init(&m, 0);
	vacation_compose(&r, &o, &m);
	fuzz_reply_ok(&m);
	/* The same with the input as the body. */
	if (b.len > 0 && ops_vacation_check_subject(s, strnlen(s, size),
	    &error) == 0) {
		r.subject = "";
		r.body = fbuf_str(&b);
		fbuf_reset(&m);
		vacation_compose(&r, &o, &m);
		fuzz_reply_ok(&m);
	}
	fbuf_release(&m);
	fbuf_release(&b);
	vacation_orig_free(&o);
	return 0;
}
