/* Filters and the per-destination summary of a queue listing
 * (ops_queue_view.h), moved out of `ferry queue list` so that the queue
 * pages show the same thing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_queue_view.h"
#include "queue/spool.h"

/* Each column counts recipients at most that old and older than the
 * column before, as qshape has them. */
const unsigned ops_queue_cols[OPS_QUEUE_NCOLS - 1] = { 5, 10, 20, 40, 80,
	160, 320, 640, 1280 };

/* Lower-cased copy without one trailing dot; -1 when it does not fit or
 * is empty. */
static int
ops_queue_view_norm(const char *in, char *dst, size_t size)
{
	size_t n;

	if (str_lcpy(dst, in, size) >= size || dst[0] == '\0')
		return -1;
	n = strlen(dst);
	if (n > 1 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
	str_lower(dst);
	return 0;
}

static int
ops_queue_view_age(const char *v, int64_t *r)
{
	uint64_t s;

	if (str_parse_duration(v, &s) < 0 || s > INT64_MAX / 2)
		return -1;
	*r = (int64_t)s;
	return 0;
}

void
ops_queue_filter_init(struct ops_queue_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->older = f->newer = -1;
}

int
ops_queue_filter_set(struct ops_queue_filter *f, const char *key,
    const char *v, const char **why_r)
{
	bool age = strcmp(key, "older") == 0 || strcmp(key, "newer") == 0;
	int bad;

	if (v[0] == '\0') {
		if (strcmp(key, "domain") == 0)
			f->domain[0] = '\0';
		else if (strcmp(key, "from") == 0)
			f->from[0] = '\0';
		else if (strcmp(key, "to") == 0)
			f->to[0] = '\0';
		else if (strcmp(key, "older") == 0)
			f->older = -1;
		else if (strcmp(key, "newer") == 0)
			f->newer = -1;
		return 0;
	}
	if (strcmp(key, "domain") == 0)
		bad = strchr(v, '@') != NULL ||
		    ops_queue_view_norm(v, f->domain, sizeof(f->domain));
	else if (strcmp(key, "from") == 0)
		bad = ops_queue_view_norm(v, f->from, sizeof(f->from));
	else if (strcmp(key, "to") == 0)
		bad = ops_queue_view_norm(v, f->to, sizeof(f->to));
	else if (strcmp(key, "older") == 0)
		bad = ops_queue_view_age(v, &f->older);
	else if (strcmp(key, "newer") == 0)
		bad = ops_queue_view_age(v, &f->newer);
	else {
		*why_r = "unknown filter";
		return -1;
	}
	if (bad) {
		*why_r = age ? "expected an age such as 30m, 4h or 2d" :
		    "expected ADDRESS, @DOMAIN (or DOMAIN for --domain)";
		return -1;
	}
	return 0;
}

bool
ops_queue_filter_active(const struct ops_queue_filter *f)
{
	return f->domain[0] != '\0' || f->from[0] != '\0' ||
	    f->to[0] != '\0' || f->older >= 0 || f->newer >= 0;
}

static const char *
ops_queue_view_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* want: "user@dom" (the whole address), "@dom" (its domain) or "<>"
 * (the null sender); case-insensitive, a trailing dot ignored. */
static bool
ops_queue_view_addr_match(const char *want, const char *addr)
{
	const char *d;
	size_t n;

	if (strcmp(want, "<>") == 0)
		return addr[0] == '\0';
	if (want[0] == '@') {
		d = ops_queue_view_domain_of(addr);
		n = strlen(d);
		if (n > 0 && d[n - 1] == '.')
			n--;
		return n == strlen(want + 1) &&
		    strncasecmp(d, want + 1, n) == 0;
	}
	return strcasecmp(want, addr) == 0;
}

bool
ops_queue_filter_match(const struct ops_queue_filter *f,
    const struct spool_env *env, time_t now)
{
	int64_t age = now > env->arrival ? (int64_t)(now - env->arrival) : 0;
	char at[260];
	bool dom = f->domain[0] == '\0', to = f->to[0] == '\0';

	if (f->from[0] != '\0' &&
	    !ops_queue_view_addr_match(f->from, env->sender))
		return false;
	if ((f->older >= 0 && age < f->older) ||
	    (f->newer >= 0 && age > f->newer))
		return false;
	snprintf(at, sizeof(at), "@%s", f->domain);
	for (size_t i = 0; i < env->nrcpts && !(dom && to); i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (!dom && ops_queue_view_addr_match(at, r->addr))
			dom = true;
		if (!to && (ops_queue_view_addr_match(f->to, r->addr) ||
		    ops_queue_view_addr_match(f->to, r->orig)))
			to = true;
	}
	return dom && to;
}

static int
ops_queue_dest_cmp(const void *a, const void *b)
{
	const struct ops_queue_dest *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static size_t
ops_queue_view_col(int64_t age)
{
	size_t i;

	for (i = 0; i < OPS_QUEUE_NCOLS - 1; i++)
		if (age <= (int64_t)ops_queue_cols[i] * 60)
			break;
	return i;
}

static void
ops_queue_dest_add(struct ops_queue_dest *d, int64_t age, bool held)
{
	d->total++;
	d->held += held;
	d->cols[ops_queue_view_col(age)]++;
	if (age > d->oldest)
		d->oldest = age;
}

static struct ops_queue_dest *
ops_queue_dest_find(struct ops_queue_summary *s, const char *dom)
{
	for (size_t d = 0; d < s->n; d++)
		if (strcmp(s->v[d].domain, dom) == 0)
			return &s->v[d];
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	memset(&s->v[s->n], 0, sizeof(*s->v));
	s->v[s->n].domain = xstrdup(dom);
	return &s->v[s->n++];
}

/* Pending recipients only: what is still to be delivered, by the domain
 * it goes to ("local" for this server's mailboxes). */
void
ops_queue_summarize(const struct spool_env *envs, size_t n, time_t now,
    struct ops_queue_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->all.domain = (char *)"TOTAL";
	for (size_t i = 0; i < n; i++) {
		const struct spool_env *e = &envs[i];
		int64_t age = now > e->arrival ? (int64_t)(now - e->arrival) :
		    0;

		for (size_t k = 0; k < e->nrcpts; k++) {
			const struct spool_rcpt *r = &e->rcpts[k];
			char dom[256];

			if (r->state != SPOOL_RCPT_PENDING)
				continue;
			if (r->local)
				str_lcpy(dom, "local", sizeof(dom));
			else if (ops_queue_view_norm(
			    ops_queue_view_domain_of(r->addr), dom,
			    sizeof(dom)) < 0)
				str_lcpy(dom, "?", sizeof(dom));
			ops_queue_dest_add(ops_queue_dest_find(out, dom), age,
			    e->held);
			ops_queue_dest_add(&out->all, age, e->held);
		}
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(*out->v), ops_queue_dest_cmp);
}

void
ops_queue_summary_free(struct ops_queue_summary *s)
{
	for (size_t d = 0; d < s->n; d++)
		free(s->v[d].domain);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
