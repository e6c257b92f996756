/* Counters for /metrics (docs/metrics.md), shared by every process of
 * `ferry serve`: one region of anonymous shared memory that the
 * supervisor maps before it forks the roles (metrics_init_shared()), so
 * every role writes into the same counters and they survive a role's
 * restart.  Each counter is an _Atomic uint64_t bumped with a relaxed
 * atomic add: no lock, no syscall.  Labels are fixed enums (their names
 * in metrics_*_names[]), or small tables filled at start (listeners).
 *
 * Until metrics_init_shared() runs (the command line, unit tests) the
 * counters live in a private region of the process, so callers never
 * test for "no metrics".  The region's layout is this header: the
 * admin role renders it (admin/metrics.c) without asking anyone. */
#ifndef FERRY_METRICS_H
#define FERRY_METRICS_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define METRICS_LISTENERS_MAX 32
#define METRICS_KIND_LEN 16
#define METRICS_ADDR_LEN 80
#define METRICS_RESOLVERS_MAX 16
#define METRICS_RESOLVER_LEN 256

typedef _Atomic uint64_t metrics_counter;
typedef _Atomic int64_t metrics_gauge;

/* Why the SMTP server refused: the policy checks (policy_check_names,
 * same spelling) and the refusals made outside the pipeline. */
enum metrics_check {
	METRICS_CHECK_CLIENT, METRICS_CHECK_RATE, METRICS_CHECK_BAD_RCPT,
	METRICS_CHECK_DNSBL, METRICS_CHECK_RDNS, METRICS_CHECK_HELO,
	METRICS_CHECK_MFCHECK, METRICS_CHECK_SPF, METRICS_CHECK_GREYLIST,
	METRICS_CHECK_CLAMD, METRICS_CHECK_SPAMD, METRICS_CHECK_DMARC,
	METRICS_CHECK_SENDER,		/* sender_check, forged From: */
	METRICS_CHECK_AUTH,		/* submission without AUTH */
	METRICS_CHECK_TLS,		/* AUTH without TLS */
	METRICS_CHECK_SIZE,		/* message_size_limit */
	METRICS_CHECK_DISK,		/* min_free_bytes / min_free_pct */
	METRICS_CHECK_BAN,		/* a banned address */
	METRICS_CHECK_RECIPIENT,	/* unknown user, relaying denied */
	METRICS_CHECK_CONTENT,		/* DATA refused (bare LF, loops...) */
	METRICS_CHECK_QUOTA,		/* no recipient's quota fits it */
	METRICS_CHECK_RULE,		/* a domain's or the system's rule */
	METRICS_CHECK_LIMIT,		/* too many recipients or errors */
	METRICS_CHECK_PROTOCOL,		/* talked before the greeting */
	METRICS_CHECK_OTHER,
	METRICS_CHECK_N
};

enum metrics_verdict { METRICS_REJECT, METRICS_TEMPFAIL, METRICS_VERDICT_N };

enum metrics_proto {
	METRICS_PROTO_SMTP, METRICS_PROTO_IMAP, METRICS_PROTO_POP3,
	METRICS_PROTO_HTTP, METRICS_PROTO_N
};

enum metrics_dclass {
	METRICS_DEST_LOCAL,		/* into a Maildir here */
	METRICS_DEST_REMOTE,		/* to the domain's MX hosts */
	METRICS_DEST_RELAY,		/* a route or the fallback relay */
	METRICS_DEST_N
};

enum metrics_dresult {
	METRICS_DELIVERED, METRICS_DEFERRED, METRICS_FAILED, METRICS_DRESULT_N
};

/* The queue's messages, as the queue role last published them. */
enum metrics_qstate {
	METRICS_Q_ACTIVE,		/* being delivered now */
	METRICS_Q_DUE,			/* due, waiting for a worker */
	METRICS_Q_DEFERRED,		/* waiting for its next attempt */
	METRICS_Q_HELD,			/* held (queue hold, send-hold, spam) */
	METRICS_Q_DISK_WAIT,		/* held back: the disk is full */
	METRICS_QSTATE_N
};

/* Ages: under 5 minutes, under an hour, under a day, older. */
enum metrics_qage { METRICS_AGE_5M, METRICS_AGE_1H, METRICS_AGE_1D,
	METRICS_AGE_OLDER, METRICS_QAGE_N };

enum metrics_resolver { METRICS_RESOLVER_PRIMARY, METRICS_RESOLVER_FALLBACK,
	METRICS_RESOLVER_N };

enum metrics_dns_result {
	METRICS_DNS_ANSWER,		/* records, NXDOMAIN or no data */
	METRICS_DNS_SERVFAIL,		/* an answer we cannot use */
	METRICS_DNS_TIMEOUT,
	METRICS_DNS_ERROR,		/* libunbound could not ask */
	METRICS_DNS_RESULT_N
};

/* One resolver's outcomes (ferry_dns_resolver_lookups_total): as
 * metrics_dns_result, with NXDOMAIN apart from the other answers. */
enum metrics_dns_outcome {
	METRICS_DNSO_ANSWER,		/* records or no data (or bogus) */
	METRICS_DNSO_NXDOMAIN,
	METRICS_DNSO_SERVFAIL,
	METRICS_DNSO_TIMEOUT,
	METRICS_DNSO_ERROR,
	METRICS_DNSO_N
};

enum metrics_tls_side { METRICS_TLS_SERVER, METRICS_TLS_CLIENT,
	METRICS_TLS_SIDE_N };
enum metrics_tls_result { METRICS_TLS_OK, METRICS_TLS_FAILED,
	METRICS_TLS_RESULT_N };

enum metrics_role {
	METRICS_ROLE_SMTPD, METRICS_ROLE_QUEUE, METRICS_ROLE_MAILBOX,
	METRICS_ROLE_ADMIN, METRICS_ROLE_N
};

/* DNS latency buckets, upper bounds in milliseconds (+Inf apart). */
#define METRICS_DNS_BUCKETS 11

struct metrics_hist {
	metrics_counter bucket[METRICS_DNS_BUCKETS];	/* not cumulative */
	metrics_counter count;
	metrics_counter sum_us;		/* microseconds */
};

/* One listening socket of the supervisor, in the order of
 * env->listeners (the supervisor fills kind and addr before forking). */
struct metrics_listener {
	char kind[METRICS_KIND_LEN];	/* "smtp", "imaps", ... */
	char addr[METRICS_ADDR_LEN];	/* as configured */
	metrics_counter connections;	/* accepted (limits passed) */
	metrics_counter refused;	/* refused for a connection limit */
	metrics_gauge sessions;		/* open now */
	_Atomic int32_t owner;		/* pid of the role serving it */
};

/* One resolver as net/dns.c asks it: one libunbound context, that is one
 * address, or the addresses of one group that libunbound picks among
 * (their "HOST:PORT"s joined by commas; "resolv.conf" for the system's).
 * Claimed by the first process whose resolver uses it
 * (metrics_dns_resolver()): state goes 0 (free) -> 1 (being filled) ->
 * 2 (ready); readers skip the others.  The set-aside fields are written
 * only by the process that publishes the resolvers' health (the queue,
 * state_dir/resolvers), so that /metrics says what `ferry status` says. */
struct metrics_dns_resolver {
	_Atomic uint32_t state;
	uint32_t set;			/* enum metrics_resolver */
	char addr[METRICS_RESOLVER_LEN];
	metrics_counter results[METRICS_DNSO_N];
	struct metrics_hist latency;	/* answers and failures, not errors */
	metrics_counter asides;		/* times it was set aside */
	metrics_gauge aside_until;	/* time(): set aside until (0: up) */
};

struct metrics_region {
	uint32_t magic;
	uint32_t nlisteners;
	int64_t started;		/* time(): when the region was made */
	struct metrics_listener listeners[METRICS_LISTENERS_MAX];
	metrics_counter smtp_accepted;	/* messages answered 250 */
	metrics_counter smtp_accepted_rcpts;
	metrics_counter smtp_refused[METRICS_CHECK_N][METRICS_VERDICT_N];
	metrics_counter deliveries[METRICS_DEST_N][METRICS_DRESULT_N];
	metrics_gauge queue[METRICS_QSTATE_N][METRICS_QAGE_N];
	metrics_gauge queue_published;	/* time() of the last publication */
	metrics_counter dns[METRICS_RESOLVER_N][METRICS_DNS_RESULT_N];
	struct metrics_hist dns_latency[METRICS_RESOLVER_N];
	struct metrics_dns_resolver resolvers[METRICS_RESOLVERS_MAX];
	metrics_counter tls[METRICS_TLS_SIDE_N][METRICS_TLS_RESULT_N];
	metrics_counter logins[METRICS_PROTO_N][2];	/* [1]: succeeded */
	metrics_counter bans[METRICS_PROTO_N];	/* addresses banned */
	metrics_counter role_starts[METRICS_ROLE_N];
	metrics_counter role_restarts[METRICS_ROLE_N];
};

extern const char *const metrics_check_names[METRICS_CHECK_N];
extern const char *const metrics_verdict_names[METRICS_VERDICT_N];
extern const char *const metrics_proto_names[METRICS_PROTO_N];
extern const char *const metrics_dclass_names[METRICS_DEST_N];
extern const char *const metrics_dresult_names[METRICS_DRESULT_N];
extern const char *const metrics_qstate_names[METRICS_QSTATE_N];
extern const char *const metrics_qage_names[METRICS_QAGE_N];
extern const char *const metrics_resolver_names[METRICS_RESOLVER_N];
extern const char *const metrics_dns_result_names[METRICS_DNS_RESULT_N];
extern const char *const metrics_dns_outcome_names[METRICS_DNSO_N];
extern const char *const metrics_tls_side_names[METRICS_TLS_SIDE_N];
extern const char *const metrics_tls_result_names[METRICS_TLS_RESULT_N];
extern const char *const metrics_role_names[METRICS_ROLE_N];
/* Upper bounds of the DNS latency buckets, in milliseconds. */
extern const unsigned metrics_dns_bounds_ms[METRICS_DNS_BUCKETS];

/* The region every counter goes to: the shared one after
 * metrics_init_shared(), else one private to the process.  Never NULL.
 * (The one mutable global besides the log's: counters are bumped from
 * deep inside DNS, TLS and the listener, which have no env to carry.) */
extern struct metrics_region *metrics_shm;

/* Maps the shared region (zeroed) and makes it metrics_shm; the
 * supervisor calls it once, before forking.  0, or -1 with errno (the
 * private region stays in use). */
int metrics_init_shared(void);
/* Empties the current region (unit tests). */
void metrics_reset(void);

static inline void
metrics_add(metrics_counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void
metrics_inc(metrics_counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void
metrics_gauge_add(metrics_gauge *g, int64_t n)
{
	atomic_fetch_add_explicit(g, n, memory_order_relaxed);
}

static inline uint64_t
metrics_get(metrics_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Supervisor, at bind time, in env->listeners order: the slot index, or
 * -1 when the table is full (that listener is then not measured). */
int metrics_listener_add(const char *kind, const char *addr);
/* The slot of env->listeners[i], or NULL when it has none. */
struct metrics_listener *metrics_listener(size_t i);
/* The slot of the listener with that kind and address, or NULL. */
struct metrics_listener *metrics_listener_find(const char *kind,
    const char *addr);
/* Supervisor: role pid died; the sessions it had open are gone. */
void metrics_listeners_dead(pid_t pid);

/* The enum value of a name in metrics_check_names (policy check names
 * and the others), METRICS_CHECK_OTHER when unknown or NULL. */
enum metrics_check metrics_check_of(const char *name);
/* METRICS_REJECT for 5xx codes, else METRICS_TEMPFAIL. */
enum metrics_verdict metrics_verdict_of(int code);
/* Counts an SMTP refusal by check name and reply code. */
void metrics_smtp_refused(const char *check, int code);
/* Counts a ban for a failed login over service ("smtp", "imap", "pop3",
 * "http"; anything else counts as "http", the web's logins). */
void metrics_ban(const char *service);
/* The role's index by name ("smtpd", ...), or -1. */
int metrics_role_of(const char *name);
/* Adds one DNS lookup's elapsed time (microseconds) to the histogram. */
void metrics_dns_observe(enum metrics_resolver r, uint64_t usec);
/* The same into any DNS latency histogram (one resolver's). */
void metrics_hist_observe(struct metrics_hist *h, uint64_t usec);
/* The slot of resolver addr (struct metrics_dns_resolver) of set r,
 * claimed when no process has used it yet; NULL when the table is full
 * (that resolver is then counted in its set's totals only).  Lock-free:
 * safe from every role at once. */
struct metrics_dns_resolver *metrics_dns_resolver(enum metrics_resolver r,
    const char *addr);
/* The age bucket of something seconds old. */
enum metrics_qage metrics_qage_of(int64_t secs);

#endif
