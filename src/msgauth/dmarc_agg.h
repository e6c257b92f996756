/* Incoming DMARC aggregate reports (RFC 7489 section 7.2, Appendix C):
 * the attachment unpacked (gzip, or a zip archive of one file, with the
 * output bounded against bombs), the XML read by a small strict reader
 * of that one schema, and the report attachments found in a mail (MIME,
 * src/mime/).  No I/O and no DNS: the queue role and `ferry dmarc
 * import` store what comes out (ops/ops_dmarc_in.h).  Exported for the
 * unit tests and the fuzzers. */
#ifndef FERRY_DMARC_AGG_H
#define FERRY_DMARC_AGG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fbuf;

#define DMARC_AGG_XML_MAX (16u << 20)	/* octets of XML, unpacked */
#define DMARC_AGG_RECS_MAX 20000	/* <record>s of one report */
#define DMARC_AGG_AUTH_MAX 8		/* auth_results kept per record */

struct dmarc_agg_auth {
	char domain[256];
	char selector[64];		/* dkim only */
	char result[16];
};

/* One <record>.  Strings are the report's text with entities decoded:
 * any octet but NUL may be there, print them escaped. */
struct dmarc_agg_rec {
	char source_ip[64];		/* checked: an IPv4 or IPv6 address */
	uint64_t count;
	char disposition[16];		/* none, quarantine, reject */
	char dkim[8], spf[8];		/* policy_evaluated: pass, fail */
	char reason[64];		/* the first reason/type, or "" */
	char header_from[256];
	char envelope_from[256];	/* "" when absent */
	struct dmarc_agg_auth dkim_auth[DMARC_AGG_AUTH_MAX];
	struct dmarc_agg_auth spf_auth[DMARC_AGG_AUTH_MAX];
	unsigned ndkim, nspf;
};

struct dmarc_agg {
	char org_name[256];
	char email[256];
	char report_id[256];
	int64_t begin, end;		/* date_range, seconds since 1970 */
	char domain[256];		/* policy_published, lowercase */
	char p[16], sp[16], adkim[4], aspf[4];
	unsigned pct;			/* 100 when absent */
	struct dmarc_agg_rec *recs;
	size_t nrecs;
};

/* Reads one aggregate report from xml[0..len).  0, or -1 with *error_r
 * (a static string) for input that is not well-formed XML in the
 * subset reports use (no DOCTYPE, so no entity expansion), over the
 * limits, or not the schema (root <feedback>; org_name, report_id,
 * date_range, policy_published/domain and each record's source_ip,
 * count, policy_evaluated and header_from are required).  Unknown
 * elements are skipped.  Free with dmarc_agg_free() either way. */
int dmarc_agg_parse(const char *xml, size_t len, struct dmarc_agg *out,
    const char **error_r);
void dmarc_agg_free(struct dmarc_agg *a);

enum dmarc_agg_kind {
	DMARC_AGG_XML,
	DMARC_AGG_GZIP,
	DMARC_AGG_ZIP
};

/* Unpacks data[0..len) of kind onto out (appended), at most max
 * octets: 0, or -1 with *error_r ("output over the limit", "truncated",
 * "not a zip archive", ...).  A zip archive must hold one file, stored
 * or deflated; its size, CRC and the gzip trailer are checked. */
int dmarc_agg_unpack(enum dmarc_agg_kind kind, const void *data, size_t len,
    size_t max, struct fbuf *out, const char **error_r);
/* The kind data looks like by its first octets (gzip and zip magic),
 * else XML. */
enum dmarc_agg_kind dmarc_agg_sniff(const void *data, size_t len);

/* Calls cb with the content of every part of msg[0..len) that carries a
 * report: application/gzip, application/x-gzip, application/zip,
 * application/x-zip-compressed, text/xml, application/xml, or
 * application/octet-stream named *.xml, *.xml.gz, *.gz or *.zip;
 * transfer-decoded but still packed (see kind).  Returns how many parts
 * were found. */
typedef void dmarc_agg_part_cb(void *ctx, enum dmarc_agg_kind kind,
    const void *data, size_t len);
unsigned dmarc_agg_mail_parts(const void *msg, size_t len,
    dmarc_agg_part_cb *cb, void *ctx);

/* Whether a Subject value is a report's (RFC 7489 7.2.1.1: it begins
 * "Report Domain:", in any case). */
bool dmarc_agg_subject(const char *v, size_t len);

#endif
