/* Delivery status notifications (bounce.h): builds an RFC 3464
 * multipart/report (RFC 6522) with a human-readable part, a
 * message/delivery-status part and the original header block as
 * text/rfc822-headers, and commits it to the spool with the null sender
 * (RFC 5321 section 4.5.5) and "Auto-Submitted: auto-replied" (RFC 3834).
 * Loops are cut by the envelope: a DSN carries protocol BOUNCE_PROTO, so
 * when one fails its report goes once to postmaster (BOUNCE_PROTO_PM),
 * and that one's failure yields nothing; other null-sender mail never
 * gets a DSN, and neither gets delay warnings.  Peer text is cleaned to
 * printable ASCII (UTF-8 addresses show '?'), lines are folded to stay
 * under 998 octets.  It does not deliver, log or schedule anything. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "queue/bounce.h"
#include "queue/spool.h"

#define BOUNCE_HEADERS_MAX 65536	/* original header block copied */
#define BOUNCE_VALUE_MAX 2048		/* any one peer value, cleaned */
#define BOUNCE_WRAP 76			/* soft line width */
#define BOUNCE_HARD 990			/* split words to stay under 998 */
#define BOUNCE_MAILBOX_MAX 320
#define BOUNCE_DATE_MAX 128

struct bounce_ctx {
	const struct bounce_params *p;
	const struct spool_env *env;
	const char *to;			/* the DSN's recipient, as written */
	bool pm_copy;			/* report about a failed DSN */
	char id[IDS_LEN + 1];		/* the DSN's own queue id */
	char boundary[64];
	time_t now;
};

/* ---- last_error ---- */

static bool
bounce_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
bounce_hostchar(char c)
{
	return bounce_isdigit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_';
}

/* "X.Y.Z" (class 2, 4 or 5, 1-3 digits each) at s, followed by a space,
 * ';', ',' or the end: its length, else 0. */
static size_t
bounce_status_len(const char *s)
{
	size_t i = 1, part, n;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	for (part = 0; part < 2; part++) {
		if (s[i++] != '.')
			return 0;
		for (n = 0; n < 3 && bounce_isdigit(s[i]); n++)
			i++;
		if (n == 0)
			return 0;
	}
	return s[i] == '\0' || s[i] == ' ' || s[i] == ';' || s[i] == ',' ?
	    i : 0;
}

/* "HOST[ [ADDR]]: " at s: fills d and returns what follows, else s. */
static const char *
bounce_parse_host(const char *s, struct bounce_diag *d)
{
	const char *p = s, *name_end, *a = NULL, *a_end = NULL;
	bool dot = false;

	if (*p == '[') {
		if ((p = strchr(p, ']')) == NULL)
			return s;
		p++;
		dot = true;
	} else {
		while (bounce_hostchar(*p) || *p == ':')
			p++;
		/* An IPv6 host name runs into the separator: give it back. */
		if (p > s && p[-1] == ':' && p[0] == ' ')
			p--;
		dot = memchr(s, '.', (size_t)(p - s)) != NULL ||
		    memchr(s, ':', (size_t)(p - s)) != NULL;
	}
	name_end = p;
	if (p[0] == ' ' && p[1] == '[' && (a_end = strchr(p + 2, ']'))) {
		a = p + 2;
		p = a_end + 1;
	}
	if (!dot || p[0] != ':' || p[1] != ' ' || name_end == s ||
	    bounce_status_len(s) == (size_t)(name_end - s) ||
	    (size_t)(name_end - s) >= sizeof(d->host) ||
	    (a != NULL && (size_t)(a_end - a) >= sizeof(d->addr)))
		return s;
	memcpy(d->host, s, (size_t)(name_end - s));
	d->host[name_end - s] = '\0';
	if (a != NULL) {
		memcpy(d->addr, a, (size_t)(a_end - a));
		d->addr[a_end - a] = '\0';
	}
	return p + 2;
}

void
bounce_parse_diag(const char *last_error, enum bounce_kind kind,
    struct bounce_diag *d)
{
	const char *t, *st;
	char want = kind == BOUNCE_DELAY ? '4' : '5';
	size_t n;

	memset(d, 0, sizeof(*d));
	t = last_error != NULL ? bounce_parse_host(last_error, d) : "";
	d->text = t;
	st = t;
	if (t[0] >= '2' && t[0] <= '5' && bounce_isdigit(t[1]) &&
	    bounce_isdigit(t[2]) && (t[3] == ' ' || t[3] == '-' ||
	    t[3] == '\0')) {
		d->reply = t;
		st = t[3] == '\0' ? t + 3 : t + 4;
	}
	n = bounce_status_len(st);
	/* A delayed recipient is in a transient state whatever the text
	 * says; a failed one may keep its 4.X.X ("persistent transient
	 * failure", RFC 3463 section 3.1) but never a success code. */
	if (n == 0 || n >= sizeof(d->status) || st[0] == '2' ||
	    (kind == BOUNCE_DELAY && st[0] != want))
		snprintf(d->status, sizeof(d->status), "%c.0.0", want);
	else {
		memcpy(d->status, st, n);
		d->status[n] = '\0';
	}
}

/* ---- text helpers ---- */

/* Appends s cleaned for a mail header or plain text: control bytes,
 * DEL and 8-bit bytes become '?', runs of white space one space, and
 * at most BOUNCE_VALUE_MAX bytes are taken ("..." marks the cut). */
static void
bounce_add_clean(struct fbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n, start = out->len;
	bool space = false;

	for (n = 0; *p != '\0' && n < BOUNCE_VALUE_MAX; p++, n++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			space = true;
			continue;
		}
		if (space && out->len > start)
			fbuf_addc(out, ' ');
		space = false;
		fbuf_addc(out, *p < 0x20 || *p >= 0x7f ? '?' : (char)*p);
	}
	if (*p != '\0')
		fbuf_adds(out, "...");
}

/* Appends first, then the words of text (already clean), breaking lines
 * before BOUNCE_WRAP columns with CRLF and cont; a word too long for a
 * line of BOUNCE_HARD octets is split.  Ends with CRLF.  With cont " "
 * this is header folding (RFC 5322 section 2.2.3). */
static void
bounce_wrap(struct fbuf *out, const char *first, const char *cont,
    const char *text)
{
	size_t col = strlen(first), wlen, n;
	bool words = false;
	const char *p = text, *q;

	fbuf_adds(out, first);
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, ' ');
		wlen = q != NULL ? (size_t)(q - p) : strlen(p);
		if (words && col + 1 + wlen > BOUNCE_WRAP) {
			fbuf_addf(out, "\r\n%s", cont);
			col = strlen(cont);
			words = false;
		}
		if (words) {
			fbuf_addc(out, ' ');
			col++;
		}
		while (col + wlen > BOUNCE_HARD) {
			n = BOUNCE_HARD - col;
			fbuf_add(out, p, n);
			fbuf_addf(out, "\r\n%s", cont);
			col = strlen(cont);
			p += n;
			wlen -= n;
		}
		fbuf_add(out, p, wlen);
		col += wlen;
		words = true;
		p += wlen;
	}
	fbuf_adds(out, "\r\n");
}

/* One header or status field, "Name: <prefix><value><suffix>" folded:
 * prefix and suffix are ours, the value is cleaned. */
static void
bounce_field(struct fbuf *out, const char *name, const char *prefix,
    const char *value, const char *suffix)
{
	struct fbuf first, clean;

	fbuf_init(&first, 0);
	fbuf_init(&clean, 0);
	fbuf_addf(&first, "%s: %s", name, prefix);
	bounce_add_clean(&clean, value);
	fbuf_adds(&clean, suffix);
	bounce_wrap(out, fbuf_str(&first), " ", fbuf_str(&clean));
	fbuf_release(&first);
	fbuf_release(&clean);
}

/* "3 days 4 hours", "5 hours 10 minutes", "45 seconds". */
static void
bounce_span(char *dst, size_t size, unsigned long secs)
{
	static const struct {
		unsigned long unit;
		const char *name;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" },
		{ 1, "second" } };
	size_t i, used = 0, len = 0;

	dst[0] = '\0';
	for (i = 0; i < 4 && used < 2; i++) {
		unsigned long n = secs / units[i].unit;

		if (n == 0 && used > 0)
			break;
		if (n == 0 && i < 3)
			continue;
		secs -= n * units[i].unit;
		snprintf(dst + len, size - len, "%s%lu %s%s", used ? " " : "",
		    n, units[i].name, n == 1 ? "" : "s");
		len = strlen(dst);
		used++;
	}
}

/* ---- the human-readable part ---- */

static void
bounce_human_intro(struct fbuf *out, const struct bounce_ctx *c)
{
	char span[64], left[64], until[BOUNCE_DATE_MAX];
	struct fbuf t;

	fbuf_init(&t, 0);
	fbuf_adds(&t, "This is the mail system at ");
	bounce_add_clean(&t, c->p->hostname);
	fbuf_adds(&t, ".");
	bounce_wrap(out, "", "", fbuf_str(&t));
	fbuf_adds(out, "\r\n");
	fbuf_reset(&t);
	if (c->pm_copy)
		fbuf_adds(&t, "A delivery status notification (a bounce) could "
		    "not be delivered to the recipient listed below.  This "
		    "copy goes to the postmaster, once; if it fails too, that "
		    "is only logged.  The reasons follow, and the headers of "
		    "the notification are attached.");
	else if (c->p->kind == BOUNCE_FAILURE)
		fbuf_adds(&t, "Your message could not be delivered to the "
		    "recipients listed below.  The mail system has given up "
		    "on them and will not try again.  The reasons follow, and "
		    "the headers of your message are attached.");
	else {
		bounce_span(span, sizeof(span), c->p->queued_for);
		bounce_span(left, sizeof(left), c->p->will_try_for);
		str_date_utc(until, sizeof(until),
		    c->now + (time_t)c->p->will_try_for);
		fbuf_addf(&t, "Your message has not yet been delivered to the "
		    "recipients listed below.  The mail system has been trying "
		    "for %s and will keep trying until %s (another %s).  There "
		    "is no need to send it again; you will be told if it "
		    "finally fails.  This is only a warning.", span, until,
		    left);
	}
	bounce_wrap(out, "", "", fbuf_str(&t));
	fbuf_adds(out, "\r\n");
	fbuf_release(&t);
}

static void
bounce_human_rcpt(struct fbuf *out, const struct bounce_ctx *c,
    const struct spool_rcpt *r)
{
	struct bounce_diag d;
	struct fbuf t;

	bounce_parse_diag(r->last_error, c->p->kind, &d);
	fbuf_init(&t, 0);
	fbuf_addc(&t, '<');
	bounce_add_clean(&t, r->addr);
	fbuf_addc(&t, '>');
	if (r->orig != NULL && r->orig[0] != '\0' &&
	    strcmp(r->orig, r->addr) != 0) {
		fbuf_adds(&t, " (originally <");
		bounce_add_clean(&t, r->orig);
		fbuf_adds(&t, ">)");
	}
	fbuf_addc(&t, ':');
	bounce_wrap(out, "", "    ", fbuf_str(&t));
	fbuf_reset(&t);
	if (d.host[0] != '\0') {
		fbuf_adds(&t, "host ");
		bounce_add_clean(&t, d.host);
		if (d.addr[0] != '\0') {
			fbuf_adds(&t, " [");
			bounce_add_clean(&t, d.addr);
			fbuf_addc(&t, ']');
		}
		fbuf_adds(&t, d.reply != NULL ? " said: " : ": ");
	}
	if (r->last_error != NULL)
		bounce_add_clean(&t, d.text);
	else
		fbuf_adds(&t, "no reason was recorded");
	bounce_wrap(out, "    ", "    ", fbuf_str(&t));
	fbuf_adds(out, "\r\n");
	fbuf_release(&t);
}

static void
bounce_human(struct fbuf *out, const struct bounce_ctx *c)
{
	size_t i;

	fbuf_adds(out, "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Description: Notification\r\n\r\n");
	bounce_human_intro(out, c);
	for (i = 0; i < c->p->nrcpts; i++)
		bounce_human_rcpt(out, c, &c->env->rcpts[c->p->rcpts[i]]);
}

/* ---- the message/delivery-status part (RFC 3464 section 2) ---- */

static void
bounce_status_rcpt(struct fbuf *out, const struct bounce_ctx *c,
    const struct spool_rcpt *r)
{
	struct bounce_diag d;
	char date[BOUNCE_DATE_MAX];

	bounce_parse_diag(r->last_error, c->p->kind, &d);
	fbuf_adds(out, "\r\n");
	if (r->orig != NULL && r->orig[0] != '\0')
		bounce_field(out, "Original-Recipient", "rfc822;", r->orig, "");
	bounce_field(out, "Final-Recipient", "rfc822;", r->addr, "");
	fbuf_addf(out, "Action: %s\r\nStatus: %s\r\n",
	    c->p->kind == BOUNCE_DELAY ? "delayed" : "failed", d.status);
	if (d.host[0] != '\0')
		bounce_field(out, "Remote-MTA", "dns; ", d.host, "");
	if (d.reply != NULL)
		bounce_field(out, "Diagnostic-Code", "smtp; ", d.reply, "");
	else if (r->last_error != NULL)
		bounce_field(out, "Diagnostic-Code", "X-Ferry; ", d.text, "");
	if (r->attempts > 0) {
		str_date_utc(date, sizeof(date), c->now);
		fbuf_addf(out, "Last-Attempt-Date: %s\r\n", date);
	}
	if (c->p->kind == BOUNCE_DELAY) {
		str_date_utc(date, sizeof(date),
		    c->now + (time_t)c->p->will_try_for);
		fbuf_addf(out, "Will-Retry-Until: %s\r\n", date);
	}
}

static void
bounce_status(struct fbuf *out, const struct bounce_ctx *c)
{
	char date[BOUNCE_DATE_MAX];
	size_t i;

	fbuf_adds(out, "Content-Type: message/delivery-status\r\n"
	    "Content-Description: Delivery report\r\n\r\n");
	bounce_field(out, "Reporting-MTA", "dns; ", c->p->hostname, "");
	fbuf_addf(out, "X-Ferry-Queue-ID: %s\r\n", c->env->id);
	str_date_utc(date, sizeof(date), c->env->arrival);
	fbuf_addf(out, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < c->p->nrcpts; i++)
		bounce_status_rcpt(out, c, &c->env->rcpts[c->p->rcpts[i]]);
}

/* ---- the original headers (RFC 6522 text/rfc822-headers) ---- */

/* Up to BOUNCE_HEADERS_MAX octets of the content: 0, or -1 (errno). */
static int
bounce_read_content(const struct bounce_ctx *c, struct fbuf *raw)
{
	char path[PATH_MAX], buf[8192];
	ssize_t n = 0;
	int fd;

	if (spool_msg_path(c->p->spool_dir, c->env->id, path,
	    sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (raw->len < BOUNCE_HEADERS_MAX) {
		size_t want = BOUNCE_HEADERS_MAX - raw->len;

		n = read(fd, buf, want < sizeof(buf) ? want : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fbuf_add(raw, buf, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

/* The header block of raw (where it ends is src/mime's reading of the
 * header section), line by line with CRLF ends; when the size cap cut
 * the section, its last, cut line is dropped.  Lines are cut at 998
 * octets and NUL or lone CR bytes become '?'.  Sets *eight_r when 8-bit
 * bytes remain (RFC 6532 headers). */
static void
bounce_header_block(struct fbuf *out, const struct fbuf *raw, bool *eight_r)
{
	struct mime_limits l;
	const char *p = raw->data, *end, *nl;
	size_t len, i, hlen;

	*eight_r = false;
	if (raw->len == 0)
		return;
	mime_limits_default(&l);
	l.header_max = BOUNCE_HEADERS_MAX;
	l.fields_max = BOUNCE_HEADERS_MAX;
	hlen = mime_header_parse(raw->data, raw->len, &l, NULL, NULL);
	end = raw->data + hlen;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL &&
		    raw->len >= BOUNCE_HEADERS_MAX)
			break;
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break;		/* the empty line ending the section */
		for (i = 0; i < len && i < 998; i++) {
			unsigned char ch = (unsigned char)p[i];

			*eight_r |= ch >= 0x80;
			fbuf_addc(out, ch == '\0' || ch == '\r' ? '?' :
			    (char)ch);
		}
		fbuf_adds(out, "\r\n");
		if (nl == NULL)
			break;
	}
}

static void
bounce_orig(struct fbuf *out, const struct bounce_ctx *c)
{
	struct fbuf raw, block;
	bool eight;

	fbuf_init(&raw, 0);
	fbuf_init(&block, 0);
	/* Without the content (deleted meanwhile, unreadable) the report
	 * is still worth sending: the part is left out (RFC 6522 allows). */
	if (bounce_read_content(c, &raw) == 0) {
		bounce_header_block(&block, &raw, &eight);
		fbuf_addf(out, "\r\n--%s\r\n", c->boundary);
		fbuf_adds(out, "Content-Type: text/rfc822-headers\r\n");
		if (eight)
			fbuf_adds(out, "Content-Transfer-Encoding: 8bit\r\n");
		fbuf_addf(out, "Content-Description: %s\r\n\r\n", c->pm_copy ?
		    "Undelivered notification headers" :
		    "Undelivered message headers");
		fbuf_add(out, block.data, block.len);
	}
	fbuf_release(&raw);
	fbuf_release(&block);
}

/* ---- the whole message ---- */

static void
bounce_headers(struct fbuf *out, const struct bounce_ctx *c)
{
	char date[BOUNCE_DATE_MAX], mid[IDS_LEN + 3];
	const char *subject;

	if (c->pm_copy)
		subject = "Postmaster Copy: Undelivered Mail";
	else if (c->p->kind == BOUNCE_FAILURE)
		subject = "Undelivered Mail Returned to Sender";
	else
		subject = "Delayed Mail (still being retried)";
	bounce_field(out, "From", "Mail Delivery System <MAILER-DAEMON@",
	    c->p->hostname, ">");
	bounce_field(out, "To", "<", c->to, ">");
	str_date_utc(date, sizeof(date), c->now);
	fbuf_addf(out, "Subject: %s\r\nDate: %s\r\n", subject, date);
	snprintf(mid, sizeof(mid), "<%s@", c->id);
	bounce_field(out, "Message-ID", mid, c->p->hostname, ">");
	fbuf_adds(out, "MIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n");
	fbuf_addf(out, "X-Ferry-DSN: %s\r\n",
	    c->pm_copy ? "postmaster" : "yes");
	fbuf_addf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n",
	    c->boundary);
}

static void
bounce_build(struct fbuf *out, const struct bounce_ctx *c)
{
	bounce_headers(out, c);
	fbuf_adds(out, "\r\nThis is a delivery status notification in MIME "
	    "format (RFC 3464).\r\n");
	fbuf_addf(out, "\r\n--%s\r\n", c->boundary);
	bounce_human(out, c);
	fbuf_addf(out, "\r\n--%s\r\n", c->boundary);
	bounce_status(out, c);
	bounce_orig(out, c);
	fbuf_addf(out, "\r\n--%s--\r\n", c->boundary);
}

/* The DSN's envelope: null sender, one recipient, our marker. */
static void
bounce_env(const struct bounce_ctx *c, const char *addr, bool local,
    struct spool_env *e)
{
	memset(e, 0, sizeof(*e));
	e->arrival = c->now;
	e->sender = xstrdup("");
	e->client_addr = xstrdup("local");
	e->client_helo = xstrdup(c->p->hostname);
	e->protocol = xstrdup(c->pm_copy ? BOUNCE_PROTO_PM : BOUNCE_PROTO);
	e->nrcpts = 1;
	e->rcpts = xcalloc(1, sizeof(*e->rcpts));
	e->rcpts[0].orig = xstrdup(c->to);
	e->rcpts[0].addr = xstrdup(addr);
	e->rcpts[0].local = local;
	e->rcpts[0].state = SPOOL_RCPT_PENDING;
}

static int
bounce_write(struct bounce_ctx *c, const char *addr, bool local,
    char id_r[IDS_LEN + 1])
{
	struct spool_writer *w;
	struct spool_env e;
	struct fbuf msg;
	int r, saved;

	if (spool_writer_open(&w, c->p->spool_dir) < 0)
		return -1;
	str_lcpy(c->id, spool_writer_id(w), sizeof(c->id));
	snprintf(c->boundary, sizeof(c->boundary), "=_ferry_%s_%016llx",
	    c->id, (unsigned long long)ids_random());
	fbuf_init(&msg, 0);
	bounce_build(&msg, c);
	bounce_env(c, addr, local, &e);
	if (spool_writer_write(w, msg.data, msg.len) < 0) {
		saved = errno;
		spool_writer_abort(&w);
		errno = saved;
		r = -1;
	} else
		r = spool_writer_commit(&w, &e);
	saved = errno;
	if (r == 0)
		str_lcpy(id_r, e.id, IDS_LEN + 1);
	fbuf_release(&msg);
	spool_env_free(&e);
	errno = saved;
	return r < 0 ? -1 : 1;
}

int
bounce_queue(const struct bounce_params *p, const struct spool_env *env,
    bool (*is_local)(const char *addr, char *mailbox, size_t size, void *ctx),
    void *ctx, char id_r[IDS_LEN + 1])
{
	const char *proto = env->protocol != NULL ? env->protocol : "";
	char mailbox[BOUNCE_MAILBOX_MAX];
	struct bounce_ctx c;
	bool local;
	size_t i;

	for (i = 0; i < p->nrcpts; i++)
		if (p->rcpts[i] >= env->nrcpts) {
			errno = EINVAL;
			return -1;
		}
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.env = env;
	c.now = time(NULL);
	if (env->sender != NULL && env->sender[0] != '\0')
		c.to = env->sender;
	else if (p->kind == BOUNCE_FAILURE &&
	    strcmp(proto, BOUNCE_PROTO) == 0 && p->postmaster != NULL &&
	    p->postmaster[0] != '\0') {
		c.to = p->postmaster;
		c.pm_copy = true;
	} else
		return 0;
	if (p->nrcpts == 0)
		return 0;
	local = is_local != NULL && is_local(c.to, mailbox, sizeof(mailbox),
	    ctx);
	return bounce_write(&c, local ? mailbox : c.to, local, id_r);
}
