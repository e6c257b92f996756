/* DKIM verification (RFC 6376 6.1) as a message streams, the key
 * lookups through net/dns.h, and the dkim part of Authentication-Results
 * (RFC 8601 2.7.1).
 *
 * Results: a signature that does not parse, is expired (x=), dated more
 * than DKIM_CLOCK_SKEW in the future (t=), whose key does not exist, is
 * revoked, malformed, of another algorithm, too small (RFC 8301), not for
 * email, or strict (t=s) with an i= below d=, is a permerror; a body
 * hash or signature that does not match is a fail; a key lookup that
 * could not be answered is a temperror.  Signatures past DKIM_VERIFY_MAX
 * are not looked at (6.1: a verifier may limit them). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/dkim_keycache.h"
#include "msgauth/dkim_private.h"
#include "msgauth/dkim_verify.h"
#include "msgauth/keyfetch.h"

struct dkim_vsig {
	struct dkim_verdict v;
	struct dkim_sig sig;
	size_t field;			/* index of the signature's field */
	int body;			/* its slot in the verifier's bodies */
	bool hashing;
	unsigned char bh[32];
	struct evp_pkey_st *pk;		/* deferred: the key, to check with */
};

struct dkim_verifier {
	time_t now;
	struct dkim_keycache *kc;	/* borrowed; NULL: none */
	bool defer;			/* keys kept for dkim_verifier_check */
	struct dkim_bodies_hold bodies;	/* the body hashes, maybe shared */
	uint64_t at;			/* body octets fed */
	struct mime_header_parser *hp;	/* made at the first feed */
	bool shared_header;		/* the caller's parser: no hp */
	struct dkim_fields fs;
	bool too_big;
	bool body;			/* the header section ended */
	bool ended;
	struct dkim_vsig *sigs;		/* [as many as the header has, at
					 * most DKIM_VERIFY_MAX]: a slot is
					 * 7 KB, most mail has one or none */
	size_t n;
};

const char *
dkim_result_str(enum dkim_result r)
{
	static const char *const names[] = { "none", "pass", "fail",
	    "neutral", "temperror", "permerror" };

	return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] :
	    "permerror";
}

static void
dkim_verify_decide(struct dkim_vsig *s, enum dkim_result r,
    const char *reason)
{
	s->v.result = r;
	s->v.reason = reason;
	s->v.decided = true;
}

void
dkim_verifier_field(void *ctx, const struct mime_field *mf)
{
	struct dkim_verifier *v = ctx;

	if (v->too_big)
		return;
	if (dkim_fields_add(&v->fs, mf) < 0)
		v->too_big = true;
}

struct dkim_verifier *
dkim_verifier_new(time_t now)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));

	v->now = now;
	dkim_fields_init(&v->fs);
	return v;
}

/* The verifier's own header parser, made when content first comes
 * (never when the caller shares its own: dkim_verifier_share_header). */
static struct mime_header_parser *
dkim_verifier_parser(struct dkim_verifier *v)
{
	if (v->hp == NULL && !v->shared_header)
		v->hp = dkim_header_parser_new(dkim_verifier_field, v);
	return v->hp;
}

void
dkim_verifier_set_keycache(struct dkim_verifier *v, struct dkim_keycache *kc)
{
	v->kc = kc;
}

void
dkim_verifier_share_bodies(struct dkim_verifier *v, struct dkim_bodies *bs)
{
	dkim_bodies_share(&v->bodies, bs);
}

void
dkim_verifier_defer_checks(struct dkim_verifier *v)
{
	v->defer = true;
}

void
dkim_verifier_free(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;

	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		EVP_PKEY_free(v->sigs[i].pk);
	free(v->sigs);
	dkim_bodies_drop(&v->bodies);
	mime_header_parser_free(&v->hp);
	dkim_fields_release(&v->fs);
	free(v);
	*vp = NULL;
}

/* Parses one DKIM-Signature field into a new slot. */
static void
dkim_verify_sig(struct dkim_verifier *v, const struct dkim_hfield *f,
    size_t idx)
{
	struct dkim_vsig *s = &v->sigs[v->n++];
	const char *colon = memchr(f->raw, ':', f->raw_len), *err;
	size_t off = (size_t)(colon + 1 - f->raw);

	s->field = idx;
	if (dkim_sig_parse(colon + 1, f->raw_len - off, &s->sig, &err) < 0) {
		dkim_verify_decide(s, DKIM_R_PERMERROR, err);
		return;
	}
	s->v.has_sig = true;
	s->v.algo = s->sig.algo;
	str_lcpy(s->v.domain, s->sig.domain, sizeof(s->v.domain));
	str_lcpy(s->v.selector, s->sig.selector, sizeof(s->v.selector));
	str_lcpy(s->v.auid, s->sig.auid, sizeof(s->v.auid));
	{
		struct fbuf b;

		fbuf_init(&b, 0);
		/* 6 octets are the first 8 characters (RFC 6008). */
		dkim_base64_encode(s->sig.b, s->sig.b_len < 6 ?
		    s->sig.b_len : 6, &b);
		snprintf(s->v.b8, sizeof(s->v.b8), "%.8s", fbuf_str(&b));
		fbuf_release(&b);
	}
	if (s->sig.has_x && (int64_t)v->now > s->sig.x) {
		dkim_verify_decide(s, DKIM_R_PERMERROR, "signature expired");
		return;
	}
	if (s->sig.has_t && s->sig.t > (int64_t)v->now + DKIM_CLOCK_SKEW) {
		dkim_verify_decide(s, DKIM_R_PERMERROR,
		    "signature dated in the future");
		return;
	}
	s->body = dkim_bodies_want(dkim_bodies_of(&v->bodies), s->sig.bcanon,
	    s->sig.has_l ? s->sig.l : UINT64_MAX);
	s->hashing = true;
}

static bool
dkim_verify_is_sig(const struct dkim_hfield *f)
{
	return f->name_len == 14 && strncasecmp(f->name, "DKIM-Signature",
	    14) == 0;
}

/* The header section ended: the signatures, top down. */
static void
dkim_verifier_header_done(struct dkim_verifier *v)
{
	struct dkim_hfield *f;
	size_t nsig = 0;

	v->body = true;
	if (v->too_big)
		return;
	f = dkim_fields_view(&v->fs);
	for (size_t i = 0; i < v->fs.n && nsig < DKIM_VERIFY_MAX; i++)
		if (dkim_verify_is_sig(&f[i]))
			nsig++;
	if (nsig > 0)
		v->sigs = xcalloc(nsig, sizeof(*v->sigs));
	for (size_t i = 0; i < v->fs.n && v->n < nsig; i++)
		if (dkim_verify_is_sig(&f[i]))
			dkim_verify_sig(v, &f[i], i);
	free(f);
}

void
dkim_verifier_share_header(struct dkim_verifier *v)
{
	v->shared_header = true;
}

void
dkim_verifier_header_end(struct dkim_verifier *v)
{
	if (!v->body)
		dkim_verifier_header_done(v);
}

void
dkim_verifier_feed(struct dkim_verifier *v, const void *data, size_t n)
{
	if (!v->body) {
		size_t used;

		if (dkim_verifier_parser(v) == NULL)
			return;		/* header bytes: the caller parses */
		used = mime_header_parser_feed(v->hp, data, n);
		if (!mime_header_parser_done(v->hp))
			return;
		dkim_verifier_header_done(v);
		data = (const char *)data + used;
		n -= used;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->sigs[i].hashing)
			dkim_bodies_feed(v->bodies.bs, v->sigs[i].body, data, n,
			    v->at);
	v->at += n;
}

void
dkim_verifier_end(struct dkim_verifier *v)
{
	if (v->ended)
		return;
	v->ended = true;
	if (!v->body) {
		if (v->hp != NULL)
			mime_header_parser_finish(v->hp);
		dkim_verifier_header_done(v);
	}
	for (size_t i = 0; i < v->n; i++) {
		struct dkim_vsig *s = &v->sigs[i];
		uint64_t length;

		if (!s->hashing)
			continue;
		dkim_bodies_result(v->bodies.bs, s->body, s->bh, &length);
		s->hashing = false;
		/* l= longer than the body: the signature cannot be for
		 * this message (6.1.3 says verifiers may fail it). */
		if (s->sig.has_l && length < s->sig.l)
			dkim_verify_decide(s, DKIM_R_PERMERROR,
			    "l= longer than the body");
		else if (CRYPTO_memcmp(s->bh, s->sig.bh, 32) != 0)
			dkim_verify_decide(s, DKIM_R_FAIL,
			    "body hash did not verify");
	}
}

bool
dkim_verifier_ended_header(const struct dkim_verifier *v)
{
	return v->body;
}

size_t
dkim_verifier_pending(const struct dkim_verifier *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n; i++)
		if (!v->sigs[i].v.decided)
			n++;
	return n;
}

size_t
dkim_verifier_count(const struct dkim_verifier *v)
{
	return v->n;
}

const struct dkim_verdict *
dkim_verifier_verdict(const struct dkim_verifier *v, size_t i)
{
	return i < v->n ? &v->sigs[i].v : NULL;
}

int
dkim_verifier_keyname(const struct dkim_verifier *v, size_t i, char *dst,
    size_t size)
{
	const struct dkim_vsig *s;

	if (i >= v->n || (s = &v->sigs[i])->v.decided)
		return -1;
	if ((size_t)snprintf(dst, size, "%s._domainkey.%s", s->sig.selector,
	    s->sig.domain) >= size)
		return -1;
	return 0;
}

/* The key record is usable for this signature: NULL, or why not. */
static const char *
dkim_verify_key_ok(const struct dkim_vsig *s, const struct dkim_keyrec *k)
{
	const char *at;

	if (k->revoked)
		return "key revoked";
	if (k->algo != s->sig.algo)
		return "key algorithm does not match a=";
	if (k->strict && (at = strrchr(s->sig.auid, '@')) != NULL &&
	    strcasecmp(at + 1, s->sig.domain) != 0)
		return "strict key: i= must be in d= itself";
	return NULL;
}

/* The signature over the header, with key pk. */
static void
dkim_verify_header(struct dkim_verifier *v, struct dkim_vsig *s,
    struct evp_pkey_st *pk)
{
	struct dkim_hfield *f = dkim_fields_view(&v->fs);
	const struct dkim_hfield *sf = &f[s->field];
	struct fbuf raw, data;
	size_t nf = v->fs.n;

	fbuf_init(&raw, 0);
	fbuf_init(&data, 0);
	dkim_sig_strip_b_at(sf->raw, sf->raw_len, dkim_value_off(sf),
	    &s->sig.bspan, &raw);
	dkim_header_data(s->sig.hcanon, f, nf, s->sig.hnames, s->sig.nh,
	    raw.data, raw.len, &data);
	if (dkim_verify_data(pk, s->sig.algo, data.data, data.len, s->sig.b,
	    s->sig.b_len) == 1)
		dkim_verify_decide(s, DKIM_R_PASS, "");
	else
		dkim_verify_decide(s, DKIM_R_FAIL, "signature did not verify");
	fbuf_release(&raw);
	fbuf_release(&data);
	free(f);
}

void
dkim_verifier_key(struct dkim_verifier *v, size_t i, enum dns_status st,
    const char *txt, size_t len, uint32_t ttl)
{
	struct dkim_vsig *s;
	struct dkim_keyrec k;
	char name[600];
	const char *err;

	if (i >= v->n || (s = &v->sigs[i])->v.decided)
		return;
	if (st == DNS_TEMPFAIL) {
		dkim_verify_decide(s, DKIM_R_TEMPERROR, "key lookup failed");
		return;
	}
	if (st != DNS_OK || txt == NULL) {
		dkim_verify_decide(s, DKIM_R_PERMERROR, "no key for signature");
		return;
	}
	if (dkim_verifier_keyname(v, i, name, sizeof(name)) < 0)
		name[0] = '\0';
	if (dkim_keycache_get(v->kc, name, txt, len, ttl, v->now, &k,
	    &err) < 0) {
		dkim_verify_decide(s, DKIM_R_PERMERROR, err);
		return;
	}
	if ((err = dkim_verify_key_ok(s, &k)) != NULL)
		dkim_verify_decide(s, DKIM_R_PERMERROR, err);
	else if (k.pk == NULL)
		dkim_verify_decide(s, DKIM_R_PERMERROR, k.pk_error);
	else {
		s->v.testing = k.testing;
		if (v->defer) {
			s->pk = k.pk;		/* dkim_verifier_check's */
			return;
		}
		dkim_verify_header(v, s, k.pk);
	}
	EVP_PKEY_free(k.pk);
}

size_t
dkim_verifier_checks_left(const struct dkim_verifier *v)
{
	size_t n = 0;

	for (size_t i = 0; v != NULL && i < v->n; i++)
		if (v->sigs[i].pk != NULL)
			n++;
	return n;
}

void
dkim_verifier_check(struct dkim_verifier *v)
{
	for (size_t i = 0; v != NULL && i < v->n; i++) {
		struct dkim_vsig *s = &v->sigs[i];

		if (s->pk == NULL)
			continue;
		dkim_verify_header(v, s, s->pk);
		EVP_PKEY_free(s->pk);
		s->pk = NULL;
	}
}

/* Keeps what goes into a header: printable ASCII, no ';', '(' or ')'. */
static void
dkim_ar_value(struct fbuf *out, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s > 0x20 && *s < 0x7f && *s != ';' && *s != '(' &&
		    *s != ')' && *s != '"' && *s != '\\')
			fbuf_addc(out, *s);
}

void
dkim_verifier_ar(const struct dkim_verifier *v, struct fbuf *out)
{
	if (v->n == 0) {
		fbuf_adds(out, ";\r\n\tdkim=none");
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct dkim_verdict *d = &v->sigs[i].v;

		fbuf_addf(out, ";\r\n\tdkim=%s", dkim_result_str(d->result));
		if (d->reason != NULL && d->reason[0] != '\0')
			fbuf_addf(out, " (%s%s)", d->reason,
			    d->testing ? ", key in testing mode" : "");
		else if (d->testing)
			fbuf_adds(out, " (key in testing mode)");
		if (!d->has_sig)
			continue;
		fbuf_adds(out, " header.d=");
		dkim_ar_value(out, d->domain);
		fbuf_adds(out, " header.i=");
		dkim_ar_value(out, d->auid);
		fbuf_adds(out, "\r\n\t header.s=");
		dkim_ar_value(out, d->selector);
		fbuf_addf(out, " header.a=%s header.b=", dkim_algo_str(d->algo));
		dkim_ar_value(out, d->b8);
	}
}

/* ---------------------------------------------------------- async keys */

struct dkim_keyfetch {
	struct keyfetch *f;
	struct dkim_verifier *v;
	dkim_keys_cb *cb;
	void *ctx;
};

static const char *
dkim_keyfetch_name(void *ctx, size_t i, char *buf, size_t size)
{
	struct dkim_keyfetch *kf = ctx;

	return dkim_verifier_keyname(kf->v, i, buf, size) < 0 ? NULL : buf;
}

static void
dkim_keyfetch_got(void *ctx, size_t i, enum dns_status st, const char *txt,
    size_t len, uint32_t ttl)
{
	struct dkim_keyfetch *kf = ctx;

	dkim_verifier_key(kf->v, i, st, txt, len, ttl);
}

static void
dkim_keyfetch_done(void *ctx)
{
	struct dkim_keyfetch *kf = ctx;
	dkim_keys_cb *cb = kf->cb;
	struct dkim_verifier *v = kf->v;
	void *cbctx = kf->ctx;

	free(kf);
	cb(v, cbctx);
}

struct dkim_keyfetch *
dkim_verify_keys(struct event_base *base, struct dns *dns,
    struct dkim_verifier *v, dkim_keys_cb *cb, void *ctx)
{
	struct dkim_keyfetch *kf = xcalloc(1, sizeof(*kf));

	kf->v = v;
	kf->cb = cb;
	kf->ctx = ctx;
	kf->f = keyfetch_start(base, dns, v->n, dkim_keyfetch_name,
	    dkim_keyfetch_got, dkim_keyfetch_done, kf);
	return kf;
}

void
dkim_keyfetch_abort(struct dkim_keyfetch **fp)
{
	struct dkim_keyfetch *kf = *fp;

	if (kf == NULL)
		return;
	keyfetch_abort(&kf->f);
	free(kf);
	*fp = NULL;
}
