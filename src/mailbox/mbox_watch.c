/* The change watcher (mbox.h): one inotify instance per process, one
 * pair of watches (new/ and cur/) per folder directory in use, shared by
 * every registration on it and removed with the last one.  Any entry
 * created, moved or deleted there, by delivery, POP3, another session or
 * a human, activates each registration's own libevent event, so the
 * callbacks run on the loop, never inline, and a callback may remove
 * any registration (its pending activation goes with its event).  A
 * timer activates everything every MBOX_WATCH_BACKSTOP seconds in case
 * an event was lost (inotify queue overflow, a file system without
 * inotify).  It only says "look again": views find out what changed.
 *
 * A directory whose last registration goes keeps its watches for
 * MBOX_WATCH_LINGER seconds (at most MBOX_WATCH_LINGER_MAX such
 * directories): adding a watch walks every entry of the directory in
 * the kernel, which for a large folder cost the next SELECT more than
 * all the rest.  A lingering directory that is moved or deleted is
 * dropped at once, so a new folder of the same name gets watches of
 * its own. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mailbox/mbox_private.h"

#define MBOX_WATCH_LINGER 60
#define MBOX_WATCH_LINGER_MAX 64
#define MBOX_WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | \
	IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct mbox_wdir {
	struct mbox_wdir *next;
	char *dir;
	int wd[2];			/* new/, cur/ (-1: none) */
	struct mbox_watch *regs;
	time_t idle_since;		/* regs NULL: since when */
};

struct mbox_watch {
	struct mbox_watch *next;	/* in its wdir */
	struct mbox_wdir *wdir;
	struct mbox_watcher *w;
	struct event *ev;
	mbox_watch_cb *cb;
	void *ctx;
};

struct mbox_watcher {
	struct event_base *base;
	int fd;
	struct event *ev;
	struct event *timer;
	struct mbox_wdir *dirs;
};

static void
mbox_watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mbox_watch *reg = arg;

	reg->cb(reg->ctx);
}

static void
mbox_wdir_activate(struct mbox_wdir *d)
{
	for (struct mbox_watch *reg = d->regs; reg != NULL; reg = reg->next)
		event_active(reg->ev, EV_READ, 0);
}

static struct mbox_wdir *
mbox_wdir_by_wd(struct mbox_watcher *w, int wd)
{
	for (struct mbox_wdir *d = w->dirs; d != NULL; d = d->next)
		if (d->wd[0] == wd || d->wd[1] == wd)
			return d;
	return NULL;
}

/* Removes d (no registrations left) with its watches. */
static void
mbox_wdir_drop(struct mbox_watcher *w, struct mbox_wdir *d)
{
	struct mbox_wdir **dp;

	for (int i = 0; i < 2; i++)
		if (d->wd[i] >= 0)
			inotify_rm_watch(w->fd, d->wd[i]);
	for (dp = &w->dirs; *dp != d; dp = &(*dp)->next)
		;
	*dp = d->next;
	free(d->dir);
	free(d);
}

/* Drops the lingering directories past their time (all: force), and
 * the oldest beyond MBOX_WATCH_LINGER_MAX. */
static void
mbox_wdir_expire(struct mbox_watcher *w, bool force)
{
	time_t now = time(NULL);
	struct mbox_wdir *d, *next, *oldest;
	unsigned n = 0;

	for (d = w->dirs; d != NULL; d = next) {
		next = d->next;
		if (d->regs != NULL)
			continue;
		if (force || now - d->idle_since >= MBOX_WATCH_LINGER)
			mbox_wdir_drop(w, d);
		else
			n++;
	}
	while (n-- > MBOX_WATCH_LINGER_MAX) {
		oldest = NULL;
		for (d = w->dirs; d != NULL; d = d->next)
			if (d->regs == NULL && (oldest == NULL ||
			    d->idle_since < oldest->idle_since))
				oldest = d;
		mbox_wdir_drop(w, oldest);
	}
}

static void
mbox_watcher_read(evutil_socket_t fd, short what, void *arg)
{
	struct mbox_watcher *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	const struct inotify_event *ie;
	struct mbox_wdir *d;
	ssize_t n;

	for (;;) {
		n = read(w->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (ie->mask & IN_Q_OVERFLOW) {
				for (d = w->dirs; d != NULL; d = d->next)
					mbox_wdir_activate(d);
				continue;
			}
			if ((d = mbox_wdir_by_wd(w, ie->wd)) == NULL)
				continue;
			if (ie->mask & IN_IGNORED) {
				/* The directory went (folder deleted). */
				for (int i = 0; i < 2; i++)
					if (d->wd[i] == ie->wd)
						d->wd[i] = -1;
			}
			if (d->regs == NULL && ie->mask & (IN_IGNORED |
			    IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* lingering, and no longer its path */
				mbox_wdir_drop(w, d);
				continue;
			}
			mbox_wdir_activate(d);
		}
	}
}

static void
mbox_watcher_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mbox_watcher *w = arg;

	for (struct mbox_wdir *d = w->dirs; d != NULL; d = d->next)
		mbox_wdir_activate(d);
	mbox_wdir_expire(w, false);
}

struct mbox_watcher *
mbox_watcher_create(struct event_base *base)
{
	struct mbox_watcher *w = xcalloc(1, sizeof(*w));
	struct timeval tv = { MBOX_WATCH_BACKSTOP, 0 };

	w->base = base;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		log_warn("- mailbox inotify-unavailable backstop=%ds",
		    MBOX_WATCH_BACKSTOP);
	else {
		w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST,
		    mbox_watcher_read, w);
		event_add(w->ev, NULL);
	}
	w->timer = event_new(base, -1, EV_PERSIST, mbox_watcher_tick, w);
	event_add(w->timer, &tv);
	return w;
}

void
mbox_watcher_free(struct mbox_watcher **wp)
{
	struct mbox_watcher *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	mbox_wdir_expire(w, true);
	if (w->dirs != NULL)
		log_warnx("- mailbox watcher-free watches-still-registered");
	if (w->ev != NULL)
		event_free(w->ev);
	event_free(w->timer);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

static struct mbox_wdir *
mbox_wdir_get(struct mbox_watcher *w, const char *dir)
{
	static const char *const subs[2] = { "new", "cur" };
	char path[PATH_MAX];
	struct mbox_wdir *d;

	for (d = w->dirs; d != NULL; d = d->next)
		if (strcmp(d->dir, dir) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->dir = xstrdup(dir);
	for (int i = 0; i < 2; i++) {
		d->wd[i] = -1;
		if (w->fd >= 0 && fsio_pathf(path, sizeof(path), "%s/%s", dir,
		    subs[i]) == 0 &&
		    (d->wd[i] = inotify_add_watch(w->fd, path,
		    MBOX_WATCH_MASK)) < 0)
			log_warn("- mailbox inotify-add-failed dir=%s",
			    log_q(path));
	}
	d->next = w->dirs;
	w->dirs = d;
	return d;
}

struct mbox_watch *
mbox_watch_add(struct mbox_service *svc, const char *dir, mbox_watch_cb *cb,
    void *ctx)
{
	struct mbox_watcher *w = svc->watcher;
	struct mbox_watch *reg;

	if (w == NULL)
		return NULL;
	reg = xcalloc(1, sizeof(*reg));
	reg->w = w;
	reg->cb = cb;
	reg->ctx = ctx;
	reg->ev = event_new(w->base, -1, 0, mbox_watch_fire, reg);
	reg->wdir = mbox_wdir_get(w, dir);
	reg->next = reg->wdir->regs;
	reg->wdir->regs = reg;
	return reg;
}

void
mbox_watch_remove(struct mbox_watch **watchp)
{
	struct mbox_watch *reg = *watchp, **pp;
	struct mbox_wdir *d;
	struct mbox_watcher *w;

	if (reg == NULL)
		return;
	*watchp = NULL;
	d = reg->wdir;
	w = reg->w;
	for (pp = &d->regs; *pp != reg; pp = &(*pp)->next)
		;
	*pp = reg->next;
	event_free(reg->ev);
	free(reg);
	if (d->regs != NULL)
		return;
	d->idle_since = time(NULL);
	mbox_wdir_expire(w, false);
}
