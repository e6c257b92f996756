/* `ferry import vpopmail` (ops_import.h): walks DIR/domains/DOMAIN/,
 * imports each domain's vpasswd users (their crypt(3) hashes as they
 * are: libcrypt verifies MD5-crypt, SHA-crypt and DES at login), their
 * quotas and Maildirs (ops_import_mail.c), then the domain's .qmail-*
 * files and each user's own .qmail as aliases, forwards and the
 * catch-all.  The tree is opened below one directory descriptor with
 * O_NOFOLLOW at every step, so no symbolic link is ever followed, inside
 * the tree or out of it; links are reported and skipped.  Existing
 * objects are never changed: what differs is reported and kept, so a
 * second run changes nothing.  vpopmail's hashed layouts (domains/0/...)
 * and SQL back-ends are not read; vdelivermail's "delete" catch-all,
 * programs and mbox lines have no Ferry equivalent and are reported. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "auth/password.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_alias.h"
#include "ops/ops_import_parse.h"
#include "ops/ops_import_private.h"
#include "store/resolve.h"
#include "store/store.h"

/* ---- helpers shared with ops_import_mail.c ---- */

void
ops_imp_clean(char *dst, size_t size, const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i < 80 && i + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	dst[i] = '\0';
}

void
ops_imp_note(struct ops_imp *im, const char *where, const char *fmt, ...)
{
	struct ops_import_result *r = im->r;
	char text[1024];
	va_list ap;

	if (r->nnotes >= OPS_IMPORT_NOTES_MAX) {
		r->notes_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ops_clean(text);
	if (r->nnotes == r->capnotes) {
		r->capnotes = r->capnotes ? r->capnotes * 2 : 16;
		r->notes = xreallocarray(r->notes, r->capnotes,
		    sizeof(*r->notes));
	}
	r->notes[r->nnotes].where = xstrdup(where);
	ops_clean(r->notes[r->nnotes].where);
	r->notes[r->nnotes++].text = xstrdup(text);
}

bool
ops_imp_stopping(const struct ops_imp *im)
{
	if (im->o->stop != NULL && *im->o->stop)
		im->r->interrupted = true;
	return im->r->interrupted;
}

void
ops_imp_progress(struct ops_imp *im, const char *where)
{
	im->since_progress = 0;
	if (im->o->progress != NULL)
		im->o->progress(im->r, where, im->o->progress_ctx);
}

int
ops_imp_opendir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

int
ops_imp_readfile(int dirfd, const char *name, struct fbuf *b, size_t max)
{
	char chunk[16384];
	struct stat sb;
	ssize_t n = 0;
	int fd, saved;

	/* O_NONBLOCK: a FIFO planted in the tree must not hang us. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b->len + (size_t)n > max) {
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

static int
ops_imp_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ops_imp_names(int fd, char ***names_r, size_t *n_r)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	int dfd = dup(fd);
	DIR *d;

	*names_r = NULL;
	*n_r = 0;
	if (dfd < 0)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), ops_imp_strcmp);
	*names_r = v;
	*n_r = n;
	return 0;
}

void
ops_imp_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void
ops_import_result_free(struct ops_import_result *r)
{
	for (size_t i = 0; i < r->nnotes; i++) {
		free(r->notes[i].where);
		free(r->notes[i].text);
	}
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

/* ---- users ---- */

/* The user's directory below the domain's, from vpasswd's dir field
 * (an absolute path on the old host): the part after "/DOMAIN/", when
 * every component of it is a plain name; else the user name itself. */
static void
ops_imp_user_rel(const struct ops_imp *im, const struct ops_vpw *e,
    char *dst, size_t size)
{
	char key[260], *copy, *s, *tok;
	const char *p, *hit = NULL;
	size_t klen, n;
	bool ok;

	klen = (size_t)snprintf(key, sizeof(key), "/%s/", im->domain);
	for (p = e->dir; (p = strcasestr(p, key)) != NULL; p++)
		hit = p;
	str_lcpy(dst, e->name, size);
	if (hit == NULL || klen >= sizeof(key))
		return;
	copy = xstrdup(hit + klen);
	n = strlen(copy);
	while (n > 0 && copy[n - 1] == '/')
		copy[--n] = '\0';
	ok = n > 0 && n < size;
	for (s = copy; ok && (tok = strsep(&s, "/")) != NULL;)
		ok = tok[0] != '\0' && strcmp(tok, ".") != 0 &&
		    strcmp(tok, "..") != 0;
	if (ok)
		str_lcpy(dst, hit + klen, n + 1);
	free(copy);
}

/* Opens rel (components separated by '/') below the domain, no links. */
static int
ops_imp_open_rel(int dirfd, const char *rel)
{
	char *copy = xstrdup(rel), *s = copy, *tok;
	int fd = dup(dirfd), next;

	while (fd >= 0 && (tok = strsep(&s, "/")) != NULL) {
		next = ops_imp_opendir(fd, tok);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

/* The hash to store: the vpasswd hash when crypt(3) can verify it, else
 * a yescrypt hash of the clear-text field, else a locked "!". */
static void
ops_imp_hash(struct ops_imp *im, const char *addr, const struct ops_vpw *e,
    char *dst, size_t size)
{
	if (password_usable(e->hash)) {
		str_lcpy(dst, e->hash, size);
		return;
	}
	if (e->clear[0] != '\0' && password_hash(e->clear, dst, size) == 0) {
		ops_imp_note(im, addr, "password hash not usable; hashed the "
		    "clear-text password instead");
		return;
	}
	str_lcpy(dst, "!", size);
	ops_imp_note(im, addr, "password hash not usable (unknown scheme "
	    "or empty): login disabled until `ferry user passwd`");
}

static void
ops_imp_flags(struct ops_imp *im, const char *addr, unsigned long flags)
{
	static const struct {
		unsigned long bit;
		const char *name;
	} names[] = {
		{ OPS_VPW_NO_POP, "NO_POP" }, { OPS_VPW_NO_IMAP, "NO_IMAP" },
		{ OPS_VPW_NO_SMTP, "NO_SMTP" },
		{ OPS_VPW_BOUNCE_MAIL, "BOUNCE_MAIL" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			ops_imp_note(im, addr, "vpopmail flag %s not imported "
			    "(Ferry has no such per-user switch)",
			    names[i].name);
}

/* Adds the user to the store, or sees that it is there. */
static int
ops_imp_user_store(struct ops_imp *im, const char *addr,
    const struct ops_vpw *e, struct ops_status *st)
{
	uint64_t quota, count;
	struct store_user u;
	const char *error;
	char hash[256];
	int r;

	if (ops_vpw_quota(e->quota, &quota, &count, &error) < 0) {
		ops_imp_note(im, addr, "quota \"%s\": %s; imported without "
		    "a quota", e->quota, error);
		quota = 0;
	} else if (count > 0)
		ops_imp_note(im, addr, "message-count quota (%lluC) not "
		    "imported: Ferry limits bytes only",
		    (unsigned long long)count);
	r = store_user_get(im->c->store, addr, &u);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", addr);
	if (r == 1) {
		im->r->kept.users++;
		if (u.quota != quota)
			ops_imp_note(im, addr, "in Ferry already with another "
			    "quota; kept as it is");
		return 0;
	}
	ops_imp_hash(im, addr, e, hash, sizeof(hash));
	ops_imp_flags(im, addr, e->flags);
	im->r->added.users++;
	if (!im->o->dry_run &&
	    ops_user_add(im->c, addr, hash, quota, st) < 0)
		return -1;
	explicit_bzero(hash, sizeof(hash));
	return 0;
}

static bool ops_imp_dotqmail(struct ops_imp *im, int dirfd, const char *file,
    const char *addr, const char *self, struct ops_status *st);

static int
ops_imp_user(struct ops_imp *im, const struct ops_vpw *e,
    struct ops_status *st)
{
	struct ops_imp_user *u;
	char input[600], addr[320];
	const char *error;
	int fd;

	snprintf(input, sizeof(input), "%s@%s", e->name, im->domain);
	if (resolve_parse_mailbox(&im->c->ropts, input, addr, sizeof(addr),
	    &error) < 0) {
		ops_imp_note(im, im->domain, "user \"%s\": %s; not imported",
		    e->name, error);
		return 0;
	}
	for (size_t i = 0; i < im->nusers; i++)
		if (strcmp(im->users[i].addr, addr) == 0) {
			ops_imp_note(im, addr, "listed twice in vpasswd; "
			    "the first line counts");
			return 0;
		}
	if (ops_imp_user_store(im, addr, e, st) < 0)
		return -1;
	im->users = xreallocarray(im->users, im->nusers + 1,
	    sizeof(*im->users));
	u = &im->users[im->nusers++];
	str_lcpy(u->addr, addr, sizeof(u->addr));
	ops_imp_user_rel(im, e, u->rel, sizeof(u->rel));
	fd = ops_imp_open_rel(im->domfd, u->rel);
	if (fd < 0) {
		ops_imp_note(im, addr, "directory %s: %s; no mail imported",
		    u->rel, errno == ELOOP || errno == ENOTDIR ?
		    "a symbolic link or not a directory" : strerror(errno));
		return 0;
	}
	if (ops_imp_mailbox(im, fd, addr) < 0) {
		close(fd);
		return ops_imp_stopping(im) ? 0 : ops_fail(st, OPS_EFAIL,
		    "%s: cannot write its Maildir", addr);
	}
	/* vdelivermail reads the user's own .qmail (forwards). */
	if (!ops_imp_dotqmail(im, fd, ".qmail", addr, addr, st)) {
		close(fd);
		return -1;
	}
	close(fd);
	ops_imp_progress(im, addr);
	return 0;
}

/* ---- .qmail files ---- */

/* The user whose Maildir a delivery path names: "./REL/Maildir/",
 * "/old/home/domains/DOMAIN/REL/Maildir/", or, in a user's own .qmail,
 * "./Maildir/" for self.  NULL when no imported user has it. */
static const char *
ops_imp_path_user(const struct ops_imp *im, const char *path,
    const char *self)
{
	char rel[1024], key[260];
	const char *p, *hit = NULL;
	size_t n;

	str_lcpy(rel, path, sizeof(rel));
	n = strlen(rel);
	while (n > 0 && rel[n - 1] == '/')
		rel[--n] = '\0';
	if (n < 8 || strcmp(rel + n - 8, "/Maildir") != 0) {
		if (self != NULL && strcmp(rel, "./Maildir") == 0)
			return self;
		return NULL;
	}
	rel[n - 8] = '\0';
	if (self != NULL && strcmp(rel, ".") == 0)
		return self;
	snprintf(key, sizeof(key), "/%s/", im->domain);
	for (p = rel; (p = strcasestr(p, key)) != NULL; p++)
		hit = p;
	if (strncmp(rel, "./", 2) == 0)
		p = rel + 2;
	else if (hit != NULL)
		p = hit + strlen(key);
	else
		return NULL;
	for (size_t i = 0; i < im->nusers; i++)
		if (strcmp(im->users[i].rel, p) == 0)
			return im->users[i].addr;
	return NULL;
}

static bool
ops_imp_is_user(const struct ops_imp *im, const char *addr)
{
	for (size_t i = 0; i < im->nusers; i++)
		if (strcmp(im->users[i].addr, addr) == 0)
			return true;
	return false;
}

/* Adds addr (normalised) to the comma list t unless there. */
static void
ops_imp_target(struct fbuf *t, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = t->data; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && memcmp(p, addr, n) == 0)
			return;
		p = comma ? comma + 1 : p + len;
	}
	if (t->len > 0)
		fbuf_addc(t, ',');
	fbuf_adds(t, addr);
}

struct ops_imp_map {
	const char *file;	/* for notes */
	const char *addr;	/* the alias ("@domain": catch-all) */
	const char *self;	/* the user owning the file, or NULL */
	struct fbuf targets;
	bool bounce;		/* vdelivermail bounce-no-mailbox */
};

static void
ops_imp_map_path(struct ops_imp *im, struct ops_imp_map *m,
    const struct ops_dq_item *it)
{
	const char *u = ops_imp_path_user(im, it->arg, m->self);

	if (u != NULL)
		ops_imp_target(&m->targets, u);
	else
		ops_imp_note(im, m->addr, "%s line %u: Maildir %s belongs to "
		    "no imported user; not mapped", m->file, it->line,
		    it->arg);
}

static void
ops_imp_map_forward(struct ops_imp *im, struct ops_imp_map *m,
    const struct ops_dq_item *it, const char *arg)
{
	char addr[320];
	const char *error;

	if (resolve_parse_mailbox(&im->c->ropts, arg, addr, sizeof(addr),
	    &error) == 0)
		ops_imp_target(&m->targets, addr);
	else
		ops_imp_note(im, m->addr, "%s line %u: forward \"%s\": %s; "
		    "not mapped", m->file, it->line, arg, error);
}

/* vdelivermail '' ARG: ARG is what happens to mail for no user. */
static void
ops_imp_map_vdeliver(struct ops_imp *im, struct ops_imp_map *m,
    const struct ops_dq_item *it)
{
	const char *arg = it->arg;

	if (m->addr[0] != '@' && ops_imp_is_user(im, m->addr)) {
		/* In .qmail-USER it delivers to the vpopmail user USER. */
		ops_imp_target(&m->targets, m->addr);
		return;
	}
	if (strcmp(arg, "bounce-no-mailbox") == 0 ||
	    strcmp(arg, "bounce") == 0)
		m->bounce = true;
	else if (strcmp(arg, "delete") == 0)
		ops_imp_note(im, m->addr, "%s line %u: vdelivermail "
		    "\"delete\" (discard mail for unknown users) has no Ferry "
		    "equivalent: such mail is now refused", m->file,
		    it->line);
	else if (arg[0] == '/')
		ops_imp_map_path(im, m, it);
	else if (strchr(arg, '@') != NULL)
		ops_imp_map_forward(im, m, it, arg);
	else
		ops_imp_note(im, m->addr, "%s line %u: vdelivermail argument "
		    "\"%s\" not understood; not mapped", m->file, it->line,
		    arg);
}

static void
ops_imp_map_item(struct ops_imp *im, struct ops_imp_map *m,
    const struct ops_dq_item *it)
{
	switch (it->kind) {
	case OPS_DQ_FORWARD:
		ops_imp_map_forward(im, m, it, it->arg);
		break;
	case OPS_DQ_MAILDIR:
		ops_imp_map_path(im, m, it);
		break;
	case OPS_DQ_VDELIVER:
		ops_imp_map_vdeliver(im, m, it);
		break;
	case OPS_DQ_MBOX:
		ops_imp_note(im, m->addr, "%s line %u: mbox delivery to %s "
		    "not supported; not mapped", m->file, it->line, it->arg);
		break;
	case OPS_DQ_PROGRAM:
		ops_imp_note(im, m->addr, "%s line %u: program \"|%.60s\" "
		    "not supported; not mapped", m->file, it->line, it->arg);
		break;
	}
}

/* Stores alias addr -> targets unless it is there; 0 or -1 (store). */
static int
ops_imp_alias_store(struct ops_imp *im, const char *addr,
    const char *targets, struct ops_status *st)
{
	bool catchall = addr[0] == '@';
	char *stored = NULL, *arg = (char *)targets;
	int r;

	r = store_alias_get(im->c->store, addr, &stored);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", addr);
	if (r == 1) {
		if (strcmp(stored, targets) != 0)
			ops_imp_note(im, addr, "in Ferry already with other "
			    "targets (%s); kept as it is", stored);
		free(stored);
		if (catchall)
			im->r->kept.catchalls++;
		else
			im->r->kept.aliases++;
		return 0;
	}
	if (!im->o->dry_run && ops_alias_add(im->c, addr, &arg, 1, st) < 0) {
		ops_imp_note(im, addr, "not imported: %s", st->text);
		return 0;
	}
	if (catchall)
		im->r->added.catchalls++;
	else
		im->r->added.aliases++;
	return 0;
}

/* Imports one .qmail file below dirfd as alias addr (self: the user
 * whose own .qmail it is, else NULL).  false on a store error. */
static bool
ops_imp_dotqmail(struct ops_imp *im, int dirfd, const char *file,
    const char *addr, const char *self, struct ops_status *st)
{
	struct ops_imp_map m = { .file = file, .addr = addr, .self = self };
	struct ops_dotqmail q;
	const char *error;
	struct fbuf b;
	bool ok = true;

	fbuf_init(&b, 0);
	if (ops_imp_readfile(dirfd, file, &b, OPS_IMP_DOTQMAIL_MAX) < 0) {
		if (errno != ENOENT)
			ops_imp_note(im, addr, "%s: %s; not imported", file,
			    errno == ELOOP ? "a symbolic link" :
			    errno == EINVAL ? "not a regular file" :
			    strerror(errno));
		fbuf_release(&b);
		return true;
	}
	if (ops_dotqmail_parse(b.data, b.len, &q, &error) < 0) {
		ops_imp_note(im, addr, "%s: %s; not imported", file, error);
		fbuf_release(&b);
		return true;
	}
	fbuf_release(&b);
	fbuf_init(&m.targets, 0);
	for (size_t i = 0; i < q.n; i++)
		ops_imp_map_item(im, &m, &q.v[i]);
	ops_dotqmail_free(&q);
	/* A user's file that only delivers to its own Maildir, or a
	 * .qmail-default that bounces, is what Ferry does anyway. */
	if (m.targets.len > 0 && !(self != NULL &&
	    strcmp(m.targets.data, self) == 0) &&
	    !(addr[0] != '@' && strcmp(m.targets.data, addr) == 0 &&
	    ops_imp_is_user(im, addr)))
		ok = ops_imp_alias_store(im, addr, m.targets.data, st) == 0;
	else if (m.targets.len == 0 && !m.bounce && q.n > 0)
		ops_imp_note(im, addr, "%s: nothing in it could be mapped; "
		    "not imported", file);
	fbuf_release(&m.targets);
	return ok;
}

/* The domain's .qmail-* files. */
static int
ops_imp_aliases(struct ops_imp *im, struct ops_status *st)
{
	char **names, local[256], addr[320], input[600], clean[96];
	const char *error;
	size_t n;
	int kind, ret = 0;

	if (ops_imp_names(im->domfd, &names, &n) < 0)
		return ops_fail(st, OPS_EFAIL, "%s: cannot list: %s",
		    im->domain, strerror(errno));
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (strncmp(names[i], ".qmail-", 7) != 0)
			continue;
		kind = ops_dotqmail_name(names[i], local, sizeof(local));
		ops_imp_clean(clean, sizeof(clean), names[i]);
		if (kind == OPS_DQN_DEFAULT)
			snprintf(addr, sizeof(addr), "@%s", im->domain);
		else if (kind == OPS_DQN_LOCAL) {
			snprintf(input, sizeof(input), "%s@%s", local,
			    im->domain);
			if (resolve_parse_mailbox(&im->c->ropts, input, addr,
			    sizeof(addr), &error) < 0)
				kind = -1;
		}
		if (kind == OPS_DQN_WILDCARD)
			ops_imp_note(im, im->domain, "%s: extension wildcard "
			    "(%s-*) not supported; not imported", clean,
			    local);
		else if (kind < 0)
			ops_imp_note(im, im->domain, "%s: not a usable local "
			    "part; not imported", clean);
		else if (!ops_imp_dotqmail(im, im->domfd, names[i], addr, NULL,
		    st))
			ret = -1;
	}
	ops_imp_names_free(names, n);
	return ret;
}

/* ---- domains ---- */

static int
ops_imp_vpasswd(struct ops_imp *im, struct ops_status *st)
{
	const char *p, *end, *nl, *error;
	struct ops_vpw e;
	unsigned line = 0;
	struct fbuf b;
	int ret = 0;

	fbuf_init(&b, 0);
	if (ops_imp_readfile(im->domfd, "vpasswd", &b, OPS_IMP_FILE_MAX) < 0) {
		ops_imp_note(im, im->domain, "vpasswd: %s; no users imported",
		    errno == ELOOP ? "a symbolic link" : strerror(errno));
		fbuf_release(&b);
		return 0;
	}
	p = b.data != NULL ? b.data : "";
	end = p + b.len;
	for (; p < end && ret == 0 && !ops_imp_stopping(im); p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		line++;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			continue;
		error = NULL;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			error = "NUL octet";
		else if (ops_vpw_parse(p, (size_t)(nl - p), &e, &error) < 0 &&
		    error == NULL)
			error = "malformed";
		if (error != NULL) {
			ops_imp_note(im, im->domain, "vpasswd line %u: %s; "
			    "skipped", line, error);
			continue;
		}
		ret = ops_imp_user(im, &e, st);
		explicit_bzero(&e, sizeof(e));
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	fbuf_release(&b);
	return ret;
}

static int
ops_imp_domain(struct ops_imp *im, int domfd, const char *domain,
    struct ops_status *st)
{
	int r, ret;

	str_lcpy(im->domain, domain, sizeof(im->domain));
	im->domfd = domfd;
	r = store_domain_exists(im->c->store, domain);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "%s: store error", domain);
	if (r == 1)
		im->r->kept.domains++;
	else {
		im->r->added.domains++;
		if (!im->o->dry_run && ops_domain_add(im->c, domain, st) < 0)
			return -1;
	}
	ret = ops_imp_vpasswd(im, st);
	if (ret == 0 && !ops_imp_stopping(im))
		ret = ops_imp_aliases(im, st);
	free(im->users);
	im->users = NULL;
	im->nusers = 0;
	return ret;
}

/* One entry of domains/: a domain directory with a vpasswd, or a note. */
static int
ops_imp_entry(struct ops_imp *im, int topfd, const char *name, bool *found,
    struct ops_status *st)
{
	char domain[256], clean[96];
	const char *error;
	struct stat sb;
	int fd, ret;

	ops_imp_clean(clean, sizeof(clean), name);
	if (name[0] == '.' || fstatat(topfd, name, &sb,
	    AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISLNK(sb.st_mode)) {
		ops_imp_note(im, clean, "a symbolic link (an alias domain?); "
		    "not followed, not imported");
		return 0;
	}
	if (!S_ISDIR(sb.st_mode))
		return 0;
	if ((fd = ops_imp_opendir(topfd, name)) < 0)
		return 0;
	if (fstatat(fd, "vpasswd", &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		ops_imp_note(im, clean, strchr(name, '.') != NULL ?
		    "no vpasswd; not imported" : "not a domain directory "
		    "(vpopmail's hashed domain layout is not read)");
		close(fd);
		return 0;
	}
	if (resolve_parse_domain(name, domain, sizeof(domain), &error) < 0) {
		ops_imp_note(im, clean, "not a domain name (%s); not imported",
		    error);
		close(fd);
		return 0;
	}
	*found = true;
	ret = ops_imp_domain(im, fd, domain, st);
	close(fd);
	return ret;
}

/* DIR is vpopmail's home (with domains/) or the domains directory. */
static int
ops_imp_top(const char *dir, struct ops_status *st)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), sub;

	if (fd < 0)
		return ops_fail(st, errno == ENOENT ? OPS_ENOENT : OPS_EINVAL,
		    "%s: %s", dir, strerror(errno));
	sub = ops_imp_opendir(fd, "domains");
	if (sub >= 0) {
		close(fd);
		return sub;
	}
	return fd;
}

int
ops_import_vpopmail(const struct ops_ctx *c, const struct ops_import_opts *o,
    struct ops_import_result *r, struct ops_status *st)
{
	struct ops_imp im = { .c = c, .o = o, .r = r, .domfd = -1 };
	char **names;
	bool found = false;
	size_t n;
	int top, ret = 0;

	memset(r, 0, sizeof(*r));
	r->dry_run = o->dry_run;
	if (ops_check_admin(c->actor, "import", st) < 0)
		return -1;
	if ((top = ops_imp_top(o->dir, st)) < 0)
		return -1;
	if (ops_imp_names(top, &names, &n) < 0) {
		close(top);
		return ops_fail(st, OPS_EFAIL, "%s: cannot list: %s", o->dir,
		    strerror(errno));
	}
	for (size_t i = 0; i < n && ret == 0 && !ops_imp_stopping(&im); i++)
		ret = ops_imp_entry(&im, top, names[i], &found, st);
	ops_imp_names_free(names, n);
	close(top);
	if (ret == 0 && !found && !r->interrupted)
		return ops_fail(st, OPS_ENOENT, "%s: no vpopmail domain "
		    "(DOMAIN/vpasswd) found", o->dir);
	return ret == 0 ? ops_ok(st) : -1;
}
