/* Reachability memory shared by every delivery of the queue role, per
 * address:port (net/reach.h): what failed there at connection level
 * (connect timeout, refused, greeting timeout, closed before the
 * greeting, 4xx greeting) or in the TLS handshake, since when, and the
 * last greeting seen.  A failure is believed for host_down_memory after
 * its newest evidence (a delivery's or a probe's, relay_probe.c); a TLS
 * failure for tls_broken_memory.  Each change of state is one log line.
 * The table survives restarts: it is loaded from state_dir/reachability
 * when the relay starts (before the loop serves anything) and written
 * back, coalesced, on the role's pool; a newer snapshot always wins over
 * an older one still being written.  The same writes carry the health of
 * the resolvers as the queue sees it (state_dir/resolvers, net/dns.h)
 * for `ferry status`: written at start and at each change. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "relay/relay_private.h"

#define RELAY_MEM_SAVE_SECS 1		/* changes coalesced this long */
#define RELAY_MEM_FORGET (7 * 86400)	/* an entry with no news is dropped */

/* Shared by the relay and its save jobs, which may outlive it. */
struct relay_mem_writer {
	pthread_mutex_t lock;
	unsigned refs;
	uint64_t written;		/* generation on disk */
	char path[PATH_MAX];
	char health_path[PATH_MAX];	/* state_dir/resolvers */
};

struct relay_mem_job {
	struct relay_mem_writer *w;
	struct relay *r;		/* NULL once the relay is gone */
	struct fbuf data;
	struct fbuf health;		/* the resolvers' health, as text */
	uint64_t gen;
	int err;
};

void
relay_mem_key(const struct sockaddr *sa, char *dst, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(dst, size, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(dst, size, "[%s]:%u", ip, port);
	} else
		snprintf(dst, size, "?");
}

static unsigned
relay_mem_hash(const char *key)
{
	return str_hash(key) % RELAY_MEM_BUCKETS;
}

struct relay_mem *
relay_mem_find(struct relay *r, const char *key, bool create)
{
	unsigned h = relay_mem_hash(key);
	struct relay_mem *m;

	for (m = r->mem[h]; m != NULL; m = m->next)
		if (strcmp(m->e.key, key) == 0)
			return m;
	if (!create)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	str_lcpy(m->e.key, key, sizeof(m->e.key));
	m->next = r->mem[h];
	r->mem[h] = m;
	r->nmem++;
	return m;
}

/* ---- saving ---- */

static void
relay_mem_writer_unref(struct relay_mem_writer **wp)
{
	struct relay_mem_writer *w = *wp;
	unsigned left;

	*wp = NULL;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	left = --w->refs;
	pthread_mutex_unlock(&w->lock);
	if (left == 0) {
		pthread_mutex_destroy(&w->lock);
		free(w);
	}
}

/* Writes the job's snapshot unless a newer one is already on disk. */
static void
relay_mem_job_write(struct relay_mem_job *j)
{
	struct relay_mem_writer *w = j->w;

	pthread_mutex_lock(&w->lock);
	if (j->gen > w->written) {
		if (fsio_replace_file(w->path, j->data.data, j->data.len,
		    0640) < 0)
			j->err = errno;
		else
			w->written = j->gen;
		if (j->health.len > 0 && fsio_replace_file(w->health_path,
		    j->health.data, j->health.len, 0640) < 0)
			j->err = errno;
	}
	pthread_mutex_unlock(&w->lock);
}

static void
relay_mem_job_work(void *arg)
{
	relay_mem_job_write(arg);
}

static void
relay_mem_job_free(struct relay_mem_job *j)
{
	relay_mem_writer_unref(&j->w);
	fbuf_release(&j->data);
	fbuf_release(&j->health);
	free(j);
}

static void
relay_mem_job_done(void *arg)
{
	struct relay_mem_job *j = arg;
	struct relay *r = j->r;

	if (j->err != 0)
		log_warnx("relay reachability-save-failed path=%s error=%s",
		    log_q(j->w->path), log_q(strerror(j->err)));
	if (r != NULL) {
		r->mem_job = NULL;
		if (r->mem_dirty)
			relay_mem_changed(r);
	}
	relay_mem_job_free(j);
}

static struct relay_mem_job *
relay_mem_snapshot(struct relay *r)
{
	struct relay_mem_job *j = xcalloc(1, sizeof(*j));
	struct relay_mem *m;

	j->w = r->mem_writer;
	pthread_mutex_lock(&j->w->lock);
	j->w->refs++;
	pthread_mutex_unlock(&j->w->lock);
	j->r = r;
	j->gen = ++r->mem_gen;
	fbuf_init(&j->data, 0);
	fbuf_init(&j->health, 0);
	if (r->dns != NULL)
		dns_resolver_health_format(r->dns, &j->health);
	fbuf_addf(&j->data, "%s\n", REACH_HEADER);
	for (unsigned h = 0; h < RELAY_MEM_BUCKETS; h++)
		for (m = r->mem[h]; m != NULL; m = m->next)
			reach_format(&j->data, &m->e);
	r->mem_dirty = false;
	return j;
}

static void
relay_mem_save_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	if (r->mem_job != NULL || r->mem_writer == NULL)
		return;		/* the running job's end calls again */
	if (r->pool == NULL) {
		struct relay_mem_job *j = relay_mem_snapshot(r);

		relay_mem_job_write(j);
		j->r = NULL;
		relay_mem_job_done(j);
		return;
	}
	r->mem_job = relay_mem_snapshot(r);
	workpool_submit(r->pool, relay_mem_job_work, relay_mem_job_done,
	    r->mem_job);
}

void
relay_mem_changed(struct relay *r)
{
	struct timeval tv = { RELAY_MEM_SAVE_SECS, 0 };

	r->mem_dirty = true;
	if (r->mem_save_ev != NULL && r->mem_job == NULL &&
	    !evtimer_pending(r->mem_save_ev, NULL))
		evtimer_add(r->mem_save_ev, &tv);
}

/* ---- loading ---- */

static void
relay_mem_load_cb(const struct reach_entry *e, void *ctx)
{
	struct relay *r = ctx;

	relay_mem_find(r, e->key, true)->e = *e;
}

int
relay_mem_open(struct relay *r, const char **error_r)
{
	struct relay_mem_writer *w = xcalloc(1, sizeof(*w));
	struct fbuf b;
	int bad;

	if (fsio_pathf(w->path, sizeof(w->path), "%s/%s",
	    r->conf->state_dir, REACH_FILE) < 0) {
		free(w);
		*error_r = "state_dir too long";
		return -1;
	}
	if (fsio_pathf(w->health_path, sizeof(w->health_path), "%s/%s",
	    r->conf->state_dir, DNS_HEALTH_FILE) < 0) {
		free(w);
		*error_r = "state_dir too long";
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->refs = 1;
	r->mem_writer = w;
	r->mem_save_ev = evtimer_new(r->base, relay_mem_save_cb, r);
	/* Set-up, before the loop serves anything: a small file read. */
	fbuf_init(&b, 0);
	if (fsio_read_file(w->path, &b, REACH_FILE_MAX) < 0) {
		if (errno != ENOENT)
			log_warn("relay reachability-unreadable path=%s",
			    log_q(w->path));
	} else if ((bad = reach_parse_file(b.data != NULL ? b.data : "",
	    b.len, relay_mem_load_cb, r)) != 0)
		log_warnx("relay reachability-file path=%s skipped=%s",
		    log_q(w->path), bad < 0 ? "all (no header)" : "some lines");
	if (r->nmem > 0)
		log_info("relay reachability-loaded path=%s entries=%u",
		    log_q(w->path), r->nmem);
	fbuf_release(&b);
	return 0;
}

/* ---- state ---- */

static bool
relay_mem_entry_down(const struct relay *r, const struct reach_entry *e,
    time_t now)
{
	return reach_is_down(e, now, (time_t)r->conf->host_down_memory);
}

bool
relay_mem_down(struct relay *r, const char *key, time_t now)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	return m != NULL && relay_mem_entry_down(r, &m->e, now);
}

bool
relay_mem_tls_broken(struct relay *r, const char *key, time_t now)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	return m != NULL && reach_tls_broken(&m->e, now,
	    (time_t)r->conf->tls_broken_memory);
}

const struct reach_entry *
relay_mem_get(struct relay *r, const char *key)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	return m != NULL ? &m->e : NULL;
}

void
relay_mem_set_down(struct relay *r, const char *key, enum reach_fail why,
    time_t now)
{
	struct relay_mem *m;

	if (r->conf->host_down_memory == 0)
		return;
	m = relay_mem_find(r, key, true);
	if (!relay_mem_entry_down(r, &m->e, now)) {
		log_info("- relay reach-down address=%s reason=%s",
		    m->e.key, reach_fail_str(why));
		m->e.since = now;
		m->e.probes = 0;
		m->e.next_probe = now + (time_t)relay_probe_delay(r, 0);
	}
	m->e.down = why;
	m->e.last_fail = now;
	relay_mem_changed(r);
}

void
relay_mem_set_up(struct relay *r, const char *key, const char *by,
    time_t now)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	if (m == NULL)
		return;		/* only addresses that failed are tracked */
	if (m->e.down != REACH_OK) {
		log_info("- relay reach-up address=%s was=%s down_for=%llds "
		    "by=%s", m->e.key, reach_fail_str(m->e.down),
		    (long long)(now - m->e.since), by);
		m->e.down = REACH_OK;
		m->e.probes = 0;
		m->e.next_probe = 0;
		r->up_gen++;
		relay_mem_changed(r);
	}
	m->e.last_ok = now;
}

void
relay_mem_set_tls_broken(struct relay *r, const char *key,
    enum reach_fail why, time_t now)
{
	struct relay_mem *m;

	if (r->conf->tls_broken_memory == 0)
		return;
	m = relay_mem_find(r, key, true);
	if (!reach_tls_broken(&m->e, now,
	    (time_t)r->conf->tls_broken_memory)) {
		log_info("- relay reach-tls-broken address=%s reason=%s",
		    m->e.key, reach_fail_str(why));
		/* Probed back like a dead address (relay_probe.c); an
		 * address that is down is probed for that first. */
		if (!relay_mem_entry_down(r, &m->e, now)) {
			m->e.probes = 0;
			m->e.next_probe = now +
			    (time_t)relay_probe_delay(r, 0);
		}
	}
	m->e.tls = why;
	m->e.tls_since = now;
	relay_mem_changed(r);
}

void
relay_mem_tls_ok(struct relay *r, const char *key, const char *by)
{
	struct relay_mem *m = relay_mem_find(r, key, false);

	if (m == NULL || m->e.tls == REACH_OK)
		return;
	log_info("- relay reach-tls-ok address=%s was=%s broken_for=%llds "
	    "by=%s", m->e.key, reach_fail_str(m->e.tls),
	    (long long)(time(NULL) - m->e.tls_since), by);
	m->e.tls = REACH_OK;
	m->e.tls_since = 0;
	if (m->e.down == REACH_OK) {
		m->e.probes = 0;
		m->e.next_probe = 0;
	}
	/* Under encrypt/verify a TLS-broken address counted as down: a
	 * connection to the fallback relay takes no more work. */
	r->up_gen++;
	relay_mem_changed(r);
}

/* Ends what the memory no longer believes (logged once), and drops
 * entries with nothing to say for a week. */
static bool
relay_mem_age(struct relay *r, struct reach_entry *e, time_t now)
{
	if (e->down != REACH_OK && !relay_mem_entry_down(r, e, now)) {
		log_info("- relay reach-forgotten address=%s was=%s "
		    "reason=\"no news for host_down_memory\"", e->key,
		    reach_fail_str(e->down));
		e->down = REACH_OK;
		e->next_probe = 0;
		relay_mem_changed(r);
	}
	if (e->tls != REACH_OK && !reach_tls_broken(e, now,
	    (time_t)r->conf->tls_broken_memory)) {
		e->tls = REACH_OK;
		e->tls_since = 0;
		relay_mem_changed(r);
	}
	return e->down == REACH_OK && e->tls == REACH_OK &&
	    now - e->last_fail > RELAY_MEM_FORGET &&
	    now - e->last_ok > RELAY_MEM_FORGET;
}

void
relay_mem_prune(struct relay *r, time_t now)
{
	struct relay_mem **pp, *m;
	unsigned h;

	for (h = 0; h < RELAY_MEM_BUCKETS; h++)
		for (pp = &r->mem[h]; (m = *pp) != NULL;) {
			if (relay_mem_age(r, &m->e, now)) {
				*pp = m->next;
				free(m);
				r->nmem--;
				relay_mem_changed(r);
			} else
				pp = &m->next;
		}
}

void
relay_mem_free(struct relay *r)
{
	struct relay_mem *m;
	unsigned h;

	if (r->mem_writer != NULL && (r->mem_dirty || r->mem_job != NULL)) {
		/* The last word, written now (the loop is ending); a job
		 * still running sees the newer generation and skips. */
		struct relay_mem_job *j = relay_mem_snapshot(r);

		relay_mem_job_write(j);
		j->r = NULL;
		relay_mem_job_done(j);
	}
	if (r->mem_job != NULL)
		r->mem_job->r = NULL;
	r->mem_job = NULL;
	if (r->mem_save_ev != NULL)
		event_free(r->mem_save_ev);
	r->mem_save_ev = NULL;
	relay_mem_writer_unref(&r->mem_writer);
	for (h = 0; h < RELAY_MEM_BUCKETS; h++)
		while ((m = r->mem[h]) != NULL) {
			r->mem[h] = m->next;
			free(m);
		}
	r->nmem = 0;
}
