/* What SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT
 * (RFC 5267) need, without I/O: the base subject, a message's sort
 * record built from its header (and kept in the mailbox index as a
 * blob), the sort criteria, sorting, and the two threading algorithms
 * with their response text.  The IMAP commands on top are in
 * imap_cmd_sort.c. */
#ifndef FERRY_IMAP_SORT_H
#define FERRY_IMAP_SORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_parser.h"
#include "lib/fbuf.h"

/* Appends the base subject (RFC 5256 section 2.1) of the unfolded
 * Subject value v[0..len) to out: encoded words decoded to UTF-8, white
 * space runs made one space, "Re:", "Fwd:", "[tag]", "(fwd)" and
 * "[fwd: ...]" removed, then ASCII letters upper-cased (the
 * i;ascii-casemap collation compares the result byte by byte).
 * *reply_r says whether a reply or forward marker was removed. */
void imap_base_subject(const char *v, size_t len, struct fbuf *out,
    bool *reply_r);

/* What sorting and threading compare, from one message's header.
 * Strings are never NULL (empty when absent) and the mailbox and
 * display strings are ASCII upper-cased. */
struct imap_msgkey {
	bool has_date;		/* a Date: that parses */
	int64_t date;		/* its UTC time */
	int zone;		/* its zone, minutes east of UTC */
	bool reply;		/* the subject was a reply or forward */
	char *subject;		/* base subject */
	char *from, *to, *cc;	/* addr-mailbox of the first address */
	char *dfrom, *dto;	/* display name (decoded) or addr-spec */
	char *msgid;		/* "<id>" of Message-ID, "" when none */
	char **refs;		/* References, else In-Reply-To: "<id>" */
	unsigned nrefs;
};

#define IMAP_MSGKEY_REFS_MAX 128	/* the last ones are kept */

/* Builds k from the header section hdr[0..len) (it may run on into the
 * body).  Never fails; free with imap_msgkey_free. */
void imap_msgkey_build(const void *hdr, size_t len, struct imap_msgkey *k);
void imap_msgkey_free(struct imap_msgkey *k);
/* The record as a blob for the index, and back: decode returns 0, or
 * -1 (k zeroed) when the blob is not one this version wrote whole. */
void imap_msgkey_encode(const struct imap_msgkey *k, struct fbuf *out);
int imap_msgkey_decode(const void *p, size_t len, struct imap_msgkey *k);

/* ---- sort criteria (RFC 5256 section 3, RFC 5957) ---- */

enum imap_sort_key {
	IMAP_SORT_ARRIVAL, IMAP_SORT_CC, IMAP_SORT_DATE, IMAP_SORT_FROM,
	IMAP_SORT_SIZE, IMAP_SORT_SUBJECT, IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO
};

struct imap_sort_crit {
	enum imap_sort_key key;
	bool reverse;
};

#define IMAP_SORT_CRIT_MAX 16

/* The parenthesised criteria list a (REVERSE before a key; at least one
 * key; a key at most once): 0, or -1 with *error_r for BAD. */
int imap_sort_criteria_parse(const struct imap_arg *a,
    struct imap_sort_crit *v, unsigned *n_r, const char **error_r);

/* One message to sort or thread. */
struct imap_sort_item {
	uint32_t seq, uid;
	uint64_t size;
	time_t internaldate;
	struct imap_msgkey key;
};

/* Sorts v by the criteria, ties by sequence number (RFC 5256 section
 * 3).  A message without a valid Date sorts by its internal date. */
void imap_sort_items(struct imap_sort_item *v, size_t n,
    const struct imap_sort_crit *c, unsigned nc);

/* ---- threads (RFC 5256 sections 4 and 5) ---- */

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

/* Appends the threads of v[0..n) (any order; v is reordered) as the
 * text after "* THREAD", numbered by UID when uid, else by sequence
 * number: "(2)(3 6 (4 23)(44 7 96))".  Nothing for n == 0. */
void imap_thread_build(enum imap_thread_alg alg, struct imap_sort_item *v,
    size_t n, bool uid, struct fbuf *out);

#endif
