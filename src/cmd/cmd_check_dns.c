/* `ferry check dns [NAME] --resolvers` (and `ferry check dns` alone):
 * the same questions (A, AAAA and MX of NAME) put to every resolver of
 * dns_resolvers and dns_fallback_resolvers one by one, each through a
 * resolver of its own (libunbound forwarding to that address only, no
 * fallback), all at once on one loop.  Shows which answer, which time
 * out or fail, and which disagree with the answer most of them gave:
 * the blocked resolver and the lying one.  NAME defaults to the first
 * hosted domain, else hostname.  Exit 0 when some resolver answered, 1
 * when none did; `check dns NAME [TYPE]` (cmd_check.c) is unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "store/store.h"

#define CMD_DNS_QUESTIONS 3
#define CMD_DNS_ANSWER_MAX 512

static const int cmd_dns_types[CMD_DNS_QUESTIONS] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_MX
};

struct cmd_dns_all;

struct cmd_dns_answer {
	bool done;
	enum dns_status status;
	bool timed_out;
	char why[160];
	char records[CMD_DNS_ANSWER_MAX];	/* sorted, ", "-joined */
	bool agrees;				/* with the majority */
};

struct cmd_dns_resolver {
	char label[96];			/* "192.0.2.53:53" */
	const char *role;		/* "dns_resolvers", ... */
	struct conf_listen addr;
	struct dns *dns;
	struct cmd_dns_answer ans[CMD_DNS_QUESTIONS];
	struct cmd_dns_all *all;
};

struct cmd_dns_all {
	struct event_base *base;
	char name[256];
	struct cmd_dns_resolver *v;
	size_t n;
	unsigned pending;
	const char *majority[CMD_DNS_QUESTIONS];	/* NULL: none */
};

struct cmd_dns_cb {
	struct cmd_dns_resolver *r;
	int q;
};

static int
cmd_dns_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The records as one comparable string: each record's text, sorted. */
static void
cmd_dns_records(const struct dns_result *res, char *dst, size_t size)
{
	char **v = xcalloc(res->n > 0 ? res->n : 1, sizeof(*v));
	struct fbuf b;

	for (size_t i = 0; i < res->n; i++) {
		char addr[64];

		fbuf_init(&b, 0);
		if (res->type == DNS_T_MX)
			fbuf_addf(&b, "%u %s", res->rr[i].pref,
			    res->rr[i].name[0] != '\0' ? res->rr[i].name :
			    ".");
		else {
			cidr_addr_str((const struct sockaddr *)
			    &res->rr[i].addr, addr, sizeof(addr));
			fbuf_addf(&b, "%s", addr);
		}
		v[i] = xstrdup(b.data);
		fbuf_release(&b);
	}
	qsort(v, res->n, sizeof(*v), cmd_dns_strcmp);
	dst[0] = '\0';
	for (size_t i = 0; i < res->n; i++) {
		size_t o = strlen(dst);

		snprintf(dst + o, size - o, "%s%s", i > 0 ? ", " : "", v[i]);
		free(v[i]);
	}
	free(v);
}

static void
cmd_dns_done(const struct dns_result *res, void *arg)
{
	struct cmd_dns_cb *cb = arg;
	struct cmd_dns_answer *a = &cb->r->ans[cb->q];
	struct cmd_dns_all *all = cb->r->all;

	a->done = true;
	a->status = res->status;
	if (res->status == DNS_TEMPFAIL) {
		str_lcpy(a->why, res->why != NULL ? res->why : "failed",
		    sizeof(a->why));
		a->timed_out = res->why != NULL &&
		    strcmp(res->why, "timed out") == 0;
	} else if (res->status == DNS_OK)
		cmd_dns_records(res, a->records, sizeof(a->records));
	else
		str_lcpy(a->records, dns_status_str(res->status),
		    sizeof(a->records));
	free(cb);
	if (--all->pending == 0)
		event_base_loopbreak(all->base);
}

/* ---------------------------------------------------------- verdicts */

/* The answer most resolvers that answered gave (ties: the first seen),
 * and which agree with it. */
static void
cmd_dns_majority(struct cmd_dns_all *all, int q)
{
	size_t best = 0;

	all->majority[q] = NULL;
	for (size_t i = 0; i < all->n; i++) {
		const struct cmd_dns_answer *a = &all->v[i].ans[q];
		size_t k = 0;

		if (!a->done || a->status == DNS_TEMPFAIL)
			continue;
		for (size_t j = 0; j < all->n; j++) {
			const struct cmd_dns_answer *b = &all->v[j].ans[q];

			k += b->done && b->status != DNS_TEMPFAIL &&
			    strcmp(a->records, b->records) == 0;
		}
		if (k > best) {
			best = k;
			all->majority[q] = a->records;
		}
	}
	for (size_t i = 0; i < all->n; i++) {
		struct cmd_dns_answer *a = &all->v[i].ans[q];

		a->agrees = a->done && a->status != DNS_TEMPFAIL &&
		    all->majority[q] != NULL &&
		    strcmp(a->records, all->majority[q]) == 0;
	}
}

/* "answers", "disagrees", "times out", "fails": the resolver's word. */
static const char *
cmd_dns_verdict(const struct cmd_dns_resolver *r, bool json)
{
	bool answered = false, disagrees = false, timed_out = false;

	for (int q = 0; q < CMD_DNS_QUESTIONS; q++) {
		const struct cmd_dns_answer *a = &r->ans[q];

		if (a->status != DNS_TEMPFAIL) {
			answered = true;
			disagrees = disagrees || !a->agrees;
		} else
			timed_out = timed_out || a->timed_out;
	}
	if (disagrees)
		return "disagrees";
	if (answered)
		return "answers";
	return timed_out ? (json ? "times-out" : "times out") : "fails";
}

static const char *
cmd_dns_answer_text(const struct cmd_dns_answer *a)
{
	if (!a->done)
		return "not asked";
	if (a->status == DNS_TEMPFAIL)
		return a->timed_out ? "timed out" : a->why;
	return a->records;
}

/* ---------------------------------------------------------- output */

static void
cmd_dns_human(const struct cmd_dns_all *all)
{
	int w = 8;

	for (size_t i = 0; i < all->n; i++)
		w = (int)strlen(all->v[i].label) > w ?
		    (int)strlen(all->v[i].label) : w;
	printf("%s: asked %zu resolver(s) for A, AAAA and MX, each on its "
	    "own\n", all->name, all->n);
	for (int q = 0; q < CMD_DNS_QUESTIONS; q++) {
		printf("%s %s (most say: %s)\n", all->name,
		    dns_type_str(cmd_dns_types[q]), all->majority[q] != NULL ?
		    all->majority[q] : "no answer");
		for (size_t i = 0; i < all->n; i++) {
			const struct cmd_dns_answer *a = &all->v[i].ans[q];

			printf("  %-*s  %-22s  %s%s\n", w, all->v[i].label,
			    all->v[i].role, cmd_dns_answer_text(a),
			    a->status != DNS_TEMPFAIL && !a->agrees ?
			    "  DISAGREES" : "");
		}
	}
	for (size_t i = 0; i < all->n; i++)
		printf("resolver %s (%s): %s\n", all->v[i].label,
		    all->v[i].role, cmd_dns_verdict(&all->v[i], false));
}

static void
cmd_dns_json_answer(const struct cmd_dns_answer *a, int q)
{
	printf("\"%s\": {\"status\": \"%s\", \"timed_out\": %s, \"agrees\": "
	    "%s, \"records\": ", dns_type_str(cmd_dns_types[q]),
	    dns_status_str(a->status), a->timed_out ? "true" : "false",
	    a->agrees ? "true" : "false");
	if (a->status == DNS_TEMPFAIL)
		fputs("null, \"why\": ", stdout);
	cli_json_str(a->status == DNS_TEMPFAIL ? a->why : a->records);
	putchar('}');
}

static void
cmd_dns_json(const struct cmd_dns_all *all)
{
	fputs("{\"name\": ", stdout);
	cli_json_str(all->name);
	fputs(", \"majority\": {", stdout);
	for (int q = 0; q < CMD_DNS_QUESTIONS; q++) {
		printf("%s\"%s\": ", q > 0 ? ", " : "",
		    dns_type_str(cmd_dns_types[q]));
		if (all->majority[q] != NULL)
			cli_json_str(all->majority[q]);
		else
			fputs("null", stdout);
	}
	fputs("}, \"resolvers\": [", stdout);
	for (size_t i = 0; i < all->n; i++) {
		const struct cmd_dns_resolver *r = &all->v[i];

		fputs(i > 0 ? ", {\"address\": " : "{\"address\": ", stdout);
		cli_json_str(r->label);
		printf(", \"role\": \"%s\", \"verdict\": \"%s\", \"answers\": {",
		    r->role, cmd_dns_verdict(r, true));
		for (int q = 0; q < CMD_DNS_QUESTIONS; q++) {
			fputs(q > 0 ? ", " : "", stdout);
			cmd_dns_json_answer(&r->ans[q], q);
		}
		fputs("}}", stdout);
	}
	puts("]}");
}

/* ---------------------------------------------------------- setup */

static void
cmd_dns_add(struct cmd_dns_all *all, const struct conf_listen *l,
    const char *role)
{
	struct cmd_dns_resolver *r;

	all->v = xreallocarray(all->v, all->n + 1, sizeof(*all->v));
	r = &all->v[all->n++];
	memset(r, 0, sizeof(*r));
	r->role = role;
	r->addr = *l;
	snprintf(r->label, sizeof(r->label), strchr(l->host, ':') != NULL ?
	    "[%.64s]:%s" : "%.64s:%s", l->host, l->port[0] != '\0' ? l->port :
	    "53");
}

/* One resolver of its own per address: a copy of the configuration
 * with only that address and no fallback.  0, or 1 after printing. */
static int
cmd_dns_start(struct cmd_dns_all *all, const struct conf *c,
    struct cmd_dns_resolver *r)
{
	struct conf one = *c;
	const char *error;

	one.dns_resolvers.v = r->addr.host[0] != '\0' ? &r->addr : NULL;
	one.dns_resolvers.n = r->addr.host[0] != '\0' ? 1 : 0;
	one.dns_fallback_resolvers.v = NULL;
	one.dns_fallback_resolvers.n = 0;
	r->all = all;
	if (dns_create(&r->dns, all->base, &one, &error) < 0)
		return cli_fail("dns %s: %s", r->label, error);
	return 0;
}

static void
cmd_dns_ask(struct cmd_dns_all *all, struct cmd_dns_resolver *r)
{
	for (int q = 0; q < CMD_DNS_QUESTIONS; q++) {
		struct cmd_dns_cb *cb = xcalloc(1, sizeof(*cb));

		cb->r = r;
		cb->q = q;
		all->pending++;
		(void)dns_lookup(r->dns, all->name, cmd_dns_types[q],
		    cmd_dns_done, cb);
	}
}

static void
cmd_dns_first_domain(const char *domain, void *ctx)
{
	char *dst = ctx;

	if (dst[0] == '\0')
		str_lcpy(dst, domain, 256);
}

/* The first hosted domain when the store exists, else hostname. */
static void
cmd_dns_default_name(struct cli *cli, char *dst, size_t size)
{
	char path[PATH_MAX];
	struct store *s = NULL;
	const char *error;

	dst[0] = '\0';
	if (conf_store_path(&cli->conf, path, sizeof(path)) == 0 &&
	    (strncmp(path, "postgres", 8) == 0 || access(path, F_OK) == 0) &&
	    cli_open_store(cli, &s) == 0) {
		(void)store_domain_list(s, cmd_dns_first_domain, dst, &error);
		store_close(&s);
	}
	if (dst[0] == '\0')
		str_lcpy(dst, cli->conf.hostname, size);
}

static void
cmd_dns_free(struct cmd_dns_all *all)
{
	for (size_t i = 0; i < all->n; i++)
		dns_free(&all->v[i].dns);
	free(all->v);
	if (all->base != NULL)
		event_base_free(all->base);
}

static int
cmd_dns_run(struct cmd_dns_all *all, const struct conf *c, bool json)
{
	size_t answered = 0;

	/* Every resolver made before any question: a failure leaves no
	 * question behind. */
	for (size_t i = 0; i < all->n; i++)
		if (cmd_dns_start(all, c, &all->v[i]) != 0)
			return 1;
	for (size_t i = 0; i < all->n; i++)
		cmd_dns_ask(all, &all->v[i]);
	event_base_dispatch(all->base);
	for (int q = 0; q < CMD_DNS_QUESTIONS; q++)
		cmd_dns_majority(all, q);
	for (size_t i = 0; i < all->n; i++)
		answered += strcmp(cmd_dns_verdict(&all->v[i], true),
		    "answers") == 0 || strcmp(cmd_dns_verdict(&all->v[i],
		    true), "disagrees") == 0;
	if (json)
		cmd_dns_json(all);
	else
		cmd_dns_human(all);
	return answered > 0 ? 0 : cli_fail("%s: no resolver answered",
	    all->name);
}

int
cmd_check_dns_all(struct cli *cli, const char *name, bool json)
{
	static const struct conf_listen system = { "", "" };
	struct cmd_dns_all all;
	const struct conf *c;
	int status;

	if (name != NULL && !dns_name_valid(name))
		return cli_fail("%s: not a valid DNS name", name);
	if (cli_load_conf(cli) < 0)
		return 1;
	c = &cli->conf;
	memset(&all, 0, sizeof(all));
	if (name != NULL)
		str_lcpy(all.name, name, sizeof(all.name));
	else
		cmd_dns_default_name(cli, all.name, sizeof(all.name));
	for (size_t i = 0; i < c->dns_resolvers.n; i++)
		cmd_dns_add(&all, &c->dns_resolvers.v[i], "dns_resolvers");
	if (c->dns_resolvers.n == 0) {
		cmd_dns_add(&all, &system, "/etc/resolv.conf");
		str_lcpy(all.v[0].label, "system", sizeof(all.v[0].label));
	}
	for (size_t i = 0; i < c->dns_fallback_resolvers.n; i++)
		cmd_dns_add(&all, &c->dns_fallback_resolvers.v[i],
		    "dns_fallback_resolvers");
	if ((all.base = event_base_new()) == NULL) {
		cmd_dns_free(&all);
		return cli_fail("cannot create an event loop");
	}
	status = cmd_dns_run(&all, c, json);
	cmd_dns_free(&all);
	return status;
}
