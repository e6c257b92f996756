/* The skeleton shared by the content-scanner gates (gate_clamd.c,
 * gate_spamd.c) at the DATA stage: open the spooled message, skip it when
 * it is larger than scan_max_size (accepted, logged), run the exchange
 * through scan_conn, and apply scan_failure when the scanner gives no
 * answer (451 4.3.0, or accept, logged).  A gate keeps only its protocol:
 * the request it sends and the verdict on the reply.  Not for use outside
 * src/policy/. */
#ifndef FERRY_SCAN_GATE_H
#define FERRY_SCAN_GATE_H
#include <stddef.h>
#include <stdint.h>

struct conf;
struct policy_gate_call;
struct scan_conn_req;

/* A scanner gate's constants and protocol hooks (static, per gate). */
struct scan_gate {
	const char *name;		/* "clamd": in log lines */
	/* The setting naming the scanner (logged on failure). */
	const char *(*target)(const struct conf *c);
	const char *unavailable;	/* text of the 451 4.3.0 */
	unsigned timeout_secs;		/* the whole exchange */
	size_t reply_max;		/* a longer reply is a failure */
	/* The scanner answered and closed: decide and finish the check,
	 * through scan_gate_failed() when the answer is no good. */
	void (*done)(struct policy_gate_call *call, const char *reply,
	    size_t len);
};

/* The session id for log lines, "-" when there is none. */
const char *scan_gate_sid(const struct policy_gate_call *call);

/* The scanner gave no answer: finishes the check with 451 4.3.0 (text
 * g->unavailable), or accepts when scan_failure = accept; logs why. */
void scan_gate_failed(const struct scan_gate *g,
    struct policy_gate_call *call, const char *why);

/* Opens the message to scan: the fd with *size_r, or -1 after finishing
 * the check (larger than scan_max_size, or not readable). */
int scan_gate_open(const struct scan_gate *g, struct policy_gate_call *call,
    uint64_t *size_r);

/* Starts the exchange: req holds the gate's fd (from scan_gate_open),
 * size, head, tail and framing; target, timeout and reply cap are filled
 * in here from g.  Returns the job for the gate's start() to return;
 * g->done or scan_gate_failed() finishes the check later. */
void *scan_gate_start(const struct scan_gate *g,
    struct policy_gate_call *call, struct scan_conn_req *req);

/* The gates' abort(): the callback will not run. */
void scan_gate_abort(void *job);

#endif
