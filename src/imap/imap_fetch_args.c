/* FETCH items (imap_args.h): the macros ALL/FAST/FULL, the simple
 * items, BODY[section]<partial> and BODY.PEEK (RFC 9051 section 6.4.5
 * and "section-spec" in section 9), the RFC822* forms of RFC 3501,
 * BINARY/BINARY.PEEK/BINARY.SIZE (RFC 3516, part numbers only) and
 * MODSEQ with the CHANGEDSINCE/VANISHED modifiers (RFC 7162).  A body
 * item arrives from the reader as one atom whose "[...]" part carries the
 * section; it is taken apart here.  Header field names are upper-cased
 * in the echoed item name, as clients match it case-blind. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define IMAP_FETCH_FIELDS_MAX 256

static const struct {
	const char *name;
	enum imap_fetch_type type;
} imap_fetch_simple[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "UID", IMAP_FETCH_UID },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

static void
imap_fetch_item_free(struct imap_fetch_item *it)
{
	for (unsigned i = 0; i < it->nfields; i++)
		free(it->fields[i]);
	free(it->fields);
	free(it->name);
}

static struct imap_fetch_item *
imap_fetch_add(struct imap_fetch *f, enum imap_fetch_type type)
{
	struct imap_fetch_item *it;

	f->items = xreallocarray(f->items, f->count + 1, sizeof(*f->items));
	it = &f->items[f->count++];
	memset(it, 0, sizeof(*it));
	it->type = type;
	return it;
}

/* Header field name (RFC 5322 ftext), upper-cased into a new string. */
static char *
imap_fetch_field(const char *s, size_t len)
{
	char *r;

	if (len == 0)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 ||
		    s[i] == ':')
			return NULL;
	r = xstrndup(s, len);
	for (char *p = r; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	return r;
}

/* "(name name ...)" of HEADER.FIELDS: names are atoms or quoted. */
static int
imap_fetch_fields(struct imap_fetch_item *it, const char *p, const char *end)
{
	if (p >= end || *p++ != '(' || end[-1] != ')')
		return -1;
	end--;
	while (p < end) {
		const char *s = p;
		char *name;
		size_t n;

		if (*p == '"') {
			s = ++p;
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (p >= end || *p != '"')
				return -1;
			n = (size_t)(p++ - s);
		} else {
			while (p < end && *p != ' ')
				p++;
			n = (size_t)(p - s);
		}
		if ((name = imap_fetch_field(s, n)) == NULL ||
		    it->nfields >= IMAP_FETCH_FIELDS_MAX) {
			free(name);
			return -1;
		}
		it->fields = xreallocarray(it->fields, it->nfields + 1,
		    sizeof(*it->fields));
		it->fields[it->nfields++] = name;
		if (p < end && (*p++ != ' ' || p == end))
			return -1;
	}
	return it->nfields > 0 ? 0 : -1;
}

/* The text after the part numbers: HEADER, HEADER.FIELDS[.NOT] (...),
 * TEXT, MIME. */
static int
imap_fetch_section_text(struct imap_fetch_item *it, const char *p,
    const char *end)
{
	size_t n = (size_t)(end - p);

	if (n == 6 && strncasecmp(p, "HEADER", 6) == 0)
		it->text = IMAP_SECTION_HEADER;
	else if (n == 4 && strncasecmp(p, "TEXT", 4) == 0)
		it->text = IMAP_SECTION_TEXT;
	else if (n == 4 && strncasecmp(p, "MIME", 4) == 0 && it->nparts > 0)
		it->text = IMAP_SECTION_MIME;
	else if (n > 18 && strncasecmp(p, "HEADER.FIELDS.NOT ", 18) == 0) {
		it->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		return imap_fetch_fields(it, p + 18, end);
	} else if (n > 14 && strncasecmp(p, "HEADER.FIELDS ", 14) == 0) {
		it->text = IMAP_SECTION_HEADER_FIELDS;
		return imap_fetch_fields(it, p + 14, end);
	} else
		return -1;
	return 0;
}

/* The inside of [...]: part numbers, then an optional section text. */
static int
imap_fetch_section(struct imap_fetch_item *it, const char *p, const char *end,
    bool binary)
{
	while (p < end && *p >= '0' && *p <= '9') {
		uint64_t v = 0;

		if (*p == '0' || it->nparts >= IMAP_SECTION_DEPTH)
			return -1;
		while (p < end && *p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v >= UINT32_MAX)
				return -1;
		}
		it->parts[it->nparts++] = (uint32_t)v;
		if (p == end)
			return 0;
		if (*p++ != '.' || p == end)
			return -1;
	}
	if (p == end)
		return 0;
	if (binary)
		return -1;
	return imap_fetch_section_text(it, p, end);
}

/* "<offset.count>"; count is nz-number. */
static int
imap_fetch_partial(struct imap_fetch_item *it, const char *p)
{
	const char *dot, *gt;

	if (*p != '<' || (dot = strchr(p, '.')) == NULL ||
	    (gt = strchr(dot, '>')) == NULL || gt[1] != '\0' || dot == p + 1 ||
	    gt == dot + 1)
		return -1;
	it->offset = 0;
	it->count = 0;
	for (p++; p < dot; p++) {
		if (*p < '0' || *p > '9' || it->offset > UINT32_MAX)
			return -1;
		it->offset = it->offset * 10 + (uint64_t)(*p - '0');
	}
	for (p = dot + 1; p < gt; p++) {
		if (*p < '0' || *p > '9' || it->count > UINT32_MAX)
			return -1;
		it->count = it->count * 10 + (uint64_t)(*p - '0');
	}
	if (it->count == 0 || it->offset > UINT32_MAX ||
	    it->count > UINT32_MAX)
		return -1;
	it->partial = true;
	return 0;
}

/* The echoed name: "BODY[1.2.HEADER.FIELDS (A B)]". */
static void
imap_fetch_name(struct imap_fetch_item *it, const char *kind)
{
	static const char *const texts[] = {
		[IMAP_SECTION_ALL] = "", [IMAP_SECTION_HEADER] = "HEADER",
		[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
		[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[IMAP_SECTION_TEXT] = "TEXT", [IMAP_SECTION_MIME] = "MIME",
	};
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_addf(&b, "%s[", kind);
	for (unsigned i = 0; i < it->nparts; i++)
		fbuf_addf(&b, "%s%u", i ? "." : "", it->parts[i]);
	if (it->nparts > 0 && it->text != IMAP_SECTION_ALL)
		fbuf_addc(&b, '.');
	fbuf_adds(&b, texts[it->text]);
	for (unsigned i = 0; i < it->nfields; i++)
		fbuf_addf(&b, "%s%s", i ? " " : " (", it->fields[i]);
	if (it->nfields > 0)
		fbuf_addc(&b, ')');
	fbuf_addc(&b, ']');
	it->name = fbuf_steal(&b);
}

/* BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...],
 * BINARY.SIZE[...] with their partial suffix. */
static int
imap_fetch_body(struct imap_fetch *f, const char *s)
{
	static const struct {
		const char *prefix;
		enum imap_fetch_type type;
		bool peek;
	} kinds[] = {
		{ "BODY[", IMAP_FETCH_SECTION, false },
		{ "BODY.PEEK[", IMAP_FETCH_SECTION, true },
		{ "BINARY[", IMAP_FETCH_BINARY, false },
		{ "BINARY.PEEK[", IMAP_FETCH_BINARY, true },
		{ "BINARY.SIZE[", IMAP_FETCH_BINARY_SIZE, true },
	};
	const char *close = strchr(s, ']');

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t plen = strlen(kinds[k].prefix);
		struct imap_fetch_item *it;
		bool bin = kinds[k].type != IMAP_FETCH_SECTION;

		if (strncasecmp(s, kinds[k].prefix, plen) != 0 || close == NULL)
			continue;
		it = imap_fetch_add(f, kinds[k].type);
		it->peek = kinds[k].peek;
		if (imap_fetch_section(it, s + plen, close, bin) < 0 ||
		    (close[1] != '\0' && (kinds[k].type ==
		    IMAP_FETCH_BINARY_SIZE || imap_fetch_partial(it,
		    close + 1) < 0)))
			return -1;
		imap_fetch_name(it, kinds[k].type == IMAP_FETCH_SECTION ?
		    "BODY" : kinds[k].type == IMAP_FETCH_BINARY ? "BINARY" :
		    "BINARY.SIZE");
		if (!it->peek)
			f->sets_seen = true;
		return 0;
	}
	return -1;
}

static int
imap_fetch_one(struct imap_fetch *f, const struct imap_arg *a)
{
	struct imap_fetch_item *it;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	for (size_t i = 0; i < sizeof(imap_fetch_simple) /
	    sizeof(imap_fetch_simple[0]); i++) {
		if (str_ieq(a->str, imap_fetch_simple[i].name)) {
			it = imap_fetch_add(f, imap_fetch_simple[i].type);
			it->name = xstrdup(imap_fetch_simple[i].name);
			return 0;
		}
	}
	if (str_ieq(a->str, "RFC822") || str_ieq(a->str, "RFC822.HEADER") ||
	    str_ieq(a->str, "RFC822.TEXT")) {
		it = imap_fetch_add(f, IMAP_FETCH_SECTION);
		it->name = xstrdup(a->str);
		for (char *p = it->name; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		if (a->len > 6)
			it->text = a->str[7] == 'H' || a->str[7] == 'h' ?
			    IMAP_SECTION_HEADER : IMAP_SECTION_TEXT;
		it->peek = it->text == IMAP_SECTION_HEADER;
		if (!it->peek)
			f->sets_seen = true;
		return 0;
	}
	return imap_fetch_body(f, a->str);
}

static int
imap_fetch_macro(struct imap_fetch *f, const struct imap_arg *a)
{
	static const char *const fast[] = { "FLAGS", "INTERNALDATE",
	    "RFC822.SIZE", "ENVELOPE", "BODY" };
	unsigned n;

	if (imap_arg_atom_is(a, "FAST"))
		n = 3;
	else if (imap_arg_atom_is(a, "ALL"))
		n = 4;
	else if (imap_arg_atom_is(a, "FULL"))
		n = 5;
	else
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct imap_arg x = { .type = IMAP_ARG_ATOM, .str = fast[i],
		    .len = strlen(fast[i]) };

		imap_fetch_one(f, &x);
	}
	return 1;
}

/* "(CHANGEDSINCE n [VANISHED])" in any order. */
static int
imap_fetch_modifiers(struct imap_fetch *f, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_LIST || a->count == 0)
		return -1;
	for (unsigned i = 0; i < a->count; i++) {
		if (imap_arg_atom_is(&a->list[i], "CHANGEDSINCE") &&
		    i + 1 < a->count && !f->has_changedsince &&
		    imap_arg_number(&a->list[i + 1], 1, INT64_MAX,
		    &f->changedsince)) {
			f->has_changedsince = true;
			i++;
		} else if (imap_arg_atom_is(&a->list[i], "VANISHED") &&
		    !f->vanished)
			f->vanished = true;
		else
			return -1;
	}
	if (f->vanished && !f->has_changedsince)
		return -1;
	return 0;
}

int
imap_fetch_parse(const struct imap_arg *args, unsigned count,
    struct imap_fetch *f, const char **error_r)
{
	int r = 0;

	memset(f, 0, sizeof(*f));
	if (count < 1 || count > 2 ||
	    (count == 2 && imap_fetch_modifiers(f, &args[1]) < 0)) {
		*error_r = "Invalid FETCH arguments";
		return -1;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		if (args[0].count == 0)
			r = -1;
		for (unsigned i = 0; i < args[0].count && r == 0; i++)
			r = imap_fetch_one(f, &args[0].list[i]);
	} else if (imap_fetch_macro(f, &args[0]) == 0)
		r = imap_fetch_one(f, &args[0]);
	if (r < 0) {
		imap_fetch_free(f);
		*error_r = "Invalid FETCH item";
		return -1;
	}
	return 0;
}

void
imap_fetch_free(struct imap_fetch *f)
{
	for (unsigned i = 0; i < f->count; i++)
		imap_fetch_item_free(&f->items[i]);
	free(f->items);
	f->items = NULL;
	f->count = 0;
}
