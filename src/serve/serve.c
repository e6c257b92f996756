/* The supervisor (serve.h), started by `ferry serve` (src/cmd/cmd_serve.c
 * only parses the arguments).  It reads the configuration, prepares state_dir, binds every listener,
 * drops privileges, then forks one process per role (smtpd, queue), each
 * running its own event loop (DESIGN.md "Process model").  A role that
 * dies is restarted (with a back-off when it keeps dying); SIGTERM/SIGINT
 * stop the roles gracefully; SIGHUP rereads the configuration and passes
 * the signal on.  Listener changes on reload need a restart (logged). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ferry.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/privdrop.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/rolectl.h"
#include "net/tls.h"
#include "queue/spool.h"
#include "serve/roles.h"
#include "serve/serve.h"
#include "store/store.h"

#define SERVE_STOP_GRACE 15	/* seconds before roles get SIGKILL */

#define SERVE_RELOAD_WAIT 60	/* seconds for a role to answer a reload */

struct serve;

struct serve_role {
	struct serve *sv;
	const char *name;
	int (*main)(struct ferry_env *env);
	pid_t pid;
	time_t started;
	unsigned quick_deaths;
	struct event *restart_ev;
	struct rolectl_client *ctl;	/* requests to the running role */
	bool asked;			/* its reload answer is awaited */
};

struct serve {
	struct ferry_env env;
	struct serve_role roles[4];
	size_t nroles;
	struct event *sig_ev[5];
	struct event *kill_ev;
	char pid_path[PATH_MAX];
	char ctl_path[PATH_MAX];
	struct rolectl_server *ctl;	/* state_dir/serve.sock */
	/* The reload in progress: roles still to answer, the first refusal,
	 * and who asked (NULL: SIGHUP). */
	bool reloading;
	unsigned reload_waiting;
	char reload_error[ROLECTL_LINE_MAX - 64];
	struct rolectl_req *reload_req;
};

/* Set-up errors go to the operator's terminal: "ferry: <message>". */
static int
serve_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
serve_bind_one(const struct conf_listen *l, const char *kind,
    struct ferry_listener *out)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, on = 1, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(l->host, l->port, &hints, &res)) != 0)
		return serve_fail("cannot listen on %s:%s: %s", l->host, l->port,
		    gai_strerror(gai)) * -1;
	errno = EADDRNOTAVAIL;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, 1024) == -1) {
			int saved = errno;

			close(fd);
			fd = -1;
			errno = saved;
		}
	}
	freeaddrinfo(res);
	if (fd == -1) {
		serve_fail("cannot listen on %s:%s: %s", l->host, l->port,
		    strerror(errno));
		return -1;
	}
	out->fd = fd;
	str_lcpy(out->kind, kind, sizeof(out->kind));
	snprintf(out->addr, sizeof(out->addr), "%s:%s", l->host, l->port);
	(void)metrics_listener_add(out->kind, out->addr);
	return 0;
}

static int
serve_bind_all(struct serve *sv)
{
	const struct conf *c = sv->env.conf;
	const struct {
		const char *kind;
		const struct conf_listen_list *l;
	} lists[] = {
		{ "smtp", &c->smtp_listen },
		{ "submission", &c->submission_listen },
		{ "submissions", &c->submissions_listen },
		{ "pop3", &c->pop3_listen },
		{ "pop3s", &c->pop3s_listen },
		{ "imap", &c->imap_listen },
		{ "imaps", &c->imaps_listen },
		{ "admin", &c->admin_listen },
		{ "metrics", &c->metrics_listen },
	};
	size_t total = 0;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		total += lists[i].l->n;
	if (total == 0) {
		serve_fail("%s: no listen address is set (smtp_listen, ...): "
		    "nothing to serve", c->path);
		return -1;
	}
	sv->env.listeners = xcalloc(total, sizeof(*sv->env.listeners));
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (size_t j = 0; j < lists[i].l->n; j++) {
			if (serve_bind_one(&lists[i].l->v[j], lists[i].kind,
			    &sv->env.listeners[sv->env.nlisteners]) < 0)
				return -1;
			sv->env.nlisteners++;
		}
	return 0;
}

/* The maildrop directory of `ferry sendmail` (queue/maildrop.h): owned
 * by run_as, mode 1733 like /tmp without the listing, so that any local
 * user can leave a file there, only its owner can rename or remove it,
 * and nobody but the server can see the names. */
static int
serve_prepare_maildrop(const struct conf *c, uid_t uid, gid_t gid, bool drop)
{
	char path[PATH_MAX], parent[PATH_MAX], *slash;
	struct stat st;

	if (conf_maildrop_path(c, path, sizeof(path)) < 0)
		return serve_fail("maildrop_dir too long") * -1;
	str_lcpy(parent, path, sizeof(parent));
	/* Parents made here (outside state_dir) are searchable by all. */
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (fsio_mkdir_p(parent, 0755) < 0)
			return serve_fail("cannot create %s: %s", parent,
			    strerror(errno)) * -1;
	}
	if ((mkdir(path, 01733) < 0 && errno != EEXIST) || lstat(path, &st) < 0)
		return serve_fail("cannot create %s: %s", path,
		    strerror(errno)) * -1;
	if (!S_ISDIR(st.st_mode))
		return serve_fail("%s is not a directory", path) * -1;
	if (!drop) {
		uid = geteuid();
		gid = getegid();
	}
	/* The queue removes what it took: in a sticky directory only
	 * the directory's owner may remove other users' files. */
	if (st.st_uid != uid && (geteuid() != 0 || chown(path, uid, gid) < 0))
		return serve_fail("%s belongs to uid %u, not to the server's "
		    "uid %u: chown it", path, (unsigned)st.st_uid,
		    (unsigned)uid) * -1;
	/* chmod after mkdir: the umask took bits away. */
	if ((st.st_mode & 07777) != 01733 && chmod(path, 01733) < 0)
		return serve_fail("cannot chmod %s: %s", path,
		    strerror(errno)) * -1;
	return 0;
}

/* The spacing of attempts to reach the database at start (seconds). */
#define SERVE_STORE_WAIT_FIRST 1
#define SERVE_STORE_WAIT_MAX 30

/* Waits up to secs for SIGTERM or SIGINT (blocked by the caller, as are
 * SIGHUP and SIGUSR1, which are taken and ignored here): true when one
 * came. */
static bool
serve_wait_stop(const sigset_t *set, int secs)
{
	struct timespec now, end, left;
	siginfo_t info;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			left.tv_sec = left.tv_nsec = 0;
		sig = sigtimedwait(set, &info, &left);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("- serve stopping signal=%d "
			    "note=\"while waiting for the database\"", sig);
			return true;
		}
		if (sig > 0)
			log_info("- serve signal-ignored signal=%d "
			    "note=\"waiting for the database\"", sig);
		else if (errno == EAGAIN)
			return false;
	}
}

/* Opens (creating or migrating) the database.  A database that does not
 * answer (a PostgreSQL server down or unreachable) is waited for, as no
 * role could serve without it: the reason is logged (the URI with its
 * password masked), then the attempts go on, 1 s apart doubling to 30 s,
 * with nothing listening yet, until it answers or SIGTERM/SIGINT stops
 * the wait (sv->env.stopping).  0, or -1. */
static int
serve_open_store(struct serve *sv, const char *path)
{
	sigset_t set, old;
	struct store *st = NULL;
	const char *error;
	char last[512] = "";
	bool unreachable;
	unsigned attempts = 0;
	int delay = SERVE_STORE_WAIT_FIRST, ret = 0;
	time_t t0 = time(NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		attempts++;
		if (store_open_ex(&st, path, 0, &unreachable, &error) == 0)
			break;
		if (!unreachable) {
			ret = serve_fail("store %s: %s", store_path_label(path),
			    error) * -1;
			break;
		}
		/* Said once, and again when the reason changes. */
		if (strcmp(last, error) != 0) {
			log_warnx("- serve store-unreachable store=%s "
			    "reason=%s retry_in=%ds retry_max=%ds "
			    "note=\"not listening until the database "
			    "answers\"",
			    log_q(store_path_label(path)), log_q(error), delay,
			    SERVE_STORE_WAIT_MAX);
			str_lcpy(last, error, sizeof(last));
		}
		if (serve_wait_stop(&set, delay)) {
			sv->env.stopping = true;
			ret = -1;
			break;
		}
		if ((delay *= 2) > SERVE_STORE_WAIT_MAX)
			delay = SERVE_STORE_WAIT_MAX;
	}
	if (st != NULL) {
		store_close(&st);
		if (attempts > 1)
			log_info("- serve store-reachable store=%s attempts=%u "
			    "waited=%llds", log_q(store_path_label(path)),
			    attempts, (long long)(time(NULL) - t0));
		/* A stop asked for while the last attempt ran. */
		if (serve_wait_stop(&set, 0)) {
			sv->env.stopping = true;
			ret = -1;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* state_dir, spool/, mail/ and the database exist and belong to run_as. */
static int
serve_prepare_state(struct serve *sv, uid_t uid, gid_t gid, bool drop)
{
	const struct conf *c = sv->env.conf;
	char path[PATH_MAX];
	const char *error;

	if (fsio_mkdir_p(c->state_dir, 0750) < 0)
		return serve_fail("cannot create %s: %s", c->state_dir,
		    strerror(errno)) * -1;
	conf_state_path(c, path, sizeof(path), FERRY_SPOOL_DIR);
	if (spool_init(path, &error) < 0)
		return serve_fail("%s: %s", path, error) * -1;
	conf_state_path(c, path, sizeof(path), FERRY_MAIL_DIR);
	if (fsio_mkdir_p(path, 0750) < 0)
		return serve_fail("cannot create %s: %s", path, strerror(errno)) * -1;
	if (conf_store_path(c, path, sizeof(path)) < 0)
		return serve_fail("store path too long") * -1;
	if (serve_open_store(sv, path) < 0)
		return -1;
	if (drop && privdrop_chown_tree(c->state_dir, uid, gid) < 0)
		return serve_fail("cannot give %s to %s: %s", c->state_dir,
		    c->run_as, strerror(errno)) * -1;
	return serve_prepare_maildrop(c, uid, gid, drop);
}

static int
serve_write_pid(struct serve *sv)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	conf_state_path(sv->env.conf, sv->pid_path, sizeof(sv->pid_path),
	    FERRY_PID_FILE);
	if (fsio_replace_file(sv->pid_path, buf, (size_t)n, 0644) < 0)
		return serve_fail("cannot write %s: %s", sv->pid_path,
		    strerror(errno)) * -1;
	return 0;
}

static void
serve_child(struct serve *sv, struct serve_role *r, int fd)
{
	char comm[16];
	int status;

	/* The parent's loop (its epoll set and signal handlers) is not ours:
	 * detach it from the kernel objects it shares with the parent, drop
	 * it, and start with default signal dispositions. */
	event_reinit(sv->env.base);
	event_base_free(sv->env.base);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
	snprintf(comm, sizeof(comm), "ferry-%s", r->name);
	prctl(PR_SET_NAME, comm);
	log_init(r->name, (enum log_level)sv->env.conf->log_level);
	sv->env.role = r->name;
	sv->env.base = NULL;
	sv->env.control_fd = fd;
	status = r->main(&sv->env);
	_exit(status);
}

static void serve_role_answer(const char *reply, void *arg);

/* A role's first start, or a start after it died (metrics.h). */
static void
serve_count_start(struct serve_role *r)
{
	int i = metrics_role_of(r->name);

	if (i < 0)
		return;
	metrics_inc(&metrics_shm->role_starts[i]);
	if (r->started != 0)
		metrics_inc(&metrics_shm->role_restarts[i]);
}

/* SIGHUP, SIGTERM and SIGINT stay blocked in a new role until it has
 * its own handlers (serve_role_ready()): a reload or stop sent while it
 * starts waits for it instead of killing it with the default action. */
static void
serve_start_role(struct serve *sv, struct serve_role *r)
{
	sigset_t block, old;
	pid_t pid;
	int sp[2];

	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("- serve socketpair-failed role=%s", r->name);
		return;
	}
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		log_warn("- serve fork-failed role=%s", r->name);
		close(sp[0]);
		close(sp[1]);
		return;
	}
	if (pid == 0) {
		close(sp[0]);
		serve_child(sv, r, sp[1]);	/* does not return */
	}
	close(sp[1]);
	serve_role_answer(NULL, r);	/* a reload it never answered */
	rolectl_client_free(&r->ctl);
	r->ctl = rolectl_client_new(sv->env.base, sp[0]);
	serve_count_start(r);
	r->pid = pid;
	r->started = time(NULL);
	log_info("- serve role-started role=%s pid=%d", r->name, (int)pid);
}

static void
serve_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	for (size_t i = 0; i < sv->nroles; i++)
		if (sv->roles[i].pid == 0 && !sv->env.stopping)
			serve_start_role(sv, &sv->roles[i]);
}

static void
serve_role_died(struct serve *sv, struct serve_role *r, int status)
{
	struct timeval delay = { 0, 200000 };

	metrics_listeners_dead(r->pid);
	r->pid = 0;
	if (WIFSIGNALED(status))
		log_warnx("- serve role-exited role=%s signal=%d", r->name,
		    WTERMSIG(status));
	else
		log_info("- serve role-exited role=%s status=%d", r->name,
		    WEXITSTATUS(status));
	if (sv->env.stopping)
		return;
	/* A role that keeps dying right after start waits longer each time. */
	if (time(NULL) - r->started < 5) {
		if (r->quick_deaths < 5)
			r->quick_deaths++;
		delay.tv_sec = r->quick_deaths > 2 ? r->quick_deaths : 0;
	} else
		r->quick_deaths = 0;
	event_add(r->restart_ev, &delay);
}

static void
serve_reap(struct serve *sv)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < sv->nroles; i++)
			if (sv->roles[i].pid == pid)
				serve_role_died(sv, &sv->roles[i], status);
	for (size_t i = 0; i < sv->nroles; i++)
		if (sv->roles[i].pid != 0)
			return;
	if (sv->env.stopping)
		event_base_loopexit(sv->env.base, NULL);
}

static void
serve_signal_roles(struct serve *sv, int sig)
{
	for (size_t i = 0; i < sv->nroles; i++)
		if (sv->roles[i].pid > 0)
			kill(sv->roles[i].pid, sig);
}

static void
serve_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("- serve roles-slow-to-stop action=kill");
	serve_signal_roles(arg, SIGKILL);
}

static bool
serve_same_list(const struct conf_listen_list *a,
    const struct conf_listen_list *b)
{
	return a->n == b->n && (a->n == 0 ||
	    memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* Listeners are bound once, before privileges are dropped. */
static bool
serve_same_listeners(const struct conf *a, const struct conf *b)
{
	return serve_same_list(&a->smtp_listen, &b->smtp_listen) &&
	    serve_same_list(&a->submission_listen, &b->submission_listen) &&
	    serve_same_list(&a->submissions_listen, &b->submissions_listen) &&
	    serve_same_list(&a->pop3_listen, &b->pop3_listen) &&
	    serve_same_list(&a->pop3s_listen, &b->pop3s_listen) &&
	    serve_same_list(&a->imap_listen, &b->imap_listen) &&
	    serve_same_list(&a->imaps_listen, &b->imaps_listen) &&
	    serve_same_list(&a->admin_listen, &b->admin_listen) &&
	    serve_same_list(&a->metrics_listen, &b->metrics_listen);
}

static void
serve_reload_done(struct serve *sv)
{
	char line[ROLECTL_LINE_MAX];

	sv->reloading = false;
	if (sv->reload_error[0] != '\0') {
		log_warnx("- serve reload-incomplete reason=%s",
		    log_q(sv->reload_error));
		snprintf(line, sizeof(line), "error %s", sv->reload_error);
	} else {
		log_info("- serve reload-applied config=%s",
		    log_q(sv->env.conf->path));
		if (snprintf(line, sizeof(line), "ok reloaded %s",
		    sv->env.conf->path) >= (int)sizeof(line))
			str_lcpy(line, "ok reloaded", sizeof(line));
	}
	if (sv->reload_req != NULL)
		rolectl_reply(sv->reload_req, line);
	sv->reload_req = NULL;
}

/* A role's answer to "reload" (NULL: none came: it died or hung). */
static void
serve_role_answer(const char *reply, void *arg)
{
	struct serve_role *r = arg;
	struct serve *sv = r->sv;

	if (!r->asked)
		return;
	r->asked = false;
	if (reply == NULL || strncmp(reply, "ok", 2) != 0) {
		if (reply != NULL && strncmp(reply, "error ", 6) == 0)
			reply += 6;
		if (sv->reload_error[0] == '\0')
			snprintf(sv->reload_error, sizeof(sv->reload_error),
			    "%s: %s", r->name, reply != NULL ? reply :
			    "no answer (the role was restarted)");
	}
	if (--sv->reload_waiting == 0)
		serve_reload_done(sv);
}

static void
serve_reload_refuse(struct serve *sv, struct rolectl_req *req,
    const char *why)
{
	char line[ROLECTL_LINE_MAX];

	log_warnx("- serve reload-failed reason=%s", log_q(why));
	snprintf(line, sizeof(line), "error %s", why);
	if (req != NULL)
		rolectl_reply(req, line);
}

/* After log rotation (on reload and SIGUSR1): the roles reopen theirs
 * when they answer a reload or get the signal passed on. */
static void
serve_reopen_log(struct serve *sv)
{
	if (log_reopen() < 0)
		log_warn("- serve log-reopen-failed file=%s",
		    log_q(sv->env.conf->log_file));
	else if (sv->env.conf->log_file[0] != '\0')
		log_info("- serve log-reopened file=%s",
		    log_q(sv->env.conf->log_file));
}

/* Builds and checks the new snapshot (syntax, values, certificates),
 * swaps it in, then has every running role do the same and waits for
 * their answers: req (the `ferry reload` asking, or NULL for SIGHUP) is
 * answered "ok" only when every role applied it.  A role being
 * restarted starts with the new snapshot. */
static void
serve_reload(struct serve *sv, struct rolectl_req *req)
{
	struct conf *fresh;
	const struct conf *old = sv->env.conf, *f;
	struct tls_server *t = NULL;
	const char *error;
	char why[ROLECTL_LINE_MAX - 64];

	serve_reopen_log(sv);
	if (sv->reloading) {
		serve_reload_refuse(sv, req, "a reload is already running");
		return;
	}
	if (conf_snapshot_load(old->path, &fresh, &error) < 0) {
		serve_reload_refuse(sv, req, error);
		return;
	}
	if (tls_server_create(&t, fresh, &error) < 0) {
		if (snprintf(why, sizeof(why), "%s: TLS: %s", fresh->path,
		    error) >= (int)sizeof(why))
			log_debug("- serve reload note=\"reason cut\"");
		f = fresh;
		conf_unref(&f);
		serve_reload_refuse(sv, req, why);
		return;
	}
	tls_server_free(&t);
	if (!serve_same_listeners(fresh, old))
		log_warnx("- serve reload note=\"listen addresses changed: "
		    "restart to apply\"");
	sv->env.conf = fresh;
	conf_unref(&old);
	log_set_level(sv->env.conf->log_level);
	log_info("- serve reloaded config=%s", log_q(sv->env.conf->path));
	sv->reloading = true;
	sv->reload_error[0] = '\0';
	sv->reload_req = req;
	sv->reload_waiting = 1;		/* until every role was asked */
	for (size_t i = 0; i < sv->nroles; i++) {
		struct serve_role *r = &sv->roles[i];

		if (r->pid <= 0 || r->ctl == NULL)
			continue;
		r->asked = true;
		sv->reload_waiting++;
		if (rolectl_client_ask(r->ctl, "reload", SERVE_RELOAD_WAIT,
		    serve_role_answer, r) < 0)
			serve_role_answer(NULL, r);
	}
	if (--sv->reload_waiting == 0)
		serve_reload_done(sv);
}

static void
serve_control_cb(struct rolectl_req *req, const char *line, void *arg)
{
	struct serve *sv = arg;

	if (strcmp(line, "reload") == 0)
		serve_reload(sv, req);
	else
		rolectl_reply(req, "error unknown request");
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	struct timeval grace = { SERVE_STOP_GRACE, 0 };

	switch (sig) {
	case SIGCHLD:
		serve_reap(sv);
		break;
	case SIGHUP:
		serve_reload(sv, NULL);
		break;
	case SIGUSR1:
		serve_reopen_log(sv);
		serve_signal_roles(sv, SIGUSR1);
		break;
	default:
		if (sv->env.stopping)
			break;
		log_info("- serve stopping signal=%d", (int)sig);
		sv->env.stopping = true;
		serve_signal_roles(sv, SIGTERM);
		event_add(sv->kill_ev, &grace);
		serve_reap(sv);
	}
}

static int
serve_drop(struct serve *sv, uid_t *uid, gid_t *gid, bool *drop)
{
	const struct conf *c = sv->env.conf;
	const char *error;

	*drop = false;
	if (geteuid() != 0) {
		if (c->run_as[0] != '\0')
			log_warnx("- serve note=\"run_as ignored: not started "
			    "as root\"");
		return 0;
	}
	if (c->run_as[0] == '\0') {
		log_warnx("- serve warning=\"running as root: set run_as\"");
		return 0;
	}
	if (privdrop_lookup(c->run_as, uid, gid, &error) < 0)
		return serve_fail("%s: run_as %s: %s", c->path, c->run_as,
		    error) * -1;
	*drop = true;
	return 0;
}

/* A broken certificate stops start-up with a clear reason instead of a
 * role that dies and is restarted over and over. */
static int
serve_check_tls(struct serve *sv)
{
	const struct conf *c = sv->env.conf;
	struct tls_server *t = NULL;
	const char *error;

	if (c->tls_cert[0] != '\0' && access(c->tls_cert, R_OK) < 0)
		return serve_fail("%s: tls_cert %s: %s", c->path, c->tls_cert,
		    strerror(errno)) * -1;
	if (c->tls_key[0] != '\0' && access(c->tls_key, R_OK) < 0)
		return serve_fail("%s: tls_key %s: %s", c->path, c->tls_key,
		    strerror(errno)) * -1;
	if (tls_server_create(&t, sv->env.conf, &error) < 0)
		return serve_fail("%s: TLS: %s", sv->env.conf->path, error) * -1;
	tls_server_free(&t);
	return 0;
}

/* The web pages carry passwords and session cookies: without a
 * certificate they are served in clear only on loopback (or when the
 * operator says so, for a TLS-terminating proxy in front). */
static int
serve_check_admin(struct serve *sv)
{
	const struct conf *c = sv->env.conf;

	if (c->tls_cert[0] != '\0' || c->admin_plain_http)
		return 0;
	for (size_t i = 0; i < c->admin_listen.n; i++)
		if (!conf_listen_loopback(&c->admin_listen.v[i]))
			return serve_fail("%s: admin_listen %s:%s needs tls_cert "
			    "(or admin_plain_http = yes behind a TLS proxy): "
			    "passwords would cross the network in clear",
			    c->path, c->admin_listen.v[i].host,
			    c->admin_listen.v[i].port) * -1;
	return 0;
}

static int
serve_setup(struct serve *sv)
{
	static const int sigs[5] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT,
		SIGUSR1 };
	const char *error;
	uid_t uid = 0;
	gid_t gid = 0;
	bool drop;

	/* Before binding (the listener table) and forking (shared). */
	if (metrics_init_shared() < 0)
		log_warn("- serve metrics-unavailable");
	if (serve_drop(sv, &uid, &gid, &drop) < 0 ||
	    serve_check_tls(sv) < 0 ||
	    serve_check_admin(sv) < 0 ||
	    serve_prepare_state(sv, uid, gid, drop) < 0 ||
	    serve_bind_all(sv) < 0)
		return -1;
	if (drop && privdrop_to(sv->env.conf->run_as, uid, gid, &error) < 0)
		return serve_fail("cannot become %s: %s", sv->env.conf->run_as,
		    error) * -1;
	if (serve_write_pid(sv) < 0)
		return -1;
	if (sv->env.conf->log_file[0] != '\0' &&
	    log_set_file(sv->env.conf->log_file) < 0)
		return serve_fail("cannot open log_file %s: %s",
		    sv->env.conf->log_file, strerror(errno)) * -1;
	signal(SIGPIPE, SIG_IGN);
	sv->env.base = event_base_new();
	for (int i = 0; i < 5; i++) {
		sv->sig_ev[i] = evsignal_new(sv->env.base, sigs[i],
		    serve_signal_cb, sv);
		event_add(sv->sig_ev[i], NULL);
	}
	sv->kill_ev = evtimer_new(sv->env.base, serve_kill_cb, sv);
	for (size_t i = 0; i < sv->nroles; i++) {
		sv->roles[i].sv = sv;
		sv->roles[i].restart_ev = evtimer_new(sv->env.base,
		    serve_restart_cb, sv);
	}
	conf_state_path(sv->env.conf, sv->ctl_path, sizeof(sv->ctl_path),
	    FERRY_SERVE_SOCK);
	if (rolectl_listen(&sv->ctl, sv->env.base, sv->ctl_path,
	    serve_control_cb, sv, &error) < 0)
		return serve_fail("cannot listen on %s: %s", sv->ctl_path,
		    error) * -1;
	return 0;
}

static void
serve_free(struct serve *sv)
{
	for (size_t i = 0; i < 5; i++)
		event_free(sv->sig_ev[i]);
	event_free(sv->kill_ev);
	for (size_t i = 0; i < sv->nroles; i++) {
		event_free(sv->roles[i].restart_ev);
		rolectl_client_free(&sv->roles[i].ctl);
	}
	if (sv->reload_req != NULL)
		rolectl_reply(sv->reload_req, "error the server stopped");
	rolectl_server_free(&sv->ctl);
	if (sv->ctl_path[0] != '\0')
		unlink(sv->ctl_path);
	event_base_free(sv->env.base);
	for (size_t i = 0; i < sv->env.nlisteners; i++)
		close(sv->env.listeners[i].fd);
	free(sv->env.listeners);
}

int
serve_run(const char *path)
{
	struct serve sv;
	struct conf *conf;
	const char *error;
	int status;

	/* The supervisor's own snapshot, handed to the roles at fork. */
	if (conf_snapshot_load(path, &conf, &error) < 0)
		return serve_fail("%s", error);
	memset(&sv, 0, sizeof(sv));
	sv.env.conf = conf;
	sv.env.control_fd = -1;
	sv.env.role = "serve";
	sv.roles[0] = (struct serve_role){ .name = "smtpd", .main = smtpd_main };
	sv.roles[1] = (struct serve_role){ .name = "queue", .main = queue_main };
	sv.nroles = 2;
	if (conf->pop3_listen.n + conf->pop3s_listen.n +
	    conf->imap_listen.n + conf->imaps_listen.n > 0)
		sv.roles[sv.nroles++] = (struct serve_role){ .name = "mailbox",
		    .main = mailbox_main };
	if (conf->admin_listen.n + conf->metrics_listen.n > 0)
		sv.roles[sv.nroles++] = (struct serve_role){ .name = "admin",
		    .main = admin_main };
	log_init("serve", (enum log_level)conf->log_level);
	if ((status = serve_setup(&sv) < 0 ? 1 : 0) != 0) {
		/* Stopped while waiting for the database: no failure. */
		if (sv.env.stopping) {
			log_info("- serve stopped");
			status = 0;
		}
		conf_unref(&sv.env.conf);
		return status;
	}
	log_info("- serve starting version=%s config=%s state_dir=%s",
	    FERRY_VERSION, log_q(sv.env.conf->path),
	    log_q(sv.env.conf->state_dir));
	for (size_t i = 0; i < sv.env.nlisteners; i++)
		log_info("- serve listening kind=%s address=%s",
		    sv.env.listeners[i].kind, sv.env.listeners[i].addr);
	for (size_t i = 0; i < sv.nroles; i++)
		serve_start_role(&sv, &sv.roles[i]);
	event_base_dispatch(sv.env.base);
	unlink(sv.pid_path);
	log_info("- serve stopped");
	serve_free(&sv);
	conf_unref(&sv.env.conf);
	return 0;
}

int
serve_running_pid(const struct conf *conf, pid_t *pid_r, char *error,
    size_t size)
{
	char path[PATH_MAX], buf[32];
	int fd;
	ssize_t n;
	long pid;

	conf_state_path(conf, path, sizeof(path), FERRY_PID_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(error, size, "no running server (%s: %s)", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, 0) == -1) {
		snprintf(error, size, "no running server (pid %ld in %s)", pid,
		    path);
		return -1;
	}
	*pid_r = (pid_t)pid;
	return 0;
}

void
serve_role_reply(struct rolectl_req *req, const char *line, int r,
    const char *error)
{
	char buf[ROLECTL_LINE_MAX];

	if (r == 0)
		rolectl_reply(req, "ok");
	else if (error == NULL) {
		log_warnx("- serve control-unknown request=%s", log_q(line));
		rolectl_reply(req, "error unknown request");
	} else {
		snprintf(buf, sizeof(buf), "error %s", error);
		rolectl_reply(req, buf);
	}
}

void
serve_role_ready(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	log_reopen_on_signal(SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* kill(pid, 0) also succeeds for a zombie nobody has reaped yet. */
bool
serve_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool zombie = false;

	if (kill(pid, 0) == -1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		zombie = (p[2] == 'Z');
	fclose(f);
	return !zombie;
}
