/* DKIM canonicalisation (RFC 6376 3.4) and the hash and signature over
 * it (3.7; RFC 8463 3 for ed25519-sha256).  Header fields are small and
 * canonicalised whole; the body is a stream: dkim_body_feed() takes it in
 * pieces of any size, holds back only what the next octets decide (a CR,
 * a run of WSP, a count of empty lines) and hashes the rest through a
 * small buffer, so the same hash results however the body is split and
 * no copy of it is kept.  l= cuts what is hashed, not what is counted.
 * The verifiers of one message share their body hashes (dkim_bodies):
 * one per canonicalisation and l=. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "msgauth/dkim.h"
#include "msgauth/rsa_ifma.h"

/* SHA-256, fetched from the provider once: OpenSSL 3 looks a digest
 * named by EVP_sha256() up again at every init, under a lock that every
 * worker thread takes, which cost more than hashing a header. */
static EVP_MD *dkim_md;
static pthread_once_t dkim_md_once = PTHREAD_ONCE_INIT;

static void
dkim_md_fetch(void)
{
	if ((dkim_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		log_fatalx("dkim: cannot fetch SHA-256");
}

static const EVP_MD *
dkim_sha256_md(void)
{
	(void)pthread_once(&dkim_md_once, dkim_md_fetch);
	return dkim_md;
}

static bool
dkim_canon_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Strips a final CRLF (or LF) from raw. */
static size_t
dkim_canon_chomp(const char *raw, size_t len)
{
	if (len > 0 && raw[len - 1] == '\n')
		len--;
	if (len > 0 && raw[len - 1] == '\r')
		len--;
	return len;
}

/* 3.4.2: name lowercased, no WSP around the ':', folds undone, WSP runs
 * one SP, none at the end of the value.  The result is never longer than
 * raw, so it is written straight into room reserved once (this runs for
 * every signed field of every signature: octet by octet through
 * fbuf_addc it was a tenth of the verifiers' own time). */
static void
dkim_canon_relaxed(const char *raw, size_t len, struct fbuf *out)
{
	const char *colon = memchr(raw, ':', len);
	const char *p, *end = raw + len;
	bool wsp = false, any = false;
	size_t nend;
	char *o;

	if (colon == NULL) {
		fbuf_add(out, raw, len);
		return;
	}
	nend = (size_t)(colon - raw);
	while (nend > 0 && dkim_canon_wsp(raw[nend - 1]))
		nend--;
	fbuf_reserve(out, out->len + len + 1);
	o = out->data + out->len;
	for (size_t i = 0; i < nend; i++) {
		char c = raw[i];

		*o++ = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	*o++ = ':';
	for (p = colon + 1; p < end; p++) {
		char c = *p;

		if (c == '\r' || c == '\n' || dkim_canon_wsp(c)) {
			/* CRLF is only ever part of a fold here: removed;
			 * WSP counts once, and not before the value. */
			if (c != '\r' && c != '\n')
				wsp = true;
			continue;
		}
		if (wsp && any)
			*o++ = ' ';
		wsp = false;
		any = true;
		*o++ = c;
	}
	out->len = (size_t)(o - out->data);
	if (out->max != 0 && out->len > out->max)
		out->len = out->max;	/* as the adds would have stopped */
	out->data[out->len] = '\0';
}

void
dkim_canon_header(enum dkim_canon c, const char *raw, size_t len, bool last,
    struct fbuf *out)
{
	len = dkim_canon_chomp(raw, len);
	if (c == DKIM_C_RELAXED)
		dkim_canon_relaxed(raw, len, out);
	else
		fbuf_add(out, raw, len);
	if (!last)
		fbuf_add(out, "\r\n", 2);
}

/* ---------------------------------------------------------------- body */

void
dkim_body_init(struct dkim_body *b, enum dkim_canon c, uint64_t limit)
{
	memset(b, 0, sizeof(*b));
	b->canon = c;
	b->limit = limit;
	if ((b->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(b->md, dkim_sha256_md(), NULL) != 1)
		log_fatalx("dkim: cannot set up SHA-256");
}

static void
dkim_body_flush(struct dkim_body *b)
{
	if (b->n > 0)
		(void)EVP_DigestUpdate(b->md, b->buf, b->n);
	b->n = 0;
}

/* One canonical octet: counted, and hashed while under l=. */
static void
dkim_body_put(struct dkim_body *b, unsigned char c)
{
	if (b->length++ >= b->limit)
		return;
	if (b->n == sizeof(b->buf))
		dkim_body_flush(b);
	b->buf[b->n++] = c;
}

/* Octets that go in as they are (a run of dkim_body_put). */
static void
dkim_body_put_run(struct dkim_body *b, const unsigned char *s, size_t n)
{
	uint64_t room = b->length < b->limit ? b->limit - b->length : 0;
	size_t h = (uint64_t)n < room ? n : (size_t)room;

	b->length += n;
	while (h > 0) {
		size_t k = sizeof(b->buf) - b->n;

		if (k == 0) {
			dkim_body_flush(b);
			continue;
		}
		if (k > h)
			k = h;
		memcpy(b->buf + b->n, s, k);
		b->n += k;
		s += k;
		h -= k;
	}
}

/* A line end: a line with content ends now; an empty one is held back
 * until content shows it was not at the end of the body (3.4.3, 3.4.4). */
static void
dkim_body_eol(struct dkim_body *b)
{
	if (b->line) {
		dkim_body_put(b, '\r');
		dkim_body_put(b, '\n');
	} else
		b->empty_lines++;
	b->line = false;
	b->wsp = false;
}

static void
dkim_body_content(struct dkim_body *b, unsigned char c)
{
	for (; b->empty_lines > 0; b->empty_lines--) {
		dkim_body_put(b, '\r');
		dkim_body_put(b, '\n');
	}
	if (b->wsp)
		dkim_body_put(b, ' ');
	b->wsp = false;
	b->line = true;
	dkim_body_put(b, c);
}

void
dkim_body_feed(struct dkim_body *b, const void *data, size_t n)
{
	const unsigned char *p = data;
	bool relaxed = b->canon == DKIM_C_RELAXED;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				dkim_body_eol(b);
				continue;
			}
			dkim_body_content(b, '\r');	/* a bare CR */
		}
		if (c == '\r')
			b->cr = true;
		else if (relaxed && (c == ' ' || c == '\t'))
			b->wsp = true;
		else {
			/* Content: the first octet settles what was held
			 * back; the octets after it up to the next CR (or,
			 * relaxed, a WSP that changes) go in as they are. */
			size_t j = i + 1;

			dkim_body_content(b, c);
			for (; j < n && p[j] != '\r'; j++) {
				if (!relaxed || (p[j] != ' ' && p[j] != '\t'))
					continue;
				/* Relaxed keeps a lone SP between content
				 * octets: it is part of the run. */
				if (p[j] == '\t' || j + 1 >= n ||
				    p[j + 1] == ' ' || p[j + 1] == '\t' ||
				    p[j + 1] == '\r')
					break;
				j++;
			}
			dkim_body_put_run(b, p + i + 1, j - i - 1);
			i = j - 1;
		}
	}
}

void
dkim_body_finish(struct dkim_body *b, unsigned char hash[32])
{
	unsigned int len = 0;

	if (b->cr)
		dkim_body_content(b, '\r');
	b->cr = false;
	/* A last line without CRLF gets one; WSP at its end is dropped
	 * by relaxed like anywhere else. */
	if (b->line)
		dkim_body_eol(b);
	/* 3.4.3: simple makes an empty body one CRLF; relaxed (3.4.4,
	 * erratum 3340) leaves it empty. */
	if (b->canon == DKIM_C_SIMPLE && b->length == 0) {
		dkim_body_put(b, '\r');
		dkim_body_put(b, '\n');
	}
	dkim_body_flush(b);
	(void)EVP_DigestFinal_ex(b->md, hash, &len);
	dkim_body_free(b);
}

void
dkim_body_free(struct dkim_body *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}

/* ---------------------------------------------------------------- shared */

struct dkim_bodies_slot {
	struct dkim_body body;
	uint64_t fed;			/* raw body octets it has seen */
	bool done;
	unsigned char hash[32];
};

struct dkim_bodies {
	struct dkim_bodies_slot **v;
	size_t n;
};

struct dkim_bodies *
dkim_bodies_new(void)
{
	return xcalloc(1, sizeof(struct dkim_bodies));
}

void
dkim_bodies_free(struct dkim_bodies **bsp)
{
	struct dkim_bodies *bs = *bsp;

	if (bs == NULL)
		return;
	for (size_t i = 0; i < bs->n; i++) {
		if (!bs->v[i]->done)
			dkim_body_free(&bs->v[i]->body);
		free(bs->v[i]);
	}
	free(bs->v);
	free(bs);
	*bsp = NULL;
}

int
dkim_bodies_want(struct dkim_bodies *bs, enum dkim_canon c, uint64_t limit)
{
	struct dkim_bodies_slot *sl;

	for (size_t i = 0; i < bs->n; i++)
		if (bs->v[i]->body.canon == c && bs->v[i]->body.limit == limit)
			return (int)i;
	bs->v = xreallocarray(bs->v, bs->n + 1, sizeof(*bs->v));
	sl = xcalloc(1, sizeof(*sl));
	dkim_body_init(&sl->body, c, limit);
	bs->v[bs->n] = sl;
	return (int)bs->n++;
}

void
dkim_bodies_feed(struct dkim_bodies *bs, int i, const void *data, size_t n,
    uint64_t at)
{
	struct dkim_bodies_slot *sl = bs->v[i];
	uint64_t skip;

	/* A slot is fed by whichever user reaches an octet first; one
	 * behind it (at + n <= fed) adds nothing.  at > fed would be a gap:
	 * a user that skipped octets, which the contract rules out. */
	if (sl->done || at > sl->fed || at + n <= sl->fed)
		return;
	skip = sl->fed - at;
	dkim_body_feed(&sl->body, (const char *)data + skip, n - (size_t)skip);
	sl->fed = at + n;
}

void
dkim_bodies_result(struct dkim_bodies *bs, int i, unsigned char hash[32],
    uint64_t *length_r)
{
	struct dkim_bodies_slot *sl = bs->v[i];

	if (!sl->done) {
		dkim_body_finish(&sl->body, sl->hash);
		sl->done = true;
	}
	memcpy(hash, sl->hash, 32);
	*length_r = sl->body.length;
}

struct dkim_bodies *
dkim_bodies_of(struct dkim_bodies_hold *h)
{
	if (h->bs == NULL) {
		h->bs = dkim_bodies_new();
		h->own = true;
	}
	return h->bs;
}

void
dkim_bodies_share(struct dkim_bodies_hold *h, struct dkim_bodies *bs)
{
	dkim_bodies_drop(h);
	h->bs = bs;
}

void
dkim_bodies_drop(struct dkim_bodies_hold *h)
{
	if (h->own)
		dkim_bodies_free(&h->bs);
	h->bs = NULL;
	h->own = false;
}

/* ---------------------------------------------------------------- headers */

void
dkim_header_data(enum dkim_canon c, const struct dkim_hfield *f, size_t nf,
    char names[][DKIM_HNAME_MAX + 1], size_t nh, const char *sig_raw,
    size_t sig_len, struct fbuf *out)
{
	/* used[i]: field i went in already (bounded: DKIM_HNAMES_MAX names
	 * use at most that many fields). */
	size_t used[DKIM_HNAMES_MAX], nused = 0;

	/* Room for a usual signed header section at once. */
	fbuf_reserve(out, out->len + sig_len + 2048);
	for (size_t k = 0; k < nh && k < DKIM_HNAMES_MAX; k++) {
		size_t nl = strlen(names[k]);

		for (size_t i = nf; i-- > 0;) {
			bool taken = false;

			if (f[i].name_len != nl ||
			    strncasecmp(f[i].name, names[k], nl) != 0)
				continue;
			for (size_t u = 0; u < nused; u++)
				taken = taken || used[u] == i;
			if (taken)
				continue;
			used[nused++] = i;
			dkim_canon_header(c, f[i].raw, f[i].raw_len, false, out);
			break;
		}
	}
	dkim_canon_header(c, sig_raw, sig_len, true, out);
}

/* ---------------------------------------------------------------- crypto */

const char *
dkim_algo_str(enum dkim_algo a)
{
	return a == DKIM_A_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

const char *
dkim_algo_key_str(enum dkim_algo a)
{
	return a == DKIM_A_ED25519_SHA256 ? "ed25519" : "rsa";
}

int
dkim_pkey_algo(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return DKIM_A_RSA_SHA256;
	case EVP_PKEY_ED25519:
		return DKIM_A_ED25519_SHA256;
	default:
		return -1;
	}
}

/* What a thread keeps between signatures, freed when it ends: a digest
 * context, and verify contexts for the keys it used last.  A one-shot
 * EVP_Digest makes and frees a context per header hash, and a verify
 * context copied from the shared table (below) costs OpenSSL several
 * allocations per signature; the pool's threads check three signatures
 * per forwarded message, mostly with the same few keys.  A kept context
 * holds a reference to its key, so the key's address names it. */
#define DKIM_THREAD_CTXS 4

struct dkim_thread {
	EVP_MD_CTX *md;
	struct {
		EVP_PKEY *key;
		EVP_PKEY_CTX *pc;
	} v[DKIM_THREAD_CTXS];
	unsigned next;
};

static pthread_key_t dkim_thread_key;
static pthread_once_t dkim_thread_once = PTHREAD_ONCE_INIT;

static void
dkim_thread_free(void *arg)
{
	struct dkim_thread *t = arg;

	EVP_MD_CTX_free(t->md);
	for (size_t i = 0; i < DKIM_THREAD_CTXS; i++)
		EVP_PKEY_CTX_free(t->v[i].pc);
	free(t);
}

static void
dkim_thread_init(void)
{
	if (pthread_key_create(&dkim_thread_key, dkim_thread_free) != 0)
		log_fatalx("dkim: cannot create a thread key");
}

static struct dkim_thread *
dkim_thread(void)
{
	struct dkim_thread *t;

	(void)pthread_once(&dkim_thread_once, dkim_thread_init);
	if ((t = pthread_getspecific(dkim_thread_key)) == NULL) {
		t = xcalloc(1, sizeof(*t));
		if (pthread_setspecific(dkim_thread_key, t) != 0)
			log_fatalx("dkim: cannot set a thread key");
	}
	return t;
}

static int
dkim_sha256(const void *data, size_t n, unsigned char hash[32])
{
	struct dkim_thread *t = dkim_thread();
	unsigned int len = 0;

	if (t->md == NULL && (t->md = EVP_MD_CTX_new()) == NULL)
		return -1;
	return EVP_DigestInit_ex(t->md, dkim_sha256_md(), NULL) == 1 &&
	    EVP_DigestUpdate(t->md, data, n) == 1 &&
	    EVP_DigestFinal_ex(t->md, hash, &len) == 1 && len == 32 ? 0 : -1;
}

/* RSA contexts ready for PKCS#1 v1.5 over SHA-256, one per key and
 * operation, copied for each use.  Setting one up (EVP_PKEY_CTX_new,
 * the init, padding and digest) makes OpenSSL 3 fetch the signature
 * algorithm and the digest by name from its provider, about 5 us a
 * time under a shared lock; a copy of a ready one fetches nothing.  The
 * table keeps a reference to each key, so a key's address names it
 * until its slot is taken by another (round robin). */
#define DKIM_RSA_CTXS 64

static struct {
	pthread_mutex_t lock;
	struct {
		EVP_PKEY *key;
		EVP_PKEY_CTX *ctx[2];	/* [0] verify, [1] sign */
	} v[DKIM_RSA_CTXS];
	unsigned next;
} dkim_rsa_ctxs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static EVP_PKEY_CTX *
dkim_rsa_ctx_new(EVP_PKEY *key, bool sign)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);

	if (pc != NULL && ((sign ? EVP_PKEY_sign_init(pc) :
	    EVP_PKEY_verify_init(pc)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pc, dkim_sha256_md()) != 1)) {
		EVP_PKEY_CTX_free(pc);
		pc = NULL;
	}
	return pc;
}

/* A context of its own for one signature with key (free it), or NULL. */
static EVP_PKEY_CTX *
dkim_rsa_ctx(EVP_PKEY *key, bool sign)
{
	EVP_PKEY_CTX *pc = NULL;
	unsigned i;

	pthread_mutex_lock(&dkim_rsa_ctxs.lock);
	for (i = 0; i < DKIM_RSA_CTXS && dkim_rsa_ctxs.v[i].key != key; i++)
		;
	if (i == DKIM_RSA_CTXS && EVP_PKEY_up_ref(key) == 1) {
		i = dkim_rsa_ctxs.next++ % DKIM_RSA_CTXS;
		EVP_PKEY_CTX_free(dkim_rsa_ctxs.v[i].ctx[0]);
		EVP_PKEY_CTX_free(dkim_rsa_ctxs.v[i].ctx[1]);
		EVP_PKEY_free(dkim_rsa_ctxs.v[i].key);
		dkim_rsa_ctxs.v[i].key = key;
		dkim_rsa_ctxs.v[i].ctx[0] = dkim_rsa_ctxs.v[i].ctx[1] = NULL;
	}
	if (i < DKIM_RSA_CTXS) {
		if (dkim_rsa_ctxs.v[i].ctx[sign] == NULL)
			dkim_rsa_ctxs.v[i].ctx[sign] = dkim_rsa_ctx_new(key,
			    sign);
		if (dkim_rsa_ctxs.v[i].ctx[sign] != NULL)
			pc = EVP_PKEY_CTX_dup(dkim_rsa_ctxs.v[i].ctx[sign]);
	}
	pthread_mutex_unlock(&dkim_rsa_ctxs.lock);
	return pc != NULL ? pc : dkim_rsa_ctx_new(key, sign);
}

/* The calling thread's verify context for key (kept: do not free it),
 * or NULL. */
static EVP_PKEY_CTX *
dkim_rsa_verify_ctx(EVP_PKEY *key)
{
	struct dkim_thread *t = dkim_thread();
	unsigned i;

	for (i = 0; i < DKIM_THREAD_CTXS; i++)
		if (t->v[i].key == key && t->v[i].pc != NULL)
			return t->v[i].pc;
	i = t->next++ % DKIM_THREAD_CTXS;
	EVP_PKEY_CTX_free(t->v[i].pc);
	t->v[i].key = key;
	t->v[i].pc = dkim_rsa_ctx(key, false);
	return t->v[i].pc;
}

int
dkim_sign_data(EVP_PKEY *key, const void *data, size_t n, unsigned char *sig,
    size_t size)
{
	unsigned char hash[32];
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *pc;
	size_t len = size;
	int algo = dkim_pkey_algo(key), ok = 0;

	if (algo < 0 || dkim_sha256(data, n, hash) < 0)
		return -1;
	if (algo == DKIM_A_RSA_SHA256) {
		/* PKCS#1 v1.5 over the SHA-256 of the header data. */
		if ((pc = dkim_rsa_ctx(key, true)) == NULL)
			return -1;
		ok = EVP_PKEY_sign(pc, sig, &len, hash, sizeof(hash)) == 1;
		EVP_PKEY_CTX_free(pc);
		return ok ? (int)len : -1;
	}
	/* RFC 8463 3: PureEdDSA over the SHA-256 of the header data. */
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &len, hash, sizeof(hash)) == 1;
	EVP_MD_CTX_free(md);
	return ok ? (int)len : -1;
}

/* A key's IFMA form (msgauth/rsa_ifma.h: RSA's public operation in 40%
 * of OpenSSL's time where the CPU has AVX-512 IFMA), made at the key's
 * first verification and kept with the key as its ex_data, freed with
 * it: the decoded keys live in the key cache for their TTL and are
 * shared by the verifying threads, so a key is prepared once, not once
 * per thread (making it costs about 13 us, 11 of them reading the
 * modulus and exponent out of the OpenSSL 3 key).  The lock guards the
 * ex_data, which OpenSSL does not. */
static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	int index;			/* -1: no ex_data slot */
	char none;			/* its address: no IFMA form */
} dkim_ifma = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, -1, 0 };

static void
dkim_ifma_drop(void *f)
{
	if (f != &dkim_ifma.none)
		rsa_ifma_free(f);
}

/* OpenSSL's call when the key is freed. */
static void
dkim_ifma_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	dkim_ifma_drop(ptr);
}

static void
dkim_ifma_init(void)
{
	dkim_ifma.index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL,
	    dkim_ifma_free);
}

static const struct rsa_ifma *
dkim_rsa_ifma(EVP_PKEY *key)
{
	void *f, *had;

	(void)pthread_once(&dkim_ifma.once, dkim_ifma_init);
	if (dkim_ifma.index < 0)
		return NULL;
	pthread_mutex_lock(&dkim_ifma.lock);
	f = EVP_PKEY_get_ex_data(key, dkim_ifma.index);
	pthread_mutex_unlock(&dkim_ifma.lock);
	if (f == NULL) {
		/* Outside the lock; two threads may race, one form stays. */
		if ((f = rsa_ifma_new(key)) == NULL)
			f = &dkim_ifma.none;
		pthread_mutex_lock(&dkim_ifma.lock);
		if ((had = EVP_PKEY_get_ex_data(key, dkim_ifma.index)) ==
		    NULL && EVP_PKEY_set_ex_data(key, dkim_ifma.index, f) != 1)
			had = &dkim_ifma.none;
		pthread_mutex_unlock(&dkim_ifma.lock);
		if (had != NULL) {
			dkim_ifma_drop(f);
			f = had;
		}
	}
	return f != &dkim_ifma.none ? f : NULL;
}

int
dkim_verify_data(EVP_PKEY *key, enum dkim_algo algo, const void *data,
    size_t n, const unsigned char *sig, size_t sig_len)
{
	unsigned char hash[32];
	const struct rsa_ifma *fast;
	EVP_MD_CTX *md;
	EVP_PKEY_CTX *pc;
	int ok;

	if (dkim_pkey_algo(key) != (int)algo || dkim_sha256(data, n, hash) < 0)
		return 0;
	if (algo == DKIM_A_RSA_SHA256) {
		if ((fast = dkim_rsa_ifma(key)) != NULL)
			return rsa_ifma_verify_sha256(fast, sig, sig_len,
			    hash);
		if ((pc = dkim_rsa_verify_ctx(key)) == NULL)
			return 0;
		return EVP_PKEY_verify(pc, sig, sig_len, hash,
		    sizeof(hash)) == 1;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, sig_len, hash, sizeof(hash)) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

EVP_PKEY *
dkim_key_pkey(const struct dkim_key *key, const char **error_r)
{
	const unsigned char *p = key->p;
	EVP_PKEY *pk;
	int bits;

	if (key->algo == DKIM_A_ED25519_SHA256) {
		if (key->p_len != 32 || (pk = EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, key->p, key->p_len)) == NULL) {
			*error_r = "bad ed25519 key";
			return NULL;
		}
		return pk;
	}
	if ((pk = d2i_PUBKEY(NULL, &p, (long)key->p_len)) == NULL ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		*error_r = "bad rsa key";
		return NULL;
	}
	bits = EVP_PKEY_get_bits(pk);
	if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
		EVP_PKEY_free(pk);
		*error_r = bits < DKIM_RSA_MIN_BITS ? "rsa key too small" :
		    "rsa key too large";
		return NULL;
	}
	return pk;
}

void
dkim_base64_encode(const void *data, size_t n, struct fbuf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 |
		    p[i + 2];
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63],
		    tab[(v >> 6) & 63], tab[v & 63] };

		fbuf_add(out, q, 4);
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63],
		    i + 1 < n ? tab[(v >> 6) & 63] : '=', '=' };

		fbuf_add(out, q, 4);
	}
}
