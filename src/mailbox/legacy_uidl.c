/* The kept POP3 UIDLs of imported messages (legacy_uidl.h).  The list
 * is written once per import and read at each POP3 login; entries of
 * messages deleted since are harmless and stay (a base name is never
 * reused: it carries the time, the host and a per-host unique part).
 * It does not decide which messages are legacy: the importer does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/xalloc.h"
#include "mailbox/legacy_uidl.h"

#define LEGACY_UIDL_HEADER "ferry-pop3-uidl 1\n"
#define LEGACY_UIDL_MAX (64u << 20)

bool
legacy_uidl_ok(const char *base, size_t n)
{
	if (n == 0 || n > 70 || base[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)base[i] < 0x21 ||
		    (unsigned char)base[i] > 0x7e || base[i] == '/' ||
		    base[i] == ':')
			return false;
	return true;
}

/* Position of base in the sorted set, or where it would go. */
static size_t
legacy_uidl_pos(const struct legacy_uidl *set, const char *base, size_t n,
    bool *found_r)
{
	size_t lo = 0, hi = set->n;

	*found_r = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(set->v[mid], base, n);

		if (c == 0 && set->v[mid][n] != '\0')
			c = 1;
		if (c == 0) {
			*found_r = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool
legacy_uidl_has(const struct legacy_uidl *set, const char *base, size_t n)
{
	bool found;

	(void)legacy_uidl_pos(set, base, n, &found);
	return found;
}

void
legacy_uidl_add(struct legacy_uidl *set, const char *base, size_t n)
{
	bool found;
	size_t at = legacy_uidl_pos(set, base, n, &found);

	if (found)
		return;
	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	memmove(set->v + at + 1, set->v + at, (set->n - at) *
	    sizeof(*set->v));
	set->v[at] = xstrndup(base, n);
	set->n++;
}

static int
legacy_uidl_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
legacy_uidl_parse(const char *text, size_t len, struct legacy_uidl *set)
{
	size_t hlen = sizeof(LEGACY_UIDL_HEADER) - 1, k = 0;
	const char *p, *end = text + len, *nl;

	memset(set, 0, sizeof(*set));
	if (len < hlen || memcmp(text, LEGACY_UIDL_HEADER, hlen) != 0)
		return -1;
	for (p = text + hlen; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || !legacy_uidl_ok(p, (size_t)(nl - p))) {
			legacy_uidl_free(set);
			return -1;
		}
		set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
		set->v[set->n++] = xstrndup(p, (size_t)(nl - p));
	}
	if (set->n == 0)
		return 0;
	qsort(set->v, set->n, sizeof(*set->v), legacy_uidl_cmp);
	for (size_t i = 0; i < set->n; i++) {
		if (k > 0 && strcmp(set->v[k - 1], set->v[i]) == 0)
			free(set->v[i]);
		else
			set->v[k++] = set->v[i];
	}
	set->n = k;
	return 0;
}

int
legacy_uidl_load(const char *maildir, struct legacy_uidl *set)
{
	char path[4096];
	struct fbuf b;
	int r;

	memset(set, 0, sizeof(*set));
	if (fsio_pathf(path, sizeof(path), "%s/" LEGACY_UIDL_FILE,
	    maildir) < 0)
		return -1;
	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, LEGACY_UIDL_MAX) < 0) {
		r = errno == ENOENT ? 0 : -1;
		fbuf_release(&b);
		return r;
	}
	r = legacy_uidl_parse(b.data, b.len, set);
	fbuf_release(&b);
	if (r < 0)
		errno = EINVAL;
	return r;
}

int
legacy_uidl_write(const char *maildir, const struct legacy_uidl *set)
{
	char path[4096];
	struct fbuf b;
	int r;

	if (fsio_pathf(path, sizeof(path), "%s/" LEGACY_UIDL_FILE,
	    maildir) < 0)
		return -1;
	fbuf_init(&b, 0);
	fbuf_adds(&b, LEGACY_UIDL_HEADER);
	for (size_t i = 0; i < set->n; i++)
		fbuf_addf(&b, "%s\n", set->v[i]);
	r = fsio_replace_file(path, b.data, b.len, 0600);
	fbuf_release(&b);
	return r;
}

void
legacy_uidl_free(struct legacy_uidl *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
