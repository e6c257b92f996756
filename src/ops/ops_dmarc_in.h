/* DMARC aggregate reports received for hosted domains (RFC 7489 7.2):
 * taking them in from a mail or a file (the queue role at local
 * delivery, `ferry dmarc import`), and the summary per source that
 * `ferry dmarc reports DOMAIN` shows.  A report is stored only when its
 * policy domain (or a parent of it) is hosted here; the same report
 * (org and report id) is stored once.  Parsing is msgauth/dmarc_agg.h;
 * nothing here prints. */
#ifndef FERRY_OPS_DMARC_IN_H
#define FERRY_OPS_DMARC_IN_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"

struct ops_ctx;
struct store;

/* What became of one report attachment or file. */
enum ops_dmarc_in_fate {
	OPS_DIN_STORED,
	OPS_DIN_DUPLICATE,	/* that org's report id was there */
	OPS_DIN_NOT_HOSTED,	/* its policy domain is not hosted here */
	OPS_DIN_BAD,		/* not unpacked or not a report: error */
	OPS_DIN_FAILED		/* the store failed: error */
};

struct ops_dmarc_in_item {
	enum ops_dmarc_in_fate fate;
	char error[128];
	char org[256], report_id[256], domain[256];
	size_t records;
	uint64_t messages;
};

struct ops_dmarc_in_result {
	struct ops_dmarc_in_item *v;	/* one per report part found */
	size_t n;
};

/* Takes in every report attached to the mail msg[0..len), or, when raw,
 * msg is one report file (XML, gzip or zip).  lock (NULL: none) is held
 * around each use of s, which is shared by the queue's threads.  now
 * bounds report periods (none ends in the future).  Free res with
 * ops_dmarc_in_result_free(). */
void ops_dmarc_in_take(struct store *s, pthread_mutex_t *lock,
    const void *msg, size_t len, bool raw, int64_t now,
    struct ops_dmarc_in_result *res);
void ops_dmarc_in_result_free(struct ops_dmarc_in_result *res);
/* The fate as a word: "stored", "duplicate", "not-hosted", "bad",
 * "failed". */
const char *ops_dmarc_in_fate_name(enum ops_dmarc_in_fate f);

/* ---- the summary ---- */

#define OPS_DMARC_SRC_ORGS 8	/* reporters named per source */

/* One source address over the reports read. */
struct ops_dmarc_src {
	char ip[64];
	uint64_t messages, pass, fail;	/* DMARC: dkim or spf aligned pass */
	uint64_t dkim_pass, spf_pass;
	uint64_t none, quarantine, reject;	/* dispositions */
	char header_from[256];		/* the first seen */
	unsigned orgs[OPS_DMARC_SRC_ORGS];	/* reporters: in sum->orgs */
	unsigned norgs;
};

struct ops_dmarc_org {
	char name[256];
	unsigned reports;
	uint64_t messages;
};

struct ops_dmarc_summary {
	char domain[256];
	int64_t since;
	int64_t first, last;		/* earliest begin, latest end */
	unsigned reports;
	uint64_t messages, pass, fail;
	struct ops_dmarc_src *src;	/* failing sources first */
	size_t nsrc;
	struct ops_dmarc_org *orgs;	/* in order of first report */
	size_t norgs;
};

/* The reports of domain (admin only) whose period ends within the last
 * days days before now.  -1 with OPS_EFAIL.  Free with
 * ops_dmarc_summary_free(). */
int ops_dmarc_summary(const struct ops_ctx *c, const char *domain,
    unsigned days, int64_t now, struct ops_dmarc_summary *out,
    struct ops_status *st);
void ops_dmarc_summary_free(struct ops_dmarc_summary *sum);

/* Deletes what is older than keep seconds before now (store.h,
 * store_dmarc_prune()).  0 or -1 with *error_r. */
int ops_dmarc_prune(struct store *s, int64_t now, uint64_t keep,
    unsigned *in_r, unsigned *results_r, unsigned *sent_r,
    const char **error_r);

#endif
