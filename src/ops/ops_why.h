/* "Why": what happened to mail from or to an address, or from a client
 * address, read from Ferry's own log (log_file) as `ferry why` and the
 * postmaster's "why" page show it.  It reads the smtpd lines of each
 * session (connected, the pipeline's `policy decision` lines, the
 * session's own `smtp reject` lines, `smtp accepted`) and the queue's
 * lines about a recipient (`relay delivery`, `queue delivered|deferred|
 * failed`), and returns them as data: per matching session, each message
 * accepted with its queue id and each refusal with its stage, check,
 * rule and reply; for a recipient, each delivery attempt and outcome.
 * For a user (an authenticated sender, `ferry why --user`) it keeps the
 * sessions that user logged in to (`smtp auth user=`) and each automatic
 * stop (`smtp send-stop`, `queue send-stop`); the account's sending
 * state now is in the store (ops_send_info()).
 * It only reads: the log format is the contract (STYLE.md "Logging
 * format").  Blocking (reads the file): CLI or worker thread.
 *
 * Scope: an admin may ask anything.  Anyone else asks about exactly one
 * address (never a client address) that ops_check_mailbox() allows: a
 * postmaster an address of its domains, a user only its own.  For a
 * recipient or sender they see only the events about that address
 * (other recipients of the same session or message are left out); for
 * a user's sending, the whole sessions that user logged in to. */
#ifndef FERRY_OPS_WHY_H
#define FERRY_OPS_WHY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "lib/fbuf.h"
#include "lib/ids.h"
#include "ops/ops.h"

#define OPS_WHY_LINE 16384
#define OPS_WHY_BUCKETS 4096
#define OPS_WHY_MAX_EVENTS 200		/* kept per session */
#define OPS_WHY_MAX_DELIVS 2000		/* queue lines kept for --to */
#define OPS_WHY_MAX_STOPS 2000		/* send-stop lines kept for --user */
#define OPS_WHY_REPLY_MAX 600
#define OPS_WHY_ADDR_MAX 320		/* an address asked about */

enum ops_why_kind { OPS_WHY_REFUSED, OPS_WHY_ACCEPTED, OPS_WHY_CONNREFUSED };

struct ops_why_event {
	enum ops_why_kind kind;
	char time[32];
	char stage[12], check[32], rule[24], reply[360];
	char from[322], rcpt[322], id[24];
	char *rcpts;			/* accepted, or refused at DATA: the
					 * transaction's "a, b" (malloc'd) */
};

struct ops_why_session {
	struct ops_why_session *next;	/* hash chain */
	struct ops_why_session *order;	/* in order of appearance */
	char sid[IDS_LEN + 1];
	char time[32];
	char ip[64];
	char from[322];			/* current transaction */
	struct fbuf tx_rcpts;
	bool matched;
	struct ops_why_event *ev;
	size_t nev;
};

/* One queue line about the --to recipient. */
struct ops_why_deliv {
	char time[32], id[IDS_LEN + 1];
	bool attempt;			/* relay delivery, else queue outcome */
	char result[16], relay[300], via[32], tls[96];
	char reason[OPS_WHY_REPLY_MAX], next_in[24], attempts[12];
	char mailbox[330];
};

/* An automatic stop of the --user account (`smtp send-stop` in a
 * session, `queue send-stop` for a message). */
struct ops_why_stop {
	char time[32], id[IDS_LEN + 1];
	bool by_smtpd;			/* else by the queue */
	char reason[300], held[24], notice[40];
};

struct ops_why {
	const char *ip, *from, *to, *user;
	struct ops_why_deliv *dv;
	size_t ndv;
	struct ops_why_stop *stops;
	size_t nstops;
	time_t since;
	struct ops_why_session *b[OPS_WHY_BUCKETS];
	struct ops_why_session *first, *last;
	unsigned nrefused;
};

/* Fill ip, from, to or user (at least one; borrowed for the call's
 * life) and since (0: the whole log), then read log_file.  0 with the
 * matching sessions (in order, s->matched), deliveries and stops, or -1:
 * OPS_EUSAGE (nothing asked), OPS_EINVAL (not an address, or log_file
 * not set), OPS_EPERM (outside the actor's scope), OPS_EFAIL
 * (unreadable).  ops_why_free() always. */
int ops_why_read(const struct ops_actor *a, const char *log_file,
    struct ops_why *w, struct ops_status *st);
/* The same from an open stream (tests, fuzzing); f stays open. */
int ops_why_read_stream(const struct ops_actor *a, FILE *f, struct ops_why *w,
    struct ops_status *st);
/* Sessions that matched, deliveries and stops: how many in all. */
size_t ops_why_count(const struct ops_why *w);
void ops_why_free(struct ops_why *w);

#endif
