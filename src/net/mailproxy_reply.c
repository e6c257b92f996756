/* Reading the home node's replies for the login proxy
 * (mailproxy_reply.h).  RFC 9051 sections 7.1 (status responses and
 * response codes) and 7.2.2 (CAPABILITY); RFC 1939 section 3 (+OK and
 * -ERR) and RFC 2449 (CAPA).  Anything unexpected is "other": the
 * proxy then keeps waiting for its tag or gives up at its timeout. */
#include <string.h>
#include <strings.h>

#include "lib/strutil.h"
#include "net/mailproxy_reply.h"

/* Copies the capability list p[0..n) into r->caps when it is clean. */
static void
mailproxy_caps_set(struct mailproxy_reply *r, const char *p, size_t n)
{
	r->caps[0] = '\0';
	if (n == 0 || n >= sizeof(r->caps))
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e ||
		    p[i] == ']' || p[i] == '[')
			return;
	memcpy(r->caps, p, n);
	r->caps[n] = '\0';
}

/* A "[CAPABILITY ...]" code at the start of text. */
static void
mailproxy_caps_code(struct mailproxy_reply *r, const char *text)
{
	const char *end;

	if (strncasecmp(text, "[CAPABILITY ", 12) != 0)
		return;
	if ((end = strchr(text + 12, ']')) != NULL)
		mailproxy_caps_set(r, text + 12, (size_t)(end - text - 12));
}

/* Matches "WORD" or "WORD ..." at p; the rest (after one space) in
 * *rest_r. */
static bool
mailproxy_word(const char *p, const char *word, const char **rest_r)
{
	size_t n = strlen(word);

	if (strncasecmp(p, word, n) != 0 || (p[n] != ' ' && p[n] != '\0'))
		return false;
	*rest_r = p[n] == ' ' ? p + n + 1 : p + n;
	return true;
}

static void
mailproxy_untagged(const char *p, struct mailproxy_reply *r)
{
	const char *rest;

	if (mailproxy_word(p, "CAPABILITY", &rest))
		mailproxy_caps_set(r, rest, strlen(rest));
	else if (mailproxy_word(p, "OK", &rest) ||
	    mailproxy_word(p, "PREAUTH", &rest)) {
		r->kind = MAILPROXY_GREETING;
		r->text = rest;
		mailproxy_caps_code(r, rest);
	} else if (mailproxy_word(p, "BYE", &rest)) {
		r->kind = MAILPROXY_BYE;
		r->text = rest;
	}
}

void
mailproxy_imap_line(const char *line, const char *tag,
    struct mailproxy_reply *r)
{
	size_t n = strlen(tag);
	const char *p, *rest;

	memset(r, 0, sizeof(*r));
	r->kind = MAILPROXY_OTHER;
	r->text = "";
	if (line[0] == '*' && line[1] == ' ') {
		mailproxy_untagged(line + 2, r);
		return;
	}
	if (n == 0 || strncmp(line, tag, n) != 0 || line[n] != ' ')
		return;
	p = line + n + 1;
	if (mailproxy_word(p, "OK", &rest))
		r->kind = MAILPROXY_OK;
	else if (mailproxy_word(p, "NO", &rest))
		r->kind = MAILPROXY_NO;
	else if (mailproxy_word(p, "BAD", &rest))
		r->kind = MAILPROXY_BAD;
	else
		return;
	r->text = rest;
	mailproxy_caps_code(r, rest);
}

int
mailproxy_pop3_status(const char *line)
{
	if (strncmp(line, "+OK", 3) == 0 && (line[3] == ' ' ||
	    line[3] == '\0'))
		return 1;
	if (strncmp(line, "-ERR", 4) == 0 && (line[4] == ' ' ||
	    line[4] == '\0'))
		return 0;
	return -1;
}

bool
mailproxy_caps_has(const char *caps, const char *word)
{
	size_t n = strlen(word);
	const char *p = caps;

	if (n == 0)
		return false;
	while (*p != '\0') {
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == n && strncasecmp(p, word, n) == 0)
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}
