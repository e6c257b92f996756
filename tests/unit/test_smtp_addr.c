/* Unit tests for RFC 5321 path/mailbox parsing (src/smtp/smtp_addr.c).
 * Each case is parsed from an exactly-sized heap copy without a NUL after
 * it, so that ASan catches any read past `len`. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_addr.h"
#include "test.h"

#define NUL_OK	SMTP_ADDR_F_ALLOW_NULL
#define PM	SMTP_ADDR_F_POSTMASTER
#define U8	SMTP_ADDR_F_UTF8
#define NB	SMTP_ADDR_F_NO_BRACKETS
#define L31	"lllllllllllllllllllllllllllllll"
#define L63	L31 L31 "l"		/* the longest label */

struct addr_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	unsigned flags;
	const char *want;	/* smtp_addr_format() result; NULL: error */
	const char *local;	/* checked when not NULL */
};

static const struct addr_case addr_cases[] = {
	{ "<user@example.org>", 0, 0, "user@example.org", "user" },
	{ "<First.Last+tag@Example.ORG>", 0, 0, "First.Last+tag@Example.ORG",
	  NULL },
	{ "<a!#$%&'*+-/=?^_`{|}~@x.y>", 0, 0, "a!#$%&'*+-/=?^_`{|}~@x.y",
	  NULL },
	{ "<user@example.org.>", 0, 0, "user@example.org", NULL },
	{ "<user@example.org..>", 0, 0, NULL, NULL },
	{ "<user@localhost>", 0, 0, "user@localhost", NULL },
	{ "<user@1.2.3.4>", 0, 0, "user@1.2.3.4", NULL },
	/* quoted local parts */
	{ "<\"user\"@example.org>", 0, 0, "user@example.org", "user" },
	{ "<\"a.b\"@example.org>", 0, 0, "a.b@example.org", "a.b" },
	{ "<\"a\\.b\"@example.org>", 0, 0, "a.b@example.org", "a.b" },
	{ "<\"\\a\\b\"@example.org>", 0, 0, "ab@example.org", "ab" },
	{ "<\"a b\"@example.org>", 0, 0, "\"a b\"@example.org", "\"a b\"" },
	{ "<\"a..b\"@example.org>", 0, 0, "\"a..b\"@example.org", NULL },
	{ "<\".a\"@example.org>", 0, 0, "\".a\"@example.org", NULL },
	{ "<\"a\\\"b\"@example.org>", 0, 0, "\"a\\\"b\"@example.org", NULL },
	{ "<\"a\\\\b\"@example.org>", 0, 0, "\"a\\\\b\"@example.org", NULL },
	{ "<\"a@b\"@example.org>", 0, 0, "\"a@b\"@example.org", NULL },
	{ "<\"a>b\"@example.org>", 0, 0, "\"a>b\"@example.org", NULL },
	{ "<\"\"@example.org>", 0, 0, "\"\"@example.org", "\"\"" },
	{ "<\"ab@example.org>", 0, 0, NULL, NULL },
	{ "<\"a\"b@example.org>", 0, 0, NULL, NULL },
	{ "<\"a\\\"@example.org>", 0, 0, NULL, NULL },
	/* dot-atom errors */
	{ "<.user@example.org>", 0, 0, NULL, NULL },
	{ "<user.@example.org>", 0, 0, NULL, NULL },
	{ "<us..er@example.org>", 0, 0, NULL, NULL },
	{ "<us er@example.org>", 0, 0, NULL, NULL },
	{ "<us(er@example.org>", 0, 0, NULL, NULL },
	{ "<@example.org>", 0, 0, NULL, NULL },
	{ "<user>", 0, 0, NULL, NULL },
	{ "<user@>", 0, 0, NULL, NULL },
	{ "<user@remote@local>", 0, 0, NULL, NULL },
	{ "<user%remote@local>", 0, 0, "user%remote@local", NULL },
	/* domains */
	{ "<u@-a.org>", 0, 0, NULL, NULL },
	{ "<u@a-.org>", 0, 0, NULL, NULL },
	{ "<u@a..org>", 0, 0, NULL, NULL },
	{ "<u@.a.org>", 0, 0, NULL, NULL },
	{ "<u@a_b.org>", 0, 0, NULL, NULL },
	{ "<u@a-b.org>", 0, 0, "u@a-b.org", NULL },
	{ "<u@xn--bcher-kva.example>", 0, 0, "u@xn--bcher-kva.example", NULL },
	{ "<u@" L63 ".b>", 0, 0, "u@" L63 ".b", NULL },
	{ "<u@" L63 "a.b>", 0, 0, NULL, NULL },
	/* address literals */
	{ "<u@[192.0.2.1]>", 0, 0, "u@[192.0.2.1]", NULL },
	{ "<u@[IPv6:2001:db8::1]>", 0, 0, "u@[IPv6:2001:db8::1]", NULL },
	{ "<u@[ipv6:2001:db8::1]>", 0, 0, "u@[IPv6:2001:db8::1]", NULL },
	{ "<u@[IPv6:::ffff:192.0.2.1]>", 0, 0, "u@[IPv6:::ffff:192.0.2.1]",
	  NULL },
	{ "<u@[192.0.2.256]>", 0, 0, NULL, NULL },
	{ "<u@[192.0.2]>", 0, 0, NULL, NULL },
	{ "<u@[2001:db8::1]>", 0, 0, NULL, NULL },
	{ "<u@[IPv6:2001:db8::g]>", 0, 0, NULL, NULL },
	{ "<u@[IPv6:192.0.2.1]>", 0, 0, NULL, NULL },
	{ "<u@[x-tag:abc]>", 0, 0, NULL, NULL },
	{ "<u@[192.0.2.1>", 0, 0, NULL, NULL },
	{ "<u@[192.0.2.1]x>", 0, 0, NULL, NULL },
	{ "<u@[]>", 0, 0, NULL, NULL },
	/* source routes */
	{ "<@a.example,@b.example:user@dom.example>", 0, 0,
	  "user@dom.example", NULL },
	{ "<@a.example:user@dom.example>", 0, 0, "user@dom.example", NULL },
	{ "<@a.example,user@dom.example>", 0, 0, NULL, NULL },
	{ "<@a.example,:user@dom.example>", 0, 0, NULL, NULL },
	{ "<@:user@dom.example>", 0, 0, NULL, NULL },
	{ "<@-a:user@dom.example>", 0, 0, NULL, NULL },
	{ "<@a.example:>", 0, 0, NULL, NULL },
	/* null path and Postmaster */
	{ "<>", 0, NUL_OK, "", NULL },
	{ "<>", 0, 0, NULL, NULL },
	{ "<Postmaster>", 0, PM, "postmaster", NULL },
	{ "<pOSTmaster>", 0, PM, "postmaster", NULL },
	{ "<Postmaster>", 0, 0, NULL, NULL },
	{ "<Postmasters>", 0, PM, NULL, NULL },
	{ "<Postmaster@example.org>", 0, 0, "Postmaster@example.org", NULL },
	/* brackets */
	{ "user@example.org", 0, 0, NULL, NULL },
	{ "user@example.org", 0, NB, "user@example.org", NULL },
	{ "<user@example.org", 0, 0, NULL, NULL },
	{ "user@example.org>", 0, NB, NULL, NULL },
	{ "<<user@example.org>>", 0, 0, NULL, NULL },
	{ "<user@example.org> ", 0, 0, NULL, NULL },
	{ "< user@example.org>", 0, 0, NULL, NULL },
	{ "", 0, 0, NULL, NULL },
	{ "<", 0, 0, NULL, NULL },
	{ ">", 0, 0, NULL, NULL },
	/* NUL and controls */
	{ "<us\0er@example.org>", 20, 0, NULL, NULL },
	{ "<user@exa\0mple.org>", 20, 0, NULL, NULL },
	{ "<\"us\0er\"@example.org>", 22, 0, NULL, NULL },
	{ "<us\rer@example.org>", 0, 0, NULL, NULL },
	{ "<\"us\ter\"@example.org>", 0, 0, NULL, NULL },
	{ "<user@example.org\n>", 0, 0, NULL, NULL },
	{ "<us\x7f" "er@example.org>", 0, 0, NULL, NULL },
	/* UTF-8 (RFC 6531) */
	{ "<j\xc3\xb6rg@example.org>", 0, 0, NULL, NULL },
	{ "<j\xc3\xb6rg@example.org>", 0, U8, "j\xc3\xb6rg@example.org", NULL },
	{ "<u@b\xc3\xbc" "cher.example>", 0, U8, "u@b\xc3\xbc" "cher.example",
	  NULL },
	{ "<u@b\xc3\xbc" "cher.example>", 0, 0, NULL, NULL },
	{ "<\"j\xc3\xb6 rg\"@example.org>", 0, U8,
	  "\"j\xc3\xb6 rg\"@example.org", NULL },
	{ "<\"j\xc3\xb6rg\"@example.org>", 0, U8, "j\xc3\xb6rg@example.org",
	  NULL },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	  "\xe5\x91\x8a>", 0, U8, "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5"
	  "\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", NULL },
	{ "<j\xc3rg@example.org>", 0, U8, NULL, NULL },
	{ "<j\xc0\xafrg@example.org>", 0, U8, NULL, NULL },
	{ "<j\xed\xa0\x80rg@example.org>", 0, U8, NULL, NULL },
	{ "<j\xf4\x90\x80\x80rg@example.org>", 0, U8, NULL, NULL },
	{ "<j\xb6rg@example.org>", 0, U8, NULL, NULL },
	{ "<j\xc3\xb6rg@example.org\xc3>", 0, U8, NULL, NULL },
	{ "<\"\\\xc3\xb6\"@example.org>", 0, U8, NULL, NULL },
	{ "<j\xf0\x9f\x98\x80@example.org>", 0, U8,
	  "j\xf0\x9f\x98\x80@example.org", NULL },
};

static void
test_addr_cases(void)
{
	struct smtp_addr a;
	const char *error;
	char out[600], *copy;
	int r;

	test_begin("smtp_addr_parse_path table");
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]);
	    i++) {
		const struct addr_case *c = &addr_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		copy = malloc(len + 1);
		memcpy(copy, c->in, len);
		error = NULL;
		r = smtp_addr_parse_path(len == 0 ? copy + 1 : copy, len,
		    c->flags, &a, &error);
		free(copy);
		if (c->want == NULL) {
			test_assert_idx(r == -1 && error != NULL, i);
			continue;
		}
		test_assert_idx(r == 0, i);
		if (r != 0)
			continue;
		test_assert_idx(smtp_addr_format(&a, out, sizeof(out)) ==
		    (int)strlen(c->want), i);
		test_assert_idx(strcmp(out, c->want) == 0, i);
		if (c->local != NULL)
			test_assert_idx(strcmp(a.local, c->local) == 0, i);
	}
	test_end();
}

static void
test_addr_flags(void)
{
	struct smtp_addr a;
	const char *error;

	test_begin("smtp_addr_parse_path result flags");
	test_assert(smtp_addr_parse_path("<>", 2, NUL_OK, &a, &error) == 0);
	test_assert(a.null && !a.postmaster && !a.literal && !a.utf8);
	test_assert(smtp_addr_parse_path("<Postmaster>", 12, PM, &a,
	    &error) == 0);
	test_assert(a.postmaster && a.domain[0] == '\0' && !a.null);
	test_assert(smtp_addr_parse_path("<a@[10.0.0.1]>", 14, 0, &a,
	    &error) == 0);
	test_assert(a.literal && strcmp(a.domain, "[10.0.0.1]") == 0);
	test_assert(smtp_addr_parse_path("<\xc3\xa9@x.y>", 8, U8, &a,
	    &error) == 0);
	test_assert(a.utf8 && !a.literal);
	test_assert(smtp_addr_parse_path("<e@x.y>", 7, U8, &a, &error) == 0);
	test_assert(!a.utf8);
	test_end();
}

/* Builds "<" + local + "@" + domain + ">": the domain has labels of 63
 * octets (the last one shorter) and is domain_len octets long. */
static size_t
addr_build(char *dst, size_t local, size_t domain_len)
{
	size_t n = 0;

	dst[n++] = '<';
	memset(dst + n, 'l', local);
	n += local;
	dst[n++] = '@';
	for (size_t i = 0; i < domain_len; i++)
		dst[n++] = i % 64 == 63 ? '.' : 'd';
	dst[n++] = '>';
	return n;
}

static void
test_addr_limits(void)
{
	struct smtp_addr a;
	const char *error;
	char buf[1024];
	size_t n;

	test_begin("smtp_addr limits: local 64, domain 255, path 256");
	n = addr_build(buf, 64, 10);
	test_assert(smtp_addr_parse_path(buf, n, 0, &a, &error) == 0);
	n = addr_build(buf, 65, 10);
	test_assert(smtp_addr_parse_path(buf, n, 0, &a, &error) == -1);
	/* the longest path: 1 + 64 + 1 + 189 + 1 = 256 */
	n = addr_build(buf, 64, 189);
	test_assert(n == 256);
	test_assert(smtp_addr_parse_path(buf, n, 0, &a, &error) == 0);
	test_assert(strlen(a.local) == 64 && strlen(a.domain) == 189);
	n = addr_build(buf, 64, 190);
	test_assert(smtp_addr_parse_path(buf, n, 0, &a, &error) == -1);
	n = addr_build(buf, 1, 255);
	test_assert(smtp_addr_parse_path(buf, n, 0, &a, &error) == -1);
	test_assert(smtp_addr_parse_mailbox(buf + 1, n - 2, 0, &a,
	    &error) == -1);
	/* domain names on their own (HELO): 255 octets */
	test_assert(smtp_addr_domain_valid(buf + 3, 255, false));
	test_assert(smtp_addr_domain_valid(buf + 3, 254, false));
	n = addr_build(buf, 1, 258);
	test_assert(!smtp_addr_domain_valid(buf + 3, 258, false));
	test_assert(!smtp_addr_domain_valid(buf + 3, 257, false));
	/* quoted: 64 octets including the quotes */
	buf[0] = '<';
	buf[1] = '"';
	memset(buf + 2, 'q', 62);
	memcpy(buf + 64, "\"@x>", 4);
	test_assert(smtp_addr_parse_path(buf, 68, 0, &a, &error) == 0);
	test_assert(strlen(a.local) == 62);
	memset(buf + 2, 'q', 63);
	memcpy(buf + 65, "\"@x>", 4);
	test_assert(smtp_addr_parse_path(buf, 69, 0, &a, &error) == -1);
	/* escapes count as given, and a 4-octet UTF-8 step at the limit */
	memset(buf + 2, '\\', 62);
	memcpy(buf + 64, "\"@x>", 4);
	test_assert(smtp_addr_parse_path(buf, 68, 0, &a, &error) == 0);
	/* 31 escaped backslashes stay quoted and escaped */
	test_assert(strlen(a.local) == 64 && a.local[0] == '"' &&
	    a.local[1] == '\\' && a.local[63] == '"');
	memset(buf + 2, 'q', 62);
	memcpy(buf + 63, "\xf0\x9f\x98\x80\"@x>", 8);
	test_assert(smtp_addr_parse_path(buf, 71, U8, &a, &error) == -1);
	test_end();
}

static void
test_addr_mailbox_domain(void)
{
	struct smtp_addr a;
	const char *error;
	char out[16];

	test_begin("smtp_addr_parse_mailbox, domain_valid, format");
	test_assert(smtp_addr_parse_mailbox("a@b.c", 5, 0, &a, &error) == 0);
	test_assert(smtp_addr_parse_mailbox("<a@b.c>", 7, 0, &a,
	    &error) == -1);
	test_assert(smtp_addr_parse_mailbox("a@b.c x", 7, 0, &a,
	    &error) == -1);
	test_assert(smtp_addr_parse_mailbox("", 0, 0, &a, &error) == -1);
	test_assert(smtp_addr_format(&a, out, sizeof(out)) >= -1);
	test_assert(smtp_addr_parse_mailbox("abcdefgh@example.org", 20, 0,
	    &a, &error) == 0);
	test_assert(smtp_addr_format(&a, out, sizeof(out)) == -1);
	test_assert(smtp_addr_domain_valid("mx1.example.org", 15, false));
	test_assert(smtp_addr_domain_valid("mx1.example.org.", 16, false));
	test_assert(!smtp_addr_domain_valid("mx1..example.org", 16, false));
	test_assert(!smtp_addr_domain_valid(".", 1, false));
	test_assert(!smtp_addr_domain_valid("a.b..", 5, false));
	test_assert(!smtp_addr_domain_valid("a.-b", 4, false));
	test_assert(!smtp_addr_domain_valid("", 0, false));
	test_assert(!smtp_addr_domain_valid("a b", 3, false));
	test_assert(!smtp_addr_domain_valid("[1.2.3.4]", 9, false));
	test_assert(!smtp_addr_domain_valid("b\xc3\xbc.de", 6, false));
	test_assert(smtp_addr_domain_valid("b\xc3\xbc.de", 6, true));
	test_assert(!smtp_addr_domain_valid("a-", 2, false));
	test_assert(!smtp_addr_domain_valid("a\0b", 3, false));
	test_end();
}

int
main(void)
{
	test_addr_cases();
	test_addr_flags();
	test_addr_limits();
	test_addr_mailbox_domain();
	return test_exit();
}
