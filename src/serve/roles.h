/* The role entry points (src/serve/NAME_main.c), called by the supervisor
 * (serve.c) in the forked child after privileges are dropped.  Each sets
 * up its event loop and pools, runs the loop, applies reloads (SIGHUP)
 * and stops on SIGTERM/SIGINT; it returns the process exit status. */
#ifndef FERRY_ROLES_H
#define FERRY_ROLES_H

struct ferry_env;

int smtpd_main(struct ferry_env *env);	/* SMTP: MX and submission */
int queue_main(struct ferry_env *env);	/* the spool, delivery, relay */
int mailbox_main(struct ferry_env *env);	/* POP3 (and IMAP) */
int admin_main(struct ferry_env *env);	/* the web pages (src/admin/) */

/* A role starts with SIGHUP, SIGTERM and SIGINT blocked; it calls this
 * once its own handlers are installed (serve.c). */
void serve_role_ready(void);
/* Answers the supervisor's request `line` (control.h) that the role
 * handled with result r (0, or -1 with error); a request the role does
 * not know (error NULL) gets "error unknown request". */
struct rolectl_req;
void serve_role_reply(struct rolectl_req *req, const char *line, int r,
    const char *error);

#endif
