/* String helpers: bounded copy, ASCII case, and the size/duration syntax
 * used by the configuration file and the command line ("50M", "5d"). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/strutil.h"

size_t
str_lcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
str_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

bool
str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

char *
str_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
str_parse_suffixed(const char *s, const char *suffixes,
    const uint64_t *mult, uint64_t *r)
{
	char *end;
	unsigned long long v;
	const char *p;
	uint64_t m = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		p = strchr(suffixes, tolower((unsigned char)*end));
		if (p == NULL || end[1] != '\0')
			return -1;
		m = mult[p - suffixes];
	}
	if (__builtin_mul_overflow((uint64_t)v, m, r))
		return -1;
	return 0;
}

int
str_parse_size(const char *s, uint64_t *r)
{
	static const uint64_t mult[] = { 1, 1024, 1024 * 1024,
		1024ULL * 1024 * 1024 };

	return str_parse_suffixed(s, "bkmg", mult, r);
}

int
str_parse_duration(const char *s, uint64_t *seconds_r)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400, 604800 };

	return str_parse_suffixed(s, "smhdw", mult, seconds_r);
}

int
str_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *r)
{
	uint64_t v;
	static const uint64_t one[] = { 1 };

	if (str_parse_suffixed(s, "", one, &v) < 0 || v < min || v > max)
		return -1;
	*r = v;
	return 0;
}

void
str_format_size(char *dst, size_t size, uint64_t v)
{
	if (v != 0 && v % (1024ULL * 1024 * 1024) == 0)
		snprintf(dst, size, "%lluG", (unsigned long long)(v >> 30));
	else if (v != 0 && v % (1024 * 1024) == 0)
		snprintf(dst, size, "%lluM", (unsigned long long)(v >> 20));
	else if (v != 0 && v % 1024 == 0)
		snprintf(dst, size, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(dst, size, "%llu", (unsigned long long)v);
}

uint32_t
str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

uint64_t
str_hash64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

int
str_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
str_date_utc(char *dst, size_t size, time_t t)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(dst, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool
str_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, item, n) == 0)
			return true;
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

void
str_format_span(char *dst, size_t size, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(dst, size, "%llds", secs);
	else if (secs < 7200)
		snprintf(dst, size, "%lldm", secs / 60);
	else if (secs < 172800)
		snprintf(dst, size, "%lldh", secs / 3600);
	else
		snprintf(dst, size, "%lldd", secs / 86400);
}
