/* Maildir++ delivery (maildir.h): unique names, the tmp -> new protocol
 * with fsyncs, and the `maildirsize` quota file (Maildir++ quota spec as
 * Courier and Dovecot read it).  It does not read or index mailboxes for
 * POP3/IMAP and does not know about users: the caller passes the quota.
 * maildirsize is advisory, as in the spec: concurrent deliveries append
 * lines with O_APPEND, and a missing, unreadable or overgrown file is
 * recalculated from the folders. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "mailbox/maildir.h"

#define MAILDIR_SIZE_FILE "maildirsize"
#define MAILDIR_SIZE_MAX 5120	/* spec: recalculate when larger */
#define MAILDIR_COPY_BUF 65536

/* What one delivery writes: prefix, then the content of fd from offset
 * 0, with ins (ins_len octets) put in at offset at (nothing when
 * ins_len is 0). */
struct maildir_src {
	const char *prefix;
	size_t prefix_len;
	int fd;
	uint64_t at;
	const char *ins;
	size_t ins_len;
	uint64_t end;		/* fd's size, as maildir_deliver_as saw it */
};

/* Per-process delivery counter for unique names (the Q part), atomic
 * because workers deliver in parallel; with the host name below (set
 * once) the only mutable statics here. */
static unsigned maildir_counter;

/* A path component taken from an address: no '/', no leading '.', no
 * control bytes, so it can never climb out of mail/. */
static bool
maildir_component_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int
maildir_path(const char *state_dir, const char *address, char *dst,
    size_t size)
{
	const char *at = strrchr(address, '@');
	size_t llen;

	if (at == NULL)
		goto bad;
	llen = (size_t)(at - address);
	if (!maildir_component_ok(address, llen) ||
	    !maildir_component_ok(at + 1, strlen(at + 1)) || llen > 255)
		goto bad;
	if (fsio_pathf(dst, size, "%s/mail/%s/%.*s", state_dir, at + 1,
	    (int)llen, address) < 0)
		return -1;
	/* Lower-case only what we appended, not state_dir. */
	str_lower(dst + strlen(state_dir));
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* mkdir; a directory it creates has its parent fsynced, so the new entry
 * is durable.  Otherwise the fsync of new/ in maildir_publish would make
 * a first delivery's file durable inside a new/ that a crash could still
 * unlink from the tree, after the spool copy was removed.  Costs nothing
 * once the Maildir exists (mkdir fails with EEXIST). */
static int
maildir_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) == 0)
		return fsio_fsync_parent(dir);
	return errno == EEXIST ? 0 : -1;
}

int
maildir_create(const char *path)
{
	static const char *subs[] = { "tmp", "new", "cur" };
	char sub[PATH_MAX], *p;
	int i;

	if (str_lcpy(sub, path, sizeof(sub)) >= sizeof(sub)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = sub + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (maildir_mkdir(sub) < 0)
			return -1;
		*p = '/';
	}
	if (maildir_mkdir(sub) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (fsio_pathf(sub, sizeof(sub), "%s/%s", path, subs[i]) < 0)
			return -1;
		if (maildir_mkdir(sub) < 0)
			return -1;
	}
	return 0;
}

/* maildir_create for a delivery: one stat when the Maildir is complete
 * (cur/ is made last), instead of a mkdir per path component. */
static int
maildir_ensure(const char *path)
{
	char cur[PATH_MAX];
	struct stat st;

	if (fsio_pathf(cur, sizeof(cur), "%s/cur", path) == 0 &&
	    stat(cur, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return maildir_create(path);
}

/* ---- usage: recalculation from the folders ---- */

/* Size of a message file: the ",S=" field of its name, else stat. */
static uint64_t
maildir_file_size(const char *dir, const char *name)
{
	const char *s = strstr(name, ",S=");
	char path[PATH_MAX];
	struct stat st;

	if (s != NULL && s[3] >= '0' && s[3] <= '9')
		return strtoull(s + 3, NULL, 10);
	if (fsio_pathf(path, sizeof(path), "%s/%s", dir, name) < 0 ||
	    stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

static void
maildir_sum_dir(const char *dir, uint64_t *bytes, uint64_t *count)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*bytes += maildir_file_size(dir, de->d_name);
		(*count)++;
	}
	closedir(d);
}

/* One folder (the INBOX or a ".Folder"): its new/ and cur/. */
static void
maildir_sum_folder(const char *folder, uint64_t *bytes, uint64_t *count)
{
	char sub[PATH_MAX];

	if (fsio_pathf(sub, sizeof(sub), "%s/new", folder) == 0)
		maildir_sum_dir(sub, bytes, count);
	if (fsio_pathf(sub, sizeof(sub), "%s/cur", folder) == 0)
		maildir_sum_dir(sub, bytes, count);
}

static void
maildir_recalc(const char *path, uint64_t *bytes, uint64_t *count)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	*bytes = *count = 0;
	maildir_sum_folder(path, bytes, count);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fsio_pathf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) == 0)
			maildir_sum_folder(sub, bytes, count);
	}
	closedir(d);
}

/* ---- the maildirsize file ---- */

/* Parses maildirsize: header "<bytes>S[,<count>C]", then "<bytes> <count>"
 * lines (may be negative).  0, or -1 when it is not well formed. */
int
maildir_size_parse(const char *text, uint64_t *quota_r, uint64_t *bytes_r,
    uint64_t *count_r)
{
	long long b = 0, c = 0, lb, lc;
	const char *p = text;
	char *end;
	int n;

	errno = 0;
	*quota_r = strtoull(p, &end, 10);
	if (end == p || *end != 'S' || errno != 0)
		return -1;
	p = strchr(end, '\n');
	if (p == NULL)
		return -1;
	for (p++; *p != '\0'; p = end) {
		end = strchr(p, '\n');
		if (end == NULL || sscanf(p, "%lld %lld%n", &lb, &lc, &n) != 2 ||
		    p + n != end)
			return -1;
		/* sums past long long are no file we wrote: recalculate */
		if (__builtin_add_overflow(b, lb, &b) ||
		    __builtin_add_overflow(c, lc, &c))
			return -1;
		end++;
	}
	*bytes_r = b > 0 ? (uint64_t)b : 0;
	*count_r = c > 0 ? (uint64_t)c : 0;
	return 0;
}

/* Reads maildirsize.  0, or -1 with errno ENOENT (absent) or EINVAL
 * (malformed or overgrown: to be recalculated). */
static int
maildir_size_read(const char *path, uint64_t *quota_r, uint64_t *bytes_r,
    uint64_t *count_r)
{
	char file[PATH_MAX];
	struct fbuf b;
	int r;

	if (fsio_pathf(file, sizeof(file), "%s/" MAILDIR_SIZE_FILE,
	    path) < 0)
		return -1;
	fbuf_init(&b, 0);
	r = fsio_read_file(file, &b, MAILDIR_SIZE_MAX);
	if (r < 0 && errno == EFBIG)
		errno = EINVAL;
	if (r == 0 && maildir_size_parse(fbuf_str(&b), quota_r, bytes_r,
	    count_r) < 0) {
		errno = EINVAL;
		r = -1;
	}
	fbuf_release(&b);
	return r;
}

int
maildir_quota_usage(const char *path, uint64_t *bytes_r, uint64_t *count_r)
{
	uint64_t quota;

	if (maildir_size_read(path, &quota, bytes_r, count_r) == 0)
		return 0;
	if (errno != ENOENT && errno != EINVAL)
		return -1;
	maildir_recalc(path, bytes_r, count_r);
	return 0;
}

/* Replaces maildirsize with a fresh header and total, written under the
 * Maildir's tmp/ with a unique name and renamed (as Courier does).
 * Never fsynced, here or in maildir_size_append: the file is advisory
 * accounting, not mail.  A crash can leave it empty, torn or without
 * its last lines; empty or torn does not parse and is recalculated from
 * the folders (maildir_size_read -> EINVAL -> maildir_recalc, as when it
 * is missing), and a few lost lines under-count until the next
 * recalculation (overgrown file or changed quota), as with Courier. */
static int
maildir_size_rewrite(const char *path, uint64_t quota, uint64_t bytes,
    uint64_t count)
{
	char tmp[PATH_MAX], file[PATH_MAX], text[80];
	int fd, n, saved;

	if (bytes == 0 && count == 0)
		n = snprintf(text, sizeof(text), "%lluS\n",
		    (unsigned long long)quota);
	else
		n = snprintf(text, sizeof(text), "%lluS\n%llu %llu\n",
		    (unsigned long long)quota, (unsigned long long)bytes,
		    (unsigned long long)count);
	if (fsio_pathf(file, sizeof(file), "%s/" MAILDIR_SIZE_FILE,
	    path) < 0 || fsio_pathf(tmp, sizeof(tmp),
	    "%s/tmp/%016llx.maildirsize", path,
	    (unsigned long long)ids_random()) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fsio_write_all(fd, text, (size_t)n) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, file) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Current usage for a delivery; makes sure maildirsize exists and
 * carries the user's current quota in its header. */
static int
maildir_size_prepare(const char *path, uint64_t quota, uint64_t *bytes_r)
{
	uint64_t hdr = 0, count = 0;
	int r;

	r = maildir_size_read(path, &hdr, bytes_r, &count);
	if (r == 0 && hdr == quota)
		return 0;
	if (r < 0 && errno != ENOENT && errno != EINVAL)
		return -1;
	if (r < 0)
		maildir_recalc(path, bytes_r, &count);
	return maildir_size_rewrite(path, quota, *bytes_r, count);
}

/* One "<bytes> <count>" line; negative undoes an earlier line (spec). */
static void
maildir_size_append(const char *path, long long bytes, int count)
{
	char file[PATH_MAX], line[48];
	int fd, n;

	if (fsio_pathf(file, sizeof(file), "%s/" MAILDIR_SIZE_FILE,
	    path) < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %d\n", bytes, count);
	/* One short O_APPEND write: concurrent deliveries do not mix. */
	fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1 || fsio_write_all(fd, line, (size_t)n) < 0)
		log_warn("maildir size update failed path=%s", log_q(file));
	if (fd != -1)
		close(fd);
}

/* Removes maildirsize; a missing one is fine.  0 or -1. */
static int
maildir_size_drop(const char *path)
{
	char file[PATH_MAX];

	if (fsio_pathf(file, sizeof(file), "%s/" MAILDIR_SIZE_FILE,
	    path) < 0)
		return -1;
	return unlink(file) < 0 && errno != ENOENT ? -1 : 0;
}

/* ---- delivery ---- */

/* The host part of unique names, computed once per process: '/' and ':'
 * are written as \057 and \072 (maildir convention). */
static char maildir_host[256];
static pthread_once_t maildir_host_once = PTHREAD_ONCE_INIT;

static void
maildir_host_init(void)
{
	char host[256];
	size_t i, o = 0;

	if (gethostname(host, sizeof(host)) < 0)
		str_lcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && o + 5 < sizeof(maildir_host); i++) {
		if (host[i] == '/' || host[i] == ':') {
			memcpy(maildir_host + o, host[i] == '/' ? "\\057" :
			    "\\072", 4);
			o += 4;
		} else
			maildir_host[o++] = host[i];
	}
	maildir_host[o] = '\0';
}

/* "<sec>.M<usec>P<pid>Q<counter>.<host>,S=<size>" */
static void
maildir_unique_name(char *dst, size_t size, uint64_t msize)
{
	struct timeval tv;
	unsigned q;

	pthread_once(&maildir_host_once, maildir_host_init);
	gettimeofday(&tv, NULL);
	q = __atomic_add_fetch(&maildir_counter, 1, __ATOMIC_RELAXED);
	snprintf(dst, size, "%lld.M%ldP%dQ%u.%.255s,S=%llu", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)ids_pid(), q, maildir_host,
	    (unsigned long long)msize);
}

/* "Return-Path: <sender>\r\nDelivered-To: addr\r\n" into b. */
static void
maildir_delivery_headers(struct fbuf *b, const char *sender, const char *addr)
{
	const char *parts[] = { "Return-Path: <", sender, ">\r\nDelivered-To: ",
		addr, "\r\n" };
	const char *p;
	size_t i;

	for (i = 0; i < 5; i++) {
		if ((i & 1) == 0) {
			fbuf_adds(b, parts[i]);
			continue;
		}
		for (p = parts[i]; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x20 && *p != 0x7f)
				fbuf_addc(b, *p);
	}
}

/* The copy into a new message file goes through one buffer: octets
 * given (the delivery headers, an insertion) and ranges read from the
 * spool file (pread: the fd is shared by the deliveries of one
 * message) are gathered and written when the buffer is full or at the
 * end.  A 4 KB message is one read and one write, with an insertion
 * too: two writes would each start a partial block, which the kernel
 * zeroes and prepares twice. */
struct maildir_copier {
	int fd;
	size_t have;
	char buf[MAILDIR_COPY_BUF];
};

static int
maildir_copier_flush(struct maildir_copier *c)
{
	if (c->have > 0 && fsio_write_all(c->fd, c->buf, c->have) < 0)
		return -1;
	c->have = 0;
	return 0;
}

static int
maildir_copier_put(struct maildir_copier *c, const char *p, size_t n)
{
	if (n == 0)
		return 0;	/* p may be NULL (an empty prefix) */
	if (n > sizeof(c->buf) - c->have) {
		if (maildir_copier_flush(c) < 0)
			return -1;
		if (n > sizeof(c->buf) / 2)
			return fsio_write_all(c->fd, p, n);
	}
	memcpy(c->buf + c->have, p, n);
	c->have += n;
	return 0;
}

/* src_fd's octets [off, end) (fewer if the file ends first); reading
 * stops at end without a last read to meet the end of the file. */
static int
maildir_copier_range(struct maildir_copier *c, int src_fd, off_t off,
    uint64_t end)
{
	ssize_t n;

	while ((uint64_t)off < end) {
		size_t want = sizeof(c->buf) - c->have;

		if (want == 0) {
			if (maildir_copier_flush(c) < 0)
				return -1;
			want = sizeof(c->buf);
		}
		if (end - (uint64_t)off < want)
			want = (size_t)(end - (uint64_t)off);
		n = pread(src_fd, c->buf + c->have, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		off += n;
		c->have += (size_t)n;
	}
	return 0;
}

/* The prefix, then the content with the insertion (none: ins_len 0,
 * and at is not looked at), into fd.  The buffer is not zeroed: only
 * what the pieces put in is written. */
static int
maildir_copy(int fd, const struct maildir_src *src)
{
	struct maildir_copier c;
	uint64_t at = src->ins_len > 0 ? src->at : src->end;

	c.fd = fd;
	c.have = 0;
	if (maildir_copier_put(&c, src->prefix, src->prefix_len) < 0 ||
	    maildir_copier_range(&c, src->fd, 0, at) < 0 ||
	    maildir_copier_put(&c, src->ins, src->ins_len) < 0 ||
	    maildir_copier_range(&c, src->fd, (off_t)at, src->end) < 0)
		return -1;
	return maildir_copier_flush(&c);
}

static int
maildir_write_tmp(const char *file, const struct maildir_src *src)
{
	int fd, saved;

	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	/* fdatasync: a new file whose size these writes set; it flushes the
	 * data and the size, not the timestamps.  Must precede the link
	 * into new/ (a reader must never see a torn message there). */
	if (maildir_copy(fd, src) < 0 ||
	    fdatasync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(file);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(file);
		errno = saved;
		return -1;
	}
	return 0;
}

/* tmp -> new without ever overwriting: rename with RENAME_NOREPLACE (one
 * step), else link + unlink, else a plain rename where neither is
 * supported (the name is unique anyway); then new/ is fsynced so the
 * entry survives a crash (one fsync shared by the deliveries into the
 * same new/ at that moment: fsio_fsync_dir_shared).  That fsync stays: the caller removes the spool
 * copy (or answers 250) right after we return, so it is the only thing
 * between a crash and a lost message. */
static int
maildir_publish(const char *path, const char *name, bool once)
{
	char tmp[PATH_MAX], nfile[PATH_MAX], ndir[PATH_MAX];
	int r, saved;

	if (fsio_pathf(tmp, sizeof(tmp), "%s/tmp/%s", path, name) < 0 ||
	    fsio_pathf(nfile, sizeof(nfile), "%s/new/%s", path, name) < 0 ||
	    fsio_pathf(ndir, sizeof(ndir), "%s/new", path) < 0)
		return -1;
	r = renameat2(AT_FDCWD, tmp, AT_FDCWD, nfile, RENAME_NOREPLACE);
	if (r < 0 && errno == EEXIST && once) {
		/* This very delivery was made before (a fixed name):
		 * done, and durable since that earlier fsync. */
		unlink(tmp);
		errno = EEXIST;
		return -1;
	}
	if (r < 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
		r = link(tmp, nfile);
		if (r < 0 && errno == EEXIST && once) {
			unlink(tmp);
			errno = EEXIST;
			return -1;
		}
		if (r < 0 && (errno == EPERM || errno == ENOTSUP ||
		    errno == ENOSYS))
			r = rename(tmp, nfile);
		saved = errno;
		unlink(tmp);		/* after link, or on failure */
		errno = saved;
	} else if (r < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
	}
	if (r < 0)
		return -1;
	if (fsio_fsync_dir_shared(ndir) < 0) {
		saved = errno;
		unlink(nfile);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Writes dir's tmp/, counts it in path's maildirsize, publishes it into
 * dir's new/: 0 or -1 (errno).  dir is path or one of its folders. */
static int
maildir_store(const char *path, const char *dir, const char *name,
    const struct maildir_src *src, uint64_t quota, uint64_t size, bool once)
{
	char tmp[PATH_MAX];
	int saved;

	if (fsio_pathf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name) < 0)
		return -1;
	/* A fixed name's tmp/ file left by a crash in an earlier attempt
	 * (the queue runs one job per message: nobody else writes it). */
	if (once)
		(void)unlink(tmp);
	if (maildir_write_tmp(tmp, src) < 0)
		return -1;
	/* Counted before it becomes visible in new/ (as Courier's
	 * deliverquota does), so that a reader who sees the message also
	 * sees it in maildirsize; a failed publish is taken back. */
	if (quota > 0)
		maildir_size_append(path, (long long)size, 1);
	if (maildir_publish(dir, name, once) < 0) {
		saved = errno;
		if (quota > 0)
			maildir_size_append(path, -(long long)size, -1);
		if (saved == EEXIST && once)
			return 0;	/* delivered before */
		errno = saved;
		return -1;
	}
	return 0;
}

static int maildir_deliver_as(const char *path, const char *dir,
    const struct maildir_src *src, uint64_t quota, const char *fixed,
    char *name_r, size_t name_size);

int
maildir_deliver_in(const char *path, const char *dir, const char *prefix,
    size_t prefix_len, int src_fd, uint64_t quota, char *name_r,
    size_t name_size)
{
	struct maildir_src src = { prefix, prefix_len, src_fd, 0, NULL, 0, 0 };

	return maildir_deliver_as(path, dir, &src, quota, NULL, name_r,
	    name_size);
}

int
maildir_deliver(const char *path, const char *prefix, size_t prefix_len,
    int src_fd, uint64_t quota, char *name_r, size_t name_size)
{
	return maildir_deliver_in(path, path, prefix, prefix_len, src_fd,
	    quota, name_r, name_size);
}

/* An earlier delivery under the fixed name: in new/, or in cur/ as a
 * client left it unflagged or only seen (other flags are missed: a
 * duplicate then, never a loss). */
static bool
maildir_delivered_before(const char *dir, const char *name)
{
	static const char *const where[] = { "new/%s", "cur/%s:2,",
		"cur/%s:2,S" };
	char file[PATH_MAX], rel[600];
	struct stat st;

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		if (snprintf(rel, sizeof(rel), where[i], name) >=
		    (int)sizeof(rel) || fsio_pathf(file, sizeof(file), "%s/%s",
		    dir, rel) < 0)
			continue;
		if (stat(file, &st) == 0)
			return true;
	}
	return false;
}

static int
maildir_deliver_as(const char *path, const char *dir,
    const struct maildir_src *src_in, uint64_t quota, const char *fixed,
    char *name_r, size_t name_size)
{
	struct maildir_src sized = *src_in, *src = &sized;
	char name[512];
	uint64_t size, used = 0;
	struct stat st;
	int r;

	if (maildir_ensure(path) < 0 || (dir != path &&
	    maildir_ensure(dir) < 0) || fstat(src->fd, &st) < 0)
		return -1;
	sized.end = (uint64_t)st.st_size;
	if (src->ins_len > 0 && src->at > (uint64_t)st.st_size) {
		errno = EINVAL;
		return -1;
	}
	size = src->prefix_len + (uint64_t)st.st_size + src->ins_len;
	if (quota == 0) {
		/* No quota, no accounting (as Courier's deliverquota and
		 * Dovecot's quota plugin): a maildirsize left from an
		 * earlier quota would go stale, so it goes, and a quota set
		 * later starts from a recalculation. */
		if (maildir_size_drop(path) < 0)
			return -1;
	} else if (maildir_size_prepare(path, quota, &used) < 0)
		return -1;
	if (quota > 0 && used + size > quota) {
		errno = EDQUOT;
		return -1;
	}
	if (fixed != NULL) {
		if (snprintf(name, sizeof(name), "%s,S=%llu", fixed,
		    (unsigned long long)size) >= (int)sizeof(name)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (maildir_delivered_before(dir, name))
			return 0;
	} else
		maildir_unique_name(name, sizeof(name), size);
	r = maildir_store(path, dir, name, src, quota, size, fixed != NULL);
	/* tmp/ or new/ removed from a Maildir whose cur/ is there
	 * (maildir_ensure looked at cur/ only): made again, once. */
	if (r < 0 && errno == ENOENT && maildir_create(dir) == 0)
		r = maildir_store(path, dir, name, src, quota, size,
		    fixed != NULL);
	if (r < 0)
		return -1;
	if (name_r != NULL && name_size > 0)
		str_lcpy(name_r, name, name_size);
	return 0;
}

int
maildir_quota_reserve(const char *path, uint64_t quota, uint64_t bytes,
    uint64_t count)
{
	uint64_t used = 0;

	if (quota == 0)
		return 0;
	if (maildir_size_prepare(path, quota, &used) < 0)
		return -1;
	if (used + bytes > quota) {
		errno = EDQUOT;
		return -1;
	}
	maildir_size_append(path, (long long)bytes, (int)count);
	return 0;
}

void
maildir_quota_release(const char *path, uint64_t bytes, uint64_t count)
{
	char file[PATH_MAX];
	struct stat st;

	if (count == 0 && bytes == 0)
		return;
	if (fsio_pathf(file, sizeof(file), "%s/" MAILDIR_SIZE_FILE,
	    path) < 0 || stat(file, &st) < 0)
		return;
	maildir_size_append(path, -(long long)bytes, -(int)count);
}

void
maildir_name_new(char *dst, size_t size, uint64_t msize)
{
	maildir_unique_name(dst, size, msize);
}

int
maildir_deliver_mail(const char *path, const char *dir, const char *sender,
    const char *rcpt, int src_fd, uint64_t quota)
{
	return maildir_deliver_mail_ins(path, dir, sender, rcpt, src_fd, 0,
	    NULL, 0, quota);
}

int
maildir_deliver_mail_ins(const char *path, const char *dir,
    const char *sender, const char *rcpt, int src_fd, uint64_t at,
    const char *ins, size_t ins_len, uint64_t quota)
{
	struct maildir_src src = { NULL, 0, src_fd, at, ins, ins_len, 0 };
	struct fbuf prefix;
	int r, saved;

	fbuf_init(&prefix, 0);
	maildir_delivery_headers(&prefix, sender, rcpt);
	src.prefix = prefix.data;
	src.prefix_len = prefix.len;
	r = maildir_deliver_as(path, dir != NULL ? dir : path, &src, quota,
	    NULL, NULL, 0);
	saved = errno;
	fbuf_release(&prefix);
	errno = saved;
	return r;
}

int
maildir_deliver_mail_once(const char *path, const char *dir,
    const char *sender, const char *rcpt, int src_fd, uint64_t quota,
    const char *key, time_t when)
{
	struct fbuf prefix;
	char fixed[400];
	int r, saved;

	pthread_once(&maildir_host_once, maildir_host_init);
	if (strchr(key, '/') != NULL || strchr(key, ':') != NULL ||
	    snprintf(fixed, sizeof(fixed), "%lld.Q%s.%.255s", (long long)when,
	    key, maildir_host) >= (int)sizeof(fixed)) {
		errno = EINVAL;
		return -1;
	}
	fbuf_init(&prefix, 0);
	maildir_delivery_headers(&prefix, sender, rcpt);
	{
		struct maildir_src src = { prefix.data, prefix.len, src_fd,
		    0, NULL, 0, 0 };

		r = maildir_deliver_as(path, dir != NULL ? dir : path, &src,
		    quota, fixed, NULL, 0);
	}
	saved = errno;
	fbuf_release(&prefix);
	errno = saved;
	return r;
}
