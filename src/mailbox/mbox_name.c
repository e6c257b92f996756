/* Folder names (mbox.h): validation of the UTF-8 names clients give, and
 * their mapping onto Maildir++ directories: ".<c1>.<c2>" with each
 * component in modified UTF-7 (RFC 3501 section 5.1.3), which is how
 * Dovecot and Courier name folders on disk.  '.' is the separator on
 * disk, so it cannot be part of a component; with no '.' at the start of
 * a component and no '/' in a directory name, no name reaches outside
 * the Maildir.  It does not touch the file system. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "mailbox/mbox_private.h"

static const char mbox_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int
mbox_fail(struct mbox_error *err, enum mbox_errcode code, const char *text)
{
	if (err != NULL) {
		err->code = code;
		err->text = text;
	}
	return -1;
}

/* One UTF-8 sequence at s (n bytes left): its code point and length,
 * or -1 when not in shortest form, a surrogate or past U+10FFFF. */
static int
mbox_utf8_next(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	uint32_t cp, min;
	int len;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else
		return -1;
	if ((size_t)len > n)
		return -1;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	return len;
}

bool
mbox_name_is_inbox(const char *name)
{
	return str_ieq(name, "INBOX");
}

static bool
mbox_name_char_ok(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0) &&
	    cp != '.' && cp != '%' && cp != '*' && cp != 0xfeff &&
	    cp != 0x2028 && cp != 0x2029;
}

int
mbox_name_check(const char *name, struct mbox_error *err)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), depth = 1, comp = 0;
	char dir[MBOX_DIRNAME_MAX + 2];
	uint32_t cp;
	int n;

	if (len == 0 || len > MBOX_NAME_MAX)
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Mailbox name empty or too long");
	for (size_t i = 0; i < len; i += (size_t)n) {
		if ((n = mbox_utf8_next(s + i, len - i, &cp)) < 0)
			return mbox_fail(err, MBOX_ERR_BADNAME,
			    "Mailbox name is not valid UTF-8");
		if (cp == '/') {
			if (comp == 0)
				break;
			depth++;
			comp = 0;
			continue;
		}
		if (!mbox_name_char_ok(cp))
			return mbox_fail(err, MBOX_ERR_BADNAME,
			    "Character not allowed in mailbox name");
		comp++;
	}
	if (comp == 0)
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Empty level in mailbox name");
	if (depth > MBOX_NAME_DEPTH)
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Mailbox name nested too deep");
	if (mbox_name_to_dir(name, dir, sizeof(dir)) < 0 ||
	    strlen(dir) > MBOX_DIRNAME_MAX)
		return mbox_fail(err, MBOX_ERR_BADNAME,
		    "Mailbox name too long");
	return 0;
}

void
mbox_name_canon(const char *name, char *dst, size_t size)
{
	str_lcpy(dst, name, size);
	if (strncasecmp(dst, "INBOX", 5) == 0 &&
	    (dst[5] == '\0' || dst[5] == '/'))
		memcpy(dst, "INBOX", size > 5 ? 5 : 0);
}

/* ---- modified UTF-7 ---- */

static void
mbox_mutf7_flush(const uint16_t *u, size_t n, struct fbuf *b)
{
	uint32_t acc = 0;
	int bits = 0;

	fbuf_addc(b, '&');
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			fbuf_addc(b, mbox_b64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		fbuf_addc(b, mbox_b64[(acc << (6 - bits)) & 0x3f]);
	fbuf_addc(b, '-');
}

int
mbox_mutf7_encode(const char *utf8, size_t len, struct fbuf *b)
{
	const unsigned char *s = (const unsigned char *)utf8;
	uint16_t u[2 * (MBOX_NAME_MAX + 1)];
	size_t nu = 0;
	uint32_t cp;
	int n;

	if (len > MBOX_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i += (size_t)n) {
		if ((n = mbox_utf8_next(s + i, len - i, &cp)) < 0)
			return -1;
		if (cp >= 0x20 && cp < 0x7f) {
			if (nu > 0)
				mbox_mutf7_flush(u, nu, b);
			nu = 0;
			fbuf_adds(b, cp == '&' ? "&-" : (char[]){ (char)cp,
			    '\0' });
			continue;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[nu++] = (uint16_t)(0xd800 | (cp >> 10));
			u[nu++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
		} else
			u[nu++] = (uint16_t)cp;
	}
	if (nu > 0)
		mbox_mutf7_flush(u, nu, b);
	return 0;
}

static void
mbox_utf8_put(uint32_t cp, struct fbuf *b)
{
	if (cp < 0x80)
		fbuf_addc(b, (char)cp);
	else if (cp < 0x800) {
		fbuf_addc(b, (char)(0xc0 | (cp >> 6)));
		fbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		fbuf_addc(b, (char)(0xe0 | (cp >> 12)));
		fbuf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		fbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		fbuf_addc(b, (char)(0xf0 | (cp >> 18)));
		fbuf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		fbuf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		fbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* The base64 run s[0..n) (between '&' and '-') as UTF-16 into b as
 * UTF-8.  Strict: leftover bits must be zero, surrogates paired, and
 * the run must not encode ASCII (printable ASCII has one spelling,
 * control characters none). */
static int
mbox_mutf7_run(const char *s, size_t n, struct fbuf *b)
{
	uint32_t acc = 0, hi = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = memchr(mbox_b64, s[i], 64);

		if (p == NULL || s[i] == '\0')
			return -1;
		acc = (acc << 6) | (uint32_t)(p - mbox_b64);
		bits += 6;
		if (bits < 16)
			continue;
		bits -= 16;
		uint32_t u = (acc >> bits) & 0xffff;

		if (hi != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			mbox_utf8_put(0x10000 + ((hi - 0xd800) << 10) +
			    (u - 0xdc00), b);
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff)
			hi = u;
		else if ((u >= 0xdc00 && u <= 0xdfff) || u < 0x80)
			return -1;	/* ASCII is never encoded; NUL never */
		else
			mbox_utf8_put(u, b);
	}
	if (hi != 0 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

int
mbox_mutf7_decode(const char *s, size_t len, struct fbuf *b)
{
	bool after_run = false;

	for (size_t i = 0; i < len; i++) {
		const char *end;

		/* '/' would be a level separator in the name but is none on
		 * disk: never a name character. */
		if ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '/')
			return -1;
		if (s[i] != '&') {
			fbuf_addc(b, s[i]);
			after_run = false;
			continue;
		}
		end = memchr(s + i + 1, '-', len - i - 1);
		if (end == NULL)
			return -1;
		if (end == s + i + 1) {
			fbuf_addc(b, '&');
			after_run = false;
		} else {
			/* Two runs in a row spell what one run would: only
			 * one spelling per name. */
			if (after_run || mbox_mutf7_run(s + i + 1,
			    (size_t)(end - s - i - 1), b) < 0)
				return -1;
			after_run = true;
		}
		i = (size_t)(end - s);
	}
	return 0;
}

int
mbox_name_to_dir(const char *name, char *dst, size_t size)
{
	struct fbuf b;
	const char *p = name, *slash;
	int r = 0;

	if (mbox_name_is_inbox(name)) {
		if (size == 0)
			return -1;
		dst[0] = '\0';
		return 0;
	}
	fbuf_init(&b, 0);
	if (strncasecmp(name, "INBOX/", 6) == 0) {
		fbuf_adds(&b, ".INBOX");
		p = name + 6;
	}
	for (; r == 0 && *p != '\0'; p = slash + (*slash == '/')) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		fbuf_addc(&b, '.');
		r = mbox_mutf7_encode(p, (size_t)(slash - p), &b);
	}
	if (r == 0 && str_lcpy(dst, fbuf_str(&b), size) >= size)
		r = -1;
	fbuf_release(&b);
	return r;
}

int
mbox_name_from_dir(const char *dirent, struct fbuf *b)
{
	const char *p, *dot;
	size_t start;

	fbuf_reset(b);
	if (dirent[0] != '.' || dirent[1] == '\0' || dirent[1] == '.')
		return -1;
	for (p = dirent + 1; ; p = dot + 1) {
		dot = strchr(p, '.');
		if (dot == NULL)
			dot = p + strlen(p);
		if (dot == p)
			return -1;
		if (b->len > 0)
			fbuf_addc(b, '/');
		start = b->len;
		if (mbox_mutf7_decode(p, (size_t)(dot - p), b) < 0 ||
		    b->len == start)
			return -1;
		if (*dot == '\0')
			break;
	}
	/* Only names we would make ourselves: no '/' or '.' smuggled in
	 * through an encoded run, nothing we would refuse to create. */
	if (mbox_name_check(b->data, NULL) < 0 || mbox_name_is_inbox(b->data))
		return -1;
	for (const char *q = b->data; *q != '\0'; q++)
		if (*q == '/' && q[1] == '/')
			return -1;
	return 0;
}
