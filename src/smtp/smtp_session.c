/* One SMTP server session (RFC 5321): the state machine, the command
 * table and the I/O edge.  Input is processed from the bufferevent's
 * buffer line by line (or as DATA/BDAT content); replies are queued and
 * flushed when the input is drained, which answers pipelined commands
 * in order with few writes (RFC 2920).  While the commit of a message
 * runs on a worker thread the session is `busy`: input that arrives
 * waits, and is read on when the reply is queued.  The inbound checks
 * (src/policy/, through smtp_policy.c) run the same way before the
 * greeting, the HELO reply, the MAIL reply and, after relay control and
 * recipient validity, the RCPT reply.  TLS switching lives in
 * smtp_tls.c, AUTH in smtp_auth.c, and the sender ownership rules of
 * submission in smtp_sender.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "auth/ban.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "net/nodepeer.h"
#include "net/session_io.h"
#include "policy/policy.h"
#include "smtp/smtp_parser.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"
#include "store/resolve.h"
#include "store/store.h"

#define SMTP_OUTPUT_HIGH (256 * 1024)	/* stop reading past this backlog */
#define SMTP_MIN_DATA_RATE 1024		/* octets/s, after smtp_data_timeout */
#define SMTP_INPUT_HIGH (256 * 1024)	/* read high-watermark */

#define ST(x) (1u << SMTP_STATE_##x)
#define ST_ANY (ST(HELO) | ST(READY) | ST(MAIL) | ST(RCPT))

struct smtp_cmd_def {
	enum smtp_cmd cmd;
	unsigned states;
	const char *bad_state_reply;
	void (*exec)(struct smtp_session *, struct smtp_command *);
};


void
smtp_session_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fbuf_vaddf(&s->replies, fmt, ap);
	va_end(ap);
	fbuf_add(&s->replies, "\r\n", 2);
}

/* On a plain connection with nothing queued before them, the replies
 * go to the socket at once: through the bufferevent each flush costs an
 * epoll_ctl to watch for EV_WRITE, a turn of the loop and another
 * epoll_ctl to stop, several times per message.  What the socket does
 * not take is queued as before.  TLS and a pending STARTTLS switch
 * always take the bufferevent, and so does a session that stopped
 * reading for its output backlog (the write callback resumes it).  The
 * last replies (QUIT's 221, a 421) go at once too: smtp_session_close()
 * then ends the session without waiting for a write event.  Returns
 * the bytes written. */
static size_t
smtp_session_write_now(struct smtp_session *s)
{
	evutil_socket_t fd;
	ssize_t n;

	if (s->tls || s->kind == SMTPD_KIND_SUBMISSIONS ||
	    s->state == SMTP_STATE_TLS || smtp_tls_switch_pending(s) ||
	    (!s->busy && !(bufferevent_get_enabled(s->bev) & EV_READ)) ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > 0 ||
	    (fd = bufferevent_getfd(s->bev)) < 0)
		return 0;
	n = send(fd, s->replies.data, s->replies.len, MSG_NOSIGNAL);
	return n > 0 ? (size_t)n : 0;
}

void
smtp_session_flush(struct smtp_session *s)
{
	size_t done;

	if (s->replies.len == 0)
		return;
	smtp_transcript_out(s->pol, s->replies.data, s->replies.len);
	done = smtp_session_write_now(s);
	if (done < s->replies.len) {
		/* Plain connections watch for EV_WRITE only while something
		 * waits here (smtp_session_setup_bev). */
		if (!(bufferevent_get_enabled(s->bev) & EV_WRITE))
			bufferevent_enable(s->bev, EV_WRITE);
		bufferevent_write(s->bev, s->replies.data + done,
		    s->replies.len - done);
	}
	fbuf_reset(&s->replies);
}

void
smtp_session_enter_state(struct smtp_session *s, enum smtp_state st)
{
	static const char *names[] = { "greeting", "helo", "ready", "mail",
		"rcpt", "data", "bdat", "quit", "tls", "auth" };

	if (s->state != st)
		log_debug("%s smtp state from=%s to=%s", s->id, names[s->state],
		    names[st]);
	s->state = st;
}

void
smtp_session_error(struct smtp_session *s)
{
	if (++s->errors < s->conf->smtp_max_errors)
		return;
	log_info("%s smtp reject stage=session code=421 reason=\"too many "
	    "errors\" errors=%u", s->id, s->errors);
	metrics_smtp_refused("limit", 421);
	smtp_session_reply(s, "421 4.7.0 %s Too many errors, closing "
	    "connection", s->conf->hostname);
	smtp_session_close(s);
}

static void
smtp_session_reset_tx(struct smtp_session *s)
{
	smtp_tx_free(&s->tx);
	if (s->state != SMTP_STATE_HELO && s->state != SMTP_STATE_GREETING)
		smtp_session_enter_state(s, SMTP_STATE_READY);
}

static bool
smtp_helo_valid(const char *arg)
{
	size_t n = strlen(arg);

	if (n == 0 || n > SMTP_ADDR_DOMAIN_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static void
smtp_helo_reply(struct smtp_session *s)
{
	const struct conf *c = s->conf;

	if (!s->esmtp) {
		smtp_session_reply(s, "250 %s", c->hostname);
		return;
	}
	smtp_session_reply(s, "250-%s Hello %s [%s]", c->hostname, s->helo,
	    s->addr);
	smtp_session_reply(s, "250-PIPELINING");
	smtp_session_reply(s, "250-SIZE %llu",
	    (unsigned long long)c->message_size_limit);
	smtp_session_reply(s, "250-8BITMIME");
	smtp_session_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_session_reply(s, "250-SMTPUTF8");
	if (smtp_tls_available(s))
		smtp_session_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s))
		smtp_session_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_session_reply(s, "250 CHUNKING");
}

static void
smtp_helo_checked(struct smtp_session *s, const struct policy_result *r)
{
	if (r->verdict == POLICY_REJECT || r->verdict == POLICY_TEMPFAIL)
		smtp_policy_reply(s, r, NULL);
	else
		smtp_helo_reply(s);
}

static void
smtp_cmd_helo(struct smtp_session *s, struct smtp_command *cmd)
{
	if (!smtp_helo_valid(cmd->arg)) {
		smtp_session_reply(s, "501 5.5.4 Syntax: %s hostname",
		    cmd->cmd == SMTP_CMD_EHLO ? "EHLO" : "HELO");
		smtp_session_error(s);
		return;
	}
	smtp_tx_free(&s->tx);
	snprintf(s->helo, sizeof(s->helo), "%s", cmd->arg);
	s->esmtp = (cmd->cmd == SMTP_CMD_EHLO);
	smtp_session_enter_state(s, SMTP_STATE_READY);
	if (smtp_policy_helo(s->pol, smtp_helo_checked) == 1)
		smtp_helo_reply(s);
}

static void
smtp_mail_accept(struct smtp_session *s)
{
	smtp_session_enter_state(s, SMTP_STATE_MAIL);
	smtp_session_reply(s, "250 2.1.0 Ok");
}

static void
smtp_mail_checked(struct smtp_session *s, const struct policy_result *r)
{
	if (r->verdict == POLICY_REJECT || r->verdict == POLICY_TEMPFAIL) {
		smtp_tx_free(&s->tx);
		smtp_policy_reply(s, r, NULL);
	} else
		smtp_mail_accept(s);
}

/* MAIL FROM of an authenticated user: the ownership check answered. */
static void
smtp_mail_owned(struct smtp_session *s, int owned, const char *bad)
{
	s->sreq = NULL;
	s->busy = false;
	if (owned != 1) {
		smtp_sender_mail_refused(s, owned, s->tx->sender);
		smtp_tx_free(&s->tx);
	} else if (smtp_policy_mail(s->pol, smtp_mail_checked) == 1)
		smtp_mail_accept(s);
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

static void
smtp_cmd_mail(struct smtp_session *s, struct smtp_command *cmd)
{
	const struct conf *c = s->conf;
	struct smtp_tx *tx;

	if (s->kind != SMTPD_KIND_SMTP && s->auth_user[0] == '\0') {
		/* Submission ports take mail from users only (RFC 6409 4.3). */
		log_info("%s smtp reject stage=mail code=530 check=auth "
		    "reason=\"authentication required\"", s->id);
		metrics_smtp_refused("auth", 530);
		smtp_session_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (cmd->has_size && c->message_size_limit != 0 &&
	    cmd->size > c->message_size_limit) {
		log_info("%s smtp reject stage=mail code=552 reason=\"declared "
		    "size %llu over limit\"", s->id,
		    (unsigned long long)cmd->size);
		metrics_smtp_refused("size", 552);
		smtp_session_reply(s, "552 5.3.4 Message size exceeds fixed "
		    "limit of %llu octets",
		    (unsigned long long)c->message_size_limit);
		return;
	}
	/* RFC 1870 6.1: no room for the declared size is 452, not 552. */
	if (!smtpd_disk_ok(s->srv, s->id, "mail", cmd->has_size ? cmd->size :
	    0)) {
		smtp_session_reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	tx = s->tx = smtp_tx_new();
	if (!cmd->path.null &&
	    smtp_addr_format(&cmd->path, tx->sender, sizeof(tx->sender)) < 0) {
		smtp_tx_free(&s->tx);
		smtp_session_reply(s, "501 5.1.7 Bad sender address syntax");
		smtp_session_error(s);
		return;
	}
	/* RFC 8098 MDNs and other notices go out with <>: allowed, the
	 * From: header check at the end of data still applies. */
	tx->check_from = s->auth_user[0] != '\0' && c->sender_check;
	tx->smtputf8 = cmd->smtputf8;
	tx->body = cmd->body;
	tx->declared_size = cmd->has_size ? cmd->size : 0;
	/* An authenticated sender's limits and hold first (smtp_send.c). */
	if (!smtp_send_mail(s))
		smtp_mail_next(s);
}

void
smtp_mail_next(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->check_from && tx->sender[0] != '\0') {
		char *addr = tx->sender;

		s->busy = true;
		s->sreq = smtp_owner_check(s, &addr, 1, smtp_mail_owned);
		return;
	}
	if (smtp_policy_mail(s->pol, smtp_mail_checked) == 1)
		smtp_mail_accept(s);
}

static void
smtp_tx_add_rcpt(struct smtp_tx *tx, const char *orig, const char *addr,
    bool local, uint64_t quota, bool vacation)
{
	for (size_t i = 0; i < tx->nrcpts; i++)
		if (strcmp(tx->rcpts[i].addr, addr) == 0)
			return;		/* the same mailbox once per message */
	tx->rcpts = xreallocarray(tx->rcpts, tx->nrcpts + 1,
	    sizeof(*tx->rcpts));
	tx->rcpts[tx->nrcpts].orig = xstrdup(orig);
	tx->rcpts[tx->nrcpts].addr = xstrdup(addr);
	tx->rcpts[tx->nrcpts].local = local;
	tx->rcpts[tx->nrcpts].quota = quota;
	tx->rcpts[tx->nrcpts].vacation = vacation;
	tx->nrcpts++;
}

static void
smtp_rcpt_reject(struct smtp_session *s, const char *rcpt, int code,
    const char *dsn, const char *text)
{
	log_info("%s smtp reject stage=rcpt rcpt=%s code=%d dsn=%s reason=%s",
	    s->id, log_q(rcpt), code, dsn, log_q(text));
	metrics_smtp_refused("recipient", code);
	smtp_session_reply(s, "%d %s <%s>: %s", code, dsn, rcpt, text);
}

/* Backup MX: a recipient in backup_domains (and, when the list is set,
 * in backup_recipients) is accepted from anyone and queued for the
 * domain's more-preferred MX hosts. */
static bool
smtp_rcpt_backup_ok(const struct smtp_session *s, const char *rcpt)
{
	const struct conf *c = s->conf;
	const char *at = strrchr(rcpt, '@');

	if (at == NULL || !conf_strlist_has(&c->backup_domains, at + 1))
		return false;
	return c->backup_recipients.n == 0 ||
	    conf_strlist_has(&c->backup_recipients, rcpt);
}

/* The recipient passed every check: its targets join the message. */
static void
smtp_rcpt_accept(struct smtp_session *s, const char *rcpt,
    enum resolve_status st, const struct resolve_result *r)
{
	struct smtp_tx *tx = s->tx;

	/* The first recipient sets the generation; another one read
	 * under a different generation makes it unknown. */
	if (tx->nrcpts == 0) {
		tx->rcpt_gen = s->rcpt_gen;
		tx->rcpt_gen_ok = s->rcpt_gen_ok;
	} else if (!s->rcpt_gen_ok || s->rcpt_gen != tx->rcpt_gen)
		tx->rcpt_gen_ok = false;
	if (st == RESOLVE_REMOTE)
		smtp_tx_add_rcpt(tx, rcpt, rcpt, false, 0, false);
	for (size_t i = 0; st == RESOLVE_LOCAL && i < r->n; i++)
		smtp_tx_add_rcpt(tx, rcpt, r->v[i].local ?
		    r->v[i].user : r->v[i].address, r->v[i].local,
		    r->v[i].local ? r->v[i].quota : 0, r->v[i].vacation);
	smtp_session_enter_state(s, SMTP_STATE_RCPT);
	smtp_session_reply(s, "250 2.1.5 Ok");
}

static void
smtp_rcpt_checked(struct smtp_session *s, const struct policy_result *pr)
{
	if (pr->verdict == POLICY_REJECT || pr->verdict == POLICY_TEMPFAIL)
		smtp_policy_reply(s, pr, s->rcpt_pending);
	else
		smtp_rcpt_accept(s, s->rcpt_pending, s->rcpt_st, &s->rcpt_res);
	resolve_result_free(&s->rcpt_res);
}

/* The inbound checks (src/policy/) come last: the resolution waits in
 * the session meanwhile (it owns r's targets from here on). */
static void
smtp_rcpt_check(struct smtp_session *s, const char *rcpt,
    enum resolve_status st, struct resolve_result *r, uint64_t gen,
    bool gen_ok)
{
	snprintf(s->rcpt_pending, sizeof(s->rcpt_pending), "%s", rcpt);
	s->rcpt_st = st;
	s->rcpt_gen = gen;
	s->rcpt_gen_ok = gen_ok;
	s->rcpt_res = *r;
	r->v = NULL;
	r->n = 0;
	if (smtp_policy_rcpt(s->pol, rcpt, smtp_rcpt_checked) == 1) {
		smtp_rcpt_accept(s, rcpt, st, &s->rcpt_res);
		resolve_result_free(&s->rcpt_res);
	}
}

static void
smtp_rcpt_resolved(struct smtp_session *s, const char *rcpt,
    struct smtp_rcpt_lookup *res)
{
	/* A bounce to an SRS address: refused, or now a remote target. */
	if (smtp_srs_rcpt(s, rcpt, res) < 0)
		return;
	if (smtp_send_rcpt_refused(s, rcpt, res))
		return;
	switch (res->st) {
	case RESOLVE_REMOTE:
		if (!s->relay_ok && !smtp_rcpt_backup_ok(s, rcpt)) {
			smtp_rcpt_reject(s, rcpt, 554, "5.7.1",
			    "Relay access denied");
			return;
		}
		break;
	case RESOLVE_UNKNOWN:
		if (smtp_policy_bad_rcpt(s->pol)) {
			smtp_policy_blocked_reply(s);
			return;
		}
		smtp_rcpt_reject(s, rcpt, 550, "5.1.1",
		    "Recipient address rejected: User unknown");
		return;
	case RESOLVE_LOCAL:
		if (res->over_quota) {
			smtp_rcpt_reject(s, rcpt, 552, "5.2.2",
			    "Mailbox full: over quota");
			return;
		}
		break;
	default:
		smtp_rcpt_reject(s, rcpt, 451, "4.3.0",
		    "Temporary lookup failure, try again later");
		return;
	}
	smtp_rcpt_check(s, rcpt, res->st, &res->targets, res->gen,
	    res->gen_ok);
}

/* The recipient lookup (smtp_lookup.c) has answered. */
static void
smtp_rcpt_looked_up(struct smtp_session *s, const char *rcpt,
    struct smtp_rcpt_lookup *res)
{
	s->sreq = NULL;
	s->busy = false;
	smtp_policy_set_rules(s->pol, res->rules, res->nrules);
	smtp_rcpt_resolved(s, rcpt, res);
	/* The checks may have started: they resume the session then. */
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

/* RCPT past max_recipients (every RCPT command of the transaction
 * counts, refused and duplicate ones too, so repeating one address
 * cannot get round it): 452, and 421 with the connection closed for a
 * client that goes on to twice the limit. */
static void
smtp_rcpt_flood(struct smtp_session *s, const struct smtp_command *cmd)
{
	unsigned max = s->conf->max_recipients;
	char rcpt[SMTP_ADDR_PATH_MAX + 1];

	if (cmd->path.postmaster)
		snprintf(rcpt, sizeof(rcpt), "postmaster");
	else if (smtp_addr_format(&cmd->path, rcpt, sizeof(rcpt)) < 0)
		rcpt[0] = '\0';
	if (s->tx->rcpt_attempts > 2 * max) {
		log_info("%s smtp reject stage=rcpt code=421 dsn=4.7.0 "
		    "reason=\"too many recipients\" rcpt_commands=%u "
		    "max_recipients=%u", s->id, s->tx->rcpt_attempts, max);
		metrics_smtp_refused("limit", 421);
		smtp_session_reply(s, "421 4.7.0 %s Too many recipients, "
		    "closing connection", s->conf->hostname);
		smtp_session_close(s);
		return;
	}
	log_info("%s smtp reject stage=rcpt rcpt=%s code=452 dsn=4.5.3 "
	    "reason=\"too many recipients\" rcpt_commands=%u "
	    "max_recipients=%u", s->id, log_q(rcpt), s->tx->rcpt_attempts,
	    max);
	metrics_smtp_refused("limit", 452);
	smtp_session_reply(s, "452 4.5.3 Too many recipients");
}

static void
smtp_cmd_rcpt(struct smtp_session *s, struct smtp_command *cmd)
{
	const struct conf *c = s->conf;
	struct resolve_opts opts = { c->local_part_case_sensitive,
		c->recipient_delimiter };
	char raw[SMTP_ADDR_PATH_MAX + CONF_HOST_MAX + 16];
	char rcpt[SMTP_ADDR_PATH_MAX + 1];
	struct smtp_rcpt_lookup res;

	if (++s->tx->rcpt_attempts > c->max_recipients) {
		smtp_rcpt_flood(s, cmd);
		return;
	}
	if (!smtpd_disk_ok(s->srv, s->id, "rcpt", s->tx->declared_size)) {
		smtp_session_reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (cmd->path.utf8 && !s->tx->smtputf8) {
		/* RFC 6531 section 3.5: UTF-8 addresses need MAIL ... SMTPUTF8 */
		smtp_session_reply(s, "553 5.6.7 Non-ASCII address requires "
		    "SMTPUTF8 in MAIL FROM");
		return;
	}
	if (cmd->path.postmaster)
		snprintf(raw, sizeof(raw), "postmaster@%s", c->hostname);
	else if (smtp_addr_format(&cmd->path, raw, sizeof(raw)) < 0)
		raw[0] = '\0';
	if (raw[0] == '\0' || resolve_normalise(&opts, raw, rcpt,
	    sizeof(rcpt)) < 0) {
		smtp_session_reply(s, "501 5.1.3 Bad recipient address syntax");
		smtp_session_error(s);
		return;
	}
	/* An answer the cache holds needs no hop to the pool (but an
	 * authenticated sender's recipients are counted there). */
	if (s->auth_user[0] == '\0' && smtp_cache_rcpt_get(s->srv, c, rcpt,
	    cmd->path.literal, &res) == 0) {
		smtp_policy_set_rules(s->pol, res.rules, res.nrules);
		smtp_rcpt_resolved(s, rcpt, &res);
		resolve_result_free(&res.targets);
		free(res.rules);
		return;
	}
	/* No local mail for address literals: they still wait for the
	 * lookup, which brings the domain's rules. */
	s->busy = true;
	s->sreq = smtp_rcpt_lookup(s, rcpt, cmd->path.literal,
	    smtp_rcpt_looked_up);
}

/* DATA or BDAT with no accepted recipient (RFC 2920 section 3.1). */
static const char *
smtp_no_rcpt_reply(struct smtp_session *s)
{
	if (s->tx != NULL && s->tx->rcpt_attempts > 0)
		return "554 5.5.1 No valid recipients";
	return "503 5.5.1 Need RCPT command first";
}

static void
smtp_cmd_data(struct smtp_session *s, struct smtp_command *cmd)
{
	if (s->state != SMTP_STATE_RCPT || s->tx->writer != NULL) {
		smtp_session_reply(s, "%s", s->tx != NULL &&
		    s->tx->writer != NULL ? "503 5.5.1 DATA after BDAT" :
		    smtp_no_rcpt_reply(s));
		smtp_session_error(s);
		return;
	}
	if (!smtpd_disk_ok(s->srv, s->id, "data", s->tx->declared_size)) {
		smtp_session_reply(s, "452 4.3.1 Insufficient system storage");
		smtp_session_reset_tx(s);
		return;
	}
	if (smtp_tx_open(s) < 0) {
		log_warn("%s smtp spool-open-failed", s->id);
		smtpd_disk_failed(s->srv, errno);
		smtp_session_reply(s, "452 4.3.1 Insufficient system storage");
		smtp_session_reset_tx(s);
		return;
	}
	smtp_session_enter_state(s, SMTP_STATE_DATA);
	smtp_session_set_timeout(s, s->conf->smtp_data_timeout);
	smtp_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
smtp_cmd_bdat(struct smtp_session *s, struct smtp_command *cmd)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL) {
		/* The chunk must still be read and thrown away (RFC 3030). */
		tx = s->tx = smtp_tx_new();
		tx->bdat_failed = true;
		tx->bdat_fail_reply = "503 5.5.1 Need MAIL command first";
	} else if (s->state != SMTP_STATE_RCPT) {
		tx->bdat_failed = true;
		tx->bdat_fail_reply = smtp_no_rcpt_reply(s);
	} else if (tx->writer == NULL && !tx->bdat_failed &&
	    !smtpd_disk_ok(s->srv, s->id, "data", tx->declared_size)) {
		tx->bdat_failed = true;
		tx->bdat_fail_reply = "452 4.3.1 Insufficient system storage";
	} else if (tx->writer == NULL && !tx->bdat_failed &&
	    smtp_tx_open(s) < 0) {
		log_warn("%s smtp spool-open-failed", s->id);
		smtpd_disk_failed(s->srv, errno);
		tx->bdat_failed = true;
		tx->bdat_fail_reply = "452 4.3.1 Insufficient system storage";
	}
	tx->bdat_left = cmd->chunk_size;
	tx->bdat_last = cmd->last;
	smtp_session_enter_state(s, SMTP_STATE_BDAT);
	smtp_session_set_timeout(s, s->conf->smtp_data_timeout);
}

static void
smtp_cmd_rset(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reset_tx(s);
	smtp_session_reply(s, "250 2.0.0 Ok");
}

static void
smtp_cmd_noop(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reply(s, "250 2.0.0 Ok");
}

static void
smtp_cmd_vrfy(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reply(s, "252 2.5.0 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
smtp_cmd_help(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
	    "BDAT RSET NOOP QUIT VRFY HELP");
	smtp_session_reply(s, "214 2.0.0 See RFC 5321");
}

static void
smtp_cmd_quit(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reply(s, "221 2.0.0 %s Bye", s->conf->hostname);
	smtp_session_close(s);
}

static void
smtp_cmd_starttls(struct smtp_session *s, struct smtp_command *cmd)
{
	if (cmd->arg[0] != '\0') {
		smtp_session_reply(s, "501 5.5.4 Syntax: STARTTLS");
		smtp_session_error(s);
		return;
	}
	if (s->tls) {
		smtp_session_reply(s, "503 5.5.1 TLS already active");
		smtp_session_error(s);
		return;
	}
	if (!smtp_tls_available(s)) {
		smtp_session_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_tls_starttls(s);
}

static void
smtp_cmd_auth(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_auth_cmd(s, cmd->arg);
}

static void
smtp_cmd_not_implemented(struct smtp_session *s, struct smtp_command *cmd)
{
	smtp_session_reply(s, "502 5.5.1 %s not implemented",
	    smtp_cmd_name(cmd->cmd));
	smtp_session_error(s);
}

static const struct smtp_cmd_def smtp_commands[] = {
	{ SMTP_CMD_HELO, ST_ANY, NULL, smtp_cmd_helo },
	{ SMTP_CMD_EHLO, ST_ANY, NULL, smtp_cmd_helo },
	{ SMTP_CMD_MAIL, ST(READY), NULL, smtp_cmd_mail },
	{ SMTP_CMD_RCPT, ST(MAIL) | ST(RCPT), "503 5.5.1 Need MAIL command first",
	    smtp_cmd_rcpt },
	{ SMTP_CMD_DATA, ST(MAIL) | ST(RCPT), "503 5.5.1 Need MAIL command first",
	    smtp_cmd_data },
	{ SMTP_CMD_BDAT, ST_ANY, NULL, smtp_cmd_bdat },
	{ SMTP_CMD_RSET, ST_ANY, NULL, smtp_cmd_rset },
	{ SMTP_CMD_NOOP, ST_ANY, NULL, smtp_cmd_noop },
	{ SMTP_CMD_VRFY, ST_ANY, NULL, smtp_cmd_vrfy },
	{ SMTP_CMD_HELP, ST_ANY, NULL, smtp_cmd_help },
	{ SMTP_CMD_QUIT, ST_ANY, NULL, smtp_cmd_quit },
	{ SMTP_CMD_EXPN, ST_ANY, NULL, smtp_cmd_not_implemented },
	/* RFC 3207 4 / RFC 4954 4: neither inside a mail transaction. */
	{ SMTP_CMD_STARTTLS, ST(HELO) | ST(READY), NULL, smtp_cmd_starttls },
	{ SMTP_CMD_AUTH, ST(READY), NULL, smtp_cmd_auth },
};

static const char *
smtp_bad_state_reply(struct smtp_session *s, const struct smtp_cmd_def *d)
{
	if (s->state == SMTP_STATE_HELO)
		return "503 5.5.1 Send HELO/EHLO first";
	if (d->cmd == SMTP_CMD_AUTH || d->cmd == SMTP_CMD_STARTTLS)
		return "503 5.5.1 Not allowed during a mail transaction";
	if (d->cmd == SMTP_CMD_MAIL)
		return "503 5.5.1 Nested MAIL command";
	return d->bad_state_reply ? d->bad_state_reply :
	    "503 5.5.1 Bad sequence of commands";
}

static void
smtp_session_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_command *cmd = xmalloc(sizeof(*cmd));
	struct smtp_parse_error perr;
	const struct smtp_cmd_def *d = NULL;

	if (smtp_command_parse(line, len, cmd, &perr) < 0) {
		smtp_session_reply(s, "%d %s %s", perr.code, perr.enhanced,
		    perr.text);
		smtp_session_error(s);
		goto out;
	}
	for (size_t i = 0; i < sizeof(smtp_commands) / sizeof(*d); i++)
		if (smtp_commands[i].cmd == cmd->cmd)
			d = &smtp_commands[i];
	if (d == NULL) {
		smtp_session_reply(s, "500 5.5.1 Command unrecognized");
		smtp_session_error(s);
	} else if ((d->states & (1u << s->state)) == 0) {
		smtp_session_reply(s, "%s", smtp_bad_state_reply(s, d));
		smtp_session_error(s);
	} else
		d->exec(s, cmd);
out:
	if (cmd->cmd == SMTP_CMD_AUTH)
		explicit_bzero(cmd, sizeof(*cmd));	/* credentials */
	free(cmd);
}

static void
smtp_session_too_long(struct smtp_session *s)
{
	if (s->state == SMTP_STATE_AUTH) {
		/* An overlong SASL response ends the exchange. */
		smtp_auth_free(&s->auth);
		smtp_session_enter_state(s, SMTP_STATE_READY);
	}
	smtp_session_reply(s, "500 5.5.2 Line too long");
	smtp_session_error(s);
}

/* Takes one command line from the input.  False when none is complete. */
static bool
smtp_session_line(struct smtp_session *s, struct evbuffer *in)
{
	bool overlong;
	size_t len;
	char *line;
	int r;

	r = session_io_line(in, s->conf->smtp_max_line, &s->skip_line,
	    &overlong, &line, &len);
	if (overlong)
		smtp_session_too_long(s);
	if (r == 1)
		s->pace.lines++;
	if (line == NULL)
		return r == 1;
	smtp_transcript_line(s->pol, line, len);
	if (s->state == SMTP_STATE_AUTH)
		smtp_auth_input(s, line, len);	/* wipes the line */
	else
		smtp_session_command(s, line, len);
	explicit_bzero(line, len);	/* may have held AUTH data */
	free(line);
	return true;
}

/* The first non-empty block of input.  The OpenSSL bufferevent can leave
 * an empty chain at the front, which a plain one-vector peek returns. */
static bool
smtp_session_peek(struct evbuffer *in, struct evbuffer_iovec *v_r)
{
	struct evbuffer_iovec v[4];
	int n;

	if (evbuffer_get_length(in) == 0)
		return false;
	n = evbuffer_peek(in, -1, NULL, v, 4);
	for (int i = 0; i < n && i < 4; i++)
		if (v[i].iov_len > 0) {
			*v_r = v[i];
			return true;
		}
	/* Only past four empty blocks: make the data contiguous. */
	v_r->iov_len = evbuffer_get_length(in) < 65536 ?
	    evbuffer_get_length(in) : 65536;
	v_r->iov_base = evbuffer_pullup(in, (ev_ssize_t)v_r->iov_len);
	return v_r->iov_base != NULL;
}

/* DATA content.  False when more input is needed. */
static bool
smtp_session_data(struct smtp_session *s, struct evbuffer *in)
{
	struct smtp_tx *tx = s->tx;
	struct evbuffer_iovec v;
	size_t used;
	int r;

	if (!smtp_session_peek(in, &v))
		return false;
	r = smtp_data_feed(&tx->dec, v.iov_base, v.iov_len, &used, &tx->out);
	smtp_transcript_in(s->pol, v.iov_base, used);
	evbuffer_drain(in, used);
	smtp_tx_flush(tx, s->conf->message_size_limit);
	if (r == 1)
		smtp_tx_finish(s);
	return true;
}

/* BDAT chunk content.  False when more input is needed. */
static bool
smtp_session_bdat(struct smtp_session *s, struct evbuffer *in)
{
	struct smtp_tx *tx = s->tx;
	struct evbuffer_iovec v;
	size_t n;

	if (tx->bdat_left > 0) {
		if (!smtp_session_peek(in, &v))
			return false;
		n = v.iov_len < tx->bdat_left ? v.iov_len : (size_t)tx->bdat_left;
		smtp_transcript_in(s->pol, v.iov_base, n);
		if (!tx->bdat_failed) {
			smtp_data_feed_raw(&tx->dec, v.iov_base, n, &tx->out);
			smtp_tx_flush(tx, s->conf->message_size_limit);
		}
		evbuffer_drain(in, n);
		tx->bdat_left -= n;
		if (tx->bdat_left > 0)
			return true;
	}
	smtp_session_set_timeout(s, s->conf->smtp_timeout);
	if (tx->bdat_failed) {
		smtp_session_reply(s, "%s", tx->bdat_fail_reply);
		smtp_session_error(s);
		smtp_session_reset_tx(s);
		if (s->state == SMTP_STATE_BDAT)
			smtp_session_enter_state(s, SMTP_STATE_HELO);
	} else if (tx->bdat_last) {
		smtp_data_finish_raw(&tx->dec, &tx->out);
		smtp_tx_flush(tx, s->conf->message_size_limit);
		smtp_tx_finish(s);
	} else {
		smtp_session_enter_state(s, SMTP_STATE_RCPT);
		smtp_session_reply(s, "250 2.0.0 %llu octets received",
		    (unsigned long long)tx->dec.size);
	}
	return true;
}

void
smtp_session_process(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	bool more = true;

	/* SMTP_STATE_TLS: input now belongs to the handshake. */
	while (more && !s->busy && s->state != SMTP_STATE_QUIT &&
	    s->state != SMTP_STATE_TLS) {
		if (evbuffer_get_length(out) + s->replies.len > SMTP_OUTPUT_HIGH) {
			/* The client does not read its replies: wait. */
			bufferevent_disable(s->bev, EV_READ);
			break;
		}
		if (s->state == SMTP_STATE_DATA)
			more = smtp_session_data(s, in);
		else if (s->state == SMTP_STATE_BDAT)
			more = smtp_session_bdat(s, in);
		else
			more = smtp_session_line(s, in);
	}
	smtp_session_flush(s);
}

/*
 * A peer that trickles (one octet a second) resets the read timeout with
 * every octet, so the timeouts alone never cut it off.  Two deadlines do:
 * a command line must arrive whole within smtp_timeout of its first
 * octet, and DATA/BDAT content must keep an average of at least
 * SMTP_MIN_DATA_RATE octets a second once smtp_data_timeout has passed
 * (a legitimate slow link sends far more).  True when the peer was cut
 * off (421 4.4.2 and closed).
 */
static bool
smtp_session_slow(struct smtp_session *s)
{
	size_t len = evbuffer_get_length(bufferevent_get_input(s->bev));
	time_t now = time(NULL);
	uint64_t allowed;

	if (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT) {
		if (s->data_since == 0 || s->tx == NULL)
			return false;
		allowed = s->conf->smtp_data_timeout + s->tx->dec.size /
		    SMTP_MIN_DATA_RATE;
		if ((uint64_t)(now - s->data_since) <= allowed)
			return false;
	} else {
		s->data_since = 0;
		if (!session_io_pace_late(&s->pace, len > 0 || s->skip_line,
		    s->conf->smtp_timeout))
			return false;
	}
	log_info("%s smtp timeout state=%d reason=\"too slow\" pending=%zu",
	    s->id, (int)s->state, len);
	smtp_session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->conf->hostname);
	smtp_session_close(s);
	return true;
}

static void
smtp_session_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->state == SMTP_STATE_GREETING) {
		log_info("%s smtp reject stage=connect code=554 "
		    "reason=\"talked before the greeting\"", s->id);
		metrics_smtp_refused("protocol", 554);
		smtp_session_reply(s, "554 5.5.0 %s Protocol error: talked "
		    "before the greeting", s->conf->hostname);
		smtp_session_close(s);
		return;
	}
	if (s->busy) {
		/* Talk during a wait (pipelined commands, or a client that
		 * does not wait): kept for smtp_session_resume(), and no
		 * more read until then. */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if ((s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT) &&
	    s->data_since == 0)
		s->data_since = time(NULL);
	if (smtp_session_slow(s))
		return;
	smtp_session_process(s);
	if (s->state != SMTP_STATE_QUIT && !s->busy)
		(void)smtp_session_slow(s);
}

static void
smtp_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->state == SMTP_STATE_QUIT && !s->busy) {
		smtpd_session_gone(s->srv, s);
		smtp_session_free(&s);
		return;
	}
	if (smtp_tls_switch_pending(s)) {
		if (smtp_tls_switch(s) < 0) {
			smtpd_session_gone(s->srv, s);
			smtp_session_free(&s);
		}
		return;
	}
	if (!s->busy && !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		smtp_session_process(s);
	}
}

/* True while the connection is still in its TLS handshake (STARTTLS or
 * implicit TLS): nothing can be said to the client in SMTP then. */
static bool
smtp_session_handshaking(const struct smtp_session *s)
{
	return s->state == SMTP_STATE_TLS ||
	    (s->kind == SMTPD_KIND_SUBMISSIONS && !s->tls);
}

/* The connection failed, timed out or ended (what: the bufferevent's
 * flags): the session's end.  Also the end of a login whose client left
 * (smtp_session_hup). */
static void
smtp_session_lost(struct smtp_session *s, struct bufferevent *bev,
    short what)
{
	if (smtp_session_handshaking(s)) {
		log_info("%s smtp tls-failed address=%s reason=%s", s->id,
		    s->addr, (what & BEV_EVENT_TIMEOUT) ? "timeout" :
		    log_q(smtp_tls_bev_error(bev)));
		smtpd_session_gone(s->srv, s);
		smtp_session_free(&s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && s->state != SMTP_STATE_QUIT) {
		log_info("%s smtp timeout state=%d", s->id, (int)s->state);
		smtp_session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->conf->hostname);
		smtp_session_close(s);
		return;
	}
	log_info("%s smtp disconnected address=%s messages=%u%s", s->id,
	    s->addr, s->messages, s->state == SMTP_STATE_DATA ||
	    s->state == SMTP_STATE_BDAT ? " note=\"lost during data\"" : "");
	smtpd_session_gone(s->srv, s);
	if (s->busy && s->sreq == NULL) {
		s->dead = true;		/* freed when the commit reports */
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	smtp_session_free(&s);
}

static void
smtp_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		smtp_tls_established(s);
		return;
	}
	if ((what & BEV_EVENT_READING) && (what & (BEV_EVENT_TIMEOUT |
	    BEV_EVENT_EOF)) && s->busy) {
		/* Reading stays on while the session waits (busy).  The
		 * client's silence is ours then, not a timeout; and an end
		 * of input may be a half-close (a scripted client that sent
		 * its last command and waits for the replies), so it is
		 * read again after the wait, once what came before it has
		 * been answered.  libevent has turned reading off;
		 * smtp_session_resume() turns it on with a fresh timeout.
		 * (A login's wait watches for a client gone on its own:
		 * smtp_session_hup.) */
		return;
	}
	smtp_session_lost(s, bev, what);
}

static void
smtp_session_greet_send(struct smtp_session *s)
{
	smtp_session_enter_state(s, SMTP_STATE_HELO);
	smtp_session_reply(s, "220 %s ESMTP Ferry", s->conf->hostname);
	smtp_session_flush(s);
	smtp_session_set_timeout(s, s->conf->smtp_timeout);
	/* Bytes that arrived together with the timer are early talk too. */
	if (!s->busy && evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		smtp_session_process(s);
}

/* Connect checks that answer at once (rate, dictionary-attack block):
 * their reply takes the greeting's place and the session ends. */
static void
smtp_session_greet_checked(struct smtp_session *s,
    const struct policy_result *r)
{
	if (r->verdict != POLICY_REJECT && r->verdict != POLICY_TEMPFAIL) {
		smtp_session_greet_send(s);
		return;
	}
	smtp_policy_reply(s, r, NULL);
	if (s->state != SMTP_STATE_QUIT)
		smtp_session_close(s);
}

static void
smtp_session_greet(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (smtp_policy_connect(s->pol, smtp_session_greet_checked) == 1)
		smtp_session_greet_send(s);
}

/* A plain connection starts reading only: its replies mostly go to the
 * socket at once (smtp_session_write_now), and enabling EV_WRITE here
 * would cost an epoll_ctl to watch and, once the empty output was seen
 * writable, another to stop, on every connection.  smtp_session_flush()
 * enables it when a reply has to wait in the bufferevent.  TLS
 * bufferevents keep both from the start (the handshake and every
 * record go through them). */
void
smtp_session_setup_bev(struct smtp_session *s, struct bufferevent *bev)
{
	s->bev = bev;
	bufferevent_setcb(bev, smtp_session_read_cb, smtp_session_write_cb,
	    smtp_session_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, SMTP_INPUT_HIGH);
	bufferevent_enable(bev, bufferevent_openssl_get_ssl(bev) != NULL ?
	    EV_READ | EV_WRITE : EV_READ);
}

void
smtp_session_set_timeout(struct smtp_session *s, uint64_t seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	/* Writing too: a peer that never reads its replies stops our
	 * reading (SMTP_OUTPUT_HIGH), and then only this ends it. */
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* The first pause before the greeting: early talkers on the MX port are
 * spam engines (postscreen's pregreet test); own networks and users on
 * submission ports are not tested. */
static uint64_t
smtp_session_greet_delay(const struct smtp_session *s)
{
	if (s->relay_ok || s->peer_node || s->kind != SMTPD_KIND_SMTP)
		return 0;
	return s->conf->smtp_greeting_delay;
}

static void smtp_session_started(struct smtp_session *s,
    struct timeval *delay);

/* The connection is let in: its bufferevent, then the greeting (after
 * the pre-greeting pause) or, on implicit TLS, the handshake.  -1 when
 * the connection could not be set up (its fd is closed then). */
static int
smtp_session_start(struct smtp_session *s)
{
	struct smtpd *srv = s->srv;
	struct timeval delay = { 0, 0 };
	struct bufferevent *bev;
	int fd = s->fd;

	s->fd = -1;		/* the bufferevent owns it from here */
	if (s->kind == SMTPD_KIND_SUBMISSIONS)
		bev = smtp_tls_accept(s, fd);
	else
		bev = bufferevent_socket_new(srv->env->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return -1;
	smtp_session_setup_bev(s, bev);
	smtp_session_started(s, &delay);
	return 0;
}

/* The failed-login ban check (auth/ban.h) has answered: a banned client
 * gets one line (none on implicit TLS) and the door. */
static void
smtp_session_ban_checked(int banned, time_t until, void *ctx)
{
	struct smtp_session *s = ctx;
	char reply[400];

	s->sreq = NULL;
	s->busy = false;
	if (banned == 0 && s->ban_gen_ok)
		smtp_cache_ban_put(s->srv, s->conf, s->addr, s->ban_gen);
	if (banned == 1) {
		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many failed "
		    "logins from your address: banned\r\n",
		    s->conf->hostname);
		metrics_smtp_refused("ban", 421);
		conncount_refuse(s->fd, "smtp", s->addr,
		    s->kind == SMTPD_KIND_SUBMISSIONS ? NULL : reply, "banned");
		s->fd = -1;
	} else if (!s->srv->stopping && smtp_session_start(s) == 0)
		return;
	smtpd_session_gone(s->srv, s);
	smtp_session_free(&s);
}

/* A session for an accepted connection; it owns fd.  Before anything is
 * said, the failed-login ban is checked through the store (the session
 * is busy meanwhile, without a bufferevent).  NULL when the connection
 * could not be set up (fd closed then). */
struct smtp_session *
smtp_session_new(struct smtpd *srv, int fd, const struct sockaddr *sa,
    socklen_t salen, enum smtpd_kind kind)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	const struct conf *c;

	s->srv = srv;
	s->conf = c = conf_ref(srv->env->conf);
	listener_session_init(&s->link, s);
	s->kind = kind;
	s->fd = fd;
	ids_new(s->id);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	cidr_addr_str(sa, s->addr, sizeof(s->addr));
	s->relay_ok = kind == SMTPD_KIND_SMTP &&
	    cidr_list_match(&c->relay_networks, sa);
	/* mail relayed by another node of the system (mailbox homing) was
	 * checked where it arrived; it does not make the peer a relay
	 * client */
	s->peer_node = kind == SMTPD_KIND_SMTP &&
	    nodepeers_match(srv->peers, sa);
	s->pol = smtp_policy_session_new(srv->policy, s);
	fbuf_init(&s->replies, 0);
	s->state = SMTP_STATE_GREETING;
	/* The check is skipped for an address the cache knows is clear. */
	if (!ban_exempt(c, sa) && !smtp_cache_not_banned(srv, c, s->addr)) {
		s->ban_gen_ok = smtp_cache_generation(srv, c,
		    &s->ban_gen) == 0;
		s->busy = true;
		s->sreq = ban_check_start(srv->env->stores, sa, time(NULL),
		    smtp_session_ban_checked, s);
		return s;
	}
	if (smtp_session_start(s) < 0) {
		smtp_session_free(&s);
		return NULL;
	}
	return s;
}

static void
smtp_session_started(struct smtp_session *s, struct timeval *delay)
{
	struct smtpd *srv = s->srv;
	const struct conf *c = s->conf;
	enum smtpd_kind kind = s->kind;

	log_info("%s smtp connected address=%s relay=%s kind=%s", s->id,
	    s->addr, s->relay_ok ? "yes" : "no", kind == SMTPD_KIND_SMTP ?
	    "smtp" : kind == SMTPD_KIND_SUBMISSION ? "submission" :
	    "submissions");
	if (s->peer_node)
		log_info("%s smtp peer address=%s note=\"another node: no "
		    "inbound checks\"", s->id, s->addr);
	if (kind == SMTPD_KIND_SUBMISSIONS) {
		/* The greeting follows the handshake (smtp_tls.c). */
		s->greet_timer = evtimer_new(srv->env->base,
		    smtp_session_greet, s);
		smtp_session_set_timeout(s, c->timeout_tls);
		return;
	}
	smtp_session_set_timeout(s, c->smtp_timeout);
	delay->tv_sec = (time_t)smtp_session_greet_delay(s);
	/* Without a pause the greeting (or the connect checks) start at
	 * once: a timer of zero would only cost a turn of the loop on every
	 * connection, and nothing can have been read yet. */
	if (delay->tv_sec == 0) {
		smtp_session_greet(-1, 0, s);
		return;
	}
	s->greet_timer = evtimer_new(srv->env->base, smtp_session_greet, s);
	evtimer_add(s->greet_timer, delay);
}

void
smtp_session_close(struct smtp_session *s)
{
	smtp_session_enter_state(s, SMTP_STATE_QUIT);
	if (s->greet_timer != NULL)
		evtimer_del(s->greet_timer);
	/* On a plain connection the last replies go to the socket at once
	 * (smtp_session_write_now checks for reading still on, so before
	 * it is turned off). */
	smtp_session_flush(s);
	bufferevent_disable(s->bev, EV_READ);
	/* The write callback frees the session once the replies are out;
	 * with nothing left to write, make it run now (deferred: the
	 * caller still holds the session). */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	/* A write timeout that fired disabled writing: without it again, a
	 * peer that never reads would keep this session forever; with it,
	 * the next timeout frees it (smtp_session_event_cb). */
	bufferevent_enable(s->bev, EV_WRITE);
}

void
smtp_session_shutdown(struct smtp_session *s, const char *text)
{
	if (s->busy || s->state == SMTP_STATE_QUIT)
		return;		/* the commit's reply comes first */
	if (text != NULL)
		smtp_session_reply(s, "%s", text);
	smtp_tx_free(&s->tx);
	smtp_session_close(s);
}

/* The peer left while AUTH's request ran (session_io_hup): the same end
 * as a close noticed by reading. */
static void
smtp_session_hup(void *arg)
{
	struct smtp_session *s = arg;

	log_info("%s smtp auth-aborted address=%s", s->id, s->addr);
	smtp_session_lost(s, s->bev, BEV_EVENT_READING | BEV_EVENT_EOF);
}

void
smtp_session_watch_hup(struct smtp_session *s)
{
	session_io_hup_start(&s->hup, s->bev, smtp_session_hup, s);
}

void
smtp_session_unwatch_hup(struct smtp_session *s)
{
	session_io_hup_stop(&s->hup);
}

void
smtp_session_resume(struct smtp_session *s)
{
	if (s->dead) {
		smtp_session_free(&s);
		return;
	}
	smtp_session_set_timeout(s, s->conf->smtp_timeout);
	if (s->srv->stopping) {
		smtp_session_shutdown(s, "421 4.3.2 Service shutting down");
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
	smtp_session_process(s);
}

void
smtp_session_free(struct smtp_session **sp)
{
	struct smtp_session *s = *sp;

	if (s == NULL)
		return;
	store_req_abort(&s->sreq);
	session_io_hup_stop(&s->hup);
	smtp_tx_free(&s->tx);
	smtp_auth_free(&s->auth);
	smtp_policy_session_free(&s->pol);
	resolve_result_free(&s->rcpt_res);
	if (s->greet_timer != NULL)
		event_free(s->greet_timer);
	if (s->bev != NULL) {
		smtp_tls_close(s);
		bufferevent_free(s->bev);
	} else if (s->fd >= 0)
		close(s->fd);
	fbuf_release(&s->replies);
	conf_unref(&s->conf);
	free(s);
	*sp = NULL;
}
