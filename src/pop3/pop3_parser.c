/* POP3 command lines (pop3_parser.h): RFC 1939 section 3 (keywords are
 * case-blind, arguments separated by spaces, PASS takes the rest of the
 * line since a password may contain spaces, section 7), RFC 2449 CAPA,
 * RFC 2595 STLS and RFC 5034 AUTH with an optional initial response,
 * and XCLIENT ADDR= (a trusted proxy naming its client, pop3_cmd_auth.c).
 * Per-command argument counts and number syntax are checked here, so the
 * session only decides what a valid command means in its state.  Also
 * the byte transformer for RETR/TOP bodies (RFC 1939 section 3: CRLF,
 * byte-stuffing of a leading '.').  No I/O, no allocation. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "pop3/pop3_parser.h"

enum pop3_argkind {
	POP3_ARGS_NONE,		/* no argument */
	POP3_ARGS_WORDS,	/* min..max words */
	POP3_ARGS_REST,		/* the rest of the line, non-empty */
	POP3_ARGS_MSG,		/* min..max numbers: msg [lines] */
};

struct pop3_cmd_syntax {
	const char *name;
	enum pop3_cmd cmd;
	enum pop3_argkind kind;
	unsigned min, max;
};

static const struct pop3_cmd_syntax pop3_syntax[] = {
	{ "USER", POP3_CMD_USER, POP3_ARGS_WORDS, 1, 1 },
	{ "PASS", POP3_CMD_PASS, POP3_ARGS_REST, 1, 1 },
	{ "AUTH", POP3_CMD_AUTH, POP3_ARGS_WORDS, 0, 2 },
	{ "STLS", POP3_CMD_STLS, POP3_ARGS_NONE, 0, 0 },
	{ "CAPA", POP3_CMD_CAPA, POP3_ARGS_NONE, 0, 0 },
	{ "STAT", POP3_CMD_STAT, POP3_ARGS_NONE, 0, 0 },
	{ "LIST", POP3_CMD_LIST, POP3_ARGS_MSG, 0, 1 },
	{ "RETR", POP3_CMD_RETR, POP3_ARGS_MSG, 1, 1 },
	{ "DELE", POP3_CMD_DELE, POP3_ARGS_MSG, 1, 1 },
	{ "NOOP", POP3_CMD_NOOP, POP3_ARGS_NONE, 0, 0 },
	{ "RSET", POP3_CMD_RSET, POP3_ARGS_NONE, 0, 0 },
	{ "QUIT", POP3_CMD_QUIT, POP3_ARGS_NONE, 0, 0 },
	{ "TOP", POP3_CMD_TOP, POP3_ARGS_MSG, 2, 2 },
	{ "UIDL", POP3_CMD_UIDL, POP3_ARGS_MSG, 0, 1 },
	{ "APOP", POP3_CMD_APOP, POP3_ARGS_WORDS, 2, 2 },
	{ "XCLIENT", POP3_CMD_XCLIENT, POP3_ARGS_WORDS, 1, 1 },
};

#define POP3_NSYNTAX (sizeof(pop3_syntax) / sizeof(pop3_syntax[0]))

const char *
pop3_cmd_name(enum pop3_cmd cmd)
{
	for (size_t i = 0; i < POP3_NSYNTAX; i++)
		if (pop3_syntax[i].cmd == cmd)
			return pop3_syntax[i].name;
	return "UNKNOWN";
}

const char *
pop3_parse_error_text(enum pop3_parse_error e)
{
	switch (e) {
	case POP3_PERR_EMPTY:
		return "Empty command";
	case POP3_PERR_LONG:
		return "Line too long";
	case POP3_PERR_NUL:
		return "Control characters not allowed";
	case POP3_PERR_UNKNOWN:
		return "Unknown command";
	case POP3_PERR_ARGS:
		return "Wrong number of arguments";
	case POP3_PERR_NUMBER:
		return "Invalid message number";
	case POP3_PERR_ADDR:
		return "Invalid XCLIENT address";
	default:
		return "Syntax error";
	}
}

/* Decimal digits only; 0 or -1 (empty, other octets, above max). */
static int
pop3_parse_number(const char *s, uint64_t max, uint64_t *r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*r = v;
	return 0;
}

/* Splits buf at spaces into at most max words (NUL-terminated in place);
 * returns the count, or max + 1 when there are more. */
static unsigned
pop3_split(char *p, char **words, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p != ' ' && *p != '\0')
			p++;
		if (*p == ' ')
			*p++ = '\0';
	}
}

static const struct pop3_cmd_syntax *
pop3_find_verb(char *verb)
{
	for (char *p = verb; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	for (size_t i = 0; i < POP3_NSYNTAX; i++)
		if (strcmp(pop3_syntax[i].name, verb) == 0)
			return &pop3_syntax[i];
	return NULL;
}

static int
pop3_parse_msgargs(struct pop3_command *cmd, char **w, unsigned n)
{
	uint64_t v;

	if (n == 0)
		return 0;
	if (pop3_parse_number(w[0], UINT32_MAX, &v) < 0 || v == 0)
		return -1;
	cmd->has_msg = true;
	cmd->msg = (uint32_t)v;
	if (n == 2 && pop3_parse_number(w[1], UINT64_MAX / 2,
	    &cmd->lines) < 0)
		return -1;
	return 0;
}

/* XCLIENT's one word: "ADDR=" (case-blind) and 1 to
 * POP3_XCLIENT_ADDR_MAX hex digits, dots and colons; cmd->arg is the
 * address.  0 or -1. */
static int
pop3_parse_xclient(struct pop3_command *cmd, const char *w)
{
	const char *a;
	size_t n;

	if (strncasecmp(w, "ADDR=", 5) != 0)
		return -1;
	a = w + 5;
	n = strlen(a);
	if (n == 0 || n > POP3_XCLIENT_ADDR_MAX ||
	    strspn(a, "0123456789abcdefABCDEF.:") != n)
		return -1;
	cmd->arg = a;
	return 0;
}

/* The arguments after the verb (rest points past the verb and its
 * separating space, or to ""). */
static int
pop3_parse_args(const struct pop3_cmd_syntax *syn, char *rest,
    struct pop3_command *cmd, enum pop3_parse_error *err_r)
{
	char *w[3];
	unsigned n;

	if (syn->kind == POP3_ARGS_REST) {
		if (*rest == '\0')
			goto args;
		cmd->arg = rest;
		return 0;
	}
	n = pop3_split(rest, w, syn->max);
	if (n < syn->min || n > syn->max)
		goto args;
	if (syn->kind == POP3_ARGS_MSG) {
		if (pop3_parse_msgargs(cmd, w, n) < 0) {
			*err_r = POP3_PERR_NUMBER;
			return -1;
		}
		return 0;
	}
	if (syn->cmd == POP3_CMD_XCLIENT) {
		if (n == 1 && pop3_parse_xclient(cmd, w[0]) == 0)
			return 0;
		*err_r = POP3_PERR_ADDR;
		return -1;
	}
	if (n >= 1 && strlen(w[0]) > POP3_ARG_MAX)
		goto args;
	if (n >= 1)
		cmd->arg = w[0];
	if (n >= 2)
		cmd->arg2 = w[1];
	if (syn->cmd == POP3_CMD_AUTH)
		pop3_find_verb((char *)cmd->arg);	/* upper-cases it */
	return 0;
args:
	*err_r = POP3_PERR_ARGS;
	return -1;
}

int
pop3_command_parse(const char *line, size_t len, struct pop3_command *cmd,
    enum pop3_parse_error *err_r)
{
	const struct pop3_cmd_syntax *syn;
	char *sp;

	memset(cmd, 0, offsetof(struct pop3_command, buf));
	cmd->arg = "";
	*err_r = len == 0 ? POP3_PERR_EMPTY : len > POP3_LINE_MAX - 2 ?
	    POP3_PERR_LONG : POP3_PERR_NONE;
	for (size_t i = 0; i < len && *err_r == POP3_PERR_NONE; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			*err_r = POP3_PERR_NUL;
	if (*err_r != POP3_PERR_NONE)
		return -1;
	memcpy(cmd->buf, line, len);
	cmd->buf[len] = '\0';
	cmd->verb = cmd->buf;
	sp = strchr(cmd->buf, ' ');
	if (sp != NULL)
		*sp++ = '\0';
	if (strlen(cmd->buf) > 8 || (syn = pop3_find_verb(cmd->buf)) == NULL) {
		*err_r = POP3_PERR_UNKNOWN;
		return -1;
	}
	cmd->cmd = syn->cmd;
	return pop3_parse_args(syn, sp != NULL ? sp : "", cmd, err_r);
}

/* ---- RETR/TOP bodies ---- */

void
pop3_stuff_init(struct pop3_stuff *st, bool top, uint64_t lines)
{
	memset(st, 0, sizeof(*st));
	st->top = top;
	st->lines = lines;
	st->line_start = true;
}

/* A line ended: the header's end switches to the body; TOP counts. */
static void
pop3_stuff_eol(struct pop3_stuff *st)
{
	bool empty = st->line_len == 0 ||
	    (st->line_len == 1 && st->prev == '\r');

	if (!st->in_body) {
		if (empty) {
			st->in_body = true;
			if (st->top && st->lines == 0)
				st->done = true;
		}
	} else if (st->top && --st->lines == 0)
		st->done = true;
	st->line_start = true;
	st->line_len = 0;
}

void
pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t n,
    struct fbuf *out)
{
	const char *p = in, *end = in + n, *nl, *seg;

	while (p < end && !st->done) {
		if (st->line_start && *p == '.')
			fbuf_addc(out, '.');
		st->line_start = false;
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = nl != NULL ? nl : end;
		if (seg > p) {
			fbuf_add(out, p, (size_t)(seg - p));
			st->line_len += (uint64_t)(seg - p);
			st->prev = seg[-1];
		}
		if (nl == NULL)
			break;
		if (st->prev == '\r' && st->line_len > 0)
			fbuf_addc(out, '\n');
		else
			fbuf_add(out, "\r\n", 2);
		pop3_stuff_eol(st);
		st->prev = '\n';
		p = nl + 1;
	}
}

void
pop3_stuff_end(struct pop3_stuff *st, struct fbuf *out)
{
	if (!st->line_start && !st->done)
		fbuf_adds(out, st->prev == '\r' ? "\n" : "\r\n");
	fbuf_add(out, ".\r\n", 3);
}
