/* The session side of the inbound checks: keeps the struct
 * policy_client of a session up to date (HELO name, sender, trusted
 * when relaying or authenticated), runs a stage through the pipeline
 * with the session busy meanwhile (input waits, as during the commit),
 * answers with the result's code and enhanced code (RFC 3463), and
 * writes transcripts of the sessions of transcript_ips with AUTH data
 * (RFC 4954 initial responses and SASL lines) redacted.  It changes no
 * session state itself: what a verdict means is the caller's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/dns.h"
#include "policy/policy.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"

#define SMTP_TRANSCRIPT_LINE 1000	/* octets logged per line */

struct smtp_policy {
	struct smtpd *srv;
	struct dns *dns;
	struct policy *policy;
};

struct smtp_policy_session {
	struct smtp_policy *sp;
	struct smtp_session *s;
	struct policy_client client;
	struct policy_run *run;
	smtp_policy_cb *cb;
	enum policy_stage stage;
	char rcpt[SMTP_ADDR_PATH_MAX + 1];
	char *data_path;		/* DATA stage */
	bool transcript;
	struct fbuf tin;		/* partial content line */
};

int
smtp_policy_create(struct smtp_policy **spp, struct smtpd *srv,
    const char **error_r)
{
	struct smtp_policy *sp = xcalloc(1, sizeof(*sp));
	struct ferry_env *env = srv->env;

	sp->srv = srv;
	if (dns_create(&sp->dns, env->base, env->conf, error_r) < 0) {
		free(sp);
		*spp = NULL;
		return -1;
	}
	sp->policy = policy_create(env->base, env->conf, sp->dns,
	    env->stores);
	*spp = sp;
	return 0;
}

void
smtp_policy_set_conf(struct smtp_policy *sp, const struct conf *conf)
{
	policy_set_conf(sp->policy, conf);
}

void
smtp_policy_free(struct smtp_policy **spp)
{
	struct smtp_policy *sp = *spp;

	if (sp == NULL)
		return;
	policy_free(&sp->policy);
	dns_free(&sp->dns);
	free(sp);
	*spp = NULL;
}

struct smtp_policy_session *
smtp_policy_session_new(struct smtp_policy *sp, struct smtp_session *s)
{
	struct smtp_policy_session *ps = xcalloc(1, sizeof(*ps));

	ps->sp = sp;
	ps->s = s;
	policy_client_init(&ps->client, (const struct sockaddr *)&s->peer,
	    s->id);
	ps->client.conf = s->conf;	/* the session's: it outlives ps */
	ps->transcript = cidr_list_match(&s->conf->transcript_ips,
	    (const struct sockaddr *)&s->peer);
	fbuf_init(&ps->tin, 0);
	return ps;
}

void
smtp_policy_session_free(struct smtp_policy_session **psp)
{
	struct smtp_policy_session *ps = *psp;

	if (ps == NULL)
		return;
	policy_run_abort(&ps->run);
	policy_client_free(&ps->client);
	fbuf_release(&ps->tin);
	free(ps->data_path);
	free(ps);
	*psp = NULL;
}

static void
smtp_policy_done(const struct policy_result *r, void *arg)
{
	struct smtp_policy_session *ps = arg;
	struct smtp_session *s = ps->s;

	ps->run = NULL;		/* freed by the pipeline after we return */
	s->busy = false;
	if (!s->dead)
		ps->cb(s, r);
	/* Frees a dead session (and ps with it): touch neither after.  The
	 * callback may have started the next action (the commit): then
	 * that action resumes the session. */
	if (s->dead || (!s->busy && s->state != SMTP_STATE_QUIT))
		smtp_session_resume(s);
}

/* Refreshes what may have changed since the last stage. */
static void
smtp_policy_refresh(struct smtp_policy_session *ps)
{
	struct smtp_session *s = ps->s;

	ps->client.trusted = s->relay_ok || s->auth_user[0] != '\0';
	ps->client.peer = s->peer_node;
	ps->client.outbound = s->auth_user[0] != '\0';
	str_lcpy(ps->client.helo, s->helo, sizeof(ps->client.helo));
}

static int
smtp_policy_start(struct smtp_policy_session *ps, enum policy_stage stage,
    smtp_policy_cb *cb)
{
	struct smtp_session *s = ps->s;
	struct policy_result ok;

	smtp_policy_refresh(ps);
	if (!policy_stage_active(ps->sp->policy, &ps->client, stage)) {
		if (stage == POLICY_RCPT || stage == POLICY_MAIL) {
			memset(&ok, 0, sizeof(ok));
			ok.verdict = POLICY_ACCEPT;
			ok.code = 250;
			policy_log_decision(&ps->client, stage, &ok);
		}
		return 1;
	}
	ps->cb = cb;
	ps->stage = stage;
	s->busy = true;
	ps->run = policy_run(ps->sp->policy, &ps->client, stage,
	    smtp_policy_done, ps);
	return 0;
}

int
smtp_policy_connect(struct smtp_policy_session *ps, smtp_policy_cb *cb)
{
	return smtp_policy_start(ps, POLICY_CONNECT, cb);
}

int
smtp_policy_helo(struct smtp_policy_session *ps, smtp_policy_cb *cb)
{
	return smtp_policy_start(ps, POLICY_HELO, cb);
}

int
smtp_policy_mail(struct smtp_policy_session *ps, smtp_policy_cb *cb)
{
	const struct smtp_tx *tx = ps->s->tx;

	policy_client_reset_tx(&ps->client);
	str_lcpy(ps->client.sender, tx != NULL ? tx->sender : "",
	    sizeof(ps->client.sender));
	return smtp_policy_start(ps, POLICY_MAIL, cb);
}

int
smtp_policy_rcpt(struct smtp_policy_session *ps, const char *rcpt,
    smtp_policy_cb *cb)
{
	const char *at;

	str_lcpy(ps->rcpt, rcpt, sizeof(ps->rcpt));
	at = strrchr(ps->rcpt, '@');
	ps->client.rcpt = ps->rcpt;
	ps->client.rcpt_domain = at != NULL ? at + 1 : "";
	return smtp_policy_start(ps, POLICY_RCPT, cb);
}

int
smtp_policy_data(struct smtp_policy_session *ps, const char *path,
    uint64_t size, smtp_policy_cb *cb)
{
	free(ps->data_path);
	ps->data_path = xstrdup(path);
	ps->client.data_path = ps->data_path;
	ps->client.data_size = size;
	ps->client.rcpt = NULL;
	ps->client.rcpt_domain = NULL;
	return smtp_policy_start(ps, POLICY_DATA, cb);
}

void
smtp_policy_set_rules(struct smtp_policy_session *ps,
    const struct store_rule *v, size_t n)
{
	policy_client_set_rules(&ps->client, v, n);
}

void
smtp_policy_rset(struct smtp_policy_session *ps)
{
	policy_client_reset_tx(&ps->client);
}

bool
smtp_policy_bad_rcpt(struct smtp_policy_session *ps)
{
	smtp_policy_refresh(ps);
	return policy_note_bad_rcpt(ps->sp->policy, &ps->client);
}

void
smtp_policy_blocked_reply(struct smtp_session *s)
{
	metrics_smtp_refused("bad_rcpt", 451);
	smtp_session_reply(s, "451 4.7.1 Too many unknown recipients from "
	    "[%s], try again later", s->addr);
}

void
smtp_policy_reply(struct smtp_session *s, const struct policy_result *r,
    const char *rcpt)
{
	if (rcpt != NULL)
		smtp_session_reply(s, "%d %s <%s>: %s", r->code, r->enhanced,
		    rcpt, r->text);
	else
		smtp_session_reply(s, "%d %s %s", r->code, r->enhanced,
		    r->text);
	if (r->code == 421)
		smtp_session_close(s);
}

const struct fbuf *
smtp_policy_headers(const struct smtp_policy_session *ps)
{
	return &ps->client.headers;
}

const char *
smtp_policy_spf_ar(const struct smtp_policy_session *ps)
{
	return ps->client.spf_ar;
}

struct dns *
smtp_policy_dns(struct smtp_policy *p)
{
	return p->dns;
}

const char *
smtp_policy_subject_prefix(const struct smtp_policy_session *ps)
{
	return ps->client.subject_prefix;
}

bool
smtp_policy_spam(const struct smtp_policy_session *ps)
{
	return ps->client.spam;
}

double
smtp_policy_spam_score(const struct smtp_policy_session *ps)
{
	return ps->client.spam_score;
}

bool
smtp_policy_skipped(const struct smtp_policy_session *ps, const char *check)
{
	return policy_check_skipped(ps->sp->policy, &ps->client, check);
}

const char *
smtp_policy_ptr(const struct smtp_policy_session *ps)
{
	return ps->client.ptr;
}

static void
smtp_transcript_log(struct smtp_policy_session *ps, const char *mark,
    const char *line, size_t len)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	log_quote(&b, line, len, SMTP_TRANSCRIPT_LINE);
	log_info("%s smtp transcript %s %s", ps->s->id, mark, fbuf_str(&b));
	fbuf_release(&b);
}

/* "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=" -> "AUTH PLAIN <redacted>". */
static size_t
smtp_transcript_auth_keep(const char *line, size_t len)
{
	size_t i = 5;

	if (len < 5 || strncasecmp(line, "AUTH ", 5) != 0)
		return len;
	while (i < len && line[i] == ' ')
		i++;
	while (i < len && line[i] != ' ')
		i++;		/* the mechanism */
	return i;
}

void
smtp_transcript_line(struct smtp_policy_session *ps, const char *line,
    size_t len)
{
	struct fbuf b;
	size_t keep;

	if (ps == NULL || !ps->transcript)
		return;
	if (ps->s->state == SMTP_STATE_AUTH) {
		smtp_transcript_log(ps, "C:", "<redacted>", 10);
		return;
	}
	keep = smtp_transcript_auth_keep(line, len);
	if (keep == len) {
		smtp_transcript_log(ps, "C:", line, len);
		return;
	}
	fbuf_init(&b, 0);
	fbuf_add(&b, line, keep);
	fbuf_adds(&b, " <redacted>");
	smtp_transcript_log(ps, "C:", b.data, b.len);
	fbuf_release(&b);
}

/* Logs the complete lines of buf, keeps the rest (a line longer than
 * the cap is logged in pieces). */
static void
smtp_transcript_lines(struct smtp_policy_session *ps, const char *mark,
    struct fbuf *buf)
{
	const char *p, *nl;
	size_t len;

	for (;;) {
		p = buf->data;
		nl = buf->len > 0 ? memchr(p, '\n', buf->len) : NULL;
		if (nl == NULL && buf->len < SMTP_TRANSCRIPT_LINE)
			return;
		len = nl != NULL ? (size_t)(nl - p) : SMTP_TRANSCRIPT_LINE;
		smtp_transcript_log(ps, mark, p, len > 0 && p[len - 1] == '\r' ?
		    len - 1 : len);
		fbuf_consume(buf, nl != NULL ? len + 1 : len);
	}
}

void
smtp_transcript_in(struct smtp_policy_session *ps, const void *data,
    size_t len)
{
	if (ps == NULL || !ps->transcript)
		return;
	fbuf_add(&ps->tin, data, len);
	smtp_transcript_lines(ps, "C:", &ps->tin);
}

void
smtp_transcript_out(struct smtp_policy_session *ps, const void *data,
    size_t len)
{
	struct fbuf b;

	if (ps == NULL || !ps->transcript)
		return;
	fbuf_init(&b, 0);
	fbuf_add(&b, data, len);
	smtp_transcript_lines(ps, "S:", &b);
	if (b.len > 0)
		smtp_transcript_log(ps, "S:", b.data, b.len);
	fbuf_release(&b);
}
