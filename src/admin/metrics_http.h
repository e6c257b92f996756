/* /metrics over HTTP, in the admin role: the `metrics_listen` sockets
 * (kind "metrics", plain HTTP, nothing but /metrics) and a handler that
 * the admin listener routes /metrics to.  Either way a client outside
 * `metrics_allow` gets 403; the allow list is read from env->conf at
 * each request, so `ferry reload` applies it.  docs/metrics.md. */
#ifndef FERRY_ADMIN_METRICS_HTTP_H
#define FERRY_ADMIN_METRICS_HTTP_H
#include <stddef.h>

struct evhttp_request;
struct ferry_env;
struct metrics_http;

/* Serves every inherited listener of kind "metrics" on env->base.
 * Returns how many (0: *mp is NULL, nothing to do); a listener that
 * cannot be watched is fatal, as for the other protocols. */
size_t metrics_http_start(struct metrics_http **mp, struct ferry_env *env);
void metrics_http_free(struct metrics_http **mp);

/* Routes /metrics on the admin listeners to the same answer (for the
 * same metrics_allow). */
struct admin_http;
void metrics_http_register(struct admin_http *h);

/* Answers one request for /metrics (GET or HEAD; else 405): 403 to a
 * client outside env->conf's metrics_allow, else 200 with the text. */
void metrics_http_handle(struct evhttp_request *req,
    const struct ferry_env *env);

#endif
