/* The Maildir part of the vpopmail import (ops_import_private.h).  Each
 * message is copied under its own file name (flags included), written to
 * the target's tmp/, fdatasynced and renamed into new/ or cur/ as in the
 * source, with the source's modification time (INTERNALDATE).  A message
 * whose base name (up to ':') is in the target already is left alone,
 * whatever its flags, so a re-run copies only what is missing and never
 * undoes a change made in Ferry since.  Before any INBOX message is
 * copied, the base names of the source INBOX go into the kept-UIDL list
 * (legacy_uidl.h), so an interrupted import never leaves a message that
 * POP3 would offer under a new UIDL.  A Courier or Dovecot UID list
 * becomes the folder's ferry-uidlist (its UIDVALIDITY and UIDs) when the
 * folder has none yet; otherwise Ferry gives UIDs afresh at first
 * access.  Files in tmp/, symlinks, and names Ferry could not use are
 * skipped and reported. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/xalloc.h"
#include "mailbox/legacy_uidl.h"
#include "mailbox/maildir.h"
#include "mailbox/uidlist.h"
#include "ops/ops_import_parse.h"
#include "ops/ops_import_private.h"

#define OPS_IMP_COPY_BUF 65536
#define OPS_IMP_KEYWORDS_MAX 65536

/* One folder being copied. */
struct ops_imp_folder {
	struct ops_imp *im;
	const char *addr;
	const char *label;		/* "INBOX" or the directory name */
	int srcfd;			/* the source folder */
	char dst[PATH_MAX];		/* the target folder */
	struct legacy_uidl present;	/* base names in the target */
	bool copied;			/* a message was copied now */
};

/* The base names in the target's new/ and cur/ (absent: none). */
static void
ops_imp_present(struct ops_imp_folder *f)
{
	static const char *subs[] = { "new", "cur" };
	char path[PATH_MAX], **names;
	size_t n;
	int fd;

	for (int i = 0; i < 2; i++) {
		if (fsio_pathf(path, sizeof(path), "%s/%s", f->dst,
		    subs[i]) < 0)
			continue;
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (ops_imp_names(fd, &names, &n) == 0) {
			for (size_t j = 0; j < n; j++)
				legacy_uidl_add(&f->present, names[j],
				    uidlist_basename_len(names[j]));
			ops_imp_names_free(names, n);
		}
		close(fd);
	}
}

/* Copies src (open) to dst/sub/name through dst/tmp/name. */
static int
ops_imp_copy(struct ops_imp_folder *f, int src, const struct stat *sb,
    const char *sub, const char *name)
{
	char tmp[PATH_MAX], final[PATH_MAX], *buf;
	struct timespec times[2];
	ssize_t n;
	int out, ret = -1;

	if (fsio_pathf(tmp, sizeof(tmp), "%s/tmp/%s", f->dst, name) < 0 ||
	    fsio_pathf(final, sizeof(final), "%s/%s/%s", f->dst, sub,
	    name) < 0)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	buf = xmalloc(OPS_IMP_COPY_BUF);
	for (;;) {
		n = read(src, buf, OPS_IMP_COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || fsio_write_all(out, buf, (size_t)n) < 0)
			break;
	}
	free(buf);
	times[0] = sb->st_atim;
	times[1] = sb->st_mtim;
	if (n == 0 && futimens(out, times) == 0 && fdatasync(out) == 0 &&
	    rename(tmp, final) == 0)
		ret = 0;
	close(out);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* One source file of new/ or cur/. */
static int
ops_imp_message(struct ops_imp_folder *f, int subfd, const char *sub,
    const char *name)
{
	struct ops_imp *im = f->im;
	char clean[96];
	struct stat sb;
	int fd, r;

	ops_imp_clean(clean, sizeof(clean), name);
	if (!ops_import_msgname_ok(name)) {
		ops_imp_note(im, f->addr, "%s: %s/%s: file name Ferry cannot "
		    "use; skipped", f->label, sub, clean);
		return 0;
	}
	fd = openat(subfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		ops_imp_note(im, f->addr, "%s: %s/%s: %s; skipped", f->label,
		    sub, clean, fd < 0 && errno == ELOOP ?
		    "a symbolic link" : fd < 0 ? strerror(errno) :
		    "not a regular file");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (legacy_uidl_has(&f->present, name, uidlist_basename_len(name))) {
		im->r->kept.messages++;
		close(fd);
		return 0;
	}
	r = im->o->dry_run ? 0 : ops_imp_copy(f, fd, &sb, sub, name);
	close(fd);
	if (r < 0) {
		ops_imp_note(im, f->addr, "%s: %s/%s: cannot copy: %s",
		    f->label, sub, clean, strerror(errno));
		return -1;
	}
	legacy_uidl_add(&f->present, name, uidlist_basename_len(name));
	f->copied = im->copied = true;
	im->r->added.messages++;
	im->r->added.bytes += (uint64_t)sb.st_size;
	if (++im->since_progress >= 100)
		ops_imp_progress(im, f->addr);
	return 0;
}

static int
ops_imp_sub(struct ops_imp_folder *f, const char *sub)
{
	char **names, path[PATH_MAX];
	size_t n;
	int fd, ret = 0;

	if ((fd = ops_imp_opendir(f->srcfd, sub)) < 0) {
		if (errno != ENOENT)
			ops_imp_note(f->im, f->addr, "%s: %s/: %s; skipped",
			    f->label, sub, errno == ELOOP || errno == ENOTDIR ?
			    "a symbolic link or not a directory" :
			    strerror(errno));
		return 0;
	}
	if (ops_imp_names(fd, &names, &n) < 0) {
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (ops_imp_stopping(f->im))
			ret = -1;
		else
			ret = ops_imp_message(f, fd, sub, names[i]);
	}
	ops_imp_names_free(names, n);
	close(fd);
	if (f->copied && !f->im->o->dry_run &&
	    fsio_pathf(path, sizeof(path), "%s/%s", f->dst, sub) == 0)
		(void)fsio_fsync_dir(path);
	return ret;
}

/* The source INBOX's base names join the kept-UIDL list (first). */
static int
ops_imp_legacy(struct ops_imp_folder *f)
{
	static const char *subs[] = { "new", "cur" };
	struct legacy_uidl set;
	size_t before, n;
	char **names;
	int fd, ret = 0;

	if (legacy_uidl_load(f->dst, &set) < 0)
		memset(&set, 0, sizeof(set));
	before = set.n;
	for (int i = 0; i < 2; i++) {
		if ((fd = ops_imp_opendir(f->srcfd, subs[i])) < 0)
			continue;
		if (ops_imp_names(fd, &names, &n) == 0) {
			for (size_t j = 0; j < n; j++) {
				size_t len = uidlist_basename_len(names[j]);

				if (ops_import_msgname_ok(names[j]) &&
				    legacy_uidl_ok(names[j], len))
					legacy_uidl_add(&set, names[j], len);
			}
			ops_imp_names_free(names, n);
		}
		close(fd);
	}
	if (set.n != before && !f->im->o->dry_run &&
	    legacy_uidl_write(f->dst, &set) < 0) {
		ops_imp_note(f->im, f->addr, "cannot write %s: %s",
		    LEGACY_UIDL_FILE, strerror(errno));
		ret = -1;
	}
	legacy_uidl_free(&set);
	return ret;
}

static int
ops_imp_uid_cmp(const void *a, const void *b)
{
	const struct uidlist_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The ferry-uidlist text from m for the messages now in the target. */
static void
ops_imp_uidlist_text(struct ops_imp_folder *f, const struct ops_uidmap *m,
    struct fbuf *out)
{
	static const char *subs[] = { "new", "cur" };
	struct uidlist ul = { .uidvalidity = m->uidvalidity,
	    .next_uid = m->next_uid };
	char path[PATH_MAX], **names;
	uint64_t vsize;
	size_t n;
	int dfd, fd;

	fbuf_addf(out, "ferry-uidlist 1 %u %u\n", m->uidvalidity,
	    m->next_uid);
	for (int i = 0; i < 2; i++) {
		if (fsio_pathf(path, sizeof(path), "%s/%s", f->dst,
		    subs[i]) < 0 || (dfd = open(path, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (ops_imp_names(dfd, &names, &n) == 0) {
			for (size_t j = 0; j < n; j++) {
				size_t len = uidlist_basename_len(names[j]);
				uint32_t uid = ops_uidmap_find(m, names[j],
				    len);

				if (uid == 0 || (fd = openat(dfd, names[j],
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
					continue;
				if (uidlist_vsize_fd(fd, &vsize) == 0) {
					ul.v = xreallocarray(ul.v, ul.n + 1,
					    sizeof(*ul.v));
					ul.v[ul.n].uid = uid;
					ul.v[ul.n].vsize = vsize;
					ul.v[ul.n++].name = xstrndup(names[j],
					    len);
				}
				close(fd);
			}
			ops_imp_names_free(names, n);
		}
		close(dfd);
	}
	/* ascending UIDs, as the file wants them (new/ was listed before
	 * cur/: an insertion sort cost new x cur moves) */
	if (ul.n > 1)
		qsort(ul.v, ul.n, sizeof(*ul.v), ops_imp_uid_cmp);
	for (size_t i = 0; i < ul.n; i++)
		fbuf_addf(out, "%u %llu %s\n", ul.v[i].uid,
		    (unsigned long long)ul.v[i].vsize, ul.v[i].name);
	uidlist_free(&ul);
}

/* Keeps the folder's IMAP UIDs from courierimapuiddb or dovecot-uidlist
 * when Ferry has no UID list for it yet. */
static void
ops_imp_uids(struct ops_imp_folder *f)
{
	static const char *files[] = { "dovecot-uidlist", "courierimapuiddb" };
	struct ops_uidmap m;
	char path[PATH_MAX];
	const char *error;
	struct fbuf b, out;
	struct stat sb;

	if (f->im->o->dry_run || fsio_pathf(path, sizeof(path), "%s/"
	    UIDLIST_FILE, f->dst) < 0 || stat(path, &sb) == 0)
		return;
	fbuf_init(&b, 0);
	for (int i = 0; i < 2; i++) {
		fbuf_reset(&b);
		if (ops_imp_readfile(f->srcfd, files[i], &b,
		    OPS_IMP_FILE_MAX) < 0)
			continue;
		if (ops_uidmap_parse(b.data, b.len, &m, &error) < 0) {
			ops_imp_note(f->im, f->addr, "%s: %s: %s; IMAP UIDs "
			    "start afresh", f->label, files[i], error);
			continue;
		}
		fbuf_init(&out, 0);
		ops_imp_uidlist_text(f, &m, &out);
		if (fsio_replace_file(path, out.data, out.len, 0600) < 0)
			ops_imp_note(f->im, f->addr, "%s: cannot write %s: %s",
			    f->label, UIDLIST_FILE, strerror(errno));
		fbuf_release(&out);
		ops_uidmap_free(&m);
		break;
	}
	fbuf_release(&b);
}

/* Dovecot's keyword letters mean what its dovecot-keywords says: take
 * the table along when the target has none. */
static void
ops_imp_keywords(struct ops_imp_folder *f)
{
	char path[PATH_MAX];
	struct fbuf b;
	struct stat sb;

	if (f->im->o->dry_run || fsio_pathf(path, sizeof(path),
	    "%s/dovecot-keywords", f->dst) < 0 || stat(path, &sb) == 0)
		return;
	fbuf_init(&b, 0);
	if (ops_imp_readfile(f->srcfd, "dovecot-keywords", &b,
	    OPS_IMP_KEYWORDS_MAX) == 0 && b.len > 0)
		(void)fsio_replace_file(path, b.data, b.len, 0600);
	fbuf_release(&b);
	if (faccessat(f->srcfd, "courierimapkeywords", F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0)
		ops_imp_note(f->im, f->addr, "%s: Courier keywords "
		    "(courierimapkeywords/) not imported", f->label);
}

static int
ops_imp_folder(struct ops_imp *im, const char *addr, const char *root,
    int srcfd, const char *dir)
{
	struct ops_imp_folder f = { .im = im, .addr = addr, .srcfd = srcfd,
	    .label = dir != NULL ? dir : "INBOX" };
	struct stat sb;
	int ret;

	if ((dir != NULL ? fsio_pathf(f.dst, sizeof(f.dst), "%s/%s", root,
	    dir) : fsio_pathf(f.dst, sizeof(f.dst), "%s", root)) < 0)
		return -1;
	if (dir != NULL) {
		if (stat(f.dst, &sb) == 0)
			im->r->kept.folders++;
		else
			im->r->added.folders++;
	}
	if (!im->o->dry_run && maildir_create(f.dst) < 0) {
		ops_imp_note(im, addr, "%s: cannot create %s: %s", f.label,
		    f.dst, strerror(errno));
		return -1;
	}
	ops_imp_present(&f);
	ret = dir == NULL ? ops_imp_legacy(&f) : 0;
	if (ret == 0)
		ret = ops_imp_sub(&f, "new");
	if (ret == 0)
		ret = ops_imp_sub(&f, "cur");
	if (ret == 0) {
		ops_imp_uids(&f);
		ops_imp_keywords(&f);
	}
	legacy_uidl_free(&f.present);
	return ret < 0 ? -1 : 0;
}

/* A Maildir++ folder directory name Ferry can take: ".Name" with
 * printable ASCII (modified UTF-7 for the rest), no empty component. */
static bool
ops_imp_folder_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 2 || n > 255 || name[0] != '.' || name[1] == '.' ||
	    name[n - 1] == '.' || strstr(name, "..") != NULL)
		return false;
	for (size_t i = 1; i < n; i++)
		if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] >= 0x7f || name[i] == '/')
			return false;
	return true;
}

/* The target's `subscriptions` when it has none: Dovecot's file as it
 * is, Courier's courierimapsubscribed ("INBOX.Name" lines) turned into
 * storage names, else every imported folder (subs_all), so that clients
 * showing subscribed folders only see them all. */
static void
ops_imp_subscriptions(struct ops_imp *im, int mdfd, const char *root,
    const struct fbuf *subs_all)
{
	char path[PATH_MAX];
	struct fbuf b, out;
	struct stat sb;

	if (im->o->dry_run || fsio_pathf(path, sizeof(path),
	    "%s/subscriptions", root) < 0 || stat(path, &sb) == 0)
		return;
	fbuf_init(&b, 0);
	fbuf_init(&out, 0);
	if (ops_imp_readfile(mdfd, "subscriptions", &b,
	    OPS_IMP_KEYWORDS_MAX) == 0)
		fbuf_add(&out, b.data, b.len);
	else if (ops_imp_readfile(mdfd, "courierimapsubscribed", &b,
	    OPS_IMP_KEYWORDS_MAX) == 0) {
		const char *p = b.data, *end = b.data + b.len, *nl;

		for (; p < end; p = nl + 1) {
			char line[260];

			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			if (nl - p > 6 && nl - p < 250 &&
			    strncmp(p, "INBOX.", 6) == 0) {
				snprintf(line, sizeof(line), ".%.*s",
				    (int)(nl - p - 6), p + 6);
				if (ops_imp_folder_ok(line))
					fbuf_addf(&out, "%s\n", line + 1);
			}
		}
	} else
		fbuf_add(&out, subs_all->data, subs_all->len);
	if (out.len > 0)
		(void)fsio_replace_file(path, out.data, out.len, 0600);
	fbuf_release(&b);
	fbuf_release(&out);
}

static int
ops_imp_folders(struct ops_imp *im, int mdfd, const char *addr,
    const char *root)
{
	struct fbuf subs;
	char **names, clean[96];
	struct stat sb;
	size_t n;
	int fd, r = 0;

	if (ops_imp_names(mdfd, &names, &n) < 0)
		return 0;
	fbuf_init(&subs, 0);
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (names[i][0] != '.' || strcmp(names[i], ".qmail") == 0 || fstatat(mdfd, names[i], &sb,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		ops_imp_clean(clean, sizeof(clean), names[i]);
		if (S_ISLNK(sb.st_mode)) {
			ops_imp_note(im, addr, "folder %s: a symbolic link; "
			    "not followed", clean);
			continue;
		}
		if (!S_ISDIR(sb.st_mode))
			continue;
		if (!ops_imp_folder_ok(names[i])) {
			ops_imp_note(im, addr, "folder %s: name Ferry cannot "
			    "use; skipped", clean);
			continue;
		}
		if ((fd = ops_imp_opendir(mdfd, names[i])) < 0)
			continue;
		r = ops_imp_folder(im, addr, root, fd, names[i]);
		close(fd);
		fbuf_addf(&subs, "%s\n", names[i] + 1);
	}
	ops_imp_names_free(names, n);
	if (r >= 0)
		ops_imp_subscriptions(im, mdfd, root, &subs);
	fbuf_release(&subs);
	return r < 0 ? -1 : 0;
}

int
ops_imp_mailbox(struct ops_imp *im, int userfd, const char *addr)
{
	char root[PATH_MAX], path[PATH_MAX];
	int mdfd, r;

	im->copied = false;
	if ((mdfd = ops_imp_opendir(userfd, "Maildir")) < 0) {
		ops_imp_note(im, addr, "Maildir: %s; no mail imported",
		    errno == ENOENT ? "none" : errno == ELOOP ||
		    errno == ENOTDIR ? "a symbolic link or not a directory" :
		    strerror(errno));
		return 0;
	}
	if (maildir_path(im->o->state_dir, addr, root, sizeof(root)) < 0) {
		ops_imp_note(im, addr, "no Maildir path for this address; no "
		    "mail imported");
		close(mdfd);
		return 0;
	}
	r = ops_imp_folder(im, addr, root, mdfd, NULL);
	if (r >= 0)
		r = ops_imp_folders(im, mdfd, addr, root);
	close(mdfd);
	/* The quota count is recalculated from the folders when
	 * maildirsize is missing: the cheapest way to count what came. */
	if (im->copied && !im->o->dry_run &&
	    fsio_pathf(path, sizeof(path), "%s/maildirsize", root) == 0)
		(void)unlink(path);
	return r < 0 ? -1 : 0;
}
