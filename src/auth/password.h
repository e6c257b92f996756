/* Password hashing with libcrypt: yescrypt for new hashes; verification
 * accepts every scheme crypt(3) knows.  Verification takes the same time
 * whether or not the user exists (password_verify_dummy). */
#ifndef FERRY_PASSWORD_H
#define FERRY_PASSWORD_H
#include <stdbool.h>
#include <stddef.h>

/* New yescrypt hash of pw into dst ("$y$..."); 0 or -1. */
int password_hash(const char *pw, char *dst, size_t size);
/* Constant-time compare of crypt(pw, hash) with hash. */
bool password_verify(const char *pw, const char *hash);
/* Whether crypt(3) here can verify hash (a scheme libcrypt knows, well
 * formed): MD5-crypt "$1$", SHA-crypt "$5$"/"$6$", bcrypt, yescrypt,
 * traditional DES... as taken over from another system. */
bool password_usable(const char *hash);
/* Burns the same work as a real verification, always false. */
bool password_verify_dummy(const char *pw);

#endif
