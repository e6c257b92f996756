/* Unit tests for Maildir++ delivery: path mapping (lower-case, no
 * escaping mail/), delivery into new/ with unique S= names, maildirsize
 * accounting, quota refusal, recalculation and quota changes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "mailbox/maildir.h"
#include "test.h"

static char test_dir[64];

static void
test_path(void)
{
	static const char *bad[] = {
		"noat", "@example.test", "user@", "../x@example.test",
		"a/b@example.test", "a@../etc", ".hidden@example.test",
		"a@.example", "a\n@example.test", "a@exa/mple",
	};
	char path[PATH_MAX];
	size_t i;

	test_begin("maildir path");
	test_assert(maildir_path("/Var/State", "Alice.Smith@Example.TEST", path,
	    sizeof(path)) == 0);
	test_assert_streq(path, "/Var/State/mail/example.test/alice.smith");
	test_assert(maildir_path("/s", "\"a@b\"@example.test", path,
	    sizeof(path)) == 0);
	test_assert_streq(path, "/s/mail/example.test/\"a@b\"");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		test_assert_idx(maildir_path("/s", bad[i], path, sizeof(path)) < 0
		    && errno == EINVAL, i);
	}
	test_assert(maildir_path("/s", "a@b", path, 8) < 0);
	test_end();
}

/* A source message in a temporary file; returns an fd at offset 7 (the
 * delivery must read from 0 regardless). */
static int
test_source(const char *text)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/src.XXXXXX", test_dir);
	fd = mkstemp(path);
	if (fd == -1)
		return -1;
	unlink(path);
	if (fsio_write_all(fd, text, strlen(text)) < 0)
		return -1;
	lseek(fd, 7, SEEK_SET);
	return fd;
}

static int
test_count(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	if (d != NULL)
		closedir(d);
	return d == NULL ? -1 : n;
}

static void
test_read(const char *path, struct fbuf *b)
{
	fbuf_reset(b);
	test_assert(fsio_read_file(path, b, 0) == 0);
}

/* How many files in new/ of mdir hold exactly want (len octets); each
 * such file's name must contain name_has (the S= size) when it is not
 * NULL. */
static int
test_count_same(const char *mdir, const char *want, size_t len,
    const char *name_has)
{
	char sub[PATH_MAX], file[PATH_MAX];
	struct dirent *de;
	struct fbuf b;
	DIR *d;
	int n = 0;

	fbuf_init(&b, 0);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	d = opendir(sub);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		test_assert(fsio_pathf(file, sizeof(file), "%s/%s", sub,
		    de->d_name) == 0);
		test_read(file, &b);
		if (b.len != len || memcmp(b.data, want, len) != 0)
			continue;
		if (name_has != NULL)
			test_assert(strstr(de->d_name, name_has) != NULL);
		n++;
	}
	if (d != NULL)
		closedir(d);
	fbuf_release(&b);
	return n;
}

static void
test_deliver(void)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	static const char prefix[] = "Return-Path: <a@b>\r\nDelivered-To: c@d\r\n";
	char mdir[256], file[PATH_MAX], sub[PATH_MAX], name[256];
	char name2[256], want[64];
	uint64_t bytes, count;
	size_t size = strlen(prefix) + strlen(msg);
	struct fbuf b;
	int fd = test_source(msg);

	test_begin("maildir deliver and maildirsize");
	fbuf_init(&b, 0);
	test_assert(maildir_path(test_dir, "C@D", mdir, sizeof(mdir)) == 0);
	test_assert(maildir_quota_usage(mdir, &bytes, &count) == 0);
	test_assert(bytes == 0 && count == 0);
	test_assert(maildir_deliver(mdir, prefix, strlen(prefix), fd, 0, name,
	    sizeof(name)) == 0);
	snprintf(want, sizeof(want), ",S=%zu", size);
	test_assert(strstr(name, want) != NULL && strchr(name, '/') == NULL);
	test_assert(strstr(name, ".M") != NULL && strstr(name, "Q") != NULL);
	snprintf(file, sizeof(file), "%s/new/%s", mdir, name);
	test_read(file, &b);
	test_assert(b.len == size);
	test_assert(strncmp(b.data, prefix, strlen(prefix)) == 0);
	test_assert(strcmp(b.data + strlen(prefix), msg) == 0);
	snprintf(sub, sizeof(sub), "%s/tmp", mdir);
	test_assert(test_count(sub) == 0);
	snprintf(sub, sizeof(sub), "%s/cur", mdir);
	test_assert(test_count(sub) == 0);

	/* no prefix at all: NULL and 0 */
	test_assert(maildir_deliver(mdir, NULL, 0, fd, 0, name2,
	    sizeof(name2)) == 0);
	test_assert(strcmp(name, name2) != 0);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	test_assert(test_count(sub) == 2);
	/* No quota, no maildirsize; usage comes from the folders. */
	snprintf(file, sizeof(file), "%s/maildirsize", mdir);
	test_assert(access(file, F_OK) < 0 && errno == ENOENT);
	test_assert(maildir_quota_usage(mdir, &bytes, &count) == 0);
	test_assert(bytes == size + strlen(msg) && count == 2);
	fbuf_release(&b);
	close(fd);
	test_end();
}

static void
test_quota(void)
{
	static const char msg[] = "Subject: q\r\n\r\n0123456789\r\n";
	char mdir[256], file[PATH_MAX], sub[PATH_MAX], want[80];
	uint64_t bytes, count, size = strlen(msg);
	struct fbuf b;
	int fd = test_source(msg);

	test_begin("maildir quota refusal and recalculation");
	fbuf_init(&b, 0);
	test_assert(maildir_path(test_dir, "q@d", mdir, sizeof(mdir)) == 0);
	snprintf(file, sizeof(file), "%s/maildirsize", mdir);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	/* Exactly two fit. */
	test_assert(maildir_deliver(mdir, "", 0, fd, 2 * size, NULL, 0) == 0);
	test_assert(maildir_deliver(mdir, "", 0, fd, 2 * size, NULL, 0) == 0);
	errno = 0;
	test_assert(maildir_deliver(mdir, "", 0, fd, 2 * size, NULL, 0) < 0 &&
	    errno == EDQUOT);
	test_assert(test_count(sub) == 2);
	test_read(file, &b);
	snprintf(want, sizeof(want), "%lluS\n%llu 1\n%llu 1\n",
	    (unsigned long long)(2 * size), (unsigned long long)size,
	    (unsigned long long)size);
	test_assert_streq(b.data, want);

	/* maildirsize lost: usage comes from the folders, and the next
	 * delivery writes a fresh file with the new quota. */
	test_assert(unlink(file) == 0);
	test_assert(maildir_quota_usage(mdir, &bytes, &count) == 0);
	test_assert(bytes == 2 * size && count == 2);
	test_assert(maildir_deliver(mdir, "", 0, fd, 10 * size, NULL, 0) == 0);
	test_read(file, &b);
	snprintf(want, sizeof(want), "%lluS\n%llu 2\n%llu 1\n",
	    (unsigned long long)(10 * size), (unsigned long long)(2 * size),
	    (unsigned long long)size);
	test_assert_streq(b.data, want);

	/* A quota change rewrites the header, keeping the total. */
	test_assert(maildir_deliver(mdir, "", 0, fd, 20 * size, NULL, 0) == 0);
	test_read(file, &b);
	snprintf(want, sizeof(want), "%lluS\n%llu 3\n%llu 1\n",
	    (unsigned long long)(20 * size), (unsigned long long)(3 * size),
	    (unsigned long long)size);
	test_assert_streq(b.data, want);

	/* The quota removed: the file goes rather than going stale, and a
	 * quota set again starts from the folders. */
	test_assert(maildir_deliver(mdir, "", 0, fd, 0, NULL, 0) == 0);
	test_assert(access(file, F_OK) < 0 && errno == ENOENT);
	test_assert(maildir_deliver(mdir, "", 0, fd, 100 * size, NULL, 0) == 0);
	test_read(file, &b);
	snprintf(want, sizeof(want), "%lluS\n%llu 5\n%llu 1\n",
	    (unsigned long long)(100 * size), (unsigned long long)(5 * size),
	    (unsigned long long)size);
	test_assert_streq(b.data, want);

	/* Garbage in maildirsize is recalculated, messages in folders
	 * (and a ".Sub" folder) counted. */
	test_assert(fsio_replace_file(file, "junk", 4, 0600) == 0);
	snprintf(sub, sizeof(sub), "%s/.Sub", mdir);
	test_assert(maildir_create(sub) == 0);
	snprintf(sub, sizeof(sub), "%s/.Sub/cur/1.M1P1Q1.h,S=100:2,S", mdir);
	test_assert(fsio_replace_file(sub, "x", 1, 0600) == 0);
	test_assert(maildir_quota_usage(mdir, &bytes, &count) == 0);
	test_assert(bytes == 6 * size + 100 && count == 7);
	errno = 0;
	test_assert(maildir_deliver(mdir, "", 0, fd, 6 * size + 100, NULL,
	    0) < 0 && errno == EDQUOT);
	fbuf_release(&b);
	close(fd);
	test_end();
}

/* A Maildir that lost tmp/ or new/ (cur/ still there) is repaired by
 * the next delivery instead of failing it for ever. */
static void
test_repair(void)
{
	static const char msg[] = "Subject: r\r\n\r\nbody\r\n";
	char mdir[256], sub[PATH_MAX];
	int fd = test_source(msg);

	test_begin("maildir delivery recreates a missing tmp/ or new/");
	test_assert(maildir_path(test_dir, "r@d", mdir, sizeof(mdir)) == 0);
	test_assert(maildir_deliver(mdir, "", 0, fd, 0, NULL, 0) == 0);
	snprintf(sub, sizeof(sub), "%s/tmp", mdir);
	test_assert(rmdir(sub) == 0);
	test_assert(maildir_deliver(mdir, "", 0, fd, 0, NULL, 0) == 0);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	test_assert(test_count(sub) == 2);
	/* new/ emptied and removed: the messages are elsewhere now */
	{
		char f[PATH_MAX + 300];
		DIR *d = opendir(sub);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				snprintf(f, sizeof(f), "%s/%s", sub, de->d_name);
				unlink(f);
			}
		if (d != NULL)
			closedir(d);
	}
	test_assert(rmdir(sub) == 0);
	test_assert(maildir_deliver(mdir, "", 0, fd, 0, NULL, 0) == 0);
	test_assert(test_count(sub) == 1);
	close(fd);
	test_end();
}

static void
test_unique(void)
{
	char mdir[256], sub[PATH_MAX];
	int fd = test_source("x\r\n"), i, ok = 1;

	test_begin("maildir unique names");
	test_assert(maildir_path(test_dir, "u@d", mdir, sizeof(mdir)) == 0);
	for (i = 0; i < 200; i++)
		if (maildir_deliver(mdir, "", 0, fd, 0, NULL, 0) < 0)
			ok = 0;
	test_assert(ok);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	test_assert(test_count(sub) == 200);
	close(fd);
	test_end();
}

/* The maildirsize text: header, signed lines summed, anything else (and
 * sums that overflow, the fuzz finding in
 * tests/fuzz/corpus/fuzz_maildirsize/regress-sum-overflow) refused so
 * that the usage is recalculated. */
static void
test_size_parse(void)
{
	uint64_t q, b, c;

	test_begin("maildirsize parse");
	test_assert(maildir_size_parse("1048576S\n4096 2\n-96 -1\n", &q, &b,
	    &c) == 0);
	test_assert(q == 1048576 && b == 4000 && c == 1);
	test_assert(maildir_size_parse("0S,100C\n", &q, &b, &c) == 0);
	test_assert(q == 0 && b == 0 && c == 0);
	test_assert(maildir_size_parse("10S\n-5 -5\n", &q, &b, &c) == 0);
	test_assert(b == 0 && c == 0);
	test_assert(maildir_size_parse("10\n1 1\n", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("10S", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("10S\n1 1", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("10S\n1 x\n", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("10S\n1 1 1\n", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("50S\n1 1\n"
	    "9223372036854775807 1\n", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("50S\n1 -9223372036854775807\n"
	    "1 -9\n", &q, &b, &c) < 0);
	test_assert(maildir_size_parse("50S\n1 1\n2 2\n3 "
	    "77777777777777777777777777777777777777773\n", &q, &b, &c) < 0);
	test_end();
}

/* The queue's delivery under a fixed name: made once, whatever the
 * retries; a crash's tmp/ leftover does not block it; a copy a client
 * moved to cur/ and marked seen still counts; bad keys are refused. */
static void
test_once(void)
{
	static const char msg[] = "Subject: once\r\n\r\nbody\r\n";
	char mdir[256], sub[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd = test_source(msg);

	test_begin("maildir delivery once under a fixed name");
	test_assert(maildir_path(test_dir, "once@d", mdir, sizeof(mdir)) == 0);
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "ABCR0", 1000) == 0);
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "ABCR0", 1000) == 0);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	test_assert(test_count(sub) == 1);
	/* another recipient index is another delivery */
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "ABCR1", 1000) == 0);
	test_assert(test_count(sub) == 2);
	/* read and moved to cur/ with \Seen: still not made again */
	d = opendir(sub);
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strstr(de->d_name, "QABCR0.") != NULL) {
			test_assert(fsio_pathf(from, sizeof(from), "%s/%s",
			    sub, de->d_name) == 0);
			test_assert(fsio_pathf(to, sizeof(to), "%s/cur/%s:2,S",
			    mdir, de->d_name) == 0);
			test_assert(rename(from, to) == 0);
		}
	if (d != NULL)
		closedir(d);
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "ABCR0", 1000) == 0);
	test_assert(test_count(sub) == 1);
	snprintf(sub, sizeof(sub), "%s/tmp", mdir);
	test_assert(test_count(sub) == 0);
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "../x", 1000) < 0 && errno == EINVAL);
	test_assert(maildir_deliver_mail_once(mdir, NULL, "a@b", "once@d", fd,
	    0, "a:b", 1000) < 0 && errno == EINVAL);
	close(fd);
	test_end();
}

/* maildir_deliver_mail_ins: the headers smtpd adds at the end of DATA
 * put in at an offset as the copy is written, with the delivery headers
 * in front; sizes and quota count them; an offset past the file is
 * refused. */
static void
test_insert(void)
{
	static const char msg[] = "Received: by x\r\nSubject: ins\r\n\r\n"
	    "body\r\n";
	static const char ins[] = "Authentication-Results: x; dkim=pass\r\n";
	static const char want[] = "Return-Path: <a@b>\r\nDelivered-To: "
	    "ins@d\r\nReceived: by x\r\nAuthentication-Results: x; "
	    "dkim=pass\r\nSubject: ins\r\n\r\nbody\r\n";
	size_t at = strlen("Received: by x\r\n");
	char mdir[256], sub[PATH_MAX], size[32];
	int fd = test_source(msg);
	uint64_t quota;

	test_begin("maildir delivery with headers put in");
	test_assert(maildir_path(test_dir, "ins@d", mdir, sizeof(mdir)) == 0);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    at, ins, strlen(ins), 0) == 0);
	/* at 0 and at the end are fine too; nothing put in: the plain copy */
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    0, ins, strlen(ins), 0) == 0);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    strlen(msg), ins, strlen(ins), 0) == 0);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    at, NULL, 0, 0) == 0);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    strlen(msg) + 1, ins, strlen(ins), 0) < 0 && errno == EINVAL);
	/* The quota counts what is put in: exactly full fits, one less
	 * does not. */
	quota = 5 * strlen(want) - strlen(ins);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    at, ins, strlen(ins), quota - 1) < 0 && errno == EDQUOT);
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "ins@d", fd,
	    at, ins, strlen(ins), quota) == 0);
	snprintf(sub, sizeof(sub), "%s/new", mdir);
	test_assert(test_count(sub) == 5);
	snprintf(size, sizeof(size), ",S=%zu", strlen(want));
	test_assert(test_count_same(mdir, want, strlen(want), size) == 2);
	close(fd);
	test_end();
}

/* Copies that take more than one read: a message past the copy buffer
 * (64 KB), a prefix larger than half of it (written on its own), and
 * headers put in past the first buffer; each file must be exactly the
 * prefix, the message and what was put in, and its S= that size. */
static void
test_copy_large(void)
{
	static const char ins[] = "X-Put-In: yes\r\n";
	char mdir[256], file[PATH_MAX], name[256], want_s[32];
	struct fbuf msg, prefix, want, b;
	size_t at;
	int fd;

	test_begin("maildir copies of large messages");
	fbuf_init(&msg, 0);
	fbuf_init(&prefix, 0);
	fbuf_init(&want, 0);
	fbuf_init(&b, 0);
	for (unsigned i = 0; msg.len < 150000; i++)
		fbuf_addf(&msg, "line %u of the body, %s\r\n", i,
		    i % 7 == 0 ? "longer than the others" : "short");
	fbuf_adds(&prefix, "Return-Path: <a@b>\r\n");
	while (prefix.len < 40000)
		fbuf_adds(&prefix, "X-Long-Prefix: abcdefghijklmnopqrstuv\r\n");
	fd = test_source(msg.data);
	test_assert(fd >= 0);
	test_assert(maildir_path(test_dir, "large@d", mdir, sizeof(mdir)) == 0);
	for (int round = 0; round < 3; round++) {
		const char *pre = round == 1 ? "" : round == 0 ? prefix.data :
		    "Return-Path: <a@b>\r\n";

		test_assert_idx(maildir_deliver(mdir, pre, strlen(pre), fd, 0,
		    name, sizeof(name)) == 0, round);
		fbuf_reset(&want);
		fbuf_adds(&want, pre);
		fbuf_add(&want, msg.data, msg.len);
		snprintf(file, sizeof(file), "%s/new/%s", mdir, name);
		test_read(file, &b);
		test_assert_idx(b.len == want.len && memcmp(b.data, want.data,
		    want.len) == 0, round);
		snprintf(want_s, sizeof(want_s), ",S=%zu", want.len);
		test_assert_idx(strstr(name, want_s) != NULL, round);
	}
	/* put in after 100,000 octets: the second part starts mid-buffer */
	at = 100000;
	test_assert(maildir_deliver_mail_ins(mdir, NULL, "a@b", "large@d", fd,
	    at, ins, strlen(ins), 0) == 0);
	fbuf_reset(&want);
	fbuf_adds(&want, "Return-Path: <a@b>\r\nDelivered-To: large@d\r\n");
	fbuf_add(&want, msg.data, at);
	fbuf_adds(&want, ins);
	fbuf_add(&want, msg.data + at, msg.len - at);
	test_assert(test_count_same(mdir, want.data, want.len, NULL) == 1);
	/* Insertions that do not fit what is left of the buffer: one
	 * larger than half of it (flushed, then written on its own) and
	 * one smaller (flushed, then gathered), each a new file. */
	for (int round = 0; round < 2; round++) {
		size_t n = round == 0 ? 40000 : 20000;
		char *big = malloc(n + 1);

		test_assert(big != NULL);
		for (size_t i = 0; i < n; i++)
			big[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
		big[n] = '\0';
		at = round == 0 ? 50 : 60000;
		test_assert_idx(maildir_deliver_mail_ins(mdir, NULL, "a@b",
		    round == 0 ? "big0@d" : "big1@d", fd, at, big, n, 0) == 0,
		    round);
		fbuf_reset(&want);
		fbuf_addf(&want, "Return-Path: <a@b>\r\nDelivered-To: "
		    "big%d@d\r\n", round);
		fbuf_add(&want, msg.data, at);
		fbuf_add(&want, big, n);
		fbuf_add(&want, msg.data + at, msg.len - at);
		test_assert_idx(test_count_same(mdir, want.data, want.len,
		    NULL) == 1, round);
		free(big);
	}
	close(fd);
	fbuf_release(&msg);
	fbuf_release(&prefix);
	fbuf_release(&want);
	fbuf_release(&b);
	test_end();
}

int
main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-maildir-XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return 1;
	test_path();
	test_deliver();
	test_once();
	test_insert();
	test_copy_large();
	test_quota();
	test_repair();
	test_unique();
	test_size_parse();
	fsio_remove_tree(test_dir);
	return test_exit();
}
