/* One POP3 session (RFC 1939): the I/O edge, the state machine and the
 * command table.  Input is taken line by line from the bufferevent;
 * replies and message bodies go through one output buffer that is handed
 * to the bufferevent when the input is drained (so pipelined commands,
 * RFC 2449 PIPELINING, are answered with few writes).  A RETR/TOP body is
 * read from its file a chunk at a time as the client takes it, so a
 * session never holds more than a chunk of a message.  While a worker
 * job runs (login, opening or committing the maildrop) the session is
 * `busy` and reads nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "auth/ban.h"
#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "net/mailproxy.h"
#include "net/session_io.h"
#include "net/tls.h"
#include "pop3/pop3_private.h"
#include "store/store.h"

#define POP3_INPUT_HIGH (64 * 1024)	/* read high-watermark */
#define POP3_OUTPUT_LOW (64 * 1024)	/* refill bodies below this */
#define POP3_OUTPUT_HIGH (256 * 1024)	/* stop producing above this */

#define ST(x) (1u << POP3_STATE_##x)

struct pop3_cmd_def {
	enum pop3_cmd cmd;
	unsigned states;
	void (*exec)(struct pop3_session *, struct pop3_command *);
};

static const struct pop3_cmd_def pop3_commands[] = {
	{ POP3_CMD_CAPA, ST(AUTH) | ST(TRANS), pop3_cmd_capa },
	{ POP3_CMD_STLS, ST(AUTH), pop3_cmd_stls },
	{ POP3_CMD_USER, ST(AUTH), pop3_cmd_user },
	{ POP3_CMD_PASS, ST(AUTH), pop3_cmd_pass },
	{ POP3_CMD_AUTH, ST(AUTH), pop3_cmd_auth },
	{ POP3_CMD_APOP, ST(AUTH), pop3_cmd_apop },
	{ POP3_CMD_XCLIENT, ST(AUTH), pop3_cmd_xclient },
	{ POP3_CMD_STAT, ST(TRANS), pop3_cmd_stat },
	{ POP3_CMD_LIST, ST(TRANS), pop3_cmd_list },
	{ POP3_CMD_UIDL, ST(TRANS), pop3_cmd_uidl },
	{ POP3_CMD_RETR, ST(TRANS), pop3_cmd_retr },
	{ POP3_CMD_TOP, ST(TRANS), pop3_cmd_retr },
	{ POP3_CMD_DELE, ST(TRANS), pop3_cmd_dele },
	{ POP3_CMD_NOOP, ST(TRANS), pop3_cmd_noop },
	{ POP3_CMD_RSET, ST(TRANS), pop3_cmd_rset },
	{ POP3_CMD_QUIT, ST(AUTH) | ST(TRANS), pop3_cmd_quit },
};

static void pop3_session_process(struct pop3_session *s);

void
pop3_session_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fbuf_vaddf(&s->out, fmt, ap);
	va_end(ap);
	fbuf_add(&s->out, "\r\n", 2);
}

void
pop3_session_flush(struct pop3_session *s)
{
	if (s->out.len == 0)
		return;
	bufferevent_write(s->bev, s->out.data, s->out.len);
	fbuf_reset(&s->out);
}

static size_t
pop3_session_pending_output(struct pop3_session *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) +
	    s->out.len;
}

void
pop3_session_enter_state(struct pop3_session *s, enum pop3_state st)
{
	static const char *names[] = { "authorization", "transaction",
		"update", "quit" };

	if (s->state != st)
		log_debug("%s pop3 state from=%s to=%s", s->id,
		    names[s->state], names[st]);
	s->state = st;
}

void
pop3_session_error(struct pop3_session *s)
{
	if (++s->errors < POP3_MAX_ERRORS)
		return;
	log_info("%s pop3 reject stage=session reason=\"too many errors\" "
	    "errors=%u", s->id, s->errors);
	pop3_session_reply(s, "-ERR Too many errors, closing connection");
	pop3_session_close(s);
}

static void
pop3_session_command(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command *cmd = xmalloc(sizeof(*cmd));
	const struct pop3_cmd_def *d = NULL;
	enum pop3_parse_error perr;

	if (pop3_command_parse(line, len, cmd, &perr) < 0) {
		pop3_session_reply(s, "-ERR %s", pop3_parse_error_text(perr));
		pop3_session_error(s);
		goto out;
	}
	for (size_t i = 0; i < sizeof(pop3_commands) / sizeof(*d); i++)
		if (pop3_commands[i].cmd == cmd->cmd)
			d = &pop3_commands[i];
	if (d == NULL || (d->states & (1u << s->state)) == 0) {
		pop3_session_reply(s, "-ERR %s not allowed %s", cmd->verb,
		    s->state == POP3_STATE_AUTH ? "before login" :
		    "after login");
		pop3_session_error(s);
	} else
		d->exec(s, cmd);
out:
	explicit_bzero(cmd, sizeof(*cmd));	/* may hold a password */
	free(cmd);
}

static void
pop3_session_overlong(struct pop3_session *s)
{
	if (s->sasl_wait) {
		s->sasl_wait = false;
		pop3_session_reply(s, "-ERR [AUTH] Response too long");
	} else
		pop3_session_reply(s, "-ERR Line too long");
	pop3_session_error(s);
}

/* Takes one line from the input.  False when none is complete. */
static bool
pop3_session_line(struct pop3_session *s, struct evbuffer *in)
{
	bool overlong;
	size_t len;
	char *line;
	int r;

	r = session_io_line(in, POP3_LINE_MAX, &s->skip_line, &overlong,
	    &line, &len);
	if (overlong)
		pop3_session_overlong(s);
	if (r == 1)
		s->pace.lines++;
	if (line == NULL)
		return r == 1;
	if (s->sasl_wait)
		pop3_auth_response(s, line, len);
	else
		pop3_session_command(s, line, len);
	explicit_bzero(line, len);
	free(line);
	return true;
}

static void
pop3_session_process(struct pop3_session *s)
{
	for (;;) {
		if (s->busy || s->state >= POP3_STATE_UPDATE)
			break;
		/* The client does not take its replies: wait for the write
		 * callback instead of buffering without bound. */
		if (pop3_session_pending_output(s) > POP3_OUTPUT_HIGH)
			break;
		if (s->stream_fd >= 0) {
			pop3_stream_pump(s);
			if (s->out.len >= POP3_OUTPUT_LOW)
				pop3_session_flush(s);
			continue;
		}
		if (!pop3_session_line(s, bufferevent_get_input(s->bev)))
			break;
	}
	pop3_session_flush(s);
}

static void
pop3_session_read_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;
	size_t len;

	pop3_session_process(s);
	if (s->busy || s->state >= POP3_STATE_UPDATE)
		return;
	/* A command trickled an octet at a time: the idle timeout never
	 * fires, so it must be whole within pop3_timeout. */
	len = evbuffer_get_length(bufferevent_get_input(bev));
	if (session_io_pace_late(&s->pace, len > 0 || s->skip_line,
	    s->conf->pop3_timeout)) {
		log_info("%s pop3 timeout reason=\"too slow\" pending=%zu",
		    s->id, len);
		pop3_session_reply(s, "-ERR Autologout: too slow");
		pop3_session_close(s);
	}
}

static void
pop3_session_finish(struct pop3_session *s)
{
	log_info("%s pop3 disconnected address=%s user=%s retrieved=%u",
	    s->id, s->addr, s->address[0] ? log_q(s->address) : "-",
	    s->retrieved);
	pop3d_session_gone(s->srv, s);
	pop3_session_free(&s);
}

static void
pop3_session_finish_cb(void *arg)
{
	pop3_session_finish(arg);
}

/* Closing after STARTTLS: finish once the socket below has written the
 * TLS filter's last record (session_io_drain_under). */
static bool
pop3_session_drain_under(struct pop3_session *s)
{
	s->drain = (struct session_io_drain){ pop3_session_finish_cb, s };
	return session_io_drain_under(s->bev, &s->drain);
}

void
pop3_session_end(struct pop3_session *s)
{
	if (!pop3_session_drain_under(s))
		pop3_session_finish(s);
}

static void
pop3_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;

	if (s->state == POP3_STATE_QUIT && !s->busy) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return;		/* called again as it drains */
		if (!pop3_session_drain_under(s))
			pop3_session_finish(s);
		return;
	}
	pop3_session_process(s);
}

static void
pop3_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_session *s = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* the TLS handshake is done */
	if ((what & BEV_EVENT_TIMEOUT) && s->state < POP3_STATE_UPDATE &&
	    !s->busy) {
		log_info("%s pop3 timeout", s->id);
		pop3_session_reply(s, "-ERR Autologout: idle for too long");
		pop3_session_close(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && s->tls)
		log_info("%s pop3 tls-error error=%s", s->id,
		    log_q(tls_error()));
	log_info("%s pop3 disconnected address=%s user=%s retrieved=%u%s",
	    s->id, s->addr, s->address[0] ? log_q(s->address) : "-",
	    s->retrieved, s->state == POP3_STATE_TRANS ?
	    " note=\"no QUIT: nothing deleted\"" : "");
	pop3d_session_gone(s->srv, s);
	if (s->busy) {
		s->dead = true;		/* freed when the job reports */
		__atomic_store_n(&s->gone, 1, __ATOMIC_RELEASE);
		session_io_hup_stop(&s->hup);
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	pop3_session_free(&s);
}

static void
pop3_session_setup_bev(struct pop3_session *s)
{
	struct timeval tv = { (time_t)s->conf->pop3_timeout, 0 };

	bufferevent_setcb(s->bev, pop3_session_read_cb, pop3_session_write_cb,
	    pop3_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_INPUT_HIGH);
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3_OUTPUT_LOW, 0);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The failed-login ban check (ban.h, a store request) answered: a banned
 * address gets one line and the door, others the greeting. */
static void
pop3_session_ban_checked(int banned, time_t until, void *ctx)
{
	struct pop3_session *s = ctx;

	s->sreq = NULL;
	if (!s->dead && banned == 1) {
		log_info("%s pop3 reject stage=connect address=%s check=ban "
		    "until=%lld", s->id, s->addr, (long long)until);
		pop3_session_reply(s, "-ERR [SYS/PERM] Too many failed logins, "
		    "address banned");
		pop3_session_enter_state(s, POP3_STATE_QUIT);
	} else if (!s->dead)
		pop3_session_reply(s, "+OK Ferry POP3 ready");
	pop3_session_resume(s);		/* frees a dead session */
}

struct pop3_session *
pop3_session_new(struct pop3d *d, int fd, const struct sockaddr *sa,
    socklen_t salen, bool tls)
{
	struct pop3_session *s;
	struct bufferevent *bev;

	if ((bev = listener_bufferevent(d->env->base, fd, tls ? d->tls :
	    NULL)) == NULL) {
		log_warnx("- pop3 connection-setup-failed tls=%s",
		    tls ? "yes" : "no");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->srv = d;
	s->conf = conf_ref(d->env->conf);
	listener_session_init(&s->link, s);
	s->bev = bev;
	s->lock_fd = s->stream_fd = -1;
	ids_new(s->id);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	s->conn_peer = s->peer;
	cidr_addr_str(sa, s->addr, sizeof(s->addr));
	fbuf_init(&s->out, 0);
	s->tls = tls;
	pop3_session_setup_bev(s);
	log_info("%s pop3 connected address=%s tls=%s", s->id, s->addr,
	    tls ? "yes" : "no");
	s->state = POP3_STATE_AUTH;
	if (ban_exempt(s->conf, sa)) {
		pop3_session_reply(s, "+OK Ferry POP3 ready");
		pop3_session_flush(s);
		return s;
	}
	pop3_session_suspend(s);
	s->sreq = ban_check_start(d->env->stores, sa, time(NULL),
	    pop3_session_ban_checked, s);
	return s;
}

void
pop3_session_close(struct pop3_session *s)
{
	pop3_stream_close(s);
	pop3_session_enter_state(s, POP3_STATE_QUIT);
	bufferevent_disable(s->bev, EV_READ);
	/* After a write timeout (which disables writing): a peer that never
	 * reads is freed at the next one instead of kept forever. */
	bufferevent_enable(s->bev, EV_WRITE);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	pop3_session_flush(s);
	/* The write callback frees the session once the replies are out;
	 * with nothing left to write, make it run now. */
	bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

void
pop3_session_shutdown(struct pop3_session *s, const char *text)
{
	if (pop3_proxy_shutdown(s))
		return;
	if (s->busy || s->state >= POP3_STATE_UPDATE)
		return;		/* the job's reply comes first */
	if (text != NULL)
		pop3_session_reply(s, "%s", text);
	pop3_session_close(s);
}

void
pop3_session_suspend(struct pop3_session *s)
{
	s->busy = true;
	pop3_session_flush(s);
	bufferevent_disable(s->bev, EV_READ);
}

/* The peer left while a login job ran (session_io_hup): the same end as
 * a close noticed by reading. */
static void
pop3_session_hup(void *arg)
{
	struct pop3_session *s = arg;

	pop3_session_event_cb(s->bev, BEV_EVENT_READING | BEV_EVENT_EOF, s);
}

void
pop3_session_watch_hup(struct pop3_session *s)
{
	session_io_hup_start(&s->hup, s->bev, pop3_session_hup, s);
}

void
pop3_session_resume(struct pop3_session *s)
{
	s->busy = false;
	session_io_hup_stop(&s->hup);
	if (s->dead) {
		pop3_session_free(&s);
		return;
	}
	if (s->proxy != NULL) {
		/* the home node's answer (pop3_proxy.c) goes on from here */
		s->busy = true;
		return;
	}
	if (s->state == POP3_STATE_QUIT) {
		pop3_session_close(s);
		return;
	}
	if (s->srv->stopping) {
		pop3_session_shutdown(s, "-ERR [SYS/TEMP] Server shutting "
		    "down");
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
	pop3_session_process(s);
}

void
pop3_session_starttls(struct pop3_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);

	pop3_session_flush(s);
	/* Whatever the client pipelined after STLS came in plaintext and
	 * could have been injected by a man in the middle: it is dropped,
	 * never executed after the handshake (CVE-2011-0411 class). */
	if (junk > 0) {
		log_info("%s pop3 stls-discarded octets=%zu", s->id, junk);
		evbuffer_drain(in, junk);
	}
	s->bev = bufferevent_openssl_filter_new(s->srv->env->base, s->bev,
	    tls_server_ssl(s->srv->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	pop3_session_setup_bev(s);
	s->tls = true;
	/* RFC 2595 section 4: what was said before TLS is forgotten. */
	s->have_user = false;
	s->user[0] = '\0';
	s->skip_line = false;
}

void
pop3_session_free(struct pop3_session **sp)
{
	struct pop3_session *s = *sp;

	if (s == NULL)
		return;
	store_req_abort(&s->sreq);
	session_io_hup_stop(&s->hup);
	mailproxy_free(&s->proxy);
	pop3_stream_close(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	uidlist_free(&s->mbox);
	free(s->flags);
	bufferevent_free(s->bev);
	fbuf_release(&s->out);
	conf_unref(&s->conf);
	free(s);
	*sp = NULL;
}
