/* ARC (RFC 8617): the ARC-Seal and ARC-Authentication-Results parsers,
 * the chain verifier (5.2) and the sealer (5.1), on top of the DKIM
 * pieces: tag lists, the AMS parsed as a DKIM signature
 * (dkim_sig_parse_ams), relaxed canonicalisation, body hashes, key
 * records and the RSA/Ed25519 signature checks.  No I/O: keys come from
 * arc_keys.c or the caller.  A chain is judged as the RFC says and no
 * more: what a pass is worth (which sealers to trust) is local policy
 * (docs/arc.md). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "mime/mime.h"
#include "msgauth/arc.h"
#include "msgauth/dkim_keycache.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/dkim_private.h"

/* AMS hashed for n sets, and the most keys they and the n seals name. */
#define ARC_AMS_FOR(n) ((n) < ARC_AMS_HASHED ? (n) : ARC_AMS_HASHED)
#define ARC_KEYS_FOR(n) ((n) + ARC_AMS_FOR(n))
#define ARC_KEYNAME_MAX 520
#define ARC_FOLD 72

enum arc_kind { ARC_K_AAR = 0, ARC_K_AMS, ARC_K_AS, ARC_K_N };

struct arc_key {
	char name[ARC_KEYNAME_MAX];
	bool answered;
	enum dns_status st;
	EVP_PKEY *pk;			/* NULL: none usable */
};

/* One AMS being checked: ams[k] is instance n - k. */
struct arc_ams {
	struct dkim_sig sig;
	size_t field;
	int body;			/* its slot in the verifier's bodies */
	bool hashing, body_ok;
	int key;
};

struct arc_verifier {
	time_t now;
	struct dkim_keycache *kc;	/* borrowed; NULL: none */
	bool seal;
	struct mime_header_parser *hp;	/* made at the first feed */
	bool shared_header;		/* the caller's parser: no hp */
	struct dkim_fields fs;
	bool too_big, body, ended, decided, failed;
	/* field index + 1 of each instance's AAR, AMS and AS (0: none) */
	size_t idx[ARC_K_N][ARC_MAX_INSTANCE + 1];
	struct arc_seal *seals;		/* [n + 1], from header end */
	int seal_key[ARC_MAX_INSTANCE + 1];
	struct arc_ams *ams;		/* [ARC_AMS_FOR(res.n)] */
	size_t nams;
	struct arc_key *keys;		/* [ARC_KEYS_FOR(res.n)] */
	size_t nkeys;
	struct dkim_bodies_hold bodies;	/* the body hashes, maybe shared */
	uint64_t at;			/* body octets fed */
	int seal_body;			/* the seal's own body hash slot */
	bool seal_hashing, seal_bh_ok;
	unsigned char seal_bh[32];
	struct arc_result res;
};

static const char *const arc_names[ARC_K_N] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
};

const char *
arc_cv_str(enum arc_cv cv)
{
	return cv == ARC_CV_PASS ? "pass" : cv == ARC_CV_FAIL ? "fail" :
	    "none";
}

/* ---------------------------------------------------------- parsing */

static bool
arc_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A tag value without its FWS into dst (lowercased on request): 0, or
 * -1 when empty or too long. */
static int
arc_value_copy(const struct dkim_tag *t, char *dst, size_t size, bool lower)
{
	size_t n = 0;

	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];

		if (arc_is_fws(c))
			continue;
		if (n + 1 >= size)
			return -1;
		dst[n++] = lower ? (char)tolower((unsigned char)c) : c;
	}
	dst[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
arc_value_instance(const struct dkim_tag *t, unsigned *i_r)
{
	char v[8];
	uint64_t i;

	if (t == NULL || arc_value_copy(t, v, sizeof(v), false) < 0 ||
	    str_parse_uint(v, 1, 1024, &i) < 0)
		return -1;
	*i_r = (unsigned)i;
	return 0;
}

static int
arc_seal_cv(const struct dkim_tag *t, struct arc_seal *as)
{
	char v[8];

	if (t == NULL || arc_value_copy(t, v, sizeof(v), true) < 0)
		return -1;
	if (strcmp(v, "none") == 0)
		as->cv = ARC_CV_NONE;
	else if (strcmp(v, "pass") == 0)
		as->cv = ARC_CV_PASS;
	else if (strcmp(v, "fail") == 0)
		as->cv = ARC_CV_FAIL;
	else
		return -1;
	return 0;
}

int
arc_seal_parse(const char *value, size_t len, struct arc_seal *as,
    const char **error_r)
{
	struct dkim_taglist tl;
	const struct dkim_tag *a, *b, *d, *s;
	char algo[32];
	int n;

	memset(as, 0, sizeof(*as));
	if (dkim_taglist_parse(value, len, &tl, error_r) < 0)
		return -1;
	if (arc_value_instance(dkim_taglist_get(&tl, "i"),
	    &as->instance) < 0) {
		*error_r = "bad or missing i=";
		return -1;
	}
	if (arc_seal_cv(dkim_taglist_get(&tl, "cv"), as) < 0) {
		*error_r = "bad or missing cv=";
		return -1;
	}
	if (dkim_taglist_get(&tl, "h") != NULL) {
		*error_r = "h= is not allowed in ARC-Seal";
		return -1;
	}
	a = dkim_taglist_get(&tl, "a");
	b = dkim_taglist_get(&tl, "b");
	d = dkim_taglist_get(&tl, "d");
	s = dkim_taglist_get(&tl, "s");
	if (a == NULL || b == NULL || d == NULL || s == NULL) {
		*error_r = "a required tag is missing";
		return -1;
	}
	if (arc_value_copy(a, algo, sizeof(algo), true) < 0 ||
	    (strcmp(algo, "rsa-sha256") != 0 &&
	    strcmp(algo, "ed25519-sha256") != 0)) {
		*error_r = "unsupported algorithm";
		return -1;
	}
	as->algo = algo[0] == 'r' ? DKIM_A_RSA_SHA256 : DKIM_A_ED25519_SHA256;
	as->bspan.at = b->eq_end;
	as->bspan.end = b->spec_end;
	if ((n = dkim_base64_decode(b->value, b->value_len, as->b,
	    sizeof(as->b))) <= 0) {
		*error_r = "bad b=";
		return -1;
	}
	as->b_len = (size_t)n;
	if (arc_value_copy(d, as->domain, sizeof(as->domain), true) < 0 ||
	    arc_value_copy(s, as->selector, sizeof(as->selector), false) < 0) {
		*error_r = "bad d= or s=";
		return -1;
	}
	return 0;
}

/* CFWS: white space and (nested) comments. */
static size_t
arc_skip_cfws(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (depth > 0) {
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
			else if (s[i] == '\\' && i + 1 < len)
				i++;
		} else if (s[i] == '(')
			depth = 1;
		else if (!arc_is_fws(s[i]))
			break;
	}
	return i;
}

int
arc_aar_instance(const char *value, size_t len, unsigned *i_r)
{
	size_t i = arc_skip_cfws(value, len, 0);
	unsigned v = 0;
	size_t digits = 0;

	if (i + 1 >= len || (value[i] != 'i' && value[i] != 'I'))
		return -1;
	i = arc_skip_cfws(value, len, i + 1);
	if (i >= len || value[i] != '=')
		return -1;
	i = arc_skip_cfws(value, len, i + 1);
	for (; i < len && isdigit((unsigned char)value[i]); i++) {
		if (++digits > 4)
			return -1;
		v = v * 10 + (unsigned)(value[i] - '0');
	}
	i = arc_skip_cfws(value, len, i);
	if (digits == 0 || v < 1 || v > 1024 || i >= len || value[i] != ';')
		return -1;
	*i_r = v;
	return 0;
}

/* ---------------------------------------------------------- verifier */

static void
arc_fail(struct arc_verifier *v, const char *reason)
{
	if (v->failed)
		return;
	v->failed = true;
	v->res.cv = ARC_CV_FAIL;
	v->res.reason = reason;
}

void
arc_verifier_field(void *ctx, const struct mime_field *mf)
{
	struct arc_verifier *v = ctx;

	if (!v->too_big && dkim_fields_add(&v->fs, mf) < 0)
		v->too_big = true;
}

struct arc_verifier *
arc_verifier_new(time_t now, bool seal)
{
	struct arc_verifier *v = xcalloc(1, sizeof(*v));

	v->now = now;
	v->seal = seal;
	v->res.reason = "not verified";
	v->res.cv = ARC_CV_FAIL;
	dkim_fields_init(&v->fs);
	return v;
}

/* The verifier's own header parser, made when content first comes
 * (never when the caller shares its own: arc_verifier_share_header). */
static struct mime_header_parser *
arc_verifier_parser(struct arc_verifier *v)
{
	if (v->hp == NULL && !v->shared_header)
		v->hp = dkim_header_parser_new(arc_verifier_field, v);
	return v->hp;
}

void
arc_verifier_free(struct arc_verifier **vp)
{
	struct arc_verifier *v = *vp;

	if (v == NULL)
		return;
	dkim_bodies_drop(&v->bodies);
	for (size_t i = 0; i < v->nkeys; i++)
		EVP_PKEY_free(v->keys[i].pk);
	free(v->keys);
	free(v->ams);
	free(v->seals);
	mime_header_parser_free(&v->hp);
	dkim_fields_release(&v->fs);
	free(v);
	*vp = NULL;
}

/* The instance an ARC field claims: 0, or -1 when it has none. */
static int
arc_field_instance(enum arc_kind k, const struct dkim_hfield *f,
    unsigned *i_r)
{
	const char *colon = memchr(f->raw, ':', f->raw_len);
	size_t off = (size_t)(colon + 1 - f->raw);
	struct dkim_taglist tl;
	const char *err;

	if (k == ARC_K_AAR)
		return arc_aar_instance(colon + 1, f->raw_len - off, i_r);
	if (dkim_taglist_parse(colon + 1, f->raw_len - off, &tl, &err) < 0)
		return -1;
	return arc_value_instance(dkim_taglist_get(&tl, "i"), i_r);
}

/* Which ARC field f is (-1: none). */
static int
arc_field_kind(const struct dkim_hfield *f)
{
	for (int k = 0; k < ARC_K_N; k++)
		if (f->name_len == strlen(arc_names[k]) &&
		    strncasecmp(f->name, arc_names[k], f->name_len) == 0)
			return k;
	return -1;
}

/* Files each ARC field under its instance; n is the highest. */
static void
arc_collect(struct arc_verifier *v, const struct dkim_hfield *f, size_t nf)
{
	for (size_t i = 0; i < nf && !v->failed; i++) {
		int k = arc_field_kind(&f[i]);
		unsigned inst;

		if (k < 0)
			continue;
		if (arc_field_instance((enum arc_kind)k, &f[i], &inst) < 0)
			arc_fail(v, "ARC header field without a valid i=");
		else if (inst > ARC_MAX_INSTANCE)
			arc_fail(v, "more than 50 ARC sets");
		else if (v->idx[k][inst] != 0)
			arc_fail(v, "ARC header field repeated");
		else {
			v->idx[k][inst] = i + 1;
			if (inst > v->res.n)
				v->res.n = inst;
		}
	}
}

static int
arc_key_add(struct arc_verifier *v, const char *selector, const char *domain)
{
	char name[ARC_KEYNAME_MAX];

	if ((size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", selector,
	    domain) >= sizeof(name))
		return -1;
	for (size_t i = 0; i < v->nkeys; i++)
		if (strcasecmp(v->keys[i].name, name) == 0)
			return (int)i;
	str_lcpy(v->keys[v->nkeys].name, name, sizeof(v->keys[0].name));
	return (int)v->nkeys++;
}

/* The seals: each parses, the cv= values make a chain (5.2 steps 2-3). */
static void
arc_check_seals(struct arc_verifier *v, const struct dkim_hfield *f)
{
	unsigned n = v->res.n;
	const char *err;

	v->seals = xcalloc(n + 1, sizeof(*v->seals));
	for (unsigned j = 1; j <= n && !v->failed; j++) {
		const struct dkim_hfield *sf = &f[v->idx[ARC_K_AS][j] - 1];
		const char *colon = memchr(sf->raw, ':', sf->raw_len);
		size_t off = (size_t)(colon + 1 - sf->raw);

		if (arc_seal_parse(colon + 1, sf->raw_len - off, &v->seals[j],
		    &err) < 0)
			arc_fail(v, "malformed ARC-Seal");
		else if ((v->seal_key[j] = arc_key_add(v,
		    v->seals[j].selector, v->seals[j].domain)) < 0)
			arc_fail(v, "ARC-Seal key name too long");
	}
	if (v->failed)
		return;
	str_lcpy(v->res.sealer, v->seals[n].domain, sizeof(v->res.sealer));
	if (v->seals[n].cv == ARC_CV_FAIL)
		arc_fail(v, "the chain failed before (cv=fail)");
	else if (v->seals[1].cv != ARC_CV_NONE)
		arc_fail(v, "ARC-Seal i=1 without cv=none");
	for (unsigned j = 2; j <= n && !v->failed; j++)
		if (v->seals[j].cv != ARC_CV_PASS)
			arc_fail(v, "ARC-Seal without cv=pass");
}

void
arc_verifier_share_bodies(struct arc_verifier *v, struct dkim_bodies *bs)
{
	dkim_bodies_share(&v->bodies, bs);
}

/* The newest AMS (and up to ARC_AMS_HASHED - 1 older ones, for
 * oldest-pass) parse and start hashing the body. */
static void
arc_start_ams(struct arc_verifier *v, const struct dkim_hfield *f)
{
	unsigned n = v->res.n;

	v->ams = xcalloc(ARC_AMS_FOR(n), sizeof(*v->ams));
	for (unsigned j = n; j >= 1 && n - j < ARC_AMS_HASHED; j--) {
		struct arc_ams *a = &v->ams[v->nams];
		const struct dkim_hfield *mf = &f[v->idx[ARC_K_AMS][j] - 1];
		const char *colon = memchr(mf->raw, ':', mf->raw_len), *err;
		size_t off = (size_t)(colon + 1 - mf->raw);
		bool bad = dkim_sig_parse_ams(colon + 1, mf->raw_len - off,
		    &a->sig, &err) < 0;

		for (size_t h = 0; !bad && h < a->sig.nh; h++)
			bad = strcasecmp(a->sig.hnames[h], "arc-seal") == 0;
		if (!bad)
			a->key = arc_key_add(v, a->sig.selector, a->sig.domain);
		if (bad || a->key < 0) {
			if (j == n)
				arc_fail(v, "malformed ARC-Message-Signature");
			return;		/* older ones: oldest-pass stops */
		}
		a->field = v->idx[ARC_K_AMS][j] - 1;
		a->body = dkim_bodies_want(dkim_bodies_of(&v->bodies),
		    a->sig.bcanon, a->sig.has_l ? a->sig.l : UINT64_MAX);
		a->hashing = true;
		v->nams++;
	}
}

static void
arc_verifier_header_done(struct arc_verifier *v)
{
	struct dkim_hfield *f;

	v->body = true;
	if (v->seal && !v->too_big) {
		v->seal_body = dkim_bodies_want(dkim_bodies_of(&v->bodies),
		    DKIM_C_RELAXED, UINT64_MAX);
		v->seal_hashing = true;
	}
	if (v->too_big) {
		arc_fail(v, "header section too big");
		return;
	}
	f = dkim_fields_view(&v->fs);
	arc_collect(v, f, v->fs.n);
	if (!v->failed && v->res.n == 0) {
		v->res.cv = ARC_CV_NONE;
		v->res.reason = "";
		v->decided = true;
	}
	for (unsigned j = 1; j <= v->res.n && !v->failed; j++)
		for (int k = 0; k < ARC_K_N; k++)
			if (v->idx[k][j] == 0)
				arc_fail(v, "incomplete ARC set");
	if (!v->failed && v->res.n > 0) {
		v->keys = xcalloc(ARC_KEYS_FOR(v->res.n), sizeof(*v->keys));
		arc_check_seals(v, f);
	}
	if (!v->failed && v->res.n > 0)
		arc_start_ams(v, f);
	free(f);
}

void
arc_verifier_share_header(struct arc_verifier *v)
{
	v->shared_header = true;
}

void
arc_verifier_header_end(struct arc_verifier *v, bool too_big)
{
	if (v->body)
		return;
	if (too_big)
		v->too_big = true;
	arc_verifier_header_done(v);
}

void
arc_verifier_feed(struct arc_verifier *v, const void *data, size_t n)
{
	if (!v->body) {
		size_t used;

		if (arc_verifier_parser(v) == NULL)
			return;		/* header bytes: the caller parses */
		used = mime_header_parser_feed(v->hp, data, n);

		if (mime_header_parser_flags(v->hp) & MIME_F_HEADER_TOO_BIG)
			v->too_big = true;
		if (!mime_header_parser_done(v->hp))
			return;
		arc_verifier_header_done(v);
		data = (const char *)data + used;
		n -= used;
	}
	for (size_t i = 0; i < v->nams; i++)
		if (v->ams[i].hashing)
			dkim_bodies_feed(v->bodies.bs, v->ams[i].body, data, n,
			    v->at);
	if (v->seal_hashing)
		dkim_bodies_feed(v->bodies.bs, v->seal_body, data, n, v->at);
	v->at += n;
}

bool
arc_verifier_ended_header(const struct arc_verifier *v)
{
	return v->body;
}

unsigned
arc_verifier_count(const struct arc_verifier *v)
{
	return v->res.n;
}

void
arc_verifier_end(struct arc_verifier *v)
{
	if (v->ended)
		return;
	v->ended = true;
	if (!v->body) {
		if (v->hp != NULL)
			mime_header_parser_finish(v->hp);
		arc_verifier_header_done(v);
	}
	for (size_t i = 0; i < v->nams; i++) {
		struct arc_ams *a = &v->ams[i];
		unsigned char bh[32];
		uint64_t length;

		if (!a->hashing)
			continue;
		dkim_bodies_result(v->bodies.bs, a->body, bh, &length);
		a->hashing = false;
		a->body_ok = !(a->sig.has_l && length < a->sig.l) &&
		    CRYPTO_memcmp(bh, a->sig.bh, 32) == 0;
	}
	if (v->seal_hashing) {
		uint64_t length;

		dkim_bodies_result(v->bodies.bs, v->seal_body, v->seal_bh,
		    &length);
		v->seal_hashing = false;
		v->seal_bh_ok = true;
	}
	if (v->nams > 0 && !v->ams[0].body_ok)
		arc_fail(v, "ARC-Message-Signature body hash did not verify");
	if (v->failed) {
		v->nkeys = 0;		/* nothing left to look up */
		v->decided = true;
	}
}

size_t
arc_verifier_nkeys(const struct arc_verifier *v)
{
	return v->decided ? 0 : v->nkeys;
}

const char *
arc_verifier_keyname(const struct arc_verifier *v, size_t i)
{
	return i < v->nkeys ? v->keys[i].name : NULL;
}

void
arc_verifier_key(struct arc_verifier *v, size_t i, enum dns_status st,
    const char *txt, size_t len, uint32_t ttl)
{
	struct arc_key *k;
	struct dkim_keyrec rec;
	const char *err;

	if (i >= v->nkeys || (k = &v->keys[i])->answered)
		return;
	k->answered = true;
	k->st = st;
	if (st != DNS_OK || txt == NULL)
		return;
	if (dkim_keycache_get(v->kc, k->name, txt, len, ttl, v->now, &rec,
	    &err) == 0)
		k->pk = rec.pk;
}

void
arc_verifier_set_keycache(struct arc_verifier *v, struct dkim_keycache *kc)
{
	v->kc = kc;
}

/* AMS a verifies with its key (the body hash was checked at the end). */
static bool
arc_ams_ok(struct arc_verifier *v, const struct dkim_hfield *f, size_t nf,
    const struct arc_ams *a)
{
	const struct dkim_hfield *sf = &f[a->field];
	EVP_PKEY *pk = v->keys[a->key].pk;
	struct fbuf raw, data;
	bool ok;

	if (!a->body_ok || pk == NULL)
		return false;
	fbuf_init(&raw, 0);
	fbuf_init(&data, 0);
	dkim_sig_strip_b_at(sf->raw, sf->raw_len, dkim_value_off(sf),
	    &a->sig.bspan, &raw);
	dkim_header_data(a->sig.hcanon, f, nf, (char (*)[DKIM_HNAME_MAX + 1])
	    a->sig.hnames, a->sig.nh, raw.data, raw.len, &data);
	ok = dkim_verify_data(pk, a->sig.algo, data.data, data.len, a->sig.b,
	    a->sig.b_len) == 1;
	fbuf_release(&raw);
	fbuf_release(&data);
	return ok;
}

/* The data ARC-Seal j signs (5.1.1): sets 1..j in order, AAR, AMS, AS,
 * relaxed; the last AS with b= emptied and without its CRLF. */
static void
arc_seal_data(const struct arc_verifier *v, const struct dkim_hfield *f,
    unsigned j, struct fbuf *out)
{
	fbuf_reserve(out, out->len + 2048 * j);
	for (unsigned k = 1; k <= j; k++)
		for (int t = 0; t < ARC_K_N; t++) {
			const struct dkim_hfield *h = &f[v->idx[t][k] - 1];
			struct fbuf raw;

			if (k < j || t != ARC_K_AS) {
				dkim_canon_header(DKIM_C_RELAXED, h->raw,
				    h->raw_len, false, out);
				continue;
			}
			fbuf_init(&raw, 0);
			dkim_sig_strip_b_at(h->raw, h->raw_len,
			    dkim_value_off(h), &v->seals[j].bspan, &raw);
			dkim_canon_header(DKIM_C_RELAXED, raw.data, raw.len,
			    true, out);
			fbuf_release(&raw);
		}
}

static bool
arc_seal_ok(const struct arc_verifier *v, const struct dkim_hfield *f,
    unsigned j)
{
	const struct arc_seal *as = &v->seals[j];
	EVP_PKEY *pk = v->keys[v->seal_key[j]].pk;
	struct fbuf data;
	bool ok;

	if (pk == NULL)
		return false;
	fbuf_init(&data, 0);
	arc_seal_data(v, f, j, &data);
	ok = dkim_verify_data(pk, as->algo, data.data, data.len, as->b,
	    as->b_len) == 1;
	fbuf_release(&data);
	return ok;
}

void
arc_verifier_decide(struct arc_verifier *v)
{
	struct dkim_hfield *f;
	unsigned n = v->res.n;

	if (v->decided)
		return;
	v->decided = true;
	f = dkim_fields_view(&v->fs);
	if (!arc_ams_ok(v, f, v->fs.n, &v->ams[0]))
		arc_fail(v, v->keys[v->ams[0].key].st == DNS_TEMPFAIL ?
		    "key lookup failed" :
		    "ARC-Message-Signature did not verify");
	for (unsigned j = n; j >= 1 && !v->failed; j--)
		if (!arc_seal_ok(v, f, j))
			arc_fail(v, v->keys[v->seal_key[j]].st == DNS_TEMPFAIL ?
			    "key lookup failed" : "ARC-Seal did not verify");
	if (!v->failed) {
		v->res.cv = ARC_CV_PASS;
		v->res.reason = "";
		v->res.oldest_pass = n;
		for (size_t k = 1; k < v->nams && arc_ams_ok(v, f, v->fs.n,
		    &v->ams[k]); k++)
			v->res.oldest_pass = n - (unsigned)k;
	}
	free(f);
}

const struct arc_result *
arc_verifier_result(const struct arc_verifier *v)
{
	return &v->res;
}

void
arc_verifier_ar(const struct arc_verifier *v, struct fbuf *out)
{
	const struct arc_result *r = &v->res;

	fbuf_addf(out, ";\r\n\tarc=%s", arc_cv_str(r->cv));
	if (r->cv == ARC_CV_PASS) {
		fbuf_addf(out, " (i=%u", r->n);
		/* d= is lowercase letters, digits, '-' and '.' when it
		 * parsed as a key name; only those are written. */
		if (strspn(r->sealer, "abcdefghijklmnopqrstuvwxyz0123456789-.")
		    == strlen(r->sealer) && r->sealer[0] != '\0')
			fbuf_addf(out, " d=%s", r->sealer);
		fbuf_addf(out, ") header.oldest-pass=%u", r->oldest_pass);
	} else if (r->cv == ARC_CV_FAIL && r->reason[0] != '\0')
		fbuf_addf(out, " (%s)", r->reason);
}

/* ---------------------------------------------------------- sealing */

/* Appends s folded: a new line when the current one would pass
 * ARC_FOLD. */
static void
arc_add(struct fbuf *out, size_t *col, const char *s)
{
	size_t n = strlen(s);

	if (*col > 1 && *col + n > ARC_FOLD) {
		fbuf_adds(out, "\r\n\t");
		*col = 1;
	}
	fbuf_adds(out, s);
	*col += n;
}

/* The new ARC-Seal: its tags, then b= over the chain with the new set. */
static int
arc_seal_field(struct arc_verifier *v, const struct dkim_sign_key *k,
    unsigned inst, enum arc_cv cv, time_t now, const struct fbuf *aar,
    const struct fbuf *ams, struct fbuf *out)
{
	struct dkim_hfield *f = dkim_fields_view(&v->fs);
	unsigned char sig[DKIM_SIG_MAX];
	struct fbuf field, data, b64;
	char tmp[600];
	size_t col = 0;
	int n;

	fbuf_init(&field, 0);
	fbuf_init(&data, 0);
	fbuf_init(&b64, 0);
	snprintf(tmp, sizeof(tmp), "ARC-Seal: i=%u; a=rsa-sha256; t=%lld;",
	    inst, (long long)now);
	arc_add(&field, &col, tmp);
	snprintf(tmp, sizeof(tmp), " cv=%s;", arc_cv_str(cv));
	arc_add(&field, &col, tmp);
	snprintf(tmp, sizeof(tmp), " d=%s;", k->domain);
	arc_add(&field, &col, tmp);
	snprintf(tmp, sizeof(tmp), " s=%s;", k->selector);
	arc_add(&field, &col, tmp);
	fbuf_adds(&field, "\r\n\tb=");
	/* The old sets in full (arc_seal_data empties the last b=, which
	 * is for verifying that seal), then the new one. */
	for (unsigned j = 1; j < inst; j++)
		for (int t = 0; t < ARC_K_N; t++) {
			const struct dkim_hfield *h = &f[v->idx[t][j] - 1];

			dkim_canon_header(DKIM_C_RELAXED, h->raw, h->raw_len,
			    false, &data);
		}
	dkim_canon_header(DKIM_C_RELAXED, aar->data, aar->len, false, &data);
	dkim_canon_header(DKIM_C_RELAXED, ams->data, ams->len, false, &data);
	dkim_canon_header(DKIM_C_RELAXED, field.data, field.len, true, &data);
	n = dkim_sign_data(k->key, data.data, data.len, sig, sizeof(sig));
	if (n > 0) {
		dkim_base64_encode(sig, (size_t)n, &b64);
		for (size_t i = 0; i < b64.len; i += 72) {
			if (i > 0)
				fbuf_adds(&field, "\r\n\t");
			fbuf_add(&field, b64.data + i, b64.len - i < 72 ?
			    b64.len - i : 72);
		}
		fbuf_adds(&field, "\r\n");
		fbuf_add(out, field.data, field.len);
	}
	fbuf_release(&field);
	fbuf_release(&data);
	fbuf_release(&b64);
	free(f);
	return n > 0 ? 0 : -1;
}

/* Can a set be added: 0, or -1 with why not. */
static int
arc_seal_can(const struct arc_verifier *v, const struct dkim_sign_key *k,
    const char **error_r)
{
	if (!v->seal || !v->seal_bh_ok || v->too_big)
		*error_r = "message not prepared for sealing";
	else if (!v->decided || v->res.cv == ARC_CV_FAIL)
		*error_r = "the ARC chain failed";
	else if (v->res.n >= ARC_MAX_INSTANCE)
		*error_r = "the chain has 50 ARC sets";
	else if (dkim_pkey_algo(k->key) != DKIM_A_RSA_SHA256)
		*error_r = "ARC seals with RSA keys only";
	else
		return 0;
	return -1;
}

int
arc_seal_message(struct arc_verifier *v, const struct dkim_sign_key *k,
    const char *authres, size_t len, time_t now, struct fbuf *out,
    const char **error_r)
{
	unsigned inst = v->res.n + 1;
	struct dkim_hfield *f;
	struct fbuf aar, ams;
	char head[64];
	int rc = -1;

	if (arc_seal_can(v, k, error_r) < 0)
		return -1;
	while (len > 0 && arc_is_fws(*authres)) {
		authres++;
		len--;
	}
	while (len > 0 && arc_is_fws(authres[len - 1]))
		len--;
	fbuf_init(&aar, 0);
	fbuf_init(&ams, 0);
	fbuf_addf(&aar, "ARC-Authentication-Results: i=%u; ", inst);
	fbuf_add(&aar, authres, len);
	fbuf_adds(&aar, "\r\n");
	snprintf(head, sizeof(head), "ARC-Message-Signature: i=%u", inst);
	f = dkim_fields_view(&v->fs);
	if (dkim_sign_fields_as(k, head, now, f, v->fs.n, v->seal_bh,
	    &ams) == 0 && arc_seal_field(v, k, inst, v->res.n == 0 ?
	    ARC_CV_NONE : ARC_CV_PASS, now, &aar, &ams, out) == 0) {
		fbuf_add(out, ams.data, ams.len);
		fbuf_add(out, aar.data, aar.len);
		rc = 0;
	} else
		*error_r = "signing failed";
	free(f);
	fbuf_release(&aar);
	fbuf_release(&ams);
	return rc;
}
