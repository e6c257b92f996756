/* MIME structure (RFC 2045, RFC 2046 section 5): a streaming parser
 * that turns a message fed in any chunking into a tree of parts with
 * their offsets, sizes and Content-* fields, and events on the way.
 * It works a line at a time, holding at most MIME_LINE_HOLD octets of a
 * line (enough to recognise a boundary; longer lines are passed on in
 * pieces and are never boundaries).  The CRLF before a boundary belongs
 * to the boundary (RFC 2046 5.1.1), so a body's last line end is held
 * back until the next line shows it is not one.  A boundary of any open
 * multipart ends every part inside it (a missing close delimiter is
 * tolerated and flagged); message/rfc822 bodies are parsed as messages.
 * Limits (parts, depth, header size) stop the parsing of structure,
 * never the reading of the input.  No I/O. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

#define MIME_LINE_HOLD 1000

struct mime_stack {
	struct mime_part *part;
	uint64_t lf_at_body;	/* line ends before the body */
	bool in_header;		/* the part's header is being read */
	bool ended;		/* multipart: close delimiter seen */
	bool leaf;		/* body octets are reported */
};

struct mime_parser {
	struct mime_limits lim;
	mime_event_cb *cb;
	void *ctx;
	struct mime_part *root;
	struct mime_stack *stack;
	unsigned nstack, maxstack;
	struct mime_header_parser *hp;	/* of the top part, in_header */
	struct fbuf line;		/* the line being held */
	bool long_line;			/* over MIME_LINE_HOLD: no boundary */
	uint64_t off;			/* offset of what comes next */
	uint64_t lf_total;		/* LFs before off */
	char last;			/* the octet before off */
	char pend[2];			/* a body's last line end, held */
	size_t pend_len;
	uint64_t pend_off;
	char before_pend;		/* the octet before pend */
	unsigned nparts, flags;
	bool started, stop, finished;
};

static void mime_parser_field(void *ctx, const struct mime_field *f);

static void
mime_parser_event(struct mime_parser *p, enum mime_event_type type,
    struct mime_part *part, const void *data, size_t len)
{
	struct mime_event ev = { type, part, NULL, data, len };

	if (p->cb != NULL)
		p->cb(p->ctx, &ev);
}

static struct mime_stack *
mime_parser_top(struct mime_parser *p)
{
	return &p->stack[p->nstack - 1];
}

/* A new part whose header starts at off, pushed on the stack; NULL
 * when the part limit is reached. */
static struct mime_part *
mime_parser_push(struct mime_parser *p, struct mime_part *parent)
{
	struct mime_part *part, **tail;
	struct mime_stack *e;

	if (p->nparts >= p->lim.parts_max || p->nstack >= p->maxstack) {
		p->root->flags |= MIME_F_TOO_MANY_PARTS;
		p->flags |= MIME_F_TOO_MANY_PARTS;
		p->stop = true;
		return NULL;
	}
	p->nparts++;
	part = xcalloc(1, sizeof(*part));
	part->hdr_offset = p->off;
	if (parent != NULL) {
		part->parent = parent;
		part->depth = parent->depth + 1;
		for (tail = &parent->children; *tail != NULL;
		    tail = &(*tail)->next)
			;
		*tail = part;
		parent->nchildren++;
	}
	e = &p->stack[p->nstack++];
	memset(e, 0, sizeof(*e));
	e->part = part;
	e->in_header = true;
	p->hp = mime_header_parser_new(&p->lim, mime_parser_field, p);
	mime_parser_event(p, MIME_EVENT_PART_START, part, NULL, 0);
	return part;
}

/* ---- Content-* fields ---- */

static char *
mime_parser_token(const char *v, size_t n)
{
	size_t i = 0, s;

	while (i < n && mime_is_wsp(v[i]))
		i++;
	s = i;
	while (i < n && !mime_is_wsp(v[i]) && v[i] != ';' && v[i] != '(')
		i++;
	return mime_lower_dup(v + s, i - s);
}

static void
mime_parser_text(char **dst, const struct mime_field *f, bool nowsp)
{
	char *d;
	size_t k = 0;

	if (*dst != NULL)
		return;			/* the first field counts */
	d = xstrndup(f->value, f->value_len);
	if (nowsp) {
		/* RFC 2557 4.4: a folded URL is read without its WSP */
		for (size_t i = 0; d[i] != '\0'; i++)
			if (!mime_is_wsp(d[i]))
				d[k++] = d[i];
		d[k] = '\0';
	}
	*dst = d;
}

static void
mime_parser_content_field(struct mime_part *part, const struct mime_field *f)
{
	if (mime_field_is(f, "Content-Type")) {
		if (part->ctype.type == NULL) {
			mime_value_free(&part->ctype);
			mime_value_parse(f->value, f->value_len, true,
			    &part->ctype);
		}
	} else if (mime_field_is(f, "Content-Transfer-Encoding")) {
		if (part->encoding == NULL)
			part->encoding = mime_parser_token(f->value,
			    f->value_len);
	} else if (mime_field_is(f, "Content-Disposition")) {
		if (part->disposition.type == NULL) {
			mime_value_free(&part->disposition);
			mime_value_parse(f->value, f->value_len, false,
			    &part->disposition);
		}
	} else if (mime_field_is(f, "Content-ID"))
		mime_parser_text(&part->id, f, false);
	else if (mime_field_is(f, "Content-Description"))
		mime_parser_text(&part->description, f, false);
	else if (mime_field_is(f, "Content-Language"))
		mime_parser_text(&part->language, f, false);
	else if (mime_field_is(f, "Content-Location"))
		mime_parser_text(&part->location, f, true);
	else if (mime_field_is(f, "Content-MD5"))
		mime_parser_text(&part->md5, f, false);
}

static void
mime_parser_field(void *ctx, const struct mime_field *f)
{
	struct mime_parser *p = ctx;
	struct mime_part *part = mime_parser_top(p)->part;
	struct mime_event ev = { MIME_EVENT_FIELD, part, f, NULL, 0 };

	if (f->name_len > 8 && strncasecmp(f->name, "Content-", 8) == 0)
		mime_parser_content_field(part, f);
	if (p->cb != NULL)
		p->cb(p->ctx, &ev);
}

/* Defaults and what the part contains, once its header is known. */
static void
mime_parser_classify(struct mime_parser *p, struct mime_part *part)
{
	const struct mime_part *up = part->parent;
	const char *b;

	if (part->ctype.type == NULL) {
		mime_value_free(&part->ctype);
		if (up != NULL && up->multipart &&
		    strcmp(up->ctype.subtype, "digest") == 0) {
			part->ctype.type = xstrdup("message");
			part->ctype.subtype = xstrdup("rfc822");
		} else {
			mime_value_parse("text/plain; charset=us-ascii", 28,
			    true, &part->ctype);
		}
	}
	if (strcmp(part->ctype.type, "multipart") == 0) {
		b = mime_value_param(&part->ctype, "boundary");
		if (b == NULL || b[0] == '\0')
			part->flags |= MIME_F_NO_BOUNDARY;
		else if (part->depth >= p->lim.depth_max)
			part->flags |= MIME_F_TOO_DEEP;
		else {
			part->multipart = true;
			part->boundary = xstrdup(b);
		}
	} else if (strcmp(part->ctype.type, "message") == 0 &&
	    (strcmp(part->ctype.subtype, "rfc822") == 0 ||
	    strcmp(part->ctype.subtype, "global") == 0) &&
	    mime_cte_from_name(part->encoding) == MIME_CTE_7BIT) {
		if (part->depth >= p->lim.depth_max)
			part->flags |= MIME_F_TOO_DEEP;
		else
			part->message = true;
	}
	p->flags |= part->flags;
}

/* The empty line after the top part's header was read. */
static void
mime_parser_header_end(struct mime_parser *p)
{
	struct mime_stack *e = mime_parser_top(p);
	struct mime_part *part = e->part;

	part->hdr_size = mime_header_parser_size(p->hp);
	part->flags |= mime_header_parser_flags(p->hp);
	part->body_offset = part->hdr_offset + part->hdr_size;
	mime_header_parser_free(&p->hp);
	e->in_header = false;
	e->lf_at_body = p->lf_total;
	mime_parser_classify(p, part);
	mime_parser_event(p, MIME_EVENT_HEADER_END, part, NULL, 0);
	if (part->message && mime_parser_push(p, part) == NULL)
		part->message = false;
	e = mime_parser_top(p);
	e->leaf = e->part == part && !part->multipart;
}

/* Ends stack entry top at end; lf_end line ends lie before end. */
static void
mime_parser_close(struct mime_parser *p, uint64_t end, uint64_t lf_end,
    bool partial)
{
	struct mime_stack *e = mime_parser_top(p);
	struct mime_part *part = e->part;

	if (e->in_header) {
		/* The header was cut short (a boundary, the end). */
		mime_header_parser_finish(p->hp);
		part->hdr_size = mime_header_parser_size(p->hp);
		part->flags |= mime_header_parser_flags(p->hp) |
		    MIME_F_NO_BODY;
		part->body_offset = part->hdr_offset + part->hdr_size;
		mime_header_parser_free(&p->hp);
		e->lf_at_body = lf_end;
		mime_parser_classify(p, part);
		part->multipart = part->message = false;
		mime_parser_event(p, MIME_EVENT_HEADER_END, part, NULL, 0);
	}
	if (end > part->body_offset) {
		part->body_size = end - part->body_offset;
		part->body_lines = lf_end - e->lf_at_body + (partial ? 1 : 0);
	}
	if (part->multipart && !e->ended)
		part->flags |= MIME_F_NO_END_BOUNDARY;
	p->flags |= part->flags;
	mime_parser_event(p, MIME_EVENT_PART_END, part, NULL, 0);
	p->nstack--;
}

/* ---- lines ---- */

static void
mime_parser_consumed(struct mime_parser *p, const char *s, size_t n)
{
	p->off += n;
	if (n > 0) {
		p->last = s[n - 1];
		p->lf_total += s[n - 1] == '\n';
	}
}

/* A piece of a line that is not a boundary; eol: it ends the line. */
static void
mime_parser_content(struct mime_parser *p, const char *s, size_t n,
    bool eol)
{
	struct mime_stack *e = mime_parser_top(p);
	size_t used, clen = n, elen = 0;

	if (e->in_header) {
		used = mime_header_parser_feed(p->hp, s, n);
		mime_parser_consumed(p, s, used);
		if (mime_header_parser_done(p->hp))
			mime_parser_header_end(p);
		if (used < n)
			mime_parser_content(p, s + used, n - used, eol);
		return;
	}
	if (p->pend_len > 0) {
		if (e->leaf)
			mime_parser_event(p, MIME_EVENT_BODY, e->part, p->pend,
			    p->pend_len);
		p->pend_len = 0;
	}
	if (eol) {
		elen = n >= 2 && s[n - 2] == '\r' ? 2 : 1;
		clen = n - elen;
	}
	if (clen > 0 && e->leaf)
		mime_parser_event(p, MIME_EVENT_BODY, e->part, s, clen);
	if (eol) {
		p->before_pend = clen > 0 ? s[clen - 1] : p->last;
		p->pend_off = p->off + clen;
		memcpy(p->pend, s + clen, elen);
		p->pend_len = elen;
	}
	mime_parser_consumed(p, s, n);
}

/* Which open multipart's boundary s[0..n) is: its stack index, or -1;
 * *close_r for a close delimiter. */
static int
mime_parser_boundary_of(struct mime_parser *p, const char *s, size_t n,
    bool *close_r)
{
	size_t bl, k;

	if (p->stop || n < 3 || s[0] != '-' || s[1] != '-')
		return -1;
	if (n > 0 && s[n - 1] == '\n')
		n -= n >= 2 && s[n - 2] == '\r' ? 2 : 1;
	for (int j = (int)p->nstack - 1; j >= 0; j--) {
		const struct mime_stack *e = &p->stack[j];

		if (!e->part->multipart || e->ended)
			continue;
		bl = strlen(e->part->boundary);
		if (n < 2 + bl || memcmp(s + 2, e->part->boundary, bl) != 0)
			continue;
		k = 2 + bl;
		*close_r = n >= k + 2 && s[k] == '-' && s[k + 1] == '-';
		if (*close_r)
			k += 2;
		while (k < n && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k == n)
			return j;
	}
	return -1;
}

static void
mime_parser_boundary(struct mime_parser *p, int j, bool close,
    const char *s, size_t n)
{
	uint64_t end = p->pend_len > 0 ? p->pend_off : p->off;
	uint64_t lf_end = p->lf_total - (p->pend_len > 0 ? 1 : 0);
	bool partial = (p->pend_len > 0 ? p->before_pend : p->last) != '\n';
	struct mime_part *mp = p->stack[j].part;

	while ((int)p->nstack - 1 > j)
		mime_parser_close(p, end, lf_end, partial);
	p->pend_len = 0;
	if (close && n > 0 && s[n - 1] == '\n') {
		/* "--b--" CRLF: the CRLF may be the start of an outer
		 * delimiter (an empty epilogue); held like a body's. */
		size_t elen = n >= 2 && s[n - 2] == '\r' ? 2 : 1;

		p->before_pend = s[n - elen - 1];
		p->pend_off = p->off + n - elen;
		memcpy(p->pend, s + n - elen, elen);
		p->pend_len = elen;
	}
	mime_parser_consumed(p, s, n);
	if (close) {
		p->stack[j].ended = true;
		return;
	}
	mime_parser_push(p, mp);
}

static void
mime_parser_line(struct mime_parser *p, const char *s, size_t n, bool eol)
{
	bool close = false;
	int j = mime_parser_boundary_of(p, s, n, &close);

	if (j >= 0)
		mime_parser_boundary(p, j, close, s, n);
	else
		mime_parser_content(p, s, n, eol);
}

static void
mime_parser_start(struct mime_parser *p)
{
	if (p->started)
		return;
	p->started = true;
	p->root = mime_parser_push(p, NULL);
}

struct mime_parser *
mime_parser_new(const struct mime_limits *l, mime_event_cb *cb, void *ctx)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	if (l != NULL)
		p->lim = *l;
	else
		mime_limits_default(&p->lim);
	if (p->lim.parts_max == 0)
		p->lim.parts_max = 1;
	p->cb = cb;
	p->ctx = ctx;
	p->maxstack = p->lim.depth_max + 2;
	p->stack = xcalloc(p->maxstack, sizeof(*p->stack));
	p->last = '\n';
	fbuf_init(&p->line, 0);
	return p;
}

/* Passes s[0..n) on as a piece of a long line; a CR at its end is held
 * in p->line, since with the LF after it, it ends the line. */
static void
mime_parser_spill(struct mime_parser *p, const char *s, size_t n)
{
	bool cr = n > 0 && s[n - 1] == '\r';

	if (n - cr > 0)
		mime_parser_content(p, s, n - cr, false);
	fbuf_reset(&p->line);
	if (cr)
		fbuf_addc(&p->line, '\r');
	p->long_line = true;
}

/* Input while in a line too long to be a boundary. */
static size_t
mime_parser_feed_long(struct mime_parser *p, const char *d, size_t n)
{
	const char *nl;
	size_t take;

	if (p->line.len > 0) {		/* a held CR */
		if (d[0] == '\n') {
			mime_parser_content(p, "\r\n", 2, true);
			fbuf_reset(&p->line);
			p->long_line = false;
			return 1;
		}
		mime_parser_content(p, "\r", 1, false);
		fbuf_reset(&p->line);
	}
	nl = memchr(d, '\n', n);
	if (nl == NULL) {
		mime_parser_spill(p, d, n);
		return n;
	}
	take = (size_t)(nl - d) + 1;
	mime_parser_content(p, d, take, true);
	p->long_line = false;
	return take;
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t n)
{
	const char *d = data, *nl;
	size_t i = 0, take, room;

	mime_parser_start(p);
	while (i < n && !p->finished) {
		if (p->long_line) {
			i += mime_parser_feed_long(p, d + i, n - i);
			continue;
		}
		nl = memchr(d + i, '\n', n - i);
		take = nl != NULL ? (size_t)(nl - (d + i)) + 1 : n - i;
		room = MIME_LINE_HOLD - p->line.len;
		if (take > room) {
			/* Too long to be a boundary: pass it on in pieces. */
			fbuf_add(&p->line, d + i, room);
			i += room;
			mime_parser_spill(p, p->line.data, p->line.len);
			continue;
		}
		fbuf_add(&p->line, d + i, take);
		i += take;
		if (nl != NULL) {
			mime_parser_line(p, p->line.data, p->line.len, true);
			fbuf_reset(&p->line);
		}
	}
}

struct mime_part *
mime_parser_finish(struct mime_parser *p)
{
	struct mime_part *root;
	bool partial;

	mime_parser_start(p);
	if (p->finished)
		return NULL;
	if (p->line.len > 0)
		mime_parser_line(p, p->line.data, p->line.len, false);
	fbuf_reset(&p->line);
	if (p->pend_len > 0 && !mime_parser_top(p)->in_header &&
	    mime_parser_top(p)->leaf)
		mime_parser_event(p, MIME_EVENT_BODY,
		    mime_parser_top(p)->part, p->pend, p->pend_len);
	p->pend_len = 0;
	partial = p->last != '\n';
	while (p->nstack > 0)
		mime_parser_close(p, p->off, p->lf_total, partial);
	p->finished = true;
	root = p->root;
	p->root = NULL;
	return root;
}

unsigned
mime_parser_flags(const struct mime_parser *p)
{
	return p->flags;
}

void
mime_parser_free(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;

	if (p == NULL)
		return;
	mime_header_parser_free(&p->hp);
	mime_part_free(&p->root);
	fbuf_release(&p->line);
	free(p->stack);
	free(p);
	*pp = NULL;
}

struct mime_part *
mime_parse(const void *msg, size_t len, const struct mime_limits *l)
{
	struct mime_parser *p = mime_parser_new(l, NULL, NULL);
	struct mime_part *root;

	mime_parser_feed(p, msg, len);
	root = mime_parser_finish(p);
	mime_parser_free(&p);
	return root;
}

void
mime_part_free(struct mime_part **pp)
{
	struct mime_part *part = *pp, *next;

	for (; part != NULL; part = next) {
		next = part->next;
		mime_part_free(&part->children);
		mime_value_free(&part->ctype);
		mime_value_free(&part->disposition);
		free(part->encoding);
		free(part->id);
		free(part->description);
		free(part->language);
		free(part->location);
		free(part->md5);
		free(part->boundary);
		free(part);
	}
	*pp = NULL;
}

int
mime_part_text(const struct mime_part *part, const void *msg, size_t len,
    struct fbuf *out)
{
	const char *charset = mime_value_param(&part->ctype, "charset");
	struct mime_decoder d;
	struct fbuf raw;

	if (part->multipart || part->message || part->body_offset > len ||
	    part->body_size > len - part->body_offset)
		return -1;
	fbuf_init(&raw, 0);
	mime_decoder_init(&d, mime_cte_from_name(part->encoding));
	mime_decoder_feed(&d, (const char *)msg + part->body_offset,
	    (size_t)part->body_size, &raw);
	mime_decoder_finish(&d, &raw);
	if (strcmp(part->ctype.type, "text") != 0 || charset == NULL ||
	    mime_charset_to_utf8(charset, raw.data, raw.len, out) < 0)
		mime_utf8_clean(raw.data, raw.len, out);
	fbuf_release(&raw);
	return 0;
}

static const struct mime_part *
mime_part_nth(const struct mime_part *parent, unsigned long n)
{
	const struct mime_part *c = parent->children;

	while (c != NULL && --n > 0)
		c = c->next;
	return n == 0 ? c : NULL;
}

const struct mime_part *
mime_part_find(const struct mime_part *root, const char *section)
{
	const struct mime_part *cur = NULL, *msg = root;
	unsigned long n;
	char *end;

	if (root == NULL || section[0] == '\0')
		return root;
	for (;;) {
		if (section[0] < '1' || section[0] > '9')
			return NULL;
		n = strtoul(section, &end, 10);
		if (msg != NULL)	/* numbers inside a message */
			cur = msg->multipart ? mime_part_nth(msg, n) :
			    n == 1 ? msg : NULL;
		else if (cur->multipart)
			cur = mime_part_nth(cur, n);
		else
			return NULL;
		if (cur == NULL || *end == '\0')
			return cur;
		if (*end != '.')
			return NULL;
		section = end + 1;
		msg = cur->message ? cur->children : NULL;
	}
}
