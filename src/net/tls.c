/* TLS contexts with OpenSSL 3: one server context per configured
 * certificate (tls_cert/tls_key plus one per tls_sni entry) chosen by
 * the client's SNI, and client contexts for outbound SMTP.  Protocols
 * are TLS 1.2 and 1.3 only; compression, renegotiation and session
 * tickets are off (no ticket key to rotate across processes).  The
 * bufferevent wrapping lives with the protocol code (smtp_tls.c ...):
 * this file only makes SSL objects.  RFC 8314, RFC 3207 context. */
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "net/tls.h"

/* TLS 1.2 suites: forward secrecy and AEAD only (Mozilla "intermediate"). */
#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_sni_ctx {
	char domain[CONF_HOST_MAX + 1];	/* lower case */
	SSL_CTX *ctx;
};

/* One generation of contexts; a reload builds a new one and swaps it
 * in whole, so a failed reload never leaves a half-loaded set. */
struct tls_ctxset {
	SSL_CTX *dflt;
	struct tls_sni_ctx *sni;
	size_t nsni;
};

struct tls_server {
	struct tls_ctxset set;
};

const char *
tls_error(void)
{
	static char buf[256];
	unsigned long e, last = 0;

	/* The queue may hold several entries; the last one is the most
	 * specific (e.g. "no such file" under "PEM lib"). */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown TLS error";
	ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

/* Handshakes counted for /metrics (metrics.h): the SSL's ex_data slot
 * says where its handshake is; one still under way when the SSL is
 * freed (an alert, a peer gone, a timeout) failed. */
#define TLS_HS_SERVER ((void *)1)	/* under way, as server */
#define TLS_HS_CLIENT ((void *)2)	/* under way, as client */
#define TLS_HS_DONE ((void *)3)

static int tls_hs_index = -1;
static pthread_once_t tls_hs_once = PTHREAD_ONCE_INIT;

static void
tls_hs_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	if (ptr == TLS_HS_SERVER || ptr == TLS_HS_CLIENT)
		metrics_inc(&metrics_shm->tls[ptr == TLS_HS_SERVER ?
		    METRICS_TLS_SERVER : METRICS_TLS_CLIENT]
		    [METRICS_TLS_FAILED]);
}

static void
tls_hs_init(void)
{
	tls_hs_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_hs_free);
}

static void
tls_hs_info(const SSL *ssl, int where, int ret)
{
	void *st = SSL_get_ex_data(ssl, tls_hs_index);

	/* TLS 1.3 post-handshake messages may start and finish again:
	 * only the first handshake counts. */
	if ((where & SSL_CB_HANDSHAKE_START) && st == NULL)
		SSL_set_ex_data((SSL *)ssl, tls_hs_index, SSL_is_server(ssl) ?
		    TLS_HS_SERVER : TLS_HS_CLIENT);
	else if ((where & SSL_CB_HANDSHAKE_DONE) && (st == TLS_HS_SERVER ||
	    st == TLS_HS_CLIENT)) {
		metrics_inc(&metrics_shm->tls[st == TLS_HS_SERVER ?
		    METRICS_TLS_SERVER : METRICS_TLS_CLIENT][METRICS_TLS_OK]);
		SSL_set_ex_data((SSL *)ssl, tls_hs_index, TLS_HS_DONE);
	}
}

static SSL *
tls_hs_watch(SSL *ssl)
{
	pthread_once(&tls_hs_once, tls_hs_init);
	if (ssl != NULL && tls_hs_index >= 0)
		SSL_set_info_callback(ssl, tls_hs_info);
	return ssl;
}

static void
tls_ctx_common(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12);
	/* libevent's filter may hand OpenSSL a different buffer address
	 * when it retries a write. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
}

static SSL_CTX *
tls_server_ctx_load(const char *cert, const char *key, const char **error_r)
{
	static char err[PATH_MAX + 300];
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*error_r = tls_error();
		return NULL;
	}
	tls_ctx_common(ctx);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* No TLS 1.3 tickets either: nobody resumes (one connection per
	 * submission), and the extra record after the handshake costs a
	 * delayed-ACK round (~40 ms) before the client's first command. */
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, sizeof(err), "%s: %s", cert, tls_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, sizeof(err), "%s: %s", key, tls_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, sizeof(err), "%s: key does not match %s", key,
		    cert);
		ERR_clear_error();
		goto fail;
	}
	/* Per-process context id: needed for the internal session cache
	 * to resume sessions without client certificates. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ferry", 5);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	*error_r = err;
	return NULL;
}

static void
tls_ctxset_free(struct tls_ctxset *set)
{
	for (size_t i = 0; i < set->nsni; i++)
		SSL_CTX_free(set->sni[i].ctx);
	free(set->sni);
	SSL_CTX_free(set->dflt);
	memset(set, 0, sizeof(*set));
}

/* Picks the SNI certificate: exact name, then the entry for a parent
 * domain (tls_sni = example.com also serves mail.example.com is NOT
 * done: certificates name hosts, so only exact matches switch). */
static int
tls_server_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *s = arg;
	const char *name;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || s == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (size_t i = 0; i < s->set.nsni; i++) {
		if (str_ieq(s->set.sni[i].domain, name)) {
			SSL_set_SSL_CTX(ssl, s->set.sni[i].ctx);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static int
tls_ctxset_load(struct tls_ctxset *set, const struct conf *conf,
    const char **error_r)
{
	memset(set, 0, sizeof(*set));
	set->dflt = tls_server_ctx_load(conf->tls_cert, conf->tls_key,
	    error_r);
	if (set->dflt == NULL)
		return -1;
	if (conf->ntls_sni > 0)
		set->sni = xcalloc(conf->ntls_sni, sizeof(*set->sni));
	for (size_t i = 0; i < conf->ntls_sni; i++) {
		const struct conf_sni *n = &conf->tls_sni[i];
		struct tls_sni_ctx *e = &set->sni[i];

		str_lcpy(e->domain, n->domain, sizeof(e->domain));
		str_lower(e->domain);
		if ((e->ctx = tls_server_ctx_load(n->cert, n->key,
		    error_r)) == NULL) {
			tls_ctxset_free(set);
			return -1;
		}
		set->nsni++;
	}
	return 0;
}

int
tls_server_create(struct tls_server **sp, const struct conf *conf,
    const char **error_r)
{
	struct tls_server *s;

	*sp = NULL;
	if (conf->tls_cert[0] == '\0')
		return 0;
	s = xcalloc(1, sizeof(*s));
	if (tls_ctxset_load(&s->set, conf, error_r) < 0) {
		free(s);
		return -1;
	}
	SSL_CTX_set_tlsext_servername_callback(s->set.dflt,
	    tls_server_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(s->set.dflt, s);
	*sp = s;
	return 0;
}

int
tls_server_reload(struct tls_server *s, const struct conf *conf,
    const char **error_r)
{
	struct tls_ctxset set;

	if (s == NULL || conf->tls_cert[0] == '\0')
		return 0;
	if (tls_ctxset_load(&set, conf, error_r) < 0)
		return -1;
	SSL_CTX_set_tlsext_servername_callback(set.dflt, tls_server_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(set.dflt, s);
	/* Established sessions hold their own references (SSL_new and
	 * SSL_set_SSL_CTX up-ref the context), so freeing ours is safe. */
	tls_ctxset_free(&s->set);
	s->set = set;
	return 0;
}

void
tls_server_free(struct tls_server **sp)
{
	struct tls_server *s = *sp;

	if (s == NULL)
		return;
	tls_ctxset_free(&s->set);
	free(s);
	*sp = NULL;
}

SSL *
tls_server_ssl(struct tls_server *s)
{
	SSL *ssl;

	if (s == NULL || s->set.dflt == NULL)
		return NULL;
	if ((ssl = SSL_new(s->set.dflt)) == NULL)
		log_warnx("tls ssl-new-failed error=%s", log_q(tls_error()));
	return tls_hs_watch(ssl);
}

SSL_CTX *
tls_client_ctx(bool verify)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		log_warnx("tls client-ctx-failed error=%s", log_q(tls_error()));
		return NULL;
	}
	tls_ctx_common(ctx);
	/* Session tickets stay off for the client too: one connection per
	 * delivery, and no ticket cache to keep per destination. */
	if (verify) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			log_warnx("tls client-ca-failed error=%s",
			    log_q(tls_error()));
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

SSL *
tls_client_ssl(SSL_CTX *ctx, const char *servername, bool verify)
{
	SSL *ssl;

	if ((ssl = tls_hs_watch(SSL_new(ctx))) == NULL) {
		log_warnx("tls ssl-new-failed error=%s", log_q(tls_error()));
		return NULL;
	}
	/* SNI is a host name, never an address literal (RFC 6066 3). */
	if (servername != NULL && servername[0] != '\0' &&
	    servername[0] != '[' && strchr(servername, ':') == NULL &&
	    strspn(servername, "0123456789.") != strlen(servername))
		SSL_set_tlsext_host_name(ssl, servername);
	if (verify && servername != NULL && servername[0] != '\0') {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, servername) != 1) {
			log_warnx("tls set-host-failed host=%s",
			    log_q(servername));
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

const char *
tls_version(const SSL *ssl)
{
	return ssl != NULL ? SSL_get_version(ssl) : "none";
}

const char *
tls_cipher(const SSL *ssl)
{
	const char *c;

	if (ssl == NULL)
		return "none";
	c = SSL_get_cipher_name(ssl);
	return c != NULL ? c : "none";
}
