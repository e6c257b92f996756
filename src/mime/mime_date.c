/* Date fields (RFC 5322 section 3.3, obsolete forms of 4.3): an
 * optional day name, day, month name, year (two- and three-digit years
 * mapped as 4.3 says), hh:mm[:ss] and a zone: "+hhmm", "UT", "GMT", the
 * US zone names, and military letters (which 4.3 says to read as
 * "-0000", i.e. UTC).  Comments and extra white space are skipped.  The
 * arithmetic is done here (no timegm, no locale, no TZ).  No I/O. */
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "mime/mime_private.h"

#define MIME_DATE_WORDS 8

struct mime_date_word {
	const char *s;
	size_t n;
};

/* Splits v into words at white space, ',' and comments. */
static size_t
mime_date_words(const char *v, size_t len, struct mime_date_word *w)
{
	size_t i = 0, nw = 0, s;

	while (i < len && nw < MIME_DATE_WORDS) {
		if (v[i] == '(') {
			i = mime_skip_comment(v, len, i);
			continue;
		}
		if (mime_is_wsp(v[i]) || v[i] == ',') {
			i++;
			continue;
		}
		s = i;
		while (i < len && !mime_is_wsp(v[i]) && v[i] != ',' &&
		    v[i] != '(')
			i++;
		w[nw].s = v + s;
		w[nw++].n = i - s;
	}
	return nw;
}

/* Digits only, at most 4: the value, or -1. */
static int
mime_date_num(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
mime_date_month(const struct mime_date_word *w)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (w->n < 3)
		return -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(w->s, months + 3 * m, 3) == 0)
			return m + 1;
	return -1;
}

/* "hh:mm[:ss]" */
static int
mime_date_time(const struct mime_date_word *w, int *secs_r)
{
	int part[3] = { 0, 0, 0 }, np = 0;
	size_t i = 0, s;

	while (i <= w->n && np < 3) {
		s = i;
		while (i < w->n && w->s[i] != ':')
			i++;
		if ((part[np++] = mime_date_num(w->s + s, i - s)) < 0)
			return -1;
		i++;
	}
	if (np < 2 || i <= w->n || part[0] > 23 || part[1] > 59 ||
	    part[2] > 60)
		return -1;
	*secs_r = part[0] * 3600 + part[1] * 60 + part[2];
	return 0;
}

/* The zone's offset east of UTC in minutes; unknown names count as 0. */
static int
mime_date_zone(const struct mime_date_word *w)
{
	static const struct { const char *name; int off; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	int hhmm;

	if (w->n == 5 && (w->s[0] == '+' || w->s[0] == '-') &&
	    (hhmm = mime_date_num(w->s + 1, 4)) >= 0 &&
	    hhmm % 100 < 60) {
		int off = hhmm / 100 * 60 + hhmm % 100;

		return w->s[0] == '-' ? -off : off;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == w->n &&
		    strncasecmp(w->s, names[i].name, w->n) == 0)
			return names[i].off;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
mime_date_days(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
mime_date_parse(const char *v, size_t len, time_t *t_r, int *zone_r)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	struct mime_date_word w[MIME_DATE_WORDS];
	size_t nw = mime_date_words(v, len, w), k = 0;
	int day, mon, year, secs, zone = 0;

	/* An optional day name ("Mon" or "Monday"). */
	if (nw > 0 && mime_date_num(w[0].s, w[0].n) < 0)
		k = 1;
	if (nw < k + 4)
		return -1;
	if ((day = mime_date_num(w[k].s, w[k].n)) < 1 ||
	    (mon = mime_date_month(&w[k + 1])) < 0 ||
	    (year = mime_date_num(w[k + 2].s, w[k + 2].n)) < 0 ||
	    mime_date_time(&w[k + 3], &secs) < 0)
		return -1;
	if (w[k + 2].n == 2)
		year += year < 50 ? 2000 : 1900;
	else if (w[k + 2].n == 3)
		year += 1900;
	if (day > mdays[mon - 1] || year < 1900)
		return -1;
	if (nw > k + 4)
		zone = mime_date_zone(&w[k + 4]);
	*t_r = (time_t)(mime_date_days(year, mon, day) * 86400 + secs -
	    (long long)zone * 60);
	*zone_r = zone;
	return 0;
}
