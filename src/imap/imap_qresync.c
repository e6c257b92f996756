/* What QRESYNC (RFC 7162 section 3.2) reports: VANISHED (EARLIER) and
 * the FETCH of changed messages after a SELECT/EXAMINE with the QRESYNC
 * parameter, VANISHED (EARLIER) for UID FETCH (CHANGEDSINCE n VANISHED),
 * and the VANISHED response that replaces EXPUNGE once QRESYNC is on.
 * Expunged UIDs come from the index's vanished rows (every expunge
 * counts: this session's, other sessions', POP3's, files removed by
 * hand, each with the MODSEQ of the sync that saw it).  When the index
 * was rebuilt after the client's MODSEQ those rows are incomplete, and
 * every UID in the client's range that is no longer in the folder is
 * reported instead, as RFC 7162 section 3.2.5 allows, narrowed by the
 * client's sequence-match data.  Worker thread only. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_private.h"
#include "imap/imap_qresync.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

/* Expanded sequence-match data beyond this many pairs is ignored (it
 * is only a hint); a real client's is as long as its message list. */
#define IMAP_QRESYNC_MATCH_MAX (1u << 20)

void
imap_fmt_vanished(struct fbuf *b, const uint32_t *uids, size_t n,
    bool earlier)
{
	if (n == 0)
		return;
	fbuf_adds(b, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	imap_fmt_uidset(b, uids, n);
	fbuf_adds(b, "\r\n");
}

/* A UID the client may still believe in: in the view and not an
 * expunge held back for sequence numbers' sake. */
static bool
imap_qresync_present(struct mbox_view *view, uint32_t uid)
{
	uint32_t seq = mbox_view_seq(view, uid);

	return seq != 0 && !(mbox_view_msg(view, seq)->flags &
	    MBOX_F_EXPUNGED);
}

static int
imap_range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The set's ranges (or 1:max when set is NULL) ordered, low:high,
 * clamped to [min, max] and merged.  *n_r may be 0. */
static struct imap_range *
imap_qresync_ranges(const struct imap_seqset *set, uint32_t min, uint32_t max,
    size_t *n_r)
{
	size_t n = set != NULL ? set->count : 1, k = 0;
	struct imap_range *r = xcalloc(n + 1, sizeof(*r));

	for (size_t i = 0; i < n; i++) {
		uint32_t lo = set != NULL ? set->ranges[i].lo : 1;
		uint32_t hi = set != NULL ? set->ranges[i].hi : max;

		if (lo == IMAP_SEQ_STAR)
			lo = max;
		if (hi == IMAP_SEQ_STAR)
			hi = max;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (lo < min)
			lo = min;
		if (hi > max)
			hi = max;
		if (lo <= hi && max != 0)
			r[k++] = (struct imap_range){ lo, hi };
	}
	qsort(r, k, sizeof(*r), imap_range_cmp);
	n = 0;
	for (size_t i = 0; i < k; i++) {
		if (n > 0 && r[i].lo <= r[n - 1].hi + 1ull) {
			if (r[i].hi > r[n - 1].hi)
				r[n - 1].hi = r[i].hi;
		} else
			r[n++] = r[i];
	}
	*n_r = n;
	return r;
}

/* Every UID in the ranges that is not in the view, as ranges written
 * to b ("a:b,c"); returns whether any was written. */
static bool
imap_qresync_gaps(struct mbox_view *view, const struct imap_range *r,
    size_t nr, struct fbuf *b)
{
	uint32_t count = mbox_view_count(view), seq = 1;
	bool any = false;

	for (size_t i = 0; i < nr; i++) {
		uint64_t next = r[i].lo;	/* first UID not yet covered */

		while (seq <= count && mbox_view_msg(view, seq)->uid < next)
			seq++;
		for (; next <= r[i].hi; seq++) {
			const struct mbox_msg *m = seq <= count ?
			    mbox_view_msg(view, seq) : NULL;
			uint64_t end = m != NULL && m->uid <= r[i].hi ?
			    m->uid : r[i].hi + 1ull;

			if (m != NULL && m->flags & MBOX_F_EXPUNGED &&
			    m->uid <= r[i].hi)
				continue;	/* gone: part of the gap */
			if (end > next) {
				fbuf_addf(b, "%s%llu", any ? "," : "",
				    (unsigned long long)next);
				if (end - 1 > next)
					fbuf_addf(b, ":%llu",
					    (unsigned long long)(end - 1));
				any = true;
			}
			next = end + 1;
			if (m == NULL || m->uid > r[i].hi)
				break;
		}
	}
	return any;
}

/* VANISHED (EARLIER) for the UIDs in set (NULL: all) above `above`
 * that were expunged after modseq since.  -1 on index trouble. */
static int
imap_qresync_vanished(struct mbox_view *view, uint64_t since,
    const struct imap_seqset *set, uint32_t above, struct fbuf *b)
{
	uint32_t uidnext = mbox_view_uidnext(view), *uids, *keep;
	uint32_t star = uidnext > 0 ? uidnext - 1 : 0;
	struct imap_range *r;
	struct mbox_error err;
	size_t n, nr, k = 0;
	bool complete;

	if (mbox_view_vanished(view, since, &uids, &n, &complete, &err) < 0)
		return -1;
	if (!complete) {
		/* history lost: whatever the client may know of and we no
		 * longer have */
		struct fbuf tmp;

		free(uids);
		if (above == UINT32_MAX || above >= star)
			return 0;
		r = imap_qresync_ranges(set, above + 1, star, &nr);
		fbuf_init(&tmp, 0);
		if (imap_qresync_gaps(view, r, nr, &tmp))
			fbuf_addf(b, "* VANISHED (EARLIER) %s\r\n",
			    fbuf_str(&tmp));
		fbuf_release(&tmp);
		free(r);
		return 0;
	}
	keep = xcalloc(n + 1, sizeof(*keep));
	for (size_t i = 0; i < n; i++)
		if (uids[i] > above && (set == NULL ||
		    imap_seqset_contains(set, uids[i], star)) &&
		    !imap_qresync_present(view, uids[i]))
			keep[k++] = uids[i];
	imap_fmt_vanished(b, keep, k, true);
	free(keep);
	free(uids);
	return 0;
}

/* The numbers of a set without '*' in the order given. */
static uint32_t *
imap_qresync_expand(const struct imap_seqset *set, uint64_t count)
{
	uint32_t *v = xcalloc(count + 1, sizeof(*v));
	size_t k = 0;

	for (unsigned i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;
		int step = lo <= hi ? 1 : -1;

		for (uint32_t x = lo;; x += (uint32_t)step) {
			v[k++] = x;
			if (x == hi)
				break;
		}
	}
	return v;
}

/* RFC 7162 3.2.5.2: the highest UID whose sequence number the client
 * and the view agree on.  Every message at or below it is known to both
 * (UIDs only grow), so none of them vanished.  0 when none matches. */
static uint32_t
imap_qresync_matched(struct mbox_view *view, const struct imap_qresync *q)
{
	uint32_t *seqs, *uids, best = 0, count = mbox_view_count(view);

	if (!q->has_match || q->match_count > IMAP_QRESYNC_MATCH_MAX)
		return 0;
	seqs = imap_qresync_expand(&q->match_seqs, q->match_count);
	uids = imap_qresync_expand(&q->match_uids, q->match_count);
	for (uint64_t i = 0; i < q->match_count; i++) {
		if (seqs[i] == 0 || seqs[i] > count ||
		    mbox_view_msg(view, seqs[i])->uid != uids[i])
			break;	/* pairs past a mismatch prove nothing */
		if (uids[i] > best)
			best = uids[i];
	}
	free(seqs);
	free(uids);
	return best;
}

void
imap_qresync_select(struct mbox_view *view, const struct imap_qresync *q,
    bool recent, struct fbuf *b)
{
	uint32_t n = mbox_view_count(view);

	/* another UIDVALIDITY: the client's data is worthless, it gets
	 * the plain SELECT answer and starts over (RFC 7162 3.2.5) */
	if (q->uidvalidity != mbox_view_uidvalidity(view) ||
	    q->modseq >= mbox_view_highestmodseq(view))
		return;
	for (uint32_t seq = 1; seq <= n; seq++) {
		const struct mbox_msg *m = mbox_view_msg(view, seq);

		if (m->modseq <= q->modseq)
			continue;
		fbuf_addf(b, "* %u FETCH (UID %u FLAGS ", seq, m->uid);
		imap_fmt_flags(b, view, m, recent);
		fbuf_addf(b, " MODSEQ (%llu))\r\n",
		    (unsigned long long)m->modseq);
	}
	(void)imap_qresync_vanished(view, q->modseq, q->has_known_uids ?
	    &q->known_uids : NULL, imap_qresync_matched(view, q), b);
}

int
imap_qresync_fetch_vanished(struct mbox_view *view,
    const struct imap_seqset *set, uint64_t since, struct fbuf *b)
{
	return imap_qresync_vanished(view, since, set, 0, b);
}
