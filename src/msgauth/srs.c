/* SRS (the Sender Rewriting Scheme of Shevek's paper and libsrs2, the
 * "Guarded" variant): the SRS0/SRS1 codec and the secret file.  What it
 * does not do: decide when to rewrite (the queue role does, for
 * forwarded recipients) or accept a bounce (smtpd does); see srs.h and
 * docs/srs.md.  The hash is over the lower-cased fields because MTAs on
 * the way may change the case of a local part; for the same reason it
 * is compared case-blind, which costs about one bit per character. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/srs.h"

struct srs_keys {
	char secret[SRS_SECRETS_MAX][SRS_SECRET_MAX + 1];
	size_t n;
};

static const char srs_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char srs_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct srs_keys *
srs_keys_new(const char *const *secrets, size_t n)
{
	struct srs_keys *k;

	if (n == 0)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	for (size_t i = 0; i < n && i < SRS_SECRETS_MAX; i++) {
		size_t len = strlen(secrets[i]);

		if (len < SRS_SECRET_MIN || len > SRS_SECRET_MAX) {
			srs_keys_free(&k);
			return NULL;
		}
		memcpy(k->secret[k->n++], secrets[i], len + 1);
	}
	return k;
}

void
srs_keys_free(struct srs_keys **kp)
{
	if (*kp != NULL)
		explicit_bzero(*kp, sizeof(**kp));
	free(*kp);
	*kp = NULL;
}

/* A new secret file, whole before it appears under path: written to a
 * unique temporary name, synced, then hard-linked (link fails with
 * EEXIST when another process got there first, which is fine). */
static int
srs_keys_create(const char *path)
{
	unsigned char rnd[24];
	char tmp[4096], line[64];
	int fd, rc = -1;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(line + 2 * i, 3, "%02x", rnd[i]);
	line[2 * sizeof(rnd)] = '\n';
	if (fsio_pathf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
	    (long)getpid()) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fsio_write_all(fd, line, 2 * sizeof(rnd) + 1) == 0 &&
	    fsync(fd) == 0 && (link(tmp, path) == 0 || errno == EEXIST))
		rc = 0;
	close(fd);
	unlink(tmp);
	explicit_bzero(line, sizeof(line));
	if (rc == 0)
		(void)fsio_fsync_parent(path);
	return rc;
}

static struct srs_keys *
srs_keys_parse(char *text, const char **error_r)
{
	const char *v[SRS_SECRETS_MAX];
	size_t n = 0;
	char *save = NULL, *line;
	struct srs_keys *k;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (n == SRS_SECRETS_MAX) {
			*error_r = "too many secrets (16 at most)";
			return NULL;
		}
		v[n++] = line;
	}
	if (n == 0) {
		*error_r = "no secret in the file";
		return NULL;
	}
	if ((k = srs_keys_new(v, n)) == NULL)
		*error_r = "a secret is shorter than 16 or longer than 256 "
		    "characters";
	return k;
}

struct srs_keys *
srs_keys_load(const char *path, bool create, const char **error_r)
{
	struct fbuf b;
	struct srs_keys *k = NULL;
	int rc;

	fbuf_init(&b, 64 * 1024);
	rc = fsio_read_file(path, &b, 64 * 1024);
	if (rc < 0 && errno == ENOENT && create) {
		if (srs_keys_create(path) < 0) {
			*error_r = "cannot create the secret file";
			fbuf_release(&b);
			return NULL;
		}
		fbuf_reset(&b);
		rc = fsio_read_file(path, &b, 64 * 1024);
	}
	if (rc < 0) {
		*error_r = errno == ENOENT ? "no secret file" :
		    "cannot read the secret file";
		fbuf_release(&b);
		return NULL;
	}
	if (b.data == NULL)
		fbuf_add(&b, "", 0);
	k = srs_keys_parse(b.data, error_r);
	explicit_bzero(b.data, b.len);
	fbuf_release(&b);
	return k;
}

/* HASH_LEN base64 characters of HMAC-SHA1(secret, lower(a "=" b "=" c)). */
static void
srs_hash(const char *secret, const char *a, const char *b, const char *c,
    char out[SRS_HASH_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct fbuf d;

	fbuf_init(&d, 0);
	fbuf_addf(&d, "%s=%s", a, b);
	if (c != NULL)
		fbuf_addf(&d, "=%s", c);
	str_lower(d.data);
	HMAC(EVP_sha1(), secret, (int)strlen(secret),
	    (const unsigned char *)d.data, d.len, md, &mdlen);
	fbuf_release(&d);
	/* 4 characters: 24 bits, the first 3 octets. */
	out[0] = srs_b64[md[0] >> 2];
	out[1] = srs_b64[((md[0] & 3) << 4) | (md[1] >> 4)];
	out[2] = srs_b64[((md[1] & 15) << 2) | (md[2] >> 6)];
	out[3] = srs_b64[md[2] & 63];
	out[SRS_HASH_LEN] = '\0';
}

/* Case-blind and without an early exit. */
static bool
srs_hash_ok(const struct srs_keys *k, const char *given, size_t len,
    const char *a, const char *b, const char *c)
{
	char h[SRS_HASH_LEN + 1];
	bool ok = false;

	if (len != SRS_HASH_LEN)
		return false;
	for (size_t i = 0; i < k->n; i++) {
		unsigned diff = 0;

		srs_hash(k->secret[i], a, b, c, h);
		for (size_t j = 0; j < SRS_HASH_LEN; j++)
			diff |= (unsigned)(tolower((unsigned char)h[j]) ^
			    tolower((unsigned char)given[j]));
		ok |= diff == 0;
	}
	return ok;
}

static unsigned
srs_today(time_t now)
{
	return (unsigned)((now / 86400) % 1024);
}

static int
srs_b32_val(char ch)
{
	const char *p = strchr(srs_b32, toupper((unsigned char)ch));

	return ch != '\0' && p != NULL ? (int)(p - srs_b32) : -1;
}

bool
srs_is_srs(const char *addr)
{
	return strncasecmp(addr, "SRS", 3) == 0 &&
	    (addr[3] == '0' || addr[3] == '1') && addr[4] != '\0' &&
	    strchr("=+-", addr[4]) != NULL;
}

/* Splits "local@domain" at the last '@' into local and domain. */
static int
srs_split(const char *addr, char *local, size_t lsize, char *domain,
    size_t dsize)
{
	const char *at = strrchr(addr, '@');
	size_t llen;

	if (at == NULL || at == addr || at[1] == '\0')
		return -1;
	llen = (size_t)(at - addr);
	if (llen >= lsize || str_lcpy(domain, at + 1, dsize) >= dsize ||
	    strchr(domain, '=') != NULL)
		return -1;
	memcpy(local, addr, llen);
	local[llen] = '\0';
	return 0;
}

/* An SRS1 local part: its hash, the first forwarder's host and the
 * opaque rest (from the separator that followed "SRS0"). */
struct srs_one {
	const char *hash;
	size_t hash_len;
	char host[SRS_ADDR_MAX];
	const char *opaque;
};

static int
srs_parse_one(const char *local, struct srs_one *o)
{
	const char *p = local + 5, *e;

	if ((e = strchr(p, '=')) == NULL)
		return -1;
	o->hash = p;
	o->hash_len = (size_t)(e - p);
	p = e + 1;
	if ((e = strchr(p, '=')) == NULL || e == p ||
	    (size_t)(e - p) >= sizeof(o->host))
		return -1;
	memcpy(o->host, p, (size_t)(e - p));
	o->host[e - p] = '\0';
	o->opaque = e + 1;
	if (*o->opaque == '\0' || strchr("=+-", *o->opaque) == NULL)
		return -1;
	return 0;
}

static int
srs_done(struct fbuf *l, const char *srs_domain, char *dst, size_t size,
    const char **error_r)
{
	int rc = -1;

	if (l->len > SRS_LOCAL_MAX)
		*error_r = "the SRS local part would be over 64 octets";
	else if (fbuf_addf(l, "@%s", srs_domain) < 0 ||
	    l->len >= SRS_ADDR_MAX || l->len >= size)
		*error_r = "the SRS address would be too long";
	else {
		memcpy(dst, l->data, l->len + 1);
		rc = 0;
	}
	fbuf_release(l);
	return rc;
}

int
srs_forward(const struct srs_keys *k, const char *sender,
    const char *srs_domain, time_t now, char *dst, size_t size,
    const char **error_r)
{
	char local[SRS_ADDR_MAX], domain[SRS_ADDR_MAX], h[SRS_HASH_LEN + 1];
	char tt[3];
	unsigned d = srs_today(now);
	struct srs_one one;
	struct fbuf l;

	if (k == NULL || srs_domain[0] == '\0') {
		*error_r = "no SRS secret";
		return -1;
	}
	if (srs_split(sender, local, sizeof(local), domain,
	    sizeof(domain)) < 0) {
		*error_r = "not an address with a domain";
		return -1;
	}
	fbuf_init(&l, 0);
	if (srs_is_srs(local) && local[3] == '1' &&
	    srs_parse_one(local, &one) == 0) {
		/* Bounces skip us: straight to the first forwarder. */
		srs_hash(k->secret[0], one.host, one.opaque, NULL, h);
		fbuf_addf(&l, "SRS1=%s=%s=%s", h, one.host, one.opaque);
	} else if (srs_is_srs(local) && local[3] == '0') {
		srs_hash(k->secret[0], domain, local + 4, NULL, h);
		fbuf_addf(&l, "SRS1=%s=%s=%s", h, domain, local + 4);
	} else {
		tt[0] = srs_b32[d >> 5];
		tt[1] = srs_b32[d & 31];
		tt[2] = '\0';
		srs_hash(k->secret[0], tt, domain, local, h);
		fbuf_addf(&l, "SRS0=%s=%s=%s=%s", h, tt, domain, local);
	}
	return srs_done(&l, srs_domain, dst, size, error_r);
}

/* SRS0=HHHH=TT=domain=local: checked, into dst as local@domain. */
static int
srs_reverse_zero(const struct srs_keys *k, const char *local, time_t now,
    unsigned max_days, char *dst, size_t size, const char **error_r)
{
	const char *hash = local + 5, *p, *e;
	char tt[3], domain[SRS_ADDR_MAX];
	int hi, lo;
	unsigned age;

	if ((p = strchr(hash, '=')) == NULL || p[1] == '\0' || p[2] == '\0' ||
	    p[3] != '=')
		goto malformed;
	tt[0] = p[1];
	tt[1] = p[2];
	tt[2] = '\0';
	p += 4;
	if ((e = strchr(p, '=')) == NULL || e == p || e[1] == '\0' ||
	    (size_t)(e - p) >= sizeof(domain))
		goto malformed;
	memcpy(domain, p, (size_t)(e - p));
	domain[e - p] = '\0';
	if ((hi = srs_b32_val(tt[0])) < 0 || (lo = srs_b32_val(tt[1])) < 0)
		goto malformed;
	if (!srs_hash_ok(k, hash, (size_t)(strchr(hash, '=') - hash), tt,
	    domain, e + 1)) {
		*error_r = "bad SRS hash";
		return -1;
	}
	age = (srs_today(now) + 1024 - (unsigned)(hi * 32 + lo)) % 1024;
	if (age > max_days) {
		*error_r = "expired SRS address";
		return -1;
	}
	if ((size_t)snprintf(dst, size, "%s@%s", e + 1, domain) >= size) {
		*error_r = "SRS address too long";
		return -1;
	}
	return 0;
malformed:
	*error_r = "malformed SRS address";
	return -1;
}

int
srs_reverse(const struct srs_keys *k, const char *addr, time_t now,
    unsigned max_days, char *dst, size_t size, const char **error_r)
{
	char local[SRS_ADDR_MAX], domain[SRS_ADDR_MAX];
	struct srs_one one;

	if (srs_split(addr, local, sizeof(local), domain,
	    sizeof(domain)) < 0 || !srs_is_srs(local)) {
		*error_r = "malformed SRS address";
		return -1;
	}
	if (k == NULL) {
		*error_r = "bad SRS hash";
		return -1;
	}
	if (local[3] == '0')
		return srs_reverse_zero(k, local, now, max_days, dst, size,
		    error_r);
	if (srs_parse_one(local, &one) < 0) {
		*error_r = "malformed SRS address";
		return -1;
	}
	if (!srs_hash_ok(k, one.hash, one.hash_len, one.host, one.opaque,
	    NULL)) {
		*error_r = "bad SRS hash";
		return -1;
	}
	if ((size_t)snprintf(dst, size, "SRS0%s@%s", one.opaque,
	    one.host) >= size) {
		*error_r = "SRS address too long";
		return -1;
	}
	return 0;
}
