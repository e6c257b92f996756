/* The content-scanner gates' skeleton (see scan_gate.h): the message file,
 * the size limit, the failure policy and the job around one scan_conn. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "policy/policy_private.h"
#include "policy/scan_conn.h"
#include "policy/scan_gate.h"

struct scan_gate_job {
	const struct scan_gate *gate;
	struct policy_gate_call *call;
	struct scan_conn *conn;
};

const char *
scan_gate_sid(const struct policy_gate_call *call)
{
	return call->client->session_id != NULL ?
	    call->client->session_id : "-";
}

void
scan_gate_failed(const struct scan_gate *g, struct policy_gate_call *call,
    const char *why)
{
	bool accept = call->conf->scan_failure_accept;

	log_warnx("%s %s scan-failed %s=%s error=%s action=%s",
	    scan_gate_sid(call), g->name, g->name,
	    log_q(g->target(call->conf)), log_q(why),
	    accept ? "accept" : "tempfail");
	if (accept)
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0",
		    "not scanned: %s", why);
	else
		policy_gate_finish(call, POLICY_TEMPFAIL, 451, "4.3.0", "%s",
		    g->unavailable);
}

int
scan_gate_open(const struct scan_gate *g, struct policy_gate_call *call,
    uint64_t *size_r)
{
	const struct policy_client *cl = call->client;
	uint64_t max = call->conf->scan_max_size;
	struct stat st;
	int fd;

	if (cl->data_path == NULL ||
	    (fd = open(cl->data_path, O_RDONLY | O_CLOEXEC)) < 0) {
		scan_gate_failed(g, call, "cannot open the message");
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		scan_gate_failed(g, call, "cannot stat the message");
		return -1;
	}
	/* The file may be longer than the message: a recycled spool file
	 * keeps an older message's bytes after the end (spool.c). */
	*size_r = (uint64_t)st.st_size;
	if (cl->data_size > 0 && cl->data_size < *size_r)
		*size_r = cl->data_size;
	if (max > 0 && *size_r > max) {
		close(fd);
		log_info("%s %s not-scanned size=%llu scan_max_size=%llu",
		    scan_gate_sid(call), g->name,
		    (unsigned long long)*size_r, (unsigned long long)max);
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0",
		    "not scanned: larger than scan_max_size");
		return -1;
	}
	return fd;
}

static void
scan_gate_done(const char *reply, size_t len, const char *error, void *arg)
{
	struct scan_gate_job *job = arg;
	const struct scan_gate *g = job->gate;
	struct policy_gate_call *call = job->call;

	free(job);
	if (error != NULL)
		scan_gate_failed(g, call, error);
	else
		g->done(call, reply, len);
}

void *
scan_gate_start(const struct scan_gate *g, struct policy_gate_call *call,
    struct scan_conn_req *req)
{
	struct scan_gate_job *job;

	req->target = g->target(call->conf);
	req->timeout_secs = g->timeout_secs;
	req->reply_max = g->reply_max;
	job = xcalloc(1, sizeof(*job));
	job->gate = g;
	job->call = call;
	job->conn = scan_conn_start(call->base, call->dns, req,
	    scan_gate_done, job);
	return job;
}

void
scan_gate_abort(void *arg)
{
	struct scan_gate_job *job = arg;

	scan_conn_abort(&job->conn);
	free(job);
}
