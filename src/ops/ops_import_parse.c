/* Parsers for the files of a vpopmail tree (ops_import_parse.h): vpasswd
 * (vpopmail's passwd-like user file), its quota field, qmail's .qmail
 * files (dot-qmail(5): comment, program, mbox, Maildir and forward
 * lines) with their file names, and the UID lists of Courier-IMAP and
 * Dovecot.  No I/O and no allocation beyond the results; every limit is
 * explicit, since a tree taken over from another host is hostile input
 * like anything else.  It does not decide what the import does with a
 * line: ops_import.c maps the results and reports what it cannot. */
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_import_parse.h"

#define OPS_UIDMAP_MAX 1000000

/* Copies field [s, s + n) into dst (size bytes).  -1 when too long. */
static int
ops_vpw_field(const char *s, size_t n, char *dst, size_t size)
{
	if (n >= size)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
ops_vpw_number(const char *s, unsigned long *r)
{
	uint64_t v;

	if (str_parse_uint(s, 0, 0xffffffffUL, &v) < 0)
		return -1;
	*r = (unsigned long)v;
	return 0;
}

/* Splits line at ':' into at most 8 fields (the 8th takes the rest). */
static size_t
ops_vpw_split(const char *line, size_t len, const char *start[8],
    size_t flen[8])
{
	size_t nf = 0, i, from = 0;

	for (i = 0; i <= len && nf < 8; i++) {
		if (i < len && (line[i] != ':' || nf == 7))
			continue;
		start[nf] = line + from;
		flen[nf++] = i - from;
		from = i + 1;
	}
	if (nf == 8)
		flen[7] = len - (size_t)(start[7] - line);
	return nf;
}

int
ops_vpw_parse(const char *line, size_t len, struct ops_vpw *e,
    const char **error_r)
{
	const char *f[8];
	size_t fl[8], nf;
	char num[32];

	memset(e, 0, sizeof(*e));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > OPS_VPW_LINE_MAX)
		return *error_r = "line too long", -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return *error_r = "control character", -1;
	nf = ops_vpw_split(line, len, f, fl);
	if (nf < 7)
		return *error_r = "fewer than 7 fields", -1;
	if (ops_vpw_field(f[0], fl[0], e->name, sizeof(e->name)) < 0 ||
	    ops_vpw_field(f[1], fl[1], e->hash, sizeof(e->hash)) < 0 ||
	    ops_vpw_field(f[4], fl[4], e->gecos, sizeof(e->gecos)) < 0 ||
	    ops_vpw_field(f[5], fl[5], e->dir, sizeof(e->dir)) < 0 ||
	    ops_vpw_field(f[6], fl[6], e->quota, sizeof(e->quota)) < 0 ||
	    (nf == 8 && ops_vpw_field(f[7], fl[7], e->clear,
	    sizeof(e->clear)) < 0))
		return *error_r = "field too long", -1;
	if (e->name[0] == '\0' || e->name[0] == '.' ||
	    strpbrk(e->name, "/@ \t") != NULL)
		return *error_r = "invalid user name", -1;
	if (ops_vpw_field(f[2], fl[2], num, sizeof(num)) < 0 ||
	    ops_vpw_number(num, &e->uid) < 0 ||
	    ops_vpw_field(f[3], fl[3], num, sizeof(num)) < 0 ||
	    ops_vpw_number(num, &e->flags) < 0)
		return *error_r = "uid or gid not a number", -1;
	return 0;
}

/* "<digits>" with an optional unit letter: -1 on overflow or junk. */
static int
ops_vpw_quota_part(const char *s, size_t n, uint64_t *v_r, char *unit_r)
{
	uint64_t v = 0;
	size_t i;

	*unit_r = '\0';
	if (n > 0 && (s[n - 1] == 'S' || s[n - 1] == 's' ||
	    s[n - 1] == 'C' || s[n - 1] == 'c'))
		*unit_r = (char)(s[--n] & ~0x20);
	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -1;
	}
	*v_r = v;
	return 0;
}

int
ops_vpw_quota(const char *s, uint64_t *bytes_r, uint64_t *count_r,
    const char **error_r)
{
	const char *p = s, *comma;
	uint64_t v;
	char unit;

	*bytes_r = *count_r = 0;
	if (s[0] == '\0' || str_ieq(s, "NOQUOTA"))
		return 0;
	for (int part = 0; part < 2 && *p != '\0'; part++) {
		comma = strchr(p, ',');
		if (ops_vpw_quota_part(p, comma != NULL ? (size_t)(comma - p) :
		    strlen(p), &v, &unit) < 0)
			return *error_r = "invalid quota", -1;
		if (unit == 'C')
			*count_r = v;
		else
			*bytes_r = v;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
	return *error_r = "invalid quota", -1;
}

static void
ops_dq_add(struct ops_dotqmail *q, enum ops_dq_kind kind, unsigned line,
    const char *arg, size_t n)
{
	q->v = xreallocarray(q->v, q->n + 1, sizeof(*q->v));
	q->v[q->n].kind = kind;
	q->v[q->n].line = line;
	q->v[q->n].arg = xstrndup(arg, n);
	q->n++;
}

/* Next shell-like word of a command (single or double quotes, no
 * escapes): copied into dst, *pp moved past it.  0, or -1 at the end. */
static int
ops_dq_word(const char **pp, const char *end, char *dst, size_t size)
{
	const char *p = *pp;
	size_t n = 0;
	char quote = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (quote == 0 && (*p == ' ' || *p == '\t'))
			break;
		if (quote == 0 && (*p == '\'' || *p == '"')) {
			quote = *p;
			continue;
		}
		if (quote != 0 && *p == quote) {
			quote = 0;
			continue;
		}
		if (n + 1 < size)
			dst[n++] = *p;
	}
	dst[n] = '\0';
	*pp = p;
	return 0;
}

/* "|cmd": vdelivermail with its second argument, or another program. */
static void
ops_dq_program(struct ops_dotqmail *q, unsigned line, const char *s,
    size_t n)
{
	const char *p = s, *end = s + n, *base;
	char word[OPS_DQ_LINE_MAX];

	if (ops_dq_word(&p, end, word, sizeof(word)) == 0) {
		base = strrchr(word, '/');
		base = base != NULL ? base + 1 : word;
		if (strcmp(base, "vdelivermail") == 0 &&
		    ops_dq_word(&p, end, word, sizeof(word)) == 0 &&
		    ops_dq_word(&p, end, word, sizeof(word)) == 0) {
			ops_dq_add(q, OPS_DQ_VDELIVER, line, word,
			    strlen(word));
			return;
		}
	}
	ops_dq_add(q, OPS_DQ_PROGRAM, line, s, n);
}

static int
ops_dq_line(struct ops_dotqmail *q, unsigned line, const char *s, size_t n,
    const char **error_r)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	if (n > OPS_DQ_LINE_MAX)
		return *error_r = "line too long", -1;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return *error_r = "control character", -1;
	if (n == 0 || s[0] == '#')
		return 0;
	if (s[0] == '|') {
		if (n == 1)
			return *error_r = "empty command", -1;
		ops_dq_program(q, line, s + 1, n - 1);
	} else if (s[0] == '/' || s[0] == '.')
		ops_dq_add(q, s[n - 1] == '/' ? OPS_DQ_MAILDIR : OPS_DQ_MBOX,
		    line, s, n);
	else if (s[0] == '&') {
		if (n == 1)
			return *error_r = "empty forward", -1;
		ops_dq_add(q, OPS_DQ_FORWARD, line, s + 1, n - 1);
	} else
		ops_dq_add(q, OPS_DQ_FORWARD, line, s, n);
	return 0;
}

int
ops_dotqmail_parse(const char *text, size_t len, struct ops_dotqmail *q,
    const char **error_r)
{
	const char *p = text, *end = text + len, *nl;
	unsigned line = 0;

	memset(q, 0, sizeof(*q));
	while (p < end) {
		if (++line > OPS_DQ_LINES_MAX) {
			*error_r = "too many lines";
			goto fail;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			*error_r = "NUL octet";
			goto fail;
		}
		if (ops_dq_line(q, line, p, (size_t)(nl - p), error_r) < 0)
			goto fail;
		p = nl + 1;
	}
	return 0;
fail:
	ops_dotqmail_free(q);
	return -1;
}

void
ops_dotqmail_free(struct ops_dotqmail *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[i].arg);
	free(q->v);
	q->v = NULL;
	q->n = 0;
}

int
ops_dotqmail_name(const char *name, char *dst, size_t size)
{
	static const char pre[] = ".qmail-", dflt[] = "-default";
	size_t n, plen = sizeof(pre) - 1, dlen = sizeof(dflt) - 1;
	int kind = OPS_DQN_LOCAL;

	if (strncmp(name, pre, plen) != 0)
		return -1;
	name += plen;
	n = strlen(name);
	if (strcmp(name, "default") == 0) {
		if (size > 0)
			dst[0] = '\0';
		return OPS_DQN_DEFAULT;
	}
	if (n > dlen && strcmp(name + n - dlen, dflt) == 0) {
		n -= dlen;
		kind = OPS_DQN_WILDCARD;
	}
	if (n == 0 || n >= size || n > 64)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@' ||
		    c == '"' || c == '\\' || c == ',' || c == '<' || c == '>')
			return -1;
		dst[i] = c == ':' ? '.' : (char)c;
	}
	dst[n] = '\0';
	if (dst[0] == '.' || dst[n - 1] == '.' || strstr(dst, "..") != NULL)
		return -1;
	str_lower(dst);
	return kind;
}

bool
ops_import_msgname_ok(const char *name)
{
	size_t n = strlen(name), colons = 0;

	if (n == 0 || n > 255 || name[0] == '.' || name[0] == ':')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == '/')
			return false;
		if (c == ':')
			colons++;
	}
	return colons <= 1;
}

static int
ops_uidmap_cmp(const void *a, const void *b)
{
	const struct ops_uidmap_entry *x = a, *y = b;

	return strcmp(x->base, y->base);
}

static int
ops_uidmap_cmp_uid(const void *a, const void *b)
{
	const struct ops_uidmap_entry *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* A decimal 32-bit number of n octets (no sign, no junk): 0 when bad. */
static uint32_t
ops_uidmap_num(const char *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v > 0xffffffffULL ? 0 : (uint32_t)v;
}

/* Header: version 1 and 2 "<v> <validity> <next>", 3 "3 V.. N.. ...". */
static int
ops_uidmap_header(const char *s, size_t n, struct ops_uidmap *m,
    int *version_r)
{
	const char *p = s, *end = s + n, *w;
	int field = 0;

	if (n < 2 || (s[0] != '1' && s[0] != '2' && s[0] != '3') ||
	    s[1] != ' ')
		return -1;
	*version_r = s[0] - '0';
	for (p = s + 2; p < end; p = w + 1) {
		w = memchr(p, ' ', (size_t)(end - p));
		if (w == NULL)
			w = end;
		if (*version_r != 3) {
			if (field == 0)
				m->uidvalidity = ops_uidmap_num(p,
				    (size_t)(w - p));
			else if (field == 1)
				m->next_uid = ops_uidmap_num(p,
				    (size_t)(w - p));
		} else if (w > p && *p == 'V')
			m->uidvalidity = ops_uidmap_num(p + 1,
			    (size_t)(w - p - 1));
		else if (w > p && *p == 'N')
			m->next_uid = ops_uidmap_num(p + 1,
			    (size_t)(w - p - 1));
		field++;
	}
	return m->uidvalidity != 0 && m->next_uid != 0 ? 0 : -1;
}

/* One entry line: its UID and name, or nothing when malformed. */
static void
ops_uidmap_entry(struct ops_uidmap *m, int version, const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n), *name;
	size_t nlen, blen;
	uint32_t uid;
	char *base;

	if (sp == NULL)
		return;
	if (version == 2) {
		const char *last = s + n;

		while (last > s && last[-1] != ' ')
			last--;
		uid = ops_uidmap_num(last, (size_t)(s + n - last));
		name = s;
		nlen = (size_t)(sp - s);
	} else {
		uid = ops_uidmap_num(s, (size_t)(sp - s));
		if (version == 3) {
			name = memmem(s, n, " :", 2);
			if (name == NULL)
				return;
			name += 2;
		} else
			name = sp + 1;
		nlen = (size_t)(s + n - name);
	}
	if (uid == 0 || uid >= m->next_uid || nlen == 0 || nlen > 255)
		return;
	base = xstrndup(name, nlen);
	blen = strcspn(base, ":");
	base[blen] = '\0';
	if (!ops_import_msgname_ok(base) || m->n >= OPS_UIDMAP_MAX) {
		free(base);
		return;
	}
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	m->v[m->n].base = base;
	m->v[m->n++].uid = uid;
}

/* Drops every entry whose UID or name another entry has too. */
static void
ops_uidmap_dedupe(struct ops_uidmap *m)
{
	size_t i, j, k = 0;
	bool *drop;

	if (m->n == 0)
		return;
	drop = xcalloc(m->n, sizeof(*drop));
	qsort(m->v, m->n, sizeof(*m->v), ops_uidmap_cmp_uid);
	for (i = 1; i < m->n; i++)
		if (m->v[i].uid == m->v[i - 1].uid)
			drop[i] = drop[i - 1] = true;
	for (i = 0; i < m->n; i++) {
		if (drop[i])
			free(m->v[i].base);
		else
			m->v[k++] = m->v[i];
	}
	m->n = k;
	qsort(m->v, m->n, sizeof(*m->v), ops_uidmap_cmp);
	memset(drop, 0, m->n * sizeof(*drop));
	for (i = 1; i < m->n; i++)
		if (strcmp(m->v[i].base, m->v[i - 1].base) == 0)
			drop[i] = drop[i - 1] = true;
	for (i = 0, j = 0; i < m->n; i++) {
		if (drop[i])
			free(m->v[i].base);
		else
			m->v[j++] = m->v[i];
	}
	m->n = j;
	free(drop);
}

int
ops_uidmap_parse(const char *text, size_t len, struct ops_uidmap *m,
    const char **error_r)
{
	const char *p = text, *end = text + len, *nl;
	int version = 0;
	bool first = true;

	memset(m, 0, sizeof(*m));
	if (memchr(text, '\0', len) != NULL)
		return *error_r = "NUL octet", -1;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (first) {
			if (ops_uidmap_header(p, (size_t)(nl - p), m,
			    &version) < 0) {
				ops_uidmap_free(m);
				return *error_r = "bad header", -1;
			}
			first = false;
		} else
			ops_uidmap_entry(m, version, p, (size_t)(nl - p));
	}
	if (first)
		return *error_r = "empty file", -1;
	ops_uidmap_dedupe(m);
	return 0;
}

uint32_t
ops_uidmap_find(const struct ops_uidmap *m, const char *base, size_t n)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(m->v[mid].base, base, n);

		if (c == 0 && m->v[mid].base[n] != '\0')
			c = 1;
		if (c == 0)
			return m->v[mid].uid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void
ops_uidmap_free(struct ops_uidmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].base);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
