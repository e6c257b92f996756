/* Stable message UIDs for one Maildir (in the manner of Dovecot's
 * dovecot-uidlist): the file `ferry-uidlist` in the Maildir maps each
 * message's base name (the file name up to ':', which stays the same when
 * the message moves from new/ to cur/ or its flags change) to a UID and
 * its RFC 1939 size (octets with CRLF line ends).  UIDs only grow; a
 * missing or corrupt file starts a new UIDVALIDITY.  Used by POP3 (UIDL)
 * and later IMAP.  Blocking: call from worker threads only. */
#ifndef FERRY_UIDLIST_H
#define FERRY_UIDLIST_H
#include <stddef.h>
#include <stdint.h>

#define UIDLIST_FILE "ferry-uidlist"
#define UIDLIST_LOCK_FILE "ferry-uidlist.lock"

/* One message: name is "new/<file>" or "cur/<file>" relative to the
 * Maildir, as found by the scan. */
struct uidlist_msg {
	char *name;
	uint64_t vsize;		/* octets as sent: LF counted as CRLF */
	uint32_t uid;
};

struct uidlist_block;

/* A snapshot of the mailbox: messages in ascending UID order.  The names
 * of a list that uidlist_sync or uidlist_parse made sit in a few large
 * blocks (names), freed with the list: take a copy to keep one.  A list
 * built by hand leaves names NULL, and each name is then its own
 * allocation, which uidlist_free frees. */
struct uidlist {
	uint32_t uidvalidity;
	uint32_t next_uid;
	struct uidlist_msg *v;
	size_t n;
	struct uidlist_block *names;
};

/* Scans new/ and cur/ of the Maildir at path once, gives UIDs to messages
 * not seen before (in delivery order: the time their names start with),
 * drops entries of messages that are gone, and rewrites the file when
 * anything changed
 * (under a lock file, so several processes may sync).  ul is filled (the
 * caller frees it with uidlist_free).  0, or -1 with errno. */
int uidlist_sync(const char *path, struct uidlist *ul);
/* uidlist_sync, where those of names ("new/<file>" or "cur/<file>")
 * that are new to the index get their UIDs first and in the order given
 * (an IMAP APPEND or COPY of several messages then has ascending UIDs in
 * its own order); other new messages follow in delivery order. */
int uidlist_sync_ordered(const char *path, const char *const *names,
    size_t n, struct uidlist *ul);
/* Numbers messages just written into cur/ without a scan: under the
 * lock, when the file's UIDVALIDITY is uidvalidity and its next UID is
 * next_uid (the caller's state then knows every UID before them), it
 * appends a line for each of names ("cur/<file>", vsizes[i] its CRLF
 * size) with UIDs next_uid, next_uid + 1, ... (into uids_r), raises the
 * next UID in place and fdatasyncs.  1 done; 0 when the file says
 * otherwise or cannot be appended to (number them with
 * uidlist_sync_ordered instead); -1 with errno (nothing numbered). */
int uidlist_append(const char *path, uint32_t uidvalidity,
    uint32_t next_uid, const char *const *names, const uint64_t *vsizes,
    size_t n, uint32_t *uids_r);
/* Starts an empty index with this UIDVALIDITY for a new folder (write,
 * fsync, rename).  0, or -1 with errno. */
int uidlist_create(const char *path, uint32_t uidvalidity);
void uidlist_free(struct uidlist *ul);

/* The file format, exposed for tests: "ferry-uidlist 1 <validity>
 * <next>\n" (next written with ten digits, so that an append can raise
 * it in place) then "<uid> <vsize> <basename>\n" lines in ascending UID
 * order.  A line at or past next raises it (an append whose header
 * update a crash lost); a last line without its newline is ignored (an
 * append torn by a crash).  Parses text into ul (names are base names).
 * 0, or -1 when the text is malformed (ul then empty). */
int uidlist_parse(const char *text, size_t len, struct uidlist *ul);
/* The RFC 1939 size of a message file's content: its length plus one for
 * each LF not preceded by CR.  0 or -1 with errno. */
int uidlist_vsize_fd(int fd, uint64_t *vsize_r);
/* Base-name length of a Maildir file name: up to ':' or the end. */
size_t uidlist_basename_len(const char *name);

#endif
