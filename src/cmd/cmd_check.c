/* `ferry check ...`: diagnostics (placeholder until implemented). */
#include "cmd/cmd.h"

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	return cli_fail("check: not implemented yet");
}
