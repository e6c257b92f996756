/* libFuzzer target for the XML reader of incoming DMARC aggregate
 * reports (src/msgauth/dmarc_agg.c).  Checked: a report accepted has
 * its required fields, a valid period and records that passed the
 * schema's checks (a source address, a count, the policy words), and
 * reading is the same twice (no state kept between calls).
 * FUZZ_SOURCES: src/msgauth/dmarc_agg.c src/lib */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msgauth/dmarc_agg.h"

static void
fuzz_check(const struct dmarc_agg *a)
{
	unsigned char ip[16];

	if (a->org_name[0] == '\0' || a->report_id[0] == '\0' ||
	    a->domain[0] == '\0' || a->begin > a->end || a->pct > 100)
		abort();
	for (size_t i = 0; i < a->nrecs; i++) {
		const struct dmarc_agg_rec *r = &a->recs[i];

		if (r->count == 0 || r->header_from[0] == '\0' ||
		    (inet_pton(AF_INET, r->source_ip, ip) != 1 &&
		    inet_pton(AF_INET6, r->source_ip, ip) != 1) ||
		    (strcmp(r->dkim, "pass") != 0 &&
		    strcmp(r->dkim, "fail") != 0) ||
		    r->ndkim > DMARC_AGG_AUTH_MAX ||
		    r->nspf > DMARC_AGG_AUTH_MAX)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_agg a, b;
	const char *e1 = NULL, *e2 = NULL;
	int r1, r2;

	r1 = dmarc_agg_parse((const char *)data, size, &a, &e1);
	r2 = dmarc_agg_parse((const char *)data, size, &b, &e2);
	if (r1 != r2 || a.nrecs != b.nrecs || (r1 < 0 && e1 == NULL))
		abort();
	if (r1 == 0)
		fuzz_check(&a);
	dmarc_agg_free(&a);
	dmarc_agg_free(&b);
	return 0;
}
