/* The supervisor of `ferry serve` (DESIGN.md "Process model"): prepares
 * state_dir, binds every listener, drops privileges, forks the roles
 * (roles.h) and restarts them when they die, passes SIGHUP (reload) and
 * SIGTERM/SIGINT (stop) on to them. */
#ifndef FERRY_SERVE_H
#define FERRY_SERVE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct conf;

/* Runs the server with the configuration file at path until it is
 * stopped; set-up errors are printed to stderr.  Returns the exit
 * status.  It answers "reload" on state_dir/serve.sock (control.h):
 * "ok ..." once every role applied the new configuration, else
 * "error REASON" (FILE:LINE of a bad value, a certificate error, or the
 * role that refused it and why); SIGHUP does the same without asker. */
int serve_run(const char *path);
/* The pid of the server running with conf's state_dir, from its pid
 * file: 0, or -1 with the reason in error. */
int serve_running_pid(const struct conf *conf, pid_t *pid_r, char *error,
    size_t size);
/* True while pid runs (a zombie does not count). */
bool serve_alive(pid_t pid);

#endif
