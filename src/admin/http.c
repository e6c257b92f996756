/* The admin role's HTTP server (http.h) on evhttp. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>

#include <event2/keyvalq_struct.h>

#include <openssl/ssl.h>

#include "admin/form.h"
#include "admin/html.h"
#include "admin/http.h"
#include "admin/session.h"
#include "conf/conf.h"
#include "ferry.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "net/listener.h"
#include "net/tls.h"
#include "ops/ops_account.h"
#include "store/store.h"

#define ADMIN_RESP_HEADERS_MAX 16
#define ADMIN_PATH_MAX 2048

/* Every answer: no script or style but our own, no framing, no
 * sniffing, no referrer, nothing cached. */
#define ADMIN_CSP "default-src 'none'; style-src 'self'; img-src 'self'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

struct admin_route {
	unsigned methods, flags;
	char *path;
	bool prefix;
	admin_handler *fn;
	void *arg;
};

struct admin_site {
	struct admin_http *h;
	struct evhttp *http;
	bool tls;
	char addr[128];
};

struct admin_http {
	struct ferry_env *env;
	struct tls_server *tls;
	struct admin_site *sites;
	size_t nsites;
	struct admin_route *routes;
	size_t nroutes;
	struct admin_sessions *sessions;
	unsigned pending;
};

struct admin_kv {
	char *name, *value;
};

struct admin_req {
	struct admin_http *h;
	struct admin_site *site;
	struct evhttp_request *ev;
	const struct conf *conf;
	bool post, head, deferred;
	char path[ADMIN_PATH_MAX];
	const char *rest;
	struct form query, form, cookies;
	struct admin_kv *headers;
	size_t nheaders;
	char host[256];
	struct fbuf in;
	struct sockaddr_storage peer;
	char peer_text[64];
	/* the logged-in user, copied from the session table */
	bool logged_in;
	struct admin_session sess;
	struct ops_actor actor;
	const char *actor_domains[1];
	/* the answer */
	int status;
	char ctype[96];
	struct admin_kv out_headers[ADMIN_RESP_HEADERS_MAX];
	size_t nout_headers;
	struct fbuf out;
	/* admin_req_run() */
	admin_work_cb *work;
	admin_done_cb *done;
	void *arg;
};

static void admin_req_finish(struct admin_req *r);

/* ---- the request ---- */

bool
admin_req_post(const struct admin_req *r)
{
	return r->post;
}

const char *
admin_req_path(const struct admin_req *r)
{
	return r->path;
}

const char *
admin_req_rest(const struct admin_req *r)
{
	return r->rest != NULL ? r->rest : "";
}

const char *
admin_req_query(const struct admin_req *r, const char *name)
{
	return form_get(&r->query, name);
}

const char *
admin_req_form(const struct admin_req *r, const char *name)
{
	return r->post ? form_get(&r->form, name) : NULL;
}

const char *
admin_req_header(const struct admin_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *
admin_req_body(const struct admin_req *r, size_t *len_r)
{
	*len_r = r->in.len;
	return fbuf_str(&r->in);
}

const char *
admin_req_cookie(const struct admin_req *r, const char *name)
{
	return form_get(&r->cookies, name);
}

const char *
admin_req_host(const struct admin_req *r)
{
	return r->host;
}

const struct sockaddr *
admin_req_peer(const struct admin_req *r)
{
	return (const struct sockaddr *)&r->peer;
}

const char *
admin_req_peer_text(const struct admin_req *r)
{
	return r->peer_text;
}

bool
admin_req_tls(const struct admin_req *r)
{
	return r->site->tls;
}

const struct conf *
admin_req_conf(const struct admin_req *r)
{
	return r->conf;
}

const struct ops_actor *
admin_req_actor(const struct admin_req *r)
{
	return r->logged_in ? &r->actor : NULL;
}

const char *
admin_req_user(const struct admin_req *r)
{
	return r->logged_in ? r->sess.user : NULL;
}

const char *
admin_req_csrf(const struct admin_req *r)
{
	return r->logged_in ? r->sess.csrf : NULL;
}

void
admin_req_ops_ctx(const struct admin_req *r, struct store *conn,
    struct ops_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->actor = &r->actor;
	c->store = conn;
	c->conf = r->conf;
	c->ropts.case_sensitive_local = r->conf->local_part_case_sensitive;
	c->ropts.delimiter = r->conf->recipient_delimiter;
}

struct admin_http *
admin_req_http(const struct admin_req *r)
{
	return r->h;
}

struct admin_sessions *
admin_http_sessions(struct admin_http *h)
{
	return h->sessions;
}

/* ---- the answer ---- */

void
admin_resp_status(struct admin_req *r, int status)
{
	r->status = status;
}

void
admin_resp_header(struct admin_req *r, const char *name, const char *value)
{
	if (r->nout_headers == ADMIN_RESP_HEADERS_MAX) {
		log_warnx("- admin too-many-headers path=%s", log_q(r->path));
		return;
	}
	r->out_headers[r->nout_headers].name = xstrdup(name);
	r->out_headers[r->nout_headers].value = xstrdup(value);
	r->nout_headers++;
}

void
admin_resp_type(struct admin_req *r, const char *content_type)
{
	str_lcpy(r->ctype, content_type, sizeof(r->ctype));
}

struct fbuf *
admin_resp_body(struct admin_req *r)
{
	return &r->out;
}

void
admin_resp_redirect(struct admin_req *r, const char *path)
{
	/* Local paths only: "//host" would leave the site. */
	if (path[0] != '/' || path[1] == '/' || path[1] == '\\' ||
	    strpbrk(path, "\r\n") != NULL)
		path = "/";
	r->status = 303;
	admin_resp_header(r, "Location", path);
	fbuf_reset(&r->out);
}

void
admin_resp_error(struct admin_req *r, int status, const char *text)
{
	const char *title;

	switch (status) {
	case 400: title = "Bad request"; break;
	case 403: title = "Not allowed"; break;
	case 404: title = "Not found"; break;
	case 405: title = "Method not allowed"; break;
	case 409: title = "Conflict"; break;
	case 413: title = "Request too large"; break;
	case 431: title = "Request headers too large"; break;
	case 503: title = "Try again later"; break;
	default: title = status >= 500 ? "Server error" : "Error"; break;
	}
	r->status = status;
	fbuf_reset(&r->out);
	str_lcpy(r->ctype, "text/html; charset=utf-8", sizeof(r->ctype));
	html_begin(r, title);
	html_addf(&r->out, "<p class=\"error\">%s</p>", text);
	html_end(r);
}

/* ---- work on the pool ---- */

static void
admin_req_work(void *arg)
{
	struct admin_req *r = arg;

	r->work(r, store_pool_conn(r->h->env->stores), r->arg);
}

static void
admin_req_work_done(void *arg)
{
	struct admin_req *r = arg;

	r->h->pending--;
	r->deferred = false;
	if (r->done != NULL)
		r->done(r, r->arg);
	if (!r->deferred)
		admin_req_finish(r);
}

void
admin_req_run(struct admin_req *r, admin_work_cb *work, admin_done_cb *done,
    void *arg)
{
	r->work = work;
	r->done = done;
	r->arg = arg;
	r->deferred = true;
	r->h->pending++;
	workpool_submit(r->h->env->pool, admin_req_work, admin_req_work_done,
	    r);
}

/* ---- dispatch ---- */

static const char *
admin_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

static void
admin_req_free(struct admin_req *r)
{
	conf_unref(&r->conf);
	form_free(&r->query);
	form_free(&r->form);
	form_free(&r->cookies);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	for (size_t i = 0; i < r->nout_headers; i++) {
		free(r->out_headers[i].name);
		free(r->out_headers[i].value);
	}
	/* the body may hold a password */
	if (r->in.data != NULL)
		explicit_bzero(r->in.data, r->in.len);
	fbuf_release(&r->in);
	fbuf_release(&r->out);
	explicit_bzero(&r->sess, sizeof(r->sess));
	free(r);
}

static void
admin_req_finish(struct admin_req *r)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(r->ev);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(oh, "Content-Type", r->ctype);
	evhttp_add_header(oh, "Content-Security-Policy", ADMIN_CSP);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	evhttp_add_header(oh, "Referrer-Policy", "same-origin");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (r->site->tls)
		evhttp_add_header(oh, "Strict-Transport-Security",
		    "max-age=31536000");
	for (size_t i = 0; i < r->nout_headers; i++)
		evhttp_add_header(oh, r->out_headers[i].name,
		    r->out_headers[i].value);
	evbuffer_add(buf, r->out.data != NULL ? r->out.data : "", r->out.len);
	log_debug("- admin request method=%s path=%s status=%d address=%s "
	    "user=%s", r->post ? "POST" : r->head ? "HEAD" : "GET",
	    log_q(r->path), r->status, r->peer_text,
	    r->logged_in ? log_q(r->sess.user) : "-");
	evhttp_send_reply(r->ev, r->status, admin_reason(r->status), buf);
	evbuffer_free(buf);
	admin_req_free(r);
}

/* The route for path: one that serves the method when there is one,
 * else one for the path alone (the caller answers 405). */
static const struct admin_route *
admin_route_find(const struct admin_http *h, const char *path,
    unsigned method, const char **rest_r)
{
	const struct admin_route *any = NULL;

	for (size_t i = 0; i < h->nroutes; i++) {
		const struct admin_route *rt = &h->routes[i];
		size_t n = strlen(rt->path);

		if (rt->prefix ? strncmp(path, rt->path, n) != 0 :
		    strcmp(path, rt->path) != 0)
			continue;
		if ((rt->methods & method) != 0 || any == NULL) {
			any = rt;
			*rest_r = path + (rt->prefix ? n : strlen(path));
		}
		if ((rt->methods & method) != 0)
			break;
	}
	return any;
}

/* Headers copied out of evhttp (the worker threads read them). */
static int
admin_req_copy_headers(struct admin_req *r)
{
	struct evkeyvalq *ih = evhttp_request_get_input_headers(r->ev);
	struct evkeyval *kv;
	const char *host = NULL, *cookie = NULL;
	size_t n = 0;

	TAILQ_FOREACH(kv, ih, next)
		n++;
	if (n > ADMIN_HEADER_COUNT_MAX)
		return -1;
	r->headers = xcalloc(n > 0 ? n : 1, sizeof(*r->headers));
	TAILQ_FOREACH(kv, ih, next) {
		r->headers[r->nheaders].name = xstrdup(kv->key);
		r->headers[r->nheaders].value = xstrdup(kv->value);
		r->nheaders++;
		if (host == NULL && strcasecmp(kv->key, "Host") == 0)
			host = kv->value;
		if (cookie == NULL && strcasecmp(kv->key, "Cookie") == 0)
			cookie = kv->value;
	}
	if (host != NULL) {
		size_t hl = strcspn(host, ":");

		if (host[0] == '[')	/* [v6]:port */
			hl = strcspn(host, "]") + 1;
		if (hl < sizeof(r->host)) {
			memcpy(r->host, host, hl);
			r->host[hl] = '\0';
			str_lower(r->host);
		}
	}
	if (cookie != NULL) {
		/* "a=1; b=2": the form parser with ';' splits it; a cookie
		 * header that is not that shape is simply ignored */
		char *c = xstrdup(cookie), *w = c;

		for (const char *p = cookie; *p != '\0'; p++)
			if (*p != ' ')
				*w++ = *p;
		*w = '\0';
		if (form_parse(&r->cookies, c, strlen(c)) < 0)
			memset(&r->cookies, 0, sizeof(r->cookies));
		free(c);
	}
	return 0;
}

static void
admin_req_peer_copy(struct admin_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->ev);
	const struct sockaddr *sa = evcon != NULL ?
	    evhttp_connection_get_addr(evcon) : NULL;

	str_lcpy(r->peer_text, "-", sizeof(r->peer_text));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		memcpy(&r->peer, sa, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    r->peer_text, sizeof(r->peer_text));
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&r->peer, sa, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    r->peer_text, sizeof(r->peer_text));
	}
}

/* The session named by the cookie, copied into r. */
static void
admin_req_session(struct admin_req *r)
{
	const struct conf *c = r->conf;
	const struct admin_session *s;

	s = admin_session_find(r->h->sessions,
	    admin_req_cookie(r, ADMIN_SESSION_COOKIE), time(NULL),
	    (time_t)c->admin_session_idle, (time_t)c->admin_session_lifetime);
	if (s == NULL)
		return;
	r->logged_in = true;
	r->sess = *s;
	r->actor.role = s->role;
	r->actor.name = r->sess.user;
	r->actor_domains[0] = r->sess.domain;
	r->actor.domains = r->actor_domains;
	r->actor.ndomains = s->role == OPS_POSTMASTER ? 1 : 0;
}

/* A cross-site form post: the Origin (when the browser sends one) must
 * be this host and port, as the Host header names them.  "null" (a
 * sandboxed frame, or a page whose referrer policy hides its origin) is
 * refused: our own pages send Referrer-Policy: same-origin, so a
 * browser names their origin in the forms they post. */
static bool
admin_req_same_origin(const struct admin_req *r)
{
	const char *o = admin_req_header(r, "Origin");
	const char *host = admin_req_header(r, "Host"), *auth;

	if (o == NULL)
		return true;
	if (host == NULL)
		return false;
	if (strncmp(o, "https://", 8) == 0)
		auth = o + 8;
	else if (strncmp(o, "http://", 7) == 0)
		auth = o + 7;
	else
		return false;
	return auth[0] != '\0' && strcasecmp(auth, host) == 0;
}

static int
admin_req_parse(struct admin_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->ev);
	const char *p = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	char *dec;
	size_t dlen;

	if (p == NULL || p[0] != '/')
		return -1;
	if ((dec = evhttp_uridecode(p, 0, &dlen)) == NULL)
		return -1;
	if (dlen != strlen(dec) || dlen >= sizeof(r->path) ||
	    strstr(dec, "/../") != NULL || strstr(dec, "/./") != NULL) {
		free(dec);
		return -1;
	}
	memcpy(r->path, dec, dlen + 1);
	free(dec);
	if (q != NULL && form_parse(&r->query, q, strlen(q)) < 0)
		return -1;
	if (r->post) {
		struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
		size_t n = evbuffer_get_length(in);
		const char *ct = admin_req_header(r, "Content-Type");

		fbuf_init(&r->in, ADMIN_BODY_MAX);
		if (n > ADMIN_BODY_MAX)
			return -2;
		if (n > 0) {
			if (fbuf_add(&r->in, evbuffer_pullup(in, -1), n) < 0)
				return -2;
		}
		if (ct != NULL && strncasecmp(ct,
		    "application/x-www-form-urlencoded", 33) == 0 &&
		    form_parse(&r->form, r->in.data != NULL ? r->in.data : "",
		    r->in.len) < 0)
			return -1;
	}
	return 0;
}

static void
admin_http_dispatch(struct evhttp_request *ev, void *arg)
{
	struct admin_site *site = arg;
	struct admin_http *h = site->h;
	struct admin_req *r = xcalloc(1, sizeof(*r));
	const struct admin_route *rt;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(ev);
	char next[ADMIN_PATH_MAX + 16];
	struct fbuf enc;
	int pr;

	r->h = h;
	r->site = site;
	r->ev = ev;
	r->conf = conf_ref(h->env->conf);
	r->status = 200;
	str_lcpy(r->ctype, "text/html; charset=utf-8", sizeof(r->ctype));
	fbuf_init(&r->out, ADMIN_PAGE_MAX);
	fbuf_init(&r->in, ADMIN_BODY_MAX);
	r->post = cmd == EVHTTP_REQ_POST;
	r->head = cmd == EVHTTP_REQ_HEAD;
	str_lcpy(r->path, "-", sizeof(r->path));
	admin_req_peer_copy(r);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST &&
	    cmd != EVHTTP_REQ_HEAD) {
		admin_resp_header(r, "Allow", "GET, HEAD, POST");
		admin_resp_error(r, 405, "This method is not served here.");
		admin_req_finish(r);
		return;
	}
	if (admin_req_copy_headers(r) < 0) {
		admin_resp_error(r, 431, "Too many header fields.");
		admin_req_finish(r);
		return;
	}
	if ((pr = admin_req_parse(r)) < 0) {
		if (pr == -2)
			admin_resp_error(r, 413, "The request is too large.");
		else
			admin_resp_error(r, 400,
			    "The address or the form data is malformed.");
		admin_req_finish(r);
		return;
	}
	admin_req_session(r);
	if ((rt = admin_route_find(h, r->path, r->post ? ADMIN_POST : ADMIN_GET,
	    &r->rest)) == NULL) {
		admin_resp_error(r, 404, "There is no page at this address.");
		admin_req_finish(r);
		return;
	}
	if (((r->post ? ADMIN_POST : ADMIN_GET) & rt->methods) == 0) {
		admin_resp_header(r, "Allow",
		    (rt->methods & ADMIN_POST) != 0 ? "POST" : "GET, HEAD");
		admin_resp_error(r, 405, "This method is not served here.");
		admin_req_finish(r);
		return;
	}
	if (rt->flags != 0 && !r->logged_in) {
		if (r->post) {
			admin_resp_error(r, 403, "Your session has ended: log "
			    "in again.");
			admin_req_finish(r);
			return;
		}
		fbuf_init(&enc, sizeof(next));
		fbuf_adds(&enc, "/login?next=");
		form_encode(&enc, r->path);
		str_lcpy(next, fbuf_str(&enc), sizeof(next));
		fbuf_release(&enc);
		admin_resp_redirect(r, next);
		admin_req_finish(r);
		return;
	}
	if (((rt->flags & ADMIN_F_ADMIN) != 0 && r->actor.role != OPS_ADMIN) ||
	    ((rt->flags & ADMIN_F_POSTMASTER) != 0 &&
	    r->actor.role == OPS_USER)) {
		log_info("- admin refused path=%s user=%s address=%s "
		    "reason=role", log_q(r->path), log_q(r->sess.user),
		    r->peer_text);
		admin_resp_error(r, 403, "This page is not for your account.");
		admin_req_finish(r);
		return;
	}
	if (r->post && rt->flags != 0 && (!admin_token_equal(
	    form_get(&r->form, "csrf"), r->sess.csrf) ||
	    !admin_req_same_origin(r))) {
		log_info("- admin refused path=%s user=%s address=%s "
		    "reason=csrf", log_q(r->path), log_q(r->sess.user),
		    r->peer_text);
		admin_resp_error(r, 403, "This form has expired or did not "
		    "come from this site: reload the page and try again.");
		admin_req_finish(r);
		return;
	}
	rt->fn(r, rt->arg);
	if (!r->deferred)
		admin_req_finish(r);
}

/* ---- the server ---- */

static struct bufferevent *
admin_http_tls_bev(struct event_base *base, void *arg)
{
	struct admin_site *site = arg;
	SSL *ssl = tls_server_ssl(site->h->tls);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void
admin_http_css(struct admin_req *r, void *arg)
{
	admin_resp_type(r, "text/css; charset=utf-8");
	fbuf_adds(admin_resp_body(r), html_css);
}

int
admin_http_create(struct admin_http **hp, struct ferry_env *env,
    const char **error_r)
{
	struct admin_http *h = xcalloc(1, sizeof(*h));

	h->env = env;
	if (tls_server_create(&h->tls, env->conf, error_r) < 0) {
		free(h);
		return -1;
	}
	h->sessions = admin_sessions_create();
	h->sites = xcalloc(env->nlisteners > 0 ? env->nlisteners : 1,
	    sizeof(*h->sites));
	for (size_t i = 0; i < env->nlisteners; i++) {
		struct ferry_listener *l = &env->listeners[i];
		struct admin_site *site;

		if (strcmp(l->kind, "admin") != 0)
			continue;
		site = &h->sites[h->nsites++];
		site->h = h;
		site->tls = h->tls != NULL;
		str_lcpy(site->addr, l->addr, sizeof(site->addr));
		site->http = evhttp_new(env->base);
		evhttp_set_timeout(site->http, (int)env->conf->admin_timeout);
		evhttp_set_max_headers_size(site->http, ADMIN_HEADERS_MAX);
		evhttp_set_max_body_size(site->http, ADMIN_BODY_MAX);
		evhttp_set_allowed_methods(site->http, EVHTTP_REQ_GET |
		    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
		evhttp_set_default_content_type(site->http,
		    "text/html; charset=utf-8");
		if (site->tls)
			evhttp_set_bevcb(site->http, admin_http_tls_bev, site);
		evhttp_set_gencb(site->http, admin_http_dispatch, site);
		if (evhttp_accept_socket_with_handle(site->http, l->fd) ==
		    NULL) {
			*error_r = "cannot accept on an admin listener";
			admin_http_free(&h);
			return -1;
		}
		log_info("- admin listening address=%s tls=%s", site->addr,
		    site->tls ? "yes" : "no");
	}
	admin_http_route(h, ADMIN_GET, "/static/ferry.css", 0,
	    admin_http_css, NULL);
	*hp = h;
	return 0;
}

void
admin_http_route(struct admin_http *h, unsigned methods, const char *path,
    unsigned flags, admin_handler *fn, void *arg)
{
	struct admin_route *rt;
	size_t n = strlen(path);

	h->routes = xreallocarray(h->routes, h->nroutes + 1,
	    sizeof(*h->routes));
	rt = &h->routes[h->nroutes++];
	rt->methods = methods;
	rt->flags = flags;
	rt->path = xstrdup(path);
	rt->prefix = n > 1 && path[n - 1] == '/';
	rt->fn = fn;
	rt->arg = arg;
}

int
admin_http_reload(struct admin_http *h, const struct conf *fresh,
    const char **error_r)
{
	if (h->tls == NULL)
		return 0;
	return tls_server_reload(h->tls, fresh, error_r);
}

unsigned
admin_http_pending(const struct admin_http *h)
{
	return h->pending;
}

void
admin_http_free(struct admin_http **hp)
{
	struct admin_http *h = *hp;

	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nsites; i++)
		if (h->sites[i].http != NULL)
			evhttp_free(h->sites[i].http);
	free(h->sites);
	for (size_t i = 0; i < h->nroutes; i++)
		free(h->routes[i].path);
	free(h->routes);
	admin_sessions_free(&h->sessions);
	tls_server_free(&h->tls);
	free(h);
	*hp = NULL;
}
