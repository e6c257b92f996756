/* `ferry dmarc report [--dry-run] [--domain D] [--date YYYY-MM-DD]`:
 * builds the DMARC aggregate reports of one UTC day (default yesterday)
 * from the results the server recorded, and queues each for its
 * domain's rua= mailto: addresses (ops_dmarc.h).  An address outside
 * the policy domain's organizational domain gets mail only when its
 * domain publishes DOMAIN._report._dmarc.DEST (RFC 7489 7.1), asked
 * through the server's resolvers.  A report sent once for a day is not
 * sent again.  --dry-run prints the XML and the addresses instead.
 * Meant for cron, once a day (docs/dmarc.md).  The reports received
 * (`dmarc reports`, `dmarc import`) are cmd_dmarc_in.c's. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc.h"
#include "net/dns.h"
#include "ops/ops_account.h"
#include "ops/ops_dmarc.h"
#include "store/store.h"

#define CMD_DMARC_USAGE "dmarc report [--dry-run] [--domain DOMAIN] " \
	"[--date YYYY-MM-DD]\n" \
	"       ferry dmarc reports DOMAIN [--days N] [--json]\n" \
	"       ferry dmarc import FILE|MAILDIR..."

struct cmd_dmarc_dest {
	size_t report;
	char addr[320];
	bool external;
	int verified;			/* -1 not asked, 0 refused, 1 ok */
	struct cmd_dmarc_run *run;
};

struct cmd_dmarc_run {
	struct event_base *base;
	struct cmd_dmarc_dest *v;
	size_t n;
	size_t pending;
};

static void
cmd_dmarc_answer(const struct dns_result *r, void *ctx)
{
	struct cmd_dmarc_dest *d = ctx;

	d->verified = 0;
	for (size_t i = 0; r->status == DNS_OK && i < r->n; i++)
		if (r->rr[i].txt != NULL &&
		    dmarc_is_dmarc(r->rr[i].txt, r->rr[i].txt_len))
			d->verified = 1;
	if (--d->run->pending == 0)
		event_base_loopbreak(d->run->base);
}

/* The external destination checks (7.1), all at once. */
static void
cmd_dmarc_verify(struct cli *cli, struct cmd_dmarc_run *run,
    const struct ops_dmarc_reports *reps)
{
	char name[700];
	const char *error;
	struct dns *dns;

	for (size_t i = 0; i < run->n; i++)
		run->pending += run->v[i].external;
	if (run->pending == 0)
		return;
	if ((run->base = event_base_new()) == NULL ||
	    dns_create(&dns, run->base, &cli->conf, &error) < 0) {
		fprintf(stderr, "ferry: dns: cannot ask; external rua "
		    "addresses are skipped\n");
		if (run->base != NULL)
			event_base_free(run->base);
		return;
	}
	for (size_t i = 0; i < run->n; i++) {
		struct cmd_dmarc_dest *d = &run->v[i];

		if (!d->external)
			continue;
		snprintf(name, sizeof(name), "%s._report._dmarc.%s",
		    reps->v[d->report].domain, strrchr(d->addr, '@') + 1);
		(void)dns_lookup(dns, name, DNS_T_TXT, cmd_dmarc_answer, d);
	}
	event_base_dispatch(run->base);
	dns_free(&dns);
	event_base_free(run->base);
}

/* Every usable rua= address of the reports still to send. */
static void
cmd_dmarc_dests(const struct dmarc_psl *psl,
    const struct ops_dmarc_reports *reps, struct cmd_dmarc_run *run)
{
	char buf[1024], *save = NULL, *tok, addr[320];
	uint64_t max;

	for (size_t i = 0; i < reps->n; i++) {
		if (reps->v[i].sent)
			continue;
		str_lcpy(buf, reps->v[i].rua, sizeof(buf));
		for (tok = strtok_r(buf, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			struct cmd_dmarc_dest *d;

			if (ops_dmarc_mailto(tok, addr, sizeof(addr), &max) < 0) {
				fprintf(stderr, "ferry: %s: rua %s: not a usable "
				    "mailto: URI, skipped\n",
				    reps->v[i].domain, tok);
				continue;
			}
			run->v = xreallocarray(run->v, run->n + 1,
			    sizeof(*run->v));
			d = &run->v[run->n++];
			memset(d, 0, sizeof(*d));
			d->report = i;
			d->run = run;
			str_lcpy(d->addr, addr, sizeof(d->addr));
			d->external = ops_dmarc_external(psl,
			    reps->v[i].domain, addr);
			d->verified = d->external ? -1 : 1;
		}
	}
}

struct cmd_dmarc_opts {
	bool dry_run;
	const char *domain;
	const char *date;
};

static int
cmd_dmarc_one(struct cli *cli, const struct ops_ctx *c,
    const struct ops_dmarc_report *r, size_t idx,
    const struct cmd_dmarc_run *run, const struct cmd_dmarc_opts *o)
{
	const char *rcpts[DMARC_URIS_MAX + 1];
	char from[330], id[IDS_LEN + 1], day[16];
	const char *host = cli->conf.hostname;
	const char *org = cli->conf.dmarc_report_org[0] != '\0' ?
	    cli->conf.dmarc_report_org : host;
	struct ops_status st;
	struct fbuf xml;
	time_t t = (time_t)r->begin;
	struct tm tm;
	size_t n = 0;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (r->sent) {
		printf("%s: report for %s sent already\n", r->domain, day);
		return 0;
	}
	for (size_t i = 0; i < run->n; i++) {
		const struct cmd_dmarc_dest *d = &run->v[i];

		if (d->report != idx)
			continue;
		if (d->verified != 1)
			fprintf(stderr, "ferry: %s: %s does not accept reports "
			    "for it (no %s._report._dmarc record), skipped\n",
			    r->domain, d->addr, r->domain);
		else if (n < DMARC_URIS_MAX)
			rcpts[n++] = d->addr;
	}
	if (cli->conf.dmarc_report_from[0] != '\0')
		str_lcpy(from, cli->conf.dmarc_report_from, sizeof(from));
	else
		snprintf(from, sizeof(from), "postmaster@%s", host);
	if (o->dry_run) {
		fbuf_init(&xml, 0);
		ops_dmarc_xml(r, org, from, &xml);
		printf("%s: report for %s, %u messages, to", r->domain, day,
		    r->messages);
		for (size_t i = 0; i < n; i++)
			printf(" %s", rcpts[i]);
		printf("%s (dry run)\n%s", n == 0 ? " nobody" : "", xml.data);
		fbuf_release(&xml);
		return 0;
	}
	if (n == 0) {
		printf("%s: report for %s not sent: no usable rua address\n",
		    r->domain, day);
		return 0;
	}
	if (ops_dmarc_send(c, r, rcpts, n, from, org, host, id, sizeof(id),
	    &st) < 0)
		return cli_fail("%s", st.text);
	printf("%s: report for %s, %u messages, queued as %s\n", r->domain,
	    day, r->messages, id);
	return 0;
}

static int
cmd_dmarc_report(struct cli *cli, const struct ops_ctx *c,
    const struct cmd_dmarc_opts *o)
{
	struct ops_dmarc_reports reps;
	struct cmd_dmarc_run run;
	struct dmarc_psl *psl = NULL;
	struct ops_status st;
	const char *error;
	int64_t begin, end;
	int rc = 0;

	if (ops_dmarc_period(o->date, (int64_t)time(NULL), &begin, &end,
	    &st) < 0 || ops_dmarc_collect(c, begin, end, o->domain,
	    cli->conf.hostname, &reps, &st) < 0)
		return cli_fail("%s", st.text);
	if (dmarc_psl_load(cli->conf.dmarc_psl, &psl, &error) < 0)
		fprintf(stderr, "ferry: %s: %s\n", cli->conf.dmarc_psl, error);
	memset(&run, 0, sizeof(run));
	cmd_dmarc_dests(psl, &reps, &run);
	cmd_dmarc_verify(cli, &run, &reps);
	if (reps.n == 0)
		printf("no DMARC results to report for that day\n");
	for (size_t i = 0; i < reps.n; i++)
		if (cmd_dmarc_one(cli, c, &reps.v[i], i, &run, o) != 0)
			rc = 1;
	free(run.v);
	dmarc_psl_free(psl);
	ops_dmarc_reports_free(&reps);
	return rc;
}

int
cmd_dmarc(struct cli *cli, int argc, char **argv)
{
	struct cmd_dmarc_opts o = { false, NULL, NULL };
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int i, r;

	if (argc >= 2 && strcmp(argv[1], "reports") == 0)
		return cmd_dmarc_reports(cli, argc - 1, argv + 1);
	/* `dmarc report DOMAIN`, as issue 11 named it: the received ones. */
	if (argc >= 3 && strcmp(argv[1], "report") == 0 && argv[2][0] != '-')
		return cmd_dmarc_reports(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return cmd_dmarc_import(cli, argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "report") != 0)
		return cli_usage(CMD_DMARC_USAGE);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = true;
		else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			o.domain = argv[++i];
		else if (strcmp(argv[i], "--date") == 0 && i + 1 < argc)
			o.date = argv[++i];
		else
			return cli_usage(CMD_DMARC_USAGE);
	}
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	r = cmd_dmarc_report(cli, &c, &o);
	store_close(&s);
	return r;
}
