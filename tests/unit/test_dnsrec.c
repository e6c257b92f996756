/* The records to publish (ops_dnsrec.h) built from a configuration, and
 * the judgement of DNS answers: match, differs, missing, failed, for
 * each kind, from hand-made results (the integration test asks a real
 * resolver). */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "net/dns.h"
#include "ops/ops_dnsrec.h"
#include "ops/ops_services.h"
#include "test.h"

static const char conf_text[] =
    "hostname = MX.Example.NET\n"
    "state_dir = /nonexistent\n"
    "submission_listen = 0.0.0.0:587, [::]:587, 0.0.0.0:26\n"
    "submissions_listen = 0.0.0.0:465\n"
    "imap_listen = 0.0.0.0:143\n"
    "imaps_listen = 0.0.0.0:993\n"
    "tls_cert = /etc/ferry/cert.pem\n"
    "tls_key = /etc/ferry/key.pem\n";

static void
test_load(struct conf *c, const char *text)
{
	const char *error;

	conf_defaults(c);
	if (conf_parse(c, "test", text, strlen(text), &error) < 0) {
		fprintf(stderr, "%s\n", error);
		abort();
	}
}

static const struct ops_dnsrec *
test_find(const struct ops_dnsrec_list *l, const char *name, size_t nth)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0 && nth-- == 0)
			return &l->v[i];
	return NULL;
}

static void
test_services(void)
{
	struct ops_services s;
	struct conf c;

	test_begin("services from the listeners");
	test_load(&c, conf_text);
	ops_services(&c, &s);
	test_assert_streq(s.host, "mx.example.net");
	test_assert(s.n == 5);
	test_assert(s.v[0].proto == OPS_SVC_IMAP && s.v[0].port == 993 &&
	    s.v[0].sec == OPS_SVC_TLS);
	test_assert(s.v[1].proto == OPS_SVC_IMAP && s.v[1].port == 143 &&
	    s.v[1].sec == OPS_SVC_STARTTLS);
	test_assert(s.v[2].proto == OPS_SVC_SMTP && s.v[2].port == 465 &&
	    s.v[2].sec == OPS_SVC_TLS);
	/* 587 on two addresses is one service. */
	test_assert(s.v[3].port == 587 && s.v[3].sec == OPS_SVC_STARTTLS);
	test_assert(s.v[4].port == 26 && s.v[4].sec == OPS_SVC_STARTTLS);
	test_assert(ops_services_first(&s, OPS_SVC_POP3) == NULL);
	conf_free(&c);
	/* Without a certificate: no implicit TLS, no STARTTLS. */
	test_load(&c, "hostname = h.test\nimaps_listen = 0.0.0.0:993\n"
	    "pop3_listen = 0.0.0.0:110\nsubmission_listen = 0.0.0.0:587\n");
	ops_services(&c, &s);
	test_assert(s.n == 2);
	test_assert(s.v[0].proto == OPS_SVC_POP3 &&
	    s.v[0].sec == OPS_SVC_PLAIN);
	test_assert(s.v[1].proto == OPS_SVC_SMTP &&
	    s.v[1].sec == OPS_SVC_PLAIN);
	conf_free(&c);
	test_end();
}

static void
test_build(void)
{
	struct ops_dnsrec_list l;
	const struct ops_dnsrec *r;
	struct conf c;

	test_begin("dnsrec build");
	test_load(&c, conf_text);
	ops_dnsrec_build(&c, "example.org", NULL, &l);
	test_assert_streq(l.host, "mx.example.net");
	r = test_find(&l, "example.org", 0);
	test_assert(r != NULL && r->kind == OPS_DNSREC_MX);
	test_assert(r != NULL && strcmp(r->value, "10 mx.example.net.") == 0);
	r = test_find(&l, "example.org", 1);
	test_assert(r != NULL && strcmp(r->value, "v=spf1 mx -all") == 0);
	r = test_find(&l, "_submission._tcp.example.org", 0);
	test_assert(r != NULL && strcmp(r->value, "0 1 587 mx.example.net.") ==
	    0);
	r = test_find(&l, "_submission._tcp.example.org", 1);
	test_assert(r != NULL && strcmp(r->value, "10 1 26 mx.example.net.") ==
	    0);
	test_assert(test_find(&l, "_submission._tcp.example.org", 2) == NULL);
	r = test_find(&l, "_pop3s._tcp.example.org", 0);
	test_assert(r != NULL && strcmp(r->value, "0 0 0 .") == 0 &&
	    r->target[0] == '\0' && r->port == 0);
	r = test_find(&l, "autoconfig.example.org", 0);
	test_assert(r != NULL && strcmp(r->type, "CNAME") == 0 &&
	    strcmp(r->value, "mx.example.net.") == 0);
	test_assert(test_find(&l, "_dmarc.example.org", 0) != NULL);
	for (size_t i = 0; i < l.n; i++)
		test_assert_idx(l.v[i].state == OPS_DNSREC_UNCHECKED, i);
	ops_dnsrec_list_free(&l);
	conf_free(&c);
	test_end();
}

static struct dns_result
test_txt(struct dns_rr *rr, const char *const *txt, size_t n)
{
	struct dns_result r = { .status = DNS_OK, .type = DNS_T_TXT };

	for (size_t i = 0; i < n; i++) {
		memset(&rr[i], 0, sizeof(rr[i]));
		rr[i].txt = (char *)txt[i];
		rr[i].txt_len = strlen(txt[i]);
	}
	r.rr = rr;
	r.n = n;
	return r;
}

static enum ops_dnsrec_state
test_judge_txt(enum ops_dnsrec_kind kind, const char *const *txt, size_t n)
{
	struct ops_dnsrec rec = { .kind = kind, .name = "example.org",
	    .target = "mx.example.net" };
	struct dns_rr rr[4];
	struct dns_result r = test_txt(rr, txt, n);
	enum ops_dnsrec_state st;

	ops_dnsrec_judge(&rec, &r, NULL, 0);
	st = rec.state;
	for (size_t i = 0; i < rec.npublished; i++)
		free(rec.published[i]);
	free(rec.published);
	return st;
}

static void
test_judge_spf_dmarc(void)
{
	static const char *const spf_mx[] = { "other", "v=spf1 mx -all" };
	static const char *const spf_a[] = { "v=spf1 +a:MX.example.net. ~all" };
	static const char *const spf_ip[] = { "v=spf1 ip4:192.0.2.1 -all" };
	static const char *const spf_two[] = { "v=spf1 mx -all",
	    "v=spf1 -all" };
	static const char *const spf_none[] = { "v=spf10 mx", "hello" };
	static const char *const spf_mx_other[] = { "v=spf1 mx:other.org -all" };
	static const char *const dmarc_ok[] = { "v=DMARC1; p=reject" };
	static const char *const dmarc_bad[] = { "v=DMARC1; p=bogus" };

	test_begin("dnsrec judge SPF and DMARC");
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_mx, 2) ==
	    OPS_DNSREC_MATCH);
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_a, 1) ==
	    OPS_DNSREC_MATCH);
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_ip, 1) ==
	    OPS_DNSREC_DIFFERS);
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_two, 2) ==
	    OPS_DNSREC_DIFFERS);
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_none, 2) ==
	    OPS_DNSREC_MISSING);
	test_assert(test_judge_txt(OPS_DNSREC_SPF, spf_mx_other, 1) ==
	    OPS_DNSREC_DIFFERS);
	test_assert(test_judge_txt(OPS_DNSREC_DMARC, dmarc_ok, 1) ==
	    OPS_DNSREC_MATCH);
	test_assert(test_judge_txt(OPS_DNSREC_DMARC, dmarc_bad, 1) ==
	    OPS_DNSREC_DIFFERS);
	test_assert(test_judge_txt(OPS_DNSREC_DMARC, spf_mx, 2) ==
	    OPS_DNSREC_MISSING);
	test_end();
}

static void
test_judge_records(void)
{
	struct ops_dnsrec rec = { .kind = OPS_DNSREC_SRV,
	    .name = "_imaps._tcp.example.org", .target = "mx.example.net",
	    .port = 993 };
	struct dns_rr rr[2];
	struct dns_result r = { .status = DNS_OK, .type = DNS_T_SRV, .rr = rr,
	    .n = 2 };
	const char *host[] = { "192.0.2.1", "192.0.2.2" };
	struct sockaddr_in *sin = (struct sockaddr_in *)&rr[0].addr;

	test_begin("dnsrec judge SRV, MX, host, failures");
	memset(rr, 0, sizeof(rr));
	rr[0].port = 993;
	snprintf(rr[0].name, sizeof(rr[0].name), "other.example.net");
	rr[1].port = 993;
	rr[1].pref = 5;
	snprintf(rr[1].name, sizeof(rr[1].name), "MX.EXAMPLE.NET");
	ops_dnsrec_judge(&rec, &r, NULL, 0);
	test_assert(rec.state == OPS_DNSREC_MATCH);
	test_assert(rec.npublished == 2);
	test_assert_streq(rec.published[1], "5 0 993 MX.EXAMPLE.NET.");
	rr[1].port = 994;
	ops_dnsrec_judge(&rec, &r, NULL, 0);
	test_assert(rec.state == OPS_DNSREC_DIFFERS);
	/* "Not offered": the root as target. */
	rec.port = 0;
	rec.target[0] = '\0';
	rr[1].port = 0;
	rr[1].name[0] = '\0';
	ops_dnsrec_judge(&rec, &r, NULL, 0);
	test_assert(rec.state == OPS_DNSREC_MATCH);
	test_assert_streq(rec.published[1], "5 0 0 .");
	/* MX */
	rec.kind = OPS_DNSREC_MX;
	snprintf(rec.target, sizeof(rec.target), "mx.example.net");
	r.type = DNS_T_MX;
	ops_dnsrec_judge(&rec, &r, NULL, 0);
	test_assert(rec.state == OPS_DNSREC_DIFFERS);
	snprintf(rr[0].name, sizeof(rr[0].name), "mx.example.net.");
	ops_dnsrec_judge(&rec, &r, NULL, 0);
	test_assert(rec.state == OPS_DNSREC_MATCH);
	/* autoconfig: compared with the host's addresses. */
	rec.kind = OPS_DNSREC_HOST;
	r.type = DNS_T_A;
	r.n = 1;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.2", &sin->sin_addr);
	ops_dnsrec_judge(&rec, &r, host, 2);
	test_assert(rec.state == OPS_DNSREC_MATCH);
	test_assert_streq(rec.published[0], "192.0.2.2");
	ops_dnsrec_judge(&rec, &r, host, 1);
	test_assert(rec.state == OPS_DNSREC_DIFFERS);
	/* Failures and absence. */
	r.status = DNS_TEMPFAIL;
	r.why = "SERVFAIL";
	ops_dnsrec_judge(&rec, &r, host, 2);
	test_assert(rec.state == OPS_DNSREC_FAILED && rec.npublished == 0);
	test_assert_streq(rec.why, "SERVFAIL");
	r.status = DNS_NXDOMAIN;
	ops_dnsrec_judge(&rec, &r, host, 2);
	test_assert(rec.state == OPS_DNSREC_MISSING && rec.why[0] == '\0');
	r.status = DNS_NODATA;
	ops_dnsrec_judge(&rec, &r, host, 2);
	test_assert(rec.state == OPS_DNSREC_MISSING);
	free(rec.published);
	test_end();
}

int
main(void)
{
	test_services();
	test_build();
	test_judge_spf_dmarc();
	test_judge_records();
	return test_exit();
}
