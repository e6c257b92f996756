/* Unit tests for folder names and the small files of the mailbox
 * library (src/mailbox/mbox_name.c, mbox_files.c): hostile names that
 * must never reach outside the Maildir, modified UTF-7 both ways, the
 * directory mapping, and the subscriptions / dovecot-keywords /
 * ferry-special-use parsers on good and hostile text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "mailbox/mbox_private.h"
#include "test.h"

static const char *const bad_names[] = {
	"", "/", "/a", "a/", "a//b", ".", "..", "../x", "a/../b", "a/./b",
	".hidden", "a.b", "a/.b", "x/..", "%", "a*", "tab\there",
	"nl\nx", "cr\rx", "del\x7fx", "nul-free-but-\x01", "\xc2\x85",	/* C1 NEL */
	"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",	/* overlong, surrogate, >10FFFF */
	"\xff", "\x80", "a\xc3", "\xef\xbb\xbf", "\xe2\x80\xa8",	/* BOM, LS */
	"a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",	/* 17 levels */
};

static const char *const good_names[] = {
	"INBOX", "inbox", "Sent", "Archive/2024", "INBOX/sub", "a b",
	"Entwürfe", "日本語", "R&D", "x~y", "emoji 😀", "a-b_c+d,e",
	"a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",	/* 16 levels */
};

static void
test_check(void)
{
	char longname[400];

	test_begin("mbox_name: hostile names refused, good ones accepted");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
		struct mbox_error err = { 0 };

		test_assert_idx(mbox_name_check(bad_names[i], &err) == -1, i);
		test_assert_idx(err.code == MBOX_ERR_BADNAME, i);
	}
	for (size_t i = 0; i < sizeof(good_names) / sizeof(*good_names); i++)
		test_assert_idx(mbox_name_check(good_names[i], NULL) == 0, i);
	memset(longname, 'x', sizeof(longname));
	longname[MBOX_NAME_MAX + 1] = '\0';
	test_assert(mbox_name_check(longname, NULL) == -1);
	longname[MBOX_NAME_MAX] = '\0';
	test_assert(mbox_name_check(longname, NULL) == 0);
	/* 200 bytes of 4-byte characters grow past NAME_MAX in mUTF-7. */
	for (size_t i = 0; i + 4 <= 200; i += 4)
		memcpy(longname + i, "\xf0\x9f\x98\x80", 4);
	longname[200] = '\0';
	test_assert(mbox_name_check(longname, NULL) == -1);
	test_assert(mbox_name_is_inbox("iNbOx"));
	test_assert(!mbox_name_is_inbox("INBOX/x"));
	test_end();
}

static void
test_dirs(void)
{
	static const struct {
		const char *name, *dir;
	} cases[] = {
		{ "INBOX", "" }, { "Sent", ".Sent" }, { "a/b", ".a.b" },
		{ "inbox/x", ".INBOX.x" }, { "R&D", ".R&-D" },
		{ "Entwürfe", ".Entw&APw-rfe" }, { "日本語", ".&ZeVnLIqe-" },
		{ "😀", ".&2D3eAA-" },
	};
	char dir[300];
	struct fbuf b;

	test_begin("mbox_name: directory names in modified UTF-7, both ways");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		test_assert_idx(mbox_name_to_dir(cases[i].name, dir,
		    sizeof(dir)) == 0, i);
		test_assert_idx(strcmp(dir, cases[i].dir) == 0, i);
		if (cases[i].dir[0] == '\0')
			continue;
		test_assert_idx(mbox_name_from_dir(cases[i].dir, &b) == 0, i);
		if (strncmp(cases[i].name, "inbox", 5) != 0)
			test_assert_idx(strcmp(b.data, cases[i].name) == 0, i);
	}
	test_assert(mbox_name_from_dir(".INBOX.x", &b) == 0 &&
	    strcmp(b.data, "INBOX/x") == 0);
	test_assert(mbox_name_path("/m/u", "Junk", dir, sizeof(dir), NULL) == 0 &&
	    strcmp(dir, "/m/u/.Junk") == 0);
	test_assert(mbox_name_path("/m/u", "inbox", dir, sizeof(dir), NULL) ==
	    0 && strcmp(dir, "/m/u") == 0);
	test_assert(mbox_name_path("/m/u", "../x", dir, sizeof(dir), NULL) ==
	    -1);
	fbuf_release(&b);
	test_end();
}

static const char *const bad_dirents[] = {
	".", "..", "..x", ".a..b", ".a.", ".&AC8-", ".&AC4-",	/* '/' '.' encoded */
	".&ZeVnLIqe", ".&Zé-", ".&2D3-", ".&3gA-", ".&AGE-",	/* 'a' encoded */
	".&-&-.", ".x\x01", ".INBOX", "Sent", ".&AAk-",	/* tab */
	".%", ".a*b",
};

static void
test_dirents(void)
{
	struct fbuf b;

	test_begin("mbox_name: hostile directory entries are not folders");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(bad_dirents) / sizeof(*bad_dirents);
	    i++)
		test_assert_idx(mbox_name_from_dir(bad_dirents[i], &b) == -1,
		    i);
	fbuf_release(&b);
	test_end();
}

static void
test_subscriptions(void)
{
	const char *v1 = "INBOX\nSent\na.b\nEntw&APw-rfe\n\n..\n.x\nbad&\n"
	    "Sent\ninbox\n";
	const char *v2 = "V\t2\n\nINBOX\nArchive\t2024\nx.y\n";
	struct mbox_strs s = { 0 };
	struct fbuf b;

	test_begin("mbox_files: subscriptions v1 and v2, hostile lines");
	mbox_subs_parse(v1, strlen(v1), &s);
	test_assert(s.n == 4);
	test_assert(mbox_strs_find(&s, "INBOX") >= 0);
	test_assert(mbox_strs_find(&s, "a/b") >= 0);
	test_assert(mbox_strs_find(&s, "Entwürfe") >= 0);
	fbuf_init(&b, 0);
	mbox_subs_format(&s, &b);
	test_assert_streq(b.data, "INBOX\nSent\na.b\nEntw&APw-rfe\n");
	fbuf_release(&b);
	mbox_strs_free(&s);
	mbox_subs_parse(v2, strlen(v2), &s);
	test_assert(s.n == 2 && mbox_strs_find(&s, "Archive/2024") >= 0);
	mbox_strs_free(&s);
	mbox_subs_parse("V\t2\nno blank line", 17, &s);
	test_assert(s.n == 0);
	mbox_subs_parse("a\0b\n", 4, &s);
	test_assert(s.n == 0);
	test_end();
}

static void
test_keywords(void)
{
	const char *good = "0 $Forwarded\n1 Junk\n25 last\n";
	const char *const bad[] = { "26 x\n", "-1 x\n", "a x\n", "0 \n",
		"0 a b\n", "0 x\n0 y\n", "0 x\n1 X\n", "0 (x\n", "0 \\Seen\n",
		" x\n", "0x\n" };
	char *t[MBOX_KEYWORDS_MAX] = { 0 };
	struct fbuf b;

	test_begin("mbox_files: dovecot-keywords good and hostile");
	test_assert(mbox_keywords_parse(good, strlen(good), t) == 0);
	test_assert(t[0] != NULL && strcmp(t[0], "$Forwarded") == 0);
	test_assert(t[25] != NULL && strcmp(t[25], "last") == 0);
	fbuf_init(&b, 0);
	mbox_keywords_format(t, &b);
	test_assert_streq(b.data, good);
	fbuf_release(&b);
	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++)
		free(t[i]), t[i] = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		test_assert_idx(mbox_keywords_parse(bad[i], strlen(bad[i]),
		    t) == -1, i);
		for (size_t k = 0; k < MBOX_KEYWORDS_MAX; k++)
			free(t[k]), t[k] = NULL;
	}
	test_end();
}

static void
test_specials(void)
{
	const char *text = "\\Sent\tSent\n\\Junk\tSpam/x\n\\Bogus\tx\n"
	    "\\Trash\t../x\n\\Drafts\n\\Archive\tSent\n\\trash\tBin\n";
	struct mbox_specials sp = { 0 };
	struct fbuf b;

	test_begin("mbox_files: ferry-special-use good and hostile lines");
	mbox_specials_parse(text, strlen(text), &sp);
	test_assert(sp.names.n == 3);
	test_assert(sp.names.n == 3 && sp.use[0] == MBOX_SPECIAL_SENT &&
	    sp.use[1] == MBOX_SPECIAL_JUNK && sp.use[2] == MBOX_SPECIAL_TRASH);
	fbuf_init(&b, 0);
	mbox_specials_format(&sp, &b);
	test_assert_streq(b.data, "\\Sent\tSent\n\\Junk\tSpam/x\n"
	    "\\Trash\tBin\n");
	fbuf_release(&b);
	mbox_specials_free(&sp);
	test_assert(mbox_special_parse("\\ARCHIVE") == MBOX_SPECIAL_ARCHIVE);
	test_assert(mbox_special_parse("Archive") == MBOX_SPECIAL_NONE);
	test_assert_streq(mbox_special_name(MBOX_SPECIAL_DRAFTS), "\\Drafts");
	test_assert(mbox_special_name(MBOX_SPECIAL_NONE) == NULL);
	test_end();
}

int
main(void)
{
	test_check();
	test_dirs();
	test_dirents();
	test_subscriptions();
	test_keywords();
	test_specials();
	return test_exit();
}
