/* Unit tests for SORT and THREAD without I/O (src/imap/imap_sort.c,
 * imap_thread.c): base subjects (RFC 5256 section 2.1), the sort
 * record from a header and its blob (round trip; every truncation and
 * damaged byte refused), and both threading algorithms on chains,
 * siblings, missing parents, loops, duplicate ids and subjects. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_sort.h"
#include "lib/fbuf.h"
#include "test.h"

static const struct {
	const char *in;
	const char *base;
	bool reply;
} subj_cases[] = {
	{ "", "", false },
	{ "Hello", "HELLO", false },
	{ "  hello   world \t ", "HELLO WORLD", false },
	{ "Re: hello", "HELLO", true },
	{ "RE:hello", "HELLO", true },
	{ "re: Re: RE: hello", "HELLO", true },
	{ "Fwd: hello", "HELLO", true },
	{ "fw: hello", "HELLO", true },
	{ "Re [2]: hello", "HELLO", true },
	{ "Re[2]: hello", "HELLO", true },
	{ "[list] Re: hello", "HELLO", true },
	{ "[list] hello", "HELLO", false },
	{ "[a] [b] hello", "HELLO", false },
	{ "[list]", "[LIST]", false },
	{ "[a] [b]", "[B]", false },
	{ "hello (fwd)", "HELLO", true },
	{ "hello (fwd) (FWD) ", "HELLO", true },
	{ "[fwd: hello]", "HELLO", true },
	{ "[Fwd: Re: [x] hello (fwd)]", "HELLO", true },
	{ "Re: [fwd: [fwd: hello]]", "HELLO", true },
	{ "Reply: hello", "REPLY: HELLO", false },
	{ "Re hello", "RE HELLO", false },
	{ "Re: ", "", true },
	{ "=?UTF-8?B?w4RwZmVs?=", "\xc3\x84" "PFEL", false },
	{ "=?iso-8859-1?q?Re=3A_caf=E9?=", "CAF\xc3\xa9", true },
	{ "Re: =?utf-8?q?a?= =?utf-8?q?b?=", "AB", true },
	{ "=?utf-8?q?x=00y?=", "XY", false },
	{ "[unclosed hello", "[UNCLOSED HELLO", false },
	{ "Re: [unclosed: hello", "[UNCLOSED: HELLO", true },
};

static void
test_base_subject(void)
{
	test_begin("base subject");
	for (size_t i = 0; i < sizeof(subj_cases) / sizeof(subj_cases[0]);
	    i++) {
		struct fbuf b;
		bool reply = !subj_cases[i].reply;

		fbuf_init(&b, 0);
		imap_base_subject(subj_cases[i].in, strlen(subj_cases[i].in),
		    &b, &reply);
		test_assert_idx(strcmp(fbuf_str(&b), subj_cases[i].base) == 0,
		    i);
		if (strcmp(fbuf_str(&b), subj_cases[i].base) != 0)
			fprintf(stderr, "  got \"%s\"\n", fbuf_str(&b));
		test_assert_idx(reply == subj_cases[i].reply, i);
		fbuf_release(&b);
	}
	test_end();
}

static const char msgkey_hdr[] =
    "From: =?utf-8?q?Zo=C3=AB?= <\"zoe.x\"@example.org>\r\n"
    "To: group: a@b.example, c@d.example;, e@f.example\r\n"
    "Cc: <cc@example.org>\r\n"
    "Subject: Re: [l] Lunch\r\n"
    "Date: Fri, 02 Jan 2026 23:00:00 -0500\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "In-Reply-To: <ignored@example.org>\r\n"
    "References: <r1@x> junk <r2@x>\r\n"
    "\r\n"
    "Subject: not a header\r\n";

static const char irt_hdr[] =
    "In-Reply-To: x <p@q> <r@s>\nFrom: u@v.example\n\nBody: x\n";

static void
test_msgkey(void)
{
	struct imap_msgkey k, d;
	struct fbuf b;

	test_begin("sort record");
	imap_msgkey_build(msgkey_hdr, sizeof(msgkey_hdr) - 1, &k);
	test_assert(k.has_date && k.date == 1767412800);
	test_assert(k.reply);
	test_assert_streq(k.subject, "LUNCH");
	test_assert_streq(k.from, "ZOE.X");
	test_assert_streq(k.dfrom, "ZO\xc3\xab");
	/* a group is its name, as in ENVELOPE */
	test_assert_streq(k.to, "GROUP");
	test_assert_streq(k.dto, "GROUP");
	test_assert(k.zone == -300);
	test_assert_streq(k.cc, "CC");
	test_assert_streq(k.msgid, "<m1@example.org>");
	test_assert(k.nrefs == 2);
	test_assert(k.nrefs == 2 && strcmp(k.refs[1], "<r2@x>") == 0);
	fbuf_init(&b, 0);
	imap_msgkey_encode(&k, &b);
	test_assert(imap_msgkey_decode(b.data, b.len, &d) == 0);
	test_assert_streq(d.subject, "LUNCH");
	test_assert_streq(d.dfrom, k.dfrom);
	test_assert(d.date == k.date && d.has_date && d.reply);
	test_assert(d.zone == -300);
	test_assert(d.nrefs == 2 && strcmp(d.refs[0], "<r1@x>") == 0);
	imap_msgkey_free(&d);
	/* every truncation and every extension is refused */
	for (size_t n = 0; n < b.len; n++)
		test_assert_idx(imap_msgkey_decode(b.data, n, &d) < 0, n);
	fbuf_addc(&b, 'x');
	test_assert(imap_msgkey_decode(b.data, b.len, &d) < 0);
	b.len--;
	b.data[0] = 'X';
	test_assert(imap_msgkey_decode(b.data, b.len, &d) < 0);
	fbuf_release(&b);
	imap_msgkey_free(&k);

	/* RFC 5322 zones run from -9959 to +9959: the record of one past
	 * a day reads back (fuzz_imap_sort found it refused) */
	for (int sign = 1; sign >= -1; sign -= 2) {
		const char *h = sign > 0 ?
		    "Date: 1 Jan 2026 00:00 +9959\r\n\r\n" :
		    "Date: 1 Jan 2026 00:00 -7000\r\n\r\n";
		int want = sign > 0 ? 99 * 60 + 59 : -70 * 60;

		imap_msgkey_build(h, strlen(h), &k);
		test_assert(k.has_date && k.zone == want);
		fbuf_init(&b, 0);
		imap_msgkey_encode(&k, &b);
		test_assert(imap_msgkey_decode(b.data, b.len, &d) == 0);
		test_assert(d.has_date && d.zone == want && d.date == k.date);
		imap_msgkey_free(&d);
		/* beyond what a date can say is still refused */
		b.data[5 + 8] = (unsigned char)0x70;
		b.data[5 + 9] = (unsigned char)0x17;	/* 6000 */
		b.data[5 + 10] = b.data[5 + 11] = 0;
		test_assert(imap_msgkey_decode(b.data, b.len, &d) < 0);
		fbuf_release(&b);
		imap_msgkey_free(&k);
	}

	/* nothing: empty strings, no date */
	imap_msgkey_build("", 0, &k);
	test_assert(!k.has_date && !k.reply && k.nrefs == 0);
	test_assert_streq(k.subject, "");
	test_assert_streq(k.from, "");
	test_assert_streq(k.dto, "");
	test_assert_streq(k.msgid, "");
	imap_msgkey_free(&k);

	/* In-Reply-To stands in for missing References; display falls
	 * back to the address */
	imap_msgkey_build(irt_hdr, strlen(irt_hdr), &k);
	test_assert(k.nrefs == 1 && strcmp(k.refs[0], "<p@q>") == 0);
	test_assert_streq(k.dfrom, "U@V.EXAMPLE");
	imap_msgkey_free(&k);
	test_end();
}

/* A message for the thread tests: day of January 2026 as its date. */
struct thr_case_msg {
	const char *subject, *msgid, *refs;
	int day;
};

static void
thr_run(enum imap_thread_alg alg, const struct thr_case_msg *m, size_t n,
    const char *want, const char *name)
{
	struct imap_sort_item *v = calloc(n, sizeof(*v));
	struct fbuf b, out;

	fbuf_init(&out, 0);
	for (size_t i = 0; i < n; i++) {
		fbuf_init(&b, 0);
		if (m[i].subject != NULL)
			fbuf_addf(&b, "Subject: %s\r\n", m[i].subject);
		if (m[i].msgid != NULL)
			fbuf_addf(&b, "Message-ID: %s\r\n", m[i].msgid);
		if (m[i].refs != NULL)
			fbuf_addf(&b, "References: %s\r\n", m[i].refs);
		if (m[i].day > 0)
			fbuf_addf(&b, "Date: %d Jan 2026 12:00:00 +0000\r\n",
			    m[i].day);
		fbuf_adds(&b, "\r\n");
		v[i].seq = (uint32_t)i + 1;
		v[i].uid = (uint32_t)i + 101;
		v[i].internaldate = 1767225600 + 86400 * 20;
		imap_msgkey_build(b.data, b.len, &v[i].key);
		fbuf_release(&b);
	}
	imap_thread_build(alg, v, n, false, &out);
	test_begin(name);
	test_assert_streq(fbuf_str(&out), want);
	test_end();
	for (size_t i = 0; i < n; i++)
		imap_msgkey_free(&v[i].key);
	free(v);
	fbuf_release(&out);
}

static void
test_thread_references(void)
{
	static const struct thr_case_msg chain[] = {
		{ "a", "<a>", NULL, 1 }, { "Re: a", "<b>", "<a>", 2 },
		{ "Re: a", "<c>", "<a> <b>", 3 },
	};
	static const struct thr_case_msg siblings[] = {
		{ "a", "<a>", NULL, 1 }, { "x", "<b>", "<a>", 3 },
		{ "y", "<c>", "<a>", 2 }, { "z", "<d>", NULL, 4 },
	};
	static const struct thr_case_msg missing[] = {
		{ "p", "<b>", "<gone>", 2 }, { "q", "<c>", "<gone>", 1 },
		{ "r", "<d>", "<gone2>", 3 },
	};
	static const struct thr_case_msg loop[] = {
		{ "x", "<a>", "<b>", 1 }, { "y", "<b>", "<a>", 2 },
		{ "z", "<c>", "<c>", 3 },
	};
	static const struct thr_case_msg dup[] = {
		{ "x", "<a>", NULL, 1 }, { "y", "<a>", NULL, 2 },
		{ "z", "<c>", "<a>", 3 }, { "w", NULL, NULL, 4 },
	};
	static const struct thr_case_msg subj[] = {
		{ "Hello", "<a>", NULL, 1 }, { "Re: hello", "<b>", NULL, 2 },
		{ "Hi", "<c>", NULL, 3 }, { "hi", "<d>", NULL, 4 },
		{ "", "<e>", NULL, 5 }, { "", "<f>", NULL, 6 },
	};
	static const struct thr_case_msg late_parent[] = {
		{ "Re: x", "<b>", "<a>", 2 }, { "x", "<a>", NULL, 1 },
		{ "Re: x", "<c>", "<a> <b>", 3 },
	};
	static const struct thr_case_msg deep[] = {
		{ "s", "<a>", NULL, 1 }, { "s", "<b>", "<a>", 2 },
		{ "s", "<c>", "<a> <b>", 3 }, { "s", "<d>", "<a> <b>", 4 },
		{ "s", "<e>", "<a> <b> <d>", 5 },
	};

	thr_run(IMAP_THREAD_REFERENCES, chain, 3, "(1 2 3)", "refs chain");
	thr_run(IMAP_THREAD_REFERENCES, siblings, 4, "(1 (3)(2))(4)",
	    "refs siblings by date");
	thr_run(IMAP_THREAD_REFERENCES, missing, 3, "((2)(1))(3)",
	    "refs missing parents");
	thr_run(IMAP_THREAD_REFERENCES, loop, 3, "(2 1)(3)", "refs loops");
	thr_run(IMAP_THREAD_REFERENCES, dup, 4, "(1 3)(2)(4)",
	    "refs duplicate ids");
	thr_run(IMAP_THREAD_REFERENCES, subj, 6, "(1 2)((3)(4))(5)(6)",
	    "refs joined by subject");
	thr_run(IMAP_THREAD_REFERENCES, late_parent, 3, "(2 1 3)",
	    "refs parent after children");
	thr_run(IMAP_THREAD_REFERENCES, deep, 5, "(1 2 (3)(4 5))",
	    "refs nested");
	thr_run(IMAP_THREAD_REFERENCES, chain, 0, "", "refs nothing");
}

static void
test_thread_orderedsubject(void)
{
	static const struct thr_case_msg m[] = {
		{ "b", NULL, NULL, 2 }, { "a", NULL, NULL, 3 },
		{ "Re: b", NULL, NULL, 4 }, { "A", NULL, NULL, 1 },
		{ "re: a", NULL, NULL, 6 }, { "c", NULL, NULL, 5 },
	};

	thr_run(IMAP_THREAD_ORDEREDSUBJECT, m, 6, "(4 (2)(5))(1 3)(6)",
	    "orderedsubject");
	thr_run(IMAP_THREAD_ORDEREDSUBJECT, m, 1, "(1)",
	    "orderedsubject one");
}

/* A long chain must not cost stack. */
static void
test_thread_long_chain(void)
{
	enum { N = 200000 };
	struct imap_sort_item *v = calloc(N, sizeof(*v));
	struct fbuf out;
	char id[32], prev[32];

	fbuf_init(&out, 0);
	for (size_t i = 0; i < N; i++) {
		struct imap_msgkey *k = &v[i].key;

		v[i].seq = (uint32_t)i + 1;
		v[i].internaldate = (time_t)i;
		snprintf(id, sizeof(id), "<%zu>", i);
		k->subject = strdup("");
		k->from = strdup("");
		k->to = strdup("");
		k->cc = strdup("");
		k->dfrom = strdup("");
		k->dto = strdup("");
		k->msgid = strdup(id);
		if (i > 0) {
			k->refs = calloc(IMAP_MSGKEY_REFS_MAX,
			    sizeof(*k->refs));
			k->refs[0] = strdup(prev);
			k->nrefs = 1;
		}
		memcpy(prev, id, sizeof(id));
	}
	imap_thread_build(IMAP_THREAD_REFERENCES, v, N, false, &out);
	test_begin("thread long chain");
	test_assert(out.len > 0 && strncmp(out.data, "(1 2 3 ", 7) == 0);
	test_assert(out.len > 0 && out.data[out.len - 1] == ')');
	test_end();
	for (size_t i = 0; i < N; i++)
		imap_msgkey_free(&v[i].key);
	free(v);
	fbuf_release(&out);
}

int
main(void)
{
	test_base_subject();
	test_msgkey();
	test_thread_references();
	test_thread_orderedsubject();
	test_thread_long_chain();
	return test_exit();
}
