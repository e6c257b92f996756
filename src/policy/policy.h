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
struct store_rule;
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

/* A verdict of a connect, HELO or MAIL stage check that is not answered
 * at once: it is kept here and decided at RCPT, per recipient, so that
 * the recipient domain's rules (allow, skip) can override it (Postfix's
 * smtpd_delay_reject).  Kept by the pipeline. */
struct policy_pending {
	const char *check;		/* gate name (static) */
	enum policy_stage stage;
	enum policy_verdict verdict;	/* TEMPFAIL or REJECT */
	int code;
	char enhanced[12];
	char text[300];
};

#define POLICY_PENDING_MAX 16

/* What the session knows; owned by the session, lives for its lifetime.
 * Set up with policy_client_init(), released with policy_client_free().
 * Gates read it and add headers (Received-SPF, X-Spam-*) to `headers`. */
struct policy_client {
	struct sockaddr_storage addr;
	char ip[64];
	bool trusted;			/* relay_networks or authenticated */
	bool peer;			/* another node (mailbox homing): every
					 * check is skipped, whatever
					 * check_trusted_clients says */
	char helo[256];
	char sender[320];		/* MAIL FROM, "" for <> */
	const char *rcpt;		/* RCPT stage: the recipient (normalised) */
	const char *rcpt_domain;
	/* DATA stage: the spooled content so far (path of a readable file
	 * whose first data_size bytes are the message as it will be queued;
	 * a recycled spool file may hold older bytes after them) and its
	 * size. */
	const char *data_path;
	uint64_t data_size;
	/* Filled by gates for later stages and for Received/logs. */
	char ptr[256];			/* verified reverse name, "" unknown */
	struct fbuf headers;		/* header lines to prepend, CRLF-ended */
	char subject_prefix[64];	/* spamd: prefix the Subject with this */
	/* spf: the result as an Authentication-Results method (RFC 8601
	 * 2.7.2: "spf=pass smtp.mailfrom=example.org"), "" when none. */
	char spf_ar[400];
	bool spam;			/* spamd tagged it (spam_folder) */
	double spam_score;		/* spamd's score when it tagged it */
	/* An authenticated user's mail: trusted, yet its DATA stage runs
	 * the checks named in outbound_checks (ops_send.h).  spamd then
	 * marks it spam without changing it (the session holds it). */
	bool outbound;
	const char *session_id;		/* for logs */
	/* The configuration snapshot of the client's session (borrowed: it
	 * outlives the client); NULL: the policy's current one.  Each run
	 * takes its own reference to it. */
	const struct conf *conf;

	/* Kept by the pipeline across stages; the session leaves them
	 * alone.  A stage that runs again (a second HELO, the next MAIL)
	 * first drops what it and the later stages left here. */
	struct policy_pending *pending;	/* POLICY_PENDING_MAX, on demand */
	size_t npending;
	size_t headers_at[POLICY_STAGES];	/* headers.len before stage */
	const char *allowed_by;		/* a gate allowed the session */
	uint32_t tx_skip;		/* DATA: gates skipped by every rcpt */
	unsigned tx_rcpts;		/* recipients that passed RCPT */
	/* RCPT stage: the recipient domain's rules, read on a worker
	 * thread by the session's recipient lookup (policy_rules_load())
	 * and handed over with policy_client_set_rules(). */
	struct store_rule *rules;
	size_t nrules;
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

/* One per smtpd process, holding a reference to conf (the snapshot for
 * clients without their own, and for the pipeline's own settings);
 * dns, stores and base must outlive the policy.  stores (store.h
 * request API) serves the greylist; NULL: greylisting accepts
 * everything. */
struct store_pool;
struct policy *policy_create(struct event_base *base, const struct conf *conf,
    struct dns *dns, struct store_pool *stores);
/* A reload: the policy's reference moves to conf.  Runs in flight keep
 * the snapshot they started with. */
void policy_set_conf(struct policy *p, const struct conf *conf);
/* Aborts nothing: the owner aborts its runs first. */
void policy_free(struct policy **pp);

/* Client lifecycle: init zeroes c and fills addr/ip from sa. */
void policy_client_init(struct policy_client *c, const struct sockaddr *sa,
    const char *session_id);
/* New transaction (MAIL or RSET): forgets MAIL-stage verdicts and
 * headers and the recipients' DATA-stage skips. */
void policy_client_reset_tx(struct policy_client *c);
void policy_client_free(struct policy_client *c);
/* The RCPT stage's domain rules (copied; n = 0 for none). */
void policy_client_set_rules(struct policy_client *c,
    const struct store_rule *v, size_t n);
/* Reads domain's rules (the first 256) into *v_r (malloc'd,
 * NULL when none) with the store connection conn: blocking, for worker
 * threads.  0, or -1 when the store failed (logged; no rule applies). */
int policy_rules_load(struct store *conn, const char *domain,
    struct store_rule **v_r, size_t *n_r);

/* Runs the stage's gates for client.  Never NULL; cb runs exactly once
 * (never inline from policy_run()) unless the run is aborted.  The
 * handle is freed when cb returns: forget it there, never abort it.
 * client, and client->rcpt/rcpt_domain/data_path, must stay valid until
 * then.  A result with code 421 means: answer, then close. */
struct policy_run *policy_run(struct policy *p, struct policy_client *client,
    enum policy_stage stage, policy_done_cb *cb, void *arg);
void policy_run_abort(struct policy_run **runp);
/* False when a run of this stage would surely accept and add nothing
 * (no gate enabled for it, nothing pending, no rule for the domain):
 * the session may then skip policy_run() and go on at once. */
bool policy_stage_active(struct policy *p, const struct policy_client *c,
    enum policy_stage stage);
/* Session lifecycle hooks for gates that keep per-IP state (rate limits,
 * dictionary-attack counting): called on every unknown recipient.
 * True when the client is now blocked (answer 451 4.7.1 instead). */
bool policy_note_bad_rcpt(struct policy *p, const struct policy_client *c);

/* Logs `policy decision stage=... verdict=...` as a run does (accepts at
 * connect, HELO and DATA only at debug); for sessions that skip a run. */
void policy_log_decision(const struct policy_client *c,
    enum policy_stage stage, const struct policy_result *res);

/* Names usable in `checks`, `exempt` and `rule ... skip`. */
bool policy_check_known(const char *name);
/* For checks the session runs itself (dmarc, at the end of data): true
 * when the message skips check `name`: a trusted client (without
 * check_trusted_clients), a gate or rule allowed it, every recipient's
 * domain skips it, or `exempt` names it for the client's network. */
bool policy_check_skipped(const struct policy *p,
    const struct policy_client *c, const char *name);
/* Every check name, comma-separated (for error messages); static. */
const char *policy_check_list(void);
/* Every check name, in the built-in order, NULL-terminated; the index
 * is the check's bit in skip masks (policy_names.c). */
extern const char *const policy_check_names[];

/* What gates decide from data alone, shared with `ferry check ip` and
 * the unit tests.  greylist: the client network the greylist keys on
 * ("192.0.2.0/24", "2001:db8:1:2::/64"): 0 or -1. */
int gate_greylist_net(const struct sockaddr *sa, char *dst, size_t size);
/* dnsbl: true when an A answer means "listed" (127.0.0.0/8 except the
 * lists' own 127.255.255.x error codes, RFC 5782). */
bool gate_dnsbl_listed(const struct sockaddr *sa);
const char *policy_stage_name(enum policy_stage stage);
const char *policy_verdict_name(enum policy_verdict v);

#endif
