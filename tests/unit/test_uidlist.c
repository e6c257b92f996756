/* Unit tests for the Maildir UID index (src/mailbox/uidlist.c) and the
 * flag names of maildir_change.c: parsing hostile index files, sizes with
 * CRLF line ends, stable UIDs across syncs, moves new/ -> cur/ and
 * expunges, in a temporary Maildir. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "mailbox/maildir.h"
#include "mailbox/maildir_change.h"
#include "mailbox/uidlist.h"
#include "test.h"

static const char *const bad_files[] = {
	"",
	"ferry-uidlist 2 1 1\n",
	"ferry-uidlist 1 0 5\n",
	"ferry-uidlist 1 5 0\n",
	"ferry-uidlist 1 5\n",
	"ferry-uidlist 1 5 3",
	"ferry-uidlist 1 5 3\n1 10 a\n1 10 b\n",	/* uid repeats */
	"ferry-uidlist 1 5 3\n2 10 a\n1 10 b\n",	/* uids go down */
	"ferry-uidlist 1 5 3\n1 10 a:2,S\n",		/* info part */
	"ferry-uidlist 1 5 3\n1 10 ../x\n",
	"ferry-uidlist 1 5 3\n1 -10 a\n",
	"ferry-uidlist 1 5 3\n1 10 \n",
	"ferry-uidlist 1 5 3\n1 10 a b\n",
	"ferry-uidlist 1 5 3\n1 10 .hidden\n",
	"ferry-uidlist 1 99999999999 3\n",
	"ferry-uidlist 1 5 3\n1  10 a\n",
};

/* Files an append or a crash may leave: parsed, with what they mean. */
static void
test_parse_repaired(void)
{
	struct uidlist ul;
	/* the header's next UID lost, a line torn without its newline */
	const char *lost = "ferry-uidlist 1 5 0000000003\n1 10 a\n4 7 b\n";
	const char *torn = "ferry-uidlist 1 5 3\n1 10 a\n2 10 b,S=1";

	test_begin("uidlist: an append's crash leftovers");
	test_assert(uidlist_parse(lost, strlen(lost), &ul) == 0);
	test_assert(ul.n == 2 && ul.next_uid == 5 && ul.uidvalidity == 5);
	uidlist_free(&ul);
	test_assert(uidlist_parse(torn, strlen(torn), &ul) == 0);
	test_assert(ul.n == 1 && ul.next_uid == 3);
	uidlist_free(&ul);
	test_end();
}

static void
test_parse(void)
{
	struct uidlist ul;
	const char *good = "ferry-uidlist 1 77 9\n1 100 a.b,S=9\n8 5 c\n";

	test_begin("uidlist: parse good and hostile files");
	test_assert(uidlist_parse(good, strlen(good), &ul) == 0);
	test_assert(ul.uidvalidity == 77 && ul.next_uid == 9 && ul.n == 2);
	test_assert(ul.n == 2 && ul.v[0].uid == 1 && ul.v[0].vsize == 100);
	test_assert(ul.n == 2 && strcmp(ul.v[1].name, "c") == 0);
	uidlist_free(&ul);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(*bad_files); i++) {
		test_assert_idx(uidlist_parse(bad_files[i], strlen(bad_files[i]),
		    &ul) == -1, i);
		test_assert_idx(ul.n == 0 && ul.v == NULL, i);
	}
	test_assert(uidlist_basename_len("abc:2,S") == 3);
	test_assert(uidlist_basename_len("abc") == 3);
	test_end();
}

static void
write_file(const char *dir, const char *sub, const char *name,
    const char *data)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror("write");
		close(fd);
	}
}

static const struct uidlist_msg *
find_uid(const struct uidlist *ul, uint32_t uid)
{
	for (size_t i = 0; i < ul->n; i++)
		if (ul->v[i].uid == uid)
			return &ul->v[i];
	return NULL;
}

static void
test_vsize(const char *dir)
{
	char path[4096];
	uint64_t v = 0;
	int fd;

	test_begin("uidlist: CRLF size of a file");
	write_file(dir, "tmp", "v", "a\nb\r\n\n\rc\n");
	snprintf(path, sizeof(path), "%s/tmp/v", dir);
	fd = open(path, O_RDONLY);
	test_assert(fd >= 0 && uidlist_vsize_fd(fd, &v) == 0);
	test_assert(v == 9 + 3);
	close(fd);
	unlink(path);
	test_end();
}

static void
test_sync(const char *dir)
{
	struct maildir_change ch[2];
	struct uidlist a, b, c;
	char path[4096];
	size_t expunged;

	test_begin("uidlist: stable UIDs across syncs, moves and expunges");
	test_assert(maildir_create(dir) == 0);
	write_file(dir, "new", "1000.M1P1Q1.h,S=6", "x\r\ny\r\n");
	write_file(dir, "new", "1001.M1P1Q2.h,S=4", "a\nb\n");
	write_file(dir, "new", "1002.M1P1Q3.h,W=99", "z\n");
	write_file(dir, "new", ".hidden", "no");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 3);
	test_assert(a.n == 3 && a.v[0].uid == 1 && a.v[1].uid == 2 &&
	    a.v[2].uid == 3);
	test_assert(a.n == 3 && a.v[0].vsize == 6 && a.v[1].vsize == 6 &&
	    a.v[2].vsize == 99);
	test_assert(a.n == 3 && strcmp(a.v[0].name,
	    "new/1000.M1P1Q1.h,S=6") == 0);

	/* Read message 1 (seen) and delete message 2, as QUIT would. */
	ch[0] = (struct maildir_change){ a.v[0].name, false, true };
	ch[1] = (struct maildir_change){ a.v[1].name, true, false };
	test_assert(maildir_change_apply(dir, ch, 2, &expunged) == 0);
	test_assert(expunged == 1);
	snprintf(path, sizeof(path), "%s/cur/1000.M1P1Q1.h,S=6:2,S", dir);
	test_assert(access(path, F_OK) == 0);
	write_file(dir, "new", "0999.M1P1Q9.h", "late but old name\n");

	test_assert(uidlist_sync(dir, &b) == 0);
	test_assert(b.uidvalidity == a.uidvalidity);
	test_assert(b.n == 3);
	test_assert(find_uid(&b, 1) != NULL && strcmp(find_uid(&b, 1)->name,
	    "cur/1000.M1P1Q1.h,S=6:2,S") == 0);
	test_assert(find_uid(&b, 2) == NULL);
	test_assert(find_uid(&b, 3) != NULL);
	test_assert(find_uid(&b, 4) != NULL && find_uid(&b, 4)->vsize == 19);
	test_assert(b.next_uid == 5);

	/* A corrupt index starts a new UIDVALIDITY. */
	snprintf(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	test_assert(fsio_replace_file(path, "garbage\n", 8, 0600) == 0);
	sleep(1);
	test_assert(uidlist_sync(dir, &c) == 0);
	test_assert(c.n == 3 && c.uidvalidity != a.uidvalidity);
	uidlist_free(&a);
	uidlist_free(&b);
	uidlist_free(&c);
	test_end();
}

/* Two deliveries in one second: the one with fewer microsecond digits
 * came first and gets the lower UID, although its name sorts after. */
static void
test_sync_order(void)
{
	char dir[] = "/tmp/ferry-test-uidlist-order-XXXXXX";
	struct uidlist a;

	test_begin("uidlist: UIDs in delivery order within one second");
	test_assert(mkdtemp(dir) != NULL);
	test_assert(maildir_create(dir) == 0);
	write_file(dir, "new", "1000.M123456P1Q2.h", "second\n");
	write_file(dir, "new", "1000.M98765P1Q1.h", "first\n");
	write_file(dir, "new", "999.M999999P1Q1.h", "older\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 3);
	test_assert(a.n == 3 && strcmp(a.v[0].name,
	    "new/999.M999999P1Q1.h") == 0);
	test_assert(a.n == 3 && strcmp(a.v[1].name,
	    "new/1000.M98765P1Q1.h") == 0);
	test_assert(a.n == 3 && strcmp(a.v[2].name,
	    "new/1000.M123456P1Q2.h") == 0);
	uidlist_free(&a);
	fsio_remove_tree(dir);
	test_end();
}

static void
test_cur_names(void)
{
	char d[256];

	test_begin("maildir_change: cur/ names and flags");
	test_assert(maildir_change_cur_name("new/x", false, d, sizeof(d)) == 0);
	test_assert_streq(d, "cur/x:2,");
	test_assert(maildir_change_cur_name("new/x", true, d, sizeof(d)) == 0);
	test_assert_streq(d, "cur/x:2,S");
	test_assert(maildir_change_cur_name("cur/x:2,FT", true, d,
	    sizeof(d)) == 0);
	test_assert_streq(d, "cur/x:2,FST");
	test_assert(maildir_change_cur_name("cur/x:2,S", true, d,
	    sizeof(d)) == 0);
	test_assert_streq(d, "cur/x:2,S");
	test_assert(maildir_change_cur_name("cur/x:1,odd", true, d,
	    sizeof(d)) == 0);
	test_assert_streq(d, "cur/x:1,odd");
	test_assert(maildir_change_cur_name("new/xxxxxxxx", true, d, 8) == -1);
	test_end();
}


static void
read_text(const char *dir, char *buf, size_t size)
{
	char path[4096];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	if ((fd = open(path, O_RDONLY)) < 0)
		return;
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void
add_text(const char *dir, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

/* uidlist_append: numbers in place when the caller's next UID is the
 * file's, refuses (0) otherwise and on files it cannot extend. */
static void
test_append(void)
{
	char dir[] = "/tmp/ferry-test-uidlist-append-XXXXXX";
	const char *names[2] = { "cur/1000.M1P1Q1.h,S=2:2,S",
		"cur/1000.M2P1Q1.h,S=2:2," };
	uint64_t vs[2] = { 3, 4 };
	uint32_t uids[2] = { 0, 0 };
	char text[4096];
	struct uidlist a;

	test_begin("uidlist: appending lines without a scan");
	test_assert(mkdtemp(dir) != NULL);
	test_assert(maildir_create(dir) == 0);
	test_assert(uidlist_create(dir, 77) == 0);
	read_text(dir, text, sizeof(text));
	test_assert_streq(text, "ferry-uidlist 1 77 0000000001\n");
	write_file(dir, "cur", "1000.M1P1Q1.h,S=2:2,S", "x\n");
	write_file(dir, "cur", "1000.M2P1Q1.h,S=2:2,", "y\n");
	test_assert(uidlist_append(dir, 78, 1, names, vs, 2, uids) == 0);
	test_assert(uidlist_append(dir, 77, 2, names, vs, 2, uids) == 0);
	test_assert(uidlist_append(dir, 77, 1, names, vs, 2, uids) == 1);
	test_assert(uids[0] == 1 && uids[1] == 2);
	read_text(dir, text, sizeof(text));
	test_assert_streq(text, "ferry-uidlist 1 77 0000000003\n"
	    "1 3 1000.M1P1Q1.h,S=2\n2 4 1000.M2P1Q1.h,S=2\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 2 && a.next_uid == 3 && a.v[1].uid == 2 &&
	    a.v[1].vsize == 4);
	uidlist_free(&a);

	/* A torn last line: no append until a rewrite drops it. */
	add_text(dir, "3 9 1000.M9");
	test_assert(uidlist_append(dir, 77, 3, names, vs, 1, uids) == 0);
	write_file(dir, "new", "1001.M1P1Q1.h", "z\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 3 && a.next_uid == 4 && a.v[2].uid == 3);
	uidlist_free(&a);
	read_text(dir, text, sizeof(text));
	test_assert(strstr(text, "1000.M9") == NULL);

	/* The header's update lost: the last line says what is taken. */
	add_text(dir, "9 5 1002.M1P1Q1.h\n");
	test_assert(uidlist_append(dir, 77, 4, names, vs, 1, uids) == 0);
	test_assert(uidlist_append(dir, 77, 10, names + 1, vs, 1, uids) == 1);
	test_assert(uids[0] == 10);

	/* An unpadded header (an older writer): appended after a rewrite. */
	snprintf(text, sizeof(text), "%s/" UIDLIST_FILE, dir);
	test_assert(fsio_replace_file(text, "ferry-uidlist 1 77 12\n", 22,
	    0600) == 0);
	test_assert(uidlist_append(dir, 77, 12, names, vs, 1, uids) == 0);
	fsio_remove_tree(dir);
	test_end();
}

#define APPEND_PROCS 4
#define APPEND_EACH 40

/* One process's numbering, as the mailbox library does it: a file
 * into cur/ (or new/, as delivery), then uidlist_append against what
 * its last numbering told it, or a scan when that is refused.  Each
 * name and UID it was given goes to out. */
static int
append_child(const char *dir, int id, FILE *out)
{
	uint32_t validity = 0, next = 0, uid;
	char name[512], file[600];
	struct uidlist ul;

	for (int i = 0; i < APPEND_EACH; i++) {
		const char *nm = file;
		uint64_t vs = 2;
		int r = 0;

		maildir_name_new(name, sizeof(name), 2);
		snprintf(file, sizeof(file), "%s/%s:2,", id == 0 ? "new" :
		    "cur", name);
		if (id == 0)
			file[strlen(file) - 3] = '\0';	/* no info in new/ */
		write_file(dir, id == 0 ? "new" : "cur", file + 4, "m\n");
		if (id != 0 && validity != 0)
			r = uidlist_append(dir, validity, next, &nm, &vs, 1,
			    &uid);
		if (r < 0)
			return 1;
		if (r == 1) {
			next = uid + 1;
		} else {
			if (uidlist_sync_ordered(dir, &nm, 1, &ul) < 0)
				return 1;
			uid = 0;
			for (size_t k = 0; k < ul.n; k++)
				if (strcmp(ul.v[k].name, file) == 0)
					uid = ul.v[k].uid;
			validity = ul.uidvalidity;
			next = ul.next_uid;
			uidlist_free(&ul);
		}
		fprintf(out, "%" PRIu32 " %s\n", uid, file + 4);
	}
	return 0;
}

/* Several processes append and scan one folder at once: every message
 * has one UID, the one it was told, and no UID is given twice. */
/* A scan that finds only new messages appends their lines to the file
 * (it keeps its inode: no rewrite of every line); one that finds a
 * message gone writes the file again. */
static void
test_sync_appends(void)
{
	char dir[] = "/tmp/ferry-test-uidlist-scan-XXXXXX";
	char text[4096], want[4096], file[4200];
	struct uidlist a;
	struct stat st0, st1;
	uint32_t validity;

	test_begin("uidlist: a scan that finds only new messages appends");
	test_assert(mkdtemp(dir) != NULL);
	test_assert(maildir_create(dir) == 0);
	write_file(dir, "new", "1000.M1P1Q1.h", "a\n");
	write_file(dir, "cur", "1000.M2P1Q1.h:2,S", "bb\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	validity = a.uidvalidity;
	uidlist_free(&a);
	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, dir);
	test_assert(stat(file, &st0) == 0);

	write_file(dir, "new", "1001.M1P1Q1.h,S=9", "ccc\n");
	write_file(dir, "new", "1001.M2P1Q1.h", "d\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 4 && a.next_uid == 5 && a.v[3].uid == 4);
	uidlist_free(&a);
	test_assert(stat(file, &st1) == 0);
	test_assert(st1.st_ino == st0.st_ino && st1.st_size > st0.st_size);
	read_text(dir, text, sizeof(text));
	snprintf(want, sizeof(want), "ferry-uidlist 1 %u 0000000005\n"
	    "1 3 1000.M1P1Q1.h\n2 4 1000.M2P1Q1.h\n3 5 1001.M1P1Q1.h,S=9\n"
	    "4 3 1001.M2P1Q1.h\n", validity);
	test_assert_streq(text, want);

	/* Nothing new: the file is left alone. */
	test_assert(uidlist_sync(dir, &a) == 0);
	uidlist_free(&a);
	read_text(dir, text, sizeof(text));
	test_assert_streq(text, want);

	/* One gone and one new: written again, without the gone one. */
	snprintf(file, sizeof(file), "%s/new/1001.M1P1Q1.h,S=9", dir);
	test_assert(unlink(file) == 0);
	write_file(dir, "new", "1002.M1P1Q1.h", "e\n");
	test_assert(uidlist_sync(dir, &a) == 0);
	test_assert(a.n == 4 && a.next_uid == 6);
	uidlist_free(&a);
	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, dir);
	test_assert(stat(file, &st1) == 0);
	test_assert(st1.st_ino != st0.st_ino);
	read_text(dir, text, sizeof(text));
	snprintf(want, sizeof(want), "ferry-uidlist 1 %u 0000000006\n"
	    "1 3 1000.M1P1Q1.h\n2 4 1000.M2P1Q1.h\n4 3 1001.M2P1Q1.h\n"
	    "5 3 1002.M1P1Q1.h\n", validity);
	test_assert_streq(text, want);
	fsio_remove_tree(dir);
	test_end();
}

static void
test_append_processes(void)
{
	char dir[] = "/tmp/ferry-test-uidlist-procs-XXXXXX";
	char path[4096], line[700], name[600];
	pid_t pids[APPEND_PROCS];
	unsigned told = 0, matched = 0;
	struct uidlist ul;
	int status, ok = 1;
	unsigned uid;
	FILE *f;

	test_begin("uidlist: appends and scans of several processes");
	test_assert(mkdtemp(dir) != NULL);
	test_assert(maildir_create(dir) == 0);
	test_assert(uidlist_create(dir, 5) == 0);
	for (int i = 0; i < APPEND_PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			snprintf(path, sizeof(path), "%s/told.%d", dir, i);
			f = fopen(path, "w");
			_exit(f == NULL || append_child(dir, i, f) != 0 ||
			    fclose(f) != 0);
		}
	}
	for (int i = 0; i < APPEND_PROCS; i++)
		ok &= waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0;
	test_assert(ok);
	test_assert(uidlist_sync(dir, &ul) == 0);
	test_assert(ul.n == APPEND_PROCS * APPEND_EACH);
	for (size_t k = 1; k < ul.n; k++)
		test_assert(ul.v[k].uid > ul.v[k - 1].uid);
	for (int i = 0; i < APPEND_PROCS; i++) {
		snprintf(path, sizeof(path), "%s/told.%d", dir, i);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL &&
		    sscanf(line, "%u %599s", &uid, name) == 2) {
			told++;
			for (size_t k = 0; k < ul.n; k++)
				if (ul.v[k].uid == uid && strcmp(ul.v[k].name +
				    4, name) == 0)
					matched++;
		}
		fclose(f);
	}
	test_assert(told == APPEND_PROCS * APPEND_EACH);
	test_assert(matched == told);
	uidlist_free(&ul);
	fsio_remove_tree(dir);
	test_end();
}

int
main(void)
{
	char dir[] = "/tmp/ferry-test-uidlist-XXXXXX";

	test_parse();
	test_parse_repaired();
	test_cur_names();
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_assert(maildir_create(dir) == 0);
	test_vsize(dir);
	test_sync(dir);
	test_sync_order();
	test_append();
	test_sync_appends();
	test_append_processes();
	fsio_remove_tree(dir);
	return test_exit();
}
