/* DKIM (RFC 6376, with RFC 8463 ed25519-sha256 and RFC 8301's rules on
 * algorithms and key sizes): the pieces without I/O that signing and
 * verifying share.
 *
 * - the tag-list parser (3.2) and, on top of it, the DKIM-Signature
 *   field (3.5) and the DNS key record (3.6.1);
 * - canonicalisation (3.4): header fields one at a time, and the body as
 *   a stream whose hash is computed as it arrives (never a copy of it);
 * - the header hash and the signature over it (3.7), with OpenSSL EVP:
 *   rsa-sha256 (PKCS#1 v1.5) and ed25519-sha256 (Ed25519 over the
 *   SHA-256 of the header data, RFC 8463 3).
 *
 * rsa-sha1 is not supported: RFC 8301 3.1 says verifiers must not treat
 * it as valid, so such a signature is a permerror like an unknown one.
 * Fetching keys (DNS) and choosing keys (the key directory) live in
 * dkim_verify.c and dkim_keys.c. */
#ifndef FERRY_DKIM_H
#define FERRY_DKIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fbuf.h"

struct evp_pkey_st;
struct evp_md_ctx_st;
struct mime_field;
struct mime_header_parser;

#define DKIM_TAGS_MAX 32	/* tags in one list; more: an error */
#define DKIM_HNAMES_MAX 64	/* names in h= */
#define DKIM_HNAME_MAX 76	/* one field name in h= (RFC 5322 2.1.1) */
#define DKIM_SIG_MAX 1024	/* b= octets: an 8192-bit RSA signature */
#define DKIM_KEY_MAX 2048	/* p= octets: an 8192-bit RSA public key */
#define DKIM_RSA_MIN_BITS 1024	/* RFC 8301 3.2: smaller keys fail */
#define DKIM_RSA_MAX_BITS 8192	/* beyond that: not worth the CPU */

enum dkim_algo {
	DKIM_A_RSA_SHA256 = 0,
	DKIM_A_ED25519_SHA256
};

enum dkim_canon {
	DKIM_C_SIMPLE = 0,
	DKIM_C_RELAXED
};

/* ------------------------------------------------------ tag lists */

/* One tag-spec; every pointer is into the parsed text. */
struct dkim_tag {
	const char *name;
	size_t name_len;
	const char *value;	/* tag-value: FWS inside kept, none around */
	size_t value_len;
	size_t eq_end;		/* offset just after the '=' */
	size_t spec_end;	/* offset of the ';' ending it, or the end */
};

struct dkim_taglist {
	struct dkim_tag tags[DKIM_TAGS_MAX];
	size_t n;
};

/* Parses a tag-list (RFC 6376 3.2): tag-specs separated by ';', an
 * optional trailing ';', FWS allowed around names, '=' and values.
 * 0, or -1 with a static reason in *error_r: bad syntax, a tag given
 * twice, more than DKIM_TAGS_MAX tags.  Names are case-sensitive. */
int dkim_taglist_parse(const char *s, size_t len, struct dkim_taglist *tl,
    const char **error_r);
/* The tag named name, or NULL. */
const struct dkim_tag *dkim_taglist_get(const struct dkim_taglist *tl,
    const char *name);

/* Decodes base64 with FWS anywhere (3.2 base64string) into dst; "=" only
 * at the end.  The length, or -1 (bad character, bad padding, too long
 * for size). */
int dkim_base64_decode(const char *s, size_t len, unsigned char *dst,
    size_t size);

/* ------------------------------------------------ DKIM-Signature */

struct dkim_sig {
	enum dkim_algo algo;
	enum dkim_canon hcanon, bcanon;
	char domain[254];		/* d=, lowercased */
	char selector[254];		/* s= */
	char auid[512];			/* i=, "@d" when absent */
	unsigned char bh[64];		/* bh= decoded */
	size_t bh_len;
	unsigned char b[DKIM_SIG_MAX];	/* b= decoded */
	size_t b_len;
	char hnames[DKIM_HNAMES_MAX][DKIM_HNAME_MAX + 1];
	size_t nh;
	bool has_l;
	uint64_t l;
	bool has_t, has_x;
	int64_t t, x;
	unsigned instance;		/* ARC-Message-Signature's i= */
	struct dkim_bspan {		/* b='s value in the parsed text */
		size_t at, end;
	} bspan;
};

/* Parses the value of a DKIM-Signature field (everything after the ':',
 * as written: folds allowed).  Checks what 3.5 and 6.1.1 require of the
 * signature alone: v=1, a= known (rsa-sha256, ed25519-sha256), b=, bh=,
 * d=, h= containing "from", s=, q= (when present) offering dns/txt, i=
 * in d= or a subdomain of it, x= not before t=.  0, or -1 with a static
 * reason (the result is then permerror). */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r);
/* The same for an ARC-Message-Signature (RFC 8617 4.1.2): no v=, i= is
 * the instance (1 to 1024 here; the chain limit is checked later), the
 * auid is "@d".  0, or -1 with a static reason. */
int dkim_sig_parse_ams(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r);
/* Appends raw (a whole DKIM-Signature field as written, without its
 * final CRLF) with the value of its b= tag, and the FWS around it,
 * removed, as the header hash needs it (3.5 "b=", 3.7).  0 or -1 when
 * raw has no tag-list. */
int dkim_sig_strip_b(const char *raw, size_t len, struct fbuf *out);
/* The same without parsing again: the field raw (the name, ':', then
 * the parsed tag list at value_off) and where its parse found b=. */
void dkim_sig_strip_b_at(const char *raw, size_t len, size_t value_off,
    const struct dkim_bspan *b, struct fbuf *out);

/* ------------------------------------------------ DNS key record */

struct dkim_key {
	enum dkim_algo algo;		/* k=: rsa (default) or ed25519 */
	bool revoked;			/* p= empty */
	bool testing;			/* t=y */
	bool strict;			/* t=s: i= domain must equal d= */
	unsigned char p[DKIM_KEY_MAX];	/* p= decoded */
	size_t p_len;
};

/* Parses a key record (3.6.1) from the TXT strings joined.  v= when
 * present must come first and be DKIM1; h= when present must list
 * sha256; k= rsa or ed25519; s= must offer "*" or "email"; unknown tags
 * are ignored.  0, or -1 with a static reason (permerror). */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key,
    const char **error_r);
/* The OpenSSL key of a parsed record (RSA: SubjectPublicKeyInfo, DER;
 * ed25519: the 32 raw octets, RFC 8463 4).  NULL with a static reason:
 * undecodable, a type other than k= says, RSA below DKIM_RSA_MIN_BITS or
 * above DKIM_RSA_MAX_BITS.  Free with EVP_PKEY_free. */
struct evp_pkey_st *dkim_key_pkey(const struct dkim_key *key,
    const char **error_r);

/* ------------------------------------------------ canonicalisation */

/* Appends the canonical form of one header field (raw: name, ':', value,
 * folds, with or without its final CRLF) followed by CRLF; with
 * last = true (the DKIM-Signature field itself) without that CRLF. */
void dkim_canon_header(enum dkim_canon c, const char *raw, size_t len,
    bool last, struct fbuf *out);

/* The body hash, fed the body as it streams (3.4.3, 3.4.4, 3.7). */
struct dkim_body {
	struct evp_md_ctx_st *md;
	enum dkim_canon canon;
	uint64_t limit;		/* l=, UINT64_MAX: none */
	uint64_t length;	/* canonical octets so far (hashed or not) */
	uint64_t empty_lines;	/* empty lines held back */
	bool cr;		/* a CR held back */
	bool wsp;		/* relaxed: WSP held back */
	bool line;		/* the current line has content */
	unsigned char buf[4096];
	size_t n;
};

/* limit: l= (UINT64_MAX: the whole body). */
void dkim_body_init(struct dkim_body *b, enum dkim_canon c, uint64_t limit);
void dkim_body_feed(struct dkim_body *b, const void *data, size_t n);
/* Ends the body, writes the SHA-256 (32 octets) to hash and frees the
 * digest; the canonical body length is in b->length. */
void dkim_body_finish(struct dkim_body *b, unsigned char hash[32]);
/* Frees a body hash that will not be finished. */
void dkim_body_free(struct dkim_body *b);

/* The body hashes of one message's verifiers (its DKIM signatures, ARC
 * message signatures, the ARC seal's own): one per canonicalisation and
 * l=, fed once however many signatures and verifiers ask for it.  Every
 * user of one set feeds it the same message, each from the body's first
 * octet and in order (its own offset `at`); the octets a slot already
 * has are skipped.  Not thread-safe: one thread feeds and finishes. */
struct dkim_bodies;

struct dkim_bodies *dkim_bodies_new(void);
void dkim_bodies_free(struct dkim_bodies **bsp);
/* The slot hashing body octets with canonicalisation c and limit l=
 * (UINT64_MAX: none), made when there is none yet: its index.  The
 * verifiers' own limits bound how many there are (DKIM_VERIFY_MAX
 * signatures, ARC_AMS_HASHED message signatures and the seal). */
int dkim_bodies_want(struct dkim_bodies *bs, enum dkim_canon c,
    uint64_t limit);
/* Raw body octets [at, at + n) for slot i. */
void dkim_bodies_feed(struct dkim_bodies *bs, int i, const void *data,
    size_t n, uint64_t at);
/* Slot i's hash and canonical length (the body ends at the first call). */
void dkim_bodies_result(struct dkim_bodies *bs, int i, unsigned char hash[32],
    uint64_t *length_r);

/* A verifier's hold on a set: one shared with it (dkim_bodies_share,
 * before any content; its owner frees it) or its own, made at the first
 * dkim_bodies_of and freed by dkim_bodies_drop.  Zeroed: neither yet. */
struct dkim_bodies_hold {
	struct dkim_bodies *bs;
	bool own;
};

struct dkim_bodies *dkim_bodies_of(struct dkim_bodies_hold *h);
void dkim_bodies_share(struct dkim_bodies_hold *h, struct dkim_bodies *bs);
void dkim_bodies_drop(struct dkim_bodies_hold *h);

/* ------------------------------------------------ header hash, signing */

/* A header parser (mime/mime.h) with the limits every DKIM and ARC
 * reader of a message uses: DKIM_SIGNER_HEADER_MAX octets and as many
 * fields.  cb gets each field. */
struct mime_header_parser *dkim_header_parser_new(
    void (*cb)(void *ctx, const struct mime_field *f), void *ctx);

/* One header field of the message, as written (raw with its CRLF). */
struct dkim_hfield {
	const char *name;
	size_t name_len;
	const char *raw;
	size_t raw_len;
};

/* Where a field's value starts: past the ':' (parsed fields have one). */
static inline size_t
dkim_value_off(const struct dkim_hfield *f)
{
	const char *colon = memchr(f->raw, ':', f->raw_len);

	return colon != NULL ? (size_t)(colon + 1 - f->raw) : f->raw_len;
}

/* Appends the canonical header fields h= selects (5.4.2: for each name,
 * the last instance not used yet, from the bottom up; a name without one
 * adds nothing), then the signature field sig_raw (b= emptied already),
 * into out: the data the signature covers. */
void dkim_header_data(enum dkim_canon c, const struct dkim_hfield *f,
    size_t nf, char names[][DKIM_HNAME_MAX + 1], size_t nh,
    const char *sig_raw, size_t sig_len, struct fbuf *out);
/* Signs data with key (RSA: rsa-sha256; Ed25519: ed25519-sha256).  The
 * signature's length, or -1 (key of another type, OpenSSL failure). */
int dkim_sign_data(struct evp_pkey_st *key, const void *data, size_t n,
    unsigned char *sig, size_t size);
/* 1 when sig verifies over data with key for algo, 0 when it does not
 * (or the key is of the wrong type). */
int dkim_verify_data(struct evp_pkey_st *key, enum dkim_algo algo,
    const void *data, size_t n, const unsigned char *sig, size_t sig_len);

/* "rsa-sha256" / "ed25519-sha256"; "rsa" / "ed25519" for k=. */
const char *dkim_algo_str(enum dkim_algo a);
const char *dkim_algo_key_str(enum dkim_algo a);
/* The algorithm of an OpenSSL key, or -1 when DKIM has none for it. */
int dkim_pkey_algo(struct evp_pkey_st *key);
/* Appends the base64 of data (no line breaks). */
void dkim_base64_encode(const void *data, size_t n, struct fbuf *out);

#endif
