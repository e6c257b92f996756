/* The configuration file: `key = value` lines, `#` comments, lists
 * comma-separated.  An unknown key or a bad value is an error naming
 * FILE:LINE and the reason.  Everything the operator sets lives here;
 * what postmasters change at run time lives in the store. */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cidr.h"

#define CONF_DEFAULT_PATH "/etc/ferry/ferry.conf"
#define CONF_HOST_MAX 255
#define CONF_STORE_MAX 1024	/* the store URI, with its terminator */

struct conf_listen {
	char host[64];
	char port[8];
};

struct conf_listen_list {
	struct conf_listen *v;
	size_t n;
};

struct conf_strlist {
	char **v;
	size_t n;
};

enum conf_tls_mode {
	CONF_TLS_UNSET = 0,	/* route: follow tls_policy */
	CONF_TLS_NONE,		/* never STARTTLS */
	CONF_TLS_MAY,		/* opportunistic; plaintext retry on failure */
	CONF_TLS_ENCRYPT,	/* TLS required, any certificate */
	CONF_TLS_VERIFY		/* TLS required, certificate checked */
};

/* route = DOMAIN HOST[:PORT] [tls=MODE] [auth=FILE] [fallback=HOST[:PORT]];
 * also fallback_relay (no fallback= there) and route_mx (domain is then
 * an MX host name: exact, or ".example.com" for "*.example.com").
 * domain: "example.com" exact, ".example.com" subdomains, "*" default. */
struct conf_route {
	char domain[CONF_HOST_MAX + 2];
	char host[CONF_HOST_MAX + 1];
	char port[8];			/* "" = remote_smtp_port */
	bool no_mx;			/* [host]: use its A/AAAA, no MX lookup */
	int tls;			/* enum conf_tls_mode */
	char auth_file[PATH_MAX];	/* "" = no AUTH */
	/* The route's own fallback relay (fb_host[0] == 0: none; then
	 * fallback_relay applies), spoken to with the route's tls and
	 * auth. */
	char fb_host[CONF_HOST_MAX + 1];
	char fb_port[8];
	bool fb_no_mx;
};

struct conf_route_list {
	struct conf_route *v;
	size_t n;
};

/* tls_policy = DOMAIN MODE */
struct conf_tls_policy {
	char domain[CONF_HOST_MAX + 2];
	int mode;
};

/* tls_sni = DOMAIN CERT KEY */
struct conf_sni {
	char domain[CONF_HOST_MAX + 1];
	char cert[PATH_MAX];
	char key[PATH_MAX];
};

/* exempt = CIDR CHECK[,CHECK...] */
struct conf_exempt {
	struct cidr net;
	struct conf_strlist checks;
};

enum conf_rdns { CONF_RDNS_NO = 0, CONF_RDNS_PTR, CONF_RDNS_FCRDNS };

struct conf {
	unsigned refs;				/* snapshots: conf_ref() */
	char path[PATH_MAX];
	char hostname[CONF_HOST_MAX + 1];
	char node_name[64];			/* "": hostname */
	char state_dir[PATH_MAX];
	char store[CONF_STORE_MAX];		/* "": state_dir/ferry.db */
	char run_as[64];
	char log_file[PATH_MAX];
	char maildrop_dir[PATH_MAX];		/* "": state_dir/maildrop */
	int log_level;				/* enum log_level */

	struct conf_listen_list smtp_listen;
	struct cidr_list relay_networks;

	uint64_t message_size_limit;		/* bytes, 0 = none */
	unsigned max_recipients;		/* RCPT commands per message */
	unsigned max_hops;			/* Received fields (RFC 5321 6.3) */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned smtp_max_errors;		/* protocol errors before 421 */
	unsigned smtp_max_line;			/* command line octets incl CRLF */
	unsigned smtp_max_text_line;		/* DATA line octets incl CRLF */
	uint64_t smtp_timeout;			/* seconds waiting for a command */
	uint64_t smtp_data_timeout;		/* seconds between DATA blocks */
	uint64_t smtp_greeting_delay;		/* pre-greeting wait, 0 = none */
	bool local_part_case_sensitive;		/* default: compare case-blind */
	char recipient_delimiter[8];		/* "+" (empty: off) */
	unsigned queue_workers;			/* delivery threads */
	bool direct_delivery;			/* local mail before 250 */
	uint64_t queue_lifetime;		/* seconds */
	uint64_t history_keep;			/* seconds; 0: no history */
	uint64_t retry_min, retry_max;		/* local retry backoff */
	/* min_free_space: below it new mail gets 452 4.3.1 and the queue
	 * holds back local deliveries (lib/diskwatch.h); one is 0. */
	uint64_t min_free_bytes;
	unsigned min_free_pct;

	/* DNS */
	struct conf_listen_list dns_resolvers;	/* empty: /etc/resolv.conf */
	struct conf_listen_list dns_fallback_resolvers;
	bool dnssec;
	uint64_t dns_stale_max;		/* serve-stale for delivery; 0 = off */

	/* Remote delivery */
	unsigned remote_smtp_port;
	uint64_t timeout_connect;		/* RFC 5321 4.5.3.2 client side */
	uint64_t timeout_tls;
	uint64_t timeout_helo;
	uint64_t timeout_mail;
	uint64_t timeout_rcpt;
	uint64_t timeout_data_init;
	uint64_t timeout_data_block;
	uint64_t timeout_data_done;
	unsigned concurrency_remote;
	unsigned concurrency_per_domain;
	unsigned connect_parallel;		/* addresses dialled at once */
	struct conf_route_list routes;
	struct conf_route_list routes_mx;	/* route_mx, by MX host */
	struct conf_route fallback_relay;	/* host[0] == 0: none */
	struct conf_tls_policy *tls_policies;
	size_t ntls_policies;
	uint64_t host_down_memory;		/* reachability memory */
	uint64_t tls_broken_memory;
	uint64_t reach_probe_interval;		/* 0 = no probes */
	uint64_t reach_probe_max_interval;	/* probe back-off cap */
	uint64_t delay_warning;			/* 0 = off */
	struct conf_strlist backup_domains;
	struct conf_strlist backup_recipients;	/* empty: any recipient */

	/* TLS, submission, mailbox access */
	struct conf_listen_list submission_listen;
	struct conf_listen_list submissions_listen;
	struct conf_listen_list pop3_listen;
	struct conf_listen_list pop3s_listen;
	struct conf_listen_list imap_listen;
	struct conf_listen_list imaps_listen;
	/* The admin role (src/admin/): HTTPS, or plain HTTP on loopback or
	 * with admin_plain_http */
	struct conf_listen_list admin_listen;
	bool admin_plain_http;
	struct conf_strlist admin_users;	/* addresses with the admin role */
	uint64_t admin_session_idle, admin_session_lifetime;
	uint64_t admin_timeout;			/* a silent client's seconds */
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
	struct conf_sni *tls_sni;
	size_t ntls_sni;
	struct cidr_list auth_plaintext_networks;
	struct cidr_list imap_trusted_proxies;	/* may send x-originating-ip */
	struct cidr_list pop3_trusted_proxies;	/* may send XCLIENT ADDR= */
	unsigned imap_max_user_sessions;	/* logged-in IMAP sessions */
	uint64_t pop3_timeout, imap_timeout;	/* idle, and per command */
	unsigned imap_max_connections_per_ip;	/* 0: max_connections_per_ip */
	bool sender_check;
	unsigned auth_ban_max_failures;
	uint64_t auth_ban_window;
	uint64_t auth_ban_time;
	struct cidr_list auth_ban_exempt;
	uint64_t auth_cache_ttl;		/* 0 = no auth cache */
	/* /metrics (docs/metrics.md): its own plain-HTTP listeners, and who
	 * may read it (default loopback). */
	struct conf_listen_list metrics_listen;
	struct cidr_list metrics_allow;

	/* Inbound checks (src/policy/); every check is off until set,
	 * except the dictionary-attack block (bad_rcpt_*). */
	struct conf_strlist checks;		/* order; empty = default */
	bool check_trusted_clients;		/* relay_networks/AUTH too */
	struct cidr_list client_allow, client_deny;
	struct conf_strlist dnsbl;		/* zones */
	bool dnsbl_tag_only;			/* dnsbl_action = tag */
	int require_rdns;			/* enum conf_rdns */
	unsigned conn_rate_limit;		/* per IP per window, 0 = off */
	uint64_t conn_rate_window;
	bool helo_reject_malformed, helo_reject_bare_ip, helo_reject_self;
	bool mfcheck;
	bool spf, spf_reject_fail;
	/* DKIM: signing keys (msgauth/dkim_keys.h); "": STATE_DIR/dkim. */
	char dkim_key_dir[PATH_MAX];
	bool dkim_sign;
	/* DKIM verification and Authentication-Results for inbound mail. */
	bool dkim_verify;
	/* ARC (msgauth/arc.h, docs/arc.md). */
	bool arc_verify, arc_seal;
	struct conf_strlist arc_trusted_sealers;
	/* SRS for forwarded mail (msgauth/srs.h, docs/srs.md). */
	bool srs;
	char srs_domain[256];			/* "": the alias's domain */
	uint64_t srs_max_age;			/* seconds */
	char srs_secret_file[PATH_MAX];		/* "": STATE_DIR/srs.secret */
	/* DMARC of inbound mail (docs/dmarc.md): policies applied, the
	 * public suffix list's path, refusal of forged hosted domains,
	 * and the aggregate reports' sender and organisation name. */
	bool dmarc, local_forgery_check;
	char dmarc_psl[PATH_MAX];
	char dmarc_report_from[320];	/* "": postmaster@hostname */
	char dmarc_report_org[256];	/* "": hostname */
	/* Aggregate reports received (docs/dmarc.md): read at local
	 * delivery (to these mailboxes; empty: any), kept dmarc_keep. */
	bool dmarc_report_ingest;
	struct conf_strlist dmarc_report_mailboxes;
	uint64_t dmarc_keep;			/* seconds */
	bool greylist;
	uint64_t greylist_delay, greylist_window, greylist_expire;
	unsigned bad_rcpt_limit;		/* 0 = off */
	uint64_t bad_rcpt_window, bad_rcpt_block;
	char clamd[PATH_MAX];			/* host:port or /socket */
	char spamd[PATH_MAX];
	double spam_tag_score, spam_reject_score;	/* reject 0 = off */
	char spam_subject_prefix[64];
	char spam_folder[201];		/* "" = off; a folder name (UTF-8) */
	bool scan_failure_accept;		/* scan_failure = accept */
	uint64_t scan_max_size;
	struct conf_exempt *exempts;
	size_t nexempts;
	struct cidr_list transcript_ips;
	/* Outbound abuse control (auth/sendlimit.h, docs/operations.md):
	 * limits for authenticated senders (0 = none), the automatic stop,
	 * and the content checks run on their mail. */
	unsigned send_limit_msgs_hour, send_limit_rcpts_day;
	unsigned domain_send_limit_msgs_hour, domain_send_limit_rcpts_day;
	unsigned send_stop_factor, send_stop_min;	/* factor 0 = off */
	unsigned send_stop_learn_days;
	unsigned send_stop_bounces, send_stop_spam;	/* per day, 0 = off */
	struct conf_strlist outbound_checks;	/* "clamd", "spamd" */
};

/* True when check `name` is exempted for this client (exempt = ...). */
bool conf_exempted(const struct conf *c, const struct sockaddr *sa,
    const char *name);

/* The tls_policy mode for a destination domain (CONF_TLS_MAY default). */
int conf_tls_policy_for(const struct conf *c, const char *domain);
/* The route for a domain: exact, then ".parent" suffixes, then "*";
 * NULL when mail goes to the domain's MX hosts. */
const struct conf_route *conf_route_for(const struct conf *c,
    const char *domain);
/* The route_mx rule for an MX host name (trailing dot allowed): an
 * exact name first, then "*.suffix" rules in the order written; NULL
 * when none matches. */
const struct conf_route *conf_route_mx_for(const struct conf *c,
    const char *mxhost);
/* This node's name among several sharing one store: node_name, or the
 * hostname when it is not set. */
const char *conf_node_name(const struct conf *c);
/* True when s is in the list (ASCII case-blind). */
bool conf_strlist_has(const struct conf_strlist *l, const char *s);
/* The known key closest to name (a likely typo), or NULL when none is
 * close. */
const char *conf_key_nearest(const char *name);

/* Built-in defaults (hostname from gethostname()). */
void conf_defaults(struct conf *c);
/* Reads path over the defaults already in c.  0, or -1 with *error_r set
 * to a static "FILE:LINE: reason" valid until the next call. */
int conf_load(struct conf *c, const char *path, const char **error_r);
/* The same for text in memory; `name` stands for FILE in errors. */
int conf_parse(struct conf *c, const char *name, const char *text,
    size_t len, const char **error_r);
/* Frees the lists; c can be loaded again after conf_defaults(). */
void conf_free(struct conf *c);
/* Snapshots.  A running role's configuration is an immutable snapshot
 * on the heap, shared by reference: everything that starts a piece of
 * work (a session, a policy run, a queue job, a login) takes a reference
 * and keeps reading that snapshot until it is done, so a reload never
 * changes or frees what work in flight reads.  The counts are atomic:
 * worker threads take and drop references too.  A reload builds and
 * checks a whole new snapshot, then replaces the role's current pointer
 * in one step and drops the role's reference to the old one.
 *
 * conf_snapshot_load(): the defaults, then path, as a new snapshot with
 * one reference (*conf_r), or -1 with *error_r as for conf_load(). */
int conf_snapshot_load(const char *path, struct conf **conf_r,
    const char **error_r);
/* A new reference to snapshot c (returned for convenience).  A struct
 * conf that is not a snapshot (refs 0: the CLI's, a test's) is left
 * alone by both: its owner keeps it alive. */
const struct conf *conf_ref(const struct conf *c);
/* Drops the reference *cp (NULL: nothing) and sets it to NULL; the last
 * one frees the snapshot. */
void conf_unref(const struct conf **cp);

/* Resolves the path: -c FILE, else $FERRY_CONF, else the default. */
const char *conf_path(const char *opt);
/* "host:port" / "[v6]:port" / ":port" parser; 0 or -1. */
int conf_listen_parse(const char *s, struct conf_listen *l);
/* True when l's host is a loopback address (127.0.0.0/8, ::1) or
 * "localhost". */
bool conf_listen_loopback(const struct conf_listen *l);

/* Derived paths inside state_dir, written into dst: 0 or -1 (too long). */
int conf_state_path(const struct conf *c, char *dst, size_t size,
    const char *rel);
/* The store's path for store_open(): the store key (a postgresql://
 * URI) when set, else state_dir/ferry.db; 0 or -1 (too long). */
int conf_store_path(const struct conf *c, char *dst, size_t size);
/* True when the store is one several nodes may share (PostgreSQL). */
bool conf_store_shared(const struct conf *c);
/* The maildrop directory (maildrop_dir, else state_dir/maildrop) into
 * dst: 0 or -1 (too long). */
int conf_maildrop_path(const struct conf *c, char *dst, size_t size);

#endif
