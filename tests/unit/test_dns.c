/* Unit tests for the pure parts of net/dns: reverse names for PTR and
 * DNSBL lookups, name checks, type names, and rdata decoding (including
 * malformed data), fed whole and cut short at every length; and the
 * per-resolver counters (/metrics) of real lookups to a small resolver
 * served on the test's own loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/metrics.h"
#include "net/dns.h"
#include "test.h"

static void
test_sa(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
}

static void
test_dns_reverse_name(void)
{
	static const struct {
		const char *ip, *zone, *want;
	} cases[] = {
		{ "192.0.2.7", NULL, "7.2.0.192.in-addr.arpa" },
		{ "127.0.0.2", "zen.example", "2.0.0.127.zen.example" },
		{ "127.0.0.2", ".zen.example.", "2.0.0.127.zen.example" },
		{ "::ffff:192.0.2.7", NULL, "7.2.0.192.in-addr.arpa" },
		{ "2001:db8::1", NULL, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" },
		{ "2001:db8::abcd", "bl.example", "d.c.b.a.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example" },
	};
	struct sockaddr_storage ss;
	char buf[256];

	test_begin("dns_reverse_name");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_sa(cases[i].ip, &ss);
		test_assert_idx(dns_reverse_name((struct sockaddr *)&ss,
		    cases[i].zone, buf, sizeof(buf)) == 0, i);
		test_assert_streq(buf, cases[i].want);
	}
	/* Too small buffers fail instead of truncating. */
	test_sa("192.0.2.7", &ss);
	test_assert(dns_reverse_name((struct sockaddr *)&ss, NULL, buf,
	    strlen("7.2.0.192.in-addr.arpa")) < 0);
	test_assert(dns_reverse_name((struct sockaddr *)&ss, NULL, buf,
	    strlen("7.2.0.192.in-addr.arpa") + 1) == 0);
	test_assert(dns_reverse_name((struct sockaddr *)&ss, NULL, buf, 0) < 0);
	test_sa("2001:db8::1", &ss);
	test_assert(dns_reverse_name((struct sockaddr *)&ss, NULL, buf,
	    40) < 0);
	ss.ss_family = AF_UNIX;
	test_assert(dns_reverse_name((struct sockaddr *)&ss, NULL, buf,
	    sizeof(buf)) < 0);
	test_end();
}

static void
test_dns_name_valid(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "example.test", true }, { "example.test.", true },
		{ "_dmarc.example.com", true }, { "a", true },
		{ "sel._domainkey.x-y.example", true },
		{ "", false }, { ".", false }, { "a..b", false },
		{ ".a", false }, { "a b.example", false },
		{ "a\\.b", false }, { "ex\xc3\xa4mple.test", false },
	};
	char big[300];

	test_begin("dns_name_valid");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_assert_idx(dns_name_valid(cases[i].name) ==
		    cases[i].ok, i);
	memset(big, 'a', 63);
	big[63] = '\0';
	test_assert(dns_name_valid(big));
	big[63] = 'a';
	big[64] = '\0';
	test_assert(!dns_name_valid(big));	/* 64-octet label */
	for (size_t i = 0; i < 254; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[253] = '\0';
	test_assert(dns_name_valid(big));	/* 253 octets */
	big[253] = 'a';
	big[254] = '\0';
	test_assert(!dns_name_valid(big));
	test_end();
}

static void
test_dns_types(void)
{
	test_begin("dns_type_parse/str");
	test_assert(dns_type_parse("A") == DNS_T_A);
	test_assert(dns_type_parse("aaaa") == DNS_T_AAAA);
	test_assert(dns_type_parse("Mx") == DNS_T_MX);
	test_assert(dns_type_parse("TXT") == DNS_T_TXT);
	test_assert(dns_type_parse("PTR") == DNS_T_PTR);
	test_assert(dns_type_parse("SOA") == -1);
	test_assert_streq(dns_type_str(DNS_T_MX), "MX");
	test_assert_streq(dns_type_str(99), "?");
	test_assert_streq(dns_status_str(DNS_NXDOMAIN), "nxdomain");
	test_end();
}

/* Every proper prefix of valid rdata must be rejected (no reads past
 * len), except where the prefix is itself valid TXT. */
static void
test_dns_rr_truncated(int type, const uint8_t *p, size_t len)
{
	struct dns_rr rr;

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n > 0 ? n : 1);

		memcpy(copy, p, n);
		test_assert_idx(dns_rr_parse(type, copy, n, &rr) < 0 ||
		    type == DNS_T_TXT, n);
		dns_rr_clear(&rr);
		free(copy);
	}
}

static void
test_dns_rr_parse_addr(void)
{
	static const uint8_t a[] = { 192, 0, 2, 7 };
	static const uint8_t aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct dns_rr rr;
	char buf[64];

	test_begin("dns_rr_parse A/AAAA");
	test_assert(dns_rr_parse(DNS_T_A, a, sizeof(a), &rr) == 0);
	test_assert(rr.addr.ss_family == AF_INET);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&rr.addr)->sin_addr, buf,
	    sizeof(buf));
	test_assert_streq(buf, "192.0.2.7");
	test_assert(dns_rr_parse(DNS_T_AAAA, aaaa, sizeof(aaaa), &rr) == 0);
	test_assert(rr.addr.ss_family == AF_INET6);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&rr.addr)->sin6_addr,
	    buf, sizeof(buf));
	test_assert_streq(buf, "2001:db8::1");
	test_assert(dns_rr_parse(DNS_T_A, aaaa, sizeof(aaaa), &rr) < 0);
	test_assert(dns_rr_parse(DNS_T_AAAA, a, sizeof(a), &rr) < 0);
	test_assert(dns_rr_parse(99, a, sizeof(a), &rr) < 0);
	test_dns_rr_truncated(DNS_T_A, a, sizeof(a));
	test_end();
}

static void
test_dns_rr_parse_names(void)
{
	static const uint8_t mx[] = { 0, 10, 3, 'm', 'x', '1', 7, 'e', 'x',
	    'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };
	static const uint8_t nullmx[] = { 0, 0, 0 };
	static const uint8_t ptr[] = { 4, 'h', '_', '-', '9', 2, 'i', 'o', 0 };
	static const uint8_t dotlabel[] = { 0, 5, 3, 'a', '.', 'b', 0 };
	static const uint8_t compressed[] = { 0, 5, 1, 'a', 0xc0, 12 };
	static const uint8_t trailing[] = { 2, 'a', 'b', 0, 'x' };
	static const uint8_t space[] = { 3, 'a', ' ', 'b', 0 };
	struct dns_rr rr;

	test_begin("dns_rr_parse MX/PTR");
	test_assert(dns_rr_parse(DNS_T_MX, mx, sizeof(mx), &rr) == 0);
	test_assert(rr.pref == 10);
	test_assert_streq(rr.name, "mx1.example.test");
	test_assert(dns_rr_parse(DNS_T_MX, nullmx, sizeof(nullmx), &rr) == 0);
	test_assert(rr.pref == 0 && rr.name[0] == '\0');
	test_assert(dns_rr_parse(DNS_T_PTR, ptr, sizeof(ptr), &rr) == 0);
	test_assert_streq(rr.name, "h_-9.io");
	test_assert(dns_rr_parse(DNS_T_PTR, nullmx + 2, 1, &rr) < 0);
	test_assert(dns_rr_parse(DNS_T_MX, dotlabel, sizeof(dotlabel),
	    &rr) < 0);
	test_assert(dns_rr_parse(DNS_T_MX, compressed, sizeof(compressed),
	    &rr) < 0);
	test_assert(dns_rr_parse(DNS_T_PTR, trailing, sizeof(trailing),
	    &rr) < 0);
	test_assert(dns_rr_parse(DNS_T_PTR, space, sizeof(space), &rr) < 0);
	test_dns_rr_truncated(DNS_T_MX, mx, sizeof(mx));
	test_dns_rr_truncated(DNS_T_PTR, ptr, sizeof(ptr));
	test_end();
}

static void
test_dns_rr_parse_srv(void)
{
	static const uint8_t srv[] = { 0, 5, 0, 1, 0x02, 0x4b, 4, 'm', 'a',
	    'i', 'l', 4, 't', 'e', 's', 't', 0 };
	static const uint8_t none[] = { 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t trailing[] = { 0, 0, 0, 0, 0, 0, 0, 'x' };
	struct dns_rr rr;

	test_begin("dns_rr_parse SRV");
	test_assert(dns_type_parse("srv") == DNS_T_SRV);
	test_assert_streq(dns_type_str(DNS_T_SRV), "SRV");
	test_assert(dns_rr_parse(DNS_T_SRV, srv, sizeof(srv), &rr) == 0);
	test_assert(rr.pref == 5 && rr.weight == 1 && rr.port == 587);
	test_assert_streq(rr.name, "mail.test");
	test_assert(dns_rr_parse(DNS_T_SRV, none, sizeof(none), &rr) == 0);
	test_assert(rr.port == 0 && rr.name[0] == '\0');
	test_assert(dns_rr_parse(DNS_T_SRV, trailing, sizeof(trailing),
	    &rr) < 0);
	test_dns_rr_truncated(DNS_T_SRV, srv, sizeof(srv));
	test_end();
}

static void
test_dns_rr_parse_long_name(void)
{
	uint8_t wire[300];
	size_t o = 2;
	struct dns_rr rr;

	test_begin("dns_rr_parse name limits");
	wire[0] = 0;
	wire[1] = 1;
	/* 4 labels of 63 = 255 octets of text: longer than 253. */
	for (int l = 0; l < 4; l++) {
		wire[o++] = 63;
		memset(wire + o, 'a', 63);
		o += 63;
	}
	wire[o++] = 0;
	test_assert(dns_rr_parse(DNS_T_MX, wire, o, &rr) < 0);
	/* 63 + 63 + 63 + 61 and three dots: exactly 253 octets. */
	wire[2 + 3 * 64] = 61;
	wire[2 + 3 * 64 + 1 + 61] = 0;
	test_assert(dns_rr_parse(DNS_T_MX, wire, 2 + 3 * 64 + 1 + 61 + 1,
	    &rr) == 0);
	test_assert(strlen(rr.name) == 253);
	wire[2 + 3 * 64] = 62;		/* 254 */
	wire[2 + 3 * 64 + 1 + 61] = 'a';
	wire[2 + 3 * 64 + 1 + 62] = 0;
	test_assert(dns_rr_parse(DNS_T_MX, wire, 2 + 3 * 64 + 1 + 62 + 1,
	    &rr) < 0);
	wire[2] = 64;			/* label length over 63 */
	test_assert(dns_rr_parse(DNS_T_MX, wire, o, &rr) < 0);
	test_end();
}

static void
test_dns_rr_parse_txt(void)
{
	static const uint8_t txt[] = { 6, 'v', '=', 's', 'p', 'f', '1', 5,
	    ' ', '-', 'a', 'l', 'l', 0, 2, 0, 0xff };
	static const uint8_t empty[] = { 0 };
	static const uint8_t bad[] = { 5, 'a', 'b' };
	struct dns_rr rr;

	test_begin("dns_rr_parse TXT");
	test_assert(dns_rr_parse(DNS_T_TXT, txt, sizeof(txt), &rr) == 0);
	test_assert(rr.txt_len == 13);
	test_assert(rr.txt != NULL &&
	    memcmp(rr.txt, "v=spf1 -all\0\xff", 13) == 0);
	test_assert(rr.txt != NULL && rr.txt[13] == '\0');
	dns_rr_clear(&rr);
	test_assert(rr.txt == NULL && rr.txt_len == 0);
	test_assert(dns_rr_parse(DNS_T_TXT, empty, sizeof(empty), &rr) == 0);
	test_assert(rr.txt_len == 0 && rr.txt != NULL && rr.txt[0] == '\0');
	dns_rr_clear(&rr);
	test_assert(dns_rr_parse(DNS_T_TXT, bad, sizeof(bad), &rr) < 0);
	test_assert(rr.txt == NULL);
	test_dns_rr_truncated(DNS_T_TXT, txt, sizeof(txt));
	test_end();
}

struct test_dns_seen {
	int calls;
	enum dns_status status;
	char why[64];
};

static void
test_dns_cb(const struct dns_result *r, void *ctx)
{
	struct test_dns_seen *seen = ctx;

	seen->calls++;
	seen->status = r->status;
	snprintf(seen->why, sizeof(seen->why), "%s", r->why ? r->why : "");
}

/* The resolver on a loop, pointed at a port nobody answers on: failures
 * arrive from the loop, aborted queries never call back, dns_free()
 * drops what is pending. */
static void
test_dns_async(void)
{
	static const char text[] = "dns_resolvers = 127.0.0.1:9\n";
	struct test_dns_seen bad = { 0 }, aborted = { 0 }, dropped = { 0 };
	struct timeval tv = { 0, 200000 };
	struct event_base *base = event_base_new();
	struct dns_query *q;
	struct dns *d;
	struct conf c;
	const char *error;

	test_begin("dns async contract");
	conf_defaults(&c);
	test_assert(conf_parse(&c, "test", text, strlen(text), &error) == 0);
	test_assert(dns_create(&d, base, &c, &error) == 0);
	(void)dns_lookup(d, "a..b.example", DNS_T_A, test_dns_cb, &bad);
	test_assert(bad.calls == 0);			/* never inline */
	q = dns_lookup(d, "x.example", DNS_T_A, test_dns_cb, &aborted);
	dns_query_abort(&q);
	test_assert(q == NULL);
	dns_query_abort(&q);				/* NULL is fine */
	(void)dns_lookup(d, "y.example", DNS_T_MX, test_dns_cb, &dropped);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	test_assert(bad.calls == 1 && bad.status == DNS_NXDOMAIN);
	test_assert_streq(bad.why, "invalid name");
	test_assert(aborted.calls == 0);
	dns_free(&d);
	test_assert(d == NULL);
	test_assert(dropped.calls == 0);
	conf_free(&c);
	event_base_free(base);
	test_end();
}

static void
test_dns_create_errors(void)
{
	static const char text[] = "dns_resolvers = resolver.example\n";
	struct event_base *base = event_base_new();
	struct dns *d = NULL;
	struct conf c;
	const char *error = NULL;

	test_begin("dns_create errors");
	conf_defaults(&c);
	test_assert(conf_parse(&c, "test", text, strlen(text), &error) == 0);
	test_assert(dns_create(&d, base, &c, &error) < 0);
	test_assert(d == NULL && error != NULL && strstr(error, "IP") != NULL);
	conf_free(&c);
	event_base_free(base);
	test_end();
}

/* A resolver on the test's loop: every question is answered, by its
 * first label: "nx..." NXDOMAIN, "sf..." SERVFAIL, else no data. */
static void
test_dns_responder(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[512];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	size_t i = 12;
	int rcode = 0;

	(void)what;
	(void)arg;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	if (n < 12)
		return;
	if (buf[i] >= 2 && buf[i + 1] == 'n' && buf[i + 2] == 'x')
		rcode = 3;
	else if (buf[i] >= 2 && buf[i + 1] == 's' && buf[i + 2] == 'f')
		rcode = 2;
	while (i < (size_t)n && buf[i] != 0)
		i += (size_t)buf[i] + 1;
	if (i + 5 > (size_t)n)
		return;
	i += 5;				/* root label, type, class */
	buf[2] = (uint8_t)(0x80 | (buf[2] & 0x79));	/* QR, opcode, RD */
	buf[3] = (uint8_t)(0x80 | rcode);		/* RA */
	memset(buf + 6, 0, 6);		/* no answer, authority, additional */
	(void)sendto(fd, buf, i, 0, (struct sockaddr *)&from, flen);
}

struct test_dns_count {
	struct event_base *base;
	int left;
	enum dns_status st[3];
};

static void
test_dns_count_cb(const struct dns_result *r, void *ctx)
{
	struct test_dns_count *c = ctx;

	c->st[--c->left] = r->status;
	if (c->left == 0)
		event_base_loopexit(c->base, NULL);
}

static struct metrics_dns_resolver *
test_dns_slot(enum metrics_resolver set, const char *addr)
{
	for (size_t i = 0; i < METRICS_RESOLVERS_MAX; i++) {
		struct metrics_dns_resolver *s = &metrics_shm->resolvers[i];

		if (atomic_load(&s->state) == 2 && s->set == (uint32_t)set &&
		    strcmp(s->addr, addr) == 0)
			return s;
	}
	return NULL;
}

/* Each libunbound context has its slot, named as `ferry status` names
 * the addresses ([v6]:port; a group's addresses joined by commas), and
 * real answers are counted there by outcome (NXDOMAIN apart), with
 * their latency, and in the set's totals. */
static void
test_dns_resolver_metrics(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct timeval guard = { 60, 0 };
	struct event_base *base = event_base_new();
	struct test_dns_count cnt = { base, 3, { 0 } };
	struct metrics_dns_resolver *s;
	struct event *ev;
	struct dns *d;
	struct conf c;
	const char *error;
	char text[256], addr[64];
	int fd;

	test_begin("dns: per-resolver metrics");
	metrics_reset();
	conf_defaults(&c);
	snprintf(text, sizeof(text), "dns_resolvers = [::1]:5300, "
	    "127.0.0.1:9\ndns_fallback_resolvers = 127.0.0.1\n");
	test_assert(conf_parse(&c, "test", text, strlen(text), &error) == 0);
	test_assert(dns_create(&d, base, &c, &error) == 0);
	test_assert(test_dns_slot(METRICS_RESOLVER_PRIMARY,
	    "[::1]:5300,127.0.0.1:9") != NULL);
	test_assert(test_dns_slot(METRICS_RESOLVER_FALLBACK,
	    "127.0.0.1:53") != NULL);
	test_assert(test_dns_slot(METRICS_RESOLVER_PRIMARY,
	    "127.0.0.1:9") == NULL);
	dns_free(&d);
	conf_free(&c);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	test_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 && getsockname(fd, (struct sockaddr *)&sin,
	    &slen) == 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	snprintf(text, sizeof(text), "dns_resolvers = %s\n", addr);
	ev = event_new(base, fd, EV_READ | EV_PERSIST, test_dns_responder,
	    NULL);
	event_add(ev, NULL);
	conf_defaults(&c);
	test_assert(conf_parse(&c, "test", text, strlen(text), &error) == 0);
	test_assert(dns_create(&d, base, &c, &error) == 0);
	(void)dns_lookup(d, "nx.example", DNS_T_A, test_dns_count_cb, &cnt);
	(void)dns_lookup(d, "sf.example", DNS_T_A, test_dns_count_cb, &cnt);
	(void)dns_lookup(d, "ok.example", DNS_T_A, test_dns_count_cb, &cnt);
	/* Until the three answers are in (the guard only stops a hang). */
	event_base_loopexit(base, &guard);
	event_base_dispatch(base);
	test_assert(cnt.left == 0);
	test_assert(cnt.st[0] + cnt.st[1] + cnt.st[2] ==
	    DNS_NXDOMAIN + DNS_NODATA + DNS_TEMPFAIL &&
	    cnt.st[0] != cnt.st[1] && cnt.st[1] != cnt.st[2] &&
	    cnt.st[0] != cnt.st[2]);
	s = test_dns_slot(METRICS_RESOLVER_PRIMARY, addr);
	test_assert(s != NULL);
	if (s != NULL) {
		test_assert(metrics_get(&s->results[METRICS_DNSO_NXDOMAIN]) == 1);
		test_assert(metrics_get(&s->results[METRICS_DNSO_SERVFAIL]) == 1);
		test_assert(metrics_get(&s->results[METRICS_DNSO_ANSWER]) == 1);
		test_assert(metrics_get(&s->results[METRICS_DNSO_TIMEOUT]) == 0);
		test_assert(metrics_get(&s->latency.count) == 3);
		test_assert(metrics_get(&s->asides) == 0);
		test_assert(atomic_load(&s->aside_until) == 0);
	}
	/* The set's counts: NXDOMAIN is an answer there. */
	test_assert(metrics_get(&metrics_shm->dns[METRICS_RESOLVER_PRIMARY]
	    [METRICS_DNS_ANSWER]) == 2);
	test_assert(metrics_get(&metrics_shm->dns[METRICS_RESOLVER_PRIMARY]
	    [METRICS_DNS_SERVFAIL]) == 1);
	dns_free(&d);
	conf_free(&c);
	event_free(ev);
	close(fd);
	event_base_free(base);
	test_end();
}

int
main(void)
{
	test_dns_reverse_name();
	test_dns_name_valid();
	test_dns_types();
	test_dns_rr_parse_addr();
	test_dns_rr_parse_names();
	test_dns_rr_parse_srv();
	test_dns_rr_parse_long_name();
	test_dns_rr_parse_txt();
	test_dns_async();
	test_dns_create_errors();
	test_dns_resolver_metrics();
	return test_exit();
}
