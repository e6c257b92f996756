/* Unit tests for modified UTF-7 (src/imap/mutf7.c): pairs that must
 * convert both ways, wire forms the decoder must refuse as not
 * canonical, UTF-8 the encoder must refuse, and the output limit. */
#include <stdbool.h>
#include <string.h>

#include "imap/mutf7.h"
#include "lib/fbuf.h"
#include "test.h"

static const struct {
	const char *wire;
	const char *utf8;
} mutf7_pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&-", "&" },
	{ "a&-b&-&-", "a&b&&" },
	{ "Entw&APw-rfe", "Entw\xc3\xbc" "rfe" },
	{ "&AOQ-", "\xc3\xa4" },
	{ "&AOQA5A-", "\xc3\xa4\xc3\xa4" },
	{ "&AOQA5ADk-", "\xc3\xa4\xc3\xa4\xc3\xa4" },
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e" },
	{ "&2D3eAA-", "\xf0\x9f\x98\x80" },
	{ "x&2D3eAA-&-y", "x\xf0\x9f\x98\x80&y" },
	{ "&AAEAfw-", "\x01\x7f" },
	{ " ~", " ~" },
};

static const char *const mutf7_bad_wire[] = {
	"&", "&AOQ", "&AOQ-&AOQ-", "&AGE-", "&ACY-", "&ACA-", "&AOR-",
	"&AOQA-", "&AOQAAA-", "&2D0-", "&3gA-", "&2D3YPQ-", "&AAA-", "&A*Q-",
	"&A=Q-", "\xc3\xa4", "a\x01", "a\x7f", "&AO Q-", "&-&", "&&-",
	"&AOQ-&-&AOQ-&AOQ-",
};

static const char *const mutf7_bad_utf8[] = {
	"\xff", "\xc3", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
	"\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\x80",
	"\xe6\x97", "\xc3\x28",
};

static void
test_mutf7_pairs(void)
{
	test_begin("mutf7: canonical pairs both ways");
	for (size_t i = 0; i < sizeof(mutf7_pairs) / sizeof(mutf7_pairs[0]);
	    i++) {
		struct fbuf b;

		fbuf_init(&b, 0);
		test_assert_idx(mutf7_decode(mutf7_pairs[i].wire,
		    strlen(mutf7_pairs[i].wire), &b) == 0, i);
		test_assert_streq(fbuf_str(&b), mutf7_pairs[i].utf8);
		fbuf_reset(&b);
		test_assert_idx(mutf7_encode(mutf7_pairs[i].utf8,
		    strlen(mutf7_pairs[i].utf8), &b) == 0, i);
		test_assert_streq(fbuf_str(&b), mutf7_pairs[i].wire);
		fbuf_release(&b);
	}
	test_end();
}

static void
test_mutf7_refused(void)
{
	struct fbuf b;

	test_begin("mutf7: non-canonical wire forms and bad UTF-8 refused");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(mutf7_bad_wire) /
	    sizeof(mutf7_bad_wire[0]); i++) {
		fbuf_reset(&b);
		test_assert_idx(mutf7_decode(mutf7_bad_wire[i],
		    strlen(mutf7_bad_wire[i]), &b) < 0, i);
	}
	for (size_t i = 0; i < sizeof(mutf7_bad_utf8) /
	    sizeof(mutf7_bad_utf8[0]); i++) {
		fbuf_reset(&b);
		test_assert_idx(mutf7_encode(mutf7_bad_utf8[i],
		    strlen(mutf7_bad_utf8[i]), &b) < 0, i);
	}
	/* NUL, which no C string can show */
	fbuf_reset(&b);
	test_assert(mutf7_encode("a\0b", 3, &b) < 0);
	fbuf_reset(&b);
	test_assert(mutf7_decode("a\0b", 3, &b) < 0);
	fbuf_release(&b);
	test_end();
}

static void
test_mutf7_limit(void)
{
	struct fbuf b;

	test_begin("mutf7: output limit is an error");
	fbuf_init(&b, 4);
	test_assert(mutf7_encode("\xc3\xa4", 2, &b) < 0);
	fbuf_release(&b);
	fbuf_init(&b, 5);
	test_assert(mutf7_encode("\xc3\xa4", 2, &b) == 0);
	test_assert_streq(fbuf_str(&b), "&AOQ-");
	fbuf_release(&b);
	fbuf_init(&b, 3);
	test_assert(mutf7_decode("&AOQA5A-", 8, &b) < 0);
	fbuf_release(&b);
	test_end();
}

int
main(void)
{
	test_mutf7_pairs();
	test_mutf7_refused();
	test_mutf7_limit();
	return test_exit();
}
