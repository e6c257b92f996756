/* SMTP reply parsing for the relay client, with no I/O so it can be
 * unit-tested and fuzzed: multi-line replies (RFC 5321 section 4.2,
 * "NNN-text" continued, "NNN text" last, all lines with the same code)
 * and the EHLO keywords the client acts on (RFC 5321 4.1.1.1; SIZE
 * RFC 1870, 8BITMIME RFC 6152, PIPELINING RFC 2920, CHUNKING RFC 3030,
 * STARTTLS RFC 3207, AUTH RFC 4954, SMTPUTF8 RFC 6531).  The text kept
 * for logs and DSNs is capped; longer replies are cut, never refused. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "relay/relay_private.h"

#define RELAY_REPLY_MAX_LINES 100

static bool
relay_word_is(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(p, word, n) == 0 &&
	    (len == n || p[n] == ' ' || p[n] == '=');
}

/* One EHLO keyword line ("SIZE 10240000", "AUTH PLAIN LOGIN"). */
static void
relay_reply_ext(const char *p, size_t len, unsigned *ext, uint64_t *size_max)
{
	static const struct {
		const char *word;
		unsigned flag;
	} words[] = {
		{ "PIPELINING", RELAY_EXT_PIPELINING },
		{ "8BITMIME", RELAY_EXT_8BITMIME },
		{ "SMTPUTF8", RELAY_EXT_SMTPUTF8 },
		{ "CHUNKING", RELAY_EXT_CHUNKING },
		{ "STARTTLS", RELAY_EXT_STARTTLS },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (relay_word_is(p, len, words[i].word))
			*ext |= words[i].flag;
	if (relay_word_is(p, len, "SIZE")) {
		*ext |= RELAY_EXT_SIZE;
		/* Digits within the line only: it need not be NUL-ended.
		 * An absurd value saturates (means: no limit). */
		*size_max = 0;
		for (i = 5; i < len && p[i] == ' '; i++)
			;
		for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			if (__builtin_mul_overflow(*size_max, 10, size_max) ||
			    __builtin_add_overflow(*size_max,
			    (uint64_t)(p[i] - '0'), size_max))
				*size_max = UINT64_MAX;
	}
	if (!relay_word_is(p, len, "AUTH") || len >= sizeof(buf))
		return;
	memcpy(buf, p, len);
	buf[len] = '\0';
	for (char *w = strtok(buf + 4, " ="); w != NULL; w = strtok(NULL, " ")) {
		if (strcasecmp(w, "PLAIN") == 0)
			*ext |= RELAY_EXT_AUTH_PLAIN;
		else if (strcasecmp(w, "LOGIN") == 0)
			*ext |= RELAY_EXT_AUTH_LOGIN;
	}
}

/* Appends a line's text to the kept reply text, bounded. */
static void
relay_reply_keep(struct relay_reply *rp, const char *p, size_t len)
{
	size_t have = strlen(rp->text), room;

	if (have > 0 && have + 1 < sizeof(rp->text))
		rp->text[have++] = ' ';
	room = sizeof(rp->text) - 1 - have;
	if (len > room)
		len = room;
	for (size_t i = 0; i < len; i++)
		rp->text[have + i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
	rp->text[have + len] = '\0';
}

int
relay_reply_line(struct relay_reply *rp, const char *line, size_t len,
    unsigned *ext, uint64_t *size_max)
{
	int code;

	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' ||
	    line[0] > '5' || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (rp->nlines > 0 && code != rp->code)
		return -1;
	if (++rp->nlines > RELAY_REPLY_MAX_LINES)
		return -1;
	if (rp->nlines == 1) {
		rp->code = code;
		relay_reply_keep(rp, line, len);
	} else if (ext != NULL && len > 4)
		relay_reply_ext(line + 4, len - 4, ext, size_max);
	if (rp->nlines > 1 && len > 4 && ext == NULL)
		relay_reply_keep(rp, line + 4, len - 4);
	return len == 3 || line[3] == ' ' ? 1 : 0;
}
