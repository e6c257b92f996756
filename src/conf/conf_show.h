/* The configuration in force as text, for the admin's settings page:
 * every known key in the order of the key table, with its effective
 * value in the snapshot (what the file set, or the default), written
 * the way the file would write it.  Secrets are never written: a key
 * whose name says it holds one (password, secret, token, conninfo,
 * credential) shows only whether it is set.  No I/O. */
#ifndef FERRY_CONF_SHOW_H
#define FERRY_CONF_SHOW_H
#include <stdbool.h>

#include "lib/fbuf.h"

struct conf;

/* How a key's value is kept in struct conf (conf.c knows which is
 * which); CONF_SHOW_OTHER values are found by the key's name. */
enum conf_show_kind {
	CONF_SHOW_OTHER = 0, CONF_SHOW_STRING, CONF_SHOW_UINT,
	CONF_SHOW_U64SIZE, CONF_SHOW_DURATION, CONF_SHOW_BOOL,
	CONF_SHOW_LISTEN, CONF_SHOW_CIDRS, CONF_SHOW_STRLIST,
	CONF_SHOW_SCORE
};

typedef void conf_show_cb(const char *name, const char *value, bool secret,
    void *ctx);

/* conf.c: calls fn(name, kind, field) for every known key, in order;
 * field points into c. */
typedef void conf_key_fn(const char *name, enum conf_show_kind kind,
    const void *field, void *ctx);
void conf_each_key(const struct conf *c, conf_key_fn *fn, void *ctx);

/* Calls cb for every key with its value as text ("" when empty); for a
 * secret, value is "(set)" or "" and secret is true. */
void conf_show(const struct conf *c, conf_show_cb *cb, void *ctx);
/* True when a key of this name holds a secret. */
bool conf_show_secret(const char *name);

#endif
