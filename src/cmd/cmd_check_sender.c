/* `ferry check sender DOMAIN [--ip IP] [--json]`: why mail from a
 * domain was refused or marked, the way the inbound checks see it.
 * The sender-domain check (mfcheck, policy/gate_mfcheck.c): MX, A and
 * AAAA of the domain and the reply the gate would give (RFC 5321 5.1,
 * RFC 7505 null MX); the domain's SPF record and, with --ip, the result
 * of check_host() for that client (msgauth/spf.c, the same code as the
 * spf gate) with the way through include:/redirect= to the deciding
 * term; the DMARC record (RFC 7489 6.6.3: _dmarc.DOMAIN, else the
 * organizational domain's) parsed by msgauth/dmarc.c.  Everything at
 * once on one loop.  Exit 0 when the checks ran (whatever they found),
 * 1 when they could not, 2 on usage errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "cmd/cmd.h"
#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc.h"
#include "msgauth/spf.h"
#include "net/dns.h"

#define CMD_SENDER_USAGE "check sender DOMAIN [--ip IP] [--json]"
#define CMD_SENDER_TEXT_MAX 1024

enum { CMD_SENDER_MX, CMD_SENDER_A, CMD_SENDER_AAAA, CMD_SENDER_N };

struct cmd_sender_q {
	enum dns_status st;
	char why[160];
	char records[CMD_SENDER_TEXT_MAX];
	bool null_mx;			/* only "MX 0 ." */
};

struct cmd_sender {
	struct event_base *base;
	struct dns *dns;
	const struct conf *conf;
	char domain[256];
	char ip[INET6_ADDRSTRLEN + 1];	/* "": no --ip */
	struct sockaddr_storage ss;
	unsigned pending;
	struct cmd_sender_q q[CMD_SENDER_N];
	/* SPF */
	enum dns_status spf_st;
	char spf_record[CMD_SENDER_TEXT_MAX];	/* "": none */
	size_t spf_records;
	bool spf_done;
	char spf_result[16], spf_mechanism[256], spf_path[1024];
	char spf_problem[300], spf_explanation[300];
	/* DMARC */
	char dmarc_name[300];		/* the _dmarc name that answered */
	enum dns_status dmarc_st;
	char dmarc_text[CMD_SENDER_TEXT_MAX];
	size_t dmarc_records;
	bool dmarc_ok;
	struct dmarc_record dmarc;
	char dmarc_err[200];
	bool dmarc_org_tried;
	struct dmarc_psl *psl;
};

static void
cmd_sender_step(struct cmd_sender *s)
{
	if (--s->pending == 0)
		event_base_loopbreak(s->base);
}

/* ---------------------------------------------------------- mfcheck */

static void
cmd_sender_addr_done(const struct dns_result *r, void *arg)
{
	struct cmd_sender *s = arg;
	int i = r->type == DNS_T_MX ? CMD_SENDER_MX : r->type == DNS_T_A ?
	    CMD_SENDER_A : CMD_SENDER_AAAA;
	struct cmd_sender_q *q = &s->q[i];
	char one[300];

	q->st = r->status;
	if (r->status == DNS_TEMPFAIL)
		str_lcpy(q->why, r->why != NULL ? r->why : "failed",
		    sizeof(q->why));
	q->null_mx = r->type == DNS_T_MX && r->n > 0;
	for (size_t k = 0; k < r->n; k++) {
		if (r->type == DNS_T_MX) {
			snprintf(one, sizeof(one), "%u %s", r->rr[k].pref,
			    r->rr[k].name[0] != '\0' ? r->rr[k].name : ".");
			q->null_mx = q->null_mx && r->rr[k].name[0] == '\0';
		} else
			cidr_addr_str((const struct sockaddr *)&r->rr[k].addr,
			    one, sizeof(one));
		if (strlen(q->records) + strlen(one) + 3 < sizeof(q->records))
			snprintf(q->records + strlen(q->records),
			    sizeof(q->records) - strlen(q->records), "%s%s",
			    k > 0 ? ", " : "", one);
	}
	cmd_sender_step(s);
}

/* The reply the sender-domain check would give, decided in the order
 * gate_mfcheck.c decides: "" when it passes. */
static const char *
cmd_sender_mf_verdict(const struct cmd_sender *s)
{
	const struct cmd_sender_q *mx = &s->q[CMD_SENDER_MX];
	bool addr = s->q[CMD_SENDER_A].st == DNS_OK ||
	    s->q[CMD_SENDER_AAAA].st == DNS_OK;

	if (mx->st == DNS_OK && !mx->null_mx)
		return "";
	if (mx->st == DNS_OK)
		return "550 5.7.27 the domain accepts no mail (null MX)";
	if (mx->st == DNS_NXDOMAIN)
		return "553 5.1.8 domain not found";
	if (addr)
		return "";
	for (int i = 0; i < CMD_SENDER_N; i++)
		if (s->q[i].st == DNS_TEMPFAIL)
			return "451 4.4.3 DNS temporary failure";
	return "553 5.1.8 the domain has no MX or address records";
}

/* ---------------------------------------------------------- SPF */

static void
cmd_sender_spf_txt(const struct dns_result *r, void *arg)
{
	struct cmd_sender *s = arg;

	s->spf_st = r->status;
	for (size_t k = 0; k < r->n; k++)
		if (spf_record_is_spf(r->rr[k].txt, r->rr[k].txt_len) &&
		    s->spf_records++ == 0)
			str_lcpy(s->spf_record, r->rr[k].txt,
			    sizeof(s->spf_record));
	cmd_sender_step(s);
}

static void
cmd_sender_spf_done(const struct spf_answer *a, void *arg)
{
	struct cmd_sender *s = arg;

	s->spf_done = true;
	str_lcpy(s->spf_result, spf_result_str(a->result),
	    sizeof(s->spf_result));
	str_lcpy(s->spf_mechanism, a->mechanism, sizeof(s->spf_mechanism));
	str_lcpy(s->spf_path, a->path, sizeof(s->spf_path));
	str_lcpy(s->spf_problem, a->problem, sizeof(s->spf_problem));
	str_lcpy(s->spf_explanation, a->explanation,
	    sizeof(s->spf_explanation));
	cmd_sender_step(s);
}

static void
cmd_sender_spf_start(struct cmd_sender *s)
{
	struct spf_request req;
	char sender[300];

	memset(&req, 0, sizeof(req));
	req.ip = s->ss;
	snprintf(sender, sizeof(sender), "postmaster@%s", s->domain);
	req.sender = sender;
	req.helo = s->domain;
	req.receiver = s->conf->hostname;
	s->pending++;
	(void)spf_check_start(s->base, s->dns, &req, cmd_sender_spf_done, s);
}

/* ---------------------------------------------------------- DMARC */

static void cmd_sender_dmarc_ask(struct cmd_sender *s, const char *domain);

static void
cmd_sender_dmarc_done(const struct dns_result *r, void *arg)
{
	struct cmd_sender *s = arg;
	const struct dns_rr *rec = NULL;
	char org[256];

	s->dmarc_st = r->status;
	s->dmarc_records = 0;
	for (size_t k = 0; k < r->n; k++)
		if (dmarc_is_dmarc(r->rr[k].txt, r->rr[k].txt_len) &&
		    s->dmarc_records++ == 0)
			rec = &r->rr[k];
	if (rec != NULL) {
		str_lcpy(s->dmarc_text, rec->txt, sizeof(s->dmarc_text));
		s->dmarc_ok = s->dmarc_records == 1 &&
		    dmarc_record_parse(rec->txt, rec->txt_len, &s->dmarc,
		    s->dmarc_err, sizeof(s->dmarc_err)) == 0;
		if (s->dmarc_records > 1)
			str_lcpy(s->dmarc_err, "more than one DMARC record "
			    "(none applies)", sizeof(s->dmarc_err));
	} else if (r->status != DNS_TEMPFAIL && !s->dmarc_org_tried &&
	    dmarc_org_domain(s->psl, s->domain, org, sizeof(org)) == 0 &&
	    !str_ieq(org, s->domain)) {
		/* 6.6.3: no record at the domain, the organizational
		 * domain's applies. */
		s->dmarc_org_tried = true;
		cmd_sender_dmarc_ask(s, org);
	}
	cmd_sender_step(s);
}

static void
cmd_sender_dmarc_ask(struct cmd_sender *s, const char *domain)
{
	snprintf(s->dmarc_name, sizeof(s->dmarc_name), "_dmarc.%s", domain);
	s->pending++;
	(void)dns_lookup(s->dns, s->dmarc_name, DNS_T_TXT,
	    cmd_sender_dmarc_done, s);
}

/* ---------------------------------------------------------- output */

static const char *
cmd_sender_q_text(const struct cmd_sender_q *q)
{
	if (q->st == DNS_OK)
		return q->records;
	if (q->st == DNS_TEMPFAIL)
		return q->why;
	return q->st == DNS_NXDOMAIN ? "does not exist" : "none";
}

/* The URIs ", "-joined into b (reset first). */
static void
cmd_sender_uris(const struct dmarc_uri *v, size_t n, struct fbuf *b)
{
	fbuf_reset(b);
	(void)fbuf_add(b, "", 0);
	for (size_t i = 0; i < n; i++)
		(void)fbuf_addf(b, "%s%s", i > 0 ? ", " : "", v[i].uri);
}

static void
cmd_sender_human_dmarc(const struct cmd_sender *s)
{
	const struct dmarc_record *d = &s->dmarc;
	struct fbuf rua, ruf;

	if (s->dmarc_text[0] == '\0') {
		printf("DMARC: %s\n", s->dmarc_st == DNS_TEMPFAIL ?
		    "temporary DNS failure" : "no record (no policy applies)");
		return;
	}
	printf("DMARC record (%s): %s\n", s->dmarc_name, s->dmarc_text);
	if (!s->dmarc_ok) {
		printf("DMARC: not valid: %s\n", s->dmarc_err);
		return;
	}
	fbuf_init(&rua, 0);
	fbuf_init(&ruf, 0);
	cmd_sender_uris(d->rua, d->n_rua, &rua);
	cmd_sender_uris(d->ruf, d->n_ruf, &ruf);
	printf("DMARC: policy %s, subdomains %s, pct %u, alignment dkim %s "
	    "spf %s%s\n", dmarc_policy_name(d->p), dmarc_policy_name(d->sp),
	    d->pct, d->adkim == DMARC_A_STRICT ? "strict" : "relaxed",
	    d->aspf == DMARC_A_STRICT ? "strict" : "relaxed",
	    d->p_from_rua ? " (p= missing or bad: none, as rua= is there)" :
	    "");
	if (rua.len > 0)
		printf("DMARC: aggregate reports to %s\n", rua.data);
	if (ruf.len > 0)
		printf("DMARC: failure reports to %s\n", ruf.data);
	if (d->warning[0] != '\0')
		printf("DMARC: ignored: %s\n", d->warning);
	fbuf_release(&rua);
	fbuf_release(&ruf);
}

static void
cmd_sender_human(const struct cmd_sender *s)
{
	static const char *const names[] = { "MX", "A", "AAAA" };
	const char *v = cmd_sender_mf_verdict(s);

	printf("sender domain %s (mfcheck = %s)\n", s->domain,
	    s->conf->mfcheck ? "yes" : "no");
	for (int i = 0; i < CMD_SENDER_N; i++)
		printf("  %-4s %s\n", names[i], cmd_sender_q_text(&s->q[i]));
	if (v[0] == '\0')
		printf("mfcheck: passes (the domain can receive replies)\n");
	else
		printf("mfcheck: would refuse: %s\n", v);
	if (s->spf_record[0] != '\0')
		printf("SPF record: %s%s\n", s->spf_record, s->spf_records > 1 ?
		    " (and more: permerror)" : "");
	else
		printf("SPF record: %s\n", s->spf_st == DNS_TEMPFAIL ?
		    "temporary DNS failure" : "none");
	if (s->spf_done) {
		printf("SPF for %s: %s", s->ip, s->spf_result);
		if (s->spf_mechanism[0] != '\0')
			printf(" (mechanism %s)", s->spf_mechanism);
		putchar('\n');
		if (s->spf_path[0] != '\0')
			printf("  path: %s\n", s->spf_path);
		if (s->spf_problem[0] != '\0')
			printf("  problem: %s\n", s->spf_problem);
		if (s->spf_explanation[0] != '\0')
			printf("  explanation: %s\n", s->spf_explanation);
	}
	cmd_sender_human_dmarc(s);
}

static void
cmd_sender_json_kv(const char *key, const char *v, bool first)
{
	printf("%s\"%s\": ", first ? "" : ", ", key);
	if (v != NULL)
		cli_json_str(v);
	else
		fputs("null", stdout);
}

static void
cmd_sender_json_dmarc(const struct cmd_sender *s)
{
	const struct dmarc_record *d = &s->dmarc;
	struct fbuf rua;

	fputs(", \"dmarc\": {", stdout);
	cmd_sender_json_kv("name", s->dmarc_text[0] != '\0' ? s->dmarc_name :
	    NULL, true);
	cmd_sender_json_kv("record", s->dmarc_text[0] != '\0' ?
	    s->dmarc_text : NULL, false);
	printf(", \"valid\": %s", s->dmarc_ok ? "true" : "false");
	cmd_sender_json_kv("error", s->dmarc_text[0] != '\0' && !s->dmarc_ok ?
	    s->dmarc_err : NULL, false);
	if (s->dmarc_ok) {
		fbuf_init(&rua, 0);
		cmd_sender_uris(d->rua, d->n_rua, &rua);
		printf(", \"p\": \"%s\", \"sp\": \"%s\", \"pct\": %u, "
		    "\"adkim\": \"%s\", \"aspf\": \"%s\"",
		    dmarc_policy_name(d->p), dmarc_policy_name(d->sp), d->pct,
		    d->adkim == DMARC_A_STRICT ? "s" : "r",
		    d->aspf == DMARC_A_STRICT ? "s" : "r");
		cmd_sender_json_kv("rua", rua.data, false);
		fbuf_release(&rua);
	}
	cmd_sender_json_kv("dns", dns_status_str(s->dmarc_st), false);
	putchar('}');
}

static void
cmd_sender_json(const struct cmd_sender *s)
{
	static const char *const names[] = { "mx", "a", "aaaa" };
	const char *v = cmd_sender_mf_verdict(s);

	fputs("{", stdout);
	cmd_sender_json_kv("domain", s->domain, true);
	printf(", \"mfcheck\": {\"enabled\": %s, \"passes\": %s",
	    s->conf->mfcheck ? "true" : "false", v[0] == '\0' ? "true" :
	    "false");
	cmd_sender_json_kv("reply", v[0] != '\0' ? v : NULL, false);
	for (int i = 0; i < CMD_SENDER_N; i++) {
		printf(", \"%s\": {\"status\": \"%s\"", names[i],
		    dns_status_str(s->q[i].st));
		cmd_sender_json_kv("records", s->q[i].st == DNS_OK ?
		    s->q[i].records : NULL, false);
		putchar('}');
	}
	fputs("}, \"spf\": {", stdout);
	cmd_sender_json_kv("record", s->spf_record[0] != '\0' ?
	    s->spf_record : NULL, true);
	cmd_sender_json_kv("ip", s->ip[0] != '\0' ? s->ip : NULL, false);
	cmd_sender_json_kv("result", s->spf_done ? s->spf_result : NULL,
	    false);
	cmd_sender_json_kv("mechanism", s->spf_done ? s->spf_mechanism : NULL,
	    false);
	cmd_sender_json_kv("path", s->spf_done ? s->spf_path : NULL, false);
	cmd_sender_json_kv("problem", s->spf_done ? s->spf_problem : NULL,
	    false);
	putchar('}');
	cmd_sender_json_dmarc(s);
	puts("}");
}

/* ---------------------------------------------------------- command */

static int
cmd_sender_ip(const char *s, struct sockaddr_storage *ss, char *dst,
    size_t size)
{
	if (cidr_addr_parse(s, ss) < 0)
		return -1;
	cidr_addr_str((const struct sockaddr *)ss, dst, size);
	return 0;
}

static void
cmd_sender_start(struct cmd_sender *s)
{
	s->pending = 1;		/* held until everything has started */
	s->pending += CMD_SENDER_N + 1;
	(void)dns_lookup(s->dns, s->domain, DNS_T_MX, cmd_sender_addr_done, s);
	(void)dns_lookup(s->dns, s->domain, DNS_T_A, cmd_sender_addr_done, s);
	(void)dns_lookup(s->dns, s->domain, DNS_T_AAAA, cmd_sender_addr_done,
	    s);
	(void)dns_lookup(s->dns, s->domain, DNS_T_TXT, cmd_sender_spf_txt, s);
	if (s->ip[0] != '\0')
		cmd_sender_spf_start(s);
	cmd_sender_dmarc_ask(s, s->domain);
	cmd_sender_step(s);
}

static int
cmd_sender_run(struct cli *cli, struct cmd_sender *s, bool json)
{
	const char *error;

	if ((s->base = event_base_new()) == NULL)
		return cli_fail("cannot create an event loop");
	if (dns_create(&s->dns, s->base, &cli->conf, &error) < 0) {
		event_base_free(s->base);
		return cli_fail("dns: %s", error);
	}
	if (cli->conf.dmarc_psl[0] != '\0' &&
	    dmarc_psl_load(cli->conf.dmarc_psl, &s->psl, &error) < 0)
		s->psl = NULL;		/* the implicit "*" rule only */
	cmd_sender_start(s);
	event_base_dispatch(s->base);
	if (json)
		cmd_sender_json(s);
	else
		cmd_sender_human(s);
	dns_free(&s->dns);
	event_base_free(s->base);
	if (s->psl != NULL)
		dmarc_psl_free(s->psl);
	return 0;
}

/* argv[0] is "sender". */
int
cmd_check_sender(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	struct cmd_sender *s;
	const char *ip = NULL;
	size_t len;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ip") != 0)
			continue;
		if (i + 1 >= argc || ip != NULL)
			return cli_usage(CMD_SENDER_USAGE);
		ip = argv[i + 1];
		memmove(&argv[i], &argv[i + 2],
		    (size_t)(argc - i - 1) * sizeof(*argv));
		argc -= 2;
		i--;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(CMD_SENDER_USAGE);
	len = strlen(argv[1]);
	if (len > 0 && argv[1][len - 1] == '.')
		len--;
	if (!dns_name_valid(argv[1]) || len >= 254)
		return cli_fail("%s: not a valid domain name", argv[1]);
	if (cli_load_conf(cli) < 0)
		return 1;
	s = xcalloc(1, sizeof(*s));
	s->conf = &cli->conf;
	str_lcpy(s->domain, argv[1], sizeof(s->domain));
	s->domain[len] = '\0';
	if (ip != NULL && cmd_sender_ip(ip, &s->ss, s->ip, sizeof(s->ip)) < 0) {
		free(s);
		return cli_fail("%s: not an IP address", ip);
	}
	ret = cmd_sender_run(cli, s, json);
	free(s);
	return ret;
}
