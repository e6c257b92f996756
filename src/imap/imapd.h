/* The IMAP server inside the mailbox role: every "imap" (STARTTLS
 * offered) and "imaps" (implicit TLS, RFC 8314) listener inherited from
 * the supervisor, the connection limits, failed-login bans at connect,
 * the mailbox service (one change watcher for the process) and the
 * sessions.  It runs on the role's event loop and uses env->store and
 * env->pool. */
#ifndef FERRY_IMAPD_H
#define FERRY_IMAPD_H

struct conf;
struct ferry_env;
struct imapd;

/* Starts listening; NULL when env has no IMAP listener.  idle(arg) is
 * called (from the loop) when, after imapd_stop(), the last session is
 * gone. */
struct imapd *imapd_create(struct ferry_env *env, void (*idle)(void *),
    void *arg);
/* Stops accepting; idle sessions get "* BYE" and close, sessions with a
 * job running finish it first. */
void imapd_stop(struct imapd *d);
unsigned imapd_sessions(const struct imapd *d);
/* A reload: takes the certificates and limits of fresh (the new snapshot,
 * which the role makes env->conf right after a success).  0, or -1 with
 * *error_r when the certificates cannot be loaded: nothing changed. */
int imapd_reload(struct imapd *d, const struct conf *fresh,
    const char **error_r);
/* Frees everything (sessions still open are dropped).  Call after the
 * worker pool is gone (no job can still report). */
void imapd_free(struct imapd **dp);

#endif
