/* POP3 UIDLs kept from another server (qmail-pop3d, which gives each
 * message the base name of its Maildir file: the name up to ':').  The
 * file `ferry-pop3-uidl` in a Maildir lists the base names of messages
 * that came over from such a server (written by `ferry import`); POP3
 * answers UIDL for those with the base name, as the old server did, so
 * clients that leave mail on the server do not fetch it all again.
 * Messages that arrive later get Ferry's own UIDLs.  Blocking file I/O:
 * worker threads or the command line. */
#ifndef FERRY_LEGACY_UIDL_H
#define FERRY_LEGACY_UIDL_H
#include <stdbool.h>
#include <stddef.h>

#define LEGACY_UIDL_FILE "ferry-pop3-uidl"

/* Sorted, unique base names. */
struct legacy_uidl {
	char **v;
	size_t n;
};

/* Reads maildir's list into set: a missing file is an empty set.  0, or
 * -1 with errno (a malformed file is EINVAL; set is then empty). */
int legacy_uidl_load(const char *maildir, struct legacy_uidl *set);
/* Parses the file's text: "ferry-pop3-uidl 1\n" then one base name per
 * line (ops_import_msgname_ok without ':'); names are sorted and
 * deduplicated here.  0, or -1 (set empty). */
int legacy_uidl_parse(const char *text, size_t len, struct legacy_uidl *set);
/* Writes set (sorted, unique) as maildir's list atomically (tmp, fsync,
 * rename, fsync dir).  0 or -1 with errno. */
int legacy_uidl_write(const char *maildir, const struct legacy_uidl *set);
/* Adds a copy of base (n octets) unless present; keeps the order. */
void legacy_uidl_add(struct legacy_uidl *set, const char *base, size_t n);
/* Whether base (n octets) is in the set. */
bool legacy_uidl_has(const struct legacy_uidl *set, const char *base,
    size_t n);
/* Whether a base name can be a POP3 unique-id (RFC 1939 section 7: 1 to
 * 70 octets 0x21..0x7E) and a line of the file. */
bool legacy_uidl_ok(const char *base, size_t n);
void legacy_uidl_free(struct legacy_uidl *set);

#endif
