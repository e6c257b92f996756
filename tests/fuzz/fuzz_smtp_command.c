/* libFuzzer target for the SMTP command-line parser: any input must give
 * 0 or -1 without a crash, an error must carry a reply code, and the
 * pointers of a parsed command must stay inside cmd->buf.
 * FUZZ_SOURCES: src/smtp/smtp_parser.c src/smtp/smtp_addr.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parser.h"

static void
fuzz_smtp_command_inside(const struct smtp_command *cmd, const char *p)
{
	if (p != NULL && (p < cmd->buf || p > cmd->buf + sizeof(cmd->buf) - 1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_command cmd;
	struct smtp_parse_error err;
	char addr[600];

	if (smtp_command_parse((const char *)data, size, &cmd, &err) < 0) {
		if (err.code < 500 || err.code > 555 || err.enhanced == NULL ||
		    err.text == NULL)
			abort();
		return 0;
	}
	fuzz_smtp_command_inside(&cmd, cmd.verb);
	fuzz_smtp_command_inside(&cmd, cmd.arg);
	if (strlen(cmd.verb) == 0 || smtp_cmd_name(cmd.cmd) == NULL)
		abort();
	if (cmd.nparams > SMTP_PARSER_PARAMS_MAX)
		abort();
	for (size_t i = 0; i < cmd.nparams; i++) {
		fuzz_smtp_command_inside(&cmd, cmd.params[i].keyword);
		fuzz_smtp_command_inside(&cmd, cmd.params[i].value);
	}
	if ((cmd.cmd == SMTP_CMD_MAIL || cmd.cmd == SMTP_CMD_RCPT) &&
	    smtp_addr_format(&cmd.path, addr, sizeof(addr)) < 0)
		abort();
	return 0;
}
