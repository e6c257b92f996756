/* DKIM keys as operations (ops_dkim.h): keygen for a local domain (the
 * store says which), the listing with each key's TXT record, and the DNS
 * check that compares the published record with the key: the same key
 * type and the same public key octets, whatever else the record holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "conf/conf.h"
#include "lib/xalloc.h"
#include "msgauth/dkim.h"
#include "msgauth/dkim_keys.h"
#include "net/dns.h"
#include "ops/ops_account.h"
#include "ops/ops_dkim.h"

const char *
ops_dkim_dns_str(enum ops_dkim_dns d)
{
	static const char *const names[] = { "unchecked", "match",
	    "mismatch", "missing", "tempfail" };

	return names[d];
}

void
ops_dkim_key_clear(struct ops_dkim_key *k)
{
	free(k->record);
	free(k->published);
	memset(k, 0, sizeof(*k));
}

void
ops_dkim_list_free(struct ops_dkim_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		ops_dkim_key_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Fills out from a key file's description and its key. */
static void
ops_dkim_describe(const struct dkim_keyinfo *ki, EVP_PKEY *key,
    struct ops_dkim_key *out)
{
	struct fbuf rec;

	memset(out, 0, sizeof(*out));
	snprintf(out->domain, sizeof(out->domain), "%s", ki->domain);
	snprintf(out->selector, sizeof(out->selector), "%s", ki->selector);
	snprintf(out->algorithm, sizeof(out->algorithm), "%s",
	    dkim_algo_key_str(ki->algo));
	out->bits = ki->bits;
	out->active = ki->active;
	snprintf(out->name, sizeof(out->name), "%s._domainkey.%s",
	    ki->selector, ki->domain);
	fbuf_init(&rec, 0);
	if (key != NULL)
		(void)dkim_key_record(key, &rec);
	out->record = fbuf_steal(&rec);
	out->published = xstrdup("");
}

static int
ops_dkim_algo(const char *s, enum dkim_algo *a)
{
	if (s == NULL || strcmp(s, "rsa") == 0)
		*a = DKIM_A_RSA_SHA256;
	else if (strcmp(s, "ed25519") == 0)
		*a = DKIM_A_ED25519_SHA256;
	else
		return -1;
	return 0;
}

int
ops_dkim_keygen(const struct ops_ctx *c, const char *domain_input,
    const char *selector, const char *algorithm, unsigned bits,
    struct ops_dkim_key *out, struct ops_status *st)
{
	char domain[254], dir[PATH_MAX], sel[64];
	struct dkim_keyinfo ki;
	enum dkim_algo algo;
	const char *error;
	EVP_PKEY *key;
	time_t now = time(NULL);
	struct tm tm;

	if (ops_dkim_algo(algorithm, &algo) < 0)
		return ops_fail(st, OPS_EINVAL, "%s: unknown algorithm (rsa or "
		    "ed25519)", algorithm);
	if (ops_domain_arg(c, domain_input, domain, sizeof(domain), st) < 0)
		return -1;
	gmtime_r(&now, &tm);
	if (selector == NULL)
		snprintf(sel, sizeof(sel), "%s-%04d%02d%02d",
		    dkim_algo_key_str(algo), tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday);
	else
		snprintf(sel, sizeof(sel), "%s", selector);
	if (!dkim_selector_valid(sel))
		return ops_fail(st, OPS_EINVAL, "%s: invalid selector", sel);
	if (bits == 0)
		bits = 2048;
	if (dkim_key_dir(c->conf, dir, sizeof(dir)) < 0)
		return ops_fail(st, OPS_EFAIL, "dkim_key_dir: path too long");
	if (dkim_key_generate(dir, domain, sel, algo, bits, &key, &error) <
	    0)
		return ops_fail(st, strstr(error, "exists") != NULL ?
		    OPS_EEXIST : (strstr(error, "bits") != NULL ? OPS_EINVAL :
		    OPS_EFAIL), "%s %s: %s", domain, sel, error);
	memset(&ki, 0, sizeof(ki));
	snprintf(ki.domain, sizeof(ki.domain), "%s", domain);
	snprintf(ki.selector, sizeof(ki.selector), "%s", sel);
	ki.algo = algo;
	ki.bits = (unsigned)EVP_PKEY_get_bits(key);
	ki.active = true;
	ops_dkim_describe(&ki, key, out);
	EVP_PKEY_free(key);
	return ops_ok(st);
}

int
ops_dkim_list(const struct ops_ctx *c, const char *domain_input,
    struct ops_dkim_list *out, struct ops_status *st)
{
	char domain[254] = "", dir[PATH_MAX];
	struct dkim_keyinfo *l;
	struct ops_status ignored;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (domain_input != NULL && ops_domain_arg(c, domain_input, domain,
	    sizeof(domain), st) < 0)
		return -1;
	if (dkim_key_dir(c->conf, dir, sizeof(dir)) < 0)
		return ops_fail(st, OPS_EFAIL, "dkim_key_dir: path too long");
	if (dkim_key_list(dir, &l, &n) < 0)
		return errno == ENOENT ? ops_ok(st) : ops_fail(st, OPS_EFAIL,
		    "%s: %s", dir, strerror(errno));
	out->v = xcalloc(n + 1, sizeof(*out->v));
	for (size_t i = 0; i < n; i++) {
		const char *error;
		EVP_PKEY *key;

		if ((domain[0] != '\0' && strcmp(l[i].domain, domain) != 0) ||
		    ops_check_domain(c->actor, l[i].domain, &ignored) < 0)
			continue;
		key = dkim_key_read(l[i].path, &error);
		ops_dkim_describe(&l[i], key, &out->v[out->n++]);
		EVP_PKEY_free(key);
	}
	free(l);
	return ops_ok(st);
}

/* ---------------------------------------------------------- DNS check */

struct ops_dkim_check {
	struct ops_dkim_list *l;
	ops_dkim_checked_cb *cb;
	void *ctx;
	size_t pending;
	struct event *ev_done;
};

struct ops_dkim_check_one {
	struct ops_dkim_check *chk;
	struct ops_dkim_key *k;
};

bool
ops_dkim_record_same(const char *ours, const char *theirs, size_t len)
{
	struct dkim_key *a = xmalloc(sizeof(*a)), *b = xmalloc(sizeof(*b));
	const char *err;
	bool same = dkim_key_parse(ours, strlen(ours), a, &err) == 0 &&
	    dkim_key_parse(theirs, len, b, &err) == 0 && !b->revoked &&
	    a->algo == b->algo && a->p_len == b->p_len &&
	    memcmp(a->p, b->p, a->p_len) == 0;

	free(a);
	free(b);
	return same;
}

static void
ops_dkim_check_answer(const struct dns_result *r, void *arg)
{
	struct ops_dkim_check_one *one = arg;
	struct ops_dkim_check *chk = one->chk;
	struct ops_dkim_key *k = one->k;

	if (r->status == DNS_TEMPFAIL)
		k->dns = OPS_DKIM_DNS_TEMPFAIL;
	else if (r->status != DNS_OK)
		k->dns = OPS_DKIM_DNS_MISSING;
	else {
		k->dns = OPS_DKIM_DNS_MISMATCH;
		for (size_t i = 0; i < r->n; i++) {
			if (r->rr[i].txt == NULL)
				continue;
			free(k->published);
			k->published = xstrdup(r->rr[i].txt);
			if (ops_dkim_record_same(k->record, r->rr[i].txt,
			    r->rr[i].txt_len)) {
				k->dns = OPS_DKIM_DNS_MATCH;
				break;
			}
		}
	}
	free(one);
	if (--chk->pending == 0)
		event_active(chk->ev_done, EV_TIMEOUT, 1);
}

static void
ops_dkim_check_done(evutil_socket_t fd, short what, void *arg)
{
	struct ops_dkim_check *chk = arg;

	event_free(chk->ev_done);
	chk->cb(chk->l, chk->ctx);
	free(chk);
}

void
ops_dkim_check_dns(struct event_base *base, struct dns *dns,
    struct ops_dkim_list *l, ops_dkim_checked_cb *cb, void *ctx)
{
	struct ops_dkim_check *chk = xcalloc(1, sizeof(*chk));

	chk->l = l;
	chk->cb = cb;
	chk->ctx = ctx;
	chk->ev_done = evtimer_new(base, ops_dkim_check_done, chk);
	for (size_t i = 0; i < l->n; i++) {
		struct ops_dkim_check_one *one = xcalloc(1, sizeof(*one));

		one->chk = chk;
		one->k = &l->v[i];
		chk->pending++;
		(void)dns_lookup(dns, l->v[i].name, DNS_T_TXT,
		    ops_dkim_check_answer, one);
	}
	if (chk->pending == 0)
		event_active(chk->ev_done, EV_TIMEOUT, 1);
}
