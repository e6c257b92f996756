/* The glue between an SMTP session and the inbound check pipeline
 * (src/policy/): one struct smtp_policy per smtpd process (the DNS
 * resolver and the pipeline), one struct smtp_policy_session per
 * session (what the checks know about the client), and the session
 * transcripts of transcript_ips.  Each stage call either says "nothing
 * to check" at once or makes the session busy (reading stops, as for the
 * commit) until its callback has run; then the session resumes. */
#ifndef FERRY_SMTP_POLICY_H
#define FERRY_SMTP_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns;
struct fbuf;
struct policy_result;
struct conf;
struct smtp_policy;
struct smtp_policy_session;
struct smtp_session;
struct smtpd;

/* Runs when a stage's checks are done (never inline from the stage
 * call) and only when the session is still connected; after it
 * returns the session resumes reading (unless it is closing).  On
 * TEMPFAIL/REJECT the callback answers with smtp_policy_reply(). */
typedef void smtp_policy_cb(struct smtp_session *s,
    const struct policy_result *r);

/* After the loop, the store and the worker pool exist: creates the
 * resolver (dns_create) and the pipeline.  0, or -1 with *error_r. */
int smtp_policy_create(struct smtp_policy **spp, struct smtpd *srv,
    const char **error_r);
/* After every session is gone. */
void smtp_policy_free(struct smtp_policy **spp);
/* A reload: the checks' settings outside any session's (policy.h). */
void smtp_policy_set_conf(struct smtp_policy *sp, const struct conf *conf);

/* Per session: new right after the session exists (peer and id set);
 * free from smtp_session_free() (aborts a pending check). */
struct smtp_policy_session *smtp_policy_session_new(struct smtp_policy *sp,
    struct smtp_session *s);
void smtp_policy_session_free(struct smtp_policy_session **psp);

/* The stages.  1: nothing to check, go on now (cb will not run); 0: the
 * session is busy until cb.  helo reads s->helo, mail s->tx->sender
 * (and starts a new transaction for the checks); rcpt is the
 * normalised recipient (copied); data the spooled message so far (the
 * file must hold every byte written: flush the writer first). */
int smtp_policy_connect(struct smtp_policy_session *ps, smtp_policy_cb *cb);
int smtp_policy_helo(struct smtp_policy_session *ps, smtp_policy_cb *cb);
int smtp_policy_mail(struct smtp_policy_session *ps, smtp_policy_cb *cb);
int smtp_policy_rcpt(struct smtp_policy_session *ps, const char *rcpt,
    smtp_policy_cb *cb);
int smtp_policy_data(struct smtp_policy_session *ps, const char *path,
    uint64_t size, smtp_policy_cb *cb);
/* RSET: forget the transaction's checks. */
/* The recipient domain's rules for the next RCPT stage (copied). */
struct store_rule;
void smtp_policy_set_rules(struct smtp_policy_session *ps,
    const struct store_rule *v, size_t n);
void smtp_policy_rset(struct smtp_policy_session *ps);

/* An unknown recipient (550 5.1.1) was named: counts it for the
 * dictionary-attack block.  True when the client is blocked now: then
 * answer with smtp_policy_blocked_reply() instead of 550. */
bool smtp_policy_bad_rcpt(struct smtp_policy_session *ps);
void smtp_policy_blocked_reply(struct smtp_session *s);

/* Queues the reply for a TEMPFAIL/REJECT result ("<rcpt>: " before the
 * text when rcpt is not NULL); a 421 also closes the session. */
void smtp_policy_reply(struct smtp_session *s, const struct policy_result *r,
    const char *rcpt);

/* Header lines the checks added (CRLF-ended, possibly empty): written
 * into the message right after the Received header. */
const struct fbuf *smtp_policy_headers(const struct smtp_policy_session *ps);
/* "" or the prefix to put before the Subject (spam_subject_prefix). */
const char *smtp_policy_subject_prefix(const struct smtp_policy_session *ps);
/* The SPF result as an Authentication-Results method ("spf=pass
 * smtp.mailfrom=..."), "" when SPF was not checked. */
const char *smtp_policy_spf_ar(const struct smtp_policy_session *ps);
/* The resolver of the checks, for other lookups of the role (DKIM). */
struct dns *smtp_policy_dns(struct smtp_policy *p);
/* Whether spamd tagged the current message as spam (spam_folder). */
bool smtp_policy_spam(const struct smtp_policy_session *ps);
/* spamd's score when it marked the message spam. */
double smtp_policy_spam_score(const struct smtp_policy_session *ps);
/* Whether the current message skips `check` (policy_check_skipped()). */
bool smtp_policy_skipped(const struct smtp_policy_session *ps,
    const char *check);
/* The verified reverse name of the client, "" when unknown. */
const char *smtp_policy_ptr(const struct smtp_policy_session *ps);

/* Transcripts (transcript_ips): every line both ways is logged as
 * `<session> smtp transcript C: "..."` / `S: "..."` (the log line has
 * the time).  line: one command line as read, without its CRLF; AUTH
 * arguments and SASL responses are redacted.  in: content bytes (DATA,
 * BDAT), split into lines here.  out: replies as written.  No-ops for
 * sessions not in transcript_ips. */
void smtp_transcript_line(struct smtp_policy_session *ps, const char *line,
    size_t len);
void smtp_transcript_in(struct smtp_policy_session *ps, const void *data,
    size_t len);
void smtp_transcript_out(struct smtp_policy_session *ps, const void *data,
    size_t len);

#endif
