/* libFuzzer target for the answer of the queue control socket's "stale"
 * verb as `ferry check mx` reads it (src/queue/queue_stale.c).  The
 * first byte picks the type (MX, A, AAAA), the rest is the body.  An
 * accepted answer has at most QUEUE_STALE_MAX records, valid names and
 * addresses of the type asked, and reads back the same after being
 * written again (format, then parse).
 * FUZZ_SOURCES: src/queue/queue_stale.c src/net/dns.c src/net/dns_answers.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "net/dns.h"
#include "queue/queue_stale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_queue_stale_check(const struct queue_stale *a, int type)
{
	struct queue_stale *b = calloc(1, sizeof(*b));
	struct dns_result r;
	struct fbuf out;

	if (b == NULL)
		return;
	if (a->n > QUEUE_STALE_MAX)
		abort();
	memset(&r, 0, sizeof(r));
	r.status = a->nodata ? DNS_NODATA : DNS_OK;
	r.stale_age = a->age;
	r.n = a->n;
	r.rr = calloc(a->n > 0 ? a->n : 1, sizeof(*r.rr));
	if (r.rr == NULL)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		if (type != DNS_T_MX && a->rr[i].addr.ss_family !=
		    (type == DNS_T_A ? AF_INET : AF_INET6))
			abort();
		if (a->rr[i].name[0] != '\0' && !dns_name_valid(a->rr[i].name))
			abort();
		r.rr[i].pref = a->rr[i].pref;
		memcpy(r.rr[i].name, a->rr[i].name, sizeof(r.rr[i].name));
		r.rr[i].addr = a->rr[i].addr;
	}
	fbuf_init(&out, 0);
	queue_stale_format(&r, type, &out);
	if (queue_stale_parse(out.data, out.len, type, b) < 0 ||
	    b->n != a->n || b->nodata != a->nodata || b->age != a->age)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (b->rr[i].pref != a->rr[i].pref ||
		    strcmp(b->rr[i].name, a->rr[i].name) != 0 ||
		    (type != DNS_T_MX && memcmp(&b->rr[i].addr,
		    &a->rr[i].addr, sizeof(b->rr[i].addr)) != 0))
			abort();
	fbuf_release(&out);
	free(r.rr);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNS_T_MX, DNS_T_A, DNS_T_AAAA };
	struct queue_stale *a;
	int type;

	if (size < 1)
		return 0;
	type = types[data[0] % 3];
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return 0;
	if (queue_stale_parse((const char *)data + 1, size - 1, type, a) == 0)
		fuzz_queue_stale_check(a, type);
	free(a);
	return 0;
}
