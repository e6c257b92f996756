/* The verified-credentials cache (auth_cache_ttl): after a password
 * verifies, its HMAC (a random per-process key over user, stored hash
 * and password) is kept for a while, so the same user logging in again
 * with the same password is checked without another yescrypt run.  Only
 * successes are cached, and nothing else is: a wrong password, an unknown
 * user, or a password changed since (the stored hash is part of the MAC)
 * always takes the full verification.  Entries expire auth_cache_ttl
 * after the verification that made them; hits do not extend them.
 * Per process, thread-safe (worker threads verify). */
#ifndef FERRY_AUTHCACHE_H
#define FERRY_AUTHCACHE_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* ttl in seconds; 0 turns the cache off and forgets every entry.  Called
 * at start and on reload. */
void authcache_configure(uint64_t ttl);
/* True when user verified with this password against this stored hash
 * less than ttl ago. */
bool authcache_check(const char *user, const char *hash, const char *password,
    time_t now);
/* Records a successful verification. */
void authcache_store(const char *user, const char *hash, const char *password,
    time_t now);

#endif
