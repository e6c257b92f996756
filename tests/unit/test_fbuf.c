/* Unit tests for struct fbuf (src/lib/fbuf.c) and the string helpers of
 * src/lib/strutil.c, above all the size and duration syntax that the
 * configuration file relies on. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "test.h"

static void
test_fbuf_basic(void)
{
	struct fbuf b;

	test_begin("fbuf add, NUL termination, binary data");
	fbuf_init(&b, 0);
	test_assert(b.data == NULL && b.len == 0);
	test_assert_streq(fbuf_str(&b), "");
	test_assert(fbuf_add(&b, "", 0) == 0);
	test_assert(b.len == 0 && b.data != NULL && b.data[0] == '\0');
	test_assert(fbuf_adds(&b, "hello") == 0);
	test_assert(fbuf_addc(&b, ' ') == 0);
	test_assert(fbuf_add(&b, "w\0rld", 5) == 0);
	test_assert(b.len == 11 && b.data[11] == '\0');
	test_assert(memcmp(b.data, "hello w\0rld", 11) == 0);
	test_assert(fbuf_addf(&b, "%d-%s", 42, "x") == 0);
	test_assert(b.len == 15 && memcmp(b.data + 11, "42-x", 5) == 0);
	fbuf_consume(&b, 6);
	test_assert(b.len == 9 && b.data[0] == 'w' && b.data[9] == '\0');
	fbuf_consume(&b, 100);
	test_assert(b.len == 0 && b.data[0] == '\0');
	fbuf_release(&b);
	test_assert(b.data == NULL && b.len == 0);
	test_end();
}

static void
test_fbuf_growth(void)
{
	struct fbuf b;
	char chunk[1000];
	size_t i;

	test_begin("fbuf growth");
	memset(chunk, 'a', sizeof(chunk));
	fbuf_init(&b, 0);
	for (i = 0; i < 300; i++)
		test_assert(fbuf_add(&b, chunk, sizeof(chunk)) == 0);
	test_assert(b.len == 300000 && b.cap > b.len && b.data[b.len] == '\0');
	for (i = 0; i < b.len; i++)
		if (b.data[i] != 'a')
			break;
	test_assert(i == b.len);
	fbuf_reset(&b);
	test_assert(b.len == 0 && b.cap >= 300000 && b.data[0] == '\0');
	test_assert(fbuf_addf(&b, "%0500d", 7) == 0 && b.len == 500);
	test_assert(b.data[499] == '7' && b.data[500] == '\0');
	fbuf_release(&b);
	test_end();
}

static void
test_fbuf_max(void)
{
	struct fbuf b;

	test_begin("fbuf max is a recoverable EMSGSIZE");
	fbuf_init(&b, 8);
	test_assert(fbuf_adds(&b, "12345") == 0);
	errno = 0;
	test_assert(fbuf_adds(&b, "6789") == -1 && errno == EMSGSIZE);
	test_assert(b.len == 5 && strcmp(b.data, "12345") == 0);
	test_assert(fbuf_adds(&b, "678") == 0 && b.len == 8);
	test_assert(fbuf_addc(&b, 'x') == -1);
	errno = 0;
	test_assert(fbuf_addf(&b, "%s", "y") == -1 && errno == EMSGSIZE);
	test_assert(b.len == 8 && strcmp(b.data, "12345678") == 0);
	test_assert(fbuf_add(&b, "", 0) == 0);
	test_assert(fbuf_add(&b, "x", SIZE_MAX) == -1);
	fbuf_release(&b);
	test_end();
}

/* fbuf_addf formats into the spare room when it fits, grows and
 * formats again when not; a refused result leaves the buffer as it
 * was.  fbuf_addu writes decimal digits. */
static void
test_fbuf_addf_room(void)
{
	char big[300];
	struct fbuf b;

	test_begin("fbuf addf in place, on growth, at max; addu");
	fbuf_init(&b, 0);
	test_assert(fbuf_adds(&b, "ab") == 0 && b.cap == 64);
	test_assert(fbuf_addf(&b, "%d-%s", 42, "x") == 0);
	test_assert(b.len == 6 && strcmp(b.data, "ab42-x") == 0);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* exactly filling the room leaves no place for the NUL: grows */
	test_assert(fbuf_addf(&b, "%.*s", (int)(b.cap - b.len), big) == 0);
	test_assert(b.len == 64 && b.data[64] == '\0' && b.cap > 64);
	test_assert(fbuf_addf(&b, "%s!", big) == 0);
	test_assert(b.len == 64 + 300 && b.data[b.len - 1] == '!' &&
	    b.data[b.len] == '\0');
	fbuf_reset(&b);
	test_assert(fbuf_addu(&b, 0) == 0 && fbuf_addc(&b, ' ') == 0 &&
	    fbuf_addu(&b, 18446744073709551615ULL) == 0);
	test_assert_streq(b.data, "0 18446744073709551615");
	fbuf_release(&b);
	fbuf_init(&b, 10);
	test_assert(fbuf_adds(&b, "abc") == 0);
	errno = 0;
	test_assert(fbuf_addf(&b, "%s", "12345678") == -1 && errno == EMSGSIZE);
	test_assert(b.len == 3 && strcmp(b.data, "abc") == 0);
	test_assert(fbuf_addu(&b, 12345678) == -1);
	test_assert(b.len == 3 && strcmp(b.data, "abc") == 0);
	/* up to max exactly */
	test_assert(fbuf_addu(&b, 1234567) == 0);
	test_assert(b.len == 10 && strcmp(b.data, "abc1234567") == 0);
	test_assert(fbuf_addu(&b, 0) == -1 && b.len == 10);
	fbuf_release(&b);
	/* digits written in place, at each width, and when the room is
	 * one short of the digits and their NUL (the buffer grows) */
	fbuf_init(&b, 0);
	for (uint64_t v = 1, k = 0; k < 20; k++, v *= 10) {
		char want[48];

		fbuf_reset(&b);
		test_assert(fbuf_addu(&b, v - 1) == 0 &&
		    fbuf_addc(&b, '/') == 0 && fbuf_addu(&b, v) == 0);
		(void)snprintf(want, sizeof(want), "%llu/%llu",
		    (unsigned long long)(v - 1), (unsigned long long)v);
		test_assert_streq(b.data, want);
	}
	fbuf_reset(&b);
	test_assert(fbuf_addf(&b, "%.*s", (int)(b.cap - 3), big) == 0);
	test_assert(b.cap - b.len == 3 && b.len == 61);
	test_assert(fbuf_addu(&b, 123) == 0);
	test_assert(b.len == 64 && b.cap > 64 && b.data[64] == '\0' &&
	    memcmp(b.data + 61, "123", 3) == 0);
	fbuf_release(&b);
	test_end();
}

static void
test_fbuf_reserve(void)
{
	struct fbuf b;
	char *was;

	test_begin("fbuf reserve: room ahead, still a string");
	fbuf_init(&b, 0);
	fbuf_reserve(&b, 255);
	test_assert(b.cap > 255 && b.len == 0);
	test_assert_streq(fbuf_str(&b), "");	/* NUL-terminated at once */
	was = b.data;
	for (int i = 0; i < 255; i++)
		test_assert(fbuf_addc(&b, 'x') == 0);
	test_assert(b.data == was && b.len == 255 && b.data[255] == '\0');
	fbuf_reserve(&b, 100);			/* less than it has: nothing */
	test_assert(b.data == was);
	fbuf_reserve(&b, 1000);
	test_assert(b.cap > 1000 && b.len == 255 && b.data[255] == '\0');
	test_assert(b.data[0] == 'x' && b.data[254] == 'x');
	fbuf_release(&b);
	test_end();
}

static void
test_fbuf_steal(void)
{
	struct fbuf b;
	char *s;

	test_begin("fbuf steal");
	fbuf_init(&b, 0);
	s = fbuf_steal(&b);
	test_assert(s != NULL && s[0] == '\0');
	free(s);
	test_assert(fbuf_adds(&b, "abc") == 0);
	s = fbuf_steal(&b);
	test_assert_streq(s, "abc");
	test_assert(b.data == NULL && b.len == 0 && b.cap == 0);
	free(s);
	test_assert(fbuf_adds(&b, "again") == 0);
	test_assert_streq(fbuf_str(&b), "again");
	fbuf_release(&b);
	test_end();
}

struct num_case {
	const char *in;
	int ret;
	uint64_t want;
};

static const struct num_case size_cases[] = {
	{ "0", 0, 0 },
	{ "1000", 0, 1000 },
	{ "512K", 0, 512 * 1024 },
	{ "512k", 0, 512 * 1024 },
	{ "50M", 0, 50ULL * 1024 * 1024 },
	{ "1G", 0, 1024ULL * 1024 * 1024 },
	{ "7b", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -1, 0 },
	{ "17179869184G", -1, 0 },
	{ "17179869183G", 0, 17179869183ULL << 30 },
	{ "", -1, 0 },
	{ "M", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1MB", -1, 0 },
	{ "1T", -1, 0 },
	{ "1.5M", -1, 0 },
};

static const struct num_case duration_cases[] = {
	{ "90", 0, 90 },
	{ "30s", 0, 30 },
	{ "5m", 0, 300 },
	{ "2h", 0, 7200 },
	{ "5d", 0, 432000 },
	{ "1w", 0, 604800 },
	{ "5D", 0, 432000 },
	{ "0", 0, 0 },
	{ "", -1, 0 },
	{ "d", -1, 0 },
	{ "5y", -1, 0 },
	{ "5dd", -1, 0 },
	{ "-5m", -1, 0 },
	{ "30500568904943w", 0, 30500568904943ULL * 604800 },
	{ "30500568904944w", -1, 0 },
};

static void
test_num_table(const char *name, const struct num_case *cases, size_t n,
    int (*fn)(const char *, uint64_t *))
{
	uint64_t v;

	test_begin(name);
	for (size_t i = 0; i < n; i++) {
		v = 12345;
		test_assert_idx(fn(cases[i].in, &v) == cases[i].ret, i);
		if (cases[i].ret == 0)
			test_assert_idx(v == cases[i].want, i);
	}
	test_end();
}

static void
test_strutil_misc(void)
{
	char buf[8], s[32];
	uint64_t v;

	test_begin("strutil lcpy, case, trim, uint, format_size, hash");
	test_assert(str_lcpy(buf, "abc", sizeof(buf)) == 3);
	test_assert_streq(buf, "abc");
	test_assert(str_lcpy(buf, "abcdefghij", sizeof(buf)) == 10);
	test_assert_streq(buf, "abcdefg");
	test_assert(str_lcpy(buf, "", sizeof(buf)) == 0 && buf[0] == '\0');
	test_assert(str_ieq("PostMaster", "postmaster"));
	test_assert(!str_ieq("post", "postmaster"));
	str_lcpy(s, "MiXeD 1", sizeof(s));
	test_assert_streq(str_lower(s), "mixed 1");
	str_lcpy(s, " \t a b \r\n", sizeof(s));
	test_assert_streq(str_trim(s), "a b");
	str_lcpy(s, "   ", sizeof(s));
	test_assert_streq(str_trim(s), "");
	test_assert(str_parse_uint("10", 0, 100, &v) == 0 && v == 10);
	test_assert(str_parse_uint("101", 0, 100, &v) == -1);
	test_assert(str_parse_uint("4", 5, 100, &v) == -1);
	test_assert(str_parse_uint("1k", 0, 10000, &v) == -1);
	test_assert(str_parse_uint("", 0, 100, &v) == -1);
	str_format_size(s, sizeof(s), 50ULL * 1024 * 1024);
	test_assert_streq(s, "50M");
	str_format_size(s, sizeof(s), 1024);
	test_assert_streq(s, "1K");
	str_format_size(s, sizeof(s), 3ULL << 30);
	test_assert_streq(s, "3G");
	str_format_size(s, sizeof(s), 1000);
	test_assert_streq(s, "1000");
	/* FNV-1a test vectors */
	test_assert(str_hash("") == 0x811c9dc5u);
	test_assert(str_hash("a") == 0xe40c292cu);
	test_assert(str_hash("foobar") == 0xbf9cf968u);
	test_assert(str_hash64(STR_HASH64_INIT, "", 0) ==
	    0xcbf29ce484222325ULL);
	test_assert(str_hash64(STR_HASH64_INIT, "a", 1) ==
	    0xaf63dc4c8601ec8cULL);
	test_assert(str_hash64(str_hash64(STR_HASH64_INIT, "foo", 3), "bar",
	    3) == 0x85944171f73967e8ULL);	/* in pieces: the same */
	test_assert(str_hexval('0') == 0 && str_hexval('9') == 9);
	test_assert(str_hexval('a') == 10 && str_hexval('F') == 15);
	test_assert(str_hexval('g') == -1 && str_hexval('/') == -1 &&
	    str_hexval(':') == -1 && str_hexval('@') == -1 &&
	    str_hexval('\0') == -1 && str_hexval((char)0xff) == -1);
	str_format_size(s, sizeof(s), 0);
	test_assert_streq(s, "0");
	str_format_size(s, sizeof(s), 1536);
	test_assert(str_parse_size(s, &v) == 0 && v == 1536);
	str_date_utc(s, sizeof(s), 0);
	test_assert_streq(s, "Thu, 01 Jan 1970 00:00:00 +0000");
	str_date_utc(s, sizeof(s), 1796470819);
	test_assert_streq(s, "Sat, 05 Dec 2026 11:40:19 +0000");
	test_assert(str_list_has("a@x,b@x", "b@x"));
	test_assert(str_list_has("a@x", "a@x"));
	test_assert(!str_list_has("a@x,b@x", "b@"));
	test_assert(!str_list_has("ab@x", "b@x"));
	test_assert(!str_list_has("", "a@x"));
	test_assert(!str_list_has("a@x,", ""));
	str_format_span(s, sizeof(s), -5);
	test_assert_streq(s, "0s");
	str_format_span(s, sizeof(s), 119);
	test_assert_streq(s, "119s");
	str_format_span(s, sizeof(s), 7199);
	test_assert_streq(s, "119m");
	str_format_span(s, sizeof(s), 7200);
	test_assert_streq(s, "2h");
	str_format_span(s, sizeof(s), 172800);
	test_assert_streq(s, "2d");
	test_end();
}

int
main(void)
{
	test_fbuf_basic();
	test_fbuf_growth();
	test_fbuf_max();
	test_fbuf_addf_room();
	test_fbuf_reserve();
	test_fbuf_steal();
	test_num_table("str_parse_size", size_cases,
	    sizeof(size_cases) / sizeof(size_cases[0]), str_parse_size);
	test_num_table("str_parse_duration", duration_cases,
	    sizeof(duration_cases) / sizeof(duration_cases[0]),
	    str_parse_duration);
	test_strutil_misc();
	return test_exit();
}
