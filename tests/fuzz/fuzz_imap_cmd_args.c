/* libFuzzer target for the LIST/LSUB, ID and GETQUOTA/SETQUOTA argument
 * parsers (src/imap/imap_cmd_args.c): command lines go through the real
 * reader (chunk size from the first octet, whose top bit also picks
 * UTF-8 names), and the arguments of every complete command are parsed
 * as each of those commands, whole and from every offset.  Checked: the
 * LIST result keeps RFC 5258's rules (RECURSIVEMATCH only with another
 * criterion, selection options implying their return options, LSUB
 * without options, no patterns for LIST "" ""), ID pair counts stay
 * within RFC 2971's 30, and everything is freeable on every path.
 * (No FUZZ_SOURCES line: LIST patterns decode through imap_reply.c and
 * STATUS items through imap_cmd_folder.c, which need the whole
 * library.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_cmd_args.h"
#include "imap/imap_parser.h"

static const struct imap_parser_limits fuzz_lim = {
	.line_max = 2048, .literal_max = 1024, .nonsync_max = 1024,
	.command_max = 8192, .depth_max = 8, .args_max = 128,
};

static void
fuzz_list(const struct imap_arg *args, unsigned count, bool lsub, bool utf8)
{
	struct imap_list_args l;
	const char *err = NULL;
	bool delim;

	if (imap_list_args_parse(args, count, lsub, utf8, &l, &delim,
	    &err) < 0) {
		if (err == NULL)
			abort();
		imap_list_args_free(&l);
		return;
	}
	if (l.npatterns > IMAP_LIST_PATTERNS_MAX || l.lsub != lsub ||
	    (delim && l.npatterns != 0) ||
	    (lsub && (l.sel != 0 || l.ret != 0)) ||
	    ((l.sel & IMAP_LSEL_RECURSIVE) &&
	    !(l.sel & (IMAP_LSEL_SUBSCRIBED | IMAP_LSEL_SPECIAL))) ||
	    ((l.sel & IMAP_LSEL_SUBSCRIBED) &&
	    !(l.ret & IMAP_LRET_SUBSCRIBED)) ||
	    ((l.sel & IMAP_LSEL_SPECIAL) && !(l.ret & IMAP_LRET_SPECIAL)) ||
	    (!(l.ret & IMAP_LRET_STATUS) && l.status_items != 0))
		abort();
	for (unsigned i = 0; i < l.npatterns; i++)
		if (l.patterns[i] == NULL || l.patterns[i][0] == '\0')
			abort();
	imap_list_args_free(&l);
}

static void
fuzz_other(const struct imap_arg *args, unsigned count)
{
	const char *err = NULL, *root = NULL;
	unsigned n = 99;

	if (imap_id_args_check(args, count, &n, &err) == 0) {
		if (n > IMAP_ID_PAIRS_MAX || (n > 0 && args[0].count != 2 * n))
			abort();
	} else if (err == NULL || n != 0)
		abort();
	err = NULL;
	if (imap_getquota_args(args, count, &root, &err) == 0) {
		if (root == NULL)
			abort();
	} else if (err == NULL)
		abort();
	err = NULL;
	root = NULL;
	if (imap_setquota_args(args, count, &root, &err) == 0) {
		if (root == NULL || args[1].count % 2 != 0)
			abort();
	} else if (err == NULL)
		abort();
}

static void
fuzz_command(const struct imap_command *cmd, bool utf8)
{
	for (unsigned off = 0; off <= cmd->count; off++) {
		const struct imap_arg *a = cmd->args + off;
		unsigned n = cmd->count - off;

		fuzz_list(a, n, false, utf8);
		fuzz_list(a, n, true, utf8);
		fuzz_other(a, n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser p;
	size_t chunk, off = 1, used;
	bool utf8;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x7f) % 17;
	utf8 = (data[0] & 0x80) != 0;
	imap_parser_init(&p, &fuzz_lim);
	while (off < size) {
		size_t n = chunk == 0 || chunk > size - off ? size - off : chunk;
		enum imap_parse_result r;

		r = imap_parser_feed(&p, (const char *)data + off, n, &used);
		off += used;
		if (r == IMAP_PARSE_DONE)
			fuzz_command(imap_parser_command(&p), utf8);
		else if (r == IMAP_PARSE_ERROR && imap_parser_fatal(&p))
			break;
		else if (r == IMAP_PARSE_MORE && used != n)
			abort();
	}
	imap_parser_free(&p);
	return 0;
}
