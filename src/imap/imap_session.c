/* One IMAP session (RFC 9051 / RFC 3501): the I/O edge, the command
 * reader, the state machine and the command table.  Input octets go to
 * the reader (imap_parser.h) as they arrive; a {n} literal gets its "+"
 * continuation, a finished command is dispatched, a bad one gets BAD.
 * AUTHENTICATE responses and IDLE's DONE are plain lines read outside
 * the reader.  Responses collect in one output buffer handed to the
 * bufferevent when the input is drained, so pipelined commands are
 * answered with few writes.  While a worker job runs (login, anything
 * touching the mailbox) the session is `busy` and reads nothing, so
 * commands run one at a time and in order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "auth/ban.h"
#include "imap/imap_private.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mailbox/mbox.h"
#include "net/listener.h"
#include "net/mailproxy.h"
#include "net/session_io.h"
#include "net/tls.h"
#include "store/store.h"

#define IMAP_INPUT_HIGH (256 * 1024)	/* read high-watermark */
#define IMAP_OUTPUT_HIGH (1024 * 1024)	/* stop reading commands above */

#define ST(x) (1u << IMAP_STATE_##x)
#define ST_ANY (ST(NOAUTH) | ST(AUTH) | ST(SELECTED))
#define ST_LOGGED (ST(AUTH) | ST(SELECTED))

struct imap_cmd_def {
	const char *name;
	unsigned states;
	bool uid;		/* also as "UID <name>" */
	imap_cmd_fn *fn;
};

static const struct imap_cmd_def imap_commands[] = {
	{ "CAPABILITY", ST_ANY, false, imap_cmd_capability },
	{ "NOOP", ST_ANY, false, imap_cmd_noop },
	{ "LOGOUT", ST_ANY, false, imap_cmd_logout },
	{ "ID", ST_ANY, false, imap_cmd_id },
	{ "STARTTLS", ST(NOAUTH), false, imap_cmd_starttls },
	{ "LOGIN", ST(NOAUTH), false, imap_cmd_login },
	{ "AUTHENTICATE", ST(NOAUTH), false, imap_cmd_authenticate },
	{ "ENABLE", ST_LOGGED, false, imap_cmd_enable },
	{ "NAMESPACE", ST_LOGGED, false, imap_cmd_namespace },
	{ "LIST", ST_LOGGED, false, imap_cmd_list },
	{ "LSUB", ST_LOGGED, false, imap_cmd_lsub },
	{ "STATUS", ST_LOGGED, false, imap_cmd_status },
	{ "SELECT", ST_LOGGED, false, imap_cmd_select },
	{ "EXAMINE", ST_LOGGED, false, imap_cmd_examine },
	{ "CREATE", ST_LOGGED, false, imap_cmd_create },
	{ "DELETE", ST_LOGGED, false, imap_cmd_delete },
	{ "RENAME", ST_LOGGED, false, imap_cmd_rename },
	{ "SUBSCRIBE", ST_LOGGED, false, imap_cmd_subscribe },
	{ "UNSUBSCRIBE", ST_LOGGED, false, imap_cmd_unsubscribe },
	{ "APPEND", ST_LOGGED, false, imap_cmd_append },
	{ "IDLE", ST_LOGGED, false, imap_cmd_idle },
	{ "COMPRESS", ST_LOGGED, false, imap_cmd_compress },
	{ "GETQUOTA", ST_LOGGED, false, imap_cmd_getquota },
	{ "GETQUOTAROOT", ST_LOGGED, false, imap_cmd_getquotaroot },
	{ "SETQUOTA", ST_LOGGED, false, imap_cmd_setquota },
	{ "CHECK", ST(SELECTED), false, imap_cmd_check },
	{ "CLOSE", ST(SELECTED), false, imap_cmd_close },
	{ "UNSELECT", ST(SELECTED), false, imap_cmd_unselect },
	{ "EXPUNGE", ST(SELECTED), true, imap_cmd_expunge },
	{ "FETCH", ST(SELECTED), true, imap_cmd_fetch },
	{ "STORE", ST(SELECTED), true, imap_cmd_store },
	{ "SEARCH", ST(SELECTED), true, imap_cmd_search },
	{ "SORT", ST(SELECTED), true, imap_cmd_sort },
	{ "THREAD", ST(SELECTED), true, imap_cmd_thread },
	{ "COPY", ST(SELECTED), true, imap_cmd_copy },
	{ "MOVE", ST(SELECTED), true, imap_cmd_move },
};

/* Reader limits before login: enough for LOGIN with literals and for
 * the largest ID a client may send (RFC 2971 3.3: 30 pairs of 30-octet
 * fields and 1024-octet values, about 32 KB in one line), nothing more
 * an unauthenticated client could use to make the server buffer.  {n+}
 * literals follow LITERAL- (advertised before login). */
static const struct imap_parser_limits imap_limits_noauth = {
	.line_max = 32768, .literal_max = 8192,
	.nonsync_max = IMAP_LITERAL_MINUS_MAX,
	.command_max = 40960, .depth_max = 8, .args_max = 64,
};

static void imap_session_process(struct imap_session *s);

void
imap_reply(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fbuf_vaddf(&s->out, fmt, ap);
	va_end(ap);
	fbuf_add(&s->out, "\r\n", 2);
}

void
imap_session_flush(struct imap_session *s)
{
	if (s->out.len == 0)
		return;
	bufferevent_write(s->bev, s->out.data, s->out.len);
	fbuf_reset(&s->out);
}

void
imap_session_write(struct imap_session *s, struct fbuf *b)
{
	imap_session_flush(s);
	if (b->len > 0)
		bufferevent_write(s->bev, b->data, b->len);
	fbuf_reset(b);
}

uint64_t
imap_append_limit(const struct imap_session *s)
{
	uint64_t append = s->conf->message_size_limit;

	return append != 0 ? append : 64 * 1024 * 1024;
}

void
imap_session_limits(struct imap_session *s)
{
	struct imap_parser_limits lim = imap_limits_noauth;
	uint64_t append = imap_append_limit(s);

	if (s->state != IMAP_STATE_NOAUTH) {
		lim.line_max = 65536;
		lim.literal_max = append;
		lim.nonsync_max = append;
		lim.command_max = (size_t)append + 65536;
		lim.depth_max = 32;
		lim.args_max = 8192;
	}
	imap_parser_set_limits(&s->parser, &lim);
}

void
imap_session_enter_state(struct imap_session *s, enum imap_state st)
{
	static const char *const names[] = { "not-authenticated",
		"authenticated", "selected", "logout" };
	struct timeval tv = { (time_t)(st == IMAP_STATE_NOAUTH &&
	    IMAP_TIMEOUT_AUTH < s->conf->imap_timeout ? IMAP_TIMEOUT_AUTH :
	    s->conf->imap_timeout), 0 };

	if (s->state != st)
		log_debug("%s imap state from=%s to=%s", s->id,
		    names[s->state], names[st]);
	s->state = st;
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	imap_session_limits(s);
}

void
imap_session_error(struct imap_session *s)
{
	if (++s->errors < IMAP_MAX_ERRORS)
		return;
	log_info("%s imap reject stage=session reason=\"too many errors\" "
	    "errors=%u", s->id, s->errors);
	imap_reply(s, "* BYE Too many invalid commands");
	imap_session_close(s);
}

void
imap_bad(struct imap_session *s, const char *tag, const char *text)
{
	imap_reply(s, "%s BAD %s", tag, text);
	imap_session_error(s);
}

static const struct imap_cmd_def *
imap_session_find(const char *name, bool uid)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]);
	    i++)
		if (strcmp(imap_commands[i].name, name) == 0 &&
		    (!uid || imap_commands[i].uid))
			return &imap_commands[i];
	return NULL;
}

static void
imap_session_command(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count;
	const char *name = cmd->name;
	const struct imap_cmd_def *d;
	char sub[IMAP_NAME_MAX + 1];
	bool uid = strcmp(name, "UID") == 0;

	if (uid) {
		if (count == 0 || args[0].type != IMAP_ARG_ATOM ||
		    args[0].len > IMAP_NAME_MAX) {
			imap_bad(s, cmd->tag, "UID needs a command");
			return;
		}
		str_lcpy(sub, args[0].str, sizeof(sub));
		for (char *p = sub; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		name = sub;
		args++;
		count--;
	}
	if ((d = imap_session_find(name, uid)) == NULL) {
		imap_bad(s, cmd->tag, "Unknown command");
		return;
	}
	if ((d->states & (1u << s->state)) == 0) {
		imap_bad(s, cmd->tag, s->state == IMAP_STATE_NOAUTH ?
		    "Log in first" : s->state == IMAP_STATE_AUTH ?
		    "Select a mailbox first" : "Not allowed now");
		return;
	}
	d->fn(s, cmd->tag, args, count, uid);
}

/* A line for AUTHENTICATE or IDLE.  False when none is complete. */
static bool
imap_session_line(struct imap_session *s, struct evbuffer *in)
{
	bool overlong;
	size_t len;
	char *line;
	int r;

	r = session_io_line(in, IMAP_AUTH_LINE_MAX, &s->skip_line, &overlong,
	    &line, &len);
	if (overlong) {
		if (s->input == IMAP_INPUT_SASL) {
			s->input = IMAP_INPUT_COMMAND;
			imap_bad(s, s->tag, "AUTHENTICATE response too long");
		} else
			imap_idle_line(s, "", 0);
	}
	if (r == 1)
		s->pace.lines++;
	if (line == NULL)
		return r == 1;
	if (s->input == IMAP_INPUT_SASL)
		imap_auth_response(s, line, len);
	else if (s->input == IMAP_INPUT_IDLE)
		imap_idle_line(s, line, len);
	explicit_bzero(line, len);
	free(line);
	return true;
}

/* The reply to a command the reader refused: BAD, but a message over
 * the limit in APPEND is NO [TOOBIG] (RFC 7889 APPENDLIMIT). */
static void
imap_session_parse_error(struct imap_session *s)
{
	enum imap_parse_error e = imap_parser_error(&s->parser);
	const char *tag = imap_parser_error_tag(&s->parser);

	if (e == IMAP_PERR_LITERAL && s->state != IMAP_STATE_NOAUTH &&
	    strcmp(s->parser.name, "APPEND") == 0) {
		imap_reply(s, "%s NO [TOOBIG] Message larger than the "
		    "APPENDLIMIT of %llu octets", tag,
		    (unsigned long long)imap_append_limit(s));
		return;
	}
	imap_reply(s, "%s BAD %s", tag, imap_parse_error_text(e));
	if (!imap_parser_fatal(&s->parser))
		imap_session_error(s);
}

/* Feeds the reader from the input buffer; false when nothing is left. */
static bool
imap_session_feed(struct imap_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	enum imap_parse_result r;
	size_t used;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return false;
	r = imap_parser_feed(&s->parser, v.iov_base, v.iov_len, &used);
	evbuffer_drain(in, used);
	s->mid_command = r == IMAP_PARSE_MORE || r == IMAP_PARSE_CONTINUE;
	if (!s->mid_command)
		s->pace.lines++;
	switch (r) {
	case IMAP_PARSE_MORE:
		break;
	case IMAP_PARSE_CONTINUE:
		imap_reply(s, "+ Ready for literal data");
		break;
	case IMAP_PARSE_DONE:
		imap_session_command(s, imap_parser_command(&s->parser));
		break;
	case IMAP_PARSE_ERROR:
		imap_session_parse_error(s);
		if (imap_parser_fatal(&s->parser)) {
			imap_reply(s, "* BYE Cannot recover from that");
			imap_session_close(s);
			return false;
		}
		break;
	}
	return true;
}

static size_t
imap_session_pending_output(struct imap_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) +
	    s->out.len;
}

bool
imap_session_output_full(struct imap_session *s)
{
	return imap_session_pending_output(s) > IMAP_OUTPUT_HIGH;
}

static void
imap_session_process(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	for (;;) {
		if (s->busy || s->state == IMAP_STATE_LOGOUT)
			break;
		if (imap_session_pending_output(s) > IMAP_OUTPUT_HIGH)
			break;
		if (s->input != IMAP_INPUT_COMMAND) {
			if (!imap_session_line(s, in))
				break;
			continue;
		}
		if (!imap_session_feed(s, in))
			break;
	}
	imap_session_flush(s);
}

/* The idle timeout (and per-command limit) of the session's state:
 * imap_timeout, at most IMAP_TIMEOUT_AUTH before login. */
static uint64_t
imap_session_timeout(const struct imap_session *s)
{
	if (s->state == IMAP_STATE_NOAUTH &&
	    IMAP_TIMEOUT_AUTH < s->conf->imap_timeout)
		return IMAP_TIMEOUT_AUTH;
	return s->conf->imap_timeout;
}

static void
imap_session_read_cb(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;
	size_t len;

	imap_session_process(s);
	if (s->busy || s->state == IMAP_STATE_LOGOUT)
		return;
	/* A command (literals included) trickled an octet at a time: the
	 * idle timeout never fires, so it must be whole within it. */
	len = evbuffer_get_length(bufferevent_get_input(bev));
	if (session_io_pace_late(&s->pace, len > 0 || s->skip_line ||
	    s->mid_command, imap_session_timeout(s))) {
		log_info("%s imap timeout reason=\"too slow\" pending=%zu",
		    s->id, len);
		imap_reply(s, "* BYE Autologout; too slow");
		imap_session_close(s);
	}
}

static void
imap_session_finish(struct imap_session *s)
{
	log_info("%s imap disconnected address=%s user=%s", s->id, s->addr,
	    s->address[0] ? log_q(s->address) : "-");
	imapd_session_gone(s->srv, s);
	imap_session_free(&s);
}

static void
imap_session_finish_cb(void *arg)
{
	imap_session_finish(arg);
}

/* Closing after STARTTLS: finish once the socket below has written the
 * TLS filter's last record (session_io_drain_under). */
static bool
imap_session_drain_under(struct imap_session *s)
{
	struct bufferevent *bev = s->bev, *u;

	/* under COMPRESS and STARTTLS the socket is two filters down: wait
	 * on the lowest buffer that still holds data for it */
	while ((u = bufferevent_get_underlying(bev)) != NULL &&
	    bufferevent_get_underlying(u) != NULL)
		bev = u;
	s->drain = (struct session_io_drain){ imap_session_finish_cb, s };
	return session_io_drain_under(bev, &s->drain);
}

void
imap_session_end(struct imap_session *s)
{
	if (!imap_session_drain_under(s))
		imap_session_finish(s);
}

static void
imap_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;

	if (s->parked != NULL) {	/* the client read: the next part */
		imap_job_unpark(s);
		return;
	}
	if (s->state == IMAP_STATE_LOGOUT && !s->busy) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return;
		if (!imap_session_drain_under(s))
			imap_session_finish(s);
		return;
	}
	imap_session_process(s);
}

static void
imap_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imap_session *s = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_TIMEOUT) && s->state != IMAP_STATE_LOGOUT &&
	    !s->busy) {
		log_info("%s imap timeout", s->id);
		imap_reply(s, "* BYE Autologout; idle for too long");
		imap_session_close(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->tls)
		log_info("%s imap tls-error error=%s", s->id,
		    log_q(tls_error()));
	log_info("%s imap disconnected address=%s user=%s", s->id, s->addr,
	    s->address[0] ? log_q(s->address) : "-");
	imapd_session_gone(s->srv, s);
	if (s->busy) {
		s->dead = true;
		__atomic_store_n(&s->gone, 1, __ATOMIC_RELEASE);
		session_io_hup_stop(&s->hup);
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		/* a parked part will never be asked for: ends the job and
		 * the session now */
		imap_job_unpark(s);
		return;
	}
	imap_session_free(&s);
}

void
imap_session_setup_bev(struct imap_session *s)
{
	struct timeval tv = { (time_t)imap_session_timeout(s), 0 };

	bufferevent_setcb(s->bev, imap_session_read_cb, imap_session_write_cb,
	    imap_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, IMAP_INPUT_HIGH);
	bufferevent_setwatermark(s->bev, EV_WRITE, 64 * 1024, 0);
	/* Under STARTTLS and COMPRESS the filters move what is written
	 * below at once; they stop while the buffer below is above its
	 * high mark, so the output above stays full and the session's
	 * output test (imap_session_output_full) sees a slow reader. */
	for (struct bufferevent *u = bufferevent_get_underlying(s->bev);
	    u != NULL; u = bufferevent_get_underlying(u))
		bufferevent_setwatermark(u, EV_WRITE, 64 * 1024,
		    IMAP_OUTPUT_HIGH);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
imap_session_greet(struct imap_session *s)
{
	struct fbuf caps;

	fbuf_init(&caps, 0);
	imap_capabilities(s, &caps);
	imap_reply(s, "* OK [CAPABILITY %s] Ferry IMAP ready", fbuf_str(&caps));
	fbuf_release(&caps);
}

/* The failed-login ban check (ban.h, a store request) answered: a banned
 * address gets one line and the door, others the greeting. */
static void
imap_session_ban_checked(int banned, time_t until, void *ctx)
{
	struct imap_session *s = ctx;

	s->sreq = NULL;
	if (!s->dead && banned == 1) {
		log_info("%s imap reject stage=connect address=%s check=ban "
		    "until=%lld", s->id, s->addr, (long long)until);
		imap_reply(s, "* BYE [UNAVAILABLE] Too many failed logins, "
		    "address banned");
		s->state = IMAP_STATE_LOGOUT;
	} else if (!s->dead)
		imap_session_greet(s);
	imap_session_resume(s);		/* frees a dead session */
}

struct imap_session *
imap_session_new(struct imapd *d, int fd, const struct sockaddr *sa,
    socklen_t salen, bool tls)
{
	struct imap_session *s;
	struct bufferevent *bev;

	if ((bev = listener_bufferevent(d->env->base, fd, tls ? d->tls :
	    NULL)) == NULL) {
		log_warnx("- imap connection-setup-failed tls=%s",
		    tls ? "yes" : "no");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->srv = d;
	s->conf = conf_ref(d->env->conf);
	listener_session_init(&s->link, s);
	s->bev = bev;
	ids_new(s->id);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	s->conn_peer = s->peer;
	cidr_addr_str(sa, s->addr, sizeof(s->addr));
	fbuf_init(&s->out, 0);
	imap_parser_init(&s->parser, &imap_limits_noauth);
	s->tls = tls;
	s->state = IMAP_STATE_NOAUTH;
	imap_session_setup_bev(s);
	log_info("%s imap connected address=%s tls=%s", s->id, s->addr,
	    tls ? "yes" : "no");
	if (ban_exempt(s->conf, sa)) {
		imap_session_greet(s);
		imap_session_flush(s);
		return s;
	}
	imap_session_suspend(s);
	s->sreq = ban_check_start(d->env->stores, sa, time(NULL),
	    imap_session_ban_checked, s);
	return s;
}

void
imap_session_close(struct imap_session *s)
{
	s->state = IMAP_STATE_LOGOUT;
	bufferevent_disable(s->bev, EV_READ);
	/* After a write timeout (which disables writing): a peer that never
	 * reads is freed at the next one instead of kept forever. */
	bufferevent_enable(s->bev, EV_WRITE);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	imap_session_flush(s);
	bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

void
imap_session_shutdown(struct imap_session *s, const char *text)
{
	if (imap_proxy_shutdown(s))
		return;
	if (s->busy || s->state == IMAP_STATE_LOGOUT)
		return;		/* the job's reply comes first */
	if (text != NULL)
		imap_reply(s, "%s", text);
	imap_session_close(s);
}

void
imap_session_suspend(struct imap_session *s)
{
	s->busy = true;
	imap_session_flush(s);
	bufferevent_disable(s->bev, EV_READ);
}

/* The peer left while a login job ran (session_io_hup): the same end as
 * a close noticed by reading. */
static void
imap_session_hup(void *arg)
{
	struct imap_session *s = arg;

	imap_session_event_cb(s->bev, BEV_EVENT_READING | BEV_EVENT_EOF, s);
}

void
imap_session_watch_hup(struct imap_session *s)
{
	session_io_hup_start(&s->hup, s->bev, imap_session_hup, s);
}

void
imap_session_resume(struct imap_session *s)
{
	s->busy = false;
	session_io_hup_stop(&s->hup);
	if (s->dead) {
		imap_session_free(&s);
		return;
	}
	if (s->proxy != NULL) {
		/* the home node's answer (imap_proxy.c) goes on from here */
		s->busy = true;
		return;
	}
	if (s->state == IMAP_STATE_LOGOUT) {
		imap_session_close(s);
		return;
	}
	if (s->srv->stopping) {
		imap_session_shutdown(s, "* BYE [UNAVAILABLE] Server shutting "
		    "down");
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
	if (s->input == IMAP_INPUT_IDLE && s->idle_pending) {
		s->idle_pending = false;
		imap_folder_changed(s);
	}
	imap_session_process(s);
}

void
imap_session_starttls(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);

	imap_session_flush(s);
	/* Commands pipelined after STARTTLS came in plaintext and could
	 * have been injected: dropped, never run under TLS (RFC 9051
	 * section 6.2.1; CVE-2011-0411 class). */
	if (junk > 0) {
		log_info("%s imap starttls-discarded octets=%zu", s->id, junk);
		evbuffer_drain(in, junk);
	}
	s->bev = bufferevent_openssl_filter_new(s->srv->env->base, s->bev,
	    tls_server_ssl(s->srv->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	imap_session_setup_bev(s);
	s->tls = true;
}

void
imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;

	if (s == NULL)
		return;
	/* a parked part when the role stops (imapd_free) */
	if (s->parked != NULL)
		imap_job_free(s->parked);
	s->parked = NULL;
	store_req_abort(&s->sreq);
	session_io_hup_stop(&s->hup);
	mailproxy_free(&s->proxy);
	mbox_watch_remove(&s->watch);
	imap_close_later(s->srv, &s->closing_view, &s->view, &s->user);
	imap_seqset_free(&s->saved);
	imap_parser_free(&s->parser);
	bufferevent_free(s->bev);
	fbuf_release(&s->out);
	conf_unref(&s->conf);
	free(s);
	*sp = NULL;
}
