/* The queue role's control socket (queue_control.h): parses the verb and
 * its arguments on the loop, runs the operation (ops_queue.h) on the
 * pool, then on the loop wakes the changed messages, logs and answers.
 * The request's own checks (verb, id present) answer at once.
 *
 * Every verb also takes "as" and "scope" (ops_queue_actor_args): the
 * admin role's pages act for a postmaster that way, and the operations
 * check its scope.  A request with "as" gets error bodies that start with
 * the ops_code as a decimal and a space, so the page can answer 403 or
 * 404; the CLI sends neither and gets the plain text it always did. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "net/control.h"
#include "net/dns.h"
#include "ops/ops_queue.h"
#include "queue/queue_control.h"
#include "queue/queue_history.h"
#include "queue/queue_stale.h"
#include "queue/spool.h"
#include "store/store.h"

enum queue_control_verb {
	QC_LIST, QC_SHOW, QC_DELETE, QC_HOLD, QC_RELEASE, QC_BOUNCE, QC_RETRY,
	QC_HOLD_USER, QC_RELEASE_USER
};

static const char *queue_control_verbs[] = {
	"list", "show", "delete", "hold", "release", "bounce", "retry",
	"hold-user", "release-user"
};

struct queue_control {
	struct control_server *srv;
	struct workpool *pool;
	queue_control_wake_fn *wake;
	void *ctx;
	char spool_dir[PATH_MAX];
	struct queue_history *hist;	/* NULL: operator changes unrecorded */
	const struct conf *const *confp;
	struct dns *dns;		/* serve-stale answers; NULL: none */
};

struct queue_control_job {
	struct queue_control *qc;
	struct control_request *req;
	enum queue_control_verb verb;
	char id[80];			/* "" when the verb takes none */
	char domain[256];		/* retry domain=, "" for none */
	bool all;
	char user[320];			/* hold-user, release-user */
	char reason[256];		/* hold-user */
	char as[320];			/* "" for the CLI */
	char scope[1024];
	bool has_as, has_scope;
	const struct conf *conf;	/* a reference, with qc->hist */
	size_t nargs;			/* arguments besides as and scope */
	/* out */
	struct ops_status st;
	struct ops_queue_ids wake;
	struct fbuf body;
};

static void
queue_control_list(struct queue_control_job *j, const struct ops_actor *a)
{
	struct ops_queue_list l;

	if (ops_queue_list(a, j->qc->spool_dir, &l, &j->st) == 0)
		ops_queue_wire_list(&l, &j->body);
	ops_queue_list_free(&l);
}

static void
queue_control_show(struct queue_control_job *j, const struct ops_actor *a)
{
	struct ops_queue_msg m;

	if (ops_queue_show(a, j->qc->spool_dir, j->id, &m, &j->st) == 0)
		ops_queue_wire_msg(&m, &j->body);
	ops_queue_msg_free(&m);
}

static void
queue_control_retry(struct queue_control_job *j, const struct ops_actor *a)
{
	struct ops_queue_retry rt = { NULL, NULL, 0, 0, 0 };

	if (!j->all && j->domain[0] == '\0')
		rt.id = j->id;
	else if (j->domain[0] != '\0')
		rt.domain = j->domain;
	if (ops_queue_retry(a, j->qc->spool_dir, &rt, &j->wake, &j->st) < 0)
		return;
	ops_queue_wire_count(&j->body, "matched", rt.matched);
	ops_queue_wire_count(&j->body, "messages", rt.messages);
	ops_queue_wire_count(&j->body, "held", rt.held);
}

/* Worker thread. */
/* The history of an operator's change: each recipient that was pending
 * in before and is no longer (after NULL: the message was deleted). */
static void
queue_control_record(struct queue_control_job *j, const struct ops_actor *a,
    const struct spool_env *before, const struct spool_env *after)
{
	struct store_hist_attempt *v;
	size_t n = queue_history_operator(j->conf, a->name, before, after, &v);

	for (size_t i = 0; i < n; i++)
		queue_history_attempt(j->qc->hist, j->conf, &v[i]);
	free(v);
}

static void
queue_control_work(void *arg)
{
	struct queue_control_job *j = arg;
	const char *dir = j->qc->spool_dir;
	const char *doms[64];
	struct spool_env env, after;
	struct ops_actor a;
	bool have;
	size_t n;

	if (ops_queue_actor_parse(j->has_as ? j->as : NULL, j->has_scope ?
	    j->scope : NULL, doms, sizeof(doms) / sizeof(doms[0]), &a) < 0) {
		ops_fail(&j->st, OPS_EINVAL, "malformed scope");
		return;
	}
	if (!j->has_as)
		a.name = "control";
	/* A delivery running meanwhile writes its results under the same
	 * lock, re-reading the envelope (queue_role.c).  Listings need
	 * no lock: each envelope is replaced atomically. */
	if (j->verb != QC_LIST && j->verb != QC_SHOW)
		spool_env_lock();
	switch (j->verb) {
	case QC_LIST:
		queue_control_list(j, &a);
		break;
	case QC_SHOW:
		queue_control_show(j, &a);
		break;
	case QC_DELETE:
		if (j->conf == NULL || spool_env_read(dir, j->id, &env) < 0) {
			ops_queue_delete(&a, dir, j->id, &j->st);
			break;
		}
		if (ops_queue_delete(&a, dir, j->id, &j->st) == 0)
			queue_control_record(j, &a, &env, NULL);
		spool_env_free(&env);
		break;
	case QC_HOLD:
	case QC_RELEASE:
		ops_queue_hold(&a, dir, j->id, j->verb == QC_HOLD, &j->wake,
		    &j->st);
		break;
	case QC_BOUNCE:
		have = j->conf != NULL && spool_env_read(dir, j->id, &env) == 0;
		if (ops_queue_bounce(&a, dir, j->id, &n, &j->wake,
		    &j->st) == 0) {
			ops_queue_wire_count(&j->body, "bounced", n);
			if (have && spool_env_read(dir, j->id, &after) == 0) {
				queue_control_record(j, &a, &env, &after);
				spool_env_free(&after);
			}
		}
		if (have)
			spool_env_free(&env);
		break;
	case QC_RETRY:
		queue_control_retry(j, &a);
		break;
	case QC_HOLD_USER:
	case QC_RELEASE_USER:
		if (ops_queue_hold_user(&a, dir, j->user,
		    j->verb == QC_HOLD_USER, j->reason, &n, &j->wake,
		    &j->st) == 0)
			ops_queue_wire_count(&j->body, "changed", n);
		break;
	}
	if (j->verb != QC_LIST && j->verb != QC_SHOW)
		spool_env_unlock();
}

/* Loop thread. */
static void
queue_control_done(void *arg)
{
	struct queue_control_job *j = arg;
	bool ok = j->st.code == OPS_OK;

	for (size_t i = 0; ok && i < j->wake.n; i++)
		j->qc->wake(j->wake.v[i], j->qc->ctx);
	if (ok && j->wake.n > 0)
		j->qc->wake(NULL, j->qc->ctx);
	log_info("%s queue control verb=%s%s%s result=%s%s%s",
	    j->id[0] != '\0' ? log_q(j->id) : "-",
	    queue_control_verbs[j->verb], j->has_as ? " as=" : "",
	    j->has_as ? log_q(j->as) : "", ok ? "ok" : "error",
	    ok ? "" : " reason=", ok ? "" : log_q(j->st.text));
	if (ok)
		control_reply(j->req, CONTROL_OK, j->body.data, j->body.len);
	else if (j->has_as)
		control_replyf(j->req, CONTROL_ERROR, "%d %s", (int)j->st.code,
		    j->st.text);
	else
		control_reply(j->req, CONTROL_ERROR, j->st.text,
		    strlen(j->st.text));
	ops_queue_ids_free(&j->wake);
	fbuf_release(&j->body);
	conf_unref(&j->conf);
	free(j);
}

static int
queue_control_verb(const char *s, enum queue_control_verb *v)
{
	for (size_t i = 0; i < sizeof(queue_control_verbs) /
	    sizeof(queue_control_verbs[0]); i++) {
		if (strcmp(s, queue_control_verbs[i]) == 0) {
			*v = (enum queue_control_verb)i;
			return 0;
		}
	}
	return -1;
}

/* hold-user user= reason=, release-user user=. */
static const char *
queue_control_user_args(struct queue_control_job *j,
    struct control_request *req)
{
	const char *user = control_request_arg(req, "user");
	const char *reason = control_request_arg(req, "reason");
	size_t want = j->verb == QC_HOLD_USER ? 2 : 1;

	if (user == NULL || j->nargs != want ||
	    (j->verb == QC_HOLD_USER && reason == NULL))
		return j->verb == QC_HOLD_USER ? "hold-user needs user= and "
		    "reason=" : "release-user needs user=";
	if (str_lcpy(j->user, user, sizeof(j->user)) >= sizeof(j->user) ||
	    (reason != NULL && str_lcpy(j->reason, reason,
	    sizeof(j->reason)) >= sizeof(j->reason)))
		return "argument too long";
	if (j->verb == QC_HOLD_USER && strncmp(j->reason,
	    OPS_QUEUE_SEND_HOLD, strlen(OPS_QUEUE_SEND_HOLD)) != 0)
		return "the reason must start with " OPS_QUEUE_SEND_HOLD;
	str_lcpy(j->id, j->user, sizeof(j->id));	/* for the log line */
	return NULL;
}

/* Checks the arguments for j->verb and copies them into j.  NULL, or the
 * reason to refuse the request. */
static const char *
queue_control_args(struct queue_control_job *j, struct control_request *req)
{
	const struct control_msg *m = control_request_msg(req);
	const char *id = control_request_arg(req, "id");
	const char *domain = control_request_arg(req, "domain");
	const char *all = control_request_arg(req, "all");
	const char *as = control_request_arg(req, "as");
	const char *scope = control_request_arg(req, "scope");

	j->has_as = as != NULL;
	j->has_scope = scope != NULL;
	j->nargs = m->nargs - j->has_as - j->has_scope;
	if ((as != NULL && str_lcpy(j->as, as, sizeof(j->as)) >=
	    sizeof(j->as)) || (scope != NULL && str_lcpy(j->scope, scope,
	    sizeof(j->scope)) >= sizeof(j->scope)))
		return "as or scope too long";
	if (j->verb == QC_LIST)
		return j->nargs == 0 ? NULL : "list takes no arguments";
	if (j->verb == QC_HOLD_USER || j->verb == QC_RELEASE_USER)
		return queue_control_user_args(j, req);
	if (j->verb == QC_RETRY && id == NULL) {
		if ((domain == NULL) == (all == NULL) || j->nargs != 1 ||
		    (all != NULL && strcmp(all, "1") != 0))
			return "retry needs id=ID, all=1 or domain=DOMAIN";
		j->all = all != NULL;
		if (domain != NULL && str_lcpy(j->domain, domain,
		    sizeof(j->domain)) >= sizeof(j->domain))
			return "domain too long";
		return NULL;
	}
	if (id == NULL || j->nargs != 1)
		return "this verb takes exactly one argument, id=ID";
	str_lcpy(j->id, id, sizeof(j->id));	/* longer is no id anyway */
	return NULL;
}

/* stale name=NAME type=MX|A|AAAA, answered on the loop (the resolver
 * lives there): the serve-stale answer the relay would use now
 * (queue_stale.h). */
static void
queue_control_stale(struct queue_control *qc, struct control_request *req)
{
	const char *name = control_request_arg(req, "name");
	const char *ts = control_request_arg(req, "type");
	int type = ts != NULL ? dns_type_parse(ts) : -1;
	struct dns_result r;
	struct fbuf b;

	if (name == NULL || control_request_msg(req)->nargs != 2 ||
	    (type != DNS_T_MX && type != DNS_T_A && type != DNS_T_AAAA)) {
		log_info("- queue control verb=stale result=error "
		    "reason=bad-arguments");
		control_replyf(req, CONTROL_ERROR, "stale takes name=NAME and "
		    "type=MX, A or AAAA");
		return;
	}
	if (qc->dns == NULL || !dns_stale_peek(qc->dns, name, type, &r)) {
		log_info("- queue control verb=stale name=%s type=%s "
		    "result=none", log_q(name), dns_type_str(type));
		control_replyf(req, CONTROL_ERROR, "no stale answer");
		return;
	}
	log_info("- queue control verb=stale name=%s type=%s result=ok "
	    "age=%llus", log_q(name), dns_type_str(type),
	    (unsigned long long)r.stale_age);
	fbuf_init(&b, 0);
	queue_stale_format(&r, type, &b);
	control_reply(req, CONTROL_OK, b.data, b.len);
	fbuf_release(&b);
	free(r.rr);
}

static void
queue_control_handler(struct control_request *req, void *ctx)
{
	struct queue_control *qc = ctx;
	struct queue_control_job *j;
	const char *verb = control_request_verb(req), *why;

	if (strcmp(verb, "stale") == 0) {
		queue_control_stale(qc, req);
		return;
	}
	j = xcalloc(1, sizeof(*j));

	if (queue_control_verb(verb, &j->verb) < 0) {
		log_info("- queue control verb=%s result=error "
		    "reason=unknown-verb", log_q(verb));
		control_replyf(req, CONTROL_ERROR, "unknown verb %s (want "
		    "list, show, delete, hold, release, bounce, retry, "
		    "hold-user, release-user or stale)", verb);
		free(j);
		return;
	}
	if ((why = queue_control_args(j, req)) != NULL) {
		log_info("- queue control verb=%s result=error reason=%s",
		    verb, log_q(why));
		control_replyf(req, CONTROL_ERROR, "%s", why);
		free(j);
		return;
	}
	j->qc = qc;
	j->req = req;
	if (qc->hist != NULL && qc->confp != NULL && *qc->confp != NULL &&
	    (j->verb == QC_DELETE || j->verb == QC_BOUNCE))
		j->conf = conf_ref(*qc->confp);
	fbuf_init(&j->body, 0);
	workpool_submit(qc->pool, queue_control_work, queue_control_done, j);
}

int
queue_control_start(struct queue_control **qcp, struct event_base *base,
    struct workpool *pool, const char *state_dir, const char *spool_dir,
    queue_control_wake_fn *wake, void *ctx, const char **error_r)
{
	struct queue_control *qc = xcalloc(1, sizeof(*qc));
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", state_dir,
	    QUEUE_CONTROL_SOCK);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		*error_r = "socket path too long";
		free(qc);
		return -1;
	}
	qc->pool = pool;
	qc->wake = wake;
	qc->ctx = ctx;
	str_lcpy(qc->spool_dir, spool_dir, sizeof(qc->spool_dir));
	if (control_listen(base, path, 0600, queue_control_handler, qc,
	    &qc->srv, error_r) < 0) {
		free(qc);
		return -1;
	}
	*qcp = qc;
	return 0;
}

void
queue_control_set_history(struct queue_control *qc,
    struct queue_history *h, const struct conf *const *confp)
{
	qc->hist = h;
	qc->confp = confp;
}

void
queue_control_set_dns(struct queue_control *qc, struct dns *dns)
{
	qc->dns = dns;
}

void
queue_control_stop(struct queue_control **qcp)
{
	struct queue_control *qc = *qcp;

	if (qc == NULL)
		return;
	*qcp = NULL;
	control_server_free(&qc->srv);
	free(qc);
}
