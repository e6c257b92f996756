/* Unit tests for the SMTP command-line parser (src/smtp/smtp_parser.c).
 * Each case is parsed from an exactly-sized heap copy (no NUL after it,
 * so ASan sees any over-read), into a struct that a previous, different
 * command filled, to check that nothing leaks from one parse to the next. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parser.h"
#include "test.h"

struct parser_case {
	const char *line;
	size_t len;		/* 0: strlen(line) */
	int ret;
	enum smtp_cmd cmd;
	int code;		/* on error */
	const char *enhanced;	/* on error */
	const char *arg;	/* on success, when not NULL */
	const char *path;	/* smtp_addr_format(), when not NULL */
};

#define OK(l, c, a, p)		{ l, 0, 0, c, 0, NULL, a, p }
#define ERR(l, c, code, e)	{ l, 0, -1, c, code, e, NULL, NULL }

static const struct parser_case parser_cases[] = {
	/* verbs */
	OK("HELO mx.example.org", SMTP_CMD_HELO, "mx.example.org", NULL),
	OK("helo mx.example.org", SMTP_CMD_HELO, "mx.example.org", NULL),
	OK("EhLo [192.0.2.1]", SMTP_CMD_EHLO, "[192.0.2.1]", NULL),
	OK("EHLO  mx.example.org  ", SMTP_CMD_EHLO, "mx.example.org", NULL),
	ERR("HELO", SMTP_CMD_HELO, 501, "5.5.4"),
	ERR("EHLO ", SMTP_CMD_EHLO, 501, "5.5.4"),
	ERR("EHLO m\xc3\xa9.example", SMTP_CMD_EHLO, 501, "5.5.4"),
	OK("DATA", SMTP_CMD_DATA, "", NULL),
	OK("data ", SMTP_CMD_DATA, "", NULL),
	ERR("DATA x", SMTP_CMD_DATA, 501, "5.5.4"),
	OK("RSET", SMTP_CMD_RSET, "", NULL),
	ERR("RSET now", SMTP_CMD_RSET, 501, "5.5.4"),
	OK("QUIT", SMTP_CMD_QUIT, "", NULL),
	ERR("QUIT please", SMTP_CMD_QUIT, 501, "5.5.4"),
	OK("STARTTLS", SMTP_CMD_STARTTLS, "", NULL),
	ERR("STARTTLS x", SMTP_CMD_STARTTLS, 501, "5.5.4"),
	OK("NOOP", SMTP_CMD_NOOP, "", NULL),
	OK("NOOP hello there", SMTP_CMD_NOOP, "hello there", NULL),
	OK("HELP", SMTP_CMD_HELP, "", NULL),
	OK("HELP MAIL", SMTP_CMD_HELP, "MAIL", NULL),
	OK("VRFY postmaster", SMTP_CMD_VRFY, "postmaster", NULL),
	OK("VRFY", SMTP_CMD_VRFY, "", NULL),
	OK("EXPN list", SMTP_CMD_EXPN, "list", NULL),
	OK("AUTH PLAIN AGZvbwBiYXI=", SMTP_CMD_AUTH, "PLAIN AGZvbwBiYXI=",
	    NULL),
	ERR("AUTH", SMTP_CMD_AUTH, 501, "5.5.4"),
	OK("XYZZY", SMTP_CMD_UNKNOWN, "", NULL),
	OK("GET / HTTP/1.1", SMTP_CMD_UNKNOWN, "/ HTTP/1.1", NULL),
	OK("MAILFROM:<a@b.c>", SMTP_CMD_UNKNOWN, "", NULL),
	ERR("", SMTP_CMD_UNKNOWN, 500, "5.5.2"),
	ERR(" HELO x", SMTP_CMD_UNKNOWN, 500, "5.5.2"),
	ERR("HE\xc3\x9fLO x", SMTP_CMD_UNKNOWN, 500, "5.5.2"),
	ERR("HE\x01LO x", SMTP_CMD_UNKNOWN, 500, "5.5.2"),
	{ "HE\0LO x", 7, -1, SMTP_CMD_UNKNOWN, 500, "5.5.2", NULL, NULL },
	{ "HELO x\0y", 8, -1, SMTP_CMD_UNKNOWN, 500, "5.5.2", NULL, NULL },
	ERR("HELO x\ry", SMTP_CMD_HELO, 501, "5.5.4"),
	ERR("NOOP \x7f", SMTP_CMD_NOOP, 501, "5.5.4"),
	/* MAIL */
	OK("MAIL FROM:<a@b.example>", SMTP_CMD_MAIL, NULL, "a@b.example"),
	OK("mail from:<a@b.example>", SMTP_CMD_MAIL, NULL, "a@b.example"),
	OK("MAIL FROM: <a@b.example>", SMTP_CMD_MAIL, NULL, "a@b.example"),
	OK("MAIL FROM:  <a@b.example>", SMTP_CMD_MAIL, NULL, "a@b.example"),
	OK("MAIL FROM:<>", SMTP_CMD_MAIL, NULL, ""),
	OK("MAIL FROM:<\"x y\"@b.example>", SMTP_CMD_MAIL, NULL,
	    "\"x y\"@b.example"),
	OK("MAIL FROM:<\"x>y\"@b.example>", SMTP_CMD_MAIL, NULL,
	    "\"x>y\"@b.example"),
	OK("MAIL FROM:<@r.example:a@b.example>", SMTP_CMD_MAIL, NULL,
	    "a@b.example"),
	OK("MAIL FROM:<a@b.example> SIZE=1000", SMTP_CMD_MAIL, NULL,
	    "a@b.example"),
	OK("MAIL FROM:<a@b.example>  size=1000  BODY=8bitmime ", SMTP_CMD_MAIL,
	    NULL, "a@b.example"),
	OK("MAIL FROM:<j\xc3\xb6@b.example> SMTPUTF8", SMTP_CMD_MAIL, NULL,
	    "j\xc3\xb6@b.example"),
	ERR("MAIL FROM:<j\xc3\xb6@b.example>", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<j\xc3\xb6@b.example> SMTPUTF8=yes", SMTP_CMD_MAIL,
	    555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE", SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=-1", SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=1k", SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=18446744073709551616", SMTP_CMD_MAIL,
	    555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=99999999999999999999", SMTP_CMD_MAIL,
	    555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", SMTP_CMD_MAIL, 555,
	    "5.5.4"),
	ERR("MAIL FROM:<a@b.example> BODY=BINARYMIME", SMTP_CMD_MAIL, 555,
	    "5.5.4"),
	ERR("MAIL FROM:<a@b.example> BODY", SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> RET=HDRS", SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> =x", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> A=b=c", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> K_Y=1", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM:<a@b.example> 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
	    SMTP_CMD_MAIL, 555, "5.5.4"),
	ERR("MAIL FROM:<a@b.example>SIZE=1", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL TO:<a@b.example>", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM <a@b.example>", SMTP_CMD_MAIL, 501, "5.5.4"),
	ERR("MAIL FROM:a@b.example", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<a@b.example", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<\"a@b.example>", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<a@b@c.example>", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<a@-b.example>", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<Postmaster>", SMTP_CMD_MAIL, 501, "5.1.7"),
	ERR("MAIL FROM:<a b@c.example>", SMTP_CMD_MAIL, 501, "5.1.7"),
	/* RCPT */
	OK("RCPT TO:<a@b.example>", SMTP_CMD_RCPT, NULL, "a@b.example"),
	OK("rcpt to: <a@[IPv6:2001:db8::1]>", SMTP_CMD_RCPT, NULL,
	    "a@[IPv6:2001:db8::1]"),
	OK("RCPT TO:<Postmaster>", SMTP_CMD_RCPT, NULL, "postmaster"),
	OK("RCPT TO:<j\xc3\xb6@b.example>", SMTP_CMD_RCPT, NULL,
	    "j\xc3\xb6@b.example"),
	ERR("RCPT TO:<>", SMTP_CMD_RCPT, 501, "5.1.3"),
	ERR("RCPT TO:<a@b.example> NOTIFY=NEVER", SMTP_CMD_RCPT, 555, "5.5.4"),
	ERR("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example", SMTP_CMD_RCPT,
	    555, "5.5.4"),
	ERR("RCPT TO:<a@remote.example@local.example>", SMTP_CMD_RCPT, 501,
	    "5.1.3"),
	ERR("RCPT TO:<a@b.example>>", SMTP_CMD_RCPT, 501, "5.1.3"),
	ERR("RCPT TO:<<a@b.example>", SMTP_CMD_RCPT, 501, "5.1.3"),
	ERR("RCPT TO:<j\xc3@b.example>", SMTP_CMD_RCPT, 501, "5.1.3"),
	ERR("RCPT FROM:<a@b.example>", SMTP_CMD_RCPT, 501, "5.5.4"),
	ERR("RCPT", SMTP_CMD_RCPT, 501, "5.5.4"),
	/* BDAT */
	OK("BDAT 1000", SMTP_CMD_BDAT, NULL, NULL),
	OK("BDAT 0 LAST", SMTP_CMD_BDAT, NULL, NULL),
	OK("bdat 42 last", SMTP_CMD_BDAT, NULL, NULL),
	ERR("BDAT", SMTP_CMD_BDAT, 501, "5.5.4"),
	ERR("BDAT x", SMTP_CMD_BDAT, 501, "5.5.4"),
	ERR("BDAT 10 FIRST", SMTP_CMD_BDAT, 501, "5.5.4"),
	ERR("BDAT 10 LAST x", SMTP_CMD_BDAT, 501, "5.5.4"),
	ERR("BDAT -1", SMTP_CMD_BDAT, 501, "5.5.4"),
	ERR("BDAT 18446744073709551616", SMTP_CMD_BDAT, 501, "5.5.4"),
};

/* Parses c->line from an exact-size heap copy into cmd. */
static int
parser_run(const char *line, size_t len, struct smtp_command *cmd,
    struct smtp_parse_error *err)
{
	char *copy = malloc(len + 1);
	int r;

	memcpy(copy, line, len);
	r = smtp_command_parse(len == 0 ? copy + 1 : copy, len, cmd, err);
	free(copy);
	return r;
}

static void
parser_check(size_t i, const struct parser_case *c,
    const struct smtp_command *cmd, const struct smtp_parse_error *err,
    int r)
{
	char out[600];

	test_assert_idx(r == c->ret, i);
	if (r != c->ret)
		return;
	if (r < 0) {
		test_assert_idx(err->code == c->code, i);
		test_assert_idx(err->enhanced != NULL &&
		    strcmp(err->enhanced, c->enhanced) == 0, i);
		test_assert_idx(err->text != NULL && err->text[0] != '\0', i);
		return;
	}
	test_assert_idx(cmd->cmd == c->cmd, i);
	if (c->arg != NULL)
		test_assert_idx(strcmp(cmd->arg, c->arg) == 0, i);
	if (c->path != NULL) {
		test_assert_idx(smtp_addr_format(&cmd->path, out,
		    sizeof(out)) >= 0, i);
		test_assert_idx(strcmp(out, c->path) == 0, i);
	}
}

static void
test_parser_cases(void)
{
	static struct smtp_command cmd;
	struct smtp_parse_error err;
	const char *prev = "MAIL FROM:<x@y.z> SIZE=5 BODY=8BITMIME SMTPUTF8";
	int r;

	test_begin("smtp_command_parse table");
	for (size_t i = 0; i < sizeof(parser_cases) / sizeof(parser_cases[0]);
	    i++) {
		const struct parser_case *c = &parser_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->line);

		test_assert(parser_run(prev, strlen(prev), &cmd, &err) == 0);
		r = parser_run(c->line, len, &cmd, &err);
		parser_check(i, c, &cmd, &err, r);
		if (r == 0 && c->cmd != SMTP_CMD_MAIL)
			test_assert_idx(!cmd.has_size && !cmd.smtputf8 &&
			    cmd.body == SMTP_BODY_7BIT, i);
	}
	test_end();
}

static void
test_parser_fields(void)
{
	static struct smtp_command cmd;
	struct smtp_parse_error err;
	const char *l;

	test_begin("smtp_command_parse fields");
	l = "mail from:<a@b.example> size=18446744073709551615 "
	    "body=8BITMIME smtputf8";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(strcmp(cmd.verb, "MAIL") == 0);
	test_assert(cmd.has_size && cmd.size == UINT64_MAX);
	test_assert(cmd.body == SMTP_BODY_8BITMIME && cmd.smtputf8);
	test_assert(cmd.nparams == 3);
	test_assert_streq(cmd.params[0].keyword, "SIZE");
	test_assert_streq(cmd.params[0].value, "18446744073709551615");
	test_assert_streq(cmd.params[2].keyword, "SMTPUTF8");
	test_assert(cmd.params[2].value == NULL);
	test_assert(!cmd.path.null && !cmd.path.utf8);
	l = "MAIL FROM:<>";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(cmd.path.null && !cmd.has_size && cmd.nparams == 0);
	l = "RCPT TO:<\xc3\xa9@b.example>";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(cmd.path.utf8);
	l = "BDAT 123456 LAST";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(cmd.chunk_size == 123456 && cmd.last);
	l = "BDAT 7";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(cmd.chunk_size == 7 && !cmd.last);
	l = "xyzzy plugh";
	test_assert(parser_run(l, strlen(l), &cmd, &err) == 0);
	test_assert(cmd.cmd == SMTP_CMD_UNKNOWN);
	test_assert_streq(cmd.verb, "XYZZY");
	test_assert_streq(cmd.arg, "plugh");
	test_assert_streq(smtp_cmd_name(SMTP_CMD_STARTTLS), "STARTTLS");
	test_assert_streq(smtp_cmd_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	test_assert_streq(smtp_cmd_name(SMTP_CMD_COUNT), "UNKNOWN");
	test_end();
}

static void
test_parser_length(void)
{
	static struct smtp_command cmd;
	static char line[SMTP_PARSER_LINE_MAX + 2];
	struct smtp_parse_error err;

	test_begin("smtp_command_parse line length");
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	test_assert(smtp_command_parse(line, SMTP_PARSER_LINE_MAX, &cmd,
	    &err) == 0);
	test_assert(strlen(cmd.arg) == SMTP_PARSER_LINE_MAX - 5);
	test_assert(smtp_command_parse(line, SMTP_PARSER_LINE_MAX + 1, &cmd,
	    &err) == -1);
	test_assert(err.code == 500 && strcmp(err.enhanced, "5.5.2") == 0);
	test_end();
}

int
main(void)
{
	test_parser_cases();
	test_parser_fields();
	test_parser_length();
	return test_exit();
}
