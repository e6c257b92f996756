/* The message-body decoder for DATA and BDAT, no I/O.
 * DATA (RFC 5321 4.1.1.4, 4.5.2): a byte-level state machine; only
 * <CR><LF>.<CR><LF> ends the data (the leading CRLF may be the one that
 * ended the DATA command: the first line may be "."), a line starting
 * with "." has that dot removed.  A bare LF or a bare CR anywhere never
 * ends data or a line: it is passed through unchanged and flagged, and
 * the session rejects the message (550 5.5.2), so such input is never
 * handed to another server that could read it differently.
 * BDAT (RFC 3030): octets are taken as they are (no dot-stuffing) and
 * checked the same way for bare CR/LF and line length. */
#ifndef FERRY_SMTP_DATA_H
#define FERRY_SMTP_DATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fbuf;

struct smtp_data {
	int state;		/* private */
	size_t line_len;	/* octets in the current line so far */
	size_t max_line;	/* limit incl CRLF, 0 = none */
	uint64_t size;		/* octets produced so far */
	bool bare_lf;		/* saw LF not preceded by CR */
	bool bare_cr;		/* saw CR not followed by LF */
	bool long_line;		/* a line longer than max_line */
	bool has_8bit;		/* octets >= 0x80 */
	bool has_nul;		/* NUL octets */
};

/* max_line: octets allowed per line including CRLF (1000 per RFC 5321). */
void smtp_data_init(struct smtp_data *d, size_t max_line);
/* DATA: consumes bytes from in[0..len), appends decoded body bytes to
 * out (which may hit its max: decoding continues, out keeps the first
 * out->max octets and stops growing; check d->size against the limit).
 * Returns 1 when the end-of-data line was consumed (*used_r octets of in
 * were part of the data; the rest are pipelined commands), 0 when all of
 * in was used and more is needed.  The body keeps its CRLFs and ends with
 * the CRLF before the final "."; it is empty for a lone ".".  Calls after
 * the end return 1 with *used_r 0 until smtp_data_init(). */
int smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    size_t *used_r, struct fbuf *out);
/* BDAT: all of in is body; appends it to out while tracking the flags.
 * Call smtp_data_finish_raw() after the LAST chunk. */
void smtp_data_feed_raw(struct smtp_data *d, const char *in, size_t len,
    struct fbuf *out);
/* After the last BDAT chunk: a trailing lone CR is a bare CR; a non-empty
 * body that does not end in CRLF gets one appended (so the stored message
 * always ends with CRLF); an empty body stays empty. */
void smtp_data_finish_raw(struct smtp_data *d, struct fbuf *out);

#endif
