/* The DNS records to publish for a hosted domain (ops_dnsrec.h): built
 * from the configuration, the DKIM keys and the listeners in force, then
 * checked against DNS through the server's resolver (net/dns.h), which
 * asks dns_resolvers and, when those fail, dns_fallback_resolvers, as
 * every other lookup of the server does.  It does not tell the operator
 * the server's public address: behind NAT the machine cannot know it,
 * which is why the autoconfig names are CNAMEs to the hostname. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc.h"
#include "net/dns.h"
#include "ops/ops_account.h"
#include "ops/ops_dkim.h"
#include "ops/ops_dnsrec.h"
#include "ops/ops_services.h"

const char *
ops_dnsrec_state_str(enum ops_dnsrec_state s)
{
	static const char *const names[] = { "unchecked", "match", "differs",
	    "missing", "failed" };

	return names[s];
}

int
ops_dnsrec_qtype(enum ops_dnsrec_kind kind)
{
	switch (kind) {
	case OPS_DNSREC_MX:
		return DNS_T_MX;
	case OPS_DNSREC_HOST:
		return DNS_T_A;
	case OPS_DNSREC_SRV:
		return DNS_T_SRV;
	default:
		return DNS_T_TXT;
	}
}

static void
ops_dnsrec_unpublish(struct ops_dnsrec *rec)
{
	for (size_t i = 0; i < rec->npublished; i++)
		free(rec->published[i]);
	free(rec->published);
	rec->published = NULL;
	rec->npublished = 0;
}

void
ops_dnsrec_list_free(struct ops_dnsrec_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].value);
		ops_dnsrec_unpublish(&l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ------------------------------------------------------------- build */

static struct ops_dnsrec *
ops_dnsrec_add(struct ops_dnsrec_list *l, enum ops_dnsrec_kind kind,
    const char *type, const char *purpose)
{
	struct ops_dnsrec *rec;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	rec = &l->v[l->n++];
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	snprintf(rec->type, sizeof(rec->type), "%s", type);
	rec->purpose = purpose;
	return rec;
}

static void
ops_dnsrec_set_value(struct ops_dnsrec *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ops_dnsrec_set_value(struct ops_dnsrec *rec, const char *fmt, ...)
{
	struct fbuf b;
	va_list ap;

	fbuf_init(&b, 0);
	va_start(ap, fmt);
	(void)fbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(rec->value);
	rec->value = fbuf_steal(&b);
}

/* The SRV records of one RFC 6186 label: each port of the services
 * with that label, in listener order (priority 0, 10, 20...), or the
 * "not offered" record with target "." (RFC 6186 section 3.4). */
static void
ops_dnsrec_build_srv(struct ops_dnsrec_list *l, const struct ops_services *s,
    const char *label, const char *what, const char *not_offered)
{
	unsigned prio = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct ops_dnsrec *rec;

		if (strcmp(s->v[i].srv, label) != 0)
			continue;
		rec = ops_dnsrec_add(l, OPS_DNSREC_SRV, "SRV", what);
		snprintf(rec->name, sizeof(rec->name), "%s.%s", label,
		    l->domain);
		rec->priority = prio;
		rec->weight = 1;
		rec->port = s->v[i].port;
		snprintf(rec->target, sizeof(rec->target), "%s", s->host);
		ops_dnsrec_set_value(rec, "%u 1 %u %s.", prio, rec->port,
		    s->host);
		prio += 10;
	}
	if (prio == 0) {
		struct ops_dnsrec *rec = ops_dnsrec_add(l, OPS_DNSREC_SRV,
		    "SRV", not_offered);

		snprintf(rec->name, sizeof(rec->name), "%s.%s", label,
		    l->domain);
		ops_dnsrec_set_value(rec, "0 0 0 .");
	}
}

static void
ops_dnsrec_build_host(struct ops_dnsrec_list *l, const char *label,
    const char *what)
{
	struct ops_dnsrec *rec = ops_dnsrec_add(l, OPS_DNSREC_HOST, "CNAME",
	    what);

	snprintf(rec->name, sizeof(rec->name), "%s.%s", label, l->domain);
	snprintf(rec->target, sizeof(rec->target), "%s", l->host);
	ops_dnsrec_set_value(rec, "%s.", l->host);
}

static void
ops_dnsrec_build_txt(struct ops_dnsrec_list *l, enum ops_dnsrec_kind kind,
    const char *name, const char *value, const char *what)
{
	struct ops_dnsrec *rec = ops_dnsrec_add(l, kind, "TXT", what);

	snprintf(rec->name, sizeof(rec->name), "%s", name);
	rec->value = xstrdup(value);
}

/* RFC 6186 services, implicit TLS first (RFC 8314 prefers it). */
static const struct {
	const char *label, *what, *not_offered;
} ops_dnsrec_srvs[] = {
	{ "_submissions._tcp", "sending mail: submission over TLS",
	    "sending mail over TLS: not offered here, clients need not try" },
	{ "_submission._tcp", "sending mail: submission with STARTTLS",
	    "sending mail with STARTTLS: not offered here, clients need not "
	    "try" },
	{ "_imaps._tcp", "IMAP over TLS",
	    "IMAP over TLS: not offered here, clients need not try" },
	{ "_imap._tcp", "IMAP (STARTTLS)",
	    "IMAP on port 143: not offered here, clients need not try" },
	{ "_pop3s._tcp", "POP3 over TLS",
	    "POP3 over TLS: not offered here, clients need not try" },
	{ "_pop3._tcp", "POP3 (STARTTLS)",
	    "POP3 on port 110: not offered here, clients need not try" },
};

void
ops_dnsrec_build(const struct conf *conf, const char *domain,
    const struct ops_dkim_list *keys, struct ops_dnsrec_list *out)
{
	struct ops_services s;
	struct ops_dnsrec *rec;
	char name[320];

	ops_services(conf, &s);
	memset(out, 0, sizeof(*out));
	snprintf(out->domain, sizeof(out->domain), "%s", domain);
	snprintf(out->host, sizeof(out->host), "%s", s.host);
	rec = ops_dnsrec_add(out, OPS_DNSREC_MX, "MX",
	    "incoming mail for the domain goes to this server");
	snprintf(rec->name, sizeof(rec->name), "%s", domain);
	rec->priority = 10;
	snprintf(rec->target, sizeof(rec->target), "%s", s.host);
	ops_dnsrec_set_value(rec, "10 %s.", s.host);
	ops_dnsrec_build_txt(out, OPS_DNSREC_SPF, domain, "v=spf1 mx -all",
	    "SPF: the domain's MX hosts send its mail");
	snprintf(out->v[out->n - 1].target, sizeof(out->v[0].target), "%s",
	    s.host);
	for (size_t i = 0; keys != NULL && i < keys->n; i++)
		if (keys->v[i].active && strcmp(keys->v[i].domain, domain) == 0)
			ops_dnsrec_build_txt(out, OPS_DNSREC_DKIM,
			    keys->v[i].name, keys->v[i].record,
			    "DKIM: the key that signs the domain's mail");
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	rec = ops_dnsrec_add(out, OPS_DNSREC_DMARC, "TXT",
	    "DMARC: the policy for mail that fails SPF and DKIM");
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	ops_dnsrec_set_value(rec, "v=DMARC1; p=none; rua=mailto:postmaster@%s",
	    domain);
	ops_dnsrec_build_host(out, "autoconfig",
	    "Thunderbird (and others) find the server settings here");
	ops_dnsrec_build_host(out, "autodiscover",
	    "Outlook finds the server settings here");
	for (size_t i = 0; i < sizeof(ops_dnsrec_srvs) /
	    sizeof(ops_dnsrec_srvs[0]); i++)
		ops_dnsrec_build_srv(out, &s, ops_dnsrec_srvs[i].label,
		    ops_dnsrec_srvs[i].what, ops_dnsrec_srvs[i].not_offered);
}

int
ops_dnsrec_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_dnsrec_list *out, struct ops_status *st)
{
	char domain[254];
	struct ops_dkim_list keys;

	memset(out, 0, sizeof(*out));
	if (ops_domain_arg(c, domain_input, domain, sizeof(domain), st) < 0)
		return -1;
	if (ops_dkim_list(c, domain, &keys, st) < 0)
		return -1;
	ops_dnsrec_build(c->conf, domain, &keys, out);
	ops_dkim_list_free(&keys);
	return ops_ok(st);
}

/* ------------------------------------------------------------- judge */

static void
ops_dnsrec_publish(struct ops_dnsrec *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ops_dnsrec_publish(struct ops_dnsrec *rec, const char *fmt, ...)
{
	struct fbuf b;
	va_list ap;

	fbuf_init(&b, 0);
	va_start(ap, fmt);
	(void)fbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	rec->published = xreallocarray(rec->published, rec->npublished + 1,
	    sizeof(*rec->published));
	rec->published[rec->npublished++] = fbuf_steal(&b);
}

static bool
ops_dnsrec_same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* "v=spf1" followed by a space or the end (RFC 7208 4.5). */
static bool
ops_dnsrec_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (len == 6 || txt[6] == ' ');
}

/* Whether an SPF record lets this server send by name: a pass-qualified
 * `mx` (of the domain itself) or `a:HOST`.  Addresses (ip4:) cannot be
 * told apart from here, behind NAT, so they count as "differs". */
static bool
ops_dnsrec_spf_names_us(const char *txt, const char *domain,
    const char *host)
{
	char *copy = xstrdup(txt), *save = NULL, *t;
	bool ok = false;

	for (t = strtok_r(copy, " ", &save); t != NULL && !ok;
	    t = strtok_r(NULL, " ", &save)) {
		if (*t == '+')
			t++;
		if (strcasecmp(t, "mx") == 0 || strncasecmp(t, "mx/", 3) == 0)
			ok = true;
		else if (strncasecmp(t, "mx:", 3) == 0)
			ok = ops_dnsrec_same_host(t + 3, domain);
		else if (strncasecmp(t, "a:", 2) == 0)
			ok = ops_dnsrec_same_host(t + 2, host);
	}
	free(copy);
	return ok;
}

static void
ops_dnsrec_judge_txt(struct ops_dnsrec *rec, const struct dns_result *r)
{
	size_t found = 0;
	bool good = false;

	for (size_t i = 0; i < r->n; i++) {
		const char *txt = r->rr[i].txt;
		size_t len = r->rr[i].txt_len;
		struct dmarc_record dr;
		char err[128];

		if (txt == NULL || (rec->kind == OPS_DNSREC_SPF &&
		    !ops_dnsrec_is_spf(txt, len)) ||
		    (rec->kind == OPS_DNSREC_DMARC && !dmarc_is_dmarc(txt, len)))
			continue;
		found++;
		ops_dnsrec_publish(rec, "%s", txt);
		if (rec->kind == OPS_DNSREC_DKIM)
			good |= ops_dkim_record_same(rec->value, txt, len);
		else if (rec->kind == OPS_DNSREC_SPF)
			good = ops_dnsrec_spf_names_us(txt, rec->name,
			    rec->target);
		else
			good = dmarc_record_parse(txt, len, &dr, err,
			    sizeof(err)) == 0;
	}
	/* SPF and DMARC: two records are an error for receivers (RFC 7208
	 * 4.5, RFC 7489 6.6.3), however good each is. */
	if (found > 1 && rec->kind != OPS_DNSREC_DKIM)
		good = false;
	rec->state = found == 0 ? OPS_DNSREC_MISSING : good ?
	    OPS_DNSREC_MATCH : OPS_DNSREC_DIFFERS;
}

static void
ops_dnsrec_addr_str(const struct sockaddr_storage *ss, char *dst,
    size_t size)
{
	const void *a = ss->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (inet_ntop(ss->ss_family, a, dst, (socklen_t)size) == NULL)
		snprintf(dst, size, "?");
}

static void
ops_dnsrec_judge_records(struct ops_dnsrec *rec, const struct dns_result *r,
    const char *const *host_addrs, size_t nhost)
{
	bool good = false;

	for (size_t i = 0; i < r->n; i++) {
		const struct dns_rr *rr = &r->rr[i];
		const char *t = rr->name[0] != '\0' ? rr->name : ".";
		char addr[64];

		switch (rec->kind) {
		case OPS_DNSREC_MX:
			ops_dnsrec_publish(rec, "%u %s%s", rr->pref, t,
			    rr->name[0] != '\0' ? "." : "");
			good |= ops_dnsrec_same_host(rr->name, rec->target);
			break;
		case OPS_DNSREC_SRV:
			ops_dnsrec_publish(rec, "%u %u %u %s%s", rr->pref,
			    rr->weight, rr->port, t,
			    rr->name[0] != '\0' ? "." : "");
			good |= rr->port == rec->port &&
			    ops_dnsrec_same_host(rr->name, rec->target);
			break;
		default:	/* OPS_DNSREC_HOST: the name's addresses */
			ops_dnsrec_addr_str(&rr->addr, addr, sizeof(addr));
			ops_dnsrec_publish(rec, "%s", addr);
			for (size_t k = 0; k < nhost; k++)
				good |= strcmp(addr, host_addrs[k]) == 0;
		}
	}
	rec->state = r->n == 0 ? OPS_DNSREC_MISSING : good ?
	    OPS_DNSREC_MATCH : OPS_DNSREC_DIFFERS;
}

void
ops_dnsrec_judge(struct ops_dnsrec *rec, const struct dns_result *r,
    const char *const *host_addrs, size_t n)
{
	ops_dnsrec_unpublish(rec);
	rec->why[0] = '\0';
	switch (r->status) {
	case DNS_TEMPFAIL:
		rec->state = OPS_DNSREC_FAILED;
		snprintf(rec->why, sizeof(rec->why), "%s", r->why != NULL ?
		    r->why : "no answer");
		return;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		rec->state = OPS_DNSREC_MISSING;
		return;
	case DNS_OK:
		break;
	}
	if (ops_dnsrec_qtype(rec->kind) == DNS_T_TXT)
		ops_dnsrec_judge_txt(rec, r);
	else
		ops_dnsrec_judge_records(rec, r, host_addrs, n);
}

/* ------------------------------------------------------------- check */

struct ops_dnsrec_check {
	struct ops_dnsrec_list *l;
	ops_dnsrec_checked_cb *cb;
	void *ctx;
	size_t pending;
	struct event *ev_done;
};

/* One record's lookups.  An autoconfig name takes two: the hostname's
 * addresses first, then the name's. */
struct ops_dnsrec_job {
	struct ops_dnsrec_check *chk;
	struct ops_dnsrec *rec;
	struct dns *dns;
	char (*host_addrs)[64];
	size_t nhost;
};

static void
ops_dnsrec_job_done(struct ops_dnsrec_job *job)
{
	struct ops_dnsrec_check *chk = job->chk;

	free(job->host_addrs);
	free(job);
	if (--chk->pending == 0)
		event_active(chk->ev_done, EV_TIMEOUT, 1);
}

static void
ops_dnsrec_answer(const struct dns_result *r, void *arg)
{
	struct ops_dnsrec_job *job = arg;
	const char *addrs[64];
	size_t n = job->nhost < 64 ? job->nhost : 64;

	for (size_t i = 0; i < n; i++)
		addrs[i] = job->host_addrs[i];
	ops_dnsrec_judge(job->rec, r, addrs, n);
	ops_dnsrec_job_done(job);
}

static void
ops_dnsrec_host_answer(const struct dns_result *r, void *arg)
{
	struct ops_dnsrec_job *job = arg;

	if (r->status == DNS_TEMPFAIL) {
		job->rec->state = OPS_DNSREC_FAILED;
		snprintf(job->rec->why, sizeof(job->rec->why), "%.60s: %.90s",
		    job->rec->target, r->why != NULL ? r->why : "no answer");
		ops_dnsrec_job_done(job);
		return;
	}
	if (r->status == DNS_OK && r->n > 0) {
		job->host_addrs = xcalloc(r->n, sizeof(*job->host_addrs));
		for (size_t i = 0; i < r->n; i++)
			ops_dnsrec_addr_str(&r->rr[i].addr,
			    job->host_addrs[i], sizeof(job->host_addrs[i]));
		job->nhost = r->n;
	}
	(void)dns_lookup(job->dns, job->rec->name, DNS_T_A,
	    ops_dnsrec_answer, job);
}

static void
ops_dnsrec_check_done(evutil_socket_t fd, short what, void *arg)
{
	struct ops_dnsrec_check *chk = arg;

	event_free(chk->ev_done);
	chk->cb(chk->l, chk->ctx);
	free(chk);
}

void
ops_dnsrec_check_dns(struct event_base *base, struct dns *dns,
    struct ops_dnsrec_list *l, ops_dnsrec_checked_cb *cb, void *ctx)
{
	struct ops_dnsrec_check *chk = xcalloc(1, sizeof(*chk));

	chk->l = l;
	chk->cb = cb;
	chk->ctx = ctx;
	chk->ev_done = evtimer_new(base, ops_dnsrec_check_done, chk);
	for (size_t i = 0; i < l->n; i++) {
		struct ops_dnsrec_job *job = xcalloc(1, sizeof(*job));

		job->chk = chk;
		job->rec = &l->v[i];
		job->dns = dns;
		chk->pending++;
		if (job->rec->kind == OPS_DNSREC_HOST)
			(void)dns_lookup(dns, job->rec->target, DNS_T_A,
			    ops_dnsrec_host_answer, job);
		else
			(void)dns_lookup(dns, job->rec->name,
			    ops_dnsrec_qtype(job->rec->kind),
			    ops_dnsrec_answer, job);
	}
	if (chk->pending == 0)
		event_active(chk->ev_done, EV_TIMEOUT, 1);
}

static void
ops_dnsrec_check_break(struct ops_dnsrec_list *l, void *ctx)
{
	event_base_loopbreak(ctx);
}

int
ops_dnsrec_check(const struct conf *conf, struct ops_dnsrec_list *l,
    struct ops_status *st)
{
	struct event_base *base;
	const char *error;
	struct dns *d;

	if ((base = event_base_new()) == NULL)
		return ops_fail(st, OPS_EFAIL, "cannot create an event loop");
	if (dns_create(&d, base, conf, &error) < 0) {
		event_base_free(base);
		return ops_fail(st, OPS_EFAIL, "dns: %s", error);
	}
	ops_dnsrec_check_dns(base, d, l, ops_dnsrec_check_break, base);
	event_base_dispatch(base);
	dns_free(&d);
	event_base_free(base);
	return ops_ok(st);
}
