/* libFuzzer target for the IMAP command reader and the typed argument
 * parsers.  The first input octet picks the chunk size the rest is fed
 * in (1..16, or all at once), so trickled input is fuzzed too.  Every
 * complete command is run through FETCH, SEARCH, STORE, flag-list,
 * sequence-set and date parsing; results must be freeable and the
 * reader must never consume more than it was given.
 * FUZZ_SOURCES: src/imap/imap_parser.c src/imap/imap_args.c src/imap/imap_fetch_args.c src/imap/imap_search_args.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"

static const struct imap_parser_limits fuzz_lim = {
	.line_max = 512, .literal_max = 4096, .nonsync_max = 4096,
	.command_max = 8192, .depth_max = 8, .args_max = 128,
};

static void
fuzz_imap_typed(const struct imap_command *cmd)
{
	struct imap_fetch f;
	struct imap_search s;
	struct imap_store st;
	struct imap_flags fl;
	struct imap_seqset set;
	const char *err, *str;
	int64_t days;
	time_t t;

	if (cmd->tag[0] == '\0' || cmd->name[0] == '\0')
		abort();
	if (cmd->count == 0)
		return;
	if (imap_fetch_parse(cmd->args + 1, cmd->count - 1, &f, &err) == 0)
		imap_fetch_free(&f);
	if (imap_search_parse(cmd->args, cmd->count, &s, &err) ==
	    IMAP_SEARCH_OK) {
		if (s.root == NULL)
			abort();
		imap_search_free(&s);
	}
	if (imap_store_parse(cmd->args + 1, cmd->count - 1, &st, &err) == 0)
		imap_store_free(&st);
	if (imap_flags_parse(cmd->args, cmd->count, true, &fl, &err) == 0)
		imap_flags_free(&fl);
	if (cmd->args[0].type == IMAP_ARG_ATOM &&
	    imap_seqset_parse(cmd->args[0].str, &set) == 0) {
		(void)imap_seqset_contains(&set, 7, 100);
		imap_seqset_free(&set);
	}
	if (imap_arg_astring(&cmd->args[0], &str)) {
		(void)imap_date_parse(str, &days);
		(void)imap_datetime_parse(str, &t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser p;
	size_t chunk, off = 1, used;

	if (size < 1)
		return 0;
	chunk = data[0] % 17;
	imap_parser_init(&p, &fuzz_lim);
	while (off < size) {
		size_t n = chunk == 0 || chunk > size - off ? size - off : chunk;
		enum imap_parse_result r;

		r = imap_parser_feed(&p, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (r == IMAP_PARSE_DONE)
			fuzz_imap_typed(imap_parser_command(&p));
		else if (r == IMAP_PARSE_ERROR) {
			if (imap_parse_error_text(imap_parser_error(&p)) == NULL)
				abort();
			if (imap_parser_fatal(&p))
				break;
		} else if (r == IMAP_PARSE_MORE && used != n)
			abort();
	}
	imap_parser_free(&p);
	return 0;
}
