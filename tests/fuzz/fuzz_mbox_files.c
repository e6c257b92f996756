/* libFuzzer target for the mailbox library's small-file parsers and
 * folder names (src/mailbox/mbox_files.c, mbox_name.c): `subscriptions`,
 * `dovecot-keywords`, `ferry-special-use`, directory entries and
 * modified UTF-7.  The first input octet picks the parser.  Checked:
 * every name a parser returns passes mbox_name_check and maps to a
 * directory that starts with '.' and holds no '/'; a directory name
 * that decodes encodes back to itself; formatted output parses back to
 * the same result.
 * FUZZ_SOURCES: src/mailbox/mbox_files.c src/mailbox/mbox_name.c src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "mailbox/mbox_private.h"

static void
fuzz_check_name(const char *name)
{
	char dir[MBOX_DIRNAME_MAX + 2];

	if (mbox_name_check(name, NULL) != 0)
		abort();
	if (mbox_name_is_inbox(name))
		return;
	if (mbox_name_to_dir(name, dir, sizeof(dir)) != 0 || dir[0] != '.' ||
	    dir[1] == '.' || strchr(dir, '/') != NULL)
		abort();
}

static void
fuzz_subs(const char *s, size_t len)
{
	struct mbox_strs a = { 0 }, b = { 0 };
	struct fbuf out;

	mbox_subs_parse(s, len, &a);
	for (size_t i = 0; i < a.n; i++)
		fuzz_check_name(a.v[i]);
	fbuf_init(&out, 0);
	mbox_subs_format(&a, &out);
	mbox_subs_parse(fbuf_str(&out), out.len, &b);
	if (a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.v[i], b.v[i]) != 0)
			abort();
	fbuf_release(&out);
	mbox_strs_free(&a);
	mbox_strs_free(&b);
}

static void
fuzz_keywords(const char *s, size_t len)
{
	char *t[MBOX_KEYWORDS_MAX] = { 0 }, *u[MBOX_KEYWORDS_MAX] = { 0 };
	struct fbuf out;

	(void)mbox_keywords_parse(s, len, t);
	fbuf_init(&out, 0);
	mbox_keywords_format(t, &out);
	if (mbox_keywords_parse(fbuf_str(&out), out.len, u) != 0)
		abort();
	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if ((t[i] == NULL) != (u[i] == NULL) ||
		    (t[i] != NULL && strcmp(t[i], u[i]) != 0) ||
		    (t[i] != NULL && !mbox_keyword_ok(t[i])))
			abort();
		free(t[i]);
		free(u[i]);
	}
	fbuf_release(&out);
}

static void
fuzz_specials(const char *s, size_t len)
{
	struct mbox_specials sp = { 0 };
	struct fbuf out;

	mbox_specials_parse(s, len, &sp);
	for (size_t i = 0; i < sp.names.n; i++) {
		fuzz_check_name(sp.names.v[i]);
		if (mbox_special_name(sp.use[i]) == NULL)
			abort();
	}
	fbuf_init(&out, 0);
	mbox_specials_format(&sp, &out);
	fbuf_release(&out);
	mbox_specials_free(&sp);
}

static void
fuzz_dirent(const char *s)
{
	char dir[MBOX_DIRNAME_MAX + 2];
	struct fbuf b;

	fbuf_init(&b, 0);
	if (mbox_name_from_dir(s, &b) == 0) {
		fuzz_check_name(b.data);
		if (mbox_name_to_dir(b.data, dir, sizeof(dir)) != 0 ||
		    strcmp(dir, s) != 0)
			abort();
	}
	fbuf_release(&b);
	if (mbox_name_check(s, NULL) == 0)
		fuzz_check_name(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0 || size > 65536)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		fuzz_subs(s, size - 1);
		break;
	case 1:
		fuzz_keywords(s, size - 1);
		break;
	case 2:
		fuzz_specials(s, size - 1);
		break;
	default:
		fuzz_dirent(s);
		break;
	}
	free(s);
	return 0;
}
