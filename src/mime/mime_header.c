/* Header sections (RFC 5322 section 2.2): a streaming splitter into
 * fields.  A line starting with WSP continues the field before it; an
 * empty line ends the section.  Obsolete syntax (4.5: WSP before the
 * colon) is accepted; lines that are no field at all are skipped and
 * flagged.  Memory is bounded by header_max: past it, and past
 * fields_max, fields are dropped but the end of the section is still
 * found, so offsets after it stay right.  No I/O. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

enum mime_hdr_state {
	MIME_HDR_LINE_START,	/* at the first octet of a line */
	MIME_HDR_CR_START,	/* the line so far is one CR */
	MIME_HDR_IN_LINE,
	MIME_HDR_DONE
};

struct mime_header_parser {
	struct mime_limits lim;
	mime_field_cb *cb;
	void *ctx;
	enum mime_hdr_state st;
	struct fbuf field;	/* raw of the pending field */
	struct fbuf scratch;	/* name NUL value NUL for the callback */
	uint64_t field_off;
	bool have_field;	/* field holds a field being read */
	bool full;		/* a limit was hit: no more fields */
	unsigned nfields;
	unsigned flags;
	uint64_t size;
};

void
mime_limits_default(struct mime_limits *l)
{
	l->header_max = MIME_HEADER_MAX_DEFAULT;
	l->fields_max = MIME_FIELDS_MAX_DEFAULT;
	l->parts_max = MIME_PARTS_MAX_DEFAULT;
	l->depth_max = MIME_DEPTH_MAX_DEFAULT;
}

struct mime_header_parser *
mime_header_parser_new(const struct mime_limits *l, mime_field_cb *cb,
    void *ctx)
{
	struct mime_header_parser *p = xcalloc(1, sizeof(*p));

	if (l != NULL)
		p->lim = *l;
	else
		mime_limits_default(&p->lim);
	p->cb = cb;
	p->ctx = ctx;
	fbuf_init(&p->field, 0);
	fbuf_init(&p->scratch, 0);
	/* Room for most fields (a signature's is ~700 octets) from the
	 * start: the buffers are reused field after field, and growing
	 * them from 64 octets was five reallocations each per message. */
	fbuf_reserve(&p->field, 1023);
	fbuf_reserve(&p->scratch, 1023);
	return p;
}

void
mime_header_parser_free(struct mime_header_parser **pp)
{
	struct mime_header_parser *p = *pp;

	if (p == NULL)
		return;
	fbuf_release(&p->field);
	fbuf_release(&p->scratch);
	free(p);
	*pp = NULL;
}

bool
mime_field_is(const struct mime_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    strncasecmp(f->name, name, f->name_len) == 0;
}

/* Appends the value raw[0..n) unfolded and trimmed to out. */
static void
mime_header_unfold(const char *raw, size_t n, struct fbuf *out)
{
	size_t i, start = out->len;

	for (i = 0; i < n; i++) {
		size_t j;

		/* CRLF or LF: folding when WSP follows, else the end. */
		if (raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n')
			continue;
		if (raw[i] == '\n')
			continue;
		if ((raw[i] == ' ' || raw[i] == '\t') && out->len == start)
			continue;
		/* This octet and those after it up to the next CR or LF
		 * are kept as they are, in one piece. */
		for (j = i + 1; j < n && raw[j] != '\r' && raw[j] != '\n'; j++)
			;
		fbuf_add(out, raw + i, j - i);
		i = j - 1;
	}
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
	    out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
}

/* The field-name of raw: length up to the colon without trailing WSP;
 * 0 when the line is no field (no colon, empty name, a control or a
 * space inside the name). */
static size_t
mime_header_name(const char *raw, size_t n, size_t *colon_r)
{
	size_t i, end;

	for (i = 0; i < n && raw[i] != ':' && raw[i] != '\n'; i++)
		;
	if (i >= n || raw[i] != ':')
		return 0;
	*colon_r = i;
	for (end = i; end > 0 && (raw[end - 1] == ' ' || raw[end - 1] == '\t');)
		end--;
	for (i = 0; i < end; i++)
		if ((unsigned char)raw[i] <= 32 || raw[i] == 127)
			return 0;
	return end;
}

static void
mime_header_emit(struct mime_header_parser *p)
{
	struct mime_field f;
	size_t colon = 0, nlen;

	if (!p->have_field)
		return;
	p->have_field = false;
	nlen = mime_header_name(p->field.data, p->field.len, &colon);
	if (nlen == 0) {
		p->flags |= MIME_F_BAD_FIELD;
		return;
	}
	fbuf_reset(&p->scratch);
	fbuf_add(&p->scratch, p->field.data, nlen);
	fbuf_addc(&p->scratch, '\0');
	mime_header_unfold(p->field.data + colon + 1,
	    p->field.len - colon - 1, &p->scratch);
	f.name = p->scratch.data;
	f.name_len = nlen;
	f.raw = p->field.data;
	f.raw_len = p->field.len;
	f.value_pos = colon + 1;
	f.value = p->scratch.data + nlen + 1;
	f.value_len = p->scratch.len - nlen - 1;
	f.offset = p->field_off;
	if (p->cb != NULL)
		p->cb(p->ctx, &f);
}

/* A line that does not start with WSP begins: the field before it is
 * complete. */
static void
mime_header_new_field(struct mime_header_parser *p)
{
	mime_header_emit(p);
	fbuf_reset(&p->field);
	if (p->full)
		return;
	if (p->nfields >= p->lim.fields_max) {
		p->flags |= MIME_F_TOO_MANY_FIELDS;
		p->full = true;
		return;
	}
	p->nfields++;
	p->have_field = true;
	p->field_off = p->size;
}

/* Adds octets of the current line to the pending field, within
 * header_max. */
static void
mime_header_add(struct mime_header_parser *p, const char *d, size_t n)
{
	if (p->size + n > p->lim.header_max && !p->full) {
		p->flags |= MIME_F_HEADER_TOO_BIG;
		p->full = true;
		p->have_field = false;		/* cut: not emitted */
		fbuf_release(&p->field);
		fbuf_init(&p->field, 0);
	}
	if (p->have_field)
		fbuf_add(&p->field, d, n);
	p->size += n;
}

/* The first octet of a line decides what the line is. */
static void
mime_header_line_start(struct mime_header_parser *p, char c)
{
	if (c == ' ' || c == '\t') {
		if (!p->have_field && !p->full)
			p->flags |= MIME_F_BAD_FIELD;	/* fold of nothing */
		p->st = MIME_HDR_IN_LINE;
	} else if (c == '\r')
		p->st = MIME_HDR_CR_START;
	else if (c == '\n') {
		mime_header_emit(p);
		p->size++;
		p->st = MIME_HDR_DONE;
		return;
	} else {
		mime_header_new_field(p);
		p->st = MIME_HDR_IN_LINE;
	}
	if (p->st == MIME_HDR_IN_LINE)
		mime_header_add(p, &c, 1);
}

size_t
mime_header_parser_feed(struct mime_header_parser *p, const void *data,
    size_t n)
{
	const char *d = data, *nl;
	size_t i = 0, take;

	while (i < n && p->st != MIME_HDR_DONE) {
		switch (p->st) {
		case MIME_HDR_LINE_START:
			mime_header_line_start(p, d[i++]);
			break;
		case MIME_HDR_CR_START:
			if (d[i] == '\n') {
				mime_header_emit(p);
				p->size += 2;
				i++;
				p->st = MIME_HDR_DONE;
				break;
			}
			/* A lone CR starting a line: junk, kept with it. */
			mime_header_new_field(p);
			mime_header_add(p, "\r", 1);
			p->st = MIME_HDR_IN_LINE;
			break;
		case MIME_HDR_IN_LINE:
			nl = memchr(d + i, '\n', n - i);
			take = nl != NULL ? (size_t)(nl - (d + i)) + 1 : n - i;
			mime_header_add(p, d + i, take);
			i += take;
			if (nl != NULL)
				p->st = MIME_HDR_LINE_START;
			break;
		case MIME_HDR_DONE:
			break;
		}
	}
	return i;
}

void
mime_header_parser_finish(struct mime_header_parser *p)
{
	if (p->st == MIME_HDR_DONE)
		return;
	if (p->st == MIME_HDR_CR_START) {
		mime_header_new_field(p);
		mime_header_add(p, "\r", 1);
	}
	mime_header_emit(p);
	p->st = MIME_HDR_LINE_START;
}

bool
mime_header_parser_done(const struct mime_header_parser *p)
{
	return p->st == MIME_HDR_DONE;
}

uint64_t
mime_header_parser_size(const struct mime_header_parser *p)
{
	return p->size + (p->st == MIME_HDR_CR_START ? 1 : 0);
}

unsigned
mime_header_parser_flags(const struct mime_header_parser *p)
{
	return p->flags;
}

size_t
mime_header_parse(const void *hdr, size_t len, const struct mime_limits *l,
    mime_field_cb *cb, void *ctx)
{
	struct mime_header_parser *p = mime_header_parser_new(l, cb, ctx);
	size_t n = mime_header_parser_feed(p, hdr, len);

	mime_header_parser_finish(p);
	mime_header_parser_free(&p);
	return n;
}

struct mime_header_values {
	const char *name;
	struct fbuf *out;
	unsigned n;
};

static void
mime_header_values_cb(void *ctx, const struct mime_field *f)
{
	struct mime_header_values *v = ctx;

	if (!mime_field_is(f, v->name))
		return;
	fbuf_add(v->out, f->value, f->value_len);
	fbuf_addc(v->out, ',');
	v->n++;
}

unsigned
mime_header_values(const void *hdr, size_t len, const char *name,
    struct fbuf *out)
{
	struct mime_header_values v = { name, out, 0 };

	mime_header_parse(hdr, len, NULL, mime_header_values_cb, &v);
	return v.n;
}
