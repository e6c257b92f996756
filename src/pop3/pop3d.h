/* The POP3 server inside the mailbox role: every "pop3" (STLS offered)
 * and "pop3s" (implicit TLS) listener inherited from the supervisor, the
 * connection limits, failed-login bans at connect, and the sessions.  It
 * runs on the role's event loop and uses env->store and env->pool. */
#ifndef FERRY_POP3D_H
#define FERRY_POP3D_H

struct conf;
struct ferry_env;
struct pop3d;

/* Starts listening; NULL when env has no POP3 listener.  idle(arg) is
 * called (from the loop) when, after pop3d_stop(), the last session is
 * gone. */
struct pop3d *pop3d_create(struct ferry_env *env, void (*idle)(void *),
    void *arg);
/* Stops accepting; idle sessions get "-ERR [SYS/TEMP]" and close,
 * sessions committing at QUIT finish first. */
void pop3d_stop(struct pop3d *d);
unsigned pop3d_sessions(const struct pop3d *d);
/* A reload: takes the certificates and limits of fresh (the new snapshot,
 * which the role makes env->conf right after a success).  0, or -1 with
 * *error_r when the certificates cannot be loaded: nothing changed. */
int pop3d_reload(struct pop3d *d, const struct conf *fresh,
    const char **error_r);
/* Frees everything (sessions still open are dropped). */
void pop3d_free(struct pop3d **dp);

#endif
