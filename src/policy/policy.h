/* The inbound check pipeline.  Each check ("gate") is a small module,
 * src/policy/gate_<name>.c, with one interface: it runs at its stage
 * (connect, HELO, MAIL, RCPT, DATA), may wait on DNS or a scanner without
 * blocking the loop, and answers accept, reject (5xx), tempfail (4xx) or
 * tag (headers to add, a score).  The pipeline runs the enabled gates of
 * a stage in the configured order (`checks`), stops at the first reject
 * or tempfail, logs `check=NAME verdict=...` for each, and hands the
 * session one result whose reply names the reason.  A DNS or scanner
 * failure never turns into a permanent rejection.  Clients in
 * relay_networks and authenticated users skip the checks unless
 * check_trusted_clients = yes.  Per-domain rules (the store's `rules`,
 * owned by each domain's postmaster) apply at RCPT for that domain's
 * recipients: allow (accept whatever the checks say), deny (550 5.7.1),
 * skip CHECK,... (those checks do not apply for that domain); the log says
 * which rule decided.
 * Callbacks never run inline from policy_run(); policy_run_abort() makes
 * sure they never run. */
#ifndef FERRY_POLICY_H
#define FERRY_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/fbuf.h"

struct conf;
struct dns;
struct event_base;
struct store;
struct policy;
struct policy_run;

enum policy_stage {
	POLICY_CONNECT = 0, POLICY_HELO, POLICY_MAIL, POLICY_RCPT, POLICY_DATA,
	POLICY_STAGES
};

enum policy_verdict {
	POLICY_ACCEPT = 0,	/* go on */
	POLICY_TAG,		/* go on; headers/score were added */
	POLICY_TEMPFAIL,	/* 4xx */
	POLICY_REJECT,		/* 5xx */
	POLICY_ALLOW		/* a domain rule allowed: skip remaining checks */
};

/* What the session knows; owned by the session, lives for its lifetime.
 * Gates read it and add headers (Received-SPF, X-Spam-*) to `headers`. */
struct policy_client {
	struct sockaddr_storage addr;
	char ip[64];
	bool trusted;			/* relay_networks or authenticated */
	char helo[256];
	char sender[320];		/* MAIL FROM, "" for <> */
	const char *rcpt;		/* RCPT stage: the recipient (normalised) */
	const char *rcpt_domain;
	/* DATA stage: the spooled content so far (path of a readable file
	 * with the message as it will be queued) and its size. */
	const char *data_path;
	uint64_t data_size;
	/* Filled by gates for later stages and for Received/logs. */
	char ptr[256];			/* verified reverse name, "" unknown */
	struct fbuf headers;		/* header lines to prepend, CRLF-ended */
	char subject_prefix[64];	/* spamd: prefix the Subject with this */
	const char *session_id;		/* for logs */
};

struct policy_result {
	enum policy_verdict verdict;
	int code;			/* 250 accept, 4xx, 5xx */
	char enhanced[12];		/* "5.7.1" */
	char text[300];			/* reply text, names the reason */
	const char *check;		/* gate that decided, or NULL */
	long rule_id;			/* domain rule that decided, or 0 */
};

typedef void policy_done_cb(const struct policy_result *r, void *arg);

/* One per smtpd process. */
struct policy *policy_create(struct event_base *base, const struct conf *conf,
    struct dns *dns, struct store *store);
void policy_free(struct policy **pp);
/* Runs the stage's gates for client.  Never NULL; cb runs exactly once
 * unless the run is aborted. */
struct policy_run *policy_run(struct policy *p, struct policy_client *client,
    enum policy_stage stage, policy_done_cb *cb, void *arg);
void policy_run_abort(struct policy_run **runp);
/* Session lifecycle hooks for gates that keep per-IP state (rate limits,
 * dictionary-attack counting): called on every unknown recipient. */
void policy_note_bad_rcpt(struct policy *p, const struct policy_client *c);

#endif
