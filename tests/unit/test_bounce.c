/* Unit tests for DSNs (bounce.c): last_error parsing (status, remote
 * host, reply), the RFC 3464 structure of failure and delay reports read
 * back from a temporary spool, the header part stopping at the first
 * empty line and at its size cap, line lengths and CRLF, and the loop
 * rules: nothing for the null sender, a failed DSN goes to postmaster
 * once, then nothing. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "queue/bounce.h"
#include "queue/spool.h"
#include "test.h"

#define TEST_HOST "mx.example.test"
#define TEST_PM "postmaster@example.test"

static char test_dir[64];
static char test_spool[128];

/* ---- bounce_parse_diag ---- */

static void
test_diag(void)
{
	static const struct {
		const char *in;
		enum bounce_kind kind;
		const char *status, *host, *addr;
		int reply;		/* offset of the reply in in, or -1 */
	} cases[] = {
		{ "mx1.example.net [192.0.2.1]: 550 5.1.1 <b@x>: no user",
		    BOUNCE_FAILURE, "5.1.1", "mx1.example.net", "192.0.2.1",
		    29 },
		{ "550 5.1.1 no such user", BOUNCE_FAILURE, "5.1.1", "", "",
		    0 },
		{ "550-5.7.1 go away", BOUNCE_FAILURE, "5.7.1", "", "", 0 },
		{ "550 no such user", BOUNCE_FAILURE, "5.0.0", "", "", 0 },
		{ "4.4.1 connection timed out", BOUNCE_FAILURE, "4.4.1", "", "",
		    -1 },
		{ "4.4.1 connection timed out", BOUNCE_DELAY, "4.4.1", "", "",
		    -1 },
		{ "mx.b.example: 4.7.5 TLS handshake timed out", BOUNCE_DELAY,
		    "4.7.5", "mx.b.example", "", -1 },
		{ "[192.0.2.9]: 421 4.7.0 try later", BOUNCE_DELAY, "4.7.0",
		    "[192.0.2.9]", "", 13 },
		{ "2001:db8::1 [2001:db8::1]: 451 4.3.0 busy", BOUNCE_DELAY,
		    "4.3.0", "2001:db8::1", "2001:db8::1", 27 },
		{ "mx.example.net: 550 5.1.1 no", BOUNCE_FAILURE, "5.1.1",
		    "mx.example.net", "", 16 },
		{ "connection timed out", BOUNCE_FAILURE, "5.0.0", "", "",
		    -1 },
		{ "connection timed out", BOUNCE_DELAY, "4.0.0", "", "", -1 },
		{ "error: no dot, no host", BOUNCE_FAILURE, "5.0.0", "", "",
		    -1 },
		{ "451 5.1.1 odd", BOUNCE_DELAY, "4.0.0", "", "", 0 },
		{ "250 2.0.0 ok", BOUNCE_FAILURE, "5.0.0", "", "", 0 },
		{ "5.1.1", BOUNCE_FAILURE, "5.1.1", "", "", -1 },
		{ "5.1.1234 x", BOUNCE_FAILURE, "5.0.0", "", "", -1 },
		{ "5.0.0 bounced by the operator", BOUNCE_FAILURE, "5.0.0", "",
		    "", -1 },
		{ "", BOUNCE_FAILURE, "5.0.0", "", "", -1 },
	};
	struct bounce_diag d;
	size_t i;

	test_begin("bounce last_error parsing");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bounce_parse_diag(cases[i].in, cases[i].kind, &d);
		test_assert_idx(strcmp(d.status, cases[i].status) == 0, i);
		test_assert_idx(strcmp(d.host, cases[i].host) == 0, i);
		test_assert_idx(strcmp(d.addr, cases[i].addr) == 0, i);
		if (cases[i].reply < 0)
			test_assert_idx(d.reply == NULL, i);
		else
			test_assert_idx(d.reply == cases[i].in +
			    cases[i].reply, i);
	}
	bounce_parse_diag(NULL, BOUNCE_DELAY, &d);
	test_assert(strcmp(d.status, "4.0.0") == 0 && d.reply == NULL &&
	    d.text != NULL && d.text[0] == '\0');
	test_end();
}

/* ---- fixtures ---- */

static void
test_rcpt(struct spool_rcpt *r, const char *orig, const char *addr,
    enum spool_rcpt_state st, unsigned attempts, const char *error)
{
	r->orig = xstrdup(orig);
	r->addr = xstrdup(addr);
	r->state = st;
	r->attempts = attempts;
	r->last_error = error != NULL ? xstrdup(error) : NULL;
}

/* Commits content with a three-recipient envelope from sender. */
static void
test_original(struct spool_env *env, const char *sender, const char *content,
    size_t len)
{
	struct spool_writer *w;

	memset(env, 0, sizeof(*env));
	env->arrival = time(NULL) - 3600;
	env->sender = xstrdup(sender);
	env->client_addr = xstrdup("192.0.2.7");
	env->client_helo = xstrdup("client.example");
	env->protocol = xstrdup("ESMTP");
	env->nrcpts = 3;
	env->rcpts = xcalloc(3, sizeof(*env->rcpts));
	test_rcpt(&env->rcpts[0], "B@Remote.Example", "b@remote.example",
	    SPOOL_RCPT_FAILED, 1, "mx1.remote.example [192.0.2.1]: 550 5.1.1 "
	    "<b@remote.example>: Recipient address rejected");
	test_rcpt(&env->rcpts[1], "done@remote.example", "done@remote.example",
	    SPOOL_RCPT_DONE, 1, NULL);
	test_rcpt(&env->rcpts[2], "c@slow.example", "c@slow.example",
	    SPOOL_RCPT_FAILED, 9, "mx.slow.example [192.0.2.2]: 4.4.1 "
	    "connection timed out (queue lifetime expired)");
	test_assert(spool_writer_open(&w, test_spool) == 0);
	test_assert(spool_writer_write(w, content, len) == 0);
	test_assert(spool_writer_commit(&w, env) == 0);
}

static const char test_content[] =
    "Received: from client.example\r\n"
    "\tby mx.example.test\r\n"
    "From: Alice <alice@example.test>\r\n"
    "Subject: hello there\r\n"
    "\r\n"
    "Body-Secret: not a header\r\n"
    "\r\n"
    "more body\r\n";

/* is_local: example.test is local, its mailboxes lower-cased. */
static bool
test_is_local(const char *addr, char *mailbox, size_t size, void *ctx)
{
	const char *at = strrchr(addr, '@');
	int *calls = ctx;
	size_t i;

	(*calls)++;
	if (at == NULL || strcasecmp(at, "@example.test") != 0 ||
	    strlen(addr) >= size)
		return false;
	for (i = 0; addr[i] != '\0'; i++)
		mailbox[i] = (char)(addr[i] >= 'A' && addr[i] <= 'Z' ?
		    addr[i] + 32 : addr[i]);
	mailbox[i] = '\0';
	return true;
}

static void
test_params(struct bounce_params *p, enum bounce_kind kind,
    const size_t *rcpts, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->spool_dir = test_spool;
	p->hostname = TEST_HOST;
	p->postmaster = TEST_PM;
	p->kind = kind;
	p->rcpts = rcpts;
	p->nrcpts = n;
}

static void
test_read_msg(const char *id, struct fbuf *b)
{
	char path[PATH_MAX];

	fbuf_init(b, 0);
	test_assert(spool_msg_path(test_spool, id, path, sizeof(path)) == 0);
	test_assert(fsio_read_file(path, b, 1 << 22) == 0);
}

static size_t
test_count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

/* Every line ends in CRLF, none is longer than 998 octets. */
static bool
test_lines_ok(const struct fbuf *b)
{
	size_t i, col = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\n') {
			if (i == 0 || b->data[i - 1] != '\r' || col > 999)
				return false;
			col = 0;
		} else
			col++;
	}
	return col == 0;
}

/* Copies the boundary out of the Content-Type header. */
static bool
test_boundary(const char *msg, char *dst, size_t size)
{
	const char *p = strstr(msg, "boundary=\""), *q;

	if (p == NULL)
		return false;
	p += 10;
	if ((q = strchr(p, '"')) == NULL || (size_t)(q - p) + 3 >= size)
		return false;
	dst[0] = '-';
	dst[1] = '-';
	memcpy(dst + 2, p, (size_t)(q - p));
	dst[q - p + 2] = '\0';
	return true;
}

/* The text between the n-th delimiter line (1-based) and the next. */
static char *
test_part(const char *msg, const char *delim, int n)
{
	const char *p = msg, *q;

	while (n-- > 0) {
		if ((p = strstr(p, delim)) == NULL)
			return NULL;
		p += strlen(delim) + 2;
	}
	if ((q = strstr(p, delim)) == NULL)
		return NULL;
	return xstrndup(p, (size_t)(q - p));
}

/* Header unfolding in place (RFC 5322 section 2.2.3): CRLF before
 * white space goes. */
static void
test_unfold(struct fbuf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 2 < b->len &&
		    b->data[i + 1] == '\n' && (b->data[i + 2] == ' ' ||
		    b->data[i + 2] == '\t')) {
			i++;
			continue;
		}
		b->data[o++] = b->data[i];
	}
	b->len = o;
	b->data[o] = '\0';
}

static char *
test_unfolded(char *s)
{
	struct fbuf b;

	fbuf_init(&b, 0);
	fbuf_adds(&b, s);
	free(s);
	test_unfold(&b);
	return fbuf_steal(&b);
}

/* ---- failure ---- */

static void
test_failure_structure(const char *m, const char *delim)
{
	char *human, *status, *headers;

	test_assert(test_count(m, delim) == 4);
	test_assert(strstr(m, "\r\n\r\n") < strstr(m, delim));
	human = test_part(m, delim, 1);
	status = test_part(m, delim, 2);
	if (status != NULL)
		status = test_unfolded(status);
	headers = test_part(m, delim, 3);
	test_assert(human != NULL && status != NULL && headers != NULL);
	if (human == NULL || status == NULL || headers == NULL)
		goto out;
	test_assert(strncmp(human, "Content-Type: text/plain", 24) == 0);
	test_assert(strstr(human, "given up") != NULL);
	test_assert(strstr(human, "<b@remote.example> (originally "
	    "<B@Remote.Example>):") != NULL);
	test_assert(strstr(human, "host mx1.remote.example [192.0.2.1] said: "
	    "550 5.1.1") != NULL);
	test_assert(strstr(human, "connection timed out") != NULL);
	test_assert(strstr(human, "done@remote.example") == NULL);
	test_assert(strncmp(status, "Content-Type: message/delivery-status"
	    "\r\n", 39) == 0);
	test_assert(strstr(status, "\r\n\r\nReporting-MTA: dns; " TEST_HOST
	    "\r\n") != NULL);
	test_assert(strstr(status, "\r\nArrival-Date: ") != NULL);
	test_assert(strstr(status, "\r\n\r\nOriginal-Recipient: rfc822;"
	    "B@Remote.Example\r\nFinal-Recipient: rfc822;b@remote.example\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; "
	    "mx1.remote.example\r\nDiagnostic-Code: smtp; 550 5.1.1 "
	    "<b@remote.example>: Recipient address rejected\r\n"
	    "Last-Attempt-Date: ") != NULL);
	test_assert(strstr(status, "Final-Recipient: rfc822;c@slow.example"
	    "\r\nAction: failed\r\nStatus: 4.4.1\r\nRemote-MTA: dns; "
	    "mx.slow.example\r\nDiagnostic-Code: X-Ferry; 4.4.1 connection "
	    "timed out (queue lifetime expired)\r\n") != NULL);
	test_assert(test_count(status, "Action: ") == 2);
	test_assert(strstr(status, "done@") == NULL);
	test_assert(strstr(status, "Will-Retry-Until") == NULL);
	test_assert(strstr(headers, "Content-Type: text/rfc822-headers\r\n")
	    == headers);
	test_assert(strstr(headers, "\r\n\r\nReceived: from client.example"
	    "\r\n\tby mx.example.test\r\nFrom: Alice <alice@example.test>\r\n"
	    "Subject: hello there\r\n\r\n") != NULL);
	test_assert(strstr(headers, "Body-Secret") == NULL);
	test_assert(strstr(m, "more body") == NULL);
out:
	free(human);
	free(status);
	free(headers);
}

static void
test_failure(char dsn_id[IDS_LEN + 1])
{
	static const size_t which[] = { 0, 2 };
	static const char head[] = "From: Mail Delivery System "
	    "<MAILER-DAEMON@" TEST_HOST ">\r\nTo: <Alice@Example.TEST>\r\n"
	    "Subject: Undelivered Mail Returned to Sender\r\nDate: ";
	struct spool_env env, dsn;
	struct bounce_params p;
	struct fbuf b;
	char delim[128], id[IDS_LEN + 1];
	int calls = 0;

	test_begin("bounce failure DSN");
	test_original(&env, "Alice@Example.TEST", test_content,
	    sizeof(test_content) - 1);
	test_params(&p, BOUNCE_FAILURE, which, 2);
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 1);
	test_assert(calls == 1);
	str_lcpy(dsn_id, id, IDS_LEN + 1);
	test_assert(spool_env_read(test_spool, id, &dsn) == 0);
	test_assert_streq(dsn.sender, "");
	test_assert_streq(dsn.protocol, BOUNCE_PROTO);
	test_assert(dsn.auth_user == NULL && !dsn.held && dsn.nrcpts == 1);
	if (dsn.nrcpts == 1) {
		test_assert_streq(dsn.rcpts[0].orig, "Alice@Example.TEST");
		test_assert_streq(dsn.rcpts[0].addr, "alice@example.test");
		test_assert(dsn.rcpts[0].local);
		test_assert(dsn.rcpts[0].state == SPOOL_RCPT_PENDING);
		test_assert(dsn.rcpts[0].next_attempt == 0);
	}
	test_read_msg(id, &b);
	test_assert(dsn.size == b.len);
	test_assert(test_lines_ok(&b));
	test_assert(strncmp(b.data, head, strlen(head)) == 0);
	test_assert(strstr(b.data, "\r\nMessage-ID: <") != NULL);
	test_assert(strstr(b.data, "\r\nMIME-Version: 1.0\r\n") != NULL);
	test_assert(strstr(b.data, "\r\nAuto-Submitted: auto-replied\r\n"));
	test_assert(strstr(b.data, "\r\nX-Ferry-DSN: yes\r\n") != NULL);
	test_assert(strstr(b.data, "\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"") != NULL);
	test_assert(test_boundary(b.data, delim, sizeof(delim)));
	test_failure_structure(b.data, delim);
	test_assert(test_count(b.data, delim) == 4);
	test_assert(b.len > strlen(delim) + 4 && memcmp(b.data + b.len -
	    strlen(delim) - 4, delim, strlen(delim)) == 0 &&
	    strcmp(b.data + b.len - 4, "--\r\n") == 0);
	fbuf_release(&b);
	spool_env_free(&dsn);
	spool_env_free(&env);
	test_end();
}

/* ---- delay warning ---- */

static void
test_delay(void)
{
	static const size_t which[] = { 2 };
	struct spool_env env;
	struct bounce_params p;
	struct fbuf b;
	char delim[128], id[IDS_LEN + 1], *status;
	int calls = 0;

	test_begin("bounce delay warning DSN");
	test_original(&env, "someone@far.example", test_content,
	    sizeof(test_content) - 1);
	free(env.rcpts[2].last_error);
	env.rcpts[2].last_error = xstrdup("mx.slow.example [192.0.2.2]: "
	    "4.4.1 connection timed out");
	env.rcpts[2].state = SPOOL_RCPT_PENDING;
	test_params(&p, BOUNCE_DELAY, which, 1);
	p.queued_for = 4 * 3600;
	p.will_try_for = 4 * 86400 + 20 * 3600;
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 1);
	test_read_msg(id, &b);
	test_assert(test_lines_ok(&b));
	test_assert(strstr(b.data, "\r\nTo: <someone@far.example>\r\n"));
	test_assert(strstr(b.data, "\r\nSubject: Delayed Mail (still being "
	    "retried)\r\n") != NULL);
	test_assert(strstr(b.data, "4 hours") != NULL);
	test_assert(strstr(b.data, "4 days 20 hours") != NULL);
	test_assert(strstr(b.data, "given up") == NULL);
	test_assert(test_boundary(b.data, delim, sizeof(delim)));
	status = test_part(b.data, delim, 2);
	test_assert(status != NULL);
	if (status != NULL)
		status = test_unfolded(status);
	if (status != NULL) {
		test_assert(strstr(status, "Final-Recipient: rfc822;"
		    "c@slow.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n")
		    != NULL);
		test_assert(strstr(status, "\r\nWill-Retry-Until: ") != NULL);
		test_assert(test_count(status, "Action: ") == 1);
		test_assert(strstr(status, "b@remote.example") == NULL);
	}
	free(status);
	fbuf_release(&b);
	spool_env_free(&env);
	test_end();
}

/* ---- loops ---- */

static void
test_null_sender(void)
{
	static const size_t which[] = { 0 };
	struct spool_env env;
	struct bounce_params p;
	char id[IDS_LEN + 1];
	int calls = 0;

	test_begin("bounce: no DSN to the null sender");
	test_original(&env, "", test_content, sizeof(test_content) - 1);
	test_params(&p, BOUNCE_FAILURE, which, 1);
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 0);
	/* A remote bounce that claims to be ours in its content is not. */
	p.kind = BOUNCE_DELAY;
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 0);
	test_assert(calls == 0);
	free(env.protocol);
	env.protocol = xstrdup(BOUNCE_PROTO);
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 0);
	spool_env_free(&env);
	test_end();
}

static void
test_dsn_of_dsn(const char *dsn_id)
{
	static const size_t which[] = { 0 };
	struct spool_env dsn, pm;
	struct bounce_params p;
	struct fbuf b;
	char id[IDS_LEN + 1], pm_id[IDS_LEN + 1];
	int calls = 0;

	test_begin("bounce: a failed DSN goes to postmaster once");
	test_assert(spool_env_read(test_spool, dsn_id, &dsn) == 0);
	test_assert(dsn.nrcpts == 1);
	if (dsn.nrcpts != 1)
		goto out;
	dsn.rcpts[0].state = SPOOL_RCPT_FAILED;
	dsn.rcpts[0].last_error = xstrdup("5.1.1 user unknown");
	test_params(&p, BOUNCE_FAILURE, which, 1);
	p.postmaster = NULL;
	test_assert(bounce_queue(&p, &dsn, test_is_local, &calls, id) == 0);
	p.kind = BOUNCE_DELAY;
	p.postmaster = TEST_PM;
	test_assert(bounce_queue(&p, &dsn, test_is_local, &calls, id) == 0);
	p.kind = BOUNCE_FAILURE;
	test_assert(bounce_queue(&p, &dsn, test_is_local, &calls, pm_id) == 1);
	test_assert(spool_env_read(test_spool, pm_id, &pm) == 0);
	test_assert_streq(pm.sender, "");
	test_assert_streq(pm.protocol, BOUNCE_PROTO_PM);
	test_assert(pm.nrcpts == 1 && pm.rcpts[0].local);
	if (pm.nrcpts == 1)
		test_assert_streq(pm.rcpts[0].addr, TEST_PM);
	test_read_msg(pm_id, &b);
	test_assert(test_lines_ok(&b));
	test_assert(strstr(b.data, "\r\nTo: <" TEST_PM ">\r\n") != NULL);
	test_assert(strstr(b.data, "\r\nX-Ferry-DSN: postmaster\r\n"));
	test_assert(strstr(b.data, "\r\nSubject: Postmaster Copy: "));
	/* The failed DSN's own headers are attached, and its recipient. */
	test_assert(strstr(b.data, "\r\nX-Ferry-DSN: yes\r\n") != NULL);
	test_assert(strstr(b.data, "Final-Recipient: rfc822;"
	    "alice@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
	fbuf_release(&b);
	/* And the postmaster copy failing yields nothing more. */
	pm.rcpts[0].state = SPOOL_RCPT_FAILED;
	test_assert(bounce_queue(&p, &pm, test_is_local, &calls, id) == 0);
	spool_env_free(&pm);
out:
	spool_env_free(&dsn);
	test_end();
}

/* ---- limits and odd input ---- */

/* A long unbroken reply is folded under 998 octets; a 100 KB header
 * block with LF line ends is cut at 64 KB on a line boundary, CRLF. */
static void
test_limits(void)
{
	static const size_t which[] = { 0 };
	struct spool_env env;
	struct bounce_params p;
	struct fbuf content, b;
	char id[IDS_LEN + 1], delim[128], *headers;
	int calls = 0, i;

	test_begin("bounce: long lines, header cap, bare LF");
	fbuf_init(&content, 0);
	for (i = 0; i < 2000; i++)
		fbuf_addf(&content, "X-Filler-%04d: %s\n", i,
		    "0123456789012345678901234567890123456789");
	fbuf_adds(&content, "\nbody\n");
	test_original(&env, "a@far.example", content.data, content.len);
	free(env.rcpts[0].last_error);
	env.rcpts[0].last_error = xmalloc(5001);
	memset(env.rcpts[0].last_error, 'x', 5000);
	memcpy(env.rcpts[0].last_error, "550 5.7.1 \r\n\x01", 13);
	env.rcpts[0].last_error[5000] = '\0';
	test_params(&p, BOUNCE_FAILURE, which, 1);
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 1);
	test_read_msg(id, &b);
	test_assert(test_lines_ok(&b));
	test_unfold(&b);
	test_assert(strstr(b.data, "Diagnostic-Code: smtp; 550 5.7.1 ?xxx")
	    != NULL);
	test_assert(strstr(b.data, "xxx...\r\n") != NULL);
	test_assert(test_boundary(b.data, delim, sizeof(delim)));
	headers = test_part(b.data, delim, 3);
	test_assert(headers != NULL);
	if (headers != NULL) {
		test_assert(strlen(headers) < 65536 * 58 / 57 + 200);
		test_assert(strstr(headers, "\r\nX-Filler-0000: ") != NULL);
		test_assert(strstr(headers, "X-Filler-1999") == NULL);
		test_assert(test_count(headers, "X-Filler-") > 1000);
		test_assert(strlen(headers) > 2 && strcmp(headers +
		    strlen(headers) - 2, "\r\n") == 0);
	}
	free(headers);
	fbuf_release(&b);
	fbuf_release(&content);
	spool_env_free(&env);
	test_end();
}

/* Content gone: still a report, without the headers part.  Bad index:
 * EINVAL.  No recipients to report: nothing. */
static void
test_missing_content(void)
{
	static const size_t which[] = { 0 }, bad[] = { 3 };
	struct spool_env env;
	struct bounce_params p;
	struct fbuf b;
	char id[IDS_LEN + 1], delim[128];
	int calls = 0;

	test_begin("bounce: content gone, bad index, no recipients");
	test_original(&env, "a@far.example", test_content,
	    sizeof(test_content) - 1);
	test_assert(spool_remove(test_spool, env.id) == 0);
	test_params(&p, BOUNCE_FAILURE, which, 1);
	test_assert(bounce_queue(&p, &env, NULL, NULL, id) == 1);
	test_read_msg(id, &b);
	test_assert(test_boundary(b.data, delim, sizeof(delim)));
	test_assert(test_count(b.data, delim) == 3);
	test_assert(strstr(b.data, "rfc822-headers") == NULL);
	test_assert(strstr(b.data, "Status: 5.1.1") != NULL);
	fbuf_release(&b);
	test_params(&p, BOUNCE_FAILURE, bad, 1);
	errno = 0;
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == -1 &&
	    errno == EINVAL);
	test_params(&p, BOUNCE_FAILURE, which, 0);
	test_assert(bounce_queue(&p, &env, test_is_local, &calls, id) == 0);
	spool_env_free(&env);
	test_end();
}

int
main(void)
{
	char dsn_id[IDS_LEN + 1];
	const char *error;

	snprintf(test_dir, sizeof(test_dir), "/tmp/ferry-bounce-XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return 1;
	snprintf(test_spool, sizeof(test_spool), "%s/spool", test_dir);
	if (spool_init(test_spool, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	test_diag();
	test_failure(dsn_id);
	test_delay();
	test_null_sender();
	test_dsn_of_dsn(dsn_id);
	test_limits();
	test_missing_content();
	fsio_remove_tree(test_dir);
	return test_exit();
}
