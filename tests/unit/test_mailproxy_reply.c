/* Unit tests for the login proxy's reading of the home node's replies
 * (src/net/mailproxy_reply.c): IMAP lines for the proxy's tag, capability
 * lists untagged and as a response code (unclean ones dropped), POP3
 * status lines, and looking a word up in a list.  Lines are exactly
 * sized heap copies, so ASan sees any over-read. */
#include <stdlib.h>
#include <string.h>

#include "net/mailproxy_reply.h"
#include "test.h"

struct imap_case {
	const char *line;
	enum mailproxy_kind kind;
	const char *caps;
	const char *text;
};

static const struct imap_case imap_cases[] = {
	{ "* OK [CAPABILITY IMAP4rev1 STARTTLS] Ferry IMAP ready",
	    MAILPROXY_GREETING, "IMAP4rev1 STARTTLS",
	    "[CAPABILITY IMAP4rev1 STARTTLS] Ferry IMAP ready" },
	{ "* OK ready", MAILPROXY_GREETING, "", "ready" },
	{ "* PREAUTH hi", MAILPROXY_GREETING, "", "hi" },
	{ "* BYE going", MAILPROXY_BYE, "", "going" },
	{ "* CAPABILITY IMAP4rev1 IDLE", MAILPROXY_OTHER, "IMAP4rev1 IDLE",
	    "" },
	{ "* capability a", MAILPROXY_OTHER, "a", "" },
	{ "* CAPABILITYX a", MAILPROXY_OTHER, "", "" },
	{ "p4 OK [CAPABILITY IMAP4rev1 IDLE] Logged in", MAILPROXY_OK,
	    "IMAP4rev1 IDLE", "[CAPABILITY IMAP4rev1 IDLE] Logged in" },
	{ "p4 OK", MAILPROXY_OK, "", "" },
	{ "p4 ok fine", MAILPROXY_OK, "", "fine" },
	{ "p4 NO [UNAVAILABLE] x", MAILPROXY_NO, "", "[UNAVAILABLE] x" },
	{ "p4 BAD what", MAILPROXY_BAD, "", "what" },
	{ "p4 OKAY", MAILPROXY_OTHER, "", "" },
	{ "p40 OK", MAILPROXY_OTHER, "", "" },
	{ "p3 OK done", MAILPROXY_OTHER, "", "" },
	{ "p4", MAILPROXY_OTHER, "", "" },
	{ "", MAILPROXY_OTHER, "", "" },
	{ "*", MAILPROXY_OTHER, "", "" },
	{ "+ ", MAILPROXY_OTHER, "", "" },
	/* unclean or unterminated lists are dropped */
	{ "p4 OK [CAPABILITY A\x01 B] x", MAILPROXY_OK, "",
	    "[CAPABILITY A\x01 B] x" },
	{ "p4 OK [CAPABILITY A B x", MAILPROXY_OK, "", "[CAPABILITY A B x" },
	{ "* CAPABILITY A [B]", MAILPROXY_OTHER, "", "" },
	{ "* CAPABILITY A \xc3\xa4", MAILPROXY_OTHER, "", "" },
};

static void
test_imap_lines(void)
{
	struct mailproxy_reply r;

	test_begin("mailproxy_imap_line");
	for (size_t i = 0; i < sizeof(imap_cases) / sizeof(imap_cases[0]);
	    i++) {
		const struct imap_case *c = &imap_cases[i];
		size_t n = strlen(c->line);
		char *line = malloc(n + 1);

		memcpy(line, c->line, n + 1);
		mailproxy_imap_line(line, "p4", &r);
		test_assert_idx(r.kind == c->kind, i);
		test_assert_idx(strcmp(r.caps, c->caps) == 0, i);
		test_assert_idx(strcmp(r.text, c->text) == 0, i);
		free(line);
	}
	test_end();
}

static void
test_imap_long_caps(void)
{
	struct mailproxy_reply r;
	char *line = malloc(MAILPROXY_CAPS_MAX + 32);

	test_begin("mailproxy_imap_line long capability list");
	memcpy(line, "* CAPABILITY ", 13);
	memset(line + 13, 'A', MAILPROXY_CAPS_MAX);
	line[13 + MAILPROXY_CAPS_MAX] = '\0';
	mailproxy_imap_line(line, "p4", &r);
	test_assert(r.caps[0] == '\0');
	line[13 + MAILPROXY_CAPS_MAX - 1] = '\0';
	mailproxy_imap_line(line, "p4", &r);
	test_assert(strlen(r.caps) == MAILPROXY_CAPS_MAX - 1);
	free(line);
	test_end();
}

static void
test_pop3(void)
{
	test_begin("mailproxy_pop3_status");
	test_assert(mailproxy_pop3_status("+OK") == 1);
	test_assert(mailproxy_pop3_status("+OK Logged in") == 1);
	test_assert(mailproxy_pop3_status("-ERR") == 0);
	test_assert(mailproxy_pop3_status("-ERR [AUTH] no") == 0);
	test_assert(mailproxy_pop3_status("+OKAY") == -1);
	test_assert(mailproxy_pop3_status("-ERROR") == -1);
	test_assert(mailproxy_pop3_status("+ ") == -1);
	test_assert(mailproxy_pop3_status("") == -1);
	test_assert(mailproxy_pop3_status("+o") == -1);
	test_end();
}

static void
test_caps_has(void)
{
	test_begin("mailproxy_caps_has");
	test_assert(mailproxy_caps_has("IMAP4rev1 STARTTLS AUTH=PLAIN",
	    "STARTTLS"));
	test_assert(mailproxy_caps_has("IMAP4rev1 starttls", "STARTTLS"));
	test_assert(mailproxy_caps_has("STARTTLS", "STARTTLS"));
	test_assert(!mailproxy_caps_has("STARTTLSX", "STARTTLS"));
	test_assert(!mailproxy_caps_has("XSTARTTLS A", "STARTTLS"));
	test_assert(!mailproxy_caps_has("", "STARTTLS"));
	test_assert(!mailproxy_caps_has("A  B", ""));
	test_end();
}

int
main(void)
{
	test_imap_lines();
	test_imap_long_caps();
	test_pop3();
	test_caps_has();
	return test_exit();
}
