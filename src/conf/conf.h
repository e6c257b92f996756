/* The configuration file: `key = value` lines, `#` comments, lists
 * comma-separated.  An unknown key or a bad value is an error naming
 * FILE:LINE and the reason.  Everything the operator sets lives here;
 * what postmasters change at run time lives in the store. */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cidr.h"

#define CONF_DEFAULT_PATH "/etc/ferry/ferry.conf"
#define CONF_HOST_MAX 255

struct conf_listen {
	char host[64];
	char port[8];
};

struct conf_listen_list {
	struct conf_listen *v;
	size_t n;
};

struct conf {
	char path[PATH_MAX];
	char hostname[CONF_HOST_MAX + 1];
	char state_dir[PATH_MAX];
	char run_as[64];
	char log_file[PATH_MAX];
	int log_level;				/* enum log_level */

	struct conf_listen_list smtp_listen;
	struct cidr_list relay_networks;

	uint64_t message_size_limit;		/* bytes, 0 = none */
	unsigned max_recipients;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned smtp_max_errors;		/* protocol errors before 421 */
	unsigned smtp_max_line;			/* command line octets incl CRLF */
	unsigned smtp_max_text_line;		/* DATA line octets incl CRLF */
	uint64_t smtp_timeout;			/* seconds waiting for a command */
	uint64_t smtp_data_timeout;		/* seconds between DATA blocks */
	uint64_t smtp_greeting_delay;		/* pre-greeting wait, 0 = none */
	bool local_part_case_sensitive;		/* default: compare case-blind */
	char recipient_delimiter[8];		/* "+" (empty: off) */
	unsigned queue_workers;			/* delivery threads */
	uint64_t queue_lifetime;		/* seconds */
	uint64_t retry_min, retry_max;		/* local retry backoff */
};

/* Built-in defaults (hostname from gethostname()). */
void conf_defaults(struct conf *c);
/* Reads path over the defaults already in c.  0, or -1 with *error_r set
 * to a static "FILE:LINE: reason" valid until the next call. */
int conf_load(struct conf *c, const char *path, const char **error_r);
/* The same for text in memory; `name` stands for FILE in errors. */
int conf_parse(struct conf *c, const char *name, const char *text,
    size_t len, const char **error_r);
/* Frees the lists; c can be loaded again after conf_defaults(). */
void conf_free(struct conf *c);
/* Resolves the path: -c FILE, else $FERRY_CONF, else the default. */
const char *conf_path(const char *opt);
/* "host:port" / "[v6]:port" / ":port" parser; 0 or -1. */
int conf_listen_parse(const char *s, struct conf_listen *l);

/* Derived paths inside state_dir, written into dst: 0 or -1 (too long). */
int conf_state_path(const struct conf *c, char *dst, size_t size,
    const char *rel);

#endif
