/* Small string helpers that glibc lacks or gets wrong for us. */
#ifndef FERRY_STRUTIL_H
#define FERRY_STRUTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* BSD strlcpy: copies at most size-1 bytes, always terminates (size > 0),
 * returns strlen(src); truncation when the result >= size. */
size_t str_lcpy(char *dst, const char *src, size_t size);
/* ASCII lower-casing in place; returns s. */
char *str_lower(char *s);
bool str_ieq(const char *a, const char *b);
/* Trim ASCII white space at both ends in place; returns the new start. */
char *str_trim(char *s);
/* "50M", "512K", "1G", "1000": 0 or -1.  Binary multiples (M = 1048576). */
int str_parse_size(const char *s, uint64_t *r);
/* "30s", "5m", "2h", "5d", "90" (seconds): 0 or -1. */
int str_parse_duration(const char *s, uint64_t *seconds_r);
/* Unsigned decimal that fits in [min, max]: 0 or -1. */
int str_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *r);
/* Human form of a size for messages: "50M", "4096". */
void str_format_size(char *dst, size_t size, uint64_t v);
/* A time span in its largest whole unit: "45s", "12m", "3h", "2d" (a
 * negative span is "0s"). */
void str_format_span(char *dst, size_t size, long long secs);
/* A hash of s for in-memory tables (FNV-1a, 32 bits); not for anything
 * an attacker's choice of keys could abuse beyond slower lookups. */
uint32_t str_hash(const char *s);
/* The same in 64 bits over n octets of p, going on from h: start with
 * STR_HASH64_INIT, feed the pieces of a key one after another (a field
 * separator is a piece too). */
#define STR_HASH64_INIT 0xcbf29ce484222325ULL
uint64_t str_hash64(uint64_t h, const void *p, size_t n);
/* The value of one hexadecimal digit (either case), or -1. */
int str_hexval(char c);
/* t as an RFC 5322 date-time in UTC ("Sat, 05 Dec 2026 11:40:19
 * +0000"), English names whatever the locale, into dst (size >= 32). */
void str_date_utc(char *dst, size_t size, time_t t);
/* True when the comma-separated list (no spaces) holds item exactly as
 * one of its members. */
bool str_list_has(const char *list, const char *item);

#endif
