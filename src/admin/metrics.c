/* The Prometheus text exposition of the shared counters (metrics.h).
 * Written here rather than with a client library (none exists for C
 * that fits): the format is lines of `name{label="value",...} number`
 * under `# HELP` and `# TYPE` lines.  Reads the region with relaxed
 * loads while the roles keep counting: a scrape is a snapshot of each
 * counter, not of all of them at one instant (a histogram's +Inf is
 * raised to its cumulative buckets when they ran ahead of _count). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/metrics.h"
#include "lib/fbuf.h"
#include "lib/metrics.h"

struct metrics_label {
	const char *name;
	const char *value;
};

void
metrics_escape(struct fbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fbuf_adds(b, "\\\\");
		else if (*s == '"')
			fbuf_adds(b, "\\\"");
		else if (*s == '\n')
			fbuf_adds(b, "\\n");
		else
			fbuf_addc(b, *s);
	}
}

static void
metrics_family(struct fbuf *b, const char *name, const char *type,
    const char *help)
{
	fbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_labels(struct fbuf *b, const struct metrics_label *l, size_t n)
{
	if (n == 0)
		return;
	fbuf_addc(b, '{');
	for (size_t i = 0; i < n; i++) {
		fbuf_addf(b, "%s%s=\"", i > 0 ? "," : "", l[i].name);
		metrics_escape(b, l[i].value);
		fbuf_addc(b, '"');
	}
	fbuf_addc(b, '}');
}

static void
metrics_sample(struct fbuf *b, const char *name,
    const struct metrics_label *l, size_t n, int64_t v)
{
	fbuf_adds(b, name);
	metrics_labels(b, l, n);
	fbuf_addf(b, " %" PRId64 "\n", v);
}

static int64_t
metrics_val(metrics_counter *c)
{
	uint64_t v = metrics_get(c);

	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Sample f (connections, refused, sessions) of one listener: only of
 * those a protocol serves through net/listener (it stamped its pid),
 * not the HTTP ones nor a TLS port left unserved. */
static void
metrics_listener_sample(struct fbuf *b, const char *name, size_t f,
    struct metrics_listener *l)
{
	struct metrics_label lab[2] = {
		{ "kind", l->kind }, { "address", l->addr } };
	int64_t v;

	if (atomic_load_explicit(&l->owner, memory_order_relaxed) == 0)
		return;
	v = f == 0 ? metrics_val(&l->connections) :
	    f == 1 ? metrics_val(&l->refused) :
	    atomic_load_explicit(&l->sessions, memory_order_relaxed);
	metrics_sample(b, name, lab, 2, v);
}

static void
metrics_listeners(struct fbuf *b, struct metrics_region *m)
{
	static const struct {
		const char *name, *type, *help;
	} fam[3] = {
		{ "ferry_listener_connections_total", "counter",
		  "Connections accepted on a listener." },
		{ "ferry_listener_refused_total", "counter",
		  "Connections refused for max_connections or "
		  "max_connections_per_ip." },
		{ "ferry_listener_sessions", "gauge",
		  "Sessions open on a listener." },
	};
	uint32_t n = m->nlisteners < METRICS_LISTENERS_MAX ?
	    m->nlisteners : METRICS_LISTENERS_MAX;

	for (size_t f = 0; f < 3; f++) {
		metrics_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (uint32_t i = 0; i < n; i++)
			metrics_listener_sample(b, fam[f].name, f,
			    &m->listeners[i]);
	}
}

/* The sessions open on the listeners of one protocol (IMAP, POP3). */
static void
metrics_mailbox_sessions(struct fbuf *b, struct metrics_region *m)
{
	static const char *const protos[2] = { "imap", "pop3" };
	uint32_t n = m->nlisteners < METRICS_LISTENERS_MAX ?
	    m->nlisteners : METRICS_LISTENERS_MAX;

	metrics_family(b, "ferry_mailbox_sessions", "gauge",
	    "IMAP and POP3 sessions open (plain and implicit TLS).");
	for (size_t p = 0; p < 2; p++) {
		struct metrics_label lab = { "protocol", protos[p] };
		size_t len = strlen(protos[p]);
		int64_t v = 0;

		for (uint32_t i = 0; i < n; i++)
			if (strncmp(m->listeners[i].kind, protos[p], len) == 0)
				v += atomic_load_explicit(
				    &m->listeners[i].sessions,
				    memory_order_relaxed);
		metrics_sample(b, "ferry_mailbox_sessions", &lab, 1, v);
	}
}

/* A family over a two-dimensional table of counters (or gauges). */
static void
metrics_table(struct fbuf *b, const char *name, const char *type,
    const char *help, const char *l1, const char *const *n1, size_t c1,
    const char *l2, const char *const *n2, size_t c2, void *cells,
    bool gauge)
{
	metrics_family(b, name, type, help);
	for (size_t i = 0; i < c1; i++)
		for (size_t j = 0; j < c2; j++) {
			struct metrics_label lab[2] = { { l1, n1[i] },
				{ l2, n2 != NULL ? n2[j] : "" } };
			int64_t v;

			if (gauge)
				v = atomic_load_explicit(
				    (metrics_gauge *)cells + i * c2 + j,
				    memory_order_relaxed);
			else
				v = metrics_val((metrics_counter *)cells +
				    i * c2 + j);
			metrics_sample(b, name, lab, n2 != NULL ? 2 : 1, v);
		}
}

/* One histogram's samples: lab[0..n) are its labels, lab[n] the slot
 * for "le". */
static void
metrics_hist_samples(struct fbuf *b, const char *name,
    struct metrics_label *lab, size_t n, struct metrics_hist *h)
{
	char le[32], series[128];
	uint64_t cum = 0, count, sum;

	lab[n].name = "le";
	lab[n].value = le;
	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i < METRICS_DNS_BUCKETS; i++) {
		cum += metrics_get(&h->bucket[i]);
		snprintf(le, sizeof(le), "%u.%03u",
		    metrics_dns_bounds_ms[i] / 1000,
		    metrics_dns_bounds_ms[i] % 1000);
		metrics_sample(b, series, lab, n + 1, (int64_t)cum);
	}
	count = metrics_get(&h->count);
	if (count < cum)
		count = cum;
	sum = metrics_get(&h->sum_us);
	snprintf(le, sizeof(le), "+Inf");
	metrics_sample(b, series, lab, n + 1, (int64_t)count);
	fbuf_addf(b, "%s_sum", name);
	metrics_labels(b, lab, n);
	fbuf_addf(b, " %" PRIu64 ".%06" PRIu64 "\n", sum / 1000000,
	    sum % 1000000);
	snprintf(series, sizeof(series), "%s_count", name);
	metrics_sample(b, series, lab, n, (int64_t)count);
}

static void
metrics_histogram(struct fbuf *b, struct metrics_region *m)
{
	static const char name[] = "ferry_dns_lookup_duration_seconds";

	metrics_family(b, name, "histogram",
	    "Time a DNS question took to be answered or to fail, by the "
	    "resolvers asked.");
	for (size_t r = 0; r < METRICS_RESOLVER_N; r++) {
		struct metrics_label lab[2] = {
			{ "resolver", metrics_resolver_names[r] } };

		metrics_hist_samples(b, name, lab, 1, &m->dns_latency[r]);
	}
}

/* Sample f of one resolver (lab: set, resolver, and room for one more). */
static void
metrics_dns_resolver_sample(struct fbuf *b, const char *name, size_t f,
    struct metrics_label *lab, struct metrics_dns_resolver *r, int64_t now)
{
	int64_t v = 0;

	switch (f) {
	case 0:
		for (size_t k = 0; k < METRICS_DNSO_N; k++)
			v += metrics_val(&r->results[k]);
		break;
	case 1:
		lab[2].name = "result";
		for (size_t k = 0; k < METRICS_DNSO_N; k++) {
			lab[2].value = metrics_dns_outcome_names[k];
			metrics_sample(b, name, lab, 3,
			    metrics_val(&r->results[k]));
		}
		return;
	case 2:
		v = atomic_load_explicit(&r->aside_until,
		    memory_order_relaxed) > now;
		break;
	case 3:
		v = metrics_val(&r->asides);
		break;
	default:
		metrics_hist_samples(b, name, lab, 2, &r->latency);
		return;
	}
	metrics_sample(b, name, lab, 2, v);
}

/* The resolvers some process has asked through, in the order first
 * used (slots still being filled are skipped). */
static void
metrics_dns_resolvers(struct fbuf *b, struct metrics_region *m)
{
	static const struct {
		const char *name, *type, *help;
	} fam[5] = {
		{ "ferry_dns_resolver_queries_total", "counter",
		  "DNS questions put to one resolver." },
		{ "ferry_dns_resolver_lookups_total", "counter",
		  "DNS questions put to one resolver, by outcome." },
		{ "ferry_dns_resolver_set_aside", "gauge",
		  "1 while the queue has a resolver set aside after a "
		  "timeout (as ferry status shows), else 0." },
		{ "ferry_dns_resolver_set_asides_total", "counter",
		  "Times the queue set a resolver aside after a timeout." },
		{ "ferry_dns_resolver_duration_seconds", "histogram",
		  "Time a DNS question took one resolver to answer or to "
		  "fail." },
	};
	int64_t now = (int64_t)time(NULL);

	for (size_t f = 0; f < 5; f++) {
		metrics_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < METRICS_RESOLVERS_MAX; i++) {
			struct metrics_dns_resolver *r = &m->resolvers[i];
			struct metrics_label lab[3];

			if (atomic_load(&r->state) != 2)
				continue;
			lab[0].name = "set";
			lab[0].value = metrics_resolver_names[
			    r->set < METRICS_RESOLVER_N ? r->set : 0];
			lab[1].name = "resolver";
			lab[1].value = r->addr;
			metrics_dns_resolver_sample(b, fam[f].name, f, lab, r,
			    now);
		}
	}
}

static void
metrics_smtp(struct fbuf *b, struct metrics_region *m)
{
	metrics_family(b, "ferry_smtp_messages_accepted_total", "counter",
	    "Messages the SMTP server answered 250 at the end of data.");
	metrics_sample(b, "ferry_smtp_messages_accepted_total", NULL, 0,
	    metrics_val(&m->smtp_accepted));
	metrics_family(b, "ferry_smtp_recipients_accepted_total", "counter",
	    "Recipients of the messages accepted.");
	metrics_sample(b, "ferry_smtp_recipients_accepted_total", NULL, 0,
	    metrics_val(&m->smtp_accepted_rcpts));
	metrics_table(b, "ferry_smtp_refused_total", "counter",
	    "SMTP commands refused (a connection, sender, recipient or "
	    "message), by the check that refused and whether for good "
	    "(5xx) or for now (4xx).",
	    "check", metrics_check_names, METRICS_CHECK_N,
	    "verdict", metrics_verdict_names, METRICS_VERDICT_N,
	    m->smtp_refused, false);
}

static void
metrics_queue(struct fbuf *b, struct metrics_region *m)
{
	metrics_table(b, "ferry_deliveries_total", "counter",
	    "Delivery attempts of one recipient, by where it went and what "
	    "came of it.",
	    "class", metrics_dclass_names, METRICS_DEST_N,
	    "result", metrics_dresult_names, METRICS_DRESULT_N,
	    m->deliveries, false);
	metrics_table(b, "ferry_queue_messages", "gauge",
	    "Messages in the queue by state and age since arrival, as the "
	    "queue role last counted them.",
	    "state", metrics_qstate_names, METRICS_QSTATE_N,
	    "age", metrics_qage_names, METRICS_QAGE_N, m->queue, true);
	metrics_family(b, "ferry_queue_counted_time_seconds", "gauge",
	    "When the queue role last counted its messages (Unix time).");
	metrics_sample(b, "ferry_queue_counted_time_seconds", NULL, 0,
	    atomic_load_explicit(&m->queue_published, memory_order_relaxed));
}

static void
metrics_rest(struct fbuf *b, struct metrics_region *m)
{
	static const char *const login_results[2] = { "failed", "ok" };

	metrics_table(b, "ferry_dns_lookups_total", "counter",
	    "DNS questions put to a set of resolvers, by outcome.",
	    "resolver", metrics_resolver_names, METRICS_RESOLVER_N,
	    "result", metrics_dns_result_names, METRICS_DNS_RESULT_N,
	    m->dns, false);
	metrics_histogram(b, m);
	metrics_dns_resolvers(b, m);
	metrics_table(b, "ferry_tls_handshakes_total", "counter",
	    "TLS handshakes, as server (STARTTLS, implicit TLS) and as "
	    "client (delivery), by result.",
	    "side", metrics_tls_side_names, METRICS_TLS_SIDE_N,
	    "result", metrics_tls_result_names, METRICS_TLS_RESULT_N,
	    m->tls, false);
	metrics_table(b, "ferry_logins_total", "counter",
	    "Password checks by protocol and result.",
	    "protocol", metrics_proto_names, METRICS_PROTO_N,
	    "result", login_results, 2, m->logins, false);
	metrics_table(b, "ferry_bans_total", "counter",
	    "Addresses banned for failed logins, by the protocol of the "
	    "failure that banned them.",
	    "protocol", metrics_proto_names, METRICS_PROTO_N, "", NULL, 1,
	    m->bans, false);
	metrics_mailbox_sessions(b, m);
	metrics_table(b, "ferry_role_starts_total", "counter",
	    "Role processes started by the supervisor.",
	    "role", metrics_role_names, METRICS_ROLE_N, "", NULL, 1,
	    m->role_starts, false);
	metrics_table(b, "ferry_role_restarts_total", "counter",
	    "Role processes started again after one died.",
	    "role", metrics_role_names, METRICS_ROLE_N, "", NULL, 1,
	    m->role_restarts, false);
}

void
metrics_render(struct fbuf *b, struct metrics_region *m)
{
	metrics_family(b, "ferry_start_time_seconds", "gauge",
	    "When the server started (Unix time).");
	metrics_sample(b, "ferry_start_time_seconds", NULL, 0, m->started);
	metrics_listeners(b, m);
	metrics_smtp(b, m);
	metrics_queue(b, m);
	metrics_rest(b, m);
}
