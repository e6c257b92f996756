/* Content-Transfer-Encoding decoders (RFC 2045 section 6.7, 6.8) that
 * keep their state between calls, so a body can be decoded as it
 * streams by in any chunking.  Both are tolerant: octets that do not
 * belong are skipped (base64) or kept as written (quoted-printable),
 * and `bad` says so.  Quoted-printable works a line at a time: soft
 * line breaks ("=" at the end) join lines, and white space at the end
 * of a line is dropped (rule 3: a transport may have added it). */
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

enum mime_cte
mime_cte_from_name(const char *name)
{
	if (name == NULL)
		return MIME_CTE_7BIT;
	if (strcasecmp(name, "base64") == 0)
		return MIME_CTE_BASE64;
	if (strcasecmp(name, "quoted-printable") == 0)
		return MIME_CTE_QP;
	return MIME_CTE_7BIT;
}

void
mime_decoder_init(struct mime_decoder *d, enum mime_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
}

static void
mime_decode_b64(struct mime_decoder *d, const char *s, size_t n,
    struct fbuf *out)
{
	static signed char val[256];
	static bool ready;
	int x;

	if (!ready) {
		/* Benign race: every thread writes the same values. */
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/";

		memset(val, -1, sizeof(val));
		for (int i = 0; a[i] != '\0'; i++)
			val[(unsigned char)a[i]] = (signed char)i;
		ready = true;
	}
	for (size_t i = 0; i < n; i++) {
		x = val[(unsigned char)s[i]];
		if (x < 0) {
			if (s[i] == '=')
				d->nbits = 0;	/* padding: the group ends */
			else if (!mime_is_wsp(s[i]))
				d->bad = true;
			continue;
		}
		d->bits = (d->bits << 6) | (unsigned)x;
		d->nbits += 6;
		if (d->nbits >= 8) {
			d->nbits -= 8;
			fbuf_addc(out, (char)(d->bits >> d->nbits));
		}
		d->bits &= 0xff;
	}
}

/* Decodes one quoted-printable line s[0..n) (without its line end);
 * eol is the line end to write after it ("" for a piece of a long
 * line, which keeps its trailing white space). */
static void
mime_decode_qp_line(struct mime_decoder *d, const char *s, size_t n,
    const char *eol, bool last, struct fbuf *out)
{
	int h, l;

	if (eol[0] != '\0' || last)
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
	if ((eol[0] != '\0' || last) && n > 0 && s[n - 1] == '=') {
		n--;			/* soft line break */
		eol = "";
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n &&
		    (h = str_hexval(s[i + 1])) >= 0 &&
		    (l = str_hexval(s[i + 2])) >= 0) {
			fbuf_addc(out, (char)(h * 16 + l));
			i += 2;
		} else {
			if (s[i] == '=')
				d->bad = true;
			fbuf_addc(out, s[i]);
		}
	}
	fbuf_adds(out, eol);
}

/* A full line buffer: decode what cannot belong to an "=XX" or to
 * trailing white space, keep the rest. */
static void
mime_decode_qp_spill(struct mime_decoder *d, struct fbuf *out)
{
	size_t cut = d->nline;

	if (cut > 0 && d->line[cut - 1] == '\r')
		cut--;			/* maybe half a CRLF */
	while (cut > 0 && (d->line[cut - 1] == ' ' ||
	    d->line[cut - 1] == '\t'))
		cut--;
	for (size_t k = 1; k <= 2 && k <= cut; k++)
		if (d->line[cut - k] == '=') {
			cut -= k;
			break;
		}
	if (cut == 0)
		cut = d->nline;		/* all white space: give it up */
	mime_decode_qp_line(d, d->line, cut, "", false, out);
	memmove(d->line, d->line + cut, d->nline - cut);
	d->nline -= cut;
}

static void
mime_decode_qp(struct mime_decoder *d, const char *s, size_t n,
    struct fbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			bool cr = d->nline > 0 && d->line[d->nline - 1] == '\r';

			mime_decode_qp_line(d, d->line, d->nline - cr,
			    cr ? "\r\n" : "\n", false, out);
			d->nline = 0;
			continue;
		}
		if (d->nline == sizeof(d->line))
			mime_decode_qp_spill(d, out);
		d->line[d->nline++] = s[i];
	}
}

void
mime_decoder_feed(struct mime_decoder *d, const void *in, size_t n,
    struct fbuf *out)
{
	switch (d->cte) {
	case MIME_CTE_BASE64:
		mime_decode_b64(d, in, n, out);
		break;
	case MIME_CTE_QP:
		mime_decode_qp(d, in, n, out);
		break;
	case MIME_CTE_7BIT:
		fbuf_add(out, in, n);
		break;
	}
}

void
mime_decoder_finish(struct mime_decoder *d, struct fbuf *out)
{
	if (d->cte == MIME_CTE_QP && d->nline > 0)
		mime_decode_qp_line(d, d->line, d->nline, "", true, out);
	d->nline = 0;
	if (d->cte == MIME_CTE_BASE64 && d->nbits >= 6)
		d->bad = true;		/* a lone sextet */
	d->nbits = 0;
}
