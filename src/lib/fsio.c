/* Durable file-system operations: write-all, directory fsync, atomic
 * replace (write new, fsync, rename, fsync directory as in Redis rdbSave),
 * and mkdir -p.  All of these may block on the disk: event loops call
 * them from a worker thread (lib/workpool.h), never inline. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"

int
fsio_pathf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
fsio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsio_fsync_dir(const char *dir)
{
	int fd, r, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Shared directory syncs (fsio_fsync_dir_shared): threads of one
 * process that each renamed a file into the same directory share one
 * fsync of it.  A caller takes a ticket after its rename; a sync covers
 * every ticket taken before it started (what they renamed was already
 * in the directory then), so a caller waits for the first sync that
 * starts after its ticket, or runs it itself when none is running.
 * Slots are picked by the path's hash; a slot busy with another
 * directory is not waited for (a plain fsync then).  Process-wide, like
 * the directories it protects. */
#define FSIO_DSYNC_SLOTS 64
static struct fsio_dsync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char dir[PATH_MAX];
	uint64_t tickets;	/* taken */
	uint64_t synced;	/* every ticket up to this one is covered */
	uint64_t failed;	/* a failed sync covered tickets up to this */
	int error;		/* its errno */
	bool running;
} fsio_dsync[FSIO_DSYNC_SLOTS];
static pthread_once_t fsio_dsync_once = PTHREAD_ONCE_INIT;

static void
fsio_dsync_init(void)
{
	for (size_t i = 0; i < FSIO_DSYNC_SLOTS; i++) {
		pthread_mutex_init(&fsio_dsync[i].lock, NULL);
		pthread_cond_init(&fsio_dsync[i].cond, NULL);
	}
}

int
fsio_fsync_dir_shared(const char *dir)
{
	struct fsio_dsync *d;
	uint64_t ticket, upto;
	int r, error;

	pthread_once(&fsio_dsync_once, fsio_dsync_init);
	d = &fsio_dsync[str_hash(dir) % FSIO_DSYNC_SLOTS];
	pthread_mutex_lock(&d->lock);
	if (strcmp(d->dir, dir) != 0) {
		if (d->running || d->tickets != d->synced ||
		    strlen(dir) >= sizeof(d->dir)) {
			pthread_mutex_unlock(&d->lock);
			return fsio_fsync_dir(dir);
		}
		str_lcpy(d->dir, dir, sizeof(d->dir));
	}
	ticket = ++d->tickets;
	while (d->synced < ticket) {
		if (d->running) {
			pthread_cond_wait(&d->cond, &d->lock);
			continue;
		}
		d->running = true;
		upto = d->tickets;
		pthread_mutex_unlock(&d->lock);
		r = fsio_fsync_dir(dir);
		error = errno;
		pthread_mutex_lock(&d->lock);
		d->running = false;
		d->synced = upto;
		if (r < 0) {
			d->failed = upto;
			d->error = error;
		}
		pthread_cond_broadcast(&d->cond);
	}
	/* A failed sync after the ticket: its entry may not be durable. */
	r = d->failed >= ticket ? -1 : 0;
	error = d->error;
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		errno = error;
	return r;
}

int
fsio_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (str_lcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return fsio_fsync_dir(".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fsio_fsync_dir(dir);
}

int
fsio_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (str_lcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
fsio_read_file(const char *path, struct fbuf *b, size_t max)
{
	char chunk[16384];
	size_t total = 0;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		if (max != 0 && total > max) {
			errno = EFBIG;
			n = -1;
			break;
		}
		fbuf_add(b, chunk, (size_t)n);
	}
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

int
fsio_replace_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (fsio_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return fsio_fsync_parent(path);
}

int
fsio_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;
		fsio_remove_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}
