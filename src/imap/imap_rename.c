/* RENAME of INBOX (RFC 3501 section 6.3.5, RFC 9051 section 6.3.6): the
 * mailbox library renames folders but not INBOX, which is the Maildir
 * itself.  Here INBOX's messages move into a new folder of the given
 * name (created first, so an existing name fails before anything moves)
 * and INBOX stays, empty; a message delivered meanwhile stays in INBOX.
 * The move is mbox_view_copy with move: hard links, flags and keywords
 * kept, no quota change.  Worker thread only (everything blocks). */
#include <stdlib.h>

#include "imap/imap_private.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

int
imap_rename_inbox(struct mbox_user *user, const char *to,
    struct mbox_error *err)
{
	struct mbox_view *view = NULL;
	struct mbox_changes ch;
	uint32_t *seqs = NULL, *src = NULL, *dst = NULL, n, uidvalidity;
	size_t count;
	int r;

	if (mbox_folder_create(user, to, MBOX_SPECIAL_NONE, err) < 0)
		return -1;
	if (mbox_view_open(user, "INBOX", false, &view, err) < 0)
		return -1;
	n = mbox_view_count(view);
	if (n == 0) {
		mbox_view_close(&view);
		return 0;
	}
	seqs = xcalloc(n, sizeof(*seqs));
	src = xcalloc(n, sizeof(*src));
	dst = xcalloc(n, sizeof(*dst));
	for (uint32_t i = 0; i < n; i++)
		seqs[i] = i + 1;
	r = mbox_view_copy(view, seqs, n, to, true, &uidvalidity, src, dst,
	    &count, &ch, err);
	mbox_changes_free(&ch);
	free(seqs);
	free(src);
	free(dst);
	mbox_view_close(&view);
	return r;
}
