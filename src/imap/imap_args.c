/* Typed IMAP arguments (imap_args.h), part one: strings, numbers,
 * sequence sets (RFC 9051 section 9 "sequence-set", RFC 5182 "$"),
 * dates and date-times (section 9 "date", "date-time"), flag lists and
 * STORE (section 6.4.6, RFC 7162 UNCHANGEDSINCE).  FETCH items are in
 * imap_fetch_args.c and SEARCH keys in imap_search_args.c.  Strict on
 * what the grammar says, since these values reach the mailbox layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

static bool
imap_has_nul(const struct imap_arg *a)
{
	return memchr(a->str, '\0', a->len) != NULL;
}

bool
imap_arg_string(const struct imap_arg *a, const char **s_r)
{
	if ((a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL) ||
	    imap_has_nul(a))
		return false;
	*s_r = a->str;
	return true;
}

/* What an atom from the reader may hold that no ASTRING-CHAR is: the
 * reader lets a "[...]" section (BODY[...]) carry spaces, parentheses
 * and quotes; '[' and ']' themselves are ASTRING-CHARs (RFC 9051
 * section 9), and '\\' is refused too (it only quotes in strings). */
#define IMAP_NOT_ASTRING_CHARS "\\ ()\""

bool
imap_arg_list_mailbox(const struct imap_arg *a, const char **s_r)
{
	if (a->type == IMAP_ARG_ATOM && a->len > 0 &&
	    strpbrk(a->str, IMAP_NOT_ASTRING_CHARS) == NULL) {
		*s_r = a->str;
		return true;
	}
	return imap_arg_string(a, s_r);
}

bool
imap_arg_astring(const struct imap_arg *a, const char **s_r)
{
	if (a->type == IMAP_ARG_ATOM)
		return a->len > 0 &&
		    strpbrk(a->str, "%*" IMAP_NOT_ASTRING_CHARS) == NULL &&
		    (*s_r = a->str, true);
	return imap_arg_string(a, s_r);
}

bool
imap_arg_atom_is(const struct imap_arg *a, const char *word)
{
	return a->type == IMAP_ARG_ATOM && str_ieq(a->str, word);
}

/* Decimal digits only, at most 20 of them, without overflow. */
static int
imap_parse_u64(const char *s, size_t len, uint64_t *r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -1;
	}
	*r = v;
	return 0;
}

bool
imap_arg_number(const struct imap_arg *a, uint64_t min, uint64_t max,
    uint64_t *r)
{
	uint64_t v;

	if (a->type != IMAP_ARG_ATOM || imap_parse_u64(a->str, a->len, &v) < 0 ||
	    v < min || v > max)
		return false;
	*r = v;
	return true;
}

/* seq-number: nz-number (32 bits) or '*'. */
static int
imap_seq_number(const char *s, size_t len, uint32_t *r)
{
	uint64_t v;

	if (len == 1 && s[0] == '*') {
		*r = IMAP_SEQ_STAR;
		return 0;
	}
	if (s[0] == '0' || imap_parse_u64(s, len, &v) < 0 || v == 0 ||
	    v > UINT32_MAX)
		return -1;
	*r = (uint32_t)v;
	return 0;
}

int
imap_seqset_parse(const char *s, struct imap_seqset *set)
{
	struct imap_range *r = NULL;
	unsigned n = 0, cap = 0;
	const char *p = s;

	if (strcmp(s, "$") == 0) {
		memset(set, 0, sizeof(*set));
		set->saved = true;
		return 0;
	}
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(end - p));
		struct imap_range rg;

		if (end == p ||
		    imap_seq_number(p, (size_t)((colon ? colon : end) - p),
		    &rg.lo) < 0 || (colon != NULL && (colon + 1 == end ||
		    imap_seq_number(colon + 1, (size_t)(end - colon - 1),
		    &rg.hi) < 0)) || (comma != NULL && comma[1] == '\0')) {
			free(r);
			return -1;
		}
		if (colon == NULL)
			rg.hi = rg.lo;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			r = xreallocarray(r, cap, sizeof(*r));
		}
		r[n++] = rg;
		p = comma ? comma + 1 : end;
	}
	if (n == 0)
		return -1;
	set->ranges = r;
	set->count = n;
	set->saved = false;
	return 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t v,
    uint32_t star)
{
	for (unsigned i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;

		if (lo == IMAP_SEQ_STAR)
			lo = star;
		if (hi == IMAP_SEQ_STAR)
			hi = star;
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (v >= lo && v <= hi)
			return true;
	}
	return false;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
}

static const char imap_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
imap_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
imap_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy" at s; the length used, or -1.
 * two_digit_day demands the date-time form (" d" or "dd"). */
static int
imap_date_fields(const char *s, bool date_time, unsigned *y_r,
    unsigned *m_r, unsigned *d_r)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	const char *p = s;
	unsigned d = 0, y = 0, m;

	if (date_time && p[0] == ' ' && p[1] >= '1' && p[1] <= '9')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	d = (unsigned)(*p++ - '0');
	if (*p >= '0' && *p <= '9')
		d = d * 10 + (unsigned)(*p++ - '0');
	else if (date_time && s[0] != ' ')
		return -1;
	if (*p++ != '-')
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(p, imap_months[m], 3) == 0)
			break;
	if (m == 12 || p[3] != '-')
		return -1;
	p += 4;
	for (int i = 0; i < 4; i++, p++) {
		if (*p < '0' || *p > '9')
			return -1;
		y = y * 10 + (unsigned)(*p - '0');
	}
	if (d == 0 || d > mdays[m] || (m == 1 && d == 29 && !imap_leap(y)))
		return -1;
	*y_r = y;
	*m_r = m + 1;
	*d_r = d;
	return (int)(p - s);
}

int
imap_date_parse(const char *s, int64_t *days_r)
{
	unsigned y, m, d;
	int n = imap_date_fields(s, false, &y, &m, &d);

	if (n < 0 || s[n] != '\0')
		return -1;
	*days_r = imap_days_from_civil(y, m, d);
	return 0;
}

static int
imap_two_digits(const char *p, unsigned max, unsigned *r)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	*r = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	return *r <= max ? 0 : -1;
}

int
imap_datetime_parse(const char *s, time_t *t_r)
{
	unsigned y, mo, d, hh, mm, ss, zh, zm;
	int n = imap_date_fields(s, true, &y, &mo, &d);
	const char *p;
	int64_t t;

	if (n < 0)
		return -1;
	p = s + n;
	if (p[0] != ' ' || imap_two_digits(p + 1, 23, &hh) < 0 ||
	    p[3] != ':' || imap_two_digits(p + 4, 59, &mm) < 0 ||
	    p[6] != ':' || imap_two_digits(p + 7, 60, &ss) < 0 ||
	    p[9] != ' ' || (p[10] != '+' && p[10] != '-') ||
	    imap_two_digits(p + 11, 99, &zh) < 0 ||
	    imap_two_digits(p + 13, 59, &zm) < 0 || p[15] != '\0')
		return -1;
	t = imap_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
	if (p[10] == '+')
		t -= (int64_t)(zh * 3600 + zm * 60);
	else
		t += (int64_t)(zh * 3600 + zm * 60);
	*t_r = (time_t)t;
	return 0;
}

void
imap_datetime_format(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
	    imap_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static const struct {
	const char *name;
	unsigned bit;
} imap_system_flags[] = {
	{ "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Answered", IMAP_FLAG_ANSWERED },
	{ "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },
	{ "\\Draft", IMAP_FLAG_DRAFT },
	{ "\\Recent", IMAP_FLAG_RECENT },
};

const char *
imap_flag_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(imap_system_flags) /
	    sizeof(imap_system_flags[0]); i++)
		if (imap_system_flags[i].bit == bit)
			return imap_system_flags[i].name;
	return NULL;
}

/* One flag atom into f; -1 when it is not a storable flag. */
static int
imap_flag_add(struct imap_flags *f, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM || a->len == 0 ||
	    strpbrk(a->str, "%*]") != NULL)
		return -1;
	if (a->str[0] == '\\') {
		for (size_t i = 0; i < sizeof(imap_system_flags) /
		    sizeof(imap_system_flags[0]); i++) {
			if (str_ieq(a->str, imap_system_flags[i].name)) {
				if (imap_system_flags[i].bit == IMAP_FLAG_RECENT)
					return -1;
				f->system |= imap_system_flags[i].bit;
				return 0;
			}
		}
		return -1;
	}
	for (size_t i = 0; i < a->len; i++)
		if ((unsigned char)a->str[i] >= 0x80 || a->str[i] == '[')
			return -1;
	for (unsigned i = 0; i < f->nkeywords; i++)
		if (str_ieq(f->keywords[i], a->str))
			return 0;
	f->keywords = xreallocarray(f->keywords, f->nkeywords + 1,
	    sizeof(*f->keywords));
	f->keywords[f->nkeywords++] = xstrdup(a->str);
	return 0;
}

int
imap_flags_parse(const struct imap_arg *args, unsigned count,
    bool allow_bare, struct imap_flags *f, const char **error_r)
{
	memset(f, 0, sizeof(*f));
	if (count == 1 && args[0].type == IMAP_ARG_LIST) {
		count = args[0].count;
		args = args[0].list;
	} else if (!allow_bare || count == 0) {
		*error_r = "Flag list expected";
		return -1;
	}
	for (unsigned i = 0; i < count; i++) {
		if (imap_flag_add(f, &args[i]) < 0) {
			imap_flags_free(f);
			*error_r = "Invalid flag";
			return -1;
		}
	}
	return 0;
}

void
imap_flags_free(struct imap_flags *f)
{
	for (unsigned i = 0; i < f->nkeywords; i++)
		free(f->keywords[i]);
	free(f->keywords);
	f->keywords = NULL;
	f->nkeywords = 0;
}

/* "(UNCHANGEDSINCE n)" */
static int
imap_store_modifiers(const struct imap_arg *a, struct imap_store *st)
{
	if (a->count != 2 || !imap_arg_atom_is(&a->list[0], "UNCHANGEDSINCE") ||
	    !imap_arg_number(&a->list[1], 0, INT64_MAX, &st->unchangedsince))
		return -1;
	st->has_unchangedsince = true;
	return 0;
}

int
imap_store_parse(const struct imap_arg *args, unsigned count,
    struct imap_store *st, const char **error_r)
{
	const char *item;

	memset(st, 0, sizeof(*st));
	if (count > 0 && args[0].type == IMAP_ARG_LIST) {
		if (imap_store_modifiers(&args[0], st) < 0) {
			*error_r = "Invalid STORE modifier";
			return -1;
		}
		args++;
		count--;
	}
	if (count < 2 || args[0].type != IMAP_ARG_ATOM) {
		*error_r = "STORE needs an item and flags";
		return -1;
	}
	item = args[0].str;
	if (*item == '+' || *item == '-')
		st->op = *item++ == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
	if (str_ieq(item, "FLAGS.SILENT"))
		st->silent = true;
	else if (!str_ieq(item, "FLAGS")) {
		*error_r = "Unknown STORE item";
		return -1;
	}
	return imap_flags_parse(args + 1, count - 1, true, &st->flags,
	    error_r);
}

void
imap_store_free(struct imap_store *st)
{
	imap_flags_free(&st->flags);
}
