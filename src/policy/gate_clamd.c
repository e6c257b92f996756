/* The clamd check (DATA stage): the spooled message is streamed to clamd
 * (`clamd = HOST:PORT | /path/socket`) with the INSTREAM command
 * ("zINSTREAM\0", chunks of <4-byte big-endian length><data>, a zero-length
 * chunk to end) and clamd answers "stream: OK" or "stream: NAME FOUND".
 *   infected                 -> 554 5.7.1 "Message rejected: virus NAME found"
 *   clean                    -> accept
 *   clamd down, timeout, ERROR -> 451 4.3.0, or accept (logged) with
 *                               scan_failure = accept
 *   larger than scan_max_size -> not scanned, accepted (logged);
 *                               scan_max_size = 0 scans everything
 * clamd's own StreamMaxLength (25M by default) must not be below
 * scan_max_size, or larger messages get clamd's size ERROR (a failure). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "policy/policy_private.h"
#include "policy/scan_conn.h"

#define GATE_CLAMD_TIMEOUT 120		/* seconds for the whole scan */
#define GATE_CLAMD_REPLY_MAX 4096

struct gate_clamd_job {
	struct policy_gate_call *call;
	struct scan_conn *conn;
};

static void gate_clamd_done(const char *reply, size_t len, const char *error,
    void *arg);

static bool
gate_clamd_enabled(const struct conf *c)
{
	return c->clamd[0] != '\0';
}

static const char *
gate_clamd_sid(const struct policy_gate_call *call)
{
	return call->client->session_id != NULL ?
	    call->client->session_id : "-";
}

/* The scanner could not give an answer: 451 4.3.0, or accept when the
 * operator prefers unscanned mail to delayed mail. */
static void
gate_clamd_failed(struct policy_gate_call *call, const char *why)
{
	bool accept = call->conf->scan_failure_accept;

	log_warnx("%s clamd scan-failed clamd=%s error=%s action=%s",
	    gate_clamd_sid(call), log_q(call->conf->clamd), log_q(why),
	    accept ? "accept" : "tempfail");
	if (accept)
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0",
		    "not scanned: %s", why);
	else
		policy_gate_finish(call, POLICY_TEMPFAIL, 451, "4.3.0",
		    "Virus scanner temporarily unavailable, try again later");
}

/* Opens the message for scanning: the fd, or -1 after finishing the
 * check (message too large to scan, or not readable). */
static int
gate_clamd_open(struct policy_gate_call *call, uint64_t *size_r)
{
	const struct policy_client *cl = call->client;
	uint64_t max = call->conf->scan_max_size;
	struct stat st;
	int fd;

	if (cl->data_path == NULL ||
	    (fd = open(cl->data_path, O_RDONLY | O_CLOEXEC)) < 0) {
		gate_clamd_failed(call, "cannot open the message");
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		gate_clamd_failed(call, "cannot stat the message");
		return -1;
	}
	*size_r = (uint64_t)st.st_size;
	if (max > 0 && *size_r > max) {
		close(fd);
		log_info("%s clamd not-scanned size=%llu scan_max_size=%llu",
		    gate_clamd_sid(call), (unsigned long long)*size_r,
		    (unsigned long long)max);
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0",
		    "not scanned: larger than scan_max_size");
		return -1;
	}
	return fd;
}

static void *
gate_clamd_start(struct policy_gate_call *call)
{
	static const char head[] = "zINSTREAM";	/* sent with its NUL */
	static const unsigned char tail[4] = { 0, 0, 0, 0 };
	struct gate_clamd_job *job;
	struct scan_conn_req req;
	uint64_t size;
	int fd;

	if ((fd = gate_clamd_open(call, &size)) < 0)
		return NULL;
	memset(&req, 0, sizeof(req));
	req.target = call->conf->clamd;
	req.head = head;
	req.head_len = sizeof(head);
	req.fd = fd;
	req.size = size;
	req.chunked = true;
	req.tail = tail;
	req.tail_len = sizeof(tail);
	req.timeout_secs = GATE_CLAMD_TIMEOUT;
	req.reply_max = GATE_CLAMD_REPLY_MAX;
	job = xcalloc(1, sizeof(*job));
	job->call = call;
	job->conn = scan_conn_start(call->base, call->dns, &req,
	    gate_clamd_done, job);
	return job;
}

static void
gate_clamd_done(const char *reply, size_t len, const char *error, void *arg)
{
	struct gate_clamd_job *job = arg;
	struct policy_gate_call *call = job->call;
	enum scan_clamd_status st;
	char name[128], why[200];

	free(job);
	if (error != NULL) {
		gate_clamd_failed(call, error);
		return;
	}
	st = scan_conn_parse_clamd(reply, len, name, sizeof(name));
	if (st == SCAN_CLAMD_CLEAN) {
		log_debug("%s clamd clean", gate_clamd_sid(call));
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0", "clean");
	} else if (st == SCAN_CLAMD_INFECTED) {
		log_info("%s clamd virus=%s", gate_clamd_sid(call),
		    log_q(name));
		policy_gate_finish(call, POLICY_REJECT, 554, "5.7.1",
		    "Message rejected: virus %s found", name);
	} else {
		snprintf(why, sizeof(why), "clamd: %s", name);
		gate_clamd_failed(call, why);
	}
}

static void
gate_clamd_abort(void *arg)
{
	struct gate_clamd_job *job = arg;

	scan_conn_abort(&job->conn);
	free(job);
}

const struct policy_gate gate_clamd = {
	.name = "clamd",
	.stage = POLICY_DATA,
	.enabled = gate_clamd_enabled,
	.start = gate_clamd_start,
	.abort = gate_clamd_abort,
};
