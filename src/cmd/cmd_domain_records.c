/* `ferry domain records DOMAIN [--check] [--json]`: the DNS records the
 * domain should publish (ops_dnsrec.h does the work), in zone-file form
 * with what each is for; with --check, what DNS says now about each,
 * asked through the server's resolvers.  The exit status is 0 whatever
 * the check found: the states are in the output. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_dnsrec.h"
#include "store/store.h"

#define CMD_DOMAIN_RECORDS_USAGE "domain records DOMAIN [--check] [--json]"

static void
cmd_domain_records_json(const struct ops_dnsrec_list *l, bool check)
{
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t i = 0; i < l->n; i++) {
		const struct ops_dnsrec *r = &l->v[i];

		json_object_begin(&j);
		json_key(&j, "name");
		json_str(&j, r->name);
		json_key(&j, "type");
		json_str(&j, r->type);
		json_key(&j, "value");
		json_str(&j, r->value);
		json_key(&j, "purpose");
		json_str(&j, r->purpose);
		if (check) {
			json_key(&j, "dns");
			json_str(&j, ops_dnsrec_state_str(r->state));
			json_key(&j, "published");
			json_array_begin(&j);
			for (size_t k = 0; k < r->npublished; k++)
				json_str(&j, r->published[k]);
			json_array_end(&j);
			if (r->state == OPS_DNSREC_FAILED) {
				json_key(&j, "why");
				json_str(&j, r->why);
			}
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

/* TXT data as zone-file strings of at most 250 octets. */
static void
cmd_domain_records_txt(const char *v)
{
	size_t len = strlen(v);

	printf("(");
	for (size_t i = 0; i < len; i += 250)
		printf(" \"%.*s\"", (int)(len - i < 250 ? len - i : 250), v + i);
	printf(" )");
}

static void
cmd_domain_records_state(const struct ops_dnsrec *r)
{
	printf(";   dns: %s", ops_dnsrec_state_str(r->state));
	if (r->state == OPS_DNSREC_FAILED) {
		char *why = xstrdup(r->why);

		ops_clean(why);
		printf(" (%s)", why);
		free(why);
	}
	putchar('\n');
	for (size_t k = 0; k < r->npublished && r->state != OPS_DNSREC_MATCH;
	    k++) {
		char *p = xstrdup(r->published[k]);

		ops_clean(p);
		printf(";   published: %s\n", p);
		free(p);
	}
}

static void
cmd_domain_records_text(const struct ops_dnsrec_list *l, bool check)
{
	bool dkim = false;

	printf("; DNS records for %s (this server: %s)\n", l->domain, l->host);
	for (size_t i = 0; i < l->n; i++)
		dkim |= l->v[i].kind == OPS_DNSREC_DKIM;
	if (!dkim)
		printf("; no DKIM key yet: `ferry dkim keygen %s` makes one\n",
		    l->domain);
	for (size_t i = 0; i < l->n; i++) {
		const struct ops_dnsrec *r = &l->v[i];

		printf("; %s\n%s. IN %s ", r->purpose, r->name, r->type);
		if (strcmp(r->type, "TXT") == 0)
			cmd_domain_records_txt(r->value);
		else
			fputs(r->value, stdout);
		putchar('\n');
		if (check)
			cmd_domain_records_state(r);
	}
}

int
cmd_domain_records(struct cli *cli, int argc, char **argv, bool json)
{
	bool check = cli_take_flag(&argc, argv, "--check");
	struct ops_dnsrec_list l;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int r;

	if (argc != 3 || argv[2][0] == '-')
		return cli_usage(CMD_DOMAIN_RECORDS_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	r = ops_dnsrec_list(&c, argv[2], &l, &st);
	store_close(&s);
	if (r == 0 && check)
		r = ops_dnsrec_check(&cli->conf, &l, &st);
	if (r == 0) {
		if (json)
			cmd_domain_records_json(&l, check);
		else
			cmd_domain_records_text(&l, check);
	}
	ops_dnsrec_list_free(&l);
	return r < 0 ? cli_fail("%s", st.text) : 0;
}
