/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3) to and from
 * UTF-8.  Decoding accepts only the canonical form the encoder
 * produces, so every name has exactly one spelling on the wire:
 * printable US-ASCII stands for itself (never base64-encoded), "&-" is
 * '&', other characters are UTF-16BE in modified base64 between '&' and
 * '-' with zero padding bits, no two encoded runs are adjacent, and
 * surrogates come in pairs.  U+0000 is refused both ways. */
#ifndef FERRY_MUTF7_H
#define FERRY_MUTF7_H
#include <stddef.h>

struct fbuf;

/* Appends the UTF-8 form of in[0 .. len-1]; 0, or -1 when in is not
 * canonical modified UTF-7 (out then holds a partial result) or out's
 * limit is reached. */
int mutf7_decode(const char *in, size_t len, struct fbuf *out);
/* Appends the modified UTF-7 form of UTF-8 in; 0, or -1 when in is not
 * valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF, NUL). */
int mutf7_encode(const char *in, size_t len, struct fbuf *out);

#endif
