/* SEARCH and UID SEARCH (RFC 9051 section 6.4.4, RFC 3501 section
 * 6.4.4) on the selected folder, with RETURN (RFC 4731 ESEARCH) and
 * MODSEQ (RFC 7162): the key tree of imap_search_args.c evaluated
 * message by message on the worker pool.  imap_search_run() is also the
 * search program of SORT and THREAD (imap_cmd_sort.c).  Expunges by
 * others are held back while it runs (RFC 9051 section 7.5.1). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_match.h"
#include "imap/imap_private.h"
#include "imap/imap_sort.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"
#include "mime/mime.h"

/* One message while the key tree is evaluated: everything is loaded or
 * computed on first need and kept for the other keys. */
struct imap_search_msg {
	struct imap_session *s;
	uint32_t seq;
	const struct mbox_msg *m;
	struct fbuf msg;	/* the message with CRLF line ends */
	bool loaded, unreadable;
	struct fbuf hdr;	/* header fields decoded and folded */
	bool have_hdr;
	struct fbuf text;	/* text of the parts decoded and folded */
	bool have_text;
	struct imap_msgkey key;	/* SENT*: the sort record (cached) */
	bool have_key;
};

static void
imap_search_msg_free(struct imap_search_msg *c)
{
	fbuf_release(&c->msg);
	fbuf_release(&c->hdr);
	fbuf_release(&c->text);
	if (c->have_key)
		imap_msgkey_free(&c->key);
}

/* Whether the folded haystack holds value (folded here). */
static bool
imap_contains(const char *hay, size_t hlen, const char *value)
{
	struct fbuf f;
	bool hit;

	fbuf_init(&f, 0);
	imap_match_fold(value, strlen(value), &f);
	hit = f.len == 0 || (hlen >= f.len &&
	    memmem(hay, hlen, f.data, f.len) != NULL);
	fbuf_release(&f);
	return hit;
}

static const struct fbuf *
imap_search_message(struct imap_search_msg *c)
{
	if (!c->loaded) {
		c->loaded = true;
		if (c->m->flags & MBOX_F_EXPUNGED ||
		    imap_read_message(c->s->view, c->seq, &c->msg) < 0)
			c->unreadable = true;
	}
	return c->unreadable ? NULL : &c->msg;
}

static bool
imap_search_is_address(const char *name, size_t len)
{
	static const char *const names[] = {
		"From", "To", "Cc", "Bcc", "Sender", "Reply-To",
		"Resent-From", "Resent-To", "Resent-Cc", "Resent-Bcc",
		"Resent-Sender",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], name,
		    len) == 0)
			return true;
	return false;
}

/* A field's value as searched: encoded words decoded, and for address
 * fields also each address as "name <addr>" (comments and white space
 * inside the address gone), all folded, onto out. */
static void
imap_search_field_text(const struct mime_field *f, struct fbuf *out)
{
	struct fbuf d;

	fbuf_init(&d, 0);
	mime_encword_decode(f->value, f->value_len, &d);
	if (imap_search_is_address(f->name, f->name_len)) {
		struct mime_address *list = mime_address_parse(f->value,
		    f->value_len), *a;

		for (a = list; a != NULL; a = a->next) {
			if (a->kind != MIME_ADDR_MAILBOX)
				continue;
			fbuf_addc(&d, '\n');
			if (a->name != NULL) {
				mime_encword_decode(a->name, strlen(a->name),
				    &d);
				fbuf_addc(&d, ' ');
			}
			fbuf_addf(&d, "<%s>", a->addr != NULL ? a->addr : "");
		}
		mime_address_free(&list);
	}
	imap_match_fold(fbuf_str(&d), d.len, out);
	fbuf_release(&d);
}

static void
imap_search_hdr_field(void *ctx, const struct mime_field *f)
{
	struct fbuf *out = ctx;

	imap_match_fold(f->name, f->name_len, out);
	fbuf_adds(out, ": ");
	imap_search_field_text(f, out);
	fbuf_addc(out, '\n');
}

/* The top header, every field decoded (TEXT). */
static const struct fbuf *
imap_search_hdr(struct imap_search_msg *c)
{
	const struct fbuf *b;

	if (!c->have_hdr && (b = imap_search_message(c)) != NULL) {
		c->have_hdr = true;
		fbuf_init(&c->hdr, 0);
		(void)mime_header_parse(fbuf_str(b), b->len, NULL,
		    imap_search_hdr_field, &c->hdr);
	}
	return c->have_hdr ? &c->hdr : NULL;
}

/* Text parts transfer-decoded and converted to UTF-8, and the headers
 * of attached messages (BODY, TEXT). */
static void
imap_search_parts(const struct mime_part *p, const struct fbuf *msg,
    struct fbuf *out)
{
	struct fbuf t;

	for (; p != NULL; p = p->next) {
		if (p->depth > 0 && p->parent != NULL && p->parent->message &&
		    p->hdr_offset + p->hdr_size <= msg->len)
			(void)mime_header_parse(fbuf_str(msg) + p->hdr_offset,
			    (size_t)p->hdr_size, NULL, imap_search_hdr_field,
			    out);
		if (p->children != NULL) {
			imap_search_parts(p->children, msg, out);
			continue;
		}
		if (p->multipart || p->message || (p->ctype.type != NULL &&
		    strcmp(p->ctype.type, "text") != 0))
			continue;
		fbuf_init(&t, 0);
		if (mime_part_text(p, fbuf_str(msg), msg->len, &t) == 0)
			imap_match_fold(fbuf_str(&t), t.len, out);
		fbuf_release(&t);
		fbuf_addc(out, '\n');
	}
}

static const struct fbuf *
imap_search_text(struct imap_search_msg *c)
{
	const struct fbuf *b;
	struct mime_part *root;

	if (!c->have_text && (b = imap_search_message(c)) != NULL) {
		c->have_text = true;
		fbuf_init(&c->text, 0);
		if ((root = mime_parse(fbuf_str(b), b->len, NULL)) != NULL) {
			imap_search_parts(root, b, &c->text);
			mime_part_free(&root);
		}
	}
	return c->have_text ? &c->text : NULL;
}

struct imap_search_hdr_ctx {
	const char *field;
	const char *value;
	struct fbuf needle;	/* folded */
	bool hit;
};

static void
imap_search_hdr_match(void *ctx, const struct mime_field *f)
{
	struct imap_search_hdr_ctx *h = ctx;
	struct fbuf v;

	if (h->hit || strlen(h->field) != f->name_len ||
	    strncasecmp(h->field, f->name, f->name_len) != 0)
		return;
	if (imap_match_header(f->value, f->value_len, h->value)) {
		h->hit = true;
		return;
	}
	/* addresses also as "name <addr>", comments and spaces gone */
	fbuf_init(&v, 0);
	imap_search_field_text(f, &v);
	h->hit = v.len >= h->needle.len &&
	    memmem(v.data, v.len, h->needle.data, h->needle.len) != NULL;
	fbuf_release(&v);
}

/* HEADER field string: a field of that name whose value holds the
 * string, as written or decoded (imap_match.h); "" matches every
 * message with the field (RFC 3501). */
static bool
imap_search_header(struct imap_search_msg *c, const char *field,
    const char *value)
{
	const struct fbuf *b = imap_search_message(c);
	struct imap_search_hdr_ctx h = { .field = field, .value = value };

	if (b == NULL)
		return false;
	fbuf_init(&h.needle, 0);
	imap_match_fold(value, strlen(value), &h.needle);
	(void)mime_header_parse(fbuf_str(b), b->len, NULL,
	    imap_search_hdr_match, &h);
	fbuf_release(&h.needle);
	return h.hit;
}

/* The day of the Date: field in its own zone (RFC 3501: time and zone
 * disregarded), else of the internal date. */
static int64_t
imap_search_sent_day(struct imap_search_msg *c)
{
	int64_t t;

	if (!c->have_key) {
		imap_msgkey_load(c->s->view, c->seq, c->m, &c->key);
		c->have_key = true;
	}
	t = c->key.has_date ? c->key.date + (int64_t)c->key.zone * 60 :
	    (int64_t)c->m->internaldate;
	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

static bool imap_search_match(struct imap_search_msg *c,
    const struct imap_search_key *k);

static bool
imap_search_keyword(struct imap_search_msg *c, const char *kw)
{
	size_t nkw;
	const char *const *v = mbox_view_keywords(c->s->view, &nkw);

	for (size_t i = 0; i < nkw && i < 32; i++)
		if (v[i] != NULL && str_ieq(v[i], kw))
			return (c->m->keywords & (1u << i)) != 0;
	return false;
}

static uint32_t
imap_search_flags(unsigned imap_flags)
{
	return imap_flags_to_mbox(imap_flags) |
	    ((imap_flags & IMAP_FLAG_RECENT) ? MBOX_F_RECENT : 0);
}

static bool
imap_search_textual(struct imap_search_msg *c, const struct imap_search_key *k)
{
	const struct fbuf *h, *b;

	switch (k->op) {
	case IMAP_SEARCH_HEADER:
		return imap_search_header(c, k->field, k->value);
	case IMAP_SEARCH_BODY:
		return (b = imap_search_text(c)) != NULL &&
		    imap_contains(fbuf_str(b), b->len, k->value);
	case IMAP_SEARCH_TEXT:
		return ((h = imap_search_hdr(c)) != NULL &&
		    imap_contains(fbuf_str(h), h->len, k->value)) ||
		    ((b = imap_search_text(c)) != NULL &&
		    imap_contains(fbuf_str(b), b->len, k->value));
	case IMAP_SEARCH_SENTBEFORE:
		return imap_search_sent_day(c) < k->days;
	case IMAP_SEARCH_SENTON:
		return imap_search_sent_day(c) == k->days;
	case IMAP_SEARCH_SENTSINCE:
		return imap_search_sent_day(c) >= k->days;
	default:
		return false;
	}
}

static bool
imap_search_match(struct imap_search_msg *c, const struct imap_search_key *k)
{
	const struct imap_search_key *ch;
	uint32_t n = mbox_view_count(c->s->view);
	int64_t day = (int64_t)c->m->internaldate / 86400;

	if (c->m->internaldate < 0)
		day = ((int64_t)c->m->internaldate - 86399) / 86400;
	switch (k->op) {
	case IMAP_SEARCH_ALL:
		return true;
	case IMAP_SEARCH_AND:
		for (ch = k->child; ch != NULL; ch = ch->next)
			if (!imap_search_match(c, ch))
				return false;
		return true;
	case IMAP_SEARCH_OR:
		return imap_search_match(c, k->child) ||
		    imap_search_match(c, k->child->next);
	case IMAP_SEARCH_NOT:
		return !imap_search_match(c, k->child);
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		if (k->set.saved)	/* RFC 5182 "$": the saved UIDs */
			return imap_seqset_contains(&c->s->saved, c->m->uid,
			    0);
		if (k->op == IMAP_SEARCH_SEQSET)
			return imap_seqset_contains(&k->set, c->seq, n);
		return imap_seqset_contains(&k->set, c->m->uid, n > 0 ?
		    mbox_view_msg(c->s->view, n)->uid : 0);
	case IMAP_SEARCH_FLAGS:
		return (c->m->flags & imap_search_flags(k->flags)) ==
		    imap_search_flags(k->flags);
	case IMAP_SEARCH_UNFLAGS:
		return (c->m->flags & imap_search_flags(k->flags)) == 0;
	case IMAP_SEARCH_KEYWORD:
		return imap_search_keyword(c, k->value);
	case IMAP_SEARCH_UNKEYWORD:
		return !imap_search_keyword(c, k->value);
	case IMAP_SEARCH_NEW:
		return (c->m->flags & (MBOX_F_RECENT | MBOX_F_SEEN)) ==
		    MBOX_F_RECENT;
	case IMAP_SEARCH_OLD:
		return !(c->m->flags & MBOX_F_RECENT);
	case IMAP_SEARCH_BEFORE:
		return day < k->days;
	case IMAP_SEARCH_ON:
		return day == k->days;
	case IMAP_SEARCH_SINCE:
		return day >= k->days;
	case IMAP_SEARCH_LARGER:
		return c->m->size > k->number;
	case IMAP_SEARCH_SMALLER:
		return c->m->size < k->number;
	case IMAP_SEARCH_MODSEQ:
		return c->m->modseq >= k->number;
	default:
		return imap_search_textual(c, k);
	}
}

/* "* ESEARCH (TAG "t") [UID] MIN MAX COUNT ALL" (RFC 4731). */
/* ms[i]: the MODSEQ of hit v[i]; highest: the highest of them all. */
static void
imap_esearch_out(struct imap_job *job, const struct imap_search *q,
    const uint32_t *v, const uint64_t *ms, size_t n, uint64_t highest)
{
	unsigned ret = q->ret != 0 ? q->ret : IMAP_SEARCH_RET_ALL;
	struct fbuf *b = &job->out;
	uint64_t modseq = highest;

	/* RFC 7162 3.1.5: with only MIN and/or MAX, the highest MODSEQ of
	 * the messages returned, not of every match */
	if (n > 0 && !(ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))) {
		modseq = 0;
		if ((ret & IMAP_SEARCH_RET_MIN) && ms[0] > modseq)
			modseq = ms[0];
		if ((ret & IMAP_SEARCH_RET_MAX) && ms[n - 1] > modseq)
			modseq = ms[n - 1];
	}

	imap_fmt_esearch_head(b, job->tag, job->uid, ret, v, n);
	if ((ret & IMAP_SEARCH_RET_ALL) && n > 0) {
		fbuf_adds(b, " ALL ");
		imap_fmt_uidset(b, v, n);
	}
	if (q->uses_modseq && n > 0)
		fbuf_addf(b, " MODSEQ %llu", (unsigned long long)modseq);
	fbuf_adds(b, "\r\n");
}

/* A key that compares INTERNALDATE (the SENT* keys fall back to it). */
static bool
imap_search_needs_dates(const struct imap_search_key *k)
{
	for (; k != NULL; k = k->next) {
		switch (k->op) {
		case IMAP_SEARCH_BEFORE:
		case IMAP_SEARCH_ON:
		case IMAP_SEARCH_SINCE:
		case IMAP_SEARCH_SENTBEFORE:
		case IMAP_SEARCH_SENTON:
		case IMAP_SEARCH_SENTSINCE:
			return true;
		default:
			break;
		}
		if (imap_search_needs_dates(k->child))
			return true;
	}
	return false;
}

void
imap_search_run(struct imap_session *s, const struct imap_search *q,
    uint32_t **seqs_r, size_t *n_r, uint64_t *modseq_r)
{
	uint32_t n = mbox_view_count(s->view), *hits;
	size_t nhits = 0;
	uint64_t modseq = 0;

	if (imap_search_needs_dates(q->root))
		mbox_view_dates(s->view, NULL, 0);
	hits = xcalloc(n + 1, sizeof(*hits));
	for (uint32_t seq = 1; seq <= n; seq++) {
		struct imap_search_msg c = { .s = s, .seq = seq,
		    .m = mbox_view_msg(s->view, seq) };

		fbuf_init(&c.msg, 0);
		if (!(c.m->flags & MBOX_F_EXPUNGED) &&
		    imap_search_match(&c, q->root)) {
			hits[nhits++] = seq;
			if (c.m->modseq > modseq)
				modseq = c.m->modseq;
		}
		imap_search_msg_free(&c);
	}
	*seqs_r = hits;
	*n_r = nhits;
	*modseq_r = modseq;
}

/* RETURN (SAVE) (RFC 5182 2.1, 2.4): the hits (sequence numbers,
 * ascending) become s->saved as UID ranges; with MIN and/or MAX but
 * neither ALL nor COUNT only those messages are saved. */
static void
imap_search_save(struct imap_session *s, unsigned ret, const uint32_t *seqs,
    size_t n)
{
	bool ends = (ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) &&
	    !(ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT));
	struct imap_seqset set = { 0 };
	unsigned cap = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t uid;

		if (ends && !(i == 0 && (ret & IMAP_SEARCH_RET_MIN)) &&
		    !(i == n - 1 && (ret & IMAP_SEARCH_RET_MAX)))
			continue;
		uid = mbox_view_msg(s->view, seqs[i])->uid;
		/* UIDs ascend with sequence numbers: extend the last range */
		if (set.count > 0 && set.ranges[set.count - 1].hi + 1u == uid) {
			set.ranges[set.count - 1].hi = uid;
			continue;
		}
		if (set.count == cap) {
			cap = cap ? cap * 2 : 8;
			set.ranges = xreallocarray(set.ranges, cap,
			    sizeof(*set.ranges));
		}
		set.ranges[set.count].lo = set.ranges[set.count].hi = uid;
		set.count++;
	}
	imap_seqset_free(&s->saved);
	s->saved = set;
}

/* SEARCH's job data. */
struct imap_search_job {
	struct imap_search q;
	bool condstore_on;	/* this command turned CONDSTORE on */
};

static void
imap_search_release(struct imap_job *job)
{
	struct imap_search_job *j = job->data;

	imap_search_free(&j->q);
	free(j);
}

static void
imap_search_work(struct imap_job *job)
{
	struct imap_search_job *j = job->data;
	struct imap_search *q = &j->q;
	struct imap_session *s = job->s;
	uint32_t *hits;
	uint64_t *hit_ms;
	size_t nhits;
	uint64_t modseq;

	if (imap_sync_updates(s, &job->out, true) < 0) {
		job->done = imap_msg_broken_done;
		return;
	}
	/* RFC 7162 3.1.2.1: the command that turned CONDSTORE on */
	if (j->condstore_on)
		fbuf_addf(&job->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)mbox_view_highestmodseq(s->view));
	imap_search_run(s, q, &hits, &nhits, &modseq);
	/* after the run: "$" in this search is the previous result */
	if (q->ret & IMAP_SEARCH_RET_SAVE)
		imap_search_save(s, q->ret, hits, nhits);
	hit_ms = xcalloc(nhits + 1, sizeof(*hit_ms));
	for (size_t i = 0; i < nhits; i++) {
		const struct mbox_msg *m = mbox_view_msg(s->view, hits[i]);

		hit_ms[i] = m->modseq;
		if (job->uid)
			hits[i] = m->uid;
	}
	if (q->ret == IMAP_SEARCH_RET_SAVE)
		;	/* RFC 5182 2.1: SAVE alone answers no ESEARCH */
	else if (q->esearch)
		imap_esearch_out(job, q, hits, hit_ms, nhits, modseq);
	else {
		fbuf_adds(&job->out, "* SEARCH");
		for (size_t i = 0; i < nhits; i++)
			fbuf_addf(&job->out, " %u", hits[i]);
		/* RFC 7162 3.1.5: the highest mod-sequence of the hits */
		if (q->uses_modseq && nhits > 0)
			fbuf_addf(&job->out, " (MODSEQ %llu)",
			    (unsigned long long)modseq);
		fbuf_adds(&job->out, "\r\n");
	}
	free(hits);
	free(hit_ms);
	fbuf_addf(&job->out, "%s OK %sSEARCH completed\r\n", job->tag,
	    job->uid ? "UID " : "");
}

void
imap_cmd_search(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_search_job *j = xcalloc(1, sizeof(*j));
	struct imap_search *q = &j->q;
	const char *error = "Invalid SEARCH";
	enum imap_search_result r;
	struct imap_job *job;

	r = imap_search_parse(args, count, q, &error);
	if (r == IMAP_SEARCH_BADCHARSET) {
		/* RFC 5182 2.1: a SAVE search that fails with NO empties $ */
		if (q->ret & IMAP_SEARCH_RET_SAVE)
			imap_seqset_free(&s->saved);
		imap_reply(s, "%s NO %s", tag, error);
		free(j);
		return;
	}
	if (r != IMAP_SEARCH_OK) {
		imap_bad(s, tag, error);
		imap_search_free(q);
		free(j);
		return;
	}
	/* RFC 7162 3.1: using MODSEQ turns CONDSTORE on */
	if (q->uses_modseq) {
		j->condstore_on = !s->condstore;
		s->condstore = true;
	}
	/* RFC 9051 6.4.4: IMAP4rev2 answers SEARCH with ESEARCH */
	if (s->rev2)
		q->esearch = true;
	job = imap_job_new(s, tag, imap_search_work);
	job->data = j;
	job->release = imap_search_release;
	job->uid = uid;
	imap_job_submit(job);
}

int
imap_search_program(struct imap_session *s, const char *tag,
    const char *cmd, const struct imap_arg *args, unsigned count,
    struct imap_search *q)
{
	const char *charset, *error = "Invalid search program";
	enum imap_search_result r;

	memset(q, 0, sizeof(*q));
	if (count == 0 || !imap_arg_astring(&args[0], &charset)) {
		imap_reply(s, "%s BAD %s needs a charset and search keys",
		    tag, cmd);
		imap_session_error(s);
		return -1;
	}
	if (!str_ieq(charset, "UTF-8") && !str_ieq(charset, "US-ASCII")) {
		imap_reply(s, "%s NO [BADCHARSET (US-ASCII UTF-8)] Unknown "
		    "charset", tag);
		return -1;
	}
	if (count < 2 || imap_arg_atom_is(&args[1], "RETURN") ||
	    imap_arg_atom_is(&args[1], "CHARSET"))
		r = IMAP_SEARCH_BAD;
	else
		r = imap_search_parse(args + 1, count - 1, q, &error);
	if (r != IMAP_SEARCH_OK) {
		imap_reply(s, "%s BAD %s", tag, error);
		imap_session_error(s);
		imap_search_free(q);
		return -1;
	}
	if (q->uses_modseq)
		s->condstore = true;
	return 0;
}
