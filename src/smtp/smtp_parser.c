/* SMTP command-line parser: verb lookup, argument rules per verb, and the
 * MAIL/RCPT forms "FROM:<path> params" / "TO:<path> params" of RFC 5321
 * section 4.1.1 and 4.1.2, with the ESMTP parameters SIZE (RFC 1870),
 * BODY (RFC 6152), SMTPUTF8 (RFC 6531) and AUTH (RFC 4954, ignored);
 * BDAT (RFC 3030 section 2).
 * It copies the line into cmd->buf and splits it there, so it allocates
 * nothing.  It knows nothing about session state: whether a command is
 * allowed now, or whether a UTF-8 recipient fits the transaction, is the
 * session's decision. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parser.h"

enum smtp_parser_argrule {
	SMTP_ARG_NONE,		/* no argument allowed */
	SMTP_ARG_OPTIONAL,
	SMTP_ARG_REQUIRED,
	SMTP_ARG_SPECIAL	/* MAIL, RCPT, BDAT: own parser */
};

static const struct smtp_parser_verb {
	const char *name;
	enum smtp_cmd cmd;
	enum smtp_parser_argrule arg;
} smtp_parser_verbs[] = {
	{ "HELO", SMTP_CMD_HELO, SMTP_ARG_REQUIRED },
	{ "EHLO", SMTP_CMD_EHLO, SMTP_ARG_REQUIRED },
	{ "MAIL", SMTP_CMD_MAIL, SMTP_ARG_SPECIAL },
	{ "RCPT", SMTP_CMD_RCPT, SMTP_ARG_SPECIAL },
	{ "DATA", SMTP_CMD_DATA, SMTP_ARG_NONE },
	{ "BDAT", SMTP_CMD_BDAT, SMTP_ARG_SPECIAL },
	{ "RSET", SMTP_CMD_RSET, SMTP_ARG_NONE },
	{ "NOOP", SMTP_CMD_NOOP, SMTP_ARG_OPTIONAL },
	{ "QUIT", SMTP_CMD_QUIT, SMTP_ARG_NONE },
	{ "VRFY", SMTP_CMD_VRFY, SMTP_ARG_OPTIONAL },
	{ "EXPN", SMTP_CMD_EXPN, SMTP_ARG_OPTIONAL },
	{ "HELP", SMTP_CMD_HELP, SMTP_ARG_OPTIONAL },
	{ "STARTTLS", SMTP_CMD_STARTTLS, SMTP_ARG_NONE },
	{ "AUTH", SMTP_CMD_AUTH, SMTP_ARG_REQUIRED },
};

#define SMTP_PARSER_NVERBS \
	(sizeof(smtp_parser_verbs) / sizeof(smtp_parser_verbs[0]))

static int
smtp_parser_fail(struct smtp_parse_error *err, int code, const char *enhanced,
    const char *text)
{
	err->code = code;
	err->enhanced = enhanced;
	err->text = text;
	return -1;
}

const char *
smtp_cmd_name(enum smtp_cmd cmd)
{
	for (size_t i = 0; i < SMTP_PARSER_NVERBS; i++)
		if (smtp_parser_verbs[i].cmd == cmd)
			return smtp_parser_verbs[i].name;
	return "UNKNOWN";
}

static void
smtp_parser_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

/* Strict unsigned decimal, at most 20 digits, overflow-checked. */
static int
smtp_parser_uint(const char *s, uint64_t *r)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' ||
		    __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -1;
	}
	*r = v;
	return 0;
}

static bool
smtp_parser_has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Splits "KEYWORD[=value]" (RFC 5321 esmtp-param) in place. */
static int
smtp_parser_split_param(char *s, struct smtp_param *p,
    struct smtp_parse_error *err)
{
	char *eq = strchr(s, '=');

	p->keyword = s;
	p->value = NULL;
	if (eq != NULL) {
		*eq = '\0';
		p->value = eq + 1;
		if (*p->value == '\0' || strchr(p->value, '=') != NULL)
			return smtp_parser_fail(err, 501, "5.5.4",
			    "Syntax error in parameters");
	}
	if (*s == '\0' || *s == '-')
		return smtp_parser_fail(err, 501, "5.5.4",
		    "Syntax error in parameters");
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-'))
			return smtp_parser_fail(err, 501, "5.5.4",
			    "Syntax error in parameters");
	smtp_parser_upper((char *)p->keyword);
	return 0;
}

/* Splits the space-separated parameters in s (in place) into
 * cmd->params, without judging keywords. */
static int
smtp_parser_params(char *s, struct smtp_command *cmd,
    struct smtp_parse_error *err)
{
	char *next;

	while (*s != '\0') {
		while (*s == ' ')
			*s++ = '\0';
		if (*s == '\0')
			break;
		next = strchr(s, ' ');
		if (next != NULL)
			*next++ = '\0';
		if (cmd->nparams == SMTP_PARSER_PARAMS_MAX)
			return smtp_parser_fail(err, 555, "5.5.4",
			    "Too many parameters");
		if (smtp_parser_split_param(s, &cmd->params[cmd->nparams],
		    err) < 0)
			return -1;
		cmd->nparams++;
		s = next != NULL ? next : s + strlen(s);
	}
	return 0;
}

/* Applies one MAIL parameter; seen is a bit set against duplicates. */
static int
smtp_parser_mail_param(struct smtp_command *cmd, const struct smtp_param *p,
    unsigned *seen, struct smtp_parse_error *err)
{
	unsigned bit;

	if (strcmp(p->keyword, "SIZE") == 0) {
		bit = 1;
		if (p->value == NULL ||
		    smtp_parser_uint(p->value, &cmd->size) < 0)
			return smtp_parser_fail(err, 555, "5.5.4",
			    "Invalid SIZE value");
		cmd->has_size = true;
	} else if (strcmp(p->keyword, "BODY") == 0) {
		bit = 2;
		if (p->value != NULL && strcasecmp(p->value, "7BIT") == 0)
			cmd->body = SMTP_BODY_7BIT;
		else if (p->value != NULL &&
		    strcasecmp(p->value, "8BITMIME") == 0)
			cmd->body = SMTP_BODY_8BITMIME;
		else
			return smtp_parser_fail(err, 555, "5.5.4",
			    "Unsupported BODY value");
	} else if (strcmp(p->keyword, "SMTPUTF8") == 0) {
		bit = 4;
		if (p->value != NULL)
			return smtp_parser_fail(err, 555, "5.5.4",
			    "SMTPUTF8 takes no value");
		cmd->smtputf8 = true;
	} else if (strcmp(p->keyword, "AUTH") == 0) {
		/* RFC 4954 section 5: the value is only a claim by the
		 * client; it is accepted and ignored (never trusted). */
		bit = 8;
		if (p->value == NULL || p->value[0] == '\0')
			return smtp_parser_fail(err, 501, "5.5.4",
			    "AUTH parameter needs a value");
	} else
		return smtp_parser_fail(err, 555, "5.5.4",
		    "Unsupported parameter");
	if (*seen & bit)
		return smtp_parser_fail(err, 555, "5.5.4",
		    "Duplicate parameter");
	*seen |= bit;
	return 0;
}

/* Finds the end of "<...>" starting at s[0] == '<', skipping quoted
 * strings so that a '>' inside quotes does not end it.  Returns a pointer
 * just past '>', or NULL when unbalanced. */
static char *
smtp_parser_path_end(char *s)
{
	bool quoted = false;

	for (s++; *s != '\0'; s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '>')
			return s + 1;
	}
	return NULL;
}

/* "FROM:<path> params" or "TO:<path> params". */
static int
smtp_parser_mailrcpt(struct smtp_command *cmd, char *arg, bool mail,
    struct smtp_parse_error *err)
{
	const char *prefix = mail ? "FROM:" : "TO:";
	const char *enh = mail ? "5.1.7" : "5.1.3", *why;
	size_t plen = strlen(prefix);
	char *path, *end;
	unsigned flags, seen = 0;

	if (strncasecmp(arg, prefix, plen) != 0)
		return smtp_parser_fail(err, 501, "5.5.4", mail ?
		    "Syntax: MAIL FROM:<address>" :
		    "Syntax: RCPT TO:<address>");
	/* RFC 5321 allows no space here, but many clients send one. */
	for (path = arg + plen; *path == ' '; path++)
		;
	if (*path != '<' || (end = smtp_parser_path_end(path)) == NULL)
		return smtp_parser_fail(err, 501, enh,
		    "Address must be in angle brackets");
	if (*end != '\0' && *end != ' ')
		return smtp_parser_fail(err, 501, enh, "Junk after address");
	if (smtp_parser_params(end, cmd, err) < 0)
		return -1;
	if (mail) {
		for (size_t i = 0; i < cmd->nparams; i++)
			if (smtp_parser_mail_param(cmd, &cmd->params[i], &seen,
			    err) < 0)
				return -1;
		flags = SMTP_ADDR_F_ALLOW_NULL |
		    (cmd->smtputf8 ? SMTP_ADDR_F_UTF8 : 0);
	} else {
		if (cmd->nparams > 0)
			return smtp_parser_fail(err, 555, "5.5.4",
			    "Unsupported parameter");
		/* The transaction's SMTPUTF8 is the session's to check. */
		flags = SMTP_ADDR_F_POSTMASTER | SMTP_ADDR_F_UTF8;
	}
	if (smtp_addr_parse_path(path, (size_t)(end - path), flags,
	    &cmd->path, &why) < 0)
		return smtp_parser_fail(err, 501, enh, why);
	return 0;
}

/* "BDAT" SP chunk-size [ SP "LAST" ] */
static int
smtp_parser_bdat(struct smtp_command *cmd, char *arg,
    struct smtp_parse_error *err)
{
	char *sp = strchr(arg, ' ');

	if (sp != NULL) {
		*sp++ = '\0';
		while (*sp == ' ')
			sp++;
		if (strcasecmp(sp, "LAST") != 0)
			return smtp_parser_fail(err, 501, "5.5.4",
			    "Syntax: BDAT size [LAST]");
		cmd->last = true;
	}
	if (smtp_parser_uint(arg, &cmd->chunk_size) < 0)
		return smtp_parser_fail(err, 501, "5.5.4",
		    "Syntax: BDAT size [LAST]");
	return 0;
}

/* Checks the raw line: length, NUL, and control or 8-bit octets in the
 * verb (500: not a command at all) or control octets after it (501). */
static int
smtp_parser_check_line(const char *line, size_t len,
    struct smtp_parse_error *err)
{
	bool in_verb = true;

	if (len > SMTP_PARSER_LINE_MAX)
		return smtp_parser_fail(err, 500, "5.5.2", "Line too long");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch == ' ')
			in_verb = false;
		if (ch == '\0')
			return smtp_parser_fail(err, 500, "5.5.2",
			    "NUL character in command");
		if (in_verb && (ch >= 0x80 || ch < 32 || ch == 127))
			return smtp_parser_fail(err, 500, "5.5.2",
			    "Invalid command");
		if (ch < 32 || ch == 127)
			return smtp_parser_fail(err, 501, "5.5.4",
			    "Control character in command");
	}
	return 0;
}

static const struct smtp_parser_verb *
smtp_parser_lookup(const char *verb)
{
	for (size_t i = 0; i < SMTP_PARSER_NVERBS; i++)
		if (strcmp(smtp_parser_verbs[i].name, verb) == 0)
			return &smtp_parser_verbs[i];
	return NULL;
}

/* Applies the verb's argument rule. */
static int
smtp_parser_args(struct smtp_command *cmd, const struct smtp_parser_verb *v,
    char *arg, struct smtp_parse_error *err)
{
	if (v->cmd != SMTP_CMD_MAIL && v->cmd != SMTP_CMD_RCPT &&
	    smtp_parser_has_8bit(arg))
		return smtp_parser_fail(err, 501, "5.5.4",
		    "8-bit characters not allowed here");
	switch (v->arg) {
	case SMTP_ARG_NONE:
		if (*arg != '\0')
			return smtp_parser_fail(err, 501, "5.5.4",
			    "No parameters allowed");
		return 0;
	case SMTP_ARG_REQUIRED:
		if (*arg == '\0')
			return smtp_parser_fail(err, 501, "5.5.4",
			    "Argument required");
		return 0;
	case SMTP_ARG_OPTIONAL:
		return 0;
	default:
		break;
	}
	if (v->cmd == SMTP_CMD_BDAT)
		return smtp_parser_bdat(cmd, arg, err);
	return smtp_parser_mailrcpt(cmd, arg, v->cmd == SMTP_CMD_MAIL, err);
}

int
smtp_command_parse(const char *line, size_t len, struct smtp_command *cmd,
    struct smtp_parse_error *err)
{
	const struct smtp_parser_verb *v;
	char *arg, *end;

	memset(cmd, 0, offsetof(struct smtp_command, buf));
	memset(err, 0, sizeof(*err));
	if (smtp_parser_check_line(line, len, err) < 0)
		return -1;
	memcpy(cmd->buf, line, len);
	cmd->buf[len] = '\0';
	/* Trailing spaces are dropped: "DATA " is still DATA. */
	for (end = cmd->buf + len; end > cmd->buf && end[-1] == ' '; end--)
		end[-1] = '\0';
	if (cmd->buf[0] == '\0' || cmd->buf[0] == ' ')
		return smtp_parser_fail(err, 500, "5.5.2", "Invalid command");
	cmd->verb = cmd->buf;
	arg = strchr(cmd->buf, ' ');
	if (arg != NULL) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	} else
		arg = end;
	cmd->arg = arg;
	smtp_parser_upper(cmd->buf);
	if ((v = smtp_parser_lookup(cmd->verb)) == NULL)
		return 0;
	cmd->cmd = v->cmd;
	return smtp_parser_args(cmd, v, arg, err);
}
