/* Unit tests for the provider profiles (src/ops/ops_provider.c): the
 * file format with good and bad input, replacement by a later file, the
 * matching `check mx` does, and the shipped data/providers.conf (run
 * from the source tree, as `make unit` does). */
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "ops/ops_provider.h"
#include "test.h"

static const char good[] =
	"# a comment\n"
	"provider = acme   # trailing comment\n"
	"name = Acme Mail\n"
	"match = *.acme.test, MX.ACME.example\n"
	"set = new: mx.acme.test\n"
	"set = old: a.acme.test, b.acme.test\n"
	"\n"
	"provider = other\n"
	"match = *.other.test\n"
	"set = any: *.other.test\n";

static void
test_parse_good(void)
{
	struct ops_providers ps;
	char err[256] = "";

	test_begin("ops_providers_parse good");
	memset(&ps, 0, sizeof(ps));
	test_assert(ops_providers_parse(&ps, "t", good, strlen(good), err,
	    sizeof(err)) == 0);
	test_assert(ps.n == 2);
	test_assert_streq(ps.v[0].id, "acme");
	test_assert_streq(ps.v[0].name, "Acme Mail");
	test_assert(ps.v[0].nmatch == 2);
	test_assert_streq(ps.v[0].match[1], "mx.acme.example");
	test_assert(ps.v[0].nsets == 2);
	test_assert_streq(ps.v[0].sets[1].name, "old");
	test_assert(ps.v[0].sets[1].nhosts == 2);
	test_assert_streq(ps.v[1].name, "other");	/* defaults to id */
	ops_providers_free(&ps);
	test_end();
}

static const struct {
	const char *text;
	const char *err;
} bad_cases[] = {
	{ "name = x\n", "t:1: name before any provider" },
	{ "provider = a\nmatch = *.a.test\n", "t:2: provider a has no set" },
	{ "provider = a\nset = s: a.test\n", "t:2: provider a has no match" },
	{ "provider = A B\n", "t:1: bad provider id" },
	{ "provider =\n", "t:1: bad provider id" },
	{ "provider = a\nmatch = *.a.test\nset = s: a.test\nprovider = a\n",
	    "t:4: provider a twice" },
	{ "provider = a\nfoo = 1\n", "t:2: unknown key foo" },
	{ "provider = a\njust words\n", "t:2: expected KEY = VALUE" },
	{ "provider = a\nmatch = a..test\n",
	    "t:2: not a host name or *.name pattern: a..test" },
	{ "provider = a\nmatch = *.\n",
	    "t:2: not a host name or *.name pattern: *." },
	{ "provider = a\nmatch = a*.test\n",
	    "t:2: not a host name or *.name pattern: a*.test" },
	{ "provider = a\nmatch = a.test.\n",
	    "t:2: not a host name or *.name pattern: a.test." },
	{ "provider = a\nset = a.test\n", "t:2: set needs NAME: HOSTS" },
	{ "provider = a\nset = : a.test\n", "t:2: bad set name" },
	{ "provider = a\nset = s:\n", "t:2: set s has no hosts" },
	{ "provider = a\nname = a\tb\n", "t:2: control character in the name" },
};

static void
test_parse_bad(void)
{
	test_begin("ops_providers_parse bad input");
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct ops_providers ps;
		char err[256] = "";

		memset(&ps, 0, sizeof(ps));
		test_assert_idx(ops_providers_parse(&ps, "t", bad_cases[i].text,
		    strlen(bad_cases[i].text), err, sizeof(err)) == -1, i);
		test_assert_idx(strcmp(err, bad_cases[i].err) == 0, i);
		if (strcmp(err, bad_cases[i].err) != 0)
			fprintf(stderr, "  got: %s\n", err);
		test_assert_idx(ps.n == 0, i);
		ops_providers_free(&ps);
	}
	test_end();
}

static void
test_parse_limits(void)
{
	struct ops_providers ps;
	char err[256], text[4096], label[80];
	struct fbuf b;
	size_t o = 0;

	test_begin("ops_providers_parse limits");
	memset(&ps, 0, sizeof(ps));
	/* NUL inside */
	test_assert(ops_providers_parse(&ps, "t", "provider = a\0x", 14, err,
	    sizeof(err)) == -1);
	test_assert_streq(err, "t:1: NUL in the file");
	/* an overlong line */
	memset(text, 'x', sizeof(text));
	memcpy(text, "name = ", 7);
	test_assert(ops_providers_parse(&ps, "t", text, 2000, err,
	    sizeof(err)) == -1);
	test_assert_streq(err, "t:1: line longer than 1024");
	/* a 64-octet label */
	memset(label, 'a', 64);
	label[64] = '\0';
	o = (size_t)snprintf(text, sizeof(text), "provider = a\nmatch = %s."
	    "test\n", label);
	test_assert(ops_providers_parse(&ps, "t", text, o, err,
	    sizeof(err)) == -1);
	/* too many names in a set */
	o = (size_t)snprintf(text, sizeof(text), "provider = a\nmatch = a.t\n"
	    "set = s:");
	for (int i = 0; i <= OPS_PROVIDER_HOSTS_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " h%d.t", i);
	test_assert(ops_providers_parse(&ps, "t", text, o, err,
	    sizeof(err)) == -1);
	test_assert_streq(err, "t:3: more than 16 names");
	/* too many providers */
	fbuf_init(&b, 0);
	for (int i = 0; i <= OPS_PROVIDER_MAX; i++)
		fbuf_addf(&b, "provider = p%d\nmatch = p%d.t\nset = s: p%d.t\n",
		    i, i, i);
	test_assert(ops_providers_parse(&ps, "t", b.data, b.len, err,
	    sizeof(err)) == -1);
	test_assert_streq(err, "t:193: more than 64 providers");
	test_assert(ps.n == 0);
	fbuf_release(&b);
	ops_providers_free(&ps);
	test_end();
}

static void
test_replace_and_match(void)
{
	static const char later[] =
	    "provider = acme\nname = Acme (ours)\nmatch = *.acme.test\n"
	    "set = only: mx9.acme.test\n"
	    "provider = third\nmatch = x.third.test\nset = s: x.third.test\n";
	const char *hosts[] = { "b.acme.test", "A.ACME.TEST.", "x.other.test" };
	const struct ops_provider *p;
	const struct ops_provider_set *s;
	struct ops_providers ps;
	char err[256];
	size_t present;

	test_begin("ops_providers replace and match");
	memset(&ps, 0, sizeof(ps));
	test_assert(ops_providers_parse(&ps, "a", good, strlen(good), err,
	    sizeof(err)) == 0);
	p = ops_providers_find(&ps, hosts, 3);
	test_assert(p != NULL && strcmp(p->id, "acme") == 0);
	s = ops_provider_best_set(p, hosts, 3, &present);
	test_assert_streq(s->name, "old");
	test_assert(present == 2);
	test_assert(ops_provider_match("*.other.test", "x.other.test"));
	test_assert(!ops_provider_match("*.other.test", "other.test"));
	test_assert(!ops_provider_match("*.other.test", "xother.test"));
	test_assert(ops_provider_match("mx.acme.test", "MX.acme.test."));
	test_assert(!ops_provider_match("mx.acme.test", "mx.acme.tes"));
	/* A later file replaces by id and adds; a failing one adds nothing. */
	test_assert(ops_providers_parse(&ps, "b", later, strlen(later), err,
	    sizeof(err)) == 0);
	test_assert(ps.n == 3);
	p = ops_providers_find(&ps, hosts, 3);
	test_assert(p != NULL && strcmp(p->name, "Acme (ours)") == 0);
	s = ops_provider_best_set(p, hosts, 3, &present);
	test_assert_streq(s->name, "only");
	test_assert(present == 0);
	test_assert(ops_providers_parse(&ps, "c", "provider = z\n", 13, err,
	    sizeof(err)) == -1);
	test_assert(ps.n == 3);
	test_assert(ops_providers_find(&ps, hosts + 2, 0) == NULL);
	ops_providers_free(&ps);
	test_end();
}

static void
test_shipped_file(void)
{
	const char *legacy[] = { "alt3.aspmx.l.google.com",
	    "alt4.aspmx.l.google.com" };
	const char *ms[] = { "example-com.mail.protection.outlook.com" };
	const struct ops_provider *p;
	const struct ops_provider_set *s;
	struct ops_providers ps;
	char err[256] = "";
	struct fbuf b;
	size_t present;

	test_begin("data/providers.conf");
	memset(&ps, 0, sizeof(ps));
	fbuf_init(&b, 0);
	test_assert(fsio_read_file("data/providers.conf", &b,
	    OPS_PROVIDER_FILE_MAX) == 0);
	test_assert(ops_providers_parse(&ps, "providers.conf",
	    b.data != NULL ? b.data : "", b.len, err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "  %s\n", err);
	test_assert(ps.n >= 7);
	p = ops_providers_find(&ps, legacy, 2);
	test_assert(p != NULL && strcmp(p->id, "google") == 0);
	if (p != NULL) {
		s = ops_provider_best_set(p, legacy, 2, &present);
		test_assert_streq(s->name, "legacy");
		test_assert(present == 2 && s->nhosts == 5);
		test_assert_streq(p->sets[0].hosts[0], "smtp.google.com");
	}
	p = ops_providers_find(&ps, ms, 1);
	test_assert(p != NULL && strcmp(p->id, "microsoft365") == 0);
	fbuf_release(&b);
	ops_providers_free(&ps);
	test_end();
}

int
main(void)
{
	test_parse_good();
	test_parse_bad();
	test_parse_limits();
	test_replace_and_match();
	test_shipped_file();
	return test_exit();
}
