/* Unit tests for the shared counters (src/lib/metrics.c) and their
 * Prometheus text rendering (src/admin/metrics.c): label escaping, the
 * exact sample lines for counters set by hand, a histogram's cumulative
 * buckets, the HELP/TYPE structure of the whole output, and a counter
 * bumped in a forked child seen by the parent through the shared map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "lib/fbuf.h"
#include "lib/metrics.h"
#include "test.h"

static void
test_metrics_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "plain 127.0.0.1:25", "plain 127.0.0.1:25" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand\r", "tab\tand\r" },	/* only \\, \" and \n */
	};
	struct fbuf b;

	test_begin("metrics label escaping");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fbuf_reset(&b);
		metrics_escape(&b, cases[i].in);
		test_assert_idx(strcmp(fbuf_str(&b), cases[i].out) == 0,
		    (int)i);
	}
	fbuf_release(&b);
	test_end();
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void
test_metrics_samples(void)
{
	struct fbuf b;
	int i;

	test_begin("metrics render: counters, labels, listeners");
	metrics_reset();
	i = metrics_listener_add("smtp", "127.0.0.1:2525");
	test_assert(i == 0);
	test_assert(metrics_listener_add("imap", "[::1]:\"143\"\n") == 1);
	atomic_store(&metrics_listener(0)->owner, 1);
	atomic_store(&metrics_listener(1)->owner, 1);
	metrics_add(&metrics_listener(0)->connections, 7);
	metrics_gauge_add(&metrics_listener(1)->sessions, 2);
	test_assert(metrics_listener(2) == NULL);
	test_assert(metrics_listener_add("metrics", "127.0.0.1:9") == 2);
	metrics_smtp_refused("dnsbl", 554);
	metrics_smtp_refused("DNSBL", 550);
	metrics_smtp_refused("greylist", 451);
	metrics_smtp_refused("no-such-check", 550);
	metrics_smtp_refused(NULL, 421);
	metrics_smtp_refused("ban", 421);
	metrics_gauge_add(&metrics_shm->queue[METRICS_Q_HELD][METRICS_AGE_5M],
	    3);
	metrics_inc(&metrics_shm->deliveries[METRICS_DEST_RELAY]
	    [METRICS_DEFERRED]);
	metrics_inc(&metrics_shm->logins[METRICS_PROTO_POP3][0]);
	metrics_inc(&metrics_shm->role_restarts[METRICS_ROLE_QUEUE]);
	metrics_gauge_add(&metrics_shm->queue[METRICS_Q_DEFERRED]
	    [METRICS_AGE_1D], 4);
	fbuf_init(&b, 0);
	metrics_render(&b, metrics_shm);
	test_assert(has_line(b.data, "ferry_listener_connections_total"
	    "{kind=\"smtp\",address=\"127.0.0.1:2525\"} 7"));
	test_assert(has_line(b.data, "ferry_listener_sessions"
	    "{kind=\"imap\",address=\"[::1]:\\\"143\\\"\\n\"} 2"));
	test_assert(has_line(b.data, "ferry_mailbox_sessions"
	    "{protocol=\"imap\"} 2"));
	/* Never adopted by a role: not shown. */
	test_assert(strstr(b.data, "kind=\"metrics\"") == NULL);
	test_assert(has_line(b.data, "ferry_mailbox_sessions"
	    "{protocol=\"pop3\"} 0"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"dnsbl\",verdict=\"reject\"} 2"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"greylist\",verdict=\"tempfail\"} 1"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"other\",verdict=\"reject\"} 1"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"other\",verdict=\"tempfail\"} 1"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"spf\",verdict=\"reject\"} 0"));
	test_assert(has_line(b.data, "ferry_deliveries_total"
	    "{class=\"relay\",result=\"deferred\"} 1"));
	test_assert(has_line(b.data, "ferry_logins_total"
	    "{protocol=\"pop3\",result=\"failed\"} 1"));
	test_assert(has_line(b.data, "ferry_role_restarts_total"
	    "{role=\"queue\"} 1"));
	test_assert(has_line(b.data, "ferry_queue_messages"
	    "{state=\"deferred\",age=\"1h-1d\"} 4"));
	test_assert(has_line(b.data, "ferry_bans_total{protocol=\"smtp\"} 0"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"ban\",verdict=\"tempfail\"} 1"));
	test_assert(has_line(b.data, "ferry_smtp_refused_total"
	    "{check=\"ban\",verdict=\"reject\"} 0"));
	test_assert(has_line(b.data, "ferry_queue_messages"
	    "{state=\"held\",age=\"0-5m\"} 3"));
	test_assert(has_line(b.data, "ferry_queue_messages"
	    "{state=\"deferred\",age=\"0-5m\"} 0"));
	fbuf_release(&b);
	test_end();
}

static void
test_metrics_histogram(void)
{
	struct fbuf b;

	test_begin("metrics render: DNS latency histogram");
	metrics_reset();
	metrics_dns_observe(METRICS_RESOLVER_PRIMARY, 500);	/* 0.5 ms */
	metrics_dns_observe(METRICS_RESOLVER_PRIMARY, 3000);
	metrics_dns_observe(METRICS_RESOLVER_PRIMARY, 5000);	/* on a bound */
	metrics_dns_observe(METRICS_RESOLVER_PRIMARY, 7000000);	/* past all */
	fbuf_init(&b, 0);
	metrics_render(&b, metrics_shm);
#define H "ferry_dns_lookup_duration_seconds"
	test_assert(has_line(b.data, H "_bucket{resolver=\"primary\","
	    "le=\"0.001\"} 1"));
	test_assert(has_line(b.data, H "_bucket{resolver=\"primary\","
	    "le=\"0.002\"} 1"));
	test_assert(has_line(b.data, H "_bucket{resolver=\"primary\","
	    "le=\"0.005\"} 3"));
	test_assert(has_line(b.data, H "_bucket{resolver=\"primary\","
	    "le=\"5.000\"} 3"));
	test_assert(has_line(b.data, H "_bucket{resolver=\"primary\","
	    "le=\"+Inf\"} 4"));
	test_assert(has_line(b.data, H "_sum{resolver=\"primary\"} 7.008500"));
	test_assert(has_line(b.data, H "_count{resolver=\"primary\"} 4"));
	test_assert(has_line(b.data, H "_bucket{resolver=\"fallback\","
	    "le=\"+Inf\"} 0"));
	test_assert(has_line(b.data, H "_sum{resolver=\"fallback\"} 0.000000"));
#undef H
	fbuf_release(&b);
	test_end();
}

/* Resolver slots: one per (set, resolver), the same slot for the same
 * pair, none past the table; rendered with escaped labels (IPv6 with a
 * port, a hostile name), each outcome on its own series, the queries
 * their sum, the set-aside gauge following aside_until against the
 * clock, and the latency histogram. */
static void
test_metrics_dns_resolvers(void)
{
	struct metrics_dns_resolver *a, *b2, *c, *v6, *r;
	struct fbuf b;
	char addr[32];

	test_begin("metrics: DNS resolver slots");
	metrics_reset();
	a = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY, "192.0.2.1:53");
	b2 = metrics_dns_resolver(METRICS_RESOLVER_FALLBACK, "192.0.2.1:53");
	c = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY, "x\"y\\z\n");
	v6 = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY,
	    "[2001:db8::1]:5353,192.0.2.2:53");
	test_assert(a != NULL && b2 != NULL && c != NULL && v6 != NULL);
	test_assert(a != b2 && a != c && a != v6);
	test_assert(metrics_dns_resolver(METRICS_RESOLVER_PRIMARY,
	    "192.0.2.1:53") == a);
	metrics_inc(&a->results[METRICS_DNSO_ANSWER]);
	metrics_inc(&a->results[METRICS_DNSO_NXDOMAIN]);
	metrics_inc(&a->results[METRICS_DNSO_TIMEOUT]);
	metrics_inc(&a->results[METRICS_DNSO_TIMEOUT]);
	metrics_inc(&a->asides);
	atomic_store(&a->aside_until, (int64_t)time(NULL) + 3600);
	metrics_hist_observe(&a->latency, 1500);	/* 1.5 ms */
	metrics_hist_observe(&a->latency, 8000000);	/* past all */
	atomic_store(&b2->aside_until, (int64_t)time(NULL) - 1);
	metrics_inc(&v6->results[METRICS_DNSO_SERVFAIL]);
	fbuf_init(&b, 0);
	metrics_render(&b, metrics_shm);
#define Q "ferry_dns_resolver_"
#define A "{set=\"primary\",resolver=\"192.0.2.1:53\""
	test_assert(has_line(b.data, Q "queries_total" A "} 4"));
	test_assert(has_line(b.data, Q "lookups_total" A
	    ",result=\"timeout\"} 2"));
	test_assert(has_line(b.data, Q "lookups_total" A
	    ",result=\"answer\"} 1"));
	test_assert(has_line(b.data, Q "lookups_total" A
	    ",result=\"nxdomain\"} 1"));
	test_assert(has_line(b.data, Q "lookups_total" A
	    ",result=\"servfail\"} 0"));
	test_assert(has_line(b.data, Q "lookups_total" A
	    ",result=\"error\"} 0"));
	test_assert(has_line(b.data, Q "set_aside" A "} 1"));
	test_assert(has_line(b.data, Q "set_aside{set=\"fallback\","
	    "resolver=\"192.0.2.1:53\"} 0"));
	test_assert(has_line(b.data, Q "set_asides_total" A "} 1"));
	test_assert(has_line(b.data, Q "queries_total{set=\"primary\","
	    "resolver=\"x\\\"y\\\\z\\n\"} 0"));
	test_assert(has_line(b.data, Q "lookups_total{set=\"primary\","
	    "resolver=\"[2001:db8::1]:5353,192.0.2.2:53\","
	    "result=\"servfail\"} 1"));
	test_assert(has_line(b.data, Q "duration_seconds_bucket" A
	    ",le=\"0.001\"} 0"));
	test_assert(has_line(b.data, Q "duration_seconds_bucket" A
	    ",le=\"0.002\"} 1"));
	test_assert(has_line(b.data, Q "duration_seconds_bucket" A
	    ",le=\"+Inf\"} 2"));
	test_assert(has_line(b.data, Q "duration_seconds_sum" A "} 8.001500"));
	test_assert(has_line(b.data, Q "duration_seconds_count" A "} 2"));
#undef A
#undef Q
	fbuf_release(&b);
	for (int i = 0; i < METRICS_RESOLVERS_MAX; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d:53", i);
		r = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY, addr);
		test_assert_idx(i < METRICS_RESOLVERS_MAX - 4 ? r != NULL :
		    r == NULL, i);
	}
	test_end();
}

/* Every sample belongs to the family of the TYPE line above it (with
 * _bucket/_sum/_count for a histogram), each family is declared once
 * with HELP then TYPE, and every sample line ends in a number. */
static void
test_metrics_structure(void)
{
	char family[128] = "", type[16] = "", seen[4096] = " ";
	struct fbuf b;
	char *line, *save = NULL;
	int samples = 0;

	test_begin("metrics render: HELP/TYPE structure");
	metrics_reset();
	metrics_listener_add("pop3s", "0.0.0.0:995");
	(void)metrics_dns_resolver(METRICS_RESOLVER_PRIMARY, "[::1]:53");
	fbuf_init(&b, 0);
	metrics_render(&b, metrics_shm);
	test_assert(b.len > 0 && b.data[b.len - 1] == '\n');
	for (line = strtok_r(b.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char name[128], key[140];
		size_t n;

		if (sscanf(line, "# HELP %127s", name) == 1) {
			snprintf(key, sizeof(key), " %s ", name);
			test_assert(strstr(seen, key) == NULL);
			n = strlen(seen);
			snprintf(seen + n, sizeof(seen) - n, "%s", key + 1);
			memcpy(family, name, sizeof(name));
			type[0] = '\0';
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			test_assert(strcmp(name, family) == 0);
			continue;
		}
		samples++;
		test_assert(type[0] != '\0');
		n = strlen(family);
		test_assert(strncmp(line, family, n) == 0);
		if (strcmp(type, "histogram") == 0)
			test_assert(strncmp(line + n, "_bucket{", 8) == 0 ||
			    strncmp(line + n, "_sum{", 5) == 0 ||
			    strncmp(line + n, "_count{", 7) == 0);
		else
			test_assert(line[n] == '{' || line[n] == ' ');
		test_assert(strrchr(line, ' ') != NULL &&
		    strspn(strrchr(line, ' ') + 1, "0123456789.") ==
		    strlen(strrchr(line, ' ') + 1));
	}
	test_assert(samples > 100);
	fbuf_release(&b);
	test_end();
}

static void
test_metrics_names(void)
{
	test_begin("metrics label lookups");
	test_assert(metrics_check_of("spamd") == METRICS_CHECK_SPAMD);
	test_assert(metrics_check_of("Recipient") == METRICS_CHECK_RECIPIENT);
	test_assert(metrics_check_of("") == METRICS_CHECK_OTHER);
	test_assert(metrics_verdict_of(550) == METRICS_REJECT);
	test_assert(metrics_verdict_of(599) == METRICS_REJECT);
	test_assert(metrics_verdict_of(451) == METRICS_TEMPFAIL);
	test_assert(metrics_verdict_of(600) == METRICS_TEMPFAIL);
	test_assert(metrics_role_of("mailbox") == METRICS_ROLE_MAILBOX);
	test_assert(metrics_role_of("serve") == -1);
	test_assert(metrics_qage_of(0) == METRICS_AGE_5M);
	test_assert(metrics_qage_of(299) == METRICS_AGE_5M);
	test_assert(metrics_qage_of(300) == METRICS_AGE_1H);
	test_assert(metrics_qage_of(86399) == METRICS_AGE_1D);
	test_assert(metrics_qage_of(86400) == METRICS_AGE_OLDER);
	test_end();
}

/* The point of the shared map: a child's counts reach the parent, and
 * a listener's sessions are dropped when its owner dies. */
static void
test_metrics_shared(void)
{
	struct metrics_dns_resolver *r;
	pid_t pid;
	int status;

	test_begin("metrics shared across fork");
	test_assert(metrics_init_shared() == 0);
	test_assert(metrics_listener_add("smtp", "127.0.0.1:25") == 0);
	pid = fork();
	if (pid == 0) {
		atomic_store(&metrics_listener(0)->owner, (int32_t)getpid());
		metrics_gauge_add(&metrics_listener(0)->sessions, 3);
		for (int i = 0; i < 1000; i++)
			metrics_inc(&metrics_shm->smtp_accepted);
		r = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY,
		    "192.0.2.9:53");
		if (r != NULL)
			metrics_inc(&r->results[METRICS_DNSO_TIMEOUT]);
		_exit(0);
	}
	for (int i = 0; i < 1000; i++)
		metrics_inc(&metrics_shm->smtp_accepted);
	test_assert(pid > 0 && waitpid(pid, &status, 0) == pid);
	test_assert(metrics_get(&metrics_shm->smtp_accepted) == 2000);
	/* The child claimed the resolver's slot: the parent finds it. */
	r = metrics_dns_resolver(METRICS_RESOLVER_PRIMARY, "192.0.2.9:53");
	test_assert(r != NULL &&
	    metrics_get(&r->results[METRICS_DNSO_TIMEOUT]) == 1);
	test_assert(atomic_load(&metrics_listener(0)->sessions) == 3);
	metrics_listeners_dead(pid + 1);
	test_assert(atomic_load(&metrics_listener(0)->sessions) == 3);
	metrics_listeners_dead(pid);
	test_assert(atomic_load(&metrics_listener(0)->sessions) == 0);
	test_end();
}

int
main(void)
{
	test_metrics_escape();
	test_metrics_samples();
	test_metrics_histogram();
	test_metrics_dns_resolvers();
	test_metrics_structure();
	test_metrics_names();
	test_metrics_shared();
	return test_exit();
}
