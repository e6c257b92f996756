/* `ferry ban ...`: failed-login bans (placeholder until implemented). */
#include "cmd/cmd.h"

int
cmd_ban(struct cli *cli, int argc, char **argv)
{
	return cli_fail("ban: not implemented yet");
}
