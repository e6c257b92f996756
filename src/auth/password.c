/* Password hashes through libcrypt: new hashes are yescrypt ("$y$") at
 * libcrypt's default cost, verification accepts whatever crypt(3) knows
 * and compares in constant time.  Unknown users are checked against a
 * fixed yescrypt hash of the same cost, so a login for a missing user
 * takes as long as one for a real user.  The reentrant crypt_rn() keeps
 * this safe on worker threads; its 32 KiB work area lives on the heap. */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

/* yescrypt, default cost (j9T), of a throw-away password. */
#define PASSWORD_DUMMY_HASH \
	"$y$j9T$r/L.L47Tt0x.8VtBgOdNv1$s8MJKkOI6SuWiS7HRBpdTpq/ALqal2muzu8Ln0CEP69"

/* crypt_rn of pw with setting: a fresh malloc'd crypt_data that the
 * caller wipes and frees, and *out_r NULL on failure. */
static struct crypt_data *
password_crypt(const char *pw, const char *setting, const char **out_r)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out;

	out = crypt_rn(pw, setting, cd, sizeof(*cd));
	/* Failure is NULL, or a string starting with '*' on some builds. */
	*out_r = out != NULL && out[0] != '*' ? out : NULL;
	return cd;
}

static void
password_crypt_free(struct crypt_data *cd)
{
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
}

int
password_hash(const char *pw, char *dst, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *out;
	int ret = -1;

	if (pw == NULL)
		return -1;
	/* NULL random bytes: libcrypt reads them from the kernel. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	cd = password_crypt(pw, salt, &out);
	if (out != NULL && str_lcpy(dst, out, size) < size)
		ret = 0;
	password_crypt_free(cd);
	return ret;
}

/* Compares a with b (b's length is public) without an early exit. */
static bool
password_equal(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	unsigned char diff = alen == blen ? 0 : 1;

	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(i < alen ? a[i] : 0) ^
		    (unsigned char)b[i];
	return diff == 0;
}

bool
password_verify(const char *pw, const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	bool ok;

	if (pw == NULL || hash == NULL || hash[0] == '\0')
		return password_verify_dummy(pw != NULL ? pw : "");
	cd = password_crypt(pw, hash, &out);
	if (out == NULL) {
		/* A locked ("!") or unknown hash: spend the usual time. */
		password_crypt_free(cd);
		return password_verify_dummy(pw);
	}
	ok = password_equal(out, hash);
	password_crypt_free(cd);
	return ok;
}

bool
password_usable(const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	bool ok;

	if (hash == NULL || hash[0] == '\0')
		return false;
	/* A hash crypt(3) cannot use gives NULL or "*..."; one it can gives
	 * a hash of the same length for any password. */
	cd = password_crypt("", hash, &out);
	ok = out != NULL && strlen(out) == strlen(hash);
	password_crypt_free(cd);
	return ok;
}

bool
password_verify_dummy(const char *pw)
{
	struct crypt_data *cd;
	const char *out;
	bool ok;

	cd = password_crypt(pw != NULL ? pw : "", PASSWORD_DUMMY_HASH, &out);
	/* Compare anyway so the work matches password_verify(). */
	ok = out != NULL && password_equal(out, PASSWORD_DUMMY_HASH);
	password_crypt_free(cd);
	(void)ok;
	return false;
}
