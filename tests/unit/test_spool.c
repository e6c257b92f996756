/* Unit tests for the spool: envelope format round trip (odd bytes, every
 * truncation rejected), corrupt envelopes, commit and read back, atomic
 * update, removal, recovery in spool_scan, the queue wake-up datagram and
 * the backoff helper. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/xalloc.h"
#include "queue/queue.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "test.h"

static char test_dir[64];
static char test_spool[128];

static void
test_env_fill(struct spool_env *env)
{
	static char odd[] = "a b%c\r\nd\te\x7f\xff=x%41";

	memset(env, 0, sizeof(*env));
	memcpy(env->id, "0123456789abcdef", IDS_LEN + 1);
	env->arrival = 1700000000;
	env->sender = xstrdup(odd);
	env->client_addr = xstrdup("192.0.2.7");
	env->client_helo = xstrdup("");
	env->protocol = xstrdup("ESMTPS");
	env->auth_user = NULL;
	env->held = true;
	env->spam = true;
	env->size = 12345;
	env->nrcpts = 3;
	env->rcpts = xcalloc(3, sizeof(*env->rcpts));
	env->rcpts[0].orig = xstrdup("Alice@Example.TEST");
	env->rcpts[0].addr = xstrdup("alice@example.test");
	env->rcpts[0].local = true;
	env->rcpts[1].orig = xstrdup("");
	env->rcpts[1].addr = xstrdup("b=c d@remote.test");
	env->rcpts[1].state = SPOOL_RCPT_FAILED;
	env->rcpts[1].attempts = 7;
	env->rcpts[1].next_attempt = 1700000999;
	env->rcpts[1].last_error = xstrdup(odd);
	env->rcpts[2].orig = xstrdup("x");
	env->rcpts[2].addr = xstrdup("x@y");
	env->rcpts[2].state = SPOOL_RCPT_DONE;
	env->rcpts[2].last_error = xstrdup("");
}

static bool
test_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
test_env_eq(const struct spool_env *a, const struct spool_env *b)
{
	size_t i;

	if (strcmp(a->id, b->id) != 0 || a->arrival != b->arrival ||
	    !test_str_eq(a->sender, b->sender) ||
	    !test_str_eq(a->client_addr, b->client_addr) ||
	    !test_str_eq(a->client_helo, b->client_helo) ||
	    !test_str_eq(a->protocol, b->protocol) ||
	    !test_str_eq(a->auth_user, b->auth_user) || a->held != b->held ||
	    a->spam != b->spam ||
	    a->size != b->size || a->nrcpts != b->nrcpts)
		return false;
	for (i = 0; i < a->nrcpts; i++) {
		const struct spool_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];

		if (!test_str_eq(x->orig, y->orig) ||
		    !test_str_eq(x->addr, y->addr) || x->local != y->local ||
		    x->state != y->state || x->attempts != y->attempts ||
		    x->next_attempt != y->next_attempt ||
		    !test_str_eq(x->last_error, y->last_error))
			return false;
	}
	return true;
}

static void
test_format_roundtrip(void)
{
	struct spool_env env, back;
	struct fbuf out;
	size_t i;
	bool prefixes_fail = true;

	test_begin("spool envelope format round trip");
	test_env_fill(&env);
	fbuf_init(&out, 0);
	spool_env_format(&env, &out);
	/* No raw CR, and only record-ending LFs. */
	test_assert(memchr(out.data, '\r', out.len) == NULL);
	test_assert(strstr(out.data, "S a%20b%25c%0D%0Ad%09e%7F\xff=x%2541\n")
	    != NULL);
	test_assert(out.len > 2 && strcmp(out.data + out.len - 2, "E\n") == 0);
	test_assert(spool_env_parse(out.data, out.len, &back) == 0);
	test_assert(test_env_eq(&env, &back));
	spool_env_free(&back);
	/* Every truncation lacks the E record and must be refused. */
	for (i = 0; i < out.len; i++)
		if (spool_env_parse(out.data, i, &back) == 0) {
			prefixes_fail = false;
			spool_env_free(&back);
		}
	test_assert(prefixes_fail);
	env.held = false;
	env.auth_user = xstrdup("u@example.test");
	fbuf_reset(&out);
	spool_env_format(&env, &out);
	test_assert(spool_env_parse(out.data, out.len, &back) == 0);
	test_assert(test_env_eq(&env, &back));
	spool_env_free(&back);
	spool_env_free(&env);
	fbuf_release(&out);
	test_end();
}

static void
test_parse_corrupt(void)
{
	static const char head[] = "V 1\nI 0123456789abcdef\nT 1\nZ 2\nS \n";
	static const char *bad[] = {
		"",
		"E\n",					/* no header */
		"V 1\nI 0123456789abcdef\nT 1\nZ 2\nE\n",	/* no sender */
		"%sE",					/* no final LF */
		"%sE\nR state=pending\n",		/* data after E */
		"%sQ what\nE\n",			/* unknown record */
		"%sC a%%zz\nE\n",			/* bad escape */
		"%sC a%%00\nE\n",			/* encoded NUL */
		"%sC a\tb\nE\n",			/* raw control byte */
		"%sI 0123456789abcdef\nE\n",		/* duplicate */
		"%sS x\nE\n",				/* duplicate sender */
		"%sR state=pending local=1 orig=a\nE\n",	/* no addr */
		"%sR state=gone local=1 orig=a addr=b\nE\n",
		"%sR state=pending local=2 orig=a addr=b\nE\n",
		"%sR state=pending local=1 orig=a addr=b addr=c\nE\n",
		"%sR state=pending local=1 orig=a addr=b color=red\nE\n",
		"%sR state=pending local=1 attempts=-1 orig=a addr=b\nE\n",
		"%s\nE\n",				/* empty line */
		"%sF frozen\nE\n",
		"%sJ ham\nE\n",			/* J is only "spam" */
		"%sJ spam\nJ spam\nE\n",		/* duplicate */
		"V 2\nI 0123456789abcdef\nT 1\nZ 2\nS \nE\n",
		"V 1\nI 0123456789ABCDEF\nT 1\nZ 2\nS \nE\n",
		"V 1\nI 0123456789abcdef\nT x\nZ 2\nS \nE\n",
	};
	struct spool_env env;
	char text[512];
	size_t i;

	test_begin("spool envelope parse refuses corrupt input");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), bad[i], head);
		errno = 0;
		test_assert_idx(spool_env_parse(text, strlen(text), &env) < 0 &&
		    errno == EINVAL, i);
	}
	snprintf(text, sizeof(text), "%sE\n", head);
	test_assert(spool_env_parse(text, strlen(text), &env) == 0);
	test_assert_streq(env.sender, "");
	test_assert(env.nrcpts == 0 && env.auth_user == NULL);
	spool_env_free(&env);
	/* A NUL byte inside is never ours. */
	test_assert(spool_env_parse("V 1\n\0E\n", 7, &env) < 0);
	test_end();
}

static void
test_path(char *dst, size_t size, const char *rel)
{
	snprintf(dst, size, "%s/%s", test_spool, rel);
}

static bool
test_exists(const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	test_path(path, sizeof(path), rel);
	return stat(path, &st) == 0;
}

static int
test_count(const char *rel)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	test_path(path, sizeof(path), rel);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Commits a message of `size` bytes with one local recipient; returns
 * the id in id_r. */
static int
test_commit(size_t size, char id_r[IDS_LEN + 1])
{
	struct spool_writer *w;
	struct spool_env env;
	char chunk[1000];
	size_t done = 0;
	int r;

	memset(chunk, 'x', sizeof(chunk));
	if (spool_writer_open(&w, test_spool) < 0)
		return -1;
	while (done < size) {
		size_t n = size - done < sizeof(chunk) ? size - done :
		    sizeof(chunk);

		if (spool_writer_write(w, chunk, n) < 0) {
			spool_writer_abort(&w);
			return -1;
		}
		done += n;
	}
	test_env_fill(&env);
	env.held = false;
	env.arrival = time(NULL);
	r = spool_writer_commit(&w, &env);
	test_assert(w == NULL);
	memcpy(id_r, env.id, IDS_LEN + 1);
	spool_env_free(&env);
	return r;
}

static void
test_commit_read(void)
{
	char id[IDS_LEN + 1], rel[64], path[PATH_MAX];
	struct spool_env env, gone;
	struct fbuf b;

	test_begin("spool commit, read back, update, remove");
	test_assert(test_commit(200000, id) == 0);
	test_assert(test_count("tmp") == 0);
	snprintf(rel, sizeof(rel), "queue/%c/%s.env", id[IDS_LEN - 1], id);
	test_assert(test_exists(rel));
	test_assert(spool_env_read(test_spool, id, &env) == 0);
	test_assert_streq(env.id, id);
	test_assert(env.size == 200000 && env.nrcpts == 3);
	test_assert_streq(env.sender, "a b%c\r\nd\te\x7f\xff=x%41");
	test_assert(spool_msg_path(test_spool, id, path, sizeof(path)) == 0);
	fbuf_init(&b, 0);
	test_assert(fsio_read_file(path, &b, 0) == 0 && b.len == 200000);
	test_assert(b.len > 0 && b.data[0] == 'x' && b.data[b.len - 1] == 'x');
	fbuf_release(&b);

	env.rcpts[0].state = SPOOL_RCPT_DONE;
	env.rcpts[0].attempts = 2;
	env.held = true;
	test_assert(spool_env_update(test_spool, &env) == 0);
	spool_env_free(&env);
	test_assert(spool_env_read(test_spool, id, &env) == 0);
	test_assert(env.rcpts[0].state == SPOOL_RCPT_DONE && env.held);
	test_assert(env.rcpts[0].attempts == 2);
	test_assert(test_count("tmp") == 0);

	test_assert(spool_remove(test_spool, id) == 0);
	test_assert(!test_exists(rel));
	test_assert(spool_env_read(test_spool, id, &gone) < 0 &&
	    errno == ENOENT);
	test_assert(spool_remove(test_spool, id) < 0 && errno == ENOENT);
	/* An update after deletion must not bring the message back. */
	test_assert(spool_env_update(test_spool, &env) < 0);
	test_assert(!test_exists(rel));
	spool_env_free(&env);
	test_end();
}

static void
test_abort(void)
{
	struct spool_writer *w;

	test_begin("spool writer abort");
	test_assert(spool_writer_open(&w, test_spool) == 0);
	test_assert(spool_writer_write(w, "abc", 3) == 0);
	test_assert(spool_writer_size(w) == 3);
	test_assert(strlen(spool_writer_id(w)) == IDS_LEN);
	test_assert(test_count("tmp") == 1);
	spool_writer_abort(&w);
	test_assert(w == NULL && test_count("tmp") == 0);
	test_end();
}

/* spool_writer_rewrite: headers inserted after `head` octets and the
 * Subject prefix put into the first "Subject:" field of what follows. */
static void
test_rewrite_subject(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "Subject: hi\r\n\r\nbody", "Subject: [S] hi\r\n\r\nbody" },
		{ "From: a\r\nsubject:\t hi\r\nSubject: two\r\n\r\n",
			"From: a\r\nsubject:\t [S] hi\r\nSubject: two\r\n\r\n" },
		{ "Subject:\r\n\r\n", "Subject:[S] \r\n\r\n" },
		{ "Subject :x\r\nSubject: y\r\n\r\n",
			"Subject :x\r\nSubject: [S] y\r\n\r\n" },
		{ "X-Subject: no\r\n folded Subject: no\r\n\r\n"
		  "Subject: body\r\n",
			"X-Subject: no\r\n folded Subject: no\r\n\r\n"
			"Subject: body\r\n" },
		{ "\r\nSubject: body\r\n", "\r\nSubject: body\r\n" },
		{ "Subject: no end", "Subject: [S] no end" },
		{ "Subject: lf\n\n", "Subject: [S] lf\n\n" },
	};
	static const char head[] = "Received: x\r\n", add[] = "X-A: 1\r\n";

	test_begin("spool rewrite subject");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spool_writer *w;
		struct fbuf want, got;
		char buf[4096];
		ssize_t n;
		int fd;

		test_assert_idx(spool_writer_open(&w, test_spool) == 0, i);
		test_assert_idx(spool_writer_write(w, head, sizeof(head) - 1) ==
		    0 && spool_writer_write(w, cases[i].in,
		    strlen(cases[i].in)) == 0, i);
		test_assert_idx(spool_writer_rewrite(w, sizeof(head) - 1, add,
		    sizeof(add) - 1, "[S] ") == 0, i);
		fbuf_init(&want, 0);
		fbuf_init(&got, 0);
		fbuf_addf(&want, "%s%s%s", head, add, cases[i].want);
		/* the writer's own descriptor: read with pread, not closed */
		fd = spool_writer_content_fd(w);
		while (fd >= 0 && (n = pread(fd, buf, sizeof(buf),
		    (off_t)got.len)) > 0)
			fbuf_add(&got, buf, (size_t)n);
		test_assert_idx(strcmp(fbuf_str(&got), fbuf_str(&want)) == 0,
		    i);
		if (strcmp(fbuf_str(&got), fbuf_str(&want)) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&got));
		test_assert_idx(spool_writer_size(w) == want.len, i);
		spool_writer_abort(&w);
		fbuf_release(&want);
		fbuf_release(&got);
	}
	test_end();
}

static void
test_write_file(const char *rel, const char *text, bool old)
{
	char path[PATH_MAX];
	struct timespec ts[2];
	int fd;

	test_path(path, sizeof(path), rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	test_assert(fd != -1);
	test_assert(fsio_write_all(fd, text, strlen(text)) == 0);
	close(fd);
	if (old) {
		ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 2 * 86400;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		test_assert(utimensat(AT_FDCWD, path, ts, 0) == 0);
	}
}

struct test_scan {
	char ids[16][IDS_LEN + 1];
	int n;
};

static void
test_scan_cb(const char *id, void *ctx)
{
	struct test_scan *s = ctx;

	if (s->n < 16)
		memcpy(s->ids[s->n++], id, IDS_LEN + 1);
}

static void
test_recovery(void)
{
	char good1[IDS_LEN + 1], good2[IDS_LEN + 1];
	struct test_scan s;

	test_begin("spool_scan recovery");
	test_assert(test_commit(10, good1) == 0);
	test_assert(test_commit(10, good2) == 0);
	test_write_file("tmp/1111111111111111.msg", "old garbage", true);
	test_write_file("tmp/2222222222222222.msg", "being written", false);
	/* orphans: old one removed, young one may be mid-commit */
	test_write_file("queue/3/3333333333333333.msg", "orphan", true);
	test_write_file("queue/4/4444444444444444.msg", "young", false);
	/* missing E record */
	test_write_file("queue/5/5555555555555555.env",
	    "V 1\nI 5555555555555555\nT 1\nZ 1\nS \n", false);
	test_write_file("queue/5/5555555555555555.msg", "x", false);
	/* envelope whose content is gone */
	test_write_file("queue/6/6666666666666666.env",
	    "V 1\nI 6666666666666666\nT 1\nZ 1\nS \nE\n", false);
	/* id inside differs from the file name */
	test_write_file("queue/7/7777777777777777.env",
	    "V 1\nI 0123456789abcdef\nT 1\nZ 1\nS \nE\n", false);
	test_write_file("queue/7/7777777777777777.msg", "x", false);

	memset(&s, 0, sizeof(s));
	test_assert(spool_scan(test_spool, false, test_scan_cb, &s) == 0);
	test_assert(s.n == 5);		/* listing touches nothing */
	test_assert(test_exists("tmp/1111111111111111.msg"));

	memset(&s, 0, sizeof(s));
	test_assert(spool_scan(test_spool, true, test_scan_cb, &s) == 0);
	test_assert(s.n == 2);
	test_assert(strcmp(good1, good2) < 0);
	test_assert_streq(s.ids[0], good1);
	test_assert_streq(s.ids[1], good2);
	test_assert(!test_exists("tmp/1111111111111111.msg"));
	test_assert(test_exists("tmp/2222222222222222.msg"));
	test_assert(!test_exists("queue/3/3333333333333333.msg"));
	test_assert(test_exists("queue/4/4444444444444444.msg"));
	test_assert(!test_exists("queue/5/5555555555555555.env"));
	test_assert(test_exists("corrupt/5555555555555555.env"));
	test_assert(test_exists("corrupt/5555555555555555.msg"));
	test_assert(test_exists("corrupt/6666666666666666.env"));
	test_assert(test_exists("corrupt/7777777777777777.env"));
	test_assert(spool_remove(test_spool, good1) == 0);
	test_assert(spool_remove(test_spool, good2) == 0);
	test_end();
}

static void
test_notify(void)
{
	char id[IDS_LEN + 1], buf[64];
	ssize_t n;
	int fd;

	test_begin("queue notify datagram");
	fd = queue_notify_listen(test_dir);
	test_assert(fd != -1);
	queue_notify(test_dir, "0123456789abcdef");
	n = recv(fd, buf, sizeof(buf), 0);
	test_assert(n == 2 + IDS_LEN);
	test_assert(n > 0 && queue_notify_parse(buf, (size_t)n, id));
	test_assert_streq(id, "0123456789abcdef");
	test_assert(recv(fd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN);
	test_assert(!queue_notify_parse("N 0123", 6, id));
	test_assert(!queue_notify_parse("X 0123456789abcdef", 18, id));
	test_assert(!queue_notify_parse("N 0123456789ABCDEF", 18, id));
	close(fd);
	/* Nobody listening: silently nothing. */
	queue_notify("/nonexistent-dir", "0123456789abcdef");
	test_end();
}

static void
test_backoff(void)
{
	test_begin("queue backoff and lifetime");
	test_assert(queue_backoff(1, 60, 3600) == 60);
	test_assert(queue_backoff(2, 60, 3600) == 120);
	test_assert(queue_backoff(3, 60, 3600) == 240);
	test_assert(queue_backoff(7, 60, 3600) == 3600);
	test_assert(queue_backoff(1000, 60, 3600) == 3600);
	test_assert(queue_backoff(0, 60, 3600) == 60);
	test_assert(queue_backoff(3, 60, 10) == 60);
	test_assert(queue_backoff(200, 1, UINT64_MAX) > 0);
	test_assert(!queue_expired(1000, 100, 1099));
	test_assert(queue_expired(1000, 100, 1100));
	test_assert(!queue_expired(1000, 100, 900));
	test_end();
}

/* Reads all that fd holds from offset 0 into b, with pread. */
static void
test_pread_all(int fd, struct fbuf *b)
{
	char buf[1024];
	ssize_t n;

	fbuf_reset(b);
	while (fd >= 0 && (n = pread(fd, buf, sizeof(buf), (off_t)b->len)) > 0)
		fbuf_add(b, buf, (size_t)n);
}

/* The direct delivery reads the content through the writer's own
 * descriptor: all of it, without moving where the writer goes on, and
 * a recycled file (holding a longer message before) only up to the new
 * message's end. */
static void
test_content_fd(void)
{
	static const char one[] = "Subject: first\r\n\r\na longer body "
	    "than the second message has\r\n";
	static const char two[] = "Subject: 2\r\n\r\nb\r\n";
	struct spool_writer *w;
	struct fbuf got;
	int fd;

	test_begin("spool content read back by the writer's descriptor");
	fbuf_init(&got, 0);
	test_assert(spool_writer_open(&w, test_spool) == 0);
	test_assert(spool_writer_write(w, one, 10) == 0);
	fd = spool_writer_content_fd(w);
	test_pread_all(fd, &got);
	test_assert(fd >= 0 && got.len == 10 && memcmp(got.data, one, 10) == 0);
	test_assert(spool_writer_write(w, one + 10, strlen(one) - 10) == 0);
	fd = spool_writer_content_fd(w);
	test_pread_all(fd, &got);
	test_assert(strcmp(fbuf_str(&got), one) == 0);
	spool_writer_recycle(&w);
	test_assert(w == NULL);
	test_assert(spool_writer_open(&w, test_spool) == 0);
	test_assert(spool_writer_write(w, two, strlen(two)) == 0);
	fd = spool_writer_content_fd(w);
	test_pread_all(fd, &got);
	test_assert(strcmp(fbuf_str(&got), two) == 0);
	spool_writer_abort(&w);
	spool_recycle_drop();
	fbuf_release(&got);
	test_end();
}

int
main(void)
{
	const char *error;

	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-spool-XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return 1;
	snprintf(test_spool, sizeof(test_spool), "%s/spool", test_dir);
	if (spool_init(test_spool, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	test_format_roundtrip();
	test_parse_corrupt();
	test_commit_read();
	test_abort();
	test_rewrite_subject();
	test_content_fd();
	test_recovery();
	test_notify();
	test_backoff();
	fsio_remove_tree(test_dir);
	return test_exit();
}
