/* Commands on the selected folder (RFC 9051 section 6.4, RFC 3501
 * section 6.4): CHECK, NOOP, CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID
 * EXPUNGE (RFC 4315), FETCH, STORE, COPY and MOVE (RFC 6851)
 * with COPYUID, and IDLE (RFC 2177).  Each runs its mailbox work as a
 * job on the role's pool; the view is used by that job only, as the
 * session reads nothing meanwhile.  Changes made by others (delivery,
 * POP3, other sessions, files moved by hand) are reported from the
 * view's sync: EXPUNGE, EXISTS, RECENT and FETCH FLAGS, with expunges
 * held back during FETCH, STORE and SEARCH (RFC 9051 section 7.5.1).
 * FETCH serves FLAGS, UID, INTERNALDATE, RFC822.SIZE, MODSEQ, the
 * sections (BODY[], HEADER, HEADER.FIELDS[.NOT], TEXT, MIME, part
 * numbers, RFC822*, partial) and, through imap_fetch_mime.c, ENVELOPE,
 * BODY and BODYSTRUCTURE, and through imap_fetch_binary.c BINARY and
 * BINARY.SIZE.  With QRESYNC on, expunges are VANISHED responses and
 * UID FETCH takes the VANISHED modifier (imap_qresync.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/imap_mime_blob.h"
#include "imap/imap_private.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

#define IMAP_MSG_MAX (256u * 1024 * 1024)	/* a message file we read */
#define IMAP_FETCH_PART (128u * 1024)	/* FETCH output sent at a time */
/* the first part: the client starts reading sooner */
#define IMAP_FETCH_FIRST_PART (16u * 1024)

struct imap_msg_job {
	struct imap_seqset set;
	unsigned parts;		/* of a FETCH's answer sent so far */
	struct imap_fetch fetch;
	struct imap_store store;
	char dest[MBOX_NAME_MAX * 4 + 1];
	bool move;
	bool expunge_uids;
	bool close;		/* CLOSE: expunge silently */
	bool idle;		/* an IDLE wake-up, no tagged reply */
	bool unknown_cte;	/* FETCH BINARY met an unknown encoding */
	bool condstore_on;	/* this command turned CONDSTORE on */
	const char *verb;
	/* FETCH between its parts (imap_fetch_work) */
	bool started;
	uint32_t *seqs;
	size_t nseqs, next;
	struct mbox_store_result seen;
};

static void
imap_msg_release(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;

	imap_seqset_free(&m->set);
	free(m->seqs);
	mbox_store_result_free(&m->seen);
	imap_fetch_free(&m->fetch);
	imap_store_free(&m->store);
	free(m);
}

static struct imap_job *
imap_msg_new_job(struct imap_session *s, const char *tag, imap_job_fn *work,
    bool uid)
{
	struct imap_job *job = imap_job_new(s, tag, work);

	job->data = xcalloc(1, sizeof(struct imap_msg_job));
	job->release = imap_msg_release;
	job->uid = uid;
	return job;
}

/* A command that uses CONDSTORE turns it on (RFC 7162 3.1); the first
 * one in the selected folder reports HIGHESTMODSEQ (3.1.2.1). */
static void
imap_condstore_use(struct imap_session *s, struct imap_job *job)
{
	if (!s->condstore)
		((struct imap_msg_job *)job->data)->condstore_on = true;
	s->condstore = true;
}

/* Worker, after the sync: "* OK [HIGHESTMODSEQ n]" for the command
 * that turned CONDSTORE on. */
static void
imap_condstore_announce(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;

	if (m->condstore_on)
		fbuf_addf(&job->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)mbox_view_highestmodseq(job->s->view));
}

/* Drops a job that was never submitted. */
static void
imap_msg_drop(struct imap_job *job)
{
	imap_msg_release(job);
	fbuf_release(&job->out);
	free(job);
}

void
imap_fmt_flags(struct fbuf *b, struct mbox_view *view,
    const struct mbox_msg *m, bool recent)
{
#define F(bit, name) { bit, name, sizeof(name) - 1 }
	static const struct {
		uint32_t bit;
		const char *name;
		size_t len;
	} sys[] = {
		F(MBOX_F_SEEN, "\\Seen"), F(MBOX_F_ANSWERED, "\\Answered"),
		F(MBOX_F_FLAGGED, "\\Flagged"), F(MBOX_F_DELETED, "\\Deleted"),
		F(MBOX_F_DRAFT, "\\Draft"), F(MBOX_F_RECENT, "\\Recent"),
	};
#undef F
	size_t nkw;
	const char *const *kw;
	bool first = true;

	/* Once per message of a FETCH 1:* (FLAGS): no formatting calls. */
	fbuf_addc(b, '(');
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if (m->flags & sys[i].bit && (recent ||
		    sys[i].bit != MBOX_F_RECENT)) {
			if (!first)
				fbuf_addc(b, ' ');
			fbuf_add(b, sys[i].name, sys[i].len);
			first = false;
		}
	}
	if (m->keywords != 0) {
		kw = mbox_view_keywords(view, &nkw);
		for (size_t i = 0; i < nkw && i < 32; i++) {
			if ((m->keywords & (1u << i)) && kw[i] != NULL) {
				if (!first)
					fbuf_addc(b, ' ');
				fbuf_adds(b, kw[i]);
				first = false;
			}
		}
	}
	fbuf_addc(b, ')');
}

static void
imap_fmt_keyword_lines(struct fbuf *b, struct mbox_view *view,
    bool readonly)
{
	size_t nkw;
	const char *const *kw = mbox_view_keywords(view, &nkw);

	fbuf_adds(b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < nkw; i++)
		if (kw[i] != NULL)
			fbuf_addf(b, " %s", kw[i]);
	fbuf_adds(b, ")\r\n");
	if (readonly)
		return;
	fbuf_adds(b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
	    "\\Seen \\Draft");
	for (size_t i = 0; i < nkw; i++)
		if (kw[i] != NULL)
			fbuf_addf(b, " %s", kw[i]);
	fbuf_addf(b, "%s)] Flags permitted\r\n", nkw < MBOX_KEYWORDS_MAX ?
	    " \\*" : "");
}

/* QRESYNC (RFC 7162 3.2.10): "* VANISHED uids" instead of EXPUNGEs. */
static void
imap_fmt_changes_vanished(struct fbuf *b, const struct mbox_changes *ch)
{
	uint32_t *uids = xcalloc(ch->nexpunged + 1, sizeof(*uids));

	/* expunged[] comes in descending seq order, so descending UIDs */
	for (size_t i = 0; i < ch->nexpunged; i++)
		uids[i] = ch->expunged[ch->nexpunged - 1 - i].uid;
	imap_fmt_vanished(b, uids, ch->nexpunged, false);
	free(uids);
}

/* The untagged responses for what a sync or expunge found. */
static void
imap_fmt_changes(struct imap_session *s, struct fbuf *b,
    const struct mbox_changes *ch)
{
	uint32_t recent = 0, n = mbox_view_count(s->view);

	if (s->qresync)
		imap_fmt_changes_vanished(b, ch);
	for (size_t i = 0; i < ch->nexpunged && !s->qresync; i++)
		fbuf_addf(b, "* %u EXPUNGE\r\n", ch->expunged[i].seq);
	if (ch->keywords_changed)
		imap_fmt_keyword_lines(b, s->view, s->readonly);
	if (ch->new_count != ch->old_count || ch->nexpunged > 0) {
		for (uint32_t seq = 1; seq <= n; seq++)
			if (mbox_view_msg(s->view, seq)->flags & MBOX_F_RECENT)
				recent++;
		if (ch->new_count > ch->old_count)
			fbuf_addf(b, "* %u EXISTS\r\n", ch->new_count);
		/* RFC 9051 has no \\Recent and no RECENT response */
		if (ch->new_count > ch->old_count && !s->rev2)
			fbuf_addf(b, "* %u RECENT\r\n", recent);
	}
	for (size_t i = 0; i < ch->nchanged; i++) {
		const struct mbox_msg *m = mbox_view_msg(s->view,
		    ch->changed[i]);

		if (m == NULL)
			continue;
		fbuf_addf(b, "* %u FETCH (UID %u FLAGS ", ch->changed[i],
		    m->uid);
		imap_fmt_flags(b, s->view, m, !s->rev2);
		if (s->condstore)
			fbuf_addf(b, " MODSEQ (%llu)",
			    (unsigned long long)m->modseq);
		fbuf_adds(b, ")\r\n");
	}
}

int
imap_sync_updates(struct imap_session *s, struct fbuf *b, bool keep)
{
	/* QUICK: two stats when nothing changed on disk; a change by
	 * anyone moves a directory's or the UID list's time. */
	return imap_sync_view(s, b, MBOX_SYNC_QUICK |
	    (keep ? MBOX_SYNC_KEEP_EXPUNGED : 0));
}

int
imap_sync_view(struct imap_session *s, struct fbuf *b, unsigned flags)
{
	struct mbox_changes ch;
	struct mbox_error err;

	memset(&ch, 0, sizeof(ch));
	if (mbox_view_sync(s->view, flags, &ch, &err) < 0) {
		fbuf_addf(b, "* BYE [UNAVAILABLE] %s\r\n", err.text != NULL ?
		    err.text : "Mailbox unavailable");
		return -1;
	}
	if (ch.uidvalidity_changed) {
		mbox_changes_free(&ch);
		fbuf_adds(b, "* BYE [UNAVAILABLE] Mailbox UIDs were reset, "
		    "select it again\r\n");
		return -1;
	}
	imap_fmt_changes(s, b, &ch);
	mbox_changes_free(&ch);
	return 0;
}

void
imap_msg_broken_done(struct imap_job *job)
{
	job->s->state = IMAP_STATE_LOGOUT;
}

/* Worker: NOOP/CHECK/IDLE wake-up. */
static void
imap_sync_work(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;

	if (imap_sync_updates(job->s, &job->out, false) < 0) {
		job->done = imap_msg_broken_done;
		return;
	}
	if (!m->idle)
		fbuf_addf(&job->out, "%s OK %s completed\r\n", job->tag,
		    m->verb);
}

static void
imap_sync_cmd(struct imap_session *s, const char *tag, unsigned count,
    const char *verb)
{
	struct imap_job *job;

	if (count != 0) {
		imap_reply(s, "%s BAD %s takes no arguments", tag, verb);
		imap_session_error(s);
		return;
	}
	if (s->state != IMAP_STATE_SELECTED) {
		imap_reply(s, "%s OK %s completed", tag, verb);
		return;
	}
	job = imap_msg_new_job(s, tag, imap_sync_work, false);
	((struct imap_msg_job *)job->data)->verb = verb;
	imap_job_submit(job);
}

void
imap_cmd_noop(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_sync_cmd(s, tag, count, "NOOP");
}

void
imap_cmd_check(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_sync_cmd(s, tag, count, "CHECK");
}

void
imap_folder_changed(void *ctx)
{
	struct imap_session *s = ctx;
	struct imap_job *job;

	if (s->input != IMAP_INPUT_IDLE || s->state != IMAP_STATE_SELECTED ||
	    s->dead)
		return;		/* the next command reports it */
	if (s->busy) {
		s->idle_pending = true;
		return;
	}
	job = imap_msg_new_job(s, s->tag, imap_sync_work, false);
	((struct imap_msg_job *)job->data)->idle = true;
	imap_job_submit(job);
}

void
imap_cmd_idle(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	if (count != 0) {
		imap_bad(s, tag, "IDLE takes no arguments");
		return;
	}
	str_lcpy(s->tag, tag, sizeof(s->tag));
	s->input = IMAP_INPUT_IDLE;
	imap_reply(s, "+ idling");
	/* report what changed since the last command right away */
	imap_folder_changed(s);
}

void
imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	s->input = IMAP_INPUT_COMMAND;
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_reply(s, "%s OK IDLE terminated", s->tag);
	else
		imap_bad(s, s->tag, "Expected DONE");
}

/* ---- message sets ---- */

/* The first sequence number (1..n) whose number or UID is key or above;
 * n + 1 when none is. */
static uint32_t
imap_seq_lower(struct mbox_view *view, bool uid, uint32_t n, uint32_t key)
{
	uint32_t lo = 1, hi = n + 1;

	if (!uid)
		return key < 1 ? 1 : key > n ? n + 1 : key;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (mbox_view_msg(view, mid)->uid < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The sequence numbers a set names, ascending, into *seqs_r (freed by
 * the caller).  For UID sets, UIDs not in the view are ignored; for
 * sequence sets, a number past the end is an error (-1). */
static int
imap_resolve(struct imap_session *s, const struct imap_seqset *set, bool uid,
    uint32_t **seqs_r, size_t *n_r)
{
	uint32_t n = mbox_view_count(s->view), *v;
	size_t k = 0;
	uint32_t star;

	/* RFC 5182 "$": the saved result is kept as UIDs, so messages
	 * expunged since are left out and the numbers are never past the
	 * end, whether the command is UID or not */
	if (set->saved) {
		set = &s->saved;
		uid = true;
	}
	star = uid ? (n > 0 ? mbox_view_msg(s->view, n)->uid : 0) : n;

	if (!uid) {
		for (unsigned i = 0; i < set->count; i++)
			if ((set->ranges[i].lo != IMAP_SEQ_STAR &&
			    set->ranges[i].lo > n) ||
			    (set->ranges[i].hi != IMAP_SEQ_STAR &&
			    set->ranges[i].hi > n))
				return -1;
	}
	v = xcalloc(n + 1, sizeof(*v));
	if (set->count == 1) {
		/* one range (1:*, a client's usual): UIDs ascend with the
		 * sequence numbers, so its messages are one run */
		uint32_t lo = set->ranges[0].lo, hi = set->ranges[0].hi;
		uint32_t first, end;

		lo = lo == IMAP_SEQ_STAR ? star : lo;
		hi = hi == IMAP_SEQ_STAR ? star : hi;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		first = imap_seq_lower(s->view, uid, n, lo);
		end = hi == UINT32_MAX ? n + 1 :
		    imap_seq_lower(s->view, uid, n, hi + 1);
		for (uint32_t seq = first; seq < end; seq++)
			v[k++] = seq;
	} else
		for (uint32_t seq = 1; seq <= n; seq++) {
			uint32_t key = uid ? mbox_view_msg(s->view, seq)->uid :
			    seq;

			if (imap_seqset_contains(set, key, star))
				v[k++] = seq;
		}
	*seqs_r = v;
	*n_r = k;
	return 0;
}

/* Parses the sequence set argument; "$" (RFC 5182) stands alone and
 * is resolved from s->saved when the command runs. */
static bool
imap_msg_set(const struct imap_arg *a, struct imap_seqset *set)
{
	return a->type == IMAP_ARG_ATOM && imap_seqset_parse(a->str, set) == 0;
}

/* ---- FETCH ---- */

int
imap_read_message(struct mbox_view *view, uint32_t seq, struct fbuf *msg)
{
	struct mbox_error err;
	char buf[65536];
	ssize_t r;
	char prev = '\0';
	int fd = mbox_view_open_msg(view, seq, &err);

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n' && prev != '\r')
				fbuf_addc(msg, '\r');
			fbuf_addc(msg, buf[i]);
			prev = buf[i];
		}
		if (msg->len > IMAP_MSG_MAX)
			break;
	}
	close(fd);
	return r < 0 ? -1 : 0;
}

size_t
imap_header_len(const char *p, size_t len)
{
	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return len;
}

static bool
imap_field_listed(const struct imap_fetch_item *it, const char *name,
    size_t n)
{
	for (unsigned i = 0; i < it->nfields; i++)
		if (strlen(it->fields[i]) == n &&
		    strncasecmp(it->fields[i], name, n) == 0)
			return true;
	return false;
}

/* HEADER.FIELDS[.NOT]: the matching fields (with their continuation
 * lines), then the empty line. */
static void
imap_header_fields(const struct imap_fetch_item *it, const char *h,
    size_t hlen, struct fbuf *out)
{
	bool keep = false;
	size_t i = 0;

	while (i < hlen) {
		const char *eol = memchr(h + i, '\n', hlen - i);
		size_t end = eol ? (size_t)(eol - h) + 1 : hlen;
		const char *line = h + i;

		if (end - i <= 2 && line[0] == '\r')
			break;		/* the empty line */
		if (line[0] != ' ' && line[0] != '\t') {
			const char *colon = memchr(line, ':', end - i);

			keep = colon != NULL && imap_field_listed(it, line,
			    (size_t)(colon - line));
			if (it->text == IMAP_SECTION_HEADER_FIELDS_NOT)
				keep = colon != NULL && !keep;
		}
		if (keep)
			fbuf_add(out, line, end - i);
		i = end;
	}
	fbuf_adds(out, "\r\n");
}

/* One section item of one message into b. */
static void
imap_fetch_section_out(const struct imap_fetch_item *it, const struct fbuf *msg,
    struct fbuf *b)
{
	const char *p = fbuf_str(msg);
	size_t hlen = imap_header_len(p, msg->len);
	struct fbuf part, sub;
	const char *data;
	size_t len;

	fbuf_init(&part, 0);
	fbuf_init(&sub, 0);
	if (it->nparts > 0) {
		(void)imap_fetch_mime_section(it, msg, &sub);
		data = fbuf_str(&sub);
		len = sub.len;
		if (it->text == IMAP_SECTION_HEADER_FIELDS ||
		    it->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
			if (len > 0)
				imap_header_fields(it, data, len, &part);
			data = fbuf_str(&part);
			len = part.len;
		}
	} else switch (it->text) {
	case IMAP_SECTION_HEADER:
		data = p;
		len = hlen;
		break;
	case IMAP_SECTION_TEXT:
		data = p + hlen;
		len = msg->len - hlen;
		break;
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		imap_header_fields(it, p, hlen, &part);
		data = fbuf_str(&part);
		len = part.len;
		break;
	default:
		data = p;
		len = msg->len;
		break;
	}
	fbuf_adds(b, it->name);
	if (it->partial) {
		fbuf_addf(b, "<%llu>", (unsigned long long)it->offset);
		if (it->offset >= len)
			len = 0;
		else {
			data += it->offset;
			len -= (size_t)it->offset;
			if (len > it->count)
				len = (size_t)it->count;
		}
	}
	fbuf_addf(b, " {%zu}\r\n", len);
	fbuf_add(b, data, len);
	fbuf_release(&part);
	fbuf_release(&sub);
}

static bool
imap_fetch_needs_body(const struct imap_fetch *f)
{
	for (unsigned i = 0; i < f->count; i++)
		if (f->items[i].type == IMAP_FETCH_SECTION ||
		    f->items[i].type == IMAP_FETCH_BINARY ||
		    f->items[i].type == IMAP_FETCH_BINARY_SIZE)
			return true;
	return false;
}

static bool
imap_fetch_has(const struct imap_fetch *f, int type)
{
	for (unsigned i = 0; i < f->count; i++)
		if ((int)f->items[i].type == type)
			return true;
	return false;
}

/* ENVELOPE, BODY, BODYSTRUCTURE: answered from the index's cache. */
static bool
imap_fetch_needs_mime(const struct imap_fetch *f)
{
	for (unsigned i = 0; i < f->count; i++)
		if (f->items[i].type == IMAP_FETCH_ENVELOPE ||
		    f->items[i].type == IMAP_FETCH_BODY ||
		    f->items[i].type == IMAP_FETCH_BODYSTRUCTURE)
			return true;
	return false;
}

/* One "* seq FETCH (...)" line. */
static void
imap_fetch_one(struct imap_job *job, uint32_t seq, bool flags_changed)
{
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	const struct mbox_msg *msg = mbox_view_msg(s->view, seq);
	struct fbuf *b = &job->out, body, mblob;
	struct imap_mime_blob mime;
	bool first = true, have_flags = false, have_uid = false;
	bool have_modseq = false, need_body = imap_fetch_needs_body(&m->fetch);
	bool need_mime = imap_fetch_needs_mime(&m->fetch);
	char date[64];

	memset(&mime, 0, sizeof(mime));
	fbuf_init(&body, 0);
	fbuf_init(&mblob, 0);
	if (((need_body || need_mime) && msg->flags & MBOX_F_EXPUNGED) ||
	    (need_body && imap_read_message(s->view, seq, &body) < 0) ||
	    (need_mime && imap_fetch_mime_cached(s->view, seq, msg,
	    need_body ? &body : NULL, &mblob, &mime) < 0)) {
		fbuf_release(&body);
		fbuf_release(&mblob);
		return;		/* gone: nothing to say about it */
	}
	fbuf_adds(b, "* ");
	fbuf_addu(b, seq);
	fbuf_adds(b, " FETCH (");
#define SEP() do { if (!first) fbuf_addc(b, ' '); first = false; } while (0)
	for (unsigned i = 0; i < m->fetch.count; i++) {
		const struct imap_fetch_item *it = &m->fetch.items[i];

		SEP();
		switch (it->type) {
		case IMAP_FETCH_FLAGS:
			fbuf_adds(b, "FLAGS ");
			imap_fmt_flags(b, s->view, msg, !s->rev2);
			have_flags = true;
			break;
		case IMAP_FETCH_UID:
			fbuf_adds(b, "UID ");
			fbuf_addu(b, msg->uid);
			have_uid = true;
			break;
		case IMAP_FETCH_INTERNALDATE:
			imap_datetime_format(msg->internaldate, date,
			    sizeof(date));
			fbuf_addf(b, "INTERNALDATE \"%s\"", date);
			break;
		case IMAP_FETCH_RFC822_SIZE:
			fbuf_adds(b, "RFC822.SIZE ");
			fbuf_addu(b, msg->size);
			break;
		case IMAP_FETCH_MODSEQ:
			fbuf_adds(b, "MODSEQ (");
			fbuf_addu(b, msg->modseq);
			fbuf_addc(b, ')');
			have_modseq = true;
			break;
		case IMAP_FETCH_SECTION:
			imap_fetch_section_out(it, &body, b);
			break;
		case IMAP_FETCH_ENVELOPE:
			fbuf_adds(b, "ENVELOPE ");
			fbuf_add(b, mime.text[IMAP_MIME_ENVELOPE],
			    mime.len[IMAP_MIME_ENVELOPE]);
			break;
		case IMAP_FETCH_BODY:
			fbuf_adds(b, "BODY ");
			fbuf_add(b, mime.text[IMAP_MIME_BODY],
			    mime.len[IMAP_MIME_BODY]);
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
			fbuf_adds(b, "BODYSTRUCTURE ");
			fbuf_add(b, mime.text[IMAP_MIME_BODYSTRUCTURE],
			    mime.len[IMAP_MIME_BODYSTRUCTURE]);
			break;
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			if (imap_fetch_binary(it, &body, b) < 0)
				m->unknown_cte = true;
			break;
		default:
			break;	/* refused before the job started */
		}
	}
	/* QRESYNC clients learn UIDs from every FETCH (RFC 7162 3.2) */
	if ((job->uid || s->qresync) && !have_uid) {
		SEP();
		fbuf_adds(b, "UID ");
		fbuf_addu(b, msg->uid);
	}
	if (flags_changed && !have_flags) {
		SEP();
		fbuf_adds(b, "FLAGS ");
		imap_fmt_flags(b, s->view, msg, !s->rev2);
	}
	/* RFC 7162 3.1.4.1: with CONDSTORE on, FETCH responses carry it */
	if (s->condstore && !have_modseq) {
		SEP();
		fbuf_adds(b, "MODSEQ (");
		fbuf_addu(b, msg->modseq);
		fbuf_addc(b, ')');
	}
#undef SEP
	fbuf_adds(b, ")\r\n");
	fbuf_release(&body);
	fbuf_release(&mblob);
}

static bool
imap_in_list(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The first part of a FETCH: the sync, the messages it names, \Seen
 * set for BODY[...], VANISHED.  -1 when the answer is complete (an
 * error). */
static int
imap_fetch_start(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	struct mbox_error err;
	uint32_t *unseen;
	size_t nunseen = 0;

	if (imap_sync_updates(s, &job->out, true) < 0) {
		job->done = imap_msg_broken_done;
		return -1;
	}
	imap_condstore_announce(job);
	if (imap_resolve(s, &m->set, job->uid, &m->seqs, &m->nseqs) < 0) {
		fbuf_addf(&job->out, "%s BAD Invalid message sequence "
		    "number\r\n", job->tag);
		return -1;
	}
	if (imap_fetch_has(&m->fetch, IMAP_FETCH_INTERNALDATE))
		mbox_view_dates(s->view, m->seqs, m->nseqs);
	/* BODY[...] sets \Seen first (RFC 9051 6.4.5) */
	if (m->fetch.sets_seen && !s->readonly) {
		unseen = xcalloc(m->nseqs + 1, sizeof(*unseen));
		for (size_t i = 0; i < m->nseqs; i++)
			if (!(mbox_view_msg(s->view, m->seqs[i])->flags &
			    (MBOX_F_SEEN | MBOX_F_EXPUNGED)))
				unseen[nunseen++] = m->seqs[i];
		if (nunseen > 0 && mbox_view_store(s->view, unseen, nunseen,
		    MBOX_STORE_ADD, MBOX_F_SEEN, NULL, 0, 0, &m->seen,
		    &err) < 0)
			log_warnx("%s imap seen-failed error=%s", s->id,
			    log_q(err.text));
		free(unseen);
	}
	if (m->fetch.vanished)
		(void)imap_qresync_fetch_vanished(s->view,
		    m->set.saved ? &s->saved : &m->set,
		    m->fetch.changedsince, &job->out);
	return 0;
}

/* Runs once per part of the answer: the lines of a large FETCH go out
 * IMAP_FETCH_PART bytes at a time (imap_job's "more"; the first part
 * IMAP_FETCH_FIRST_PART), so the client reads the first ones while the
 * rest are made, as a server writing straight to its socket would have
 * it; the session stays suspended in between, and only it uses its
 * view, so the numbers resolved by the first part hold to the last. */
static void
imap_fetch_work(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	size_t i;

	if (!m->started) {
		m->started = true;
		if (imap_fetch_start(job) < 0)
			return;
	}
	for (i = m->next; i < m->nseqs; i++) {
		size_t before = job->out.len;
		uint32_t seq = m->seqs[i];

		if (job->out.len >= (m->parts > 0 ? IMAP_FETCH_PART :
		    IMAP_FETCH_FIRST_PART)) {
			m->parts++;
			m->next = i;
			job->more = true;
			return;
		}
		if (m->fetch.has_changedsince && mbox_view_msg(s->view,
		    seq)->modseq <= m->fetch.changedsince)
			continue;
		imap_fetch_one(job, seq, imap_in_list(m->seen.changed,
		    m->seen.nchanged, seq));
		if (m->unknown_cte) {
			/* RFC 3516 4.2: the whole command fails */
			job->out.len = before;
			if (job->out.data != NULL)
				job->out.data[before] = '\0';
			break;
		}
	}
	m->next = m->nseqs;
	if (m->unknown_cte)
		fbuf_addf(&job->out, "%s NO [UNKNOWN-CTE] Unknown content "
		    "transfer encoding\r\n", job->tag);
	else
		fbuf_addf(&job->out, "%s OK %sFETCH completed\r\n", job->tag,
		    job->uid ? "UID " : "");
}

void
imap_cmd_fetch(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job = imap_msg_new_job(s, tag, imap_fetch_work, uid);
	struct imap_msg_job *m = job->data;
	const char *error = "Invalid FETCH";

	if (count < 2 || !imap_msg_set(&args[0], &m->set)) {
		imap_bad(s, tag, "FETCH needs a message set and items");
		imap_msg_drop(job);
		return;
	}
	if (imap_fetch_parse(args + 1, count - 1, &m->fetch, &error) < 0) {
		imap_bad(s, tag, error);
		imap_msg_drop(job);
		return;
	}
	/* RFC 7162 3.2.6: VANISHED only in UID FETCH, after ENABLE */
	if (m->fetch.vanished && (!uid || !s->qresync)) {
		imap_bad(s, tag, !uid ? "VANISHED needs UID FETCH" :
		    "VANISHED needs ENABLE QRESYNC first");
		imap_msg_drop(job);
		return;
	}
	/* RFC 7162 3.1.8: using CONDSTORE turns it on */
	for (unsigned i = 0; i < m->fetch.count; i++)
		if (m->fetch.items[i].type == IMAP_FETCH_MODSEQ)
			imap_condstore_use(s, job);
	if (m->fetch.has_changedsince)
		imap_condstore_use(s, job);
	imap_job_submit(job);
}

/* ---- STORE ---- */

static void
imap_fetch_flags_line(struct imap_job *job, uint32_t seq)
{
	const struct mbox_msg *msg = mbox_view_msg(job->s->view, seq);

	if (msg == NULL)
		return;
	fbuf_addf(&job->out, "* %u FETCH (", seq);
	if (job->uid || job->s->qresync)
		fbuf_addf(&job->out, "UID %u ", msg->uid);
	fbuf_adds(&job->out, "FLAGS ");
	imap_fmt_flags(&job->out, job->s->view, msg, !job->s->rev2);
	if (job->s->condstore)
		fbuf_addf(&job->out, " MODSEQ (%llu)",
		    (unsigned long long)msg->modseq);
	fbuf_adds(&job->out, ")\r\n");
}

static void
imap_store_work(struct imap_job *job)
{
	static const enum mbox_store_mode modes[] = {
		[IMAP_STORE_SET] = MBOX_STORE_SET,
		[IMAP_STORE_ADD] = MBOX_STORE_ADD,
		[IMAP_STORE_REMOVE] = MBOX_STORE_REMOVE,
	};
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	struct mbox_store_result res;
	struct mbox_error err;
	uint32_t *seqs;
	size_t n;

	if (imap_sync_updates(s, &job->out, true) < 0) {
		job->done = imap_msg_broken_done;
		return;
	}
	imap_condstore_announce(job);
	if (imap_resolve(s, &m->set, job->uid, &seqs, &n) < 0) {
		fbuf_addf(&job->out, "%s BAD Invalid message sequence "
		    "number\r\n", job->tag);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (n > 0 && mbox_view_store(s->view, seqs, n, modes[m->store.op],
	    imap_flags_to_mbox(m->store.flags.system),
	    (const char *const *)m->store.flags.keywords,
	    m->store.flags.nkeywords, m->store.unchangedsince, &res,
	    &err) < 0) {
		free(seqs);
		fbuf_addf(&job->out, "%s NO %s%s\r\n", job->tag,
		    err.code == MBOX_ERR_LIMIT ? "[LIMIT] " : "",
		    err.text != NULL ? err.text : "STORE failed");
		return;
	}
	if (res.keywords_changed)
		imap_fmt_keyword_lines(&job->out, s->view, s->readonly);
	for (size_t i = 0; i < res.nchanged && !m->store.silent; i++)
		imap_fetch_flags_line(job, res.changed[i]);
	if (res.nmodified > 0) {
		fbuf_addf(&job->out, "%s OK [MODIFIED ", job->tag);
		for (size_t i = 0; i < res.nmodified; i++)
			res.modified[i] = job->uid ? mbox_view_msg(s->view,
			    res.modified[i])->uid : res.modified[i];
		imap_fmt_uidset(&job->out, res.modified, res.nmodified);
		fbuf_adds(&job->out, "] Conditional STORE failed\r\n");
	} else
		fbuf_addf(&job->out, "%s OK %sSTORE completed\r\n", job->tag,
		    job->uid ? "UID " : "");
	mbox_store_result_free(&res);
	free(seqs);
}

void
imap_cmd_store(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job = imap_msg_new_job(s, tag, imap_store_work, uid);
	struct imap_msg_job *m = job->data;
	const char *error = "Invalid STORE";

	if (count < 3 || !imap_msg_set(&args[0], &m->set) ||
	    imap_store_parse(args + 1, count - 1, &m->store, &error) < 0) {
		imap_bad(s, tag, count < 3 ? "STORE needs a message set, an "
		    "item and flags" : error);
		imap_msg_drop(job);
		return;
	}
	if (s->readonly) {
		imap_reply(s, "%s NO [READ-ONLY] Mailbox is read-only", tag);
		imap_msg_drop(job);
		return;
	}
	if (m->store.has_unchangedsince)
		imap_condstore_use(s, job);
	imap_job_submit(job);
}

/* ---- EXPUNGE, CLOSE, UNSELECT ---- */

static void
imap_expunge_work(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	struct mbox_changes ch;
	struct mbox_error err;
	uint32_t *seqs = NULL, *uids = NULL;
	size_t n = 0;

	if (m->expunge_uids) {
		if (imap_resolve(s, &m->set, true, &seqs, &n) < 0)
			n = 0;
		uids = xcalloc(n + 1, sizeof(*uids));
		for (size_t i = 0; i < n; i++)
			uids[i] = mbox_view_msg(s->view, seqs[i])->uid;
	}
	memset(&ch, 0, sizeof(ch));
	if ((!m->expunge_uids || n > 0) &&
	    mbox_view_expunge(s->view, uids, n, &ch, &err) < 0) {
		fbuf_addf(&job->out, "%s NO [UNAVAILABLE] %s\r\n", job->tag,
		    err.text != NULL ? err.text : "EXPUNGE failed");
	} else if (m->close) {
		fbuf_addf(&job->out, "%s OK CLOSE completed\r\n", job->tag);
	} else {
		imap_fmt_changes(s, &job->out, &ch);
		fbuf_addf(&job->out, "%s OK %sEXPUNGE completed\r\n", job->tag,
		    job->uid ? "UID " : "");
	}
	mbox_changes_free(&ch);
	free(seqs);
	free(uids);
}

static void
imap_close_done(struct imap_job *job)
{
	imap_folder_close(job->s);
}

void
imap_cmd_expunge(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job = imap_msg_new_job(s, tag, imap_expunge_work, uid);
	struct imap_msg_job *m = job->data;

	if (count != (uid ? 1 : 0) || (uid && !imap_msg_set(&args[0],
	    &m->set))) {
		imap_bad(s, tag, uid ? "UID EXPUNGE needs a UID set" :
		    "EXPUNGE takes no arguments");
		imap_msg_drop(job);
		return;
	}
	if (s->readonly) {
		imap_reply(s, "%s NO [READ-ONLY] Mailbox is read-only", tag);
		imap_msg_drop(job);
		return;
	}
	m->expunge_uids = uid;
	imap_job_submit(job);
}

void
imap_cmd_close(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job;

	if (count != 0) {
		imap_bad(s, tag, "CLOSE takes no arguments");
		return;
	}
	if (s->readonly) {
		/* RFC 9051 6.4.1: nothing is expunged from EXAMINE */
		imap_folder_close(s);
		imap_reply(s, "%s OK CLOSE completed", tag);
		return;
	}
	job = imap_msg_new_job(s, tag, imap_expunge_work, false);
	((struct imap_msg_job *)job->data)->close = true;
	job->done = imap_close_done;
	imap_job_submit(job);
}

void
imap_cmd_unselect(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	if (count != 0) {
		imap_bad(s, tag, "UNSELECT takes no arguments");
		return;
	}
	imap_folder_close(s);
	imap_reply(s, "%s OK UNSELECT completed", tag);
}

/* ---- COPY, MOVE ---- */

static void
imap_copy_work(struct imap_job *job)
{
	struct imap_msg_job *m = job->data;
	struct imap_session *s = job->s;
	struct mbox_changes ch;
	struct mbox_error err;
	uint32_t *seqs, *src, *dst, validity = 0;
	size_t n, done = 0;
	struct fbuf code;

	if (imap_sync_updates(s, &job->out, true) < 0) {
		job->done = imap_msg_broken_done;
		return;
	}
	if (imap_resolve(s, &m->set, job->uid, &seqs, &n) < 0) {
		fbuf_addf(&job->out, "%s BAD Invalid message sequence "
		    "number\r\n", job->tag);
		return;
	}
	if (n == 0) {
		free(seqs);
		fbuf_addf(&job->out, "%s OK %s completed\r\n", job->tag,
		    m->verb);
		return;
	}
	src = xcalloc(n, sizeof(*src));
	dst = xcalloc(n, sizeof(*dst));
	memset(&ch, 0, sizeof(ch));
	if (mbox_view_copy(s->view, seqs, n, m->dest, m->move, &validity, src,
	    dst, &done, &ch, &err) < 0) {
		if (err.code == MBOX_ERR_NOTFOUND)
			fbuf_addf(&job->out, "%s NO [TRYCREATE] No such "
			    "mailbox\r\n", job->tag);
		else
			imap_mbox_no(&job->out, job->tag, &err);
	} else {
		fbuf_init(&code, 0);
		fbuf_addf(&code, "[COPYUID %u ", validity);
		imap_fmt_uidset(&code, src, done);
		fbuf_addc(&code, ' ');
		imap_fmt_uidset(&code, dst, done);
		fbuf_addc(&code, ']');
		if (m->move) {
			/* RFC 6851 section 4.3: COPYUID untagged first */
			fbuf_addf(&job->out, "* OK %s Moved\r\n",
			    fbuf_str(&code));
			imap_fmt_changes(s, &job->out, &ch);
			fbuf_addf(&job->out, "%s OK %s completed\r\n",
			    job->tag, m->verb);
		} else if (done > 0)
			fbuf_addf(&job->out, "%s OK %s %s completed\r\n",
			    job->tag, fbuf_str(&code), m->verb);
		else
			fbuf_addf(&job->out, "%s OK %s completed\r\n",
			    job->tag, m->verb);
		fbuf_release(&code);
	}
	mbox_changes_free(&ch);
	free(seqs);
	free(src);
	free(dst);
}

static void
imap_copy_cmd(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid, bool move)
{
	struct imap_job *job = imap_msg_new_job(s, tag, imap_copy_work, uid);
	struct imap_msg_job *m = job->data;
	const char *error;

	m->move = move;
	m->verb = move ? (uid ? "UID MOVE" : "MOVE") : (uid ? "UID COPY" :
	    "COPY");
	if (count != 2 || !imap_msg_set(&args[0], &m->set)) {
		imap_bad(s, tag, "Needs a message set and a mailbox");
		imap_msg_drop(job);
		return;
	}
	if (imap_arg_mailbox(&args[1], s->utf8, m->dest, sizeof(m->dest),
	    &error) < 0) {
		imap_reply(s, "%s NO [CANNOT] %s", tag, error);
		imap_msg_drop(job);
		return;
	}
	if (move && s->readonly) {
		imap_reply(s, "%s NO [READ-ONLY] Mailbox is read-only", tag);
		imap_msg_drop(job);
		return;
	}
	imap_job_submit(job);
}

void
imap_cmd_copy(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_copy_cmd(s, tag, args, count, uid, false);
}

void
imap_cmd_move(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_copy_cmd(s, tag, args, count, uid, true);
}
