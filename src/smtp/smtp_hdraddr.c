/* Address lists in header fields (see smtp_hdraddr.h).  A small state
 * machine over the unfolded value: comments are skipped (nested, with
 * quoted pairs), quoted strings copied as written, "<...>" collected as
 * the address of the current mailbox, "name:" starts a group, "," and
 * ";" end a mailbox.  Anything that makes a mailbox ambiguous is
 * reported as unreadable rather than guessed at. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/fbuf.h"
#include "smtp/smtp_hdraddr.h"

struct smtp_hdraddr_state {
	char plain[SMTP_HDRADDR_MAX];	/* addr-spec outside <> */
	size_t nplain;
	char angle[SMTP_HDRADDR_MAX];	/* inside <> */
	size_t nangle;
	bool in_angle, seen_angle;
	bool junk;			/* unreadable */
	smtp_hdraddr_cb *cb;
	void *ctx;
};

static bool
smtp_hdraddr_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
smtp_hdraddr_put(struct smtp_hdraddr_state *p, char c)
{
	char *buf = p->in_angle ? p->angle : p->plain;
	size_t *n = p->in_angle ? &p->nangle : &p->nplain;

	if (*n + 1 >= SMTP_HDRADDR_MAX) {
		p->junk = true;
		return;
	}
	buf[(*n)++] = c;
	buf[*n] = '\0';
}

/* One mailbox ended (',' ';' or the end of the value). */
static void
smtp_hdraddr_emit(struct smtp_hdraddr_state *p)
{
	char *addr = p->seen_angle ? p->angle : p->plain;
	char *colon;

	/* "<@relay1,@relay2:user@dom>": the obsolete route is dropped. */
	if (p->seen_angle && addr[0] == '@' &&
	    (colon = strchr(addr, ':')) != NULL)
		addr = colon + 1;
	if (addr[0] != '\0' || p->seen_angle || p->junk)
		p->cb(p->ctx, addr, p->junk || addr[0] == '\0');
	p->nplain = p->nangle = 0;
	p->plain[0] = p->angle[0] = '\0';
	p->in_angle = p->seen_angle = p->junk = false;
}

/* Skips a comment at v[i] == '('; returns the index after it. */
static size_t
smtp_hdraddr_skip_comment(const char *v, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

/* Copies a quoted string at v[i] == '"' as written. */
static size_t
smtp_hdraddr_quoted(struct smtp_hdraddr_state *p, const char *v, size_t len,
    size_t i)
{
	if (p->seen_angle && !p->in_angle)
		p->junk = true;		/* text after <addr> */
	smtp_hdraddr_put(p, v[i++]);
	for (; i < len; i++) {
		smtp_hdraddr_put(p, v[i]);
		if (v[i] == '\\' && i + 1 < len)
			smtp_hdraddr_put(p, v[++i]);
		else if (v[i] == '"')
			return i + 1;
	}
	return len;
}

static void
smtp_hdraddr_char(struct smtp_hdraddr_state *p, char c)
{
	if (p->seen_angle && !p->in_angle && c != ',' && c != ';' &&
	    !smtp_hdraddr_wsp(c))
		p->junk = true;		/* text (or a second <) after <addr> */
	else if (c == '<' && !p->in_angle) {
		/* what came before was a display name */
		p->in_angle = p->seen_angle = true;
		p->nangle = 0;
	} else if (c == '>' && p->in_angle)
		p->in_angle = false;
	else if (!p->in_angle && (c == ',' || c == ';'))
		smtp_hdraddr_emit(p);
	else if (!p->in_angle && c == ':') {
		p->nplain = 0;		/* "group name:" */
		p->plain[0] = '\0';
	}
	else if (!smtp_hdraddr_wsp(c))
		smtp_hdraddr_put(p, c);
}

void
smtp_hdraddr_parse(const char *v, size_t len, smtp_hdraddr_cb *cb,
    void *ctx)
{
	struct smtp_hdraddr_state p;
	size_t i = 0;

	memset(&p, 0, sizeof(p));
	p.cb = cb;
	p.ctx = ctx;
	while (i < len) {
		if (v[i] == '(')
			i = smtp_hdraddr_skip_comment(v, len, i);
		else if (v[i] == '"')
			i = smtp_hdraddr_quoted(&p, v, len, i);
		else
			smtp_hdraddr_char(&p, v[i++]);
	}
	smtp_hdraddr_emit(&p);
}

/* Appends the unfolded value of the field at `line` when it is `name`;
 * returns the start of the next field. */
static const char *
smtp_hdraddr_field_one(const char *line, const char *end, const char *name,
    struct fbuf *out)
{
	size_t nlen = strlen(name);
	const char *p = line, *eol;
	bool match = (size_t)(end - line) > nlen &&
	    strncasecmp(line, name, nlen) == 0;

	if (match) {
		for (p = line + nlen; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		match = p < end && *p == ':';
		/* Not this field ("From " at the very end, "Fromage:"):
		 * scan the line from its start like any other. */
		p = match ? p + 1 : line;
	}
	do {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol != NULL ? eol + 1 : end;
		if (match) {
			fbuf_add(out, p, (size_t)(eol - p));
			fbuf_addc(out, ' ');
		}
		p = eol;
	} while (p < end && (*p == ' ' || *p == '\t'));
	if (match)
		fbuf_addc(out, ',');
	return p;
}

void
smtp_hdraddr_fields(const char *hdrs, size_t len, const char *name,
    struct fbuf *out)
{
	const char *p = hdrs, *end = hdrs + len;

	while (p < end)
		p = smtp_hdraddr_field_one(p, end, name, out);
}
