/* QUOTA (RFC 9208): GETQUOTA and GETQUOTAROOT report the user's
 * Maildir++ quota (the `maildirsize` usage against the limit set with
 * `ferry user`) as the STORAGE resource of one quota root, "", that every
 * folder of the user shares.  SETQUOTA is refused: limits belong to the
 * administrator, and QUOTASET is not advertised.  Ferry keeps no limit on
 * the number of messages, so the MESSAGE resource is not offered (RFC 9208
 * section 4.1 lists only resources that have a limit).  A user without a
 * quota has no quota root.  Enforcement is elsewhere: mbox_append and
 * mbox_view_copy fail with MBOX_ERR_OVERQUOTA ([OVERQUOTA]). */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_cmd_args.h"
#include "imap/imap_private.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"

struct imap_quota_job {
	char name[MBOX_NAME_MAX * 4 + 1];	/* GETQUOTAROOT's mailbox */
	bool root;				/* GETQUOTAROOT */
};

static void
imap_quota_release(struct imap_job *job)
{
	free(job->data);
	job->data = NULL;
}

/* "* QUOTA "" (STORAGE used limit)" in units of 1024 octets into b;
 * false when the user has no quota. */
static bool
imap_quota_line(struct mbox_user *user, struct fbuf *b)
{
	uint64_t bytes, count, limit;

	if (mbox_user_quota(user, &bytes, &count, &limit) < 0 || limit == 0)
		return false;
	fbuf_addf(b, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
	    (unsigned long long)((bytes + 1023) / 1024),
	    (unsigned long long)(limit / 1024));
	return true;
}

static void
imap_quota_work(struct imap_job *job)
{
	struct imap_quota_job *q = job->data;
	struct fbuf quota;
	bool have;

	fbuf_init(&quota, 0);
	have = imap_quota_line(job->s->user, &quota);
	if (!q->root) {
		if (have)
			fbuf_addf(&job->out, "%s%s OK GETQUOTA completed\r\n",
			    fbuf_str(&quota), job->tag);
		else
			fbuf_addf(&job->out, "%s NO [NONEXISTENT] No quota "
			    "set for this user\r\n", job->tag);
	} else if (!mbox_folder_exists(job->s->user, q->name))
		fbuf_addf(&job->out, "%s NO [NONEXISTENT] No such mailbox\r\n",
		    job->tag);
	else {
		/* the root is named only when there is a quota; QUOTAROOT
		 * comes first (RFC 9208 section 4.2.2) */
		fbuf_adds(&job->out, "* QUOTAROOT ");
		imap_fmt_mailbox(&job->out, q->name, job->s->utf8);
		fbuf_addf(&job->out, "%s\r\n%s%s OK GETQUOTAROOT completed\r\n",
		    have ? " \"\"" : "", fbuf_str(&quota), job->tag);
	}
	fbuf_release(&quota);
}

static void
imap_quota_submit(struct imap_session *s, const char *tag,
    struct imap_quota_job *q)
{
	struct imap_job *job = imap_job_new(s, tag, imap_quota_work);

	job->data = q;
	job->release = imap_quota_release;
	imap_job_submit(job);
}

void
imap_cmd_getquota(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	const char *root, *error;

	if (imap_getquota_args(args, count, &root, &error) < 0) {
		imap_bad(s, tag, error);
		return;
	}
	if (root[0] != '\0') {
		imap_reply(s, "%s NO [NONEXISTENT] No such quota root", tag);
		return;
	}
	imap_quota_submit(s, tag, xcalloc(1, sizeof(struct imap_quota_job)));
}

void
imap_cmd_getquotaroot(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct imap_quota_job *q;
	const char *error;

	if (count != 1) {
		imap_bad(s, tag, "GETQUOTAROOT needs a mailbox name");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->root = true;
	if (imap_arg_mailbox(&args[0], s->utf8, q->name, sizeof(q->name),
	    &error) < 0) {
		free(q);
		if (args[0].type == IMAP_ARG_LIST)
			imap_bad(s, tag, error);
		else
			imap_reply(s, "%s NO [NONEXISTENT] %s", tag, error);
		return;
	}
	imap_quota_submit(s, tag, q);
}

/* SETQUOTA root (resource limit ...): checked for form
 * (imap_setquota_args), then refused. */
void
imap_cmd_setquota(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	const char *root, *error;

	if (imap_setquota_args(args, count, &root, &error) < 0) {
		imap_bad(s, tag, error);
		return;
	}
	imap_reply(s, "%s NO [NOPERM] Quotas are set by the administrator "
	    "(ferry user), not over IMAP", tag);
}
