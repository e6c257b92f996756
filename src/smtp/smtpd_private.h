/* Shared between the smtpd role's files (smtpd.c: listeners, limits,
 * signals; smtp_session.c: the protocol state machine; smtp_tx.c: the
 * mail transaction and its commit).  Not for use outside src/smtp/. */
#ifndef FERRY_SMTPD_PRIVATE_H
#define FERRY_SMTPD_PRIVATE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_data.h"

struct bufferevent;
struct event;
struct evconnlistener;
struct spool_writer;
struct smtp_session;

struct smtpd_ipcount {
	struct smtpd_ipcount *next;
	char addr[64];
	unsigned n;
};

#define SMTPD_IP_BUCKETS 1024

struct smtpd {
	struct ferry_env *env;
	struct conf *conf;
	char spool_dir[PATH_MAX];
	char mail_dir[PATH_MAX];
	struct evconnlistener **listeners;
	size_t nlisteners;
	struct smtp_session *sessions;	/* doubly linked */
	unsigned nsessions;
	struct smtpd_ipcount *ipcounts[SMTPD_IP_BUCKETS];
	struct event *sig_ev[3];
	struct event *stop_timer;
	bool stopping;
};

enum smtp_state {
	SMTP_STATE_GREETING,	/* waiting to send the greeting */
	SMTP_STATE_HELO,	/* greeted, no HELO/EHLO yet */
	SMTP_STATE_READY,	/* HELO done, no transaction */
	SMTP_STATE_MAIL,	/* MAIL accepted */
	SMTP_STATE_RCPT,	/* at least one RCPT accepted */
	SMTP_STATE_DATA,	/* reading DATA content */
	SMTP_STATE_BDAT,	/* reading a BDAT chunk */
	SMTP_STATE_QUIT		/* closing after the replies are sent */
};

struct smtp_rcpt {
	char *orig;		/* as given, normalised */
	char *addr;		/* final delivery address */
	bool local;
};

/* One mail transaction: MAIL FROM to end of data (or RSET). */
struct smtp_tx {
	char sender[SMTP_ADDR_PATH_MAX + 1];
	bool smtputf8;
	int body;			/* enum smtp_body */
	uint64_t declared_size;
	struct smtp_rcpt *rcpts;
	size_t nrcpts;
	unsigned rcpt_attempts;		/* RCPT commands seen */
	struct spool_writer *writer;	/* open from DATA/first BDAT */
	struct smtp_data dec;
	struct fbuf out;		/* decoded bytes not yet written */
	bool write_failed;		/* I/O error: answer 452 4.3.1 */
	int write_errno;
	bool too_big;			/* over message_size_limit */
	uint64_t bdat_left;		/* octets left in this BDAT chunk */
	bool bdat_last;
	bool bdat_failed;		/* a BDAT was refused: eat the chunk */
	const char *bdat_fail_reply;	/* reply for the refused chunk */
	char id[IDS_LEN + 1];
};

struct smtp_session {
	struct smtp_session *prev, *next;
	struct smtpd *srv;
	struct bufferevent *bev;
	char id[IDS_LEN + 1];
	struct sockaddr_storage peer;
	char addr[64];
	enum smtp_state state;
	bool esmtp;
	bool relay_ok;			/* client may relay */
	bool busy;			/* an async action is pending */
	bool dead;			/* connection gone while busy */
	bool skip_line;			/* discarding an overlong line */
	unsigned errors;
	char helo[SMTP_ADDR_DOMAIN_MAX + 1];
	struct smtp_tx *tx;
	struct fbuf replies;		/* queued for the next flush */
	struct event *greet_timer;
	unsigned messages;
};

/* smtpd.c */
void smtpd_session_gone(struct smtpd *srv, struct smtp_session *s);

/* smtp_session.c */
struct smtp_session *smtp_session_new(struct smtpd *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);
/* Ends the session: 421 with `text` if given, then closes. */
void smtp_session_shutdown(struct smtp_session *s, const char *text);
void smtp_session_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtp_session_resume(struct smtp_session *s);
void smtp_session_free(struct smtp_session **sp);

/* smtp_tx.c */
struct smtp_tx *smtp_tx_new(void);
void smtp_tx_free(struct smtp_tx **txp);
/* Opens the spool file and writes the Received header: 0 or -1 (errno). */
int smtp_tx_open(struct smtp_session *s);
/* Writes the decoded bytes in tx->out to the spool writer. */
void smtp_tx_flush(struct smtp_tx *tx, uint64_t limit);
/* End of content: checks, then commits on a worker thread and answers
 * when done (the session is busy meanwhile). */
void smtp_tx_finish(struct smtp_session *s);

#endif
