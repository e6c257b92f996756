/* SORT without I/O (imap_sort.h): the base subject of RFC 5256 section
 * 2.1, the per-message sort record (first Date, Subject, From, To, Cc,
 * Message-ID and References/In-Reply-To of a header, through
 * src/mime/), its blob form for the mailbox index, the criteria of RFC
 * 5256 section 3 and RFC 5957, and the sort itself.  Strings compare
 * byte by byte after ASCII upper-casing, which is i;ascii-casemap; the
 * display names of RFC 5957 use the same collation. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_sort.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"

#define IMAP_MSGKEY_MAGIC "FSK2"

static void
imap_ascii_upper(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 32);
}

static bool
imap_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP: the end of it, or NULL. */
static const char *
imap_subj_blob(const char *p, const char *e)
{
	if (p >= e || *p != '[')
		return NULL;
	for (p++; p < e && *p != ']'; p++)
		if (*p == '[')
			return NULL;
	if (p >= e)
		return NULL;
	for (p++; p < e && *p == ' '; p++)
		;
	return p;
}

/* subj-refwd after any number of blobs: the end of the leader, or NULL. */
static const char *
imap_subj_refwd(const char *p, const char *e)
{
	const char *q;

	while ((q = imap_subj_blob(p, e)) != NULL)
		p = q;
	if (e - p >= 2 && memcmp(p, "RE", 2) == 0)
		p += 2;
	else if (e - p >= 2 && memcmp(p, "FW", 2) == 0) {
		p += 2;
		if (p < e && *p == 'D')
			p++;
	} else
		return NULL;
	while (p < e && *p == ' ')
		p++;
	if ((q = imap_subj_blob(p, e)) != NULL)
		p = q;
	return p < e && *p == ':' ? p + 1 : NULL;
}

/* Steps (3) to (5): leaders and blobs off the front of [*sp, e). */
static void
imap_subj_leaders(const char **sp, const char *e, bool *reply)
{
	const char *s = *sp, *q;
	bool changed = true;

	while (changed) {
		changed = false;
		for (;;) {
			if (s < e && *s == ' ')
				q = s + 1;
			else if ((q = imap_subj_refwd(s, e)) != NULL)
				*reply = true;
			else
				break;
			s = q;
			changed = true;
		}
		if ((q = imap_subj_blob(s, e)) != NULL && q < e) {
			s = q;
			changed = true;
		}
	}
	*sp = s;
}

void
imap_base_subject(const char *v, size_t len, struct fbuf *out,
    bool *reply_r)
{
	struct fbuf dec, sp;
	const char *s, *e;
	bool reply = false;

	fbuf_init(&dec, 0);
	fbuf_init(&sp, 0);
	mime_encword_decode(v, len, &dec);
	/* (1) white space runs become one space; NULs go */
	for (size_t i = 0; i < dec.len; i++) {
		char c = dec.data[i];

		if (c == '\0')
			continue;
		if (imap_wsp(c)) {
			if (sp.len > 0 && sp.data[sp.len - 1] == ' ')
				continue;
			c = ' ';
		}
		fbuf_addc(&sp, c);
	}
	imap_ascii_upper(sp.data, sp.len);
	s = fbuf_str(&sp);
	e = s + sp.len;
	for (;;) {
		/* (2) trailers */
		for (;;) {
			if (e > s && e[-1] == ' ')
				e--;
			else if (e - s >= 5 && memcmp(e - 5, "(FWD)", 5) == 0) {
				e -= 5;
				reply = true;
			} else
				break;
		}
		imap_subj_leaders(&s, e, &reply);
		/* (6) "[fwd: subject]" */
		if (e - s >= 6 && memcmp(s, "[FWD:", 5) == 0 && e[-1] == ']') {
			s += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	fbuf_add(out, s, (size_t)(e - s));
	fbuf_release(&dec);
	fbuf_release(&sp);
	*reply_r = reply;
}

/* ---- the sort record ---- */

struct imap_msgkey_fields {
	char *date, *subject, *from, *to, *cc, *msgid, *refs, *irt;
};

static void
imap_msgkey_field(void *ctx, const struct mime_field *f)
{
	struct imap_msgkey_fields *h = ctx;
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
		{ "Date", offsetof(struct imap_msgkey_fields, date) },
		{ "Subject", offsetof(struct imap_msgkey_fields, subject) },
		{ "From", offsetof(struct imap_msgkey_fields, from) },
		{ "To", offsetof(struct imap_msgkey_fields, to) },
		{ "Cc", offsetof(struct imap_msgkey_fields, cc) },
		{ "Message-ID", offsetof(struct imap_msgkey_fields, msgid) },
		{ "References", offsetof(struct imap_msgkey_fields, refs) },
		{ "In-Reply-To", offsetof(struct imap_msgkey_fields, irt) },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char **slot = (char **)((char *)h + want[i].off);

		if (*slot == NULL && mime_field_is(f, want[i].name)) {
			*slot = xmalloc(f->value_len + 1);
			memcpy(*slot, f->value, f->value_len);
			(*slot)[f->value_len] = '\0';
			return;
		}
	}
}

/* A string without NULs, white space runs trimmed at both ends,
 * upper-cased. */
static char *
imap_msgkey_str(const char *p, size_t n)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	while (n > 0 && imap_wsp(*p)) {
		p++;
		n--;
	}
	while (n > 0 && imap_wsp(p[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			fbuf_addc(&b, imap_wsp(p[i]) ? ' ' : p[i]);
	imap_ascii_upper(b.data, b.len);
	return fbuf_steal(&b);
}

/* The local part without its quotes and quoting backslashes. */
static char *
imap_msgkey_mailbox(const char *m)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	for (; m != NULL && *m != '\0'; m++) {
		if (*m == '"')
			continue;
		if (*m == '\\' && m[1] != '\0')
			m++;
		fbuf_addc(&b, *m);
	}
	{
		char *r = imap_msgkey_str(fbuf_str(&b), b.len);

		fbuf_release(&b);
		return r;
	}
}

/* From the first address of a list: addr-mailbox and display (RFC
 * 5957 section 3: the display name, or the addr-spec without one); a
 * group start gives its name for both, as its ENVELOPE entry has it in
 * the mailbox place. */
static void
imap_msgkey_addr(const char *v, char **mailbox_r, char **display_r)
{
	struct mime_address *list, *a;
	struct fbuf d;

	list = v != NULL ? mime_address_parse(v, strlen(v)) : NULL;
	for (a = list; a != NULL && a->kind == MIME_ADDR_GROUP_END; a = a->next)
		;
	fbuf_init(&d, 0);
	/* a group counts as its name, as ENVELOPE shows it first */
	if (a != NULL && a->kind == MIME_ADDR_GROUP_START &&
	    a->mailbox != NULL)
		mime_encword_decode(a->mailbox, strlen(a->mailbox), &d);
	else if (a != NULL && a->name != NULL)
		mime_encword_decode(a->name, strlen(a->name), &d);
	*mailbox_r = imap_msgkey_mailbox(a != NULL ? a->mailbox : NULL);
	*display_r = imap_msgkey_str(fbuf_str(&d), d.len);
	if (**display_r == '\0' && a != NULL && a->addr != NULL) {
		free(*display_r);
		*display_r = imap_msgkey_str(a->addr, strlen(a->addr));
	}
	fbuf_release(&d);
	mime_address_free(&list);
}

static void
imap_msgkey_ref(void *ctx, const char *id, size_t len)
{
	struct imap_msgkey *k = ctx;

	if (memchr(id, '\0', len) != NULL)
		return;
	if (k->nrefs == IMAP_MSGKEY_REFS_MAX) {
		free(k->refs[0]);
		memmove(k->refs, k->refs + 1,
		    (IMAP_MSGKEY_REFS_MAX - 1) * sizeof(*k->refs));
		k->nrefs--;
	}
	if (k->refs == NULL)
		k->refs = xcalloc(IMAP_MSGKEY_REFS_MAX, sizeof(*k->refs));
	k->refs[k->nrefs] = xmalloc(len + 1);
	memcpy(k->refs[k->nrefs], id, len);
	k->refs[k->nrefs][len] = '\0';
	k->nrefs++;
}

static void
imap_msgkey_first_id(void *ctx, const char *id, size_t len)
{
	char **r = ctx;

	if (**r == '\0' && memchr(id, '\0', len) == NULL) {
		free(*r);
		*r = xmalloc(len + 1);
		memcpy(*r, id, len);
		(*r)[len] = '\0';
	}
}

void
imap_msgkey_build(const void *hdr, size_t len, struct imap_msgkey *k)
{
	struct imap_msgkey_fields h;
	struct fbuf subj;
	int zone;
	time_t t;

	memset(&h, 0, sizeof(h));
	memset(k, 0, sizeof(*k));
	mime_header_parse(hdr, len, NULL, imap_msgkey_field, &h);
	if (h.date != NULL && mime_date_parse(h.date, strlen(h.date), &t,
	    &zone) == 0) {
		k->has_date = true;
		k->date = (int64_t)t;
		k->zone = zone;
	}
	fbuf_init(&subj, 0);
	if (h.subject != NULL)
		imap_base_subject(h.subject, strlen(h.subject), &subj,
		    &k->reply);
	k->subject = fbuf_steal(&subj);
	imap_msgkey_addr(h.from, &k->from, &k->dfrom);
	imap_msgkey_addr(h.to, &k->to, &k->dto);
	{
		char *unused;

		imap_msgkey_addr(h.cc, &k->cc, &unused);
		free(unused);
	}
	k->msgid = xstrdup("");
	if (h.msgid != NULL)
		mime_msgid_list(h.msgid, strlen(h.msgid),
		    imap_msgkey_first_id, &k->msgid);
	if (h.refs != NULL)
		mime_msgid_list(h.refs, strlen(h.refs), imap_msgkey_ref, k);
	if (k->nrefs == 0 && h.irt != NULL) {
		char *irt = xstrdup("");

		mime_msgid_list(h.irt, strlen(h.irt), imap_msgkey_first_id,
		    &irt);
		if (*irt != '\0')
			imap_msgkey_ref(k, irt, strlen(irt));
		free(irt);
	}
	free(h.date);
	free(h.subject);
	free(h.from);
	free(h.to);
	free(h.cc);
	free(h.msgid);
	free(h.refs);
	free(h.irt);
}

void
imap_msgkey_free(struct imap_msgkey *k)
{
	free(k->subject);
	free(k->from);
	free(k->to);
	free(k->cc);
	free(k->dfrom);
	free(k->dto);
	free(k->msgid);
	for (unsigned i = 0; i < k->nrefs; i++)
		free(k->refs[i]);
	free(k->refs);
	memset(k, 0, sizeof(*k));
}

/* ---- the blob: magic, flags, date, 7 strings, refs count, refs;
 * numbers little-endian, strings as a 32-bit length and the bytes ---- */

static void
imap_blob_u32(struct fbuf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8),
		(unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	fbuf_add(b, x, 4);
}

static void
imap_blob_str(struct fbuf *b, const char *s)
{
	size_t n = strlen(s);

	imap_blob_u32(b, (uint32_t)n);
	fbuf_add(b, s, n);
}

void
imap_msgkey_encode(const struct imap_msgkey *k, struct fbuf *out)
{
	uint64_t d = (uint64_t)k->date;

	fbuf_adds(out, IMAP_MSGKEY_MAGIC);
	fbuf_addc(out, (char)((k->has_date ? 1 : 0) | (k->reply ? 2 : 0)));
	imap_blob_u32(out, (uint32_t)d);
	imap_blob_u32(out, (uint32_t)(d >> 32));
	imap_blob_u32(out, (uint32_t)(int32_t)k->zone);
	imap_blob_str(out, k->subject);
	imap_blob_str(out, k->from);
	imap_blob_str(out, k->to);
	imap_blob_str(out, k->cc);
	imap_blob_str(out, k->dfrom);
	imap_blob_str(out, k->dto);
	imap_blob_str(out, k->msgid);
	imap_blob_u32(out, k->nrefs);
	for (unsigned i = 0; i < k->nrefs; i++)
		imap_blob_str(out, k->refs[i]);
}

struct imap_blob {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint32_t
imap_blob_get_u32(struct imap_blob *b)
{
	uint32_t v;

	if (b->left < 4) {
		b->bad = true;
		return 0;
	}
	v = (uint32_t)b->p[0] | (uint32_t)b->p[1] << 8 |
	    (uint32_t)b->p[2] << 16 | (uint32_t)b->p[3] << 24;
	b->p += 4;
	b->left -= 4;
	return v;
}

static char *
imap_blob_get_str(struct imap_blob *b)
{
	uint32_t n = imap_blob_get_u32(b);
	char *s;

	if (b->bad || n > b->left || memchr(b->p, '\0', n) != NULL) {
		b->bad = true;
		return xstrdup("");
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, b->p, n);
	s[n] = '\0';
	b->p += n;
	b->left -= n;
	return s;
}

int
imap_msgkey_decode(const void *p, size_t len, struct imap_msgkey *k)
{
	struct imap_blob b = { .p = p, .left = len };
	uint64_t lo, hi;
	uint32_t nrefs;
	unsigned fl;

	memset(k, 0, sizeof(*k));
	if (len < 5 || memcmp(p, IMAP_MSGKEY_MAGIC, 4) != 0)
		return -1;
	fl = b.p[4];
	b.p += 5;
	b.left -= 5;
	k->has_date = (fl & 1) != 0;
	k->reply = (fl & 2) != 0;
	lo = imap_blob_get_u32(&b);
	hi = imap_blob_get_u32(&b);
	k->date = (int64_t)(lo | hi << 32);
	k->zone = (int)(int32_t)imap_blob_get_u32(&b);
	/* what mime_date_parse gives: RFC 5322 3.3's -9959 to +9959 */
	if (k->zone < -(99 * 60 + 59) || k->zone > 99 * 60 + 59)
		b.bad = true;
	k->subject = imap_blob_get_str(&b);
	k->from = imap_blob_get_str(&b);
	k->to = imap_blob_get_str(&b);
	k->cc = imap_blob_get_str(&b);
	k->dfrom = imap_blob_get_str(&b);
	k->dto = imap_blob_get_str(&b);
	k->msgid = imap_blob_get_str(&b);
	nrefs = imap_blob_get_u32(&b);
	if (fl > 3 || nrefs > IMAP_MSGKEY_REFS_MAX)
		b.bad = true;
	if (!b.bad && nrefs > 0) {
		k->refs = xcalloc(IMAP_MSGKEY_REFS_MAX, sizeof(*k->refs));
		for (; k->nrefs < nrefs && !b.bad; k->nrefs++)
			k->refs[k->nrefs] = imap_blob_get_str(&b);
	}
	if (b.bad || b.left != 0) {
		imap_msgkey_free(k);
		return -1;
	}
	return 0;
}

/* ---- criteria and sorting ---- */

int
imap_sort_criteria_parse(const struct imap_arg *a, struct imap_sort_crit *v,
    unsigned *n_r, const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_sort_key key;
	} keys[] = {
		{ "ARRIVAL", IMAP_SORT_ARRIVAL }, { "CC", IMAP_SORT_CC },
		{ "DATE", IMAP_SORT_DATE }, { "FROM", IMAP_SORT_FROM },
		{ "SIZE", IMAP_SORT_SIZE }, { "SUBJECT", IMAP_SORT_SUBJECT },
		{ "TO", IMAP_SORT_TO }, { "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
		{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
	};
	bool reverse = false;
	unsigned n = 0;

	if (a == NULL || a->type != IMAP_ARG_LIST || a->count == 0) {
		*error_r = "SORT criteria must be a parenthesised list";
		return -1;
	}
	for (unsigned i = 0; i < a->count; i++) {
		const struct imap_arg *x = &a->list[i];
		size_t j;

		if (imap_arg_atom_is(x, "REVERSE") && !reverse) {
			reverse = true;
			continue;
		}
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (imap_arg_atom_is(x, keys[j].name))
				break;
		if (j == sizeof(keys) / sizeof(keys[0])) {
			*error_r = "Unknown SORT criterion";
			return -1;
		}
		if (n == IMAP_SORT_CRIT_MAX) {
			*error_r = "Too many SORT criteria";
			return -1;
		}
		v[n].key = keys[j].key;
		v[n].reverse = reverse;
		n++;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE must come before a SORT key";
		return -1;
	}
	*n_r = n;
	return 0;
}

struct imap_sort_ctx {
	const struct imap_sort_crit *c;
	unsigned nc;
};

static int
imap_cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int64_t
imap_sort_date(const struct imap_sort_item *x)
{
	return x->key.has_date ? x->key.date : (int64_t)x->internaldate;
}

static int
imap_sort_cmp1(const struct imap_sort_item *x, const struct imap_sort_item *y,
    enum imap_sort_key key)
{
	switch (key) {
	case IMAP_SORT_ARRIVAL:
		return imap_cmp_i64(x->internaldate, y->internaldate);
	case IMAP_SORT_DATE:
		return imap_cmp_i64(imap_sort_date(x), imap_sort_date(y));
	case IMAP_SORT_SIZE:
		return x->size < y->size ? -1 : x->size > y->size;
	case IMAP_SORT_CC:
		return strcmp(x->key.cc, y->key.cc);
	case IMAP_SORT_FROM:
		return strcmp(x->key.from, y->key.from);
	case IMAP_SORT_TO:
		return strcmp(x->key.to, y->key.to);
	case IMAP_SORT_SUBJECT:
		return strcmp(x->key.subject, y->key.subject);
	case IMAP_SORT_DISPLAYFROM:
		return strcmp(x->key.dfrom, y->key.dfrom);
	case IMAP_SORT_DISPLAYTO:
		return strcmp(x->key.dto, y->key.dto);
	}
	return 0;
}

static int
imap_sort_cmp(const void *a, const void *b, void *arg)
{
	const struct imap_sort_ctx *ctx = arg;
	const struct imap_sort_item *x = a, *y = b;

	for (unsigned i = 0; i < ctx->nc; i++) {
		int r = imap_sort_cmp1(x, y, ctx->c[i].key);

		if (r != 0)
			return ctx->c[i].reverse ? -r : r;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
imap_sort_items(struct imap_sort_item *v, size_t n,
    const struct imap_sort_crit *c, unsigned nc)
{
	struct imap_sort_ctx ctx = { .c = c, .nc = nc };

	if (n > 1)
		qsort_r(v, n, sizeof(*v), imap_sort_cmp, &ctx);
}

