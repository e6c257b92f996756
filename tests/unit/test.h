/* Tiny unit-test harness (Dovecot lib-test style).
 *   test_begin("name"); test_assert(expr); ...; test_end();
 * and at the end of main(): return test_exit();
 * A failing assertion prints file:line and the expression and marks the
 * current test failed; the summary line is "N passed, N failed". */
#ifndef FERRY_TEST_H
#define FERRY_TEST_H
#include <stdio.h>
#include <string.h>

static int test_failures_total, test_passed, test_failed, test_cur_failed;
static const char *test_cur_name;

static inline void
test_begin(const char *name)
{
	test_cur_name = name;
	test_cur_failed = 0;
}

#define test_assert(expr) \
	do { \
		if (!(expr)) { \
			fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", \
			    __FILE__, __LINE__, test_cur_name, #expr); \
			test_cur_failed++; \
			test_failures_total++; \
		} \
	} while (0)

/* Like test_assert, with the case index for table-driven tests. */
#define test_assert_idx(expr, idx) \
	do { \
		if (!(expr)) { \
			fprintf(stderr, "%s:%d: %s[%d]: assertion failed: %s\n", \
			    __FILE__, __LINE__, test_cur_name, (int)(idx), #expr); \
			test_cur_failed++; \
			test_failures_total++; \
		} \
	} while (0)

#define test_assert_streq(a, b) \
	do { \
		const char *test_a_ = (a), *test_b_ = (b); \
		if (test_a_ == NULL || test_b_ == NULL || strcmp(test_a_, test_b_) != 0) { \
			fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, \
			    __LINE__, test_cur_name, test_a_ ? test_a_ : "(null)", \
			    test_b_ ? test_b_ : "(null)"); \
			test_cur_failed++; \
			test_failures_total++; \
		} \
	} while (0)

static inline void
test_end(void)
{
	if (test_cur_failed == 0)
		test_passed++;
	else
		test_failed++;
	printf("%-60s %s\n", test_cur_name, test_cur_failed ? "FAIL" : "ok");
}

static inline int
test_exit(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
