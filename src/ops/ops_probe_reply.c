/* The SMTP reply reader of the diagnostic probe (ops_probe.h), with no
 * I/O so it can be unit-tested and fuzzed: RFC 5321 4.2 replies, a
 * three-digit code and "-" on every line but the last, the same code on
 * all lines.  The first line's text and the next lines (EHLO keywords)
 * are kept, capped, with anything not printable ASCII made '?', so what
 * a peer sends never reaches a terminal as control bytes. */
#include <stddef.h>

#include "ops/ops_probe.h"

void
ops_probe_copy_text(char *dst, size_t size, const char *p, size_t len)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)p[i];

		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
}

int
ops_probe_reply_line(struct ops_probe_reply *rp, const char *line,
    size_t len)
{
	int code;

	if (len < 3 || len > OPS_PROBE_LINE_MAX ||
	    rp->lines >= OPS_PROBE_REPLY_LINES)
		return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (rp->lines > 0 && code != rp->code)
		return -1;
	rp->code = code;
	if (rp->lines == 0)
		ops_probe_copy_text(rp->text, sizeof(rp->text),
		    line + (len > 3 ? 4 : 3), len > 3 ? len - 4 : 0);
	else if (rp->ncaps < OPS_PROBE_CAPS_MAX)
		ops_probe_copy_text(rp->caps[rp->ncaps++],
		    sizeof(rp->caps[0]), line + (len > 3 ? 4 : 3),
		    len > 3 ? len - 4 : 0);
	rp->lines++;
	return len > 3 && line[3] == '-' ? 0 : 1;
}
