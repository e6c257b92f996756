/* Unit tests for the change watcher (src/mailbox/mbox_watch.c): a file
 * delivered into new/ or renamed in cur/ wakes every registration on the
 * folder through the loop (never inline), registrations share one watch
 * and outlive each other's removal, a callback may remove another
 * registration, and a removed one never fires.  A watchdog timer only
 * stops a broken test from hanging; nothing here measures time. */
#include <event2/event.h>

#include "mbox_fixture.h"
#include "test.h"

struct hit {
	int n;
	struct event_base *base;
	struct mbox_watch **victim;	/* removed by this callback */
};

static void
on_change(void *ctx)
{
	struct hit *h = ctx;

	h->n++;
	if (h->victim != NULL)
		mbox_watch_remove(h->victim);
	event_base_loopbreak(h->base);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop until a callback breaks it (or the watchdog). */
static void
run(struct event_base *base)
{
	struct timeval tv = { 20, 0 };
	struct event *dog = evtimer_new(base, on_watchdog, base);

	evtimer_add(dog, &tv);
	event_base_dispatch(base);
	event_free(dog);
}

static void
test_watch(void)
{
	struct event_base *base = event_base_new();
	struct mbox_service *svc = mbox_service_create(base);
	struct mbox_watch *w1, *w2, *w3;
	struct hit h1 = { 0, base, NULL }, h2 = { 0, base, NULL },
	    h3 = { 0, base, NULL };
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_error err;
	char path[4096];

	test_begin("mbox_watch: delivery and renames wake registrations");
	fx_maildir(path, sizeof(path));
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	w1 = mbox_watch_add(svc, mbox_view_dir(v), on_change, &h1);
	w2 = mbox_watch_add(svc, mbox_view_dir(v), on_change, &h2);
	test_assert(w1 != NULL && w2 != NULL);
	fx_put(path, "new", "2000.M1P1.h", "Subject: x\n\nx\n");
	test_assert(h1.n == 0 && h2.n == 0);	/* never inline */
	run(base);
	/* One loop pass activates both (same batch of events). */
	event_base_loop(base, EVLOOP_NONBLOCK);
	test_assert(h1.n >= 1 && h2.n >= 1);
	/* w2 goes; w1 still hears a rename in cur/. */
	mbox_watch_remove(&w2);
	test_assert(w2 == NULL);
	h1.n = h2.n = 0;
	fx_put(path, "cur", "2001.M1P1.h:2,", "x");
	test_assert(fx_rename(path, "cur/2001.M1P1.h:2,",
	    "cur/2001.M1P1.h:2,S") == 0);
	run(base);
	event_base_loop(base, EVLOOP_NONBLOCK);
	test_assert(h1.n >= 1 && h2.n == 0);
	/* A callback that removes another registration, pending or not. */
	w3 = mbox_watch_add(svc, mbox_view_dir(v), on_change, &h3);
	h1.victim = &w3;
	h1.n = 0;
	fx_put(path, "new", "2002.M1P1.h", "x");
	run(base);
	event_base_loop(base, EVLOOP_NONBLOCK);
	test_assert(h1.n >= 1 && w3 == NULL);
	mbox_watch_remove(&w1);
	mbox_view_close(&v);
	mbox_user_close(&u);
	mbox_service_free(&svc);
	event_base_free(base);
	fx_done(path);
	test_end();
}

static void
test_no_loop(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct hit h = { 0 };

	test_begin("mbox_watch: a service without a loop watches nothing");
	test_assert(mbox_watch_add(svc, "/tmp", on_change, &h) == NULL);
	mbox_service_free(&svc);
	test_end();
}

int
main(void)
{
	test_watch();
	test_no_loop();
	return test_exit();
}
