/* COMPRESS=DEFLATE (RFC 4978): after "tag OK", both directions carry one
 * raw deflate stream (RFC 1951, no zlib or gzip header).  The stream is a
 * libevent filter over the session's bufferevent (the socket, or the TLS
 * filter when TLS is on: compression sits inside TLS, as RFC 4978 section
 * 3 wants), so the reader, IDLE and literals see plain octets as before.
 * Output is flushed with Z_SYNC_FLUSH at the end of every write, so a
 * client waiting for a reply never waits on the compressor.  Input is
 * inflated at most IMAP_COMPRESS_CHUNK input octets at a time and only
 * while the session's input buffer is under its high-watermark: a small
 * compressed command cannot make the server hold more than about one
 * chunk's worth of expansion (deflate's limit is ~1032:1) past the
 * watermark, and what is left waits in the socket's buffer until the
 * reader catches up (libevent re-runs the filter then).  A corrupt or
 * ended client stream closes the connection. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "imap/imap_private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define IMAP_COMPRESS_CHUNK 1024	/* input octets per inflate round */
#define IMAP_COMPRESS_OUT 16384		/* output reserved per round */

struct imap_compress {
	z_stream in, out;
	char id[IDS_LEN + 1];
	bool broken;
	bool busy, busy_out;	/* inside the input / output filter */
	struct bufferevent *bev;	/* the filter */
};

static void
imap_compress_free_ctx(void *ctx)
{
	struct imap_compress *z = ctx;

	inflateEnd(&z->in);
	deflateEnd(&z->out);
	free(z);
}

/* Runs strm over the input it has (next_in/avail_in) with flush,
 * appending everything it makes to dst.  Returns zlib's last result. */
static int
imap_compress_run(z_stream *strm, bool inflating, int flush,
    struct evbuffer *dst)
{
	struct evbuffer_iovec v;
	int r;

	do {
		if (evbuffer_reserve_space(dst, IMAP_COMPRESS_OUT, &v, 1) < 1)
			return Z_MEM_ERROR;
		strm->next_out = v.iov_base;
		strm->avail_out = (uInt)v.iov_len;
		r = inflating ? inflate(strm, flush) : deflate(strm, flush);
		v.iov_len -= strm->avail_out;
		evbuffer_commit_space(dst, &v, 1);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return r;
		/* all output out only when zlib left room in the buffer */
	} while (strm->avail_out == 0);
	return r;
}

/* Handing output to dst can run libevent's callbacks, and through them
 * this filter again, before the call returns: the input is taken out of
 * src before zlib sees it, and a nested call leaves src to the outer
 * one (z->busy), which loops until src is empty. */
static enum bufferevent_filter_result
imap_compress_input(struct evbuffer *src, struct evbuffer *dst,
    ev_ssize_t limit, enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *z = ctx;
	size_t start = evbuffer_get_length(dst);
	unsigned char buf[IMAP_COMPRESS_CHUNK];
	int n, r = Z_OK;

	if (z->broken)
		return BEV_ERROR;
	if (z->busy)
		return BEV_OK;
	z->busy = true;
	while (evbuffer_get_length(src) > 0) {
		if (limit >= 0 && evbuffer_get_length(dst) - start >=
		    (size_t)limit)
			break;	/* the rest when the reader has caught up */
		if ((n = evbuffer_remove(src, buf, sizeof(buf))) <= 0)
			break;
		z->in.next_in = buf;
		z->in.avail_in = (uInt)n;
		r = imap_compress_run(&z->in, true, Z_SYNC_FLUSH, dst);
		if ((r != Z_OK && r != Z_BUF_ERROR) || z->in.avail_in != 0)
			break;
	}
	z->busy = false;
	if ((r != Z_OK && r != Z_BUF_ERROR) || z->in.avail_in != 0) {
		/* corrupt data, or the client ended its stream */
		log_info("%s imap compress-error error=%s", z->id,
		    log_q(r == Z_STREAM_END || r == Z_OK || r == Z_BUF_ERROR ?
		    "data after the end of the stream" : z->in.msg != NULL ?
		    z->in.msg : "inflate failed"));
		z->broken = true;
		/* libevent ends a filter's input on BEV_ERROR but tells no
		 * one: the session learns it as an error event (deferred) */
		bufferevent_trigger_event(z->bev, BEV_EVENT_READING |
		    BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
		return BEV_ERROR;
	}
	return BEV_OK;
}

static enum bufferevent_filter_result
imap_compress_output(struct evbuffer *src, struct evbuffer *dst,
    ev_ssize_t limit, enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *z = ctx;
	unsigned char buf[IMAP_COMPRESS_OUT];
	int n, r;

	if (z->busy_out)
		return BEV_OK;
	z->busy_out = true;
	/* the last piece of what is there gets the sync flush */
	while ((n = evbuffer_remove(src, buf, sizeof(buf))) > 0) {
		z->out.next_in = buf;
		z->out.avail_in = (uInt)n;
		r = imap_compress_run(&z->out, false,
		    evbuffer_get_length(src) == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH,
		    dst);
		if (r != Z_OK && r != Z_BUF_ERROR) {
			z->busy_out = false;
			return BEV_ERROR;
		}
	}
	z->busy_out = false;
	return BEV_OK;
}

static bool
imap_compress_start(struct imap_session *s)
{
	struct imap_compress *z = xcalloc(1, sizeof(*z));
	struct bufferevent *bev;

	memcpy(z->id, s->id, sizeof(z->id));
	/* -15: raw deflate with the largest window (RFC 4978 section 3) */
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return false;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return false;
	}
	/* Deferred callbacks: a filter moves written data below at once,
	 * and an immediate "output drained" callback would run the session
	 * again from inside its own bufferevent_write. */
	bev = bufferevent_filter_new(s->bev, imap_compress_input,
	    imap_compress_output, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS, imap_compress_free_ctx, z);
	if (bev == NULL) {
		imap_compress_free_ctx(z);
		return false;
	}
	z->bev = bev;
	s->bev = bev;
	return true;
}

void
imap_cmd_compress(struct imap_session *s, const char *tag,
    const struct imap_arg *args, unsigned count, bool uid)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk;

	if (count != 1 || args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, tag, "COMPRESS needs a mechanism");
		return;
	}
	if (!imap_arg_atom_is(&args[0], "DEFLATE")) {
		imap_bad(s, tag, "Unknown compression mechanism");
		return;
	}
	if (s->compress) {
		imap_reply(s, "%s NO [COMPRESSIONACTIVE] DEFLATE is already "
		    "active", tag);
		return;
	}
	imap_reply(s, "%s OK DEFLATE active", tag);
	/* the OK goes out uncompressed, before the filter exists */
	bufferevent_write(s->bev, s->out.data, s->out.len);
	fbuf_reset(&s->out);
	/* Octets sent after COMPRESS before the OK was read: a client may
	 * not do that (section 3), and whether they were compressed is a
	 * guess.  Dropped, like input pipelined after STARTTLS. */
	if ((junk = evbuffer_get_length(in)) > 0) {
		log_info("%s imap compress-discarded octets=%zu", s->id, junk);
		evbuffer_drain(in, junk);
	}
	if (!imap_compress_start(s)) {
		log_warnx("%s imap compress-failed", s->id);
		imap_reply(s, "* BYE Internal error");
		imap_session_close(s);
		return;
	}
	s->compress = true;
	imap_session_setup_bev(s);
	log_info("%s imap compress mechanism=DEFLATE", s->id);
}
