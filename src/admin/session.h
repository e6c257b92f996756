/* Web sessions of the admin role, in the role's memory (a restart logs
 * everyone out, which is the safe failure).  A session is created at
 * each successful login with a fresh random id (never one the client
 * offered), carries its own CSRF token, and ends after
 * admin_session_idle without a request or admin_session_lifetime after
 * the login, whichever comes first.  Ids and tokens are 256 random bits
 * as hex; comparisons are constant-time.  Loop thread only. */
#ifndef FERRY_ADMIN_SESSION_H
#define FERRY_ADMIN_SESSION_H
#include <stddef.h>
#include <time.h>

#include "ops/ops.h"

#define ADMIN_SESSION_COOKIE "ferry_session"
#define ADMIN_TOKEN_LEN 64		/* hex characters */
#define ADMIN_SESSIONS_MAX 4096		/* the oldest goes first */

struct admin_sessions;

struct admin_session {
	char id[ADMIN_TOKEN_LEN + 1];
	char csrf[ADMIN_TOKEN_LEN + 1];
	char user[320];			/* the canonical address */
	enum ops_role role;
	char domain[256];		/* a postmaster's domain, a user's */
	time_t created, last;
};

struct admin_sessions *admin_sessions_create(void);
void admin_sessions_free(struct admin_sessions **sp);
/* A new session for user with role (domain: a postmaster's domain or a
 * user's own).  Returns it; the table owns it. */
const struct admin_session *admin_session_new(struct admin_sessions *s,
    const char *user, enum ops_role role, const char *domain, time_t now);
/* The live session with this id (touched: last = now), or NULL; expired
 * sessions found on the way are dropped.  idle/lifetime in seconds. */
const struct admin_session *admin_session_find(struct admin_sessions *s,
    const char *id, time_t now, time_t idle, time_t lifetime);
/* Ends the session with this id (unknown ids are ignored). */
void admin_session_end(struct admin_sessions *s, const char *id);
/* Ends every session of user (after a password change elsewhere: the
 * caller may keep one, `keep_id`, or NULL). */
void admin_session_end_user(struct admin_sessions *s, const char *user,
    const char *keep_id);
size_t admin_sessions_count(const struct admin_sessions *s);
/* Fills dst (ADMIN_TOKEN_LEN + 1 bytes) with a fresh random token. */
void admin_token(char *dst);
/* Constant-time comparison of two tokens (false when either is not a
 * token's length). */
bool admin_token_equal(const char *a, const char *b);

#endif
