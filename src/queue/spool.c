/* The durable spool (spool.h): the commit protocol (tmp/ -> queue/<h>/,
 * content before envelope, directory fsync), the envelope text format,
 * atomic envelope rewrites, and start-of-day recovery.  It knows nothing
 * about scheduling or delivery (queue_role.c) and never logs peer data.
 * Envelope records, one per line, values percent-encoded (%, bytes <= 0x20
 * and 0x7f) so no value can contain a separator, CR, LF or NUL:
 *   V 1 | I id | T arrival | Z size | S sender | C client | H helo |
 *   P protocol | A auth-user (optional) | F held (optional) |
 *   W delay (optional: the delay warning was sent) |
 *   J spam (optional: spamd tagged it; local delivery uses spam_folder) |
 *   R state=.. local=0|1 attempts=N next=T orig=.. addr=.. [error=..] | E */
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
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "queue/spool.h"

#define SPOOL_VERSION 1
#define SPOOL_ENV_MAX (16u << 20)	/* an envelope larger is corrupt */
#define SPOOL_WBUF 65536		/* content write buffer */
#define SPOOL_TMP_GRACE (12 * 3600)	/* tmp/ files idle longer: garbage */
#define SPOOL_ORPHAN_GRACE (15 * 60)	/* .msg without .env older: garbage */

struct spool_writer {
	char dir[PATH_MAX];
	char id[IDS_LEN + 1];
	int fd;
	int error;		/* sticky errno of a failed write */
	struct fbuf buf;
	uint64_t size;
	uint64_t stale;		/* bytes a recycled file held before */
};

/* Content files kept for reuse (spool_writer_recycle): open, holding
 * the old message's bytes (`stale`: cut to the new message's size only
 * when it is shorter, by spool_writer_trim on a worker; truncating to
 * zero cost a block free and a block allocation per message), named
 * free/<id> (so tmp/ holds only messages being received).  Creating and deleting a file per message is
 * what the filesystem charges most for at high rates (ext4 without a
 * journal scans past every inode deleted in the last 60 s, 360 s while
 * its inode table block is dirty, on each allocation), so a message delivered straight from tmp/ hands its file
 * to the next one, which only renames it.  Shared by the threads of one
 * process, hence the lock; one spool directory per process. */
#define SPOOL_RECYCLE_MAX 64
static struct {
	pthread_mutex_t lock;
	char dir[PATH_MAX];
	size_t n;
	struct {
		int fd;
		char id[IDS_LEN + 1];
		uint64_t stale;
	} v[SPOOL_RECYCLE_MAX];
} spool_recycled = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void spool_clean_dir(const char *spool_dir, const char *sub,
    time_t now, time_t grace);

static const char *spool_state_names[] = {
	"pending", "done", "failed", "bounced"
};

/* ---- paths ---- */

static int
spool_qpath(char *dst, size_t size, const char *dir, const char *id,
    const char *ext)
{
	if (!ids_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	return fsio_pathf(dst, size, "%s/queue/%c/%s%s", dir, id[IDS_LEN - 1],
	    id, ext);
}

static int
spool_tpath(char *dst, size_t size, const char *dir, const char *id,
    const char *ext)
{
	return fsio_pathf(dst, size, "%s/tmp/%s%s", dir, id, ext);
}

/* free/<id>: an empty content file kept for reuse (spool_writer_recycle). */
static int
spool_fpath(char *dst, size_t size, const char *dir, const char *id)
{
	return fsio_pathf(dst, size, "%s/free/%s", dir, id);
}

int
spool_msg_path(const char *spool_dir, const char *id, char *dst, size_t size)
{
	return spool_qpath(dst, size, spool_dir, id, ".msg");
}

int
spool_init(const char *spool_dir, const char **error_r)
{
	static const char *subs[] = { "tmp", "corrupt", "free", "queue" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 4 + 16; i++) {
		int r;

		if (i < 4)
			r = fsio_pathf(path, sizeof(path), "%s/%s", spool_dir,
			    subs[i]);
		else
			r = fsio_pathf(path, sizeof(path), "%s/queue/%x",
			    spool_dir, (unsigned)(i - 4));
		if (r < 0 || fsio_mkdir_p(path, 0700) < 0) {
			*error_r = "cannot create spool directories";
			return -1;
		}
	}
	return 0;
}

/* ---- writer ---- */

/* A recycled content file renamed to a new id (written to id): its fd,
 * or -1 when there is none (or it vanished: tmp/ cleaning). */
static int
spool_reuse(const char *spool_dir, char id[IDS_LEN + 1], uint64_t *stale_r)
{
	char from[PATH_MAX], to[PATH_MAX];
	char old[IDS_LEN + 1];
	int fd = -1;

	pthread_mutex_lock(&spool_recycled.lock);
	if (spool_recycled.n > 0 && strcmp(spool_recycled.dir,
	    spool_dir) == 0) {
		spool_recycled.n--;
		fd = spool_recycled.v[spool_recycled.n].fd;
		*stale_r = spool_recycled.v[spool_recycled.n].stale;
		memcpy(old, spool_recycled.v[spool_recycled.n].id, sizeof(old));
	}
	pthread_mutex_unlock(&spool_recycled.lock);
	if (fd == -1)
		return -1;
	ids_new(id);
	if (spool_fpath(from, sizeof(from), spool_dir, old) < 0 ||
	    spool_tpath(to, sizeof(to), spool_dir, id, ".msg") < 0 ||
	    rename(from, to) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
spool_writer_open(struct spool_writer **wp, const char *spool_dir)
{
	struct spool_writer *w = xcalloc(1, sizeof(*w));
	char path[PATH_MAX];
	int tries;

	if (str_lcpy(w->dir, spool_dir, sizeof(w->dir)) >= sizeof(w->dir)) {
		free(w);
		errno = ENAMETOOLONG;
		return -1;
	}
	fbuf_init(&w->buf, 0);
	w->fd = spool_reuse(spool_dir, w->id, &w->stale);
	for (tries = 0; tries < 10 && w->fd == -1; tries++) {
		ids_new(w->id);
		if (spool_tpath(path, sizeof(path), spool_dir, w->id,
		    ".msg") < 0)
			break;
		/* Read and write: the direct delivery reads the content
		 * back through this very descriptor (spool_writer_content_fd). */
		w->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
		if (w->fd == -1 && errno != EEXIST)
			break;
	}
	if (w->fd == -1) {
		int saved = errno;

		fbuf_release(&w->buf);
		free(w);
		errno = saved;
		return -1;
	}
	*wp = w;
	return 0;
}

const char *
spool_writer_id(const struct spool_writer *w)
{
	return w->id;
}

uint64_t
spool_writer_size(const struct spool_writer *w)
{
	return w->size;
}

int
spool_writer_flush(struct spool_writer *w)
{
	if (w->error != 0) {
		errno = w->error;
		return -1;
	}
	if (w->buf.len > 0 && fsio_write_all(w->fd, w->buf.data,
	    w->buf.len) < 0) {
		w->error = errno;
		return -1;
	}
	fbuf_reset(&w->buf);
	return 0;
}

int
spool_writer_write(struct spool_writer *w, const void *p, size_t n)
{
	if (w->error != 0) {
		errno = w->error;
		return -1;
	}
	fbuf_add(&w->buf, p, n);
	w->size += n;
	if (w->buf.len >= SPOOL_WBUF)
		return spool_writer_flush(w);
	return 0;
}

void
spool_writer_discard(struct spool_writer *w)
{
	if (w->error == 0)
		w->error = EIO;
	fbuf_release(&w->buf);
	fbuf_init(&w->buf, 0);
	if (w->fd != -1 && ftruncate(w->fd, 0) == 0)
		w->stale = 0;
}

static void
spool_writer_free(struct spool_writer *w)
{
	if (w->fd != -1)
		close(w->fd);
	fbuf_release(&w->buf);
	free(w);
}

static void
spool_writer_unlink_tmp(const struct spool_writer *w)
{
	char path[PATH_MAX];

	if (spool_tpath(path, sizeof(path), w->dir, w->id, ".msg") == 0)
		unlink(path);
	if (spool_tpath(path, sizeof(path), w->dir, w->id, ".env") == 0)
		unlink(path);
}

void
spool_writer_abort(struct spool_writer **wp)
{
	struct spool_writer *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	spool_writer_unlink_tmp(w);
	spool_writer_free(w);
}

void
spool_writer_recycle(struct spool_writer **wp)
{
	struct spool_writer *w = *wp;
	char tpath[PATH_MAX], fpath[PATH_MAX];
	bool kept = false;

	if (w == NULL)
		return;
	if (w->error != 0 || w->fd == -1 || w->buf.len > 0 ||
	    lseek(w->fd, 0, SEEK_SET) != 0 ||
	    spool_tpath(tpath, sizeof(tpath), w->dir, w->id, ".msg") < 0 ||
	    spool_fpath(fpath, sizeof(fpath), w->dir, w->id) < 0 ||
	    rename(tpath, fpath) < 0) {
		spool_writer_abort(wp);
		return;
	}
	pthread_mutex_lock(&spool_recycled.lock);
	if (spool_recycled.n == 0)
		str_lcpy(spool_recycled.dir, w->dir, sizeof(spool_recycled.dir));
	if (spool_recycled.n < SPOOL_RECYCLE_MAX &&
	    strcmp(spool_recycled.dir, w->dir) == 0) {
		spool_recycled.v[spool_recycled.n].fd = w->fd;
		spool_recycled.v[spool_recycled.n].stale = w->stale > w->size ?
		    w->stale : w->size;
		memcpy(spool_recycled.v[spool_recycled.n].id, w->id,
		    sizeof(w->id));
		spool_recycled.n++;
		kept = true;
	}
	pthread_mutex_unlock(&spool_recycled.lock);
	if (kept)
		w->fd = -1;
	else
		unlink(fpath);
	*wp = NULL;
	spool_writer_free(w);
}

void
spool_recycle_drop(void)
{
	char path[PATH_MAX];

	pthread_mutex_lock(&spool_recycled.lock);
	while (spool_recycled.n > 0) {
		spool_recycled.n--;
		if (spool_fpath(path, sizeof(path), spool_recycled.dir,
		    spool_recycled.v[spool_recycled.n].id) == 0)
			unlink(path);
		close(spool_recycled.v[spool_recycled.n].fd);
	}
	pthread_mutex_unlock(&spool_recycled.lock);
}

void
spool_recycle_clean(const char *spool_dir)
{
	spool_clean_dir(spool_dir, "free", 0, -1);
}

/* Writes data to a new file (O_EXCL) and makes it durable.
 * fdatasync, not fsync: the file is new and its size is set by these very
 * writes, and fdatasync still flushes the metadata needed to read the
 * data back (size, block map); it skips only timestamps, which nothing
 * here reads.  The directory entry is made durable by the caller's
 * directory fsync after the rename. */
static int
spool_write_new(const char *path, const void *data, size_t len)
{
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fsio_write_all(fd, data, len) < 0 || fdatasync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* Flushed content, and a recycled file cut to it: what follows reads or
 * syncs the file to its end.  Blocks (shrinking frees blocks): workers
 * only. */
static int
spool_writer_trim(struct spool_writer *w)
{
	if (spool_writer_flush(w) < 0)
		return -1;
	if (w->stale > w->size) {
		if (ftruncate(w->fd, (off_t)w->size) < 0) {
			w->error = errno;
			return -1;
		}
		w->stale = w->size;
	}
	return 0;
}

/* Content durable: flush, fdatasync (see spool_write_new: a new file whose
 * size comes from these writes, also after spool_writer_rewrite), close. */
static int
spool_writer_finish(struct spool_writer *w)
{
	int fd;

	if (spool_writer_trim(w) < 0 || fdatasync(w->fd) < 0)
		return -1;
	fd = w->fd;
	w->fd = -1;
	return close(fd);
}

static int
spool_writer_env(struct spool_writer *w, struct spool_env *env)
{
	char path[PATH_MAX];
	struct fbuf out;
	int r;

	str_lcpy(env->id, w->id, sizeof(env->id));
	env->size = w->size;
	if (spool_tpath(path, sizeof(path), w->dir, w->id, ".env") < 0)
		return -1;
	fbuf_init(&out, 0);
	spool_env_format(env, &out);
	r = spool_write_new(path, out.data, out.len);
	fbuf_release(&out);
	return r;
}

/* Renames content, then the envelope (the commit point), then makes the
 * directory durable.  These three steps and the two data syncs before
 * them are the minimum for rule 1 (nothing lost after 250): without the
 * content sync a crash could leave an envelope naming empty content, and
 * without the envelope sync or the directory fsync the message could
 * vanish although the client was told 250.  Anything failing after the envelope rename takes the
 * message out again: the client will be told 4xx and retry, and a
 * message we might also deliver would become a duplicate. */
static int
spool_writer_publish(struct spool_writer *w)
{
	char tmsg[PATH_MAX], tenv[PATH_MAX], qmsg[PATH_MAX], qenv[PATH_MAX];
	char qdir[PATH_MAX];
	struct stat st;
	int saved;

	if (spool_tpath(tmsg, sizeof(tmsg), w->dir, w->id, ".msg") < 0 ||
	    spool_tpath(tenv, sizeof(tenv), w->dir, w->id, ".env") < 0 ||
	    spool_qpath(qmsg, sizeof(qmsg), w->dir, w->id, ".msg") < 0 ||
	    spool_qpath(qenv, sizeof(qenv), w->dir, w->id, ".env") < 0 ||
	    fsio_pathf(qdir, sizeof(qdir), "%s/queue/%c", w->dir,
	    w->id[IDS_LEN - 1]) < 0)
		return -1;
	if (rename(tmsg, qmsg) < 0)
		return -1;
	if (rename(tenv, qenv) < 0) {
		saved = errno;
		unlink(qmsg);
		errno = saved;
		return -1;
	}
	/* A recovery scan that judged the .msg an orphan in the instant
	 * before the envelope arrived would have removed it: check. */
	if (stat(qmsg, &st) < 0 || fsio_fsync_dir_shared(qdir) < 0) {
		saved = errno;
		unlink(qenv);
		unlink(qmsg);
		errno = saved;
		return -1;
	}
	return 0;
}

int
spool_writer_commit(struct spool_writer **wp, struct spool_env *env)
{
	struct spool_writer *w = *wp;
	int r, saved;

	*wp = NULL;
	r = spool_writer_finish(w);
	if (r == 0)
		r = spool_writer_env(w, env);
	if (r == 0)
		r = spool_writer_publish(w);
	saved = errno;
	if (r < 0)
		spool_writer_unlink_tmp(w);
	spool_writer_free(w);
	errno = saved;
	return r;
}

/* ---- envelope format ---- */

static bool
spool_risky(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%';
}

static void
spool_escape(struct fbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (spool_risky(*p)) {
			fbuf_addc(out, '%');
			fbuf_addc(out, hex[*p >> 4]);
			fbuf_addc(out, hex[*p & 15]);
		} else
			fbuf_addc(out, (char)*p);
	}
}

static void
spool_format_rcpt(const struct spool_rcpt *r, struct fbuf *out)
{
	unsigned st = (unsigned)r->state;

	fbuf_addf(out, "R state=%s local=%d attempts=%u next=%lld orig=",
	    st < 4 ? spool_state_names[st] : "pending", r->local ? 1 : 0,
	    r->attempts, (long long)r->next_attempt);
	spool_escape(out, r->orig);
	fbuf_adds(out, " addr=");
	spool_escape(out, r->addr);
	if (r->last_error != NULL) {
		fbuf_adds(out, " error=");
		spool_escape(out, r->last_error);
	}
	fbuf_addc(out, '\n');
}

static void
spool_format_str(struct fbuf *out, char type, const char *s)
{
	fbuf_addc(out, type);
	fbuf_addc(out, ' ');
	spool_escape(out, s);
	fbuf_addc(out, '\n');
}

void
spool_env_format(const struct spool_env *env, struct fbuf *out)
{
	size_t i;

	fbuf_addf(out, "V %d\nI %s\nT %lld\nZ %llu\n", SPOOL_VERSION, env->id,
	    (long long)env->arrival, (unsigned long long)env->size);
	spool_format_str(out, 'S', env->sender);
	spool_format_str(out, 'C', env->client_addr);
	spool_format_str(out, 'H', env->client_helo);
	spool_format_str(out, 'P', env->protocol);
	if (env->auth_user != NULL)
		spool_format_str(out, 'A', env->auth_user);
	if (env->held)
		fbuf_adds(out, "F held\n");
	if (env->held && env->hold_reason != NULL)
		spool_format_str(out, 'K', env->hold_reason);
	if (env->warned)
		fbuf_adds(out, "W delay\n");
	if (env->spam)
		fbuf_adds(out, "J spam\n");
	for (i = 0; i < env->nrcpts; i++)
		spool_format_rcpt(&env->rcpts[i], out);
	fbuf_adds(out, "E\n");
}

/* ---- envelope parse ---- */

/* Decodes an escaped value into a new string: NULL when a raw risky byte,
 * a bad escape or an encoded NUL shows it is not ours. */
static char *
spool_unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		int hi, lo;

		if (*p != '%') {
			if (spool_risky(*p))
				goto bad;
			*o++ = (char)*p;
			continue;
		}
		if ((hi = str_hexval((char)p[1])) < 0 ||
		    (lo = str_hexval((char)p[2])) < 0 || hi + lo == 0)
			goto bad;
		*o++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int
spool_parse_num(const char *s, uint64_t max, uint64_t *r)
{
	return str_parse_uint(s, 0, max, r);
}

static int
spool_parse_state(const char *s, enum spool_rcpt_state *r)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, spool_state_names[i]) == 0) {
			*r = (enum spool_rcpt_state)i;
			return 0;
		}
	return -1;
}

/* One "key=value" field of an R record; seen is a bit set of keys. */
static int
spool_parse_rfield(struct spool_rcpt *r, char *tok, unsigned *seen)
{
	static const char *keys[] = { "state", "local", "attempts", "next",
		"orig", "addr", "error" };
	char *val = strchr(tok, '=');
	uint64_t v = 0;
	unsigned k;

	if (val == NULL)
		return -1;
	*val++ = '\0';
	for (k = 0; k < 7 && strcmp(tok, keys[k]) != 0; k++)
		;
	if (k == 7 || (*seen & (1u << k)) != 0)
		return -1;
	*seen |= 1u << k;
	switch (k) {
	case 0:
		return spool_parse_state(val, &r->state);
	case 1:
		if (spool_parse_num(val, 1, &v) < 0)
			return -1;
		r->local = v != 0;
		return 0;
	case 2:
		if (spool_parse_num(val, UINT_MAX, &v) < 0)
			return -1;
		r->attempts = (unsigned)v;
		return 0;
	case 3:
		if (spool_parse_num(val, INT64_MAX, &v) < 0)
			return -1;
		r->next_attempt = (time_t)v;
		return 0;
	case 4:
		return (r->orig = spool_unescape(val)) == NULL ? -1 : 0;
	case 5:
		return (r->addr = spool_unescape(val)) == NULL ? -1 : 0;
	default:
		return (r->last_error = spool_unescape(val)) == NULL ? -1 : 0;
	}
}

static void
spool_rcpt_free(struct spool_rcpt *r)
{
	free(r->orig);
	free(r->addr);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

static int
spool_parse_rcpt(struct spool_env *env, char *val)
{
	struct spool_rcpt r;
	unsigned seen = 0;
	char *tok, *save = NULL;

	memset(&r, 0, sizeof(r));
	for (tok = strtok_r(val, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		if (spool_parse_rfield(&r, tok, &seen) < 0)
			goto bad;
	/* state, local, orig and addr are required. */
	if ((seen & 0x33) != 0x33)
		goto bad;
	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1,
	    sizeof(*env->rcpts));
	env->rcpts[env->nrcpts++] = r;
	return 0;
bad:
	spool_rcpt_free(&r);
	return -1;
}

static int
spool_parse_strrec(char **dst, const char *val)
{
	if (*dst != NULL)
		return -1;
	*dst = spool_unescape(val);
	return *dst == NULL ? -1 : 0;
}

static int
spool_parse_numrec(uint64_t *dst, const char *val, unsigned *seen,
    unsigned bit)
{
	if ((*seen & bit) != 0 || spool_parse_num(val, INT64_MAX, dst) < 0)
		return -1;
	*seen |= bit;
	return 0;
}

/* One record; seen tracks the singletons V I T Z F W J (bits 1..64). */
static int
spool_parse_record(struct spool_env *env, char type, char *val,
    unsigned *seen)
{
	uint64_t v;

	switch (type) {
	case 'V':
		if (spool_parse_numrec(&v, val, seen, 1) < 0)
			return -1;
		return v == SPOOL_VERSION ? 0 : -1;
	case 'I':
		if ((*seen & 2) != 0 || !ids_valid(val))
			return -1;
		*seen |= 2;
		str_lcpy(env->id, val, sizeof(env->id));
		return 0;
	case 'T':
		if (spool_parse_numrec(&v, val, seen, 4) < 0)
			return -1;
		env->arrival = (time_t)v;
		return 0;
	case 'Z':
		return spool_parse_numrec(&env->size, val, seen, 8);
	case 'F':
		if ((*seen & 16) != 0 || strcmp(val, "held") != 0)
			return -1;
		*seen |= 16;
		env->held = true;
		return 0;
	case 'W':
		if ((*seen & 32) != 0 || strcmp(val, "delay") != 0)
			return -1;
		*seen |= 32;
		env->warned = true;
		return 0;
	case 'J':
		if ((*seen & 64) != 0 || strcmp(val, "spam") != 0)
			return -1;
		*seen |= 64;
		env->spam = true;
		return 0;
	case 'S':
		return spool_parse_strrec(&env->sender, val);
	case 'C':
		return spool_parse_strrec(&env->client_addr, val);
	case 'H':
		return spool_parse_strrec(&env->client_helo, val);
	case 'P':
		return spool_parse_strrec(&env->protocol, val);
	case 'A':
		return spool_parse_strrec(&env->auth_user, val);
	case 'K':
		return spool_parse_strrec(&env->hold_reason, val);
	case 'R':
		return spool_parse_rcpt(env, val);
	default:
		return -1;
	}
}

/* Walks the lines of the mutable copy; 0 when an E record ended it. */
static int
spool_parse_lines(struct spool_env *env, char *p, char *end)
{
	unsigned seen = 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char type;

		if (nl == NULL)
			return -1;
		*nl = '\0';
		type = p[0];
		if (type == 'E' && p[1] == '\0')
			return nl + 1 == end && (seen & 15) == 15 &&
			    env->sender != NULL ? 0 : -1;
		if (type == '\0' || (p[1] != ' ' && p[1] != '\0'))
			return -1;
		if (spool_parse_record(env, type, p[1] == '\0' ? p + 1 : p + 2,
		    &seen) < 0)
			return -1;
		p = nl + 1;
	}
	return -1;
}

static void
spool_env_defaults(struct spool_env *env)
{
	if (env->client_addr == NULL)
		env->client_addr = xstrdup("");
	if (env->client_helo == NULL)
		env->client_helo = xstrdup("");
	if (env->protocol == NULL)
		env->protocol = xstrdup("");
}

int
spool_env_parse(const char *text, size_t len, struct spool_env *env)
{
	char *copy;
	int r;

	memset(env, 0, sizeof(*env));
	if (len > SPOOL_ENV_MAX || memchr(text, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	copy = xstrndup(text, len);
	r = spool_parse_lines(env, copy, copy + len);
	free(copy);
	if (r < 0) {
		spool_env_free(env);
		errno = EINVAL;
		return -1;
	}
	spool_env_defaults(env);
	return 0;
}

void
spool_env_free(struct spool_env *env)
{
	size_t i;

	free(env->sender);
	free(env->client_addr);
	free(env->client_helo);
	free(env->protocol);
	free(env->auth_user);
	free(env->hold_reason);
	for (i = 0; i < env->nrcpts; i++)
		spool_rcpt_free(&env->rcpts[i]);
	free(env->rcpts);
	memset(env, 0, sizeof(*env));
}

/* ---- reading, rewriting, removing ---- */

int
spool_env_read(const char *spool_dir, const char *id, struct spool_env *env)
{
	char path[PATH_MAX];
	struct fbuf b;
	int r;

	memset(env, 0, sizeof(*env));
	if (spool_qpath(path, sizeof(path), spool_dir, id, ".env") < 0)
		return -1;
	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, SPOOL_ENV_MAX) < 0) {
		int saved = errno == EFBIG ? EINVAL : errno;

		fbuf_release(&b);
		errno = saved;
		return -1;
	}
	r = spool_env_parse(b.data != NULL ? b.data : "", b.len, env);
	fbuf_release(&b);
	if (r == 0 && strcmp(env->id, id) != 0) {
		spool_env_free(env);
		errno = EINVAL;
		return -1;
	}
	return r;
}

/* The new envelope is written under tmp/ with a unique name (so two
 * writers never share a temporary file), fsynced, renamed over the old
 * one, and the queue directory fsynced. */
static pthread_mutex_t spool_env_mutex;
static pthread_once_t spool_env_once = PTHREAD_ONCE_INIT;

static void
spool_env_mutex_init(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&spool_env_mutex, &a);
	pthread_mutexattr_destroy(&a);
}

void
spool_env_lock(void)
{
	pthread_once(&spool_env_once, spool_env_mutex_init);
	pthread_mutex_lock(&spool_env_mutex);
}

void
spool_env_unlock(void)
{
	pthread_mutex_unlock(&spool_env_mutex);
}

int
spool_env_update(const char *spool_dir, const struct spool_env *env)
{
	char path[PATH_MAX], tmp[PATH_MAX], qdir[PATH_MAX], suffix[40];
	struct fbuf out;
	struct stat st;
	int r, saved;

	snprintf(suffix, sizeof(suffix), ".%016llx.upd",
	    (unsigned long long)ids_random());
	if (spool_qpath(path, sizeof(path), spool_dir, env->id, ".env") < 0 ||
	    spool_tpath(tmp, sizeof(tmp), spool_dir, env->id, suffix) < 0 ||
	    fsio_pathf(qdir, sizeof(qdir), "%s/queue/%c", spool_dir,
	    env->id[IDS_LEN - 1]) < 0)
		return -1;
	/* Never resurrect a message that `queue delete` just removed. */
	if (stat(path, &st) < 0)
		return -1;
	fbuf_init(&out, 0);
	spool_env_format(env, &out);
	r = spool_write_new(tmp, out.data, out.len);
	fbuf_release(&out);
	if (r == 0 && rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (r == 0)
		r = fsio_fsync_dir(qdir);
	return r;
}

/* Unlinks the envelope (first: without it the content is an orphan that
 * recovery removes), then the content; fsyncs the queue directory when
 * durable.  0 or -1 (errno). */
static int
spool_unlink(const char *spool_dir, const char *id, bool durable)
{
	char env[PATH_MAX], msg[PATH_MAX], qdir[PATH_MAX];
	int r, saved;

	if (spool_qpath(env, sizeof(env), spool_dir, id, ".env") < 0 ||
	    spool_qpath(msg, sizeof(msg), spool_dir, id, ".msg") < 0 ||
	    fsio_pathf(qdir, sizeof(qdir), "%s/queue/%c", spool_dir,
	    id[IDS_LEN - 1]) < 0)
		return -1;
	r = unlink(env);
	saved = errno;
	if (unlink(msg) < 0 && errno != ENOENT && r == 0) {
		r = -1;
		saved = errno;
	}
	if (durable && fsio_fsync_dir(qdir) < 0 && r == 0) {
		r = -1;
		saved = errno;
	}
	errno = saved;
	return r;
}

int
spool_remove(const char *spool_dir, const char *id)
{
	return spool_unlink(spool_dir, id, true);
}

/* No directory fsync: every delivery the message needed is already
 * durable (a Maildir file and its new/ were fsynced, a relay said 250, a
 * DSN went through spool_writer_commit), so if a crash loses the unlinks
 * the message comes back and is delivered again, a duplicate DESIGN.md
 * allows, never a loss.  (Should only the content unlink survive,
 * recovery moves the envelope to corrupt/; the mail was delivered.)  The
 * next commit into the same queue/<h>/ usually makes them durable. */
int
spool_remove_finished(const char *spool_dir, const char *id)
{
	return spool_unlink(spool_dir, id, false);
}

/* ---- scanning and recovery ---- */

struct spool_idlist {
	char (*v)[IDS_LEN + 1];
	size_t n, cap;
};

static void
spool_idlist_add(struct spool_idlist *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	str_lcpy(l->v[l->n++], id, IDS_LEN + 1);
}

static int
spool_idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* "<16 hex>.<ext>": copies the id and returns the extension, or NULL. */
static const char *
spool_split_name(const char *name, char id[IDS_LEN + 1])
{
	if (strlen(name) <= IDS_LEN || name[IDS_LEN] != '.')
		return NULL;
	memcpy(id, name, IDS_LEN);
	id[IDS_LEN] = '\0';
	return ids_valid(id) ? name + IDS_LEN : NULL;
}

static bool
spool_older(const char *path, time_t now, time_t grace)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtime + grace < now;
}

/* Removes the files in spool_dir/sub not touched for grace seconds
 * (grace < 0: every file). */
static void
spool_clean_dir(const char *spool_dir, const char *sub, time_t now,
    time_t grace)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (fsio_pathf(dir, sizeof(dir), "%s/%s", spool_dir, sub) < 0 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fsio_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == 0 && (grace < 0 ||
		    spool_older(path, now, grace)))
			unlink(path);
	}
	closedir(d);
}

/* Moves a bad envelope (and its content, if any) to corrupt/ for a
 * human to look at. */
static void
spool_quarantine(const char *dir, const char *id)
{
	char from[PATH_MAX], to[PATH_MAX];
	static const char *exts[] = { ".env", ".msg" };
	int i;

	for (i = 0; i < 2; i++)
		if (spool_qpath(from, sizeof(from), dir, id, exts[i]) == 0 &&
		    fsio_pathf(to, sizeof(to), "%s/corrupt/%s%s", dir, id,
		    exts[i]) == 0)
			rename(from, to);
}

/* A queued envelope during recovery: parses, and has its content. */
static bool
spool_check_env(const char *dir, const char *id)
{
	struct spool_env env;
	char msg[PATH_MAX];
	struct stat st;

	if (spool_env_read(dir, id, &env) < 0)
		return errno != EINVAL;	/* vanished (ENOENT): not corrupt */
	spool_env_free(&env);
	if (spool_qpath(msg, sizeof(msg), dir, id, ".msg") < 0)
		return false;
	return stat(msg, &st) == 0 || errno != ENOENT;
}

static void
spool_scan_entry(const char *dir, const char *name, bool recover, time_t now,
    struct spool_idlist *ids)
{
	char id[IDS_LEN + 1], path[PATH_MAX], env[PATH_MAX];
	const char *ext = spool_split_name(name, id);
	struct stat st;

	if (ext == NULL)
		return;
	if (strcmp(ext, ".env") == 0) {
		if (recover && !spool_check_env(dir, id)) {
			spool_quarantine(dir, id);
			return;
		}
		spool_idlist_add(ids, id);
	} else if (strcmp(ext, ".msg") == 0 && recover) {
		/* Content is renamed in before its envelope: only an old
		 * .msg whose envelope is still absent is an orphan. */
		if (spool_qpath(path, sizeof(path), dir, id, ".msg") < 0 ||
		    spool_qpath(env, sizeof(env), dir, id, ".env") < 0)
			return;
		if (spool_older(path, now, SPOOL_ORPHAN_GRACE) &&
		    stat(env, &st) < 0 && errno == ENOENT)
			unlink(path);
	}
}

static int
spool_scan_bucket(const char *dir, unsigned h, bool recover, time_t now,
    struct spool_idlist *ids)
{
	char qdir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (fsio_pathf(qdir, sizeof(qdir), "%s/queue/%x", dir, h) < 0)
		return -1;
	if ((d = opendir(qdir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		spool_scan_entry(dir, de->d_name, recover, now, ids);
	closedir(d);
	return 0;
}

int
spool_scan(const char *spool_dir, bool recover,
    void (*cb)(const char *id, void *ctx), void *ctx)
{
	struct spool_idlist ids = { NULL, 0, 0 };
	time_t now = time(NULL);
	unsigned h;
	size_t i;
	int r = 0;

	if (recover)
		/* tmp/: whatever has not been touched for SPOOL_TMP_GRACE
		 * is left over from a crash; younger files may belong to a
		 * session still writing. */
		spool_clean_dir(spool_dir, "tmp", now, SPOOL_TMP_GRACE);
	for (h = 0; h < 16 && r == 0; h++)
		r = spool_scan_bucket(spool_dir, h, recover, now, &ids);
	if (r == 0) {
		/* Ids are time-ordered: sorted means oldest first. */
		if (ids.n > 1)
			qsort(ids.v, ids.n, sizeof(*ids.v), spool_idcmp);
		for (i = 0; i < ids.n; i++)
			cb(ids.v[i], ctx);
	}
	free(ids.v);
	return r;
}

/* ---- rewriting the content before the commit ---- */

struct spool_subj {
	bool found;
	uint64_t at;		/* where the prefix goes, from the start */
};

/* The first field named exactly "Subject:" (no white space before the
 * colon, as the tag was always placed): the prefix goes after the colon
 * and the blanks that follow it. */
static void
spool_subj_field(void *ctx, const struct mime_field *f)
{
	struct spool_subj *e = ctx;
	size_t i = f->value_pos;

	if (e->found || !mime_field_is(f, "Subject") ||
	    f->raw[f->name_len] != ':')
		return;
	while (i < f->raw_len && (f->raw[i] == ' ' || f->raw[i] == '\t'))
		i++;
	e->found = true;
	e->at = f->offset + i;
}

/* Where in the header section read from `in` (at its offset, which is
 * left as it was) the Subject prefix goes: 0 with *at_r, or 1 when
 * there is no Subject field (in its first MIME_HEADER_MAX_DEFAULT
 * octets), -1 on a read error. */
static int
spool_subj_find(int in, uint64_t *at_r)
{
	struct spool_subj e = { false, 0 };
	struct mime_header_parser *p;
	char buf[8192];
	off_t off = lseek(in, 0, SEEK_CUR);
	ssize_t r = 0;

	if (off < 0)
		return -1;
	p = mime_header_parser_new(NULL, spool_subj_field, &e);
	while (!mime_header_parser_done(p) && !e.found &&
	    (r = pread(in, buf, sizeof(buf), off)) > 0) {
		mime_header_parser_feed(p, buf, (size_t)r);
		off += r;
	}
	if (r == 0 && !e.found)
		mime_header_parser_finish(p);
	mime_header_parser_free(&p);
	if (r < 0)
		return -1;
	*at_r = e.at;
	return e.found ? 0 : 1;
}

/* Copies in to out from the current offsets: `limit` octets (all when
 * UINT64_MAX). */
static int
spool_copy(int in, int out, uint64_t limit, uint64_t *size)
{
	char buf[65536];
	ssize_t r = 0;
	size_t want;

	while (limit > 0) {
		want = limit < sizeof(buf) ? (size_t)limit : sizeof(buf);
		if ((r = read(in, buf, want)) <= 0)
			break;
		limit -= limit == UINT64_MAX ? 0 : (uint64_t)r;
		*size += (uint64_t)r;
		if (fsio_write_all(out, buf, (size_t)r) < 0) {
			r = -1;
			break;
		}
	}
	return r < 0 ? -1 : 0;
}

/* The content from in's offset to out, with prefix put into the first
 * Subject field (read with src/mime) when prefix is not empty. */
static int
spool_copy_subject(int in, int out, const char *prefix, uint64_t *size)
{
	uint64_t at;
	int r;

	if (prefix == NULL || prefix[0] == '\0' ||
	    (r = spool_subj_find(in, &at)) == 1)
		return spool_copy(in, out, UINT64_MAX, size);
	if (r < 0 || spool_copy(in, out, at, size) < 0 ||
	    fsio_write_all(out, prefix, strlen(prefix)) < 0)
		return -1;
	*size += strlen(prefix);
	return spool_copy(in, out, UINT64_MAX, size);
}

int
spool_writer_path(const struct spool_writer *w, char *dst, size_t size)
{
	return spool_tpath(dst, size, w->dir, w->id, ".msg");
}

/* The writer's own descriptor (opened O_RDWR): reading it back with
 * pread leaves the write offset alone, and costs no open() and close()
 * of tmp/<id>.msg per message. */
int
spool_writer_content_fd(struct spool_writer *w)
{
	if (spool_writer_trim(w) < 0)
		return -1;
	return w->fd;
}

int
spool_writer_rewrite(struct spool_writer *w, uint64_t head, const void *hdr,
    size_t n, const char *subject_prefix)
{
	char path[PATH_MAX], npath[PATH_MAX];
	uint64_t size = 0;
	int in = -1, out = -1, saved;

	if (spool_writer_trim(w) < 0 ||
	    spool_tpath(path, sizeof(path), w->dir, w->id, ".msg") < 0 ||
	    spool_tpath(npath, sizeof(npath), w->dir, w->id, ".new") < 0)
		return -1;
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(npath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		goto fail;
	if (spool_copy(in, out, head, &size) < 0 ||
	    fsio_write_all(out, hdr, n) < 0 ||
	    spool_copy_subject(in, out, subject_prefix, &size) < 0 ||
	    rename(npath, path) < 0)
		goto fail;
	close(in);
	close(w->fd);
	w->fd = out;
	w->size = size + n;
	w->stale = 0;
	return 0;
fail:
	saved = errno;
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(npath);
	}
	errno = saved;
	return -1;
}
