/* Shared by the mailbox library's unit tests (test_mbox_*.c): a
 * temporary Maildir per test, files dropped into it the way delivery or
 * a human would, and small lookups. */
#ifndef FERRY_MBOX_FIXTURE_H
#define FERRY_MBOX_FIXTURE_H
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox.h"

/* A fresh Maildir under /tmp; path filled.  Removed by fx_done. */
static inline void
fx_maildir(char *path, size_t size)
{
	char tmpl[] = "/tmp/ferry-mbox-test.XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, size, "%s/Maildir", tmpl);
	if (maildir_create(path) < 0) {
		perror("maildir_create");
		exit(2);
	}
}

static inline void
fx_done(const char *path)
{
	char parent[4096];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) != NULL)
		*slash = '\0';
	fsio_remove_tree(parent);
}

/* Writes data to dir/sub/name (as a delivery or `cp` would). */
static inline void
fx_put(const char *dir, const char *sub, const char *name, const char *data)
{
	char path[8192];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, strlen(data)) < 0)
		perror(path);
	if (fd >= 0)
		close(fd);
}

static inline int
fx_rename(const char *dir, const char *from, const char *to)
{
	char a[8192], b[8192];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	return rename(a, b);
}

static inline bool
fx_exists(const char *dir, const char *rel)
{
	char p[8192];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return stat(p, &st) == 0;
}

/* Number of entries in dir/sub (not . and ..). */
static inline int
fx_count(const char *dir, const char *sub)
{
	char p[8192];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The one file in dir/sub whose name starts with prefix, into dst. */
static inline bool
fx_find(const char *dir, const char *sub, const char *prefix, char *dst,
    size_t size)
{
	char p[8192];
	struct dirent *de;
	DIR *d;
	bool found = false;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(dst, size, "%s/%s", sub, de->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

/* The one file in dir/sub whose name contains part, into dst. */
static inline bool
fx_find_part(const char *dir, const char *sub, const char *part, char *dst,
    size_t size)
{
	char p[8192];
	struct dirent *de;
	DIR *d;
	bool found = false;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, part) != NULL) {
			snprintf(dst, size, "%s/%s", sub, de->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

#endif
