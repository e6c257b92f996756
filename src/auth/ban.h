/* Failed-login bans shared by SMTP AUTH, POP3 and IMAP: failures per
 * client IP are counted in the store; auth_ban_max_failures within
 * auth_ban_window bans the IP for auth_ban_time.  Networks in
 * auth_ban_exempt are never banned.  Bans survive restarts (they live in
 * SQLite).  These calls write to SQLite (WAL, synchronous=NORMAL: no
 * fsync per call) and are made from the event loop. */
#ifndef FERRY_BAN_H
#define FERRY_BAN_H
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

struct conf;
struct store;

/* 1 banned (until *until_r if non-NULL), 0 not banned, -1 store error
 * (callers then let the client in: a broken store must not lock everyone
 * out). */
int ban_check(struct store *st, const struct conf *c,
    const struct sockaddr *sa, time_t now, time_t *until_r);
/* Records one failed login from sa for service ("smtp", "pop3", ...).
 * 1 when this failure started a ban, 0 otherwise, -1 on error. */
int ban_record_failure(struct store *st, const struct conf *c,
    const struct sockaddr *sa, const char *service, time_t now);
/* A successful login clears nothing (an attacker may own one account);
 * failures simply age out of the window. */

#endif
