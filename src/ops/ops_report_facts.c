/* The log facts of a mail problem report (ops_report.h): what ops_why
 * finds about the reporter's own mail, turned into short lines a person
 * reads ("time  what happened: the reply").  Two readings of the log,
 * as the user's /why page does: mail to the address (refusals, failed
 * or deferred deliveries) and the sessions the address logged in to
 * (its own sending refused, its sending stopped).  Every event is
 * checked here to be about that address, whatever the actor's role, so
 * an admin's report carries no other mailbox's mail either. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_report.h"
#include "ops/ops_why.h"

#define OPS_REPORT_FACT_LINE 700

struct ops_report_fact {
	char time[32];
	char *text;
};

struct ops_report_facts {
	struct ops_report_fact *v;
	size_t n;
};

static void
ops_report_fact_add(struct ops_report_facts *f, const char *time,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ops_report_fact_add(struct ops_report_facts *f, const char *time,
    const char *fmt, ...)
{
	char line[OPS_REPORT_FACT_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	str_lcpy(f->v[f->n].time, time, sizeof(f->v[f->n].time));
	f->v[f->n++].text = xstrdup(line);
}

/* "a@b, c@d" holds addr (case-blind). */
static bool
ops_report_in_list(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = list; p != NULL && *p != '\0';
	    p += strcspn(p, ",")) {
		p += strspn(p, ", ");
		if (strncasecmp(p, addr, n) == 0 && (p[n] == ',' ||
		    p[n] == '\0'))
			return true;
	}
	return false;
}

/* Mail to me: refusals that name me, deliveries to me that did not
 * succeed. */
static void
ops_report_facts_to(const struct ops_why *w, const char *me,
    struct ops_report_facts *f)
{
	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order) {
		if (!s->matched)
			continue;
		for (size_t i = 0; i < s->nev; i++) {
			const struct ops_why_event *e = &s->ev[i];

			if (e->kind != OPS_WHY_REFUSED ||
			    !(str_ieq(e->rcpt, me) ||
			    (e->rcpt[0] == '\0' &&
			    ops_report_in_list(e->rcpts, me))))
				continue;
			ops_report_fact_add(f, e->time, "refused: mail from "
			    "<%s> to you (at %s, check %s): %s", e->from,
			    e->stage, e->check, e->reply);
		}
	}
	for (size_t i = 0; i < w->ndv; i++) {
		const struct ops_why_deliv *d = &w->dv[i];

		if (d->attempt || (strcmp(d->result, "failed") != 0 &&
		    strcmp(d->result, "deferred") != 0))
			continue;
		ops_report_fact_add(f, d->time, "%s: a message to you (queue "
		    "id %s): %s", strcmp(d->result, "failed") == 0 ?
		    "not delivered" : "delayed", d->id, d->reason);
	}
}

/* Mail I sent, logged in: what was refused, and stops. */
static void
ops_report_facts_sent(const struct ops_why *w, struct ops_report_facts *f)
{
	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order) {
		if (!s->matched)
			continue;
		for (size_t i = 0; i < s->nev; i++) {
			const struct ops_why_event *e = &s->ev[i];

			if (e->kind != OPS_WHY_REFUSED)
				continue;
			ops_report_fact_add(f, e->time, "refused: your mail "
			    "from <%s> to %s%s%s (at %s, check %s): %s",
			    e->from, e->rcpt[0] != '\0' ? "<" : "",
			    e->rcpt[0] != '\0' ? e->rcpt : e->rcpts != NULL ?
			    e->rcpts : "its recipients",
			    e->rcpt[0] != '\0' ? ">" : "", e->stage, e->check,
			    e->reply);
		}
	}
	for (size_t i = 0; i < w->nstops; i++)
		ops_report_fact_add(f, w->stops[i].time, "sending stopped: %s",
		    w->stops[i].reason);
}

static int
ops_report_fact_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ops_report_fact *)a)->time,
	    ((const struct ops_report_fact *)b)->time);
}

static void
ops_report_facts_write(struct ops_report_facts *f, struct fbuf *out)
{
	size_t from, used = 0;

	/* Stable enough: the log's times have milliseconds. */
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), ops_report_fact_cmp);
	from = f->n > OPS_REPORT_FACTS_N ? f->n - OPS_REPORT_FACTS_N : 0;
	for (size_t i = from; i < f->n; i++) {
		/* time, two spaces, text, LF */
		used += strlen(f->v[i].time) + strlen(f->v[i].text) + 3;
		if (used > OPS_REPORT_FACTS_MAX)
			break;
		fbuf_addf(out, "%s  %s\n", f->v[i].time, f->v[i].text);
	}
}

int
ops_report_facts(const struct ops_actor *a, const char *log_file,
    time_t since, struct fbuf *out, struct ops_status *st)
{
	struct ops_why to, sent;
	struct ops_report_facts f = { NULL, 0 };
	const char *me = a->name != NULL ? a->name : "";
	int r;

	memset(&to, 0, sizeof(to));
	memset(&sent, 0, sizeof(sent));
	to.to = sent.user = me;
	to.since = sent.since = since;
	r = ops_why_read(a, log_file, &to, st);
	if (r == 0)
		r = ops_why_read(a, log_file, &sent, st);
	if (r == 0) {
		ops_report_facts_to(&to, me, &f);
		ops_report_facts_sent(&sent, &f);
		ops_report_facts_write(&f, out);
	}
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i].text);
	free(f.v);
	ops_why_free(&to);
	ops_why_free(&sent);
	return r;
}
