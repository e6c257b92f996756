/* The POP3 server of the mailbox role (pop3d.h): listeners of kind
 * "pop3" (plaintext, STLS offered when a certificate is configured) and
 * "pop3s" (TLS from the first byte, RFC 8314), max_connections and
 * max_connections_per_ip enforced before a session exists, and the set of
 * maildrops in use (RFC 1939 section 8: one session per maildrop).  One
 * process serves every session, so that set is authoritative here; the
 * lock file taken when a maildrop opens covers other processes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "lib/cidr.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "net/conncount.h"
#include "net/tls.h"
#include "pop3/pop3_private.h"
#include "pop3/pop3d.h"

bool
pop3d_mailbox_in_use(struct pop3d *d, const char *path)
{
	for (struct pop3_session *s = d->sessions; s != NULL; s = s->next)
		if (s->mailbox[0] != '\0' && strcmp(s->mailbox, path) == 0)
			return true;
	return false;
}

static void
pop3d_accept(struct pop3d *d, int fd, struct sockaddr *sa, int salen,
    bool tls)
{
	struct pop3_session *s;
	const char *why;
	char addr[CONNCOUNT_ADDR_LEN];

	cidr_addr_str(sa, addr, sizeof(addr));
	if (d->stopping) {
		close(fd);
		return;
	}
	why = conncount_check(&d->conns, addr, d->nsessions,
	    d->conf->max_connections, d->conf->max_connections_per_ip);
	if (why != NULL) {
		/* One line, but not on TLS ports, where plaintext would only
		 * confuse the client. */
		conncount_refuse(fd, "pop3", addr, tls ? NULL :
		    "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
		    why);
		return;
	}
	/* Replies are written whole when a command is done: Nagle would
	 * only hold back the tail of each for the client's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	s = pop3_session_new(d, fd, sa, (socklen_t)salen, tls);
	s->next = d->sessions;
	if (d->sessions != NULL)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	conncount_add(&d->conns, s->addr);
}

static void
pop3d_accept_plain_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	pop3d_accept(arg, fd, sa, salen, false);
}

static void
pop3d_accept_tls_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	pop3d_accept(arg, fd, sa, salen, true);
}

static void
pop3d_accept_error_cb(struct evconnlistener *l, void *arg)
{
	/* EMFILE and friends: back off briefly instead of spinning. */
	log_warn("- pop3 accept-failed");
	evconnlistener_disable(l);
	usleep(10000);
	evconnlistener_enable(l);
}

void
pop3d_session_gone(struct pop3d *d, struct pop3_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	d->nsessions--;
	conncount_del(&d->conns, s->addr);
	if (d->stopping && d->nsessions == 0 && d->idle != NULL)
		d->idle(d->idle_arg);
}

static int
pop3d_listen_one(struct pop3d *d, const struct ferry_listener *fl, bool tls)
{
	struct evconnlistener *l;

	if (tls && d->tls == NULL) {
		log_warnx("- pop3 listener-skipped addr=%s reason=\"pop3s "
		    "needs tls_cert and tls_key\"", fl->addr);
		return 0;
	}
	l = evconnlistener_new(d->env->base, tls ? pop3d_accept_tls_cb :
	    pop3d_accept_plain_cb, d, LEV_OPT_CLOSE_ON_EXEC, -1, fl->fd);
	if (l == NULL)
		return -1;
	evconnlistener_set_error_cb(l, pop3d_accept_error_cb);
	d->listener_tls[d->nlisteners] = tls;
	d->listeners[d->nlisteners++] = l;
	return 0;
}

struct pop3d *
pop3d_create(struct ferry_env *env, void (*idle)(void *), void *arg)
{
	struct pop3d *d = xcalloc(1, sizeof(*d));
	const char *error;
	size_t want = 0;

	d->env = env;
	d->conf = env->conf;
	d->idle = idle;
	d->idle_arg = arg;
	for (size_t i = 0; i < env->nlisteners; i++)
		if (strncmp(env->listeners[i].kind, "pop3", 4) == 0)
			want++;
	if (want == 0) {
		free(d);
		return NULL;
	}
	if (tls_server_create(&d->tls, d->conf, &error) < 0)
		log_warnx("- pop3 tls-unavailable error=%s", log_q(error));
	d->listeners = xcalloc(want, sizeof(*d->listeners));
	d->listener_tls = xcalloc(want, sizeof(*d->listener_tls));
	for (size_t i = 0; i < env->nlisteners; i++) {
		const char *kind = env->listeners[i].kind;

		if (strcmp(kind, "pop3") != 0 && strcmp(kind, "pop3s") != 0)
			continue;
		if (pop3d_listen_one(d, &env->listeners[i],
		    strcmp(kind, "pop3s") == 0) < 0)
			log_fatalx("- pop3 cannot listen on %s",
			    env->listeners[i].addr);
	}
	log_info("- pop3 ready listeners=%zu tls=%s", d->nlisteners,
	    d->tls != NULL ? "yes" : "no");
	return d;
}

unsigned
pop3d_sessions(const struct pop3d *d)
{
	return d->nsessions;
}

void
pop3d_stop(struct pop3d *d)
{
	struct pop3_session *s, *next;

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("- pop3 stopping sessions=%u", d->nsessions);
	for (size_t i = 0; i < d->nlisteners; i++)
		evconnlistener_disable(d->listeners[i]);
	for (s = d->sessions; s != NULL; s = next) {
		next = s->next;
		pop3_session_shutdown(s, "-ERR [SYS/TEMP] Server shutting "
		    "down");
	}
	if (d->nsessions == 0 && d->idle != NULL)
		d->idle(d->idle_arg);
}

void
pop3d_reload(struct pop3d *d)
{
	const char *error;

	if (d->tls != NULL && tls_server_reload(d->tls, d->conf, &error) < 0)
		log_warnx("- pop3 tls-reload-failed error=%s", log_q(error));
}

void
pop3d_free(struct pop3d **dp)
{
	struct pop3d *d = *dp;

	if (d == NULL)
		return;
	while (d->sessions != NULL) {
		struct pop3_session *s = d->sessions;

		d->idle = NULL;
		pop3d_session_gone(d, s);
		pop3_session_free(&s);
	}
	for (size_t i = 0; i < d->nlisteners; i++)
		evconnlistener_free(d->listeners[i]);
	free(d->listeners);
	free(d->listener_tls);
	tls_server_free(&d->tls);
	free(d);
	*dp = NULL;
}
