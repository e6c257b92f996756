/* The cached MIME answers of one message (ENVELOPE, BODY and
 * BODYSTRUCTURE response text) in the form kept in the mailbox index
 * (field IMAP_CACHE_MIME), without I/O: encoding and a decoder that
 * refuses anything damaged, since the index is a file in the user's
 * Maildir.  imap_fetch_mime.c builds, stores and reads it. */
#ifndef FERRY_IMAP_MIME_BLOB_H
#define FERRY_IMAP_MIME_BLOB_H
#include <stddef.h>

#include "lib/fbuf.h"

enum imap_mime_text {
	IMAP_MIME_ENVELOPE,
	IMAP_MIME_BODY,
	IMAP_MIME_BODYSTRUCTURE,
	IMAP_MIME_COUNT
};

/* Decoded: text[i][0..len[i]) points into the decoded buffer and is
 * valid as long as it is. */
struct imap_mime_blob {
	const char *text[IMAP_MIME_COUNT];
	size_t len[IMAP_MIME_COUNT];
};

/* Appends the blob of the three response texts (each a parenthesised
 * list as FETCH sends it) to out. */
void imap_mime_blob_encode(const struct fbuf *text[IMAP_MIME_COUNT],
    struct fbuf *out);
/* 0 and *r filled, or -1 when p[0..len) is not a whole, undamaged blob
 * (wrong magic or checksum, lengths that do not add up, a text that
 * is not one parenthesised list). */
int imap_mime_blob_decode(const void *p, size_t len, struct imap_mime_blob *r);

#endif
