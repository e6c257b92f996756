/* HTML escaping (html.h); no I/O, no request: the fuzz target links it
 * alone.  The page frame is html_page.c. */
#include <stdint.h>
#include <string.h>

#include "admin/html.h"
#include "lib/strutil.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t
html_utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
html_esc(struct fbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n;

		switch (*p) {
		case '&': fbuf_adds(b, "&amp;"); p++; continue;
		case '<': fbuf_adds(b, "&lt;"); p++; continue;
		case '>': fbuf_adds(b, "&gt;"); p++; continue;
		case '"': fbuf_adds(b, "&quot;"); p++; continue;
		case '\'': fbuf_adds(b, "&#39;"); p++; continue;
		default:
			break;
		}
		if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
			fbuf_adds(b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		if ((n = html_utf8_len(p)) == 0) {
			fbuf_adds(b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		fbuf_add(b, p, n);
		p += n;
	}
}

void
html_addf(struct fbuf *b, const char *fmt, ...)
{
	va_list ap;
	const char *p = fmt;

	va_start(ap, fmt);
	while (*p != '\0') {
		const char *pct = strchr(p, '%');

		if (pct == NULL) {
			fbuf_adds(b, p);
			break;
		}
		fbuf_add(b, p, (size_t)(pct - p));
		p = pct + 1;
		if (strncmp(p, "s", 1) == 0) {
			const char *s = va_arg(ap, const char *);

			html_esc(b, s != NULL ? s : "");
			p += 1;
		} else if (strncmp(p, "d", 1) == 0) {
			fbuf_addf(b, "%d", va_arg(ap, int));
			p += 1;
		} else if (strncmp(p, "u", 1) == 0) {
			fbuf_addf(b, "%u", va_arg(ap, unsigned));
			p += 1;
		} else if (strncmp(p, "ld", 2) == 0) {
			fbuf_addf(b, "%ld", va_arg(ap, long));
			p += 2;
		} else if (strncmp(p, "lu", 2) == 0) {
			fbuf_addf(b, "%lu", va_arg(ap, unsigned long));
			p += 2;
		} else if (strncmp(p, "llu", 3) == 0) {
			fbuf_addf(b, "%llu", va_arg(ap, unsigned long long));
			p += 3;
		} else if (*p == '%') {
			fbuf_addc(b, '%');
			p += 1;
		} else
			fbuf_addc(b, '%');	/* unknown: written as is */
	}
	va_end(ap);
}

