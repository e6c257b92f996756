/* Command-line subcommands: `ferry [-c FILE] COMMAND ...` in the manner
 * of git.  Each cmd_<name>() returns the exit status: 0 success, 1
 * failure, 2 usage error, with one clear line on stderr for 1 and 2.
 * Output is for people by default and JSON with --json. */
#ifndef FERRY_CMD_H
#define FERRY_CMD_H
#include <stdbool.h>
#include <stddef.h>

#include <time.h>

#include "conf/conf.h"
#include "net/reach.h"

struct ops_actor;
struct ops_ctx;
struct resolve_opts;
struct store;

struct cli {
	const char *conf_path;	/* resolved: -c, $FERRY_CONF or default */
	struct conf conf;
	bool conf_loaded;
	const char *prog;	/* "ferry" */
};

/* Loads the configuration once; on error prints it and returns -1. */
int cli_load_conf(struct cli *cli);
/* Loads the configuration, creates state_dir, drops privileges to run_as
 * when root (as the server does), opens the store.  -1 after printing. */
int cli_open_store(struct cli *cli, struct store **sp);
/* The operations context of the command line: actor a (an admin named
 * "cli"), store s and the configuration's address rules, into c. */
void cli_ops_ctx(const struct cli *cli, struct store *s, struct ops_actor *a,
    struct ops_ctx *c);
/* Print "ferry: <message>" to stderr and return 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "usage: ferry <text>" to stderr and return 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a password: first line of stdin when it is not a terminal, else
 * prompts twice on the terminal without echo.  0 (dst filled) or -1 after
 * printing why. */
int cli_read_password(char *dst, size_t size);
/* Writes s as a JSON string literal (with quotes) to stdout, escaped by
 * json_escape() (lib/json.h). */
void cli_json_str(const char *s);
/* True when argv[i] for some i is "--json" (and removes it). */
bool cli_take_flag(int *argc, char **argv, const char *flag);
/* Takes "NAME VALUE" out of argv: 1 (*value_r set), 0 absent, -1 no
 * value or given twice (*value_r must start NULL). */
int cli_take_opt(int *argc, char **argv, const char *name,
    const char **value_r);
/* The address rules of the configuration (local_part_case_sensitive,
 * recipient_delimiter) for the resolve_parse_* calls. */
void cli_resolve_opts(const struct cli *cli, struct resolve_opts *o);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_reload(struct cli *cli, int argc, char **argv);
int cmd_stop(struct cli *cli, int argc, char **argv);
int cmd_domain(struct cli *cli, int argc, char **argv);
/* `domain records DOMAIN [--check]` (cmd_domain_records.c); --json was
 * taken from argv already. */
int cmd_domain_records(struct cli *cli, int argc, char **argv, bool json);
int cmd_user(struct cli *cli, int argc, char **argv);
/* `user forward ...` and `user vacation ...` (argv[1] is the verb). */
int cmd_user_forward(struct cli *cli, int argc, char **argv);
int cmd_user_vacation(struct cli *cli, int argc, char **argv);
/* Outbound abuse control verbs of `user` and `domain` (cmd_send.c):
 * whether verb is one of what's ("user" or "domain"), and running it
 * (argv[1] is the verb). */
bool cmd_send_verb(const char *what, const char *verb);
int cmd_send(struct cli *cli, const char *what, int argc, char **argv);
int cmd_alias(struct cli *cli, int argc, char **argv);
/* `store bench ...` (cmd_store_bench.c); argv[0] is "bench". */
int cmd_store_bench(struct cli *cli, int argc, char **argv);
int cmd_queue(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
/* `check sender DOMAIN [--ip IP]` (cmd_check_sender.c); argv[0] is
 * "sender". */
int cmd_check_sender(struct cli *cli, int argc, char **argv);
/* `check ip IP` (cmd_check_ip.c); argv[0] is "ip". */
int cmd_check_ip(struct cli *cli, int argc, char **argv);
/* `check spf ...` (cmd_check_spf.c); argv[0] is "spf". */
int cmd_check_spf(struct cli *cli, int argc, char **argv);
/* `check reach` and the reachability memory as `check mx` shows it
 * (cmd_check_reach.c): the file state_dir/reachability read into t (an
 * absent file is an empty table): 0, or -1 when it cannot be read. */
struct cmd_reach {
	const struct conf *conf;
	time_t now;
	struct reach_entry *v;
	size_t n;
};
int cmd_reach_load(const struct conf *c, struct cmd_reach *t);
const struct reach_entry *cmd_reach_find(const struct cmd_reach *t,
    const char *key);
bool cmd_reach_is_down(const struct cmd_reach *t,
    const struct reach_entry *e);
/* One line for people: "down (refused) since ...", "up, ...". */
void cmd_reach_verdict(const struct cmd_reach *t, const struct reach_entry *e,
    char *dst, size_t size);
void cmd_reach_json(const struct cmd_reach *t, const struct reach_entry *e);
void cmd_reach_free(struct cmd_reach *t);
int cmd_check_reach(struct cli *cli, bool json);
/* `check dns [NAME] --resolvers` (cmd_check_dns.c): A, AAAA and MX of
 * name (NULL: the first hosted domain, else hostname) from every
 * resolver on its own. */
int cmd_check_dns_all(struct cli *cli, const char *name, bool json);
/* `check mx DOMAIN` (cmd_check_mx.c): probe unless no-connect, each
 * phase capped at cap seconds (0: the default), a greeting later than
 * tarpit seconds (0: the default) is a tarpit. */
int cmd_check_mx(struct cli *cli, const char *domain, bool json, bool probe,
    unsigned cap, unsigned tarpit);
int cmd_ban(struct cli *cli, int argc, char **argv);
int cmd_rule(struct cli *cli, int argc, char **argv);
int cmd_why(struct cli *cli, int argc, char **argv);
int cmd_dkim(struct cli *cli, int argc, char **argv);
int cmd_dmarc(struct cli *cli, int argc, char **argv);
/* `dmarc reports DOMAIN ...` and `dmarc import PATH...`
 * (cmd_dmarc_in.c); argv[0] is the verb. */
int cmd_dmarc_reports(struct cli *cli, int argc, char **argv);
int cmd_dmarc_import(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
/* sendmail, mailq (-bp), newaliases (-bi): exit codes of sysexits.h. */
int cmd_sendmail(struct cli *cli, int argc, char **argv);
/* quickstart DOMAIN [--hostname H]: configuration, accounts, DNS. */
int cmd_quickstart(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
/* import vpopmail DIR [--dry-run] [--json] (cmd_import.c). */
int cmd_import(struct cli *cli, int argc, char **argv);
/* store migrate --from STORE --to STORE (cmd_store.c). */
int cmd_store(struct cli *cli, int argc, char **argv);
/* node add|del|list (cmd_node.c). */
int cmd_node(struct cli *cli, int argc, char **argv);
/* domain node DOMAIN NODE|--none and domain show DOMAIN (cmd_node.c);
 * --json was taken from argv already. */
int cmd_domain_node(struct cli *cli, int argc, char **argv, bool json);

#endif
