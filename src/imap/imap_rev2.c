/* IMAP4rev2 (RFC 9051) pieces a session switched by ENABLE IMAP4rev2
 * needs beyond the flags other files test (no RECENT or [UNSEEN] in
 * SELECT and updates, ESEARCH for SEARCH, UTF-8 mailbox names): the LIST
 * response SELECT and EXAMINE must send (RFC 9051 section 6.3.2), with
 * the attributes LIST would give the folder.  Sessions that never
 * ENABLE keep IMAP4rev1 behaviour. */
#include <string.h>

#include "imap/imap_private.h"
#include "mailbox/mbox.h"

static void
imap_rev2_list_line(struct imap_session *s, const struct mbox_folder_info *fi,
    struct fbuf *b)
{
	const char *sp = mbox_special_name(fi->special);

	fbuf_addf(b, "* LIST (%s", fi->flags & MBOX_FOLDER_F_HASCHILDREN ?
	    "\\HasChildren" : "\\HasNoChildren");
	if (fi->flags & MBOX_FOLDER_F_SUBSCRIBED)
		fbuf_adds(b, " \\Subscribed");
	if (sp != NULL)
		fbuf_addf(b, " %s", sp);
	fbuf_adds(b, ") \"/\" ");
	imap_fmt_mailbox(b, mbox_name_is_inbox(fi->name) ? "INBOX" : fi->name,
	    s->utf8);
	fbuf_adds(b, "\r\n");
}

void
imap_rev2_select_list(struct imap_session *s, const char *name,
    struct fbuf *b)
{
	struct mbox_folder_list list;
	struct mbox_error err;

	if (mbox_folder_list(s->user, &list, &err) < 0)
		return;
	for (size_t i = 0; i < list.n; i++) {
		const struct mbox_folder_info *fi = &list.v[i];

		if (!(fi->flags & MBOX_FOLDER_F_NONEXISTENT) &&
		    (strcmp(fi->name, name) == 0 ||
		    (mbox_name_is_inbox(name) &&
		    mbox_name_is_inbox(fi->name)))) {
			imap_rev2_list_line(s, fi, b);
			break;
		}
	}
	mbox_folder_list_free(&list);
}
