/* DKIM signing keys on disk and the signer that uses them.
 *
 * Keys live in dkim_key_dir (default STATE_DIR/dkim) as
 * DOMAIN/SELECTOR.pem: a PEM private key (RSA or Ed25519), mode 0600,
 * owned by the server's user.  The keyring is read whole when the smtpd
 * role starts and on reload; for each domain it picks, per algorithm, the
 * newest key file (by modification time), so a domain signs with at most
 * one rsa-sha256 and one ed25519-sha256 key.  Rotation is a new selector
 * (docs/dkim.md).
 *
 * The signer takes a message's content as it streams: it keeps the header
 * section (bounded by DKIM_SIGNER_HEADER_MAX) and hashes the body
 * (relaxed) without keeping it; at the end it writes the DKIM-Signature
 * fields.  Blocking work: dkim_keyring_load (reads files), and
 * dkim_signer_finish (RSA signing costs about a millisecond): both belong
 * off the event loop or at start-up. */
#ifndef FERRY_DKIM_KEYS_H
#define FERRY_DKIM_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/fbuf.h"
#include "msgauth/dkim.h"

struct conf;
struct dkim_keyring;
struct dkim_ringkey;
struct dkim_signer;

#define DKIM_SIGNER_HEADER_MAX (256 * 1024)
#define DKIM_SELECTOR_MAX 63

/* One key of the ring (or of a listing). */
struct dkim_keyinfo {
	char domain[254];
	char selector[DKIM_SELECTOR_MAX + 1];
	enum dkim_algo algo;
	unsigned bits;			/* RSA modulus size; 256 for ed25519 */
	time_t mtime;
	bool active;			/* newest of its algorithm: signs */
	char path[4096];
};

/* The key directory of a configuration into dst: 0 or -1 (too long). */
int dkim_key_dir(const struct conf *conf, char *dst, size_t size);

/* Reads every key under dir.  A missing dir is an empty ring; a key file
 * that does not load is logged and skipped.  Never NULL. */
struct dkim_keyring *dkim_keyring_load(const char *dir);
/* Drops a reference (the loader's, or dkim_keyring_ref's); the last one
 * frees the ring.  References may be dropped on any thread. */
void dkim_keyring_free(struct dkim_keyring **rp);
/* Another reference to r (returned). */
struct dkim_keyring *dkim_keyring_ref(struct dkim_keyring *r);
/* True when the ring holds at least one key. */
bool dkim_keyring_any(const struct dkim_keyring *r);
/* True when domain (any case) has a key. */
bool dkim_keyring_has(const struct dkim_keyring *r, const char *domain);

/* Every key file under dir (loaded or not), sorted by domain, then
 * selector; *list_r is allocated (free()).  0, or -1 with errno when dir
 * cannot be read (ENOENT: none yet). */
int dkim_key_list(const char *dir, struct dkim_keyinfo **list_r,
    size_t *n_r);

/* The DNS TXT record for the public half of key: "v=DKIM1; k=...;
 * p=..." appended to out.  0 or -1. */
int dkim_key_record(struct evp_pkey_st *key, struct fbuf *out);
/* Reads a private key file: the key or NULL with a static reason. */
struct evp_pkey_st *dkim_key_read(const char *path, const char **error_r);
/* Creates DIR/DOMAIN/SELECTOR.pem with a new key (rsa: bits, 1024 to
 * 8192; ed25519: bits ignored), mode 0600, the file and directory
 * fsynced; refuses to overwrite.  On success the key is returned in
 * *key_r (EVP_PKEY_free it).  0, or -1 with a static reason. */
int dkim_key_generate(const char *dir, const char *domain,
    const char *selector, enum dkim_algo algo, unsigned bits,
    struct evp_pkey_st **key_r, const char **error_r);
/* True when s is a usable selector (labels of letters, digits, '-', at
 * most DKIM_SELECTOR_MAX) or domain (a DNS name) respectively. */
bool dkim_selector_valid(const char *s);

/* ---------------------------------------------------------- signing */

/* A signer for one message, holding references to the ring's keys (the
 * ring may be freed meanwhile).  NULL when the ring is empty. */
struct dkim_signer *dkim_signer_new(const struct dkim_keyring *r);
/* Content in order, any split.  Cheap once the header showed that the
 * From domain has no key. */
void dkim_signer_feed(struct dkim_signer *s, const void *data, size_t n);
/* Ends the content and appends a DKIM-Signature field (folded, CRLF-
 * ended) per key of the From domain to out.  The number of signatures
 * made (0: no single From domain with a key, header too big, ...). */
int dkim_signer_finish(struct dkim_signer *s, time_t now, struct fbuf *out);
/* The From domain the signer signs for, "" when none (after the header
 * section was fed). */
const char *dkim_signer_domain(const struct dkim_signer *s);
void dkim_signer_free(struct dkim_signer **sp);

/* The fields signed, and over-signed (listed once more than present, so
 * no instance can be added later) for the ones marked in the table. */
struct dkim_sign_key {
	struct evp_pkey_st *key;
	const char *domain, *selector;
};
/* Makes one DKIM-Signature field (relaxed/relaxed) over the header fields
 * f and the body hash bh with key, appended to out.  0 or -1. */
int dkim_sign_fields(const struct dkim_sign_key *k, time_t now,
    const struct dkim_hfield *f, size_t nf, const unsigned char bh[32],
    struct fbuf *out);
/* The same with another start than "DKIM-Signature: v=1" (the field name
 * and the first tag: ARC's "ARC-Message-Signature: i=N"). */
int dkim_sign_fields_as(const struct dkim_sign_key *k, const char *head,
    time_t now, const struct dkim_hfield *f, size_t nf,
    const unsigned char bh[32], struct fbuf *out);
/* The RSA signing key of domain in r (ARC seals with rsa-sha256 only,
 * RFC 8617 4.1.3), NULL when it has none; it lives as long as r. */
const struct dkim_ringkey *dkim_keyring_rsa(const struct dkim_keyring *r,
    const char *domain);

#endif
