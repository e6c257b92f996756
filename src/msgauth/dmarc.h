/* DMARC (RFC 7489): the policy record, the organizational domain and
 * identifier alignment.  No I/O except dmarc_psl_load() reading the public
 * suffix list; the policy lookup and what is done with a message are in
 * src/smtp/smtp_dmarc.c (docs/dmarc.md).
 *
 * The record parser is exported for the unit tests and the fuzzer. */
#ifndef FERRY_DMARC_H
#define FERRY_DMARC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMARC_URIS_MAX 8	/* rua/ruf URIs kept; more are ignored */
#define DMARC_URI_MAX 255	/* octets of one URI; longer: not valid */

enum dmarc_policy {
	DMARC_P_NONE = 0,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT
};

enum dmarc_align {
	DMARC_A_RELAXED = 0,
	DMARC_A_STRICT
};

/* fo= options, as bits. */
#define DMARC_FO_0 0x01		/* report when all mechanisms fail */
#define DMARC_FO_1 0x02		/* report when any mechanism fails */
#define DMARC_FO_D 0x04		/* report DKIM failures */
#define DMARC_FO_S 0x08		/* report SPF failures */

struct dmarc_uri {
	char uri[DMARC_URI_MAX + 1];
	uint64_t max_size;	/* from "!SIZE[kmgt]", 0: no limit given */
};

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;		/* p when sp= is absent */
	bool p_from_rua;		/* p= bad or missing, taken as none (6.6.3) */
	unsigned pct;			/* 0..100, default 100 */
	enum dmarc_align adkim, aspf;	/* default relaxed */
	unsigned fo;			/* DMARC_FO_*, default DMARC_FO_0 */
	uint32_t ri;			/* seconds, default 86400 */
	struct dmarc_uri rua[DMARC_URIS_MAX], ruf[DMARC_URIS_MAX];
	size_t n_rua, n_ruf;
	/* The first tag with a bad value that was ignored (its default
	 * used), for the log; "" when none. */
	char warning[80];
};

/* Parses one TXT record (its strings joined).  RFC 7489 section 6.3 and
 * 6.4: "v=DMARC1" must be the first tag; tag names are case-insensitive,
 * unknown tags ignored; a tag given twice or a broken tag-list is an
 * error.  A missing or bad p= (or a bad sp=) makes the record an error
 * unless rua= has a valid URI, in which case p (and sp) are none and
 * p_from_rua is set (6.6.3 step 6).  Bad pct, adkim, aspf, fo, ri, rua
 * or ruf values are ignored (defaults kept, rec->warning says which).
 * 0, or -1 with the reason in err (always NUL-terminated). */
int dmarc_record_parse(const char *s, size_t len, struct dmarc_record *rec,
    char *err, size_t errsize);
/* Whether a TXT record is a DMARC record at all (starts with "v=DMARC1"
 * followed by FWS, ';' or the end), for record selection (6.6.3). */
bool dmarc_is_dmarc(const char *s, size_t len);
const char *dmarc_policy_name(enum dmarc_policy p);

/* ------------------------------------------------ public suffix list */

struct dmarc_psl;

/* Reads the public suffix list (the publicsuffix.org format: one rule a
 * line, "//" comments, "*." wildcards, "!" exceptions).  Rules are kept
 * lowercase in one sorted block.  0, or -1 with error_r (static or
 * strerror text). */
int dmarc_psl_load(const char *path, struct dmarc_psl **psl_r,
    const char **error_r);
/* The same from a buffer; never fails for content (bad lines are skipped);
 * NULL only when the list has more than 16 MiB. */
struct dmarc_psl *dmarc_psl_from_buf(const char *buf, size_t len);
void dmarc_psl_free(struct dmarc_psl *psl);
size_t dmarc_psl_count(const struct dmarc_psl *psl);

/* The organizational domain of name (RFC 7489 3.2): the public suffix
 * (the longest matching rule, an exception rule winning, "*" when none
 * matches) plus one label, written lowercase without a trailing dot into
 * dst.  A name that is itself a public suffix is its own organizational
 * domain.  0, or -1 when name is not a domain name (empty label, over
 * 253 octets) or dst is too small.  psl NULL: the implicit "*" rule only. */
int dmarc_org_domain(const struct dmarc_psl *psl, const char *name,
    char *dst, size_t dstsize);

/* Identifier alignment (RFC 7489 3.1): strict, the two names are equal
 * (ignoring case and a trailing dot); relaxed, their organizational
 * domains are equal. */
bool dmarc_aligned(const struct dmarc_psl *psl, const char *from_domain,
    const char *auth_domain, enum dmarc_align mode);

/* ------------------------------------------------------- evaluation */

/* What SPF and DKIM authenticated, for dmarc_evaluate(). */
struct dmarc_auth {
	const char *spf_domain;		/* MAIL FROM domain; NULL: SPF not pass */
	const char *const *dkim_domains; /* d= of each passing signature */
	size_t n_dkim;
};

struct dmarc_outcome {
	bool pass;			/* an aligned SPF or DKIM pass */
	bool spf_aligned, dkim_aligned;
	const char *dkim_domain;	/* the aligned d=, or NULL */
	/* What the policy asks for a failure (pass: always none): p=, or
	 * sp= when the record is the organizational domain's and the From
	 * domain is below it; one step lower (reject to quarantine,
	 * quarantine to none) when pct= did not sample the message
	 * (6.6.4). */
	enum dmarc_policy disposition;
	bool sampled_out;		/* pct= lowered the disposition */
};

/* RFC 7489 4.2 and 6.6: the message whose From: domain is from_domain
 * passes when an authenticated identifier aligns under adkim=/aspf=.
 * record_domain is where rec was found (the From domain or its
 * organizational domain); sample is uniform in 0..99 (the caller's
 * random draw, so this stays deterministic). */
void dmarc_evaluate(const struct dmarc_psl *psl,
    const struct dmarc_record *rec, const char *from_domain,
    const char *record_domain, const struct dmarc_auth *auth,
    unsigned sample, struct dmarc_outcome *out);

#endif
