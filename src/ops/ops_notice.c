/* Messages to a domain's postmaster (ops_notice.h): the envelope goes to
 * whatever postmaster@domain resolves to here (aliases included), the
 * text is made safe for any relay on the way (CRLF, lines under 998
 * bytes, no control bytes, headers without anything a client put in
 * them but the reporter's address). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "ferry.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "ops/ops_account.h"
#include "ops/ops_notice.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/resolve.h"

#define OPS_NOTICE_FOLD 900

/* The recipients of postmaster@domain (else of postmaster@hostname) as
 * envelope recipients.  0, or -1 when neither reaches a mailbox. */
static int
ops_notice_rcpts(const struct ops_ctx *c, const char *domain,
    struct spool_env *e)
{
	const char *doms[2] = { domain, c->conf->hostname };
	struct resolve_result r = { NULL, 0 };
	char pm[320];

	for (size_t d = 0; d < 2; d++) {
		snprintf(pm, sizeof(pm), "postmaster@%s", doms[d]);
		if (resolve_rcpt(c->store, &c->ropts, pm, &r) != RESOLVE_LOCAL ||
		    r.n == 0) {
			resolve_result_free(&r);
			continue;
		}
		e->rcpts = xcalloc(r.n, sizeof(*e->rcpts));
		for (size_t i = 0; i < r.n; i++) {
			e->rcpts[i].orig = xstrdup(pm);
			e->rcpts[i].addr = xstrdup(r.v[i].local ?
			    r.v[i].user : r.v[i].address);
			e->rcpts[i].local = r.v[i].local;
		}
		e->nrcpts = r.n;
		resolve_result_free(&r);
		return 0;
	}
	return -1;
}

/* A header value: printable ASCII only, at most max bytes. */
static void
ops_notice_header(struct fbuf *m, const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		fbuf_addc(m, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
	}
}

/* The body with CRLF line ends, long lines folded, control bytes
 * (other than TAB) as '?'. */
static void
ops_notice_body(struct fbuf *m, const char *s)
{
	size_t col = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\r' && s[1] == '\n')
			continue;
		if (ch == '\n' || col >= OPS_NOTICE_FOLD) {
			fbuf_adds(m, "\r\n");
			col = 0;
			if (ch == '\n')
				continue;
		}
		fbuf_addc(m, (ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' :
		    (char)ch);
		col++;
	}
	if (col > 0)
		fbuf_adds(m, "\r\n");
}

static void
ops_notice_text(const struct ops_ctx *c, const struct ops_notice *n,
    const char *to, struct fbuf *m)
{
	char date[64];
	time_t now = time(NULL);

	str_date_utc(date, sizeof(date), now);
	fbuf_addf(m, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: ", c->conf->hostname, to);
	ops_notice_header(m, n->subject, 200);
	if (n->reply_to != NULL && n->reply_to[0] != '\0') {
		fbuf_adds(m, "\r\nReply-To: <");
		ops_notice_header(m, n->reply_to, 320);
		fbuf_adds(m, ">");
	}
	fbuf_addf(m, "\r\nDate: %s\r\nMessage-ID: <%s.%lld.%08lx@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", date, n->tag,
	    (long long)now, (unsigned long)(ids_random() & 0xffffffffu), c->conf->hostname);
	ops_notice_body(m, n->body);
}

int
ops_notice_postmaster(const struct ops_ctx *c, const struct ops_notice *n,
    char id_r[OPS_NOTICE_ID_MAX], char error_r[OPS_NOTICE_ERROR_MAX])
{
	char spool[PATH_MAX];
	struct spool_writer *w = NULL;
	struct spool_env e;
	struct fbuf m;
	const char *error;
	int rc = -1;

	id_r[0] = error_r[0] = '\0';
	memset(&e, 0, sizeof(e));
	if (ops_notice_rcpts(c, n->domain, &e) < 0) {
		str_lcpy(error_r, "no postmaster mailbox for the domain or the "
		    "host name", OPS_NOTICE_ERROR_MAX);
		return -1;
	}
	e.arrival = time(NULL);
	e.sender = xstrdup("");
	e.client_addr = xstrdup("local");
	e.client_helo = xstrdup(c->conf->hostname);
	e.protocol = xstrdup("NOTICE");
	fbuf_init(&m, 0);
	ops_notice_text(c, n, e.rcpts[0].orig, &m);
	if (conf_state_path(c->conf, spool, sizeof(spool),
	    FERRY_SPOOL_DIR) == 0 && spool_init(spool, &error) == 0 &&
	    spool_writer_open(&w, spool) == 0) {
		str_lcpy(id_r, spool_writer_id(w), OPS_NOTICE_ID_MAX);
		if (spool_writer_write(w, m.data, m.len) < 0)
			spool_writer_abort(&w);
		else
			rc = spool_writer_commit(&w, &e);
	}
	fbuf_release(&m);
	spool_env_free(&e);
	if (rc < 0) {
		id_r[0] = '\0';
		snprintf(error_r, OPS_NOTICE_ERROR_MAX,
		    "cannot queue the message: %s", strerror(errno));
		return -1;
	}
	queue_notify(c->conf->state_dir, id_r);
	return 0;
}
