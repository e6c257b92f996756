/* The UID index of a Maildir (uidlist.h).  One sync scans new/ and cur/
 * once (readdir only, no stat for known messages), matches file names to
 * the index by base name through a hash table, reads only messages not
 * seen before (to count their CRLF size, unless the name carries
 * Dovecot's ",W=" virtual size), and rewrites the index atomically
 * (write, fsync, rename) under a flock()ed lock file.  uidlist_append
 * instead adds lines for files its caller just wrote and raises the
 * next UID in place (fdatasync), without a scan; the parser therefore
 * takes a line past the header's next UID, and ignores a torn last
 * line, as a crash may leave them.  It does not move,
 * flag or delete messages (maildir_change.c does) and knows nothing of
 * POP3 or IMAP.  The file is hostile input: anything malformed in it
 * starts a new UIDVALIDITY instead of being trusted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/ids.h"
#include "lib/xalloc.h"
#include "mailbox/uidlist.h"

#define UIDLIST_MAGIC "ferry-uidlist 1 "
#define UIDLIST_FILE_MAX (64u * 1024 * 1024)
#define UIDLIST_READ_BUF 65536
/* Digits of the header's next UID (UINT32_MAX has ten). */
#define UIDLIST_NEXT_WIDTH 10
#define UIDLIST_HEAD_MAX 64
#define UIDLIST_TAIL_MAX 1024

/* The sync's working state: the index as read, which entries the scan
 * found again, and the files it found that the index does not know. */
struct uidlist_sync {
	const char *path;
	struct uidlist old;		/* names are base names */
	char **found;			/* per old entry: "sub/file" or NULL */
	uint32_t *hash;			/* old index + 1, 0 = empty slot */
	size_t hmask;
	size_t *lens;			/* per old entry: strlen(name) */
	char **fresh;			/* "sub/file" of unknown messages */
	size_t nfresh, capfresh;
	struct uidlist_block *names;	/* of found and fresh, until the
					   result takes them */
	int lock;			/* the lock file, open */
	const char *const *order;	/* fresh names numbered first */
	size_t norder;
	bool dirty;			/* the file must change */
	bool rewrite;			/* ... and appending fresh lines to
					   it is not enough */
	size_t nadded;			/* fresh messages numbered */
};

size_t
uidlist_basename_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

/* ---- names in blocks ---- */

/* A scan of 100,000 messages made and freed 200,000 names one by one
 * (the list's and the directories'); in blocks they cost a few
 * allocations. */
#define UIDLIST_BLOCK (64 * 1024)

struct uidlist_block {
	struct uidlist_block *next;
	size_t used, size;
	char data[];
};

/* Room for a string of len bytes and its NUL in *bp. */
static char *
uidlist_name_room(struct uidlist_block **bp, size_t len)
{
	struct uidlist_block *b = *bp;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > UIDLIST_BLOCK ? len + 1 :
		    UIDLIST_BLOCK;

		b = xmalloc(sizeof(*b) + size);
		b->next = *bp;
		b->used = 0;
		b->size = size;
		*bp = b;
	}
	p = b->data + b->used;
	b->used += len + 1;
	return p;
}

static void
uidlist_blocks_free(struct uidlist_block **bp)
{
	while (*bp != NULL) {
		struct uidlist_block *b = *bp;

		*bp = b->next;
		free(b);
	}
}

void
uidlist_free(struct uidlist *ul)
{
	if (ul->names == NULL)
		for (size_t i = 0; i < ul->n; i++)
			free(ul->v[i].name);
	uidlist_blocks_free(&ul->names);
	free(ul->v);
	ul->v = NULL;
	ul->n = 0;
}

/* ---- parsing ---- */

/* Decimal digits at *p (at least one, no sign), stopping at a space or
 * newline; advances *p.  0 or -1. */
static int
uidlist_parse_num(const char **p, const char *end, uint64_t max,
    uint64_t *r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*r = v;
	return 0;
}

static bool
uidlist_name_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

/* One "<uid> <vsize> <basename>" line [p, eol). */
static int
uidlist_parse_line(const char *p, const char *eol, struct uidlist *ul)
{
	uint64_t uid, vsize;
	uint32_t prev = ul->n > 0 ? ul->v[ul->n - 1].uid : 0;

	if (uidlist_parse_num(&p, eol, UINT32_MAX, &uid) < 0 ||
	    p == eol || *p++ != ' ' ||
	    uidlist_parse_num(&p, eol, UINT64_MAX / 2, &vsize) < 0 ||
	    p == eol || *p++ != ' ' || !uidlist_name_ok(p, (size_t)(eol - p)))
		return -1;
	if (uid <= prev || uid == UINT32_MAX)
		return -1;
	/* A line past the header's next UID: appended (uidlist_append)
	 * with the header's update lost in a crash.  UIDs only grow. */
	if (uid >= ul->next_uid)
		ul->next_uid = (uint32_t)uid + 1;
	if ((ul->n & (ul->n - 1)) == 0)
		ul->v = xreallocarray(ul->v, ul->n == 0 ? 1 : ul->n * 2,
		    sizeof(*ul->v));
	ul->v[ul->n].name = uidlist_name_room(&ul->names, (size_t)(eol - p));
	memcpy(ul->v[ul->n].name, p, (size_t)(eol - p));
	ul->v[ul->n].name[eol - p] = '\0';
	ul->v[ul->n].uid = (uint32_t)uid;
	ul->v[ul->n].vsize = vsize;
	ul->n++;
	return 0;
}

static int
uidlist_parse_header(const char **pp, const char *end, struct uidlist *ul)
{
	const char *p = *pp;
	size_t mlen = sizeof(UIDLIST_MAGIC) - 1;
	uint64_t validity, next;

	if ((size_t)(end - p) < mlen || memcmp(p, UIDLIST_MAGIC, mlen) != 0)
		return -1;
	p += mlen;
	if (uidlist_parse_num(&p, end, UINT32_MAX, &validity) < 0 ||
	    p == end || *p++ != ' ' ||
	    uidlist_parse_num(&p, end, UINT32_MAX, &next) < 0 ||
	    p == end || *p++ != '\n' || validity == 0 || next == 0)
		return -1;
	ul->uidvalidity = (uint32_t)validity;
	ul->next_uid = (uint32_t)next;
	*pp = p;
	return 0;
}

int
uidlist_parse(const char *text, size_t len, struct uidlist *ul)
{
	const char *p = text, *end = text + len, *eol;

	memset(ul, 0, sizeof(*ul));
	if (uidlist_parse_header(&p, end, ul) < 0)
		goto bad;
	for (; p < end; p = eol + 1) {
		/* A last line without its newline is an append torn by a
		 * crash before its fdatasync: its UID was never handed out,
		 * and the message gets one at the next scan. */
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (uidlist_parse_line(p, eol, ul) < 0)
			goto bad;
	}
	return 0;
bad:
	uidlist_free(ul);
	memset(ul, 0, sizeof(*ul));
	return -1;
}

/* ---- sizes ---- */

int
uidlist_vsize_fd(int fd, uint64_t *vsize_r)
{
	char buf[UIDLIST_READ_BUF];
	uint64_t v = 0;
	char prev = '\0';
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		v += (uint64_t)n;
		for (const char *p = buf; (p = memchr(p, '\n',
		    (size_t)(buf + n - p))) != NULL; p++)
			if ((p == buf ? prev : p[-1]) != '\r')
				v++;
		prev = buf[n - 1];
	}
	*vsize_r = v;
	return 0;
}

/* ",W=<vsize>" in the base name (Dovecot writes it), else the file is
 * read.  0, or -1 with errno (ENOENT: the message is gone). */
static int
uidlist_vsize_of(const char *path, const char *name, uint64_t *vsize_r)
{
	size_t blen = uidlist_basename_len(name);
	const char *w = strstr(name, ",W=");
	char file[PATH_MAX];
	int fd, r;

	if (w != NULL && (size_t)(w - name) < blen) {
		const char *p = w + 3, *end = name + blen;

		if (uidlist_parse_num(&p, end, UINT64_MAX / 2, vsize_r) == 0)
			return 0;
	}
	if (snprintf(file, sizeof(file), "%s/%s", path, name) >=
	    (int)sizeof(file)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = uidlist_vsize_fd(fd, vsize_r);
	close(fd);
	return r;
}

/* ---- the hash of base names ---- */

static uint32_t
uidlist_hash_str(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
uidlist_hash_build(struct uidlist_sync *sy)
{
	size_t size = 16;

	while (size < sy->old.n * 2)
		size *= 2;
	sy->hash = xcalloc(size, sizeof(*sy->hash));
	sy->lens = xcalloc(sy->old.n + 1, sizeof(*sy->lens));
	sy->hmask = size - 1;
	for (size_t i = 0; i < sy->old.n; i++) {
		const char *nm = sy->old.v[i].name;
		size_t h;

		sy->lens[i] = strlen(nm);
		h = uidlist_hash_str(nm, sy->lens[i]) & sy->hmask;

		while (sy->hash[h] != 0)
			h = (h + 1) & sy->hmask;
		sy->hash[h] = (uint32_t)i + 1;
	}
}

/* Index of the old entry whose base name is name[0..n) (hash: its
 * uidlist_hash_str), or -1. */
static ssize_t
uidlist_hash_find(const struct uidlist_sync *sy, const char *name, size_t n,
    uint32_t hash)
{
	size_t h = hash & sy->hmask;

	if (sy->old.v == NULL)
		return -1;	/* an empty list: the hash has no entries */
	for (; sy->hash[h] != 0; h = (h + 1) & sy->hmask) {
		size_t i = sy->hash[h] - 1;

		if (sy->lens[i] == n && memcmp(sy->old.v[i].name, name, n) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* ---- scanning ---- */

static void
uidlist_add_fresh(struct uidlist_sync *sy, char *name)
{
	if (sy->nfresh == sy->capfresh) {
		sy->capfresh = sy->capfresh == 0 ? 16 : sy->capfresh * 2;
		sy->fresh = xreallocarray(sy->fresh, sy->capfresh,
		    sizeof(*sy->fresh));
	}
	sy->fresh[sy->nfresh++] = name;
}

/* "sub/name" (a scan makes one per message: no formatting). */
static char *
uidlist_subpath(struct uidlist_sync *sy, const char *sub, const char *name)
{
	size_t ls = strlen(sub), ln = strlen(name);
	char *p = uidlist_name_room(&sy->names, ls + ln + 1);

	memcpy(p, sub, ls);
	p[ls] = '/';
	memcpy(p + ls + 1, name, ln + 1);
	return p;
}

/* Directory entries waiting for their lookup: a large folder's entries
 * come in an order unrelated to the list's, so each lookup is a few
 * cache misses (the slot, the entry, its name); a batch asks for all of
 * them first and then waits for them together. */
#define UIDLIST_SCAN_BATCH 32

struct uidlist_scan_ent {
	char *subpath;		/* "sub/file" */
	const char *name;	/* its "file" */
	size_t blen;		/* of the base name */
	uint32_t hash;
};

static void
uidlist_scan_batch(struct uidlist_sync *sy, struct uidlist_scan_ent *b,
    size_t n)
{
	size_t k;

	if (sy->old.v != NULL) {
		for (k = 0; k < n; k++)
			__builtin_prefetch(&sy->hash[b[k].hash & sy->hmask]);
		for (k = 0; k < n; k++) {
			uint32_t slot = sy->hash[b[k].hash & sy->hmask];

			if (slot != 0) {
				__builtin_prefetch(&sy->old.v[slot - 1]);
				__builtin_prefetch(&sy->lens[slot - 1]);
			}
		}
		for (k = 0; k < n; k++) {
			uint32_t slot = sy->hash[b[k].hash & sy->hmask];

			if (slot != 0)
				__builtin_prefetch(sy->old.v[slot - 1].name);
		}
	}
	for (k = 0; k < n; k++) {
		ssize_t i = uidlist_hash_find(sy, b[k].name, b[k].blen,
		    b[k].hash);

		if (i >= 0 && sy->found[i] != NULL)
			;	/* seen in new/ and cur/ during a move */
		else if (i >= 0)
			sy->found[i] = b[k].subpath;
		else
			uidlist_add_fresh(sy, b[k].subpath);
	}
}

/* One directory entry of sub ("new" or "cur"), into the batch b. */
static void
uidlist_scan_entry(struct uidlist_sync *sy, const char *sub,
    const struct dirent *de, struct uidlist_scan_ent *b, size_t *n)
{
	size_t blen = uidlist_basename_len(de->d_name);

	if (de->d_name[0] == '.' || de->d_type == DT_DIR ||
	    !uidlist_name_ok(de->d_name, blen))
		return;
	b[*n].subpath = uidlist_subpath(sy, sub, de->d_name);
	b[*n].name = b[*n].subpath + strlen(sub) + 1;
	b[*n].blen = blen;
	b[(*n)++].hash = uidlist_hash_str(de->d_name, blen);
}

static int
uidlist_scan_dir(struct uidlist_sync *sy, const char *sub)
{
	struct uidlist_scan_ent b[UIDLIST_SCAN_BATCH];
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/%s", sy->path, sub) >=
	    (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		uidlist_scan_entry(sy, sub, de, b, &n);
		if (n == UIDLIST_SCAN_BATCH) {
			uidlist_scan_batch(sy, b, n);
			n = 0;
		}
	}
	uidlist_scan_batch(sy, b, n);
	closedir(d);
	return 0;
}

/* The delivery time a Maildir base name starts with, "SECONDS.M<usec>"
 * (the microseconds are not zero-padded, so within one second plain name
 * order puts M98765 after M123456).  A name without it sorts first. */
static void
uidlist_name_time(const char *name, unsigned long long *sec_r,
    unsigned long long *usec_r)
{
	const char *p = name;

	*sec_r = 0;
	*usec_r = 0;
	for (; *p >= '0' && *p <= '9' && *sec_r < 1000000000000ULL; p++)
		*sec_r = *sec_r * 10 + (unsigned)(*p - '0');
	if (p[0] != '.' || p[1] != 'M')
		return;
	for (p += 2; *p >= '0' && *p <= '9' && *usec_r < 1000000000ULL; p++)
		*usec_r = *usec_r * 10 + (unsigned)(*p - '0');
}

/* Fresh messages get UIDs in arrival order: Maildir names start with the
 * delivery time (seconds, then microseconds); names of one instant keep
 * their byte order, so this is a total order (it also serves bsearch). */
static int
uidlist_fresh_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a + 4, *y = *(char *const *)b + 4;
	unsigned long long xs, xu, ys, yu;

	uidlist_name_time(x, &xs, &xu);
	uidlist_name_time(y, &ys, &yu);
	if (xs != ys)
		return xs < ys ? -1 : 1;
	if (xu != yu)
		return xu < yu ? -1 : 1;
	return strcmp(x, y);
}

/* Puts the fresh names listed in sy->order first, in that order; the
 * rest keep their sorted order.  fresh is sorted, so each is found by
 * binary search. */
static void
uidlist_order_fresh(struct uidlist_sync *sy)
{
	char **v, *key;
	char **hit;
	bool *taken;
	size_t o = 0;

	if (sy->norder == 0 || sy->nfresh == 0)
		return;
	v = xcalloc(sy->nfresh, sizeof(*v));
	taken = xcalloc(sy->nfresh, sizeof(*taken));
	for (size_t k = 0; k < sy->norder; k++) {
		key = (char *)sy->order[k];
		if (strlen(key) < 4)
			continue;
		hit = bsearch(&key, sy->fresh, sy->nfresh, sizeof(*sy->fresh),
		    uidlist_fresh_cmp);
		if (hit != NULL && !taken[hit - sy->fresh]) {
			taken[hit - sy->fresh] = true;
			v[o++] = *hit;
		}
	}
	for (size_t i = 0; i < sy->nfresh; i++)
		if (!taken[i])
			v[o++] = sy->fresh[i];
	memcpy(sy->fresh, v, sy->nfresh * sizeof(*v));
	free(v);
	free(taken);
}

/* The lock file, which is never removed, also keeps the last
 * UIDVALIDITY written: an index lost or damaged in the same second as
 * the one before it must still not get the same UIDVALIDITY (its UIDs
 * would then mean other messages). */
static uint32_t
uidlist_lock_last(int lock)
{
	char buf[16];
	ssize_t n = pread(lock, buf, sizeof(buf) - 1, 0);
	unsigned long long v = 0;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu", &v) != 1 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static void
uidlist_lock_note(int lock, uint32_t validity)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", validity);

	/* Advisory: a failure costs only the same-second guarantee. */
	if (pwrite(lock, buf, (size_t)n, 0) == n)
		(void)ftruncate(lock, n);
}

static uint32_t
uidlist_fresh_validity(int lock)
{
	uint32_t now = (uint32_t)time(NULL), last = uidlist_lock_last(lock);

	if (last != 0 && last >= now)
		now = last == UINT32_MAX ? 1 : last + 1;
	return now == 0 ? 1 : now;
}

/* Reads the index; a missing or malformed one starts afresh. */
static int
uidlist_read(struct uidlist_sync *sy)
{
	char file[PATH_MAX];
	struct fbuf b;
	int r;

	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, sy->path);
	fbuf_init(&b, 0);
	r = fsio_read_file(file, &b, UIDLIST_FILE_MAX);
	if (r < 0 && errno != ENOENT && errno != EFBIG) {
		fbuf_release(&b);
		return -1;
	}
	if (r < 0 || uidlist_parse(b.data, b.len, &sy->old) < 0 ||
	    sy->old.next_uid == UINT32_MAX) {
		uidlist_free(&sy->old);
		sy->old.uidvalidity = uidlist_fresh_validity(sy->lock);
		sy->old.next_uid = 1;
		sy->dirty = sy->rewrite = true;
	}
	fbuf_release(&b);
	return 0;
}

/* Builds the result: known messages in index order, then fresh ones
 * with new UIDs.  Fresh files that vanished meanwhile are left out. */
static void
uidlist_build(struct uidlist_sync *sy, struct uidlist *ul)
{
	struct uidlist_msg *m;
	uint64_t vsize;

	ul->uidvalidity = sy->old.uidvalidity;
	ul->next_uid = sy->old.next_uid;
	ul->names = sy->names;		/* found[] and fresh[] are in it */
	sy->names = NULL;
	ul->v = xreallocarray(NULL, sy->old.n + sy->nfresh + 1,
	    sizeof(*ul->v));
	ul->n = 0;
	for (size_t i = 0; i < sy->old.n; i++) {
		if (sy->found[i] == NULL) {
			sy->dirty = sy->rewrite = true;	/* expunged
							   elsewhere */
			continue;
		}
		m = &ul->v[ul->n++];
		m->name = sy->found[i];
		sy->found[i] = NULL;
		m->uid = sy->old.v[i].uid;
		m->vsize = sy->old.v[i].vsize;
	}
	if (sy->nfresh > 1)
		qsort(sy->fresh, sy->nfresh, sizeof(*sy->fresh),
		    uidlist_fresh_cmp);
	uidlist_order_fresh(sy);
	for (size_t i = 0; i < sy->nfresh; i++) {
		if (uidlist_vsize_of(sy->path, sy->fresh[i], &vsize) < 0 ||
		    ul->next_uid == UINT32_MAX)
			continue;
		m = &ul->v[ul->n++];
		m->name = sy->fresh[i];
		sy->fresh[i] = NULL;
		m->uid = ul->next_uid++;
		m->vsize = vsize;
		sy->dirty = true;
		sy->nadded++;
	}
}

/* One message's line; nm is its file's name (without "new/"). */
static void
uidlist_line(struct fbuf *b, uint32_t uid, uint64_t vsize, const char *nm,
    size_t blen)
{
	fbuf_addf(b, "%u %llu %.*s\n", uid, (unsigned long long)vsize,
	    (int)blen, nm);
}

static void
uidlist_format(const struct uidlist *ul, struct fbuf *b)
{
	/* The next UID has a fixed width so that uidlist_append can
	 * rewrite it in place. */
	fbuf_addf(b, UIDLIST_MAGIC "%u %0*u\n", ul->uidvalidity,
	    UIDLIST_NEXT_WIDTH, ul->next_uid);
	for (size_t i = 0; i < ul->n; i++) {
		const char *nm = ul->v[i].name + 4;	/* past "new/" */

		uidlist_line(b, ul->v[i].uid, ul->v[i].vsize, nm,
		    uidlist_basename_len(nm));
	}
}

/* Replaces the index: a unique temporary name, fsync, rename. */
static int
uidlist_write(const char *path, const struct uidlist *ul)
{
	char tmp[PATH_MAX], file[PATH_MAX];
	struct fbuf b;
	int fd, r = -1, saved;

	snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, path);
	if (snprintf(tmp, sizeof(tmp), "%s/tmp/" UIDLIST_FILE ".%016llx",
	    path, (unsigned long long)ids_random()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fbuf_init(&b, 0);
	uidlist_format(ul, &b);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fsio_write_all(fd, b.data, b.len) == 0 && fsync(fd) == 0)
			r = 0;
		saved = errno;		/* of a failed write or fsync */
		close(fd);
		if (r == 0 && rename(tmp, file) < 0) {
			r = -1;
			saved = errno;
		}
		if (r < 0) {
			unlink(tmp);
			errno = saved;
		}
	}
	fbuf_release(&b);
	return r;
}

static void
uidlist_sync_free(struct uidlist_sync *sy)
{
	uidlist_blocks_free(&sy->names);
	free(sy->found);
	free(sy->fresh);
	free(sy->hash);
	free(sy->lens);
	uidlist_free(&sy->old);
}

static int
uidlist_lock(const char *path)
{
	char file[PATH_MAX];
	int fd;

	snprintf(file, sizeof(file), "%s/" UIDLIST_LOCK_FILE, path);
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
uidlist_create(const char *path, uint32_t uidvalidity)
{
	struct uidlist ul;
	int lock, r;

	memset(&ul, 0, sizeof(ul));
	ul.uidvalidity = uidvalidity != 0 ? uidvalidity : 1;
	ul.next_uid = 1;
	if ((lock = uidlist_lock(path)) < 0)
		return -1;
	r = uidlist_write(path, &ul);
	if (r == 0)
		uidlist_lock_note(lock, ul.uidvalidity);
	close(lock);
	return r;
}

static int uidlist_append_fresh(const char *, const struct uidlist_sync *,
    const struct uidlist *);

int
uidlist_sync(const char *path, struct uidlist *ul)
{
	return uidlist_sync_ordered(path, NULL, 0, ul);
}

int
uidlist_sync_ordered(const char *path, const char *const *names, size_t n,
    struct uidlist *ul)
{
	struct uidlist_sync sy;
	int lock, r = -1, saved;

	memset(ul, 0, sizeof(*ul));
	memset(&sy, 0, sizeof(sy));
	sy.path = path;
	sy.order = names;
	sy.norder = n;
	if ((lock = uidlist_lock(path)) < 0)
		return -1;
	sy.lock = lock;
	if (uidlist_read(&sy) < 0)
		goto out;
	sy.found = xcalloc(sy.old.n + 1, sizeof(*sy.found));
	uidlist_hash_build(&sy);
	if (uidlist_scan_dir(&sy, "new") < 0 ||
	    uidlist_scan_dir(&sy, "cur") < 0)
		goto out;
	uidlist_build(&sy, ul);
	if (sy.dirty && uidlist_lock_last(lock) != ul->uidvalidity)
		uidlist_lock_note(lock, ul->uidvalidity);
	if (sy.dirty) {
		int added = sy.rewrite ? 0 : uidlist_append_fresh(path, &sy,
		    ul);

		if (added < 0 || (added == 0 && uidlist_write(path, ul) < 0)) {
			uidlist_free(ul);
			goto out;
		}
	}
	r = 0;
out:
	saved = errno;
	uidlist_sync_free(&sy);
	close(lock);
	errno = saved;
	return r;
}

/* ---- appending without a scan ---- */

/* Where the header's next UID is, and the next UID the file really
 * gives: the header's, or one past its last line's when a crash lost
 * the header's update.  1 when the file can take an append (its next
 * UID has the fixed width, it ends in a whole line), 0 when not, -1
 * with errno. */
static int
uidlist_append_check(int fd, struct uidlist *h, off_t *size_r,
    off_t *next_off_r)
{
	char head[UIDLIST_HEAD_MAX + 1], tail[UIDLIST_TAIL_MAX + 1];
	const char *p, *nl, *last;
	uint64_t uid;
	struct stat st;
	off_t off;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size <= 0 || st.st_size > UIDLIST_FILE_MAX)
		return 0;
	if ((n = pread(fd, head, UIDLIST_HEAD_MAX, 0)) < 0)
		return -1;
	head[n] = '\0';
	p = head;
	if ((nl = memchr(head, '\n', (size_t)n)) == NULL ||
	    nl - head < UIDLIST_NEXT_WIDTH + 1 ||
	    nl[-UIDLIST_NEXT_WIDTH - 1] != ' ' ||
	    uidlist_parse_header(&p, nl + 1, h) < 0)
		return 0;
	*next_off_r = nl - head - UIDLIST_NEXT_WIDTH;
	off = st.st_size > UIDLIST_TAIL_MAX ? st.st_size - UIDLIST_TAIL_MAX :
	    0;
	n = pread(fd, tail, (size_t)(st.st_size - off), off);
	if (n < 0)
		return -1;
	if (n != st.st_size - off || tail[n - 1] != '\n')
		return 0;	/* torn by a crash: a full rewrite drops it */
	tail[n - 1] = '\0';
	*size_r = st.st_size;
	if ((last = strrchr(tail, '\n')) == NULL)
		return off == 0 ? 1 : 0;	/* only the header */
	p = last + 1;
	if (uidlist_parse_num(&p, tail + n - 1, UINT32_MAX, &uid) < 0 ||
	    *p != ' ')
		return 0;
	if (uid >= h->next_uid)
		h->next_uid = uid == UINT32_MAX ? UINT32_MAX :
		    (uint32_t)uid + 1;
	return 1;
}

static int
uidlist_pwrite_all(int fd, const char *p, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The lines for names, numbered from first.  false when a name does
 * not fit the file or the UIDs would run out. */
static bool
uidlist_append_lines(struct fbuf *b, uint32_t first,
    const char *const *names, const uint64_t *vsizes, size_t n,
    uint32_t *uids_r)
{
	for (size_t i = 0; i < n; i++) {
		const char *nm = names[i];
		size_t blen;

		if (strlen(nm) < 5 || first + i >= UINT32_MAX - 1)
			return false;
		nm += 4;	/* past "cur/" */
		blen = uidlist_basename_len(nm);
		if (!uidlist_name_ok(nm, blen))
			return false;
		uids_r[i] = first + (uint32_t)i;
		uidlist_line(b, uids_r[i], vsizes[i], nm, blen);
	}
	return true;
}

/* Appends the lines and the new next UID; on a failed write the file
 * is cut back, so it still ends in a whole line. */
static int
uidlist_append_write(int fd, const struct fbuf *b, off_t size,
    off_t next_off, uint32_t next)
{
	char num[UIDLIST_NEXT_WIDTH + 1];
	int saved;

	snprintf(num, sizeof(num), "%0*u", UIDLIST_NEXT_WIDTH, next);
	if (uidlist_pwrite_all(fd, b->data, b->len, size) < 0 ||
	    uidlist_pwrite_all(fd, num, UIDLIST_NEXT_WIDTH, next_off) < 0 ||
	    fdatasync(fd) < 0) {
		saved = errno;
		(void)ftruncate(fd, size);
		errno = saved;
		return -1;
	}
	return 0;
}

/* With the UID list's lock held: when the file (opened now, so that a
 * rewrite before the lock is seen) has UIDVALIDITY uidvalidity and next
 * UID next_uid, appends lines and raises its next UID to next_after in
 * place.  lines NULL: they could not be made, nothing is appended.  1
 * done, 0 when the file cannot take them, -1 with errno. */
static int
uidlist_append_locked(const char *file, uint32_t uidvalidity,
    uint32_t next_uid, const struct fbuf *lines, uint32_t next_after)
{
	struct uidlist h;
	off_t size = 0, next_off = 0;
	int fd, r, saved;

	if ((fd = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	memset(&h, 0, sizeof(h));
	r = uidlist_append_check(fd, &h, &size, &next_off);
	if (r == 1 && (h.uidvalidity != uidvalidity ||
	    h.next_uid != next_uid || lines == NULL))
		r = 0;
	if (r == 1 && uidlist_append_write(fd, lines, size, next_off,
	    next_after) < 0)
		r = -1;
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* A scan that found only new messages (every known one still there, the
 * file read whole) appends their lines to the file it read under the
 * same lock, as uidlist_append does, instead of writing all of them
 * again: a delivery into a folder of 100,000 messages costs a line, not
 * the whole file.  1 done, 0 when the file cannot take them (a full
 * rewrite follows), -1 with errno. */
static int
uidlist_append_fresh(const char *path, const struct uidlist_sync *sy,
    const struct uidlist *ul)
{
	char file[PATH_MAX];
	struct fbuf b;
	int r, saved;

	if (sy->nadded == 0 || sy->nadded > ul->n ||
	    snprintf(file, sizeof(file), "%s/" UIDLIST_FILE, path) >=
	    (int)sizeof(file))
		return 0;
	fbuf_init(&b, 0);
	for (size_t i = ul->n - sy->nadded; i < ul->n; i++) {
		const char *nm = ul->v[i].name + 4;	/* past "new/" */

		uidlist_line(&b, ul->v[i].uid, ul->v[i].vsize, nm,
		    uidlist_basename_len(nm));
	}
	r = uidlist_append_locked(file, ul->uidvalidity, sy->old.next_uid,
	    &b, ul->next_uid);
	saved = errno;
	fbuf_release(&b);
	errno = saved;
	return r;
}

int
uidlist_append(const char *path, uint32_t uidvalidity, uint32_t next_uid,
    const char *const *names, const uint64_t *vsizes, size_t n,
    uint32_t *uids_r)
{
	char file[PATH_MAX];
	struct fbuf b;
	int lock, r, saved;

	if (n == 0 || snprintf(file, sizeof(file), "%s/" UIDLIST_FILE,
	    path) >= (int)sizeof(file))
		return 0;
	if ((lock = uidlist_lock(path)) < 0)
		return -1;
	fbuf_init(&b, 0);
	r = uidlist_append_locked(file, uidvalidity, next_uid,
	    uidlist_append_lines(&b, next_uid, names, vsizes, n, uids_r) ?
	    &b : NULL, next_uid + (uint32_t)n);
	saved = errno;
	close(lock);
	fbuf_release(&b);
	errno = saved;
	return r;
}
