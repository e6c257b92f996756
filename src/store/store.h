/* The account store: domains, users (password hashes, quotas) and
 * aliases in SQLite (WAL) at state_dir/ferry.db.  One small interface so
 * a PostgreSQL backend can serve several nodes later.  Every change is
 * visible at once to running servers (they query per lookup).
 * Addresses are stored lower-cased (domain always, local part unless the
 * configuration makes local parts case-sensitive; the caller passes the
 * already-normalised address).  All functions may block briefly on the
 * database; SQLITE_BUSY is retried for up to 5 s. */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H
#include <stdbool.h>
#include <stdint.h>

struct store;

struct store_user {
	char address[320];
	char password_hash[256];
	uint64_t quota;		/* bytes, 0 = unlimited */
};

/* Opens (creating and migrating the schema) path.  0 or -1. */
int store_open(struct store **sp, const char *path, const char **error_r);
void store_close(struct store **sp);

/* Domains.  add: -1 "domain exists" when present.  del: -1 "no such
 * domain"; deleting a domain deletes its users and aliases too. */
int store_domain_add(struct store *s, const char *domain, const char **error_r);
int store_domain_del(struct store *s, const char *domain, const char **error_r);
/* 1 local, 0 not, -1 error. */
int store_domain_exists(struct store *s, const char *domain);
/* Calls cb for each domain in order; 0 or -1. */
int store_domain_list(struct store *s,
    void (*cb)(const char *domain, void *ctx), void *ctx,
    const char **error_r);

/* Users: address "local@domain" whose domain must exist. */
int store_user_add(struct store *s, const char *address, const char *hash,
    uint64_t quota, const char **error_r);
int store_user_del(struct store *s, const char *address, const char **error_r);
int store_user_set_password(struct store *s, const char *address,
    const char *hash, const char **error_r);
int store_user_set_quota(struct store *s, const char *address,
    uint64_t quota, const char **error_r);
/* 1 found (u filled), 0 no such user, -1 error. */
int store_user_get(struct store *s, const char *address, struct store_user *u);
int store_user_list(struct store *s, const char *domain_or_null,
    void (*cb)(const struct store_user *u, void *ctx), void *ctx,
    const char **error_r);

/* Aliases: address is "local@domain" or "@domain" (catch-all); targets
 * a comma-separated list of addresses.  add replaces an existing alias. */
int store_alias_add(struct store *s, const char *address, const char *targets,
    const char **error_r);
int store_alias_del(struct store *s, const char *address, const char **error_r);
/* 1 found (*targets_r malloc'd, caller frees), 0 none, -1 error. */
int store_alias_get(struct store *s, const char *address, char **targets_r);
int store_alias_list(struct store *s, const char *domain_or_null,
    void (*cb)(const char *address, const char *targets, void *ctx), void *ctx,
    const char **error_r);

#endif
