/* libFuzzer target for sequence sets (imap_seqset_parse, RFC 9051
 * section 9 "sequence-set" with RFC 5182's "$").  The input is split at
 * NUL octets into candidate sets.  Checked: "$" is accepted only alone
 * and then has no ranges; a parsed set has ranges whose numbers are
 * 1..4294967295 or '*' (IMAP_SEQ_STAR), and imap_seqset_contains agrees
 * with a direct reading of the ranges for a few values and stars;
 * refused input leaves nothing to free.
 * FUZZ_SOURCES: src/imap/imap_args.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"

static bool
fuzz_in_range(const struct imap_range *r, uint32_t v, uint32_t star)
{
	uint32_t lo = r->lo == IMAP_SEQ_STAR ? star : r->lo;
	uint32_t hi = r->hi == IMAP_SEQ_STAR ? star : r->hi;

	return lo <= hi ? v >= lo && v <= hi : v >= hi && v <= lo;
}

static void
fuzz_one(const char *s)
{
	static const uint32_t probes[] = { 0, 1, 2, 3, 7, 100, 65536,
	    4294967294u, 4294967295u };
	struct imap_seqset set;
	bool dollar = strcmp(s, "$") == 0;

	memset(&set, 0xa5, sizeof(set));
	if (imap_seqset_parse(s, &set) < 0) {
		if (dollar)
			abort();
		return;
	}
	if (set.saved != dollar || (dollar && set.count != 0) ||
	    (!dollar && (set.count == 0 || set.ranges == NULL)) ||
	    (!dollar && strchr(s, '$') != NULL))
		abort();
	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++)
		for (size_t q = 0; q < sizeof(probes) / sizeof(probes[0]);
		    q++) {
			bool want = false;

			for (unsigned i = 0; i < set.count; i++)
				want |= fuzz_in_range(&set.ranges[i], probes[p],
				    probes[q]);
			if (imap_seqset_contains(&set, probes[p], probes[q]) !=
			    want)
				abort();
		}
	imap_seqset_free(&set);
	if (set.count != 0 || set.ranges != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	size_t start = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size; i++)
		if (buf[i] == '\0') {
			fuzz_one(buf + start);
			start = i + 1;
		}
	free(buf);
	return 0;
}
