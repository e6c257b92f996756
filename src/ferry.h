/* The per-process environment: each process has exactly one struct
 * ferry_env and no other mutable globals (STYLE.md "Memory ownership"). */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H
#include <stdbool.h>
#include <sys/types.h>

#include "conf/conf.h"

#define FERRY_VERSION "0.1.0"

struct event_base;
struct store;
struct store_pool;
struct workpool;

struct ferry_listener {
	int fd;
	char kind[16];			/* "smtp" (later "submission", ...) */
	char addr[80];			/* as configured, for logs */
};

struct ferry_env {
	/* The current configuration snapshot (conf.h): a reload replaces
	 * it on the loop thread; work that outlives the moment (a session, a
	 * job on a worker thread) holds its own conf_ref(). */
	const struct conf *conf;
	const char *role;		/* "serve", "smtpd", "queue", "cli" */
	struct event_base *base;
	struct store *store;		/* the command line's connection */
	struct workpool *pool;
	struct store_pool *stores;	/* event loops: requests on pool */
	struct ferry_listener *listeners;	/* inherited from the supervisor */
	size_t nlisteners;
	bool stopping;
	/* In a role: its end of the supervisor's request channel
	 * (net/control.h; "reload"), or -1. */
	int control_fd;
};

/* Paths inside state_dir: spool/, mail/, ferry.db, ferry.pid, queue.sock,
 * serve.sock */
#define FERRY_SPOOL_DIR "spool"
#define FERRY_MAIL_DIR "mail"
#define FERRY_DB_FILE "ferry.db"
#define FERRY_PID_FILE "ferry.pid"
#define FERRY_QUEUE_SOCK "queue.sock"
#define FERRY_SERVE_SOCK "serve.sock"	/* `ferry reload` asks here */

#endif
