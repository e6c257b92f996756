/* ferry: argv dispatch only.  `ferry [-c FILE] COMMAND [ARGS...]`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/log.h"

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "serve              run the server in the foreground" },
	{ "reload", cmd_reload, "reload             reread the configuration (SIGHUP)" },
	{ "stop", cmd_stop, "stop               stop the running server" },
	{ "status", cmd_status, "status [--json]    roles, listeners, queue, bans, resolvers, last errors" },
	{ "domain", cmd_domain, "domain add|del|list|show|node|suspend|resume|limit DOMAIN [--force]" },
	{ "user", cmd_user, "user add|del|list|passwd|quota|send-hold|send-release|limit ADDRESS [--quota SIZE] [--force]" },
	{ "alias", cmd_alias, "alias add|del|list ADDRESS [TARGET,...]" },
	{ "queue", cmd_queue, "queue list [--summary] [--domain|--from|--to|--older|--newer X] [--json] | show|delete|retry|hold|release|bounce ID" },
	{ "check", cmd_check, "check dns NAME [TYPE] | check mx DOMAIN | check spf IP SENDER [HELO]  (diagnostics)" },
	{ "ban", cmd_ban, "ban list | add IP|CIDR [--for DURATION] | del IP|CIDR" },
	{ "rule", cmd_rule, "rule add DOMAIN allow|deny sender ADDR|@DOM / ip CIDR | add DOMAIN skip CHECK,... | list [DOMAIN] | del ID" },
	{ "dkim", cmd_dkim, "dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] | list [DOMAIN]" },
	{ "dmarc", cmd_dmarc, "dmarc report [--dry-run] [--domain DOMAIN] [--date YYYY-MM-DD]" },
	{ "why", cmd_why, "why --ip IP | --from ADDR | --to ADDR | --user ADDR | --id ID | --domain DOMAIN [--since DURATION] [--all-nodes] [--json]" },
	{ "sendmail", cmd_sendmail, "sendmail [-t] [-i] [-f SENDER] [-F NAME] [-bs|-bp] [RCPT...]  (man ferry-sendmail)" },
	{ "import", cmd_import, "import vpopmail DIR [--dry-run] [--json]  (take over a qmail + vpopmail tree)" },
	{ "quickstart", cmd_quickstart, "quickstart DOMAIN [--hostname HOST]  (configuration, postmaster, DKIM, DNS records)" },
	{ "node", cmd_node, "node add NAME --smtp IP:PORT [--imap IP:PORT] [--pop3 IP:PORT] [--replace] | del NAME | list [--json]" },
	{ "store", cmd_store, "store migrate --from sqlite:PATH --to postgresql://...  (copy a store, checked by counts)" },
	{ "version", cmd_version, "version" },
};

/* Errors get one line on stderr; --help gets the list on stdout. */
static int
usage(void)
{
	fprintf(stderr, "usage: ferry [-c FILE] COMMAND [ARGS...] "
	    "(ferry --help lists the commands)\n");
	return 2;
}

static int
help(void)
{
	printf("usage: ferry [-c FILE] COMMAND [ARGS...]\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s\n", commands[i].help);
	return 0;
}

/* Called as sendmail, mailq or newaliases (links to the binary): the
 * programs that run those names know nothing of `ferry -c`. */
static int
main_as_sendmail(struct cli *cli, int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	char *mailq[] = { "mailq", "-bp", NULL };
	char *newaliases[] = { "newaliases", "-bi", NULL };
	int status;

	base = base != NULL ? base + 1 : argv[0];
	if (strcmp(base, "mailq") == 0) {
		argc = 2;
		argv = mailq;
	} else if (strcmp(base, "newaliases") == 0) {
		argc = 2;
		argv = newaliases;
	} else if (strcmp(base, "sendmail") != 0)
		return -1;
	cli->conf_path = conf_path(NULL);
	status = cmd_sendmail(cli, argc, argv);
	if (cli->conf_loaded)
		conf_free(&cli->conf);
	return status;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const char *conf_opt = NULL;
	int i = 1, st;

	memset(&cli, 0, sizeof(cli));
	cli.prog = "ferry";
	log_init("ferry", LOG_LVL_INFO);
	if (argc > 0 && (st = main_as_sendmail(&cli, argc, argv)) >= 0)
		return st;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf_opt = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
			conf_opt = argv[i] + 2;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			return help();
		} else if (strcmp(argv[i], "--version") == 0) {
			return cmd_version(&cli, 0, NULL);
		} else {
			fprintf(stderr, "ferry: unknown option %s (ferry --help "
			    "lists the commands)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc)
		return usage();
	cli.conf_path = conf_path(conf_opt);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		int status;

		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		status = commands[k].fn(&cli, argc - i, argv + i);
		if (cli.conf_loaded)
			conf_free(&cli.conf);
		return status;
	}
	fprintf(stderr, "ferry: unknown command %s (ferry --help lists the "
	    "commands)\n", argv[i]);
	return 2;
}
