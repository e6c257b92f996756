/* Unit tests for src/mime: header fields, addresses, dates, message
 * ids, encoded words, parameters, transfer decoding, structure, limits,
 * section lookup and the envelope.  Table-driven; every streaming case
 * runs on the whole input, then fed one byte at a time, then in
 * 7-octet pieces, and must give the same result each way.  Inputs are
 * exactly-sized heap copies so that ASan sees reads past the end. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "mime/mime.h"
#include "test.h"

static char *
dup_exact(const char *s, size_t n)
{
	char *d = malloc(n > 0 ? n : 1);

	memcpy(d, s, n);
	return d;
}

/* Feeds in[0..n) in pieces of `step` octets (0: all at once). */
#define FEED_STEPS 3
static const size_t feed_steps[FEED_STEPS] = { 0, 1, 7 };

/* ---- header fields ---- */

struct hdr_case {
	const char *in;
	const char *want;	/* name=value|... */
	size_t size;		/* octets of the section */
	unsigned flags;
	size_t header_max;	/* 0: default */
	unsigned fields_max;
};

static const struct hdr_case hdr_cases[] = {
	{ "Subject: hi\r\nFrom: a@x\r\n\r\nbody", "Subject=hi|From=a@x", 26,
		0, 0, 0 },
	{ "Subject: one\r\n two\r\n\tthree\r\n\r\n",
		"Subject=one two\tthree", 30, 0, 0, 0 },
	{ "A: 1\nB:2\n\nrest", "A=1|B=2", 10, 0, 0, 0 },
	{ "FROM : <b@y>\r\n\r\n", "FROM=<b@y>", 16, 0, 0, 0 },
	{ "From a@b Mon Jan  1 00:00:00 2024\r\nX: y\r\n\r\n", "X=y", 43,
		MIME_F_BAD_FIELD, 0, 0 },
	{ " folded\r\nX: y\r\n\r\n", "X=y", 17, MIME_F_BAD_FIELD, 0, 0 },
	{ "X: y", "X=y", 4, 0, 0, 0 },
	{ "X: y\r\n", "X=y", 6, 0, 0, 0 },
	{ "\r\nX: y\r\n", "", 2, 0, 0, 0 },
	{ "Empty:\r\nE2:   \r\n\r\n", "Empty=|E2=", 18, 0, 0, 0 },
	{ "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", "A=1|B=2", 20,
		MIME_F_TOO_MANY_FIELDS, 0, 2 },
	{ "A: 1\r\nB: 22222\r\nC: 3\r\n\r\n", "A=1", 24,
		MIME_F_HEADER_TOO_BIG, 10, 0 },
	{ "A: x\rb\r\n\r\n", "A=x\rb", 10, 0, 0, 0 },
	{ "Na me: x\r\n\r\n", "", 12, MIME_F_BAD_FIELD, 0, 0 },
	{ "X-8: caf\xc3\xa9\r\n\r\n", "X-8=caf\xc3\xa9", 14, 0, 0, 0 },
};

static void
hdr_collect(void *ctx, const struct mime_field *f)
{
	struct fbuf *out = ctx;

	if (out->len > 0)
		fbuf_addc(out, '|');
	fbuf_add(out, f->name, f->name_len);
	fbuf_addc(out, '=');
	fbuf_add(out, f->value, f->value_len);
}

static void
test_mime_header(void)
{
	test_begin("mime header fields");
	for (size_t i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		const struct hdr_case *c = &hdr_cases[i];
		size_t n = strlen(c->in), used;
		char *in = dup_exact(c->in, n);
		struct mime_limits l;

		mime_limits_default(&l);
		if (c->header_max > 0)
			l.header_max = c->header_max;
		if (c->fields_max > 0)
			l.fields_max = c->fields_max;
		for (int s = 0; s < FEED_STEPS; s++) {
			size_t step = feed_steps[s] ? feed_steps[s] : n;
			struct mime_header_parser *p;
			struct fbuf out;

			fbuf_init(&out, 0);
			p = mime_header_parser_new(&l, hdr_collect, &out);
			used = 0;
			for (size_t k = 0; k < n; k += step) {
				size_t m = n - k < step ? n - k : step;
				size_t u = mime_header_parser_feed(p, in + k, m);

				used += u;
				if (u < m)
					break;
			}
			mime_header_parser_finish(p);
			test_assert_idx(strcmp(fbuf_str(&out), c->want) == 0,
			    i * 10 + s);
			if (strcmp(fbuf_str(&out), c->want) != 0)
				fprintf(stderr, "  got \"%s\"\n",
				    fbuf_str(&out));
			test_assert_idx(mime_header_parser_size(p) == c->size,
			    i * 10 + s);
			test_assert_idx(used == c->size, i * 10 + s);
			test_assert_idx(mime_header_parser_flags(p) == c->flags,
			    i * 10 + s);
			mime_header_parser_free(&p);
			fbuf_release(&out);
		}
		free(in);
	}
	test_end();
}

static void
test_mime_header_values(void)
{
	static const char hdrs[] = "Subject: hi\r\nFrom: Alice\r\n <a@x>\r\n"
	    "X-From: <evil@x>\r\nfrom: <b@y>\r\n\r\nFrom: <body@z>\r\n";
	struct fbuf out;

	test_begin("mime header values");
	fbuf_init(&out, 0);
	test_assert(mime_header_values(hdrs, sizeof(hdrs) - 1, "From",
	    &out) == 2);
	test_assert_streq(fbuf_str(&out), "Alice <a@x>,<b@y>,");
	fbuf_release(&out);
	test_end();
}

/* ---- addresses ---- */

struct addr_case {
	const char *in;
	const char *want;
};

/* Each element: "name|route|mailbox|domain" with "-" for NULL, "!" in
 * front when invalid; groups as "G:name" and "g". */
static const struct addr_case addr_cases[] = {
	{ "alice@example.test", "-|-|alice|example.test" },
	{ "Alice Example <alice@example.test>",
		"Alice Example|-|alice|example.test" },
	{ "\"Example, Alice\" <a@x>", "Example, Alice|-|a|x" },
	{ "\"q\\\"uote\" (c) <a@x>", "q\"uote|-|a|x" },
	{ "a@x (Alice)", "Alice|-|a|x" },
	{ "a@x ( Alice  (the \\) one)  ), b@y", "Alice (the ) one)|-|a|x;-|-|b|y" },
	{ "a@x ()", "-|-|a|x" },
	{ "A <a@x> (c)", "A|-|a|x" },
	{ "a@x, b@y", "-|-|a|x;-|-|b|y" },
	{ "Team: a@x, B <b@y>;, c@z",
		"G:Team;-|-|a|x;B|-|b|y;g;-|-|c|z" },
	{ "undisclosed-recipients:;", "G:undisclosed-recipients;g" },
	{ "Open: a@x", "G:Open;-|-|a|x;g" },
	{ "<@r1,@r2:a@x>", "-|@r1,@r2|a|x" },
	{ "<a@x> junk", "!-|-|a|x" },
	{ "<>", "!-|-|-|-" },
	{ "\"a b\"@x", "-|-|\"a b\"|x" },
	{ "local", "-|-|local|-" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "=?utf-8?q?J=C3=B6rg?=|-|j|x" },
	{ "", "" },
	{ ",,", "" },
};

static void
addr_dump(const struct mime_address *a, struct fbuf *out)
{
	for (; a != NULL; a = a->next) {
		if (out->len > 0)
			fbuf_addc(out, ';');
		if (a->kind == MIME_ADDR_GROUP_START) {
			fbuf_addf(out, "G:%s", a->mailbox);
			continue;
		}
		if (a->kind == MIME_ADDR_GROUP_END) {
			fbuf_addc(out, 'g');
			continue;
		}
		fbuf_addf(out, "%s%s|%s|%s|%s", a->invalid ? "!" : "",
		    a->name ? a->name : "-", a->route ? a->route : "-",
		    a->mailbox ? a->mailbox : "-",
		    a->domain ? a->domain : "-");
	}
}

static void
test_mime_address(void)
{
	test_begin("mime address lists");
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]);
	    i++) {
		size_t n = strlen(addr_cases[i].in);
		char *in = dup_exact(addr_cases[i].in, n);
		struct mime_address *a = mime_address_parse(in, n);
		struct fbuf out;

		fbuf_init(&out, 0);
		addr_dump(a, &out);
		test_assert_idx(strcmp(fbuf_str(&out), addr_cases[i].want) ==
		    0, i);
		if (strcmp(fbuf_str(&out), addr_cases[i].want) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&out));
		fbuf_release(&out);
		mime_address_free(&a);
		test_assert_idx(a == NULL, i);
		free(in);
	}
	test_end();
}

/* ---- dates ---- */

struct date_case {
	const char *in;
	int ok;
	long long t;
	int zone;
};

static const struct date_case date_cases[] = {
	{ "Fri, 04 Dec 2026 23:19:13 +0000", 0, 1796426353LL, 0 },
	{ "4 Dec 2026 23:19:13 +0100", 0, 1796426353LL - 3600, 60 },
	{ "Fri,  4 Dec 2026 18:19 -0500 (EST)", 0, 1796426340LL, -300 },
	{ "Fri, 4 Dec 26 23:19:13 GMT", 0, 1796426353LL, 0 },
	{ "Thu, 01 Jan 1970 00:00:00 EDT", 0, 4 * 3600, -240 },
	{ "1 Jan 99 00:00:00 +0000", 0, 915148800LL, 0 },
	{ "1 Jan 070 00:00:00 Z", 0, 0, 0 },
	{ "Monday, 29 Feb 2016 12:00:00 -0000", 0, 1456747200LL, 0 },
	{ "31 Feb 2016 12:00:00 +0000", -1, 0, 0 },
	{ "32 Jan 2016 12:00:00 +0000", -1, 0, 0 },
	{ "1 Foo 2016 12:00:00 +0000", -1, 0, 0 },
	{ "1 Jan 2016 25:00:00 +0000", -1, 0, 0 },
	{ "1 Jan 2016 12:00:00:00 +0000", -1, 0, 0 },
	{ "yesterday", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

static void
test_mime_date(void)
{
	test_begin("mime dates");
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]);
	    i++) {
		const struct date_case *c = &date_cases[i];
		size_t n = strlen(c->in);
		char *in = dup_exact(c->in, n);
		time_t t = 0;
		int zone = 99, r = mime_date_parse(in, n, &t, &zone);

		test_assert_idx(r == c->ok, i);
		if (r == 0 && c->ok == 0) {
			test_assert_idx((long long)t == c->t, i);
			test_assert_idx(zone == c->zone, i);
			if ((long long)t != c->t)
				fprintf(stderr, "  got %lld\n", (long long)t);
		}
		free(in);
	}
	test_end();
}

/* ---- message ids ---- */

static void
msgid_collect(void *ctx, const char *id, size_t len)
{
	struct fbuf *out = ctx;

	if (out->len > 0)
		fbuf_addc(out, ' ');
	fbuf_add(out, id, len);
}

static void
test_mime_msgid(void)
{
	static const struct { const char *in, *want; unsigned n; } cases[] = {
		{ "<a@b>", "<a@b>", 1 },
		{ "<a@b> <c@d>\r\n <e@f>", "<a@b> <c@d> <e@f>", 3 },
		{ "(comment <x@y>) <a@b>", "<a@b>", 1 },
		{ "\"<q@q>\" <a@b>", "<a@b>", 1 },
		{ "< a@b (c) >", "<a@b>", 1 },
		{ "<>, <a@b", "", 0 },
		{ "<<a@b>", "<a@b>", 1 },
		{ "no ids", "", 0 },
	};

	test_begin("mime message ids");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		char *in = dup_exact(cases[i].in, n);
		struct fbuf out;

		fbuf_init(&out, 0);
		test_assert_idx(mime_msgid_list(in, n, msgid_collect, &out) ==
		    cases[i].n, i);
		test_assert_idx(strcmp(fbuf_str(&out), cases[i].want) == 0, i);
		fbuf_release(&out);
		free(in);
	}
	test_end();
}

/* ---- encoded words ---- */

static void
test_mime_encword(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "plain text", "plain text" },
		{ "=?UTF-8?B?SGVsbG8=?=", "Hello" },
		{ "=?iso-8859-1?q?caf=E9_au_lait?=", "caf\xc3\xa9 au lait" },
		{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
		{ "=?utf-8?q?a?=\r\n\t=?utf-8?q?b?=", "ab" },
		{ "=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b" },
		/* a character split over two words */
		{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" },
		{ "=?x-unknown?q?abc?= tail", "=?x-unknown?q?abc?= tail" },
		{ "=?utf-8*en?q?hi?=", "hi" },
		{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
		{ "=?utf-8?q?no end", "=?utf-8?q?no end" },
		{ "=??q?a?=", "=??q?a?=" },
		{ "bad \xff byte", "bad \xef\xbf\xbd byte" },
		{ "=?utf-8?q?=FF?=", "\xef\xbf\xbd" },
		{ "pre=?utf-8?q?x?=post", "prexpost" },
	};

	test_begin("mime encoded words");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		char *in = dup_exact(cases[i].in, n);
		struct fbuf out;

		fbuf_init(&out, 0);
		mime_encword_decode(in, n, &out);
		test_assert_idx(strcmp(fbuf_str(&out), cases[i].want) == 0, i);
		if (strcmp(fbuf_str(&out), cases[i].want) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&out));
		fbuf_release(&out);
		free(in);
	}
	test_end();
}

/* ---- parameters ---- */

struct param_case {
	const char *in;
	bool sub;
	const char *want;	/* "type/sub;name=value;..." */
};

static const struct param_case param_cases[] = {
	{ "text/plain; charset=us-ascii", true, "text/plain;charset=us-ascii" },
	{ "TEXT/Plain ; CharSet=\"UTF-8\" (comment)", true,
		"text/plain;charset=UTF-8" },
	{ "multipart/mixed;\r\n boundary=\"=_a b\\\"c\"", true,
		"multipart/mixed;boundary==_a b\"c" },
	{ "text", true, "-/-" },
	{ "text/", true, "-/-" },
	{ "/plain", true, "-/-" },
	{ "", true, "-/-" },
	{ "attachment; filename=a.txt", false, "attachment;filename=a.txt" },
	{ "attachment; filename*=utf-8''%E2%82%AC%20rates.txt", false,
		"attachment;filename=\xe2\x82\xac rates.txt" },
	{ "attachment; filename*0=\"long\"; filename*1=\"name.txt\"", false,
		"attachment;filename=longname.txt" },
	{ "attachment; filename*1=\"name.txt\"; filename*0=\"long\"", false,
		"attachment;filename=longname.txt" },
	{ "a; t*0*=iso-8859-1'fr'caf; t*1*=%E9; t*2=\" 100%\"", false,
		"a;t=caf\xc3\xa9 100%" },
	{ "a; t=plain; t*=us-ascii'en'better", false, "a;t=better" },
	{ "a; t*=x-unknown''%41%42", false, "a;t=AB" },
	{ "a; bad; =x; q=1; Q=2", false, "a;q=1" },
	{ "a; v=\"unterminated", false, "a;v=unterminated" },
	{ "a; v=x;y=\"1;2\";z=3", false, "a;v=x;y=1;2;z=3" },
	{ "a; n*99999999999=x", false, "a;n=x" },
};

/* The limits: 64 parameters kept, the first 256 as written looked at
 * (the list grows as they come, the limits stay). */
static void
test_mime_param_many(void)
{
	struct mime_value v;
	struct fbuf in;
	char name[16];

	fbuf_init(&in, 0);
	fbuf_adds(&in, "text/plain");
	for (int i = 0; i < 300; i++)
		fbuf_addf(&in, "; p%d=v%d", i, i);
	mime_value_parse(in.data, in.len, true, &v);
	test_assert(v.nparams == 64);
	test_assert_streq(v.params[0].name, "p0");
	test_assert_streq(v.params[63].name, "p63");
	test_assert_streq(mime_value_param(&v, "p63"), "v63");
	test_assert(mime_value_param(&v, "p64") == NULL);
	mime_value_free(&v);
	/* a continuation past the 256th parameter is not joined */
	fbuf_reset(&in);
	fbuf_adds(&in, "attachment; f*0=a");
	for (int i = 1; i < 255; i++)
		fbuf_addf(&in, "; f*%d=%c", i, 'a' + i % 26);
	fbuf_adds(&in, "; f*255=Z; f*256=Y");
	mime_value_parse(in.data, in.len, false, &v);
	test_assert(v.nparams == 1);
	test_assert(v.nparams == 1 && strlen(v.params[0].value) == 256 &&
	    v.params[0].value[255] == 'Z');
	mime_value_free(&v);
	/* none at all, and one */
	mime_value_parse("inline", 6, false, &v);
	test_assert(v.nparams == 0 && mime_value_param(&v, "x") == NULL);
	mime_value_free(&v);
	snprintf(name, sizeof(name), "a/b; x=%d", 7);
	mime_value_parse(name, strlen(name), true, &v);
	test_assert(v.nparams == 1);
	test_assert_streq(mime_value_param(&v, "x"), "7");
	mime_value_free(&v);
	fbuf_release(&in);
}

static void
test_mime_param(void)
{
	struct mime_value v;

	test_begin("mime parameters");
	for (size_t i = 0; i < sizeof(param_cases) / sizeof(param_cases[0]);
	    i++) {
		const struct param_case *c = &param_cases[i];
		size_t n = strlen(c->in);
		char *in = dup_exact(c->in, n);
		struct fbuf out;

		mime_value_parse(in, n, c->sub, &v);
		fbuf_init(&out, 0);
		if (c->sub)
			fbuf_addf(&out, "%s/%s", v.type ? v.type : "-",
			    v.subtype ? v.subtype : "-");
		else
			fbuf_adds(&out, v.type ? v.type : "-");
		for (size_t k = 0; k < v.nparams; k++)
			fbuf_addf(&out, ";%s=%s", v.params[k].name,
			    v.params[k].value);
		test_assert_idx(strcmp(fbuf_str(&out), c->want) == 0, i);
		if (strcmp(fbuf_str(&out), c->want) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&out));
		fbuf_release(&out);
		mime_value_free(&v);
		free(in);
	}
	mime_value_parse("a; f*=utf-8'de'x", 16, false, &v);
	test_assert(v.nparams == 1 && v.params[0].charset != NULL &&
	    strcmp(v.params[0].charset, "utf-8") == 0 &&
	    strcmp(v.params[0].language, "de") == 0);
	test_assert_streq(mime_value_param(&v, "f"), "x");
	test_assert(mime_value_param(&v, "g") == NULL);
	mime_value_free(&v);
	test_mime_param_many();
	test_end();
}

/* ---- transfer decoding ---- */

struct dec_case {
	enum mime_cte cte;
	const char *in;
	const char *want;
	bool bad;
};

static const struct dec_case dec_cases[] = {
	{ MIME_CTE_BASE64, "SGVsbG8sIHdvcmxk\r\nIQ==\r\n", "Hello, world!",
		false },
	{ MIME_CTE_BASE64, "SGVs\r\nbG8=", "Hello", false },
	{ MIME_CTE_BASE64, "SG*Vs", "Hel", true },
	{ MIME_CTE_BASE64, "", "", false },
	{ MIME_CTE_QP, "caf=E9 =3D equal\r\n", "caf\xe9 = equal\r\n", false },
	{ MIME_CTE_QP, "soft=\r\nbreak\r\n", "softbreak\r\n", false },
	{ MIME_CTE_QP, "trailing   \r\nws\t\n", "trailing\r\nws\n", false },
	{ MIME_CTE_QP, "soft with ws=  \r\nnext", "soft with wsnext", false },
	{ MIME_CTE_QP, "bad =ZZ and =", "bad =ZZ and ", true },
	{ MIME_CTE_QP, "lower =e9", "lower \xe9", false },
	{ MIME_CTE_QP, "end=4", "end=4", true },
	{ MIME_CTE_7BIT, "as is =41\r\n", "as is =41\r\n", false },
};

static void
dec_run(const struct dec_case *c, size_t step, struct fbuf *out, bool *bad)
{
	size_t n = strlen(c->in);
	struct mime_decoder d;

	mime_decoder_init(&d, c->cte);
	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t k = 0; k < n; k += step)
		mime_decoder_feed(&d, c->in + k, n - k < step ? n - k : step,
		    out);
	mime_decoder_finish(&d, out);
	*bad = d.bad;
}

static void
test_mime_decode(void)
{
	test_begin("mime transfer decoding");
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		for (int s = 0; s < FEED_STEPS; s++) {
			struct fbuf out;
			bool bad;

			fbuf_init(&out, 0);
			dec_run(&dec_cases[i], feed_steps[s], &out, &bad);
			test_assert_idx(out.len == strlen(dec_cases[i].want) &&
			    memcmp(fbuf_str(&out), dec_cases[i].want, out.len) == 0,
			    i * 10 + s);
			test_assert_idx(bad == dec_cases[i].bad, i * 10 + s);
			fbuf_release(&out);
		}
	}
	test_assert(mime_cte_from_name("BASE64") == MIME_CTE_BASE64);
	test_assert(mime_cte_from_name("Quoted-Printable") == MIME_CTE_QP);
	test_assert(mime_cte_from_name("8bit") == MIME_CTE_7BIT);
	test_assert(mime_cte_from_name(NULL) == MIME_CTE_7BIT);
	test_end();
}

static void
test_mime_decode_long_qp(void)
{
	struct fbuf in, out, want;
	struct dec_case c = { MIME_CTE_QP, NULL, NULL, false };
	bool bad;

	test_begin("mime quoted-printable lines over the buffer");
	fbuf_init(&in, 0);
	fbuf_init(&want, 0);
	for (int k = 0; k < 700; k++) {
		fbuf_adds(&in, "=41 ");
		fbuf_adds(&want, "A ");
	}
	fbuf_adds(&in, "  \r\n");
	want.len--;
	want.data[want.len] = '\0';
	fbuf_adds(&want, "\r\n");
	c.in = in.data;
	c.want = want.data;
	for (int s = 0; s < FEED_STEPS; s++) {
		fbuf_init(&out, 0);
		dec_run(&c, feed_steps[s], &out, &bad);
		test_assert_idx(strcmp(fbuf_str(&out), want.data) == 0, s);
		test_assert_idx(!bad, s);
		fbuf_release(&out);
	}
	fbuf_release(&in);
	fbuf_release(&want);
	test_end();
}

/* ---- structure ---- */

/* One line per part, preorder:
 * "<depth> type/sub h=off+size b=off+size l=lines f=flags" */
static void
part_dump(const struct mime_part *p, struct fbuf *out)
{
	for (; p != NULL; p = p->next) {
		fbuf_addf(out, "%u %s/%s h=%llu+%llu b=%llu+%llu l=%llu f=%x\n",
		    p->depth, p->ctype.type, p->ctype.subtype,
		    (unsigned long long)p->hdr_offset,
		    (unsigned long long)p->hdr_size,
		    (unsigned long long)p->body_offset,
		    (unsigned long long)p->body_size,
		    (unsigned long long)p->body_lines, p->flags);
		part_dump(p->children, out);
	}
}

struct body_check {
	const char *msg;
	struct fbuf bodies;	/* "<part>:" + body octets, per event */
	struct mime_part *cur;
	int starts, ends;
	bool order_ok;
};

static void
body_cb(void *ctx, const struct mime_event *ev)
{
	struct body_check *b = ctx;

	switch (ev->type) {
	case MIME_EVENT_PART_START:
		b->starts++;
		break;
	case MIME_EVENT_PART_END:
		b->ends++;
		break;
	case MIME_EVENT_BODY:
		/* body octets must be what the offsets say, in order */
		if (b->cur != ev->part) {
			b->cur = ev->part;
			fbuf_addf(&b->bodies, "[%llu]",
			    (unsigned long long)ev->part->body_offset);
		}
		fbuf_add(&b->bodies, ev->data, ev->len);
		break;
	default:
		break;
	}
}

/* What the body events should have given: each leaf part's body. */
static void
leaf_bodies(const struct mime_part *p, const char *msg, struct fbuf *out)
{
	for (; p != NULL; p = p->next) {
		if (!p->multipart && !p->message && p->body_size > 0) {
			fbuf_addf(out, "[%llu]",
			    (unsigned long long)p->body_offset);
			fbuf_add(out, msg + p->body_offset, p->body_size);
		}
		leaf_bodies(p->children, msg, out);
	}
}

struct struct_case {
	const char *msg;
	const char *want;
};

static const struct struct_case struct_cases[] = {
	{ "Subject: x\r\n\r\nhello\r\nworld\r\n",
		"0 text/plain h=0+14 b=14+14 l=2 f=0\n" },
	{ "Subject: x\r\n\r\nno final newline",
		"0 text/plain h=0+14 b=14+16 l=1 f=0\n" },
	{ "Subject: only a header\r\n",
		"0 text/plain h=0+24 b=24+0 l=0 f=80\n" },
	{ "", "0 text/plain h=0+0 b=0+0 l=0 f=80\n" },
	{ "\r\nbody\r\n", "0 text/plain h=0+2 b=2+6 l=1 f=0\n" },
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	  "preamble\r\n"
	  "--b\r\n"
	  "Content-Type: text/plain\r\n\r\n"
	  "one\r\n"
	  "--b \t\r\n"
	  "\r\n"
	  "two\r\n\r\n"
	  "--b--\r\n"
	  "epilogue\r\n",
		"0 multipart/mixed h=0+45 b=45+81 l=11 f=0\n"
		"1 text/plain h=60+28 b=88+3 l=1 f=0\n"
		"1 text/plain h=100+2 b=102+5 l=1 f=0\n" },
	/* no final boundary; LF line ends */
	{ "Content-Type: multipart/alternative; boundary=\"x y\"\n\n"
	  "--x y\n"
	  "\n"
	  "text\n",
		"0 multipart/alternative h=0+53 b=53+12 l=3 f=10\n"
		"1 text/plain h=59+1 b=60+5 l=1 f=0\n" },
	/* message/rfc822 inside a multipart, with its own multipart */
	{ "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	  "--o\r\n"
	  "Content-Type: message/rfc822\r\n\r\n"
	  "Subject: inner\r\n"
	  "Content-Type: multipart/mixed; boundary=i\r\n\r\n"
	  "--i\r\n\r\na\r\n"
	  "--i--\r\n"
	  "--o--\r\n",
		"0 multipart/mixed h=0+45 b=45+122 l=11 f=0\n"
		"1 message/rfc822 h=50+32 b=82+76 l=7 f=0\n"
		"2 multipart/mixed h=82+61 b=143+15 l=4 f=0\n"
		"3 text/plain h=148+2 b=150+1 l=1 f=0\n" },
	/* an outer boundary ends an inner multipart that never closed */
	{ "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	  "--o\r\n"
	  "Content-Type: multipart/mixed; boundary=i\r\n\r\n"
	  "--i\r\n\r\na\r\n"
	  "--o\r\n\r\nb\r\n"
	  "--o--",
		"0 multipart/mixed h=0+45 b=45+75 l=10 f=0\n"
		"1 multipart/mixed h=50+45 b=95+8 l=3 f=10\n"
		"2 text/plain h=100+2 b=102+1 l=1 f=0\n"
		"1 text/plain h=110+2 b=112+1 l=1 f=0\n" },
	/* digest parts default to message/rfc822 */
	{ "Content-Type: multipart/digest; boundary=d\r\n\r\n"
	  "--d\r\n\r\n"
	  "Subject: m\r\n\r\nbody\r\n"
	  "--d--\r\n",
		"0 multipart/digest h=0+46 b=46+34 l=6 f=0\n"
		"1 message/rfc822 h=51+2 b=53+18 l=3 f=0\n"
		"2 text/plain h=53+14 b=67+4 l=1 f=0\n" },
	/* multipart without a boundary is a leaf */
	{ "Content-Type: multipart/mixed\r\n\r\n--b\r\n",
		"0 multipart/mixed h=0+33 b=33+5 l=1 f=20\n" },
	/* a base64 message/rfc822 is not parsed into */
	{ "Content-Type: message/rfc822\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n",
		"0 message/rfc822 h=0+67 b=67+18 l=1 f=0\n" },
	/* a part header cut by the boundary */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	  "--b\r\nContent-Type: text/html\r\n--b--\r\n",
		"0 multipart/mixed h=0+45 b=45+37 l=3 f=0\n"
		"1 text/html h=50+25 b=75+0 l=0 f=80\n" },
	/* boundary-like lines that are not boundaries */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	  "--b\r\n\r\n--bx\r\n--b-\r\n --b\r\n"
	  "--b--\r\n",
		"0 multipart/mixed h=0+45 b=45+32 l=6 f=0\n"
		"1 text/plain h=50+2 b=52+16 l=3 f=0\n" },
	/* after the close delimiter all is epilogue */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	  "--b\r\n\r\nx\r\n--b--\r\n--b\r\n\r\ny\r\n",
		"0 multipart/mixed h=0+45 b=45+27 l=7 f=0\n"
		"1 text/plain h=50+2 b=52+1 l=1 f=0\n" },
};

static struct mime_part *
struct_parse(const char *msg, size_t n, size_t step,
    const struct mime_limits *l, struct body_check *b, unsigned *flags_r)
{
	struct mime_parser *p = mime_parser_new(l, body_cb, b);
	struct mime_part *root;

	if (step == 0)
		step = n > 0 ? n : 1;
	for (size_t k = 0; k < n; k += step)
		mime_parser_feed(p, msg + k, n - k < step ? n - k : step);
	root = mime_parser_finish(p);
	*flags_r = mime_parser_flags(p);
	mime_parser_free(&p);
	return root;
}

static void
test_mime_structure(void)
{
	test_begin("mime structure");
	for (size_t i = 0; i < sizeof(struct_cases) / sizeof(struct_cases[0]);
	    i++) {
		size_t n = strlen(struct_cases[i].msg);
		char *msg = dup_exact(struct_cases[i].msg, n);

		for (int s = 0; s < FEED_STEPS; s++) {
			struct body_check b;
			struct fbuf dump, want;
			struct mime_part *root;
			unsigned flags;

			memset(&b, 0, sizeof(b));
			fbuf_init(&b.bodies, 0);
			fbuf_init(&dump, 0);
			fbuf_init(&want, 0);
			root = struct_parse(msg, n, feed_steps[s], NULL, &b,
			    &flags);
			part_dump(root, &dump);
			test_assert_idx(strcmp(fbuf_str(&dump),
			    struct_cases[i].want) == 0, i * 10 + s);
			if (strcmp(fbuf_str(&dump), struct_cases[i].want) != 0)
				fprintf(stderr, "  got:\n%s", fbuf_str(&dump));
			leaf_bodies(root, msg, &want);
			test_assert_idx(want.len == b.bodies.len &&
			    memcmp(fbuf_str(&want), fbuf_str(&b.bodies),
			    want.len) == 0, i * 10 + s);
			test_assert_idx(b.starts == b.ends && b.starts > 0,
			    i * 10 + s);
			mime_part_free(&root);
			fbuf_release(&b.bodies);
			fbuf_release(&dump);
			fbuf_release(&want);
		}
		free(msg);
	}
	test_end();
}

static void
test_mime_content_fields(void)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\n"
	    "Content-Type: Text/HTML; charset=\"utf-8\"\r\n"
	    "Content-Transfer-Encoding: Quoted-Printable (c)\r\n"
	    "Content-ID: <part1@x>\r\n"
	    "Content-Description: the =?utf-8?q?page?=\r\n"
	    "Content-Disposition: attachment;\r\n filename*=utf-8''a%20b\r\n"
	    "Content-Language: en, de\r\n"
	    "Content-Location: http://x/\r\n a\r\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n"
	    "x=3Dy\r\n"
	    "--b--\r\n";
	struct mime_part *root;
	const struct mime_part *p;

	test_begin("mime content fields");
	root = mime_parse(msg, sizeof(msg) - 1, NULL);
	p = root->children;
	test_assert(p != NULL && root->nchildren == 1);
	test_assert_streq(p->ctype.type, "text");
	test_assert_streq(p->ctype.subtype, "html");
	test_assert_streq(mime_value_param(&p->ctype, "charset"), "utf-8");
	test_assert_streq(p->encoding, "quoted-printable");
	test_assert_streq(p->id, "<part1@x>");
	test_assert_streq(p->description, "the =?utf-8?q?page?=");
	test_assert_streq(p->disposition.type, "attachment");
	test_assert_streq(mime_value_param(&p->disposition, "filename"),
	    "a b");
	test_assert_streq(p->language, "en, de");
	test_assert_streq(p->location, "http://x/a");
	test_assert_streq(p->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	test_assert_streq(root->boundary, "b");
	test_assert(root->multipart && !p->multipart && p->parent == root);
	/* a missing Content-Type means text/plain; charset=us-ascii */
	mime_part_free(&root);
	root = mime_parse("X: y\r\n\r\n", 8, NULL);
	test_assert_streq(mime_value_param(&root->ctype, "charset"),
	    "us-ascii");
	test_assert(root->encoding == NULL && root->id == NULL);
	mime_part_free(&root);
	test_end();
}

/* A multipart nested `depth` deep, each level with one text part. */
static void
nested(struct fbuf *m, int depth)
{
	for (int d = 0; d < depth; d++)
		fbuf_addf(m, "Content-Type: multipart/mixed; boundary=b%d\r\n"
		    "\r\n--b%d\r\n", d, d);
	fbuf_adds(m, "\r\nleaf\r\n");
	for (int d = depth - 1; d >= 0; d--)
		fbuf_addf(m, "--b%d--\r\n", d);
}

static unsigned
count_parts(const struct mime_part *p)
{
	unsigned n = 0;

	for (; p != NULL; p = p->next)
		n += 1 + count_parts(p->children);
	return n;
}

static void
test_mime_limits(void)
{
	struct mime_limits l;
	struct body_check b;
	struct mime_part *root;
	struct fbuf m;
	unsigned flags;

	test_begin("mime limits");
	mime_limits_default(&l);
	l.depth_max = 3;
	fbuf_init(&m, 0);
	nested(&m, 10);
	for (int s = 0; s < FEED_STEPS; s++) {
		memset(&b, 0, sizeof(b));
		fbuf_init(&b.bodies, 0);
		root = struct_parse(m.data, m.len, feed_steps[s], &l, &b,
		    &flags);
		test_assert_idx((flags & MIME_F_TOO_DEEP) != 0, s);
		test_assert_idx(count_parts(root) == 4, s);
		test_assert_idx(root->body_offset + root->body_size == m.len, s);
		mime_part_free(&root);
		fbuf_release(&b.bodies);
	}
	/* deep nesting at the default limits: no crash, flagged */
	fbuf_reset(&m);
	nested(&m, 5000);
	root = mime_parse(m.data, m.len, NULL);
	test_assert((root->flags | root->children->flags) != 0 ||
	    count_parts(root) <= MIME_DEPTH_MAX_DEFAULT + 1);
	test_assert(count_parts(root) == MIME_DEPTH_MAX_DEFAULT + 1);
	mime_part_free(&root);
	/* many parts */
	fbuf_reset(&m);
	fbuf_adds(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int k = 0; k < 50; k++)
		fbuf_adds(&m, "--b\r\n\r\npart\r\n");
	fbuf_adds(&m, "--b--\r\n");
	l.parts_max = 10;
	for (int s = 0; s < FEED_STEPS; s++) {
		memset(&b, 0, sizeof(b));
		fbuf_init(&b.bodies, 0);
		root = struct_parse(m.data, m.len, feed_steps[s], &l, &b,
		    &flags);
		test_assert_idx((flags & MIME_F_TOO_MANY_PARTS) != 0, s);
		test_assert_idx((root->flags & MIME_F_TOO_MANY_PARTS) != 0, s);
		test_assert_idx(count_parts(root) == 10, s);
		test_assert_idx(root->body_offset + root->body_size == m.len, s);
		mime_part_free(&root);
		fbuf_release(&b.bodies);
	}
	/* a huge header: fields past the limit dropped, body still found */
	fbuf_reset(&m);
	fbuf_adds(&m, "Content-Type: text/html\r\n");
	for (int k = 0; k < 2000; k++)
		fbuf_adds(&m, "X-Filler: 0123456789012345678901234567890\r\n");
	fbuf_adds(&m, "Content-Type: text/plain\r\n\r\nbody\r\n");
	l.header_max = 4096;
	root = mime_parse(m.data, m.len, &l);
	test_assert((root->flags & MIME_F_HEADER_TOO_BIG) != 0);
	test_assert_streq(root->ctype.subtype, "html");
	test_assert(root->body_size == 6 && root->body_offset == m.len - 6);
	mime_part_free(&root);
	/* one very long line (no boundary in it) */
	fbuf_reset(&m);
	fbuf_adds(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "\r\n");
	for (int k = 0; k < 5000; k++)
		fbuf_adds(&m, "--b");
	fbuf_adds(&m, "\r\n--b--\r\n");
	for (int s = 0; s < FEED_STEPS; s++) {
		memset(&b, 0, sizeof(b));
		fbuf_init(&b.bodies, 0);
		root = struct_parse(m.data, m.len, feed_steps[s], NULL, &b,
		    &flags);
		test_assert_idx(root->nchildren == 1 &&
		    root->children->body_size == 15000 &&
		    root->children->body_lines == 1 && flags == 0, s);
		test_assert_idx(b.bodies.len == 15000 + 4, s);
		mime_part_free(&root);
		fbuf_release(&b.bodies);
	}
	fbuf_release(&m);
	test_end();
}

static void
test_mime_part_find(void)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	    "--o\r\n\r\none\r\n"
	    "--o\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n"
	    "--i\r\n\r\ntwo-one\r\n"
	    "--i\r\nContent-Type: text/html\r\n\r\ntwo-two\r\n"
	    "--i--\r\n"
	    "--o\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: plain\r\n\r\nthree\r\n"
	    "--o--\r\n";
	static const struct { const char *sec; const char *body; } cases[] = {
		{ "1", "one" },
		{ "2.1", "two-one" },
		{ "2.2", "two-two" },
		{ "3.1", "three" },
		{ "4", NULL },
		{ "2.3", NULL },
		{ "1.1", NULL },
		{ "3.2", NULL },
		{ "0", NULL },
		{ "1.", NULL },
		{ "x", NULL },
		{ "3.1.1", NULL },
	};
	struct mime_part *root = mime_parse(msg, sizeof(msg) - 1, NULL);
	const struct mime_part *p;

	test_begin("mime part by section");
	test_assert(mime_part_find(root, "") == root);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = mime_part_find(root, cases[i].sec);
		if (cases[i].body == NULL) {
			test_assert_idx(p == NULL, i);
			continue;
		}
		test_assert_idx(p != NULL && p->body_size ==
		    strlen(cases[i].body) && memcmp(msg + p->body_offset,
		    cases[i].body, p->body_size) == 0, i);
	}
	p = mime_part_find(root, "2");
	test_assert(p != NULL && p->message && p->children->multipart);
	mime_part_free(&root);
	root = mime_parse("Subject: x\r\n\r\nbody", 18, NULL);
	test_assert(mime_part_find(root, "1") == root);
	test_assert(mime_part_find(root, "2") == NULL);
	mime_part_free(&root);
	test_end();
}

static void
test_mime_part_text(void)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=E9 soft=\r\nbreak\r\n"
	    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "4oKsIHJhdGVz\r\n"
	    "--b\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
	    "raw \xff\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "AGE=\r\n"
	    "--b--\r\n";
	static const char *const want[] = { "caf\xc3\xa9 softbreak",
		"\xe2\x82\xac rates", "raw \xef\xbf\xbd", "" };
	struct mime_part *root = mime_parse(msg, sizeof(msg) - 1, NULL);
	const struct mime_part *p;
	struct fbuf out;
	size_t k = 0;

	test_begin("mime part text");
	fbuf_init(&out, 0);
	test_assert(mime_part_text(root, msg, sizeof(msg) - 1, &out) == -1);
	for (p = root->children; p != NULL; p = p->next, k++) {
		fbuf_reset(&out);
		test_assert_idx(mime_part_text(p, msg, sizeof(msg) - 1, &out) ==
		    0, k);
		if (k < 3)
			test_assert_idx(strcmp(fbuf_str(&out), want[k]) == 0, k);
	}
	/* octet-stream: decoded bytes, NUL and all, made valid UTF-8 */
	test_assert(out.len == 2 && out.data[0] == '\0' && out.data[1] == 'a');
	test_assert(k == 4);
	/* a part that does not lie inside the buffer given */
	fbuf_reset(&out);
	test_assert(mime_part_text(root->children, msg, 10, &out) == -1 &&
	    out.len == 0);
	fbuf_release(&out);
	mime_part_free(&root);
	test_end();
}

static void
test_mime_envelope(void)
{
	static const char hdr[] =
	    "Date: Fri, 04 Dec 2026 23:19:13 +0100\r\n"
	    "Subject: =?utf-8?q?hi?= there\r\n"
	    "From: Alice <a@x>\r\n"
	    "To: b@y, Group: c@z;\r\n"
	    "Cc: (nobody)\r\n"
	    "Message-ID: <id1@x>\r\n"
	    "In-Reply-To: <id0@x>\r\n"
	    "Subject: second\r\n\r\n"
	    "To: body@z\r\n";
	struct mime_envelope env;
	struct fbuf out;

	test_begin("mime envelope");
	mime_envelope_parse(hdr, sizeof(hdr) - 1, &env);
	test_assert_streq(env.date, "Fri, 04 Dec 2026 23:19:13 +0100");
	test_assert(env.has_date && env.date_t == 1796426353 - 3600 &&
	    env.date_zone == 60);
	test_assert_streq(env.subject, "=?utf-8?q?hi?= there");
	test_assert_streq(env.message_id, "<id1@x>");
	test_assert_streq(env.in_reply_to, "<id0@x>");
	test_assert(env.sender == NULL && env.reply_to == NULL &&
	    env.bcc == NULL && env.cc == NULL);
	fbuf_init(&out, 0);
	addr_dump(env.from, &out);
	test_assert_streq(fbuf_str(&out), "Alice|-|a|x");
	fbuf_reset(&out);
	addr_dump(env.to, &out);
	test_assert_streq(fbuf_str(&out), "-|-|b|y;G:Group;-|-|c|z;g");
	fbuf_release(&out);
	mime_envelope_free(&env);
	test_assert(env.from == NULL && env.subject == NULL);
	test_end();
}

int
main(void)
{
	test_mime_header();
	test_mime_header_values();
	test_mime_address();
	test_mime_date();
	test_mime_msgid();
	test_mime_encword();
	test_mime_param();
	test_mime_decode();
	test_mime_decode_long_qp();
	test_mime_structure();
	test_mime_content_fields();
	test_mime_limits();
	test_mime_part_find();
	test_mime_part_text();
	test_mime_envelope();
	return test_exit();
}
