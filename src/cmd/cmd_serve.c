/* `ferry serve`, `ferry reload`, `ferry stop`: argument parsing; the
 * supervisor itself is src/serve/serve.c. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "conf/conf.h"
#include "serve/serve.h"

int
cmd_serve(struct cli *cli, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage("[-c FILE] serve");
	if (cli_load_conf(cli) < 0)
		return 1;
	return serve_run(&cli->conf);
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

int
cmd_reload(struct cli *cli, int argc, char **argv)
{
	pid_t pid;
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
	if (cmd_serve_signal(cli, SIGHUP, &pid) != 0)
		return 1;
	printf("reload requested (pid %d)\n", (int)pid);
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
