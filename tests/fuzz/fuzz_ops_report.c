/* libFuzzer target for the mail problem reports' file format
 * (ops_report.h): any bytes parse into well-formed reports only, and
 * what parses formats and parses back to the same reports.
 * FUZZ_SOURCES: src/ops/ops_report_fmt.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_report.h"

static void
fuzz_same(const struct ops_report *a, const struct ops_report *b)
{
	if (a->time != b->time || strcmp(a->reporter, b->reporter) != 0 ||
	    strcmp(a->when, b->when) != 0 ||
	    strcmp(a->address, b->address) != 0 ||
	    strcmp(a->what, b->what) != 0 || strcmp(a->facts, b->facts) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ops_report_list l, again;
	struct fbuf out;

	ops_report_parse((const char *)data, size, &l);
	fbuf_init(&out, 0);
	for (size_t i = 0; i < l.n; i++)
		ops_report_format(&l.v[i], &out);
	ops_report_parse(out.data, out.len, &again);
	if (again.n != l.n)
		abort();
	for (size_t i = 0; i < l.n; i++)
		fuzz_same(&l.v[i], &again.v[i]);
	ops_report_list_free(&again);
	ops_report_list_free(&l);
	fbuf_release(&out);
	return 0;
}
