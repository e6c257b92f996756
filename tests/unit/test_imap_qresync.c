/* Unit tests for SELECT/EXAMINE's parameters (src/imap/imap_qresync_args.c):
 * CONDSTORE and QRESYNC with uidvalidity, modseq, known UIDs and
 * sequence-match data, from command lines read by the real reader, fed
 * whole and one octet at a time (both must give the same result). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "imap/imap_qresync.h"
#include "test.h"

static const struct imap_parser_limits test_lim = {
	.line_max = 8192, .literal_max = 8192, .nonsync_max = 8192,
	.command_max = 65536, .depth_max = 16, .args_max = 512,
};

struct params_case {
	const char *in;		/* the parameter list after the name */
	int ok;			/* 1 parsed, 0 refused */
	bool condstore, qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	bool known, match;
	uint64_t match_count;
};

static const struct params_case cases[] = {
	{ "(CONDSTORE)", 1, true, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2))", 1, true, true, 1, 2, false, false, 0 },
	{ "(qresync (4294967295 9223372036854775807))", 1, true, true,
	  4294967295u, 9223372036854775807ull, false, false, 0 },
	{ "(CONDSTORE QRESYNC (7 8 1:5,9))", 1, true, true, 7, 8, true,
	  false, 0 },
	{ "(QRESYNC (7 8 1:5 (1:3,7 2,4:5,9)) CONDSTORE)", 1, true, true, 7,
	  8, true, true, 4 },
	{ "(QRESYNC (7 8 1:5 (3:1 5:3)))", 1, true, true, 7, 8, true, true,
	  3 },
	{ "(QRESYNC (7 8 1:4294967294 (1:4000000000 1:4000000000)))", 1,
	  true, true, 7, 8, true, true, 4000000000ull },
	{ "()", 0, false, false, 0, 0, false, false, 0 },
	{ "CONDSTORE", 0, false, false, 0, 0, false, false, 0 },
	{ "(CONDSTORE CONDSTORE)", 0, false, false, 0, 0, false, false, 0 },
	{ "(FOO)", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC)", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC ())", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (0 1))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 0))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (4294967296 1))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 9223372036854775808))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 x))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (\"1\" 2))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:*))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 *))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 $))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 0))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 (1 2)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1:3 1:2)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1:3)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1:3 1:3 1)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1:* 1:2)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1:2 $)))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 1:5))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2 1:5 (1 1) 3))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2) QRESYNC (1 2))", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC (1 2) FOO)", 0, false, false, 0, 0, false, false, 0 },
	{ "(QRESYNC 1 2)", 0, false, false, 0, 0, false, false, 0 },
};

static int
test_one(const struct params_case *c, size_t chunk)
{
	struct imap_parser p;
	struct imap_qresync q;
	const struct imap_command *cmd;
	char line[512];
	size_t len, off = 0, used;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	const char *error = NULL;
	bool cs = true, qr = true;
	int ok;

	len = (size_t)snprintf(line, sizeof(line), "t SELECT INBOX %s\r\n",
	    c->in);
	imap_parser_init(&p, &test_lim);
	while (off < len && r == IMAP_PARSE_MORE) {
		r = imap_parser_feed(&p, line + off, chunk ? chunk : len - off,
		    &used);
		off += used;
	}
	if (r != IMAP_PARSE_DONE) {
		imap_parser_free(&p);
		return -1;
	}
	cmd = imap_parser_command(&p);
	ok = cmd->count == 2 && imap_select_params_parse(&cmd->args[1], &cs,
	    &qr, &q, &error) == 0;
	if (!ok) {
		test_assert(error != NULL && !cs && !qr);
	} else {
		test_assert(cs == c->condstore && qr == c->qresync);
		if (qr) {
			test_assert(q.uidvalidity == c->uidvalidity);
			test_assert(q.modseq == c->modseq);
			test_assert(q.has_known_uids == c->known);
			test_assert(q.has_match == c->match);
			test_assert(q.match_count == c->match_count);
			imap_qresync_free(&q);
		}
	}
	imap_parser_free(&p);
	return ok;
}

static void
test_params(void)
{
	test_begin("select params");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int whole = test_one(&cases[i], 0);
		int trickled = test_one(&cases[i], 1);

		test_assert_idx(whole == cases[i].ok, i);
		test_assert_idx(trickled == whole, i);
	}
	test_end();
}

static void
test_count(void)
{
	struct imap_seqset set;

	test_begin("seqset count");
	test_assert(imap_seqset_parse("1:3,7,9:8", &set) == 0);
	test_assert(imap_seqset_count(&set) == 6);
	imap_seqset_free(&set);
	test_assert(imap_seqset_parse("1:4294967294,4294967294:1", &set) == 0);
	test_assert(imap_seqset_count(&set) == 2ull * 4294967294u);
	imap_seqset_free(&set);
	test_end();
}

int
main(void)
{
	test_params();
	test_count();
	return test_exit();
}
