/* DKIM signing keys on disk: DIR/DOMAIN/SELECTOR.pem.  Reading the
 * directory into a keyring (per domain the newest key of each algorithm),
 * listing it for `ferry dkim list`, generating keys for `ferry dkim
 * keygen` (0600, fsynced, never overwriting) and writing the public
 * half as the DNS record of RFC 6376 3.6.1 (RFC 8463 4 for ed25519).
 * Everything here blocks on the file system: start-up, reload and the
 * command line only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf/conf.h"
#include "lib/fsio.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_private.h"
#include "net/dns.h"

int
dkim_key_dir(const struct conf *conf, char *dst, size_t size)
{
	if (conf->dkim_key_dir[0] != '\0')
		return str_lcpy(dst, conf->dkim_key_dir, size) < size ? 0 : -1;
	return conf_state_path(conf, dst, size, "dkim");
}

bool
dkim_selector_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DKIM_SELECTOR_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

EVP_PKEY *
dkim_key_read(const char *path, const char **error_r)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL) {
		*error_r = "cannot open the key file";
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		*error_r = "not a PEM private key";
		return NULL;
	}
	if (dkim_pkey_algo(k) < 0) {
		EVP_PKEY_free(k);
		*error_r = "neither an RSA nor an Ed25519 key";
		return NULL;
	}
	return k;
}

/* "SELECTOR.pem" → selector; false for other names. */
static bool
dkim_key_file_selector(const char *name, char *sel, size_t size)
{
	size_t n = strlen(name);

	if (n <= 4 || strcmp(name + n - 4, ".pem") != 0 || n - 4 >= size)
		return false;
	memcpy(sel, name, n - 4);
	sel[n - 4] = '\0';
	return dkim_selector_valid(sel);
}

/* Appends the keys of one domain directory to *list. */
static void
dkim_key_list_domain(const char *dir, const char *domain,
    struct dkim_keyinfo **list, size_t *n)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, domain) >=
	    sizeof(path) || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct dkim_keyinfo ki;
		struct stat st;

		memset(&ki, 0, sizeof(ki));
		if (!dkim_key_file_selector(de->d_name, ki.selector,
		    sizeof(ki.selector)) ||
		    (size_t)snprintf(ki.path, sizeof(ki.path), "%s/%s", path,
		    de->d_name) >= sizeof(ki.path) || stat(ki.path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		str_lcpy(ki.domain, domain, sizeof(ki.domain));
		str_lower(ki.domain);
		ki.mtime = st.st_mtime;
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = ki;
	}
	closedir(d);
}

static int
dkim_keyinfo_cmp(const void *a, const void *b)
{
	const struct dkim_keyinfo *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : strcmp(x->selector, y->selector);
}

/* Fills algo and bits from the key, and marks the newest key of each
 * algorithm of each domain active.  Keys that do not load stay
 * inactive with bits 0. */
static void
dkim_key_list_judge(struct dkim_keyinfo *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *err;
		EVP_PKEY *k = dkim_key_read(l[i].path, &err);

		if (k == NULL)
			continue;
		l[i].algo = (enum dkim_algo)dkim_pkey_algo(k);
		l[i].bits = (unsigned)EVP_PKEY_get_bits(k);
		EVP_PKEY_free(k);
	}
	for (size_t i = 0; i < n; i++) {
		bool newest = l[i].bits > 0;

		for (size_t j = 0; j < n && newest; j++)
			if (j != i && l[j].bits > 0 && l[j].algo == l[i].algo &&
			    strcmp(l[j].domain, l[i].domain) == 0 &&
			    (l[j].mtime > l[i].mtime || (l[j].mtime ==
			    l[i].mtime && strcmp(l[j].selector,
			    l[i].selector) > 0)))
				newest = false;
		l[i].active = newest;
	}
}

int
dkim_key_list(const char *dir, struct dkim_keyinfo **list_r, size_t *n_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	*list_r = NULL;
	*n_r = 0;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && dns_name_valid(de->d_name))
			dkim_key_list_domain(dir, de->d_name, list_r, n_r);
	closedir(d);
	if (*n_r > 0)
		qsort(*list_r, *n_r, sizeof(**list_r), dkim_keyinfo_cmp);
	dkim_key_list_judge(*list_r, *n_r);
	return 0;
}

/* ---------------------------------------------------------- the ring */

struct dkim_keyring *
dkim_keyring_load(const char *dir)
{
	struct dkim_keyring *r = xcalloc(1, sizeof(*r));
	struct dkim_keyinfo *l;
	size_t n;

	r->refs = 1;
	if (dkim_key_list(dir, &l, &n) < 0) {
		if (errno != ENOENT)
			log_warn("- dkim key-dir-unreadable dir=%s", log_q(dir));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct dkim_ringkey *k;
		const char *err;

		if (!l[i].active)
			continue;
		r->keys = xreallocarray(r->keys, r->n + 1, sizeof(*r->keys));
		k = &r->keys[r->n];
		if ((k->key = dkim_key_read(l[i].path, &err)) == NULL) {
			log_warnx("- dkim key-unusable path=%s reason=%s",
			    log_q(l[i].path), log_q(err));
			continue;
		}
		str_lcpy(k->domain, l[i].domain, sizeof(k->domain));
		str_lcpy(k->selector, l[i].selector, sizeof(k->selector));
		r->n++;
		log_info("- dkim key-loaded domain=%s selector=%s algorithm=%s",
		    k->domain, k->selector, dkim_algo_str(l[i].algo));
	}
	for (size_t i = 0; i < n; i++)
		if (!l[i].active)
			log_info("- dkim key-unused domain=%s selector=%s "
			    "reason=%s", l[i].domain, l[i].selector,
			    l[i].bits == 0 ? "unreadable" : "older");
	free(l);
	return r;
}

void
dkim_keyring_free(struct dkim_keyring **rp)
{
	struct dkim_keyring *r = *rp;

	*rp = NULL;
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < r->n; i++)
		EVP_PKEY_free(r->keys[i].key);
	free(r->keys);
	free(r);
}

struct dkim_keyring *
dkim_keyring_ref(struct dkim_keyring *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

bool
dkim_keyring_any(const struct dkim_keyring *r)
{
	return r != NULL && r->n > 0;
}

bool
dkim_keyring_has(const struct dkim_keyring *r, const char *domain)
{
	for (size_t i = 0; r != NULL && i < r->n; i++)
		if (strcasecmp(r->keys[i].domain, domain) == 0)
			return true;
	return false;
}

const struct dkim_ringkey *
dkim_keyring_rsa(const struct dkim_keyring *r, const char *domain)
{
	for (size_t i = 0; r != NULL && i < r->n; i++)
		if (strcasecmp(r->keys[i].domain, domain) == 0 &&
		    dkim_pkey_algo(r->keys[i].key) == DKIM_A_RSA_SHA256)
			return &r->keys[i];
	return NULL;
}

/* ---------------------------------------------------------- records */

int
dkim_key_record(EVP_PKEY *key, struct fbuf *out)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	int algo = dkim_pkey_algo(key), n;

	if (algo == DKIM_A_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1)
			return -1;
		fbuf_adds(out, "v=DKIM1; k=ed25519; p=");
		dkim_base64_encode(raw, rawlen, out);
		return 0;
	}
	if (algo != DKIM_A_RSA_SHA256 || (n = i2d_PUBKEY(key, &der)) <= 0)
		return -1;
	fbuf_adds(out, "v=DKIM1; k=rsa; p=");
	dkim_base64_encode(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

static EVP_PKEY *
dkim_key_new(enum dkim_algo algo, unsigned bits)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc;

	pc = EVP_PKEY_CTX_new_id(algo == DKIM_A_ED25519_SHA256 ?
	    EVP_PKEY_ED25519 : EVP_PKEY_RSA, NULL);
	if (pc == NULL)
		return NULL;
	if (EVP_PKEY_keygen_init(pc) != 1 || (algo == DKIM_A_RSA_SHA256 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(pc, (int)bits) != 1) ||
	    EVP_PKEY_keygen(pc, &k) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(pc);
	return k;
}

/* Writes key to path (O_EXCL, 0600) and fsyncs it: 0 or -1. */
static int
dkim_key_write(const char *path, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;
	int ok;

	if (fd < 0)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		unlink(path);
	return ok ? 0 : -1;
}

int
dkim_key_generate(const char *dir, const char *domain, const char *selector,
    enum dkim_algo algo, unsigned bits, EVP_PKEY **key_r,
    const char **error_r)
{
	char ddir[4096], path[4096], lower[254];
	EVP_PKEY *k;

	str_lcpy(lower, domain, sizeof(lower));
	str_lower(lower);
	if (!dns_name_valid(lower) || !dkim_selector_valid(selector)) {
		*error_r = "invalid domain or selector";
		return -1;
	}
	if (algo == DKIM_A_RSA_SHA256 && (bits < DKIM_RSA_MIN_BITS ||
	    bits > DKIM_RSA_MAX_BITS)) {
		*error_r = "RSA keys must have 1024 to 8192 bits";
		return -1;
	}
	if ((size_t)snprintf(ddir, sizeof(ddir), "%s/%s", dir, lower) >=
	    sizeof(ddir) || (size_t)snprintf(path, sizeof(path), "%s/%s.pem",
	    ddir, selector) >= sizeof(path)) {
		*error_r = "key path too long";
		return -1;
	}
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(ddir, 0700) < 0 && errno != EEXIST)) {
		*error_r = "cannot create the key directory";
		return -1;
	}
	if (access(path, F_OK) == 0) {
		*error_r = "a key with this selector exists already";
		return -1;
	}
	if ((k = dkim_key_new(algo, bits)) == NULL) {
		*error_r = "key generation failed";
		return -1;
	}
	if (dkim_key_write(path, k) < 0 || fsio_fsync_dir(ddir) < 0) {
		EVP_PKEY_free(k);
		*error_r = "cannot write the key file";
		return -1;
	}
	*key_r = k;
	return 0;
}
