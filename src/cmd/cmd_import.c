/* `ferry import vpopmail DIR [--dry-run] [--json]`: takes over a qmail +
 * vpopmail installation (ops_import.h does the work).  On a terminal it
 * shows progress on stderr; SIGINT stops it at the next step boundary
 * (a second SIGINT kills it as usual), and running it again finishes the
 * job.  The summary says what was added, what was there already, and
 * every thing that could not be mapped.  Exit 0 when the import ran to
 * the end (notes or not), 1 when it failed or was interrupted. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "ops/ops_account.h"
#include "ops/ops_import.h"
#include "store/store.h"

#define CMD_IMPORT_USAGE "import vpopmail DIR [--dry-run] [--json]"

static volatile sig_atomic_t cmd_import_stop;

static void
cmd_import_sigint(int sig)
{
	cmd_import_stop = 1;
}

static void
cmd_import_progress(const struct ops_import_result *r, const char *where,
    void *ctx)
{
	fprintf(stderr, "\r\033[Kimporting: %zu users, %zu messages (%s)",
	    r->added.users + r->kept.users, r->added.messages +
	    r->kept.messages, where);
	fflush(stderr);
}

static void
cmd_import_counts_json(struct json *j, const char *key,
    const struct ops_import_counts *n)
{
	json_key(j, key);
	json_object_begin(j);
	json_key(j, "domains");
	json_uint(j, n->domains);
	json_key(j, "users");
	json_uint(j, n->users);
	json_key(j, "aliases");
	json_uint(j, n->aliases);
	json_key(j, "catchalls");
	json_uint(j, n->catchalls);
	json_key(j, "folders");
	json_uint(j, n->folders);
	json_key(j, "messages");
	json_uint(j, n->messages);
	json_key(j, "bytes");
	json_uint(j, n->bytes);
	json_object_end(j);
}

static void
cmd_import_json(const struct ops_import_result *r)
{
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "dry_run");
	json_bool(&j, r->dry_run);
	json_key(&j, "interrupted");
	json_bool(&j, r->interrupted);
	cmd_import_counts_json(&j, "added", &r->added);
	cmd_import_counts_json(&j, "kept", &r->kept);
	json_key(&j, "notes");
	json_array_begin(&j);
	for (size_t i = 0; i < r->nnotes; i++) {
		json_object_begin(&j);
		json_key(&j, "where");
		json_str(&j, r->notes[i].where);
		json_key(&j, "text");
		json_str(&j, r->notes[i].text);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "notes_dropped");
	json_uint(&j, r->notes_dropped);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static bool
cmd_import_nothing(const struct ops_import_counts *n)
{
	return n->domains == 0 && n->users == 0 && n->aliases == 0 &&
	    n->catchalls == 0 && n->folders == 0 && n->messages == 0;
}

static void
cmd_import_text(const struct ops_import_result *r, const char *dir)
{
	const struct ops_import_counts *a = &r->added, *k = &r->kept;
	char size[32];

	str_format_size(size, sizeof(size), a->bytes);
	printf("%s %s\n", r->dry_run ? "dry run (nothing changed): would "
	    "import from" : "imported from", dir);
	printf("  domains:    %zu new, %zu present\n", a->domains,
	    k->domains);
	printf("  users:      %zu new, %zu present\n", a->users, k->users);
	printf("  aliases:    %zu new, %zu present\n", a->aliases,
	    k->aliases);
	printf("  catch-alls: %zu new, %zu present\n", a->catchalls,
	    k->catchalls);
	printf("  folders:    %zu new, %zu present\n", a->folders,
	    k->folders);
	printf("  messages:   %zu new (%s), %zu present\n", a->messages, size,
	    k->messages);
	if (r->nnotes > 0) {
		printf("not mapped or not imported (%zu):\n", r->nnotes +
		    r->notes_dropped);
		for (size_t i = 0; i < r->nnotes; i++)
			printf("  %s: %s\n", r->notes[i].where,
			    r->notes[i].text);
		if (r->notes_dropped > 0)
			printf("  ... and %zu more\n", r->notes_dropped);
	}
	if (r->interrupted)
		printf("interrupted: run the same command again to finish\n");
	else if (!r->dry_run && cmd_import_nothing(a))
		printf("nothing changed: everything was imported already\n");
}

static int
cmd_import_run(struct cli *cli, const char *dir, bool dry_run, bool json)
{
	struct ops_import_opts o = { .dir = dir, .dry_run = dry_run,
	    .stop = &cmd_import_stop };
	struct ops_import_result r;
	struct sigaction sa, old;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int ret;

	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	o.state_dir = cli->conf.state_dir;
	if (isatty(STDERR_FILENO) && !json)
		o.progress = cmd_import_progress;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_import_sigint;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	ret = ops_import_vpopmail(&c, &o, &r, &st);
	sigaction(SIGINT, &old, NULL);
	if (o.progress != NULL)
		fprintf(stderr, "\r\033[K");
	if (json)
		cmd_import_json(&r);
	else if (ret == 0 || r.added.users + r.kept.users > 0)
		cmd_import_text(&r, dir);
	if (ret < 0)
		ret = cli_fail("%s", st.text);
	else if (r.interrupted)
		ret = cli_fail("import interrupted; run it again to finish");
	ops_import_result_free(&r);
	store_close(&s);
	return ret;
}

int
cmd_import(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	bool dry_run = cli_take_flag(&argc, argv, "--dry-run");
	char dir[PATH_MAX];

	if (argc != 3 || strcmp(argv[1], "vpopmail") != 0)
		return cli_usage(CMD_IMPORT_USAGE);
	/* Absolute before cli_open_store, which may change directory when
	 * it drops privileges. */
	if (realpath(argv[2], dir) == NULL)
		return cli_fail("%s: %s", argv[2], strerror(errno));
	return cmd_import_run(cli, dir, dry_run, json);
}
