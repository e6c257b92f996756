/* `ferry dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]
 * [--bits N] [--json]` and `ferry dkim list [DOMAIN] [--json]`: the DKIM
 * signing keys (ops_dkim.h does the work).  keygen prints the TXT record
 * to publish, in zone-file form (strings of at most 255 octets); list
 * shows every key, whether it signs (the newest of its algorithm per
 * domain) and whether DNS publishes the same key, asked through the
 * server's resolvers.  The server reads keys at start and on reload. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "net/dns.h"
#include "ops/ops_account.h"
#include "ops/ops_dkim.h"
#include "store/store.h"

#define CMD_DKIM_USAGE "dkim keygen DOMAIN [--selector S] " \
	"[--algorithm rsa|ed25519] [--bits N] [--json] | list [DOMAIN] [--json]"

static void
cmd_dkim_json_key(struct json *j, const struct ops_dkim_key *k, bool dns)
{
	json_object_begin(j);
	json_key(j, "domain");
	json_str(j, k->domain);
	json_key(j, "selector");
	json_str(j, k->selector);
	json_key(j, "algorithm");
	json_str(j, k->algorithm);
	json_key(j, "bits");
	json_uint(j, k->bits);
	json_key(j, "active");
	json_bool(j, k->active);
	json_key(j, "name");
	json_str(j, k->name);
	json_key(j, "record");
	json_str(j, k->record);
	if (dns) {
		json_key(j, "dns");
		json_str(j, ops_dkim_dns_str(k->dns));
		json_key(j, "published");
		json_str(j, k->published);
	}
	json_object_end(j);
}

/* The record as a zone-file line: strings of at most 255 octets. */
static void
cmd_dkim_print_record(const struct ops_dkim_key *k)
{
	size_t len = strlen(k->record);

	printf("%s. IN TXT (", k->name);
	for (size_t i = 0; i < len; i += 250)
		printf(" \"%.*s\"", (int)(len - i < 250 ? len - i : 250),
		    k->record + i);
	puts(" )");
}

static int
cmd_dkim_keygen(struct ops_ctx *c, int argc, char **argv, bool json,
    struct ops_status *st)
{
	const char *selector = NULL, *algorithm = "rsa";
	unsigned long bits = 0;
	struct ops_dkim_key k;

	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return ops_fail(st, OPS_EUSAGE, "missing value");
		if (strcmp(argv[i], "--selector") == 0)
			selector = argv[i + 1];
		else if (strcmp(argv[i], "--algorithm") == 0)
			algorithm = argv[i + 1];
		else if (strcmp(argv[i], "--bits") == 0)
			bits = strtoul(argv[i + 1], NULL, 10);
		else
			return ops_fail(st, OPS_EUSAGE, "unknown option");
	}
	if (ops_dkim_keygen(c, argv[2], selector, algorithm, (unsigned)bits,
	    &k, st) < 0)
		return -1;
	if (json) {
		struct fbuf out;
		struct json j;

		fbuf_init(&out, 0);
		json_init(&j, &out);
		cmd_dkim_json_key(&j, &k, false);
		puts(out.data);
		fbuf_release(&out);
	} else {
		printf("; %s: new %s key, selector %s.  Publish this record, "
		    "check it with\n; `ferry dkim list`, then `ferry reload` "
		    "to sign with it.\n", k.domain, k.algorithm, k.selector);
		cmd_dkim_print_record(&k);
	}
	ops_dkim_key_clear(&k);
	return 0;
}

struct cmd_dkim_list {
	bool json;
	struct event_base *base;
};

static void
cmd_dkim_listed(struct ops_dkim_list *l, void *ctx)
{
	struct cmd_dkim_list *cl = ctx;
	struct fbuf out;
	struct json j;

	event_base_loopbreak(cl->base);
	if (!cl->json) {
		for (size_t i = 0; i < l->n; i++) {
			const struct ops_dkim_key *k = &l->v[i];

			printf("%s %s %s-%u %s dns=%s\n", k->domain,
			    k->selector, k->algorithm, k->bits,
			    k->active ? "active" : "inactive",
			    ops_dkim_dns_str(k->dns));
		}
		return;
	}
	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++)
		cmd_dkim_json_key(&j, &l->v[i], true);
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static int
cmd_dkim_list_run(struct cli *cli, struct ops_ctx *c, const char *domain,
    bool json, struct ops_status *st)
{
	struct cmd_dkim_list cl = { json, NULL };
	struct ops_dkim_list l;
	struct event_base *base;
	struct dns *d;
	const char *error;

	if (ops_dkim_list(c, domain, &l, st) < 0)
		return -1;
	if ((cl.base = base = event_base_new()) == NULL) {
		ops_dkim_list_free(&l);
		return ops_fail(st, OPS_EFAIL, "cannot create an event loop");
	}
	if (dns_create(&d, base, &cli->conf, &error) < 0) {
		event_base_free(base);
		ops_dkim_list_free(&l);
		return ops_fail(st, OPS_EFAIL, "dns: %s", error);
	}
	ops_dkim_check_dns(base, d, &l, cmd_dkim_listed, &cl);
	event_base_dispatch(base);
	dns_free(&d);
	event_base_free(base);
	ops_dkim_list_free(&l);
	return 0;
}

int
cmd_dkim(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	const char *verb = argc > 1 ? argv[1] : "";
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	if (!((strcmp(verb, "keygen") == 0 && argc >= 3) ||
	    (strcmp(verb, "list") == 0 && argc <= 3)))
		return cli_usage(CMD_DKIM_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	if (strcmp(verb, "keygen") == 0)
		r = cmd_dkim_keygen(&c, argc, argv, json, &st);
	else
		r = cmd_dkim_list_run(cli, &c, argc == 3 ? argv[2] : NULL,
		    json, &st);
	store_close(&s);
	if (r < 0 && st.code == OPS_EUSAGE)
		return cli_usage(CMD_DKIM_USAGE);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
