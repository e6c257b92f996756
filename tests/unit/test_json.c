/* The JSON writer: layout (the CLI's separators and one-item-a-line
 * arrays) and string escaping, including invalid UTF-8, checked against
 * exact expected text, and every byte value checked to come out escaped
 * or as printable ASCII. */
#include <stdint.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/json.h"
#include "test.h"

static void
test_json_layout(void)
{
	struct fbuf b;
	struct json j;

	test_begin("json layout");
	fbuf_init(&b, 0);
	json_init(&j, &b);
	json_object_begin(&j);
	json_key(&j, "id");
	json_str(&j, "abc");
	json_key(&j, "n");
	json_int(&j, -5);
	json_key(&j, "u");
	json_uint(&j, UINT64_MAX);
	json_key(&j, "ok");
	json_bool(&j, true);
	json_key(&j, "none");
	json_str(&j, NULL);
	json_key(&j, "list");
	json_array_begin(&j);
	json_str(&j, "a");
	json_object_begin(&j);
	json_object_end(&j);
	json_array_end(&j);
	json_object_end(&j);
	test_assert(json_done(&j));
	test_assert_streq(b.data, "{\"id\": \"abc\", \"n\": -5, "
	    "\"u\": 18446744073709551615, \"ok\": true, \"none\": null, "
	    "\"list\": [\"a\", {}]}");
	fbuf_reset(&b);
	json_init(&j, &b);
	json_array_begin_lines(&j);
	json_array_end(&j);
	test_assert_streq(b.data, "[]");
	fbuf_reset(&b);
	json_array_begin_lines(&j);
	json_object_begin(&j);
	json_key(&j, "d");
	json_str(&j, "x");
	json_object_end(&j);
	json_object_begin(&j);
	json_object_end(&j);
	json_array_end(&j);
	test_assert_streq(b.data, "[\n  {\"d\": \"x\"},\n  {}\n]");
	test_assert(json_done(&j));
	fbuf_release(&b);
	test_end();
}

static void
test_json_escape(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\n\r\t\x01\x1f\x7f", 6, "\"\\u000a\\u000d\\u0009\\u0001"
		    "\\u001f\\u007f\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\"" },
		{ "\xe2\x82\xac \xf0\x9f\x93\xa7", 8,
		    "\"\xe2\x82\xac \xf0\x9f\x93\xa7\"" },
		{ "\xff", 1, "\"\\ufffd\"" },
		{ "\xc3", 1, "\"\\ufffd\"" },			/* truncated */
		{ "\xc3(", 2, "\"\\ufffd(\"" },			/* bad continuation */
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },		/* overlong */
		{ "\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"" },	/* overlong */
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },	/* surrogate */
		{ "\xf4\x90\x80\x80", 4,
		    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },	/* > U+10FFFF */
		{ "", 0, "\"\"" },
	};
	struct fbuf b;

	test_begin("json string escaping");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fbuf_reset(&b);
		json_escape(&b, cases[i].in, cases[i].len);
		test_assert_idx(strcmp(b.data, cases[i].out) == 0, i);
	}
	fbuf_release(&b);
	test_end();
}

/* Every byte value in every position: the output never holds a raw
 * control byte or an unescaped quote inside the literal. */
static void
test_json_escape_all_bytes(void)
{
	char in[3];
	struct fbuf b;

	test_begin("json escaping of every byte");
	fbuf_init(&b, 0);
	for (int c = 0; c < 256; c++) {
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'z';
		fbuf_reset(&b);
		json_escape(&b, in, 3);
		test_assert_idx(b.data[0] == '"' && b.data[b.len - 1] == '"',
		    c);
		for (size_t k = 1; k + 1 < b.len; k++) {
			unsigned char o = (unsigned char)b.data[k];

			test_assert_idx(o >= 0x20 && o != 0x7f && o < 0x80, c);
			if (o == '"')
				test_assert_idx(b.data[k - 1] == '\\', c);
		}
	}
	fbuf_release(&b);
	test_end();
}

int
main(void)
{
	test_json_layout();
	test_json_escape();
	test_json_escape_all_bytes();
	return test_exit();
}
