/* SEARCH text matching (imap_match.h).  Header values are unfolded
 * (RFC 5322 section 2.2.3: CR and LF dropped), then compared as written
 * and, when they hold "=?", once more with their encoded words decoded
 * (RFC 2047 through mime_encword_decode), so that a client finds
 * "Müller" in "=?utf-8?q?M=C3=BCller?=" as it finds it in its own list.
 * Bodies are not decoded here (transfer encodings are SEARCH BODY's
 * business). */
#include <stdint.h>
#include <string.h>

#include "imap/imap_match.h"
#include "lib/fbuf.h"
#include "mime/mime.h"

/* The small letter of code point cp (U+0080 .. U+07FF), or cp. */
static uint32_t
imap_match_fold_cp(uint32_t cp)
{
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
	    (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	/* Latin Extended-A: capital and small letters alternate, capital
	 * first on even code points, except in two runs where the pairs
	 * start on odd ones (U+0130 .. U+0138 and U+0149 have no pair). */
	if ((cp >= 0x100 && cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) ||
	    (cp >= 0x14A && cp <= 0x177))
		return (cp & 1) == 0 ? cp + 1 : cp;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return (cp & 1) == 1 ? cp + 1 : cp;
	if (cp == 0x178)
		return 0xFF;
	return cp;
}

void
imap_match_fold(const char *s, size_t n, struct fbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		uint32_t cp;
		char u[2];

		if (c >= 'A' && c <= 'Z') {
			fbuf_addc(out, (char)(c + 32));
			continue;
		}
		/* A two-byte sequence (U+0080 .. U+07FF) holds every
		 * letter folded; its small letter is two bytes too. */
		if (c < 0xC2 || c > 0xDF || i + 1 >= n ||
		    (p[i + 1] & 0xC0) != 0x80) {
			fbuf_addc(out, (char)c);
			continue;
		}
		cp = imap_match_fold_cp(((uint32_t)(c & 0x1F) << 6) |
		    (p[i + 1] & 0x3F));
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		fbuf_add(out, u, 2);
		i++;
	}
}

static bool
imap_match_folded(const struct fbuf *hay, const struct fbuf *needle)
{
	return memmem(fbuf_str(hay), hay->len, fbuf_str(needle),
	    needle->len) != NULL;
}

bool
imap_match_header(const char *v, size_t len, const char *needle)
{
	struct fbuf n, un, h;
	bool hit;

	if (*needle == '\0')
		return true;
	fbuf_init(&n, 0);
	fbuf_init(&un, 0);
	fbuf_init(&h, 0);
	imap_match_fold(needle, strlen(needle), &n);
	for (size_t i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			fbuf_addc(&un, v[i]);
	imap_match_fold(fbuf_str(&un), un.len, &h);
	hit = imap_match_folded(&h, &n);
	if (!hit && memmem(fbuf_str(&un), un.len, "=?", 2) != NULL) {
		struct fbuf d;

		fbuf_init(&d, 0);
		mime_encword_decode(fbuf_str(&un), un.len, &d);
		fbuf_reset(&h);
		imap_match_fold(fbuf_str(&d), d.len, &h);
		hit = imap_match_folded(&h, &n);
		fbuf_release(&d);
	}
	fbuf_release(&n);
	fbuf_release(&un);
	fbuf_release(&h);
	return hit;
}
