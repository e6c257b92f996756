/* libFuzzer target for the DMARC record parser, the public suffix list
 * reader and the organizational-domain and alignment functions
 * (src/msgauth/dmarc.c; RFC 7489 3.1, 3.2, 6.3, 6.4).  The first input
 * octet picks how the rest is read.  Checked: a parsed record is a DMARC
 * record, its values are in range and its URIs are NUL-terminated,
 * bounded and free of white space, ',' and ';'; a failed parse gives a
 * reason; an organizational domain is a lowercase suffix of the name, on
 * a label boundary; strict alignment implies relaxed alignment; an
 * evaluation that passes asks for no disposition.
 * FUZZ_SOURCES: src/msgauth/dmarc.c src/msgauth/dkim_tag.c src/lib */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgauth/dmarc.h"

static const char fuzz_psl_text[] =
	"com\nuk\nco.uk\njp\n*.kawasaki.jp\n!city.kawasaki.jp\n*.ck\n"
	"!www.ck\ngithub.io\n";

static void
fuzz_dmarc_uris(const struct dmarc_uri *u, size_t n)
{
	if (n > DMARC_URIS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(u[i].uri, sizeof(u[i].uri));

		if (len == 0 || len > DMARC_URI_MAX ||
		    strpbrk(u[i].uri, " \t\r\n,;!") != NULL ||
		    strchr(u[i].uri, ':') == NULL)
			abort();
	}
}

/* A parsed record through dmarc_evaluate(): a pass asks for nothing; a
 * failure asks for at most the policy that applies. */
static void
fuzz_dmarc_eval(const struct dmarc_record *rec, size_t len)
{
	const char *doms[] = { "mail.example.com", "example.net" };
	struct dmarc_auth a = { NULL, doms, len % 3 };
	struct dmarc_outcome o;
	const char *from = len % 2 ? "example.com" : "sub.example.com";

	a.spf_domain = len % 5 == 0 ? "bounce.example.com" : NULL;
	dmarc_evaluate(NULL, rec, from, "example.com", &a,
	    (unsigned)(len % 100), &o);
	if (o.pass != (o.spf_aligned || o.dkim_aligned) ||
	    (o.pass && o.disposition != DMARC_P_NONE) ||
	    o.disposition > (len % 2 ? rec->p : rec->sp))
		abort();
}

static void
fuzz_dmarc_record(const char *s, size_t len)
{
	struct dmarc_record rec;
	char err[120];

	if (dmarc_record_parse(s, len, &rec, err, sizeof(err)) == 0) {
		if (!dmarc_is_dmarc(s, len) || rec.pct > 100 ||
		    rec.p > DMARC_P_REJECT || rec.sp > DMARC_P_REJECT ||
		    rec.adkim > DMARC_A_STRICT || rec.aspf > DMARC_A_STRICT ||
		    (rec.fo & ~0x0fu) != 0 || rec.fo == 0 ||
		    (rec.p_from_rua && rec.n_rua == 0) ||
		    strnlen(rec.warning, sizeof(rec.warning)) ==
		    sizeof(rec.warning))
			abort();
		fuzz_dmarc_uris(rec.rua, rec.n_rua);
		fuzz_dmarc_uris(rec.ruf, rec.n_ruf);
		fuzz_dmarc_eval(&rec, len);
	} else if (err[0] == '\0' || strnlen(err, sizeof(err)) ==
	    sizeof(err))
		abort();
}

static void
fuzz_dmarc_org(const struct dmarc_psl *psl, const char *name)
{
	char org[254];
	size_t nlen = strlen(name), olen;

	if (dmarc_org_domain(psl, name, org, sizeof(org)) < 0)
		return;
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	olen = strlen(org);
	if (olen == 0 || olen > nlen ||
	    strncasecmp(name + nlen - olen, org, olen) != 0 ||
	    (olen < nlen && name[nlen - olen - 1] != '.'))
		abort();
	for (size_t i = 0; i < olen; i++)
		if (isupper((unsigned char)org[i]))
			abort();
	if (!dmarc_aligned(psl, name, org, DMARC_A_RELAXED))
		abort();
	if (dmarc_aligned(psl, name, name, DMARC_A_STRICT) &&
	    !dmarc_aligned(psl, name, name, DMARC_A_RELAXED))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_psl *psl;
	char *s, *name;

	if (size == 0)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	name = malloc(size);
	memcpy(name, data + 1, size - 1);
	name[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_dmarc_record(s, size - 1);
		break;
	case 1:
		psl = dmarc_psl_from_buf(fuzz_psl_text,
		    sizeof(fuzz_psl_text) - 1);
		fuzz_dmarc_org(psl, name);
		dmarc_psl_free(psl);
		break;
	default:
		/* The input is the list; look its own lines up in it. */
		psl = dmarc_psl_from_buf(s, size - 1);
		for (char *line = strtok(name, "\n"); line != NULL;
		    line = strtok(NULL, "\n"))
			fuzz_dmarc_org(psl, line);
		fuzz_dmarc_org(psl, "a.b.c.example.co.uk");
		dmarc_psl_free(psl);
	}
	free(s);
	free(name);
	return 0;
}
