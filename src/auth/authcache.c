/* Verified-credentials cache (authcache.h).  A direct-mapped table: the
 * user name picks one slot, a newer entry for another user in that slot
 * replaces the older one (a miss costs one full verification, never a
 * wrong answer).  The slot keeps the user name, the MAC and the expiry;
 * never the password or anything a password can be read back from
 * without guessing it, and the MAC key lives only in this process's
 * memory.  Comparisons are constant-time. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/authcache.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define AUTHCACHE_SLOTS 4096
#define AUTHCACHE_MAC 32
#define AUTHCACHE_INPUT 2048	/* user, hash and password together */

struct authcache_slot {
	char user[320];
	unsigned char mac[AUTHCACHE_MAC];
	time_t expires;
};

/* The one cache of this process (configured from the role's conf). */
static struct {
	pthread_mutex_t lock;
	uint64_t ttl;
	bool keyed;
	unsigned char key[32];
	struct authcache_slot *slots;
} authcache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* MAC over "user NUL hash NUL password": 0, or -1 when too long to cache
 * (or no key yet). */
static int
authcache_mac(const char *user, const char *hash, const char *password,
    const unsigned char *key, unsigned char mac[AUTHCACHE_MAC])
{
	unsigned char in[AUTHCACHE_INPUT];
	size_t ul = strlen(user), hl = strlen(hash), pl = strlen(password);
	unsigned int len = 0;
	int r = -1;

	if (ul + hl + pl + 2 > sizeof(in))
		return -1;
	memcpy(in, user, ul + 1);
	memcpy(in + ul + 1, hash, hl + 1);
	memcpy(in + ul + hl + 2, password, pl);
	if (HMAC(EVP_sha256(), key, 32, in, ul + hl + pl + 2, mac,
	    &len) != NULL && len == AUTHCACHE_MAC)
		r = 0;
	OPENSSL_cleanse(in, sizeof(in));
	return r;
}

static size_t
authcache_slot_of(const char *user)
{
	return str_hash(user) % AUTHCACHE_SLOTS;
}

void
authcache_configure(uint64_t ttl)
{
	pthread_mutex_lock(&authcache.lock);
	authcache.ttl = ttl;
	if (ttl == 0 && authcache.slots != NULL) {
		OPENSSL_cleanse(authcache.slots,
		    AUTHCACHE_SLOTS * sizeof(*authcache.slots));
		free(authcache.slots);
		authcache.slots = NULL;
	}
	if (ttl > 0 && authcache.slots == NULL)
		authcache.slots = xcalloc(AUTHCACHE_SLOTS,
		    sizeof(*authcache.slots));
	if (ttl > 0 && !authcache.keyed)
		authcache.keyed = RAND_bytes(authcache.key,
		    sizeof(authcache.key)) == 1;
	pthread_mutex_unlock(&authcache.lock);
}

/* The key, when the cache is on: copied out so the MAC is computed
 * outside the lock. */
static bool
authcache_key(unsigned char key[32])
{
	bool on;

	pthread_mutex_lock(&authcache.lock);
	on = authcache.ttl > 0 && authcache.slots != NULL && authcache.keyed;
	if (on)
		memcpy(key, authcache.key, 32);
	pthread_mutex_unlock(&authcache.lock);
	return on;
}

/* Looks up (store false) or records (store true) user's entry: the MAC
 * is computed outside the lock with a copy of the key.  True on a hit. */
static bool
authcache_op(const char *user, const char *hash, const char *password,
    time_t now, bool store)
{
	unsigned char key[32], mac[AUTHCACHE_MAC];
	struct authcache_slot *s;
	bool hit = false;

	if (strlen(user) >= sizeof(s->user) || !authcache_key(key))
		return false;
	if (authcache_mac(user, hash, password, key, mac) == 0) {
		pthread_mutex_lock(&authcache.lock);
		s = authcache.slots == NULL ? NULL :
		    &authcache.slots[authcache_slot_of(user)];
		if (s != NULL && store) {
			str_lcpy(s->user, user, sizeof(s->user));
			memcpy(s->mac, mac, sizeof(mac));
			s->expires = now + (time_t)authcache.ttl;
		} else if (s != NULL)
			hit = s->expires > now && strcmp(s->user, user) == 0 &&
			    CRYPTO_memcmp(s->mac, mac, sizeof(mac)) == 0;
		pthread_mutex_unlock(&authcache.lock);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	return hit;
}

bool
authcache_check(const char *user, const char *hash, const char *password,
    time_t now)
{
	return authcache_op(user, hash, password, now, false);
}

void
authcache_store(const char *user, const char *hash, const char *password,
    time_t now)
{
	(void)authcache_op(user, hash, password, now, true);
}
