/* SELECT/EXAMINE parameters (RFC 4466 select-params) as far as Ferry
 * knows them: CONDSTORE (RFC 7162 section 3.1.8) and QRESYNC (RFC 7162
 * section 3.2.5) with its uidvalidity, modseq, known UIDs and
 * sequence-match data.  Pure argument checking: whether QRESYNC was
 * enabled, and what the server reports, is the session's business. */
#include <string.h>

#include "imap/imap_qresync.h"

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;

		n += (lo <= hi ? hi - lo : lo - hi) + 1ull;
	}
	return n;
}

/* A sequence set atom without '*' and '$' into set. */
static bool
imap_qresync_set(const struct imap_arg *a, struct imap_seqset *set)
{
	if (a->type != IMAP_ARG_ATOM || imap_seqset_parse(a->str, set) < 0)
		return false;
	if (set->saved)
		return false;	/* "$": no ranges to free */
	for (unsigned i = 0; i < set->count; i++) {
		if (set->ranges[i].lo == IMAP_SEQ_STAR ||
		    set->ranges[i].hi == IMAP_SEQ_STAR) {
			imap_seqset_free(set);
			return false;
		}
	}
	return true;
}

/* "(known-sequence-set known-uid-set)" */
static bool
imap_qresync_match(const struct imap_arg *a, struct imap_qresync *q)
{
	if (a->type != IMAP_ARG_LIST || a->count != 2 ||
	    !imap_qresync_set(&a->list[0], &q->match_seqs))
		return false;
	if (!imap_qresync_set(&a->list[1], &q->match_uids)) {
		imap_seqset_free(&q->match_seqs);
		return false;
	}
	q->has_match = true;
	q->match_count = imap_seqset_count(&q->match_seqs);
	return q->match_count == imap_seqset_count(&q->match_uids);
}

/* The list after the QRESYNC atom. */
static int
imap_qresync_parse(const struct imap_arg *a, struct imap_qresync *q,
    const char **error_r)
{
	uint64_t v;

	memset(q, 0, sizeof(*q));
	if (a->type != IMAP_ARG_LIST || a->count < 2 || a->count > 4) {
		*error_r = "QRESYNC needs (uidvalidity modseq [known-uids "
		    "[seq-match-data]])";
		return -1;
	}
	if (!imap_arg_number(&a->list[0], 1, UINT32_MAX, &v)) {
		*error_r = "Invalid QRESYNC UIDVALIDITY";
		return -1;
	}
	q->uidvalidity = (uint32_t)v;
	if (!imap_arg_number(&a->list[1], 1, INT64_MAX, &q->modseq)) {
		*error_r = "Invalid QRESYNC mod-sequence";
		return -1;
	}
	if (a->count >= 3) {
		/* positional: seq-match-data needs known-uids before it */
		if (!imap_qresync_set(&a->list[2], &q->known_uids)) {
			*error_r = "Invalid QRESYNC known UIDs";
			return -1;
		}
		q->has_known_uids = true;
	}
	if (a->count == 4 && !imap_qresync_match(&a->list[3], q)) {
		imap_qresync_free(q);
		*error_r = "Invalid QRESYNC sequence match data";
		return -1;
	}
	return 0;
}

int
imap_select_params_parse(const struct imap_arg *list, bool *condstore_r,
    bool *qresync_r, struct imap_qresync *q, const char **error_r)
{
	*condstore_r = *qresync_r = false;
	if (list->type != IMAP_ARG_LIST || list->count == 0) {
		*error_r = "SELECT parameters must be a list";
		return -1;
	}
	for (unsigned i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (imap_arg_atom_is(a, "CONDSTORE") && !*condstore_r) {
			*condstore_r = true;
			continue;
		}
		if (imap_arg_atom_is(a, "QRESYNC") && !*qresync_r &&
		    i + 1 < list->count) {
			if (imap_qresync_parse(&list->list[++i], q,
			    error_r) < 0)
				goto fail;
			*qresync_r = true;
			continue;
		}
		*error_r = "Unknown or repeated SELECT parameter";
		goto fail;
	}
	if (*qresync_r)
		*condstore_r = true;	/* RFC 7162 3.2.5 */
	return 0;
fail:
	if (*qresync_r)
		imap_qresync_free(q);
	*condstore_r = *qresync_r = false;
	return -1;
}

void
imap_qresync_free(struct imap_qresync *q)
{
	imap_seqset_free(&q->known_uids);
	imap_seqset_free(&q->match_seqs);
	imap_seqset_free(&q->match_uids);
	memset(q, 0, sizeof(*q));
}
