/* Unit tests for the supervisor's line channel (rolectl.h), served by
 * control.c's engine: calls and asynchronous answers, pipelined lines,
 * the line limit (a longer line closes the connection unanswered), a
 * socket already at the path replaced and made 0600, an adopted
 * socketpair end with the asynchronous asker, and a blocking call with
 * nobody listening. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/rolectl.h"
#include "sock_fixture.h"
#include "test.h"

struct server {
	struct event_base *base;
	struct rolectl_server *srv;
	char path[108];
	pthread_t thread;
};

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	rolectl_reply(arg, "ok later");
}

static void
handler(struct rolectl_req *req, const char *line, void *arg)
{
	struct server *s = arg;
	char buf[ROLECTL_LINE_MAX + 8];

	if (strncmp(line, "echo ", 5) == 0) {
		snprintf(buf, sizeof(buf), "ok %s", line + 5);
		rolectl_reply(req, buf);
	} else if (strcmp(line, "later") == 0)
		event_base_once(s->base, -1, EV_TIMEOUT, later_cb, req, NULL);
	else if (strcmp(line, "len") == 0 || strncmp(line, "len ", 4) == 0) {
		snprintf(buf, sizeof(buf), "ok %zu", strlen(line));
		rolectl_reply(req, buf);
	} else if (strcmp(line, "stop") == 0) {
		rolectl_reply(req, "ok");
		event_base_loopexit(s->base, NULL);
	} else
		rolectl_reply(req, "error unknown request");
}

static void *
server_run(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static int
server_start(struct server *s, const char *path)
{
	const char *error;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->base = event_base_new();
	if (rolectl_listen(&s->srv, s->base, path, handler, s, &error) < 0) {
		fprintf(stderr, "rolectl_listen: %s\n", error);
		event_base_free(s->base);
		return -1;
	}
	pthread_create(&s->thread, NULL, server_run, s);
	return 0;
}

static void
server_stop(struct server *s)
{
	char reply[64];
	const char *error;

	rolectl_call(s->path, "stop", reply, sizeof(reply), 10, &error);
	pthread_join(s->thread, NULL);
	rolectl_server_free(&s->srv);
	event_base_free(s->base);
}

static void
test_calls(const char *path)
{
	char reply[ROLECTL_LINE_MAX];
	const char *error;

	test_begin("rolectl: calls");
	test_assert(rolectl_call(path, "echo hi there", reply, sizeof(reply),
	    10, &error) == 0);
	test_assert_streq(reply, "ok hi there");
	test_assert(rolectl_call(path, "later", reply, sizeof(reply), 10,
	    &error) == 0);
	test_assert_streq(reply, "ok later");
	test_assert(rolectl_call(path, "what", reply, 8, 10, &error) == 0);
	test_assert_streq(reply, "error u");	/* cut to the caller's size */
	test_end();
}

static void
test_pipelined(const char *path)
{
	char buf[128];
	int fd;

	test_begin("rolectl: pipelined lines, in order");
	fd = raw_connect(path);
	test_assert(fd >= 0);
	test_assert(write(fd, "echo a\nlater\necho b\r\n", 21) == 21);
	/* the CR is the request's: only LF ends a line */
	test_assert(raw_read(fd, buf, 20) == 20);
	test_assert(memcmp(buf, "ok a\nok later\nok b\r\n", 20) == 0);
	close(fd);
	test_end();
}

static void
test_limit(const char *path)
{
	char *line = malloc(ROLECTL_LINE_MAX + 16), buf[64];
	int fd;

	test_begin("rolectl: the line limit");
	/* the longest line: ROLECTL_LINE_MAX - 1 octets and the LF */
	memset(line, 'x', ROLECTL_LINE_MAX + 16);
	memcpy(line, "len ", 4);
	line[ROLECTL_LINE_MAX - 1] = '\n';
	fd = raw_connect(path);
	test_assert(write(fd, line, ROLECTL_LINE_MAX) == ROLECTL_LINE_MAX);
	test_assert(raw_read(fd, buf, 8) == 8);
	test_assert(memcmp(buf, "ok 4095\n", 8) == 0);
	close(fd);
	/* one more: the connection closes, unanswered */
	line[ROLECTL_LINE_MAX - 1] = 'x';
	line[ROLECTL_LINE_MAX] = '\n';
	fd = raw_connect(path);
	test_assert(write(fd, line, ROLECTL_LINE_MAX + 1) ==
	    ROLECTL_LINE_MAX + 1);
	test_assert(raw_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	/* and without an LF at all */
	fd = raw_connect(path);
	test_assert(write(fd, line, ROLECTL_LINE_MAX) == ROLECTL_LINE_MAX);
	test_assert(raw_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	free(line);
	test_end();
}

static void
test_replace(const char *dir)
{
	struct event_base *base = event_base_new();
	struct rolectl_server *a = NULL;
	struct server b;
	struct stat st;
	char path[108], reply[64];
	const char *error;

	test_begin("rolectl: a socket at the path is replaced, owner only");
	snprintf(path, sizeof(path), "%s/r.sock", dir);
	test_assert(rolectl_listen(&a, base, path, handler, NULL, &error) == 0);
	/* unlike control_listen(), even a live one */
	test_assert(server_start(&b, path) == 0);
	/* (the umask 0077 leaves 0700 on a socket file) */
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);
	test_assert(rolectl_call(path, "echo b", reply, sizeof(reply), 10,
	    &error) == 0);
	test_assert_streq(reply, "ok b");
	server_stop(&b);
	rolectl_server_free(&a);
	test_assert(a == NULL);
	event_base_free(base);
	/* freeing leaves the file (the supervisor replaces it next time) */
	test_assert(stat(path, &st) == 0);
	test_assert(rolectl_call(path, "echo", reply, sizeof(reply), 10,
	    &error) == -1);
	unlink(path);
	test_assert(rolectl_call(path, "echo", reply, sizeof(reply), 10,
	    &error) == -1);
	test_end();
}

struct asker {
	struct event_base *base;
	char reply[64];
	int answers, failures;
};

static void
asker_cb(const char *reply, void *arg)
{
	struct asker *k = arg;

	if (reply == NULL)
		k->failures++;
	else {
		snprintf(k->reply, sizeof(k->reply), "%s", reply);
		k->answers++;
	}
	event_base_loopbreak(k->base);
}

static void
test_adopted(void)
{
	struct server s;
	struct asker k;
	struct rolectl_client *c;
	int sv[2];

	test_begin("rolectl: an adopted socketpair and the async asker");
	memset(&s, 0, sizeof(s));
	memset(&k, 0, sizeof(k));
	s.base = k.base = event_base_new();
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	s.srv = rolectl_adopt(s.base, sv[0], handler, &s);
	c = rolectl_client_new(s.base, sv[1]);
	test_assert(rolectl_client_ask(c, "echo one", 10, asker_cb, &k) == 0);
	test_assert(rolectl_client_ask(c, "echo two", 10, asker_cb, &k) == -1);
	test_assert(k.answers == 0);	/* never inline */
	event_base_dispatch(s.base);
	test_assert(k.answers == 1);
	test_assert_streq(k.reply, "ok one");
	test_assert(rolectl_client_ask(c, "later", 10, asker_cb, &k) == 0);
	event_base_dispatch(s.base);
	test_assert(k.answers == 2);
	test_assert_streq(k.reply, "ok later");
	/* the serving end goes: the asker hears of it */
	rolectl_server_free(&s.srv);
	test_assert(s.srv == NULL);
	test_assert(rolectl_client_ask(c, "echo three", 10, asker_cb, &k) == 0);
	event_base_dispatch(s.base);
	test_assert(k.failures == 1);
	rolectl_client_free(&c);
	event_base_free(s.base);
	test_end();
}

int
main(void)
{
	char dir[] = "/tmp/test_rolectl.XXXXXX";
	char path[108];
	struct server s;

	signal(SIGPIPE, SIG_IGN);	/* writes to a closed asker's peer */
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/serve.sock", dir);
	if (server_start(&s, path) == 0) {
		test_calls(path);
		test_pipelined(path);
		test_limit(path);
		server_stop(&s);
		unlink(path);
	} else {
		test_begin("rolectl server start");
		test_assert(0);
		test_end();
	}
	test_replace(dir);
	test_adopted();
	rmdir(dir);
	return test_exit();
}
