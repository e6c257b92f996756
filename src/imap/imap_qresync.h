/* QRESYNC's SELECT/EXAMINE parameter (RFC 7162 section 3.2.5) as a
 * checked value, and the select-param list around it.  No I/O: the
 * session's SELECT parses with it, the fuzz target and the unit tests
 * call it directly.  What the server then reports (VANISHED (EARLIER),
 * FETCH of changed messages) is in imap_qresync.c. */
#ifndef FERRY_IMAP_QRESYNC_H
#define FERRY_IMAP_QRESYNC_H
#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_args.h"

/* "(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))".  The
 * sets never hold '*' or '$'; match_seqs and match_uids name the same
 * number of messages (counted without expanding them). */
struct imap_qresync {
	uint32_t uidvalidity;		/* nz-number */
	uint64_t modseq;		/* 1..2^63-1 */
	bool has_known_uids;
	struct imap_seqset known_uids;
	bool has_match;
	struct imap_seqset match_seqs;	/* known-sequence-set */
	struct imap_seqset match_uids;	/* known-uid-set */
	uint64_t match_count;		/* numbers in each of the two */
};

/* SELECT/EXAMINE's optional parameter list: CONDSTORE and/or one
 * QRESYNC entry, nothing else, none twice.  *condstore_r is set for
 * either (QRESYNC implies CONDSTORE), *qresync_r when q was filled.
 * 0, or -1 with *error_r for a BAD reply (q then needs no freeing). */
int imap_select_params_parse(const struct imap_arg *list, bool *condstore_r,
    bool *qresync_r, struct imap_qresync *q, const char **error_r);
void imap_qresync_free(struct imap_qresync *q);

/* How many numbers a set without '*' names (ranges may be written
 * high:low), counting overlaps twice. */
uint64_t imap_seqset_count(const struct imap_seqset *set);

#endif
