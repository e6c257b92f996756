/* IMAP command reader (imap_parser.h).  Input is gathered a line at a
 * time (bounded by line_max); each complete line is tokenised into the
 * argument tree, and a line that ends in a literal announcement switches
 * to copying exactly that many octets before the next line continues the
 * same command (RFC 9051 section 4.3, RFC 7888).  Tokens follow RFC 9051
 * section 9: tags are ASTRING-CHARs without '+', atoms stop at SP, ')'
 * and CRLF, an atom may carry a "[...]" section with spaces, parentheses
 * and quoted strings inside (BODY[HEADER.FIELDS (A B)]<0.10>), quoted
 * strings allow only \" and \\ escapes.  NUL is refused outside literals.
 * After an error the rest of the command is skipped, including {n+}
 * literals the client sends without waiting, so the next command parses.
 * Bare LF ends a line as CRLF does (lenient on input). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "lib/xalloc.h"

enum imap_parser_state {
	IMAP_PST_LINE,		/* gathering a line */
	IMAP_PST_LITERAL,	/* copying literal octets */
	IMAP_PST_SKIP_LINE,	/* error: discarding up to LF */
	IMAP_PST_SKIP_LITERAL,	/* error: discarding a {n+} literal */
	IMAP_PST_DONE,		/* command handed out */
	IMAP_PST_FLUSHED,	/* error reported, nothing left to skip */
	IMAP_PST_DEAD		/* fatal error: nothing more is read */
};

#define IMAP_NO_PARENT UINT_MAX
#define IMAP_PARSER_KEEP (256 * 1024)

struct imap_parser_arg {
	enum imap_arg_type type;
	bool literal8;
	size_t off, len;	/* in strs */
	unsigned parent;	/* index of the enclosing list */
	unsigned count;		/* members, for lists */
	unsigned pos;		/* index in out */
	unsigned block;		/* lists: index of the first member in out */
};

/* Tokeniser state for one line. */
struct imap_line_ctx {
	const char *p, *end;
	bool want_sep;		/* an argument just ended */
	bool after_sp;		/* a separator was just read */
};

static const char *const imap_perr_text[] = {
	[IMAP_PERR_NONE] = "No error",
	[IMAP_PERR_TAG] = "Missing or invalid tag",
	[IMAP_PERR_NAME] = "Missing or invalid command name",
	[IMAP_PERR_SYNTAX] = "Syntax error in arguments",
	[IMAP_PERR_NUL] = "NUL octet outside a literal",
	[IMAP_PERR_LINE] = "[TOOBIG] Command line too long",
	[IMAP_PERR_LITERAL] = "[TOOBIG] Literal too large",
	[IMAP_PERR_COMMAND] = "[TOOBIG] Command too large",
	[IMAP_PERR_DEPTH] = "[TOOBIG] Lists nested too deeply",
	[IMAP_PERR_ARGS] = "[TOOBIG] Too many arguments",
	[IMAP_PERR_LIST] = "Unbalanced parentheses",
};

const char *
imap_parse_error_text(enum imap_parse_error e)
{
	if ((unsigned)e >= sizeof(imap_perr_text) / sizeof(imap_perr_text[0]))
		return "Syntax error";
	return imap_perr_text[e];
}

static void
imap_parser_apply_limits(struct imap_parser *p)
{
	p->lim = p->next_lim;
	free(p->stack);
	p->stack = xcalloc(p->lim.depth_max + 1, sizeof(*p->stack));
	p->lim_pending = false;
}

static void
imap_parser_reset(struct imap_parser *p)
{
	if (p->lim_pending)
		imap_parser_apply_limits(p);
	fbuf_reset(&p->line);
	/* an APPEND-sized buffer is not kept for the commands after it */
	if (p->strs.cap > IMAP_PARSER_KEEP)
		fbuf_release(&p->strs);
	fbuf_reset(&p->strs);
	p->line.max = p->lim.line_max;
	p->strs.max = p->lim.command_max;
	p->npargs = 0;
	p->depth = 0;
	p->after_literal = false;
	p->tag[0] = '\0';
	p->name[0] = '\0';
	p->tag_ok = false;
	p->error = IMAP_PERR_NONE;
	p->state = IMAP_PST_LINE;
}

void
imap_parser_init(struct imap_parser *p, const struct imap_parser_limits *lim)
{
	memset(p, 0, sizeof(*p));
	fbuf_init(&p->line, lim->line_max);
	fbuf_init(&p->strs, lim->command_max);
	/* the limits applied at once (set_limits() defers them while a
	 * command is under way), then reset() with none pending */
	p->next_lim = *lim;
	imap_parser_apply_limits(p);
	imap_parser_reset(p);
}

void
imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *lim)
{
	p->next_lim = *lim;
	p->lim_pending = true;
	/* a finished command stays valid: feed() resets it */
	if (p->state == IMAP_PST_LINE && p->line.len == 0 && !p->tag_ok &&
	    p->npargs == 0)
		imap_parser_reset(p);
}

void
imap_parser_free(struct imap_parser *p)
{
	fbuf_release(&p->line);
	fbuf_release(&p->strs);
	free(p->pargs);
	free(p->stack);
	free(p->out);
	p->pargs = NULL;
	p->stack = NULL;
	p->out = NULL;
}

/* Records an error; the caller returns IMAP_PARSE_ERROR. */
static enum imap_parse_result
imap_parser_fail(struct imap_parser *p, enum imap_parse_error e)
{
	p->error = e;
	return IMAP_PARSE_ERROR;
}

static bool
imap_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* ATOM-CHAR, with list wildcards and ']' allowed (list-mailbox, astring
 * and sequence sets need them) and 8-bit octets passed on for the
 * command handlers to judge. */
static bool
imap_is_atom_char(unsigned char c)
{
	return !imap_is_ctl(c) && c != ' ' && c != '(' && c != ')' &&
	    c != '{' && c != '"';
}

static bool
imap_is_tag_char(unsigned char c)
{
	return c < 0x80 && imap_is_atom_char(c) && c != '+' && c != '%' &&
	    c != '*' && c != '\\';
}

/* Appends a new argument (under the open list); NULL past args_max. */
static struct imap_parser_arg *
imap_parser_new_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_parser_arg *a;

	if (p->npargs >= p->lim.args_max)
		return NULL;
	if (p->npargs == p->cap_pargs) {
		p->cap_pargs = p->cap_pargs ? p->cap_pargs * 2 : 16;
		p->pargs = xreallocarray(p->pargs, p->cap_pargs,
		    sizeof(*p->pargs));
	}
	a = &p->pargs[p->npargs++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->off = p->strs.len;
	a->parent = p->depth ? p->stack[p->depth - 1] : IMAP_NO_PARENT;
	if (a->parent != IMAP_NO_PARENT)
		p->pargs[a->parent].count++;
	return a;
}

/* Adds text to the argument store; -1 past command_max. */
static int
imap_parser_store(struct imap_parser *p, const char *s, size_t n)
{
	return fbuf_add(&p->strs, s, n);
}

/* Where a "[...]" section starting at p (at the '[') ends: after its
 * ']', or NULL when it does not close properly on this line (nested '['
 * or '{', a control character, an unterminated quoted string). */
static const char *
imap_parser_section_end(const char *p, const char *end)
{
	bool quoted = false;

	for (p++; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (quoted) {
			if (ch == '\\' && p + 1 < end)
				p++;
			else if (ch == '"')
				quoted = false;
			else if (ch == '\r' || ch == '\n')
				return NULL;
		} else if (ch == ']')
			return p + 1;
		else if (ch == '"')
			quoted = true;
		else if (ch == '[' || ch == '{' || imap_is_ctl(ch))
			return NULL;
	}
	return NULL;
}

/* An atom, possibly with one "[...]" section (not nested) holding
 * spaces, parentheses and quoted strings.  A '[' that opens no such
 * section is an ATOM-CHAR like any other (a mailbox "a[b"). */
static enum imap_parse_result
imap_parser_atom(struct imap_parser *p, struct imap_line_ctx *c)
{
	const char *start = c->p, *sect;
	bool had_section = false;

	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '[' && !had_section &&
		    (sect = imap_parser_section_end(c->p, c->end)) != NULL) {
			had_section = true;
			c->p = sect;
			continue;
		}
		if (ch == ' ' || ch == ')')
			break;
		if (!imap_is_atom_char(ch))
			return imap_parser_fail(p, IMAP_PERR_SYNTAX);
		c->p++;
	}
	struct imap_parser_arg *a = imap_parser_new_arg(p, IMAP_ARG_ATOM);
	if (a == NULL)
		return imap_parser_fail(p, IMAP_PERR_ARGS);
	a->len = (size_t)(c->p - start);
	if (imap_parser_store(p, start, a->len) < 0 ||
	    imap_parser_store(p, "", 1) < 0)
		return imap_parser_fail(p, IMAP_PERR_COMMAND);
	return IMAP_PARSE_MORE;
}

/* A quoted string; c->p is at the opening quote. */
static enum imap_parse_result
imap_parser_quoted(struct imap_parser *p, struct imap_line_ctx *c)
{
	struct imap_parser_arg *a = imap_parser_new_arg(p, IMAP_ARG_QUOTED);

	if (a == NULL)
		return imap_parser_fail(p, IMAP_PERR_ARGS);
	for (c->p++; c->p < c->end; c->p++) {
		char ch = *c->p;

		if (ch == '"') {
			c->p++;
			a->len = p->strs.len - a->off;
			if (imap_parser_store(p, "", 1) < 0)
				return imap_parser_fail(p, IMAP_PERR_COMMAND);
			return IMAP_PARSE_MORE;
		}
		if (ch == '\\') {
			if (c->p + 1 >= c->end ||
			    (c->p[1] != '"' && c->p[1] != '\\'))
				return imap_parser_fail(p, IMAP_PERR_SYNTAX);
			ch = *++c->p;
		} else if (ch == '\r' || ch == '\n')
			break;
		if (imap_parser_store(p, &ch, 1) < 0)
			return imap_parser_fail(p, IMAP_PERR_COMMAND);
	}
	return imap_parser_fail(p, IMAP_PERR_SYNTAX);
}

/* Parses "{digits[+]}" or "~{...}" ending at end; 0 with the size and
 * kind, -1 when s is not an announcement. */
static int
imap_literal_spec(const char *s, const char *end, uint64_t *size_r,
    bool *sync_r, bool *lit8_r)
{
	uint64_t n = 0;
	size_t digits = 0;

	*lit8_r = false;
	if (s < end && *s == '~') {
		*lit8_r = true;
		s++;
	}
	if (s >= end || *s++ != '{')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*s - '0'), &n))
			return -1;
	}
	if (digits == 0 || s >= end)
		return -1;
	*sync_r = true;
	if (*s == '+') {
		*sync_r = false;
		s++;
	}
	if (s + 1 != end || *s != '}')
		return -1;
	*size_r = n;
	return 0;
}

/* A literal announcement, which must end the line (c->end is at the CR
 * or LF).  Sets up the copy of its octets. */
static enum imap_parse_result
imap_parser_literal(struct imap_parser *p, struct imap_line_ctx *c)
{
	uint64_t n;
	bool sync, lit8;
	struct imap_parser_arg *a;

	if (imap_literal_spec(c->p, c->end, &n, &sync, &lit8) < 0)
		return imap_parser_fail(p, IMAP_PERR_SYNTAX);
	c->p = c->end;
	if (n > p->lim.literal_max || (!sync && n > p->lim.nonsync_max)) {
		/* The client sends a {n+} literal without waiting:
		 * skip it if that is bounded, else the stream is lost. */
		if (!sync && n > p->lim.literal_max)
			p->fatal = true;
		return imap_parser_fail(p, IMAP_PERR_LITERAL);
	}
	if (n >= p->strs.max - p->strs.len && p->strs.max != 0)
		return imap_parser_fail(p, IMAP_PERR_COMMAND);
	if ((a = imap_parser_new_arg(p, IMAP_ARG_LITERAL)) == NULL)
		return imap_parser_fail(p, IMAP_PERR_ARGS);
	a->literal8 = lit8;
	a->len = (size_t)n;
	p->lit_arg = p->npargs - 1;
	p->lit_left = n;
	p->lit_sync = sync;
	p->state = IMAP_PST_LITERAL;
	return sync ? IMAP_PARSE_CONTINUE : IMAP_PARSE_MORE;
}

/* Reads the tag and the command name at the start of a command. */
static enum imap_parse_result
imap_parser_head(struct imap_parser *p, struct imap_line_ctx *c)
{
	const char *s = c->p;
	size_t n;

	while (c->p < c->end && imap_is_tag_char((unsigned char)*c->p))
		c->p++;
	n = (size_t)(c->p - s);
	if (n == 0 || n > IMAP_TAG_MAX ||
	    (c->p < c->end && *c->p != ' '))
		return imap_parser_fail(p, IMAP_PERR_TAG);
	memcpy(p->tag, s, n);
	p->tag[n] = '\0';
	p->tag_ok = true;
	if (c->p >= c->end)
		return imap_parser_fail(p, IMAP_PERR_NAME);
	s = ++c->p;
	while (c->p < c->end && *c->p != ' ') {
		char ch = *c->p;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_'))
			return imap_parser_fail(p, IMAP_PERR_NAME);
		c->p++;
	}
	n = (size_t)(c->p - s);
	if (n == 0 || n > IMAP_NAME_MAX)
		return imap_parser_fail(p, IMAP_PERR_NAME);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		p->name[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	p->name[n] = '\0';
	c->want_sep = true;
	return IMAP_PARSE_MORE;
}

/* One token (or separator) at c->p. */
static enum imap_parse_result
imap_parser_token(struct imap_parser *p, struct imap_line_ctx *c)
{
	char ch = *c->p;

	if (ch == ' ') {
		if (!c->want_sep)
			return imap_parser_fail(p, IMAP_PERR_SYNTAX);
		c->want_sep = false;
		c->after_sp = true;
		c->p++;
		return IMAP_PARSE_MORE;
	}
	if (ch == ')') {
		if (c->after_sp)
			return imap_parser_fail(p, IMAP_PERR_SYNTAX);
		if (p->depth == 0)
			return imap_parser_fail(p, IMAP_PERR_LIST);
		p->depth--;
		c->p++;
		c->want_sep = true;
		return IMAP_PARSE_MORE;
	}
	if (c->want_sep)
		return imap_parser_fail(p, IMAP_PERR_SYNTAX);
	c->after_sp = false;
	if (ch == '(') {
		if (p->depth >= p->lim.depth_max)
			return imap_parser_fail(p, IMAP_PERR_DEPTH);
		if (imap_parser_new_arg(p, IMAP_ARG_LIST) == NULL)
			return imap_parser_fail(p, IMAP_PERR_ARGS);
		p->stack[p->depth++] = p->npargs - 1;
		c->p++;
		return IMAP_PARSE_MORE;
	}
	c->want_sep = true;
	if (ch == '"')
		return imap_parser_quoted(p, c);
	if (ch == '{' || (ch == '~' && c->p + 1 < c->end && c->p[1] == '{'))
		return imap_parser_literal(p, c);
	return imap_parser_atom(p, c);
}

/* Builds p->out so that each list's members are contiguous. */
static void
imap_parser_finish(struct imap_parser *p)
{
	unsigned next = 0, ntop = 0;

	for (unsigned i = 0; i < p->npargs; i++)
		if (p->pargs[i].parent == IMAP_NO_PARENT)
			ntop++;
	next = ntop;
	for (unsigned i = 0; i < p->npargs; i++) {
		struct imap_parser_arg *a = &p->pargs[i];

		if (a->type == IMAP_ARG_LIST) {
			a->block = next;
			next += a->count;
			a->count = 0;	/* reused as a fill counter */
		}
	}
	free(p->out);
	p->out = xcalloc(p->npargs ? p->npargs : 1, sizeof(*p->out));
	ntop = 0;
	for (unsigned i = 0; i < p->npargs; i++) {
		struct imap_parser_arg *a = &p->pargs[i];

		if (a->parent == IMAP_NO_PARENT)
			a->pos = ntop++;
		else
			a->pos = p->pargs[a->parent].block +
			    p->pargs[a->parent].count++;
	}
	for (unsigned i = 0; i < p->npargs; i++) {
		struct imap_parser_arg *a = &p->pargs[i];
		struct imap_arg *o = &p->out[a->pos];

		o->type = a->type;
		o->literal8 = a->literal8;
		if (a->type == IMAP_ARG_LIST) {
			o->str = "";
			o->list = p->out + a->block;
			o->count = a->count;
		} else {
			o->str = fbuf_str(&p->strs) + a->off;
			o->len = a->len;
		}
	}
	p->cmd.tag = p->tag;
	p->cmd.name = p->name;
	p->cmd.args = p->out;
	p->cmd.count = ntop;
	p->state = IMAP_PST_DONE;
}

/* Tokenises the complete line in p->line (LF and CR stripped). */
static enum imap_parse_result
imap_parser_line(struct imap_parser *p)
{
	const char *text = p->line.len > 0 ? p->line.data : "";
	struct imap_line_ctx c = {
		.p = text, .end = text + p->line.len,
		.want_sep = p->after_literal,
	};
	enum imap_parse_result r;

	const char *nul = memchr(c.p, '\0', p->line.len);

	p->after_literal = false;
	if (nul != NULL) {
		/* the tag before the NUL still gets its BAD */
		c.end = nul;
		if (!p->tag_ok) {
			(void)imap_parser_head(p, &c);
			/* a NUL inside the tag leaves no tag to answer */
			if (p->tag_ok && text + strlen(p->tag) >= nul)
				p->tag_ok = false;
		}
		return imap_parser_fail(p, IMAP_PERR_NUL);
	}
	if (!p->tag_ok) {
		if ((r = imap_parser_head(p, &c)) != IMAP_PARSE_MORE)
			return r;
	}
	while (c.p < c.end) {
		r = imap_parser_token(p, &c);
		if (r != IMAP_PARSE_MORE || p->state == IMAP_PST_LITERAL)
			return r;
	}
	if (c.after_sp)
		return imap_parser_fail(p, IMAP_PERR_SYNTAX);
	if (p->depth != 0)
		return imap_parser_fail(p, IMAP_PERR_LIST);
	imap_parser_finish(p);
	return IMAP_PARSE_DONE;
}

/* Remembers the last octets of a line being skipped, to spot a {n+}
 * announcement at its end. */
static void
imap_parser_tail(struct imap_parser *p, const char *s, size_t n)
{
	size_t cap = sizeof(p->tail);

	if (n == 0)
		return;
	if (n >= cap) {
		memcpy(p->tail, s + n - cap, cap);
		p->tail_len = cap;
		return;
	}
	if (p->tail_len + n > cap) {
		size_t drop = p->tail_len + n - cap;

		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len -= drop;
	}
	memcpy(p->tail + p->tail_len, s, n);
	p->tail_len += n;
}

/* The skipped line ended: a {n+} literal at its end is skipped too.
 * True when the bad command is over. */
static bool
imap_parser_skip_eol(struct imap_parser *p)
{
	const char *end = p->tail + p->tail_len, *s;
	uint64_t n;
	bool sync, lit8;

	if (end > p->tail && end[-1] == '\r')
		end--;
	for (s = end; s > p->tail && s[-1] != '{'; s--)
		;
	if (s > p->tail && s - 1 > p->tail && s[-2] == '~')
		s--;
	if (s > p->tail &&
	    imap_literal_spec(s - 1, end, &n, &sync, &lit8) == 0 && !sync) {
		if (n > p->lim.literal_max) {
			p->fatal = true;
			p->state = IMAP_PST_DEAD;
			return false;
		}
		p->skip_left = n;
		p->tail_len = 0;
		p->state = IMAP_PST_SKIP_LITERAL;
		return false;
	}
	return true;
}

/* Enters skipping after an error found in a complete line. */
static void
imap_parser_start_skip(struct imap_parser *p)
{
	if (p->fatal) {
		p->state = IMAP_PST_DEAD;
		return;
	}
	p->tail_len = 0;
	imap_parser_tail(p, p->line.data, p->line.len);
	if (imap_parser_skip_eol(p))
		p->state = IMAP_PST_FLUSHED;
}

/* Feeds octets while skipping; returns how many were used. */
static size_t
imap_parser_skip(struct imap_parser *p, const char *data, size_t len)
{
	size_t used = 0;

	while (used < len && (p->state == IMAP_PST_SKIP_LINE ||
	    p->state == IMAP_PST_SKIP_LITERAL)) {
		const char *s = data + used;
		size_t n = len - used;

		if (p->state == IMAP_PST_SKIP_LITERAL) {
			if (n > p->skip_left)
				n = (size_t)p->skip_left;
			p->skip_left -= n;
			used += n;
			if (p->skip_left == 0)
				p->state = IMAP_PST_SKIP_LINE;
			continue;
		}
		const char *lf = memchr(s, '\n', n);
		if (lf == NULL) {
			imap_parser_tail(p, s, n);
			used += n;
			break;
		}
		imap_parser_tail(p, s, (size_t)(lf - s));
		used += (size_t)(lf - s) + 1;
		if (imap_parser_skip_eol(p))
			imap_parser_reset(p);
	}
	return used;
}

/* An overlong line: the tag (when the line starts with one) is kept
 * for the BAD reply, the rest is skipped. */
static enum imap_parse_result
imap_parser_overlong(struct imap_parser *p, const char *data, size_t n,
    bool eol)
{
	char head[IMAP_TAG_MAX + 2];
	size_t hlen = p->line.len < sizeof(head) ? p->line.len : sizeof(head);
	const char *sp;

	if (hlen > 0)
		memcpy(head, p->line.data, hlen);
	if (hlen < sizeof(head) && n > 0) {
		size_t more = sizeof(head) - hlen < n ? sizeof(head) - hlen : n;

		memcpy(head + hlen, data, more);
		hlen += more;
	}
	/* hlen > 0: no search (nor analyser path) over an unfilled head.
	 * The space must end a tag of at most IMAP_TAG_MAX octets: head
	 * holds one octet more, and a space there would end a tag of
	 * IMAP_TAG_MAX + 1, one past p->tag (found by fuzz_imap_sort). */
	if (!p->tag_ok && hlen > 0 &&
	    (sp = memchr(head, ' ', hlen < IMAP_TAG_MAX + 1 ? hlen :
	    IMAP_TAG_MAX + 1)) != NULL && sp > head) {
		const char *q;

		for (q = head; q < sp && imap_is_tag_char((unsigned char)*q);
		    q++)
			;
		if (q == sp) {
			memcpy(p->tag, head, (size_t)(sp - head));
			p->tag[sp - head] = '\0';
			p->tag_ok = true;
		}
	}
	p->tail_len = 0;
	imap_parser_tail(p, p->line.data, p->line.len);
	imap_parser_tail(p, data, n);
	fbuf_reset(&p->line);
	if (!eol)
		p->state = IMAP_PST_SKIP_LINE;
	else if (imap_parser_skip_eol(p))
		p->state = IMAP_PST_FLUSHED;
	return imap_parser_fail(p, IMAP_PERR_LINE);
}

/* Gathers line octets; at LF tokenises the line. */
static enum imap_parse_result
imap_parser_feed_line(struct imap_parser *p, const char *data, size_t len,
    size_t *used_r)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf ? (size_t)(lf - data) : len;
	enum imap_parse_result r;

	*used_r = lf ? n + 1 : n;
	/* line_max counts the CRLF; a bare LF is counted as two octets */
	if (fbuf_add(&p->line, data, n) < 0 || (lf != NULL &&
	    p->line.len + 1 + (p->line.len == 0 ||
	    p->line.data[p->line.len - 1] != '\r') > p->lim.line_max))
		return imap_parser_overlong(p, data, n, lf != NULL);
	if (lf == NULL)
		return IMAP_PARSE_MORE;
	if (p->line.len > 0 && p->line.data[p->line.len - 1] == '\r')
		p->line.data[--p->line.len] = '\0';
	r = imap_parser_line(p);
	if (r == IMAP_PARSE_ERROR)
		imap_parser_start_skip(p);
	fbuf_reset(&p->line);
	return r;
}

static size_t
imap_parser_feed_literal(struct imap_parser *p, const char *data, size_t len)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;

	/* command_max was checked when the literal was announced */
	if (n > 0 && fbuf_add(&p->strs, data, n) < 0)
		abort();
	p->lit_left -= n;
	if (p->lit_left == 0) {
		if (fbuf_addc(&p->strs, '\0') < 0)
			abort();
		p->after_literal = true;
		p->state = IMAP_PST_LINE;
	}
	return n;
}

enum imap_parse_result
imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
    size_t *used_r)
{
	size_t used = 0, n;
	enum imap_parse_result r;

	if (p->state == IMAP_PST_DONE || p->state == IMAP_PST_FLUSHED)
		imap_parser_reset(p);
	while (used < len || p->state == IMAP_PST_LITERAL) {
		switch (p->state) {
		case IMAP_PST_LINE:
			r = imap_parser_feed_line(p, data + used, len - used,
			    &n);
			used += n;
			if (r != IMAP_PARSE_MORE) {
				*used_r = used;
				return r;
			}
			break;
		case IMAP_PST_LITERAL:
			if (p->lit_left > 0 && used == len)
				goto out;
			used += imap_parser_feed_literal(p, data + used,
			    len - used);
			break;
		case IMAP_PST_SKIP_LINE:
		case IMAP_PST_SKIP_LITERAL:
			used += imap_parser_skip(p, data + used, len - used);
			break;
		case IMAP_PST_DEAD:
			*used_r = len;
			return IMAP_PARSE_MORE;
		default:
			abort();
		}
	}
out:
	*used_r = used;
	return IMAP_PARSE_MORE;
}

const struct imap_command *
imap_parser_command(const struct imap_parser *p)
{
	return p->state == IMAP_PST_DONE ? &p->cmd : NULL;
}

uint64_t
imap_parser_literal_size(const struct imap_parser *p)
{
	return p->state == IMAP_PST_LITERAL ? p->lit_left : 0;
}

bool
imap_parser_idle(const struct imap_parser *p)
{
	return (p->state == IMAP_PST_LINE && p->line.len == 0 &&
	    !p->tag_ok) || p->state == IMAP_PST_DONE ||
	    p->state == IMAP_PST_FLUSHED;
}

enum imap_parse_error
imap_parser_error(const struct imap_parser *p)
{
	return p->error;
}

const char *
imap_parser_error_tag(const struct imap_parser *p)
{
	return p->tag_ok ? p->tag : "*";
}

bool
imap_parser_fatal(const struct imap_parser *p)
{
	return p->fatal;
}
