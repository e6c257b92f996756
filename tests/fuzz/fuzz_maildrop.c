/* libFuzzer target for what the pickup and `ferry sendmail` parse: the
 * maildrop records (maildrop_env_parse), the content checker fed whole
 * and one byte at a time (both must agree), and the sendmail input
 * reader (sendmail_msg_feed) with and without the lone-dot rule.
 * Checks beyond "no crash, leak or UB": parsed records format back to
 * the same bytes; every address parsed passes maildrop_addr_ok; the
 * message the reader keeps has only CRLF line ends and lines of at most
 * 998 octets.
 * FUZZ_SOURCES: src/queue/maildrop.c src/cmd/sendmail_msg.c src/smtp/smtp_hdraddr.c src/mime src/lib */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sendmail.h"
#include "lib/fbuf.h"
#include "queue/maildrop.h"

static void
fuzz_maildrop_env(const char *p, size_t n)
{
	struct maildrop_env e;
	struct fbuf b;
	const char *error;
	size_t off;

	if (maildrop_env_parse(p, n, &e, &off, &error) != 1)
		return;
	if (off > n || !maildrop_addr_ok(e.rcpts[0]) ||
	    (e.sender[0] != '\0' && !maildrop_addr_ok(e.sender)))
		abort();
	fbuf_init(&b, 0);
	maildrop_env_format(&e, &b);
	if (b.len != off || memcmp(b.data, p, off) != 0)
		abort();
	fbuf_release(&b);
	maildrop_env_free(&e);
}

static void
fuzz_maildrop_check(const char *p, size_t n)
{
	struct maildrop_check a, b;
	const char *error;
	int ra, rb = 0;

	maildrop_check_init(&a, 4096);
	maildrop_check_init(&b, 4096);
	ra = maildrop_check_feed(&a, p, n, &error);
	for (size_t i = 0; i < n && rb == 0; i++)
		rb = maildrop_check_feed(&b, p + i, 1, &error);
	if (ra != rb)
		abort();
}

static void
fuzz_sendmail_msg(const char *p, size_t n, bool dots)
{
	struct sendmail_msg m;
	struct fbuf out;
	struct maildrop_check chk;
	const char *error;

	sendmail_msg_init(&m, dots, 1 << 20);
	if (sendmail_msg_feed(&m, p, n) >= 0 && sendmail_msg_finish(&m) == 0) {
		sendmail_msg_complete(&m, "h.example", "a@h.example", "N \"q\"");
		fbuf_init(&out, 0);
		sendmail_msg_write(&m, &out);
		maildrop_check_init(&chk, 0);
		if (maildrop_check_feed(&chk, out.data, out.len, &error) < 0 ||
		    maildrop_check_end(&chk, &error) < 0)
			abort();
		fbuf_release(&out);
	}
	sendmail_msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	fuzz_maildrop_env(p, size);
	fuzz_maildrop_check(p, size);
	fuzz_sendmail_msg(p, size, true);
	fuzz_sendmail_msg(p, size, false);
	return 0;
}
