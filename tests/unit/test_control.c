/* Control socket: the request parser and formatter on tables, and a real
 * server on its own thread and event loop answering the blocking client
 * and raw sockets (framing, pipelining, trickled bytes, limits). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/fbuf.h"
#include "net/control.h"
#include "sock_fixture.h"
#include "test.h"

#define TIMEOUT_MS 10000

static void
test_parse_table(void)
{
	static const struct {
		const char *in;
		int ok;
		const char *verb;
		size_t nargs;
		const char *key, *value;	/* of the last argument */
	} cases[] = {
		{ "list", 1, "list", 0, NULL, NULL },
		{ "show id=0123456789abcdef", 1, "show", 1, "id",
		    "0123456789abcdef" },
		{ "a-b x=1 y=", 1, "a-b", 2, "y", "" },
		{ "say text=hello%20world%25%0A", 1, "say", 1, "text",
		    "hello world%\n" },
		{ "say text=%c3%A9", 1, "say", 1, "text", "\xc3\xa9" },
		{ "list\r", 1, "list", 0, NULL, NULL },
		{ "", 0, NULL, 0, NULL, NULL },
		{ "List", 0, NULL, 0, NULL, NULL },
		{ "1list", 0, NULL, 0, NULL, NULL },
		{ "list ", 0, NULL, 0, NULL, NULL },
		{ " list", 0, NULL, 0, NULL, NULL },
		{ "list  a=1", 0, NULL, 0, NULL, NULL },
		{ "list a", 0, NULL, 0, NULL, NULL },
		{ "list =1", 0, NULL, 0, NULL, NULL },
		{ "list A=1", 0, NULL, 0, NULL, NULL },
		{ "list a-b=1", 0, NULL, 0, NULL, NULL },
		{ "list a=1 a=2", 0, NULL, 0, NULL, NULL },
		{ "list a=%0", 0, NULL, 0, NULL, NULL },
		{ "list a=%zz", 0, NULL, 0, NULL, NULL },
		{ "list a=%00", 0, NULL, 0, NULL, NULL },
		{ "list a=\x01", 0, NULL, 0, NULL, NULL },
		{ "list a=\xc3\xa9", 0, NULL, 0, NULL, NULL },
		{ "list a=b\tc", 0, NULL, 0, NULL, NULL },
		{ "verbthatisfarlongerthanthirtytwochars", 0, NULL, 0, NULL,
		    NULL },
	};
	static struct control_msg msg;
	const char *error;

	test_begin("control_msg_parse table");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = control_msg_parse(cases[i].in, strlen(cases[i].in),
		    &msg, &error);

		test_assert_idx((r == 0) == (cases[i].ok == 1), i);
		if (r < 0 || !cases[i].ok)
			continue;
		test_assert_idx(strcmp(msg.verb, cases[i].verb) == 0, i);
		test_assert_idx(msg.nargs == cases[i].nargs, i);
		if (cases[i].key != NULL && msg.nargs > 0) {
			test_assert_idx(strcmp(control_msg_arg(&msg,
			    cases[i].key), cases[i].value) == 0, i);
		}
	}
	test_assert(control_msg_parse("a\0b", 3, &msg, &error) < 0);
	test_end();
}

static void
test_parse_limits(void)
{
	static struct control_msg msg;
	struct fbuf b;
	const char *error;

	test_begin("control_msg_parse limits");
	fbuf_init(&b, 0);
	fbuf_adds(&b, "v");
	for (int i = 0; i < CONTROL_ARGS_MAX; i++)
		fbuf_addf(&b, " k%d=%d", i, i);
	test_assert(control_msg_parse(b.data, b.len, &msg, &error) == 0);
	test_assert(msg.nargs == CONTROL_ARGS_MAX);
	fbuf_adds(&b, " one=more");
	test_assert(control_msg_parse(b.data, b.len, &msg, &error) < 0);
	test_assert_streq(error, "too many arguments");
	fbuf_reset(&b);
	fbuf_adds(&b, "v a=");
	while (b.len < CONTROL_LINE_MAX)
		fbuf_addc(&b, 'x');
	test_assert(control_msg_parse(b.data, b.len, &msg, &error) == 0);
	fbuf_addc(&b, 'x');
	test_assert(control_msg_parse(b.data, b.len, &msg, &error) < 0);
	test_assert_streq(error, "request too long");
	fbuf_release(&b);
	test_end();
}

static void
test_format_roundtrip(void)
{
	static const char *values[] = {
		"", "plain", "with space", "100%", "line\nbreak\r\n",
		"\xc3\xa9t\xc3\xa9", "a=b&c", "\x7f\x01\xff",
	};
	static struct control_msg msg;
	struct control_arg args[2];
	struct fbuf b;
	const char *error;

	test_begin("control_msg_format round trip");
	fbuf_init(&b, 0);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		fbuf_reset(&b);
		args[0] = (struct control_arg){ "id", "x" };
		args[1] = (struct control_arg){ "text", values[i] };
		test_assert_idx(control_msg_format(&b, "say", args, 2,
		    &error) == 0, i);
		test_assert_idx(b.len > 0 && b.data[b.len - 1] == '\n', i);
		test_assert_idx(memchr(b.data, '\n', b.len - 1) == NULL, i);
		test_assert_idx(control_msg_parse(b.data, b.len - 1, &msg,
		    &error) == 0, i);
		test_assert_idx(strcmp(control_msg_arg(&msg, "text"),
		    values[i]) == 0, i);
	}
	fbuf_reset(&b);
	test_assert(control_msg_format(&b, "Bad", NULL, 0, &error) < 0);
	args[0] = (struct control_arg){ "bad key", "x" };
	test_assert(control_msg_format(&b, "ok", args, 1, &error) < 0);
	test_assert(b.len == 0);
	fbuf_release(&b);
	test_end();
}

static void
test_head_parse(void)
{
	enum control_status st;
	size_t n;

	test_begin("control_head_parse");
	test_assert(control_head_parse("ok 0", 4, &st, &n) == 0 &&
	    st == CONTROL_OK && n == 0);
	test_assert(control_head_parse("error 12", 8, &st, &n) == 0 &&
	    st == CONTROL_ERROR && n == 12);
	test_assert(control_head_parse("ok", 2, &st, &n) < 0);
	test_assert(control_head_parse("ok -1", 5, &st, &n) < 0);
	test_assert(control_head_parse("ok 1x", 5, &st, &n) < 0);
	test_assert(control_head_parse("fine 1", 6, &st, &n) < 0);
	test_end();
}

/* --- a server on its own thread */

struct server {
	struct event_base *base;
	struct control_server *srv;
	char path[108];
	pthread_t thread;
	int handled;
};

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	control_reply(arg, CONTROL_OK, "later", 5);
}

static void
handler(struct control_request *req, void *ctx)
{
	struct server *s = ctx;
	const struct control_msg *m = control_request_msg(req);
	const char *verb = control_request_verb(req);
	struct fbuf b;

	s->handled++;
	if (strcmp(verb, "echo") == 0) {
		fbuf_init(&b, 0);
		fbuf_adds(&b, verb);
		for (size_t i = 0; i < m->nargs; i++)
			fbuf_addf(&b, "|%s=%s", m->args[i].key,
			    m->args[i].value);
		control_reply(req, CONTROL_OK, b.data, b.len);
		fbuf_release(&b);
	} else if (strcmp(verb, "later") == 0) {
		event_base_once(s->base, -1, EV_TIMEOUT, later_cb, req, NULL);
	} else if (strcmp(verb, "big") == 0) {
		char *p = malloc(1 << 20);

		memset(p, 'b', 1 << 20);
		control_reply(req, CONTROL_OK, p, 1 << 20);
		free(p);
	} else if (strcmp(verb, "uid") == 0) {
		control_replyf(req, CONTROL_OK, "%u",
		    (unsigned)control_request_uid(req));
	} else if (strcmp(verb, "stop") == 0) {
		control_reply(req, CONTROL_OK, "", 0);
		event_base_loopexit(s->base, NULL);
	} else
		control_replyf(req, CONTROL_ERROR, "unknown verb %s", verb);
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
	if (control_listen(s->base, path, 0600, handler, s, &s->srv,
	    &error) < 0) {
		fprintf(stderr, "control_listen: %s\n", error);
		event_base_free(s->base);
		return -1;
	}
	pthread_create(&s->thread, NULL, server_run, s);
	return 0;
}

static void
server_stop(struct server *s)
{
	struct control_answer ans;
	const char *error;

	control_call(s->path, "stop", NULL, 0, TIMEOUT_MS, &ans, &error);
	fbuf_release(&ans.body);
	pthread_join(s->thread, NULL);
	control_server_free(&s->srv);
	event_base_free(s->base);
}

static void
test_server_calls(const char *path)
{
	struct control_arg args[] = { { "id", "a b" }, { "x", "%\n" } };
	struct control_answer ans;
	const char *error;

	test_begin("control server: calls");
	test_assert(control_call(path, "echo", args, 2, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert(ans.status == CONTROL_OK);
	test_assert_streq(ans.body.data, "echo|id=a b|x=%\n");
	fbuf_release(&ans.body);
	test_assert(control_call(path, "nope", NULL, 0, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert(ans.status == CONTROL_ERROR);
	test_assert_streq(ans.body.data, "unknown verb nope");
	fbuf_release(&ans.body);
	test_assert(control_call(path, "later", NULL, 0, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert(ans.status == CONTROL_OK);
	test_assert_streq(ans.body.data, "later");
	fbuf_release(&ans.body);
	test_assert(control_call(path, "big", NULL, 0, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert(ans.body.len == 1 << 20 && ans.body.data[12345] == 'b');
	fbuf_release(&ans.body);
	test_assert(control_call(path, "uid", NULL, 0, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert((uid_t)strtoul(ans.body.data, NULL, 10) == geteuid());
	fbuf_release(&ans.body);
	test_end();
}

static void
test_server_bad_input(const char *path)
{
	static const char bad_then_good[] = "Bad verb\necho a=1\n";
	struct control_answer ans;
	char buf[256], *big;
	const char *error;
	size_t n;
	int fd;

	test_begin("control server: bad input");
	test_assert(control_call_raw(path, bad_then_good, 9, TIMEOUT_MS, &ans,
	    &error) == 0);
	test_assert(ans.status == CONTROL_ERROR);
	test_assert_streq(ans.body.data, "bad verb");
	fbuf_release(&ans.body);
	/* An error leaves the connection usable, and requests written
	 * before a half-close are all answered. */
	fd = raw_connect(path);
	test_assert(fd >= 0);
	test_assert(write(fd, bad_then_good, sizeof(bad_then_good) - 1) ==
	    (ssize_t)sizeof(bad_then_good) - 1);
	shutdown(fd, SHUT_WR);
	n = raw_read(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	test_assert_streq(buf, "error 8\nbad verbok 8\necho|a=1");
	close(fd);
	/* Too long: answered, then closed. */
	big = malloc(CONTROL_LINE_MAX + 100);
	memset(big, 'a', CONTROL_LINE_MAX + 100);
	test_assert(control_call_raw(path, big, CONTROL_LINE_MAX + 100,
	    TIMEOUT_MS, &ans, &error) == 0);
	test_assert(ans.status == CONTROL_ERROR);
	test_assert_streq(ans.body.data, "request too long");
	fbuf_release(&ans.body);
	fd = raw_connect(path);
	test_assert(write(fd, big, CONTROL_LINE_MAX + 100) > 0);
	n = raw_read(fd, buf, sizeof(buf) - 1);	/* EOF: server closed */
	buf[n] = '\0';
	test_assert_streq(buf, "error 16\nrequest too long");
	close(fd);
	free(big);
	test_end();
}

static void
test_server_pipelined(const char *path)
{
	static const char two[] = "echo a=1\nlater\necho b=2\n";
	static const char want[] = "ok 8\necho|a=1ok 5\nlaterok 8\necho|b=2";
	char buf[256];
	size_t n = 0;
	int fd;

	test_begin("control server: pipelined and trickled");
	fd = raw_connect(path);
	test_assert(fd >= 0);
	test_assert(write(fd, two, sizeof(two) - 1) == sizeof(two) - 1);
	n = raw_read(fd, buf, sizeof(want) - 1);
	buf[n] = '\0';
	test_assert_streq(buf, want);
	/* One byte at a time on the same connection. */
	for (const char *p = two; *p != '\0'; p++)
		test_assert(write(fd, p, 1) == 1);
	n = raw_read(fd, buf, sizeof(want) - 1);
	buf[n] = '\0';
	test_assert_streq(buf, want);
	close(fd);
	test_end();
}

static void
test_server_lifecycle(const char *dir)
{
	struct server s1, s2;
	struct control_answer ans;
	char path[108];
	const char *error;
	struct stat st;

	test_begin("control server: missing, stale and live sockets");
	snprintf(path, sizeof(path), "%s/missing.ctl", dir);
	test_assert(control_call(path, "echo", NULL, 0, TIMEOUT_MS, &ans,
	    &error) < 0);
	test_assert(control_errno_down(errno));
	fbuf_release(&ans.body);
	/* A socket file nobody listens on is replaced. */
	snprintf(path, sizeof(path), "%s/stale.ctl", dir);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		test_assert(bind(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0);
		close(fd);
	}
	test_assert(control_call(path, "echo", NULL, 0, TIMEOUT_MS, &ans,
	    &error) < 0);
	test_assert(control_errno_down(errno));
	fbuf_release(&ans.body);
	test_assert(server_start(&s1, path) == 0);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* A live one is not stolen. */
	{
		struct event_base *b = event_base_new();
		struct control_server *srv = NULL;

		test_assert(control_listen(b, path, 0600, handler, &s2, &srv,
		    &error) < 0);
		test_assert_streq(error, "socket in use by a running process");
		event_base_free(b);
	}
	test_assert(control_call(path, "echo", NULL, 0, TIMEOUT_MS, &ans,
	    &error) == 0 && ans.status == CONTROL_OK);
	fbuf_release(&ans.body);
	server_stop(&s1);
	test_assert(stat(path, &st) < 0 && errno == ENOENT);
	test_end();
}

/* A fake server: accepts one connection, reads the request line and
 * writes a canned answer, then closes. */
struct fake {
	int lfd;
	const char *answer;
};

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	char buf[256];
	int fd = accept(f->lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	if (n > 0)
		n = write(fd, f->answer, strlen(f->answer));
	close(fd);
	return NULL;
}

static void
test_client_bad_answers(const char *dir)
{
	static const struct {
		const char *answer, *error;
	} cases[] = {
		{ "ok 99999999999\n", "answer too large" },
		{ "fine 1\nx", "malformed answer" },
		{ "ok x\n", "malformed answer" },
		{ "ok 5\nab", "connection closed before the answer" },
		{ "", "connection closed before the answer" },
	};
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control_answer ans;
	struct fake f;
	pthread_t t;
	const char *error;

	test_begin("control client: bad answers");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/fake.ctl", dir);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	test_assert(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    listen(f.lfd, 4) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.answer = cases[i].answer;
		pthread_create(&t, NULL, fake_run, &f);
		test_assert_idx(control_call(sun.sun_path, "list", NULL, 0,
		    TIMEOUT_MS, &ans, &error) < 0, i);
		test_assert_idx(strcmp(error, cases[i].error) == 0, i);
		test_assert_idx(!control_errno_down(errno), i);
		fbuf_release(&ans.body);
		pthread_join(t, NULL);
	}
	close(f.lfd);
	unlink(sun.sun_path);
	test_end();
}

int
main(void)
{
	char dir[] = "/tmp/test_control.XXXXXX";
	char path[108];
	struct server s;

	test_parse_table();
	test_parse_limits();
	test_format_roundtrip();
	test_head_parse();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.ctl", dir);
	if (server_start(&s, path) == 0) {
		test_server_calls(path);
		test_server_bad_input(path);
		test_server_pipelined(path);
		server_stop(&s);
	} else {
		test_begin("control server start");
		test_assert(0);
		test_end();
	}
	test_server_lifecycle(dir);
	test_client_bad_answers(dir);
	rmdir(dir);
	return test_exit();
}
