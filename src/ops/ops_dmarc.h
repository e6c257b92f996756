/* DMARC aggregate reports (RFC 7489 section 7.2) as operations: the
 * results the SMTP server recorded (store.h, dmarc_results) grouped per
 * policy domain and period, the XML report, the rua= mailto: addresses
 * and whether they need the external destination check of 7.1, and the
 * report mail (gzip attachment) queued for the relay.  Each report is
 * marked sent in the store, so that a second run for the same period
 * sends nothing.  No DNS here: the caller asks it (cmd_dmarc.c). */
#ifndef FERRY_OPS_DMARC_H
#define FERRY_OPS_DMARC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"

struct dmarc_psl;
struct fbuf;
struct ops_ctx;

/* One <record>: the messages with the same source and results. */
struct ops_dmarc_rec {
	char source_ip[64];
	unsigned count;
	char disposition[16];
	char reason[32];
	bool dkim_aligned, spf_aligned;
	char header_from[256];
	char envelope_from[256];
	char spf_domain[256];
	char spf_result[16];
	char dkim[1024];		/* "d:s:result" items */
};

struct ops_dmarc_report {
	char domain[256];		/* the policy domain */
	char p[16], sp[16], adkim[2], aspf[2];
	unsigned pct;
	char rua[1024];			/* as last seen, comma-separated */
	int64_t begin, end;		/* the period: begin <= at < end */
	char report_id[600];
	bool sent;			/* sent by an earlier run */
	unsigned messages;
	struct ops_dmarc_rec *v;
	size_t n;
};

struct ops_dmarc_reports {
	struct ops_dmarc_report *v;
	size_t n;
};

/* The UTC day of date ("YYYY-MM-DD"; NULL: yesterday of now) as
 * [*begin, *end).  -1 with OPS_EINVAL. */
int ops_dmarc_period(const char *date, int64_t now, int64_t *begin,
    int64_t *end, struct ops_status *st);
/* The reports of the period (admin only), one per policy domain (only
 * domain when not NULL).  Free with ops_dmarc_reports_free(). */
int ops_dmarc_collect(const struct ops_ctx *c, int64_t begin, int64_t end,
    const char *domain, const char *hostname, struct ops_dmarc_reports *out,
    struct ops_status *st);
void ops_dmarc_reports_free(struct ops_dmarc_reports *r);

/* One rua= URI: "mailto:ADDR[!SIZE]" gives the address (lowercase
 * domain, %-escapes decoded, nothing but a plain addr-spec accepted)
 * and its size limit in octets (0: none).  0, or -1 when it is not a
 * mailto: URI Ferry can send to. */
int ops_dmarc_mailto(const char *uri, char *addr, size_t size,
    uint64_t *max_r);
/* Whether mail to addr needs the external destination check (7.1): its
 * domain's organizational domain is not the policy domain's. */
bool ops_dmarc_external(const struct dmarc_psl *psl, const char *policy_domain,
    const char *addr);

/* The XML aggregate report. */
void ops_dmarc_xml(const struct ops_dmarc_report *r, const char *org,
    const char *email, struct fbuf *out);
/* gzip (RFC 1952) of data into out: 0 or -1. */
int ops_dmarc_gzip(const void *data, size_t len, struct fbuf *out);

/* Queues the report mail from `from` to rcpts (remote delivery) and
 * marks the report sent.  id_r: the queue id.  -1 with OPS_EFAIL. */
int ops_dmarc_send(const struct ops_ctx *c, const struct ops_dmarc_report *r,
    const char *const *rcpts, size_t n, const char *from, const char *org,
    const char *hostname, char *id_r, size_t id_size, struct ops_status *st);

#endif
