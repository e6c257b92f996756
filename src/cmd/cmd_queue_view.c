/* Filters and the per-destination summary of `ferry queue list`
 * (cmd_queue_view.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/cmd_queue_view.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "queue/spool.h"

/* Age columns in minutes, as qshape has them: each counts recipients at
 * most that old and older than the column before; the last is "more". */
static const unsigned cmd_queue_cols[] = { 5, 10, 20, 40, 80, 160, 320,
	640, 1280 };
#define CMD_QUEUE_NCOLS (sizeof(cmd_queue_cols) / sizeof(cmd_queue_cols[0]) + 1)

/* Lower-cased copy without one trailing dot; -1 when it does not fit or
 * is empty. */
static int
cmd_queue_norm(const char *in, char *dst, size_t size)
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
cmd_queue_take_age(const char *v, int64_t *r)
{
	uint64_t s;

	if (str_parse_duration(v, &s) < 0 || s > INT64_MAX / 2)
		return -1;
	*r = (int64_t)s;
	return 0;
}

int
cmd_queue_filter_take(int *argc, char **argv, struct cmd_queue_filter *f,
    const char **why_r)
{
	int i = 1, out = 1;

	memset(f, 0, sizeof(*f));
	f->older = f->newer = -1;
	while (i < *argc) {
		const char *o = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (strcmp(o, "--summary") == 0) {
			f->summary = true;
			i++;
			continue;
		}
		if (strcmp(o, "--domain") != 0 && strcmp(o, "--from") != 0 &&
		    strcmp(o, "--to") != 0 && strcmp(o, "--older") != 0 &&
		    strcmp(o, "--newer") != 0) {
			argv[out++] = argv[i++];
			continue;
		}
		if (v == NULL || (v[0] == '-' && v[1] == '-')) {
			*why_r = "an option needs a value";
			return -1;
		}
		if (strcmp(o, "--domain") == 0)
			bad = strchr(v, '@') != NULL ||
			    cmd_queue_norm(v, f->domain, sizeof(f->domain));
		else if (strcmp(o, "--from") == 0)
			bad = cmd_queue_norm(v, f->from, sizeof(f->from));
		else if (strcmp(o, "--to") == 0)
			bad = cmd_queue_norm(v, f->to, sizeof(f->to));
		else if (strcmp(o, "--older") == 0)
			bad = cmd_queue_take_age(v, &f->older);
		else
			bad = cmd_queue_take_age(v, &f->newer);
		if (bad) {
			*why_r = strcmp(o, "--older") == 0 ||
			    strcmp(o, "--newer") == 0 ?
			    "expected an age such as 30m, 4h or 2d" :
			    "expected ADDRESS, @DOMAIN (or DOMAIN for --domain)";
			return -1;
		}
		i += 2;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

bool
cmd_queue_filter_active(const struct cmd_queue_filter *f)
{
	return f->domain[0] != '\0' || f->from[0] != '\0' ||
	    f->to[0] != '\0' || f->older >= 0 || f->newer >= 0;
}

static const char *
cmd_queue_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* want: "user@dom" (the whole address), "@dom" (its domain) or "<>"
 * (the null sender); case-insensitive, a trailing dot ignored. */
static bool
cmd_queue_addr_match(const char *want, const char *addr)
{
	const char *d;
	size_t n;

	if (strcmp(want, "<>") == 0)
		return addr[0] == '\0';
	if (want[0] == '@') {
		d = cmd_queue_domain_of(addr);
		n = strlen(d);
		if (n > 0 && d[n - 1] == '.')
			n--;
		return n == strlen(want + 1) &&
		    strncasecmp(d, want + 1, n) == 0;
	}
	return strcasecmp(want, addr) == 0;
}

bool
cmd_queue_filter_match(const struct cmd_queue_filter *f,
    const struct spool_env *env, time_t now)
{
	int64_t age = now > env->arrival ? (int64_t)(now - env->arrival) : 0;
	char at[260];
	bool dom = f->domain[0] == '\0', to = f->to[0] == '\0';

	if (f->from[0] != '\0' && !cmd_queue_addr_match(f->from, env->sender))
		return false;
	if ((f->older >= 0 && age < f->older) ||
	    (f->newer >= 0 && age > f->newer))
		return false;
	snprintf(at, sizeof(at), "@%s", f->domain);
	for (size_t i = 0; i < env->nrcpts && !(dom && to); i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (!dom && cmd_queue_addr_match(at, r->addr))
			dom = true;
		if (!to && (cmd_queue_addr_match(f->to, r->addr) ||
		    cmd_queue_addr_match(f->to, r->orig)))
			to = true;
	}
	return dom && to;
}

struct cmd_queue_dest {
	char *domain;
	size_t total, held, cols[CMD_QUEUE_NCOLS];
	int64_t oldest;
};

static int
cmd_queue_dest_cmp(const void *a, const void *b)
{
	const struct cmd_queue_dest *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static size_t
cmd_queue_col(int64_t age)
{
	size_t i;

	for (i = 0; i < CMD_QUEUE_NCOLS - 1; i++)
		if (age <= (int64_t)cmd_queue_cols[i] * 60)
			break;
	return i;
}

static void
cmd_queue_dest_add(struct cmd_queue_dest *d, int64_t age, bool held)
{
	d->total++;
	d->held += held;
	d->cols[cmd_queue_col(age)]++;
	if (age > d->oldest)
		d->oldest = age;
}

static void
cmd_queue_summary_json(const struct cmd_queue_dest *all,
    const struct cmd_queue_dest *v, size_t n)
{
	struct fbuf out;
	struct json j;
	char name[16];

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t k = 0; k <= n; k++) {
		const struct cmd_queue_dest *d = k == 0 ? all : &v[k - 1];

		json_object_begin(&j);
		json_key(&j, "domain");
		json_str(&j, d->domain);
		json_key(&j, "total");
		json_uint(&j, d->total);
		json_key(&j, "held");
		json_uint(&j, d->held);
		json_key(&j, "oldest");
		json_int(&j, d->oldest);
		json_key(&j, "ages");
		json_object_begin(&j);
		for (size_t c = 0; c < CMD_QUEUE_NCOLS; c++) {
			if (c < CMD_QUEUE_NCOLS - 1)
				snprintf(name, sizeof(name), "%um",
				    cmd_queue_cols[c]);
			else
				snprintf(name, sizeof(name), "%um+",
				    cmd_queue_cols[c - 1]);
			json_key(&j, name);
			json_uint(&j, d->cols[c]);
		}
		json_object_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static void
cmd_queue_summary_row(const struct cmd_queue_dest *d)
{
	printf("%30.30s %6zu %5zu", d->domain, d->total, d->held);
	for (size_t c = 0; c < CMD_QUEUE_NCOLS; c++)
		printf(" %5zu", d->cols[c]);
	putchar('\n');
}

/* Pending recipients only: what is still to be delivered, by the domain
 * it goes to ("local" for this server's mailboxes). */
void
cmd_queue_summary(const struct spool_env *envs, size_t n, time_t now,
    bool json)
{
	struct cmd_queue_dest all = { .domain = (char *)"TOTAL" }, *v = NULL;
	size_t nv = 0;

	for (size_t i = 0; i < n; i++) {
		const struct spool_env *e = &envs[i];
		int64_t age = now > e->arrival ? (int64_t)(now - e->arrival) :
		    0;

		for (size_t k = 0; k < e->nrcpts; k++) {
			const struct spool_rcpt *r = &e->rcpts[k];
			char dom[256];
			size_t d;

			if (r->state != SPOOL_RCPT_PENDING)
				continue;
			if (r->local)
				str_lcpy(dom, "local", sizeof(dom));
			else if (cmd_queue_norm(cmd_queue_domain_of(r->addr),
			    dom, sizeof(dom)) < 0)
				str_lcpy(dom, "?", sizeof(dom));
			for (d = 0; d < nv; d++)
				if (strcmp(v[d].domain, dom) == 0)
					break;
			if (d == nv) {
				v = xreallocarray(v, nv + 1, sizeof(*v));
				memset(&v[nv], 0, sizeof(*v));
				v[nv++].domain = xstrdup(dom);
			}
			cmd_queue_dest_add(&v[d], age, e->held);
			cmd_queue_dest_add(&all, age, e->held);
		}
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), cmd_queue_dest_cmp);
	if (json)
		cmd_queue_summary_json(&all, v, nv);
	else {
		printf("%30s %6s %5s", "destination", "total", "held");
		for (size_t c = 0; c < CMD_QUEUE_NCOLS - 1; c++)
			printf(" %4um", cmd_queue_cols[c]);
		printf(" %4s\n", "more");
		cmd_queue_summary_row(&all);
		for (size_t d = 0; d < nv; d++)
			cmd_queue_summary_row(&v[d]);
	}
	for (size_t d = 0; d < nv; d++)
		free(v[d].domain);
	free(v);
}
