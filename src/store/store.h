/* The store: domains, users (password hashes, quotas), aliases, bans,
 * per-domain rules and the greylist.  This header is the whole interface.
 * Behind it, store_sql.c (with store_send.c) holds the logic and every
 * query, and a driver (store_db.h) holds the database: SQLite
 * (store_db_sqlite.c, state_dir/ferry.db, the default) or PostgreSQL
 * (store_db_pg.c, the `store = postgresql://...` key, shared by several
 * nodes).  Every change is visible at once to running servers (they
 * query per lookup; caches follow the change counter below).  Addresses
 * are stored lower-cased (domain always, local part unless the
 * configuration makes local parts case-sensitive; the caller passes the
 * already-normalised address).
 *
 * Two ways in:
 *  - The synchronous functions below take a struct store, which is one
 *    connection.  They block (a busy database is waited for up to 5 s,
 *    then they fail), so they are for the command line and for code
 *    already running on a worker thread.
 *  - Event loops use the request API at the end of this file only: a
 *    request runs on the role's worker pool with that thread's own
 *    connection, and its callback comes back on the loop.
 *
 * What a driver provides (store_db.h): a connection usable from one
 * thread at a time; store_open() that creates or migrates its schema in
 * place to the same logical version (a schema_version table, migrations
 * numbered from 1, each run once inside one transaction, a newer
 * version refused, concurrent openers safe); statements prepared once
 * per connection; write transactions that run one after another; busy,
 * lock and network waits bounded (an error, never a hang).  The queries
 * use nothing a caller could notice: no row ids other than rule ids,
 * upserts in the ON CONFLICT form both databases share, byte order for
 * text. */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_user {
	char address[320];
	char password_hash[256];
	uint64_t quota;		/* bytes, 0 = unlimited */
	bool vacation;		/* the queue decides on its mail: a vacation
				 * reply is on (see below), or the domain
				 * has a home node (store_node.c) */
};

/* Opens (creating and migrating the schema) path: a SQLite file, or a
 * PostgreSQL connection URI ("postgresql://" or "postgres://").  0 or
 * -1. */
int store_open(struct store **sp, const char *path, const char **error_r);
/* store_open() flags. */
#define STORE_OPEN_LAZY 0x1	/* an unreachable database is no error */
/* As store_open(), for servers.  *unreachable_r (when not NULL) says
 * whether a failure was the database not answering (a PostgreSQL server
 * down or unreachable, refusing the connection: worth trying again), as
 * opposed to a bad path, permissions or schema.  With STORE_OPEN_LAZY
 * such a failure is no failure: the store opens without a connection,
 * every call fails (temporarily) until the server answers, and the first
 * connection checks (and if need be migrates) the schema.  A SQLite file
 * is always reachable: the flag changes nothing there. */
int store_open_ex(struct store **sp, const char *path, unsigned flags,
    bool *unreachable_r, const char **error_r);
void store_close(struct store **sp);
/* path fit for logs and messages: a URI's password masked.  In a
 * per-thread buffer, valid until the next call on the thread. */
const char *store_path_label(const char *path);

/* The change counter shared by every process using this database: it
 * grows after each committed change to domains, users, aliases, bans or
 * rules (not failure rows, not the greylist).  An answer read after the
 * counter showed g is still current while the counter still shows g, so
 * a cache keyed by it sees a change as soon as the changing call has
 * returned (SQLite; on PostgreSQL at once in the changing process and
 * within about a second in every other process of every node).  Reading
 * it is one atomic load.  0, or -1 when the counter is unavailable
 * (cache nothing then).  Changes made behind the store's back (sqlite3
 * by hand) do not move it on SQLite; on PostgreSQL triggers see them. */
int store_generation(struct store *s, uint64_t *gen_r);

/* Domains.  add: -1 "domain exists" when present.  del: -1 "no such
 * domain"; deleting a domain deletes its users and aliases too. */
int store_domain_add(struct store *s, const char *domain, const char **error_r);
int store_domain_del(struct store *s, const char *domain, const char **error_r);
/* 1 local, 0 not, -1 error. */
int store_domain_exists(struct store *s, const char *domain);
/* Calls cb for each domain in order; 0 or -1. */
int store_domain_list(struct store *s,
    void (*cb)(const char *domain, void *ctx), void *ctx,
    const char **error_r);

/* Users: address "local@domain" whose domain must exist. */
int store_user_add(struct store *s, const char *address, const char *hash,
    uint64_t quota, const char **error_r);
int store_user_del(struct store *s, const char *address, const char **error_r);
int store_user_set_password(struct store *s, const char *address,
    const char *hash, const char **error_r);
int store_user_set_quota(struct store *s, const char *address,
    uint64_t quota, const char **error_r);
/* 1 found (u filled), 0 no such user, -1 error. */
int store_user_get(struct store *s, const char *address, struct store_user *u);
int store_user_list(struct store *s, const char *domain_or_null,
    void (*cb)(const struct store_user *u, void *ctx), void *ctx,
    const char **error_r);

/* Aliases: address is "local@domain" or "@domain" (catch-all); targets
 * a comma-separated list of addresses.  add replaces an existing alias. */
int store_alias_add(struct store *s, const char *address, const char *targets,
    const char **error_r);
int store_alias_del(struct store *s, const char *address, const char **error_r);
/* 1 found (*targets_r malloc'd, caller frees), 0 none, -1 error. */
int store_alias_get(struct store *s, const char *address, char **targets_r);
int store_alias_list(struct store *s, const char *domain_or_null,
    void (*cb)(const char *address, const char *targets, void *ctx), void *ctx,
    const char **error_r);

/* Failed-login bans (auth/ban.h keeps the policy; this is the storage).
 * ip is an address in text form (cidr_addr_str); times are Unix seconds. */
struct store_ban {
	char ip[64];
	char reason[128];
	int64_t created;
	int64_t until;
};

/* 1 when ip is banned at `now` (b filled when not NULL), 0 not, -1 error. */
int store_ban_get(struct store *s, const char *ip, int64_t now,
    struct store_ban *b);
/* Bans ip until `until` (replacing a ban it has) and forgets its counted
 * failures.  0 or -1 with *error_r. */
int store_ban_set(struct store *s, const char *ip, int64_t now,
    int64_t until, const char *reason, const char **error_r);
/* Lifts a ban and forgets the failures: -1 "no such ban" when ip was
 * not banned. */
int store_ban_del(struct store *s, const char *ip, int64_t now,
    const char **error_r);
/* Calls cb for each ban in force at now, soonest to end first. */
int store_ban_list(struct store *s, int64_t now,
    void (*cb)(const struct store_ban *b, void *ctx), void *ctx,
    const char **error_r);
/* Records one failed login and drops failures at or before `since` (of
 * every address: the table stays small).  Returns the number of ip's
 * failures after since (this one included), or -1. */
int store_ban_failure_add(struct store *s, const char *ip,
    const char *service, int64_t now, int64_t since);

/* ---- inbound check pipeline (src/policy/) ----
 * Per-domain rules, owned by each domain's postmaster, and the greylist
 * (schema migration 3). */

/* A rule: action "allow" | "deny" | "skip"; kind "sender" (value an
 * address or "@domain"), "ip" (a CIDR) or "check" (skip: a comma list
 * of check names).  Deleting the domain deletes its rules. */
struct store_rule {
	int64_t id;
	char domain[256];
	char action[8];
	char kind[8];
	char value[512];
};

/* Adds r (its domain must exist: else -1 "no such domain"); r->id is
 * set.  0 or -1 with *error_r. */
int store_rule_add(struct store *s, struct store_rule *r,
    const char **error_r);
/* -1 "no such rule" when absent. */
int store_rule_del(struct store *s, int64_t id, const char **error_r);
/* Calls cb for each rule of domain (every domain when NULL), by id. */
int store_rule_list(struct store *s, const char *domain_or_null,
    void (*cb)(const struct store_rule *r, void *ctx), void *ctx,
    const char **error_r);

enum store_grey {
	STORE_GREY_NEW = 0,	/* first seen now: defer */
	STORE_GREY_EARLY,	/* retried before the delay: defer */
	STORE_GREY_PASS,	/* retried in the window: passes now */
	STORE_GREY_TRUSTED	/* the client network passed before */
};

/* Greylist one triplet (net is the client /24 or /64, triplet the key
 * "net sender rcpt").  A triplet older than window starts over; a pass
 * trusts net until now + expire.  0 (*state_r, *first_r set) or -1. */
int store_greylist_check(struct store *s, const char *net,
    const char *triplet, int64_t now, int64_t delay, int64_t window,
    int64_t expire, enum store_grey *state_r, int64_t *first_r);
/* Read only, for `ferry check ip`: until when net is trusted (0: no
 * row; compare with now) and how many triplets of it wait.  0 or -1. */
int store_greylist_state(struct store *s, const char *net, int64_t *until_r,
    int64_t *waiting_r);
/* Drops triplets first seen before now - window and expired networks. */
int store_greylist_prune(struct store *s, int64_t now, int64_t window);

/* ---- DMARC (schema migration 4) ----
 * The results of inbound messages evaluated against a published DMARC
 * record (src/smtp/smtp_dmarc.c): one row for the messages of one
 * second with the same source and results (messages counts them), read
 * back by `ferry dmarc report` (src/ops/ops_dmarc.c), which marks each
 * report it sent. */

struct store_dmarc_row {
	int64_t at;			/* unix time of the evaluation */
	char policy_domain[256];	/* where the record was found */
	char header_from[256];		/* the RFC 5322.From domain */
	char source_ip[64];
	char envelope_from[256];	/* MAIL FROM domain ("" for <>) */
	char spf_domain[256];		/* the SPF identity's domain */
	char spf_result[16];		/* "pass", "fail", ... "none" */
	char dkim[1024];		/* "d:s:result" items, space-separated */
	bool spf_aligned, dkim_aligned;
	char disposition[16];		/* none, quarantine, reject */
	char reason[32];		/* "", sampled_out, local_policy, ... */
	char p[16], sp[16];		/* the record as published */
	unsigned pct;
	char adkim[2], aspf[2];		/* "r" or "s" */
	char rua[1024];			/* rua= URIs, comma-separated */
	uint64_t messages;		/* how many; 0 is taken as 1 */
};

/* 0 or -1 with *error_r. */
int store_dmarc_add(struct store *s, const struct store_dmarc_row *r,
    const char **error_r);
/* The n rows r[0..n-1] in one transaction: all or none.  0 or -1 with
 * *error_r. */
int store_dmarc_add_many(struct store *s, const struct store_dmarc_row *r,
    size_t n, const char **error_r);
/* Calls cb for the rows with begin <= at < end, by policy domain, the
 * rows that differ only in at (and id) summed into one: at is the
 * earliest, messages the total. */
int store_dmarc_list(struct store *s, int64_t begin, int64_t end,
    void (*cb)(const struct store_dmarc_row *r, void *ctx), void *ctx,
    const char **error_r);
/* Whether the report of domain for the period starting at begin was
 * sent: 1, 0, or -1. */
int store_dmarc_sent(struct store *s, const char *domain, int64_t begin);
/* Marks it sent: 1, 0 when it was marked already, -1 with *error_r. */
int store_dmarc_sent_add(struct store *s, const char *domain, int64_t begin,
    int64_t end, const char *report_id, const char **error_r);

/* ---- DMARC reports received (schema migration 7, store_dmarc_in.c) ----
 * Aggregate reports that arrived for hosted domains (parsed by
 * msgauth/dmarc_agg.h, stored by ops/ops_dmarc_in.h), once per
 * reporting organisation and report id, read back by `ferry dmarc
 * reports DOMAIN`.  store_dmarc_prune() also ages out the results and
 * sent marks of migration 4. */

struct dmarc_agg;

/* Stores a report received at `received` (its period as given: the
 * caller bounds it): 1 stored, 0 when that org's report id is there
 * already (nothing written), -1 with *error_r. */
int store_dmarc_in_add(struct store *s, const struct dmarc_agg *a,
    int64_t received, const char **error_r);

/* One record of a report (count 0 and source_ip "" for a report that
 * has none), with its report's identity and period. */
struct store_dmarc_in_row {
	char org[256], report_id[256];
	int64_t begin, end, received;
	char source_ip[64];
	uint64_t count;
	char disposition[16], dkim[8], spf[8], reason[64];
	char header_from[256];
	char auth_dkim[1024];		/* "domain:selector:result" items,
					 * space-separated */
	char auth_spf[1024];		/* "domain:result" items */
};

/* Calls cb for every record of domain's reports whose period ends at
 * or after since, by period and report.  0 or -1 with *error_r. */
int store_dmarc_in_list(struct store *s, const char *domain, int64_t since,
    void (*cb)(const struct store_dmarc_in_row *r, void *ctx), void *ctx,
    const char **error_r);

/* Deletes reports received before `before`, and results recorded and
 * reports sent (migration 4) before it; how many of each in *in_r,
 * *results_r, *sent_r.  0 or -1 with *error_r. */
int store_dmarc_prune(struct store *s, int64_t before, unsigned *in_r,
    unsigned *results_r, unsigned *sent_r, const char **error_r);

/* ---- vacation replies (schema migration 5) ----
 * A user's auto-reply settings (src/ops/ops_vacation.h checks them) and
 * the senders answered, for "once per sender per period" (RFC 3834 2,
 * RFC 5230 4.2).  Both rows go with the user.  store_user.vacation says
 * the settings exist and are on: mail for such a user goes through the
 * queue role, which decides on the answer. */

struct store_vacation {
	bool enabled;
	char *subject;		/* "" = "Auto: " + the original's */
	char *body;		/* UTF-8 text, LF line ends */
	int64_t start, end;	/* unix seconds; 0 = no bound */
	unsigned days;		/* the period */
	int64_t updated;
};

/* 1 found (v filled; free with store_vacation_free), 0 none, -1 error. */
int store_vacation_get(struct store *s, const char *address,
    struct store_vacation *v);
void store_vacation_free(struct store_vacation *v);
/* Sets (creates or replaces) the settings of an existing user and
 * forgets the senders answered so far.  0, or -1 with *error_r ("no
 * such user" when address is not one). */
int store_vacation_set(struct store *s, const char *address,
    const struct store_vacation *v, const char **error_r);
/* Removes them: 1 removed, 0 there were none, -1 with *error_r. */
int store_vacation_del(struct store *s, const char *address,
    const char **error_r);
/* Claims the answer to sender at now: 1 when sender was not answered
 * after now - period (the answer is recorded at now), 0 when it was,
 * -1 on error.  Answers older than the period are pruned on the way. */
int store_vacation_claim(struct store *s, const char *address,
    const char *sender, int64_t now, int64_t period);
/* Takes back a claim made at `at` (the answer could not be queued). */
int store_vacation_unclaim(struct store *s, const char *address,
    const char *sender, int64_t at);
/* Calls cb with every alias (not catch-all) whose targets name address
 * (normalised).  0 or -1 with *error_r. */
int store_alias_refs(struct store *s, const char *address,
    void (*cb)(const char *alias, void *ctx), void *ctx,
    const char **error_r);

/* ---- outbound abuse control (schema migration 5, store_send.c) ----
 * Storage only; what the numbers mean is auth/sendlimit.h's.  A
 * subject is a user's address or a domain (an address has an '@', a
 * domain never).  Counters are kept per subject and clock hour (Unix
 * time / 3600). */

#define STORE_SEND_HOURS_MAX (24 * 92)	/* history kept at most */

/* Limit overrides: -1 means "the configured default", 0 "no limit". */
struct store_send_limits {
	int64_t msgs_hour;
	int64_t rcpts_day;
};

/* Sets subject's overrides (a row with both -1 is removed).  0 or -1. */
int store_send_limits_set(struct store *s, const char *subject,
    const struct store_send_limits *l, const char **error_r);
/* 1 (l filled), 0 none (l set to -1, -1), -1 error. */
int store_send_limits_get(struct store *s, const char *subject,
    struct store_send_limits *l);

struct store_send_hold {
	char address[320];
	int64_t since;
	bool automatic;			/* set by the automatic stop */
	char reason[256];
};

/* Holds address's sending: 1 held now, 0 it was held already (the old
 * reason stays), -1 error. */
int store_send_hold_set(struct store *s, const char *address, int64_t now,
    bool automatic, const char *reason, const char **error_r);
/* 1 released (and the time recorded), 0 it was not held, -1 error. */
int store_send_hold_del(struct store *s, const char *address, int64_t now,
    const char **error_r);
/* 1 held (h filled when not NULL), 0 not, -1 error. */
int store_send_hold_get(struct store *s, const char *address,
    struct store_send_hold *h);
int store_send_hold_list(struct store *s,
    void (*cb)(const struct store_send_hold *h, void *ctx), void *ctx,
    const char **error_r);

/* Suspends an existing domain: 1 suspended now, 0 it was already, -1
 * error ("no such domain").  Bumps the change counter, so cached RCPT
 * answers are dropped. */
int store_domain_suspend(struct store *s, const char *domain, int64_t now,
    const char *reason, const char **error_r);
/* 1 resumed, 0 it was not suspended, -1 error. */
int store_domain_resume(struct store *s, const char *domain,
    const char **error_r);
/* 1 suspended (*since_r set when not NULL), 0 not, -1 error. */
int store_domain_suspended(struct store *s, const char *domain,
    int64_t *since_r);

/* ---- nodes and home nodes (store_node.c) ----
 * The nodes sharing this store, each with the addresses the others reach
 * it at (net/nodeaddr.h text: "192.0.2.7:25", "[2001:db8::1]:25"; ""
 * when the node offers no such service), and each domain's home node:
 * where its mailboxes live.  A domain without a home is delivered on
 * whichever node receives its mail.  Syntax is the caller's to check. */
#define STORE_NODE_NAME_MAX 63
#define STORE_NODE_ADDR_MAX 64

struct store_node {
	char name[STORE_NODE_NAME_MAX + 1];
	char smtp[STORE_NODE_ADDR_MAX];
	char imap[STORE_NODE_ADDR_MAX];
	char pop3[STORE_NODE_ADDR_MAX];
};

/* Adds n: 0, or -1 ("node exists", or a database error).  With replace
 * an existing node's addresses are changed instead. */
int store_node_add(struct store *s, const struct store_node *n, bool replace,
    const char **error_r);
/* 0, or -1: "no such node", "node is the home of N domains", ... */
int store_node_del(struct store *s, const char *name, const char **error_r);
/* 1 found (n filled), 0 no such node, -1 error. */
int store_node_get(struct store *s, const char *name, struct store_node *n);
/* Calls cb for each node by name; 0 or -1. */
int store_node_list(struct store *s,
    void (*cb)(const struct store_node *n, void *ctx), void *ctx,
    const char **error_r);
/* Sets domain's home to node, or removes it when node is NULL: 1
 * changed, 0 it was so already, -1 ("no such domain", "no such node",
 * ...). */
int store_domain_home_set(struct store *s, const char *domain,
    const char *node, const char **error_r);
/* 1 when domain has a home (its node's row in n), 0 none, -1 error. */
int store_domain_home(struct store *s, const char *domain,
    struct store_node *n);
/* Calls cb for each domain that has a home, by domain; 0 or -1. */
int store_domain_home_list(struct store *s,
    void (*cb)(const char *domain, const char *node, void *ctx), void *ctx,
    const char **error_r);

/* One subject's counters as of `now`. */
struct store_send_stats {
	int64_t msgs_cur, msgs_prev;	/* this clock hour, the one before */
	int64_t rcpts_day;		/* the last 24 clock hours */
	int64_t bounces_day, spam_day;
	int64_t msgs_hist;		/* before this hour, in the history */
	int64_t active_hours;		/* hours of it with a message */
};

/* Everything a decision about one sender needs, read in one
 * transaction: the user's hold, the domain's suspension, both limit
 * overrides and both counters (history of learn_hours). */
struct store_send_view {
	const char *address, *domain;
	bool held;
	struct store_send_hold hold;
	int64_t released;		/* last send-release, 0: never */
	bool suspended;
	struct store_send_limits user_lim, dom_lim;
	struct store_send_stats user, dom;
};

enum store_send_count {
	STORE_SEND_MSG,		/* one message: msgs + 1 */
	STORE_SEND_RCPT,	/* one recipient: rcpts + 1 */
	STORE_SEND_BOUNCE,	/* one bounce drawn: bounces + 1 */
	STORE_SEND_SPAM		/* one spam verdict: spam + 1 */
};

/* What the decision wants done, in the same transaction. */
struct store_send_action {
	bool count;			/* add one to the user's and domain's counter */
	bool hold;			/* hold the user (automatic) */
	char hold_reason[256];
	bool held_now;			/* out: the hold is new */
};

typedef void store_send_decide_cb(const struct store_send_view *v,
    struct store_send_action *a, void *ctx);

/* In one IMMEDIATE transaction: reads address's view (history of
 * learn_hours before now), asks decide to fill *a, applies it with
 * `what` as the counter (a->held_now says whether its hold is new), and
 * prunes history older than STORE_SEND_HOURS_MAX (when a counter starts
 * a new hour).  Correct across sessions and processes: two
 * reservations never see the same count.  Counts alone are soft state:
 * their commit does not wait for the disk (a crash may lose the last
 * few); a commit that sets a hold does.  0 or -1 (nothing applied). */
int store_send_reserve(struct store *s, const char *address,
    enum store_send_count what, int64_t now, int64_t learn_hours,
    store_send_decide_cb *decide, void *ctx, struct store_send_action *a,
    const char **error_r);
/* The view alone (no transaction, nothing written), for reports. */
int store_send_view(struct store *s, const char *address, int64_t now,
    int64_t learn_hours, struct store_send_view *v, const char **error_r);

/* ---- delivery history (schema migration 9, store_hist.c) ----
 * What the queue did with each message, for `ferry why` (src/ops/
 * ops_history.h): its arrival, then one row per delivery attempt per
 * recipient with what was tried and what came back.  Written in batches
 * by the queue role (queue/queue_history.h), pruned after history_keep.
 * Every row names the node that wrote it (conf_node_name), so nodes
 * sharing a PostgreSQL store read each other's history.  Recipients are
 * kept (and matched) lower-cased.  Nothing cached
 * depends on these rows: the change counter does not move. */

#define STORE_HIST_ID_MAX 24		/* a queue id and its NUL, with room */
#define STORE_HIST_NODE_MAX 64
#define STORE_HIST_ADDR_MAX 322
#define STORE_HIST_REPLY_MAX 512

/* A message as it entered the queue. */
struct store_hist_msg {
	char id[STORE_HIST_ID_MAX];
	char node[STORE_HIST_NODE_MAX];
	int64_t arrival;		/* unix seconds; 0: not recorded */
	char sender[STORE_HIST_ADDR_MAX];	/* "" for the null sender */
	char client[64];		/* "192.0.2.7", "local" */
	uint64_t size;
	char *rcpts;			/* malloc'd: addresses, one per line */
};

/* One attempt for one recipient, or an outcome the operator caused. */
struct store_hist_attempt {
	char id[STORE_HIST_ID_MAX];
	char node[STORE_HIST_NODE_MAX];
	int64_t at;			/* unix seconds */
	int64_t seq;			/* orders attempts of one second */
	char rcpt[STORE_HIST_ADDR_MAX];
	char host[320];			/* "mx.example.net [192.0.2.1]:25",
					 * a mailbox for local mail, "" */
	char route[24];			/* direct, route, fallback_relay,
					 * local, operator */
	char tls[96];			/* "TLSv1.3 ...", "" */
	char reach[160];		/* what the reachability memory did */
	char result[12];		/* delivered, deferred, bounced,
					 * expired, deleted */
	char reply[STORE_HIST_REPLY_MAX];	/* the reply or error */
	int64_t next_attempt;		/* deferred: when next; else 0 */
	int64_t give_up;		/* deferred: given up at; else 0 */
};

/* Writes msgs (an arrival already recorded is kept as it was) and then
 * attempts, in one transaction.  0 or -1 with *error_r (nothing
 * written). */
int store_hist_write(struct store *s, const struct store_hist_msg *msgs,
    size_t nmsgs, const struct store_hist_attempt *attempts,
    size_t nattempts, const char **error_r);
/* Forgets messages with no attempt at or after before and that arrived
 * before it, and attempts before it of messages no longer recorded.
 * The number of rows removed, or -1 with *error_r. */
int64_t store_hist_prune(struct store *s, int64_t before,
    const char **error_r);

enum store_hist_by {
	STORE_HIST_BY_ID,		/* key: a queue id */
	STORE_HIST_BY_RCPT,		/* key: a recipient (normalised) */
	STORE_HIST_BY_DOMAIN		/* key: a recipient domain */
};

typedef void store_hist_msg_cb(const struct store_hist_msg *m, void *ctx);
typedef void store_hist_attempt_cb(const struct store_hist_attempt *a,
    void *ctx);

/* The stories of the newest `limit` messages matching key (written by
 * node, or by any node when node is NULL or ""), oldest first: msg_cb
 * with the arrival (m->arrival 0 when only attempts were recorded),
 * then attempt_cb for each of its attempts in time order.  0 (also when
 * nothing matched) or -1 with *error_r. */
int store_hist_query(struct store *s, enum store_hist_by by, const char *key,
    const char *node, unsigned limit, store_hist_msg_cb *msg_cb,
    store_hist_attempt_cb *attempt_cb, void *ctx, const char **error_r);

/* ---- queue summaries of every node (schema migration 9) ----
 * Each queue role publishes a compact row per queued message, so that
 * `ferry queue list --all-nodes` on any node sees every node's queue. */

struct store_queue_row {
	char node[STORE_HIST_NODE_MAX];
	char id[STORE_HIST_ID_MAX];
	char sender[STORE_HIST_ADDR_MAX];
	char *rcpts;			/* pending recipients, ", " between */
	int64_t arrival, next_attempt;
	uint64_t size;
	bool held;
};

/* Replaces node's rows with rows (their node is ignored) and records
 * that node was seen at now, in one transaction.  0 or -1. */
int store_queue_publish(struct store *s, const char *node,
    const struct store_queue_row *rows, size_t n, int64_t now,
    const char **error_r);
/* Calls cb for every node's rows, by node then arrival, with when that
 * node last published.  0 or -1 with *error_r. */
int store_queue_list_all(struct store *s,
    void (*cb)(const struct store_queue_row *r, int64_t seen, void *ctx),
    void *ctx, const char **error_r);

/* ---- copying a whole store (store_copy.c, `ferry store migrate`) ---- */

/* One table's numbers after it was copied. */
struct store_copy_count {
	const char *table;
	int64_t copied;		/* rows written now */
	int64_t source, dest;	/* rows in each store afterwards */
};

typedef void store_copy_cb(const struct store_copy_count *n, void *ctx);

/* Copies every table of from into to (schemas at the same version), a
 * transaction per table; rows to already has (by key) are kept, so it
 * may run again after a failure.  Failed-login counts are not copied.
 * progress (may be NULL) is called after each table.  0, or -1 with
 * *error_r, also when to holds fewer rows of a table than from. */
int store_copy(struct store *from, struct store *to, store_copy_cb *progress,
    void *ctx, const char **error_r);

/* ---- the request API for event loops (store_req.c) ----
 * A store pool gives each thread of a role's worker pool (lib/workpool.h)
 * its own connection, opened when the pool is created.  A request is a
 * job: work() runs on a worker thread with that thread's connection,
 * done() later on the loop thread, never inline from store_req_submit().
 * The request owns its data block from submission on: inputs are copied
 * into it and results written there, so work() never touches memory of
 * the submitter, which may be gone by then.  store_req_abort() (called by
 * the owner's _free) guarantees done() never runs; work() that has not
 * started is skipped unless the job says must_run (writes that record
 * something that already happened, such as a failed login).  Either way
 * the data block is released once the work is over. */

struct event_base;
struct store_pool;
struct store_req;
struct workpool;

/* conn is NULL when the thread has no connection (it could not be
 * opened): the work must then report a temporary failure. */
typedef void store_work_cb(struct store *conn, void *data);
typedef void store_done_cb(void *data, void *ctx);
typedef void store_release_cb(void *data);

struct store_job {
	const char *name;		/* for logs: "ban-check", ... */
	store_work_cb *work;
	store_done_cb *done;		/* NULL: nothing to report */
	store_release_cb *release;	/* frees data; NULL: free() */
	bool must_run;			/* work runs even when aborted */
};

/* Opens one connection to path per thread of wp (the first one creates or
 * migrates the schema).  0, or -1 with *error_r.  Setup work: may block.
 * The connections open with STORE_OPEN_LAZY: a role started while its
 * PostgreSQL server is down starts, its requests fail (temporarily) and
 * the connections are made at their first use once the server answers. */
int store_pool_create(struct store_pool **spp, struct workpool *wp,
    const char *path, const char **error_r);
/* Closes the connections.  Call after workpool_free() of its pool, when
 * every request has finished. */
void store_pool_free(struct store_pool **spp);
/* On a worker thread of the pool: that thread's connection (NULL if it
 * failed); NULL on any other thread.  For jobs submitted to the workpool
 * directly (a message commit) that need the store on the way. */
struct store *store_pool_conn(struct store_pool *sp);

/* Submits job with data (malloc'd, owned by the request from now on).
 * Returns the handle; it stays valid until done() has been called (it
 * is invalid inside and after done) or until store_req_abort(). */
struct store_req *store_req_submit(struct store_pool *sp,
    const struct store_job *job, void *data, void *ctx);
/* Aborts a pending request (NULL is fine) and sets *reqp to NULL. */
void store_req_abort(struct store_req **reqp);
/* Requests submitted whose work or release is not over yet. */
unsigned store_pool_pending(const struct store_pool *sp);
/* store_generation() for the loop thread: no system call, no lock. */
int store_pool_generation(const struct store_pool *sp, uint64_t *gen_r);

#endif
