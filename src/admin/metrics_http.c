/* The HTTP side of /metrics (metrics_http.h): libevent's evhttp on the
 * `metrics_listen` sockets the supervisor bound, small limits (a scraper
 * sends one short GET), the allow list, and the text from
 * admin/metrics.c.  Only the path /metrics exists here; no query string
 * or other path is interpreted (404). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin/http.h"
#include "admin/metrics.h"
#include "admin/metrics_http.h"
#include "ferry.h"
#include "lib/cidr.h"
#include "lib/fbuf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xalloc.h"

#define METRICS_HTTP_TIMEOUT 10		/* seconds for a request */
#define METRICS_HTTP_MAX_HEADERS 8192	/* bytes of request headers */

struct metrics_http {
	struct ferry_env *env;
	struct evhttp *http;
};

static void
metrics_http_plain(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		log_fatalx("metrics: out of memory");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(out, "%s\n", text);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

/* metrics_allow, or loopback only when it is empty (the default). */
static bool
metrics_http_client_ok(const struct conf *c, const struct sockaddr *sa)
{
	if (c->metrics_allow.n > 0)
		return cidr_list_match(&c->metrics_allow, sa);
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) &&
		    a->s6_addr[12] == 127);
	}
	return false;
}

static bool
metrics_http_allowed(struct evhttp_request *req, const struct conf *c)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const struct sockaddr *sa;

	if (conn == NULL ||
	    (sa = evhttp_connection_get_addr(conn)) == NULL)
		return false;
	return metrics_http_client_ok(c, sa);
}

void
metrics_http_handle(struct evhttp_request *req, const struct ferry_env *env)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *out;
	struct fbuf b;

	if (!metrics_http_allowed(req, env->conf)) {
		metrics_http_plain(req, 403, "Forbidden",
		    "403 forbidden: not in metrics_allow");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		metrics_http_plain(req, 405, "Method Not Allowed",
		    "405 method not allowed");
		return;
	}
	fbuf_init(&b, 0);
	metrics_render(&b, metrics_shm);
	if ((out = evbuffer_new()) == NULL)
		log_fatalx("metrics: out of memory");
	evbuffer_add(out, b.data, b.len);
	fbuf_release(&b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* /metrics on an admin listener: its dispatcher has bounded the request
 * and adds its security headers; the allow list is the same. */
static void
metrics_http_admin_cb(struct admin_req *r, void *arg)
{
	const struct sockaddr *sa = admin_req_peer(r);

	if (sa == NULL || !metrics_http_client_ok(admin_req_conf(r), sa)) {
		admin_resp_error(r, 403, "Not in metrics_allow.");
		return;
	}
	admin_resp_type(r, METRICS_CONTENT_TYPE);
	metrics_render(admin_resp_body(r), metrics_shm);
}

void
metrics_http_register(struct admin_http *h)
{
	admin_http_route(h, ADMIN_GET, "/metrics", 0, metrics_http_admin_cb,
	    NULL);
}

/* Every request on a metrics listener: /metrics, or 404. */
static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_http *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (path != NULL && strcmp(path, "/metrics") == 0)
		metrics_http_handle(req, m->env);
	else if (!metrics_http_allowed(req, m->env->conf))
		metrics_http_plain(req, 403, "Forbidden",
		    "403 forbidden: not in metrics_allow");
	else
		metrics_http_plain(req, 404, "Not Found",
		    "404 not found: only /metrics is served here");
}

size_t
metrics_http_start(struct metrics_http **mp, struct ferry_env *env)
{
	struct metrics_http *m;
	size_t n = 0;

	*mp = NULL;
	for (size_t i = 0; i < env->nlisteners; i++)
		if (strcmp(env->listeners[i].kind, "metrics") == 0)
			n++;
	if (n == 0)
		return 0;
	m = xcalloc(1, sizeof(*m));
	m->env = env;
	if ((m->http = evhttp_new(env->base)) == NULL)
		log_fatalx("- metrics cannot create the HTTP server");
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT);
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(m->http, metrics_http_cb, m);
	for (size_t i = 0; i < env->nlisteners; i++) {
		const struct ferry_listener *l = &env->listeners[i];

		if (strcmp(l->kind, "metrics") != 0)
			continue;
		if (evhttp_accept_socket(m->http, l->fd) != 0)
			log_fatalx("- metrics cannot listen on %s", l->addr);
		log_info("- metrics listening address=%s", l->addr);
	}
	*mp = m;
	return n;
}

void
metrics_http_free(struct metrics_http **mp)
{
	struct metrics_http *m = *mp;

	if (m == NULL)
		return;
	/* evhttp_free closes the listening sockets: the supervisor keeps
	 * its own descriptors for the next admin process. */
	evhttp_free(m->http);
	free(m);
	*mp = NULL;
}
