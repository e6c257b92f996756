/* TLS with OpenSSL 3 for servers (STARTTLS and implicit TLS) and for the
 * SMTP client.  Modern defaults: TLS 1.2 and 1.3 only, no compression,
 * no renegotiation, server cipher preference.  Server contexts load
 * tls_cert/tls_key (PEM, chain allowed) plus tls_sni entries chosen by
 * SNI; tls_server_reload() swaps them in on SIGHUP.  Sessions wrap an
 * existing socket in a libevent OpenSSL filter bufferevent. */
#ifndef FERRY_TLS_H
#define FERRY_TLS_H
#include <stdbool.h>
#include <stddef.h>

struct conf;
struct bufferevent;
struct event_base;
struct tls_server;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/* Loads the server certificates from conf.  0, or -1 with *error_r.
 * A conf without tls_cert gives a server that cannot do TLS (*sp NULL
 * and 0 returned). */
int tls_server_create(struct tls_server **sp, const struct conf *conf,
    const char **error_r);
/* Rereads the files; on failure the old certificates stay.  0 or -1. */
int tls_server_reload(struct tls_server *s, const struct conf *conf,
    const char **error_r);
void tls_server_free(struct tls_server **sp);
/* A new SSL for one accepted connection (server side). */
SSL *tls_server_ssl(struct tls_server *s);

/* Client context: verify = check the certificate chain against the
 * system CAs and the name; else anything is accepted.  NULL on error. */
SSL_CTX *tls_client_ctx(bool verify);
/* A new client SSL with SNI = servername and, if verify, host-name
 * checking against servername. */
SSL *tls_client_ssl(SSL_CTX *ctx, const char *servername, bool verify);

/* "TLSv1.3" and "TLS_AES_256_GCM_SHA384" of an established session,
 * for Received headers and logs. */
const char *tls_version(const SSL *ssl);
const char *tls_cipher(const SSL *ssl);
/* The last OpenSSL error as text (for logs), clearing the queue. */
const char *tls_error(void);

#endif
