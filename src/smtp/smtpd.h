/* The SMTP server inside the smtpd role: every "smtp", "submission" and
 * "submissions" listener inherited from the supervisor (net/listener.h),
 * failed-login bans at connect, the sessions, the policy checks and the
 * password-check pool.  It runs on the role's event loop and uses
 * env->store and env->pool (message commits), which the role owns. */
#ifndef FERRY_SMTPD_H
#define FERRY_SMTPD_H
#include <stddef.h>

struct conf;
struct ferry_env;
struct smtpd;

/* Starts listening (set-up failures are fatal: the role is restarted).
 * idle(arg) is called (from the loop) when, after smtpd_stop(), the last
 * session is gone. */
struct smtpd *smtpd_create(struct ferry_env *env, void (*idle)(void *),
    void *arg);
size_t smtpd_nlisteners(const struct smtpd *srv);
unsigned smtpd_sessions(const struct smtpd *srv);
/* Stops accepting; idle sessions get 421 4.3.2 and close, sessions
 * committing a message finish first. */
void smtpd_stop(struct smtpd *srv);
/* A reload: takes the certificates, limits and checks of fresh (the new
 * snapshot, which the role makes env->conf right after a success; new
 * sessions take it then, running ones keep theirs).  0, or -1 with
 * *error_r when the certificates cannot be loaded: then nothing
 * changed. */
int smtpd_reload(struct smtpd *srv, const struct conf *fresh,
    const char **error_r);
/* After the loop ends, before env->pool is drained: the signature
 * checks still running finish, and what their sessions do next (a
 * commit) still has env->pool to go to.  Later checks run inline. */
void smtpd_finish_checks(struct smtpd *srv);
/* Frees everything (sessions still open are dropped); env->pool must be
 * drained (workpool_free) first. */
void smtpd_free(struct smtpd **srvp);

#endif
