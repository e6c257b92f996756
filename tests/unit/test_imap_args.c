/* Unit tests for the typed IMAP arguments (src/imap/imap_args.c,
 * imap_fetch_args.c, imap_search_args.c): sequence sets, dates, flags,
 * STORE, FETCH items and SEARCH keys, each from a command line read by
 * the real reader (fed whole and one octet at a time, which must give
 * the same arguments) and rendered back to text for the comparison. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "lib/fbuf.h"
#include "test.h"

static const struct imap_parser_limits test_lim = {
	.line_max = 8192, .literal_max = 8192, .nonsync_max = 8192,
	.command_max = 65536, .depth_max = 16, .args_max = 512,
};

/* Reads "t X " + args; chunk 1 trickles.  The parser is left holding
 * the command. */
static const struct imap_command *
test_read(struct imap_parser *p, const char *args, size_t chunk)
{
	char line[4096];
	size_t len, off = 0, used;
	enum imap_parse_result r = IMAP_PARSE_MORE;

	len = (size_t)snprintf(line, sizeof(line), "t X %s\r\n", args);
	imap_parser_init(p, &test_lim);
	while (off < len) {
		size_t n = chunk ? chunk : len - off;

		r = imap_parser_feed(p, line + off, n, &used);
		off += used;
		if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR)
			break;
	}
	return r == IMAP_PARSE_DONE ? imap_parser_command(p) : NULL;
}

/* ---- sequence sets ---- */

struct seq_case {
	const char *in;
	bool ok;
	uint32_t star;
	const char *member;	/* numbers 1..20 in the set, as "1,3," */
};

static const struct seq_case seq_cases[] = {
	{ "1", true, 10, "1," },
	{ "2:4", true, 10, "2,3,4," },
	{ "4:2", true, 10, "2,3,4," },
	{ "1,3,5:6", true, 10, "1,3,5,6," },
	{ "8:*", true, 10, "8,9,10," },
	{ "*:8", true, 10, "8,9,10," },
	{ "*", true, 12, "12," },
	{ "15:*", true, 12, "12,13,14,15," },
	{ "1:*", true, 0, "1," },	/* no messages: nothing asks */
	{ "4294967294", true, 10, "" },
	{ "$", true, 10, "" },
	{ "0", false, 0, NULL },
	{ "01", false, 0, NULL },
	{ "1:0", false, 0, NULL },
	{ "4294967295", true, 10, "" },	/* the largest nz-number */
	{ "18:4294967295", true, 10, "18,19,20," },
	{ "4294967295:*", true, 19, "19,20," },
	{ "4294967296", false, 0, NULL },
	{ "99999999999999999999999", false, 0, NULL },
	{ "", false, 0, NULL },
	{ ",", false, 0, NULL },
	{ "1,", false, 0, NULL },
	{ ",1", false, 0, NULL },
	{ "1,,2", false, 0, NULL },
	{ "1:", false, 0, NULL },
	{ ":1", false, 0, NULL },
	{ "1:2:3", false, 0, NULL },
	{ "-1", false, 0, NULL },
	{ "+1", false, 0, NULL },
	{ "1 ", false, 0, NULL },
	{ "$,1", false, 0, NULL },
	{ "**", false, 0, NULL },
};

static void
test_seqset(void)
{
	test_begin("imap args: sequence sets");
	for (size_t i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		struct imap_seqset set;
		char got[256] = "";
		size_t len = 0;

		int r = imap_seqset_parse(c->in, &set);
		test_assert_idx((r == 0) == c->ok, i);
		if (r < 0 || !c->ok)
			continue;
		for (uint32_t v = 1; v <= 20; v++)
			if (imap_seqset_contains(&set, v, c->star))
				len += (size_t)snprintf(got + len,
				    sizeof(got) - len, "%u,", v);
		if (strcmp(got, c->member) != 0)
			fprintf(stderr, "seq case %zu: %s\n", i, got);
		test_assert_idx(strcmp(got, c->member) == 0, i);
		test_assert_idx(set.saved == (strcmp(c->in, "$") == 0), i);
		imap_seqset_free(&set);
	}
	test_end();
}

/* ---- dates ---- */

static void
test_dates(void)
{
	static const struct {
		const char *in;
		int ok;
		int64_t days;
	} dates[] = {
		{ "1-Jan-1970", 1, 0 }, { "01-jan-1970", 1, 0 },
		{ "2-Jan-1970", 1, 1 }, { "29-Feb-2000", 1, 11016 },
		{ "5-Dec-2026", 1, 20792 }, { "31-Dec-1969", 1, -1 },
		{ "29-Feb-1900", 0, 0 }, { "30-Feb-2000", 0, 0 },
		{ "0-Jan-2000", 0, 0 }, { "32-Jan-2000", 0, 0 },
		{ "1-Foo-2000", 0, 0 }, { "1-Jan-20", 0, 0 },
		{ "1-Jan-20000", 0, 0 }, { "1 Jan 2000", 0, 0 },
		{ "", 0, 0 }, { "123-Jan-2000", 0, 0 }, { "-1-Jan-2000", 0, 0 },
	};
	static const struct {
		const char *in;
		int ok;
		int64_t t;
	} times[] = {
		{ "01-Jan-1970 00:00:00 +0000", 1, 0 },
		{ " 1-Jan-1970 01:00:00 +0100", 1, 0 },
		{ "05-Dec-2026 01:02:03 -0130", 1, 1796432523 + 5400 },
		{ "1-Jan-1970 00:00:00 +0000", 0, 0 },
		{ "01-Jan-1970 24:00:00 +0000", 0, 0 },
		{ "01-Jan-1970 00:60:00 +0000", 0, 0 },
		{ "01-Jan-1970 00:00:00 0000", 0, 0 },
		{ "01-Jan-1970 00:00:00 +0000 ", 0, 0 },
		{ "01-Jan-1970 00:00 +0000", 0, 0 },
		{ "01-Jan-1970", 0, 0 },
	};
	char buf[64];

	test_begin("imap args: date and date-time");
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		int64_t d = -12345;

		test_assert_idx((imap_date_parse(dates[i].in, &d) == 0) ==
		    dates[i].ok, i);
		if (dates[i].ok)
			test_assert_idx(d == dates[i].days, i);
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		time_t t = 0;

		test_assert_idx((imap_datetime_parse(times[i].in, &t) == 0) ==
		    times[i].ok, i);
		if (times[i].ok)
			test_assert_idx((int64_t)t == times[i].t, i);
	}
	imap_datetime_format(1796432523, buf, sizeof(buf));
	test_assert_streq(buf, "05-Dec-2026 01:02:03 +0000");
	test_end();
}

/* ---- flags and STORE ---- */

static void
test_render_flags(struct fbuf *b, const struct imap_flags *f)
{
	for (unsigned bit = 1; bit <= IMAP_FLAG_RECENT; bit <<= 1)
		if (f->system & bit)
			fbuf_addf(b, "%s ", imap_flag_name(bit));
	for (unsigned i = 0; i < f->nkeywords; i++)
		fbuf_addf(b, "%s ", f->keywords[i]);
}

struct store_case {
	const char *in;
	const char *out;	/* NULL: refused */
};

static const struct store_case store_cases[] = {
	{ "FLAGS (\\Seen)", "= \\Seen " },
	{ "+FLAGS (\\seen \\DELETED $Junk)", "+ \\Seen \\Deleted $Junk " },
	{ "-FLAGS.SILENT \\Flagged \\Answered", "-s \\Answered \\Flagged " },
	{ "+FLAGS ()", "+ " },
	{ "FLAGS (a A b)", "= a b " },
	{ "(UNCHANGEDSINCE 12) +FLAGS (\\Draft)", "+u12 \\Draft " },
	{ "(UNCHANGEDSINCE 0) FLAGS ()", "=u0 " },
	{ "+FLAGS (\\Recent)", NULL },
	{ "+FLAGS (\\Foo)", NULL },
	{ "+FLAGS (\"quoted\")", NULL },
	{ "+FLAGS (a*)", NULL },
	{ "+FLAGS (a])", NULL },
	{ "+FLAGS ((\\Seen))", NULL },
	{ "+FLAGS", NULL },
	{ "*FLAGS (\\Seen)", NULL },
	{ "+FLAGS.LOUD (\\Seen)", NULL },
	{ "BODY (\\Seen)", NULL },
	{ "(UNCHANGEDSINCE x) FLAGS ()", NULL },
	{ "(CHANGEDSINCE 1) FLAGS ()", NULL },
	{ "(UNCHANGEDSINCE 1)", NULL },
};

static void
test_store(void)
{
	test_begin("imap args: STORE (whole and trickled)");
	for (size_t i = 0; i < sizeof(store_cases) / sizeof(store_cases[0]);
	    i++) {
		for (size_t chunk = 0; chunk <= 1; chunk++) {
			struct imap_parser p;
			const struct imap_command *cmd =
			    test_read(&p, store_cases[i].in, chunk);
			struct imap_store st;
			const char *err = NULL;
			struct fbuf b;

			test_assert_idx(cmd != NULL, i);
			if (cmd == NULL) {
				imap_parser_free(&p);
				continue;
			}
			int r = imap_store_parse(cmd->args, cmd->count, &st,
			    &err);
			test_assert_idx((r == 0) == (store_cases[i].out != NULL),
			    i);
			if (r == 0) {
				fbuf_init(&b, 0);
				fbuf_adds(&b, st.op == IMAP_STORE_SET ? "=" :
				    st.op == IMAP_STORE_ADD ? "+" : "-");
				if (st.silent)
					fbuf_addc(&b, 's');
				if (st.has_unchangedsince)
					fbuf_addf(&b, "u%llu", (unsigned long
					    long)st.unchangedsince);
				fbuf_addc(&b, ' ');
				test_render_flags(&b, &st.flags);
				test_assert_streq(fbuf_str(&b),
				    store_cases[i].out);
				fbuf_release(&b);
				imap_store_free(&st);
			} else
				test_assert_idx(err != NULL, i);
			imap_parser_free(&p);
		}
	}
	test_end();
}

/* ---- FETCH ---- */

static const char *const fetch_types[] = {
	[IMAP_FETCH_FLAGS] = "flags", [IMAP_FETCH_UID] = "uid",
	[IMAP_FETCH_INTERNALDATE] = "date", [IMAP_FETCH_RFC822_SIZE] = "size",
	[IMAP_FETCH_ENVELOPE] = "env", [IMAP_FETCH_BODYSTRUCTURE] = "bs",
	[IMAP_FETCH_BODY] = "body", [IMAP_FETCH_SECTION] = "sec",
	[IMAP_FETCH_BINARY] = "bin", [IMAP_FETCH_BINARY_SIZE] = "binsize",
	[IMAP_FETCH_MODSEQ] = "modseq",
};

struct fetch_case {
	const char *in;
	const char *out;	/* NULL: refused */
};

static const struct fetch_case fetch_cases[] = {
	{ "FLAGS", "flags:FLAGS" },
	{ "(uid flags)", "uid:UID flags:FLAGS" },
	{ "FAST", "flags:FLAGS date:INTERNALDATE size:RFC822.SIZE" },
	{ "all", "flags:FLAGS date:INTERNALDATE size:RFC822.SIZE "
	    "env:ENVELOPE" },
	{ "FULL", "flags:FLAGS date:INTERNALDATE size:RFC822.SIZE "
	    "env:ENVELOPE body:BODY" },
	{ "(BODYSTRUCTURE BODY)", "bs:BODYSTRUCTURE body:BODY" },
	{ "BODY[]", "sec:BODY[] SEEN" },
	{ "BODY.PEEK[]", "sec:BODY[]!" },
	{ "body.peek[header]", "sec:BODY[HEADER]!" },
	{ "BODY[TEXT]<0.100>", "sec:BODY[TEXT]<0.100> SEEN" },
	{ "BODY[1.2.3]", "sec:BODY[1.2.3] SEEN" },
	{ "BODY[1.MIME]", "sec:BODY[1.MIME] SEEN" },
	{ "BODY[2.header]", "sec:BODY[2.HEADER] SEEN" },
	{ "(BODY.PEEK[HEADER.FIELDS (From to \"X-Y\")])",
	    "sec:BODY[HEADER.FIELDS (FROM TO X-Y)]!" },
	{ "BODY.PEEK[1.HEADER.FIELDS.NOT (Received)]<10.20>",
	    "sec:BODY[1.HEADER.FIELDS.NOT (RECEIVED)]<10.20>!" },
	{ "RFC822", "sec:RFC822 SEEN" },
	{ "rfc822.header", "sec:RFC822.HEADER!" },
	{ "RFC822.TEXT", "sec:RFC822.TEXT SEEN" },
	{ "BINARY[]", "bin:BINARY[] SEEN" },
	{ "BINARY.PEEK[1.2]<0.5>", "bin:BINARY[1.2]<0.5>!" },
	{ "BINARY.SIZE[1]", "binsize:BINARY.SIZE[1]!" },
	{ "(FLAGS MODSEQ) (CHANGEDSINCE 5)", "flags:FLAGS modseq:MODSEQ "
	    "cs5" },
	{ "FLAGS (CHANGEDSINCE 5 VANISHED)", "flags:FLAGS cs5 vanished" },
	{ "()", NULL },
	{ "FOO", NULL },
	{ "\"FLAGS\"", NULL },
	{ "(FLAGS (UID))", NULL },
	{ "BODY[MIME]", NULL },
	{ "BODY[0]", NULL },
	{ "BODY[01]", NULL },
	{ "BODY[1.]", NULL },
	{ "BODY[.1]", NULL },
	{ "BODY[HEADERS]", NULL },
	{ "BODY[HEADER.FIELDS]", NULL },
	{ "BODY[HEADER.FIELDS ()]", NULL },
	{ "BODY[HEADER.FIELDS (a:b)]", NULL },
	{ "BODY[HEADER.FIELDS (a  b)]", NULL },
	{ "BODY[HEADER.FIELDS (a b )]", NULL },
	{ "BODY[]<0.0>", NULL },
	{ "BODY[]<0>", NULL },
	{ "BODY[]<.5>", NULL },
	{ "BODY[]<1.5>x", NULL },
	{ "BODY[]<99999999999.5>", NULL },
	{ "BINARY[TEXT]", NULL },
	{ "BINARY.SIZE[1]<0.1>", NULL },
	{ "BODY[4294967295]", NULL },
	{ "FLAGS (VANISHED)", NULL },
	{ "FLAGS (CHANGEDSINCE 0)", NULL },
	{ "FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", NULL },
	{ "FLAGS UID", NULL },
	{ "FLAGS (FOO 1)", NULL },
	{ "ALL FAST", NULL },
};

static void
test_fetch(void)
{
	test_begin("imap args: FETCH items (whole and trickled)");
	for (size_t i = 0; i < sizeof(fetch_cases) / sizeof(fetch_cases[0]);
	    i++) {
		for (size_t chunk = 0; chunk <= 1; chunk++) {
			struct imap_parser p;
			const struct imap_command *cmd =
			    test_read(&p, fetch_cases[i].in, chunk);
			struct imap_fetch f;
			const char *err = NULL;
			struct fbuf b;

			test_assert_idx(cmd != NULL, i);
			if (cmd == NULL) {
				imap_parser_free(&p);
				continue;
			}
			int r = imap_fetch_parse(cmd->args, cmd->count, &f,
			    &err);
			test_assert_idx((r == 0) == (fetch_cases[i].out != NULL),
			    i);
			if (r < 0) {
				test_assert_idx(err != NULL, i);
				imap_parser_free(&p);
				continue;
			}
			fbuf_init(&b, 0);
			for (unsigned j = 0; j < f.count; j++) {
				const struct imap_fetch_item *it = &f.items[j];

				fbuf_addf(&b, "%s%s:%s", j ? " " : "",
				    fetch_types[it->type], it->name);
				if (it->partial)
					fbuf_addf(&b, "<%llu.%llu>",
					    (unsigned long long)it->offset,
					    (unsigned long long)it->count);
				if (it->peek)
					fbuf_addc(&b, '!');
			}
			if (f.sets_seen)
				fbuf_adds(&b, " SEEN");
			if (f.has_changedsince)
				fbuf_addf(&b, " cs%llu",
				    (unsigned long long)f.changedsince);
			if (f.vanished)
				fbuf_adds(&b, " vanished");
			test_assert_streq(fbuf_str(&b), fetch_cases[i].out);
			fbuf_release(&b);
			imap_fetch_free(&f);
			imap_parser_free(&p);
		}
	}
	test_end();
}

/* ---- SEARCH ---- */

static const char *const search_ops[] = {
	[IMAP_SEARCH_ALL] = "ALL", [IMAP_SEARCH_AND] = "AND",
	[IMAP_SEARCH_OR] = "OR", [IMAP_SEARCH_NOT] = "NOT",
	[IMAP_SEARCH_SEQSET] = "SEQ", [IMAP_SEARCH_UID] = "UID",
	[IMAP_SEARCH_FLAGS] = "FLAGS", [IMAP_SEARCH_UNFLAGS] = "UNFLAGS",
	[IMAP_SEARCH_KEYWORD] = "KW", [IMAP_SEARCH_UNKEYWORD] = "UNKW",
	[IMAP_SEARCH_NEW] = "NEW", [IMAP_SEARCH_OLD] = "OLD",
	[IMAP_SEARCH_BEFORE] = "BEFORE", [IMAP_SEARCH_ON] = "ON",
	[IMAP_SEARCH_SINCE] = "SINCE", [IMAP_SEARCH_SENTBEFORE] = "SBEFORE",
	[IMAP_SEARCH_SENTON] = "SON", [IMAP_SEARCH_SENTSINCE] = "SSINCE",
	[IMAP_SEARCH_LARGER] = "LARGER", [IMAP_SEARCH_SMALLER] = "SMALLER",
	[IMAP_SEARCH_HEADER] = "HDR", [IMAP_SEARCH_BODY] = "BODY",
	[IMAP_SEARCH_TEXT] = "TEXT", [IMAP_SEARCH_MODSEQ] = "MODSEQ",
};

static void
test_render_key(struct fbuf *b, const struct imap_search_key *k)
{
	fbuf_adds(b, search_ops[k->op]);
	switch (k->op) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
		fbuf_addc(b, '(');
		for (const struct imap_search_key *c = k->child; c; c = c->next) {
			test_render_key(b, c);
			if (c->next)
				fbuf_addc(b, ' ');
		}
		fbuf_addc(b, ')');
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		fbuf_addf(b, ":%u", k->set.count);
		if (k->set.saved)
			fbuf_addc(b, '$');
		break;
	case IMAP_SEARCH_FLAGS:
	case IMAP_SEARCH_UNFLAGS:
		fbuf_addf(b, ":%u", k->flags);
		break;
	case IMAP_SEARCH_HEADER:
		fbuf_addf(b, ":%s=%s", k->field, k->value);
		break;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		fbuf_addf(b, ":%s", k->value);
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		fbuf_addf(b, ":%lld", (long long)k->days);
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_MODSEQ:
		fbuf_addf(b, ":%llu", (unsigned long long)k->number);
		break;
	default:
		break;
	}
}

struct search_case {
	const char *in;
	int ret;
	const char *out;
};

static const struct search_case search_cases[] = {
	{ "ALL", 0, "AND(ALL)" },
	{ "unseen", 0, "AND(UNFLAGS:1)" },
	{ "ANSWERED DELETED DRAFT FLAGGED RECENT SEEN", 0,
	    "AND(FLAGS:2 FLAGS:8 FLAGS:16 FLAGS:4 FLAGS:32 FLAGS:1)" },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED NEW OLD", 0,
	    "AND(UNFLAGS:2 UNFLAGS:8 UNFLAGS:16 UNFLAGS:4 NEW OLD)" },
	{ "CHARSET UTF-8 FROM alice", 0, "AND(HDR:FROM=alice)" },
	{ "charset us-ascii TO {3}\r\nbob", 0, "AND(HDR:TO=bob)" },
	{ "CC a BCC b SUBJECT \"hi there\"", 0,
	    "AND(HDR:CC=a HDR:BCC=b HDR:SUBJECT=hi there)" },
	{ "HEADER x-spam yes", 0, "AND(HDR:X-SPAM=yes)" },
	{ "HEADER Message-ID \"\"", 0, "AND(HDR:MESSAGE-ID=)" },
	{ "BODY x TEXT \"y z\"", 0, "AND(BODY:x TEXT:y z)" },
	{ "KEYWORD $Junk UNKEYWORD foo", 0, "AND(KW:$Junk UNKW:foo)" },
	{ "BEFORE 2-Jan-1970 ON 1-Jan-1970 SINCE \"1-Jan-1970\"", 0,
	    "AND(BEFORE:1 ON:0 SINCE:0)" },
	{ "SENTBEFORE 2-Jan-1970 SENTON 1-Jan-1970 SENTSINCE 3-Jan-1970",
	    0, "AND(SBEFORE:1 SON:0 SSINCE:2)" },
	{ "LARGER 100 SMALLER 0", 0, "AND(LARGER:100 SMALLER:0)" },
	{ "UID 1:*,5 1:3 $ *", 0, "AND(UID:2 SEQ:1 SEQ:0$ SEQ:1)" },
	{ "NOT SEEN", 0, "AND(NOT(FLAGS:1))" },
	{ "OR SEEN (FROM a TO b)", 0,
	    "AND(OR(FLAGS:1 AND(HDR:FROM=a HDR:TO=b)))" },
	{ "OR OR SEEN DELETED NOT NOT DRAFT", 0,
	    "AND(OR(OR(FLAGS:1 FLAGS:8) NOT(NOT(FLAGS:16))))" },
	{ "MODSEQ 5", 0, "AND(MODSEQ:5)" },
	{ "MODSEQ \"/flags/\\\\Seen\" all 7", 0, "AND(MODSEQ:7)" },
	{ "RETURN (MIN MAX COUNT) UNSEEN", 0, "AND(UNFLAGS:1) ret11" },
	{ "RETURN () ALL", 0, "AND(ALL) ret0" },
	{ "RETURN (SAVE) CHARSET UTF-8 ALL", 0, "AND(ALL) ret16" },
	{ "CHARSET KOI8-R FROM a", -2, NULL },
	{ "FOO", -1, NULL },
	{ "FROM", -1, NULL },
	{ "HEADER x", -1, NULL },
	{ "BEFORE 1-Jan-70", -1, NULL },
	{ "BEFORE 30-Feb-2000", -1, NULL },
	{ "LARGER -1", -1, NULL },
	{ "LARGER x", -1, NULL },
	{ "UID x", -1, NULL },
	{ "UID", -1, NULL },
	{ "1:x", -1, NULL },
	{ "NOT", -1, NULL },
	{ "OR SEEN", -1, NULL },
	{ "()", -1, NULL },
	{ "KEYWORD \\Seen", -1, NULL },
	{ "KEYWORD", -1, NULL },
	{ "CHARSET", -1, NULL },
	{ "RETURN (FOO) ALL", -1, NULL },
	{ "RETURN ALL", -1, NULL },
	{ "MODSEQ x", -1, NULL },
	{ "MODSEQ \"/flags/x\" bogus 5", -1, NULL },
	{ "\"SEEN\"", -1, NULL },
	{ "FROM a CHARSET UTF-8", -1, NULL },
};

static void
test_search(void)
{
	test_begin("imap args: SEARCH keys (whole and trickled)");
	for (size_t i = 0; i < sizeof(search_cases) / sizeof(search_cases[0]);
	    i++) {
		for (size_t chunk = 0; chunk <= 1; chunk++) {
			struct imap_parser p;
			const struct imap_command *cmd =
			    test_read(&p, search_cases[i].in, chunk);
			struct imap_search s;
			const char *err = NULL;
			struct fbuf b;

			test_assert_idx(cmd != NULL, i);
			if (cmd == NULL) {
				imap_parser_free(&p);
				continue;
			}
			int r = imap_search_parse(cmd->args, cmd->count, &s,
			    &err);
			test_assert_idx(r == search_cases[i].ret, i);
			if (r != 0) {
				test_assert_idx(err != NULL, i);
				imap_parser_free(&p);
				continue;
			}
			fbuf_init(&b, 0);
			test_render_key(&b, s.root);
			if (s.esearch)
				fbuf_addf(&b, " ret%u", s.ret);
			test_assert_streq(fbuf_str(&b), search_cases[i].out);
			fbuf_release(&b);
			imap_search_free(&s);
			imap_parser_free(&p);
		}
	}
	{
		struct imap_search s;
		const char *err = NULL;

		test_assert(imap_search_parse(NULL, 0, &s, &err) ==
		    IMAP_SEARCH_BAD && err != NULL);
	}
	test_end();
}

static void
test_strings(void)
{
	struct imap_parser p;
	const struct imap_command *cmd;
	const char *s;

	test_begin("imap args: astring, list-mailbox, number");
	cmd = test_read(&p, "INBOX \"a b\" a% {2}\r\nxy \\Seen 42 042 "
	    "18446744073709551615 18446744073709551616", 0);
	test_assert(cmd != NULL && cmd->count == 9);
	if (cmd != NULL && cmd->count == 9) {
		uint64_t n;

		test_assert(imap_arg_astring(&cmd->args[0], &s) &&
		    strcmp(s, "INBOX") == 0);
		test_assert(imap_arg_astring(&cmd->args[1], &s) &&
		    strcmp(s, "a b") == 0);
		test_assert(!imap_arg_astring(&cmd->args[2], &s));
		test_assert(imap_arg_list_mailbox(&cmd->args[2], &s) &&
		    strcmp(s, "a%") == 0);
		test_assert(imap_arg_astring(&cmd->args[3], &s) &&
		    strcmp(s, "xy") == 0);
		test_assert(imap_arg_string(&cmd->args[3], &s));
		test_assert(!imap_arg_string(&cmd->args[0], &s));
		test_assert(!imap_arg_astring(&cmd->args[4], &s));
		test_assert(imap_arg_atom_is(&cmd->args[0], "inbox"));
		test_assert(!imap_arg_atom_is(&cmd->args[1], "a b"));
		test_assert(imap_arg_number(&cmd->args[5], 1, 100, &n) &&
		    n == 42);
		test_assert(!imap_arg_number(&cmd->args[5], 43, 100, &n));
		test_assert(imap_arg_number(&cmd->args[6], 0, 100, &n) &&
		    n == 42);
		test_assert(imap_arg_number(&cmd->args[7], 0, UINT64_MAX, &n) &&
		    n == UINT64_MAX);
		test_assert(!imap_arg_number(&cmd->args[8], 0, UINT64_MAX, &n));
		test_assert(!imap_arg_number(&cmd->args[1], 0, 100, &n));
	}
	imap_parser_free(&p);
	/* '[' and ']' are ASTRING-CHARs; a bracket section with a space
	 * (BODY[HEADER.FIELDS (A B)]) is no astring */
	cmd = test_read(&p, "a[b] c]d x[y% z[a b]", 0);
	test_assert(cmd != NULL && cmd->count == 4);
	if (cmd != NULL && cmd->count == 4) {
		test_assert(imap_arg_astring(&cmd->args[0], &s) &&
		    strcmp(s, "a[b]") == 0);
		test_assert(imap_arg_astring(&cmd->args[1], &s));
		test_assert(!imap_arg_astring(&cmd->args[2], &s));
		test_assert(imap_arg_list_mailbox(&cmd->args[2], &s) &&
		    strcmp(s, "x[y%") == 0);
		test_assert(!imap_arg_astring(&cmd->args[3], &s));
		test_assert(!imap_arg_list_mailbox(&cmd->args[3], &s));
	}
	imap_parser_free(&p);
	test_end();
}

int
main(void)
{
	test_seqset();
	test_dates();
	test_store();
	test_fetch();
	test_search();
	test_strings();
	return test_exit();
}
