/* Command lines from a session's input buffer (session_io.h). */
#include <event2/buffer.h>

#include "lib/xalloc.h"
#include "net/session_io.h"

int
session_io_line(struct evbuffer *in, size_t max, bool *skip,
    bool *overlong_r, char **line_r, size_t *len_r)
{
	size_t len, eol_len;
	struct evbuffer_ptr p;
	char *line;

	*overlong_r = false;
	*line_r = NULL;
	*len_r = 0;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (p.pos == -1) {
		len = evbuffer_get_length(in);
		if (len < max)
			return 0;
		/* Overlong: answered once, then discarded up to the LF. */
		evbuffer_drain(in, len);
		*overlong_r = !*skip;
		*skip = true;
		return 0;
	}
	len = (size_t)p.pos;
	if (*skip || len + eol_len > max) {
		evbuffer_drain(in, len + eol_len);
		*overlong_r = !*skip;
		*skip = false;
		return 1;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, eol_len);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	*line_r = line;
	*len_r = len;
	return 1;
}
