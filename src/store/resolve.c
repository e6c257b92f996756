/* Recipient resolution on top of the store (see resolve.h for the order).
 * Every alias is expanded at most once per lookup: a target naming an
 * alias already being expanded is taken as a plain mailbox (so "a -> a,
 * b@remote" keeps a copy for user a) and otherwise dropped, which breaks
 * loops.  Alias targets get the same lookup as the recipient except for
 * the catch-all: a target naming a missing local mailbox is a mistake
 * in the alias and is skipped rather than sent to "@domain".  This file
 * decides nothing about relaying; RESOLVE_REMOTE just says "not ours". */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "smtp/smtp_addr.h"
#include "store/resolve.h"
#include "store/store.h"

#define RESOLVE_ADDR_MAX 320

struct resolve_ctx {
	struct store *s;
	const struct resolve_opts *o;
	struct resolve_result *r;
	char **seen;		/* aliases already expanded */
	size_t nseen, capseen;
};

static const struct resolve_opts resolve_default_opts = {
	.case_sensitive_local = false,
	.delimiter = "+",
};

int
resolve_normalise(const struct resolve_opts *o, const char *address,
    char *dst, size_t size)
{
	size_t len;
	char *at;

	if (o == NULL)
		o = &resolve_default_opts;
	len = str_lcpy(dst, address, size);
	if (len >= size)
		return -1;
	at = strrchr(dst, '@');
	if (at == NULL || at[1] == '\0')
		return -1;
	if (dst[len - 1] == '.')
		dst[--len] = '\0';
	if (at[1] == '\0' || at[1] == '.')
		return -1;
	str_lower(at + 1);
	if (!o->case_sensitive_local) {
		*at = '\0';
		str_lower(dst);
		*at = '@';
	}
	return 0;
}

void
resolve_result_free(struct resolve_result *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static bool
resolve_seen(const struct resolve_ctx *c, const char *addr)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i], addr) == 0)
			return true;
	return false;
}

static void
resolve_mark_seen(struct resolve_ctx *c, const char *addr)
{
	if (c->nseen == c->capseen) {
		c->capseen = c->capseen == 0 ? 8 : c->capseen * 2;
		c->seen = xreallocarray(c->seen, c->capseen, sizeof(char *));
	}
	c->seen[c->nseen++] = xstrdup(addr);
}

/* Appends a target unless it is already there (same mailbox for local
 * targets, same address for remote ones) or the list is full. */
static void
resolve_add(struct resolve_ctx *c, const char *address,
    const struct store_user *u)
{
	struct resolve_result *r = c->r;
	struct resolve_target *t;

	for (size_t i = 0; i < r->n; i++) {
		t = &r->v[i];
		if (u != NULL ? t->local && strcmp(t->user, u->address) == 0 :
		    !t->local && strcmp(t->address, address) == 0)
			return;
	}
	if (r->n >= RESOLVE_MAX_TARGETS)
		return;
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	t = &r->v[r->n++];
	memset(t, 0, sizeof(*t));
	str_lcpy(t->address, address, sizeof(t->address));
	if (u != NULL) {
		t->local = true;
		str_lcpy(t->user, u->address, sizeof(t->user));
		t->quota = u->quota;
		t->vacation = u->vacation;
	}
}

static int resolve_address(struct resolve_ctx *c, const char *addr,
    int depth, bool top);

/* Resolves each address of a comma-separated target list at depth.
 * 0 or -1 (store error). */
static int
resolve_targets(struct resolve_ctx *c, const char *targets, int depth)
{
	char *list = xstrdup(targets), *p = list, *tok;
	char norm[RESOLVE_ADDR_MAX];
	int ret = 0;

	while (ret == 0 && (tok = strsep(&p, ",")) != NULL) {
		tok = str_trim(tok);
		if (tok[0] == '\0' || tok[0] == '@' ||
		    resolve_normalise(c->o, tok, norm, sizeof(norm)) < 0)
			continue;
		if (resolve_address(c, norm, depth, false) < 0)
			ret = -1;
	}
	free(list);
	return ret;
}

/* Looks key up as an alias (unless already expanded), then as a user;
 * `orig` is the address the target will carry.  1 matched, 0 not, -1
 * store error. */
static int
resolve_lookup(struct resolve_ctx *c, const char *key, const char *orig,
    int depth)
{
	struct store_user u;
	char *targets;
	int rc;

	if (!resolve_seen(c, key)) {
		rc = store_alias_get(c->s, key, &targets);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			resolve_mark_seen(c, key);
			/* Past the depth limit the alias matches but
			 * yields nothing. */
			if (depth < RESOLVE_MAX_DEPTH)
				rc = resolve_targets(c, targets, depth + 1);
			else
				rc = 0;
			free(targets);
			return rc < 0 ? -1 : 1;
		}
	}
	rc = store_user_get(c->s, key, &u);
	if (rc > 0)
		resolve_add(c, orig, &u);
	explicit_bzero(&u, sizeof(u));
	return rc;
}

/* addr without its +extension into dst; false when it has none. */
static bool
resolve_strip_ext(const struct resolve_ctx *c, const char *addr, char *dst,
    size_t size)
{
	const char *delim = c->o->delimiter, *at = strrchr(addr, '@');
	size_t n;

	if (delim == NULL || delim[0] == '\0' || at == NULL)
		return false;
	n = strcspn(addr, delim);
	/* No delimiter in the local part, or nothing before it. */
	if (n == 0 || addr + n >= at)
		return false;
	if (n + strlen(at) >= size)
		return false;
	memcpy(dst, addr, n);
	str_lcpy(dst + n, at, size - n);
	return true;
}

/* Resolves one normalised address.  top: the recipient itself, whose
 * domain is known to be local.  1 matched, 0 not, -1 store error. */
static int
resolve_address(struct resolve_ctx *c, const char *addr, int depth, bool top)
{
	char base[RESOLVE_ADDR_MAX], catchall[RESOLVE_ADDR_MAX];
	const char *domain = strrchr(addr, '@') + 1;
	int rc;

	if (!top) {
		rc = store_domain_exists(c->s, domain);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			resolve_add(c, addr, NULL);
			return 1;
		}
	}
	if ((rc = resolve_lookup(c, addr, addr, depth)) != 0)
		return rc;
	if (resolve_strip_ext(c, addr, base, sizeof(base)) &&
	    (rc = resolve_lookup(c, base, addr, depth)) != 0)
		return rc;
	if (!top)
		return 0;
	catchall[0] = '@';
	str_lcpy(catchall + 1, domain, sizeof(catchall) - 1);
	return resolve_lookup(c, catchall, addr, depth);
}

enum resolve_status
resolve_rcpt(struct store *s, const struct resolve_opts *o,
    const char *address, struct resolve_result *r)
{
	struct resolve_ctx c;
	char norm[RESOLVE_ADDR_MAX];
	int rc;

	r->v = NULL;
	r->n = 0;
	if (o == NULL)
		o = &resolve_default_opts;
	if (resolve_normalise(o, address, norm, sizeof(norm)) < 0 ||
	    norm[0] == '@')
		return RESOLVE_UNKNOWN;
	rc = store_domain_exists(s, strrchr(norm, '@') + 1);
	if (rc < 0)
		return RESOLVE_ERROR;
	if (rc == 0)
		return RESOLVE_REMOTE;
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.o = o;
	c.r = r;
	rc = resolve_address(&c, norm, 0, true);
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i]);
	free(c.seen);
	if (rc < 0) {
		resolve_result_free(r);
		return RESOLVE_ERROR;
	}
	if (r->n == 0)
		return RESOLVE_UNKNOWN;
	return RESOLVE_LOCAL;
}

int
resolve_parse_mailbox(const struct resolve_opts *o, const char *input,
    char *dst, size_t size, const char **error_r)
{
	struct smtp_addr a;
	char buf[RESOLVE_ADDR_MAX];

	if (smtp_addr_parse_mailbox(input, strlen(input), SMTP_ADDR_F_UTF8,
	    &a, error_r) < 0)
		return -1;
	if (a.literal) {
		*error_r = "address literals are not allowed here";
		return -1;
	}
	if (smtp_addr_format(&a, buf, sizeof(buf)) < 0 ||
	    resolve_normalise(o, buf, dst, size) < 0) {
		*error_r = "address too long";
		return -1;
	}
	return 0;
}

int
resolve_parse_domain(const char *input, char *dst, size_t size,
    const char **error_r)
{
	size_t len = strlen(input);

	if (!smtp_addr_domain_valid(input, len, false)) {
		*error_r = "invalid domain name";
		return -1;
	}
	if (str_lcpy(dst, input, size) >= size) {
		*error_r = "domain name too long";
		return -1;
	}
	len = strlen(dst);
	if (len > 0 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
	str_lower(dst);
	return 0;
}
