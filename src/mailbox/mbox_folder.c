/* Users and folders (mbox.h): the process's registry of open users (one
 * shared struct mbox_user per Maildir, reference-counted, with the mutex
 * that serialises its work), first-open set-up (special-use folders),
 * and folder list/create/delete/rename/subscribe/status on the
 * Maildir++ layout.  A new folder is built under the Maildir's tmp/ and
 * renamed into place, so nobody ever sees half of it; a deleted one is
 * renamed away first for the same reason.  It does not read messages
 * (mbox_index.c, mbox_view.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"

#define MBOX_SMALL_FILE_MAX (1024 * 1024)

static const struct {
	const char *name;
	enum mbox_special use;
} mbox_default_folders[] = {
	{ "Sent", MBOX_SPECIAL_SENT },
	{ "Drafts", MBOX_SPECIAL_DRAFTS },
	{ "Junk", MBOX_SPECIAL_JUNK },
	{ "Trash", MBOX_SPECIAL_TRASH },
	{ "Archive", MBOX_SPECIAL_ARCHIVE },
};

/* ---- the service ---- */

struct mbox_service *
mbox_service_create(struct event_base *base)
{
	struct mbox_service *svc = xcalloc(1, sizeof(*svc));

	pthread_mutex_init(&svc->lock, NULL);
	if (base != NULL)
		svc->watcher = mbox_watcher_create(base);
	return svc;
}

void
mbox_service_set_min_free(struct mbox_service *svc, uint64_t bytes,
    unsigned pct)
{
	svc->min_free_bytes = bytes;
	svc->min_free_pct = pct;
}

static void mbox_user_destroy(struct mbox_user *user);

void
mbox_service_free(struct mbox_service **svcp)
{
	struct mbox_service *svc = *svcp;

	if (svc == NULL)
		return;
	for (struct mbox_user **pp = &svc->users; *pp != NULL; ) {
		struct mbox_user *u = *pp;

		if (u->refs > 0) {
			pp = &u->next;
			continue;
		}
		*pp = u->next;
		mbox_user_destroy(u);
	}
	if (svc->users != NULL)
		log_warnx("- mailbox service-free users-still-open");
	mbox_watcher_free(&svc->watcher);
	pthread_mutex_destroy(&svc->lock);
	free(svc);
	*svcp = NULL;
}

/* ---- small files of the user ---- */

static int
mbox_user_file(const struct mbox_user *user, const char *name, char *dst,
    size_t size)
{
	return fsio_pathf(dst, size, "%s/%s", user->path, name);
}

static void
mbox_read_small(const struct mbox_user *user, const char *name,
    struct fbuf *b)
{
	char file[PATH_MAX];

	fbuf_init(b, 0);
	if (mbox_user_file(user, name, file, sizeof(file)) == 0 &&
	    fsio_read_file(file, b, MBOX_SMALL_FILE_MAX) < 0)
		fbuf_reset(b);
}

static int
mbox_write_small(const struct mbox_user *user, const char *name,
    const struct fbuf *b)
{
	char file[PATH_MAX];

	if (mbox_user_file(user, name, file, sizeof(file)) < 0)
		return -1;
	if (fsio_replace_file(file, b->data != NULL ? b->data : "", b->len,
	    0600) == 0)
		return 0;
	log_warn("- mailbox write-failed file=%s", log_q(file));
	return -1;
}

static void
mbox_subs_load(const struct mbox_user *user, struct mbox_strs *names)
{
	struct fbuf b;

	mbox_read_small(user, MBOX_SUBS_FILE, &b);
	mbox_subs_parse(fbuf_str(&b), b.len, names);
	fbuf_release(&b);
}

static int
mbox_subs_save(const struct mbox_user *user, const struct mbox_strs *names)
{
	struct fbuf b;
	int r;

	fbuf_init(&b, 0);
	mbox_subs_format(names, &b);
	r = mbox_write_small(user, MBOX_SUBS_FILE, &b);
	fbuf_release(&b);
	return r;
}

static void
mbox_specials_load(const struct mbox_user *user, struct mbox_specials *sp)
{
	struct fbuf b;

	memset(sp, 0, sizeof(*sp));
	mbox_read_small(user, MBOX_SPECIAL_FILE, &b);
	mbox_specials_parse(fbuf_str(&b), b.len, sp);
	fbuf_release(&b);
}

static int
mbox_specials_save(const struct mbox_user *user,
    const struct mbox_specials *sp)
{
	struct fbuf b;
	int r;

	fbuf_init(&b, 0);
	mbox_specials_format(sp, &b);
	r = mbox_write_small(user, MBOX_SPECIAL_FILE, &b);
	fbuf_release(&b);
	return r;
}

static void
mbox_specials_set(struct mbox_specials *sp, const char *name,
    enum mbox_special use)
{
	ssize_t i = mbox_strs_find(&sp->names, name);

	if (i >= 0) {
		sp->use[i] = use;
		return;
	}
	sp->use = xreallocarray(sp->use, sp->names.n + 1, sizeof(*sp->use));
	sp->use[sp->names.n] = use;
	mbox_strs_add(&sp->names, name);
}

/* ---- directories ---- */

int
mbox_name_path(const char *maildir, const char *name, char *dst,
    size_t size, struct mbox_error *err)
{
	char dir[MBOX_DIRNAME_MAX + 2];

	if (mbox_name_check(name, err) < 0)
		return -1;
	if (mbox_name_to_dir(name, dir, sizeof(dir)) < 0 ||
	    fsio_pathf(dst, size, "%s%s%s", maildir, dir[0] != '\0' ?
	    "/" : "", dir) < 0)
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Mailbox name too long");
	return 0;
}

/* spam_folder given as a special use ("\\Junk"): the name of the folder
 * the Maildir's `ferry-special-use` gives that use, into name.  Before
 * the first IMAP login there is no such file yet, and the default folder
 * that will get the use (Junk) is taken, so that login finds it there.
 * -1 when the file names no folder with the use (the user deleted it:
 * such mail stays in INBOX) or cannot be read. */
static int
mbox_delivery_special(const char *maildir, enum mbox_special use,
    char *name, size_t size)
{
	char file[PATH_MAX];
	struct mbox_specials sp;
	struct fbuf b;
	int r = -1;

	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_SPECIAL_FILE,
	    maildir) < 0)
		return -1;
	fbuf_init(&b, 0);
	if (fsio_read_file(file, &b, MBOX_SMALL_FILE_MAX) < 0) {
		bool missing = errno == ENOENT;

		fbuf_release(&b);
		for (size_t i = 0; missing && i <
		    sizeof(mbox_default_folders) /
		    sizeof(*mbox_default_folders); i++)
			if (mbox_default_folders[i].use == use)
				return str_lcpy(name, mbox_default_folders[i].name,
				    size) < size ? 0 : -1;
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	mbox_specials_parse(fbuf_str(&b), b.len, &sp);
	for (size_t i = 0; i < sp.names.n && r < 0; i++)
		if (sp.use[i] == use)
			r = str_lcpy(name, sp.names.v[i], size) < size ? 0 : -1;
	mbox_specials_free(&sp);
	fbuf_release(&b);
	return r;
}

const char *
mbox_delivery_dir(const char *maildir, const char *spam_folder, bool spam,
    char *dst, size_t size)
{
	struct mbox_error err;
	char name[MBOX_NAME_MAX + 1];
	enum mbox_special use;

	if (!spam || spam_folder[0] == '\0')
		return NULL;
	if (spam_folder[0] == '\\') {
		use = mbox_special_parse(spam_folder);
		if (use == MBOX_SPECIAL_NONE || mbox_delivery_special(maildir,
		    use, name, sizeof(name)) < 0)
			return NULL;
		spam_folder = name;
	}
	if (mbox_name_is_inbox(spam_folder) ||
	    mbox_name_path(maildir, spam_folder, dst, size, &err) < 0)
		return NULL;
	return dst;
}

int
mbox_folder_dir(const struct mbox_user *user, const char *name, char *dst,
    size_t size, struct mbox_error *err)
{
	return mbox_name_path(user->path, name, dst, size, err);
}

uint32_t
mbox_uidvalidity_next(const char *path)
{
	char file[PATH_MAX], text[32];
	uint64_t last = 0, now = (uint64_t)time(NULL), next;
	struct fbuf b;
	int n;

	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_UIDVALIDITY_FILE,
	    path) < 0)
		return (uint32_t)now;
	fbuf_init(&b, 32);
	if (fsio_read_file(file, &b, 32) == 0)
		(void)str_parse_uint(str_trim(b.data), 0, UINT32_MAX, &last);
	fbuf_release(&b);
	next = now > last ? now : last + 1;
	if (next > UINT32_MAX)
		next = 1;
	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)next);
	if (fsio_replace_file(file, text, (size_t)n, 0600) < 0)
		log_warn("- mailbox write-failed file=%s", log_q(file));
	return (uint32_t)next;
}

static bool
mbox_dir_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Builds a complete folder under tmp/ and renames it to dir.  0, or -1
 * with errno (EEXIST / ENOTEMPTY when dir is there). */
static int
mbox_folder_make(const struct mbox_user *user, const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	char tmp[PATH_MAX], sub[PATH_MAX];
	int saved, fd;

	if (fsio_pathf(tmp, sizeof(tmp), "%s/tmp/ferry-folder.%016llx",
	    user->path, (unsigned long long)ids_random()) < 0 ||
	    mkdir(tmp, 0700) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (fsio_pathf(sub, sizeof(sub), "%s/%s", tmp, subs[i]) < 0 ||
		    mkdir(sub, 0700) < 0)
			goto fail;
	/* Maildir++: marks a subfolder (deliverquota looks for it). */
	if (fsio_pathf(sub, sizeof(sub), "%s/maildirfolder", tmp) < 0 ||
	    (fd = open(sub, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		goto fail;
	close(fd);
	if (uidlist_create(tmp, mbox_uidvalidity_next(user->path)) < 0)
		goto fail;
	if (rename(tmp, dir) < 0)
		goto fail;
	return fsio_fsync_parent(dir);
fail:
	saved = errno;
	fsio_remove_tree(tmp);
	errno = saved;
	return -1;
}

/* Creates each missing ancestor of name (not name itself). */
static int
mbox_folder_make_parents(const struct mbox_user *user, const char *name,
    struct mbox_error *err)
{
	char part[MBOX_NAME_MAX + 1], dir[PATH_MAX];

	for (const char *p = strchr(name, '/'); p != NULL;
	    p = strchr(p + 1, '/')) {
		memcpy(part, name, (size_t)(p - name));
		part[p - name] = '\0';
		if (mbox_name_is_inbox(part))
			continue;
		if (mbox_folder_dir(user, part, dir, sizeof(dir), err) < 0)
			return -1;
		if (!mbox_dir_exists(dir) && mbox_folder_make(user, dir) < 0 &&
		    errno != EEXIST && errno != ENOTEMPTY) {
			log_warn("- mailbox create-failed dir=%s", log_q(dir));
			return mbox_fail(err, MBOX_ERR_TEMP,
			    "Cannot create mailbox");
		}
	}
	return 0;
}

/* ---- users ---- */

/* First open ever of this Maildir: the special-use folders.  The file
 * `ferry-special-use` records that it was done (and which is which), so
 * a folder the user deletes later does not come back. */
static void
mbox_user_setup(struct mbox_user *user)
{
	struct mbox_specials sp;
	struct mbox_strs subs;
	char file[PATH_MAX], dir[PATH_MAX];
	struct stat st;

	if (mbox_user_file(user, MBOX_SPECIAL_FILE, file, sizeof(file)) < 0 ||
	    stat(file, &st) == 0)
		return;
	memset(&subs, 0, sizeof(subs));
	mbox_specials_load(user, &sp);
	mbox_subs_load(user, &subs);
	for (size_t i = 0; i < sizeof(mbox_default_folders) /
	    sizeof(*mbox_default_folders); i++) {
		const char *name = mbox_default_folders[i].name;

		if (mbox_folder_dir(user, name, dir, sizeof(dir), NULL) < 0)
			continue;
		if (!mbox_dir_exists(dir) && mbox_folder_make(user, dir) < 0 &&
		    errno != EEXIST && errno != ENOTEMPTY) {
			log_warn("- mailbox create-failed dir=%s", log_q(dir));
			continue;
		}
		mbox_specials_set(&sp, name, mbox_default_folders[i].use);
		if (mbox_strs_find(&subs, name) < 0)
			mbox_strs_add(&subs, name);
	}
	if (mbox_strs_find(&subs, "INBOX") < 0)
		mbox_strs_add(&subs, "INBOX");
	mbox_subs_save(user, &subs);
	mbox_specials_save(user, &sp);
	mbox_specials_free(&sp);
	mbox_strs_free(&subs);
}

/* Frees a user nobody has open, already off svc->users. */
static void
mbox_user_destroy(struct mbox_user *user)
{
	mbox_index_close(user);
	pthread_mutex_destroy(&user->lock);
	free(user);
}

/* Takes off svc->users (svc->lock held) the lingering users past their
 * time, and the oldest beyond MBOX_USER_LINGER_MAX; returns them chained
 * by next, for mbox_user_destroy() outside the lock. */
static struct mbox_user *
mbox_user_expire(struct mbox_service *svc, time_t now)
{
	struct mbox_user **pp, **oldest, *u, *out = NULL;
	unsigned n = 0;

	for (pp = &svc->users; (u = *pp) != NULL; ) {
		if (u->refs == 0 && now - u->idle_since >= MBOX_USER_LINGER) {
			*pp = u->next;
			u->next = out;
			out = u;
			continue;
		}
		n += u->refs == 0;
		pp = &u->next;
	}
	while (n-- > MBOX_USER_LINGER_MAX) {
		oldest = NULL;
		for (pp = &svc->users; (u = *pp) != NULL; pp = &u->next)
			if (u->refs == 0 && (oldest == NULL ||
			    u->idle_since < (*oldest)->idle_since))
				oldest = pp;
		u = *oldest;
		*oldest = u->next;
		u->next = out;
		out = u;
	}
	return out;
}

static void
mbox_user_destroy_list(struct mbox_user *u)
{
	struct mbox_user *next;

	for (; u != NULL; u = next) {
		next = u->next;
		mbox_user_destroy(u);
	}
}

/* A lingering user taken up again (user->lock held): its state stays
 * only when nobody else changed the index or replaced the files. */
static void
mbox_user_revive(struct mbox_user *user)
{
	struct mbox_index_stamp now;

	user->stamped = false;
	if (mbox_index_stamp(user, &now) == 0 &&
	    now.dev == user->stamp.dev && now.ino == user->stamp.ino &&
	    now.idx_dev == user->stamp.idx_dev &&
	    now.idx_ino == user->stamp.idx_ino &&
	    now.idx_mtime.tv_sec == user->stamp.idx_mtime.tv_sec &&
	    now.idx_mtime.tv_nsec == user->stamp.idx_mtime.tv_nsec &&
	    now.data_version == user->stamp.data_version)
		return;
	mbox_index_close(user);
	user->ready = false;
}

int
mbox_user_open(struct mbox_service *svc, const char *path, uint64_t quota,
    struct mbox_user **user_r, struct mbox_error *err)
{
	struct mbox_user *user, *expired;

	*user_r = NULL;
	pthread_mutex_lock(&svc->lock);
	expired = mbox_user_expire(svc, time(NULL));
	for (user = svc->users; user != NULL; user = user->next)
		if (strcmp(user->path, path) == 0)
			break;
	if (user == NULL) {
		user = xcalloc(1, sizeof(*user));
		if (str_lcpy(user->path, path, sizeof(user->path)) >=
		    sizeof(user->path)) {
			free(user);
			pthread_mutex_unlock(&svc->lock);
			mbox_user_destroy_list(expired);
			return mbox_fail(err, MBOX_ERR_TEMP,
			    "Mailbox path too long");
		}
		user->svc = svc;
		pthread_mutex_init(&user->lock, NULL);
		user->next = svc->users;
		svc->users = user;
	}
	user->refs++;
	pthread_mutex_unlock(&svc->lock);
	mbox_user_destroy_list(expired);

	mbox_user_lock(user);
	/* the first opener after a linger checks it (no views exist yet) */
	if (user->stamped)
		mbox_user_revive(user);
	user->quota = quota;
	if (!user->ready) {
		if (maildir_create(path) < 0) {
			log_warn("- mailbox maildir-create-failed path=%s",
			    log_q(path));
			pthread_mutex_unlock(&user->lock);
			mbox_user_close(&user);
			return mbox_fail(err, MBOX_ERR_TEMP,
			    "Cannot open the mailbox");
		}
		mbox_user_setup(user);
		user->ready = true;
	}
	/* An index that cannot be opened now is retried by each sync. */
	(void)mbox_index_open(user);
	pthread_mutex_unlock(&user->lock);
	*user_r = user;
	return 0;
}

void
mbox_user_close(struct mbox_user **userp)
{
	struct mbox_user *user = *userp, *expired;
	struct mbox_service *svc;
	time_t now = time(NULL);

	if (user == NULL)
		return;
	*userp = NULL;
	svc = user->svc;
	pthread_mutex_lock(&svc->lock);
	if (--user->refs > 0) {
		pthread_mutex_unlock(&svc->lock);
		return;
	}
	/* Lingers (MBOX_USER_LINGER), stamped while nobody can open it. */
	mbox_user_lock(user);
	user->stamped = mbox_index_stamp(user, &user->stamp) == 0;
	if (!user->stamped) {
		mbox_index_close(user);
		user->ready = false;
	}
	pthread_mutex_unlock(&user->lock);
	user->idle_since = now;
	expired = mbox_user_expire(svc, now);
	pthread_mutex_unlock(&svc->lock);
	mbox_user_destroy_list(expired);
}

struct mbox_user *
mbox_user_ref(struct mbox_user *user)
{
	pthread_mutex_lock(&user->svc->lock);
	user->refs++;
	pthread_mutex_unlock(&user->svc->lock);
	return user;
}

const char *
mbox_user_path(const struct mbox_user *user)
{
	return user->path;
}

int
mbox_user_quota(struct mbox_user *user, uint64_t *bytes_r,
    uint64_t *count_r, uint64_t *limit_r)
{
	int r;

	mbox_user_lock(user);
	*limit_r = user->quota;
	r = maildir_quota_usage(user->path, bytes_r, count_r);
	pthread_mutex_unlock(&user->lock);
	return r;
}

/* ---- listing ---- */

static int
mbox_info_cmp(const void *a, const void *b)
{
	const struct mbox_folder_info *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
mbox_list_add(struct mbox_folder_list *l, size_t *cap, const char *name,
    unsigned flags)
{
	if (l->n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		l->v = xreallocarray(l->v, *cap, sizeof(*l->v));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].flags = flags;
	l->n++;
}

static ssize_t
mbox_list_find(const struct mbox_folder_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Every ".Folder" directory of the Maildir whose name decodes. */
static int
mbox_list_scan(struct mbox_user *user, struct mbox_folder_list *l,
    size_t *cap)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct fbuf b;
	DIR *d;

	if ((d = opendir(user->path)) == NULL)
		return -1;
	fbuf_init(&b, 0);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || mbox_name_from_dir(de->d_name,
		    &b) < 0)
			continue;
		if (fsio_pathf(sub, sizeof(sub), "%s/%s", user->path,
		    de->d_name) < 0 || !mbox_dir_exists(sub))
			continue;
		if (fsio_pathf(sub, sizeof(sub), "%s/%s/cur", user->path,
		    de->d_name) < 0)
			continue;
		mbox_list_add(l, cap, b.data, mbox_dir_exists(sub) ? 0 :
		    MBOX_FOLDER_F_NOSELECT);
	}
	fbuf_release(&b);
	closedir(d);
	return 0;
}

/* Parents that exist only through their children are listed as
 * \Noselect, so that "%" walks reach the children. */
static void
mbox_list_parents(struct mbox_folder_list *l, size_t *cap)
{
	char part[MBOX_NAME_MAX + 1];
	size_t n = l->n;

	for (size_t i = 0; i < n; i++) {
		const char *name = l->v[i].name;

		for (const char *p = strchr(name, '/'); p != NULL;
		    p = strchr(p + 1, '/')) {
			memcpy(part, name, (size_t)(p - name));
			part[p - name] = '\0';
			if (strcmp(part, "INBOX") != 0 &&
			    mbox_list_find(l, part) < 0)
				mbox_list_add(l, cap, part,
				    MBOX_FOLDER_F_NOSELECT);
		}
	}
}

int
mbox_folder_list(struct mbox_user *user, struct mbox_folder_list *list_r,
    struct mbox_error *err)
{
	struct mbox_specials sp;
	struct mbox_strs subs;
	size_t cap = 0, nfolders;
	ssize_t k;

	memset(list_r, 0, sizeof(*list_r));
	memset(&subs, 0, sizeof(subs));
	mbox_user_lock(user);
	mbox_list_add(list_r, &cap, "INBOX", 0);
	if (mbox_list_scan(user, list_r, &cap) < 0) {
		pthread_mutex_unlock(&user->lock);
		mbox_folder_list_free(list_r);
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot list mailboxes");
	}
	mbox_list_parents(list_r, &cap);
	mbox_subs_load(user, &subs);
	mbox_specials_load(user, &sp);
	pthread_mutex_unlock(&user->lock);
	if (list_r->n > 2)
		qsort(list_r->v + 1, list_r->n - 1, sizeof(*list_r->v),
		    mbox_info_cmp);
	nfolders = list_r->n;
	for (size_t i = 0; i < nfolders; i++) {
		struct mbox_folder_info *f = &list_r->v[i];
		size_t len = strlen(f->name);

		for (size_t j = 0; j < nfolders; j++)
			if (strncmp(list_r->v[j].name, f->name, len) == 0 &&
			    list_r->v[j].name[len] == '/')
				f->flags |= MBOX_FOLDER_F_HASCHILDREN;
		if (mbox_strs_find(&subs, f->name) >= 0)
			f->flags |= MBOX_FOLDER_F_SUBSCRIBED;
		if ((k = mbox_strs_find(&sp.names, f->name)) >= 0)
			f->special = sp.use[k];
	}
	for (size_t i = 0; i < subs.n; i++)
		if (mbox_list_find(list_r, subs.v[i]) < 0)
			mbox_list_add(list_r, &cap, subs.v[i],
			    MBOX_FOLDER_F_SUBSCRIBED |
			    MBOX_FOLDER_F_NONEXISTENT);
	mbox_strs_free(&subs);
	mbox_specials_free(&sp);
	return 0;
}

void
mbox_folder_list_free(struct mbox_folder_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i].name);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

/* ---- create, delete, rename ---- */

static int
mbox_folder_create_locked(struct mbox_user *user, const char *name,
    enum mbox_special special, struct mbox_error *err)
{
	struct mbox_specials sp;
	char dir[PATH_MAX];

	if (mbox_folder_dir(user, name, dir, sizeof(dir), err) < 0)
		return -1;
	if (mbox_name_is_inbox(name) || mbox_dir_exists(dir))
		return mbox_fail(err, MBOX_ERR_EXISTS,
		    "Mailbox already exists");
	if (mbox_folder_make_parents(user, name, err) < 0)
		return -1;
	if (mbox_folder_make(user, dir) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			return mbox_fail(err, MBOX_ERR_EXISTS,
			    "Mailbox already exists");
		log_warn("- mailbox create-failed dir=%s", log_q(dir));
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot create mailbox");
	}
	/* Rows left in the index from an earlier folder of this name. */
	mbox_index_forget(user, name);
	if (special != MBOX_SPECIAL_NONE) {
		mbox_specials_load(user, &sp);
		mbox_specials_set(&sp, name, special);
		mbox_specials_save(user, &sp);
		mbox_specials_free(&sp);
	}
	return 0;
}

int
mbox_folder_create(struct mbox_user *user, const char *name,
    enum mbox_special special, struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	int r;

	if (mbox_name_check(name, err) < 0)
		return -1;
	mbox_name_canon(name, canon, sizeof(canon));
	mbox_user_lock(user);
	r = mbox_folder_create_locked(user, canon, special, err);
	pthread_mutex_unlock(&user->lock);
	return r;
}

/* Directory entries of the Maildir for name and its children:
 * ".a" and ".a.*" for "a". */
static void
mbox_folder_family(const struct mbox_user *user, const char *dir,
    struct mbox_strs *out)
{
	const char *base = strrchr(dir, '/') + 1;
	size_t len = strlen(base);
	struct dirent *de;
	DIR *d;

	if ((d = opendir(user->path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, base, len) == 0 &&
		    (de->d_name[len] == '\0' || de->d_name[len] == '.'))
			mbox_strs_add(out, de->d_name);
	closedir(d);
}

static int
mbox_folder_delete_locked(struct mbox_user *user, const char *name,
    struct mbox_error *err)
{
	struct mbox_specials sp;
	struct mbox_strs fam;
	char dir[PATH_MAX], trash[PATH_MAX];
	ssize_t k;

	if (mbox_name_is_inbox(name))
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "INBOX cannot be deleted");
	if (mbox_folder_dir(user, name, dir, sizeof(dir), err) < 0)
		return -1;
	if (!mbox_dir_exists(dir))
		return mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox does not exist");
	memset(&fam, 0, sizeof(fam));
	mbox_folder_family(user, dir, &fam);
	k = fam.n;
	mbox_strs_free(&fam);
	if (k > 1)
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "Mailbox has children, delete them first");
	/* Gone from every listing in one step, then removed at leisure. */
	if (fsio_pathf(trash, sizeof(trash), "%s/tmp/ferry-deleted.%016llx",
	    user->path, (unsigned long long)ids_random()) < 0 ||
	    rename(dir, trash) < 0) {
		log_warn("- mailbox delete-failed dir=%s", log_q(dir));
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot delete mailbox");
	}
	if (fsio_remove_tree(trash) < 0)
		log_warn("- mailbox delete-incomplete dir=%s", log_q(trash));
	fsio_fsync_dir(user->path);
	/* Its messages counted in maildirsize: recalculated next time. */
	if (user->quota > 0 &&
	    fsio_pathf(trash, sizeof(trash), "%s/maildirsize", user->path) ==
	    0)
		unlink(trash);
	mbox_index_forget(user, name);
	mbox_specials_load(user, &sp);
	if ((k = mbox_strs_find(&sp.names, name)) >= 0) {
		free(sp.names.v[k]);
		sp.names.v[k] = sp.names.v[--sp.names.n];
		sp.use[k] = sp.use[sp.names.n];
		mbox_specials_save(user, &sp);
	}
	mbox_specials_free(&sp);
	return 0;
}

int
mbox_folder_delete(struct mbox_user *user, const char *name,
    struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	int r;

	if (mbox_name_check(name, err) < 0)
		return -1;
	mbox_name_canon(name, canon, sizeof(canon));
	mbox_user_lock(user);
	r = mbox_folder_delete_locked(user, canon, err);
	pthread_mutex_unlock(&user->lock);
	return r;
}

/* name renamed when it is from or inside from: to + the rest. */
static bool
mbox_renamed(const char *name, const char *from, const char *to, char *dst,
    size_t size)
{
	size_t len = strlen(from);

	if (strncmp(name, from, len) != 0 ||
	    (name[len] != '\0' && name[len] != '/'))
		return false;
	return (size_t)snprintf(dst, size, "%s%s", to, name + len) < size;
}

static void
mbox_rename_lists(struct mbox_user *user, const char *from, const char *to)
{
	struct mbox_specials sp;
	struct mbox_strs subs;
	char nn[MBOX_NAME_MAX * 2 + 2];
	bool changed = false;

	memset(&subs, 0, sizeof(subs));
	mbox_subs_load(user, &subs);
	for (size_t i = 0; i < subs.n; i++)
		if (mbox_renamed(subs.v[i], from, to, nn, sizeof(nn)) &&
		    mbox_name_check(nn, NULL) == 0) {
			free(subs.v[i]);
			subs.v[i] = xstrdup(nn);
			changed = true;
		}
	if (changed)
		mbox_subs_save(user, &subs);
	mbox_strs_free(&subs);
	changed = false;
	mbox_specials_load(user, &sp);
	for (size_t i = 0; i < sp.names.n; i++)
		if (mbox_renamed(sp.names.v[i], from, to, nn, sizeof(nn)) &&
		    mbox_name_check(nn, NULL) == 0) {
			free(sp.names.v[i]);
			sp.names.v[i] = xstrdup(nn);
			changed = true;
		}
	if (changed)
		mbox_specials_save(user, &sp);
	mbox_specials_free(&sp);
}

/* Renames ".from*" entries to ".to*".  Children first would leave the
 * parent without them for a moment; parent first is the same; so one
 * by one, and a failure part-way puts back what moved. */
static int
mbox_rename_dirs(struct mbox_user *user, const char *fdir, const char *tdir,
    const struct mbox_strs *fam)
{
	const char *fbase = strrchr(fdir, '/') + 1;
	const char *tbase = strrchr(tdir, '/') + 1;
	char a[PATH_MAX], b[PATH_MAX];
	size_t done;

	for (done = 0; done < fam->n; done++) {
		const char *rest = fam->v[done] + strlen(fbase);

		if (fsio_pathf(a, sizeof(a), "%s/%s", user->path,
		    fam->v[done]) < 0 || fsio_pathf(b, sizeof(b),
		    "%s/%s%s", user->path, tbase, rest) < 0 ||
		    strlen(strrchr(b, '/') + 1) > MBOX_DIRNAME_MAX ||
		    rename(a, b) < 0)
			break;
	}
	if (done == fam->n)
	{
		(void)fsio_fsync_dir(user->path);
		return 0;
	}
	log_warn("- mailbox rename-failed from=%s", log_q(fam->v[done]));
	while (done-- > 0) {
		const char *rest = fam->v[done] + strlen(fbase);

		if (fsio_pathf(a, sizeof(a), "%s/%s", user->path,
		    fam->v[done]) == 0 && fsio_pathf(b, sizeof(b), "%s/%s%s",
		    user->path, tbase, rest) == 0)
			(void)rename(b, a);
	}
	return -1;
}

static int
mbox_folder_rename_locked(struct mbox_user *user, const char *from,
    const char *to, struct mbox_error *err)
{
	char fdir[PATH_MAX], tdir[PATH_MAX];
	struct mbox_strs fam;
	size_t flen = strlen(from);
	int r;

	if (mbox_name_is_inbox(from))
		return mbox_fail(err, MBOX_ERR_NOTALLOWED,
		    "INBOX is renamed by moving its messages");
	if (mbox_name_is_inbox(to))
		return mbox_fail(err, MBOX_ERR_EXISTS,
		    "Mailbox already exists");
	if (strncmp(to, from, flen) == 0 && (to[flen] == '/' ||
	    to[flen] == '\0'))
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Cannot rename a mailbox into itself");
	if (mbox_folder_dir(user, from, fdir, sizeof(fdir), err) < 0 ||
	    mbox_folder_dir(user, to, tdir, sizeof(tdir), err) < 0)
		return -1;
	if (!mbox_dir_exists(fdir))
		return mbox_fail(err, MBOX_ERR_NOTFOUND,
		    "Mailbox does not exist");
	if (mbox_dir_exists(tdir))
		return mbox_fail(err, MBOX_ERR_EXISTS,
		    "Mailbox already exists");
	if (mbox_folder_make_parents(user, to, err) < 0)
		return -1;
	memset(&fam, 0, sizeof(fam));
	mbox_folder_family(user, fdir, &fam);
	r = mbox_rename_dirs(user, fdir, tdir, &fam);
	mbox_strs_free(&fam);
	if (r < 0)
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot rename mailbox");
	mbox_index_rename(user, from, to);
	mbox_rename_lists(user, from, to);
	return 0;
}

int
mbox_folder_rename(struct mbox_user *user, const char *from, const char *to,
    struct mbox_error *err)
{
	char cfrom[MBOX_NAME_MAX + 1], cto[MBOX_NAME_MAX + 1];
	int r;

	if (mbox_name_check(from, err) < 0 || mbox_name_check(to, err) < 0)
		return -1;
	mbox_name_canon(from, cfrom, sizeof(cfrom));
	mbox_name_canon(to, cto, sizeof(cto));
	mbox_user_lock(user);
	r = mbox_folder_rename_locked(user, cfrom, cto, err);
	pthread_mutex_unlock(&user->lock);
	return r;
}

int
mbox_folder_subscribe(struct mbox_user *user, const char *name,
    bool subscribe, struct mbox_error *err)
{
	char canon[MBOX_NAME_MAX + 1];
	struct mbox_strs subs;
	ssize_t k;
	int r = 0;

	if (mbox_name_check(name, err) < 0)
		return -1;
	mbox_name_canon(name, canon, sizeof(canon));
	memset(&subs, 0, sizeof(subs));
	mbox_user_lock(user);
	mbox_subs_load(user, &subs);
	k = mbox_strs_find(&subs, canon);
	if (subscribe && k < 0) {
		mbox_strs_add(&subs, canon);
		r = mbox_subs_save(user, &subs);
	} else if (!subscribe && k >= 0) {
		free(subs.v[k]);
		subs.v[k] = subs.v[--subs.n];
		r = mbox_subs_save(user, &subs);
	}
	pthread_mutex_unlock(&user->lock);
	mbox_strs_free(&subs);
	return r < 0 ? mbox_fail(err, MBOX_ERR_TEMP,
	    "Cannot save subscriptions") : 0;
}

bool
mbox_folder_exists(struct mbox_user *user, const char *name)
{
	char dir[PATH_MAX], cur[PATH_MAX];

	if (mbox_folder_dir(user, name, dir, sizeof(dir), NULL) < 0 ||
	    fsio_pathf(cur, sizeof(cur), "%s/cur", dir) < 0)
		return false;
	return mbox_dir_exists(cur);
}

int
mbox_folder_status(struct mbox_user *user, const char *name,
    struct mbox_status *st, struct mbox_error *err)
{
	struct mbox_fstate *fs;

	memset(st, 0, sizeof(*st));
	mbox_user_lock(user);
	fs = mbox_index_sync(user, name, true, false, NULL, NULL, err);
	if (fs != NULL) {
		st->messages = (uint32_t)fs->n;
		st->uidnext = fs->uidnext;
		st->uidvalidity = fs->uidvalidity;
		st->highestmodseq = fs->highestmodseq;
		st->recent = mbox_fstate_recent(fs);
		for (size_t i = 0; i < fs->n; i++) {
			const struct mbox_rec *r = &fs->v[i];

			st->unseen += (r->flags & MBOX_F_SEEN) == 0;
			st->deleted += (r->flags & MBOX_F_DELETED) != 0;
			st->size += r->size;
		}
	}
	pthread_mutex_unlock(&user->lock);
	return fs != NULL ? 0 : -1;
}
