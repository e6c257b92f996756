/* The DATA and BDAT body decoder: a byte-level state machine (with a fast
 * path that takes the inside of a line as one run) that finds
 * the end of data (RFC 5321 section 4.1.1.4: only CR LF "." CR LF), undoes
 * dot-stuffing (section 4.5.2) and records what the session must judge:
 * bare CR or LF (never treated as line ends, so no "SMTP smuggling"
 * reading differs from ours), lines over the section 4.5.3.1.6 limit,
 * 8-bit and NUL octets.  It rejects nothing itself and does no I/O; the
 * same flags result however the input is split into calls.  BDAT chunks
 * (RFC 3030) go through the same checks without dot handling. */
#include <string.h>

#include "lib/fbuf.h"
#include "smtp/smtp_data.h"

enum smtp_data_state {
	SMTP_DATA_BOL = 0,	/* at the start of a line (after CRLF) */
	SMTP_DATA_TEXT,		/* inside a line */
	SMTP_DATA_CR,		/* CR emitted, LF would end the line */
	SMTP_DATA_DOT,		/* "." held back at the start of a line */
	SMTP_DATA_DOT_CR,	/* ".", CR held back at the start of a line */
	SMTP_DATA_DONE		/* end-of-data line consumed */
};

/* Output staging, so that out grows by runs rather than octet by octet. */
struct smtp_data_out {
	struct fbuf *out;
	size_t n;
	char buf[512];
};

void
smtp_data_init(struct smtp_data *d, size_t max_line)
{
	memset(d, 0, sizeof(*d));
	d->state = SMTP_DATA_BOL;
	d->max_line = max_line;
}

/* Appends what still fits under out->max: the stored body is then the
 * same prefix however the input was split. */
static void
smtp_data_flush(struct smtp_data_out *o)
{
	struct fbuf *out = o->out;
	size_t n = o->n;

	if (out->max != 0 && n > out->max - out->len)
		n = out->max - out->len;
	if (n > 0)
		(void)fbuf_add(out, o->buf, n);
	o->n = 0;
}

static void
smtp_data_emit(struct smtp_data *d, struct smtp_data_out *o, unsigned char ch)
{
	if (o->n == sizeof(o->buf))
		smtp_data_flush(o);
	o->buf[o->n++] = (char)ch;
	d->size++;
	d->line_len++;
	if (d->max_line != 0 && d->line_len > d->max_line)
		d->long_line = true;
	if (ch >= 0x80)
		d->has_8bit = true;
	else if (ch == '\0')
		d->has_nul = true;
}

/* Appends n octets to the staging buffer, or straight to out past it. */
static void
smtp_data_put(struct smtp_data_out *o, const char *p, size_t n)
{
	struct fbuf *out = o->out;

	if (n <= sizeof(o->buf) - o->n) {
		memcpy(o->buf + o->n, p, n);
		o->n += n;
		return;
	}
	smtp_data_flush(o);
	if (out->max != 0 && n > out->max - out->len)
		n = out->max - out->len;
	if (n > 0)
		(void)fbuf_add(out, p, n);
}

/* The fast path: the octets of in[0..len) up to the first CR or LF are
 * plain line content, whatever the state inside a line; they are
 * emitted as one run with the same bookkeeping smtp_data_emit does per
 * octet.  Returns how many were taken. */
static size_t
smtp_data_run(struct smtp_data *d, struct smtp_data_out *o, const char *in,
    size_t len)
{
	const char *cr = memchr(in, '\r', len), *lf;
	size_t n = cr != NULL ? (size_t)(cr - in) : len;
	unsigned char hi = 0, nul = 0;

	if ((lf = memchr(in, '\n', n)) != NULL)
		n = (size_t)(lf - in);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		hi |= c;
		nul |= (unsigned char)(c == 0);
	}
	if (n == 0)
		return 0;
	smtp_data_put(o, in, n);
	d->size += n;
	d->line_len += n;
	if (d->max_line != 0 && d->line_len > d->max_line)
		d->long_line = true;
	if (hi & 0x80)
		d->has_8bit = true;
	if (nul)
		d->has_nul = true;
	return n;
}

/* One octet inside a line (state TEXT or BOL after dot handling). */
static void
smtp_data_text(struct smtp_data *d, struct smtp_data_out *o, unsigned char ch)
{
	smtp_data_emit(d, o, ch);
	if (ch == '\r') {
		d->state = SMTP_DATA_CR;
		return;
	}
	/* A bare LF continues the line: it is data, not a line end. */
	if (ch == '\n')
		d->bare_lf = true;
	d->state = SMTP_DATA_TEXT;
}

/* One octet after an emitted CR. */
static void
smtp_data_after_cr(struct smtp_data *d, struct smtp_data_out *o,
    unsigned char ch)
{
	if (ch == '\n') {
		smtp_data_emit(d, o, ch);
		d->line_len = 0;
		d->state = SMTP_DATA_BOL;
		return;
	}
	d->bare_cr = true;
	smtp_data_text(d, o, ch);
}

/* One octet of DATA; returns true when it completed CR LF "." CR LF. */
static bool
smtp_data_step(struct smtp_data *d, struct smtp_data_out *o, unsigned char ch)
{
	switch (d->state) {
	case SMTP_DATA_BOL:
		if (ch == '.')
			d->state = SMTP_DATA_DOT;
		else
			smtp_data_text(d, o, ch);
		break;
	case SMTP_DATA_DOT:
		/* The line starts with a dot: that dot is dropped
		 * (dot-unstuffing) unless the line turns out to be "." */
		if (ch == '\r')
			d->state = SMTP_DATA_DOT_CR;
		else
			smtp_data_text(d, o, ch);
		break;
	case SMTP_DATA_DOT_CR:
		if (ch == '\n') {
			d->state = SMTP_DATA_DONE;
			return true;
		}
		/* ".\r" then anything but LF: the CR is a bare CR inside a
		 * dot-stuffed line, never an end of data. */
		smtp_data_emit(d, o, '\r');
		d->bare_cr = true;
		smtp_data_text(d, o, ch);
		break;
	case SMTP_DATA_CR:
		smtp_data_after_cr(d, o, ch);
		break;
	default:
		smtp_data_text(d, o, ch);
		break;
	}
	return false;
}

int
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    size_t *used_r, struct fbuf *out)
{
	struct smtp_data_out o = { .out = out, .n = 0 };
	size_t i;

	if (d->state == SMTP_DATA_DONE) {
		*used_r = 0;
		return 1;
	}
	for (i = 0; i < len; i++) {
		/* Inside a line, or at its start without a dot: the rest of
		 * the line up to CR or LF goes in one run. */
		if (d->state == SMTP_DATA_TEXT || (d->state == SMTP_DATA_BOL &&
		    in[i] != '.')) {
			size_t n = smtp_data_run(d, &o, in + i, len - i);

			if (n > 0) {
				d->state = SMTP_DATA_TEXT;
				i += n - 1;
				continue;
			}
		}
		if (smtp_data_step(d, &o, (unsigned char)in[i])) {
			smtp_data_flush(&o);
			*used_r = i + 1;
			return 1;
		}
	}
	smtp_data_flush(&o);
	*used_r = len;
	return 0;
}

void
smtp_data_feed_raw(struct smtp_data *d, const char *in, size_t len,
    struct fbuf *out)
{
	struct smtp_data_out o = { .out = out, .n = 0 };

	for (size_t i = 0; i < len; i++) {
		if (d->state != SMTP_DATA_CR) {
			size_t n = smtp_data_run(d, &o, in + i, len - i);

			if (n > 0) {
				d->state = SMTP_DATA_TEXT;
				i += n - 1;
				continue;
			}
		}
		if (d->state == SMTP_DATA_CR)
			smtp_data_after_cr(d, &o, (unsigned char)in[i]);
		else
			smtp_data_text(d, &o, (unsigned char)in[i]);
	}
	smtp_data_flush(&o);
}

void
smtp_data_finish_raw(struct smtp_data *d, struct fbuf *out)
{
	struct smtp_data_out o = { .out = out, .n = 0 };

	if (d->state == SMTP_DATA_CR)
		d->bare_cr = true;
	/* An empty body stays empty; anything else ends with CRLF. */
	if (d->size > 0 && d->state != SMTP_DATA_BOL) {
		smtp_data_emit(d, &o, '\r');
		smtp_data_emit(d, &o, '\n');
		d->line_len = 0;
	}
	d->state = SMTP_DATA_BOL;
	smtp_data_flush(&o);
}
