/* Argument parsers of LIST/LSUB (RFC 9051 6.3.9, RFC 5258 LIST-EXTENDED
 * selection and return options, RFC 5819 STATUS return option), ID (RFC
 * 2971) and GETQUOTA/GETQUOTAROOT/SETQUOTA (RFC 9208).  They take the
 * argument tree of imap_parser.h, do no I/O and keep no session state,
 * so the fuzz targets run them as the server does.  What they return is
 * owned by the caller's structure (freed by its _free) or points into
 * the arguments (lives as long as the command). */
#ifndef FERRY_IMAP_CMD_ARGS_H
#define FERRY_IMAP_CMD_ARGS_H
#include <stdbool.h>

#include "imap/imap_parser.h"

#define IMAP_LIST_PATTERNS_MAX 32

/* selection options */
#define IMAP_LSEL_SUBSCRIBED 0x01
#define IMAP_LSEL_REMOTE 0x02
#define IMAP_LSEL_RECURSIVE 0x04
#define IMAP_LSEL_SPECIAL 0x08
/* return options */
#define IMAP_LRET_SUBSCRIBED 0x01
#define IMAP_LRET_CHILDREN 0x02
#define IMAP_LRET_SPECIAL 0x04
#define IMAP_LRET_STATUS 0x08

struct imap_list_args {
	bool lsub;
	bool extended;		/* RFC 5258 syntax was used */
	unsigned sel, ret;	/* IMAP_LSEL_*, IMAP_LRET_* */
	unsigned status_items;	/* IMAP_STATUS_* (imap_private.h) */
	char *patterns[IMAP_LIST_PATTERNS_MAX];	/* UTF-8, with reference */
	unsigned npatterns;
};

/* LIST [(select-opts)] reference patterns [RETURN (return-opts)], or
 * LSUB reference pattern, into l (zeroed first).  utf8: names are UTF-8
 * on the wire (else modified UTF-7).  *delim_r: the LIST "" "" form (the
 * separator only; no patterns).  A pattern that does not decode matches
 * nothing and is left out.  0, or -1 with *error_r (BAD); free l with
 * imap_list_args_free either way. */
int imap_list_args_parse(const struct imap_arg *args, unsigned count,
    bool lsub, bool utf8, struct imap_list_args *l, bool *delim_r,
    const char **error_r);
void imap_list_args_free(struct imap_list_args *l);

#define IMAP_ID_PAIRS_MAX 30	/* RFC 2971 section 3.3 */

/* ID's one argument: NIL, or a list of at most 30 field-value pairs, the
 * fields strings and the values strings or NIL.  0 with the number of
 * pairs in *npairs_r (args[0].list[2i] and [2i+1]), or -1 with
 * *error_r. */
int imap_id_args_check(const struct imap_arg *args, unsigned count,
    unsigned *npairs_r, const char **error_r);

/* GETQUOTA's quota root (an astring, "" for Ferry's one root). */
int imap_getquota_args(const struct imap_arg *args, unsigned count,
    const char **root_r, const char **error_r);
/* SETQUOTA root (resource limit ...): a root and a list of pairs of an
 * atom and a number (RFC 9208 section 4.1.3; the list may be empty).
 * 0, or -1 with *error_r. */
int imap_setquota_args(const struct imap_arg *args, unsigned count,
    const char **root_r, const char **error_r);

#endif
