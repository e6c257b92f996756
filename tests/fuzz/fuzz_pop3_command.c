/* libFuzzer target for the POP3 command parser and the RETR/TOP body
 * transformer (src/pop3/pop3_parser.c).  The first input octet picks:
 *  - even: the rest is one command line.  A parse gives 0 or -1; an error
 *    has a reason with a text; a parsed command has a known verb, its
 *    strings inside cmd->buf (or the empty string), a message number of at
 *    least 1 when it has one, and XCLIENT's address 1 to
 *    POP3_XCLIENT_ADDR_MAX hex digits, dots and colons.
 *  - odd: the rest is message content sent as RETR (or TOP with the
 *    octet's high bits as the line count).  Fed whole and fed one octet at a
 *    time it gives the same output, which has no bare LF and ends in
 *    "." CRLF, after a CRLF unless it is nothing else.
 * FUZZ_SOURCES: src/pop3/pop3_parser.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "pop3/pop3_parser.h"

static void
fuzz_pop3_inside(const struct pop3_command *cmd, const char *p)
{
	if (p == NULL || *p == '\0')
		return;
	if (p < cmd->buf || p + strlen(p) > cmd->buf + POP3_LINE_MAX)
		abort();
}

static void
fuzz_pop3_command(const char *line, size_t len)
{
	static struct pop3_command cmd;
	enum pop3_parse_error err;

	if (pop3_command_parse(line, len, &cmd, &err) < 0) {
		if (err == POP3_PERR_NONE || pop3_parse_error_text(err) == NULL)
			abort();
		return;
	}
	if (err != POP3_PERR_NONE || cmd.cmd <= POP3_CMD_UNKNOWN ||
	    cmd.cmd >= POP3_CMD_COUNT || pop3_cmd_name(cmd.cmd) == NULL)
		abort();
	if (cmd.verb == NULL || cmd.verb[0] == '\0' || cmd.arg == NULL)
		abort();
	fuzz_pop3_inside(&cmd, cmd.verb);
	fuzz_pop3_inside(&cmd, cmd.arg);
	fuzz_pop3_inside(&cmd, cmd.arg2);
	if (cmd.has_msg && cmd.msg == 0)
		abort();
	/* XCLIENT: an address of the allowed octets and length only */
	if (cmd.cmd == POP3_CMD_XCLIENT && (cmd.arg[0] == '\0' ||
	    strlen(cmd.arg) > POP3_XCLIENT_ADDR_MAX ||
	    strspn(cmd.arg, "0123456789abcdefABCDEF.:") != strlen(cmd.arg)))
		abort();
}

static void
fuzz_pop3_stuff(const char *in, size_t len, bool top, uint64_t lines)
{
	struct pop3_stuff st;
	struct fbuf whole, bytes;

	fbuf_init(&whole, 0);
	fbuf_init(&bytes, 0);
	pop3_stuff_init(&st, top, lines);
	pop3_stuff_feed(&st, in, len, &whole);
	pop3_stuff_end(&st, &whole);
	pop3_stuff_init(&st, top, lines);
	for (size_t i = 0; i < len; i++)
		pop3_stuff_feed(&st, in + i, 1, &bytes);
	pop3_stuff_end(&st, &bytes);
	if (whole.len != bytes.len ||
	    memcmp(fbuf_str(&whole), fbuf_str(&bytes), whole.len) != 0)
		abort();
	if (whole.len < 3 ||
	    memcmp(fbuf_str(&whole) + whole.len - 3, ".\r\n", 3) != 0 ||
	    (whole.len > 3 && (whole.len < 5 ||
	    memcmp(fbuf_str(&whole) + whole.len - 5, "\r\n", 2) != 0)))
		abort();
	for (size_t i = 0; i < whole.len; i++)
		if (whole.data[i] == '\n' && (i == 0 || whole.data[i - 1] != '\r'))
			abort();
	fbuf_release(&whole);
	fbuf_release(&bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	/* an exact-size copy so that ASan sees any read past the end */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	if ((data[0] & 1) == 0)
		fuzz_pop3_command(s, size - 1);
	else
		fuzz_pop3_stuff(s, size - 1, (data[0] & 2) != 0, data[0] >> 2);
	free(s);
	return 0;
}
