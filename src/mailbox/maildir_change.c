/* Expunge and flag changes to a Maildir++ mailbox (maildir_change.h).
 * Flags live in the file name's info part ":2,<letters>" with the letters
 * in ASCII order (Maildir convention as Dovecot and Courier read it).
 * A message no longer at the name the caller saw (an IMAP session moved
 * it from new/ to cur/ or changed its flags meanwhile) is followed by its
 * base name; one gone everywhere counts as done: another reader got
 * there first.  The quota file is only appended to when it exists (its
 * absence means "recalculate", which already sees the removal). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mailbox/maildir_change.h"
#include "mailbox/uidlist.h"

/* Flag letters of an info ":2,<letters>" plus S when seen, sorted. */
static void
maildir_change_flags(const char *letters, bool seen, char *dst, size_t size)
{
	size_t n = 0;

	for (; *letters != '\0' && n + 2 < size; letters++)
		if (*letters != 'S' || !seen)
			dst[n++] = *letters;
	if (seen)
		dst[n++] = 'S';
	dst[n] = '\0';
	/* A handful of letters: insertion sort keeps it obvious. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && dst[j - 1] > dst[j]; j--) {
			char t = dst[j];

			dst[j] = dst[j - 1];
			dst[j - 1] = t;
		}
}

int
maildir_change_cur_name(const char *name, bool seen, char *dst, size_t size)
{
	const char *file = name + 4, *info = strchr(file, ':');
	char flags[64];
	int n;

	if (info != NULL && strncmp(info, ":2,", 3) != 0)
		/* An info we do not know: only leave new/. */
		n = snprintf(dst, size, "cur/%s", file);
	else {
		maildir_change_flags(info != NULL ? info + 3 : "", seen, flags,
		    sizeof(flags));
		n = snprintf(dst, size, "cur/%.*s:2,%s",
		    (int)uidlist_basename_len(file), file, flags);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The size maildirsize counted at delivery: ",S=" in the name, else the
 * file's length. */
static uint64_t
maildir_change_size(const char *file, const char *name)
{
	const char *s = strstr(name, ",S=");
	struct stat st;

	if (s != NULL && s[3] >= '0' && s[3] <= '9')
		return strtoull(s + 3, NULL, 10);
	return stat(file, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void
maildir_change_quota(const char *path, uint64_t bytes, size_t count)
{
	char file[PATH_MAX], line[64];
	int fd, n;

	if (count == 0)
		return;
	snprintf(file, sizeof(file), "%s/maildirsize", path);
	n = snprintf(line, sizeof(line), "-%llu -%zu\n",
	    (unsigned long long)bytes, count);
	/* One short O_APPEND write, as deliveries do: lines never mix. */
	fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fsio_write_all(fd, line, (size_t)n) < 0)
		log_warn("- mailbox maildirsize-update-failed path=%s",
		    log_q(file));
	close(fd);
}

/* The names now in new/ and cur/, sorted by base name: read once per
 * apply, and only when a message is not where the snapshot saw it
 * (another reader, an IMAP session, moved or re-flagged it meanwhile). */
struct maildir_change_dir {
	bool read;
	char **v;
	size_t n;
};

static int
maildir_change_base_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a + 4, *y = *(char *const *)b + 4;
	size_t xl = uidlist_basename_len(x), yl = uidlist_basename_len(y);
	int c = memcmp(x, y, xl < yl ? xl : yl);

	return c != 0 ? c : (xl > yl) - (xl < yl);
}

static void
maildir_change_dir_read(const char *path, struct maildir_change_dir *d)
{
	static const char *const subs[] = { "cur", "new" };
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dh;

	d->read = true;
	for (size_t i = 0; i < 2; i++) {
		if (snprintf(dir, sizeof(dir), "%s/%s", path, subs[i]) >=
		    (int)sizeof(dir) || (dh = opendir(dir)) == NULL)
			continue;
		while ((de = readdir(dh)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((d->n & (d->n - 1)) == 0)
				d->v = xreallocarray(d->v, d->n == 0 ? 1 :
				    d->n * 2, sizeof(*d->v));
			d->v[d->n++] = xasprintf("%s/%s", subs[i], de->d_name);
		}
		closedir(dh);
	}
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), maildir_change_base_cmp);
}

/* Where the message named `name` (by its base name) is now, or NULL. */
static const char *
maildir_change_locate(const char *path, struct maildir_change_dir *d,
    const char *name)
{
	char **hit;

	if (!d->read)
		maildir_change_dir_read(path, d);
	/* bsearch's base must not be NULL, even for no elements */
	if (d->n == 0 || strlen(name) < 5)
		return NULL;
	hit = bsearch(&name, d->v, d->n, sizeof(*d->v),
	    maildir_change_base_cmp);
	return hit != NULL ? *hit : NULL;
}

static int
maildir_change_one(const char *path, const struct maildir_change *c,
    uint64_t *bytes, struct maildir_change_dir *d)
{
	char from[PATH_MAX], to[PATH_MAX], cur[PATH_MAX];
	struct maildir_change moved;
	const char *now;

	if (snprintf(from, sizeof(from), "%s/%s", path, c->name) >=
	    (int)sizeof(from))
		return -1;
	if (c->expunge) {
		uint64_t size = maildir_change_size(from, c->name);

		if (unlink(from) == 0) {
			*bytes += size;
			return 0;
		}
	} else {
		if (maildir_change_cur_name(c->name, c->seen, cur,
		    sizeof(cur)) < 0 || snprintf(to, sizeof(to), "%s/%s",
		    path, cur) >= (int)sizeof(to))
			return -1;
		if (strcmp(cur, c->name) == 0 || rename(from, to) == 0)
			return 0;
	}
	if (errno != ENOENT)
		return -1;
	/* Not where it was: follow it once by its base name.  Gone
	 * everywhere means another reader expunged it: done. */
	if (d == NULL || (now = maildir_change_locate(path, d, c->name)) ==
	    NULL || strcmp(now, c->name) == 0)
		return 0;
	moved = *c;
	moved.name = now;
	return maildir_change_one(path, &moved, bytes, NULL);
}

size_t
maildir_change_apply(const char *path, const struct maildir_change *v,
    size_t n, size_t *expunged_r)
{
	struct maildir_change_dir d = { 0 };
	size_t failed = 0, expunged = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		if (maildir_change_one(path, &v[i], &bytes, &d) < 0) {
			log_warn("- mailbox change-failed path=%s name=%s",
			    log_q(path), log_q(v[i].name));
			failed++;
		} else if (v[i].expunge)
			expunged++;
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i]);
	free(d.v);
	maildir_change_quota(path, bytes, expunged);
	if (expunged_r != NULL)
		*expunged_r = expunged;
	return failed;
}
