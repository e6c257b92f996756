/* SASL helpers shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and
 * IMAP AUTHENTICATE: base64 (RFC 4648) and the PLAIN mechanism (RFC 4616).
 * No I/O; LOGIN's two-step dialogue lives in the sessions. */
#ifndef FERRY_SASL_H
#define FERRY_SASL_H
#include <stddef.h>

#define SASL_FIELD_MAX 256

/* Decodes base64 text (no white space) into dst; returns the length or
 * -1 when the input is not valid base64 or does not fit. */
int sasl_base64_decode(const char *in, size_t len, char *dst, size_t size);
/* Encodes n octets; returns the length written (NUL-terminated) or -1. */
int sasl_base64_encode(const void *in, size_t n, char *dst, size_t size);
/* PLAIN: base64 of "authzid NUL authcid NUL passwd".  Fills the three
 * fields (each < SASL_FIELD_MAX, no NULs); 0, or -1 when malformed.  An
 * authzid other than empty or equal to authcid is refused by callers. */
int sasl_plain_decode(const char *b64, size_t len,
    char authzid[SASL_FIELD_MAX], char authcid[SASL_FIELD_MAX],
    char passwd[SASL_FIELD_MAX]);

#endif
