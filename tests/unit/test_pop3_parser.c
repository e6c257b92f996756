/* Unit tests for the POP3 command parser and the RETR/TOP body
 * transformer (src/pop3/pop3_parser.c).  Lines are parsed from exactly
 * sized heap copies (ASan sees any over-read) into a struct a previous
 * command filled; bodies are fed whole and then one byte at a time, which
 * must give the same output. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "pop3/pop3_parser.h"
#include "test.h"

struct parser_case {
	const char *line;
	size_t len;			/* 0: strlen(line) */
	int ret;
	enum pop3_cmd cmd;
	enum pop3_parse_error err;
	const char *arg;		/* when not NULL */
	const char *arg2;		/* when not NULL */
	uint32_t msg;			/* has_msg when != 0 */
	uint64_t lines;
};

#define OK(l, c, a, a2, m, n)	{ l, 0, 0, c, POP3_PERR_NONE, a, a2, m, n }
#define ERR(l, e)		{ l, 0, -1, POP3_CMD_UNKNOWN, e, NULL, NULL, 0, 0 }
#define ERRN(l, n, c, e)	{ l, n, -1, c, e, NULL, NULL, 0, 0 }

static const struct parser_case parser_cases[] = {
	OK("USER alice@example.test", POP3_CMD_USER, "alice@example.test",
	    NULL, 0, 0),
	OK("user  alice@example.test ", POP3_CMD_USER, "alice@example.test",
	    NULL, 0, 0),
	ERR("USER", POP3_PERR_ARGS),
	ERR("USER a b", POP3_PERR_ARGS),
	OK("PASS secret", POP3_CMD_PASS, "secret", NULL, 0, 0),
	OK("PASS with  spaces ", POP3_CMD_PASS, "with  spaces ", NULL, 0, 0),
	OK("PASS p\xc3\xa4ss", POP3_CMD_PASS, "p\xc3\xa4ss", NULL, 0, 0),
	ERR("PASS", POP3_PERR_ARGS),
	ERR("PASS ", POP3_PERR_ARGS),
	OK("AUTH", POP3_CMD_AUTH, "", NULL, 0, 0),
	OK("auth plain", POP3_CMD_AUTH, "PLAIN", NULL, 0, 0),
	OK("AUTH PLAIN AGEAYg==", POP3_CMD_AUTH, "PLAIN", "AGEAYg==", 0, 0),
	OK("AUTH PLAIN =", POP3_CMD_AUTH, "PLAIN", "=", 0, 0),
	ERR("AUTH PLAIN a b", POP3_PERR_ARGS),
	OK("STLS", POP3_CMD_STLS, "", NULL, 0, 0),
	ERR("STLS now", POP3_PERR_ARGS),
	OK("CAPA", POP3_CMD_CAPA, "", NULL, 0, 0),
	OK("STAT", POP3_CMD_STAT, "", NULL, 0, 0),
	OK("stat ", POP3_CMD_STAT, "", NULL, 0, 0),
	ERR("STAT 1", POP3_PERR_ARGS),
	OK("LIST", POP3_CMD_LIST, "", NULL, 0, 0),
	OK("LIST 7", POP3_CMD_LIST, "", NULL, 7, 0),
	OK("LIST 4294967295", POP3_CMD_LIST, "", NULL, 4294967295u, 0),
	ERRN("LIST 4294967296", 0, POP3_CMD_LIST, POP3_PERR_NUMBER),
	ERRN("LIST 0", 0, POP3_CMD_LIST, POP3_PERR_NUMBER),
	ERRN("LIST -1", 0, POP3_CMD_LIST, POP3_PERR_NUMBER),
	ERRN("LIST +1", 0, POP3_CMD_LIST, POP3_PERR_NUMBER),
	ERRN("LIST 1x", 0, POP3_CMD_LIST, POP3_PERR_NUMBER),
	ERRN("LIST 1 2", 0, POP3_CMD_LIST, POP3_PERR_ARGS),
	OK("UIDL 3", POP3_CMD_UIDL, "", NULL, 3, 0),
	OK("RETR 12", POP3_CMD_RETR, "", NULL, 12, 0),
	ERRN("RETR", 0, POP3_CMD_RETR, POP3_PERR_ARGS),
	ERRN("RETR 99999999999999999999999", 0, POP3_CMD_RETR,
	    POP3_PERR_NUMBER),
	OK("DELE 1", POP3_CMD_DELE, "", NULL, 1, 0),
	OK("TOP 1 0", POP3_CMD_TOP, "", NULL, 1, 0),
	OK("TOP 2 10", POP3_CMD_TOP, "", NULL, 2, 10),
	ERRN("TOP 1", 0, POP3_CMD_TOP, POP3_PERR_ARGS),
	ERRN("TOP 1 -1", 0, POP3_CMD_TOP, POP3_PERR_NUMBER),
	ERRN("TOP 1 2 3", 0, POP3_CMD_TOP, POP3_PERR_ARGS),
	OK("NOOP", POP3_CMD_NOOP, "", NULL, 0, 0),
	OK("RSET", POP3_CMD_RSET, "", NULL, 0, 0),
	OK("QUIT", POP3_CMD_QUIT, "", NULL, 0, 0),
	OK("APOP a 0123", POP3_CMD_APOP, "a", "0123", 0, 0),
	OK("XCLIENT ADDR=192.0.2.1", POP3_CMD_XCLIENT, "192.0.2.1", NULL, 0,
	    0),
	OK("xclient addr=::1", POP3_CMD_XCLIENT, "::1", NULL, 0, 0),
	/* A word shorter than "ADDR=" is refused without reading past it. */
	ERRN("XCLIENT A", 0, POP3_CMD_XCLIENT, POP3_PERR_ADDR),
	ERRN("XCLIENT ADDR=", 0, POP3_CMD_XCLIENT, POP3_PERR_ADDR),
	ERRN("XCLIENT NAME=x", 0, POP3_CMD_XCLIENT, POP3_PERR_ADDR),
	ERR("", POP3_PERR_EMPTY),
	ERR("FROB", POP3_PERR_UNKNOWN),
	ERR("RETRIEVE 1", POP3_PERR_UNKNOWN),
	ERR(" STAT", POP3_PERR_UNKNOWN),
	ERR("GET / HTTP/1.1", POP3_PERR_UNKNOWN),
	ERRN("NOOP\0", 5, POP3_CMD_UNKNOWN, POP3_PERR_NUL),
	ERRN("US\0ER a", 7, POP3_CMD_UNKNOWN, POP3_PERR_NUL),
	ERR("PASS a\tb", POP3_PERR_NUL),
	ERR("PASS a\rb", POP3_PERR_NUL),
	ERR("NOOP\x7f", POP3_PERR_NUL),
};

static void
test_parser_cases(void)
{
	struct pop3_command *cmd = malloc(sizeof(*cmd));
	enum pop3_parse_error err;

	test_begin("pop3 parser: table");
	for (size_t i = 0; i < sizeof(parser_cases) / sizeof(*parser_cases);
	    i++) {
		const struct parser_case *c = &parser_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->line);
		char *copy = malloc(len + 1);
		int r;

		memcpy(copy, c->line, len);
		/* Fill the struct from another command first. */
		(void)pop3_command_parse("TOP 9 9", 7, cmd, &err);
		r = pop3_command_parse(copy, len, cmd, &err);
		test_assert_idx(r == c->ret, i);
		if (r == 0) {
			test_assert_idx(cmd->cmd == c->cmd, i);
			if (c->arg != NULL)
				test_assert_idx(strcmp(cmd->arg, c->arg) == 0,
				    i);
			if (c->arg2 != NULL)
				test_assert_idx(cmd->arg2 != NULL &&
				    strcmp(cmd->arg2, c->arg2) == 0, i);
			else
				test_assert_idx(cmd->arg2 == NULL, i);
			test_assert_idx(cmd->has_msg == (c->msg != 0), i);
			test_assert_idx(cmd->msg == c->msg, i);
			test_assert_idx(cmd->lines == c->lines, i);
		} else
			test_assert_idx(err == c->err, i);
		free(copy);
	}
	free(cmd);
	test_end();
}

static void
test_parser_limits(void)
{
	struct pop3_command cmd;
	enum pop3_parse_error err;
	char line[POP3_LINE_MAX + 8];

	test_begin("pop3 parser: line and argument limits");
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	test_assert(pop3_command_parse(line, POP3_LINE_MAX - 2, &cmd,
	    &err) == 0);
	test_assert(strlen(cmd.arg) == POP3_LINE_MAX - 7);
	test_assert(pop3_command_parse(line, POP3_LINE_MAX - 1, &cmd,
	    &err) == -1 && err == POP3_PERR_LONG);
	memcpy(line, "USER ", 5);
	test_assert(pop3_command_parse(line, 5 + POP3_ARG_MAX, &cmd,
	    &err) == 0);
	test_assert(pop3_command_parse(line, 6 + POP3_ARG_MAX, &cmd,
	    &err) == -1 && err == POP3_PERR_ARGS);
	test_assert(strcmp(pop3_cmd_name(POP3_CMD_UIDL), "UIDL") == 0);
	test_assert(pop3_parse_error_text(POP3_PERR_LONG) != NULL);
	test_end();
}

struct stuff_case {
	const char *in;
	bool top;
	uint64_t lines;
	const char *out;
};

static const struct stuff_case stuff_cases[] = {
	{ "", false, 0, ".\r\n" },
	{ "a\r\nb\r\n", false, 0, "a\r\nb\r\n.\r\n" },
	{ "a\nb\n", false, 0, "a\r\nb\r\n.\r\n" },
	{ "a\nb", false, 0, "a\r\nb\r\n.\r\n" },
	{ ".\r\n..x\r\n.y", false, 0, "..\r\n...x\r\n..y\r\n.\r\n" },
	{ "a.b\r\n", false, 0, "a.b\r\n.\r\n" },
	{ "bare\rcr\r\n", false, 0, "bare\rcr\r\n.\r\n" },
	{ "\n\n", false, 0, "\r\n\r\n.\r\n" },
	{ "ends in cr\r", false, 0, "ends in cr\r\n.\r\n" },
	{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 0,
	    "H: 1\r\nH: 2\r\n\r\n.\r\n" },
	{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 2,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
	{ "H: 1\n\n.b1\nb2", true, 5, "H: 1\r\n\r\n..b1\r\nb2\r\n.\r\n" },
	{ "H: 1\r\nno body", true, 0, "H: 1\r\nno body\r\n.\r\n" },
	{ "H: 1\n\nb1\n", true, 1, "H: 1\r\n\r\nb1\r\n.\r\n" },
	{ "H: 1\r\n\r\n", true, 0, "H: 1\r\n\r\n.\r\n" },
};

static void
stuff_run(const struct stuff_case *c, bool trickle, struct fbuf *out)
{
	struct pop3_stuff st;
	size_t n = strlen(c->in);

	fbuf_reset(out);
	pop3_stuff_init(&st, c->top, c->lines);
	if (!trickle)
		pop3_stuff_feed(&st, c->in, n, out);
	else
		for (size_t i = 0; i < n; i++)
			pop3_stuff_feed(&st, c->in + i, 1, out);
	pop3_stuff_end(&st, out);
}

static void
test_stuff_cases(void)
{
	struct fbuf out;

	test_begin("pop3 stuff: CRLF, dot-stuffing, TOP (whole and trickled)");
	fbuf_init(&out, 0);
	for (size_t i = 0; i < sizeof(stuff_cases) / sizeof(*stuff_cases);
	    i++) {
		stuff_run(&stuff_cases[i], false, &out);
		test_assert_idx(strcmp(fbuf_str(&out), stuff_cases[i].out) == 0,
		    i);
		stuff_run(&stuff_cases[i], true, &out);
		test_assert_idx(strcmp(fbuf_str(&out), stuff_cases[i].out) == 0,
		    i);
	}
	fbuf_release(&out);
	test_end();
}

int
main(void)
{
	test_parser_cases();
	test_parser_limits();
	test_stuff_cases();
	return test_exit();
}
