/* Flags in Maildir file names (mbox_private.h): the info ":2,<letters>"
 * carries D (draft), F (flagged), R (replied = \Answered), S (seen),
 * T (trashed = \Deleted) and a..z for keywords by the folder's
 * `dovecot-keywords` table, all in ASCII order, as Dovecot and Courier
 * read them.  Other letters (P for passed, ...) are kept as they are.
 * Keywords are therefore on disk with the message, not only in the
 * index, and survive an index rebuild; the price is Dovecot's limit of
 * 26 keywords per folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mailbox/mbox_private.h"
#include "mailbox/uidlist.h"

#define MBOX_KEYWORDS_FILE_MAX 65536

static const struct {
	char letter;
	uint32_t flag;
} mbox_flag_letters[] = {
	{ 'D', MBOX_F_DRAFT },
	{ 'F', MBOX_F_FLAGGED },
	{ 'R', MBOX_F_ANSWERED },
	{ 'S', MBOX_F_SEEN },
	{ 'T', MBOX_F_DELETED },
};

void
mbox_flags_from_file(const char *file, uint32_t *flags_r,
    uint32_t *keywords_r, char *extra, size_t extra_size)
{
	const char *info = strchr(file, ':');
	size_t ne = 0;

	*flags_r = *keywords_r = 0;
	if (extra_size > 0)
		extra[0] = '\0';
	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return;
	for (const char *p = info + 3; *p != '\0'; p++) {
		size_t i;

		if (*p >= 'a' && *p <= 'z') {
			*keywords_r |= 1u << (*p - 'a');
			continue;
		}
		for (i = 0; i < sizeof(mbox_flag_letters) /
		    sizeof(*mbox_flag_letters); i++)
			if (mbox_flag_letters[i].letter == *p)
				break;
		if (i < sizeof(mbox_flag_letters) / sizeof(*mbox_flag_letters))
			*flags_r |= mbox_flag_letters[i].flag;
		else if (*p > ' ' && *p < 0x7f && *p != '/' &&
		    ne + 1 < extra_size && strchr(extra, *p) == NULL) {
			extra[ne++] = *p;
			extra[ne] = '\0';
		}
	}
}

int
mbox_flags_file(const char *file, uint32_t flags, uint32_t keywords,
    const char *extra, char *dst, size_t size)
{
	const char *base = strchr(file, '/');
	char letters[64];
	size_t n = 0;

	base = base != NULL ? base + 1 : file;
	/* ASCII order: upper case (system flags and extras) before a..z. */
	for (int c = 'A'; c <= 'Z'; c++) {
		bool on = extra != NULL && strchr(extra, c) != NULL;

		for (size_t i = 0; i < sizeof(mbox_flag_letters) /
		    sizeof(*mbox_flag_letters); i++)
			if (mbox_flag_letters[i].letter == c)
				on = (flags & mbox_flag_letters[i].flag) != 0;
		if (on)
			letters[n++] = (char)c;
	}
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (keywords & (1u << i))
			letters[n++] = (char)('a' + i);
	letters[n] = '\0';
	return fsio_pathf(dst, size, "cur/%.*s:2,%s",
	    (int)uidlist_basename_len(base), base, letters);
}

void
mbox_keywords_load(struct mbox_fstate *fs)
{
	char file[PATH_MAX];
	struct fbuf b;

	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		free(fs->keywords[i]);
		fs->keywords[i] = NULL;
	}
	fs->nkeywords = 0;
	mbox_fstate_changed(fs);
	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_KEYWORDS_FILE,
	    fs->dir) < 0)
		return;
	fbuf_init(&b, 0);
	if (fsio_read_file(file, &b, MBOX_KEYWORDS_FILE_MAX) == 0 &&
	    mbox_keywords_parse(b.data, b.len, fs->keywords) < 0)
		log_warnx("- mailbox keywords-file-damaged path=%s",
		    log_q(file));
	fbuf_release(&b);
	fs->kwmask = 0;
	for (size_t i = 0; i < MBOX_KEYWORDS_MAX; i++)
		if (fs->keywords[i] != NULL) {
			fs->nkeywords = i + 1;
			fs->kwmask |= 1u << i;
		}
}

/* Rewrites dovecot-keywords atomically (fsio_replace_file). */
static int
mbox_keywords_save(struct mbox_fstate *fs)
{
	char file[PATH_MAX];
	struct fbuf b;
	int r;

	if (fsio_pathf(file, sizeof(file), "%s/" MBOX_KEYWORDS_FILE,
	    fs->dir) < 0)
		return -1;
	fbuf_init(&b, 0);
	mbox_keywords_format(fs->keywords, &b);
	r = fsio_replace_file(file, b.data != NULL ? b.data : "", b.len,
	    0600);
	fbuf_release(&b);
	return r;
}

int
mbox_keyword_index(struct mbox_fstate *fs, const char *kw, bool add,
    struct mbox_error *err)
{
	int slot = -1;

	if (!mbox_keyword_ok(kw))
		return mbox_fail(err, MBOX_ERR_BADNAME, "Invalid keyword");
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if (fs->keywords[i] == NULL) {
			if (slot < 0)
				slot = i;
		} else if (strcasecmp(fs->keywords[i], kw) == 0)
			return i;
	}
	if (!add)
		return -1;
	if (slot < 0)
		return mbox_fail(err, MBOX_ERR_LIMIT,
		    "Too many keywords in this mailbox");
	fs->keywords[slot] = xstrdup(kw);
	fs->kwmask |= 1u << slot;
	mbox_fstate_changed(fs);
	if ((size_t)slot + 1 > fs->nkeywords)
		fs->nkeywords = (size_t)slot + 1;
	if (mbox_keywords_save(fs) < 0) {
		log_warn("- mailbox keywords-save-failed dir=%s",
		    log_q(fs->dir));
		free(fs->keywords[slot]);
		fs->keywords[slot] = NULL;
		fs->kwmask &= ~(1u << slot);
		return mbox_fail(err, MBOX_ERR_TEMP, "Cannot save keywords");
	}
	return slot;
}
