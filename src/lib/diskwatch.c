/* Free space watched for a role (diskwatch.h).  The check is a statvfs()
 * on the role's worker pool once a second: cheap, but a stalled NFS
 * server or a hung device can make any filesystem call sleep, and the
 * loop must not (DESIGN.md rule 4).  Between checks the answer is the
 * last one, so a burst can still fill the disk; the writers handle that
 * themselves (ENOSPC is a 452, never a 250) and report it here with
 * diskwatch_failed(), which checks at once and keeps the state low while
 * less than 64 KiB is left even when min_free_space is 0.
 * Each change of state is logged once ("disk-low", "disk-ok"): a full
 * disk is one line per role, not one per message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>

#include "lib/diskwatch.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

#define DISKWATCH_PATH_MAX 4096

struct diskwatch {
	struct event *tick;
	struct workpool *pool;
	char path[DISKWATCH_PATH_MAX];
	char who[32];
	diskwatch_cb *cb;
	void *ctx;
	uint64_t min_bytes;
	unsigned min_pct;
	/* the last check (loop thread) */
	uint64_t avail, total;
	uint64_t logged;		/* avail at the last debug line */
	bool known, low, failed;
	/* the running check: its result, written by the worker */
	bool running, dead;
	int rc, err;
	uint64_t r_avail, r_total;
};

int
diskwatch_parse(const char *s, uint64_t *bytes_r, unsigned *pct_r)
{
	size_t n = strlen(s);
	uint64_t v;
	char num[16];

	*bytes_r = 0;
	*pct_r = 0;
	if (n > 1 && s[n - 1] == '%') {
		if (n - 1 >= sizeof(num))
			return -1;
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (str_parse_uint(num, 0, 99, &v) < 0)
			return -1;
		*pct_r = (unsigned)v;
		return 0;
	}
	return str_parse_size(s, bytes_r);
}

bool
diskwatch_below(uint64_t avail, uint64_t total, uint64_t need,
    uint64_t min_bytes, unsigned min_pct)
{
	uint64_t min = min_bytes;

	if (min_pct > 0)
		min = total / 100 * min_pct + total % 100 * min_pct / 100;
	if (avail <= need)
		return true;
	return avail - need < min;
}

int
diskwatch_statfs(const char *path, uint64_t *avail_r, uint64_t *total_r)
{
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return -1;
	*avail_r = (uint64_t)sv.f_bavail * sv.f_frsize;
	*total_r = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

static void
diskwatch_set_low(struct diskwatch *w, bool low, const char *why)
{
	if (low == w->low)
		return;
	w->low = low;
	if (low)
		log_warnx("- %s disk-low path=%s avail=%llu min_bytes=%llu "
		    "min_pct=%u reason=%s note=\"new mail refused with 452 "
		    "until space returns\"", w->who, log_q(w->path),
		    (unsigned long long)w->avail,
		    (unsigned long long)w->min_bytes, w->min_pct, why);
	else
		log_info("- %s disk-ok path=%s avail=%llu", w->who,
		    log_q(w->path), (unsigned long long)w->avail);
	if (w->cb != NULL)
		w->cb(low, w->ctx);
}

static void
diskwatch_work(void *arg)
{
	struct diskwatch *w = arg;

	w->rc = diskwatch_statfs(w->path, &w->r_avail, &w->r_total);
	w->err = errno;
}

static void
diskwatch_done(void *arg)
{
	struct diskwatch *w = arg;
	bool low;

	w->running = false;
	if (w->dead) {
		free(w);
		return;
	}
	if (w->rc < 0) {
		/* Not knowing is not "full": the writers still report. */
		log_warnx("- %s disk-check-failed path=%s error=%s", w->who,
		    log_q(w->path), log_q(strerror(w->err)));
		return;
	}
	w->avail = w->r_avail;
	w->total = w->r_total;
	/* A debug line when the figure moves by a MiB or more: enough to
	 * follow a filling disk (and for tests to know it was seen). */
	if (!w->known || w->avail > w->logged + 1048576 ||
	    w->avail + 1048576 < w->logged) {
		log_debug("- %s disk-check avail=%llu total=%llu", w->who,
		    (unsigned long long)w->avail,
		    (unsigned long long)w->total);
		w->logged = w->avail;
	}
	w->known = true;
	low = diskwatch_below(w->avail, w->total, 0, w->min_bytes,
	    w->min_pct);
	/* A write failed since the last check: stays low while the space
	 * is still too small for much (a whole 64 KiB block), else the
	 * failed message was simply larger than what was left. */
	if (!low && w->failed && w->avail < 65536)
		low = true;
	diskwatch_set_low(w, low, w->failed && low ?
	    "\"write failed for want of space\"" : "below-min_free_space");
	w->failed = false;
}

static void
diskwatch_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct diskwatch *w = arg;

	if (w->running)
		return;
	w->running = true;
	workpool_submit(w->pool, diskwatch_work, diskwatch_done, w);
}

struct diskwatch *
diskwatch_new(struct event_base *base, struct workpool *pool,
    const char *path, const char *who, diskwatch_cb *cb, void *ctx)
{
	struct diskwatch *w = xcalloc(1, sizeof(*w));
	struct timeval second = { 1, 0 };

	str_lcpy(w->path, path, sizeof(w->path));
	str_lcpy(w->who, who, sizeof(w->who));
	w->pool = pool;
	w->cb = cb;
	w->ctx = ctx;
	w->tick = event_new(base, -1, EV_PERSIST, diskwatch_tick_cb, w);
	event_add(w->tick, &second);
	diskwatch_tick_cb(-1, 0, w);
	return w;
}

void
diskwatch_set_min(struct diskwatch *w, uint64_t min_bytes, unsigned min_pct)
{
	w->min_bytes = min_bytes;
	w->min_pct = min_pct;
}

bool
diskwatch_low(const struct diskwatch *w)
{
	return w->low;
}

bool
diskwatch_fits(const struct diskwatch *w, uint64_t need)
{
	if (w->low)
		return false;
	if (!w->known)
		return true;
	return !diskwatch_below(w->avail, w->total, need, w->min_bytes,
	    w->min_pct);
}

void
diskwatch_consume(struct diskwatch *w, uint64_t n)
{
	if (!w->known)
		return;
	w->avail = w->avail > n ? w->avail - n : 0;
	if (diskwatch_below(w->avail, w->total, 0, w->min_bytes, w->min_pct))
		diskwatch_set_low(w, true, "below-min_free_space");
}

void
diskwatch_failed(struct diskwatch *w)
{
	w->failed = true;
	diskwatch_tick_cb(-1, 0, w);
}

void
diskwatch_free(struct diskwatch **wp)
{
	struct diskwatch *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	event_free(w->tick);
	w->tick = NULL;
	if (w->running) {
		w->dead = true;
		return;
	}
	free(w);
}
