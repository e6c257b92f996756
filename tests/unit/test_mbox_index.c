/* Unit tests for the per-user index and folder sync
 * (src/mailbox/mbox_index.c, mbox_view.c): building the index from a
 * Maildir, rebuilding it after it is deleted or damaged without any UID
 * changing, MODSEQ never going back, and a view learning of changes made
 * outside it: a file delivered into new/, a file removed (POP3 DELE), a
 * flag changed by renaming the file by hand, a second view's store. */
#include <sqlite3.h>

#include "mbox_fixture.h"
#include "mailbox/maildir_change.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"
#include "test.h"

static struct mbox_service *svc;

static void
setup(char *path, size_t size, struct mbox_user **u)
{
	struct mbox_error err;

	fx_maildir(path, size);
	fx_put(path, "new", "1000.M1P1.host", "Subject: one\r\n\r\nbody\r\n");
	fx_put(path, "new", "1001.M1P1.host", "Subject: two\n\nbody\n");
	fx_put(path, "cur", "1002.M1P1.host:2,FS", "Subject: three\n\nx\n");
	if (mbox_user_open(svc, path, 0, u, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.text);
		exit(2);
	}
}

static void
test_build(void)
{
	struct mbox_user *u;
	struct mbox_view *v, *ro;
	struct mbox_error err;
	const struct mbox_msg *m;
	char path[4096];

	test_begin("mbox_index: build from the Maildir, recent, sizes");
	setup(path, sizeof(path), &u);
	test_assert(mbox_view_open(u, "INBOX", true, &ro, &err) == 0);
	test_assert(mbox_view_count(ro) == 3);
	m = mbox_view_msg(ro, 1);
	/* new/ is \Recent in a read-only view too (not taken from others) */
	test_assert(m != NULL && m->uid == 1 && m->flags == MBOX_F_RECENT &&
	    m->size == 22);
	test_assert(fx_exists(path, "new/1000.M1P1.host"));
	m = mbox_view_msg(ro, 2);
	test_assert(m != NULL && m->uid == 2 && m->size == 22);
	m = mbox_view_msg(ro, 3);
	test_assert(m != NULL && m->uid == 3 &&
	    m->flags == (MBOX_F_FLAGGED | MBOX_F_SEEN));
	test_assert(mbox_view_uidnext(ro) == 4 && mbox_view_uidvalidity(ro) != 0);
	test_assert(mbox_view_highestmodseq(ro) > 1000000);
	test_assert(fx_count(path, "new") == 2);	/* read-only: no moves */
	test_assert(fx_exists(path, "ferry-index.sqlite"));
	/* A read-write view takes new/ into cur/ and gets \Recent. */
	test_assert(mbox_view_open(u, "inbox", false, &v, &err) == 0);
	test_assert(fx_count(path, "new") == 0 && fx_count(path, "cur") == 3);
	m = mbox_view_msg(v, 1);
	test_assert(m != NULL && (m->flags & MBOX_F_RECENT));
	test_assert(fx_exists(path, "cur/1000.M1P1.host:2,"));
	m = mbox_view_msg(v, 3);
	test_assert(m != NULL && !(m->flags & MBOX_F_RECENT));
	mbox_view_close(&v);
	mbox_view_close(&ro);
	test_assert(v == NULL && ro == NULL);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

/* Opens INBOX read-only and copies uid/flags/modseq of each message. */
static size_t
snapshot(struct mbox_user *u, uint32_t *uids, uint32_t *flags,
    uint64_t *hms, uint32_t *validity)
{
	struct mbox_view *v;
	struct mbox_error err;
	size_t n;

	if (mbox_view_open(u, "INBOX", true, &v, &err) < 0)
		return 0;
	n = mbox_view_count(v);
	for (uint32_t s = 1; s <= n; s++) {
		uids[s - 1] = mbox_view_msg(v, s)->uid;
		flags[s - 1] = mbox_view_msg(v, s)->flags;
	}
	*hms = mbox_view_highestmodseq(v);
	*validity = mbox_view_uidvalidity(v);
	mbox_view_close(&v);
	return n;
}

static void
damage(const char *path, bool remove)
{
	char file[4200];
	int fd;

	snprintf(file, sizeof(file), "%s/ferry-index.sqlite", path);
	if (remove) {
		unlink(file);
		return;
	}
	fd = open(file, O_WRONLY);
	if (fd >= 0) {
		/* Over the header and the first pages. */
		for (int i = 0; i < 64; i++)
			if (write(fd, "garbage!garbage!", 16) < 0)
				break;
		close(fd);
	}
	snprintf(file, sizeof(file), "%s/ferry-index.sqlite-wal", path);
	unlink(file);
}

/* INTERNALDATE is read by the sync that first sees a message (read
 * later, a message another session expunged meanwhile had no date to
 * show), written to the index, and a new view (of a new user state, so
 * from the index) has it without a stat. */
static void
test_dates(void)
{
	struct timespec ts[2] = { { 1200000000, 0 }, { 1200000000, 0 } };
	struct mbox_service *other;
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_error err;
	uint32_t seq = 2;
	char path[4096], file[8192];

	test_begin("mbox_index: INTERNALDATE read by the first sync, then kept");
	setup(path, sizeof(path), &u);
	snprintf(file, sizeof(file), "%s/new/1001.M1P1.host", path);
	test_assert(utimensat(AT_FDCWD, file, ts, 0) == 0);
	test_assert(mbox_view_open(u, "INBOX", true, &v, &err) == 0);
	test_assert(mbox_view_msg(v, 2)->internaldate == 1200000000);
	test_assert(mbox_view_msg(v, 1)->internaldate > 1200000000);
	mbox_view_dates(v, &seq, 1);	/* known: nothing to do */
	test_assert(mbox_view_msg(v, 2)->internaldate == 1200000000);
	mbox_view_close(&v);
	mbox_user_close(&u);
	/* The file's time changes; the index keeps what was read. */
	ts[0].tv_sec = ts[1].tv_sec = 1300000000;
	test_assert(utimensat(AT_FDCWD, file, ts, 0) == 0);
	other = mbox_service_create(NULL);	/* no lingering state */
	test_assert(mbox_user_open(other, path, 0, &u, &err) == 0);
	test_assert(mbox_view_open(u, "INBOX", true, &v, &err) == 0);
	test_assert(mbox_view_msg(v, 2)->internaldate == 1200000000);
	mbox_view_close(&v);
	mbox_user_close(&u);
	mbox_service_free(&other);
	fx_done(path);
	test_end();
}

static void
test_rebuild(void)
{
	uint32_t uids[8], flags[8], uids2[8], flags2[8], val, val2;
	uint64_t hms, hms2;
	struct mbox_user *u;
	char path[4096];
	size_t n, n2;

	test_begin("mbox_index: deleted or damaged index rebuilt, same UIDs");
	setup(path, sizeof(path), &u);
	n = snapshot(u, uids, flags, &hms, &val);
	test_assert(n == 3);
	for (int round = 0; round < 2; round++) {
		mbox_user_close(&u);
		damage(path, round == 0);
		fx_put(path, "new", round == 0 ? "1003.M1P1.host" :
		    "1004.M1P1.host", "Subject: four\n\nx\n");
		test_assert(mbox_user_open(svc, path, 0, &u, NULL) == 0);
		n2 = snapshot(u, uids2, flags2, &hms2, &val2);
		test_assert_idx(n2 == n + 1, round);
		test_assert_idx(val2 == val, round);
		test_assert_idx(hms2 > hms, round);
		for (size_t i = 0; i < n && i < n2; i++)
			test_assert_idx(uids2[i] == uids[i] &&
			    flags2[i] == flags[i], round);
		test_assert_idx(n2 == n + 1 && uids2[n] == uids[n - 1] + 1,
		    round);
		memcpy(uids, uids2, sizeof(uids));
		memcpy(flags, flags2, sizeof(flags));
		n = n2;
		hms = hms2;
	}
	/* Damaged while open: the next sync rebuilds it. */
	damage(path, false);
	n2 = snapshot(u, uids2, flags2, &hms2, &val2);
	test_assert(n2 == n && val2 == val && uids2[n - 1] == uids[n - 1]);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_outside_changes(void)
{
	struct mbox_user *u;
	struct mbox_view *v, *w;
	struct mbox_changes ch;
	struct mbox_store_result res;
	struct mbox_error err;
	const struct mbox_msg *m;
	char path[4096], file[512], file2[4700];
	uint64_t ms;
	uint32_t seq;

	test_begin("mbox_index: sync sees delivery, removal, renamed flags");
	setup(path, sizeof(path), &u);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(mbox_view_open(u, "INBOX", false, &w, &err) == 0);
	ms = mbox_view_highestmodseq(v);
	/* Delivery drops a file into new/. */
	fx_put(path, "new", "1010.M1P1.host", "Subject: new\n\nx\n");
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 0 && ch.old_count == 3 &&
	    ch.new_count == 4 && ch.nchanged == 0);
	m = mbox_view_msg(v, 4);
	test_assert(m != NULL && m->uid == 4 && (m->flags & MBOX_F_RECENT) &&
	    m->modseq > ms);
	mbox_changes_free(&ch);
	/* POP3 DELE (or rm) removes message 2. */
	test_assert(fx_find(path, "cur", "1001.", file, sizeof(file)));
	snprintf(file2, sizeof(file2), "%s/%s", path, file);
	test_assert(unlink(file2) == 0);
	/* Someone renames message 3's file to drop \Flagged, add \Answered. */
	test_assert(fx_find(path, "cur", "1002.", file, sizeof(file)));
	test_assert(fx_rename(path, file, "cur/1002.M1P1.host:2,RS") == 0);
	/* Inside a FETCH: expunges kept, sequence numbers stay. */
	test_assert(mbox_view_sync(v, MBOX_SYNC_KEEP_EXPUNGED, &ch, &err) == 0);
	test_assert(ch.nexpunged == 0 && mbox_view_count(v) == 4);
	m = mbox_view_msg(v, 2);
	test_assert(m != NULL && (m->flags & MBOX_F_EXPUNGED));
	test_assert(ch.nchanged == 1 && ch.changed[0] == 3);
	m = mbox_view_msg(v, 3);
	test_assert(m != NULL && (m->flags & MBOX_F_STORED) ==
	    (MBOX_F_ANSWERED | MBOX_F_SEEN));
	mbox_changes_free(&ch);
	test_assert(mbox_view_open_msg(v, 2, &err) == -1 &&
	    err.code == MBOX_ERR_EXPUNGED);
	/* Then the expunge is reported with the seq the view had. */
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 1 && ch.expunged[0].seq == 2 &&
	    ch.expunged[0].uid == 2 && mbox_view_count(v) == 3);
	mbox_changes_free(&ch);
	/* The other view learns all of it at once. */
	test_assert(mbox_view_sync(w, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 1 && ch.expunged[0].seq == 2);
	test_assert(ch.new_count == 3 && ch.old_count == 2);
	test_assert(ch.nchanged == 1 && ch.changed[0] == 2);
	mbox_changes_free(&ch);
	/* A store in w shows in v as a change, with a higher modseq. */
	ms = mbox_view_highestmodseq(v);
	seq = 1;
	test_assert(mbox_view_store(w, &seq, 1, MBOX_STORE_ADD, MBOX_F_FLAGGED,
	    NULL, 0, 0, &res, &err) == 0 && res.nchanged == 1);
	mbox_store_result_free(&res);
	test_assert(mbox_view_sync(v, MBOX_SYNC_QUICK, &ch, &err) == 0);
	test_assert(ch.nchanged == 1 && ch.changed[0] == 1);
	m = mbox_view_msg(v, 1);
	test_assert(m != NULL && (m->flags & MBOX_F_FLAGGED) && m->modseq > ms);
	test_assert(mbox_view_highestmodseq(v) == m->modseq);
	mbox_changes_free(&ch);
	/* Nothing new: nothing reported. */
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 0 && ch.nchanged == 0 &&
	    ch.new_count == ch.old_count);
	mbox_changes_free(&ch);
	mbox_view_close(&v);
	mbox_view_close(&w);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_uidlist_lost(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;
	struct mbox_error err;
	char path[4096], file[4200];
	uint32_t val;

	test_begin("mbox_index: a lost UID list is a new UIDVALIDITY");
	setup(path, sizeof(path), &u);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	val = mbox_view_uidvalidity(v);
	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, path);
	unlink(file);
	/* In the same second too (the lock file remembers the last). */
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.uidvalidity_changed);
	test_assert(mbox_view_uidvalidity(v) != val);
	test_assert(mbox_view_count(v) == 3);
	mbox_changes_free(&ch);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_hostile_rows(void)
{
	uint32_t uids[8], flags[8], uids2[8], flags2[8], val, val2;
	uint64_t hms, hms2;
	struct mbox_user *u;
	char path[4096], file[4200];
	sqlite3 *db;
	size_t n, n2;

	test_begin("mbox_index: a row pointing outside the folder is damage");
	setup(path, sizeof(path), &u);
	n = snapshot(u, uids, flags, &hms, &val);
	mbox_user_close(&u);
	snprintf(file, sizeof(file), "%s/ferry-index.sqlite", path);
	test_assert(sqlite3_open(file, &db) == SQLITE_OK);
	test_assert(sqlite3_exec(db, "UPDATE msg SET file = 'cur/../../../"
	    "etc/passwd' WHERE uid = 2", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	test_assert(mbox_user_open(svc, path, 0, &u, NULL) == 0);
	n2 = snapshot(u, uids2, flags2, &hms2, &val2);
	test_assert(n2 == n && val2 == val && hms2 > hms);
	for (size_t i = 0; i < n && i < n2; i++)
		test_assert_idx(uids2[i] == uids[i], i);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_trusted(void)
{
	uint32_t uids[8], flags[8], val, val2;
	struct timespec keep[2];
	struct mbox_user *u;
	char path[4096], file[4200];
	struct stat st;
	uint64_t hms;
	size_t n;

	test_begin("mbox_index: a settled index is used without a scan");
	setup(path, sizeof(path), &u);
	test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
	sleep(2);	/* the directories' times settle (MBOX_MTIME_SETTLE) */
	test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
	mbox_user_close(&u);
	/* The UID list replaced behind our back, times put back: a scan
	 * would find a new UIDVALIDITY; the index, trusted, does not. */
	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, path);
	test_assert(stat(file, &st) == 0);
	keep[0] = st.st_atim;
	keep[1] = st.st_mtim;
	fx_put(path, ".", UIDLIST_FILE, "garbage");
	test_assert(utimensat(AT_FDCWD, file, keep, 0) == 0);
	test_assert(mbox_user_open(svc, path, 0, &u, NULL) == 0);
	n = snapshot(u, uids, flags, &hms, &val2);
	test_assert(n == 3 && val2 == val);
	/* Any real change to the folder is seen again. */
	fx_put(path, "new", "1099.M1P1.host", "x");
	n = snapshot(u, uids, flags, &hms, &val2);
	test_assert(n == 4 && val2 != val);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

/* Sets the times of new/, cur/ and the UID list, which a scan compares
 * to decide whether it can be skipped. */
static void
set_times(const char *path, const struct timespec *t)
{
	static const char *const sub[] = { "new", "cur", UIDLIST_FILE };
	struct timespec two[2];
	char file[4200];

	two[0] = *t;
	two[1] = *t;
	for (size_t i = 0; i < 3; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, sub[i]);
		test_assert(utimensat(AT_FDCWD, file, two, 0) == 0);
	}
}

/* Whether new/ kept the time set_times gave it to the nanosecond (file
 * systems with whole-second times do not). */
static bool
fine_times(const char *path, const struct timespec *t)
{
	char dir[4200];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/new", path);
	return stat(dir, &st) == 0 && st.st_mtim.tv_sec == t->tv_sec &&
	    st.st_mtim.tv_nsec == t->tv_nsec;
}

/* A file put into new/ whose change the directory's time does not show
 * (as when it lands in the same clock tick as the last change). */
static void
put_hidden(const char *path, const char *name)
{
	char dir[4200];
	struct timespec two[2];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/new", path);
	test_assert(stat(dir, &st) == 0);
	two[0] = st.st_atim;
	two[1] = st.st_mtim;
	fx_put(path, "new", name, "Subject: hidden\n\nx\n");
	test_assert(utimensat(AT_FDCWD, dir, two, 0) == 0);
}

/* With the folder's times set to t before a scan, a file put into new/
 * after that scan without moving the times is found by the next look:
 * the scan was not trusted. */
static void
check_hidden_found(const struct timespec *t)
{
	uint32_t uids[8], flags[8], val;
	struct mbox_user *u;
	char path[4096];
	uint64_t hms;

	setup(path, sizeof(path), &u);
	test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
	set_times(path, t);
	test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
	put_hidden(path, "1100.M1P1.host");
	test_assert(snapshot(u, uids, flags, &hms, &val) == 4);
	mbox_user_close(&u);
	fx_done(path);
}

static void
test_settle(void)
{
	uint32_t uids[8], flags[8], val;
	struct mbox_user *u;
	struct timespec now, t;
	char path[4096];
	uint64_t hms, scans;
	int64_t ns;

	/* Times finer than a millisecond, 200 ms old: the scan is trusted
	 * and the next look at the folder needs no scan (whole-second
	 * times kept it rescanning for up to two seconds). */
	test_begin("mbox_index: a scan 50 ms after the last change is trusted");
	setup(path, sizeof(path), &u);
	test_assert(snapshot(u, uids, flags, &hms, &val) == 3);	/* the UID list */
	clock_gettime(CLOCK_REALTIME, &now);
	ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - 200000000;
	t.tv_sec = (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000) | 1;  /* not a whole millisecond */
	set_times(path, &t);
	if (!fine_times(path, &t))
		fprintf(stderr, "%s: skipped: the file system under %s keeps "
		    "no sub-millisecond times\n", test_cur_name, path);
	else {
		test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
		scans = u->scans;
		test_assert(snapshot(u, uids, flags, &hms, &val) == 3);
		test_assert(u->scans == scans);
	}
	mbox_user_close(&u);
	fx_done(path);
	test_end();

	/* A change just made (here: times in the future): the scan is not
	 * trusted, so a change the times do not show is still found. */
	test_begin("mbox_index: a scan right after a change is not trusted");
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	t.tv_nsec = 123457;
	check_hidden_found(&t);
	test_end();

	/* Whole-second times (a file system that keeps no finer): a scan
	 * in the same second as the change is not trusted, even 100 ms or
	 * more after it, since the change's real time is unknown. */
	test_begin("mbox_index: whole-second times keep the one-second rule");
	do {		/* into the second's middle: the check is in it */
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_nsec < 100000000 || now.tv_nsec > 700000000)
			usleep(50000);
	} while (now.tv_nsec < 100000000 || now.tv_nsec > 700000000);
	t.tv_sec = now.tv_sec;
	t.tv_nsec = 0;
	check_hidden_found(&t);
	test_end();
}

static void
test_pop3_after_imap(void)
{
	struct maildir_change c[2];
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;
	struct mbox_error err;
	char path[4096];
	size_t expunged;

	test_begin("mbox_index: POP3's commit follows messages IMAP moved");
	setup(path, sizeof(path), &u);
	/* POP3's snapshot saw new/ names; IMAP then takes them to cur/. */
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(fx_count(path, "new") == 0);
	memset(c, 0, sizeof(c));
	c[0].name = "new/1000.M1P1.host";
	c[0].expunge = true;
	c[1].name = "new/1001.M1P1.host";
	c[1].seen = true;
	test_assert(maildir_change_apply(path, c, 2, &expunged) == 0);
	test_assert(expunged == 1);
	test_assert(!fx_exists(path, "cur/1000.M1P1.host:2,"));
	test_assert(fx_exists(path, "cur/1001.M1P1.host:2,S"));
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 1 && ch.expunged[0].uid == 1);
	test_assert(ch.nchanged == 1 && ch.changed[0] == 1);
	test_assert((mbox_view_msg(v, 1)->flags & MBOX_F_STORED) == MBOX_F_SEEN);
	mbox_changes_free(&ch);
	/* Gone everywhere: done, not failed. */
	test_assert(maildir_change_apply(path, c, 1, &expunged) == 0);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

int
main(void)
{
	svc = mbox_service_create(NULL);
	test_build();
	test_dates();
	test_rebuild();
	test_outside_changes();
	test_uidlist_lost();
	test_pop3_after_imap();
	test_trusted();
	test_settle();
	test_hostile_rows();
	mbox_service_free(&svc);
	return test_exit();
}
