/* The admin role's HTTP server: libevent's evhttp on the admin_listen
 * sockets inherited from the supervisor, TLS with the server's
 * certificate (plain HTTP only on loopback or with admin_plain_http),
 * bounded requests (header bytes and count, body size, slow clients), a
 * route table, and the security headers every answer carries.
 *
 * How a page is written (pages_*.c do exactly this):
 *
 *   1. admin_http_route() registers a handler for a method set and a path
 *      (exact, or a prefix when it ends in '/'), with flags saying who
 *      may call it (ADMIN_F_LOGIN: any logged-in user, ADMIN_F_POSTMASTER,
 *      ADMIN_F_ADMIN).  The dispatcher answers 303 to /login, 403 or 405
 *      itself; POST routes with ADMIN_F_LOGIN must carry the session's
 *      CSRF token (form field "csrf"), else 403.
 *   2. The handler runs on the loop thread.  It reads the request with
 *      admin_req_*() and builds the answer with admin_resp_*(), which
 *      only touch memory.  For blocking work (the store, the operations
 *      layer src/ops/) it calls admin_req_run(): work() runs on a worker
 *      thread with that thread's store connection and may call the
 *      admin_req_*() readers and admin_resp_*() builders (never
 *      libevent); done(), when given, then runs on the loop.
 *   3. The answer is sent when the handler (or done()) returns, unless
 *      admin_req_run() was called from it.  The request is freed then:
 *      never keep a pointer to it.
 *
 * Everything here runs on the role's loop thread except work(). */
#ifndef FERRY_ADMIN_HTTP_H
#define FERRY_ADMIN_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lib/fbuf.h"
#include "ops/ops.h"

struct admin_http;
struct admin_req;
struct admin_session;
struct conf;
struct ferry_env;
struct store;

#define ADMIN_GET 0x1
#define ADMIN_POST 0x2

#define ADMIN_F_LOGIN 0x1	/* a logged-in user */
#define ADMIN_F_POSTMASTER 0x2	/* a postmaster or the admin */
#define ADMIN_F_ADMIN 0x4	/* the admin only */

#define ADMIN_BODY_MAX (256 * 1024)	/* a form, an autodiscover request */
#define ADMIN_HEADERS_MAX (16 * 1024)	/* request line and headers, bytes */
#define ADMIN_HEADER_COUNT_MAX 64
#define ADMIN_PAGE_MAX (8 * 1024 * 1024)	/* an answer */

typedef void admin_handler(struct admin_req *r, void *arg);
typedef void admin_work_cb(struct admin_req *r, struct store *conn,
    void *arg);
typedef void admin_done_cb(struct admin_req *r, void *arg);

/* Serves the env's "admin" listeners on env->base; env->pool and
 * env->stores run the work.  0, or -1 with *error_r. */
int admin_http_create(struct admin_http **hp, struct ferry_env *env,
    const char **error_r);
void admin_http_route(struct admin_http *h, unsigned methods,
    const char *path, unsigned flags, admin_handler *fn, void *arg);
/* Takes the new snapshot's certificates and limits; the old ones stay
 * on failure.  0, or -1 with *error_r. */
int admin_http_reload(struct admin_http *h, const struct conf *fresh,
    const char **error_r);
/* Requests still being worked on (for a graceful stop). */
unsigned admin_http_pending(const struct admin_http *h);
void admin_http_free(struct admin_http **hp);

/* The request. */
bool admin_req_post(const struct admin_req *r);
const char *admin_req_path(const struct admin_req *r);	/* decoded, no query */
/* The part of the path after the route's prefix ("" for exact routes). */
const char *admin_req_rest(const struct admin_req *r);
/* A query-string parameter, or (POST) a form field; NULL when absent. */
const char *admin_req_query(const struct admin_req *r, const char *name);
const char *admin_req_form(const struct admin_req *r, const char *name);
/* A request header (first of the name), NULL when absent. */
const char *admin_req_header(const struct admin_req *r, const char *name);
/* The raw body (POST), and its length. */
const char *admin_req_body(const struct admin_req *r, size_t *len_r);
const char *admin_req_cookie(const struct admin_req *r, const char *name);
/* The Host header without its port, lower case ("" when absent). */
const char *admin_req_host(const struct admin_req *r);
const struct sockaddr *admin_req_peer(const struct admin_req *r);
const char *admin_req_peer_text(const struct admin_req *r);
bool admin_req_tls(const struct admin_req *r);
/* The configuration snapshot the request runs with. */
const struct conf *admin_req_conf(const struct admin_req *r);
/* The logged-in user (NULL when none): the actor for src/ops/ and the
 * session's CSRF token for forms. */
const struct ops_actor *admin_req_actor(const struct admin_req *r);
const char *admin_req_user(const struct admin_req *r);
const char *admin_req_csrf(const struct admin_req *r);
/* The role's http server (for handlers that reach the sessions). */
struct admin_http *admin_req_http(const struct admin_req *r);

/* In work(): the operations layer's context for r's user on conn. */
struct ops_ctx;
void admin_req_ops_ctx(const struct admin_req *r, struct store *conn,
    struct ops_ctx *c);

/* Runs work on a worker thread, then done (may be NULL) on the loop. */
void admin_req_run(struct admin_req *r, admin_work_cb *work,
    admin_done_cb *done, void *arg);

/* The answer.  status 200 and no body unless set. */
void admin_resp_status(struct admin_req *r, int status);
/* Adds a header (Set-Cookie, Location, Content-Disposition, ...). */
void admin_resp_header(struct admin_req *r, const char *name,
    const char *value);
void admin_resp_type(struct admin_req *r, const char *content_type);
/* The body, built in place (text/html; charset=utf-8 by default). */
struct fbuf *admin_resp_body(struct admin_req *r);
/* 303 See Other to a local path. */
void admin_resp_redirect(struct admin_req *r, const char *path);
/* A small HTML page saying what went wrong (text is escaped). */
void admin_resp_error(struct admin_req *r, int status, const char *text);

/* The session table (session.c) of this server. */
struct admin_sessions *admin_http_sessions(struct admin_http *h);

#endif
