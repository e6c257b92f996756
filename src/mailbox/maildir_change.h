/* Changes a mail reader makes to a Maildir++ mailbox when it commits:
 * expunging messages (unlink, then one negative line in `maildirsize`,
 * as the Maildir++ quota spec asks) and marking them noticed or seen
 * (new/ -> cur/ with the ":2,<flags>" info, 'S' = seen).  Base names
 * never change, so UIDs (uidlist.h) stay.  Blocking: workers only. */
#ifndef FERRY_MAILDIR_CHANGE_H
#define FERRY_MAILDIR_CHANGE_H
#include <stdbool.h>
#include <stddef.h>

struct maildir_change {
	const char *name;	/* "new/<file>" or "cur/<file>" */
	bool expunge;		/* unlink it */
	bool seen;		/* add the S flag (else only leave new/) */
};

/* Applies n changes to the Maildir at path.  Messages already gone
 * count as expunged.  Returns the number of changes that failed (0 when
 * all were made); *expunged_r (may be NULL) counts the messages
 * removed. */
size_t maildir_change_apply(const char *path, const struct maildir_change *v,
    size_t n, size_t *expunged_r);
/* The cur/ name for a message with S added when seen: "cur/x:2,FS" from
 * "new/x" or "cur/x:2,F".  0, or -1 when it does not fit. */
int maildir_change_cur_name(const char *name, bool seen, char *dst,
    size_t size);

#endif
