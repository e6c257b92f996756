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

/* Runs the server with conf (loaded) until it is stopped; set-up errors
 * are printed to stderr.  Returns the exit status. */
int serve_run(struct conf *conf);
/* The pid of the server running with conf's state_dir, from its pid
 * file: 0, or -1 with the reason in error. */
int serve_running_pid(const struct conf *conf, pid_t *pid_r, char *error,
    size_t size);
/* True while pid runs (a zombie does not count). */
bool serve_alive(pid_t pid);

#endif
