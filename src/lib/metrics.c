/* The shared counter region (metrics.h): mapping it, the label names,
 * the listener table and the few helpers that map a name or a reply
 * code onto a label.  Rendering it as Prometheus text is the admin
 * role's business (admin/metrics.c); this file writes no text. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include "lib/metrics.h"
#include "lib/strutil.h"

#define METRICS_MAGIC 0x6d657472u

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "shared counters need lock-free 64-bit atomics");

const char *const metrics_check_names[METRICS_CHECK_N] = {
	"client", "rate", "bad_rcpt", "dnsbl", "rdns", "helo", "mfcheck",
	"spf", "greylist", "clamd", "spamd", "dmarc", "sender", "auth",
	"tls", "size", "disk", "ban", "recipient", "content", "quota",
	"rule", "limit", "protocol", "other"
};
const char *const metrics_verdict_names[METRICS_VERDICT_N] = {
	"reject", "tempfail"
};
const char *const metrics_proto_names[METRICS_PROTO_N] = {
	"smtp", "imap", "pop3", "http"
};
const char *const metrics_dclass_names[METRICS_DEST_N] = {
	"local", "remote", "relay"
};
const char *const metrics_dresult_names[METRICS_DRESULT_N] = {
	"delivered", "deferred", "failed"
};
const char *const metrics_qstate_names[METRICS_QSTATE_N] = {
	"active", "due", "deferred", "held", "disk_wait"
};
const char *const metrics_qage_names[METRICS_QAGE_N] = {
	"0-5m", "5m-1h", "1h-1d", "1d+"
};
const char *const metrics_resolver_names[METRICS_RESOLVER_N] = {
	"primary", "fallback"
};
const char *const metrics_dns_result_names[METRICS_DNS_RESULT_N] = {
	"answer", "servfail", "timeout", "error"
};
const char *const metrics_dns_outcome_names[METRICS_DNSO_N] = {
	"answer", "nxdomain", "servfail", "timeout", "error"
};
const char *const metrics_tls_side_names[METRICS_TLS_SIDE_N] = {
	"server", "client"
};
const char *const metrics_tls_result_names[METRICS_TLS_RESULT_N] = {
	"ok", "failed"
};
const char *const metrics_role_names[METRICS_ROLE_N] = {
	"smtpd", "queue", "mailbox", "admin"
};
const unsigned metrics_dns_bounds_ms[METRICS_DNS_BUCKETS] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000
};

static struct metrics_region metrics_private = { .magic = METRICS_MAGIC };
struct metrics_region *metrics_shm = &metrics_private;

int
metrics_init_shared(void)
{
	void *p;

	p = mmap(NULL, sizeof(struct metrics_region), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	metrics_shm = p;	/* zeroed by the kernel */
	metrics_shm->magic = METRICS_MAGIC;
	metrics_shm->started = (int64_t)time(NULL);
	return 0;
}

void
metrics_reset(void)
{
	memset(metrics_shm, 0, sizeof(*metrics_shm));
	metrics_shm->magic = METRICS_MAGIC;
}

int
metrics_listener_add(const char *kind, const char *addr)
{
	struct metrics_region *m = metrics_shm;
	struct metrics_listener *l;

	if (m->nlisteners >= METRICS_LISTENERS_MAX)
		return -1;
	l = &m->listeners[m->nlisteners];
	str_lcpy(l->kind, kind, sizeof(l->kind));
	str_lcpy(l->addr, addr, sizeof(l->addr));
	return (int)m->nlisteners++;
}

struct metrics_listener *
metrics_listener(size_t i)
{
	return i < metrics_shm->nlisteners ? &metrics_shm->listeners[i] : NULL;
}

struct metrics_listener *
metrics_listener_find(const char *kind, const char *addr)
{
	for (uint32_t i = 0; i < metrics_shm->nlisteners; i++) {
		struct metrics_listener *l = &metrics_shm->listeners[i];

		if (strcmp(l->kind, kind) == 0 && strcmp(l->addr, addr) == 0)
			return l;
	}
	return NULL;
}

void
metrics_listeners_dead(pid_t pid)
{
	for (uint32_t i = 0; i < metrics_shm->nlisteners; i++) {
		struct metrics_listener *l = &metrics_shm->listeners[i];

		if (atomic_load(&l->owner) == (int32_t)pid)
			atomic_store(&l->sessions, 0);
	}
}

enum metrics_check
metrics_check_of(const char *name)
{
	if (name == NULL)
		return METRICS_CHECK_OTHER;
	for (int i = 0; i < METRICS_CHECK_N; i++)
		if (strcasecmp(metrics_check_names[i], name) == 0)
			return (enum metrics_check)i;
	return METRICS_CHECK_OTHER;
}

enum metrics_verdict
metrics_verdict_of(int code)
{
	return code >= 500 && code <= 599 ? METRICS_REJECT : METRICS_TEMPFAIL;
}

void
metrics_smtp_refused(const char *check, int code)
{
	metrics_inc(&metrics_shm->smtp_refused[metrics_check_of(check)]
	    [metrics_verdict_of(code)]);
}

void
metrics_ban(const char *service)
{
	int p = METRICS_PROTO_HTTP;

	for (int i = 0; i < METRICS_PROTO_N; i++)
		if (strcmp(metrics_proto_names[i], service) == 0)
			p = i;
	metrics_inc(&metrics_shm->bans[p]);
}

int
metrics_role_of(const char *name)
{
	for (int i = 0; i < METRICS_ROLE_N; i++)
		if (strcmp(metrics_role_names[i], name) == 0)
			return i;
	return -1;
}

void
metrics_dns_observe(enum metrics_resolver r, uint64_t usec)
{
	metrics_hist_observe(&metrics_shm->dns_latency[r], usec);
}

void
metrics_hist_observe(struct metrics_hist *h, uint64_t usec)
{
	size_t i;

	for (i = 0; i < METRICS_DNS_BUCKETS; i++)
		if (usec <= (uint64_t)metrics_dns_bounds_ms[i] * 1000u)
			break;
	/* Past the last bound only _count (+Inf) grows. */
	if (i < METRICS_DNS_BUCKETS)
		metrics_inc(&h->bucket[i]);
	metrics_inc(&h->count);
	metrics_add(&h->sum_us, usec);
}

/* True when slot s holds resolver addr of set r.  A slot being filled
 * by another process is waited for (filling it is two stores, never a
 * blocking call), a bounded while: one whose filler died meanwhile is
 * passed over. */
static bool
metrics_dns_resolver_is(struct metrics_dns_resolver *s,
    enum metrics_resolver r, const char *addr)
{
	for (unsigned spins = 0; atomic_load(&s->state) == 1; spins++)
		if (spins > 1000000)
			return false;
	return s->set == (uint32_t)r && strcmp(s->addr, addr) == 0;
}

struct metrics_dns_resolver *
metrics_dns_resolver(enum metrics_resolver r, const char *addr)
{
	for (size_t i = 0; i < METRICS_RESOLVERS_MAX; i++) {
		struct metrics_dns_resolver *s = &metrics_shm->resolvers[i];
		uint32_t free_state = 0;

		if (atomic_compare_exchange_strong(&s->state, &free_state, 1)) {
			s->set = (uint32_t)r;
			str_lcpy(s->addr, addr, sizeof(s->addr));
			atomic_store(&s->state, 2);
			return s;
		}
		if (metrics_dns_resolver_is(s, r, addr))
			return s;
	}
	return NULL;
}

enum metrics_qage
metrics_qage_of(int64_t secs)
{
	if (secs < 300)
		return METRICS_AGE_5M;
	if (secs < 3600)
		return METRICS_AGE_1H;
	if (secs < 86400)
		return METRICS_AGE_1D;
	return METRICS_AGE_OLDER;
}
