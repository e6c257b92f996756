/* DKIM tag lists (RFC 6376 3.2) and the two records written in them:
 * the DKIM-Signature field (3.5) and the DNS key record (3.6.1).  No I/O;
 * everything bounded (DKIM_TAGS_MAX tags, fixed-size decoded values).
 * What needs more than the record itself (key size, expiry against the
 * clock, the From rule against the message) is the verifier's. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msgauth/dkim.h"

static bool
dkim_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
dkim_skip_fws(const char *s, size_t len, size_t i)
{
	while (i < len && dkim_is_fws(s[i]))
		i++;
	return i;
}

/* VALCHAR: %x21-3A / %x3C-7E (no ';'). */
static bool
dkim_is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* One tag-spec starting at *ip: 0 (tag filled, *ip at ';' or the end) or
 * -1. */
static int
dkim_tag_spec(const char *s, size_t len, size_t *ip, struct dkim_tag *t,
    const char **error_r)
{
	size_t i = dkim_skip_fws(s, len, *ip), vend;

	if (i >= len || !isalpha((unsigned char)s[i])) {
		*error_r = "tag name expected";
		return -1;
	}
	t->name = s + i;
	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	t->name_len = (size_t)(s + i - t->name);
	i = dkim_skip_fws(s, len, i);
	if (i >= len || s[i] != '=') {
		*error_r = "'=' expected after a tag name";
		return -1;
	}
	t->eq_end = ++i;
	i = dkim_skip_fws(s, len, i);
	t->value = s + i;
	vend = i;
	while (i < len && s[i] != ';') {
		/* A run of value characters at a time (b= and p= are runs
		 * of hundreds between folds): one test per octet. */
		size_t j = i;

		while (j < len && dkim_is_valchar((unsigned char)s[j]))
			j++;
		if (j > i) {
			vend = i = j;
			continue;
		}
		if (!dkim_is_fws(s[i])) {
			*error_r = "bad character in a tag value";
			return -1;
		}
		i++;
	}
	t->value_len = vend - (size_t)(t->value - s);
	t->spec_end = i;
	*ip = i;
	return 0;
}

int
dkim_taglist_parse(const char *s, size_t len, struct dkim_taglist *tl,
    const char **error_r)
{
	size_t i = 0;

	tl->n = 0;
	while (dkim_skip_fws(s, len, i) < len) {
		struct dkim_tag t;

		if (dkim_tag_spec(s, len, &i, &t, error_r) < 0)
			return -1;
		for (size_t k = 0; k < tl->n; k++)
			if (tl->tags[k].name_len == t.name_len &&
			    memcmp(tl->tags[k].name, t.name, t.name_len) == 0) {
				*error_r = "tag given twice";
				return -1;
			}
		if (tl->n == DKIM_TAGS_MAX) {
			*error_r = "too many tags";
			return -1;
		}
		tl->tags[tl->n++] = t;
		if (i < len)
			i++;	/* the ';' */
	}
	return 0;
}

const struct dkim_tag *
dkim_taglist_get(const struct dkim_taglist *tl, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < tl->n; i++)
		if (tl->tags[i].name_len == n &&
		    memcmp(tl->tags[i].name, name, n) == 0)
			return &tl->tags[i];
	return NULL;
}

/* Each octet's base64 value, or B64_FWS, B64_PAD, B64_BAD: one lookup
 * per character (b= and p= values are 350-400 characters). */
enum { B64_FWS = 64, B64_PAD = 65, B64_BAD = 255 };
static const unsigned char dkim_b64[256] = {
	255, 255, 255, 255, 255, 255, 255, 255, 255, 64, 64, 255, 255,
	64, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 64, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 62, 255, 255, 255, 63, 52, 53, 54, 55,
	56, 57, 58, 59, 60, 61, 255, 255, 255, 65, 255, 255, 255,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
	255, 255, 255, 255, 255, 255, 26, 27, 28, 29, 30, 31, 32,
	33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
	46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255,
};

int
dkim_base64_decode(const char *s, size_t len, unsigned char *dst,
    size_t size)
{
	unsigned acc = 0, bits = 0, pad = 0, chars = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned v = dkim_b64[(unsigned char)s[i]];

		if (v < 64 && pad == 0) {
			chars++;
			acc = (acc << 6) | v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (n == size)
					return -1;
				dst[n++] = (unsigned char)(acc >> bits);
				acc &= (1u << bits) - 1;
			}
		} else if (v == B64_PAD)
			pad++;
		else if (v != B64_FWS)
			return -1;	/* a bad octet, or data after '=' */
	}
	/* Whole quanta only: 2 or 3 characters end in 1 or 2 '='s (or
	 * none: padding is often left out and harms nothing), 1 is never
	 * valid, and the bits left over must be zero. */
	if (chars % 4 == 1 || pad > 2 || (pad > 0 && (chars + pad) % 4 != 0) ||
	    acc != 0)
		return -1;
	return (int)n;
}

static bool
dkim_value_is(const struct dkim_tag *t, const char *s)
{
	return t->value_len == strlen(s) && memcmp(t->value, s, t->value_len) ==
	    0;
}

/* Copies a value without FWS into dst (NUL-ended): 0 or -1 when it does
 * not fit or is empty. */
static int
dkim_value_copy(const struct dkim_tag *t, char *dst, size_t size, bool lower)
{
	size_t n = 0;

	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];

		if (dkim_is_fws(c))
			continue;
		if (n + 1 >= size)
			return -1;
		dst[n++] = lower ? (char)tolower((unsigned char)c) : c;
	}
	dst[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* A decimal tag value of at most 12 digits (3.5: x=, t=; l= at most 76
 * digits, but nothing longer than 12 is a sensible length).  0 or -1. */
static int
dkim_value_uint(const struct dkim_tag *t, uint64_t *r)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > 12)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		if (!isdigit((unsigned char)t->value[i]))
			return -1;
		v = v * 10 + (uint64_t)(t->value[i] - '0');
	}
	*r = v;
	return 0;
}

/* h=: colon-separated field names, FWS around them. */
static int
dkim_sig_hnames(const struct dkim_tag *t, struct dkim_sig *sig,
    const char **error_r)
{
	const char *p = t->value, *end = t->value + t->value_len;
	bool from = false;

	sig->nh = 0;
	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *e = colon != NULL ? colon : end;
		char *dst;
		size_t n = 0;

		if (sig->nh == DKIM_HNAMES_MAX) {
			*error_r = "too many names in h=";
			return -1;
		}
		dst = sig->hnames[sig->nh];
		for (; p < e; p++) {
			if (dkim_is_fws(*p))
				continue;
			if (*p < 0x21 || *p > 0x7e || n == DKIM_HNAME_MAX) {
				*error_r = "bad field name in h=";
				return -1;
			}
			dst[n++] = *p;
		}
		dst[n] = '\0';
		if (n == 0) {
			*error_r = "empty field name in h=";
			return -1;
		}
		if (strcasecmp(dst, "from") == 0)
			from = true;
		sig->nh++;
		p = e + 1;
	}
	if (!from) {
		*error_r = "h= does not include From";
		return -1;
	}
	return 0;
}

static int
dkim_sig_algo(const struct dkim_tag *t, struct dkim_sig *sig)
{
	if (dkim_value_is(t, "rsa-sha256"))
		sig->algo = DKIM_A_RSA_SHA256;
	else if (dkim_value_is(t, "ed25519-sha256"))
		sig->algo = DKIM_A_ED25519_SHA256;
	else
		return -1;
	return 0;
}

/* c=: header[/body], each simple or relaxed; absent: simple/simple. */
static int
dkim_sig_canon(const struct dkim_tag *t, struct dkim_sig *sig)
{
	char v[32], *slash;

	sig->hcanon = sig->bcanon = DKIM_C_SIMPLE;
	if (t == NULL)
		return 0;
	if (dkim_value_copy(t, v, sizeof(v), true) < 0)
		return -1;
	if ((slash = strchr(v, '/')) != NULL) {
		*slash++ = '\0';
		if (strcmp(slash, "relaxed") == 0)
			sig->bcanon = DKIM_C_RELAXED;
		else if (strcmp(slash, "simple") != 0)
			return -1;
	}
	if (strcmp(v, "relaxed") == 0)
		sig->hcanon = DKIM_C_RELAXED;
	else if (strcmp(v, "simple") != 0)
		return -1;
	return 0;
}

/* q=: colon-separated methods; one must be dns/txt. */
static bool
dkim_sig_query_ok(const struct dkim_tag *t)
{
	char v[256], *save = NULL;

	if (t == NULL)
		return true;
	if (dkim_value_copy(t, v, sizeof(v), true) < 0)
		return false;
	for (char *m = strtok_r(v, ":", &save); m != NULL;
	    m = strtok_r(NULL, ":", &save))
		if (strcmp(m, "dns/txt") == 0)
			return true;
	return false;
}

/* i= must be in d= or below it (6.1.1). */
static bool
dkim_sig_auid_ok(const struct dkim_sig *sig)
{
	const char *at = strrchr(sig->auid, '@');
	size_t dl = strlen(sig->domain), al;

	if (at == NULL)
		return false;
	at++;
	al = strlen(at);
	if (al == dl)
		return strcasecmp(at, sig->domain) == 0;
	return al > dl && at[al - dl - 1] == '.' &&
	    strcasecmp(at + al - dl, sig->domain) == 0;
}

static int
dkim_sig_times(const struct dkim_taglist *tl, struct dkim_sig *sig,
    const char **error_r)
{
	const struct dkim_tag *t;
	uint64_t v;

	if ((t = dkim_taglist_get(tl, "l")) != NULL) {
		if (dkim_value_uint(t, &sig->l) < 0) {
			*error_r = "bad l=";
			return -1;
		}
		sig->has_l = true;
	}
	if ((t = dkim_taglist_get(tl, "t")) != NULL) {
		if (dkim_value_uint(t, &v) < 0) {
			*error_r = "bad t=";
			return -1;
		}
		sig->has_t = true;
		sig->t = (int64_t)v;
	}
	if ((t = dkim_taglist_get(tl, "x")) != NULL) {
		if (dkim_value_uint(t, &v) < 0) {
			*error_r = "bad x=";
			return -1;
		}
		sig->has_x = true;
		sig->x = (int64_t)v;
	}
	if (sig->has_t && sig->has_x && sig->x < sig->t) {
		*error_r = "x= before t=";
		return -1;
	}
	return 0;
}

/* The required tags and their values. */
static int
dkim_sig_required(const struct dkim_taglist *tl, struct dkim_sig *sig,
    bool arc, const char **error_r)
{
	const struct dkim_tag *v = dkim_taglist_get(tl, "v");
	const struct dkim_tag *a = dkim_taglist_get(tl, "a");
	const struct dkim_tag *b = dkim_taglist_get(tl, "b");
	const struct dkim_tag *bh = dkim_taglist_get(tl, "bh");
	const struct dkim_tag *d = dkim_taglist_get(tl, "d");
	const struct dkim_tag *h = dkim_taglist_get(tl, "h");
	const struct dkim_tag *s = dkim_taglist_get(tl, "s");
	int n;

	if ((v == NULL && !arc) || a == NULL || b == NULL || bh == NULL ||
	    d == NULL || h == NULL || s == NULL) {
		*error_r = "a required tag is missing";
		return -1;
	}
	if (!arc && !dkim_value_is(v, "1")) {
		*error_r = "unknown version";
		return -1;
	}
	sig->bspan.at = b->eq_end;
	sig->bspan.end = b->spec_end;
	if (dkim_sig_algo(a, sig) < 0) {
		*error_r = "unsupported algorithm";
		return -1;
	}
	if ((n = dkim_base64_decode(b->value, b->value_len, sig->b,
	    sizeof(sig->b))) <= 0) {
		*error_r = "bad b=";
		return -1;
	}
	sig->b_len = (size_t)n;
	if ((n = dkim_base64_decode(bh->value, bh->value_len, sig->bh,
	    sizeof(sig->bh))) != 32) {
		*error_r = "bad bh=";
		return -1;
	}
	sig->bh_len = (size_t)n;
	if (dkim_value_copy(d, sig->domain, sizeof(sig->domain), true) < 0 ||
	    dkim_value_copy(s, sig->selector, sizeof(sig->selector), true) <
	    0) {
		*error_r = "bad d= or s=";
		return -1;
	}
	return dkim_sig_hnames(h, sig, error_r);
}

/* The tags DKIM-Signature and ARC-Message-Signature share. */
static int
dkim_sig_common(const struct dkim_taglist *tl, struct dkim_sig *sig,
    bool arc, const char **error_r)
{
	if (dkim_sig_required(tl, sig, arc, error_r) < 0 ||
	    dkim_sig_times(tl, sig, error_r) < 0)
		return -1;
	if (dkim_sig_canon(dkim_taglist_get(tl, "c"), sig) < 0) {
		*error_r = "bad c=";
		return -1;
	}
	if (!dkim_sig_query_ok(dkim_taglist_get(tl, "q"))) {
		*error_r = "q= offers no dns/txt";
		return -1;
	}
	return 0;
}

/* Zeroes sig but for b[] and hnames[] (6 of its 7 KB), which are read
 * only up to b_len and nh. */
static void
dkim_sig_clear(struct dkim_sig *sig)
{
	char *p = (char *)sig;

	memset(p, 0, offsetof(struct dkim_sig, b));
	memset(p + offsetof(struct dkim_sig, b_len), 0,
	    offsetof(struct dkim_sig, hnames) -
	    offsetof(struct dkim_sig, b_len));
	memset(p + offsetof(struct dkim_sig, nh), 0,
	    sizeof(*sig) - offsetof(struct dkim_sig, nh));
}

int
dkim_sig_parse_ams(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	uint64_t i;

	dkim_sig_clear(sig);
	if (dkim_taglist_parse(value, len, &tl, error_r) < 0)
		return -1;
	if ((t = dkim_taglist_get(&tl, "i")) == NULL ||
	    dkim_value_uint(t, &i) < 0 || i < 1 || i > 1024) {
		*error_r = "bad or missing i=";
		return -1;
	}
	sig->instance = (unsigned)i;
	if (dkim_sig_common(&tl, sig, true, error_r) < 0)
		return -1;
	snprintf(sig->auid, sizeof(sig->auid), "@%s", sig->domain);
	return 0;
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;

	dkim_sig_clear(sig);
	if (dkim_taglist_parse(value, len, &tl, error_r) < 0 ||
	    dkim_sig_common(&tl, sig, false, error_r) < 0)
		return -1;
	if ((t = dkim_taglist_get(&tl, "i")) != NULL) {
		if (dkim_value_copy(t, sig->auid, sizeof(sig->auid), false) <
		    0) {
			*error_r = "bad i=";
			return -1;
		}
	} else
		snprintf(sig->auid, sizeof(sig->auid), "@%s", sig->domain);
	if (!dkim_sig_auid_ok(sig)) {
		*error_r = "i= is not in d=";
		return -1;
	}
	return 0;
}

void
dkim_sig_strip_b_at(const char *raw, size_t len, size_t value_off,
    const struct dkim_bspan *b, struct fbuf *out)
{
	fbuf_reserve(out, out->len + len);
	fbuf_add(out, raw, value_off + b->at);
	fbuf_add(out, raw + value_off + b->end, len - value_off - b->end);
}

int
dkim_sig_strip_b(const char *raw, size_t len, struct fbuf *out)
{
	const char *colon = memchr(raw, ':', len);
	struct dkim_taglist tl;
	const struct dkim_tag *b;
	const char *err;
	size_t off;

	if (colon == NULL)
		return -1;
	off = (size_t)(colon + 1 - raw);
	if (dkim_taglist_parse(colon + 1, len - off, &tl, &err) < 0 ||
	    (b = dkim_taglist_get(&tl, "b")) == NULL)
		return -1;
	dkim_sig_strip_b_at(raw, len, off, &(struct dkim_bspan){ b->eq_end,
	    b->spec_end }, out);
	return 0;
}

/* ---------------------------------------------------------- key record */

/* A colon-separated list value containing want (or "*" when star). */
static bool
dkim_list_has(const struct dkim_tag *t, const char *want, bool star)
{
	char v[256], *save = NULL;

	if (dkim_value_copy(t, v, sizeof(v), true) < 0)
		return false;
	for (char *m = strtok_r(v, ":", &save); m != NULL;
	    m = strtok_r(NULL, ":", &save))
		if (strcmp(m, want) == 0 || (star && strcmp(m, "*") == 0))
			return true;
	return false;
}

static int
dkim_key_tags(const struct dkim_taglist *tl, struct dkim_key *key,
    const char **error_r)
{
	const struct dkim_tag *t;

	if ((t = dkim_taglist_get(tl, "h")) != NULL &&
	    !dkim_list_has(t, "sha256", false)) {
		*error_r = "key does not allow sha256";
		return -1;
	}
	if ((t = dkim_taglist_get(tl, "k")) != NULL) {
		if (dkim_value_is(t, "rsa"))
			key->algo = DKIM_A_RSA_SHA256;
		else if (dkim_value_is(t, "ed25519"))
			key->algo = DKIM_A_ED25519_SHA256;
		else {
			*error_r = "unknown key type";
			return -1;
		}
	}
	if ((t = dkim_taglist_get(tl, "s")) != NULL &&
	    !dkim_list_has(t, "email", true)) {
		*error_r = "key is not for email";
		return -1;
	}
	if ((t = dkim_taglist_get(tl, "t")) != NULL) {
		key->testing = dkim_list_has(t, "y", false);
		key->strict = dkim_list_has(t, "s", false);
	}
	return 0;
}

int
dkim_key_parse(const char *txt, size_t len, struct dkim_key *key,
    const char **error_r)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	int n;

	memset(key, 0, sizeof(*key));
	if (dkim_taglist_parse(txt, len, &tl, error_r) < 0)
		return -1;
	if ((t = dkim_taglist_get(&tl, "v")) != NULL &&
	    (t != &tl.tags[0] || !dkim_value_is(t, "DKIM1"))) {
		*error_r = "bad v= in key record";
		return -1;
	}
	if (dkim_key_tags(&tl, key, error_r) < 0)
		return -1;
	if ((t = dkim_taglist_get(&tl, "p")) == NULL) {
		*error_r = "key record without p=";
		return -1;
	}
	if (t->value_len == 0) {
		key->revoked = true;
		return 0;
	}
	if ((n = dkim_base64_decode(t->value, t->value_len, key->p,
	    sizeof(key->p))) <= 0) {
		*error_r = "bad p=";
		return -1;
	}
	key->p_len = (size_t)n;
	return 0;
}
