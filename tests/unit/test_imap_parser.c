/* Unit tests for the IMAP command reader (src/imap/imap_parser.c).  Each
 * case is a byte stream fed whole and then one octet at a time; both
 * must give the same events: C (send a continuation), D:<command
 * rendered>, E:<error>:<tag> and F (fatal).  Streams that end in a bad
 * command carry a following good one to prove the reader resynchronises
 * (skipping {n+} literals of the bad command). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "lib/fbuf.h"
#include "test.h"

static const struct imap_parser_limits test_lim_plus = {
	.line_max = 100, .literal_max = 1000, .nonsync_max = 1000,
	.command_max = 1200, .depth_max = 4, .args_max = 12,
};

static const struct imap_parser_limits test_lim_minus = {
	.line_max = 100, .literal_max = 1000, .nonsync_max = 8,
	.command_max = 1200, .depth_max = 4, .args_max = 12,
};

static const char *const test_errs[] = {
	[IMAP_PERR_NONE] = "NONE", [IMAP_PERR_TAG] = "TAG",
	[IMAP_PERR_NAME] = "NAME", [IMAP_PERR_SYNTAX] = "SYNTAX",
	[IMAP_PERR_NUL] = "NUL", [IMAP_PERR_LINE] = "LINE",
	[IMAP_PERR_LITERAL] = "LITERAL", [IMAP_PERR_COMMAND] = "COMMAND",
	[IMAP_PERR_DEPTH] = "DEPTH", [IMAP_PERR_ARGS] = "ARGS",
	[IMAP_PERR_LIST] = "LIST",
};

static void
test_render_str(struct fbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			fbuf_addf(b, "\\x%02x", c);
		else
			fbuf_addc(b, (char)c);
	}
}

static void
test_render_args(struct fbuf *b, const struct imap_arg *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			fbuf_addc(b, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			test_render_str(b, a[i].str, a[i].len);
			break;
		case IMAP_ARG_QUOTED:
			fbuf_addc(b, '"');
			test_render_str(b, a[i].str, a[i].len);
			fbuf_addc(b, '"');
			break;
		case IMAP_ARG_LITERAL:
			fbuf_addf(b, "%s{%zu}", a[i].literal8 ? "~" : "",
			    a[i].len);
			test_render_str(b, a[i].str, a[i].len);
			break;
		case IMAP_ARG_LIST:
			fbuf_addc(b, '(');
			test_render_args(b, a[i].list, a[i].count);
			fbuf_addc(b, ')');
			break;
		}
	}
}

/* Feeds in chunks of `chunk` octets (0: all at once); returns the
 * events, to be freed. */
static char *
test_run(const struct imap_parser_limits *lim, const char *in, size_t len,
    size_t chunk)
{
	struct imap_parser p;
	struct fbuf ev;
	size_t off = 0;

	imap_parser_init(&p, lim);
	fbuf_init(&ev, 0);
	while (off < len) {
		size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
		size_t used;
		/* an exactly sized copy lets ASan see over-reads */
		char *copy = malloc(n);

		memcpy(copy, in + off, n);
		enum imap_parse_result r = imap_parser_feed(&p, copy, n, &used);
		free(copy);
		test_assert(used <= n);
		off += used;
		if (r == IMAP_PARSE_CONTINUE) {
			fbuf_adds(&ev, "C|");
		} else if (r == IMAP_PARSE_DONE) {
			const struct imap_command *c = imap_parser_command(&p);

			fbuf_addf(&ev, "D:%s %s", c->tag, c->name);
			if (c->count > 0)
				fbuf_addc(&ev, ' ');
			test_render_args(&ev, c->args, c->count);
			fbuf_addc(&ev, '|');
		} else if (r == IMAP_PARSE_ERROR) {
			fbuf_addf(&ev, "E:%s:%s|",
			    test_errs[imap_parser_error(&p)],
			    imap_parser_error_tag(&p));
			if (imap_parser_fatal(&p)) {
				fbuf_adds(&ev, "F|");
				break;
			}
		} else {
			test_assert(used == n);
		}
	}
	imap_parser_free(&p);
	return fbuf_steal(&ev);
}

struct reader_case {
	const char *in;
	size_t len;			/* 0: strlen */
	bool minus;			/* LITERAL- limits */
	const char *events;
};

#define R(i, e) { i, 0, false, e }

static const struct reader_case reader_cases[] = {
	R("a1 NOOP\r\n", "D:a1 NOOP|"),
	R("a1 noop\n", "D:a1 NOOP|"),
	R("a NOOP\r\nb CAPABILITY\r\n", "D:a NOOP|D:b CAPABILITY|"),
	R("x.y] uid fetch 1\r\n", "D:x.y] UID fetch 1|"),
	R("a LOGIN alice \"se\\\"c\\\\ret\"\r\n",
	    "D:a LOGIN alice \"se\"c\\ret\"|"),
	R("a LOGIN \"\" \"\"\r\n", "D:a LOGIN \"\" \"\"|"),
	R("a LOGIN \"p\xc3\xa4ss\" x\r\n",
	    "D:a LOGIN \"p\\xc3\\xa4ss\" x|"),
	R("a LOGIN {5}\r\nalice {3}\r\npwd\r\n",
	    "C|C|D:a LOGIN {5}alice {3}pwd|"),
	R("a LOGIN {5+}\r\nalice {3+}\r\npwd\r\n",
	    "D:a LOGIN {5}alice {3}pwd|"),
	R("a X {4}\r\n\r\n)(\r\n", "C|D:a X {4}\\x0d\\x0a)(|"),
	R("a X {0}\r\n\r\n", "C|D:a X {0}|"),
	R("a X ({1}\r\nz)\r\n", "C|D:a X ({1}z)|"),
	{ "a APPEND x ~{3}\r\na\0c\r\n", 22, false,
	    "C|D:a APPEND x ~{3}a\\x00c|" },
	R("a FETCH 1:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10>)"
	    "\r\n", "D:a FETCH 1:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (From "
	    "\"To\")]<0.10>)|"),
	R("a FETCH 1 BODY[HEADER.FIELDS (\"X]\")]\r\n",
	    "D:a FETCH 1 BODY[HEADER.FIELDS (\"X]\")]|"),
	R("a STORE 1 +FLAGS (\\Seen $Junk)\r\n",
	    "D:a STORE 1 +FLAGS (\\Seen $Junk)|"),
	R("a LIST \"\" %/*\r\n", "D:a LIST \"\" %/*|"),
	R("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n",
	    "D:a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}|"),
	R("a LIST \"\" x[y%* z\r\n", "D:a LIST \"\" x[y%* z|"),
	R("a X (a[b c)\r\n", "D:a X (a[b c)|"),
	R("a X ((a) (b (c)) ())\r\n", "D:a X ((a) (b (c)) ())|"),
	R("a X (((a)))\r\n", "D:a X (((a)))|"),
	/* errors, each followed by a good command */
	R("a NOOP\r\n\r\nz NOOP\r\n", "D:a NOOP|E:TAG:*|D:z NOOP|"),
	R("+a NOOP\r\nz NOOP\r\n", "E:TAG:*|D:z NOOP|"),
	R("a*b NOOP\r\nz NOOP\r\n", "E:TAG:*|D:z NOOP|"),
	R("a(b NOOP\r\nz NOOP\r\n", "E:TAG:*|D:z NOOP|"),
	R("\xc3\xa4 NOOP\r\nz NOOP\r\n", "E:TAG:*|D:z NOOP|"),
	R("a\r\nz NOOP\r\n", "E:NAME:a|D:z NOOP|"),
	R("a NO!OP\r\nz NOOP\r\n", "E:NAME:a|D:z NOOP|"),
	R("a  NOOP\r\nz NOOP\r\n", "E:NAME:a|D:z NOOP|"),
	R("a X  b\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X b \r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X (a )\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X ( a)\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X (a)(b)\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X \"\\n\"\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X \"abc\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X ab\"c\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X b\rc\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	/* an unclosed "[" is an atom char (the FETCH handler refuses it) */
	R("a FETCH 1 BODY[HEADER\r\nz NOOP\r\n",
	    "D:a FETCH 1 BODY[HEADER|D:z NOOP|"),
	R("a FETCH 1 BODY[[]]\r\nz NOOP\r\n",
	    "D:a FETCH 1 BODY[[]]|D:z NOOP|"),
	R("a FETCH 1 BODY[\"x\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a FETCH 1 BODY[{3}\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X {3}abc\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X {}\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X {3x}\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X {99999999999999999999999}\r\nz NOOP\r\n",
	    "E:SYNTAX:a|D:z NOOP|"),
	R("a X {3}\r\nabcx\r\nz NOOP\r\n", "C|E:SYNTAX:a|D:z NOOP|"),
	R("a X (a b\r\nz NOOP\r\n", "E:LIST:a|D:z NOOP|"),
	R("a X a)\r\nz NOOP\r\n", "E:LIST:a|D:z NOOP|"),
	R("a X (((((a)))))\r\nz NOOP\r\n", "E:DEPTH:a|D:z NOOP|"),
	R("a X ((((a))))\r\n", "D:a X ((((a))))|"),
	R("a X 1 2 3 4 5 6 7 8 9 10 11 12 13\r\nz NOOP\r\n",
	    "E:ARGS:a|D:z NOOP|"),
	{ "a NOOP\0\r\nz NOOP\r\n", 17, false, "E:NUL:a|D:z NOOP|" },
	{ "\0a NOOP\r\nz NOOP\r\n", 17, false, "E:NUL:*|D:z NOOP|" },
	{ "a\0b NOOP\r\nz NOOP\r\n", 18, false, "E:NUL:*|D:z NOOP|" },
	{ "a LOGIN \"x\0y\" z\r\nz NOOP\r\n", 25, false,
	    "E:NUL:a|D:z NOOP|" },
	/* an error with a {n+} at the end of its line skips that literal */
	R("a X ) {5+}\r\nab\r\n)\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	R("a X ) {5+}\r\nabcde {2+}\r\nxy\r\nz NOOP\r\n",
	    "E:SYNTAX:a|D:z NOOP|"),
	R("a X ~{5+}\r\n(\x01\r\n) {2+}\r\nxy\r\nz NOOP\r\n",
	    "D:a X ~{5}(\\x01\\x0d\\x0a) {2}xy|D:z NOOP|"),
	/* a {n} at the end of a bad line: the client waits, nothing
	 * follows but the next command */
	R("a X ) {5}\r\nz NOOP\r\n", "E:SYNTAX:a|D:z NOOP|"),
	/* line length: 100 octets with CRLF pass, 101 do not */
	R("a X 345678901234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890123456\r\n",
	    "D:a X 345678901234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890123456|"),
	R("a X 345678901234567890123456789012345678901234567890"
	    "123456789012345678901234567890123456789012345678\r\nz NOOP\r\n",
	    "E:LINE:a|D:z NOOP|"),
	R("a X 345678901234567890123456789012345678901234567890"
	    "12345678901234567890123456789012345678901234567890123456789"
	    "01234567890 {4+}\r\nab\r\n\r\nz NOOP\r\n", "E:LINE:a|D:z NOOP|"),
	R("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\r\nz NOOP\r\n", "E:LINE:*|D:z NOOP|"),
	/* an overlong line keeps a tag of 64 octets for its BAD; one of
	 * 65 is no tag (it once went one octet past the parser's tag:
	 * fuzz_imap_sort/overlong-line-tag-65) */
	R("tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt X 12345678901234567890123456789012345678901234567890"
	    "\r\nz NOOP\r\n", "E:LINE:tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt|D:z NOOP|"),
	R("ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttu X 12345678901234567890123456789012345678901234567890"
	    "\r\nz NOOP\r\n", "E:LINE:*|D:z NOOP|"),
	/* literal limits */
	R("a APPEND x {1001}\r\nz NOOP\r\n", "E:LITERAL:a|D:z NOOP|"),
	R("a APPEND x {1000}\r\n", "C|"),
	R("a APPEND x {1001+}\r\nabc\r\nz NOOP\r\n", "E:LITERAL:a|F|"),
	R("a X {600}\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "678901234567890123456789"
	    " {600}\r\nz NOOP\r\n", "C|E:COMMAND:a|D:z NOOP|"),
	{ "a X {9+}\r\n123456789\r\nz NOOP\r\n", 0, true,
	    "E:LITERAL:a|D:z NOOP|" },
	{ "a X {8+}\r\n12345678\r\nz NOOP\r\n", 0, true,
	    "D:a X {8}12345678|D:z NOOP|" },
	{ "a X {9}\r\n123456789\r\n", 0, true, "C|D:a X {9}123456789|" },
};

static void
test_reader(void)
{
	test_begin("imap reader: table, whole and trickled");
	for (size_t i = 0; i < sizeof(reader_cases) / sizeof(reader_cases[0]);
	    i++) {
		const struct reader_case *c = &reader_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		const struct imap_parser_limits *lim = c->minus ?
		    &test_lim_minus : &test_lim_plus;
		char *whole = test_run(lim, c->in, len, 0);
		char *trickled = test_run(lim, c->in, len, 1);

		if (strcmp(whole, c->events) != 0)
			fprintf(stderr, "case %zu whole: %s\n", i, whole);
		if (strcmp(trickled, c->events) != 0)
			fprintf(stderr, "case %zu trickled: %s\n", i, trickled);
		test_assert_idx(strcmp(whole, c->events) == 0, i);
		test_assert_idx(strcmp(trickled, c->events) == 0, i);
		free(whole);
		free(trickled);
	}
	test_end();
}

static void
test_reader_limits_change(void)
{
	struct imap_parser_limits big = test_lim_plus;
	struct imap_parser p;
	size_t used;
	const char *in = "a X {2000}\r\n";

	test_begin("imap reader: new limits apply to the next command");
	big.literal_max = 5000;
	big.command_max = 6000;
	imap_parser_init(&p, &test_lim_plus);
	test_assert(imap_parser_feed(&p, in, strlen(in), &used) ==
	    IMAP_PARSE_ERROR);
	test_assert(used == strlen(in));
	imap_parser_set_limits(&p, &big);
	test_assert(imap_parser_idle(&p));
	test_assert(imap_parser_feed(&p, in, strlen(in), &used) ==
	    IMAP_PARSE_CONTINUE);
	test_assert(imap_parser_literal_size(&p) == 2000);
	test_assert(!imap_parser_idle(&p));
	imap_parser_free(&p);
	test_end();
}

int
main(void)
{
	test_reader();
	test_reader_limits_change();
	return test_exit();
}
