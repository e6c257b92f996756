/* `ferry alias add|del|list`: aliases and catch-alls of local domains.
 * An alias is "local@domain" or "@domain" (catch-all) and maps to one or
 * more mailboxes, local or remote, each checked and normalised here so
 * the resolver only ever reads clean lists.  Whether a local target
 * exists is checked at delivery time, not here: aliases may be set up
 * before their users. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_ALIAS_USAGE \
	"alias add ADDRESS TARGET[,TARGET...] | del ADDRESS | " \
	"list [DOMAIN] [--json]"

/* ADDRESS ("local@domain" or "@domain") into its stored form; the domain
 * must be local.  -1 after printing why. */
static int
cmd_alias_address(struct cli *cli, struct store *s, const char *input,
    char *dst, size_t size)
{
	struct resolve_opts o;
	const char *error;
	int r;

	cli_resolve_opts(cli, &o);
	if (input[0] == '@') {
		dst[0] = '@';
		r = resolve_parse_domain(input + 1, dst + 1, size - 1, &error);
	} else
		r = resolve_parse_mailbox(&o, input, dst, size, &error);
	if (r < 0) {
		cli_fail("%s: %s", input, error);
		return -1;
	}
	r = store_domain_exists(s, strrchr(dst, '@') + 1);
	if (r <= 0) {
		cli_fail("%s: %s", dst, r == 0 ? "no such domain (aliases "
		    "belong to local domains)" : "store error");
		return -1;
	}
	return 0;
}

/* True when the comma-separated list already holds addr. */
static bool
cmd_alias_has_target(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, addr, n) == 0)
			return true;
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

/* Appends each comma-separated target of list to out, normalised and
 * without duplicates.  0, or -1 after printing why. */
static int
cmd_alias_add_targets(struct cli *cli, const char *list, struct fbuf *out,
    int *n)
{
	struct resolve_opts o;
	char *copy = xstrdup(list), *p = copy, *tok;
	char addr[320];
	const char *error;
	int ret = 0;

	cli_resolve_opts(cli, &o);
	while (ret == 0 && (tok = strsep(&p, ",")) != NULL) {
		tok = str_trim(tok);
		if (tok[0] == '\0')
			continue;
		if (resolve_parse_mailbox(&o, tok, addr, sizeof(addr),
		    &error) < 0) {
			cli_fail("target %s: %s", tok, error);
			ret = -1;
			break;
		}
		if (cmd_alias_has_target(out->data, addr))
			continue;
		if (++*n > RESOLVE_MAX_TARGETS) {
			cli_fail("too many targets (at most %d)",
			    RESOLVE_MAX_TARGETS);
			ret = -1;
			break;
		}
		if (out->len > 0)
			fbuf_addc(out, ',');
		fbuf_adds(out, addr);
	}
	free(copy);
	return ret;
}

static int
cmd_alias_add(struct cli *cli, struct store *s, int argc, char **argv)
{
	struct fbuf targets;
	char addr[320];
	const char *error;
	int n = 0, ret = 0;

	if (cmd_alias_address(cli, s, argv[2], addr, sizeof(addr)) < 0)
		return 1;
	/* "a,b" and "a b" (and a mix) name the same targets. */
	fbuf_init(&targets, 0);
	for (int i = 3; i < argc && ret == 0; i++)
		ret = cmd_alias_add_targets(cli, argv[i], &targets, &n);
	if (ret == 0 && targets.len == 0) {
		cli_fail("%s: no targets given", addr);
		ret = -1;
	}
	if (ret == 0 && store_alias_add(s, addr, targets.data, &error) < 0) {
		cli_fail("%s: %s", addr, error);
		ret = -1;
	}
	fbuf_release(&targets);
	return ret < 0 ? 1 : 0;
}

static int
cmd_alias_del(struct cli *cli, struct store *s, const char *input)
{
	struct resolve_opts o;
	char addr[320];
	const char *error;
	int r;

	/* No domain check: an alias left over in any state can go. */
	cli_resolve_opts(cli, &o);
	if (input[0] == '@') {
		addr[0] = '@';
		r = resolve_parse_domain(input + 1, addr + 1, sizeof(addr) - 1,
		    &error);
	} else
		r = resolve_parse_mailbox(&o, input, addr, sizeof(addr), &error);
	if (r < 0)
		return cli_fail("%s: %s", input, error);
	if (store_alias_del(s, addr, &error) < 0)
		return cli_fail("%s: %s", addr, error);
	return 0;
}

static void
cmd_alias_list_cb(const char *address, const char *targets, void *ctx)
{
	struct cli_list *c = ctx;
	char *copy, *p, *tok;
	int i = 0;

	if (!c->json) {
		printf("%s -> %s\n", address, targets);
		return;
	}
	cli_list_next(c);
	fputs("{\"address\": ", stdout);
	cli_json_str(address);
	fputs(", \"domain\": ", stdout);
	cli_json_str(strrchr(address, '@') + 1);
	fputs(", \"targets\": [", stdout);
	copy = xstrdup(targets);
	for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
		if (*tok == '\0')
			continue;
		fputs(i++ > 0 ? ", " : "", stdout);
		cli_json_str(tok);
	}
	free(copy);
	fputs("]}", stdout);
}

static int
cmd_alias_list(struct store *s, const char *input, bool json)
{
	struct cli_list c;
	char domain[256];
	const char *error = NULL;
	int r;

	if (input != NULL && cli_list_domain(s, input[0] == '@' ? input + 1 :
	    input, domain, sizeof(domain)) < 0)
		return 1;
	cli_list_begin(&c, json);
	r = store_alias_list(s, input != NULL ? domain : NULL,
	    cmd_alias_list_cb, &c, &error);
	return cli_list_end(&c, r, error);
}

int
cmd_alias(struct cli *cli, int argc, char **argv)
{
	struct store *s;
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	bool ok;
	int ret;

	if (strcmp(verb, "list") == 0)
		ok = argc == 2 || argc == 3;
	else if (strcmp(verb, "add") == 0)
		ok = argc >= 4 && !json;
	else if (strcmp(verb, "del") == 0)
		ok = argc == 3 && !json;
	else
		ok = false;
	if (!ok)
		return cli_usage(CMD_ALIAS_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (strcmp(verb, "add") == 0)
		ret = cmd_alias_add(cli, s, argc, argv);
	else if (strcmp(verb, "del") == 0)
		ret = cmd_alias_del(cli, s, argv[2]);
	else
		ret = cmd_alias_list(s, argc == 3 ? argv[2] : NULL, json);
	store_close(&s);
	return ret;
}
