/* The checks of vacation settings that need no store (ops_vacation.h):
 * dates, the subject and the body.  No I/O, for the fuzzer
 * (tests/fuzz/fuzz_vacation.c).  Dates are UTC with our own calendar
 * arithmetic (no timegm, no TZ), years 1970 to 9999. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/fbuf.h"
#include "ops/ops_vacation.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
ops_vacation_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
ops_vacation_mdays(int y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* n decimal digits at *p into *v; advances *p.  false when not. */
static bool
ops_vacation_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/* "THH:MM[:SS]" (or with a space) at p, then an optional Z. */
static int
ops_vacation_parse_time(const char *p, int *h, int *mi, int *sec)
{
	*sec = 0;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!ops_vacation_digits(&p, 2, h) || *p++ != ':' ||
	    !ops_vacation_digits(&p, 2, mi))
		return -1;
	if (*p == ':' && (p++, !ops_vacation_digits(&p, 2, sec)))
		return -1;
	if (*p == 'Z' || *p == 'z')
		p++;
	if (*p != '\0' || *h > 23 || *mi > 59 || *sec > 59)
		return -1;
	return 0;
}

int
ops_vacation_parse_date(const char *s, bool end_of_day, int64_t *t_r,
    const char **error_r)
{
	const char *p = s;
	int y, m, d, h = 0, mi = 0, sec = 0;

	if (!ops_vacation_digits(&p, 4, &y) || *p++ != '-' ||
	    !ops_vacation_digits(&p, 2, &m) || *p++ != '-' ||
	    !ops_vacation_digits(&p, 2, &d) ||
	    (*p != '\0' && ops_vacation_parse_time(p, &h, &mi, &sec) < 0)) {
		*error_r = "not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)";
		return -1;
	}
	if (y < 1970 || m < 1 || m > 12 || d < 1 ||
	    d > ops_vacation_mdays(y, m)) {
		*error_r = "no such day";
		return -1;
	}
	if (*p == '\0' && end_of_day) {
		h = 23;
		mi = sec = 59;
	}
	*t_r = ops_vacation_days(y, m, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

void
ops_vacation_format_date(int64_t t, char *dst, size_t size)
{
	int64_t days = t / 86400, secs = t % 86400, z, era, doe, yoe, y, doy,
	    mp, d, m;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* The inverse of ops_vacation_days. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	snprintf(dst, size, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
	    (long long)y, (long long)m, (long long)d, (long long)(secs / 3600),
	    (long long)(secs / 60 % 60), (long long)(secs % 60));
}

/* Octets of the UTF-8 sequence at p (shortest form, no surrogates, at
 * most U+10FFFF), 0 when there is none. */
static size_t
ops_vacation_utf8(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Checks text: UTF-8; control characters refused except those in
 * allowed.  0 or -1 with a static reason. */
static int
ops_vacation_text(const char *s, size_t len, const char *allowed,
    const char **error_r)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n) {
		if (p[i] == '\0') {
			*error_r = "contains a NUL byte";
			return -1;
		}
		if ((p[i] < 0x20 || p[i] == 0x7f) &&
		    strchr(allowed, p[i]) == NULL) {
			*error_r = "contains a control character";
			return -1;
		}
		if ((n = ops_vacation_utf8(p + i, len - i)) == 0) {
			*error_r = "is not valid UTF-8";
			return -1;
		}
	}
	return 0;
}

int
ops_vacation_check_subject(const char *s, size_t len, const char **error_r)
{
	if (len > OPS_VACATION_SUBJECT_MAX) {
		*error_r = "too long (at most 200 octets)";
		return -1;
	}
	return ops_vacation_text(s, len, "", error_r);
}

int
ops_vacation_norm_body(const char *p, size_t len, struct fbuf *out,
    const char **error_r)
{
	if (len > OPS_VACATION_BODY_MAX) {
		*error_r = "too long (at most 65536 octets)";
		return -1;
	}
	if (ops_vacation_text(p, len, "\t\r\n", error_r) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\r')
			fbuf_addc(out, p[i]);
		else if (i + 1 >= len || p[i + 1] != '\n') {
			*error_r = "contains a CR without LF";
			return -1;
		}
	}
	return 0;
}
