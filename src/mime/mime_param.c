/* Content-Type and Content-Disposition values (RFC 2045 section 5.1,
 * RFC 2183) with their parameters, and RFC 2231 continuations
 * ("name*0=", "name*1*=") and charsets ("name*=utf-8'en'%E2%82%AC").
 * Tolerant: comments anywhere, unquoted values with odd octets, a bad
 * parameter skipped up to the next ';'.  A parameter given both the
 * RFC 2231 way and plainly keeps the RFC 2231 value.  No I/O. */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

#define MIME_PARAMS_MAX 64
#define MIME_RAW_PARAMS_MAX 256
#define MIME_SECTION_MAX 999

struct mime_rawparam {
	char *base;		/* lowercase name without "*..." */
	int section;		/* -1: none */
	bool ext;		/* trailing '*': charset'lang'%XX */
	char *value;
};

/* The parameters as written, grown as they come (most values have one
 * or two: a fixed table of MIME_RAW_PARAMS_MAX cleared for every value
 * cost more than the parsing). */
struct mime_rawlist {
	struct mime_rawparam *v;
	size_t n, cap;
};

char *
mime_lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);

	/* xstrndup stops at a NUL: d may be shorter than n */
	for (size_t i = 0; d[i] != '\0'; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] + 32);
	return d;
}

static size_t
mime_param_cfws(const char *v, size_t len, size_t i)
{
	while (i < len) {
		if (v[i] == '(')
			i = mime_skip_comment(v, len, i);
		else if (mime_is_wsp(v[i]))
			i++;
		else
			break;
	}
	return i;
}

/* RFC 2045 token characters, minus what ends a value. */
static bool
mime_param_tokenc(char c)
{
	return (unsigned char)c > 32 && c != 127 && strchr("()<>@,;:\\\"/[]?=",
	    c) == NULL;
}

static size_t
mime_param_token(const char *v, size_t len, size_t i)
{
	while (i < len && mime_param_tokenc(v[i]))
		i++;
	return i;
}

/* "name*2*" into base, section and ext. */
static void
mime_param_name(const char *s, size_t n, struct mime_rawparam *p)
{
	size_t star = 0;
	long sec = -1;

	while (star < n && s[star] != '*')
		star++;
	p->base = mime_lower_dup(s, star);
	p->section = -1;
	p->ext = false;
	if (star >= n)
		return;
	if (star + 1 == n) {
		p->ext = true;
		return;
	}
	/* "*<digits>" and maybe "*" */
	sec = 0;
	for (size_t k = star + 1; k < n; k++) {
		if (s[k] >= '0' && s[k] <= '9' && sec <= MIME_SECTION_MAX)
			sec = sec * 10 + (s[k] - '0');
		else if (s[k] == '*' && k + 1 == n)
			p->ext = true;
		else
			sec = MIME_SECTION_MAX + 1;
	}
	p->section = sec > MIME_SECTION_MAX ? MIME_SECTION_MAX : (int)sec;
}

/* One "name=value" at v[i]; the index after it.  Appends to raw. */
static size_t
mime_param_one(const char *v, size_t len, size_t i, struct mime_rawlist *raw)
{
	size_t ns, ne;
	struct fbuf val;

	ns = i;
	ne = i = mime_param_token(v, len, i);
	i = mime_param_cfws(v, len, i);
	if (ne == ns || i >= len || v[i] != '=')
		return i;
	i = mime_param_cfws(v, len, i + 1);
	fbuf_init(&val, 0);
	if (i < len && v[i] == '"')
		i = mime_unquote(v, len, i, &val);
	else {
		size_t vs = i;

		while (i < len && v[i] != ';' && !mime_is_wsp(v[i]) &&
		    v[i] != '(')
			i++;
		fbuf_add(&val, v + vs, i - vs);
	}
	if (raw->n >= MIME_RAW_PARAMS_MAX) {
		fbuf_release(&val);
		return i;
	}
	if (raw->n == raw->cap) {
		raw->cap = raw->cap == 0 ? 4 : raw->cap * 2;
		raw->v = xreallocarray(raw->v, raw->cap, sizeof(*raw->v));
	}
	mime_param_name(v + ns, ne - ns, &raw->v[raw->n]);
	raw->v[raw->n++].value = fbuf_steal(&val);
	return i;
}

/* %XX decoding of an extended piece. */
static void
mime_param_pct(const char *s, struct fbuf *out)
{
	int h, l;

	for (; *s != '\0'; s++) {
		if (*s == '%' && (h = str_hexval(s[1])) >= 0 &&
		    (l = str_hexval(s[2])) >= 0) {
			fbuf_addc(out, (char)(h * 16 + l));
			s += 2;
		} else
			fbuf_addc(out, *s);
	}
}

static int
mime_param_seccmp(const void *a, const void *b)
{
	const struct mime_rawparam *x = *(struct mime_rawparam *const *)a;
	const struct mime_rawparam *y = *(struct mime_rawparam *const *)b;

	return x->section - y->section;
}

/* Joins the RFC 2231 pieces v[0..n) (sorted) into p. */
static void
mime_param_join(struct mime_rawparam **v, size_t n, struct mime_param *p)
{
	struct fbuf octets, utf8;
	const char *s, *q1, *q2;

	fbuf_init(&octets, 0);
	for (size_t k = 0; k < n; k++) {
		s = v[k]->value;
		if (k == 0 && v[k]->ext && (q1 = strchr(s, '\'')) != NULL &&
		    (q2 = strchr(q1 + 1, '\'')) != NULL) {
			if (q1 > s)
				p->charset = xstrndup(s, (size_t)(q1 - s));
			if (q2 > q1 + 1)
				p->language = xstrndup(q1 + 1,
				    (size_t)(q2 - q1 - 1));
			s = q2 + 1;
		}
		if (v[k]->ext)
			mime_param_pct(s, &octets);
		else
			fbuf_adds(&octets, s);
	}
	fbuf_init(&utf8, 0);
	if (p->charset != NULL && mime_charset_to_utf8(p->charset,
	    octets.data, octets.len, &utf8) == 0) {
		p->value = fbuf_steal(&utf8);
		fbuf_release(&octets);
	} else {
		p->value = fbuf_steal(&octets);
		fbuf_release(&utf8);
	}
}

/* Builds out->params from raw, grouping by base name. */
static void
mime_param_build(struct mime_rawparam *raw, size_t nraw,
    struct mime_value *out)
{
	struct mime_rawparam **grp = xcalloc(nraw + 1, sizeof(*grp));
	struct mime_rawparam *plain;
	size_t ng;

	/* one per base name: never more than the raw ones */
	out->params = xcalloc(nraw < MIME_PARAMS_MAX ? nraw + 1 :
	    MIME_PARAMS_MAX, sizeof(*out->params));
	for (size_t i = 0; i < nraw && out->nparams < MIME_PARAMS_MAX; i++) {
		if (raw[i].base == NULL)
			continue;	/* taken by an earlier group */
		ng = 0;
		plain = NULL;
		for (size_t j = i; j < nraw; j++) {
			if (raw[j].base == NULL ||
			    strcmp(raw[j].base, raw[i].base) != 0)
				continue;
			if (raw[j].section >= 0 || raw[j].ext)
				grp[ng++] = &raw[j];
			else if (plain == NULL)
				plain = &raw[j];
		}
		struct mime_param *p = &out->params[out->nparams++];

		p->name = xstrdup(raw[i].base);
		if (ng > 0) {
			qsort(grp, ng, sizeof(*grp), mime_param_seccmp);
			mime_param_join(grp, ng, p);
		} else
			p->value = xstrdup(plain->value);
		for (size_t j = nraw; j-- > i;)
			if (raw[j].base != NULL && j != i &&
			    strcmp(raw[j].base, p->name) == 0) {
				free(raw[j].base);
				raw[j].base = NULL;
			}
	}
	free(grp);
}

void
mime_value_parse(const char *v, size_t len, bool want_subtype,
    struct mime_value *out)
{
	struct mime_rawlist raw = { NULL, 0, 0 };
	size_t i, s;

	memset(out, 0, sizeof(*out));
	i = mime_param_cfws(v, len, 0);
	s = i;
	i = mime_param_token(v, len, i);
	if (i > s)
		out->type = mime_lower_dup(v + s, i - s);
	if (want_subtype) {
		i = mime_param_cfws(v, len, i);
		if (i < len && v[i] == '/') {
			i = mime_param_cfws(v, len, i + 1);
			s = i;
			i = mime_param_token(v, len, i);
			if (i > s)
				out->subtype = mime_lower_dup(v + s, i - s);
		}
		if (out->type == NULL || out->subtype == NULL) {
			free(out->type);
			free(out->subtype);
			out->type = out->subtype = NULL;
		}
	}
	while (i < len) {
		/* up to the next ';', then one parameter */
		while (i < len && v[i] != ';') {
			if (v[i] == '"')
				i = mime_unquote(v, len, i, NULL);
			else if (v[i] == '(')
				i = mime_skip_comment(v, len, i);
			else
				i++;
		}
		if (i >= len)
			break;
		i = mime_param_cfws(v, len, i + 1);
		i = mime_param_one(v, len, i, &raw);
	}
	mime_param_build(raw.v, raw.n, out);
	for (i = 0; i < raw.n; i++) {
		free(raw.v[i].base);
		free(raw.v[i].value);
	}
	free(raw.v);
}

void
mime_value_free(struct mime_value *v)
{
	for (size_t i = 0; i < v->nparams; i++) {
		free(v->params[i].name);
		free(v->params[i].value);
		free(v->params[i].charset);
		free(v->params[i].language);
	}
	free(v->params);
	free(v->type);
	free(v->subtype);
	memset(v, 0, sizeof(*v));
}

const char *
mime_value_param(const struct mime_value *v, const char *name)
{
	for (size_t i = 0; i < v->nparams; i++)
		if (strcmp(v->params[i].name, name) == 0)
			return v->params[i].value;
	return NULL;
}
