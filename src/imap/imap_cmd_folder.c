/* Folder commands of the authenticated state (RFC 9051 section 6.3):
 * NAMESPACE (RFC 2342), STATUS, SELECT/EXAMINE, CREATE (with RFC 6154
 * USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and APPEND with APPENDUID
 * (RFC 4315); LIST and LSUB are in imap_list.c.  Names arrive in
 * modified UTF-7 and are decoded before the mailbox layer (mbox.h), which refuses any name that could leave the
 * user's Maildir; the hierarchy separator is '/'.  Every mailbox call
 * blocks, so each command's work runs as a job on the role's pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_private.h"
#include "imap/imap_qresync.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

enum imap_folder_op {
	IMAP_OP_CREATE, IMAP_OP_DELETE, IMAP_OP_RENAME, IMAP_OP_SUBSCRIBE,
	IMAP_OP_UNSUBSCRIBE
};

struct imap_folder_job {
	enum imap_folder_op op;
	char name[MBOX_NAME_MAX * 4 + 1];
	char name2[MBOX_NAME_MAX * 4 + 1];
	unsigned status_items;
	enum mbox_special special;	/* CREATE ... (USE (\\Sent)) */
	bool readonly;
	struct mbox_view *view;		/* SELECT: the opened view */
	bool has_qresync;		/* SELECT (QRESYNC ...) */
	bool flush;			/* SELECT: index rows left to write */
	struct imap_qresync qresync;
	struct mbox_append *apps;	/* APPEND: the messages */
	struct imap_flags *flagsv;	/* and their flags */
	size_t napps;
	uint32_t uidvalidity;
	uint32_t *uids;
};

#define IMAP_APPEND_MAX 1000	/* messages in one MULTIAPPEND */

void
imap_mbox_no(struct fbuf *b, const char *tag, const struct mbox_error *e)
{
	static const char *const codes[] = {
		[MBOX_ERR_NONE] = "", [MBOX_ERR_TEMP] = "[UNAVAILABLE] ",
		[MBOX_ERR_BADNAME] = "[CANNOT] ",
		[MBOX_ERR_NOTFOUND] = "[NONEXISTENT] ",
		[MBOX_ERR_EXISTS] = "[ALREADYEXISTS] ",
		[MBOX_ERR_NOTALLOWED] = "[CANNOT] ",
		[MBOX_ERR_OVERQUOTA] = "[OVERQUOTA] ",
		[MBOX_ERR_LIMIT] = "[LIMIT] ", [MBOX_ERR_MODIFIED] = "",
		[MBOX_ERR_EXPUNGED] = "[EXPUNGEISSUED] ",
		/* As Dovecot answers a full disk: clients show the text. */
		[MBOX_ERR_NOSPACE] = "[OVERQUOTA] ",
	};
	const char *code = (unsigned)e->code < sizeof(codes) / sizeof(codes[0])
	    ? codes[e->code] : "";

	fbuf_addf(b, "%s NO %s%s\r\n", tag, code, e->text != NULL ? e->text :
	    "Failed");
}

static struct imap_folder_job *
imap_folder_job(struct imap_job *job)
{
	return job->data;
}

static void
imap_folder_release(struct imap_job *job)
{
	struct imap_folder_job *f = job->data;

	if (f == NULL)
		return;
	/* after the SELECT's reply (even to a session gone meanwhile):
	 * the claim must be honoured */
	if (f->flush)
		imap_flush_later(job->s->srv, job->s->user);
	imap_close_later(job->s->srv, &f->view, NULL, NULL);
	imap_qresync_free(&f->qresync);
	for (size_t i = 0; i < f->napps; i++)
		imap_flags_free(&f->flagsv[i]);
	free(f->flagsv);
	free(f->apps);
	free(f->uids);
	free(f);
}

static struct imap_job *
imap_folder_new_job(struct imap_session *s, const char *tag,
    imap_job_fn *work)
{
	struct imap_job *job = imap_job_new(s, tag, work);

	job->data = xcalloc(1, sizeof(struct imap_folder_job));
	job->release = imap_folder_release;
	return job;
}

void
imap_cmd_namespace(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	if (count != 0) {
		imap_bad(s, tag, "NAMESPACE takes no arguments");
		return;
	}
	imap_reply(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_reply(s, "%s OK Namespace completed", tag);
}

void
imap_status_format(struct imap_session *s, struct fbuf *b, const char *name,
    const struct mbox_status *st, unsigned items)
{
	bool first = true;

	fbuf_adds(b, "* STATUS ");
	imap_fmt_mailbox(b, name, s->utf8);
	fbuf_adds(b, " (");
#define IMAP_ITEM(bit, fmt, v) do { if (items & (bit)) { \
	fbuf_addf(b, "%s" fmt, first ? "" : " ", v); \
	first = false; } } while (0)
	IMAP_ITEM(IMAP_STATUS_MESSAGES, "MESSAGES %u", st->messages);
	IMAP_ITEM(IMAP_STATUS_RECENT, "RECENT %u", st->recent);
	IMAP_ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT %u", st->uidnext);
	IMAP_ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY %u", st->uidvalidity);
	IMAP_ITEM(IMAP_STATUS_UNSEEN, "UNSEEN %u", st->unseen);
	IMAP_ITEM(IMAP_STATUS_DELETED, "DELETED %u", st->deleted);
	IMAP_ITEM(IMAP_STATUS_SIZE, "SIZE %llu", (unsigned long long)st->size);
	IMAP_ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
	    (unsigned long long)st->highestmodseq);
	IMAP_ITEM(IMAP_STATUS_APPENDLIMIT, "APPENDLIMIT %llu",
	    (unsigned long long)imap_append_limit(s));
#undef IMAP_ITEM
	fbuf_adds(b, ")\r\n");
}

static void
imap_status_work(struct imap_job *job)
{
	struct imap_folder_job *f = imap_folder_job(job);
	struct mbox_status st;
	struct mbox_error err;

	if (mbox_folder_status(job->s->user, f->name, &st, &err) < 0) {
		imap_mbox_no(&job->out, job->tag, &err);
		return;
	}
	/* a large folder's first sync writes its rows after the reply */
	f->flush = mbox_user_flush_claim(job->s->user);
	imap_status_format(job->s, &job->out, f->name, &st, f->status_items);
	fbuf_addf(&job->out, "%s OK STATUS completed\r\n", job->tag);
}

int
imap_status_parse_items(const struct imap_arg *a, unsigned *items_r,
    const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} items[] = {
		{ "MESSAGES", IMAP_STATUS_MESSAGES },
		{ "RECENT", IMAP_STATUS_RECENT },
		{ "UIDNEXT", IMAP_STATUS_UIDNEXT },
		{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
		{ "UNSEEN", IMAP_STATUS_UNSEEN },
		{ "DELETED", IMAP_STATUS_DELETED },
		{ "SIZE", IMAP_STATUS_SIZE },
		{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
		{ "APPENDLIMIT", IMAP_STATUS_APPENDLIMIT },
	};
	unsigned want = 0;

	if (a->type != IMAP_ARG_LIST || a->count == 0) {
		*error_r = "STATUS needs a mailbox and a list of items";
		return -1;
	}
	for (unsigned i = 0; i < a->count; i++) {
		size_t j;

		for (j = 0; j < sizeof(items) / sizeof(items[0]); j++)
			if (imap_arg_atom_is(&a->list[i], items[j].name))
				break;
		if (j == sizeof(items) / sizeof(items[0])) {
			*error_r = "Unknown STATUS item";
			return -1;
		}
		want |= items[j].bit;
	}
	*items_r = want;
	return 0;
}

void
imap_cmd_status(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job;
	struct imap_folder_job *f;
	const char *error;
	unsigned want = 0;

	if (count != 2) {
		imap_bad(s, tag, "STATUS needs a mailbox and a list of items");
		return;
	}
	if (imap_status_parse_items(&args[1], &want, &error) < 0) {
		imap_bad(s, tag, error);
		return;
	}
	if (want & IMAP_STATUS_HIGHESTMODSEQ)
		s->condstore = true;	/* RFC 7162 3.1.8 */
	job = imap_folder_new_job(s, tag, imap_status_work);
	f = job->data;
	f->status_items = want;
	if (imap_arg_mailbox(&args[0], s->utf8, f->name, sizeof(f->name),
	    &error) < 0) {
		imap_reply(s, "%s NO [CANNOT] %s", tag, error);
		imap_folder_release(job);
		fbuf_release(&job->out);
		free(job);
		return;
	}
	imap_job_submit(job);
}

/* The FLAGS and PERMANENTFLAGS lines for a view. */
static void
imap_select_flags(struct fbuf *b, struct mbox_view *view, bool readonly)
{
	size_t nkw;
	const char *const *kw = mbox_view_keywords(view, &nkw);

	fbuf_adds(b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < nkw; i++)
		if (kw[i] != NULL)
			fbuf_addf(b, " %s", kw[i]);
	fbuf_adds(b, ")\r\n* OK [PERMANENTFLAGS (");
	if (!readonly) {
		fbuf_adds(b, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (size_t i = 0; i < nkw; i++)
			if (kw[i] != NULL)
				fbuf_addf(b, " %s", kw[i]);
		if (nkw < MBOX_KEYWORDS_MAX)
			fbuf_adds(b, " \\*");
	}
	fbuf_adds(b, ")] Flags permitted\r\n");
}

static void
imap_select_work(struct imap_job *job)
{
	struct imap_folder_job *f = imap_folder_job(job);
	struct mbox_error err;
	uint32_t n, recent = 0, unseen = 0;

	if (mbox_view_open(job->s->user, f->name, f->readonly, &f->view,
	    &err) < 0) {
		imap_mbox_no(&job->out, job->tag, &err);
		return;
	}
	/* a large folder's first sync writes its rows after the reply */
	f->flush = mbox_user_flush_claim(job->s->user);
	n = mbox_view_count(f->view);
	mbox_view_select_counts(f->view, &recent, &unseen);
	imap_select_flags(&job->out, f->view, f->readonly);
	fbuf_addf(&job->out, "* %u EXISTS\r\n", n);
	/* RFC 9051 6.3.2 drops RECENT and UNSEEN, and wants LIST */
	if (job->s->rev2)
		imap_rev2_select_list(job->s, f->name, &job->out);
	else
		fbuf_addf(&job->out, "* %u RECENT\r\n", recent);
	if (unseen != 0 && !job->s->rev2)
		fbuf_addf(&job->out, "* OK [UNSEEN %u] First unseen\r\n",
		    unseen);
	fbuf_addf(&job->out, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    mbox_view_uidvalidity(f->view), mbox_view_uidnext(f->view),
	    (unsigned long long)mbox_view_highestmodseq(f->view));
	if (f->has_qresync)
		imap_qresync_select(f->view, &f->qresync, !job->s->rev2,
		    &job->out);
	fbuf_addf(&job->out, "%s OK [%s] %s completed\r\n", job->tag,
	    f->readonly ? "READ-ONLY" : "READ-WRITE", f->readonly ?
	    "EXAMINE" : "SELECT");
}

static void
imap_select_done(struct imap_job *job)
{
	struct imap_folder_job *f = imap_folder_job(job);
	struct imap_session *s = job->s;

	if (f->view == NULL)
		return;		/* stays in the authenticated state */
	s->view = f->view;
	f->view = NULL;
	s->readonly = f->readonly;
	s->watch = mbox_watch_add(s->srv->mbox, mbox_view_dir(s->view),
	    imap_folder_changed, s);
	imap_session_enter_state(s, IMAP_STATE_SELECTED);
}

void
imap_folder_close(struct imap_session *s)
{
	mbox_watch_remove(&s->watch);
	if (s->closing_view == NULL) {
		s->closing_view = s->view;
		s->view = NULL;
	} else
		imap_close_later(s->srv, &s->view, NULL, NULL);
	imap_seqset_free(&s->saved);
	if (s->state == IMAP_STATE_SELECTED)
		imap_session_enter_state(s, IMAP_STATE_AUTH);
}

static void
imap_select_cmd(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool readonly)
{
	struct imap_job *job;
	struct imap_folder_job *f;
	struct imap_qresync qr;
	const char *error;
	bool condstore = false, qresync = false;

	if (count < 1 || count > 2) {
		imap_bad(s, tag, "SELECT needs a mailbox name");
		return;
	}
	if (count == 2 && imap_select_params_parse(&args[1], &condstore,
	    &qresync, &qr, &error) < 0) {
		imap_bad(s, tag, error);
		return;
	}
	if (qresync && !s->qresync) {
		/* RFC 7162 3.2.5: BAD without ENABLE QRESYNC */
		imap_qresync_free(&qr);
		imap_bad(s, tag, "QRESYNC needs ENABLE QRESYNC first");
		return;
	}
	if (condstore)
		s->condstore = true;	/* RFC 7162 3.1.8 */
	/* RFC 7162 3.2.11, RFC 9051 7.1: the old mailbox's updates end */
	if (s->state == IMAP_STATE_SELECTED)
		imap_reply(s, "* OK [CLOSED] Previous mailbox closed");
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected */
	imap_folder_close(s);
	job = imap_folder_new_job(s, tag, imap_select_work);
	job->done = imap_select_done;
	f = job->data;
	f->readonly = readonly;
	if (qresync) {
		f->qresync = qr;
		f->has_qresync = true;
	}
	if (imap_arg_mailbox(&args[0], s->utf8, f->name, sizeof(f->name),
	    &error) < 0) {
		imap_reply(s, "%s NO [NONEXISTENT] %s", tag, error);
		imap_folder_release(job);
		fbuf_release(&job->out);
		free(job);
		return;
	}
	imap_job_submit(job);
}

void
imap_cmd_select(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_select_cmd(s, tag, args, count, false);
}

void
imap_cmd_examine(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_select_cmd(s, tag, args, count, true);
}

static void
imap_op_work(struct imap_job *job)
{
	static const char *const names[] = { "CREATE", "DELETE", "RENAME",
		"SUBSCRIBE", "UNSUBSCRIBE" };
	struct imap_folder_job *f = imap_folder_job(job);
	struct mbox_user *u = job->s->user;
	struct mbox_error err;
	int r = -1;

	switch (f->op) {
	case IMAP_OP_CREATE:
		r = mbox_folder_create(u, f->name, f->special, &err);
		break;
	case IMAP_OP_DELETE:
		r = mbox_folder_delete(u, f->name, &err);
		break;
	case IMAP_OP_RENAME:
		r = mbox_name_is_inbox(f->name) ? imap_rename_inbox(u,
		    f->name2, &err) : mbox_folder_rename(u, f->name, f->name2,
		    &err);
		break;
	case IMAP_OP_SUBSCRIBE:
	case IMAP_OP_UNSUBSCRIBE:
		r = mbox_folder_subscribe(u, f->name,
		    f->op == IMAP_OP_SUBSCRIBE, &err);
		break;
	}
	if (r < 0)
		imap_mbox_no(&job->out, job->tag, &err);
	else
		fbuf_addf(&job->out, "%s OK %s completed\r\n", job->tag,
		    names[f->op]);
}

/* CREATE's "(USE (\\Sent))" (RFC 6154 section 3): one special use a
 * folder, as the mailbox library keeps them.  -1 with the rest of the
 * reply ("BAD ..." or "NO [USEATTR] ...") in *error_r. */
static int
imap_create_use(const struct imap_arg *a, enum mbox_special *sp_r,
    const char **error_r)
{
	const struct imap_arg *use;

	if (a->type != IMAP_ARG_LIST || a->count != 2 ||
	    !imap_arg_atom_is(&a->list[0], "USE") ||
	    a->list[1].type != IMAP_ARG_LIST) {
		*error_r = "BAD CREATE takes only (USE (attributes))";
		return -1;
	}
	use = &a->list[1];
	for (unsigned i = 0; i < use->count; i++) {
		enum mbox_special sp;

		if (use->list[i].type != IMAP_ARG_ATOM ||
		    (sp = mbox_special_parse(use->list[i].str)) ==
		    MBOX_SPECIAL_NONE) {
			*error_r = "NO [USEATTR] Unknown special-use attribute";
			return -1;
		}
		if (*sp_r != MBOX_SPECIAL_NONE && *sp_r != sp) {
			*error_r = "NO [USEATTR] One special use per mailbox";
			return -1;
		}
		*sp_r = sp;
	}
	return 0;
}

static void
imap_op_cmd(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, enum imap_folder_op op)
{
	struct imap_job *job;
	struct imap_folder_job *f;
	const char *error = NULL;
	unsigned want = op == IMAP_OP_RENAME ? 2 : 1;
	enum mbox_special special = MBOX_SPECIAL_NONE;
	size_t len;

	if (op == IMAP_OP_CREATE && count == 2) {
		if (imap_create_use(&args[1], &special, &error) < 0) {
			imap_reply(s, "%s %s", tag, error);
			if (error[0] == 'B')
				imap_session_error(s);
			return;
		}
		count = 1;
	}
	if (count != want) {
		imap_bad(s, tag, op == IMAP_OP_RENAME ?
		    "RENAME needs two mailbox names" : "Mailbox name expected");
		return;
	}
	job = imap_folder_new_job(s, tag, imap_op_work);
	f = job->data;
	f->op = op;
	f->special = special;
	if (imap_arg_mailbox(&args[0], s->utf8, f->name, sizeof(f->name),
	    &error) < 0 || (want == 2 && imap_arg_mailbox(&args[1], s->utf8,
	    f->name2, sizeof(f->name2), &error) < 0)) {
		imap_reply(s, "%s NO [CANNOT] %s", tag, error);
		imap_folder_release(job);
		fbuf_release(&job->out);
		free(job);
		return;
	}
	/* CREATE "a/b/" makes a/b (RFC 9051 6.3.4) */
	len = strlen(f->name);
	if (op == IMAP_OP_CREATE && len > 1 && f->name[len - 1] == '/')
		f->name[len - 1] = '\0';
	imap_job_submit(job);
}

void
imap_cmd_create(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_op_cmd(s, tag, args, count, IMAP_OP_CREATE);
}

void
imap_cmd_delete(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_op_cmd(s, tag, args, count, IMAP_OP_DELETE);
}

void
imap_cmd_rename(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_op_cmd(s, tag, args, count, IMAP_OP_RENAME);
}

void
imap_cmd_subscribe(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_op_cmd(s, tag, args, count, IMAP_OP_SUBSCRIBE);
}

void
imap_cmd_unsubscribe(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_op_cmd(s, tag, args, count, IMAP_OP_UNSUBSCRIBE);
}

/* The selected folder broke during APPEND: the session ends after its
 * output (a BYE was written). */
static void
imap_append_broken_done(struct imap_job *job)
{
	job->s->state = IMAP_STATE_LOGOUT;
}

static void
imap_append_work(struct imap_job *job)
{
	struct imap_folder_job *f = imap_folder_job(job);
	struct mbox_error err;

	f->uids = xcalloc(f->napps, sizeof(*f->uids));
	if (mbox_append(job->s->user, f->name, f->apps, f->napps,
	    &f->uidvalidity, f->uids, &err) < 0) {
		if (err.code == MBOX_ERR_NOTFOUND)
			fbuf_addf(&job->out, "%s NO [TRYCREATE] No such "
			    "mailbox\r\n", job->tag);
		else
			imap_mbox_no(&job->out, job->tag, &err);
		return;
	}
	/* The new message in the selected folder is reported before the
	 * tagged reply (RFC 9051 6.3.12: EXISTS).  mbox_append entered it
	 * into the folder state: no look at the disk (what others changed
	 * is reported at the next command). */
	if (job->s->state == IMAP_STATE_SELECTED &&
	    imap_sync_view(job->s, &job->out, MBOX_SYNC_STATE) < 0)
		job->done = imap_append_broken_done;
	fbuf_addf(&job->out, "%s OK [APPENDUID %u ", job->tag,
	    f->uidvalidity);
	imap_fmt_uidset(&job->out, f->uids, f->napps);
	fbuf_adds(&job->out, "] APPEND completed\r\n");
}

/* One message of APPEND: [(flags)] [date-time] literal, from args[*ip];
 * after ENABLE UTF8=ACCEPT the literal may be "UTF8 (~{n}...)" (RFC
 * 6855 section 4). */
static int
imap_append_one(struct imap_folder_job *f, const struct imap_arg *args,
    unsigned count, unsigned *ip, bool utf8, const char **error_r)
{
	const struct imap_arg *lit;
	struct mbox_append *app;
	struct imap_flags *fl;
	unsigned i = *ip;
	const char *date;
	time_t t = 0;

	if (f->napps >= IMAP_APPEND_MAX) {
		*error_r = "Too many messages in one APPEND";
		return -1;
	}
	f->apps = xreallocarray(f->apps, f->napps + 1, sizeof(*f->apps));
	f->flagsv = xreallocarray(f->flagsv, f->napps + 1,
	    sizeof(*f->flagsv));
	app = &f->apps[f->napps];
	fl = &f->flagsv[f->napps];
	memset(app, 0, sizeof(*app));
	memset(fl, 0, sizeof(*fl));
	f->napps++;
	if (i < count && args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&args[i], 1, false, fl, error_r) < 0)
			return -1;
		i++;
	}
	if (i < count && args[i].type == IMAP_ARG_QUOTED) {
		if (!imap_arg_string(&args[i], &date) ||
		    imap_datetime_parse(date, &t) < 0) {
			*error_r = "Invalid date-time";
			return -1;
		}
		i++;
	}
	lit = i < count ? &args[i] : NULL;
	if (utf8 && i + 1 < count && imap_arg_atom_is(&args[i], "UTF8")) {
		if (args[i + 1].type != IMAP_ARG_LIST ||
		    args[i + 1].count != 1) {
			*error_r = "UTF8 needs one literal in parentheses";
			return -1;
		}
		lit = &args[++i].list[0];
	}
	if (lit == NULL || lit->type != IMAP_ARG_LITERAL) {
		*error_r = "APPEND needs a message literal";
		return -1;
	}
	if (lit->len == 0 || (!lit->literal8 &&
	    memchr(lit->str, '\0', lit->len) != NULL)) {
		*error_r = "Message is empty or contains NUL";
		return -1;
	}
	app->fd = -1;
	app->data = lit->str;
	app->len = lit->len;
	app->flags = imap_flags_to_mbox(fl->system);
	app->keywords = (const char *const *)fl->keywords;
	app->nkeywords = fl->nkeywords;
	app->internaldate = t;
	*ip = i + 1;
	return 0;
}

/* APPEND mailbox [(flags)] [date-time] literal, repeated for
 * MULTIAPPEND (RFC 3502: all messages or none).  The literals stay in
 * the reader's buffer while the job runs (the session reads nothing
 * until it is done). */
void
imap_cmd_append(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_job *job;
	struct imap_folder_job *f;
	const char *error = NULL;
	unsigned i = 1;

	if (count < 2) {
		imap_bad(s, tag, "APPEND needs a mailbox and a message");
		return;
	}
	job = imap_folder_new_job(s, tag, imap_append_work);
	f = job->data;
	while (i < count) {
		if (imap_append_one(f, args, count, &i, s->utf8,
		    &error) < 0) {
			imap_bad(s, tag, error);
			goto free;
		}
	}
	if (imap_arg_mailbox(&args[0], s->utf8, f->name, sizeof(f->name),
	    &error) < 0) {
		imap_reply(s, "%s NO [CANNOT] %s", tag, error);
		goto free;
	}
	imap_job_submit(job);
	return;
free:
	imap_folder_release(job);
	fbuf_release(&job->out);
	free(job);
}
