/* The small per-user and per-folder files of the mailbox library, as
 * text (mbox_private.h): `subscriptions` (Dovecot's format, which reads
 * and writes one storage name per line), `dovecot-keywords` (Dovecot's
 * Maildir keyword table: "<index> <keyword>", index = letter - 'a') and
 * Ferry's `ferry-special-use`.  All three are hostile input: parsing
 * never trusts a line, drops what does not validate and never fails in
 * a way that loses the rest.  No I/O here (fuzzed: fuzz_mbox_files). */
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox_private.h"

#define MBOX_SUBS_LINE_MAX 1024

void
mbox_strs_add(struct mbox_strs *s, const char *str)
{
	if ((s->n & (s->n + 1)) == 0 || s->v == NULL)
		s->v = xreallocarray(s->v, (s->n + 1) * 2, sizeof(*s->v));
	s->v[s->n++] = xstrdup(str);
}

void
mbox_strs_free(struct mbox_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

ssize_t
mbox_strs_find(const struct mbox_strs *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return (ssize_t)i;
	return -1;
}

/* ---- subscriptions ---- */

/* One line: a v2 name (levels separated by TAB) or a v1 storage name
 * (levels separated by '.', like the directory without its dot).  Both
 * are modified UTF-7. */
static void
mbox_subs_line(const char *p, size_t n, bool v2, struct mbox_strs *names)
{
	char dirent[MBOX_SUBS_LINE_MAX + 2];
	char canon[MBOX_NAME_MAX + 1];
	struct fbuf b;

	if (n == 0 || n > MBOX_SUBS_LINE_MAX)
		return;
	if (n == 5 && strncasecmp(p, "INBOX", 5) == 0) {
		if (mbox_strs_find(names, "INBOX") < 0)
			mbox_strs_add(names, "INBOX");
		return;
	}
	dirent[0] = '.';
	memcpy(dirent + 1, p, n);
	dirent[n + 1] = '\0';
	for (size_t i = 1; i <= n; i++) {
		if (dirent[i] == '\0' || (v2 && dirent[i] == '.'))
			return;
		if (v2 && dirent[i] == '\t')
			dirent[i] = '.';
	}
	fbuf_init(&b, 0);
	if (mbox_name_from_dir(dirent, &b) == 0) {
		mbox_name_canon(b.data, canon, sizeof(canon));
		if (mbox_strs_find(names, canon) < 0)
			mbox_strs_add(names, canon);
	}
	fbuf_release(&b);
}

void
mbox_subs_parse(const char *text, size_t len, struct mbox_strs *names)
{
	const char *p = text, *end = text + len, *eol;
	bool v2 = false;

	if (len >= 2 && p[0] == 'V' && p[1] == '\t') {
		/* The version header runs to an empty line. */
		const char *blank = NULL;

		for (const char *q = p; q + 1 < end; q++)
			if (q[0] == '\n' && q[1] == '\n') {
				blank = q;
				break;
			}
		if (blank == NULL)
			return;
		v2 = true;
		p = blank + 2;
	}
	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		mbox_subs_line(p, (size_t)(eol - p), v2, names);
	}
}

void
mbox_subs_format(const struct mbox_strs *names, struct fbuf *b)
{
	char dir[MBOX_DIRNAME_MAX + 2];

	for (size_t i = 0; i < names->n; i++) {
		if (mbox_name_is_inbox(names->v[i]))
			fbuf_adds(b, "INBOX\n");
		else if (mbox_name_to_dir(names->v[i], dir, sizeof(dir)) == 0)
			fbuf_addf(b, "%s\n", dir + 1);
	}
}

/* ---- dovecot-keywords ---- */

bool
mbox_keyword_ok(const char *kw)
{
	size_t n = strlen(kw);

	if (n == 0 || n > MBOX_KEYWORD_MAX_LEN || kw[0] == '\\')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)kw[i];

		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int
mbox_keywords_parse(const char *text, size_t len,
    char *table[MBOX_KEYWORDS_MAX])
{
	const char *p = text, *end = text + len, *eol, *sp;
	char kw[MBOX_KEYWORD_MAX_LEN + 1];
	uint64_t idx;
	char num[8];
	int r = 0;

	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		sp = memchr(p, ' ', (size_t)(eol - p));
		if (sp == NULL || sp == p || (size_t)(sp - p) >= sizeof(num) ||
		    (size_t)(eol - sp - 1) > MBOX_KEYWORD_MAX_LEN) {
			r = -1;
			continue;
		}
		memcpy(num, p, (size_t)(sp - p));
		num[sp - p] = '\0';
		memcpy(kw, sp + 1, (size_t)(eol - sp - 1));
		kw[eol - sp - 1] = '\0';
		if (str_parse_uint(num, 0, MBOX_KEYWORDS_MAX - 1, &idx) < 0 ||
		    !mbox_keyword_ok(kw) || table[idx] != NULL) {
			r = -1;
			continue;
		}
		for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++)
			if (table[i] != NULL && strcasecmp(table[i], kw) == 0)
				goto dup;
		table[idx] = xstrdup(kw);
		continue;
dup:
		r = -1;
	}
	return r;
}

void
mbox_keywords_format(char *const table[MBOX_KEYWORDS_MAX], struct fbuf *b)
{
	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (table[i] != NULL)
			fbuf_addf(b, "%zu %s\n", i, table[i]);
}

/* ---- ferry-special-use ---- */

static const char *const mbox_special_names[] = {
	[MBOX_SPECIAL_ALL] = "\\All",
	[MBOX_SPECIAL_ARCHIVE] = "\\Archive",
	[MBOX_SPECIAL_DRAFTS] = "\\Drafts",
	[MBOX_SPECIAL_FLAGGED] = "\\Flagged",
	[MBOX_SPECIAL_JUNK] = "\\Junk",
	[MBOX_SPECIAL_SENT] = "\\Sent",
	[MBOX_SPECIAL_TRASH] = "\\Trash",
};

const char *
mbox_special_name(enum mbox_special sp)
{
	if ((size_t)sp == 0 || (size_t)sp >= sizeof(mbox_special_names) /
	    sizeof(*mbox_special_names))
		return NULL;
	return mbox_special_names[sp];
}

enum mbox_special
mbox_special_parse(const char *s)
{
	for (size_t i = 1; i < sizeof(mbox_special_names) /
	    sizeof(*mbox_special_names); i++)
		if (str_ieq(s, mbox_special_names[i]))
			return (enum mbox_special)i;
	return MBOX_SPECIAL_NONE;
}

static void
mbox_specials_line(const char *p, size_t n, struct mbox_specials *sp)
{
	char line[MBOX_NAME_MAX + 32], canon[MBOX_NAME_MAX + 1];
	enum mbox_special use;
	char *tab;

	if (n == 0 || n >= sizeof(line))
		return;
	memcpy(line, p, n);
	line[n] = '\0';
	if ((tab = strchr(line, '\t')) == NULL)
		return;
	*tab = '\0';
	use = mbox_special_parse(line);
	if (use == MBOX_SPECIAL_NONE || mbox_name_check(tab + 1, NULL) < 0)
		return;
	mbox_name_canon(tab + 1, canon, sizeof(canon));
	if (mbox_strs_find(&sp->names, canon) >= 0)
		return;
	sp->use = xreallocarray(sp->use, sp->names.n + 1, sizeof(*sp->use));
	sp->use[sp->names.n] = use;
	mbox_strs_add(&sp->names, canon);
}

void
mbox_specials_parse(const char *text, size_t len, struct mbox_specials *sp)
{
	const char *p = text, *end = text + len, *eol;

	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		mbox_specials_line(p, (size_t)(eol - p), sp);
	}
}

void
mbox_specials_format(const struct mbox_specials *sp, struct fbuf *b)
{
	for (size_t i = 0; i < sp->names.n; i++)
		fbuf_addf(b, "%s\t%s\n", mbox_special_name(sp->use[i]),
		    sp->names.v[i]);
}

void
mbox_specials_free(struct mbox_specials *sp)
{
	mbox_strs_free(&sp->names);
	free(sp->use);
	sp->use = NULL;
}
