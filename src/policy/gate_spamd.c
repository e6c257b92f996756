/* The spamd check (DATA stage): the spooled message is sent to
 * SpamAssassin's spamd (`spamd = HOST:PORT | /path/socket`) with the
 * SPAMC/1.5 SYMBOLS command ("SYMBOLS SPAMC/1.5", Content-length, blank
 * line, the message); spamd answers "SPAMD/1.1 0 EX_OK", a
 * "Spam: True ; 15.2 / 5.0" header and the names of the rules that hit.
 * spamd's own threshold is ignored; Ferry's settings decide:
 *   always                         X-Spam-Score and X-Spam-Status headers
 *   score >= spam_tag_score        tag: Subject prefixed with
 *                                  spam_subject_prefix
 *   spam_reject_score > 0 and
 *   score >= spam_reject_score     554 5.7.1 "Message rejected as spam"
 *   spamd down, timeout, error     451 4.3.0, or accept (logged) with
 *                                  scan_failure = accept
 *   larger than scan_max_size      not scanned, accepted (logged)
 * Headers of the same names already in the message are left alone; ours
 * come first (they are prepended). */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "policy/policy_private.h"
#include "policy/scan_conn.h"
#include "policy/scan_gate.h"

#define GATE_SPAMD_FOLD 76		/* header line length to fold at */

static void gate_spamd_done(struct policy_gate_call *call, const char *reply,
    size_t len);

static bool
gate_spamd_enabled(const struct conf *c)
{
	return c->spamd[0] != '\0';
}

static const char *
gate_spamd_target(const struct conf *c)
{
	return c->spamd;
}

static const struct scan_gate gate_spamd_scan = {
	.name = "spamd",
	.target = gate_spamd_target,
	.unavailable = "Spam scanner temporarily unavailable, try again later",
	.timeout_secs = 120,
	.reply_max = 65536,
	.done = gate_spamd_done,
};

static void *
gate_spamd_start(struct policy_gate_call *call)
{
	struct scan_conn_req req;
	char head[96];
	int n;

	memset(&req, 0, sizeof(req));
	if ((req.fd = scan_gate_open(&gate_spamd_scan, call, &req.size)) < 0)
		return NULL;
	n = snprintf(head, sizeof(head),
	    "SYMBOLS SPAMC/1.5\r\nContent-length: %llu\r\n\r\n",
	    (unsigned long long)req.size);
	req.head = head;
	req.head_len = (size_t)n;
	return scan_gate_start(&gate_spamd_scan, call, &req);
}

/* Appends the rule names to the X-Spam-Status header in b, folding the
 * line before it grows past GATE_SPAMD_FOLD. */
static void
gate_spamd_add_tests(struct fbuf *b, size_t line_start, const char *symbols)
{
	const char *p = symbols, *comma;
	size_t n, col = b->len - line_start;

	fbuf_adds(b, " tests=");
	col += 7;
	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) + 1 : strlen(p);
		if (col + n > GATE_SPAMD_FOLD && p != symbols) {
			fbuf_adds(b, "\r\n\t");
			col = 1;
		}
		fbuf_add(b, p, n);
		col += n;
		p += n;
	}
	if (*symbols == '\0')
		fbuf_adds(b, "none");
}

/* X-Spam-Score and X-Spam-Status for the client's headers. */
static void
gate_spamd_headers(struct policy_gate_call *call, double score, bool tag,
    const char *symbols)
{
	struct fbuf *b = &call->client->headers;
	double reject = call->conf->spam_reject_score;
	char rej[32];
	size_t start;

	if (reject > 0)
		snprintf(rej, sizeof(rej), "%.1f", reject);
	else
		str_lcpy(rej, "off", sizeof(rej));
	fbuf_addf(b, "X-Spam-Score: %.1f\r\n", score);
	start = b->len;
	fbuf_addf(b, "X-Spam-Status: %s, score=%.1f tag=%.1f reject=%s",
	    tag ? "Yes" : "No", score, call->conf->spam_tag_score, rej);
	gate_spamd_add_tests(b, start, symbols);
	fbuf_adds(b, "\r\n");
}

/* Ferry's verdict on spamd's score. */
static void
gate_spamd_verdict(struct policy_gate_call *call, double score,
    const char *symbols)
{
	const struct conf *conf = call->conf;
	bool tag = score >= conf->spam_tag_score;

	log_info("%s spamd score=%.1f tests=%s%s", scan_gate_sid(call), score,
	    log_q(symbols), call->client->outbound ? " outbound=yes" : "");
	/* A user's own mail is neither refused nor changed: the session
	 * holds what scores as spam for the postmaster (smtp_send.c). */
	if (call->client->outbound) {
		call->client->spam = tag;
		call->client->spam_score = score;
		policy_gate_finish(call, tag ? POLICY_TAG : POLICY_ACCEPT, 250,
		    "2.0.0", "%s (score %.1f)", tag ? "outbound spam" :
		    "outbound clean", score);
		return;
	}
	if (conf->spam_reject_score > 0 && score >= conf->spam_reject_score) {
		policy_gate_finish(call, POLICY_REJECT, 554, "5.7.1",
		    "Message rejected as spam (score %.1f)", score);
		return;
	}
	gate_spamd_headers(call, score, tag, symbols);
	if (!tag) {
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0",
		    "score %.1f", score);
		return;
	}
	str_lcpy(call->client->subject_prefix, conf->spam_subject_prefix,
	    sizeof(call->client->subject_prefix));
	call->client->spam = true;
	policy_gate_finish(call, POLICY_TAG, 250, "2.0.0",
	    "tagged as spam (score %.1f)", score);
}

static void
gate_spamd_done(struct policy_gate_call *call, const char *reply, size_t len)
{
	char symbols[1024], why[200];
	double score = 0;
	bool spam = false;

	if (scan_conn_parse_spamd(reply, len, &score, &spam, symbols,
	    sizeof(symbols), why, sizeof(why)) < 0) {
		scan_gate_failed(&gate_spamd_scan, call, why);
		return;
	}
	gate_spamd_verdict(call, score, symbols);
}

const struct policy_gate gate_spamd = {
	.name = "spamd",
	.stage = POLICY_DATA,
	.enabled = gate_spamd_enabled,
	.start = gate_spamd_start,
	.abort = scan_gate_abort,
};
