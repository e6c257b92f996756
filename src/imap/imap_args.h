/* Typed views of IMAP command arguments (RFC 9051 section 9, RFC 3501
 * section 9, RFC 7162 CONDSTORE modifiers, RFC 3516 BINARY, RFC 4731
 * ESEARCH return options, RFC 5182 "$").  They take the argument tree of
 * imap_parser.h and give the command handlers checked values: strings,
 * numbers, sequence sets, dates, flag lists, STORE operations, FETCH
 * items with sections and partial ranges, and a SEARCH key tree.  No
 * I/O.  Everything returned is owned by the caller's structure and freed
 * by its _free function; it does not point into the parser. */
#ifndef FERRY_IMAP_ARGS_H
#define FERRY_IMAP_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_parser.h"

/* astring: an atom (no wildcards), quoted string or literal without NUL. */
bool imap_arg_astring(const struct imap_arg *a, const char **s_r);
/* string: quoted string or literal without NUL. */
bool imap_arg_string(const struct imap_arg *a, const char **s_r);
/* list-mailbox: an astring, or an atom with % and *. */
bool imap_arg_list_mailbox(const struct imap_arg *a, const char **s_r);
/* True when a is the atom word (ASCII case-blind). */
bool imap_arg_atom_is(const struct imap_arg *a, const char *word);
/* A decimal atom in [min, max] (no sign, no leading "+"). */
bool imap_arg_number(const struct imap_arg *a, uint64_t min, uint64_t max,
    uint64_t *r);

/* Sequence sets (RFC 9051 section 9 "sequence-set").  '*' is stored as
 * IMAP_SEQ_STAR and resolved when the set is used; "$" (RFC 5182) sets
 * `saved` and has no ranges.  IMAP_SEQ_STAR is 0, never a number of a
 * set: every value 1..4294967295 is a valid nz-number. */
#define IMAP_SEQ_STAR 0u

struct imap_range {
	uint32_t lo, hi;	/* as sent: lo may exceed hi */
};

struct imap_seqset {
	struct imap_range *ranges;
	unsigned count;
	bool saved;
};

/* 0, or -1 when s is not a sequence set (set untouched). */
int imap_seqset_parse(const char *s, struct imap_seqset *set);
/* True when v is in the set, '*' meaning star (the largest number in
 * use; 0 for an empty mailbox). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t v,
    uint32_t star);
void imap_seqset_free(struct imap_seqset *set);

/* date (d-mon-yyyy, quoted or not): days since 1970-01-01, 0 or -1. */
int imap_date_parse(const char *s, int64_t *days_r);
/* date-time ("dd-mon-yyyy hh:mm:ss +zzzz"): UTC seconds, 0 or -1. */
int imap_datetime_parse(const char *s, time_t *t_r);
/* Writes t as date-time in UTC ("05-Dec-2026 01:02:03 +0000"). */
void imap_datetime_format(time_t t, char *buf, size_t size);

/* System flags as bits; keywords by name. */
#define IMAP_FLAG_SEEN 0x01
#define IMAP_FLAG_ANSWERED 0x02
#define IMAP_FLAG_FLAGGED 0x04
#define IMAP_FLAG_DELETED 0x08
#define IMAP_FLAG_DRAFT 0x10
#define IMAP_FLAG_RECENT 0x20	/* never settable */

struct imap_flags {
	unsigned system;	/* IMAP_FLAG_* */
	char **keywords;	/* atoms as sent */
	unsigned nkeywords;
};

/* A flag list "(\Seen kw)", or with allow_bare the flags as separate
 * arguments (STORE's "+FLAGS \Seen \Deleted"); \Recent and unknown
 * backslash flags are refused.  0 or -1 with *error_r. */
int imap_flags_parse(const struct imap_arg *args, unsigned count,
    bool allow_bare, struct imap_flags *f, const char **error_r);
void imap_flags_free(struct imap_flags *f);
/* The name of one system flag bit ("\\Seen"). */
const char *imap_flag_name(unsigned bit);

/* STORE seq [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] flags */
enum imap_store_op { IMAP_STORE_SET, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store {
	enum imap_store_op op;
	bool silent;
	bool has_unchangedsince;
	uint64_t unchangedsince;
	struct imap_flags flags;
};

/* args/count are the arguments after the sequence set. */
int imap_store_parse(const struct imap_arg *args, unsigned count,
    struct imap_store *st, const char **error_r);
void imap_store_free(struct imap_store *st);

/* FETCH items (RFC 9051 section 6.4.5, RFC 3516, RFC 7162). */
enum imap_fetch_type {
	IMAP_FETCH_FLAGS, IMAP_FETCH_UID, IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE, IMAP_FETCH_BODY,	/* BODY, no section */
	IMAP_FETCH_SECTION,	/* BODY[...], BODY.PEEK[...], RFC822* */
	IMAP_FETCH_BINARY,	/* BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE, IMAP_FETCH_MODSEQ
};

enum imap_section_text {
	IMAP_SECTION_ALL,		/* BODY[] or BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME		/* only after a part number */
};

#define IMAP_SECTION_DEPTH 32

struct imap_fetch_item {
	enum imap_fetch_type type;
	bool peek;		/* does not set \Seen */
	uint32_t parts[IMAP_SECTION_DEPTH];
	unsigned nparts;
	enum imap_section_text text;
	char **fields;		/* HEADER.FIELDS names, upper-cased */
	unsigned nfields;
	bool partial;
	uint64_t offset, count;
	/* the item's name in the response, without the <origin>:
	 * "BODY[1.HEADER.FIELDS (FROM TO)]", "RFC822.HEADER", "BINARY[2]" */
	char *name;
};

struct imap_fetch {
	struct imap_fetch_item *items;
	unsigned count;
	bool sets_seen;		/* some item is a non-peek body */
	bool has_changedsince;
	uint64_t changedsince;
	bool vanished;		/* UID FETCH ... (VANISHED), RFC 7162 */
};

/* args/count are the arguments after the sequence set: a macro (ALL,
 * FAST, FULL), one item or a list, then an optional modifier list.
 * 0, or -1 with *error_r for a BAD reply. */
int imap_fetch_parse(const struct imap_arg *args, unsigned count,
    struct imap_fetch *f, const char **error_r);
void imap_fetch_free(struct imap_fetch *f);

/* SEARCH (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4, RFC 4731
 * RETURN options, RFC 7162 MODSEQ). */
enum imap_search_op {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,	/* children: all match (a parenthesised list) */
	IMAP_SEARCH_OR,		/* two children */
	IMAP_SEARCH_NOT,	/* one child */
	IMAP_SEARCH_SEQSET,	/* message sequence numbers */
	IMAP_SEARCH_UID,
	IMAP_SEARCH_FLAGS,	/* all of `flags` set */
	IMAP_SEARCH_UNFLAGS,	/* none of `flags` set */
	IMAP_SEARCH_KEYWORD, IMAP_SEARCH_UNKEYWORD,	/* value */
	IMAP_SEARCH_NEW,	/* \Recent and not \Seen */
	IMAP_SEARCH_OLD,	/* not \Recent */
	IMAP_SEARCH_BEFORE, IMAP_SEARCH_ON, IMAP_SEARCH_SINCE,	/* days */
	IMAP_SEARCH_SENTBEFORE, IMAP_SEARCH_SENTON, IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER, IMAP_SEARCH_SMALLER,	/* number */
	IMAP_SEARCH_HEADER,	/* field contains value; FROM, TO, CC, BCC,
				 * SUBJECT become HEADER */
	IMAP_SEARCH_BODY, IMAP_SEARCH_TEXT,	/* value */
	IMAP_SEARCH_MODSEQ	/* number: modseq >= number */
};

struct imap_search_key {
	enum imap_search_op op;
	struct imap_search_key *child;	/* AND, OR, NOT */
	struct imap_search_key *next;	/* sibling */
	struct imap_seqset set;
	unsigned flags;			/* IMAP_FLAG_* */
	char *field;			/* HEADER: upper-cased name */
	char *value;			/* HEADER, BODY, TEXT, KEYWORD */
	int64_t days;
	uint64_t number;
};

#define IMAP_SEARCH_RET_MIN 0x01
#define IMAP_SEARCH_RET_MAX 0x02
#define IMAP_SEARCH_RET_ALL 0x04
#define IMAP_SEARCH_RET_COUNT 0x08
#define IMAP_SEARCH_RET_SAVE 0x10

struct imap_search {
	struct imap_search_key *root;	/* an AND of the top-level keys */
	bool esearch;			/* RETURN (...) was given */
	unsigned ret;			/* IMAP_SEARCH_RET_*; none = ALL */
	bool uses_modseq;
};

enum imap_search_result {
	IMAP_SEARCH_OK = 0,
	IMAP_SEARCH_BAD = -1,		/* syntax: BAD */
	IMAP_SEARCH_BADCHARSET = -2	/* NO [BADCHARSET (US-ASCII UTF-8)] */
};

/* args/count are the arguments after SEARCH (or UID SEARCH).  Only the
 * US-ASCII and UTF-8 charsets are known.  The nesting of NOT/OR/lists
 * is bounded by the parser's depth and argument limits. */
enum imap_search_result imap_search_parse(const struct imap_arg *args,
    unsigned count, struct imap_search *s, const char **error_r);
void imap_search_free(struct imap_search *s);

#endif
