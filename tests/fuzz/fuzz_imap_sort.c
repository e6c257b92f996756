/* libFuzzer target for SORT and THREAD without I/O (imap_sort.h): the
 * input is a base subject, a sort-record blob (decoding must refuse or
 * round-trip), a run of headers separated by NUL octets (their records
 * must round-trip through the blob, then sort and thread without
 * loops), and an IMAP command whose first arguments go through the SORT
 * criteria parser.  The sort criteria (one to three keys, each maybe
 * reversed) and the thread algorithm come from the input's first and
 * last octets: one sort and one thread per input, not every criterion
 * and both algorithms each time (that made it ten times slower, and
 * the fuzzer reaches every choice anyway).
 * FUZZ_SOURCES: src/imap/imap_sort.c src/imap/imap_thread.c src/imap/imap_parser.c src/imap/imap_args.c src/mime src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imap/imap_sort.h"
#include "lib/fbuf.h"

#define FUZZ_SORT_MSGS 64

static const struct imap_parser_limits fuzz_sort_lim = {
	.line_max = 512, .literal_max = 4096, .nonsync_max = 4096,
	.command_max = 8192, .depth_max = 8, .args_max = 128,
};

static void
fuzz_sort_blob(const uint8_t *data, size_t size)
{
	struct imap_msgkey k, k2;
	struct fbuf b;

	if (imap_msgkey_decode(data, size, &k) < 0)
		return;
	fbuf_init(&b, 0);
	imap_msgkey_encode(&k, &b);
	if (imap_msgkey_decode(b.data, b.len, &k2) < 0 ||
	    strcmp(k.subject, k2.subject) != 0 || k.nrefs != k2.nrefs)
		abort();
	imap_msgkey_free(&k);
	imap_msgkey_free(&k2);
	fbuf_release(&b);
}

static void
fuzz_sort_messages(const uint8_t *data, size_t size)
{
	struct imap_sort_item v[FUZZ_SORT_MSGS];
	struct imap_sort_crit c[IMAP_SORT_CRIT_MAX];
	size_t n = 0, off = 0;
	unsigned sel, nc;
	struct fbuf b;

	memset(v, 0, sizeof(v));
	while (off <= size && n < FUZZ_SORT_MSGS) {
		const uint8_t *e = memchr(data + off, '\0', size - off);
		size_t len = e != NULL ? (size_t)(e - data) - off : size - off;
		struct imap_msgkey k;

		imap_msgkey_build(data + off, len, &v[n].key);
		fbuf_init(&b, 0);
		imap_msgkey_encode(&v[n].key, &b);
		if (imap_msgkey_decode(b.data, b.len, &k) < 0)
			abort();
		imap_msgkey_free(&k);
		fbuf_release(&b);
		v[n].seq = (uint32_t)n + 1;
		v[n].uid = (uint32_t)n * 3 + 1;
		v[n].size = len;
		v[n].internaldate = (time_t)(len % 7);
		n++;
		off += len + 1;
	}
	sel = size > 0 ? (unsigned)data[0] << 8 | data[size - 1] : 0;
	nc = sel % 3 + 1;
	for (unsigned i = 0; i < nc; i++) {
		c[i].key = (enum imap_sort_key)((sel >> (2 + 4 * i)) %
		    (IMAP_SORT_DISPLAYTO + 1));
		c[i].reverse = (sel >> (5 + 4 * i) & 1) != 0;
	}
	imap_sort_items(v, n, c, nc);
	fbuf_init(&b, 0);
	imap_thread_build((sel & 1) != 0 ? IMAP_THREAD_ORDEREDSUBJECT :
	    IMAP_THREAD_REFERENCES, v, n, (sel & 2) != 0, &b);
	fbuf_release(&b);
	for (size_t i = 0; i < n; i++)
		imap_msgkey_free(&v[i].key);
}

static void
fuzz_sort_criteria(const uint8_t *data, size_t size)
{
	struct imap_sort_crit c[IMAP_SORT_CRIT_MAX];
	struct imap_parser p;
	const struct imap_command *cmd;
	const char *err;
	unsigned n;
	size_t used;

	imap_parser_init(&p, &fuzz_sort_lim);
	if (imap_parser_feed(&p, (const char *)data, size, &used) ==
	    IMAP_PARSE_DONE) {
		cmd = imap_parser_command(&p);
		for (unsigned i = 0; i < cmd->count && i < 2; i++)
			if (imap_sort_criteria_parse(&cmd->args[i], c, &n,
			    &err) == 0 && (n == 0 || n > IMAP_SORT_CRIT_MAX))
				abort();
	}
	imap_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbuf b;
	bool reply;

	fbuf_init(&b, 0);
	imap_base_subject((const char *)data, size, &b, &reply);
	fbuf_release(&b);
	fuzz_sort_blob(data, size);
	fuzz_sort_messages(data, size);
	fuzz_sort_criteria(data, size);
	return 0;
}
