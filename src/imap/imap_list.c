/* LIST and LSUB (RFC 9051 section 6.3.9, RFC 3501 6.3.8-9) with the
 * LIST extensions of RFC 5258: selection options SUBSCRIBED, REMOTE
 * (there are no remote mailboxes: a no-op), RECURSIVEMATCH (parents of
 * matching children get CHILDINFO) and SPECIAL-USE (RFC 6154 section
 * 5.3); return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS
 * (RFC 5819 LIST-STATUS); several patterns in one command.  \HasChildren
 * or \HasNoChildren and the special-use attribute are sent on every LIST
 * line whether asked for or not (both RFCs allow it), so the basic LIST
 * answers as it did before the extensions.  The folder list itself comes
 * from the mailbox library in one blocking call on the pool. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_cmd_args.h"
#include "imap/imap_private.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

#define IMAP_LIST_NAME_MAX (MBOX_NAME_MAX * 4)	/* longest name matched */

static void
imap_list_release(struct imap_job *job)
{
	struct imap_list_args *l = job->data;

	if (l == NULL)
		return;
	imap_list_args_free(l);
	free(l);
	job->data = NULL;
}

static void
imap_list_discard(struct imap_job *job)
{
	imap_list_release(job);
	fbuf_release(&job->out);
	free(job);
}

/* list-mailbox wildcards: '*' matches anything, '%' anything but the
 * separator.  A row of booleans over the name's positions is carried
 * through the pattern (reach[j]: the pattern so far can end having
 * matched name[0..j)), so the work is pattern length times name length
 * whatever the wildcards: backtracking would be exponential in them
 * ("*a*a*a...b" against "aaaa..."), and a client sends the patterns. */
static bool
imap_list_match(const char *pat, const char *name)
{
	bool row[2][IMAP_LIST_NAME_MAX + 1];
	size_t n = strlen(name), cur = 0;

	if (n > IMAP_LIST_NAME_MAX)
		return false;
	memset(row[0], 0, sizeof(row[0]));
	row[0][0] = true;
	for (; *pat != '\0'; pat++) {
		bool *from = row[cur], *to = row[cur ^ 1], any = false;

		for (size_t j = 0; j <= n; j++) {
			if (*pat == '*')
				to[j] = from[j] || (j > 0 && to[j - 1]);
			else if (*pat == '%')
				to[j] = from[j] || (j > 0 && to[j - 1] &&
				    name[j - 1] != '/');
			else
				to[j] = j > 0 && from[j - 1] &&
				    name[j - 1] == *pat;
			any |= to[j];
		}
		if (!any)
			return false;
		cur ^= 1;
	}
	return row[cur][n];
}

static bool
imap_list_matches(const struct imap_list_args *l, const char *name)
{
	/* INBOX matches case-blind patterns (RFC 9051 section 5.1) */
	bool inbox = mbox_name_is_inbox(name);

	for (unsigned i = 0; i < l->npatterns; i++)
		if (imap_list_match(l->patterns[i], inbox ? "INBOX" : name) ||
		    (inbox && str_ieq(l->patterns[i], "INBOX")))
			return true;
	return false;
}

/* Whether a folder meets every selection criterion. */
static bool
imap_list_selected(const struct imap_list_args *l,
    const struct mbox_folder_info *fi)
{
	if (l->lsub)
		return (fi->flags & MBOX_FOLDER_F_SUBSCRIBED) != 0;
	if ((l->sel & IMAP_LSEL_SUBSCRIBED) &&
	    !(fi->flags & MBOX_FOLDER_F_SUBSCRIBED))
		return false;
	if ((l->sel & IMAP_LSEL_SPECIAL) && (fi->special == MBOX_SPECIAL_NONE ||
	    (fi->flags & MBOX_FOLDER_F_NONEXISTENT)))
		return false;
	if (!(l->sel & IMAP_LSEL_SUBSCRIBED) &&
	    (fi->flags & MBOX_FOLDER_F_NONEXISTENT))
		return false;	/* plain LIST: only what exists */
	return true;
}

/* RECURSIVEMATCH: some descendant of v[i] meets the criteria but does
 * not match a pattern itself (one that matches is listed in its own
 * right, and CHILDINFO tells only of what the client would not see:
 * RFC 5258 section 3.5). */
static bool
imap_list_child_selected(const struct imap_list_args *l,
    const struct mbox_folder_list *list, size_t i)
{
	const char *name = list->v[i].name;
	size_t len = strlen(name);

	for (size_t j = 0; j < list->n; j++)
		if (j != i && strncmp(list->v[j].name, name, len) == 0 &&
		    list->v[j].name[len] == '/' &&
		    imap_list_selected(l, &list->v[j]) &&
		    !imap_list_matches(l, list->v[j].name))
			return true;
	return false;
}

static void
imap_list_attrs(struct imap_session *s, const struct imap_list_args *l,
    const struct mbox_folder_info *fi, struct fbuf *b)
{
	const char *sp = mbox_special_name(fi->special);
	bool first = true;

#define IMAP_ATTR(x) do { fbuf_addf(b, "%s%s", first ? "" : " ", x); \
	first = false; } while (0)
	if (fi->flags & MBOX_FOLDER_F_NONEXISTENT)
		IMAP_ATTR(l->lsub ? "\\Noselect" : "\\NonExistent");
	else if (fi->flags & MBOX_FOLDER_F_NOSELECT)
		IMAP_ATTR("\\Noselect");
	if (!(fi->flags & MBOX_FOLDER_F_NONEXISTENT) && !l->lsub)
		IMAP_ATTR(fi->flags & MBOX_FOLDER_F_HASCHILDREN ?
		    "\\HasChildren" : "\\HasNoChildren");
	if ((fi->flags & MBOX_FOLDER_F_SUBSCRIBED) && !l->lsub &&
	    ((l->ret & IMAP_LRET_SUBSCRIBED) ||
	    (l->sel & IMAP_LSEL_SUBSCRIBED)))
		IMAP_ATTR("\\Subscribed");
	if (sp != NULL && !l->lsub)
		IMAP_ATTR(sp);
#undef IMAP_ATTR
}

/* The CHILDINFO tags: the selection criteria a descendant met. */
static void
imap_list_childinfo(const struct imap_list_args *l, struct fbuf *b)
{
	fbuf_adds(b, " (\"CHILDINFO\" (");
	if (l->sel & IMAP_LSEL_SUBSCRIBED)
		fbuf_adds(b, "\"SUBSCRIBED\"");
	if (l->sel & IMAP_LSEL_SPECIAL)
		fbuf_addf(b, "%s\"SPECIAL-USE\"", (l->sel &
		    IMAP_LSEL_SUBSCRIBED) ? " " : "");
	fbuf_adds(b, "))");
}

static void
imap_list_status(struct imap_job *job, const struct mbox_folder_info *fi)
{
	struct imap_list_args *l = job->data;
	struct mbox_status st;
	struct mbox_error err;

	if (fi->flags & (MBOX_FOLDER_F_NONEXISTENT | MBOX_FOLDER_F_NOSELECT))
		return;
	/* a folder gone since the listing is simply left out (RFC 5819
	 * section 2 lets the server skip a STATUS it cannot give) */
	if (mbox_folder_status(job->s->user, fi->name, &st, &err) < 0)
		return;
	imap_status_format(job->s, &job->out, fi->name, &st,
	    l->status_items);
}

static bool
imap_list_has(const struct mbox_folder_list *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->v[i].name, name) == 0)
			return true;
	return false;
}

/* A subscription to "a/b" where no "a" exists: RECURSIVEMATCH still has
 * to show "a" (as \NonExistent, RFC 5258 section 5 example 9), so the
 * missing parents join the list, neither subscribed nor special. */
static void
imap_list_add_parents(struct mbox_folder_list *list)
{
	size_t n = list->n;

	for (size_t i = 0; i < n; i++) {
		char *name = list->v[i].name;

		if (!(list->v[i].flags & MBOX_FOLDER_F_NONEXISTENT))
			continue;
		for (char *p = strchr(name, '/'); p != NULL;
		    p = strchr(p + 1, '/')) {
			char *part = xstrndup(name, (size_t)(p - name));

			if (imap_list_has(list, part)) {
				free(part);
				continue;
			}
			list->v = xreallocarray(list->v, list->n + 1,
			    sizeof(*list->v));
			list->v[list->n++] = (struct mbox_folder_info){
			    .name = part, .flags = MBOX_FOLDER_F_NONEXISTENT };
		}
	}
}

static bool
imap_list_subscribed(const struct mbox_folder_list *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->v[i].name, name) == 0)
			return (list->v[i].flags & MBOX_FOLDER_F_SUBSCRIBED) != 0;
	return false;
}

/* LSUB with "%" (RFC 3501 section 6.3.9): a subscribed "foo/bar" that
 * the pattern does not reach shows its parent "foo", when that matches
 * and is not subscribed itself, as \Noselect (once, whether "foo"
 * exists or not). */
static void
imap_lsub_parents(struct imap_job *job, const struct mbox_folder_list *list)
{
	struct imap_list_args *l = job->data;
	char **shown = NULL;
	size_t nshown = 0;

	for (size_t i = 0; i < list->n; i++) {
		const char *name = list->v[i].name;

		if (!(list->v[i].flags & MBOX_FOLDER_F_SUBSCRIBED) ||
		    imap_list_matches(l, name))
			continue;
		for (const char *p = strchr(name, '/'); p != NULL;
		    p = strchr(p + 1, '/')) {
			char *part = xstrndup(name, (size_t)(p - name));
			bool dup = false;

			for (size_t k = 0; k < nshown && !dup; k++)
				dup = strcmp(shown[k], part) == 0;
			if (dup || !imap_list_matches(l, part) ||
			    imap_list_subscribed(list, part)) {
				free(part);
				continue;
			}
			fbuf_adds(&job->out, "* LSUB (\\Noselect) \"/\" ");
			imap_fmt_mailbox(&job->out, part, job->s->utf8);
			fbuf_adds(&job->out, "\r\n");
			shown = xreallocarray(shown, nshown + 1, sizeof(*shown));
			shown[nshown++] = part;
		}
	}
	for (size_t k = 0; k < nshown; k++)
		free(shown[k]);
	free(shown);
}

static void
imap_list_work(struct imap_job *job)
{
	struct imap_list_args *l = job->data;
	struct mbox_folder_list list;
	struct mbox_error err;
	bool recursive = (l->sel & IMAP_LSEL_RECURSIVE) != 0;

	if (mbox_folder_list(job->s->user, &list, &err) < 0) {
		fbuf_addf(&job->out, "%s NO [UNAVAILABLE] %s\r\n", job->tag,
		    err.text);
		return;
	}
	if (recursive)
		imap_list_add_parents(&list);
	for (size_t i = 0; i < list.n; i++) {
		const struct mbox_folder_info *fi = &list.v[i];
		bool sel, child;

		if (!imap_list_matches(l, fi->name))
			continue;
		sel = imap_list_selected(l, fi);
		child = recursive && imap_list_child_selected(l, &list, i);
		if (!sel && !child)
			continue;
		fbuf_addf(&job->out, "* %s (", l->lsub ? "LSUB" : "LIST");
		imap_list_attrs(job->s, l, fi, &job->out);
		fbuf_adds(&job->out, ") \"/\" ");
		imap_fmt_mailbox(&job->out, fi->name, job->s->utf8);
		if (child)
			imap_list_childinfo(l, &job->out);
		fbuf_adds(&job->out, "\r\n");
		if (sel && (l->ret & IMAP_LRET_STATUS))
			imap_list_status(job, fi);
	}
	if (l->lsub)
		imap_lsub_parents(job, &list);
	mbox_folder_list_free(&list);
	fbuf_addf(&job->out, "%s OK %s completed\r\n", job->tag,
	    l->lsub ? "LSUB" : "LIST");
}

static void
imap_list_cmd(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool lsub)
{
	const char *name = lsub ? "LSUB" : "LIST";
	struct imap_list_args *l;
	struct imap_job *job;
	const char *error;
	bool delim = false;

	job = imap_job_new(s, tag, imap_list_work);
	job->data = l = xcalloc(1, sizeof(*l));
	job->release = imap_list_release;
	if (imap_list_args_parse(args, count, lsub, s->utf8, l, &delim,
	    &error) < 0) {
		imap_list_discard(job);
		imap_bad(s, tag, error);
		return;
	}
	if (delim || l->npatterns == 0) {
		imap_list_discard(job);
		if (delim)
			imap_reply(s, "* %s (\\Noselect) \"/\" \"\"", name);
		imap_reply(s, "%s OK %s completed", tag, name);
		return;
	}
	if (l->ret & IMAP_LRET_STATUS)
		if (l->status_items & IMAP_STATUS_HIGHESTMODSEQ)
			s->condstore = true;	/* RFC 7162 3.1.8 */
	imap_job_submit(job);
}

void
imap_cmd_list(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_list_cmd(s, tag, args, count, false);
}

void
imap_cmd_lsub(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	imap_list_cmd(s, tag, args, count, true);
}
