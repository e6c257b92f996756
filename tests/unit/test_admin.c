/* The admin role's pure parts: the urlencoded form parser (table-driven,
 * and every input also fed with each split point as a shorter form, which
 * must never crash), form_encode() round trips, HTML escaping (every
 * byte value: the output never holds a raw markup character or control
 * byte), the session table's expiry and token comparison. */
#include <stdint.h>
#include <string.h>

#include "admin/form.h"
#include "admin/html.h"
#include "admin/session.h"
#include "lib/fbuf.h"
#include "test.h"

static void
test_form_table(void)
{
	static const struct {
		const char *in;
		int ok;
		const char *name, *want;	/* form_get(name) == want */
	} cases[] = {
		{ "a=1&b=2", 0, "b", "2" },
		{ "a=1;b=2", 0, "b", "2" },
		{ "a=hello+world", 0, "a", "hello world" },
		{ "a=%41%62%2b", 0, "a", "Ab+" },
		{ "a=%e2%82%ac", 0, "a", "\xe2\x82\xac" },
		{ "a", 0, "a", "" },
		{ "a=", 0, "a", "" },
		{ "=x", 0, "", "x" },
		{ "&&a=1&&", 0, "a", "1" },
		{ "a=1&a=2", 0, "a", "1" },
		{ "a=%", -1, NULL, NULL },
		{ "a=%4", -1, NULL, NULL },
		{ "a=%zz", -1, NULL, NULL },
		{ "a=%00", -1, NULL, NULL },
		{ "%00=1", -1, NULL, NULL },
		{ "", 0, "a", NULL },
	};

	test_begin("form table");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct form f;
		int r = form_parse(&f, cases[i].in, strlen(cases[i].in));

		test_assert_idx(r == cases[i].ok, i);
		if (r == 0 && cases[i].name != NULL) {
			const char *v = form_get(&f, cases[i].name);

			if (cases[i].want == NULL)
				test_assert_idx(v == NULL, i);
			else
				test_assert_idx(v != NULL &&
				    strcmp(v, cases[i].want) == 0, i);
		}
		if (r < 0)
			test_assert_idx(f.n == 0 && f.v == NULL, i);
		form_free(&f);
		/* every prefix parses or fails cleanly */
		for (size_t n = 0; n <= strlen(cases[i].in); n++) {
			if (form_parse(&f, cases[i].in, n) == 0)
				form_free(&f);
		}
	}
	test_end();
}

static void
test_form_limits(void)
{
	struct fbuf b;
	struct form f;

	test_begin("form limits and embedded NUL");
	fbuf_init(&b, 0);
	for (int i = 0; i < FORM_FIELDS_MAX; i++)
		fbuf_addf(&b, "f%d=%d&", i, i);
	test_assert(form_parse(&f, b.data, b.len) == 0);
	test_assert(f.n == FORM_FIELDS_MAX);
	form_free(&f);
	fbuf_adds(&b, "one=more");
	test_assert(form_parse(&f, b.data, b.len) == -1);
	test_assert(form_parse(&f, "a=1\0b=2", 7) == -1);
	fbuf_release(&b);
	test_end();
}

static void
test_form_encode(void)
{
	static const char *in[] = { "/domains/example.test", "a b&c=d",
	    "100%", "\xc3\xa9t\xc3\xa9", "x@y.z" };
	struct fbuf b;
	struct form f;

	test_begin("form encode round trip");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		fbuf_reset(&b);
		fbuf_adds(&b, "v=");
		test_assert_idx(form_encode(&b, in[i]) == 0, i);
		test_assert_idx(strpbrk(b.data + 2, " &=/") == NULL, i);
		test_assert_idx(form_parse(&f, b.data, b.len) == 0, i);
		test_assert_idx(strcmp(form_get(&f, "v"), in[i]) == 0, i);
		form_free(&f);
	}
	fbuf_release(&b);
	test_end();
}

static void
test_html_esc(void)
{
	struct fbuf b;
	char one[2] = { 0, 0 };

	test_begin("html escaping");
	fbuf_init(&b, 0);
	html_esc(&b, "<a href=\"x\">'&'</a>");
	test_assert_streq(b.data,
	    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	fbuf_reset(&b);
	html_esc(&b, "caf\xc3\xa9 \xe2\x82\xac ok");
	test_assert_streq(b.data, "caf\xc3\xa9 \xe2\x82\xac ok");
	fbuf_reset(&b);
	/* invalid UTF-8: lone continuation, overlong, surrogate, truncated */
	html_esc(&b, "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82");
	test_assert(strstr(b.data, "\xef\xbf\xbd") != NULL);
	test_assert(strchr(b.data, '\x80') == NULL ||
	    strstr(b.data, "\xef\xbf\xbd") != NULL);
	for (int c = 1; c < 256; c++) {
		one[0] = (char)c;
		fbuf_reset(&b);
		html_esc(&b, one);
		test_assert_idx(strpbrk(b.data, "<>\"'") == NULL, c);
		if (c != '&')
			test_assert_idx(strchr(b.data, '&') == NULL ||
			    b.data[0] == '&', c);
		if (c < 0x20 && c != '\t' && c != '\n')
			test_assert_idx(strcmp(b.data, "\xef\xbf\xbd") == 0, c);
	}
	fbuf_reset(&b);
	html_addf(&b, "<p title=\"%s\">%s %d%%</p>", "\"><x", "<b>", 42);
	test_assert_streq(b.data,
	    "<p title=\"&quot;&gt;&lt;x\">&lt;b&gt; 42%</p>");
	fbuf_release(&b);
	test_end();
}

static void
test_sessions(void)
{
	struct admin_sessions *s = admin_sessions_create();
	const struct admin_session *a, *b;
	char id_a[ADMIN_TOKEN_LEN + 1], id_b[ADMIN_TOKEN_LEN + 1];

	test_begin("sessions: ids, expiry, end");
	a = admin_session_new(s, "x@example.test", OPS_USER, "example.test",
	    1000);
	memcpy(id_a, a->id, sizeof(id_a));
	b = admin_session_new(s, "x@example.test", OPS_USER, "example.test",
	    1000);
	memcpy(id_b, b->id, sizeof(id_b));
	test_assert(strlen(id_a) == ADMIN_TOKEN_LEN);
	test_assert(strcmp(id_a, id_b) != 0);
	test_assert(admin_session_find(s, id_a, 1010, 60, 3600) != NULL);
	/* idle: 60 s after the last use */
	test_assert(admin_session_find(s, id_a, 1069, 60, 3600) != NULL);
	test_assert(admin_session_find(s, id_b, 1071, 60, 3600) == NULL);
	test_assert(admin_sessions_count(s) == 1);
	/* absolute lifetime, however busy */
	for (time_t t = 1100; t < 1000 + 3600; t += 50)
		test_assert(admin_session_find(s, id_a, t, 60, 3600) != NULL);
	test_assert(admin_session_find(s, id_a, 1000 + 3600, 60, 3600) == NULL);
	a = admin_session_new(s, "y@example.test", OPS_ADMIN, "", 5000);
	memcpy(id_a, a->id, sizeof(id_a));
	admin_session_end(s, id_a);
	test_assert(admin_session_find(s, id_a, 5001, 60, 3600) == NULL);
	test_assert(admin_session_find(s, "short", 5001, 60, 3600) == NULL);
	test_assert(admin_session_find(s, NULL, 5001, 60, 3600) == NULL);
	test_assert(!admin_token_equal(id_a, "abc"));
	test_assert(admin_token_equal(id_a, id_a));
	admin_sessions_free(&s);
	test_assert(s == NULL);
	test_end();
}

int
main(void)
{
	test_form_table();
	test_form_limits();
	test_form_encode();
	test_html_esc();
	test_sessions();
	return test_exit();
}
