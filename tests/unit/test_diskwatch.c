/* Unit tests for the min_free_space syntax and the "below the minimum"
 * decision of src/lib/diskwatch.c (the watch itself runs in
 * tests/integration/test_full_disk.py on a real small filesystem). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/diskwatch.h"
#include "test.h"

struct parse_case {
	const char *in;
	int ret;
	uint64_t bytes;
	unsigned pct;
};

static const struct parse_case parse_cases[] = {
	{ "0", 0, 0, 0 },
	{ "4096", 0, 4096, 0 },
	{ "500M", 0, 500ULL << 20, 0 },
	{ "2G", 0, 2ULL << 30, 0 },
	{ "0%", 0, 0, 0 },
	{ "1%", 0, 0, 1 },
	{ "99%", 0, 0, 99 },
	{ "100%", -1, 0, 0 },
	{ "%", -1, 0, 0 },
	{ "-1%", -1, 0, 0 },
	{ "1.5%", -1, 0, 0 },
	{ "5 %", -1, 0, 0 },
	{ "12345678901234567890%", -1, 0, 0 },
	{ "", -1, 0, 0 },
	{ "M", -1, 0, 0 },
	{ "10Q", -1, 0, 0 },
	{ "99999999999999999999G", -1, 0, 0 },
};

static void
test_diskwatch_parse(void)
{
	test_begin("diskwatch min_free_space syntax");
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	    i++) {
		const struct parse_case *pc = &parse_cases[i];
		uint64_t bytes = 7;
		unsigned pct = 7;
		int r = diskwatch_parse(pc->in, &bytes, &pct);

		test_assert_idx(r == pc->ret, i);
		if (r == 0)
			test_assert_idx(bytes == pc->bytes && pct == pc->pct,
			    i);
	}
	test_end();
}

static void
test_diskwatch_below(void)
{
	const uint64_t gib = 1ULL << 30;

	test_begin("diskwatch below the minimum");
	/* bytes */
	test_assert(!diskwatch_below(10 << 20, gib, 0, 5 << 20, 0));
	test_assert(diskwatch_below(4 << 20, gib, 0, 5 << 20, 0));
	test_assert(!diskwatch_below(10 << 20, gib, 5 << 20, 5 << 20, 0));
	test_assert(diskwatch_below(10 << 20, gib, (5 << 20) + 1, 5 << 20, 0));
	/* a percentage of the filesystem, without overflow near 2^64 */
	test_assert(diskwatch_below(gib / 100 - 1, gib, 0, 0, 1));
	test_assert(!diskwatch_below(gib / 100 + 1, gib, 0, 0, 1));
	test_assert(!diskwatch_below(UINT64_MAX / 2, UINT64_MAX, 0, 0, 49));
	test_assert(diskwatch_below(UINT64_MAX / 2, UINT64_MAX, 0, 0, 51));
	/* no minimum: only a full filesystem, or a need it cannot meet */
	test_assert(!diskwatch_below(1, gib, 0, 0, 0));
	test_assert(diskwatch_below(0, gib, 0, 0, 0));
	test_assert(diskwatch_below(100, gib, 100, 0, 0));
	test_assert(diskwatch_below(100, gib, UINT64_MAX, 0, 0));
	test_end();
}

int
main(void)
{
	test_diskwatch_parse();
	test_diskwatch_below();
	return test_exit();
}
