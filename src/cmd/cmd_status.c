/* `ferry status [--json]`: what an operator looks at first.  Whether the
 * server runs (state_dir/ferry.pid) and its roles with their uptimes
 * (the supervisor's children in /proc), the configured listeners, the
 * queue by state and by destination, the bans in force, the resolvers,
 * and the last warnings and errors of log_file.  Read-only: it asks
 * nobody and changes nothing, so it works with the server stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_queue.h"
#include "store/store.h"

#define CMD_STATUS_USAGE "status [--json]"
#define CMD_STATUS_ROLES 8
#define CMD_STATUS_DESTS 5
#define CMD_STATUS_ERRORS 5
#define CMD_STATUS_LOG_TAIL (256 * 1024)

struct cmd_status_proc {
	int pid;
	char name[32];
	long long up;			/* seconds, -1 unknown */
};

struct cmd_status_dest {
	char domain[256];
	size_t n;
};

struct cmd_status {
	struct cmd_status_proc server;	/* pid 0: not running */
	struct cmd_status_proc roles[CMD_STATUS_ROLES];
	size_t nroles;
	size_t messages, pending, held, failed;
	struct cmd_status_dest dests[CMD_STATUS_DESTS];
	size_t ndests;
	long long oldest;		/* seconds, -1 when empty */
	long long bans;			/* -1: store unreadable */
	char *errors[CMD_STATUS_ERRORS];
	size_t nerrors;
	const char *queue_error;
};

/* /proc/PID/stat: ppid and the start time in seconds since boot. */
static int
cmd_status_stat(int pid, int *ppid_r, double *start_r, char *comm,
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
cmd_status_uptime(void)
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
cmd_status_procs(const struct cli *cli, struct cmd_status *s)
{
	char path[PATH_MAX], buf[32];
	double start, now = cmd_status_uptime();
	struct dirent *d;
	DIR *dir;
	FILE *f;
	int pid = 0, ppid;

	if (conf_state_path(&cli->conf, path, sizeof(path),
	    FERRY_PID_FILE) < 0 || (f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL)
		pid = atoi(buf);
	fclose(f);
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM) ||
	    cmd_status_stat(pid, &ppid, &start, s->server.name,
	    sizeof(s->server.name)) < 0)
		return;
	s->server.pid = pid;
	s->server.up = now > start ? (long long)(now - start) : -1;
	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((d = readdir(dir)) != NULL && s->nroles < CMD_STATUS_ROLES) {
		struct cmd_status_proc *r = &s->roles[s->nroles];
		int child = atoi(d->d_name);

		if (child <= 0 || cmd_status_stat(child, &ppid, &start,
		    r->name, sizeof(r->name)) < 0 || ppid != pid)
			continue;
		r->pid = child;
		r->up = now > start ? (long long)(now - start) : -1;
		s->nroles++;
	}
	closedir(dir);
}

static void
cmd_status_dest_add(struct cmd_status *s, const char *domain,
    struct cmd_status_dest *all, size_t *nall, size_t cap)
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
cmd_status_queue(const struct cli *cli, struct cmd_status *s)
{
	struct cmd_status_dest *all;
	char spool[PATH_MAX];
	struct ops_queue_list l;
	struct ops_status st;
	struct ops_actor a;
	time_t now = time(NULL);
	size_t nall = 0;

	s->oldest = -1;
	ops_actor_cli(&a);
	if (conf_state_path(&cli->conf, spool, sizeof(spool),
	    FERRY_SPOOL_DIR) < 0 || ops_queue_list(&a, spool, &l, &st) < 0) {
		s->queue_error = "spool unreadable";
		return;
	}
	all = xcalloc(1024, sizeof(*all));
	for (size_t i = 0; i < l.n; i++) {
		const struct spool_env *e = &l.envs[i];

		s->messages++;
		if (s->oldest < 0 || (long long)(now - e->arrival) > s->oldest)
			s->oldest = (long long)(now - e->arrival);
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
			cmd_status_dest_add(s, r->local ? "local" : at != NULL ?
			    at + 1 : "?", all, &nall, 1024);
		}
	}
	ops_queue_list_free(&l);
	/* The busiest few. */
	for (size_t k = 0; k < CMD_STATUS_DESTS && k < nall; k++) {
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
cmd_status_ban_cb(const struct store_ban *b, void *ctx)
{
	(*(long long *)ctx)++;
}

static void
cmd_status_bans(struct cli *cli, struct cmd_status *s)
{
	struct store *st;
	const char *error;
	char db[PATH_MAX];

	s->bans = -1;
	if (conf_store_path(&cli->conf, db, sizeof(db)) < 0 ||
	    (cli->conf.store[0] == '\0' && access(db, R_OK) < 0) ||
	    store_open(&st, db, &error) < 0)
		return;
	s->bans = 0;
	if (store_ban_list(st, (int64_t)time(NULL), cmd_status_ban_cb,
	    &s->bans, &error) < 0)
		s->bans = -1;
	store_close(&st);
}

/* The last warning and error lines of the log's tail. */
static void
cmd_status_errors(const struct cli *cli, struct cmd_status *s)
{
	const char *path = cli->conf.log_file;
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
	from = sb.st_size > CMD_STATUS_LOG_TAIL ?
	    sb.st_size - CMD_STATUS_LOG_TAIL : 0;
	fbuf_init(&b, 0);
	{
		char buf[8192];

		while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
			fbuf_add(&b, buf, (size_t)n);
			from += n;
		}
	}
	close(fd);
	for (char *line = b.data, *nl; line != NULL && *line != '\0';
	    line = nl != NULL ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strstr(line, "]: warning: ") == NULL &&
		    strstr(line, "]: error: ") == NULL)
			continue;
		if (s->nerrors == CMD_STATUS_ERRORS) {
			free(s->errors[0]);
			memmove(s->errors, s->errors + 1,
			    (CMD_STATUS_ERRORS - 1) * sizeof(char *));
			s->nerrors--;
		}
		s->errors[s->nerrors++] = xstrdup(line);
	}
	fbuf_release(&b);
}

static void
cmd_status_span(char *dst, size_t size, long long secs)
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

static const struct {
	const char *name;
	size_t off;
} cmd_status_listeners[] = {
	{ "smtp", offsetof(struct conf, smtp_listen) },
	{ "submission", offsetof(struct conf, submission_listen) },
	{ "submissions", offsetof(struct conf, submissions_listen) },
	{ "pop3", offsetof(struct conf, pop3_listen) },
	{ "pop3s", offsetof(struct conf, pop3s_listen) },
	{ "imap", offsetof(struct conf, imap_listen) },
	{ "imaps", offsetof(struct conf, imaps_listen) },
};

static const struct conf_listen_list *
cmd_status_listen(const struct conf *c, size_t i)
{
	return (const struct conf_listen_list *)(const void *)
	    ((const char *)c + cmd_status_listeners[i].off);
}

static void
cmd_status_text(const struct cli *cli, const struct cmd_status *s)
{
	const struct conf *c = &cli->conf;
	char up[32];

	if (s->server.pid == 0)
		printf("server: not running (state_dir %s)\n", c->state_dir);
	else {
		cmd_status_span(up, sizeof(up), s->server.up);
		printf("server: running pid=%d up %s\n", s->server.pid, up);
	}
	for (size_t i = 0; i < s->nroles; i++) {
		cmd_status_span(up, sizeof(up), s->roles[i].up);
		printf("  role %s pid=%d up %s\n", s->roles[i].name,
		    s->roles[i].pid, up);
	}
	printf("listeners:");
	for (size_t i = 0; i < sizeof(cmd_status_listeners) /
	    sizeof(cmd_status_listeners[0]); i++) {
		const struct conf_listen_list *l = cmd_status_listen(c, i);

		for (size_t k = 0; k < l->n; k++)
			printf(" %s=%s:%s", cmd_status_listeners[i].name,
			    l->v[k].host, l->v[k].port);
	}
	printf("\n");
	if (s->queue_error != NULL)
		printf("queue: %s\n", s->queue_error);
	else {
		cmd_status_span(up, sizeof(up), s->oldest);
		printf("queue: %zu message%s, %zu recipient%s pending, %zu "
		    "held, %zu failed (bounce due)%s%s\n", s->messages,
		    s->messages == 1 ? "" : "s", s->pending,
		    s->pending == 1 ? "" : "s", s->held, s->failed,
		    s->messages > 0 ? ", oldest " : "",
		    s->messages > 0 ? up : "");
		for (size_t i = 0; i < s->ndests; i++)
			printf("  to %s: %zu\n", s->dests[i].domain,
			    s->dests[i].n);
	}
	if (s->bans < 0)
		printf("bans: unknown (no database yet)\n");
	else
		printf("bans: %lld in force\n", s->bans);
	printf("resolvers:");
	if (c->dns_resolvers.n == 0)
		printf(" the system's (/etc/resolv.conf)");
	for (size_t i = 0; i < c->dns_resolvers.n; i++)
		printf(" %s:%s", c->dns_resolvers.v[i].host,
		    c->dns_resolvers.v[i].port);
	printf(" (`ferry check dns NAME` asks them)\n");
	if (c->log_file[0] == '\0')
		printf("last errors: unknown (log_file is not set)\n");
	else if (s->nerrors == 0)
		printf("last errors: none in %s\n", c->log_file);
	else {
		printf("last errors (%s):\n", c->log_file);
		for (size_t i = 0; i < s->nerrors; i++)
			printf("  %s\n", s->errors[i]);
	}
}

static void
cmd_status_json(const struct cli *cli, const struct cmd_status *s)
{
	const struct conf *c = &cli->conf;
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "running");
	json_bool(&j, s->server.pid != 0);
	json_key(&j, "pid");
	if (s->server.pid != 0)
		json_int(&j, s->server.pid);
	else
		json_null(&j);
	json_key(&j, "uptime");
	if (s->server.pid != 0)
		json_int(&j, s->server.up);
	else
		json_null(&j);
	json_key(&j, "roles");
	json_array_begin(&j);
	for (size_t i = 0; i < s->nroles; i++) {
		json_object_begin(&j);
		json_key(&j, "name");
		json_str(&j, s->roles[i].name);
		json_key(&j, "pid");
		json_int(&j, s->roles[i].pid);
		json_key(&j, "uptime");
		json_int(&j, s->roles[i].up);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "listeners");
	json_array_begin(&j);
	for (size_t i = 0; i < sizeof(cmd_status_listeners) /
	    sizeof(cmd_status_listeners[0]); i++) {
		const struct conf_listen_list *l = cmd_status_listen(c, i);

		for (size_t k = 0; k < l->n; k++) {
			json_object_begin(&j);
			json_key(&j, "kind");
			json_str(&j, cmd_status_listeners[i].name);
			json_key(&j, "host");
			json_str(&j, l->v[k].host);
			json_key(&j, "port");
			json_str(&j, l->v[k].port);
			json_object_end(&j);
		}
	}
	json_array_end(&j);
	json_key(&j, "queue");
	json_object_begin(&j);
	json_key(&j, "messages");
	json_uint(&j, s->messages);
	json_key(&j, "pending");
	json_uint(&j, s->pending);
	json_key(&j, "held");
	json_uint(&j, s->held);
	json_key(&j, "failed");
	json_uint(&j, s->failed);
	json_key(&j, "oldest");
	if (s->oldest >= 0)
		json_int(&j, s->oldest);
	else
		json_null(&j);
	json_key(&j, "error");
	json_str(&j, s->queue_error);
	json_key(&j, "destinations");
	json_array_begin(&j);
	for (size_t i = 0; i < s->ndests; i++) {
		json_object_begin(&j);
		json_key(&j, "domain");
		json_str(&j, s->dests[i].domain);
		json_key(&j, "pending");
		json_uint(&j, s->dests[i].n);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_key(&j, "bans");
	if (s->bans >= 0)
		json_int(&j, s->bans);
	else
		json_null(&j);
	json_key(&j, "resolvers");
	json_array_begin(&j);
	for (size_t i = 0; i < c->dns_resolvers.n; i++) {
		char hp[320];

		snprintf(hp, sizeof(hp), "%s:%s", c->dns_resolvers.v[i].host,
		    c->dns_resolvers.v[i].port);
		json_str(&j, hp);
	}
	json_array_end(&j);
	json_key(&j, "last_errors");
	json_array_begin(&j);
	for (size_t i = 0; i < s->nerrors; i++)
		json_str(&j, s->errors[i]);
	json_array_end(&j);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct cmd_status s;
	bool json = cli_take_flag(&argc, argv, "--json");

	if (argc != 1)
		return cli_usage(CMD_STATUS_USAGE);
	if (cli_load_conf(cli) < 0)
		return 1;
	memset(&s, 0, sizeof(s));
	cmd_status_procs(cli, &s);
	cmd_status_queue(cli, &s);
	cmd_status_bans(cli, &s);
	cmd_status_errors(cli, &s);
	if (json)
		cmd_status_json(cli, &s);
	else
		cmd_status_text(cli, &s);
	for (size_t i = 0; i < s.nerrors; i++)
		free(s.errors[i]);
	return 0;
}
