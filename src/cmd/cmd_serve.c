/* `ferry serve`, `ferry reload`, `ferry stop`: argument parsing; the
 * supervisor itself is src/serve/serve.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "conf/conf.h"
#include "ferry.h"
#include "net/rolectl.h"
#include "serve/serve.h"

#define CMD_RELOAD_WAIT 120	/* seconds (roles answer within 60) */

int
cmd_serve(struct cli *cli, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage("[-c FILE] serve");
	if (cli_load_conf(cli) < 0)
		return 1;
	return serve_run(cli->conf.path);
}

/* Sends sig to the running server named by state_dir/ferry.pid. */
static int
cmd_serve_signal(struct cli *cli, int sig, pid_t *pid_r)
{
	char error[PATH_MAX + 64];

	if (cli_load_conf(cli) < 0)
		return 1;
	if (serve_running_pid(&cli->conf, pid_r, error, sizeof(error)) < 0)
		return cli_fail("%s", error);
	if (kill(*pid_r, sig) == -1)
		return cli_fail("no running server (pid %d)", (int)*pid_r);
	return 0;
}

/* The configuration is checked here first (FILE:LINE on the terminal),
 * then the running server is asked over state_dir/serve.sock and its
 * answer awaited: exit 0 only when every role applied the new file. */
int
cmd_reload(struct cli *cli, int argc, char **argv)
{
	char path[PATH_MAX], reply[ROLECTL_LINE_MAX];
	const char *error;
	struct conf check;

	if (argc != 1)
		return cli_usage("[-c FILE] reload");
	if (cli_load_conf(cli) < 0)
		return 1;
	conf_defaults(&check);
	if (conf_load(&check, cli->conf_path, &error) < 0)
		return cli_fail("%s", error);
	conf_free(&check);
	conf_state_path(&cli->conf, path, sizeof(path), FERRY_SERVE_SOCK);
	if (rolectl_call(path, "reload", reply, sizeof(reply), CMD_RELOAD_WAIT,
	    &error) < 0)
		return cli_fail("no answer from a running server (%s: %s)",
		    path, error);
	if (strncmp(reply, "ok", 2) != 0)
		return cli_fail("reload refused, the running configuration "
		    "stays: %s", strncmp(reply, "error ", 6) == 0 ?
		    reply + 6 : reply);
	printf("reloaded\n");
	return 0;
}

int
cmd_stop(struct cli *cli, int argc, char **argv)
{
	pid_t pid;

	if (argc != 1)
		return cli_usage("[-c FILE] stop");
	if (cmd_serve_signal(cli, SIGTERM, &pid) != 0)
		return 1;
	for (int i = 0; i < 300 && serve_alive(pid); i++)
		usleep(100000);
	if (serve_alive(pid))
		return cli_fail("server (pid %d) still running after 30 s",
		    (int)pid);
	printf("stopped\n");
	return 0;
}
