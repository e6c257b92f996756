/* Address lists (RFC 5322 section 3.4, obsolete forms of 4.4): a small
 * state machine over the unfolded value.  Comments are skipped (nested,
 * with quoted pairs), quoted strings are kept as written in the address
 * and unquoted in the display name, "<...>" is the address of the
 * current mailbox, "name:" starts a group and ";" ends it, "," ends a
 * mailbox.  A bare addr-spec's comment is its display name ("a@x
 * (Alice)", the old style, as Dovecot and Cyrus read it).  Anything that makes a mailbox ambiguous (text after
 * "<addr>", a second "<", an address over MIME_ADDR_MAX) marks it
 * invalid rather than being guessed at.  The sender ownership check
 * depends on that: see smtp_hdraddr.c. */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "mime/mime_private.h"

#define MIME_ADDR_PHRASE_MAX 2048

struct mime_addr_state {
	char plain[MIME_ADDR_MAX];	/* addr-spec outside <> */
	size_t nplain;
	char angle[MIME_ADDR_MAX];	/* inside <> */
	size_t nangle;
	struct fbuf phrase;		/* words outside <>, unquoted */
	struct fbuf comment;		/* the last comment outside <> */
	bool in_angle, seen_angle, in_group;
	bool junk;
	struct mime_address *head, **tail;
};

size_t
mime_skip_comment(const char *v, size_t len, size_t i)
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

size_t
mime_unquote(const char *v, size_t len, size_t i, struct fbuf *out)
{
	for (i++; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len) {
			if (out != NULL)
				fbuf_addc(out, v[i + 1]);
			i++;
		} else if (v[i] == '"')
			return i + 1;
		else if (v[i] != '\r' && v[i] != '\n' && out != NULL)
			fbuf_addc(out, v[i]);
	}
	return len;
}

static void
mime_addr_put(struct mime_addr_state *p, char c)
{
	char *buf = p->in_angle ? p->angle : p->plain;
	size_t *n = p->in_angle ? &p->nangle : &p->nplain;

	if (*n + 1 >= MIME_ADDR_MAX) {
		p->junk = true;
		return;
	}
	buf[(*n)++] = c;
	buf[*n] = '\0';
}

/* One word separator in the display name. */
static void
mime_addr_space(struct mime_addr_state *p)
{
	if (p->phrase.len > 0 && p->phrase.data[p->phrase.len - 1] != ' ')
		fbuf_addc(&p->phrase, ' ');
}

static struct mime_address *
mime_addr_new(struct mime_addr_state *p, enum mime_addr_kind kind)
{
	struct mime_address *a = xcalloc(1, sizeof(*a));

	a->kind = kind;
	*p->tail = a;
	p->tail = &a->next;
	return a;
}

/* The phrase collected so far, trimmed, or NULL when empty. */
static char *
mime_addr_phrase(struct mime_addr_state *p)
{
	size_t n = p->phrase.len;

	while (n > 0 && p->phrase.data[n - 1] == ' ')
		n--;
	return n > 0 ? xstrndup(p->phrase.data, n) : NULL;
}

static void
mime_addr_reset(struct mime_addr_state *p)
{
	p->nplain = p->nangle = 0;
	p->plain[0] = p->angle[0] = '\0';
	p->in_angle = p->seen_angle = p->junk = false;
	fbuf_reset(&p->phrase);
	fbuf_reset(&p->comment);
}

/* Keeps the text of the comment at v[i] ('(') without its outer
 * parentheses, quoted pairs unescaped, runs of white space as one. */
static void
mime_addr_comment(struct mime_addr_state *p, const char *v, size_t end,
    size_t i)
{
	fbuf_reset(&p->comment);
	if (end > i + 1 && v[end - 1] == ')')
		end--;
	for (i++; i < end && p->comment.len < MIME_ADDR_PHRASE_MAX; i++) {
		char c = v[i];

		if (c == '\\' && i + 1 < end)
			c = v[++i];
		else if (mime_is_wsp(c) || c == '\r' || c == '\n') {
			if (p->comment.len > 0 &&
			    p->comment.data[p->comment.len - 1] != ' ')
				fbuf_addc(&p->comment, ' ');
			continue;
		}
		fbuf_addc(&p->comment, c);
	}
	while (p->comment.len > 0 &&
	    p->comment.data[p->comment.len - 1] == ' ')
		p->comment.len--;
}

/* Splits a->addr into mailbox and domain at its last '@'. */
static void
mime_addr_split(struct mime_address *a)
{
	char *at = strrchr(a->addr, '@');

	if (a->addr[0] == '\0')
		return;
	if (at == NULL) {
		a->mailbox = xstrdup(a->addr);
		return;
	}
	a->mailbox = xstrndup(a->addr, (size_t)(at - a->addr));
	a->domain = xstrdup(at + 1);
}

/* One mailbox ended (',' ';' or the end of the value). */
static void
mime_addr_emit(struct mime_addr_state *p)
{
	char *addr = p->seen_angle ? p->angle : p->plain;
	char *colon, *route = NULL;
	struct mime_address *a;

	/* "<@relay1,@relay2:user@dom>": the obsolete route is set apart. */
	if (p->seen_angle && addr[0] == '@' &&
	    (colon = strchr(addr, ':')) != NULL) {
		route = xstrndup(addr, (size_t)(colon - addr));
		addr = colon + 1;
	}
	if (addr[0] != '\0' || p->seen_angle || p->junk) {
		a = mime_addr_new(p, MIME_ADDR_MAILBOX);
		a->addr = xstrdup(addr);
		a->route = route;
		route = NULL;
		a->invalid = p->junk || addr[0] == '\0';
		a->name = p->seen_angle ? mime_addr_phrase(p) : NULL;
		/* "user@dom (Real Name)": the comment names the mailbox */
		if (!p->seen_angle && p->comment.len > 0)
			a->name = xstrndup(p->comment.data, p->comment.len);
		mime_addr_split(a);
	}
	free(route);
	mime_addr_reset(p);
}

static size_t
mime_addr_quoted(struct mime_addr_state *p, const char *v, size_t len,
    size_t i)
{
	if (p->seen_angle && !p->in_angle)
		p->junk = true;		/* text after <addr> */
	if (!p->in_angle) {
		mime_addr_space(p);
		mime_unquote(v, len, i, &p->phrase);
	}
	mime_addr_put(p, v[i++]);
	for (; i < len; i++) {
		mime_addr_put(p, v[i]);
		if (v[i] == '\\' && i + 1 < len)
			mime_addr_put(p, v[++i]);
		else if (v[i] == '"')
			return i + 1;
	}
	return len;
}

static void
mime_addr_colon(struct mime_addr_state *p)
{
	struct mime_address *a;

	/* "group name:" (a second colon inside a group is tolerated as
	 * starting nothing new). */
	if (!p->in_group) {
		a = mime_addr_new(p, MIME_ADDR_GROUP_START);
		a->mailbox = mime_addr_phrase(p);
		if (a->mailbox == NULL)
			a->mailbox = xstrdup("");
		p->in_group = true;
	}
	mime_addr_reset(p);
}

static void
mime_addr_char(struct mime_addr_state *p, char c)
{
	if (p->seen_angle && !p->in_angle && c != ',' && c != ';' &&
	    !mime_is_wsp(c))
		p->junk = true;		/* text (or a second <) after <addr> */
	else if (c == '<' && !p->in_angle) {
		/* what came before was a display name */
		p->in_angle = p->seen_angle = true;
		p->nangle = 0;
	} else if (c == '>' && p->in_angle)
		p->in_angle = false;
	else if (!p->in_angle && c == ',')
		mime_addr_emit(p);
	else if (!p->in_angle && c == ';') {
		mime_addr_emit(p);
		if (p->in_group) {
			mime_addr_new(p, MIME_ADDR_GROUP_END);
			p->in_group = false;
		}
	} else if (!p->in_angle && c == ':')
		mime_addr_colon(p);
	else if (!mime_is_wsp(c)) {
		mime_addr_put(p, c);
		if (!p->in_angle && p->phrase.len < MIME_ADDR_PHRASE_MAX)
			fbuf_addc(&p->phrase, c);
	} else if (!p->in_angle)
		mime_addr_space(p);
}

struct mime_address *
mime_address_parse(const char *v, size_t len)
{
	struct mime_addr_state p;
	size_t i = 0;

	memset(&p, 0, sizeof(p));
	p.tail = &p.head;
	fbuf_init(&p.phrase, MIME_ADDR_PHRASE_MAX);
	fbuf_init(&p.comment, MIME_ADDR_PHRASE_MAX + 1);
	while (i < len) {
		if (v[i] == '(') {
			size_t end = mime_skip_comment(v, len, i);

			if (!p.in_angle) {
				mime_addr_comment(&p, v, end, i);
				mime_addr_space(&p);
			}
			i = end;
		} else if (v[i] == '"')
			i = mime_addr_quoted(&p, v, len, i);
		else
			mime_addr_char(&p, v[i++]);
	}
	mime_addr_emit(&p);
	if (p.in_group)
		mime_addr_new(&p, MIME_ADDR_GROUP_END);
	fbuf_release(&p.phrase);
	fbuf_release(&p.comment);
	return p.head;
}

void
mime_address_free(struct mime_address **ap)
{
	struct mime_address *a = *ap, *next;

	for (; a != NULL; a = next) {
		next = a->next;
		free(a->name);
		free(a->route);
		free(a->mailbox);
		free(a->domain);
		free(a->addr);
		free(a);
	}
	*ap = NULL;
}
