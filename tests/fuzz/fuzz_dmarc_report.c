/* libFuzzer target for the DMARC aggregate report pieces
 * (src/ops/ops_dmarc_fmt.c): rua= mailto: URIs and the XML writer.  The
 * first input octet picks which.  Checked: an accepted address has one
 * '@' with text on both sides and nothing that could break an envelope
 * (white space, controls, '<', '>', ',', ':', quotes); the XML made of
 * arbitrary field values stays printable ASCII with as many '<' as '>',
 * since every value is escaped; its gzip is a gzip stream.
 * FUZZ_SOURCES: src/ops/ops_dmarc_fmt.c src/msgauth/dmarc.c src/msgauth/dkim_tag.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "ops/ops_dmarc.h"

static void
fuzz_mailto(const char *s)
{
	char addr[320];
	uint64_t max;
	const char *at;

	if (ops_dmarc_mailto(s, addr, sizeof(addr), &max) < 0)
		return;
	at = strchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		abort();
	for (const char *p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("<>,:\"\\;?", *p) != NULL)
			abort();
}

/* The next NUL-separated piece of the input into dst. */
static const char *
fuzz_piece(const char *p, const char *end, char *dst, size_t size)
{
	size_t n = 0;

	while (p < end && *p != '\0') {
		if (n + 1 < size)
			dst[n++] = *p;
		p++;
	}
	dst[n] = '\0';
	return p < end ? p + 1 : p;
}

static void
fuzz_xml(const char *p, const char *end)
{
	struct ops_dmarc_rec rec;
	struct ops_dmarc_report r;
	struct fbuf xml, gz;
	char org[64], email[64];
	size_t lt = 0, gt = 0;

	memset(&rec, 0, sizeof(rec));
	memset(&r, 0, sizeof(r));
	p = fuzz_piece(p, end, r.domain, sizeof(r.domain));
	p = fuzz_piece(p, end, r.report_id, sizeof(r.report_id));
	p = fuzz_piece(p, end, rec.header_from, sizeof(rec.header_from));
	p = fuzz_piece(p, end, rec.dkim, sizeof(rec.dkim));
	p = fuzz_piece(p, end, rec.reason, sizeof(rec.reason));
	p = fuzz_piece(p, end, org, sizeof(org));
	(void)fuzz_piece(p, end, email, sizeof(email));
	rec.count = 1;
	r.v = &rec;
	r.n = 1;
	fbuf_init(&xml, 0);
	ops_dmarc_xml(&r, org, email, &xml);
	for (size_t i = 0; i < xml.len; i++) {
		unsigned char ch = (unsigned char)xml.data[i];

		if ((ch < 0x20 && ch != '\n') || ch >= 0x7f)
			abort();
		lt += ch == '<';
		gt += ch == '>';
	}
	if (lt != gt)
		abort();
	fbuf_init(&gz, 0);
	if (ops_dmarc_gzip(xml.data, xml.len, &gz) < 0 || gz.len < 18 ||
	    (unsigned char)gz.data[0] != 0x1f)
		abort();
	fbuf_release(&gz);
	fbuf_release(&xml);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		fuzz_xml(s, s + size - 1);
	else
		fuzz_mailto(s);
	free(s);
	return 0;
}
