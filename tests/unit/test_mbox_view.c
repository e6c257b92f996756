/* Unit tests for changing messages through views (src/mailbox/
 * mbox_view.c, mbox_append.c, mbox_flags.c): STORE of flags and
 * keywords (file names as Dovecot writes them, dovecot-keywords, the
 * 26-keyword limit, UNCHANGEDSINCE), EXPUNGE and UID EXPUNGE with
 * vanished UIDs, APPEND (flags, INTERNALDATE, UIDs in order, all or
 * nothing), COPY and MOVE with COPYUID's sets, the Maildir++ quota
 * refusing APPEND and COPY, and the cache blobs. */
#include <pthread.h>

#include "mbox_fixture.h"
#include "mailbox/uidlist.h"
#include "test.h"

static struct mbox_service *svc;

static struct mbox_user *
setup(char *path, size_t size, uint64_t quota)
{
	struct mbox_user *u;
	struct mbox_error err;

	fx_maildir(path, size);
	fx_put(path, "cur", "1000.M1P1.host:2,", "Subject: one\r\n\r\nbody\r\n");
	fx_put(path, "cur", "1001.M1P1.host:2,S", "Subject: two\r\n\r\nbody\r\n");
	fx_put(path, "cur", "1002.M1P1.host:2,P", "Subject: three\r\n\r\nx\r\n");
	if (mbox_user_open(svc, path, quota, &u, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.text);
		exit(2);
	}
	return u;
}

static void
test_store(void)
{
	const char *kw[] = { "$Forwarded", "Work" }, *many[1];
	struct mbox_store_result res;
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v;
	const struct mbox_msg *m;
	const char *const *names;
	char path[4096], name[64], file[512];
	uint32_t seqs[] = { 3, 1, 1 };
	size_t nk;
	uint64_t ms;

	test_begin("mbox_view: store flags and keywords into file names");
	u = setup(path, sizeof(path), 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	ms = mbox_view_highestmodseq(v);
	test_assert(mbox_view_store(v, seqs, 3, MBOX_STORE_ADD, MBOX_F_SEEN |
	    MBOX_F_DELETED | MBOX_F_RECENT, kw, 2, 0, &res, &err) == 0);
	test_assert(res.nchanged == 2 && res.changed[0] == 1 &&
	    res.changed[1] == 3 && res.nmodified == 0);
	mbox_store_result_free(&res);
	m = mbox_view_msg(v, 1);
	test_assert(m->flags == (MBOX_F_SEEN | MBOX_F_DELETED) &&
	    m->keywords == 3 && m->modseq == ms + 1);
	test_assert(fx_exists(path, "cur/1000.M1P1.host:2,STab"));
	/* Unknown letters (P) stay. */
	test_assert(fx_exists(path, "cur/1002.M1P1.host:2,PSTab"));
	test_assert(fx_find(path, ".", "dovecot-keywords", file, sizeof(file)));
	names = mbox_view_keywords(v, &nk);
	test_assert(nk == 2 && strcmp(names[0], "$Forwarded") == 0 &&
	    strcmp(names[1], "Work") == 0);
	/* Nothing to change: no new modseq. */
	seqs[0] = 2;
	test_assert(mbox_view_store(v, seqs, 1, MBOX_STORE_ADD, MBOX_F_SEEN,
	    NULL, 0, 0, &res, &err) == 0 && res.nchanged == 0);
	mbox_store_result_free(&res);
	/* UNCHANGEDSINCE older than message 1's modseq: MODIFIED. */
	seqs[0] = 1;
	seqs[1] = 2;
	test_assert(mbox_view_store(v, seqs, 2, MBOX_STORE_SET, MBOX_F_FLAGGED,
	    NULL, 0, ms, &res, &err) == 0);
	test_assert(res.nmodified == 1 && res.modified[0] == 1 &&
	    res.nchanged == 1 && res.changed[0] == 2);
	mbox_store_result_free(&res);
	test_assert(fx_exists(path, "cur/1001.M1P1.host:2,F"));
	/* Remove a keyword nobody has: fine; a bad one: refused. */
	many[0] = "Never";
	test_assert(mbox_view_store(v, seqs, 1, MBOX_STORE_REMOVE, 0, many, 1,
	    0, &res, &err) == 0);
	mbox_store_result_free(&res);
	many[0] = "bad(kw";
	test_assert(mbox_view_store(v, seqs, 1, MBOX_STORE_ADD, 0, many, 1, 0,
	    &res, &err) == -1 && err.code == MBOX_ERR_BADNAME);
	mbox_store_result_free(&res);
	/* The 27th keyword in a folder is refused. */
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		many[0] = name;
		if (mbox_view_store(v, seqs, 1, MBOX_STORE_ADD, 0, many, 1, 0,
		    &res, &err) < 0)
			break;
		mbox_store_result_free(&res);
	}
	test_assert(err.code == MBOX_ERR_LIMIT);
	mbox_store_result_free(&res);
	mbox_view_close(&v);
	test_assert(mbox_view_open(u, "INBOX", true, &v, &err) == 0);
	test_assert(mbox_view_store(v, seqs, 1, MBOX_STORE_ADD, MBOX_F_SEEN,
	    NULL, 0, 0, &res, &err) == -1 && err.code == MBOX_ERR_NOTALLOWED);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_expunge(void)
{
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v, *w;
	char path[4096];
	uint32_t seqs[] = { 1, 2, 3 }, uid1 = 1, *van;
	size_t nvan;
	bool complete;
	uint64_t ms;

	test_begin("mbox_view: expunge, UID EXPUNGE, vanished");
	u = setup(path, sizeof(path), 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(mbox_view_open(u, "INBOX", false, &w, &err) == 0);
	ms = mbox_view_highestmodseq(v);
	test_assert(mbox_view_store(v, seqs, 3, MBOX_STORE_ADD, MBOX_F_DELETED,
	    NULL, 0, 0, &res, &err) == 0);
	mbox_store_result_free(&res);
	/* UID EXPUNGE 1 takes only message 1. */
	test_assert(mbox_view_expunge(v, &uid1, 1, &ch, &err) == 0);
	test_assert(ch.nexpunged == 1 && ch.expunged[0].seq == 1 &&
	    mbox_view_count(v) == 2);
	mbox_changes_free(&ch);
	test_assert(fx_count(path, "cur") == 2);
	test_assert(mbox_view_expunge(v, NULL, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 2 && ch.expunged[0].seq == 2 &&
	    ch.expunged[1].seq == 1 && mbox_view_count(v) == 0);
	mbox_changes_free(&ch);
	test_assert(fx_count(path, "cur") == 0);
	/* The other view: descending seqs valid one after the other. */
	test_assert(mbox_view_sync(w, 0, &ch, &err) == 0);
	test_assert(ch.nexpunged == 3 && ch.expunged[0].seq == 3 &&
	    ch.expunged[1].seq == 2 && ch.expunged[2].seq == 1);
	mbox_changes_free(&ch);
	test_assert(mbox_view_vanished(w, ms, &van, &nvan, &complete,
	    &err) == 0);
	test_assert(nvan == 3 && van[0] == 1 && van[2] == 3 && complete);
	free(van);
	test_assert(mbox_view_vanished(w, 1, &van, &nvan, &complete,
	    &err) == 0 && !complete);
	free(van);
	mbox_view_close(&v);
	mbox_view_close(&w);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_append(void)
{
	struct mbox_append a[3];
	const char *kw[] = { "Important" };
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;
	const struct mbox_msg *m;
	char path[4096], buf[64], fname[512];
	uint32_t val, uids[3];
	ssize_t n;
	int fd;

	test_begin("mbox_view: append durable, flags, date, UIDs in order");
	u = setup(path, sizeof(path), 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 3; i++) {
		a[i].fd = -1;
		a[i].data = i == 1 ? "Subject: b\n\nLF only\n" :
		    "Subject: a\r\n\r\nhi\r\n";
		a[i].len = strlen(a[i].data);
	}
	a[0].flags = MBOX_F_SEEN | MBOX_F_DRAFT;
	a[0].keywords = kw;
	a[0].nkeywords = 1;
	a[1].internaldate = 1000000000;
	test_assert(mbox_append(u, "INBOX", a, 3, &val, uids, &err) == 0);
	test_assert(val == mbox_view_uidvalidity(v));
	test_assert(uids[0] == 4 && uids[1] == 5 && uids[2] == 6);
	test_assert(fx_count(path, "tmp") == 0 && fx_count(path, "new") == 0);
	test_assert(mbox_view_sync(v, 0, &ch, &err) == 0);
	test_assert(ch.old_count == 3 && ch.new_count == 6);
	mbox_changes_free(&ch);
	m = mbox_view_msg(v, 4);
	/* appended: \Recent for the first read-write view to sync */
	test_assert(m->uid == 4 && m->flags == (MBOX_F_SEEN | MBOX_F_DRAFT |
	    MBOX_F_RECENT) && m->keywords == 1);
	test_assert(fx_find_part(path, "cur", ":2,DSa", fname, sizeof(fname)) &&
	    strstr(fname, ",W=18") != NULL);
	m = mbox_view_msg(v, 5);
	test_assert(m->internaldate == 1000000000 && m->size == 23);
	/* taken by v: another read-write view does not see them recent */
	{
		struct mbox_view *w;
		struct mbox_status st;

		test_assert(mbox_view_open(u, "INBOX", false, &w, &err) == 0);
		test_assert(mbox_view_count(w) == 6 &&
		    !(mbox_view_msg(w, 4)->flags & MBOX_F_RECENT) &&
		    !(mbox_view_msg(w, 6)->flags & MBOX_F_RECENT));
		test_assert(mbox_folder_status(u, "INBOX", &st, &err) == 0 &&
		    st.recent == 0);
		mbox_view_close(&w);
	}
	fd = mbox_view_open_msg(v, 5, &err);
	test_assert(fd >= 0);
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	test_assert(n == 20 && memcmp(buf, "Subject: b\n", 11) == 0);
	if (fd >= 0)
		close(fd);
	test_assert(mbox_append(u, "Nope", a, 1, &val, uids, &err) == -1 &&
	    err.code == MBOX_ERR_NOTFOUND);
	test_assert(mbox_append(u, "../x", a, 1, &val, uids, &err) == -1 &&
	    err.code == MBOX_ERR_BADNAME);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_copy_move(void)
{
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v, *t;
	const struct mbox_msg *m;
	char path[4096], file[512], a[4700];
	const char *kw[] = { "Work" };
	uint32_t seqs[] = { 3, 1 }, val, src[2], dst[2], one = 2;
	size_t count;
	struct stat st1, st2;

	test_begin("mbox_view: copy (hard links) and move with COPYUID");
	u = setup(path, sizeof(path), 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(mbox_view_store(v, &seqs[1], 1, MBOX_STORE_ADD,
	    MBOX_F_FLAGGED, kw, 1, 0, &res, &err) == 0);
	mbox_store_result_free(&res);
	test_assert(mbox_view_copy(v, seqs, 2, "Trash", false, &val, src, dst,
	    &count, NULL, &err) == 0);
	test_assert(count == 2 && src[0] == 1 && src[1] == 3 &&
	    dst[0] == 1 && dst[1] == 2 && val != 0);
	test_assert(mbox_view_count(v) == 3 && fx_count(path, "cur") == 3);
	test_assert(mbox_view_open(u, "Trash", false, &t, &err) == 0);
	test_assert(mbox_view_count(t) == 2 && mbox_view_uidvalidity(t) == val);
	m = mbox_view_msg(t, 1);
	test_assert(m->flags == (MBOX_F_FLAGGED | MBOX_F_RECENT) &&
	    m->keywords == 1);
	/* Same inode: a hard link. */
	snprintf(a, sizeof(a), "%s/.Trash", path);
	test_assert(fx_find_part(a, "cur", ":2,Fa", file, sizeof(file)));
	snprintf(a, sizeof(a), "%s/.Trash/%s", path, file);
	test_assert(stat(a, &st1) == 0);
	test_assert(fx_find(path, "cur", "1000.", file, sizeof(file)));
	snprintf(a, sizeof(a), "%s/%s", path, file);
	test_assert(stat(a, &st2) == 0 && st1.st_ino == st2.st_ino);
	/* MOVE message 2 to Trash: gone here, reported as expunged. */
	test_assert(mbox_view_copy(v, &one, 1, "Trash", true, &val, src, dst,
	    &count, &ch, &err) == 0);
	test_assert(count == 1 && src[0] == 2 && dst[0] == 3);
	test_assert(ch.nexpunged == 1 && ch.expunged[0].seq == 2 &&
	    mbox_view_count(v) == 2);
	mbox_changes_free(&ch);
	test_assert(fx_count(path, "cur") == 2 && fx_count(path,
	    ".Trash/cur") == 3);
	test_assert(mbox_view_sync(t, 0, &ch, &err) == 0 && ch.new_count == 3);
	mbox_changes_free(&ch);
	/* Copy into the same folder: new UIDs. */
	test_assert(mbox_view_copy(t, &one, 1, "Trash", false, &val, src, dst,
	    &count, NULL, &err) == 0 && count == 1 && dst[0] == 4);
	test_assert(mbox_view_copy(v, &one, 1, "Nope", false, &val, src, dst,
	    &count, NULL, &err) == -1 && err.code == MBOX_ERR_NOTFOUND);
	mbox_view_close(&t);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_quota(void)
{
	struct mbox_append a;
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v;
	uint64_t bytes, count, limit;
	char path[4096], big[200];
	uint32_t val, uid, seq = 1, src, dst;
	size_t n;

	test_begin("mbox_view: quota refuses append and copy distinctly");
	u = setup(path, sizeof(path), 150);
	test_assert(mbox_user_quota(u, &bytes, &count, &limit) == 0);
	test_assert(bytes == 65 && count == 3 && limit == 150);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&a, 0, sizeof(a));
	a.fd = -1;
	a.data = big;
	a.len = 100;
	test_assert(mbox_append(u, "INBOX", &a, 1, &val, &uid, &err) == -1 &&
	    err.code == MBOX_ERR_OVERQUOTA);
	test_assert(fx_count(path, "cur") == 3 && fx_count(path, "tmp") == 0);
	a.len = 80;
	test_assert(mbox_append(u, "INBOX", &a, 1, &val, &uid, &err) == 0);
	test_assert(mbox_user_quota(u, &bytes, &count, &limit) == 0 &&
	    bytes == 145 && count == 4);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(mbox_view_copy(v, &seq, 1, "Trash", false, &val, &src,
	    &dst, &n, NULL, &err) == -1 && err.code == MBOX_ERR_OVERQUOTA);
	test_assert(fx_count(path, ".Trash/cur") == 0);
	/* A move costs no quota. */
	test_assert(mbox_view_copy(v, &seq, 1, "Trash", true, &val, &src,
	    &dst, &n, NULL, &err) == 0 && n == 1);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

/* min_free_space: 99% of the filesystem must stay free, which no test
 * machine's disk has; the save is refused as a full disk and leaves
 * nothing; with no minimum it goes through. */
static void
test_min_free(void)
{
	struct mbox_append a;
	struct mbox_error err;
	struct mbox_user *u;
	char path[4096];
	uint32_t val, uid;

	test_begin("mbox: min_free_space refuses a save as a full disk");
	u = setup(path, sizeof(path), 0);
	memset(&a, 0, sizeof(a));
	a.fd = -1;
	a.data = "Subject: x\r\n\r\nbody\r\n";
	a.len = strlen(a.data);
	mbox_service_set_min_free(svc, 0, 99);
	test_assert(mbox_append(u, "INBOX", &a, 1, &val, &uid, &err) == -1 &&
	    err.code == MBOX_ERR_NOSPACE);
	test_assert(fx_count(path, "cur") == 3 && fx_count(path, "tmp") == 0);
	mbox_service_set_min_free(svc, 0, 0);
	test_assert(mbox_append(u, "INBOX", &a, 1, &val, &uid, &err) == 0);
	test_assert(fx_count(path, "cur") == 4);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_cache(void)
{
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v;
	char path[4096];
	void *data;
	size_t len;
	uint32_t seqs[] = { 1 };
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct mbox_view *t;
	uint32_t val, src, dst;
	size_t n;

	test_begin("mbox_view: cache blobs stored, read, gone with the message");
	u = setup(path, sizeof(path), 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	test_assert(mbox_cache_get(v, 1, 1, &data, &len) == 0 && data == NULL);
	test_assert(mbox_cache_put(v, 1, 1, "(\"env\" \0 bin)", 14) == 0);
	test_assert(mbox_cache_get(v, 1, 1, &data, &len) == 0 && len == 14 &&
	    memcmp(data, "(\"env\" \0 bin)", 14) == 0);
	free(data);
	test_assert(mbox_cache_get(v, 1, 2, &data, &len) == 0 && data == NULL);
	/* A copy brings its blobs along. */
	test_assert(mbox_view_copy(v, seqs, 1, "Trash", false, &val, &src,
	    &dst, &n, NULL, &err) == 0 && n == 1);
	test_assert(mbox_view_open(u, "Trash", true, &t, &err) == 0);
	test_assert(mbox_cache_get(t, dst, 1, &data, &len) == 0 && len == 14);
	free(data);
	mbox_view_close(&t);
	test_assert(mbox_view_store(v, seqs, 1, MBOX_STORE_ADD, MBOX_F_DELETED,
	    NULL, 0, 0, &res, &err) == 0);
	mbox_store_result_free(&res);
	test_assert(mbox_view_expunge(v, NULL, 0, &ch, &err) == 0);
	mbox_changes_free(&ch);
	test_assert(mbox_cache_get(v, 1, 1, &data, &len) == 0 && data == NULL);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

static void
test_keyword_gaps(void)
{
	struct mbox_error err;
	struct mbox_user *u;
	struct mbox_view *v;
	const char *const *names;
	char path[4096];
	size_t nk;

	test_begin("mbox_view: keywords from a dovecot-keywords with gaps");
	fx_maildir(path, sizeof(path));
	fx_put(path, ".", "dovecot-keywords", "0 Alpha\n2 Gamma\n");
	fx_put(path, "cur", "1000.M1P1.host:2,Sabc", "x\n");
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	names = mbox_view_keywords(v, &nk);
	test_assert(nk == 3 && names[1] == NULL &&
	    strcmp(names[2], "Gamma") == 0);
	/* 'b' names no keyword: not shown. */
	test_assert(mbox_view_msg(v, 1)->keywords == 5);
	mbox_view_close(&v);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

#define THREADS 4
#define PER_THREAD 25

struct worker {
	struct mbox_user *u;
	uint32_t uids[PER_THREAD];
	int failures;
};

/* Each thread: its own view, appends, flags what it appended, syncs. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct mbox_store_result res;
	struct mbox_changes ch;
	struct mbox_append a;
	struct mbox_error err;
	struct mbox_view *v;
	uint32_t val, seq;

	if (mbox_view_open(w->u, "INBOX", false, &v, &err) < 0) {
		w->failures++;
		return NULL;
	}
	memset(&a, 0, sizeof(a));
	a.fd = -1;
	a.data = "Subject: t\r\n\r\nx\r\n";
	a.len = strlen(a.data);
	for (int i = 0; i < PER_THREAD; i++) {
		if (mbox_append(w->u, "INBOX", &a, 1, &val, &w->uids[i],
		    &err) < 0 || mbox_view_sync(v, 0, &ch, &err) < 0) {
			w->failures++;
			continue;
		}
		mbox_changes_free(&ch);
		seq = mbox_view_seq(v, w->uids[i]);
		if (seq == 0 || mbox_view_store(v, &seq, 1, MBOX_STORE_ADD,
		    MBOX_F_SEEN, NULL, 0, 0, &res, &err) < 0 ||
		    res.nchanged != 1)
			w->failures++;
		mbox_store_result_free(&res);
	}
	mbox_view_close(&v);
	return NULL;
}

static void
test_threads(void)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct mbox_status st;
	struct mbox_error err;
	struct mbox_user *u;
	char path[4096];
	int failures = 0;

	test_begin("mbox_view: threads on one user: unique UIDs, no losses");
	u = setup(path, sizeof(path), 0);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].u = u;
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	test_assert(failures == 0);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		for (int j = i + 1; j < THREADS * PER_THREAD; j++)
			test_assert(w[i / PER_THREAD].uids[i % PER_THREAD] !=
			    w[j / PER_THREAD].uids[j % PER_THREAD]);
	test_assert(mbox_folder_status(u, "INBOX", &st, &err) == 0);
	test_assert(st.messages == 3 + THREADS * PER_THREAD);
	test_assert(st.unseen == 2);
	mbox_user_close(&u);
	fx_done(path);
	test_end();
}

int
main(void)
{
	svc = mbox_service_create(NULL);
	test_store();
	test_expunge();
	test_append();
	test_copy_move();
	test_quota();
	test_min_free();
	test_cache();
	test_keyword_gaps();
	test_threads();
	mbox_service_free(&svc);
	return test_exit();
}
