/* libFuzzer target for SELECT/EXAMINE's parameter list (CONDSTORE,
 * QRESYNC with known UIDs and sequence-match data): IMAP command lines
 * go through the real reader (chunk size from the first octet) and
 * every argument of every complete command is tried as the parameter
 * list.  A parsed QRESYNC must hold no '*', equal match counts, and be
 * freeable; a refusal must leave nothing to free.
 * FUZZ_SOURCES: src/imap/imap_parser.c src/imap/imap_args.c src/imap/imap_qresync_args.c src/lib */
#include <stdint.h>
#include <stdlib.h>

#include "imap/imap_parser.h"
#include "imap/imap_qresync.h"

static const struct imap_parser_limits fuzz_lim = {
	.line_max = 1024, .literal_max = 1024, .nonsync_max = 1024,
	.command_max = 8192, .depth_max = 8, .args_max = 128,
};

static void
fuzz_check_set(const struct imap_seqset *set)
{
	for (unsigned i = 0; i < set->count; i++)
		if (set->ranges[i].lo == IMAP_SEQ_STAR ||
		    set->ranges[i].hi == IMAP_SEQ_STAR)
			abort();
}

static void
fuzz_params(const struct imap_command *cmd)
{
	for (unsigned i = 0; i < cmd->count; i++) {
		struct imap_qresync q;
		const char *err = NULL;
		bool cs, qr;

		if (imap_select_params_parse(&cmd->args[i], &cs, &qr, &q,
		    &err) < 0) {
			if (err == NULL || cs || qr)
				abort();
			continue;
		}
		if (!cs)
			abort();
		if (!qr)
			continue;
		if (q.uidvalidity == 0 || q.modseq == 0)
			abort();
		fuzz_check_set(&q.known_uids);
		fuzz_check_set(&q.match_seqs);
		fuzz_check_set(&q.match_uids);
		if (q.has_match && (imap_seqset_count(&q.match_seqs) !=
		    imap_seqset_count(&q.match_uids) || !q.has_known_uids))
			abort();
		imap_qresync_free(&q);
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
		off += used;
		if (r == IMAP_PARSE_DONE)
			fuzz_params(imap_parser_command(&p));
		else if (r == IMAP_PARSE_ERROR && imap_parser_fatal(&p))
			break;
		else if (r == IMAP_PARSE_MORE && used != n)
			abort();
	}
	imap_parser_free(&p);
	return 0;
}
