/* Unit tests for src/lib/log.c: how peer data is quoted into log values
 * (log_quote, log_q) and that debug and info lines below the level set
 * do not evaluate their arguments. */
#include <string.h>

#include "lib/fbuf.h"
#include "lib/log.h"
#include "test.h"

static void
quote_is(const char *in, size_t len, size_t cap, const char *want)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_adds(&b, "k=");
	log_quote(&b, in, len, cap);
	test_assert_streq(b.data + 2, want);
	test_assert(b.len == 2 + strlen(want) && b.data[b.len] == '\0');
	fbuf_release(&b);
}

static void
test_log_quote(void)
{
	char big[300], want[810];

	test_begin("log_quote: escapes, quotes, the cap");
	quote_is("plain", 5, 0, "plain");
	quote_is("", 0, 0, "\"\"");
	quote_is("two words", 9, 0, "\"two words\"");
	quote_is("a=b", 3, 0, "\"a=b\"");
	quote_is("say \"hi\"", 8, 0, "\"say \\\"hi\\\"\"");
	quote_is("back\\slash", 10, 0, "back\\\\slash");
	quote_is("cr\r\nlf", 6, 0, "cr\\r\\nlf");
	quote_is("nul\0x", 5, 0, "nul\\x00x");
	quote_is("\x7f\xff\x01", 3, 0, "\\x7f\\xff\\x01");
	quote_is("abcdef", 6, 3, "abc...");
	quote_is("a bcdef", 7, 3, "\"a b...\"");
	/* 200 octets by default, each escaped to four at worst. */
	memset(big, 0x01, sizeof(big));
	for (size_t i = 0; i < 200; i++)
		memcpy(want + 4 * i, "\\x01", 4);
	memcpy(want + 800, "...", 4);
	quote_is(big, sizeof(big), 0, want);
	test_end();
}

static void
test_log_quote_max(void)
{
	struct fbuf b;

	test_begin("log_quote: a limited buffer takes all or nothing");
	fbuf_init(&b, 8);
	log_quote(&b, "abc", 3, 0);
	test_assert_streq(fbuf_str(&b), "abc");
	log_quote(&b, "a b c", 5, 0);	/* 7 more: over 8 */
	test_assert_streq(fbuf_str(&b), "abc");
	test_assert(b.len == 3);
	log_quote(&b, "defgh", 5, 0);
	test_assert_streq(fbuf_str(&b), "abcdefgh");
	fbuf_release(&b);
	test_end();
}

static void
test_log_q(void)
{
	const char *a, *b, *c, *d;
	char big[1000];

	test_begin("log_q: four results at once, long and NULL values");
	a = log_q("one");
	b = log_q("two words");
	c = log_q(NULL);
	d = log_q("tab\there");
	test_assert_streq(a, "one");
	test_assert_streq(b, "\"two words\"");
	test_assert_streq(c, "\"\"");
	test_assert_streq(d, "tab\\x09here");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = log_q(big);
	test_assert(strlen(a) == 2 * 200 + 3);
	test_assert(strncmp(a, "\\n\\n", 4) == 0);
	test_assert(strcmp(a + 400, "...") == 0);
	memset(big, '"', sizeof(big) - 1);
	a = log_q(big);		/* quoted: each '"' escaped, then "..." */
	test_assert(strlen(a) == 1 + 2 * 200 + 3 + 1);
	test_end();
}

static int evaluated;

static const char *
counted(void)
{
	evaluated++;
	return "x";
}

static void
test_log_levels(void)
{
	test_begin("log levels: arguments of lines not written are not evaluated");
	log_init("test", LOG_LVL_WARN);
	evaluated = 0;
	log_debug("never %s", counted());
	log_info("never %s", counted());
	test_assert(evaluated == 0);
	test_assert(!log_enabled(LOG_LVL_INFO) && log_enabled(LOG_LVL_WARN));
	log_set_level(LOG_LVL_INFO);
	log_info("test log info line %s", counted());
	log_debug("never %s", counted());
	test_assert(evaluated == 1);
	log_set_level(LOG_LVL_DEBUG);
	log_debug("test log debug line %s", counted());
	test_assert(evaluated == 2);
	test_end();
}

int
main(void)
{
	test_log_quote();
	test_log_quote_max();
	test_log_q();
	test_log_levels();
	return test_exit();
}
