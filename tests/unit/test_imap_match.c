/* Unit tests for SEARCH text matching (src/imap/imap_match.c): the case
 * fold per script, its limits (what it leaves alone, invalid UTF-8), and
 * header values matched as written, unfolded and with RFC 2047 encoded
 * words decoded (Q and B, several words, charsets other than UTF-8). */
#include <stdbool.h>
#include <string.h>

#include "imap/imap_match.h"
#include "lib/fbuf.h"
#include "test.h"

static const struct {
	const char *in, *out;
} fold_cases[] = {
	{ "", "" },
	{ "Hello WORLD 123 [x]", "hello world 123 [x]" },
	/* Latin-1: capitals to small letters; the multiplication sign
	 * and sharp s stay. */
	{ "\xc3\x9c" "BER \xc3\x80\xc3\x9e \xc3\x97\xc3\x9f",
	    "\xc3\xbc" "ber \xc3\xa0\xc3\xbe \xc3\x97\xc3\x9f" },
	/* Latin Extended-A: even and odd pair runs, unpaired letters. */
	{ "\xc5\x81\xc3\xb3" "d\xc5\xba \xc5\xbb\xc5\xb9\xc4\x8c\xc5\xa0",
	    "\xc5\x82\xc3\xb3" "d\xc5\xba \xc5\xbc\xc5\xba\xc4\x8d\xc5\xa1" },
	{ "\xc4\xb0\xc4\xb1\xc4\xb8\xc5\x89\xc5\xbf",
	    "\xc4\xb0\xc4\xb1\xc4\xb8\xc5\x89\xc5\xbf" },
	{ "\xc5\xb8", "\xc3\xbf" },
	/* Greek and Cyrillic. */
	{ "\xce\x91\xce\xa9\xce\xb1", "\xce\xb1\xcf\x89\xce\xb1" },
	{ "\xd0\x9c\xd0\x98\xd0\xa0 \xd0\x81\xd0\x96",
	    "\xd0\xbc\xd0\xb8\xd1\x80 \xd1\x91\xd0\xb6" },
	/* Three- and four-byte characters and invalid UTF-8 unchanged. */
	{ "\xe2\x80\x93\xf0\x9f\x98\x80", "\xe2\x80\x93\xf0\x9f\x98\x80" },
	{ "\xc3", "\xc3" },
	{ "\xc3" "A", "\xc3" "a" },
	{ "\xc0\x81\xff\x80", "\xc0\x81\xff\x80" },
};

static void
test_imap_match_fold(void)
{
	test_begin("imap_match: fold");
	for (size_t i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]);
	    i++) {
		struct fbuf b;

		fbuf_init(&b, 0);
		imap_match_fold(fold_cases[i].in, strlen(fold_cases[i].in),
		    &b);
		test_assert_idx(b.len == strlen(fold_cases[i].out), i);
		test_assert_idx(strcmp(fbuf_str(&b), fold_cases[i].out) == 0,
		    i);
		fbuf_release(&b);
	}
	test_end();
}

static const struct {
	const char *value, *needle;
	bool hit;
} header_cases[] = {
	{ " Move me\r\n", "move", true },
	{ " Move me\r\n", "", true },
	{ "", "", true },
	{ "", "x", false },
	{ " Move me\r\n", "moved", false },
	/* Folding line breaks are not part of the value. */
	{ " a long\r\n subject\r\n", "long subject", true },
	{ " a long\r\n\tsubject\r\n", "long\tsubject", true },
	/* Encoded words, Q and B, UTF-8 and Latin-1. */
	{ " =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.org>\r\n",
	    "J\xc3\xb6rg M\xc3\xbcller", true },
	{ " =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.org>\r\n",
	    "M\xc3\x9cLLER", true },
	{ " =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.org>\r\n",
	    "j@example", true },
	{ " =?utf-8?b?R3LDvMOfZSBtaXQgQW5oYW5nIOKAkyByw6lzdW3DqQ==?=\r\n",
	    "gr\xc3\xbc\xc3\x9f" "e mit", true },
	{ " =?utf-8?b?R3LDvMOfZSBtaXQgQW5oYW5nIOKAkyByw6lzdW3DqQ==?=\r\n",
	    "anhang \xe2\x80\x93 r\xc3\xa9sum\xc3\xa9", true },
	{ " =?iso-8859-1?q?Gr=FC=DFe?=\r\n", "gr\xc3\xbc\xc3\x9f" "e", true },
	/* Adjacent encoded words, split over a folded line. */
	{ " =?utf-8?q?Gr=C3=BC?=\r\n =?utf-8?q?=C3=9Fe?=\r\n",
	    "Gr\xc3\xbc\xc3\x9f" "e", true },
	/* As written still matches; the decoded text is not invented. */
	{ " =?utf-8?q?Gr=C3=BC?=\r\n", "=?utf-8?q?", true },
	{ " =?utf-8?q?Gr=C3=BC?=\r\n", "gr\xc3\xbc\xc3\x9f", false },
	/* Malformed words stay as written. */
	{ " =?utf-8?x?abc?=\r\n", "abc", true },
	{ " =?utf-8?q?abc\r\n", "gr", false },
	/* 8-bit UTF-8 in the header (RFC 6532). */
	{ " Gr\xc3\xbc\xc3\x9f" "e\r\n", "GR\xc3\x9c\xc3\x9f" "E", true },
};

static void
test_imap_match_header(void)
{
	test_begin("imap_match: header values");
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	    i++) {
		const char *v = header_cases[i].value;

		test_assert_idx(imap_match_header(v, strlen(v),
		    header_cases[i].needle) == header_cases[i].hit, i);
	}
	test_end();
}

int
main(void)
{
	test_imap_match_fold();
	test_imap_match_header();
	return test_exit();
}
