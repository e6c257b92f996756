/* The "stale" verb's answer (queue_stale.h): written from the relay's
 * serve-stale cache (net/dns.c, dns_stale_peek) on the queue role's
 * loop, parsed by `ferry check mx`.  The parser trusts nothing: each
 * line is checked against the one form its type allows, names with
 * dns_name_valid(), addresses with cidr_addr_parse(). */
#include <string.h>

#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "net/dns.h"
#include "queue/queue_stale.h"

void
queue_stale_format(const struct dns_result *r, int type, struct fbuf *b)
{
	char addr[64];

	fbuf_addf(b, "age %llu\n", (unsigned long long)r->stale_age);
	if (r->status != DNS_OK) {
		fbuf_adds(b, "nodata\n");
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		if (type == DNS_T_MX)
			fbuf_addf(b, "mx %u %s\n", r->rr[i].pref,
			    r->rr[i].name[0] != '\0' ? r->rr[i].name : ".");
		else {
			cidr_addr_str((const struct sockaddr *)&r->rr[i].addr,
			    addr, sizeof(addr));
			fbuf_addf(b, "addr %s\n", addr);
		}
}

/* One record line (without "\n", NUL-ended) into *rr: 0 or -1. */
static int
queue_stale_rr_parse(char *line, int type, struct queue_stale_rr *rr)
{
	char *sp;
	uint64_t pref;

	memset(rr, 0, sizeof(*rr));
	if (type != DNS_T_MX)
		return strncmp(line, "addr ", 5) == 0 &&
		    cidr_addr_parse(line + 5, &rr->addr) == 0 &&
		    (rr->addr.ss_family == AF_INET) == (type == DNS_T_A) ? 0 :
		    -1;
	if (strncmp(line, "mx ", 3) != 0 || (sp = strchr(line + 3, ' ')) ==
	    NULL)
		return -1;
	*sp = '\0';
	if (str_parse_uint(line + 3, 0, 65535, &pref) < 0)
		return -1;
	rr->pref = (uint16_t)pref;
	if (strcmp(sp + 1, ".") == 0)
		return 0;	/* a null MX (RFC 7505) */
	if (!dns_name_valid(sp + 1) ||
	    str_lcpy(rr->name, sp + 1, sizeof(rr->name)) >= sizeof(rr->name))
		return -1;
	return 0;
}

int
queue_stale_parse(const char *body, size_t len, int type,
    struct queue_stale *out)
{
	char line[300];
	size_t pos = 0, k = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (body + pos)) : len - pos;

		if (n >= sizeof(line) || memchr(body + pos, '\0', n) != NULL)
			return -1;
		memcpy(line, body + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (k++ == 0) {
			if (strncmp(line, "age ", 4) != 0 ||
			    str_parse_uint(line + 4, 0, UINT64_MAX,
			    &out->age) < 0)
				return -1;
		} else if (strcmp(line, "nodata") == 0 && k == 2 && pos >= len)
			out->nodata = true;
		else if (out->n < QUEUE_STALE_MAX) {
			if (queue_stale_rr_parse(line, type,
			    &out->rr[out->n]) < 0)
				return -1;
			out->n++;
		}
	}
	return k > 0 ? 0 : -1;
}
