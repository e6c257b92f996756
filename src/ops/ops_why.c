/* "Why" from the log (ops_why.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_why.h"

/* The value of key in a "k=v k2="quoted \"v\"" line, unescaped into dst.
 * Quoted values are skipped as a whole, so text inside a reason never
 * passes for a key.  True when found. */
static bool
ops_why_kv(const char *line, const char *key, char *dst, size_t size)
{
	size_t klen = strlen(key), k;
	const char *p = line;
	bool hit;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		hit = strncmp(p, key, klen) == 0 && p[klen] == '=';
		while (*p != '\0' && *p != ' ' && *p != '=')
			p++;
		if (*p != '=')
			continue;
		p++;
		k = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (hit && k + 1 < size)
					dst[k++] = *p;
			}
			if (*p == '"')
				p++;
		} else
			for (; *p != '\0' && *p != ' '; p++)
				if (hit && k + 1 < size)
					dst[k++] = *p;
		if (hit) {
			dst[k] = '\0';
			return true;
		}
	}
	return false;
}

static struct ops_why_session *
ops_why_session(struct ops_why *w, const char *sid, bool create)
{
	unsigned h = 0;
	struct ops_why_session *s;

	for (const char *p = sid; *p != '\0'; p++)
		h = h * 31 + (unsigned char)*p;
	h %= OPS_WHY_BUCKETS;
	for (s = w->b[h]; s != NULL; s = s->next)
		if (strcmp(s->sid, sid) == 0)
			return s;
	if (!create)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	str_lcpy(s->sid, sid, sizeof(s->sid));
	fbuf_init(&s->tx_rcpts, 64 * 1024);
	s->next = w->b[h];
	w->b[h] = s;
	if (w->last != NULL)
		w->last->order = s;
	else
		w->first = s;
	w->last = s;
	return s;
}

void
ops_why_free(struct ops_why *w)
{
	struct ops_why_session *s, *next;

	for (s = w->first; s != NULL; s = next) {
		next = s->order;
		for (size_t i = 0; i < s->nev; i++)
			free(s->ev[i].rcpts);
		free(s->ev);
		fbuf_release(&s->tx_rcpts);
		free(s);
	}
	free(w->dv);
	free(w->stops);
}

/* "<a@b>" -> "a@b" into dst. */
static void
ops_why_bare(const char *src, char *dst, size_t size)
{
	size_t n;

	str_lcpy(dst, src[0] == '<' ? src + 1 : src, size);
	n = strlen(dst);
	if (n > 0 && dst[n - 1] == '>')
		dst[n - 1] = '\0';
}

/* An address already made bare (an event's or a session's) names addr,
 * case-blind.  Not ops_why_addr_eq: stripping it again would make a
 * logged "<a@b>>" (kept as "a@b>") or "<<a@b>>" name a@b. */
static bool
ops_why_bare_eq(const char *bare, const char *addr)
{
	char b[330];

	ops_why_bare(addr, b, sizeof(b));
	return str_ieq(bare, b);
}

/* "<a@b>" or "a@b", as logged, names addr, case-blind. */
static bool
ops_why_addr_eq(const char *logged, const char *addr)
{
	char a[330];

	ops_why_bare(logged, a, sizeof(a));
	return ops_why_bare_eq(a, addr);
}

/* from and rcpt: bare (ops_why_bare). */
static void
ops_why_match(struct ops_why *w, struct ops_why_session *s, const char *from,
    const char *rcpt)
{
	if (w->ip != NULL && strcmp(s->ip, w->ip) == 0)
		s->matched = true;
	if (w->from != NULL && from != NULL && from[0] != '\0' &&
	    ops_why_bare_eq(from, w->from))
		s->matched = true;
	if (w->to != NULL && rcpt != NULL && rcpt[0] != '\0' &&
	    ops_why_bare_eq(rcpt, w->to))
		s->matched = true;
}

static struct ops_why_event *
ops_why_event_new(struct ops_why_session *s, enum ops_why_kind kind,
    const char *time)
{
	struct ops_why_event *e;

	if (s->nev >= OPS_WHY_MAX_EVENTS)
		return NULL;
	s->ev = xreallocarray(s->ev, s->nev + 1, sizeof(*s->ev));
	e = &s->ev[s->nev++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	str_lcpy(e->time, time, sizeof(e->time));
	return e;
}

/* The reply as the client saw it: "554 5.7.1 text". */
static void
ops_why_reply(const char *kv, struct ops_why_event *e)
{
	char code[8] = "", dsn[16] = "", reason[300] = "";

	ops_why_kv(kv, "code", code, sizeof(code));
	ops_why_kv(kv, "dsn", dsn, sizeof(dsn));
	ops_why_kv(kv, "reason", reason, sizeof(reason));
	snprintf(e->reply, sizeof(e->reply), "%s%s%s%s%s", code,
	    dsn[0] ? " " : "", dsn, reason[0] ? " " : "", reason);
}

/* A refusal by the pipeline or by the session itself. */
static void
ops_why_refused(struct ops_why *w, struct ops_why_session *s,
    const char *time, const char *kv, const char *dflt_check)
{
	struct ops_why_event *e = ops_why_event_new(s, OPS_WHY_REFUSED, time);
	char from[322];

	if (e == NULL)
		return;
	ops_why_kv(kv, "stage", e->stage, sizeof(e->stage));
	if (!ops_why_kv(kv, "check", e->check, sizeof(e->check)))
		str_lcpy(e->check, dflt_check, sizeof(e->check));
	ops_why_kv(kv, "rule", e->rule, sizeof(e->rule));
	if (ops_why_kv(kv, "from", from, sizeof(from)))
		ops_why_bare(from, e->from, sizeof(e->from));
	else if (strcmp(e->stage, "connect") != 0 &&
	    strcmp(e->stage, "helo") != 0)
		str_lcpy(e->from, s->from, sizeof(e->from));
	if (ops_why_kv(kv, "rcpt", from, sizeof(from)))
		ops_why_bare(from, e->rcpt, sizeof(e->rcpt));
	else if (strcmp(e->stage, "data") == 0)
		/* The message was refused for all its recipients so far. */
		e->rcpts = xstrdup(fbuf_str(&s->tx_rcpts));
	ops_why_reply(kv, e);
	ops_why_match(w, s, e->from, e->rcpt);
}

static void
ops_why_accepted(struct ops_why *w, struct ops_why_session *s,
    const char *time, const char *kv)
{
	struct ops_why_event *e = ops_why_event_new(s, OPS_WHY_ACCEPTED, time);
	char from[322];

	if (e == NULL)
		return;
	ops_why_kv(kv, "id", e->id, sizeof(e->id));
	if (ops_why_kv(kv, "from", from, sizeof(from)))
		ops_why_bare(from, e->from, sizeof(e->from));
	e->rcpts = xstrdup(fbuf_str(&s->tx_rcpts));
	ops_why_match(w, s, e->from, NULL);
	fbuf_reset(&s->tx_rcpts);
}

/* `policy decision`: refusals, and the transaction's sender and
 * accepted recipients for the accepted line that follows. */
static void
ops_why_decision(struct ops_why *w, struct ops_why_session *s,
    const char *time, const char *kv)
{
	char stage[12] = "", verdict[12] = "", addr[322], bare[322];

	ops_why_kv(kv, "stage", stage, sizeof(stage));
	ops_why_kv(kv, "verdict", verdict, sizeof(verdict));
	if (strcmp(verdict, "reject") == 0 ||
	    strcmp(verdict, "tempfail") == 0) {
		ops_why_refused(w, s, time, kv, "-");
		return;
	}
	if (strcmp(stage, "mail") == 0 &&
	    ops_why_kv(kv, "from", addr, sizeof(addr))) {
		ops_why_bare(addr, s->from, sizeof(s->from));
		fbuf_reset(&s->tx_rcpts);
		ops_why_match(w, s, s->from, NULL);
	} else if (strcmp(stage, "rcpt") == 0 &&
	    ops_why_kv(kv, "rcpt", addr, sizeof(addr))) {
		ops_why_bare(addr, bare, sizeof(bare));
		fbuf_addf(&s->tx_rcpts, "%s%s", s->tx_rcpts.len ? ", " : "",
		    bare);
		ops_why_match(w, s, NULL, bare);
	}
}

/* "2026-11-22T15:11:19.123Z" -> Unix time, or -1. */
static time_t
ops_why_time(const char *ts)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return -1;
	return timegm(&tm);
}

/* "- smtp refused address=IP reason=..." (no session yet). */
static void
ops_why_connrefused(struct ops_why *w, const char *time, const char *kv)
{
	struct ops_why_session *s;
	struct ops_why_event *e;
	char ip[64] = "", sid[IDS_LEN + 1];

	ops_why_kv(kv, "address", ip, sizeof(ip));
	if (w->ip == NULL || strcmp(ip, w->ip) != 0)
		return;
	/* One pseudo-session per refused connection. */
	snprintf(sid, sizeof(sid), "-%015x", ++w->nrefused);
	s = ops_why_session(w, sid, true);
	str_lcpy(s->time, time, sizeof(s->time));
	str_lcpy(s->ip, ip, sizeof(s->ip));
	s->matched = true;
	if ((e = ops_why_event_new(s, OPS_WHY_CONNREFUSED, time)) != NULL) {
		str_lcpy(e->stage, "connect", sizeof(e->stage));
		ops_why_kv(kv, "reason", e->reply, sizeof(e->reply));
	}
}

/* "<qid> relay delivery rcpt=..." or "<qid> queue delivered|deferred|
 * failed rcpt=..."
 * for the --to recipient. */
static void
ops_why_deliv_line(struct ops_why *w, const char *time, const char *qid,
    const char *kv, bool attempt)
{
	struct ops_why_deliv *d;
	char rcpt[330] = "";

	ops_why_kv(kv, "rcpt", rcpt, sizeof(rcpt));
	if (w->to == NULL || !ops_why_addr_eq(rcpt, w->to) ||
	    w->ndv >= OPS_WHY_MAX_DELIVS)
		return;
	w->dv = xreallocarray(w->dv, w->ndv + 1, sizeof(*w->dv));
	d = &w->dv[w->ndv++];
	memset(d, 0, sizeof(*d));
	str_lcpy(d->time, time, sizeof(d->time));
	str_lcpy(d->id, qid, sizeof(d->id));
	d->attempt = attempt;
	ops_why_kv(kv, "result", d->result, sizeof(d->result));
	ops_why_kv(kv, "relay", d->relay, sizeof(d->relay));
	ops_why_kv(kv, "via", d->via, sizeof(d->via));
	ops_why_kv(kv, "tls", d->tls, sizeof(d->tls));
	if (!ops_why_kv(kv, "reply", d->reason, sizeof(d->reason)))
		ops_why_kv(kv, "reason", d->reason, sizeof(d->reason));
	ops_why_kv(kv, "next_in", d->next_in, sizeof(d->next_in));
	ops_why_kv(kv, "attempts", d->attempts, sizeof(d->attempts));
	ops_why_kv(kv, "mailbox", d->mailbox, sizeof(d->mailbox));
}

static void
ops_why_stop_line(struct ops_why *w, const char *time, const char *sid,
    const char *kv, bool by_smtpd)
{
	struct ops_why_stop *t;

	if (w->nstops >= OPS_WHY_MAX_STOPS)
		return;
	w->stops = xreallocarray(w->stops, w->nstops + 1, sizeof(*w->stops));
	t = &w->stops[w->nstops++];
	memset(t, 0, sizeof(*t));
	str_lcpy(t->time, time, sizeof(t->time));
	str_lcpy(t->id, sid, sizeof(t->id));
	t->by_smtpd = by_smtpd;
	ops_why_kv(kv, "reason", t->reason, sizeof(t->reason));
	ops_why_kv(kv, "held_messages", t->held, sizeof(t->held));
	ops_why_kv(kv, "notice", t->notice, sizeof(t->notice));
}

/* "smtp auth user=..." and "smtp|queue send-stop user=..." for --user:
 * true when the line was one of them. */
static bool
ops_why_user_line(struct ops_why *w, const char *time, const char *sid,
    const char *rest)
{
	char user[330] = "";
	bool smtp_stop = strncmp(rest, "smtp send-stop ", 15) == 0;
	bool queue_stop = strncmp(rest, "queue send-stop ", 16) == 0;
	struct ops_why_session *s;

	if (w->user == NULL || (!smtp_stop && !queue_stop &&
	    strncmp(rest, "smtp auth ", 10) != 0))
		return false;
	ops_why_kv(rest, "user", user, sizeof(user));
	if (!ops_why_addr_eq(user, w->user))
		return true;
	if (smtp_stop || queue_stop)
		ops_why_stop_line(w, time, sid, rest, smtp_stop);
	else if ((s = ops_why_session(w, sid, false)) != NULL)
		s->matched = true;
	return true;
}

/* One session line: "<sid> <module> <event> key=value ...". */
static void
ops_why_session_line(struct ops_why *w, const char *time, const char *sid,
    const char *rest)
{
	struct ops_why_session *s;
	bool connected = strncmp(rest, "smtp connected ", 15) == 0;

	if (ops_why_user_line(w, time, sid, rest))
		return;

	if (strncmp(rest, "relay delivery ", 15) == 0) {
		ops_why_deliv_line(w, time, sid, rest + 15, true);
		return;
	}
	/* The queue's outcome: "queue delivered", "queue deferred" or
	 * "queue failed" (result= says the same). */
	if (strncmp(rest, "queue delivered ", 16) == 0 ||
	    strncmp(rest, "queue failed ", 13) == 0 ||
	    strncmp(rest, "queue deferred ", 15) == 0) {
		ops_why_deliv_line(w, time, sid, strchr(rest + 6, ' ') + 1,
		    false);
		return;
	}
	s = ops_why_session(w, sid, connected);
	if (s == NULL)
		return;
	if (connected) {
		str_lcpy(s->time, time, sizeof(s->time));
		ops_why_kv(rest, "address", s->ip, sizeof(s->ip));
		ops_why_match(w, s, NULL, NULL);
	} else if (strncmp(rest, "smtp reject ", 12) == 0)
		ops_why_refused(w, s, time, rest + 12, "smtp");
	else if (strncmp(rest, "smtp accepted ", 14) == 0)
		ops_why_accepted(w, s, time, rest + 14);
	else if (strncmp(rest, "policy decision ", 16) == 0)
		ops_why_decision(w, s, time, rest + 16);
}

static void
ops_why_line(struct ops_why *w, char *line)
{
	char *sp, *rest, sid[IDS_LEN + 1];
	time_t t;

	line[strcspn(line, "\r\n")] = '\0';
	sp = strchr(line, ' ');
	rest = sp != NULL ? strstr(sp, "]: ") : NULL;
	if (rest == NULL)
		return;
	*sp = '\0';
	if (w->since > 0 && ((t = ops_why_time(line)) < 0 || t < w->since))
		return;
	rest += 3;
	if (strncmp(rest, "debug: ", 7) == 0)
		rest += 7;
	else if (strncmp(rest, "warning: ", 9) == 0)
		rest += 9;		/* the send-stop lines */
	if (strncmp(rest, "- smtp refused ", 15) == 0) {
		ops_why_connrefused(w, line, rest + 15);
		return;
	}
	if (strlen(rest) <= IDS_LEN || rest[IDS_LEN] != ' ')
		return;
	memcpy(sid, rest, IDS_LEN);
	sid[IDS_LEN] = '\0';
	if (ids_valid(sid))
		ops_why_session_line(w, line, sid, rest + IDS_LEN + 1);
}


/* Whether e is about the address asked (for a postmaster's view). */
static bool
ops_why_concerns(const struct ops_why *w, const struct ops_why_event *e)
{
	const char *addr = w->to != NULL ? w->to : w->from;
	const char *p;
	size_t n = strlen(addr);

	if (e->kind == OPS_WHY_CONNREFUSED)
		return false;
	if (w->from != NULL && ops_why_bare_eq(e->from, w->from))
		return true;
	if (w->to == NULL)
		return false;
	if (e->kind == OPS_WHY_REFUSED && e->rcpts == NULL)
		return ops_why_bare_eq(e->rcpt, w->to);
	for (p = e->rcpts; p != NULL && *p != '\0'; p += strcspn(p, ",")) {
		p += strspn(p, ", ");
		if (strncasecmp(p, addr, n) == 0 && (p[n] == ',' ||
		    p[n] == '\0'))
			return true;
	}
	return false;
}

/* A postmaster keeps only the events about its address, and of an
 * accepted message's recipients only that address. */
static void
ops_why_scope(struct ops_why *w)
{
	for (struct ops_why_session *s = w->first; s != NULL; s = s->order) {
		size_t kept = 0;

		for (size_t i = 0; i < s->nev; i++) {
			struct ops_why_event *e = &s->ev[i];

			if (!ops_why_concerns(w, e)) {
				free(e->rcpts);
				continue;
			}
			if (e->rcpts != NULL && w->from == NULL) {
				free(e->rcpts);
				e->rcpts = xstrdup(w->to);
			}
			s->ev[kept++] = *e;
		}
		s->nev = kept;
		if (kept == 0)
			s->matched = false;
	}
}

/* 0 when a may ask about addr: an address of its domains for a
 * postmaster, its own for a user (ops_check_mailbox). */
static int
ops_why_check_addr(const struct ops_actor *a, const char *addr,
    struct ops_status *st)
{
	const char *at = strrchr(addr, '@');

	if (addr[0] == '\0' || strlen(addr) > OPS_WHY_ADDR_MAX ||
	    at == NULL || at == addr || at[1] == '\0' ||
	    strpbrk(addr, " \t\r\n<>\"") != NULL)
		return ops_fail(st, OPS_EINVAL, "%s: not an address", addr);
	if (a->role == OPS_USER && ops_check_mailbox(a, addr, st) < 0)
		return ops_fail(st, OPS_EPERM, "you may ask only about your own "
		    "address (%s)", a->name != NULL ? a->name : "");
	return ops_check_mailbox(a, addr, st);
}

/* Who may ask what: an admin anything; anyone else one address. */
static int
ops_why_allowed(const struct ops_actor *a, const struct ops_why *w,
    struct ops_status *st)
{
	const char *addr = w->user != NULL ? w->user : w->to != NULL ?
	    w->to : w->from;
	int n = (w->from != NULL) + (w->to != NULL) + (w->user != NULL);

	if (w->ip == NULL && n == 0)
		return ops_fail(st, OPS_EUSAGE, "nothing asked");
	if (a->role == OPS_ADMIN)
		return 0;
	if (w->ip != NULL)
		return ops_fail(st, OPS_EPERM, "only an administrator may ask "
		    "about a client address");
	if (n != 1)
		return ops_fail(st, OPS_EINVAL, "ask about one address at a "
		    "time");
	return ops_why_check_addr(a, addr, st);
}

int
ops_why_read_stream(const struct ops_actor *a, FILE *f, struct ops_why *w,
    struct ops_status *st)
{
	char *line;

	if (ops_why_allowed(a, w, st) < 0)
		return -1;
	line = xmalloc(OPS_WHY_LINE);
	while (fgets(line, OPS_WHY_LINE, f) != NULL)
		ops_why_line(w, line);
	free(line);
	/* A user's own sessions are theirs whole; an address asked about
	 * keeps only its events. */
	if (a->role != OPS_ADMIN && w->user == NULL)
		ops_why_scope(w);
	return ops_ok(st);
}

int
ops_why_read(const struct ops_actor *a, const char *log_file,
    struct ops_why *w, struct ops_status *st)
{
	FILE *f;
	int r;

	if (ops_why_allowed(a, w, st) < 0)
		return -1;
	if (log_file[0] == '\0')
		return ops_fail(st, OPS_EINVAL, "log_file is not set: nothing "
		    "to read");
	if ((f = fopen(log_file, "r")) == NULL)
		return ops_fail(st, OPS_EFAIL, "%s: %s", log_file,
		    strerror(errno));
	r = ops_why_read_stream(a, f, w, st);
	fclose(f);
	return r;
}

size_t
ops_why_count(const struct ops_why *w)
{
	size_t n = w->ndv + w->nstops;

	for (const struct ops_why_session *s = w->first; s != NULL;
	    s = s->order)
		n += s->matched ? 1 : 0;
	return n;
}
