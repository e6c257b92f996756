/* The message `ferry sendmail` reads (sendmail.h).  Local programs end
 * lines with LF (or CRLF): both become CRLF.  A bare CR, a NUL or a line
 * over 998 octets is refused rather than repaired, as Ferry's SMTP server
 * refuses them (docs/design-notes.md, "Bare CR and LF").  Without -i a
 * line holding only "." ends the message, as in sendmail.  The header
 * section is the run of field lines at the top; a first line that is not
 * a field starts the body (an empty header section), and a non-field
 * line after fields starts the body as if an empty line came first. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/sendmail.h"
#include "lib/ids.h"
#include "smtp/smtp_hdraddr.h"

#define SENDMAIL_LINE_MAX 998		/* octets before CRLF */

void
sendmail_msg_init(struct sendmail_msg *m, bool dots, uint64_t max)
{
	memset(m, 0, sizeof(*m));
	fbuf_init(&m->hdr, 0);
	fbuf_init(&m->body, 0);
	fbuf_init(&m->line, 0);
	m->dots = dots;
	m->max = max;
}

void
sendmail_msg_free(struct sendmail_msg *m)
{
	fbuf_release(&m->hdr);
	fbuf_release(&m->body);
	fbuf_release(&m->line);
}

/* "Name:" with a printable name: a header field's first line. */
static bool
sendmail_is_field(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != ':'; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return i > 0 && i < n;
}

/* One complete line (without its line end). */
static void
sendmail_line(struct sendmail_msg *m, const char *s, size_t n)
{
	if (!m->in_body) {
		bool cont = n > 0 && (s[0] == ' ' || s[0] == '\t');

		if (n == 0) {
			m->in_body = true;
			return;
		}
		if ((cont && m->hdr.len > 0) || sendmail_is_field(s, n)) {
			fbuf_add(&m->hdr, s, n);
			fbuf_add(&m->hdr, "\r\n", 2);
			return;
		}
		m->in_body = true;
	}
	fbuf_add(&m->body, s, n);
	fbuf_add(&m->body, "\r\n", 2);
}

/* The line in m->line is complete. */
static int
sendmail_end_line(struct sendmail_msg *m)
{
	struct fbuf *l = &m->line;

	if (l->len > 0 && l->data[l->len - 1] == '\r')
		l->len--;
	if (memchr(l->data, '\r', l->len) != NULL) {
		m->error = "bare CR in the message";
		return -1;
	}
	if (l->len > SENDMAIL_LINE_MAX) {
		m->error = "line longer than 998 octets (RFC 5321 4.5.3.1.6)";
		return -1;
	}
	if (m->dots && l->len == 1 && l->data[0] == '.') {
		m->ended = true;
		return 1;
	}
	m->size += l->len + 2;
	if (m->max != 0 && m->size > m->max) {
		m->error = "message too big (message_size_limit)";
		return -1;
	}
	sendmail_line(m, l->data, l->len);
	fbuf_reset(l);
	return 0;
}

int
sendmail_msg_feed(struct sendmail_msg *m, const void *p, size_t n)
{
	const char *s = p, *nl;
	int r;

	if (m->ended)
		return 1;
	if (memchr(s, '\0', n) != NULL) {
		m->error = "NUL octet in the message";
		return -1;
	}
	while (n > 0) {
		nl = memchr(s, '\n', n);
		size_t k = nl != NULL ? (size_t)(nl - s) : n;

		/* An overlong line is refused before it fills memory. */
		if (m->line.len + k > SENDMAIL_LINE_MAX + 1) {
			m->error = "line longer than 998 octets "
			    "(RFC 5321 4.5.3.1.6)";
			return -1;
		}
		fbuf_add(&m->line, s, k);
		if (nl == NULL)
			return 0;
		if ((r = sendmail_end_line(m)) != 0)
			return r;
		s += k + 1;
		n -= k + 1;
	}
	return 0;
}

int
sendmail_msg_finish(struct sendmail_msg *m)
{
	if (m->ended || m->line.len == 0)
		return 0;
	return sendmail_end_line(m) < 0 ? -1 : 0;
}

int
sendmail_msg_read(struct sendmail_msg *m, FILE *f, const char **why_r)
{
	char buf[16384];
	size_t n;
	int r = 0;

	while (r == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		r = sendmail_msg_feed(m, buf, n);
	if (r == 0 && ferror(f)) {
		*why_r = "cannot read standard input";
		return -1;
	}
	if (r >= 0 && sendmail_msg_finish(m) == 0)
		return 0;
	*why_r = m->error;
	return -1;
}

void
sendmail_msg_field(const struct sendmail_msg *m, const char *name,
    struct fbuf *out)
{
	smtp_hdraddr_fields(m->hdr.data, m->hdr.len, name, out);
}

/* True when a field called name (case-blind) starts a header line. */
static bool
sendmail_has_field(const struct fbuf *h, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < h->len; ) {
		const char *eol = memchr(h->data + i, '\n', h->len - i);

		if (h->len - i > n && strncasecmp(h->data + i, name, n) == 0 &&
		    h->data[i + n] == ':')
			return true;
		if (eol == NULL)
			break;
		i = (size_t)(eol - h->data) + 1;
	}
	return false;
}

/* Drops every Bcc field with its continuation lines. */
static void
sendmail_drop_bcc(struct fbuf *h)
{
	struct fbuf out;
	bool skip = false;

	fbuf_init(&out, 0);
	for (size_t i = 0; i < h->len; ) {
		const char *eol = memchr(h->data + i, '\n', h->len - i);
		size_t end = eol ? (size_t)(eol - h->data) + 1 : h->len;
		const char *s = h->data + i;

		if (s[0] != ' ' && s[0] != '\t')
			skip = end - i > 4 && strncasecmp(s, "bcc:", 4) == 0;
		if (!skip)
			fbuf_add(&out, s, end - i);
		i = end;
	}
	fbuf_reset(h);
	fbuf_add(h, out.data, out.len);
	fbuf_release(&out);
}

/* From: "Full Name" <sender>, the name quoted with its quotes and
 * backslashes escaped, control characters left out. */
static void
sendmail_add_from(struct fbuf *h, const char *hostname, const char *sender,
    const char *fullname)
{
	fbuf_addf(h, "From: ");
	if (fullname != NULL && fullname[0] != '\0') {
		fbuf_add(h, "\"", 1);
		for (const char *p = fullname; *p != '\0'; p++) {
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				continue;
			if (*p == '"' || *p == '\\')
				fbuf_add(h, "\\", 1);
			fbuf_add(h, p, 1);
		}
		fbuf_add(h, "\" ", 2);
	}
	if (sender[0] != '\0')
		fbuf_addf(h, "<%s>\r\n", sender);
	else
		fbuf_addf(h, "<MAILER-DAEMON@%s>\r\n", hostname);
}

void
sendmail_msg_complete(struct sendmail_msg *m, const char *hostname,
    const char *sender, const char *fullname)
{
	struct fbuf *h = &m->hdr;

	sendmail_drop_bcc(h);
	if (!sendmail_has_field(h, "From"))
		sendmail_add_from(h, hostname, sender, fullname);
	if (!sendmail_has_field(h, "Date")) {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		fbuf_addf(h, "Date: %s\r\n", date);
	}
	if (!sendmail_has_field(h, "Message-ID"))
		fbuf_addf(h, "Message-ID: <%lld.%016llx@%s>\r\n",
		    (long long)time(NULL), (unsigned long long)ids_random(),
		    hostname);
}

uint64_t
sendmail_msg_size(const struct sendmail_msg *m)
{
	return m->hdr.len + 2 + m->body.len;
}

void
sendmail_msg_write(const struct sendmail_msg *m, struct fbuf *out)
{
	fbuf_add(out, m->hdr.data, m->hdr.len);
	fbuf_add(out, "\r\n", 2);
	fbuf_add(out, m->body.data, m->body.len);
}
