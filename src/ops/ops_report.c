/* Mail problem reports (ops_report.h): a small file per domain under
 * state_dir/reports/, rewritten whole (read, append, keep the newest
 * OPS_REPORT_KEEP, replace atomically) under an flock so that two
 * workers adding at once both land.  The reporter is always the actor,
 * never a form field. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_notice.h"
#include "ops/ops_report.h"

#define OPS_REPORT_DIR "reports"

/* A user's own domain, checked as its postmaster would be: exists. */
static int
ops_report_own_domain(const struct ops_ctx *c, const char *input,
    char *domain, size_t size, struct ops_status *st)
{
	const struct ops_actor *a = c->actor;
	const char *at = a->name != NULL ? strrchr(a->name, '@') : NULL;
	struct ops_actor self = { OPS_POSTMASTER, a->name, NULL, 1 };
	struct ops_ctx cc = *c;
	const char *doms[1];

	if (at == NULL || strcasecmp(at + 1, input) != 0)
		return ops_fail(st, OPS_EPERM, "%s: not allowed for %s", input,
		    a->name != NULL ? a->name : "this account");
	doms[0] = at + 1;
	self.domains = doms;
	cc.actor = &self;
	return ops_domain_arg(&cc, input, domain, size, st);
}

/* The domain (existing and in scope; a user may only add, and only for
 * its own domain) and its file's path. */
static int
ops_report_path(const struct ops_ctx *c, const char *input, bool adding,
    char *path, size_t size, struct ops_status *st)
{
	char domain[256] = "";
	int r;

	if (c->actor->role == OPS_USER && !adding)
		return ops_fail(st, OPS_EPERM, "%s: not allowed for %s", input,
		    c->actor->name != NULL ? c->actor->name : "this account");
	if (c->actor->role == OPS_USER)
		r = ops_report_own_domain(c, input, domain, sizeof(domain), st);
	else
		r = ops_domain_arg(c, input, domain, sizeof(domain), st);
	if (r < 0)
		return -1;
	if (strchr(domain, '/') != NULL || domain[0] == '.')
		return ops_fail(st, OPS_EINVAL, "%s: not a domain", input);
	if (fsio_pathf(path, size, "%s/%s/%s", c->conf->state_dir,
	    OPS_REPORT_DIR, domain) < 0)
		return ops_fail(st, OPS_EFAIL, "state_dir too long");
	return 0;
}

static int
ops_report_read(const char *path, struct ops_report_list *out,
    struct ops_status *st)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	if (fsio_read_file(path, &b, OPS_REPORT_FILE_MAX) < 0 &&
	    errno != ENOENT) {
		fbuf_release(&b);
		memset(out, 0, sizeof(*out));
		return ops_fail(st, OPS_EFAIL, "reports: %s", strerror(errno));
	}
	ops_report_parse(b.data, b.len, out);
	fbuf_release(&b);
	return 0;
}

static int
ops_report_check(const struct ops_report_in *in, struct ops_status *st)
{
	const char *when = in->when, *address = in->address, *what = in->what;

	if (in->facts != NULL && strlen(in->facts) > OPS_REPORT_FACTS_MAX)
		return ops_fail(st, OPS_EINVAL, "too many log facts");
	if (what == NULL || what[0] == '\0')
		return ops_fail(st, OPS_EINVAL, "say what went wrong");
	if (strlen(what) > OPS_REPORT_WHAT_MAX)
		return ops_fail(st, OPS_EINVAL, "the description is longer "
		    "than %d bytes", OPS_REPORT_WHAT_MAX);
	if (when != NULL && (strlen(when) > OPS_REPORT_WHEN_MAX ||
	    strpbrk(when, "\r\n") != NULL))
		return ops_fail(st, OPS_EINVAL, "\"when\" is too long");
	if (address != NULL && (strlen(address) > OPS_REPORT_ADDR_MAX ||
	    strpbrk(address, "\r\n\t ") != NULL))
		return ops_fail(st, OPS_EINVAL, "the address is malformed");
	return 0;
}

/* Rewrites path with l's newest OPS_REPORT_KEEP reports. */
static int
ops_report_write(const char *path, const struct ops_report_list *l,
    struct ops_status *st)
{
	size_t from = l->n > OPS_REPORT_KEEP ? l->n - OPS_REPORT_KEEP : 0;
	struct fbuf b;
	int r;

	fbuf_init(&b, 0);
	for (size_t i = from; i < l->n; i++)
		ops_report_format(&l->v[i], &b);
	r = fsio_replace_file(path, b.data != NULL ? b.data : "", b.len, 0600);
	fbuf_release(&b);
	if (r < 0)
		return ops_fail(st, OPS_EFAIL, "reports: %s", strerror(errno));
	return 0;
}

/* The report as the postmaster reads it in their mailbox. */
static void
ops_report_mail(const struct ops_ctx *c, const char *path,
    const struct ops_report *r, char *mail_error_r)
{
	const char *domain = strrchr(path, '/') + 1;
	char subject[400], id[OPS_NOTICE_ID_MAX], err[OPS_NOTICE_ERROR_MAX];
	struct ops_notice n = { domain, subject, r->reporter, "report",
		NULL };
	struct fbuf body;

	snprintf(subject, sizeof(subject), "Mail problem reported by %s",
	    r->reporter);
	fbuf_init(&body, 0);
	fbuf_addf(&body, "%s reported a mail problem for %s on %s.\n"
	    "Reply to this message to answer them.\n\nWhen: %s\n"
	    "The other address: %s\n\nWhat happened:\n\n%s\n\n",
	    r->reporter, domain, c->conf->hostname,
	    r->when[0] != '\0' ? r->when : "(not said)",
	    r->address[0] != '\0' ? r->address : "(none given)", r->what);
	if (r->facts[0] != '\0')
		fbuf_addf(&body, "What the log of %s says about the mail of %s "
		    "(last %d days), as shown to them when they reported:\n\n"
		    "%s", c->conf->hostname, r->reporter,
		    OPS_REPORT_FACTS_DAYS, r->facts);
	else
		fbuf_adds(&body, "No log facts were included.\n");
	fbuf_addf(&body, "\nAll reports for %s are on its page in the web "
	    "admin.\n", domain);
	n.body = fbuf_str(&body);
	if (ops_notice_postmaster(c, &n, id, err) < 0 && mail_error_r != NULL)
		str_lcpy(mail_error_r, err, OPS_NOTICE_ERROR_MAX);
	fbuf_release(&body);
}

int
ops_report_add(const struct ops_ctx *c, const char *domain_input,
    const struct ops_report_in *in, int64_t now, char *mail_error_r,
    struct ops_status *st)
{
	char path[PATH_MAX], dir[PATH_MAX], lock[PATH_MAX];
	struct ops_report_list l;
	struct ops_report *r;
	int fd, rc;

	if (mail_error_r != NULL)
		mail_error_r[0] = '\0';
	if (ops_report_check(in, st) < 0 ||
	    ops_report_path(c, domain_input, true, path, sizeof(path),
	    st) < 0)
		return -1;
	if (fsio_pathf(dir, sizeof(dir), "%s/%s", c->conf->state_dir,
	    OPS_REPORT_DIR) < 0 || fsio_pathf(lock, sizeof(lock),
	    "%s/.lock", dir) < 0)
		return ops_fail(st, OPS_EFAIL, "state_dir too long");
	if (fsio_mkdir_p(dir, 0700) < 0 || (fd = open(lock, O_RDWR |
	    O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ops_fail(st, OPS_EFAIL, "reports: %s", strerror(errno));
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return ops_fail(st, OPS_EFAIL, "reports: %s", strerror(errno));
	}
	if ((rc = ops_report_read(path, &l, st)) == 0) {
		l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
		r = &l.v[l.n++];
		r->time = now;
		r->reporter = xstrdup(c->actor->name != NULL ?
		    c->actor->name : "?");
		r->when = xstrdup(in->when != NULL ? in->when : "");
		r->address = xstrdup(in->address != NULL ? in->address : "");
		r->what = xstrdup(in->what);
		r->facts = xstrdup(in->facts != NULL ? in->facts : "");
		rc = ops_report_write(path, &l, st);
		if (rc == 0)
			ops_report_mail(c, path, r, mail_error_r);
		ops_report_list_free(&l);
	}
	close(fd);
	return rc < 0 ? -1 : ops_ok(st);
}

int
ops_report_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_report_list *out, struct ops_status *st)
{
	char path[PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (ops_report_path(c, domain_input, false, path, sizeof(path),
	    st) < 0 || ops_report_read(path, out, st) < 0)
		return -1;
	return ops_ok(st);
}
