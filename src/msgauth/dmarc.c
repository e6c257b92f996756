/* DMARC (RFC 7489): the policy record (section 6.3, 6.4), the
 * organizational domain from the public suffix list (3.2) and identifier
 * alignment (3.1).  The record is a DKIM-style tag-list, parsed with
 * dkim_taglist_parse() (msgauth/dkim.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dkim.h"
#include "msgauth/dmarc.h"

#define DMARC_PSL_MAX (16u * 1024 * 1024)
#define DMARC_NAME_MAX 253

/* ---------------------------------------------------------- records */

static void
dmarc_errf(char *err, size_t errsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
dmarc_errf(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (errsize == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

static bool
dmarc_is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The tag's value as a printable, bounded copy for error texts. */
static void
dmarc_show(const struct dkim_tag *t, char *dst, size_t size)
{
	size_t n = t->value_len < size - 1 ? t->value_len : size - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t->value[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
}

static bool
dmarc_tag_is(const struct dkim_tag *t, const char *name)
{
	size_t n = strlen(name);

	return t->name_len == n && strncasecmp(t->name, name, n) == 0;
}

static bool
dmarc_val_is(const char *v, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len == n && strncasecmp(v, word, n) == 0;
}

static int
dmarc_parse_policy(const struct dkim_tag *t, enum dmarc_policy *p_r)
{
	if (dmarc_val_is(t->value, t->value_len, "none"))
		*p_r = DMARC_P_NONE;
	else if (dmarc_val_is(t->value, t->value_len, "quarantine"))
		*p_r = DMARC_P_QUARANTINE;
	else if (dmarc_val_is(t->value, t->value_len, "reject"))
		*p_r = DMARC_P_REJECT;
	else
		return -1;
	return 0;
}

static int
dmarc_parse_align(const struct dkim_tag *t, enum dmarc_align *a_r)
{
	if (dmarc_val_is(t->value, t->value_len, "r"))
		*a_r = DMARC_A_RELAXED;
	else if (dmarc_val_is(t->value, t->value_len, "s"))
		*a_r = DMARC_A_STRICT;
	else
		return -1;
	return 0;
}

/* 1*ndigits DIGIT, at most max. */
static int
dmarc_parse_num(const char *v, size_t len, size_t ndigits, uint64_t max,
    uint64_t *r)
{
	uint64_t n = 0;

	if (len == 0 || len > ndigits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (n > (max - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*r = n;
	return 0;
}

static int
dmarc_parse_fo(const struct dkim_tag *t, unsigned *fo_r)
{
	const char *v = t->value, *end = t->value + t->value_len;
	unsigned fo = 0;

	for (;;) {
		while (v < end && dmarc_is_wsp(*v))
			v++;
		if (v == end)
			return -1;
		switch (*v) {
		case '0': fo |= DMARC_FO_0; break;
		case '1': fo |= DMARC_FO_1; break;
		case 'd': case 'D': fo |= DMARC_FO_D; break;
		case 's': case 'S': fo |= DMARC_FO_S; break;
		default: return -1;
		}
		v++;
		while (v < end && dmarc_is_wsp(*v))
			v++;
		if (v == end)
			break;
		if (*v++ != ':')
			return -1;
	}
	*fo_r = fo;
	return 0;
}

/* One DMARC-URI (6.4): URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].
 * The URI needs a scheme and no ',', ';', '!' or white space. */
static int
dmarc_parse_uri(const char *v, size_t len, struct dmarc_uri *u)
{
	size_t i = 0, ulen;
	uint64_t size = 0;

	if (len == 0 || !isalpha((unsigned char)v[0]))
		return -1;
	while (i < len && (isalnum((unsigned char)v[i]) || v[i] == '+' ||
	    v[i] == '-' || v[i] == '.'))
		i++;
	if (i == len || v[i] != ':' || i + 1 == len)
		return -1;
	while (i < len && v[i] != '!') {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || c == ',' || c == ';')
			return -1;
		i++;
	}
	ulen = i;
	if (ulen > DMARC_URI_MAX)
		return -1;
	if (i < len) {
		size_t d = ++i;
		uint64_t mult = 1;

		while (i < len && v[i] >= '0' && v[i] <= '9')
			i++;
		if (i < len) {
			switch (v[i]) {
			case 'k': case 'K': mult = 1ull << 10; break;
			case 'm': case 'M': mult = 1ull << 20; break;
			case 'g': case 'G': mult = 1ull << 30; break;
			case 't': case 'T': mult = 1ull << 40; break;
			default: return -1;
			}
			if (i + 1 != len)
				return -1;
		}
		if (dmarc_parse_num(v + d, i - d, 20, UINT64_MAX / mult,
		    &size) < 0)
			return -1;
		size *= mult;
		if (size == 0)
			return -1;
	}
	memcpy(u->uri, v, ulen);
	u->uri[ulen] = '\0';
	u->max_size = size;
	return 0;
}

/* A comma-separated list of DMARC-URIs: the valid ones (at most
 * DMARC_URIS_MAX) into uris; -1 when any is invalid (the valid ones are
 * still kept). */
static int
dmarc_parse_uris(const struct dkim_tag *t, struct dmarc_uri *uris,
    size_t *n_r)
{
	const char *v = t->value, *end = t->value + t->value_len;
	int ret = 0;

	*n_r = 0;
	while (v <= end) {
		const char *c = memchr(v, ',', (size_t)(end - v)), *e;

		e = c != NULL ? c : end;
		while (v < e && dmarc_is_wsp(*v))
			v++;
		while (e > v && dmarc_is_wsp(e[-1]))
			e--;
		if (*n_r < DMARC_URIS_MAX &&
		    dmarc_parse_uri(v, (size_t)(e - v), &uris[*n_r]) == 0)
			(*n_r)++;
		else if (*n_r < DMARC_URIS_MAX)
			ret = -1;
		if (c == NULL)
			break;
		v = c + 1;
	}
	return ret;
}

bool
dmarc_is_dmarc(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && dmarc_is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != 'v')
		return false;
	i++;
	while (i < len && dmarc_is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return false;
	i++;
	while (i < len && dmarc_is_wsp(s[i]))
		i++;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	return i == len || s[i] == ';' || dmarc_is_wsp(s[i]);
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	default:
		return "none";
	}
}

static void
dmarc_warn(struct dmarc_record *rec, const struct dkim_tag *t)
{
	char shown[40];

	if (rec->warning[0] != '\0')
		return;
	dmarc_show(t, shown, sizeof(shown));
	(void)snprintf(rec->warning, sizeof(rec->warning),
	    "bad %.*s= value \"%s\" ignored", (int)(t->name_len < 8 ?
	    t->name_len : 8), t->name, shown);
}

int
dmarc_record_parse(const char *s, size_t len, struct dmarc_record *rec,
    char *err, size_t errsize)
{
	struct dkim_taglist *tl;
	const struct dkim_tag *ptag = NULL, *sptag = NULL, *bad = NULL;
	const char *terr;
	char shown[40];
	uint64_t n;
	int ret = -1;

	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	rec->fo = DMARC_FO_0;
	rec->ri = 86400;
	if (errsize > 0)
		err[0] = '\0';
	if (!dmarc_is_dmarc(s, len)) {
		dmarc_errf(err, errsize, "not a DMARC record (does not start "
		    "with v=DMARC1)");
		return -1;
	}
	tl = xmalloc(sizeof(*tl));
	if (dkim_taglist_parse(s, len, tl, &terr) < 0) {
		dmarc_errf(err, errsize, "bad tag list: %s", terr);
		goto out;
	}
	for (size_t i = 0; i < tl->n; i++) {
		const struct dkim_tag *t = &tl->tags[i];

		for (size_t k = 0; k < i; k++)
			if (tl->tags[k].name_len == t->name_len &&
			    strncasecmp(tl->tags[k].name, t->name,
			    t->name_len) == 0) {
				dmarc_errf(err, errsize, "tag %.*s= given twice",
				    (int)(t->name_len < 16 ? t->name_len : 16),
				    t->name);
				goto out;
			}
		if (dmarc_tag_is(t, "v") || dmarc_tag_is(t, "p")) {
			ptag = dmarc_tag_is(t, "p") ? t : ptag;
		} else if (dmarc_tag_is(t, "sp")) {
			sptag = t;
		} else if (dmarc_tag_is(t, "pct")) {
			if (dmarc_parse_num(t->value, t->value_len, 3, 100,
			    &n) < 0)
				dmarc_warn(rec, t);
			else
				rec->pct = (unsigned)n;
		} else if (dmarc_tag_is(t, "adkim")) {
			if (dmarc_parse_align(t, &rec->adkim) < 0)
				dmarc_warn(rec, t);
		} else if (dmarc_tag_is(t, "aspf")) {
			if (dmarc_parse_align(t, &rec->aspf) < 0)
				dmarc_warn(rec, t);
		} else if (dmarc_tag_is(t, "fo")) {
			if (dmarc_parse_fo(t, &rec->fo) < 0)
				dmarc_warn(rec, t);
		} else if (dmarc_tag_is(t, "ri")) {
			if (dmarc_parse_num(t->value, t->value_len, 32,
			    UINT32_MAX, &n) < 0)
				dmarc_warn(rec, t);
			else
				rec->ri = (uint32_t)n;
		} else if (dmarc_tag_is(t, "rua")) {
			if (dmarc_parse_uris(t, rec->rua, &rec->n_rua) < 0)
				dmarc_warn(rec, t);
		} else if (dmarc_tag_is(t, "ruf")) {
			if (dmarc_parse_uris(t, rec->ruf, &rec->n_ruf) < 0)
				dmarc_warn(rec, t);
		}
		/* Other tags: ignored (6.3). */
	}
	if (ptag != NULL && dmarc_parse_policy(ptag, &rec->p) < 0)
		bad = ptag;
	else if (sptag != NULL && dmarc_parse_policy(sptag, &rec->sp) < 0)
		bad = sptag;
	if (ptag == NULL || bad != NULL) {
		if (rec->n_rua == 0) {
			if (ptag == NULL || bad == NULL)
				dmarc_errf(err, errsize, "no p= tag (and no "
				    "valid rua= URI)");
			else {
				dmarc_show(bad, shown, sizeof(shown));
				dmarc_errf(err, errsize, "bad %s= value \"%s\" "
				    "(and no valid rua= URI)", bad == ptag ?
				    "p" : "sp", shown);
			}
			goto out;
		}
		rec->p = rec->sp = DMARC_P_NONE;
		rec->p_from_rua = true;
	} else if (sptag == NULL)
		rec->sp = rec->p;
	ret = 0;
out:
	free(tl);
	return ret;
}

/* ------------------------------------------------ public suffix list */

struct dmarc_psl {
	char *rules;		/* NUL-terminated lowercase rules */
	uint32_t *off;		/* each rule's offset in rules */
	size_t n;
	/* An open-addressed hash set of the rules: slot[h & mask] is a
	 * rule's index + 1 (0: empty), probed linearly.  A lookup costs one
	 * hash and about one comparison; a binary search of the 9,000
	 * rules took 14 strcmp, and an organizational domain takes up to
	 * twice a label count of lookups, several per message. */
	uint32_t *slot;
	size_t mask;
};

static void
dmarc_psl_index(struct dmarc_psl *psl)
{
	size_t size = 16;

	while (size < 2 * psl->n)
		size *= 2;
	psl->slot = xcalloc(size, sizeof(*psl->slot));
	psl->mask = size - 1;
	for (size_t i = 0; i < psl->n; i++) {
		size_t h = str_hash(psl->rules + psl->off[i]) & psl->mask;

		while (psl->slot[h] != 0)
			h = (h + 1) & psl->mask;
		psl->slot[h] = (uint32_t)i + 1;
	}
}

struct dmarc_psl *
dmarc_psl_from_buf(const char *buf, size_t len)
{
	struct dmarc_psl *psl;
	struct fbuf rules;
	uint32_t *off = NULL;
	size_t n = 0, cap = 0, i = 0;

	if (len > DMARC_PSL_MAX)
		return NULL;
	fbuf_init(&rules, 0);
	while (i < len) {
		size_t s, e, eol;

		eol = i;
		while (eol < len && buf[eol] != '\n')
			eol++;
		s = i;
		while (s < eol && (buf[s] == ' ' || buf[s] == '\t'))
			s++;
		e = s;
		while (e < eol && !isspace((unsigned char)buf[e]))
			e++;
		i = eol + 1;
		if (e == s || e - s > DMARC_NAME_MAX + 2 ||
		    (e - s >= 2 && buf[s] == '/' && buf[s + 1] == '/') ||
		    memchr(buf + s, '\0', e - s) != NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			off = xreallocarray(off, cap, sizeof(*off));
		}
		off[n++] = (uint32_t)rules.len;
		for (size_t k = s; k < e; k++) {
			char c = (char)tolower((unsigned char)buf[k]);

			(void)fbuf_add(&rules, &c, 1);
		}
		(void)fbuf_add(&rules, "", 1);
	}
	psl = xcalloc(1, sizeof(*psl));
	psl->rules = fbuf_steal(&rules);
	psl->off = off;
	psl->n = n;
	dmarc_psl_index(psl);
	return psl;
}

int
dmarc_psl_load(const char *path, struct dmarc_psl **psl_r,
    const char **error_r)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, DMARC_PSL_MAX) < 0) {
		*error_r = strerror(errno);
		fbuf_release(&b);
		return -1;
	}
	*psl_r = dmarc_psl_from_buf(b.data != NULL ? b.data : "", b.len);
	fbuf_release(&b);
	if (*psl_r == NULL) {
		*error_r = "list too large";
		return -1;
	}
	if ((*psl_r)->n == 0) {
		dmarc_psl_free(*psl_r);
		*psl_r = NULL;
		*error_r = "no rules in the list";
		return -1;
	}
	return 0;
}

void
dmarc_psl_free(struct dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	free(psl->rules);
	free(psl->off);
	free(psl->slot);
	free(psl);
}

size_t
dmarc_psl_count(const struct dmarc_psl *psl)
{
	return psl != NULL ? psl->n : 0;
}

static bool
dmarc_psl_has(const struct dmarc_psl *psl, const char *key)
{
	size_t h;

	if (psl == NULL || psl->n == 0)
		return false;
	for (h = str_hash(key) & psl->mask; psl->slot[h] != 0;
	    h = (h + 1) & psl->mask)
		if (strcmp(key, psl->rules + psl->off[psl->slot[h] - 1]) == 0)
			return true;
	return false;
}

/* name lowercased without a trailing dot into dst (DMARC_NAME_MAX + 1),
 * label starts into starts; the label count, or -1. */
static int
dmarc_name_split(const char *name, char *dst, size_t *starts)
{
	size_t len = strlen(name), n = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DMARC_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (i == 0 || name[i - 1] == '.') {
			if (name[i] == '.')
				return -1;
			starts[n++] = i;
		}
		dst[i] = (char)tolower((unsigned char)name[i]);
	}
	if (dst[len - 1] == '.')
		return -1;
	dst[len] = '\0';
	return (int)n;
}

/* prefix (one or two octets) and a name of at most DMARC_NAME_MAX into
 * key (DMARC_NAME_MAX + 4): a copy, not a snprintf, for every label of
 * every name looked up. */
static void
dmarc_psl_key(char *key, const char *prefix, const char *name)
{
	size_t p = strlen(prefix), n = strlen(name);

	memcpy(key, prefix, p);
	memcpy(key + p, name, n + 1);
}

int
dmarc_org_domain(const struct dmarc_psl *psl, const char *name,
    char *dst, size_t dstsize)
{
	char lname[DMARC_NAME_MAX + 1], key[DMARC_NAME_MAX + 4];
	size_t starts[DMARC_NAME_MAX / 2 + 1], ps = 1, org;
	int nl = dmarc_name_split(name, lname, starts);
	size_t n;
	bool found = false;

	if (nl < 0)
		return -1;
	n = (size_t)nl;
	/* An exception rule prevails over everything: the public suffix is
	 * the rule less its leftmost label. */
	for (size_t i = 0; i < n && !found; i++) {
		dmarc_psl_key(key, "!", lname + starts[i]);
		if (dmarc_psl_has(psl, key)) {
			ps = n - i - 1;
			found = true;
		}
	}
	/* Otherwise the longest of the exact and wildcard rules. */
	for (size_t i = 0; i < n && !found; i++) {
		if (dmarc_psl_has(psl, lname + starts[i]))
			found = true;
		else if (i + 1 < n) {
			dmarc_psl_key(key, "*.", lname + starts[i + 1]);
			found = dmarc_psl_has(psl, key);
		}
		if (found)
			ps = n - i;
	}
	org = ps >= n ? 0 : n - ps - 1;
	if (strlen(lname + starts[org]) >= dstsize)
		return -1;
	(void)str_lcpy(dst, lname + starts[org], dstsize);
	return 0;
}

static bool
dmarc_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

bool
dmarc_aligned(const struct dmarc_psl *psl, const char *from_domain,
    const char *auth_domain, enum dmarc_align mode)
{
	char a[DMARC_NAME_MAX + 1], b[DMARC_NAME_MAX + 1];

	if (mode == DMARC_A_STRICT)
		return dmarc_name_eq(from_domain, auth_domain);
	if (dmarc_org_domain(psl, from_domain, a, sizeof(a)) < 0 ||
	    dmarc_org_domain(psl, auth_domain, b, sizeof(b)) < 0)
		return false;
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------------- evaluation */

void
dmarc_evaluate(const struct dmarc_psl *psl, const struct dmarc_record *rec,
    const char *from_domain, const char *record_domain,
    const struct dmarc_auth *auth, unsigned sample,
    struct dmarc_outcome *out)
{
	enum dmarc_policy pol;

	memset(out, 0, sizeof(*out));
	out->spf_aligned = auth->spf_domain != NULL &&
	    dmarc_aligned(psl, from_domain, auth->spf_domain, rec->aspf);
	for (size_t i = 0; i < auth->n_dkim && out->dkim_domain == NULL; i++)
		if (dmarc_aligned(psl, from_domain, auth->dkim_domains[i],
		    rec->adkim))
			out->dkim_domain = auth->dkim_domains[i];
	out->dkim_aligned = out->dkim_domain != NULL;
	out->pass = out->spf_aligned || out->dkim_aligned;
	if (out->pass) {
		out->disposition = DMARC_P_NONE;
		return;
	}
	pol = dmarc_name_eq(from_domain, record_domain) ? rec->p : rec->sp;
	if (sample >= rec->pct && pol != DMARC_P_NONE) {
		pol = pol == DMARC_P_REJECT ? DMARC_P_QUARANTINE :
		    DMARC_P_NONE;
		out->sampled_out = true;
	}
	out->disposition = pol;
}
