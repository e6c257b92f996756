/* Addresses in message header fields (RFC 5322 3.4 address-list), no
 * I/O: display names, comments, quoted strings, angle addresses, groups
 * and obsolete routes.  A flat callback view of src/mime's address
 * lists and field splitter, with the exact semantics the sender
 * ownership check relies on (smtp_sender.c reads mime directly; this
 * interface keeps those semantics pinned by its tests and fuzz target).
 * It extracts, it does not judge: the caller decides what to do with
 * each address. */
#ifndef FERRY_SMTP_HDRADDR_H
#define FERRY_SMTP_HDRADDR_H
#include <stdbool.h>
#include <stddef.h>

struct fbuf;

#define SMTP_HDRADDR_MAX 512	/* longer mailboxes are unreadable */

/* addr: the addr-spec of one mailbox, white space removed, quoted parts
 * kept as written ("" with unreadable for "<>").  unreadable: the mailbox
 * is not one clear address (text after "<addr>", a second "<", over
 * SMTP_HDRADDR_MAX); addr then holds what was read. */
typedef void smtp_hdraddr_cb(void *ctx, const char *addr, bool unreadable);

/* Calls cb for every mailbox in the address list v[0..len).  Empty
 * elements (", ,", "group:;") produce no call. */
void smtp_hdraddr_parse(const char *v, size_t len, smtp_hdraddr_cb *cb,
    void *ctx);
/* Appends to out the unfolded values of every field called `name`
 * (case-blind) in the header block hdrs[0..len) (CRLF or LF lines), each
 * value followed by "," so that the fields read as one list. */
void smtp_hdraddr_fields(const char *hdrs, size_t len, const char *name,
    struct fbuf *out);

#endif
