/* Expunge and flag changes to a Maildir++ mailbox (maildir_change.h).
 * Flags live in the file name's info part ":2,<letters>" with the letters
 * in ASCII order (Maildir convention as Dovecot and Courier read it).
 * An unlink that fails with ENOENT counts as done: another reader got
 * there first.  The quota file is only appended to when it exists (its
 * absence means "recalculate", which already sees the removal). */
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

static int
maildir_change_one(const char *path, const struct maildir_change *c,
    uint64_t *bytes)
{
	char from[PATH_MAX], to[PATH_MAX], cur[PATH_MAX];

	if (snprintf(from, sizeof(from), "%s/%s", path, c->name) >=
	    (int)sizeof(from))
		return -1;
	if (c->expunge) {
		uint64_t size = maildir_change_size(from, c->name);

		if (unlink(from) < 0 && errno != ENOENT)
			return -1;
		*bytes += size;
		return 0;
	}
	if (maildir_change_cur_name(c->name, c->seen, cur, sizeof(cur)) < 0 ||
	    snprintf(to, sizeof(to), "%s/%s", path, cur) >= (int)sizeof(to))
		return -1;
	if (strcmp(cur, c->name) == 0)
		return 0;
	return rename(from, to) < 0 && errno != ENOENT ? -1 : 0;
}

size_t
maildir_change_apply(const char *path, const struct maildir_change *v,
    size_t n, size_t *expunged_r)
{
	size_t failed = 0, expunged = 0;
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		if (maildir_change_one(path, &v[i], &bytes) < 0) {
			log_warn("- mailbox change-failed path=%s name=%s",
			    log_q(path), log_q(v[i].name));
			failed++;
		} else if (v[i].expunge)
			expunged++;
	}
	maildir_change_quota(path, bytes, expunged);
	if (expunged_r != NULL)
		*expunged_r = expunged;
	return failed;
}
