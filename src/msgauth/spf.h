/* SPF: RFC 7208 check_host(), asynchronous, on top of net/dns.h.
 *
 * spf_check_start() evaluates the SPF policy of a domain for a client IP
 * address: record selection (section 4.5), every mechanism with its
 * qualifier (section 5: all, include, a, mx, ptr, ip4, ip6, exists), the
 * redirect= and exp= modifiers (section 6), the macro language (section
 * 7), the processing limits (section 4.6.4: 10 terms that query DNS, 2
 * void lookups, 10 address lookups per mx and ptr) and the results of
 * section 2.6.  The callback never runs inline, and not at all after
 * spf_check_abort().
 *
 * The record and macro parsers below do no I/O; they are exported for
 * the unit tests and the fuzzer. */
#ifndef FERRY_SPF_H
#define FERRY_SPF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/fbuf.h"

struct dns;
struct event_base;
struct spf_check;

enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

#define SPF_LOOKUP_MAX 10	/* terms that query DNS (4.6.4) */
#define SPF_VOID_MAX 2		/* void lookups (4.6.4) */
#define SPF_NAMES_MAX 10	/* MX or PTR names looked up (4.6.4) */
#define SPF_TIME_MAX_SEC 20	/* whole evaluation (4.6.4) */
#define SPF_DOMAIN_MAX 253	/* expanded names are cut to this (7.3) */
#define SPF_EXPAND_MAX 8192	/* macro expansions are cut to this */

/* ---------------------------------------------------------- evaluation */

struct spf_request {
	struct sockaddr_storage ip;	/* the client; IPv4-mapped is IPv4 */
	const char *sender;		/* MAIL FROM, "" for the null path */
	const char *helo;		/* HELO/EHLO argument */
	const char *receiver;		/* %{r}; NULL: "unknown" */
	time_t now;			/* %{t}; 0: time(NULL) */
};

/* Valid only during the callback. */
struct spf_answer {
	enum spf_result result;
	const char *identity;		/* "mailfrom" or "helo" */
	const char *sender;		/* <sender> as checked */
	const char *domain;		/* <domain> checked, "" when none */
	const char *mechanism;		/* term that decided at the top level
					 * ("-all", "include:x.example"),
					 * "default", or "" */
	const char *path;		/* how the deciding term was reached:
					 * "a.example: include:b.example >
					 * b.example: ip4:192.0.2.0/24"; "" */
	const char *problem;		/* temperror/permerror: why; else "" */
	const char *explanation;	/* fail: the exp= text, "" when none */
	unsigned lookups;		/* DNS terms evaluated */
	unsigned void_lookups;
};

/* The answer, then the check's handle is freed: never abort it there. */
typedef void spf_cb(const struct spf_answer *a, void *ctx);

/* check_host(ip, domain, sender) for the MAIL FROM identity, or for the
 * HELO identity ("postmaster@HELO") when sender is "".  Never NULL. */
struct spf_check *spf_check_start(struct event_base *base, struct dns *dns,
    const struct spf_request *req, spf_cb *cb, void *ctx);
/* Cancels; the callback will not run.  Sets *cp to NULL. */
void spf_check_abort(struct spf_check **cp);

const char *spf_result_str(enum spf_result r);

/* Appends the Received-SPF header field of 9.1 for an answer: result,
 * comment, then client-ip, envelope-from (mailfrom only), helo, receiver,
 * identity, mechanism and problem; folded, CRLF-ended.  ip is the client
 * as text; helo and receiver may be "" (then left out).  Peer-supplied
 * text is reduced to printable ASCII and quoted.  0, or -1 when out is
 * full. */
int spf_received_spf(struct fbuf *out, const struct spf_answer *a,
    const char *ip, const char *helo, const char *receiver);

/* ---------------------------------------------------------- parsing */

enum spf_term_kind {
	SPF_T_ALL, SPF_T_INCLUDE, SPF_T_A, SPF_T_MX, SPF_T_PTR, SPF_T_IP4,
	SPF_T_IP6, SPF_T_EXISTS, SPF_T_REDIRECT, SPF_T_EXP, SPF_T_UNKNOWN_MOD
};

struct spf_term {
	enum spf_term_kind kind;
	enum spf_result qualifier;	/* mechanisms: PASS, FAIL, ... */
	const char *text;		/* the whole term, NUL-ended */
	const char *arg;		/* domain-spec / macro-string / net */
	size_t arglen;			/* 0: none (a, mx, ptr: <domain>) */
	int cidr4, cidr6;		/* prefix lengths, -1 when absent */
	uint8_t net[16];		/* ip4 (4 octets) / ip6 network */
};

struct spf_record {
	char *buf;			/* the terms, NUL-separated */
	struct spf_term *terms;
	size_t n;
	int redirect, exp;		/* index in terms, or -1 */
};

/* True when txt (len octets) is an SPF record: "v=spf1" (any case)
 * followed by a space or the end (4.5). */
bool spf_record_is_spf(const char *txt, size_t len);
/* Parses a record that spf_record_is_spf() accepted.  0, or -1 with a
 * message in err (a syntax error: permerror, 4.6).  Free with
 * spf_record_free() either way. */
int spf_record_parse(const char *txt, size_t len, struct spf_record *rec,
    char *err, size_t errsize);
void spf_record_free(struct spf_record *rec);

/* Where a macro-string is used: a domain-spec (and unknown modifiers)
 * may not use c, r, t; explanation text may, and may contain spaces. */
enum spf_macro_use { SPF_MACRO_DOMAIN, SPF_MACRO_EXP };

/* Syntax of a macro-string (7.1); 0 or -1. */
int spf_macro_check(const char *s, size_t len, enum spf_macro_use use);
/* Syntax of a domain-spec: a macro-string ending in a macro or in
 * "." toplabel ["."] (7.1); 0 or -1. */
int spf_domain_spec_check(const char *s, size_t len);
/* True when the macro-string uses %{p} (needs DNS first). */
bool spf_macro_uses_p(const char *s, size_t len);

/* What the macros expand to (7.3); every string NUL-ended. */
struct spf_macro_env {
	const char *s, *l, *o, *d, *h;
	const char *i;			/* dotted quad / dotted nibbles */
	const char *c;			/* printable address */
	const char *v;			/* "in-addr" / "ip6" */
	const char *p;			/* validated name; NULL: "unknown" */
	const char *r;			/* receiver; NULL: "unknown" */
	time_t t;
};

/* Appends the expansion of s to out.  0, or -1 on a syntax error (out
 * unchanged): exactly when spf_macro_check() fails.  Length is no error:
 * at most SPF_EXPAND_MAX octets (or what out's max leaves) are kept, the
 * right-hand end of a name (7.3 cuts names on the left), the start of an
 * explanation. */
int spf_macro_expand(const char *s, size_t len, enum spf_macro_use use,
    const struct spf_macro_env *env, struct fbuf *out);
/* A domain-spec expanded for a query: trailing dot removed, cut on the
 * left to SPF_DOMAIN_MAX octets by whole labels (7.3).  0 or -1. */
int spf_expand_domain(const char *s, size_t len,
    const struct spf_macro_env *env, char *dst, size_t size);
/* %{i}, %{c} and %{v} of an address ("1.2.0.192"-style reversal is the
 * caller's "ir").  0 or -1 when the family is neither IPv4 nor IPv6. */
int spf_ip_strings(const struct sockaddr *sa, char *i, size_t isize,
    char *c, size_t csize, const char **v);

#endif
