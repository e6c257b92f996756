/* Failed-login bans shared by SMTP AUTH, POP3 and IMAP: failures per
 * client IP are counted in the store; auth_ban_max_failures within
 * auth_ban_window bans the IP for auth_ban_time.  Networks in
 * auth_ban_exempt and the hosts of the nodes in the store
 * (net/nodepeer.h) are never banned nor counted.  Bans survive restarts (they live in
 * the store).  ban_check() and ban_record_failure() block on the store:
 * for the command line and worker threads.  Event loops use the _start()
 * forms, store requests (store.h) with a callback on the loop. */
#ifndef FERRY_BAN_H
#define FERRY_BAN_H
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

struct conf;
struct store;
struct store_pool;
struct store_req;

/* 1 banned (until *until_r if non-NULL), 0 not banned, -1 store error
 * (callers then let the client in: a broken store must not lock everyone
 * out). */
int ban_check(struct store *st, const struct conf *c,
    const struct sockaddr *sa, time_t now, time_t *until_r);
/* Records one failed login from sa for service ("smtp", "pop3", ...).
 * 1 when this failure started a ban, 0 otherwise, -1 on error. */
int ban_record_failure(struct store *st, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now);
/* True when sa is in auth_ban_exempt: neither checked nor counted. */
bool ban_exempt(const struct conf *c, const struct sockaddr *sa);

/* ban_check() as a request; the caller checks ban_exempt() first.  cb
 * gets 1 (banned until `until`), 0 or -1 (store error: let the client
 * in).  The handle is for store_req_abort(). */
typedef void ban_check_cb(int banned, time_t until, void *ctx);
struct store_req *ban_check_start(struct store_pool *sp,
    const struct sockaddr *sa, time_t now, ban_check_cb *cb, void *ctx);
/* ban_record_failure() as a request, settings copied from c; the caller
 * checks ban_exempt() first.  The failure is recorded even if the request
 * is aborted (only cb is then skipped).  cb gets 1, 0 or -1 as above. */
typedef void ban_record_cb(int result, void *ctx);
struct store_req *ban_record_start(struct store_pool *sp,
    const struct conf *c, const struct sockaddr *sa, const char *service,
    time_t now, ban_record_cb *cb, void *ctx);

/* A successful login clears nothing (an attacker may own one account);
 * failures simply age out of the window. */

#endif
