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
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "policy/policy_private.h"
#include "policy/scan_conn.h"
#include "policy/scan_gate.h"

static void gate_clamd_done(struct policy_gate_call *call, const char *reply,
    size_t len);

static bool
gate_clamd_enabled(const struct conf *c)
{
	return c->clamd[0] != '\0';
}

static const char *
gate_clamd_target(const struct conf *c)
{
	return c->clamd;
}

static const struct scan_gate gate_clamd_scan = {
	.name = "clamd",
	.target = gate_clamd_target,
	.unavailable = "Virus scanner temporarily unavailable, try again later",
	.timeout_secs = 120,
	.reply_max = 4096,
	.done = gate_clamd_done,
};

static void *
gate_clamd_start(struct policy_gate_call *call)
{
	static const char head[] = "zINSTREAM";	/* sent with its NUL */
	static const unsigned char tail[4] = { 0, 0, 0, 0 };
	struct scan_conn_req req;

	memset(&req, 0, sizeof(req));
	if ((req.fd = scan_gate_open(&gate_clamd_scan, call, &req.size)) < 0)
		return NULL;
	req.head = head;
	req.head_len = sizeof(head);
	req.chunked = true;
	req.tail = tail;
	req.tail_len = sizeof(tail);
	return scan_gate_start(&gate_clamd_scan, call, &req);
}

static void
gate_clamd_done(struct policy_gate_call *call, const char *reply, size_t len)
{
	enum scan_clamd_status st;
	char name[128], why[200];

	st = scan_conn_parse_clamd(reply, len, name, sizeof(name));
	if (st == SCAN_CLAMD_CLEAN) {
		log_debug("%s clamd clean", scan_gate_sid(call));
		policy_gate_finish(call, POLICY_ACCEPT, 250, "2.0.0", "clean");
	} else if (st == SCAN_CLAMD_INFECTED) {
		log_info("%s clamd virus=%s", scan_gate_sid(call),
		    log_q(name));
		policy_gate_finish(call, POLICY_REJECT, 554, "5.7.1",
		    "Message rejected: virus %s found", name);
	} else {
		snprintf(why, sizeof(why), "clamd: %s", name);
		scan_gate_failed(&gate_clamd_scan, call, why);
	}
}

const struct policy_gate gate_clamd = {
	.name = "clamd",
	.stage = POLICY_DATA,
	.enabled = gate_clamd_enabled,
	.start = gate_clamd_start,
	.abort = scan_gate_abort,
};
