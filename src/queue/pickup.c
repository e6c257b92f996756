/* The pickup (pickup.h): maildrop files into the spool.  A file is
 * trusted for nothing but its owner, who is the local user that ran
 * `ferry sendmail` (the directory is sticky and world-writable, so a user
 * can only create, rename and remove files of their own).  It must be a
 * regular file with one link, its records and every content line must
 * pass queue/maildrop.c, and its recipients are resolved like an SMTP
 * client's; unknown local recipients fail at once (the queue bounces them
 * to the sender).  The spool commit comes first and the file goes after
 * it, so a crash between the two gives a duplicate, never a loss.  A file
 * that can never be taken is logged and removed; a temporary failure (the
 * store, a full disk) leaves it for the next scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "msgauth/dkim_keys.h"
#include "queue/maildrop.h"
#include "queue/pickup.h"
#include "queue/spool.h"

#define PICKUP_TMP_MAX_AGE (24 * 3600)	/* an abandoned tmp. file */
#define PICKUP_IDS_MAX 256		/* messages taken per scan */

struct pickup {
	struct event_base *base;
	struct workpool *pool;
	char dir[PATH_MAX];
	char spool_dir[PATH_MAX];
	pickup_resolve_fn *resolve;
	pickup_wake_fn *wake;
	void *ctx;
	int ino_fd;
	struct event *ino_ev;
	const struct conf *const *confp;	/* the role's current snapshot */
	struct dkim_keyring *const *keysp;	/* the role's signing keys */
	bool running, again;
	bool disabled;			/* the directory is not ours */
};

struct pickup_job {
	struct pickup *p;
	const struct conf *conf;
	struct dkim_keyring *keys;	/* a reference, or NULL: no signing */
	char (*ids)[IDS_LEN + 1];
	size_t nids;
};

/* The outcome of one file. */
enum pickup_result { PICKUP_TAKEN, PICKUP_LATER, PICKUP_DROP };

/* The user name of uid for logs and Received (thread-safe). */
static void
pickup_user(uid_t uid, char *dst, size_t size)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		str_lcpy(dst, pw.pw_name, size);
	else
		snprintf(dst, size, "uid%u", (unsigned)uid);
}

static void
pickup_received(struct fbuf *b, const struct conf *c, const char *user,
    uid_t uid, const char *id)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	fbuf_addf(b, "Received: (from %s uid %u)\r\n\tby %s (Ferry) with "
	    "local id %s; %s\r\n", user, (unsigned)uid, c->hostname, id, date);
}

/* The envelope's recipients from the file's: -1 when the store failed
 * (try later). */
static int
pickup_rcpts(struct pickup_job *j, const struct maildrop_env *md,
    struct spool_env *env)
{
	struct resolve_result res;
	enum resolve_status st;

	for (size_t i = 0; i < md->nrcpts; i++) {
		memset(&res, 0, sizeof(res));
		st = j->p->resolve(j->p->ctx, j->conf, md->rcpts[i], &res);
		if (st == RESOLVE_ERROR)
			return -1;
		for (size_t k = 0; k < (st == RESOLVE_LOCAL ? res.n : 1); k++) {
			struct spool_rcpt *r;

			env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1,
			    sizeof(*env->rcpts));
			r = &env->rcpts[env->nrcpts++];
			memset(r, 0, sizeof(*r));
			r->orig = xstrdup(md->rcpts[i]);
			if (st == RESOLVE_LOCAL) {
				r->local = res.v[k].local;
				r->addr = xstrdup(res.v[k].local ?
				    res.v[k].user : res.v[k].address);
			} else
				r->addr = xstrdup(md->rcpts[i]);
			if (st == RESOLVE_UNKNOWN) {
				r->state = SPOOL_RCPT_FAILED;
				r->last_error = xstrdup("550 5.1.1 no such user "
				    "here");
			}
		}
		resolve_result_free(&res);
	}
	return 0;
}

/* Copies the content after the records into the writer, checking it. */
static int
pickup_copy(int fd, const struct fbuf *head, size_t off, uint64_t max,
    struct spool_writer *w, const char **why_r)
{
	struct maildrop_check chk;
	char buf[65536];
	ssize_t n;

	maildrop_check_init(&chk, max);
	if (maildrop_check_feed(&chk, head->data + off, head->len - off,
	    why_r) < 0)
		return -1;
	if (spool_writer_write(w, head->data + off, head->len - off) < 0)
		return -2;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (maildrop_check_feed(&chk, buf, (size_t)n, why_r) < 0)
			return -1;
		if (spool_writer_write(w, buf, (size_t)n) < 0)
			return -2;
	}
	if (n < 0)
		return -2;
	return maildrop_check_end(&chk, why_r);
}

/* Mail from the machine's own programs is signed like submitted mail
 * when its From domain has a key: a first pass over the content feeds
 * the signer, then fd is put back where pickup_copy goes on reading.
 * The number of signatures appended to sigs (0: none), or -1 when the
 * file cannot be read again (then the pickup waits for the next scan). */
static int
pickup_sign(int fd, const struct fbuf *head, size_t off, uint64_t max,
    const struct dkim_keyring *keys, struct fbuf *sigs, char *domain,
    size_t domain_size)
{
	struct dkim_signer *signer;
	char buf[65536];
	uint64_t total = head->len - off;
	ssize_t n;
	int made = 0;

	domain[0] = '\0';
	if (keys == NULL || !dkim_keyring_any(keys) ||
	    (signer = dkim_signer_new(keys)) == NULL)
		return 0;
	dkim_signer_feed(signer, head->data + off, head->len - off);
	while ((n = read(fd, buf, sizeof(buf))) > 0 && total <= max) {
		total += (uint64_t)n;
		dkim_signer_feed(signer, buf, (size_t)n);
	}
	/* Too big: pickup_copy refuses it, nothing to sign. */
	if (n == 0 && total <= max) {
		made = dkim_signer_finish(signer, time(NULL), sigs);
		str_lcpy(domain, dkim_signer_domain(signer), domain_size);
	}
	dkim_signer_free(&signer);
	if (n < 0 || lseek(fd, (off_t)head->len, SEEK_SET) < 0)
		return -1;
	return made;
}

/* Reads the records: 0 with md filled and *off_r, -1 with *why_r. */
static int
pickup_head(int fd, struct fbuf *head, struct maildrop_env *md,
    size_t *off_r, const char **why_r)
{
	char buf[4096];
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			*why_r = strerror(errno);
			return -1;
		}
		fbuf_add(head, buf, (size_t)n);
		r = maildrop_env_parse(head->data, head->len, md, off_r, why_r);
		if (r == 1)
			return 0;
		if (r < 0)
			return -1;
		if (n == 0 || head->len >= MAILDROP_HEAD_MAX) {
			*why_r = "incomplete records";
			return -1;
		}
	}
}

static void
pickup_env_init(struct spool_env *env, const struct maildrop_env *md,
    const char *user)
{
	memset(env, 0, sizeof(*env));
	env->arrival = time(NULL);
	env->sender = xstrdup(md->sender);
	env->client_addr = xstrdup("local");
	env->client_helo = xstrdup(user);
	env->protocol = xstrdup("local");
}

/* Commits one opened maildrop file to the spool. */
static enum pickup_result
pickup_commit(struct pickup_job *j, int fd, const struct stat *st,
    const char *name)
{
	struct maildrop_env md;
	struct spool_writer *w = NULL;
	struct spool_env env;
	struct fbuf head, rcv, sigs;
	char user[64], id[IDS_LEN + 1], signed_for[256];
	int nsigs = 0;
	const char *why = "cannot write the spool";
	enum pickup_result res = PICKUP_DROP;
	size_t off;
	int r;

	memset(&md, 0, sizeof(md));
	fbuf_init(&head, MAILDROP_HEAD_MAX + 4096);
	fbuf_init(&rcv, 0);
	fbuf_init(&sigs, 0);
	signed_for[0] = '\0';
	memset(&env, 0, sizeof(env));
	pickup_user(st->st_uid, user, sizeof(user));
	if (pickup_head(fd, &head, &md, &off, &why) < 0)
		goto drop;
	pickup_env_init(&env, &md, user);
	if (pickup_rcpts(j, &md, &env) < 0) {
		why = "store unavailable";
		res = PICKUP_LATER;
		goto out;
	}
	if ((nsigs = pickup_sign(fd, &head, off, j->conf->message_size_limit,
	    j->keys, &sigs, signed_for, sizeof(signed_for))) < 0) {
		why = strerror(errno);
		res = PICKUP_LATER;
		goto out;
	}
	if (spool_writer_open(&w, j->p->spool_dir) < 0) {
		res = PICKUP_LATER;
		goto out;
	}
	str_lcpy(id, spool_writer_id(w), sizeof(id));
	pickup_received(&rcv, j->conf, user, st->st_uid, id);
	fbuf_add(&rcv, sigs.data, sigs.len);
	if (spool_writer_write(w, rcv.data, rcv.len) < 0 ||
	    (r = pickup_copy(fd, &head, off, j->conf->message_size_limit, w,
	    &why)) == -2) {
		why = "cannot write the spool";
		res = PICKUP_LATER;
		goto out;
	}
	if (r < 0)
		goto drop;
	if (spool_writer_commit(&w, &env) < 0) {
		res = PICKUP_LATER;
		goto out;
	}
	log_info("%s pickup accepted file=%s user=%s uid=%u from=<%s> "
	    "rcpts=%zu size=%llu", env.id, log_q(name), log_q(user),
	    (unsigned)st->st_uid, log_q(env.sender), md.nrcpts,
	    (unsigned long long)env.size);
	if (nsigs > 0)
		log_info("%s pickup dkim-signed domain=%s signatures=%d",
		    env.id, log_q(signed_for), nsigs);
	if (j->nids < PICKUP_IDS_MAX)
		memcpy(j->ids[j->nids++], env.id, IDS_LEN + 1);
	res = PICKUP_TAKEN;
	goto out;
drop:
	log_warnx("- pickup dropped file=%s user=%s uid=%u reason=%s",
	    log_q(name), log_q(user), (unsigned)st->st_uid, log_q(why));
out:
	if (res == PICKUP_LATER)
		log_warnx("- pickup deferred file=%s reason=%s", log_q(name),
		    log_q(why));
	if (w != NULL)
		spool_writer_abort(&w);
	maildrop_env_free(&md);
	spool_env_free(&env);
	fbuf_release(&head);
	fbuf_release(&rcv);
	fbuf_release(&sigs);
	return res;
}

/* One directory entry: opened without following links and taken only
 * as a regular file with a single link (a hard link to someone else's
 * file would otherwise be read with our rights). */
static void
pickup_one(struct pickup_job *j, int dfd, const char *name)
{
	struct stat st;
	enum pickup_result r;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1 && errno == ELOOP) {
		log_warnx("- pickup dropped file=%s reason=symlink",
		    log_q(name));
		(void)unlinkat(dfd, name, 0);
		return;
	}
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("- pickup cannot-open file=%s", log_q(name));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_warnx("- pickup dropped file=%s reason=%s", log_q(name),
		    "not a regular file with one link");
		r = PICKUP_DROP;
	} else
		r = pickup_commit(j, fd, &st, name);
	close(fd);
	if (r != PICKUP_LATER && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		log_warn("- pickup cannot-remove file=%s", log_q(name));
}

/* A tmp. file nobody finished within a day is garbage. */
static void
pickup_old_tmp(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_mtime + PICKUP_TMP_MAX_AGE < time(NULL) &&
	    unlinkat(dfd, name, 0) == 0)
		log_info("- pickup removed-stale file=%s", log_q(name));
}

static void
pickup_scan_work(void *arg)
{
	struct pickup_job *j = arg;
	struct dirent *de;
	DIR *d;
	int dfd;

	if ((d = opendir(j->p->dir)) == NULL) {
		log_warn("- pickup cannot-scan dir=%s", log_q(j->p->dir));
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL && j->nids < PICKUP_IDS_MAX) {
		if (strncmp(de->d_name, MAILDROP_MSG_PREFIX,
		    strlen(MAILDROP_MSG_PREFIX)) == 0)
			pickup_one(j, dfd, de->d_name);
		else if (strncmp(de->d_name, MAILDROP_TMP_PREFIX,
		    strlen(MAILDROP_TMP_PREFIX)) == 0)
			pickup_old_tmp(dfd, de->d_name);
	}
	closedir(d);
}

static void
pickup_scan_done(void *arg)
{
	struct pickup_job *j = arg;
	struct pickup *p = j->p;

	for (size_t i = 0; i < j->nids; i++)
		p->wake(p->ctx, j->ids[i]);
	p->running = false;
	/* A full scan stopped early: what is left goes in the next one. */
	if (j->nids == PICKUP_IDS_MAX)
		p->again = true;
	conf_unref(&j->conf);
	dkim_keyring_free(&j->keys);
	free(j->ids);
	free(j);
	if (p->again) {
		p->again = false;
		pickup_scan(p);
	}
}

void
pickup_scan(struct pickup *p)
{
	struct pickup_job *j;

	if (p->disabled)
		return;
	if (p->running) {
		p->again = true;
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->conf = conf_ref(*p->confp);
	j->keys = *p->keysp != NULL ? dkim_keyring_ref(*p->keysp) : NULL;
	j->ids = xcalloc(PICKUP_IDS_MAX, sizeof(*j->ids));
	p->running = true;
	workpool_submit(p->pool, pickup_scan_work, pickup_scan_done, j);
}

/* Something was renamed into the directory: scan (coalesced). */
static void
pickup_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pickup *p = arg;
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		any = true;
	if (any)
		pickup_scan(p);
}

int
pickup_start(struct pickup **pp, struct event_base *base,
    struct workpool *pool, const struct conf *const *confp,
    struct dkim_keyring *const *keysp, const char *spool_dir,
    pickup_resolve_fn *resolve, pickup_wake_fn *wake, void *ctx,
    const char **error_r)
{
	struct pickup *p = xcalloc(1, sizeof(*p));
	struct stat st;

	p->base = base;
	p->pool = pool;
	p->confp = confp;
	p->keysp = keysp;
	p->resolve = resolve;
	p->wake = wake;
	p->ctx = ctx;
	p->ino_fd = -1;
	str_lcpy(p->spool_dir, spool_dir, sizeof(p->spool_dir));
	if (conf_maildrop_path(*confp, p->dir, sizeof(p->dir)) < 0) {
		*error_r = "maildrop_dir too long";
		free(p);
		return -1;
	}
	/* Files taken must be removed, which in a sticky directory only
	 * its owner may do for other users' files: else every scan would
	 * queue them again. */
	if (stat(p->dir, &st) == 0 && st.st_uid != geteuid()) {
		log_warnx("- pickup disabled dir=%s reason=\"owned by uid %u, "
		    "not by the server\"", log_q(p->dir), (unsigned)st.st_uid);
		p->disabled = true;
	}
	p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->ino_fd == -1 || inotify_add_watch(p->ino_fd, p->dir,
	    IN_MOVED_TO | IN_ONLYDIR) == -1) {
		/* The periodic rescans still find the files. */
		log_warn("- pickup no-watch dir=%s", log_q(p->dir));
		if (p->ino_fd != -1)
			close(p->ino_fd);
		p->ino_fd = -1;
	} else {
		p->ino_ev = event_new(base, p->ino_fd, EV_READ | EV_PERSIST,
		    pickup_inotify_cb, p);
		event_add(p->ino_ev, NULL);
	}
	*pp = p;
	return 0;
}

void
pickup_stop(struct pickup **pp)
{
	struct pickup *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	if (p->ino_ev != NULL)
		event_free(p->ino_ev);
	if (p->ino_fd != -1)
		close(p->ino_fd);
	free(p);
}
