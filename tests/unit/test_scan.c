/* Unit tests for the scanners' client (src/policy/scan_conn.c): the
 * parsers of clamd's INSTREAM replies and of spamd's SPAMD/1.x replies,
 * scanner address parsing, and the asynchronous connection itself against
 * an in-process fake scanner on a UNIX socket and on loopback TCP: clamd
 * chunk framing of a multi-chunk file, reply to EOF, an answer before
 * the end of the stream, the reply cap, the deadline, a refused
 * connection reported later (never inline), abort. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/fbuf.h"
#include "policy/scan_conn.h"
#include "test.h"

static void
test_clamd_parse(void)
{
	static const struct {
		const char *reply;
		size_t len;
		enum scan_clamd_status st;
		const char *name;
	} cases[] = {
		{ "stream: OK", 11, SCAN_CLAMD_CLEAN, "" },
		{ "stream: OK\n", 11, SCAN_CLAMD_CLEAN, "" },
		{ "stream: Eicar-Test-Signature FOUND", 35,
		    SCAN_CLAMD_INFECTED, "Eicar-Test-Signature" },
		{ "stream: Win.Test.EICAR_HDB-1 FOUND\n", 35,
		    SCAN_CLAMD_INFECTED, "Win.Test.EICAR_HDB-1" },
		{ "INSTREAM size limit exceeded. ERROR", 36, SCAN_CLAMD_ERROR,
		    "INSTREAM size limit exceeded." },
		{ "stream: Can't allocate memory ERROR", 36, SCAN_CLAMD_ERROR,
		    "Can't allocate memory" },
		{ "UNKNOWN COMMAND", 16, SCAN_CLAMD_ERROR, "UNKNOWN COMMAND" },
		{ "", 0, SCAN_CLAMD_ERROR, "malformed reply" },
		{ "stream: OK\0stream: X FOUND", 27, SCAN_CLAMD_ERROR,
		    "malformed reply" },
		{ "FOUND", 6, SCAN_CLAMD_ERROR, "FOUND" },
		{ "stream:  FOUND", 15, SCAN_CLAMD_ERROR, " FOUND" },
		{ "stream: Bad\001Name FOUND", 23, SCAN_CLAMD_INFECTED,
		    "Bad?Name" },
	};
	static const char long_name[] = "stream: "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA FOUND";
	char name[64];

	test_begin("clamd INSTREAM replies");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum scan_clamd_status st = scan_conn_parse_clamd(
		    cases[i].reply, cases[i].len, name, sizeof(name));

		test_assert_idx(st == cases[i].st, i);
		test_assert_idx(strcmp(name, cases[i].name) == 0, i);
	}
	/* A long name is cut, never overflows. */
	test_assert(scan_conn_parse_clamd(long_name, strlen(long_name), name,
	    16) == SCAN_CLAMD_INFECTED);
	test_assert(strlen(name) == 15);
	test_end();
}

static void
test_spamd_parse(void)
{
	static const char gtube[] = "SPAMD/1.1 0 EX_OK\r\n"
	    "Content-length: 24\r\n"
	    "Spam: True ; 1000.0 / 5.0\r\n\r\n"
	    "GTUBE,NO_RECEIVED,MISSING";
	static const char ham[] = "SPAMD/1.1 0 EX_OK\r\n"
	    "Spam: False ; -0.3 / 5.0\r\n\r\n";
	static const char lf[] = "SPAMD/1.0 0 EX_OK\nspam: yes ; "
	    "15.2 / 5.0\n\nA,B\r\nC\"D\n";
	char sym[64], why[128];
	double score = 0;
	bool spam = false;

	test_begin("spamd SYMBOLS/CHECK replies");
	test_assert(scan_conn_parse_spamd(gtube, sizeof(gtube) - 1, &score,
	    &spam, sym, sizeof(sym), why, sizeof(why)) == 0);
	test_assert(spam && score == 1000.0);
	test_assert_streq(sym, "GTUBE,NO_RECEIVED,MISSING");
	test_assert(scan_conn_parse_spamd(ham, sizeof(ham) - 1, &score,
	    &spam, sym, sizeof(sym), why, sizeof(why)) == 0);
	test_assert(!spam && score > -0.31 && score < -0.29);
	test_assert_streq(sym, "");
	/* LF-only lines, lower-case header name, "Yes". */
	test_assert(scan_conn_parse_spamd(lf, strlen(lf), &score, &spam, sym,
	    sizeof(sym), why, sizeof(why)) == 0);
	test_assert(spam && score > 15.19 && score < 15.21);
	test_assert_streq(sym, "A,BCD");
	test_end();
}

static void
test_spamd_errors(void)
{
	static const char *bad[] = {
		"",
		"SPAMD/1.1 0 EX_OK",			/* no line end */
		"SPAMD/1.0 76 Bad header line: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"SPAMD/1.1 0 EX_OK\r\n\r\n",		/* no verdict */
		"SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n",
		"SPAMD/1.1 0 EX_OK\r\nSpam: True ; x / 5\r\n\r\n",
		"SPAMD/1.1 0 EX_OK\r\nSpam: True 5 / 5\r\n\r\n",
		"SPAMD/1.1 0 EX_OK\r\nSpam: True ; nan / 5\r\n\r\n",
		"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e300 / 5\r\n\r\n",
	};
	char sym[64], why[128];
	double score;
	bool spam;

	test_begin("spamd bad replies");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		test_assert_idx(scan_conn_parse_spamd(bad[i], strlen(bad[i]),
		    &score, &spam, sym, sizeof(sym), why, sizeof(why)) < 0, i);
		test_assert_idx(why[0] != '\0', i);
	}
	test_assert(scan_conn_parse_spamd(bad[2], strlen(bad[2]), &score,
	    &spam, sym, sizeof(sym), why, sizeof(why)) < 0);
	test_assert(strstr(why, "spamd error") != NULL);
	test_end();
}

static void
test_target_parse(void)
{
	char host[128];
	uint16_t port = 0;
	bool un = false;

	test_begin("scanner addresses");
	test_assert(scan_conn_target_parse("127.0.0.1:3310", &un, host,
	    sizeof(host), &port) == 0);
	test_assert(!un && port == 3310);
	test_assert_streq(host, "127.0.0.1");
	test_assert(scan_conn_target_parse("[::1]:783", &un, host,
	    sizeof(host), &port) == 0);
	test_assert(!un && port == 783);
	test_assert_streq(host, "::1");
	test_assert(scan_conn_target_parse("scan.example:783", &un, host,
	    sizeof(host), &port) == 0);
	test_assert_streq(host, "scan.example");
	test_assert(scan_conn_target_parse("/run/clamav/clamd.ctl", &un, host,
	    sizeof(host), &port) == 0);
	test_assert(un);
	test_assert_streq(host, "/run/clamav/clamd.ctl");
	test_assert(scan_conn_target_parse("127.0.0.1", &un, host,
	    sizeof(host), &port) < 0);
	test_assert(scan_conn_target_parse("127.0.0.1:0", &un, host,
	    sizeof(host), &port) < 0);
	test_assert(scan_conn_target_parse("127.0.0.1:70000", &un, host,
	    sizeof(host), &port) < 0);
	test_assert(scan_conn_target_parse(":25", &un, host,
	    sizeof(host), &port) < 0);
	test_assert(scan_conn_target_parse("::1:25", &un, host,
	    sizeof(host), &port) < 0);
	test_assert(scan_conn_target_parse("[::1]", &un, host,
	    sizeof(host), &port) < 0);
	test_end();
}

/* ------------------------------------------------ the fake scanner */

enum fake_mode { FAKE_CLAMD, FAKE_SILENT, FAKE_FLOOD, FAKE_EARLY };

struct fake {
	struct event_base *base;
	struct evconnlistener *lis;
	enum fake_mode mode;
	struct fbuf got;		/* decoded INSTREAM content */
	struct fbuf raw;		/* bytes as received */
	bool framing_ok;
	struct bufferevent *bev[8];
	size_t nbev;
};

struct result {
	bool called;
	char error[160];
	char reply[256];
	size_t len;
};

static void
fake_close_when_sent(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	for (size_t i = 0; i < f->nbev; i++)
		if (f->bev[i] == bev)
			f->bev[i] = NULL;
	bufferevent_free(bev);
}

/* Decodes "zINSTREAM\0" + chunks from f->raw: 1 at the end chunk. */
static int
fake_decode(struct fake *f)
{
	const unsigned char *p = (const unsigned char *)f->raw.data;
	size_t pos = 10, len = f->raw.len;
	uint32_t n;

	if (len < 10)
		return 0;
	f->framing_ok = memcmp(p, "zINSTREAM\0", 10) == 0;
	fbuf_reset(&f->got);
	while (pos + 4 <= len) {
		memcpy(&n, p + pos, 4);
		n = ntohl(n);
		if (n == 0)
			return pos + 4 == len ? 1 : (f->framing_ok = false, 1);
		if (n > 65536)
			f->framing_ok = false;
		if (pos + 4 + n > len)
			return 0;
		fbuf_add(&f->got, p + pos + 4, n);
		pos += 4 + n;
	}
	return 0;
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	fbuf_add(&f->raw, evbuffer_pullup(in, (ssize_t)n), n);
	evbuffer_drain(in, n);
	if (f->mode == FAKE_CLAMD && fake_decode(f) == 1) {
		bufferevent_write(bev, "stream: OK", 11);
		bufferevent_setcb(bev, NULL, fake_close_when_sent, NULL, f);
	} else if (f->mode == FAKE_EARLY && f->raw.len >= 100000) {
		/* clamd past StreamMaxLength: answers, closes mid-stream. */
		bufferevent_write(bev, "INSTREAM size limit exceeded. ERROR",
		    36);
		bufferevent_setcb(bev, NULL, fake_close_when_sent, NULL, f);
	}
}

static void
fake_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fake *f = arg;
	struct bufferevent *bev;
	char big[10000];

	if (f->nbev == sizeof(f->bev) / sizeof(f->bev[0])) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	f->bev[f->nbev++] = bev;
	bufferevent_setcb(bev, fake_read_cb, NULL, NULL, f);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (f->mode == FAKE_FLOOD) {
		memset(big, 'x', sizeof(big));
		bufferevent_write(bev, big, sizeof(big));
	}
}

static void
result_cb(const char *reply, size_t len, const char *error, void *arg)
{
	struct result *r = arg;

	r->called = true;
	r->len = len;
	snprintf(r->reply, sizeof(r->reply), "%s", reply);
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static void
fake_listen_unix(struct fake *f, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	f->lis = evconnlistener_new_bind(f->base, fake_accept_cb, f,
	    LEV_OPT_CLOSE_ON_FREE, 8, (struct sockaddr *)&sun, sizeof(sun));
}

/* Listens on 127.0.0.1 at a kernel-chosen port; writes "127.0.0.1:P". */
static void
fake_listen_tcp(struct fake *f, char *target, size_t size)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lis = evconnlistener_new_bind(f->base, fake_accept_cb, f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
	    (struct sockaddr *)&sin, sizeof(sin));
	getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&sin,
	    &len);
	snprintf(target, size, "127.0.0.1:%u", ntohs(sin.sin_port));
}

static void
fake_free(struct fake *f)
{
	for (size_t i = 0; i < f->nbev; i++)
		if (f->bev[i] != NULL)
			bufferevent_free(f->bev[i]);
	if (f->lis != NULL)
		evconnlistener_free(f->lis);
	fbuf_release(&f->got);
	fbuf_release(&f->raw);
}

/* Runs the loop until r->called or `secs` pass. */
static void
run_until(struct event_base *base, struct result *r, int secs)
{
	struct timeval tv = { 0, 20000 };

	for (int i = 0; i < secs * 50 && !r->called; i++)
		event_base_loopexit(base, &tv), event_base_dispatch(base);
}

/* A temporary file of n pseudo-random bytes, opened for reading. */
static int
temp_content(size_t n, struct fbuf *copy)
{
	char path[] = "/tmp/ferry-test-scan-XXXXXX";
	int fd = mkstemp(path);
	unsigned x = 12345;

	unlink(path);
	for (size_t i = 0; i < n; i++) {
		char ch;

		x = x * 1103515245u + 12345u;
		ch = (char)(x >> 16);
		fbuf_add(copy, &ch, 1);
	}
	if (write(fd, copy->data, n) != (ssize_t)n)
		return -1;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void
test_conn_instream(const char *label, bool tcp)
{
	struct event_base *base = event_base_new();
	struct fake f = { .base = base, .mode = FAKE_CLAMD };
	struct result r = { 0 };
	struct scan_conn_req req = { 0 };
	static const unsigned char tail[4];
	char target[128];
	struct fbuf content;

	snprintf(target, sizeof(target), "/tmp/ferry-test-scan-%d.sock",
	    (int)getpid());

	test_begin(label);
	fbuf_init(&f.got, 0);
	fbuf_init(&f.raw, 0);
	fbuf_init(&content, 0);
	if (tcp)
		fake_listen_tcp(&f, target, sizeof(target));
	else
		fake_listen_unix(&f, target);
	test_assert(f.lis != NULL);
	req.target = target;
	req.head = "zINSTREAM";
	req.head_len = 10;
	req.fd = temp_content(700000, &content);
	req.size = 700000;
	req.chunked = true;
	req.tail = tail;
	req.tail_len = 4;
	req.timeout_secs = 10;
	req.reply_max = 100;
	(void)scan_conn_start(base, NULL, &req, result_cb, &r);
	test_assert(!r.called);
	run_until(base, &r, 10);
	test_assert(r.called);
	test_assert_streq(r.error, "");
	test_assert(r.len == 11 && strcmp(r.reply, "stream: OK") == 0);
	test_assert(f.framing_ok);
	test_assert(f.got.len == 700000 &&
	    memcmp(f.got.data, content.data, 700000) == 0);
	fake_free(&f);
	fbuf_release(&content);
	if (!tcp)
		unlink(target);
	event_base_free(base);
	test_end();
}

/* Starts a connection to a fake scanner in `mode` with a short request. */
static struct scan_conn *
start_small(struct event_base *base, const char *target, unsigned secs,
    struct result *r)
{
	struct scan_conn_req req = { 0 };

	req.target = target;
	req.head = "PING";
	req.head_len = 4;
	req.fd = -1;
	req.timeout_secs = secs;
	req.reply_max = 100;
	return scan_conn_start(base, NULL, &req, result_cb, r);
}

static void
test_conn_early_answer(void)
{
	struct event_base *base = event_base_new();
	struct fake f = { .base = base, .mode = FAKE_EARLY };
	char path[64];
	struct scan_conn_req req = { 0 };
	struct result r = { 0 };
	struct fbuf content;

	snprintf(path, sizeof(path), "/tmp/ferry-test-scan3-%d.sock",
	    (int)getpid());
	test_begin("scan_conn: an answer before the end of the stream");
	fbuf_init(&f.got, 0);
	fbuf_init(&f.raw, 0);
	fbuf_init(&content, 0);
	fake_listen_unix(&f, path);
	req.target = path;
	req.fd = temp_content(8000000, &content);
	req.size = 8000000;
	req.chunked = true;
	req.timeout_secs = 10;
	req.reply_max = 100;
	(void)scan_conn_start(base, NULL, &req, result_cb, &r);
	run_until(base, &r, 10);
	test_assert(r.called);
	test_assert_streq(r.error, "");
	test_assert(scan_conn_parse_clamd(r.reply, r.len, r.error,
	    sizeof(r.error)) == SCAN_CLAMD_ERROR);
	test_assert_streq(r.error, "INSTREAM size limit exceeded.");
	test_assert(f.raw.len < 8000000);
	fake_free(&f);
	fbuf_release(&content);
	unlink(path);
	event_base_free(base);
	test_end();
}

static void
test_conn_failures(void)
{
	struct event_base *base = event_base_new();
	struct fake f = { .base = base, .mode = FAKE_SILENT };
	char path[64];
	struct result r = { 0 };
	struct scan_conn *c;

	/* Per process: another run of this suite may be going at once. */
	snprintf(path, sizeof(path), "/tmp/ferry-test-scan2-%d.sock",
	    (int)getpid());

	test_begin("scan_conn: refused, missing, timeout, cap, abort");
	fbuf_init(&f.got, 0);
	fbuf_init(&f.raw, 0);
	unlink(path);
	(void)start_small(base, path, 5, &r);
	test_assert(!r.called);			/* never inline */
	run_until(base, &r, 5);
	test_assert(r.called && strstr(r.error, "No such file") != NULL);
	memset(&r, 0, sizeof(r));
	(void)start_small(base, "127.0.0.1:1", 5, &r);
	test_assert(!r.called);
	run_until(base, &r, 5);
	test_assert(r.called && strstr(r.error, "refused") != NULL);
	memset(&r, 0, sizeof(r));
	(void)start_small(base, "no-such-host.invalid:3310", 5, &r);
	test_assert(!r.called);
	run_until(base, &r, 5);
	test_assert(r.called && strstr(r.error, "resolve") != NULL);

	fake_listen_unix(&f, path);
	memset(&r, 0, sizeof(r));
	(void)start_small(base, path, 1, &r);
	run_until(base, &r, 5);
	test_assert(r.called && strcmp(r.error, "timed out") == 0);
	test_assert(f.raw.len == 4 && memcmp(f.raw.data, "PING", 4) == 0);

	f.mode = FAKE_FLOOD;
	memset(&r, 0, sizeof(r));
	(void)start_small(base, path, 5, &r);
	run_until(base, &r, 5);
	test_assert(r.called && strcmp(r.error, "reply too long") == 0);

	memset(&r, 0, sizeof(r));
	c = start_small(base, path, 1, &r);
	scan_conn_abort(&c);
	test_assert(c == NULL);
	scan_conn_abort(&c);
	run_until(base, &r, 2);
	test_assert(!r.called);
	fake_free(&f);
	unlink(path);
	event_base_free(base);
	test_end();
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as in every role */
	test_clamd_parse();
	test_spamd_parse();
	test_spamd_errors();
	test_target_parse();
	test_conn_instream("scan_conn: INSTREAM over a UNIX socket", false);
	test_conn_instream("scan_conn: INSTREAM over loopback TCP", true);
	test_conn_early_answer();
	test_conn_failures();
	return test_exit();
}
