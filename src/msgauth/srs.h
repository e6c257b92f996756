/* SRS, the Sender Rewriting Scheme: the envelope sender of mail that
 * Ferry forwards to a remote address is rewritten into an address of a
 * local domain, so SPF at the next hop checks Ferry's domain, not the
 * original sender's; bounces to that address are checked and sent back
 * to the original sender.
 *
 *   SRS0=HHHH=TT=orig.example=user@forwarder.example
 *   SRS1=HHHH=first.example==HHHH=TT=orig.example=user@forwarder.example
 *
 * HHHH: the first SRS_HASH_LEN characters of the base64 HMAC-SHA1, keyed
 * with the first secret, of the lower-cased rest; checked against every
 * secret and case-blind (the address may be lower-cased on its way).  TT:
 * the day number modulo 1024 in base32.  An address that is SRS0 already
 * (another forwarder's) becomes SRS1 pointing at that forwarder; an SRS1
 * keeps its first forwarder and gets our hash.  The local part must fit
 * in SMTP's 64 octets, else there is no rewrite.  No I/O except
 * srs_keys_load. */
#ifndef FERRY_SRS_H
#define FERRY_SRS_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SRS_HASH_LEN 4
#define SRS_SECRETS_MAX 16
#define SRS_SECRET_MAX 256	/* octets of one secret */
#define SRS_SECRET_MIN 16
#define SRS_LOCAL_MAX 64	/* RFC 5321 4.5.3.1.1 */
#define SRS_ADDR_MAX 256

struct srs_keys;

/* Keys from secrets (the first signs, all verify); NULL when n is 0 or
 * one is shorter than SRS_SECRET_MIN or longer than SRS_SECRET_MAX. */
struct srs_keys *srs_keys_new(const char *const *secrets, size_t n);
/* Reads the secret file (one secret per line, newest first; empty lines
 * and '#' lines ignored).  With create, a missing file is made with a
 * new random secret (mode 0600, made whole before it appears, so
 * processes racing to create it end up with the same one).  The keys,
 * or NULL with a static reason.  Blocks: start and reload only. */
struct srs_keys *srs_keys_load(const char *path, bool create,
    const char **error_r);
void srs_keys_free(struct srs_keys **kp);

/* True when the local part of addr starts "SRS0" or "SRS1" and a
 * separator ('=', '+', '-'), any case. */
bool srs_is_srs(const char *addr);

/* The rewritten form of sender (local@domain) for mail forwarded by
 * srs_domain, into dst.  0, or -1 with a static reason (no '@', the
 * local part would be over SRS_LOCAL_MAX, ...). */
int srs_forward(const struct srs_keys *k, const char *sender,
    const char *srs_domain, time_t now, char *dst, size_t size,
    const char **error_r);

/* The address an SRS address (srs_is_srs) stands for, into dst: for
 * SRS0 the original sender, for SRS1 the first forwarder's SRS0
 * address.  0, or -1 with a static reason ("malformed SRS address",
 * "bad SRS hash", "expired SRS address") when the hash matches no
 * secret or the timestamp is older than max_days (or in the future). */
int srs_reverse(const struct srs_keys *k, const char *addr, time_t now,
    unsigned max_days, char *dst, size_t size, const char **error_r);

/* srs_conf.c: the keys of a configuration (srs_secret_file, else
 * STATE_DIR/srs.secret, created when missing), NULL when srs is off or
 * the file cannot be read or made (logged).  Blocks: start and reload. */
struct conf;
struct srs_keys *srs_keys_for_conf(const struct conf *c);

#endif
