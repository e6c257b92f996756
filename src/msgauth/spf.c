/* SPF, RFC 7208: the record parser and macro expander (no I/O, sections
 * 4.5, 4.6, 5, 6 and 7) and the asynchronous check_host() evaluator on
 * net/dns.h (sections 4 to 6).
 *
 * Readings of the RFC where it leaves room, kept deliberately:
 * - Void lookups (4.6.4) are counted per term: the lookup a term itself
 *   makes (a: A/AAAA, mx: MX, ptr: PTR, exists: A, include/redirect:
 *   TXT) answering NXDOMAIN or no records.  The address lookups of MX and
 *   PTR names and the %{p} lookups do not count; exp= never counts.
 * - A target name that cannot be asked (an empty or over-long label, or
 *   characters other than letters, digits, '-' and '_' after expansion)
 *   does not match and is not a void lookup; for include and redirect it
 *   is a permerror (4.3, 6.1).
 * - mx: more than 10 MX names is a permerror (4.6.4); the address lookups
 *   run in parallel and are judged in preference order, so a DNS failure
 *   before the first match is a temperror.  ptr: only the first 10 PTR
 *   names are validated; a failed PTR lookup does not match and a failed
 *   address lookup skips that name (5.5).
 * - %{p} is computed once per check (validated names of the client, 5.5
 *   and 7.3) and picked per <domain>: the name equal to it, else one
 *   below it, else the first; "unknown" when none.  %{i} of an IPv6
 *   client uses lower-case nibbles, as in the RFC's examples.
 * - exp= is fetched only for a fail result, at most once (6.2); any
 *   problem with it leaves the explanation empty.
 * - The whole evaluation is limited to SPF_TIME_MAX_SEC (4.6.4), after
 *   which the result is temperror. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/spf.h"
#include "net/dns.h"

#define SPF_DEPTH_MAX (SPF_LOOKUP_MAX + 2)
#define SPF_PATH_MAX 1024
#define SPF_EXPLAIN_MAX 512
#define SPF_SENDER_MAX 600

const char *
spf_result_str(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass",
	    "fail", "softfail", "temperror", "permerror" };

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[r];
}

/* ---------------------------------------------------------- 9.1 */

#define SPF_HDR_WIDTH 76
#define SPF_HDR_VALUE_MAX 200

struct spf_hdr {
	struct fbuf *out;
	size_t col;
	int r;
};

/* One word, after a space or a fold. */
static void
spf_hdr_word(struct spf_hdr *h, const char *w, size_t n)
{
	if (h->r < 0 || n == 0)
		return;
	if (h->col > 0 && h->col + 1 + n > SPF_HDR_WIDTH) {
		h->r = fbuf_add(h->out, "\r\n ", 3);
		h->col = 1;
	} else if (h->col > 0) {
		h->r = fbuf_addc(h->out, ' ');
		h->col++;
	}
	if (h->r == 0)
		h->r = fbuf_add(h->out, w, n);
	h->col += n;
}

/* Text split into words at its spaces. */
static void
spf_hdr_words(struct spf_hdr *h, const char *s)
{
	while (*s != '\0') {
		size_t n = strcspn(s, " ");

		spf_hdr_word(h, s, n);
		s += n;
		s += strspn(s, " ");
	}
}

/* Peer text for a comment: printable, ( ) \ escaped (RFC 5322 ctext). */
static void
spf_hdr_ctext(struct fbuf *b, const char *s)
{
	for (size_t i = 0; s[i] != '\0' && i < SPF_HDR_VALUE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '(' || ch == ')' || ch == '\\')
			(void)fbuf_addc(b, '\\');
		(void)fbuf_addc(b, ch < 0x20 || ch > 0x7e ? '?' : (char)ch);
	}
}

static bool
spf_hdr_dot_atom(const char *s)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";

	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.' && (s[i + 1] == '.' || s[i + 1] == '\0'))
			return false;
		if (ch != '.' && !isalnum(ch) && strchr(atext, ch) == NULL)
			return false;
	}
	return strlen(s) <= SPF_HDR_VALUE_MAX;
}

/* key=value; with value a dot-atom or a quoted-string.  Built on the
 * stack: the field is written for every message. */
static void
spf_hdr_kv(struct spf_hdr *h, const char *key, const char *v)
{
	/* The key (a short constant), '=', a value of at most
	 * SPF_HDR_VALUE_MAX octets each escaped into two, quotes, ';'. */
	char w[32 + 2 * SPF_HDR_VALUE_MAX + 4];
	size_t n = strlen(key);

	if (n >= 32)
		return;
	memcpy(w, key, n);
	w[n++] = '=';
	if (spf_hdr_dot_atom(v)) {
		size_t len = strlen(v);	/* at most SPF_HDR_VALUE_MAX */

		memcpy(w + n, v, len);
		n += len;
	} else {
		w[n++] = '"';
		for (size_t i = 0; v[i] != '\0' && i < SPF_HDR_VALUE_MAX; i++) {
			unsigned char ch = (unsigned char)v[i];

			if (ch == '"' || ch == '\\')
				w[n++] = '\\';
			w[n++] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
		}
		w[n++] = '"';
	}
	w[n++] = ';';
	spf_hdr_word(h, w, n);
}

static void
spf_hdr_comment(struct fbuf *b, const struct spf_answer *a, const char *ip,
    const char *receiver)
{
	static const char *const fmt[] = {
		[SPF_NONE] = "domain of %s does not designate permitted "
		    "sender hosts",
		[SPF_NEUTRAL] = "%2$s is neither permitted nor denied by "
		    "domain of %1$s",
		[SPF_PASS] = "domain of %s designates %s as permitted sender",
		[SPF_FAIL] = "domain of %s does not designate %s as "
		    "permitted sender",
		[SPF_SOFTFAIL] = "domain of transitioning %s does not "
		    "designate %s as permitted sender",
		[SPF_TEMPERROR] = "temporary error in processing the SPF "
		    "policy of %s",
		[SPF_PERMERROR] = "permanent error in processing the SPF "
		    "policy of %s",
	};
	struct fbuf who;

	fbuf_init(&who, 0);
	fbuf_reserve(&who, 255);
	spf_hdr_ctext(&who, a->sender);
	(void)fbuf_addc(b, '(');
	if (receiver[0] != '\0') {
		spf_hdr_ctext(b, receiver);
		(void)fbuf_adds(b, ": ");
	}
	if (a->result == SPF_NEUTRAL || a->result == SPF_PASS ||
	    a->result == SPF_FAIL || a->result == SPF_SOFTFAIL)
		(void)fbuf_addf(b, fmt[a->result], fbuf_str(&who), ip);
	else
		(void)fbuf_addf(b, fmt[a->result], fbuf_str(&who));
	(void)fbuf_addc(b, ')');
	fbuf_release(&who);
}

int
spf_received_spf(struct fbuf *out, const struct spf_answer *a,
    const char *ip, const char *helo, const char *receiver)
{
	struct spf_hdr h = { out, 0, 0 };
	struct fbuf comment;

	spf_hdr_word(&h, "Received-SPF:", 13);
	spf_hdr_words(&h, spf_result_str(a->result));
	fbuf_init(&comment, 0);
	fbuf_reserve(&comment, 511);
	spf_hdr_comment(&comment, a, ip, receiver);
	spf_hdr_words(&h, fbuf_str(&comment));
	fbuf_release(&comment);
	spf_hdr_kv(&h, "client-ip", ip);
	if (strcmp(a->identity, "mailfrom") == 0)
		spf_hdr_kv(&h, "envelope-from", a->sender);
	if (helo[0] != '\0')
		spf_hdr_kv(&h, "helo", helo);
	if (receiver[0] != '\0')
		spf_hdr_kv(&h, "receiver", receiver);
	spf_hdr_kv(&h, "identity", a->identity);
	if (a->mechanism[0] != '\0')
		spf_hdr_kv(&h, "mechanism", a->mechanism);
	if (a->problem[0] != '\0')
		spf_hdr_kv(&h, "problem", a->problem);
	if (h.r == 0)
		h.r = fbuf_add(out, "\r\n", 2);
	return h.r;
}

/* ---------------------------------------------------------- macros (7) */

enum spf_mtok_type { SPF_MT_LIT, SPF_MT_ESC, SPF_MT_MACRO };

struct spf_mtok {
	enum spf_mtok_type type;
	const char *p;			/* LIT, ESC: the text */
	size_t n;
	char letter;			/* MACRO: lower case */
	bool upper, reverse;
	unsigned digits;		/* 0: all parts */
	char delims[8];			/* "" means "." */
};

static bool
spf_literal_ok(unsigned char ch, enum spf_macro_use use)
{
	if (ch == ' ')
		return use == SPF_MACRO_EXP;
	return ch >= 0x21 && ch <= 0x7e && ch != '%';
}

static bool
spf_letter_ok(char letter, enum spf_macro_use use)
{
	if (strchr("slodiphv", letter) != NULL)
		return true;
	return use == SPF_MACRO_EXP && strchr("crt", letter) != NULL;
}

/* "%{" letter *DIGIT ["r"] *delimiter "}" at s[*pos]. */
static int
spf_macro_scan_expand(const char *s, size_t len, size_t *pos,
    enum spf_macro_use use, struct spf_mtok *t)
{
	size_t i = *pos + 2, nd = 0, ndig = 0;
	char letter;

	if (i >= len || !isalpha((unsigned char)s[i]))
		return -1;
	letter = (char)tolower((unsigned char)s[i]);
	if (!spf_letter_ok(letter, use))
		return -1;
	t->type = SPF_MT_MACRO;
	t->letter = letter;
	t->upper = isupper((unsigned char)s[i]) != 0;
	for (i++; i < len && isdigit((unsigned char)s[i]); i++, ndig++)
		if (t->digits < 1000)
			t->digits = t->digits * 10 + (unsigned)(s[i] - '0');
	if (ndig > 0 && t->digits == 0)
		return -1;		/* "the value MUST be nonzero" */
	if (i < len && (s[i] == 'r' || s[i] == 'R')) {
		t->reverse = true;
		i++;
	}
	for (; i < len && s[i] != '\0' && strchr(".-+,/_=", s[i]) != NULL;
	    i++)
		if (strchr(t->delims, s[i]) == NULL)
			t->delims[nd++] = s[i];	/* 7 at most */
	if (i >= len || s[i] != '}')
		return -1;
	*pos = i + 1;
	return 1;
}

/* The next token of a macro-string: 1, 0 at the end, -1 on an error. */
static int
spf_macro_scan(const char *s, size_t len, size_t *pos,
    enum spf_macro_use use, struct spf_mtok *t)
{
	size_t i = *pos, j;

	if (i >= len)
		return 0;
	memset(t, 0, sizeof(*t));
	if (s[i] != '%') {
		for (j = i; j < len && s[j] != '%'; j++)
			if (!spf_literal_ok((unsigned char)s[j], use))
				return -1;
		t->type = SPF_MT_LIT;
		t->p = s + i;
		t->n = j - i;
		*pos = j;
		return 1;
	}
	if (i + 1 >= len)
		return -1;
	if (s[i + 1] == '{')
		return spf_macro_scan_expand(s, len, pos, use, t);
	t->type = SPF_MT_ESC;
	*pos = i + 2;
	switch (s[i + 1]) {
	case '%':
		t->p = "%";
		break;
	case '_':
		t->p = " ";
		break;
	case '-':
		t->p = "%20";
		break;
	default:
		return -1;
	}
	t->n = strlen(t->p);
	return 1;
}

int
spf_macro_check(const char *s, size_t len, enum spf_macro_use use)
{
	struct spf_mtok t;
	size_t pos = 0;
	int r;

	while ((r = spf_macro_scan(s, len, &pos, use, &t)) > 0)
		;
	return r;
}

bool
spf_macro_uses_p(const char *s, size_t len)
{
	struct spf_mtok t;
	size_t pos = 0;

	while (spf_macro_scan(s, len, &pos, SPF_MACRO_EXP, &t) > 0)
		if (t.type == SPF_MT_MACRO && t.letter == 'p')
			return true;
	return false;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
spf_toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || dash;
}

/* domain-spec = macro-string domain-end
 * domain-end  = ( "." toplabel [ "." ] ) / macro-expand */
int
spf_domain_spec_check(const char *s, size_t len)
{
	struct spf_mtok t, last;
	size_t pos = 0, start = 0, end, ts;
	int r;

	if (len == 0)
		return -1;
	memset(&last, 0, sizeof(last));
	while ((r = spf_macro_scan(s, len, &pos, SPF_MACRO_DOMAIN, &t)) > 0) {
		last = t;
		if (t.type == SPF_MT_LIT)
			start = (size_t)(t.p - s);
	}
	if (r < 0)
		return -1;
	if (last.type != SPF_MT_LIT)
		return 0;		/* ends in a macro-expand */
	end = len;
	if (end > start && s[end - 1] == '.')
		end--;
	for (ts = end; ts > start && (isalnum((unsigned char)s[ts - 1]) ||
	    s[ts - 1] == '-'); ts--)
		;
	if (ts == start || s[ts - 1] != '.' ||
	    !spf_toplabel_ok(s + ts, end - ts))
		return -1;
	return 0;
}

static const char *
spf_macro_value(const struct spf_macro_env *env, char letter, char *tbuf,
    size_t tsize)
{
	switch (letter) {
	case 's':
		return env->s;
	case 'l':
		return env->l;
	case 'o':
		return env->o;
	case 'd':
		return env->d;
	case 'i':
		return env->i;
	case 'p':
		return env->p != NULL ? env->p : "unknown";
	case 'v':
		return env->v;
	case 'h':
		return env->h;
	case 'c':
		return env->c;
	case 'r':
		return env->r != NULL ? env->r : "unknown";
	default:
		(void)snprintf(tbuf, tsize, "%lld", (long long)env->t);
		return tbuf;
	}
}

struct spf_part {
	size_t off, len;
};

/* Splits v on the delimiters into parts (allocated); returns the count. */
static size_t
spf_macro_split(const char *v, const char *delims, struct spf_part **pp)
{
	size_t n = 1, k = 0, off = 0, vlen = strlen(v);
	struct spf_part *parts;

	for (size_t i = 0; i < vlen; i++)
		if (strchr(delims, v[i]) != NULL)
			n++;
	parts = xcalloc(n, sizeof(*parts));
	for (size_t i = 0; i <= vlen; i++) {
		if (i < vlen && strchr(delims, v[i]) == NULL)
			continue;
		parts[k].off = off;
		parts[k++].len = i - off;
		off = i + 1;
	}
	*pp = parts;
	return n;
}

/* Parts, reversal, right-hand parts, rejoined with "." (7.3). */
static int
spf_macro_transform(const char *v, const struct spf_mtok *t,
    struct fbuf *out)
{
	struct spf_part *parts;
	size_t n, first, k;
	int r = 0;

	n = spf_macro_split(v, t->delims[0] != '\0' ? t->delims : ".",
	    &parts);
	first = t->digits > 0 && t->digits < n ? n - t->digits : 0;
	for (k = first; k < n && r == 0; k++) {
		const struct spf_part *p = &parts[t->reverse ? n - 1 - k : k];

		if (k > first)
			r = fbuf_addc(out, '.');
		if (r == 0)
			r = fbuf_add(out, v + p->off, p->len);
	}
	free(parts);
	return r;
}

static int
spf_url_escape(const char *s, size_t n, struct fbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~') {
			if (fbuf_addc(out, (char)ch) < 0)
				return -1;
		} else if (fbuf_addf(out, "%%%02X", ch) < 0)
			return -1;
	}
	return 0;
}

/*
 * Appends n octets of the expansion that began at out->len == base and
 * may hold limit octets.  Past the limit a name keeps its right-hand end
 * (7.3 cuts an over-long name on the left, whole labels at a time; the
 * caller does that on what is kept) and an explanation keeps its start.
 * Length is never an error: a macro-string the checker accepts expands.
 */
static void
spf_macro_put(struct fbuf *out, size_t base, size_t limit, const char *p,
    size_t n, enum spf_macro_use use)
{
	size_t used = out->len - base, drop;

	if (used + n <= limit) {
		(void)fbuf_add(out, p, n);
		return;
	}
	if (use == SPF_MACRO_EXP) {
		(void)fbuf_add(out, p, limit - used);
		return;
	}
	if (n >= limit) {
		out->len = base;
		(void)fbuf_add(out, p + n - limit, limit);
		return;
	}
	drop = used + n - limit;
	memmove(out->data + base, out->data + base + drop, used - drop);
	out->len -= drop;
	(void)fbuf_add(out, p, n);
}

static void
spf_macro_expand_one(const struct spf_mtok *t,
    const struct spf_macro_env *env, struct fbuf *out, size_t base,
    size_t limit, enum spf_macro_use use)
{
	struct fbuf tmp, esc;
	char tbuf[32];
	const char *v;

	if (t->type != SPF_MT_MACRO) {
		spf_macro_put(out, base, limit, t->p, t->n, use);
		return;
	}
	v = spf_macro_value(env, t->letter, tbuf, sizeof(tbuf));
	if (v == NULL)
		v = "";
	/* unbounded: at most three times a value the caller holds */
	fbuf_init(&tmp, 0);
	(void)spf_macro_transform(v, t, &tmp);
	if (t->upper) {
		fbuf_init(&esc, 0);
		(void)spf_url_escape(fbuf_str(&tmp), tmp.len, &esc);
		spf_macro_put(out, base, limit, fbuf_str(&esc), esc.len, use);
		fbuf_release(&esc);
	} else
		spf_macro_put(out, base, limit, fbuf_str(&tmp), tmp.len, use);
	fbuf_release(&tmp);
}

int
spf_macro_expand(const char *s, size_t len, enum spf_macro_use use,
    const struct spf_macro_env *env, struct fbuf *out)
{
	struct spf_mtok t;
	size_t pos = 0, base = out->len, limit = SPF_EXPAND_MAX;
	int r;

	if (out->max != 0 && out->max - base < limit)
		limit = out->max - base;
	while ((r = spf_macro_scan(s, len, &pos, use, &t)) > 0)
		spf_macro_expand_one(&t, env, out, base, limit, use);
	if (r < 0 && out->len > base) {
		out->len = base;
		out->data[base] = '\0';
	}
	return r;
}

int
spf_expand_domain(const char *s, size_t len,
    const struct spf_macro_env *env, char *dst, size_t size)
{
	struct fbuf b;
	const char *p;
	size_t n;
	int r = -1;

	fbuf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(s, len, SPF_MACRO_DOMAIN, env, &b) == 0) {
		p = fbuf_str(&b);
		n = b.len;
		if (n > 0 && p[n - 1] == '.')
			n--;
		while (n > SPF_DOMAIN_MAX) {
			const char *dot = memchr(p, '.', n);

			if (dot == NULL)
				break;
			n -= (size_t)(dot + 1 - p);
			p = dot + 1;
		}
		if (n <= SPF_DOMAIN_MAX && n < size) {
			memcpy(dst, p, n);
			dst[n] = '\0';
			r = 0;
		}
	}
	fbuf_release(&b);
	return r;
}

int
spf_ip_strings(const struct sockaddr *sa, char *i, size_t isize, char *c,
    size_t csize, const char **v)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	static const char hex[] = "0123456789abcdef";

	if (sa->sa_family == AF_INET) {
		if (inet_ntop(AF_INET, &sin->sin_addr, c, (socklen_t)csize) ==
		    NULL)
			return -1;
		*v = "in-addr";
		return str_lcpy(i, c, isize) < isize ? 0 : -1;
	}
	if (sa->sa_family != AF_INET6 || isize < 64 ||
	    inet_ntop(AF_INET6, &sin6->sin6_addr, c, (socklen_t)csize) == NULL)
		return -1;
	for (size_t k = 0; k < 32; k++) {
		uint8_t b = sin6->sin6_addr.s6_addr[k / 2];

		i[2 * k] = hex[k % 2 == 0 ? b >> 4 : b & 0x0f];
		i[2 * k + 1] = k < 31 ? '.' : '\0';
	}
	*v = "ip6";
	return 0;
}

/* ---------------------------------------------------------- records */

bool
spf_record_is_spf(const char *txt, size_t len)
{
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return false;
	return len == 6 || txt[6] == ' ';
}

void
spf_record_free(struct spf_record *rec)
{
	free(rec->buf);
	free(rec->terms);
	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
}

/* A CIDR suffix "/N" (or "//N" when dual) at the end of s[0..*len):
 * strips it.  0 (none or parsed), -1 when malformed. */
static int
spf_cidr_suffix(const char *s, size_t *len, bool dual, int max, int *out)
{
	size_t e = *len, b = e;
	unsigned v = 0;

	while (b > 0 && isdigit((unsigned char)s[b - 1]))
		b--;
	if (b == e || b == 0 || s[b - 1] != '/')
		return 0;
	if (dual != (b >= 2 && s[b - 2] == '/'))
		return 0;
	if (e - b > 3 || (s[b] == '0' && e - b > 1))
		return -1;
	for (size_t k = b; k < e; k++)
		v = v * 10 + (unsigned)(s[k] - '0');
	if (v > (unsigned)max)
		return -1;
	*out = (int)v;
	*len = b - (dual ? 2 : 1);
	return 0;
}

/* [ ":" domain-spec ] in s[0..len): sets t->arg. */
static int
spf_term_domain(struct spf_term *t, const char *s, size_t len,
    bool required)
{
	if (len == 0)
		return required ? -1 : 0;
	if (s[0] != ':' || spf_domain_spec_check(s + 1, len - 1) < 0)
		return -1;
	t->arg = s + 1;
	t->arglen = len - 1;
	return 0;
}

static int
spf_term_ip(struct spf_term *t, const char *s, size_t len, bool v6)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len < 2 || s[0] != ':' ||
	    spf_cidr_suffix(s, &len, false, v6 ? 128 : 32, &t->cidr4) < 0 ||
	    len - 1 >= sizeof(tmp))
		return -1;
	memcpy(tmp, s + 1, len - 1);
	tmp[len - 1] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, t->net) != 1)
		return -1;
	t->arg = s + 1;
	t->arglen = len - 1;
	if (v6) {
		t->cidr6 = t->cidr4;
		t->cidr4 = -1;
	}
	return 0;
}

static int
spf_mech_kind(const char *name, size_t n, enum spf_term_kind *k)
{
	static const struct {
		const char *name;
		enum spf_term_kind kind;
	} mechs[] = {
		{ "all", SPF_T_ALL }, { "include", SPF_T_INCLUDE },
		{ "a", SPF_T_A }, { "mx", SPF_T_MX }, { "ptr", SPF_T_PTR },
		{ "ip4", SPF_T_IP4 }, { "ip6", SPF_T_IP6 },
		{ "exists", SPF_T_EXISTS },
	};

	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == n &&
		    strncasecmp(mechs[i].name, name, n) == 0) {
			*k = mechs[i].kind;
			return 0;
		}
	return -1;
}

/* directive = [ qualifier ] mechanism (5) */
static int
spf_parse_directive(struct spf_term *t, const char *s, char *err,
    size_t errsize)
{
	static const char quals[] = "+-~?";
	static const enum spf_result qres[] = { SPF_PASS, SPF_FAIL,
	    SPF_SOFTFAIL, SPF_NEUTRAL };
	const char *q = strchr(quals, s[0]), *rest;
	size_t n, len;
	int r = 0;

	t->qualifier = SPF_PASS;
	if (q != NULL && s[0] != '\0') {
		t->qualifier = qres[q - quals];
		s++;
	}
	n = strcspn(s, ":/");
	if (spf_mech_kind(s, n, &t->kind) < 0) {
		(void)snprintf(err, errsize, "unknown mechanism \"%s\"",
		    t->text);
		return -1;
	}
	rest = s + n;
	len = strlen(rest);
	switch (t->kind) {
	case SPF_T_ALL:
		r = len == 0 ? 0 : -1;
		break;
	case SPF_T_INCLUDE:
	case SPF_T_EXISTS:
		r = spf_term_domain(t, rest, len, true);
		break;
	case SPF_T_PTR:
		r = spf_term_domain(t, rest, len, false);
		break;
	case SPF_T_A:
	case SPF_T_MX:
		if (spf_cidr_suffix(rest, &len, true, 128, &t->cidr6) < 0 ||
		    spf_cidr_suffix(rest, &len, false, 32, &t->cidr4) < 0)
			r = -1;
		else
			r = spf_term_domain(t, rest, len, false);
		break;
	default:
		r = spf_term_ip(t, rest, len, t->kind == SPF_T_IP6);
	}
	if (r < 0)
		(void)snprintf(err, errsize, "syntax error in \"%s\"",
		    t->text);
	return r;
}

/* modifier = redirect / explanation / unknown-modifier (6); returns 1
 * when s is not a modifier at all. */
static int
spf_parse_modifier(struct spf_record *rec, struct spf_term *t,
    const char *s, char *err, size_t errsize)
{
	size_t n = 0;
	const char *v;
	int r;

	if (!isalpha((unsigned char)s[0]))
		return 1;
	while (isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '_' ||
	    s[n] == '.')
		n++;
	if (s[n] != '=')
		return 1;
	v = s + n + 1;
	t->arg = v;
	t->arglen = strlen(v);
	t->kind = SPF_T_UNKNOWN_MOD;
	if (n == 8 && strncasecmp(s, "redirect", 8) == 0)
		t->kind = SPF_T_REDIRECT;
	else if (n == 3 && strncasecmp(s, "exp", 3) == 0)
		t->kind = SPF_T_EXP;
	if (t->kind == SPF_T_UNKNOWN_MOD)
		r = spf_macro_check(v, t->arglen, SPF_MACRO_DOMAIN);
	else if ((t->kind == SPF_T_REDIRECT ? rec->redirect : rec->exp) >= 0)
		r = -2;
	else
		r = spf_domain_spec_check(v, t->arglen);
	if (r == -2)
		(void)snprintf(err, errsize, "more than one %.*s= modifier",
		    (int)n, s);
	else if (r < 0)
		(void)snprintf(err, errsize, "syntax error in \"%s\"",
		    t->text);
	return r < 0 ? -1 : 0;
}

static int
spf_parse_term(struct spf_record *rec, char *s, char *err, size_t errsize)
{
	struct spf_term *t = &rec->terms[rec->n];
	int r;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->cidr4 = t->cidr6 = -1;
	r = spf_parse_modifier(rec, t, s, err, errsize);
	if (r == 1)
		r = spf_parse_directive(t, s, err, errsize);
	if (r < 0)
		return -1;
	if (t->kind == SPF_T_REDIRECT)
		rec->redirect = (int)rec->n;
	else if (t->kind == SPF_T_EXP)
		rec->exp = (int)rec->n;
	rec->n++;
	return 0;
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record *rec,
    char *err, size_t errsize)
{
	size_t nterms = 1;
	char *p, *sp;

	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
	if (!spf_record_is_spf(txt, len)) {
		(void)snprintf(err, errsize, "not an SPF record");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)txt[i] < 0x20 ||
		    (unsigned char)txt[i] > 0x7e) {
			(void)snprintf(err, errsize, "control or non-ASCII "
			    "character in the record");
			return -1;
		}
		nterms += txt[i] == ' ';
	}
	rec->buf = xstrndup(txt + 6, len - 6);
	rec->terms = xcalloc(nterms, sizeof(*rec->terms));
	for (p = rec->buf; *p != '\0'; p = sp) {
		if (*p == ' ') {
			sp = p + 1;
			continue;
		}
		sp = p + strcspn(p, " ");
		if (*sp == ' ')
			*sp++ = '\0';
		if (spf_parse_term(rec, p, err, errsize) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- evaluation */

enum spf_frame_via { SPF_VIA_TOP, SPF_VIA_INCLUDE, SPF_VIA_REDIRECT };

struct spf_frame {
	struct spf_record rec;
	char domain[SPF_DOMAIN_MAX + 3];
	size_t next;			/* the term being evaluated */
	enum spf_frame_via via;
};

struct spf_slot {
	struct spf_check *c;
	struct dns_query *q;
	enum dns_status st;
	bool match;
	uint16_t pref;
	char name[256];
};

/* What to do once %{p} (the validated names) is known. */
enum spf_resume { SPF_RESUME_RUN, SPF_RESUME_EXP_DOMAIN, SPF_RESUME_EXP_TEXT };

struct spf_check {
	struct event_base *base;
	struct dns *dns;
	spf_cb *cb;
	void *ctx;
	struct event *ev_done, *ev_deadline;

	/* the request */
	struct sockaddr_storage ip;
	uint8_t ipb[16];
	int family;
	char sender[SPF_SENDER_MAX], local[SPF_SENDER_MAX];
	char domain[SPF_DOMAIN_MAX + 3], helo[256], receiver[256];
	char istr[72], cstr[INET6_ADDRSTRLEN + 1];
	const char *v, *identity;
	time_t now;

	/* evaluation */
	unsigned lookups, voids;
	struct spf_frame frames[SPF_DEPTH_MAX];
	int depth;
	struct spf_slot slots[SPF_NAMES_MAX];
	unsigned pending, nslots;
	char target[SPF_DOMAIN_MAX + 3];

	/* validated names of the client (5.5), for ptr and %{p} */
	bool p_done;
	enum dns_status ptr_st;
	char vnames[SPF_NAMES_MAX][256];
	bool vvalid[SPF_NAMES_MAX];
	unsigned nvnames;
	enum spf_resume resume;

	/* the outcome */
	bool finished;
	enum spf_result result;
	char mechanism[256], problem[300];
	char path[SPF_PATH_MAX];	/* "d: include:x > x: ip4:..." */
	int path_depth;			/* depth path was taken at, -1 */
	char *exp_text;
	char explanation[SPF_EXPLAIN_MAX];
};

static void spf_run(struct spf_check *c);
static void spf_exp_start(struct spf_check *c);
static void spf_exp_text(struct spf_check *c);

/* ----------------------------------------------- lookups and endings */

static void
spf_abort_queries(struct spf_check *c)
{
	for (unsigned i = 0; i < SPF_NAMES_MAX; i++)
		if (c->slots[i].q != NULL)
			dns_query_abort(&c->slots[i].q);
	c->pending = 0;
}

static void
spf_lookup(struct spf_check *c, unsigned idx, const char *name, int type,
    dns_cb *cb)
{
	struct spf_slot *s = &c->slots[idx];

	s->c = c;
	s->st = DNS_OK;
	s->match = false;
	c->pending++;
	s->q = dns_lookup(c->dns, name, type, cb, s);
}

/* A slot's callback begins here: the handle is gone. */
static struct spf_check *
spf_slot_done(void *ctx, const struct dns_result *r)
{
	struct spf_slot *s = ctx;

	s->q = NULL;
	s->st = r->status;
	s->c->pending--;
	return s->c;
}

static void
spf_free_frames(struct spf_check *c)
{
	for (int i = 0; i <= c->depth && i < SPF_DEPTH_MAX; i++)
		spf_record_free(&c->frames[i].rec);
}

/* Hands the outcome over from the loop, never inline. */
static void
spf_deliver(struct spf_check *c)
{
	spf_abort_queries(c);
	if (c->ev_deadline != NULL)
		event_del(c->ev_deadline);
	event_active(c->ev_done, EV_TIMEOUT, 1);
}

static void
spf_finish(struct spf_check *c, enum spf_result res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the check; a fail fetches the explanation first (6.2). */
static void
spf_finish(struct spf_check *c, enum spf_result res, const char *fmt, ...)
{
	va_list ap;

	if (c->finished)
		return;
	c->finished = true;
	c->result = res;
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
		va_end(ap);
	}
	spf_abort_queries(c);
	if (res == SPF_FAIL && c->depth == 0 && c->frames[0].rec.exp >= 0)
		spf_exp_start(c);
	else
		spf_deliver(c);
}

static void
spf_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;
	struct spf_answer a;
	spf_cb *cb = c->cb;
	void *ctx = c->ctx;

	memset(&a, 0, sizeof(a));
	a.result = c->result;
	a.identity = c->identity;
	a.sender = c->sender;
	a.domain = c->domain;
	a.mechanism = c->mechanism;
	a.path = c->path;
	a.problem = c->problem;
	a.explanation = c->explanation;
	a.lookups = c->lookups;
	a.void_lookups = c->voids;
	c->cb = NULL;
	cb(&a, ctx);
	spf_check_abort(&c);
}

static void
spf_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;

	if (c->finished) {		/* fetching exp=: give up on it */
		spf_deliver(c);
		return;
	}
	spf_finish(c, SPF_TEMPERROR, "SPF evaluation took longer than %d "
	    "seconds", SPF_TIME_MAX_SEC);
}

/* 4.6.4: terms that query DNS, and void lookups.  0 or -1 (finished). */
static int
spf_count_lookup(struct spf_check *c)
{
	if (++c->lookups <= SPF_LOOKUP_MAX)
		return 0;
	spf_finish(c, SPF_PERMERROR, "more than %d DNS lookups",
	    SPF_LOOKUP_MAX);
	return -1;
}

static int
spf_count_void(struct spf_check *c, enum dns_status st)
{
	if (st != DNS_NXDOMAIN && st != DNS_NODATA)
		return 0;
	if (++c->voids <= SPF_VOID_MAX)
		return 0;
	spf_finish(c, SPF_PERMERROR, "more than %d void lookups",
	    SPF_VOID_MAX);
	return -1;
}

/* ---------------------------------------------------------- macros env */

static bool
spf_name_below(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n == d)
		return strncasecmp(name, domain, n) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strncasecmp(name + n - d, domain, d) == 0;
}

/* %{p} for <domain> d (7.3). */
static const char *
spf_pick_p(const struct spf_check *c, const char *d)
{
	for (int pass = 0; pass < 3; pass++)
		for (unsigned i = 0; i < c->nvnames; i++) {
			if (!c->vvalid[i])
				continue;
			if (pass == 2 || (pass == 0 &&
			    str_ieq(c->vnames[i], d)) || (pass == 1 &&
			    spf_name_below(c->vnames[i], d)))
				return c->vnames[i];
		}
	return NULL;
}

static void
spf_env(const struct spf_check *c, const char *d, struct spf_macro_env *e)
{
	memset(e, 0, sizeof(*e));
	e->s = c->sender;
	e->l = c->local;
	e->o = c->domain;
	e->d = d;
	e->h = c->helo;
	e->i = c->istr;
	e->c = c->cstr;
	e->v = c->v;
	e->p = c->p_done ? spf_pick_p(c, d) : NULL;
	e->r = c->receiver[0] != '\0' ? c->receiver : NULL;
	e->t = c->now;
}

/* The target of a term: its domain-spec expanded, or <domain>.  0, or -1
 * when the result cannot be asked of DNS. */
static int
spf_target(struct spf_check *c, const struct spf_term *t)
{
	const char *d = c->frames[c->depth].domain;
	struct spf_macro_env env;

	if (t->arglen == 0)
		return str_lcpy(c->target, d, sizeof(c->target)) <
		    sizeof(c->target) ? 0 : -1;
	spf_env(c, d, &env);
	if (spf_expand_domain(t->arg, t->arglen, &env, c->target,
	    sizeof(c->target)) < 0)
		return -1;
	return dns_name_valid(c->target) ? 0 : -1;
}

/* ------------------------------------------- validated names (5.5, 7.3) */

static bool
spf_addr_match(const struct spf_check *c, const struct sockaddr_storage *ss,
    int prefix)
{
	const uint8_t *a;
	int full, rest;

	if (ss->ss_family != c->family)
		return false;
	if (ss->ss_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	else
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a, c->ipb, (size_t)full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ c->ipb[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

static void
spf_validate_end(struct spf_check *c)
{
	for (unsigned i = 0; i < c->nvnames; i++)
		c->vvalid[i] = c->slots[i].match;
	c->p_done = true;
	switch (c->resume) {
	case SPF_RESUME_RUN:
		spf_run(c);
		break;
	case SPF_RESUME_EXP_DOMAIN:
		spf_exp_start(c);
		break;
	default:
		spf_exp_text(c);
	}
}

static void
spf_validate_addr_cb(const struct dns_result *r, void *ctx)
{
	struct spf_slot *s = ctx;
	struct spf_check *c = spf_slot_done(ctx, r);
	int full = c->family == AF_INET ? 32 : 128;

	for (size_t i = 0; i < r->n && r->status == DNS_OK; i++)
		if (spf_addr_match(c, &r->rr[i].addr, full))
			s->match = true;
	if (c->pending == 0)
		spf_validate_end(c);
}

static void
spf_validate_ptr_cb(const struct dns_result *r, void *ctx)
{
	struct spf_check *c = spf_slot_done(ctx, r);
	int type = c->family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	c->ptr_st = r->status;
	c->nvnames = 0;
	for (size_t i = 0; i < r->n && c->nvnames < SPF_NAMES_MAX; i++)
		if (r->rr[i].name[0] != '\0')
			str_lcpy(c->vnames[c->nvnames++], r->rr[i].name,
			    sizeof(c->vnames[0]));
	for (unsigned i = 0; i < c->nvnames; i++)
		spf_lookup(c, i, c->vnames[i], type, spf_validate_addr_cb);
	if (c->nvnames == 0)
		spf_validate_end(c);
}

/* Looks up the client's validated names, then resumes. */
static void
spf_validate(struct spf_check *c, enum spf_resume resume)
{
	char rev[128];

	c->resume = resume;
	if (dns_reverse_name((struct sockaddr *)&c->ip, NULL, rev,
	    sizeof(rev)) < 0) {
		c->ptr_st = DNS_NXDOMAIN;
		c->nvnames = 0;
		spf_validate_end(c);
		return;
	}
	spf_lookup(c, 0, rev, DNS_T_PTR, spf_validate_ptr_cb);
}

/* ---------------------------------------------------------- frames */

static void spf_match(struct spf_check *c, const struct spf_term *t);

/* The way to the term t that decided in the top frame: each frame's
 * domain and the include being evaluated there, then t. */
static void
spf_path_take(struct spf_check *c, const struct spf_term *t)
{
	size_t o = 0;
	int n;

	c->path[0] = '\0';
	c->path_depth = c->depth;
	for (int i = 0; i <= c->depth && o < sizeof(c->path); i++) {
		const struct spf_frame *f = &c->frames[i];
		const char *text = i < c->depth ?
		    f->rec.terms[f->next].text : t->text;

		n = snprintf(c->path + o, sizeof(c->path) - o, "%s%s: %s",
		    i > 0 ? " > " : "", f->domain, text);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* The record of the top frame is complete with result res (from term
 * t, or NULL: no mechanism matched). */
static void
spf_frame_result(struct spf_check *c, enum spf_result res,
    const struct spf_term *t)
{
	struct spf_frame *parent;

	/* The deepest match is the way in; an include that did not match
	 * (its record ended other than pass) leads nowhere. */
	if (t != NULL && c->path_depth < c->depth)
		spf_path_take(c, t);
	if (c->depth > 0 && res != SPF_PASS) {
		c->path[0] = '\0';
		c->path_depth = -1;
	}

	if (c->depth == 0) {
		str_lcpy(c->mechanism, t != NULL ? t->text : "default",
		    sizeof(c->mechanism));
		spf_finish(c, res, NULL);
		return;
	}
	spf_record_free(&c->frames[c->depth].rec);
	c->depth--;
	parent = &c->frames[c->depth];
	if (res == SPF_PASS) {		/* include matches (5.2) */
		spf_match(c, &parent->rec.terms[parent->next]);
		return;
	}
	parent->next++;
	spf_run(c);
}

static void
spf_match(struct spf_check *c, const struct spf_term *t)
{
	spf_frame_result(c, t->qualifier, t);
}

static void
spf_no_match(struct spf_check *c)
{
	c->frames[c->depth].next++;
	spf_run(c);
}

/* No SPF record at the top frame's domain. */
static void
spf_frame_none(struct spf_check *c)
{
	struct spf_frame *f = &c->frames[c->depth];

	if (f->via == SPF_VIA_REDIRECT)
		spf_finish(c, SPF_PERMERROR, "redirect=%s: no SPF record",
		    f->domain);
	else if (f->via == SPF_VIA_INCLUDE)
		spf_finish(c, SPF_PERMERROR, "include:%s: no SPF record",
		    f->domain);
	else
		spf_finish(c, SPF_NONE, NULL);
}

/* Record selection (4.5) and parsing (4.6). */
static void
spf_frame_txt_cb(const struct dns_result *r, void *ctx)
{
	struct spf_check *c = spf_slot_done(ctx, r);
	struct spf_frame *f = &c->frames[c->depth];
	const struct dns_rr *rec = NULL;
	char err[200];
	size_t n = 0;

	if (r->status == DNS_TEMPFAIL) {
		spf_finish(c, SPF_TEMPERROR, "DNS failure looking up the "
		    "TXT records of %s", f->domain);
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		if (spf_record_is_spf(r->rr[i].txt, r->rr[i].txt_len)) {
			rec = &r->rr[i];
			n++;
		}
	if (n == 0)
		spf_frame_none(c);
	else if (n > 1)
		spf_finish(c, SPF_PERMERROR, "%s has more than one SPF record",
		    f->domain);
	else if (spf_record_parse(rec->txt, rec->txt_len, &f->rec, err,
	    sizeof(err)) < 0)
		spf_finish(c, SPF_PERMERROR, "%s: %s", f->domain, err);
	else
		spf_run(c);
}

/* Evaluates check_host() for domain in a new (or the top) frame. */
static void
spf_frame_start(struct spf_check *c, int depth, const char *domain,
    enum spf_frame_via via)
{
	struct spf_frame *f = &c->frames[depth];

	spf_record_free(&f->rec);
	c->depth = depth;
	str_lcpy(f->domain, domain, sizeof(f->domain));
	f->next = 0;
	f->via = via;
	spf_lookup(c, 0, domain, DNS_T_TXT, spf_frame_txt_cb);
}

static bool
spf_multi_label(const char *d)
{
	const char *dot = strchr(d, '.');

	return dns_name_valid(d) && dot != NULL && dot[1] != '\0';
}

/* ---------------------------------------------------------- mechanisms */

static int
spf_prefix(const struct spf_check *c, const struct spf_term *t)
{
	if (c->family == AF_INET)
		return t->cidr4 >= 0 ? t->cidr4 : 32;
	return t->cidr6 >= 0 ? t->cidr6 : 128;
}

/* a and exists (5.3, 5.7). */
static void
spf_addr_cb(const struct dns_result *r, void *ctx)
{
	struct spf_check *c = spf_slot_done(ctx, r);
	struct spf_frame *f = &c->frames[c->depth];
	const struct spf_term *t = &f->rec.terms[f->next];

	if (r->status == DNS_TEMPFAIL) {
		spf_finish(c, SPF_TEMPERROR, "DNS failure looking up %s for "
		    "\"%s\"", r->qname, t->text);
		return;
	}
	if (spf_count_void(c, r->status) < 0)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (t->kind == SPF_T_EXISTS ||
		    spf_addr_match(c, &r->rr[i].addr, spf_prefix(c, t))) {
			spf_match(c, t);
			return;
		}
	spf_no_match(c);
}

/* mx: the MX names' addresses, judged in preference order (5.4). */
static void
spf_mx_addr_cb(const struct dns_result *r, void *ctx)
{
	struct spf_slot *s = ctx;
	struct spf_check *c = spf_slot_done(ctx, r);
	struct spf_frame *f = &c->frames[c->depth];
	const struct spf_term *t = &f->rec.terms[f->next];

	for (size_t i = 0; i < r->n && r->status == DNS_OK; i++)
		if (spf_addr_match(c, &r->rr[i].addr, spf_prefix(c, t)))
			s->match = true;
	if (c->pending > 0)
		return;
	for (unsigned i = 0; i < c->nslots; i++) {
		if (c->slots[i].st == DNS_TEMPFAIL) {
			spf_finish(c, SPF_TEMPERROR, "DNS failure looking up "
			    "%s for \"%s\"", c->slots[i].name, t->text);
			return;
		}
		if (c->slots[i].match) {
			spf_match(c, t);
			return;
		}
	}
	spf_no_match(c);
}

static int
spf_mx_cmp(const void *a, const void *b)
{
	const struct spf_slot *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->name, y->name);
}

static void
spf_mx_cb(const struct dns_result *r, void *ctx)
{
	struct spf_check *c = spf_slot_done(ctx, r);
	struct spf_frame *f = &c->frames[c->depth];
	const struct spf_term *t = &f->rec.terms[f->next];
	int type = c->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	unsigned n = 0;

	if (r->status == DNS_TEMPFAIL) {
		spf_finish(c, SPF_TEMPERROR, "DNS failure looking up the MX "
		    "of %s for \"%s\"", r->qname, t->text);
		return;
	}
	if (spf_count_void(c, r->status) < 0)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (r->rr[i].name[0] == '\0')
			continue;	/* null MX (RFC 7505) */
		if (n == SPF_NAMES_MAX) {
			spf_finish(c, SPF_PERMERROR, "more than %d MX names "
			    "for \"%s\"", SPF_NAMES_MAX, t->text);
			return;
		}
		c->slots[n].pref = r->rr[i].pref;
		str_lcpy(c->slots[n++].name, r->rr[i].name,
		    sizeof(c->slots[0].name));
	}
	qsort(c->slots, n, sizeof(c->slots[0]), spf_mx_cmp);
	c->nslots = n;
	for (unsigned i = 0; i < n; i++)
		spf_lookup(c, i, c->slots[i].name, type, spf_mx_addr_cb);
	if (n == 0)
		spf_no_match(c);
}

static void
spf_ptr_eval(struct spf_check *c, const struct spf_term *t)
{
	if (spf_count_void(c, c->ptr_st) < 0)
		return;
	for (unsigned i = 0; i < c->nvnames; i++)
		if (c->vvalid[i] && spf_name_below(c->vnames[i], c->target)) {
			spf_match(c, t);
			return;
		}
	spf_no_match(c);
}

static bool
spf_ip_match(const struct spf_check *c, const struct spf_term *t)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (t->kind == SPF_T_IP4) {
		ss.ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, t->net, 4);
		return spf_addr_match(c, &ss, t->cidr4 >= 0 ? t->cidr4 : 32);
	}
	ss.ss_family = AF_INET6;
	memcpy(((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, t->net, 16);
	return spf_addr_match(c, &ss, t->cidr6 >= 0 ? t->cidr6 : 128);
}

/* A term that queries DNS, counted (4.6.4), its target ready. */
static void
spf_dns_term(struct spf_check *c, const struct spf_term *t)
{
	int type = c->family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	switch (t->kind) {
	case SPF_T_INCLUDE:
		spf_frame_start(c, c->depth + 1, c->target, SPF_VIA_INCLUDE);
		break;
	case SPF_T_A:
		spf_lookup(c, 0, c->target, type, spf_addr_cb);
		break;
	case SPF_T_EXISTS:
		spf_lookup(c, 0, c->target, DNS_T_A, spf_addr_cb);
		break;
	case SPF_T_MX:
		spf_lookup(c, 0, c->target, DNS_T_MX, spf_mx_cb);
		break;
	default:
		spf_ptr_eval(c, t);
	}
}

/* Evaluates a term that needs DNS; false when it must wait for %{p}. */
static bool
spf_eval_dns_term(struct spf_check *c, const struct spf_term *t)
{
	bool need_p = t->kind == SPF_T_PTR ||
	    spf_macro_uses_p(t->arg, t->arglen);

	if (need_p && !c->p_done) {
		spf_validate(c, SPF_RESUME_RUN);
		return false;
	}
	if (spf_count_lookup(c) < 0)
		return true;
	if (spf_target(c, t) == 0 && (t->kind != SPF_T_INCLUDE ||
	    spf_multi_label(c->target))) {
		spf_dns_term(c, t);
		return true;
	}
	if (t->kind == SPF_T_INCLUDE)
		spf_finish(c, SPF_PERMERROR, "\"%s\": invalid target name",
		    t->text);
	else
		spf_no_match(c);
	return true;
}

/* No mechanism matched: redirect= (6.1), or neutral (4.7). */
static void
spf_frame_end(struct spf_check *c)
{
	struct spf_frame *f = &c->frames[c->depth];
	const struct spf_term *t;

	if (f->rec.redirect < 0) {
		spf_frame_result(c, SPF_NEUTRAL, NULL);
		return;
	}
	t = &f->rec.terms[f->rec.redirect];
	if (!c->p_done && spf_macro_uses_p(t->arg, t->arglen)) {
		spf_validate(c, SPF_RESUME_RUN);
		return;
	}
	if (spf_count_lookup(c) < 0)
		return;
	if (spf_target(c, t) < 0 || !spf_multi_label(c->target)) {
		spf_finish(c, SPF_PERMERROR, "\"%s\": invalid target name",
		    t->text);
		return;
	}
	spf_frame_start(c, c->depth, c->target, SPF_VIA_REDIRECT);
}

/* Runs the top frame's terms until one waits for DNS or decides. */
static void
spf_run(struct spf_check *c)
{
	for (;;) {
		struct spf_frame *f = &c->frames[c->depth];
		const struct spf_term *t;

		if (c->finished)
			return;
		if (f->next >= f->rec.n) {
			spf_frame_end(c);
			return;
		}
		t = &f->rec.terms[f->next];
		if (t->kind == SPF_T_ALL ||
		    ((t->kind == SPF_T_IP4 || t->kind == SPF_T_IP6) &&
		    spf_ip_match(c, t))) {
			spf_match(c, t);
			return;
		}
		if (t->kind == SPF_T_INCLUDE || t->kind == SPF_T_A ||
		    t->kind == SPF_T_MX || t->kind == SPF_T_PTR ||
		    t->kind == SPF_T_EXISTS) {
			(void)spf_eval_dns_term(c, t);
			return;
		}
		f->next++;		/* modifiers, unmatched ip4/ip6 */
	}
}

/* ---------------------------------------------------------- exp= (6.2) */

static void
spf_exp_cb(const struct dns_result *r, void *ctx)
{
	struct spf_check *c = spf_slot_done(ctx, r);
	const struct dns_rr *rr;

	if (r->status != DNS_OK || r->n != 1) {
		spf_deliver(c);
		return;
	}
	rr = &r->rr[0];
	for (size_t i = 0; i < rr->txt_len; i++)
		if ((unsigned char)rr->txt[i] < 0x20 ||
		    (unsigned char)rr->txt[i] > 0x7e) {
			spf_deliver(c);
			return;
		}
	c->exp_text = xstrndup(rr->txt, rr->txt_len);
	spf_exp_text(c);
}

static void
spf_exp_start(struct spf_check *c)
{
	const struct spf_term *t = &c->frames[0].rec.terms[c->frames[0].rec.exp];

	if (!c->p_done && spf_macro_uses_p(t->arg, t->arglen)) {
		spf_validate(c, SPF_RESUME_EXP_DOMAIN);
		return;
	}
	if (spf_target(c, t) < 0) {
		spf_deliver(c);
		return;
	}
	spf_lookup(c, 0, c->target, DNS_T_TXT, spf_exp_cb);
}

/* The explanation string, expanded (6.2, 7), printable ASCII only. */
static void
spf_exp_text(struct spf_check *c)
{
	struct spf_macro_env env;
	struct fbuf b;
	size_t len = strlen(c->exp_text);

	if (!c->p_done && spf_macro_uses_p(c->exp_text, len)) {
		spf_validate(c, SPF_RESUME_EXP_TEXT);
		return;
	}
	spf_env(c, c->frames[0].domain, &env);
	fbuf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(c->exp_text, len, SPF_MACRO_EXP, &env, &b) == 0) {
		str_lcpy(c->explanation, fbuf_str(&b), sizeof(c->explanation));
		for (char *p = c->explanation; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	fbuf_release(&b);
	spf_deliver(c);
}

/* ---------------------------------------------------------- start */

/* <ip>, with IPv4-mapped IPv6 as IPv4 (5.6). */
static int
spf_set_ip(struct spf_check *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->ip;

	memset(&c->ip, 0, sizeof(c->ip));
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, sin6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		memcpy(&c->ip, ss, ss->ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	else
		return -1;
	c->family = c->ip.ss_family;
	if (c->family == AF_INET)
		memcpy(c->ipb, &sin->sin_addr, 4);
	else
		memcpy(c->ipb, ((struct sockaddr_in6 *)&c->ip)->sin6_addr.s6_addr,
		    16);
	return spf_ip_strings((struct sockaddr *)&c->ip, c->istr,
	    sizeof(c->istr), c->cstr, sizeof(c->cstr), &c->v);
}

/* <sender>, its local-part and <domain> (4.3): the MAIL FROM identity,
 * or postmaster@HELO for the null path. */
static void
spf_set_sender(struct spf_check *c, const char *sender, const char *helo)
{
	const char *at;
	size_t n;

	str_lcpy(c->helo, helo != NULL ? helo : "", sizeof(c->helo));
	c->identity = sender[0] == '\0' ? "helo" : "mailfrom";
	if (sender[0] == '\0')
		(void)snprintf(c->sender, sizeof(c->sender), "postmaster@%s",
		    c->helo);
	else
		str_lcpy(c->sender, sender, sizeof(c->sender));
	if ((at = strrchr(c->sender, '@')) == NULL) {
		str_lcpy(c->local, "postmaster", sizeof(c->local));
		str_lcpy(c->domain, c->sender, sizeof(c->domain));
	} else {
		n = (size_t)(at - c->sender);
		(void)snprintf(c->local, sizeof(c->local), "%.*s", (int)n,
		    c->sender);
		if (n == 0)
			str_lcpy(c->local, "postmaster", sizeof(c->local));
		str_lcpy(c->domain, at + 1, sizeof(c->domain));
	}
	n = strlen(c->domain);
	if (n > 0 && c->domain[n - 1] == '.')
		c->domain[n - 1] = '\0';
}

/* 4.3: a malformed or single-label <domain> (or an address) is "none". */
static bool
spf_domain_ok(const char *d)
{
	const char *last = strrchr(d, '.');

	if (!spf_multi_label(d) || last == NULL)
		return false;
	for (last++; *last != '\0'; last++)
		if (!isdigit((unsigned char)*last))
			return true;
	return false;
}

struct spf_check *
spf_check_start(struct event_base *base, struct dns *dns,
    const struct spf_request *req, spf_cb *cb, void *ctx)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { SPF_TIME_MAX_SEC, 0 };

	c->path_depth = -1;
	c->base = base;
	c->dns = dns;
	c->cb = cb;
	c->ctx = ctx;
	c->now = req->now != 0 ? req->now : time(NULL);
	for (int i = 0; i < SPF_DEPTH_MAX; i++)
		spf_record_free(&c->frames[i].rec);
	str_lcpy(c->receiver, req->receiver != NULL ? req->receiver : "",
	    sizeof(c->receiver));
	spf_set_sender(c, req->sender != NULL ? req->sender : "", req->helo);
	c->ev_done = evtimer_new(base, spf_done_cb, c);
	c->ev_deadline = evtimer_new(base, spf_deadline_cb, c);
	if (c->ev_done == NULL || c->ev_deadline == NULL)
		abort();
	if (spf_set_ip(c, &req->ip) < 0) {
		spf_finish(c, SPF_PERMERROR, "no client address");
		return c;
	}
	if (!spf_domain_ok(c->domain)) {
		spf_finish(c, SPF_NONE, "\"%s\" is not a domain name",
		    c->domain);
		return c;
	}
	evtimer_add(c->ev_deadline, &tv);
	spf_frame_start(c, 0, c->domain, SPF_VIA_TOP);
	return c;
}

void
spf_check_abort(struct spf_check **cp)
{
	struct spf_check *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	spf_abort_queries(c);
	if (c->ev_done != NULL)
		event_free(c->ev_done);
	if (c->ev_deadline != NULL)
		event_free(c->ev_deadline);
	spf_free_frames(c);
	free(c->exp_text);
	free(c);
}
