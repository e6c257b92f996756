/* Messages from the server to a domain's postmaster (a user's sending
 * stopped, a mail problem reported): an ordinary message from the null
 * sender committed to the spool, so it is delivered (or relayed) like any
 * other and cannot bounce back.  Blocking (store, spool): CLI or worker
 * thread. */
#ifndef FERRY_OPS_NOTICE_H
#define FERRY_OPS_NOTICE_H
#include <stddef.h>

struct ops_ctx;

#define OPS_NOTICE_ID_MAX 64
#define OPS_NOTICE_ERROR_MAX 256

struct ops_notice {
	const char *domain;		/* whose postmaster */
	const char *subject;		/* ASCII; control bytes dropped */
	const char *reply_to;		/* an address, or NULL */
	const char *tag;		/* Message-ID prefix: "send-hold" */
	const char *body;		/* UTF-8 text, LF or CRLF lines */
};

/* Queues n to postmaster@n->domain, else to postmaster@hostname (the
 * first of them that reaches a mailbox here).  Lines of the body are
 * ended with CRLF and folded past 900 bytes; control bytes other than
 * TAB become '?'.  0 with the queue id in id_r, or -1 with the reason in
 * error_r. */
int ops_notice_postmaster(const struct ops_ctx *c, const struct ops_notice *n,
    char id_r[OPS_NOTICE_ID_MAX], char error_r[OPS_NOTICE_ERROR_MAX]);

#endif
