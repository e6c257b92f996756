/* Provider profiles (ops_provider.h): the file format, its parser and
 * the matching `check mx` does.  The format, one setting a line:
 *
 *     provider = google                  # starts a profile (its id)
 *     name = Google Workspace
 *     match = *.google.com, *.googlemail.com
 *     set = current: smtp.google.com     # first set: recommended now
 *     set = legacy: aspmx.l.google.com, alt1.aspmx.l.google.com
 *
 * '#' starts a comment; names are host names or "*." + a host name.
 * Every limit is explicit and every error names the file and line; a
 * profile needs a match and a set.  No DNS here: only names compared. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_provider.h"

struct ops_provider_parse {
	struct ops_providers *ps;
	const char *name;
	unsigned line;
	struct ops_provider *cur;
	char *err;
	size_t errsize;
};

static int
ops_provider_fail(struct ops_provider_parse *pp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ops_provider_fail(struct ops_provider_parse *pp, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(pp->err, pp->errsize, "%s:%u: %s", pp->name, pp->line, why);
	return -1;
}

static bool
ops_provider_label_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* A host name, or "*." + one when wild: lower-cased into dst. */
static bool
ops_provider_name_ok(const char *s, bool wild, char *dst, size_t size)
{
	size_t len = strlen(s), label = 0, i = 0;

	if (len == 0 || len >= size || len > OPS_PROVIDER_NAME_MAX)
		return false;
	if (wild && s[0] == '*' && s[1] == '.')
		i = 2;
	if (i == len)
		return false;
	for (; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || i + 1 == len)
				return false;
			label = 0;
		} else if (!ops_provider_label_char((unsigned char)s[i]) ||
		    ++label > 63)
			return false;
	}
	for (i = 0; i <= len; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	return true;
}

/* Splits v at commas and blanks, adding each name to dst[*n]. */
static int
ops_provider_names(struct ops_provider_parse *pp, char *v,
    char (*dst)[OPS_PROVIDER_NAME_MAX + 1], size_t max, size_t *n)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(v, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (*n >= max)
			return ops_provider_fail(pp, "more than %zu names", max);
		if (!ops_provider_name_ok(tok, true, dst[*n], sizeof(dst[0])))
			return ops_provider_fail(pp, "not a host name or "
			    "*.name pattern: %.64s", tok);
		(*n)++;
	}
	return 0;
}

static int
ops_provider_set(struct ops_provider_parse *pp, char *v)
{
	struct ops_provider *p = pp->cur;
	struct ops_provider_set *s;
	char *colon = strchr(v, ':');
	char *name;

	if (colon == NULL)
		return ops_provider_fail(pp, "set needs NAME: HOSTS");
	*colon = '\0';
	name = str_trim(v);
	if (p->nsets >= OPS_PROVIDER_SETS_MAX)
		return ops_provider_fail(pp, "more than %d sets",
		    OPS_PROVIDER_SETS_MAX);
	s = &p->sets[p->nsets];
	memset(s, 0, sizeof(*s));
	if (name[0] == '\0' || strlen(name) >= sizeof(s->name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(name))
		return ops_provider_fail(pp, "bad set name");
	str_lcpy(s->name, name, sizeof(s->name));
	if (ops_provider_names(pp, colon + 1, s->hosts,
	    OPS_PROVIDER_HOSTS_MAX, &s->nhosts) < 0)
		return -1;
	if (s->nhosts == 0)
		return ops_provider_fail(pp, "set %s has no hosts", s->name);
	p->nsets++;
	return 0;
}

/* The profile just ended must be whole. */
static int
ops_provider_close(struct ops_provider_parse *pp)
{
	const struct ops_provider *p = pp->cur;

	if (p == NULL)
		return 0;
	if (p->nmatch == 0)
		return ops_provider_fail(pp, "provider %s has no match", p->id);
	if (p->nsets == 0)
		return ops_provider_fail(pp, "provider %s has no set", p->id);
	return 0;
}

static void
ops_provider_drop(struct ops_providers *ps, size_t i)
{
	memmove(&ps->v[i], &ps->v[i + 1], (ps->n - i - 1) * sizeof(*ps->v));
	ps->n--;
}

static int
ops_provider_begin(struct ops_provider_parse *pp, const char *id)
{
	struct ops_providers *ps = pp->ps;

	if (ops_provider_close(pp) < 0)
		return -1;
	if (id[0] == '\0' || strlen(id) >= sizeof(ps->v[0].id) ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(id))
		return ops_provider_fail(pp, "bad provider id");
	for (size_t i = 0; i < ps->n; i++) {
		if (strcmp(ps->v[i].id, id) != 0)
			continue;
		if (ps->v[i].gen == ps->gen)
			return ops_provider_fail(pp, "provider %s twice", id);
		ops_provider_drop(ps, i);	/* replaced by this file */
		break;
	}
	if (ps->n >= OPS_PROVIDER_MAX)
		return ops_provider_fail(pp, "more than %d providers",
		    OPS_PROVIDER_MAX);
	ps->v = xreallocarray(ps->v, ps->n + 1, sizeof(*ps->v));
	pp->cur = &ps->v[ps->n++];
	memset(pp->cur, 0, sizeof(*pp->cur));
	str_lcpy(pp->cur->id, id, sizeof(pp->cur->id));
	str_lcpy(pp->cur->name, id, sizeof(pp->cur->name));
	pp->cur->gen = ps->gen;
	return 0;
}

static int
ops_provider_setting(struct ops_provider_parse *pp, const char *key, char *v)
{
	struct ops_provider *p;

	if (strcmp(key, "provider") == 0)
		return ops_provider_begin(pp, v);
	if ((p = pp->cur) == NULL)
		return ops_provider_fail(pp, "%s before any provider", key);
	if (strcmp(key, "name") == 0) {
		if (v[0] == '\0' || strlen(v) >= sizeof(p->name))
			return ops_provider_fail(pp, "bad name");
		for (const char *c = v; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return ops_provider_fail(pp, "control "
				    "character in the name");
		str_lcpy(p->name, v, sizeof(p->name));
		return 0;
	}
	if (strcmp(key, "match") == 0)
		return ops_provider_names(pp, v, p->match,
		    OPS_PROVIDER_MATCH_MAX, &p->nmatch);
	if (strcmp(key, "set") == 0)
		return ops_provider_set(pp, v);
	return ops_provider_fail(pp, "unknown key %.32s", key);
}

static int
ops_provider_line(struct ops_provider_parse *pp, char *line)
{
	char *hash = strchr(line, '#'), *eq, *key;

	if (hash != NULL)
		*hash = '\0';
	line = str_trim(line);
	if (line[0] == '\0')
		return 0;
	if ((eq = strchr(line, '=')) == NULL)
		return ops_provider_fail(pp, "expected KEY = VALUE");
	*eq = '\0';
	key = str_trim(line);
	return ops_provider_setting(pp, key, str_trim(eq + 1));
}

/* On failure the profiles this call added are taken out again. */
static void
ops_provider_undo(struct ops_provider_parse *pp)
{
	struct ops_providers *ps = pp->ps;

	for (size_t i = ps->n; i > 0; i--)
		if (ps->v[i - 1].gen == ps->gen)
			ops_provider_drop(ps, i - 1);
}

int
ops_providers_parse(struct ops_providers *ps, const char *name,
    const char *text, size_t len, char *err, size_t errsize)
{
	struct ops_provider_parse pp = { ps, name, 0, NULL, err, errsize };
	char line[OPS_PROVIDER_LINE_MAX + 1];
	size_t i = 0;
	int ret = 0;

	ps->gen++;
	if (memchr(text, '\0', len) != NULL) {
		pp.line = 1;
		ret = ops_provider_fail(&pp, "NUL in the file");
	}
	while (ret == 0 && i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = (nl != NULL ? (size_t)(nl - text) : len) - i;

		pp.line++;
		if (n > OPS_PROVIDER_LINE_MAX) {
			ret = ops_provider_fail(&pp, "line longer than %d",
			    OPS_PROVIDER_LINE_MAX);
			break;
		}
		memcpy(line, text + i, n);
		line[n] = '\0';
		ret = ops_provider_line(&pp, line);
		i += n + 1;
	}
	if (ret == 0)
		ret = ops_provider_close(&pp);
	if (ret < 0)
		ops_provider_undo(&pp);
	return ret;
}

void
ops_providers_free(struct ops_providers *ps)
{
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

/* ---------------------------------------------------------- files */

static int
ops_providers_file(struct ops_providers *ps, const char *path, int slot,
    char *err, size_t errsize)
{
	struct fbuf b;
	int ret;

	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, OPS_PROVIDER_FILE_MAX) < 0) {
		fbuf_release(&b);
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = ops_providers_parse(ps, path, b.data != NULL ? b.data : "",
	    b.len, err, errsize);
	fbuf_release(&b);
	if (ret == 0)
		str_lcpy(ps->files[slot], path, sizeof(ps->files[slot]));
	return ret;
}

int
ops_providers_load(struct ops_providers *ps, const char *conf_dir,
    char *err, size_t errsize)
{
	static const char *const shipped[] = {
		"%s/../share/ferry/" OPS_PROVIDER_FILE,
		"%s/../data/" OPS_PROVIDER_FILE,
	};
	char exe[PATH_MAX], path[PATH_MAX + 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), shipped[i], exe);
			if (access(path, F_OK) != 0)
				continue;
			if (ops_providers_file(ps, path, 0, err, errsize) < 0)
				return -1;
			break;
		}
	}
	if (conf_dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", conf_dir, OPS_PROVIDER_FILE);
	return ops_providers_file(ps, path, 1, err, errsize);
}

/* ---------------------------------------------------------- matching */

bool
ops_provider_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host), sl;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pattern[0] == '*' && pattern[1] == '.') {
		sl = strlen(pattern + 1);		/* ".suffix" */
		return hl > sl && strncasecmp(host + hl - sl, pattern + 1,
		    sl) == 0;
	}
	return strlen(pattern) == hl && strncasecmp(pattern, host, hl) == 0;
}

bool
ops_provider_claims(const struct ops_provider *p, const char *host)
{
	for (size_t i = 0; i < p->nmatch; i++)
		if (ops_provider_match(p->match[i], host))
			return true;
	return false;
}

const struct ops_provider *
ops_providers_find(const struct ops_providers *ps, const char *const *hosts,
    size_t n)
{
	const struct ops_provider *best = NULL;
	size_t best_n = 0;

	for (size_t i = 0; i < ps->n; i++) {
		size_t k = 0;

		for (size_t h = 0; h < n; h++)
			k += ops_provider_claims(&ps->v[i], hosts[h]);
		if (k > best_n) {
			best = &ps->v[i];
			best_n = k;
		}
	}
	return best;
}

bool
ops_provider_present(const char *e, const char *const *hosts, size_t n)
{
	for (size_t h = 0; h < n; h++)
		if (ops_provider_match(e, hosts[h]))
			return true;
	return false;
}

const struct ops_provider_set *
ops_provider_best_set(const struct ops_provider *p, const char *const *hosts,
    size_t n, size_t *present_r)
{
	const struct ops_provider_set *best = &p->sets[0];
	size_t best_n = 0;

	for (size_t i = 0; i < p->nsets; i++) {
		size_t k = 0;

		for (size_t e = 0; e < p->sets[i].nhosts; e++)
			k += ops_provider_present(p->sets[i].hosts[e], hosts,
			    n);
		if (k > best_n) {
			best = &p->sets[i];
			best_n = k;
		}
	}
	*present_r = best_n;
	return best;
}
