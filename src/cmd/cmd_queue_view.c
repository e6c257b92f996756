/* `ferry queue list`'s filter options and summary printing
 * (cmd_queue_view.h) over ops_queue_view.h. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd_queue_view.h"
#include "lib/fbuf.h"
#include "lib/json.h"

int
cmd_queue_filter_take(int *argc, char **argv, struct cmd_queue_filter *f,
    const char **why_r)
{
	int i = 1, out = 1;

	ops_queue_filter_init(&f->v);
	f->summary = false;
	while (i < *argc) {
		const char *o = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;

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
		/* An empty value is no filter for the page; here it is a
		 * mistake, as it always was. */
		if (v[0] == '\0' && (strcmp(o, "--older") == 0 ||
		    strcmp(o, "--newer") == 0)) {
			*why_r = "expected an age such as 30m, 4h or 2d";
			return -1;
		}
		if (v[0] == '\0') {
			*why_r = "expected ADDRESS, @DOMAIN (or DOMAIN for "
			    "--domain)";
			return -1;
		}
		if (ops_queue_filter_set(&f->v, o + 2, v, why_r) < 0)
			return -1;
		i += 2;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

bool
cmd_queue_filter_active(const struct cmd_queue_filter *f)
{
	return ops_queue_filter_active(&f->v);
}

bool
cmd_queue_filter_match(const struct cmd_queue_filter *f,
    const struct spool_env *env, time_t now)
{
	return ops_queue_filter_match(&f->v, env, now);
}

static void
cmd_queue_summary_json(const struct ops_queue_summary *s)
{
	struct fbuf out;
	struct json j;
	char name[16];

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_array_begin_lines(&j);
	for (size_t k = 0; k <= s->n; k++) {
		const struct ops_queue_dest *d = k == 0 ? &s->all :
		    &s->v[k - 1];

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
		for (size_t c = 0; c < OPS_QUEUE_NCOLS; c++) {
			if (c < OPS_QUEUE_NCOLS - 1)
				snprintf(name, sizeof(name), "%um",
				    ops_queue_cols[c]);
			else
				snprintf(name, sizeof(name), "%um+",
				    ops_queue_cols[c - 1]);
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
cmd_queue_summary_row(const struct ops_queue_dest *d)
{
	printf("%30.30s %6zu %5zu", d->domain, d->total, d->held);
	for (size_t c = 0; c < OPS_QUEUE_NCOLS; c++)
		printf(" %5zu", d->cols[c]);
	putchar('\n');
}

void
cmd_queue_summary(const struct spool_env *envs, size_t n, time_t now,
    bool json)
{
	struct ops_queue_summary s;

	ops_queue_summarize(envs, n, now, &s);
	if (json)
		cmd_queue_summary_json(&s);
	else {
		printf("%30s %6s %5s", "destination", "total", "held");
		for (size_t c = 0; c < OPS_QUEUE_NCOLS - 1; c++)
			printf(" %4um", ops_queue_cols[c]);
		printf(" %4s\n", "more");
		cmd_queue_summary_row(&s.all);
		for (size_t d = 0; d < s.n; d++)
			cmd_queue_summary_row(&s.v[d]);
	}
	ops_queue_summary_free(&s);
}
