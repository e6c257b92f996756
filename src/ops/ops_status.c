/* `ferry status` and /admin/status gather here (ops_status.h), moved
 * out of cmd_status.c so that the command line and the page show the
 * same facts.  Nothing is asked of the running roles: the pid file and
 * /proc, the spool files, the store and the log's tail, so it also works
 * with the server stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_queue.h"
#include "ops/ops_status.h"
#include "store/store.h"

#define OPS_STATUS_LOG_TAIL (256 * 1024)
#define OPS_STATUS_DEST_CAP 1024
#define OPS_STATUS_ABUSE_MAX 1000	/* held users, suspended domains */

static const struct {
	const char *name;
	size_t off;
} ops_status_kinds[OPS_STATUS_KINDS] = {
	{ "smtp", offsetof(struct conf, smtp_listen) },
	{ "submission", offsetof(struct conf, submission_listen) },
	{ "submissions", offsetof(struct conf, submissions_listen) },
	{ "pop3", offsetof(struct conf, pop3_listen) },
	{ "pop3s", offsetof(struct conf, pop3s_listen) },
	{ "imap", offsetof(struct conf, imap_listen) },
	{ "imaps", offsetof(struct conf, imaps_listen) },
};

const char *
ops_status_listen_kind(size_t i)
{
	return ops_status_kinds[i].name;
}

const struct conf_listen_list *
ops_status_listen(const struct conf *c, size_t i)
{
	return (const struct conf_listen_list *)(const void *)
	    ((const char *)c + ops_status_kinds[i].off);
}

/* /proc/PID/stat: ppid and the start time in seconds since boot. */
static int
ops_status_stat(int pid, int *ppid_r, double *start_r, char *comm,
    size_t commsize)
{
	char path[64], buf[1024], *p, *save = NULL, *tok;
	unsigned long long start = 0;
	int field = 3, fd;
	ssize_t n;

	*ppid_r = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -1;
	if (comm != NULL) {
		char *lp = strchr(buf, '(');

		*p = '\0';
		str_lcpy(comm, lp != NULL ? lp + 1 : "", commsize);
	}
	for (tok = strtok_r(p + 2, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3 && tok[0] == 'Z')
			return -1;		/* a zombie is not running */
		if (field == 4)
			*ppid_r = atoi(tok);
		if (field == 22) {
			start = strtoull(tok, NULL, 10);
			break;
		}
	}
	*start_r = (double)start / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static double
ops_status_uptime(void)
{
	double up = 0;
	FILE *f = fopen("/proc/uptime", "r");

	if (f != NULL) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	return up;
}

static void
ops_status_procs(const struct conf *c, struct ops_status_info *s)
{
	char path[PATH_MAX], buf[32];
	double start, now = ops_status_uptime();
	struct dirent *d;
	DIR *dir;
	FILE *f;
	int pid = 0, ppid;

	if (conf_state_path(c, path, sizeof(path), FERRY_PID_FILE) < 0 ||
	    (f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL)
		pid = atoi(buf);
	fclose(f);
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM) ||
	    ops_status_stat(pid, &ppid, &start, s->server.name,
	    sizeof(s->server.name)) < 0)
		return;
	s->server.pid = pid;
	s->server.up = now > start ? (long long)(now - start) : -1;
	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((d = readdir(dir)) != NULL && s->nroles < OPS_STATUS_ROLES) {
		struct ops_status_proc *r = &s->roles[s->nroles];
		int child = atoi(d->d_name);

		if (child <= 0 || ops_status_stat(child, &ppid, &start,
		    r->name, sizeof(r->name)) < 0 || ppid != pid)
			continue;
		r->pid = child;
		r->up = now > start ? (long long)(now - start) : -1;
		s->nroles++;
	}
	closedir(dir);
}

static void
ops_status_dest_add(const char *domain, struct ops_status_dest *all,
    size_t *nall, size_t cap)
{
	for (size_t i = 0; i < *nall; i++)
		if (strcmp(all[i].domain, domain) == 0) {
			all[i].n++;
			return;
		}
	if (*nall == cap)
		return;
	str_lcpy(all[*nall].domain, domain, sizeof(all[*nall].domain));
	all[(*nall)++].n = 1;
}

static void
ops_status_held_add(struct ops_status_info *s, const struct spool_env *e,
    time_t now)
{
	struct ops_status_held *h;

	s->held_messages++;
	if (s->nheld_msgs == OPS_STATUS_HELD)
		return;
	h = &s->held_msgs[s->nheld_msgs++];
	str_lcpy(h->id, e->id, sizeof(h->id));
	h->sender = xstrdup(e->sender);
	h->reason = e->hold_reason != NULL ? xstrdup(e->hold_reason) : NULL;
	h->age = (long long)(now - e->arrival);
}

/* The envelope's counts into s and its pending recipients' domains
 * into all. */
static void
ops_status_env(struct ops_status_info *s, const struct spool_env *e,
    time_t now, struct ops_status_dest *all, size_t *nall)
{
	s->messages++;
	if (s->oldest < 0 || (long long)(now - e->arrival) > s->oldest)
		s->oldest = (long long)(now - e->arrival);
	if (e->held)
		ops_status_held_add(s, e, now);
	for (size_t k = 0; k < e->nrcpts; k++) {
		const struct spool_rcpt *r = &e->rcpts[k];
		const char *at = strrchr(r->addr, '@');

		if (r->state == SPOOL_RCPT_FAILED)
			s->failed++;
		if (r->state != SPOOL_RCPT_PENDING)
			continue;
		if (e->held)
			s->held++;
		else
			s->pending++;
		ops_status_dest_add(r->local ? "local" : at != NULL ? at + 1 :
		    "?", all, nall, OPS_STATUS_DEST_CAP);
	}
}

static void
ops_status_queue(const struct ops_actor *a, const struct conf *c,
    struct ops_status_info *s)
{
	struct ops_status_dest *all;
	char spool[PATH_MAX];
	struct ops_queue_list l;
	struct ops_status st;
	time_t now = time(NULL);
	size_t nall = 0;

	s->oldest = -1;
	if (conf_state_path(c, spool, sizeof(spool), FERRY_SPOOL_DIR) < 0 ||
	    ops_queue_list(a, spool, &l, &st) < 0) {
		s->queue_error = "spool unreadable";
		return;
	}
	all = xcalloc(OPS_STATUS_DEST_CAP, sizeof(*all));
	for (size_t i = 0; i < l.n; i++)
		ops_status_env(s, &l.envs[i], now, all, &nall);
	ops_queue_list_free(&l);
	/* The busiest few. */
	for (size_t k = 0; k < OPS_STATUS_DESTS && k < nall; k++) {
		size_t best = k;

		for (size_t i = k + 1; i < nall; i++)
			if (all[i].n > all[best].n)
				best = i;
		s->dests[k] = all[best];
		all[best] = all[k];
		s->ndests++;
	}
	free(all);
}

static void
ops_status_ban_cb(const struct store_ban *b, void *ctx)
{
	(*(long long *)ctx)++;
}

static void
ops_status_hold_cb(const struct store_send_hold *h, void *ctx)
{
	struct ops_status_info *s = ctx;

	if (s->nsend_holds == OPS_STATUS_ABUSE_MAX)
		return;
	s->send_holds = xreallocarray(s->send_holds, s->nsend_holds + 1,
	    sizeof(*s->send_holds));
	s->send_holds[s->nsend_holds++] = *h;
}

struct ops_status_doms {
	char **v;
	size_t n;
};

static void
ops_status_domain_cb(const char *domain, void *ctx)
{
	struct ops_status_doms *d = ctx;

	d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = xstrdup(domain);
}

/* Suspended domains: the store answers per domain. */
static int
ops_status_suspended(struct store *st, struct ops_status_info *s)
{
	struct ops_status_doms d = { NULL, 0 };
	const char *error;
	int64_t since;
	int r = store_domain_list(st, ops_status_domain_cb, &d, &error);

	for (size_t i = 0; i < d.n; i++) {
		if (r == 0 && s->nsuspended < OPS_STATUS_ABUSE_MAX &&
		    store_domain_suspended(st, d.v[i], &since) == 1) {
			s->suspended = xreallocarray(s->suspended,
			    s->nsuspended + 1, sizeof(*s->suspended));
			str_lcpy(s->suspended[s->nsuspended].domain, d.v[i],
			    sizeof(s->suspended[0].domain));
			s->suspended[s->nsuspended++].since = since;
		}
		free(d.v[i]);
	}
	free(d.v);
	return r;
}

static void
ops_status_store(const struct conf *c, struct store *given,
    struct ops_status_info *s)
{
	struct store *st = given;
	const char *error;
	char db[PATH_MAX];

	s->bans = -1;
	if (st == NULL && (conf_store_path(c, db, sizeof(db)) < 0 ||
	    (c->store[0] == '\0' && access(db, R_OK) < 0) ||
	    store_open(&st, db, &error) < 0))
		return;
	s->bans = 0;
	if (store_ban_list(st, (int64_t)time(NULL), ops_status_ban_cb,
	    &s->bans, &error) < 0)
		s->bans = -1;
	s->abuse_known = store_send_hold_list(st, ops_status_hold_cb, s,
	    &error) == 0 && ops_status_suspended(st, s) == 0;
	if (given == NULL)
		store_close(&st);
}

/* The last warning and error lines of the log's tail. */
static void
ops_status_errors(const struct conf *c, struct ops_status_info *s)
{
	const char *path = c->log_file;
	char buf[8192];
	struct fbuf b;
	struct stat sb;
	off_t from;
	ssize_t n;
	int fd;

	if (path[0] == '\0' || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return;
	}
	from = sb.st_size > OPS_STATUS_LOG_TAIL ?
	    sb.st_size - OPS_STATUS_LOG_TAIL : 0;
	fbuf_init(&b, 0);
	while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
		fbuf_add(&b, buf, (size_t)n);
		from += n;
	}
	close(fd);
	for (char *line = b.data, *nl; line != NULL && *line != '\0';
	    line = nl != NULL ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strstr(line, "]: warning: ") == NULL &&
		    strstr(line, "]: error: ") == NULL)
			continue;
		if (s->nerrors == OPS_STATUS_ERRORS) {
			free(s->errors[0]);
			memmove(s->errors, s->errors + 1,
			    (OPS_STATUS_ERRORS - 1) * sizeof(char *));
			s->nerrors--;
		}
		s->errors[s->nerrors++] = xstrdup(line);
	}
	fbuf_release(&b);
}

static void
ops_status_dns(struct ops_status_info *s)
{
	for (size_t r = 0; r < METRICS_RESOLVER_N; r++)
		for (size_t k = 0; k < METRICS_DNS_RESULT_N; k++)
			s->dns[r][k] = metrics_get(&metrics_shm->dns[r][k]);
	s->dns_known = true;
}

int
ops_status_gather(const struct ops_actor *a, const struct conf *conf,
    struct store *s, bool with_dns, struct ops_status_info *out,
    struct ops_status *st)
{
	memset(out, 0, sizeof(*out));
	out->oldest = -1;
	out->bans = -1;
	if (ops_check_admin(a, "status", st) < 0)
		return -1;
	ops_status_procs(conf, out);
	ops_status_queue(a, conf, out);
	ops_status_store(conf, s, out);
	ops_status_errors(conf, out);
	if (with_dns)
		ops_status_dns(out);
	return ops_ok(st);
}

void
ops_status_info_free(struct ops_status_info *info)
{
	for (size_t i = 0; i < info->nerrors; i++)
		free(info->errors[i]);
	for (size_t i = 0; i < info->nheld_msgs; i++) {
		free(info->held_msgs[i].sender);
		free(info->held_msgs[i].reason);
	}
	free(info->send_holds);
	free(info->suspended);
	memset(info, 0, sizeof(*info));
}

void
ops_status_span(char *dst, size_t size, long long secs)
{
	if (secs < 0)
		snprintf(dst, size, "?");
	else if (secs < 120)
		snprintf(dst, size, "%llds", secs);
	else if (secs < 7200)
		snprintf(dst, size, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(dst, size, "%lldh%lldm", secs / 3600,
		    secs % 3600 / 60);
	else
		snprintf(dst, size, "%lldd%lldh", secs / 86400,
		    secs % 86400 / 3600);
}
