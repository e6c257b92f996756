/* Charsets and RFC 2047 encoded words.  Conversion to UTF-8 goes
 * through iconv for the charsets the C library knows; a charset it does
 * not know leaves the text as written (the caller still gets
 * something readable, and nothing fails on a peer's whim).  Adjacent
 * encoded words in the same charset are converted together, so a
 * multi-octet character split over two words survives (RFC 2047
 * section 5 forbids the split; mailers do it anyway).  No I/O. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

#define MIME_CHARSET_MAX 64

/* Length of the valid UTF-8 sequence at s[0..n), 0 when invalid. */
static size_t
mime_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, past U+10FFFF */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

void
mime_utf8_clean(const char *in, size_t n, struct fbuf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run = 0, l;

	if (n == 0)
		return;		/* in may be NULL (an empty fbuf) */
	while (i < n) {
		l = mime_utf8_seq(s + i, n - i);
		if (l > 0) {
			i += l;
			continue;
		}
		fbuf_add(out, in + run, i - run);
		fbuf_adds(out, "\xef\xbf\xbd");
		run = ++i;
	}
	fbuf_add(out, in + run, n - run);
}

int
mime_charset_to_utf8(const char *charset, const void *in, size_t n,
    struct fbuf *out)
{
	char buf[1024], *ip = (char *)(uintptr_t)in, *op;
	size_t il = n, ol;
	iconv_t cd;

	if (strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "utf8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 ||
	    strcasecmp(charset, "ascii") == 0) {
		mime_utf8_clean(in, n, out);
		return 0;
	}
	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return -1;
	while (il > 0) {
		op = buf;
		ol = sizeof(buf);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 &&
		    errno != E2BIG) {
			/* EILSEQ or EINVAL (cut at the end): one octet is
			 * replaced and conversion goes on after it. */
			fbuf_add(out, buf, (size_t)(op - buf));
			fbuf_adds(out, "\xef\xbf\xbd");
			ip++;
			il--;
			iconv(cd, NULL, NULL, NULL, NULL);
			continue;
		}
		fbuf_add(out, buf, (size_t)(op - buf));
	}
	op = buf;
	ol = sizeof(buf);
	iconv(cd, NULL, NULL, &op, &ol);
	fbuf_add(out, buf, (size_t)(op - buf));
	iconv_close(cd);
	return 0;
}

/* One encoded word at v[i]: its charset (language dropped), encoding
 * and text; the index after it, or 0 when there is none. */
struct mime_ew {
	char charset[MIME_CHARSET_MAX];
	char enc;
	const char *text;
	size_t tlen;
};

static size_t
mime_ew_scan(const char *v, size_t len, size_t i, struct mime_ew *w)
{
	size_t cs, q1, q2, end, n;

	if (i + 2 > len || v[i] != '=' || v[i + 1] != '?')
		return 0;
	cs = i + 2;
	for (q1 = cs; q1 < len && v[q1] != '?'; q1++)
		if (mime_is_wsp(v[q1]))
			return 0;
	if (q1 + 2 >= len || v[q1 + 2] != '?' || q1 == cs)
		return 0;
	w->enc = (char)(v[q1 + 1] | 0x20);
	if (w->enc != 'b' && w->enc != 'q')
		return 0;
	q2 = q1 + 3;
	for (end = q2; end + 1 < len && !(v[end] == '?' && v[end + 1] == '=');
	    end++)
		if (mime_is_wsp(v[end]))
			return 0;
	if (end + 1 >= len)
		return 0;
	n = q1 - cs;
	for (size_t k = cs; k < q1; k++)
		if (v[k] == '*') {	/* RFC 2231 section 5 language */
			n = k - cs;
			break;
		}
	if (n == 0 || n >= sizeof(w->charset))
		return 0;
	memcpy(w->charset, v + cs, n);
	w->charset[n] = '\0';
	w->text = v + q2;
	w->tlen = end - q2;
	return end + 2;
}

static int
mime_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static void
mime_ew_decode(const struct mime_ew *w, struct fbuf *out)
{
	unsigned bits = 0, nbits = 0;
	int h, l, x;

	for (size_t k = 0; k < w->tlen; k++) {
		char c = w->text[k];

		if (w->enc == 'b') {
			if ((x = mime_b64val(c)) < 0)
				continue;
			bits = (bits << 6) | (unsigned)x;
			if ((nbits += 6) >= 8) {
				nbits -= 8;
				fbuf_addc(out, (char)(bits >> nbits));
			}
		} else if (c == '_')
			fbuf_addc(out, ' ');
		else if (c == '=' && k + 2 < w->tlen &&
		    (h = str_hexval(w->text[k + 1])) >= 0 &&
		    (l = str_hexval(w->text[k + 2])) >= 0) {
			fbuf_addc(out, (char)(h * 16 + l));
			k += 2;
		} else
			fbuf_addc(out, c);
	}
}

struct mime_ew_run {
	char charset[MIME_CHARSET_MAX];
	struct fbuf bytes;	/* decoded octets of the run */
	size_t start, end;	/* the run as written in v */
	bool open;
};

static void
mime_ew_flush(struct mime_ew_run *r, const char *v, struct fbuf *out)
{
	if (!r->open)
		return;
	if (mime_charset_to_utf8(r->charset, r->bytes.data, r->bytes.len,
	    out) < 0)
		mime_utf8_clean(v + r->start, r->end - r->start, out);
	fbuf_reset(&r->bytes);
	r->open = false;
}

void
mime_encword_decode(const char *v, size_t len, struct fbuf *out)
{
	struct mime_ew_run r;
	struct mime_ew w;
	size_t i = 0, j, next, plain = 0;

	memset(&r, 0, sizeof(r));
	fbuf_init(&r.bytes, 0);
	while (i < len) {
		if ((next = mime_ew_scan(v, len, i, &w)) == 0) {
			i++;
			continue;
		}
		/* Only white space since the last word: it is dropped. */
		for (j = plain; j < i && mime_is_wsp(v[j]); j++)
			;
		if (!(r.open && j == i)) {
			mime_ew_flush(&r, v, out);
			mime_utf8_clean(v + plain, i - plain, out);
		}
		if (r.open && strcasecmp(r.charset, w.charset) != 0)
			mime_ew_flush(&r, v, out);
		if (!r.open) {
			memcpy(r.charset, w.charset, sizeof(r.charset));
			r.start = i;
			r.open = true;
		}
		mime_ew_decode(&w, &r.bytes);
		r.end = next;
		i = plain = next;
	}
	mime_ew_flush(&r, v, out);
	mime_utf8_clean(v + plain, len - plain, out);
	fbuf_release(&r.bytes);
}
